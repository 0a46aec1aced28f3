#!/usr/bin/env bash
# `[student] arch = static` end to end: a Model2Vec-like student (token table, mean over the real tokens,
# projection, classifier) trained on a teacher whose training rows leave part of the vocabulary unused, with
# QAT (observers, learned step sizes, freezing) and vocabulary pruning:
#  - the run compacts the token table to the ids it saw, checkpoints say arch static and load back as static;
#  - summary.json's int8_val_* (integer runtime) equal the fake-quant val_*; `eval --int8` of the checkpoint
#    and of the native file equal fake-quant `eval`; `embed` gives the same vector from both;
#  - N steps in one go and N/2 + --resume + N/2 give bit-identical parameters and native exports (QAT
#    crossing the resume point; resuming mid-pruning is tests/train/test_static_run.c's);
#  - ONNX (QDQ int8, uint8, w8a16, float + encodings) and TFLite exports run in onnxruntime and LiteRT and
#    agree with the native runtime (cosine >= 0.999 on every row, top-1 >= 99%), and Vela puts every TFLite
#    operator on the Ethos-U85 (skipped, with a note, when the Python packages are missing);
#  - pooling = cls and head/FFN pruning are refused for a static student, naming the key.
# usage: static.sh /path/to/distill /path/to/source
set -u
distill=$1
src=$2
bin=$(dirname "$distill")
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
make_work static
same() { test "$1" != "" && test "$1" = "$2"; }

V=3000
"$bin/make_synthetic_teacher" --out "$work/t.h5" --rows 600 --len 16 --min-len 4 --vocab $V --classes 5 \
  --emb-dim 32 --dim 32 --ffn 64 --seed 3 > /dev/null || exit 1
cat > "$work/s.cfg" <<CFG
[student]
arch = static
dim = 48
max_len = 16
init = random
[train]
steps = 60
batch_size = 32
lr = 5e-3
warmup_steps = 5
schedule = constant
threads = 1
eval_every = 30
save_every = 30
[quant]
enabled = true
start_step = 20
freeze_step = 50
learn_scales = true
[prune]
enabled = true
vocab = true
start_step = 10
end_step = 40
every = 10
CFG
"$distill" --teacher "$work/t.h5" --student "$work/s.cfg" --out "$work/a" 2> "$work/a.log"
check "static QAT + vocabulary-pruning run exits 0" test $? -eq 0
s="$work/a/summary.json"
for k in cos top1 loss label_acc knn10; do
  check "summary int8_val_$k = val_$k ($(json "$s" val_$k))" same "$(json "$s" int8_val_$k)" "$(json "$s" val_$k)"
done
kept=$(sed -n 's/.*structure after compaction: vocab \([0-9]*\): \([0-9]*\) params.*/\1/p' "$work/a.log")
params=$(sed -n 's/.*structure after compaction: vocab \([0-9]*\): \([0-9]*\) params.*/\2/p' "$work/a.log")
echo "vocabulary kept: $kept of $V rows, $params parameters"
check "vocabulary pruned (some of $V rows dropped)" test "${kept:-$V}" -lt $V -a "${kept:-0}" -gt 100
# token table, projection (32 x 48 + 32) and classifier (5 x 32 + 5): nothing else
check "parameters = kept rows x 48 + projection + classifier" test "$params" -eq $((kept * 48 + 32 * 48 + 32 + 5 * 32 + 5))
check "summary params = compacted count" same "$(json "$s" params)" "$params"
"$distill" inspect "$work/a/last.ckpt" > "$work/inspect.txt"
check "checkpoint says arch static" grep -q "arch *static" "$work/inspect.txt"
check "checkpoint holds no position table or LayerNorm" test "$(grep -c 'pos_emb\|ln_f\|layers\.' "$work/inspect.txt")" -eq 0

# The int8 model: fake-quant eval, eval --int8 of the checkpoint and of the native file agree exactly.
check "export native" "$distill" export --checkpoint "$work/a/last.ckpt" --format native --out "$work/a.i8"
"$distill" eval --checkpoint "$work/a/last.ckpt" --teacher "$work/t.h5" > "$work/fq.json"
"$distill" eval --checkpoint "$work/a/last.ckpt" --teacher "$work/t.h5" --int8 > "$work/i8.json"
"$distill" eval --checkpoint "$work/a.i8" --teacher "$work/t.h5" > "$work/n8.json"
echo "fake-quant $(cat "$work/fq.json")"
echo "native    $(cat "$work/n8.json")"
for k in cos top1 loss; do
  check "eval --int8 $k = fake-quant eval" same "$(json "$work/i8.json" $k)" "$(json "$work/fq.json" $k)"
  check "native eval $k = checkpoint eval --int8" same "$(json "$work/n8.json" $k)" "$(json "$work/i8.json" $k)"
done
"$distill" inspect "$work/a.i8" > "$work/native.txt"
check "native graph: EMBED, POOL_MEAN, FC, FC" \
  test "$(awk '/^    [A-Z_]+ +[a-z]/ {printf "%s ", $1}' "$work/native.txt")" = "EMBED POOL_MEAN FC FC "
"$distill" embed --model "$work/a.i8" --ids "1 7 2999 3" > "$work/e1.json"
"$distill" embed --model "$work/a/last.ckpt" --ids "1,7,2999,3" > "$work/e2.json"
check "embed: native = checkpoint (fake-quant), pruned ids included" cmp -s "$work/e1.json" "$work/e2.json"

# Resume at step 30, between QAT's start and its freezing (learned step sizes): bit-identical to one run.
# (Stopping at 30 would cut the pruning schedule short; tests/train/test_static_run.c resumes mid-pruning.)
"$distill" --teacher "$work/t.h5" --student "$work/s.cfg" --out "$work/c" --set prune.enabled=false --quiet &&
  "$distill" --teacher "$work/t.h5" --student "$work/s.cfg" --out "$work/d" --set prune.enabled=false \
    --steps 30 --quiet &&
  "$distill" --teacher "$work/t.h5" --student "$work/s.cfg" --out "$work/d" --set prune.enabled=false --resume --quiet
check "uninterrupted and resumed static runs exit 0" test $? -eq 0
check "resume: bit-identical parameters" "$bin/ckpt_params_equal" "$work/c/last.ckpt" "$work/d/last.ckpt"
"$distill" export --checkpoint "$work/c/last.ckpt" --format native --out "$work/c.i8"
"$distill" export --checkpoint "$work/d/last.ckpt" --format native --out "$work/d.i8"
check "resume: identical int8 model" cmp -s "$work/c.i8" "$work/d.i8"
check "resume: identical int8_val_cos" same "$(json "$work/d/summary.json" int8_val_cos)" \
  "$(json "$work/c/summary.json" int8_val_cos)"

# Refusals, before any run folder exists.
refuse "pooling = cls" "pooling = cls" "$distill" --teacher "$work/t.h5" --student "$work/s.cfg" --out "$work/e" \
  --set student.pooling=cls
refuse "head pruning" "[prune] heads = 0.5" "$distill" --teacher "$work/t.h5" --student "$work/s.cfg" \
  --out "$work/e" --set prune.heads=0.5
refuse "FFN pruning" "[prune] ffn = 0.25" "$distill" --teacher "$work/t.h5" --student "$work/s.cfg" \
  --out "$work/e" --set prune.ffn=0.25
check "refusals leave no run folder" test ! -e "$work/e"

# The exports in real runtimes (tests/quant/export/*.py).
if have_export_runtimes; then
  out=$work/out
  mkdir -p "$out"
  cp "$work/a.i8" "$out/model.int8"
  ex() { check "export $*" "$distill" export --checkpoint "$work/a/last.ckpt" "$@"; }
  ex --format onnx --out "$out/qdq.onnx"
  ex --format onnx --uint8 --out "$out/u8.onnx"
  ex --format onnx --w8a16 --out "$out/a16.onnx"
  ex --format onnx-float --out "$out/float.onnx"
  ex --format encodings --out "$out/float.encodings"
  ex --format tflite --out "$out/model.tflite"
  "$bin/test_export_onnx" --reference "$out/model.int8" "$work/t.h5" 400 "$out/reference.json" > /dev/null
  cd "$src/tests/quant/export"
  export TF_CPP_MIN_LOG_LEVEL=3 ORT_LOGGING_LEVEL=3
  check "onnxruntime agrees with the native runtime" python3 check_onnx.py --static "$out"
  check "LiteRT agrees with the native runtime" python3 check_tflite.py --static "$out" 2> /dev/null
  check "encodings name the float graph's tensors" python3 check_encodings.py "$out"
  check "Vela places every operator on the Ethos-U85" python3 check_vela.py "$out/model.tflite"
else
  echo "note: onnx, onnxruntime, ai-edge-litert or ethos-u-vela missing: runtime checks of the exports skipped"
fi
exit $fail
