#!/usr/bin/env bash
# Data-parallel training is the one-process computation (docs/mpi.md): for each case of cases.sh (float;
# cross-entropy + in-batch similarity; Taylor pruning of heads, FFN and vocabulary; QAT with an EMA observer;
# QAT with learned step sizes; token rows + LSQ on the real teacher), `mpirun -np 2` at global batch 16 and one
# process at batch 16 end with the same parameters within 1e-5 relative L2 (only the order of the gradient
# sums differs), and the two ranks' own parameters are identical (checked by distill at every checkpoint).
#   bash mpi_equivalence.sh /path/to/distill /path/to/source      (exit 77: no mpirun)
set -u
distill=$1
MPI_SRC=$2
bin=$(dirname "$distill")
here=$(dirname "${BASH_SOURCE[0]}")
. "$here/../cli/lib/common.sh"
. "$here/lib.sh"
. "$here/cases.sh"
need_mpirun
make_work mpi_eq
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
exit $fail
