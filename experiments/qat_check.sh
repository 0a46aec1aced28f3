#!/usr/bin/env bash
# Quantization-aware training on a teacher of a shape found nowhere else in the repo, and the int8 model
# it gives. Trains the same student (synthetic.cfg's 2 x 128 transformer) twice on the same data:
#   float: [quant] observers only, never fake-quant (start_step = steps): the plain float student, and as
#          its int8_val_* the post-training-quantized (PTQ) int8 model built from the observed ranges;
#   qat:   float for the first half, fake-quant for the second half, ranges frozen for the last 10%.
# Then `distill eval` (fake-quant) and `distill eval --int8` (integer runtime) of the QAT checkpoint on
# every teacher row, and the metrics on the held-out validation rows from summary.json.
# usage: bash experiments/qat_check.sh [BUILD_DIR [STEPS [section.key=value ...]]]
#   (about 6 minutes at 1200 steps on 2 cores); extra assignments apply to both runs, e.g.
#   quant.weight_bits=4 to see what QAT recovers where post-training quantization loses.
set -eu
build=${1:-build}
steps=${2:-1200}
shift $(($# < 2 ? $# : 2))
extra=()
for kv in "$@"; do extra+=(--set "$kv"); done
distill=$build/distill
work=${QAT_CHECK_DIR:-runs/qat_check}
mkdir -p "$work"
teacher=$work/teacher_l24_v1500_k7_d48.h5
[ -f "$teacher" ] || "$build/make_synthetic_teacher" --out "$teacher" --len 24 --vocab 1500 --classes 7 --emb-dim 48 \
  --seed 7 > /dev/null
cat > "$work/student.cfg" <<CFG
[teacher]
path = $teacher
[student]
dim = 128
layers = 2
heads = 4
ffn_dim = 512
max_len = 24
pooling = mean
out_dim = teacher
[train]
steps = $steps
batch_size = 64
lr = 1e-3
warmup_steps = 100
eval_every = $((steps / 4))
save_every = $((steps / 4))
[quant]
enabled = true
CFG
half=$((steps / 2))
freeze=$((steps * 9 / 10))
run() { # name, then --set overrides
  local name=$1
  shift
  rm -rf "${work:?}/$name"
  "$distill" run "$work/student.cfg" --out "$work/$name" --quiet "$@" ${extra[@]+"${extra[@]}"}
}
json() { sed -n "s/.*\"$2\": \([-0-9.e+]*\).*/\1/p" "$1" | head -1; }
run float --set quant.start_step=$steps
run qat --set quant.start_step=$half --set quant.freeze_step=$freeze
"$distill" eval --checkpoint "$work/qat/last.ckpt" --teacher "$teacher" > "$work/qat_eval_fakequant.json"
"$distill" eval --checkpoint "$work/qat/last.ckpt" --teacher "$teacher" --int8 > "$work/qat_eval_int8.json"
"$distill" export --checkpoint "$work/qat/last.ckpt" --format native --out "$work/qat.i8"
f=$work/float/summary.json
q=$work/qat/summary.json
printf '\nteacher: %s (24 tokens, 1500 ids, 7 classes, 48-dim embeddings), %s steps %s\n\n' "$teacher" "$steps" "$*"
printf '| validation rows (%s)               | cos       | top1      |\n' "$(json "$q" n_val)"
printf '| ----------------------------------- | --------- | --------- |\n'
printf '| float student (no fake-quant)       | %.4f    | %.4f    |\n' "$(json "$f" val_cos)" "$(json "$f" val_top1)"
printf '| its PTQ int8 model                  | %.4f    | %.4f    |\n' "$(json "$f" int8_val_cos)" "$(json "$f" int8_val_top1)"
printf '| QAT student, fake-quant forward     | %.4f    | %.4f    |\n' "$(json "$q" val_cos)" "$(json "$q" val_top1)"
printf '| QAT int8 model, integer runtime     | %.4f    | %.4f    |\n' "$(json "$q" int8_val_cos)" "$(json "$q" int8_val_top1)"
printf '\nall %s teacher rows: eval (fake-quant) %s\n' "$(json "$work/qat_eval_int8.json" n)" "$(cat "$work/qat_eval_fakequant.json")"
printf '                       eval --int8       %s\n' "$(cat "$work/qat_eval_int8.json")"
params=$(json "$q" params)
bytes=$(stat -c %s "$work/qat.i8")
awk -v b="$bytes" -v p="$params" 'BEGIN { printf "native int8 file %d bytes = %.1f%% of the float parameters (%d x 4 bytes)\n", b, 100 * b / (4 * p), p }'
awk -v a="$(json "$work/qat_eval_int8.json" cos)" -v b="$(json "$work/qat_eval_fakequant.json" cos)" \
    -v c="$(json "$work/qat_eval_int8.json" top1)" -v d="$(json "$work/qat_eval_fakequant.json" top1)" \
    -v i="$(json "$q" int8_val_cos)" -v fl="$(json "$f" val_cos)" 'BEGIN {
  ok1 = (a - b <= 0.005 && b - a <= 0.005 && c - d <= 0.005 && d - c <= 0.005)
  ok2 = (fl - i <= 0.01)
  printf "eval --int8 vs fake-quant eval within 0.005 (cos, top1): %s\n", ok1 ? "yes" : "NO"
  printf "QAT int8 val cos within 0.01 of the float student: %s (%.4f vs %.4f)\n", ok2 ? "yes" : "NO", i, fl
  exit !(ok1 && ok2) }'
