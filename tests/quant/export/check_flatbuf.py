"""Reads the one-operator TFLite model that tests/quant/export/test_flatbuf.c writes (usage:
check_flatbuf.py MODEL.tflite) through the TFLite schema, checks its fields, and runs it in the LiteRT
interpreter against a float reference of the int8 FULLY_CONNECTED (within one output step)."""
import sys

import numpy as np
from ai_edge_litert.interpreter import Interpreter

import tflite_reader


def main(path):
    m = tflite_reader.read(path)
    assert m["version"] == 3 and m["description"] == "distill flatbuffer check", m
    assert [o["op"] for o in m["ops"]] == ["FULLY_CONNECTED"]
    t = {x["name"]: x for x in m["tensors"]}
    assert t["w"]["type"] == "INT8" and t["w"]["shape"] == [3, 4] and len(t["w"]["scale"]) == 3
    assert t["b"]["type"] == "INT32" and t["b"]["const_bytes"] == 12
    assert t["x"]["zero_point"] == [3] and t["y"]["zero_point"] == [-5]
    w = np.array([127, -127, 0, 5, 1, 2, 3, 4, -100, 50, -25, 12], np.float64).reshape(3, 4)
    s_w = np.array([0.01, 0.02, 0.005], np.float32).astype(np.float64)
    bias = np.array([100, -200, 0], np.float64)
    it = Interpreter(model_path=path)
    it.allocate_tensors()
    inp, out = it.get_input_details()[0], it.get_output_details()[0]
    rng = np.random.default_rng(0)
    worst = 0
    for _ in range(50):
        x = rng.integers(-128, 128, size=(1, 4)).astype(np.int8)
        it.set_tensor(inp["index"], x)
        it.invoke()
        y = it.get_tensor(out["index"]).astype(np.int64)
        s_in = np.float64(np.float32(0.05))
        acc = (x.astype(np.float64) - 3) @ w.T + bias
        ref = np.clip(np.round(acc * s_in * s_w / np.float64(np.float32(0.1))) - 5, -128, 127)
        worst = max(worst, int(np.abs(y - ref).max()))
    assert worst <= 1, f"LiteRT differs from the reference by {worst} steps"
    print(f"flatbuffer: schema reads every field; LiteRT FULLY_CONNECTED within {worst} step of the reference")


if __name__ == "__main__":
    main(sys.argv[1])
