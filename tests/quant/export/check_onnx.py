"""Checks ONNX exports against the native int8 runtime (usage: check_onnx.py DIR [DIR ...]).

Each DIR holds reference.json (rows of ids and mask with the native runtime's emb and logits) and
*.onnx exports of the same model. Every model must pass onnx.checker with full_check; onnxruntime's
CPU provider runs every row, and its embeddings must have cosine >= 0.999 to the native ones on every
row and its top-1 class agree on >= 99% of rows. QDQ models must hold int8 weights behind
DequantizeLinear with per-channel scales on the output axis and int32 biases. --static: the model is a
static student (token table, mean, projection): a Gather and the pooling MatMul, no LayerNorm or GELU."""
import argparse
import glob
import json
import os
import sys

import numpy as np
import onnx
import onnx.numpy_helper as nh
import onnxruntime as ort

MIN_COS, MIN_TOP1 = 0.999, 0.99


def check_structure(model, path, static=False):
    onnx.checker.check_model(model, full_check=True)
    g = model.graph
    ops = {n.op_type for n in g.node}
    for op in ("Gather", "Softmax", "MatMul") if static else ("LayerNormalization", "Softmax", "Gelu"):
        assert op in ops, f"{path}: no {op} node"
    if static:
        assert not ops & {"LayerNormalization", "Gelu"}, f"{path}: a static student with {ops}"
    dims = {i.name: [d.dim_value for d in i.type.tensor_type.shape.dim] for i in g.input}
    assert all(d[0] == 1 and len(d) == 2 for d in dims.values()), f"{path}: inputs not static [1, L]: {dims}"
    if "QuantizeLinear" not in ops:
        return ops
    inits = {t.name: t for t in g.initializer}
    gemms = [n for n in g.node if n.op_type == "Gemm"]
    producers = {o: n for n in g.node for o in n.output}
    for gm in gemms:
        w_dq, b_dq = producers[gm.input[1]], producers[gm.input[2]]
        assert w_dq.op_type == "DequantizeLinear" and b_dq.op_type == "DequantizeLinear", gm.name
        w = inits[w_dq.input[0]]
        scale = nh.to_array(inits[w_dq.input[1]])
        axis = {a.name: a.i for a in w_dq.attribute}.get("axis", 1)
        assert w.data_type == onnx.TensorProto.INT8, f"{gm.name}: weight not int8"
        assert axis == 0 and scale.shape == (w.dims[0],), f"{gm.name}: scales not per output channel"
        assert inits[b_dq.input[0]].data_type == onnx.TensorProto.INT32, f"{gm.name}: bias not int32"
    return ops


MASK_TYPES = {"tensor(int8)": np.int8, "tensor(uint8)": np.uint8, "tensor(float)": np.float32}


def run(path, rows, L, sess=None):
    """Embeddings and logits of every row (onnxruntime's CPU provider unless a session is given)."""
    sess = sess or ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    ins = {i.name: i for i in sess.get_inputs()}
    mask_type = MASK_TYPES[ins["attention_mask"].type]
    outs = [o.name for o in sess.get_outputs()]
    emb, logits = [], []
    for r in rows:
        res = sess.run(None, {"input_ids": np.array(r["ids"], np.int32).reshape(1, L),
                              "attention_mask": np.array(r["mask"], mask_type).reshape(1, L)})
        d = dict(zip(outs, res))
        emb.append(d["emb"][0])
        logits.append(d["logits"][0] if "logits" in d else None)
    return np.array(emb, np.float64), logits


def top_classes(logits):
    """The classes holding the largest logit. Logits come off an 8-bit grid, so two classes can tie
    exactly; two models agree on a row when their top classes overlap (a tie broken by index is no
    disagreement)."""
    x = np.asarray(logits)
    return set(np.flatnonzero(x == x.max()).tolist())


def compare(path, rows, emb, logits, min_cos=MIN_COS, min_top1=MIN_TOP1):
    ref = np.array([r["emb"] for r in rows], np.float64)
    cos = (emb * ref).sum(1) / (np.linalg.norm(emb, axis=1) * np.linalg.norm(ref, axis=1) + 1e-30)
    msg = (f"{os.path.basename(os.path.dirname(path))}/{os.path.basename(path)}: cos min {cos.min():.6f}"
           f" mean {cos.mean():.6f}")
    ok = cos.min() >= min_cos
    if "logits" in rows[0]:
        agree = float(np.mean([top_classes(r["logits"]) & top_classes(x) != set() for r, x in zip(rows, logits)]))
        msg += f", top-1 agreement {agree:.4f}"
        ok = ok and agree >= min_top1
    return ok, msg, float(cos.min())


def models(args, ext):
    """The model files named, and those in the directories named; each beside its reference.json."""
    out = []
    for a in args:
        out += sorted(glob.glob(os.path.join(a, "*" + ext))) if os.path.isdir(a) else [a]
    return out


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--min-cos", type=float, default=MIN_COS)
    ap.add_argument("--min-top1", type=float, default=MIN_TOP1)
    ap.add_argument("--static", action="store_true", help="static students (no LayerNorm, attention or GELU)")
    ap.add_argument("dirs", nargs="+", help="directories (every model in them) or model files")
    return ap.parse_args()


def main():
    args = parse_args()
    failed = 0
    for path in models(args.dirs, ".onnx"):
        ref = json.load(open(os.path.join(os.path.dirname(path), "reference.json")))
        rows, L = ref["rows"], ref["max_len"]
        model = onnx.load(path)
        ops = check_structure(model, path, args.static)
        if "QuantizeLinear" not in ops:  # the float graph (for QNN + encodings): structure only
            print(f"ok    {os.path.basename(path)}: float graph passes the checker")
            continue
        emb, logits = run(path, rows, L)
        ok, msg, _ = compare(path, rows, emb, logits, args.min_cos, args.min_top1)
        print(("ok    " if ok else "FAIL  ") + msg + f" ({len(rows)} rows)")
        failed += not ok
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
