"""Checks QNN encodings against their float ONNX graph (usage: check_encodings.py DIR [DIR ...]): for each
NAME.encodings beside NAME.onnx, the JSON must name exactly the graph's float tensors (activations:
float graph inputs and node outputs; params: float initializers), with well-formed AIMET entries."""
import glob
import json
import os
import sys

import onnx
from onnx import TensorProto


def float_tensors(model):
    m = onnx.shape_inference.infer_shapes(model, strict_mode=True)
    g = m.graph
    types = {v.name: v.type.tensor_type.elem_type for v in list(g.value_info) + list(g.input) + list(g.output)}
    params = {t.name for t in g.initializer if t.data_type == TensorProto.FLOAT}
    acts = {i.name for i in g.input if types.get(i.name) == TensorProto.FLOAT}
    for n in g.node:
        for o in n.output:
            if types.get(o) == TensorProto.FLOAT:
                acts.add(o)
    return acts, params


def check_entry(name, encs):
    assert isinstance(encs, list) and encs, name
    for e in encs:
        b = e["bitwidth"]
        assert b in (8, 16, 32) and e["dtype"] == "int" and e["is_symmetric"] in ("True", "False"), (name, e)
        assert e["scale"] > 0 and e["min"] <= 0 <= e["max"], (name, e)
        levels = 2 ** b - 1
        assert abs(e["min"] - e["scale"] * e["offset"]) <= 1e-6 * max(1.0, abs(e["min"])), (name, e)
        assert abs(e["max"] - e["scale"] * (levels + e["offset"])) <= 1e-5 * max(1.0, abs(e["max"])), (name, e)


def main(dirs):
    failed = 0
    for d in dirs:
        for path in sorted(glob.glob(os.path.join(d, "*.encodings"))):
            model = onnx.load(path[: -len(".encodings")] + ".onnx")
            acts, params = float_tensors(model)
            enc = json.load(open(path))
            ea, ep = set(enc["activation_encodings"]), set(enc["param_encodings"])
            for k, v in list(enc["activation_encodings"].items()) + list(enc["param_encodings"].items()):
                check_entry(k, v)
            ok = ea == acts and ep == params
            print(f"{'ok  ' if ok else 'FAIL'}  {os.path.basename(path)}: {len(ea)} activations, {len(ep)} params"
                  + ("" if ok else f"; missing {sorted((acts - ea) | (params - ep))[:8]},"
                     f" extra {sorted((ea - acts) | (ep - params))[:8]}"))
            failed += not ok
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main(sys.argv[1:])
