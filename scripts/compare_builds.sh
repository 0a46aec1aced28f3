#!/usr/bin/env bash
# Shows that a change altered no result: builds two revisions (Release), runs the same fixed work with each
# and compares what they wrote. For refactors, which must be bit-identical.
#   bash scripts/compare_builds.sh [BASE] [NEW]
# BASE is a git revision (default HEAD); NEW is a revision or, by default, the working tree as it is.
# The work, on one synthetic teacher made by BASE's make_synthetic_teacher, one thread per run:
#   - a transformer trained 120 steps with structured pruning and QAT (fake-quant from step 40), exported native / ONNX (int8, --uint8, --w8a16, float) / encodings / TFLite;
#   - a static student (arch = static) with vocabulary pruning and QAT, exported native / ONNX / TFLite;
#   - the transformer with learned step sizes (learn_scales = true), its checkpoints and eval only;
#   - `distill eval` of each run's checkpoint, float and --int8.
# Compared: the checkpoints' parameters bit for bit (ckpt_params_equal), every export byte for byte,
# metrics.csv and summary.json without their timing columns, config.cfg without its path line, and the eval JSON. Exit 0 when all are equal,
# 1 when anything differs (each difference is printed), 2 when a build or a run fails.
set -uo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
base=${1:-HEAD}
new=${2:-}
work=$(mktemp -d)
trap 'git -C "$repo" worktree remove --force "$work/src-base" >/dev/null 2>&1;
      [ -n "$new" ] && git -C "$repo" worktree remove --force "$work/src-new" >/dev/null 2>&1; rm -rf "$work"' EXIT

die() { echo "compare_builds: $*" >&2; exit 2; }

# Sources: a detached worktree per revision; the working tree itself when NEW is not given.
git worktree add --detach "$work/src-base" "$base" >/dev/null 2>&1 || die "cannot check out $base"
if [ -n "$new" ]; then
  git worktree add --detach "$work/src-new" "$new" >/dev/null 2>&1 || die "cannot check out $new"
  new_src=$work/src-new
else
  new_src=$repo
fi

build() { # build SRC DIR
  cmake -S "$1" -B "$2" -DCMAKE_BUILD_TYPE=Release > "$2.log" 2>&1 &&
    cmake --build "$2" -j"$(nproc)" --target distill make_synthetic_teacher ckpt_params_equal >> "$2.log" 2>&1 ||
    { tail -20 "$2.log"; die "build of $1 failed (log: $2.log)"; }
}
echo "compare_builds: building $base and ${new:-the working tree}"
build "$work/src-base" "$work/build-base"
build "$new_src" "$work/build-new"

export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
"$work/build-base/make_synthetic_teacher" --out "$work/teacher.h5" --rows 900 --len 20 --vocab 500 --classes 5 \
  --emb-dim 32 --dim 64 --layers 2 --heads 4 --ffn 128 --seed 11 > /dev/null || die "make_synthetic_teacher failed"

cat > "$work/transformer.cfg" <<'CFG'
[student]
dim = 48
layers = 2
heads = 4
ffn_dim = 96
max_len = 20
pooling = mean
out_dim = teacher
[train]
steps = 120
batch_size = 24
lr = 2e-3
warmup_steps = 10
eval_every = 40
save_every = 60
threads = 1
[loss]
kd_weight = 1.0
emb_weight = 1.0
sim_weight = 0.5
[quant]
enabled = true
start_step = 40
[prune]
enabled = true
heads = 0.25
ffn = 0.5
vocab = true
start_step = 10
end_step = 60
every = 10
CFG
sed -e 's/^heads = 0.25$/heads = 0/' -e 's/^ffn = 0.5$/ffn = 0/' "$work/transformer.cfg" |
  sed -e 's/^\[student\]$/[student]\narch = static/' > "$work/static.cfg"
# The transformer again with learned step sizes (LSQ): the STE's scale gradients and the weights' masks.
sed -e 's/^start_step = 40$/start_step = 40\nlearn_scales = true/' "$work/transformer.cfg" > "$work/lsq.cfg"
grep -q '^learn_scales = true$' "$work/lsq.cfg" || die "cannot write the LSQ config"

run_all() { # run_all BUILD OUT
  local d="$1/distill" o=$2
  mkdir -p "$o"
  for kind in transformer static lsq; do
    "$d" --teacher "$work/teacher.h5" --student "$work/$kind.cfg" --out "$o/$kind" --quiet > /dev/null ||
      die "training ($kind) with $1 failed"
    local c=$o/$kind/last.ckpt
    if [ $kind != lsq ]; then # exports of the LSQ run would repeat the transformer's
      "$d" export --checkpoint "$c" --format native --out "$o/$kind.int8" &&
        "$d" export --checkpoint "$c" --format onnx --out "$o/$kind.onnx" &&
        "$d" export --checkpoint "$c" --format onnx --uint8 --out "$o/$kind.u8.onnx" &&
        "$d" export --checkpoint "$c" --format tflite --out "$o/$kind.tflite" || die "export ($kind) with $1 failed"
      if [ $kind = transformer ]; then
        "$d" export --checkpoint "$c" --format onnx --uint8 --w8a16 --out "$o/$kind.a16.onnx" &&
          "$d" export --checkpoint "$c" --format onnx-float --out "$o/$kind.float.onnx" &&
          "$d" export --checkpoint "$c" --format encodings --out "$o/$kind.encodings" || die "export ($kind) with $1 failed"
      fi
    fi
    "$d" eval --checkpoint "$c" --teacher "$work/teacher.h5" > "$o/$kind.eval.json" &&
      "$d" eval --checkpoint "$c" --teacher "$work/teacher.h5" --int8 > "$o/$kind.eval-int8.json" ||
      die "eval ($kind) with $1 failed"
    # Timing is the one thing allowed to differ.
    python3 - "$o/$kind" <<'PY'
import csv, json, sys
run = sys.argv[1]
timing = {"samples_per_sec", "wall_seconds", "samples_s", "elapsed", "eta"}
rows = list(csv.reader(open(run + "/metrics.csv")))
keep = [i for i, h in enumerate(rows[0]) if h not in timing]
with open(run + "/metrics.cmp", "w") as f:
    for r in rows:
        f.write(",".join(r[i] for i in keep if i < len(r)) + "\n")
# config.cfg's first line names the run folder's own path.
open(run + "/config.cmp", "w").writelines(open(run + "/config.cfg").readlines()[1:])
s = {k: v for k, v in json.load(open(run + "/summary.json")).items() if k not in timing}
json.dump(s, open(run + "/summary.cmp", "w"), indent=1, sort_keys=True)
PY
  done
}
echo "compare_builds: running both"
run_all "$work/build-base" "$work/out-base"
run_all "$work/build-new" "$work/out-new"

differ=0
same() { echo "  same: $1"; }
for kind in transformer static lsq; do
  for c in last.ckpt best.ckpt; do
    if "$work/build-new/ckpt_params_equal" "$work/out-base/$kind/$c" "$work/out-new/$kind/$c" > "$work/cmp.txt" 2>&1; then
      same "$kind/$c parameters"
    else
      differ=1; echo "  DIFFER: $kind/$c parameters:"; sed 's/^/    /' "$work/cmp.txt"
    fi
  done
  for f in "$kind/metrics.cmp" "$kind/summary.cmp" "$kind/config.cmp"; do
    if cmp -s "$work/out-base/$f" "$work/out-new/$f"; then same "$f"; else differ=1; echo "  DIFFER: $f"; diff "$work/out-base/$f" "$work/out-new/$f" | head -6; fi
  done
done
for f in $(cd "$work/out-base" && ls *.int8 *.onnx *.tflite *.encodings *.json); do
  if cmp -s "$work/out-base/$f" "$work/out-new/$f"; then same "$f"; else differ=1; echo "  DIFFER: $f"; fi
done
if [ $differ = 0 ]; then echo "compare_builds: identical"; else echo "compare_builds: DIFFERENT"; fi
exit $differ
