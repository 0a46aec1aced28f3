#!/usr/bin/env bash
# The native int8 model of the default experiment (experiments/default.cfg: the bundled all-MiniLM-L6-v2
# teacher, a 2 x 128 student over a 30522-token vocabulary) is at most 30% of the float checkpoint's
# parameter bytes (4 per parameter). Int8 weights alone are 25%; the rest is per-row scales, int32 biases,
# LayerNorm parameters and the vocabulary strings. Two QAT steps are enough: size does not depend on training.
# usage: qat_size.sh /path/to/distill /path/to/source
set -u
distill=$1
src=$2
teacher=$src/experiments/data/teacher.h5
if [ ! -f "$teacher" ]; then echo "SKIP: no $teacher: nothing to measure"; exit 77; fi # ctest: skipped, not passed
work=$(mktemp -d "${TMPDIR:-/tmp}/distill_qat_size.XXXXXX")
trap 'rm -rf "$work"' EXIT
"$distill" run "$src/experiments/default.cfg" --out "$work/run" --quiet --set teacher.path="$teacher" \
  --set quant.enabled=true --set train.steps=2 --set train.val_fraction=0.02 || exit 1
"$distill" export --checkpoint "$work/run/last.ckpt" --format native --out "$work/m.i8" || exit 1
params=$(sed -n 's/.*"params": \([0-9]*\).*/\1/p' "$work/run/summary.json")
bytes=$(stat -c %s "$work/m.i8")
awk -v b="$bytes" -v p="$params" 'BEGIN {
  r = b / (4.0 * p)
  printf "native %d bytes / float parameters %d x 4 bytes = %.4f (bar 0.30)\n", b, p, r
  exit !(p > 0 && r <= 0.30) }'
