"""Checks QDQ ONNX exports on Qualcomm's HTP through onnxruntime's QNN execution provider
(usage: check_qnn.py [--soc N ...] DIR|MODEL [...]).

PyPI's onnxruntime-qnn ships Qualcomm's HTP backend for x86-64 (libQnnHtp.so, a simulator of the
Hexagon NPU), loaded here as an onnxruntime plugin execution provider. For every model, beside its
reference.json (rows run by the native int8 runtime, as for check_onnx.py):
  - placement: the session is built with CPU fallback disabled and graph-I/O quantization kept on the
    HTP, so it fails unless the QNN EP takes every node. The QNN graphs the EP builds are dumped as
    JSON: there must be exactly one (one partition), and every op in it other than the graph-edge
    Quantize / Dequantize must read and write fixed-point tensors (int32 only for index inputs, and as
    the output of index movement: the Reshape of the ids, and the Gather that maps a pruned
    vocabulary's ids to rows of its compacted table, reading only integers): no op runs in float on the NPU;
  - agreement: the session runs every row; embeddings need cosine >= --min-cos to the native ones on
    every row and the top-1 class must agree on >= --min-top1 of rows;
  - per SoC (--soc, QNN soc_model numbers: 43 = SM8550, 57 = SM8650, 69 = SM8750): the model is compiled offline
    into an EPContext model (ep.context_enable, embedded context binary), which is then loaded and run
    on the simulator and held to the same agreement.
Exits 77 (ctest skip) when onnxruntime-qnn is not installed, 1 when a check fails."""
import argparse
import glob
import json
import os
import re
import sys
import tempfile

import numpy as np

try:
    import onnxruntime as ort
    import onnxruntime_qnn
except ImportError:
    print("SKIP: onnxruntime-qnn is not installed (pip install onnxruntime-qnn)")
    sys.exit(77)

from check_onnx import compare, models, run

# QNN_DATATYPE_* codes (QnnTypes.h): the fixed-point family and the plain integers.
FIXED_POINT = {0x0308, 0x0316, 0x0332, 0x0408, 0x0416, 0x0432}
INTEGER = {0x0008, 0x0016, 0x0032, 0x0108, 0x0116, 0x0132}
FLOAT = {0x0216, 0x0232}
EDGE_OPS = {"Quantize", "Dequantize"}

_registered = False


def qnn_devices():
    global _registered
    if not _registered:
        ort.register_execution_provider_library("QNNExecutionProvider", onnxruntime_qnn.get_library_path())
        _registered = True
    devs = [d for d in ort.get_ep_devices() if d.ep_name == "QNNExecutionProvider"]
    if not devs:
        raise RuntimeError("onnxruntime lists no QNNExecutionProvider device after registering the plugin")
    return devs


def session(path, provider_options, config=None):
    so = ort.SessionOptions()
    so.log_severity_level = 3
    so.add_session_config_entry("session.disable_cpu_ep_fallback", "1")
    for k, v in (config or {}).items():
        so.add_session_config_entry(k, v)
    opts = {"backend_path": onnxruntime_qnn.get_qnn_htp_path(), "offload_graph_io_quantization": "0"}
    opts.update(provider_options)
    so.add_provider_for_devices(qnn_devices(), opts)
    return ort.InferenceSession(path, so)


def index_movement(node, tensors):
    """Ops that only move integer indices: the ids' Reshape, and a Gather whose inputs are all integers (the id ->
    row map of a vocabulary-pruned model). They compute nothing that could be quantized."""
    if node["type"] == "Reshape":
        return True
    return node["type"] == "Gather" and all(tensors[t]["data_type"] in INTEGER for t in node["input_names"])


def placement(path):
    """Builds the session with the QNN graphs dumped; returns (n_graphs, n_ops, problems)."""
    with tempfile.TemporaryDirectory() as d:
        session(path, {"dump_json_qnn_graph": "1", "json_qnn_graph_dir": d})
        graphs = [g for g in glob.glob(os.path.join(d, "*.json")) if not g.endswith("_tensor_log.json")]
        problems, n_ops = [], 0
        for g in graphs:
            graph = json.load(open(g))["graph"]
            tensors, nodes = graph["tensors"], graph["nodes"]
            for name, node in nodes.items():
                n_ops += 1
                if node["type"] in EDGE_OPS:
                    continue
                for t in node["input_names"] + node["output_names"]:
                    dt = tensors[t]["data_type"]
                    if dt in FLOAT or (dt not in FIXED_POINT and dt not in INTEGER):
                        problems.append(f"{node['type']} {name}: tensor {t} has QNN data type 0x{dt:04x}")
                    elif dt in INTEGER and t in node["output_names"] and not index_movement(node, tensors):
                        problems.append(f"{node['type']} {name}: writes plain integers ({t}, 0x{dt:04x})")
        return len(graphs), n_ops, problems


def compile_for_soc(path, soc, out_dir):
    """Compiles path into an EPContext model with the HTP context binary for soc_model `soc`."""
    ctx = os.path.join(out_dir, f"soc{soc}_ctx.onnx")
    session(path, {"soc_model": str(soc)},
            {"ep.context_enable": "1", "ep.context_embed_mode": "1", "ep.context_file_path": ctx})
    if not os.path.exists(ctx):
        raise RuntimeError(f"soc_model {soc}: no EPContext model was written")
    # The context binary names the SoC it was built for.
    found = re.search(rb"S[MCA]\d{4}[A-Z]*", open(ctx, "rb").read())
    return ctx, found.group().decode() if found else "SoC not named"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--min-cos", type=float, default=0.999)
    ap.add_argument("--min-top1", type=float, default=1.0)
    ap.add_argument("--rows", type=int, default=0, help="run only the first N rows (0: all)")
    ap.add_argument("--soc", type=int, action="append", default=[], help="QNN soc_model to compile for")
    ap.add_argument("dirs", nargs="+")
    args = ap.parse_args()
    ort.set_default_logger_severity(3)
    failed = 0
    for path in models(args.dirs, ".onnx"):
        name = f"{os.path.basename(os.path.dirname(path))}/{os.path.basename(path)}"
        ref = json.load(open(os.path.join(os.path.dirname(path), "reference.json")))
        rows, L = ref["rows"][: args.rows or None], ref["max_len"]
        try:
            n_graphs, n_ops, problems = placement(path)
        except Exception as e:  # the EP refused a node: the session cannot be built without the CPU
            print(f"FAIL  {name}: not every node runs on the HTP: {str(e).splitlines()[0][:300]}")
            failed += 1
            continue
        ok = n_graphs == 1 and not problems
        print(f"{'ok   ' if ok else 'FAIL '} {name}: {n_graphs} QNN graph(s), {n_ops} QNN ops, "
              f"{len(problems)} not quantized")
        for p in problems[:40]:
            print(f"        {p}")
        failed += not ok
        runs = [("jit", path)]
        with tempfile.TemporaryDirectory() as d:
            for soc in args.soc:
                try:
                    ctx, soc_name = compile_for_soc(path, soc, d)
                    runs.append((f"soc_model {soc}: {soc_name}, {os.path.getsize(ctx)} bytes", ctx))
                except Exception as e:
                    print(f"FAIL  {name}: compiling for soc_model {soc}: {str(e).splitlines()[0][:300]}")
                    failed += 1
            for label, model in runs:
                emb, logits = run(model, rows, L, session(model, {}))
                ok, msg, _ = compare(path, rows, emb, logits, args.min_cos, args.min_top1)
                print(("ok    " if ok else "FAIL  ") + f"{msg} on the HTP simulator ({label}, {len(rows)} rows)")
                failed += not ok
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
