#!/usr/bin/env bash
# --resume is exact (SPEC.md "Checkpoints"): at --threads 1, 2N steps in one run and N steps, a kill -9 of the
# process once the step-N checkpoint is on disk, then --resume for the remaining N, give bit-identical parameters.
#   bash test_resume.sh /path/to/distill /path/to/source
set -euo pipefail
DISTILL=$1
BIN=$(dirname "$DISTILL")
N=60
# Sanitizer builds run ~10x slower: fewer steps keep the test short, and the kill window stays wide.
if ldd "$DISTILL" 2>/dev/null | grep -q libasan; then N=20; fi
WORK=$(mktemp -d)
PID=
cleanup() {
  if [ -n "$PID" ]; then kill -9 "$PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

"$BIN/make_synthetic_teacher" --out "$WORK/t.h5" --rows 2000 --len 16 --vocab 300 --classes 5 --emb-dim 16 \
  --dim 32 --layers 1 --heads 2 --ffn 64 --seed 5 >/dev/null
# Big enough that the N steps after the checkpoint take well over a second, so the kill lands mid-run.
cat >"$WORK/s.cfg" <<EOF
[student]
dim = 64
layers = 2
heads = 4
ffn_dim = 256
max_len = 16
[train]
steps = $((2 * N))
batch_size = 32
lr = 1e-3
warmup_steps = 10
seed = 3
threads = 1
val_fraction = 0.1
eval_every = $((2 * N))
save_every = $N
EOF

# A: one uninterrupted run.
"$DISTILL" --teacher "$WORK/t.h5" --student "$WORK/s.cfg" --out "$WORK/a" --quiet
[ -f "$WORK/a/last.ckpt" ] || fail "the uninterrupted run left no last.ckpt"

# B: the same run, killed with SIGKILL as soon as the step-N checkpoint has been renamed into place.
"$DISTILL" --teacher "$WORK/t.h5" --student "$WORK/s.cfg" --out "$WORK/b" --quiet &
PID=$!
for _ in $(seq 1 6000); do
  [ -f "$WORK/b/last.ckpt" ] && break
  kill -0 "$PID" 2>/dev/null || break
  sleep 0.01
done
kill -9 "$PID" 2>/dev/null || true
status=0
wait "$PID" || status=$?
PID=
[ "$status" -eq 137 ] || fail "run B was not killed mid-run (exit status $status); make the model slower"
[ -f "$WORK/b/last.ckpt" ] || fail "no checkpoint after the kill"
[ ! -f "$WORK/b/summary.json" ] || fail "run B finished before the kill"
# The checkpoint must be the step-N one (root attribute `step`), written before the kill.
"$DISTILL" inspect "$WORK/b/last.ckpt" >"$WORK/inspect.txt" 2>&1 || fail "inspect of the killed run's checkpoint"
grep -Eq "^[[:space:]]*step[[:space:]]+$N$" "$WORK/inspect.txt" || { cat "$WORK/inspect.txt" >&2; fail "checkpoint is not at step $N"; }

# B, resumed to the end.
"$DISTILL" --teacher "$WORK/t.h5" --student "$WORK/s.cfg" --out "$WORK/b" --resume --quiet
[ -f "$WORK/b/summary.json" ] || fail "the resumed run wrote no summary.json"
grep -q "\"steps\": $((2 * N))," "$WORK/b/summary.json" || fail "the resumed run did not reach step $((2 * N))"

# Compare the parameters bit for bit: the C helper when CMake built it, else h5py.
if [ -x "$BIN/ckpt_params_equal" ]; then
  "$BIN/ckpt_params_equal" "$WORK/a/last.ckpt" "$WORK/b/last.ckpt" || fail "parameters differ after resume"
elif /usr/bin/python3 -c "import h5py" 2>/dev/null; then
  /usr/bin/python3 - "$WORK/a/last.ckpt" "$WORK/b/last.ckpt" <<'EOF' || fail "parameters differ after resume"
import sys, h5py, numpy as np
a, b = h5py.File(sys.argv[1], "r")["params"], h5py.File(sys.argv[2], "r")["params"]
assert sorted(a) == sorted(b) and len(a) > 0, "different tensor sets"
bad = [k for k in a if a[k].shape != b[k].shape or not np.array_equal(a[k][()].view(np.uint32), b[k][()].view(np.uint32))]
print("%d parameter tensors, %d differ %s" % (len(a), len(bad), bad[:3]))
sys.exit(1 if bad else 0)
EOF
else
  echo "SKIP: neither ckpt_params_equal nor python3-h5py available to compare checkpoints"
  exit 77
fi
# The validation metrics then agree as well, the step-0 ones too (measured once, carried in the checkpoint).
for key in val_loss val_cos val_top1 init_val_loss init_val_cos; do
  va=$(grep "\"$key\"" "$WORK/a/summary.json") || fail "no $key in summary.json"
  vb=$(grep "\"$key\"" "$WORK/b/summary.json") || fail "no $key in the resumed summary.json"
  [ "$va" = "$vb" ] || fail "$key differs: $va vs $vb"
done
# A checkpoint whose carried metrics are damaged is refused by --resume, naming the dataset.
if /usr/bin/python3 -c "import h5py" 2>/dev/null; then
  mkdir "$WORK/c"
  cp "$WORK/b/last.ckpt" "$WORK/c/last.ckpt"
  /usr/bin/python3 - "$WORK/c/last.ckpt" <<'EOF'
import sys, h5py
with h5py.File(sys.argv[1], "r+") as f:
    f["/run/init_val"][0] = float("nan")
EOF
  status=0
  "$DISTILL" --teacher "$WORK/t.h5" --student "$WORK/s.cfg" --out "$WORK/c" --resume --steps $((3 * N)) --quiet \
    2>"$WORK/c.err" || status=$?
  [ "$status" -eq 1 ] || fail "a NaN row count in /run/init_val: exit status $status, not 1"
  grep -q "/run/init_val" "$WORK/c.err" || { cat "$WORK/c.err" >&2; fail "the refusal does not name /run/init_val"; }
else
  echo "SKIP (part): no python3-h5py to damage a checkpoint's /run/init_val"
fi
echo "PASS: $((2 * N)) steps in one run == $N + kill -9 + resume $N (bit-identical parameters)"
