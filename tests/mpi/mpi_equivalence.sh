#!/usr/bin/env bash
# Data-parallel training is the one-process computation (docs/mpi.md): for each case of cases.sh (float;
# cross-entropy + in-batch similarity; Taylor pruning of heads, FFN and vocabulary; QAT with an EMA observer;
# QAT with learned step sizes; token rows + LSQ on the real teacher; when python3 has h5py to write its teacher
# file, the hidden-state loss, mse and cosine), `mpirun -np 2` at global batch 16 and one
# process at batch 16 end with the same parameters within 1e-5 relative L2 (only the order of the gradient
# sums differs), and the two ranks' own parameters are identical (checked by distill at every checkpoint).
#   bash mpi_equivalence.sh /path/to/distill /path/to/source      (exit 77: no mpirun)
set -u
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
mpi_test_start mpi_eq "$1" "$2"
mpi_make_inputs "$bin" "$work" || { echo "FAILED: teacher file"; exit 1; }
for c in $MPI_CASES; do
  # shellcheck disable=SC2046 # the case's options are words
  "$distill" --teacher "$work/t.h5" --student "$work/s.cfg" --out "$work/one_$c" --quiet $(mpi_case_sets "$c")
  check "$c: one process" test -f "$work/one_$c/last.ckpt"
  # shellcheck disable=SC2046
  mpi_run 2 "$distill" --teacher "$work/t.h5" --student "$work/s.cfg" --out "$work/two_$c" --quiet \
    $(mpi_case_sets "$c") > "$work/two_$c.log" 2>&1
  rc=$?
  check "$c: mpirun -np 2 exits 0" test $rc -eq 0 || cat "$work/two_$c.log"
  check "$c: summary says 2 processes" grep -q '"processes": 2' "$work/two_$c/summary.json"
  echo -n "$c: "
  check "$c: same parameters (1e-5 relative)" \
    "$bin/ckpt_params_equal" --rel-tol 1e-5 "$work/one_$c/last.ckpt" "$work/two_$c/last.ckpt"
done
# The hidden-state loss (its mean runs over the tokens of the whole batch) on a teacher file with hidden_states.
PY=${DISTILL_TEST_PYTHON:-/usr/bin/python3}
if "$PY" -c "import h5py, numpy" 2> /dev/null; then
  "$PY" - "$work/hid.h5" << 'EOF'
import sys, h5py, numpy as np
rng = np.random.default_rng(11)
N, L, V, D, H = 300, 16, 200, 32, 24
ids, mask = np.zeros((N, L), np.int32), np.zeros((N, L), np.uint8)
for i in range(N):
    n = int(rng.integers(4, L + 1))
    ids[i, :n] = rng.integers(1, V, n)
    mask[i, :n] = 1
hidden = rng.normal(0, 1, (V, H)).astype(np.float32)[ids] + 0.1 * rng.normal(0, 1, (N, L, H)).astype(np.float32)
hidden[mask == 0] = 0
with h5py.File(sys.argv[1], "w") as f:
    f["input_ids"], f["attention_mask"] = ids, mask
    f["embeddings"] = rng.normal(0, 1, (N, D)).astype(np.float32)
    f["hidden_states"] = hidden.astype(np.float16)
    f.attrs["vocab_size"] = V
EOF
  for hl in mse cosine; do
    opts=(--teacher "$work/hid.h5" --student "$work/s.cfg" --quiet --set student.layers=1 --set loss.hidden_weight=1
      --set loss.hidden_loss=$hl --set loss.emb_weight=0.01 --set loss.kd_weight=0)
    "$distill" "${opts[@]}" --out "$work/one_hid_$hl"
    mpi_run 2 "$distill" "${opts[@]}" --out "$work/two_hid_$hl" > "$work/two_hid.log" 2>&1
    check "hidden $hl: mpirun -np 2 exits 0" test $? -eq 0 || cat "$work/two_hid.log"
    echo -n "hidden $hl: "
    check "hidden $hl: same parameters (1e-5 relative)" \
      "$bin/ckpt_params_equal" --rel-tol 1e-5 "$work/one_hid_$hl/last.ckpt" "$work/two_hid_$hl/last.ckpt"
  done
else
  echo "note: no python3 with h5py: the hidden-state case is left out"
fi
exit $fail
