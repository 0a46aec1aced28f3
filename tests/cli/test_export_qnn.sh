#!/usr/bin/env bash
# Issue #16's acceptance run: a QAT student distilled from the bundled real teacher (all-MiniLM-L6-v2 on
# Debian package descriptions, experiments/data/teacher.h5), exported with `--target qnn-htp` and run on
# Qualcomm's HTP simulator (PyPI's onnxruntime-qnn) with CPU fallback disabled:
# The student's vocabulary is pruned, so the exports gather the id -> row map, then the compacted table.
#  - ONNX --uint8 and --uint8 --w8a16: one QNN graph holding every node, every op quantized
#    (tests/quant/export/check_qnn.py), compiled offline for two SoCs (soc_model 43 = SM8550, 69 = SM8750), and
#    the compiled contexts run on the simulator: cosine >= 0.999 to the native int8 runtime on every one
#    of 60 teacher rows and the same top-1 class on all of them;
#  - TFLite (int32 ids): LiteRT's Qualcomm compile plugin puts every operator into one HTP block for both
#    SoCs, and that block's context binary runs on the simulator at cosine >= 0.999 to LiteRT on the CPU
#    (tests/quant/export/check_litert_qnn.py), which itself matches the native runtime (check_tflite.py).
# Usage: bash test_export_qnn.sh DISTILL SOURCE_DIR. Exits 77 when onnxruntime-qnn is not installed.
set -euo pipefail
distill=$1
src=$2
bin=$(dirname "$distill")
if ! python3 -c "import onnx, onnxruntime, onnxruntime_qnn, numpy" 2>/dev/null; then
  echo "SKIP: onnxruntime-qnn missing (pip install -r tests/quant/export/requirements.txt)"
  exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# A small student of the real teacher: 128 wide, started from the teacher's token embeddings, QAT
# from step 40 (about a minute on two cores).
cat > "$tmp/student.cfg" <<CFG
[student]
dim = 128
layers = 1
heads = 4
ffn_dim = 256
max_len = 64
pooling = mean
out_dim = teacher
init = teacher
token_weights = sif
[train]
steps = 120
batch_size = 32
lr = 1e-3
warmup_steps = 10
eval_every = 120
save_every = 120
threads = 2
[quant]
enabled = true
start_step = 40
[prune]
enabled = true
vocab = true
start_step = 10
end_step = 30
every = 10
CFG
"$distill" --teacher "$src/experiments/data/teacher.h5" --student "$tmp/student.cfg" --out "$tmp/run" --quiet > /dev/null
ckpt=$tmp/run/last.ckpt
out=$tmp/out
mkdir -p "$out"
"$distill" export --checkpoint "$ckpt" --format native --out "$out/model.int8"
"$distill" export --checkpoint "$ckpt" --target qnn-htp --format onnx --out "$out/u8.onnx"
"$distill" export --checkpoint "$ckpt" --target qnn-htp --format onnx --w8a16 --out "$out/u8a16.onnx"
"$distill" export --checkpoint "$ckpt" --target qnn-htp --format tflite --out "$out/model.tflite"
# The vocabulary is pruned: every file holds the compacted table and the id -> row map, not 30,522 rows.
for f in u8.onnx model.tflite; do
  "$distill" inspect "$out/$f" > "$tmp/inspect.txt"
  grep -q "tok_emb.weight/id_rows" "$tmp/inspect.txt" || { echo "FAIL: $f has no id -> row map"; exit 1; }
done
"$bin/test_export_onnx" --reference "$out/model.int8" "$src/experiments/data/teacher.h5" 60 "$out/reference.json"
cd "$src/tests/quant/export"
python3 check_onnx.py "$out/u8.onnx" "$out/u8a16.onnx"
python3 check_qnn.py --soc 43 --soc 69 --min-cos 0.999 --min-top1 1.0 "$out/u8.onnx" "$out/u8a16.onnx" 2> /dev/null
python3 check_tflite.py "$out/model.tflite" 2> /dev/null
python3 check_litert_qnn.py --soc SM8550 --soc SM8750 --simulate --min-cos 0.999 "$out/model.tflite" 2> /dev/null
echo "Qualcomm HTP export: all checks passed"
