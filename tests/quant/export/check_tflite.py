"""Checks TFLite exports against the native int8 runtime (usage: check_tflite.py DIR [DIR ...]).

Each DIR holds reference.json and *.tflite. The file must read through the TFLite schema (identifier
TFL3, version 3) with int8 weights quantized per output channel (axis 0), int32 biases, int8 outputs,
and every SOFTMAX feeding the int8 probability grid (1/256, -128); the LiteRT interpreter runs every
row, and its embeddings must have cosine >= 0.999 to the native ones and its top-1 agree on >= 99%.
--static: a static student's graph (GATHER, the pooling BATCH_MATMUL, FULLY_CONNECTED; no GELU)."""
import glob
import json
import os
import sys

import numpy as np
from ai_edge_litert.interpreter import Interpreter

import tflite_reader
from check_onnx import compare, models, parse_args


def check_structure(path, static=False):
    m = tflite_reader.read(path)
    assert m["version"] == 3, path
    t = m["tensors"]
    for op in m["ops"]:
        if op["op"] == "FULLY_CONNECTED":
            w, b = t[op["inputs"][1]], t[op["inputs"][2]]
            assert w["type"] == "INT8" and w["quantized_dimension"] == 0 and len(w["scale"]) == w["shape"][0], w
            assert b["type"] == "INT32" and len(b["scale"]) == w["shape"][0], b
    for o in m["outputs"]:
        assert t[o]["type"] == "INT8", t[o]
    ops = [o["op"] for o in m["ops"]]
    for need in ("BATCH_MATMUL", "SOFTMAX", "FULLY_CONNECTED", "GATHER") + (() if static else ("GELU",)):
        assert need in ops, f"{path}: no {need}"
    assert "LAYER_NORM" not in ops and not (static and "GELU" in ops)
    return m


def run(path, rows, L):
    it = Interpreter(model_path=path)
    it.allocate_tensors()
    ins = {d["name"]: d for d in it.get_input_details()}
    outs = {d["name"]: d for d in it.get_output_details()}
    emb, logits = [], []
    for r in rows:
        it.set_tensor(ins["input_ids"]["index"], np.array(r["ids"], ins["input_ids"]["dtype"]).reshape(1, L))
        it.set_tensor(ins["attention_mask"]["index"], np.array(r["mask"], np.int8).reshape(1, L))
        it.invoke()
        res = {}
        for name, d in outs.items():
            s, z = d["quantization"]
            res[name] = (it.get_tensor(d["index"]).astype(np.float64) - z) * s
        emb.append(res["emb"][0])
        logits.append(res["logits"][0] if "logits" in res else None)
    return np.array(emb), logits


def main():
    args = parse_args()
    failed = 0
    for path in models(args.dirs, ".tflite"):
        ref = json.load(open(os.path.join(os.path.dirname(path), "reference.json")))
        rows, L = ref["rows"], ref["max_len"]
        m = check_structure(path, args.static)
        emb, logits = run(path, rows, L)
        ok, msg, _ = compare(path, rows, emb, logits, args.min_cos, args.min_top1)
        print(("ok    " if ok else "FAIL  ") + msg + f" ({len(rows)} rows, {len(m['ops'])} operators)")
        failed += not ok
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
