#!/usr/bin/env bash
# Exports a QAT checkpoint for every deployment target and checks each file in the toolchains that
# run on this machine, against distill's native int8 runtime on teacher rows: onnxruntime (CPU),
# Qualcomm's HTP simulator through onnxruntime-qnn (placement, quantization, offline compiles for two
# SoCs), LiteRT (CPU) and its Qualcomm compile plugin, OpenVINO (CPU; when `pip install openvino` was
# done), Vela for the Ethos-U85 and U55. This is what
# docs/deploy.md's placement table reports.
#   bash scripts/deploy_check.sh CHECKPOINT TEACHER.h5 [ROWS] [OUT_DIR]
# Needs build/ (scripts/setup.sh --test-deps) and the packages of tests/quant/export/requirements.txt.
set -uo pipefail
cd "$(dirname "$0")/.."
if [ $# -lt 2 ]; then
  echo "usage: bash scripts/deploy_check.sh CHECKPOINT TEACHER.h5 [ROWS] [OUT_DIR]" >&2
  exit 1
fi
ckpt=$1
teacher=$2
rows=${3:-100}
out=${4:-$(mktemp -d)}
mkdir -p "$out"
distill=build/distill
set -e
"$distill" export --checkpoint "$ckpt" --format native --out "$out/model.int8"
"$distill" export --checkpoint "$ckpt" --target generic --format onnx --out "$out/int8.onnx"
"$distill" export --checkpoint "$ckpt" --target qnn-htp --format onnx --out "$out/qnn_u8.onnx"
"$distill" export --checkpoint "$ckpt" --target qnn-htp --format onnx --w8a16 --out "$out/qnn_u8a16.onnx"
"$distill" export --checkpoint "$ckpt" --target qnn-htp --format tflite --out "$out/qnn_ids32.tflite"
"$distill" export --checkpoint "$ckpt" --target ethos-u --format tflite --out "$out/ethos_u.tflite"
"$distill" export --checkpoint "$ckpt" --target openvino --format tflite --out "$out/openvino.tflite"
build/test_export_onnx --reference "$out/model.int8" "$teacher" "$rows" "$out/reference.json"
set +e
cd tests/quant/export
export TF_CPP_MIN_LOG_LEVEL=3
failed=0
run() { # exit 77: the checker's package is not installed here (a skip, said on its own line)
  echo "== $*"
  local rc=0
  "$@" 2> /dev/null || rc=$?
  if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ]; then failed=1; fi
}
run python3 check_onnx.py "$out/int8.onnx" "$out/qnn_u8.onnx" "$out/qnn_u8a16.onnx"
run python3 check_qnn.py --soc 43 --soc 69 "$out/qnn_u8.onnx" "$out/qnn_u8a16.onnx"
run python3 check_tflite.py "$out/qnn_ids32.tflite" "$out/ethos_u.tflite"
run python3 check_litert_qnn.py --soc SM8550 --soc SM8750 --simulate --min-cos 0.999 "$out/qnn_ids32.tflite" \
  "$out/ethos_u.tflite"
run python3 check_openvino.py "$out/int8.onnx" "$out/openvino.tflite"
run python3 check_vela.py "$out/ethos_u.tflite"
run python3 check_vela.py --accelerator ethos-u55-128 "$out/ethos_u.tflite"
echo "exports in $out"
exit $failed
