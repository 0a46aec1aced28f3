"""Runs ONNX and TFLite exports in OpenVINO on the CPU against the native int8 runtime
(usage: check_openvino.py [--min-cos C] [--min-top1 T] MODEL ...; each beside its reference.json).

OpenVINO reads both formats itself (its ONNX and TFLite frontends). TFLite outputs stay int8 and are
dequantized with the output tensor's scale and zero point from the file. A file OpenVINO refuses to
compile fails with OpenVINO's message (e.g. quantized int16 token ids: its TFLite frontend dequantizes
them and then refuses a float Gather index, which is why `--target openvino` writes plain ids). Exits 77
when the openvino package is missing, 1 when a check fails."""
import argparse
import json
import os
import sys

import numpy as np

try:
    import openvino as ov
except ImportError:
    print("SKIP: openvino is not installed (pip install openvino)")
    sys.exit(77)

from check_onnx import compare


def output_quantization(path):
    """{output name: (scale, zero point)} of a TFLite file (LiteRT's reader), {} for ONNX."""
    if not path.endswith(".tflite"):
        return {}
    from ai_edge_litert.interpreter import Interpreter
    return {d["name"]: d["quantization"] for d in Interpreter(model_path=path).get_output_details()}


def run(path, rows, L):
    model = ov.Core().compile_model(path, "CPU")
    inputs = {p.get_any_name(): p.get_element_type().to_dtype() for p in model.inputs}
    quant = output_quantization(path)
    emb, logits = [], []
    for r in rows:
        feed = {name: np.array(r["ids"] if name == "input_ids" else r["mask"]).reshape(1, L).astype(dtype)
                for name, dtype in inputs.items()}
        res = model(feed)
        out = {}
        for port in model.outputs:
            name = port.get_any_name()
            v = np.asarray(res[port], np.float64)
            if name in quant and quant[name][0]:
                v = (v - quant[name][1]) * quant[name][0]
            out[name] = v[0]
        emb.append(out["emb"])
        logits.append(out.get("logits"))
    return np.array(emb), logits


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--min-cos", type=float, default=0.999)
    ap.add_argument("--min-top1", type=float, default=0.99)
    ap.add_argument("models", nargs="+")
    a = ap.parse_args()
    failed = 0
    for path in a.models:
        ref = json.load(open(os.path.join(os.path.dirname(path), "reference.json")))
        try:
            emb, logits = run(path, ref["rows"], ref["max_len"])
        except Exception as e:  # OpenVINO refused the file
            lines = [l for l in str(e).splitlines() if l.strip()]
            print(f"FAIL  {os.path.basename(path)}: OpenVINO cannot compile it: {lines[-1][:300] if lines else e}")
            failed += 1
            continue
        ok, msg, _ = compare(path, ref["rows"], emb, logits, a.min_cos, a.min_top1)
        print(("ok    " if ok else "FAIL  ") + msg + f" in OpenVINO {ov.__version__} (CPU, {len(ref['rows'])} rows)")
        failed += not ok
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
