#!/usr/bin/env bash
# Peak memory of distill on a 2,000,000-row teacher (issue #3: must stay below 1 GiB, because batches are read
# by hyperslab and the shuffle buffer is bounded). Generates the full-width file (32 tokens, 10 logits, 64-dim
# embeddings: ~920 MB on disk, about the size of the limit itself), trains the SPEC.md student a few hundred
# steps under /usr/bin/time -v and prints the peak RSS.
#
#   bash bench/memory_2m.sh [WORKDIR]       (default WORKDIR: ${TMPDIR:-/tmp}/distill_memory; the file is reused)
#
# Environment: BUILD_DIR (default <repo>/build), STEPS (300), THREADS (2). Takes ~2-3 minutes on 2 shared cores.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD_DIR:-$ROOT/build}
WORK=${1:-${TMPDIR:-/tmp}/distill_memory}
STEPS=${STEPS:-300}
THREADS=${THREADS:-2}
LIMIT_KB=$((1024 * 1024))
[ -x /usr/bin/time ] || { echo "memory_2m.sh: needs /usr/bin/time (apt-get install time)" >&2; exit 1; }

cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" -j2 --target distill make_synthetic_teacher >/dev/null
mkdir -p "$WORK"
TEACHER=$WORK/random_2m.h5
if [ ! -f "$TEACHER" ]; then
  echo "== generating $TEACHER (2,000,000 rows, random targets)" >&2
  "$BUILD/make_synthetic_teacher" --targets random --rows 2000000 --out "$TEACHER.part"
  mv "$TEACHER.part" "$TEACHER"
fi
{ cat "$ROOT/bench/spec_student.cfg"; cat <<EOF
[train]
steps = $STEPS
batch_size = 64
lr = 1e-3
warmup_steps = $((STEPS / 10))
threads = $THREADS
val_fraction = 0.001
eval_every = $((STEPS / 2))
save_every = $((STEPS / 2))
EOF
} >"$WORK/student.cfg"
rm -rf "$WORK/run"
echo "== distill: $STEPS steps of 64 on $(du -h "$TEACHER" | cut -f1) of teacher" >&2
/usr/bin/time -v -o "$WORK/time.txt" "$BUILD/distill" --teacher "$TEACHER" --student "$WORK/student.cfg" \
  --out "$WORK/run" --quiet
rss=$(sed -n 's/^[[:space:]]*Maximum resident set size (kbytes): //p' "$WORK/time.txt")
wall=$(sed -n 's/^[[:space:]]*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$WORK/time.txt")
file_kb=$(du -k "$TEACHER" | cut -f1)
printf '| teacher rows | file size | steps x batch | peak RSS | limit | wall |\n'
printf '| ---: | ---: | ---: | ---: | ---: | ---: |\n'
printf '| 2,000,000 | %d MiB | %d x 64 | %d MiB | 1024 MiB | %s |\n' $((file_kb / 1024)) "$STEPS" $((rss / 1024)) "$wall"
if [ "$rss" -ge "$LIMIT_KB" ]; then
  echo "memory_2m.sh: peak RSS $rss kB is not below 1 GiB" >&2
  exit 1
fi
