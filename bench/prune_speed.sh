#!/usr/bin/env bash
# Inference speed of a pruned-and-compacted student against the dense one, measured side by side in one run.
# Trains the SPEC.md student (dim 128, 2 layers, 4 heads, ffn 512) briefly twice on a synthetic teacher:
# dense, and with 50% of heads and FFN neurons pruned (then compacted). Then times `distill eval` of both
# checkpoints over every teacher row, alternating dense / compact for ROUNDS rounds, and prints the best
# samples/s of each (the best round is the one least disturbed by other work on the machine).
#
# usage: bench/prune_speed.sh [BUILD_DIR] [ROUNDS] [ROWS]
#   BUILD_DIR  holds distill and make_synthetic_teacher (default: build)
#   ROUNDS     timed evaluations of each model (default 3)
#   ROWS       teacher rows (default 4000)
# OMP_NUM_THREADS (default 1 here) sets the threads of every run.
set -euo pipefail
build=${1:-build}
rounds=${2:-3}
rows=${3:-4000}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
distill="$build/distill"
gen="$build/make_synthetic_teacher"
[ -x "$distill" ] && [ -x "$gen" ] || { echo "prune_speed: build $build first (needs distill, make_synthetic_teacher)" >&2; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/prune_speed.XXXXXX")
trap 'rm -rf "$work"' EXIT

"$gen" --out "$work/teacher.h5" --rows "$rows" >/dev/null
{ cat "$(dirname "$0")/spec_student.cfg"; cat <<CFG
[train]
steps = 40
batch_size = 64
warmup_steps = 5
eval_every = 40
save_every = 40
CFG
} > "$work/student.cfg"
train() { "$distill" --teacher "$work/teacher.h5" --student "$work/student.cfg" --out "$work/$1" --quiet "${@:2}"; }
train dense
train pruned --set prune.enabled=true --set prune.heads=0.5 --set prune.ffn=0.5 --set prune.start_step=10 \
  --set prune.end_step=30 --set prune.every=10

params() { sed -n 's/.*"params": \([0-9]*\).*/\1/p' "$work/$1/summary.json"; }
# samples/s of one evaluation of every row
rate() {
  local t0 t1
  t0=$(date +%s.%N)
  "$distill" eval --checkpoint "$work/$1/last.ckpt" --teacher "$work/teacher.h5" > "$work/$1.eval.json"
  t1=$(date +%s.%N)
  awk -v n="$rows" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", n / (b - a) }'
}
best_dense=0
best_compact=0
for r in $(seq "$rounds"); do
  d=$(rate dense)
  c=$(rate pruned)
  echo "round $r: dense $d samples/s, compact $c samples/s"
  best_dense=$(awk -v a="$best_dense" -v b="$d" 'BEGIN { print (b > a ? b : a) }')
  best_compact=$(awk -v a="$best_compact" -v b="$c" 'BEGIN { print (b > a ? b : a) }')
done
echo "dense:   $(params dense) params, $best_dense samples/s (best of $rounds, $rows rows, $OMP_NUM_THREADS thread(s))"
echo "compact: $(params pruned) params, $best_compact samples/s"
awk -v a="$best_dense" -v b="$best_compact" 'BEGIN { printf "speedup: %.2fx\n", b / a }'
