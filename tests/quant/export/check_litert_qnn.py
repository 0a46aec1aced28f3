"""Compiles TFLite exports ahead of time with LiteRT's Qualcomm compiler plugin and reports where their
operators land (usage: check_litert_qnn.py [--soc SM8650 ...] [--simulate] [--keep DIR] MODEL.tflite|DIR ...).

For every model and SoC (--soc, repeatable; the plugin's names: SA8255 SA8295 SM8350 SM8450 SM8475
SM8550 SM8650 SM8750 SM8845 SM8850, from ai_edge_litert/aot/vendors/qualcomm/target.py) the model
goes through the wheel's apply_plugin_main (--cmd=apply, the tool ai_edge_litert.aot.aot_compile
runs), which partitions it, compiles each partition for the HTP into a QNN context binary and writes
a model whose partitions are DISPATCH_OP custom ops. Reported: the plugin's count of operators it
took ("selected N ops, from a total of M"), the NPU blocks (DISPATCH_OP ops) in the compiled model,
the operators left on the CPU with the QNN validator's reason for each. Exits 1 unless every
operator is in exactly one block (--max-blocks, --allow-cpu relax that), 2 when the plugin cannot
be loaded.

QNN libraries: the plugin (libLiteRtCompilerPlugin_Qualcomm.so, ai-edge-litert 2.3.0) needs the
host QNN SDK, which the wheel does not ship; ai-edge-litert-sdk-qualcomm is an sdist that downloads
QAIRT 2.50 from Qualcomm at install time. The x86-64 QNN 2.40 libraries of PyPI's onnxruntime-qnn
(libQnnHtp.so, libQnnSystem.so, libHtpPrepare.so, ...) serve instead (the plugin warns it was built
against 2.39 and runs): --qnn-lib-dir, by default ai_edge_litert_sdk_qualcomm's libraries when
installed, else the onnxruntime_qnn package directory. That set lacks libQnnLpai.so, which the
plugin's ELF lists as NEEDED although it takes no symbol from it (backends are dlopen()ed; nm -D
shows no undefined Qnn symbol): a temporary directory on LD_LIBRARY_PATH supplies the name as a
link to libQnnSystem.so, and the HTP backend never opens it.

Running the compiled model through LiteRT is not possible here: executing a DISPATCH_OP needs
LiteRT's Qualcomm dispatch library (libLiteRtDispatch_Qualcomm.so), and ai-edge-litert 2.3.0 ships
a dispatch library only for Intel OpenVINO (ai_edge_litert/vendors/intel_openvino/dispatch/);
CompiledModel with HardwareAccelerator.NPU then finds "No usable Dispatch runtime" (dispatch_delegate.cc).
--simulate instead runs the block's QNN context binary itself (the DISPATCH_OP's custom options give
its offset and size in the file) on the HTP simulator of onnxruntime-qnn, wrapped in a one-node
EPContext ONNX model (needs onnx and onnxruntime-qnn; their QNN is the one that compiled it), on
the rows of reference.json beside the model (else 50 random rows), against the LiteRT interpreter
on the CPU: embedding cosine >= --min-cos on every row, or the model fails. onnxruntime binds the
EPContext node's inputs and outputs to the QNN graph's by position: the DISPATCH_OP's order, as
long as the graph has no output nothing reads (QNN would keep it as an extra graph output)."""
import argparse
import glob
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tempfile

import ai_edge_litert
import numpy as np
from ai_edge_litert import schema_py_generated as tfl
from ai_edge_litert.interpreter import Interpreter

PKG = os.path.dirname(ai_edge_litert.__file__)
APPLY = os.path.join(PKG, "tools", "apply_plugin_main")
PLUGIN_DIR = os.path.join(PKG, "vendors", "qualcomm", "compiler")
DISPATCH_DIR = os.path.join(PKG, "vendors", "qualcomm", "dispatch")
SOCS = ["SA8255", "SA8295", "SM8350", "SM8450", "SM8475", "SM8550", "SM8650", "SM8750", "SM8845", "SM8850"]
OPS = {v: k for k, v in vars(tfl.BuiltinOperator).items() if not k.startswith("_")}

# compiler_plugin.cc's summary (the pattern ai_edge_litert/aot/core/apply_plugin.py parses too).
RE_STATS = re.compile(r"Partitioned subgraph<(\d+)>, selected (\d+) ops, from a total of (\d+) ops\. "
                      r"resulted in (\d+) partitions\.")
RE_REJECTED = re.compile(r"LiteRT Op #(\d+) '(\w+)' \(code=\d+\) is not supported")
RE_DTYPE = re.compile(r'\[(\d)\] name="[^"]*" dtype=(QNN_DATATYPE_\w+)')


def qnn_lib_dir():
    """ai_edge_litert_sdk_qualcomm's libraries when installed, else onnxruntime-qnn's (not imported)."""
    try:
        import ai_edge_litert_sdk_qualcomm
        p = ai_edge_litert_sdk_qualcomm.path_to_sdk_libs()
        if p and os.path.isfile(os.path.join(p, "libQnnHtp.so")):
            return str(p)
    except ImportError:
        pass
    spec = importlib.util.find_spec("onnxruntime_qnn")
    return list(spec.submodule_search_locations)[0] if spec else None


def ops_of(path):
    """[(builtin name or custom code)] of subgraph 0, in order."""
    m = tfl.Model.GetRootAs(open(path, "rb").read(), 0)
    codes = []
    for i in range(m.OperatorCodesLength()):
        c = m.OperatorCodes(i)
        b = max(c.BuiltinCode(), c.DeprecatedBuiltinCode())
        codes.append(c.CustomCode().decode() if b == tfl.BuiltinOperator.CUSTOM else OPS[b])
    g = m.Subgraphs(0)
    return [codes[g.Operators(i).OpcodeIndex()] for i in range(g.OperatorsLength())]


def rejections(log):
    """{op index: (name, "in[1] QNN_DATATYPE_..., ...")} for each operator the plugin refused."""
    out = {}
    for mt in RE_REJECTED.finditer(log):
        # The QNN validator's dump of the failed op ("QNN op validation failed: ...") comes just before.
        start = log.rfind("QNN op validation failed", 0, mt.start())
        dump = log[start:mt.start()] if start >= 0 else ""
        ins = dump.split("Outputs:")[0]
        types = ", ".join(f"in[{i}] {t}" for i, t in RE_DTYPE.findall(ins))
        out[int(mt.group(1))] = (mt.group(2), types)
    return out


def simulate(compiled, model, min_cos):
    """Runs the one NPU block of `compiled` on onnxruntime-qnn's HTP simulator against `model` on the
    LiteRT CPU interpreter; returns (ok, message)."""
    import json
    import onnxruntime as ort
    import onnxruntime_qnn
    from flatbuffers import flexbuffers
    from onnx import TensorProto, helper

    data = open(compiled, "rb").read()
    m = tfl.Model.GetRootAs(data, 0)
    g = m.Subgraphs(0)
    op = g.Operators(0)
    opt = flexbuffers.Loads(bytes(op.CustomOptionsAsNumpy()))
    ctx = data[opt["bytecode_offset"]:opt["bytecode_offset"] + opt["bytecode_size"]]
    onnx_type = {tfl.TensorType.INT32: TensorProto.INT32, tfl.TensorType.INT16: TensorProto.INT16,
                 tfl.TensorType.INT8: TensorProto.INT8}

    def value(i):
        t = g.Tensors(i)
        shape = [int(d) for d in t.ShapeAsNumpy()]
        return helper.make_tensor_value_info(t.Name().decode(), onnx_type[t.Type()], shape)
    ins, outs = [value(i) for i in op.InputsAsNumpy()], [value(i) for i in op.OutputsAsNumpy()]
    node = helper.make_node("EPContext", [v.name for v in ins], [v.name for v in outs], name=opt["name"],
                            domain="com.microsoft", embed_mode=1, ep_cache_context=ctx, main_context=1, source="Qnn")
    wrapper = helper.make_model(helper.make_graph([node], "litert_qnn", ins, outs), ir_version=10,
                                opset_imports=[helper.make_opsetid("", 21), helper.make_opsetid("com.microsoft", 1)])
    if not any(d.ep_name == "QNNExecutionProvider" for d in ort.get_ep_devices()):
        ort.register_execution_provider_library("QNNExecutionProvider", onnxruntime_qnn.get_library_path())
    so = ort.SessionOptions()
    so.log_severity_level = 3
    so.add_session_config_entry("session.disable_cpu_ep_fallback", "1")
    so.add_provider_for_devices([d for d in ort.get_ep_devices() if d.ep_name == "QNNExecutionProvider"],
                                {"backend_path": onnxruntime_qnn.get_qnn_htp_path()})
    sess = ort.InferenceSession(wrapper.SerializeToString(), so)
    sess.disable_fallback()

    it = Interpreter(model_path=model)
    it.allocate_tensors()
    cin = {d["name"]: d for d in it.get_input_details()}
    cout = {d["name"]: d for d in it.get_output_details()}
    L = int(cin["input_ids"]["shape"][1])
    ref = os.path.join(os.path.dirname(model), "reference.json")
    if os.path.isfile(ref):
        rows = [(r["ids"], r["mask"]) for r in json.load(open(ref))["rows"]]
    else:
        # Ids below the token table's rows: the first GATHER's table (export_tflite.c makes it first).
        pm = tfl.Model.GetRootAs(open(model, "rb").read(), 0).Subgraphs(0)
        gather = ops_of(model).index("GATHER")
        vocab = int(pm.Tensors(pm.Operators(gather).Inputs(0)).Shape(0))
        rng = np.random.default_rng(0)
        rows = [(rng.integers(0, vocab, L), np.arange(L) < n) for n in rng.integers(1, L + 1, 50)]
    cos, top1 = [], []
    for ids, mask in rows:
        feed = {"input_ids": np.array(ids, cin["input_ids"]["dtype"]).reshape(1, L),
                "attention_mask": np.array(mask, np.int8).reshape(1, L)}
        npu = dict(zip([v.name for v in outs], sess.run(None, feed)))
        for k, v in feed.items():
            it.set_tensor(cin[k]["index"], v)
        it.invoke()
        real = {}
        for k, d in cout.items():
            s, z = d["quantization"]
            real[k] = [(x.astype(np.float64) - z) * s for x in (npu[k], it.get_tensor(d["index"]))]
        a, b = (x.ravel() for x in real["emb"])
        cos.append(a @ b / max(np.linalg.norm(a) * np.linalg.norm(b), 1e-12))
        if "logits" in real:
            top1.append(real["logits"][0].argmax() == real["logits"][1].argmax())
    msg = f"HTP simulator vs CPU: emb cos min {min(cos):.6f} mean {np.mean(cos):.6f}" + (
        f", top-1 agreement {np.mean(top1):.4f}" if top1 else "") + f" ({len(rows)} rows)"
    return min(cos) >= min_cos, msg


def compile_one(model, soc, out, libdir, env):
    args = [APPLY, "--cmd=apply", f"--model={model}", f"--o={out}", "--soc_manufacturer=Qualcomm",
            f"--soc_model={soc}", f"--libs={PLUGIN_DIR}", f"--qualcomm_qnn_lib_dir={libdir}",
            "--qualcomm_log_level=warn", "--err=-"]
    r = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace", env=env)
    with open(out + ".log", "w") as f:
        f.write(r.stdout)
    return r.returncode, r.stdout


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--soc", action="append", choices=SOCS, help="SoC model (repeatable; default SM8650 SM8550)")
    ap.add_argument("--max-blocks", type=int, default=1, help="most NPU blocks allowed (default 1)")
    ap.add_argument("--allow-cpu", action="store_true", help="do not fail on operators left on the CPU")
    ap.add_argument("--qnn-lib-dir", default=None, help="host QNN libraries (default: see the docstring)")
    ap.add_argument("--simulate", action="store_true", help="run each one-block model on the HTP simulator")
    ap.add_argument("--min-cos", type=float, default=0.95, help="--simulate: least embedding cosine to the CPU")
    ap.add_argument("--keep", default=None, help="write compiled models and plugin logs to this directory")
    ap.add_argument("models", nargs="+", help="TFLite files, or directories (every *.tflite in them)")
    a = ap.parse_args()
    socs = a.soc or ["SM8650", "SM8550"]
    libdir = a.qnn_lib_dir or qnn_lib_dir()
    if not os.path.isfile(APPLY) or not libdir or not os.path.isfile(os.path.join(libdir, "libQnnHtp.so")):
        print(f"ERROR: need {APPLY} and a QNN library directory with libQnnHtp.so (got {libdir}): "
              "pip install onnxruntime-qnn, or pass --qnn-lib-dir")
        sys.exit(2)
    models = []
    for p in a.models:  # a directory's *.tflite, less compiled models a --keep left there
        found = sorted(f for f in glob.glob(os.path.join(p, "*.tflite")) if "_qnn_" not in f)
        models += found if os.path.isdir(p) else [p]
    work = tempfile.mkdtemp(prefix="litert_qnn_")
    stub = os.path.join(work, "stub")
    os.makedirs(stub)
    if not os.path.exists(os.path.join(libdir, "libQnnLpai.so")):
        os.symlink(os.path.join(libdir, "libQnnSystem.so"), os.path.join(stub, "libQnnLpai.so"))
    env = dict(os.environ, LD_LIBRARY_PATH=os.pathsep.join([libdir, stub, os.environ.get("LD_LIBRARY_PATH", "")]))
    outdir = a.keep or work
    os.makedirs(outdir, exist_ok=True)
    have_dispatch = bool(glob.glob(os.path.join(DISPATCH_DIR, "libLiteRtDispatch_Qualcomm.so")))
    failed = 0
    try:
        for model in models:
            n_ops = len(ops_of(model))
            stem = os.path.splitext(os.path.basename(model))[0]
            tag = os.path.basename(os.path.dirname(os.path.abspath(model)))
            for soc in socs:
                out = os.path.join(outdir, f"{tag}_{stem}_qnn_{soc}.tflite")
                rc, log = compile_one(model, soc, out, libdir, env)
                name = f"{tag}/{stem}.tflite {soc}"
                if "Loaded 0 plugins" in log:
                    why = [l for l in log.splitlines() if "Could not load shared library" in l]
                    print(f"ERROR {name}: the Qualcomm plugin did not load: {why[0] if why else 'see --keep log'}")
                    sys.exit(2)
                stats = RE_STATS.findall(log)
                if rc or not stats or not os.path.isfile(out):
                    tail = "\n".join(l for l in log.splitlines() if l.strip())[-2000:]
                    print(f"FAIL  {name}: apply_plugin_main exited {rc}; its log ends:\n{tail}")
                    failed += 1
                    continue
                _, sel, total, parts = (int(x) for x in stats[0])
                after = ops_of(out)
                blocks = sum(op == "DISPATCH_OP" for op in after)
                cpu = [op for op in after if op != "DISPATCH_OP"]
                ok = blocks >= 1 and blocks <= a.max_blocks and (a.allow_cpu or not cpu) and total == n_ops
                print(("ok    " if ok else "FAIL  ") + f"{name}: {sel}/{total} ops in {blocks} NPU block(s)"
                      + (f" (plugin: {parts} partitions)" if parts != blocks else "")
                      + (f", on the CPU: {', '.join(cpu)}" if cpu else ""))
                for i, (op, types) in sorted(rejections(log).items()):
                    print(f"        op {i} {op} refused by QNN" + (f": {types}" if types else ""))
                if a.simulate and blocks == 1 and not cpu:
                    sim_ok, msg = simulate(out, model, a.min_cos)
                    print(("        " if sim_ok else "FAIL    ") + msg)
                    ok = ok and sim_ok
                failed += not ok
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if not have_dispatch:
        print(f"note: no LiteRT run on the NPU: no Qualcomm dispatch library in {DISPATCH_DIR} (see the docstring)")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
