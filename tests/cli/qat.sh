#!/usr/bin/env bash
# `distill` with [quant]: quantization-aware training on a teacher of a shape found nowhere else in the
# repo (24 tokens, 1500 ids, 7 classes, 48-dim embeddings), then the int8 model:
#  - summary.json's int8_val_* (integer runtime) equal the fake-quant val_* of the same final model;
#  - `eval --int8` (checkpoint or native file) and fake-quant `eval` agree (to 0.005; in fact exactly);
#  - `embed` gives the same embedding from the native file and from the checkpoint;
#  - N steps in one go and N/2 + --resume + N/2 (with observers, LSQ step sizes and freezing crossing
#    the resume point) give byte-identical native exports and identical metrics;
#  - damaged or foreign native files and float checkpoints are refused with exit 1 and a message.
# usage: qat.sh /path/to/distill /path/to/source
set -u
distill=$1
gen="$(dirname "$distill")/make_synthetic_teacher"
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
make_work qat
close() { awk -v a="$1" -v b="$2" -v t="$3" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(a != "" && d <= t) }'; }
# fraction X: X is a number in [0, 1] (summary.json leaves non-finite metrics out, so NaN reads as "")
fraction() { awk -v a="$1" 'BEGIN { exit !(a ~ /^[-0-9.e+]+$/ && a + 0 >= 0 && a + 0 <= 1) }'; }

"$gen" --out "$work/t.h5" --rows 800 --len 24 --vocab 1500 --classes 7 --emb-dim 48 --dim 32 --ffn 64 >/dev/null || exit 1
{ student_section 32 2 4 64 24; cat <<CFG; } > "$work/s.cfg"
[train]
steps = 16
batch_size = 16
warmup_steps = 2
schedule = constant
threads = 1
eval_every = 8
save_every = 8
[quant]
enabled = true
start_step = 4
freeze_step = 12
learn_scales = true
CFG
"$distill" --teacher "$work/t.h5" --student "$work/s.cfg" --out "$work/a" --quiet
check "QAT run exits 0" test $? -eq 0
s="$work/a/summary.json"
for k in cos top1; do
  check "summary int8_val_$k = val_$k" close "$(json "$s" int8_val_$k)" "$(json "$s" val_$k)" 0
done
# The teacher has labels and embeddings: label accuracy and kNN@10 of both models are in the summary.
for k in label_acc knn10; do
  check "summary val_$k is a fraction ($(json "$s" val_$k))" fraction "$(json "$s" val_$k)"
  check "summary int8_val_$k = val_$k" close "$(json "$s" int8_val_$k)" "$(json "$s" val_$k)" 0
done
"$distill" eval --checkpoint "$work/a/last.ckpt" --teacher "$work/t.h5" > "$work/fq.json"
"$distill" eval --checkpoint "$work/a/last.ckpt" --teacher "$work/t.h5" --int8 > "$work/i8.json"
check "export native" "$distill" export --checkpoint "$work/a/last.ckpt" --format native --out "$work/a.i8"
"$distill" eval --checkpoint "$work/a.i8" --teacher "$work/t.h5" --int8 > "$work/n8.json"
echo "fake-quant $(cat "$work/fq.json")"
echo "int8       $(cat "$work/i8.json")"
for k in cos top1; do
  check "eval --int8 $k within 0.005 of fake-quant" close "$(json "$work/i8.json" $k)" "$(json "$work/fq.json" $k)" 0.005
  check "native eval $k = checkpoint eval --int8" close "$(json "$work/n8.json" $k)" "$(json "$work/i8.json" $k)" 0
done
"$distill" embed --model "$work/a.i8" --ids "1 7 1499 3" > "$work/e1.json"
"$distill" embed --model "$work/a/last.ckpt" --ids "1,7,1499,3" > "$work/e2.json"
check "embed: native = checkpoint (fake-quant)" cmp -s "$work/e1.json" "$work/e2.json"
check "embed: 48 numbers" test "$(sed 's/.*"embedding": \[\([^]]*\)\].*/\1/' "$work/e1.json" | tr ',' '\n' | wc -l)" -eq 48

# Resume: 8 steps, then --resume to 16, must match the run above byte for byte (a constant schedule,
# so that stopping at 8 does not change the learning rates).
"$distill" --teacher "$work/t.h5" --student "$work/s.cfg" --out "$work/b" --steps 8 --quiet &&
  "$distill" --teacher "$work/t.h5" --student "$work/s.cfg" --out "$work/b" --resume --quiet
check "resumed QAT run exits 0" test $? -eq 0
"$distill" export --checkpoint "$work/b/last.ckpt" --format native --out "$work/b.i8"
check "resume: identical int8 model" cmp -s "$work/a.i8" "$work/b.i8"
check "resume: identical int8_val_cos" test "$(json "$work/b/summary.json" int8_val_cos)" = "$(json "$s" int8_val_cos)"

# Refusals: exit 1 with a message naming the problem.
head -c 1000 "$work/a.i8" > "$work/trunc.i8"
refuse "truncated native file" "truncated or corrupt" "$distill" embed --model "$work/trunc.i8" --ids "1 2"
{ printf 'DSTLINT8\x09\x00\x00\x00'; tail -c +13 "$work/a.i8"; } > "$work/v9.i8"
refuse "unknown version" "version 9 is not supported" "$distill" eval --checkpoint "$work/v9.i8" --teacher "$work/t.h5"
refuse "not a model" "" "$distill" embed --model "$work/s.cfg" --ids "1 2"
refuse "id outside the vocabulary" "outside the vocabulary" "$distill" embed --model "$work/a.i8" --ids "1500"
"$distill" --teacher "$work/t.h5" --student "$work/s.cfg" --out "$work/f" --steps 2 --set quant.enabled=false --quiet
refuse "float checkpoint has no int8 model" "without quantization state" \
  "$distill" export --checkpoint "$work/f/last.ckpt" --format native --out "$work/f.i8"
"$distill" embed --model "$work/f/last.ckpt" --ids "1 2 3" > "$work/ef.json"
check "embed on a float checkpoint" grep -q '"embedding": \[' "$work/ef.json"
exit $fail
