#!/usr/bin/env bash
# A data-parallel run survives a dead process the way a one-process run does (docs/mpi.md):
#  - `mpirun -np 2` of 2N steps, with process 1 killed with SIGKILL once the step-N checkpoint is on disk, ends
#    within seconds with a non-zero status and mpirun's message naming the dead process (no hang);
#  - a process that fails (here: process 1 is given a teacher file that does not exist) ends the job at once with
#    status 1 and a message naming it, while process 0 waits for it in the first collective;
#  - `mpirun -np 2 ... --resume` then finishes the run, and its parameters equal those of an uninterrupted
#    `mpirun -np 2` run bit for bit, and those of one process at the same global batch within 1e-5 relative.
#   bash mpi_resume_kill.sh /path/to/distill /path/to/source      (exit 77: no mpirun)
set -u
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
mpi_test_start mpi_kill "$1" "$2"
N=30
MPI_STEPS=$((2 * N)) mpi_make_inputs "$bin" "$work" || { echo "FAILED: teacher file"; exit 1; }
# A student big enough that the N steps after the checkpoint take a second or more: the kill lands mid-run.
args=(--teacher "$work/t.h5" --student "$work/s.cfg" --save-every $N --eval-every $((2 * N)) --quiet
  --batch-size 32 --set student.dim=128 --set student.ffn_dim=512)

"$distill" "${args[@]}" --out "$work/one"
mpi_run 2 "$distill" "${args[@]}" --out "$work/two" > "$work/two.log" 2>&1
check "uninterrupted mpirun -np 2 exits 0" test $? -eq 0

# The same run; process 1 is killed once the step-N checkpoint is in place.
mpi_run 2 "$distill" "${args[@]}" --out "$work/b" > "$work/b.log" 2>&1 &
job=$!
victim=
for _ in $(seq 1 3000); do
  if [ -z "$victim" ]; then # job is a subshell; its child is mpirun, whose children are the processes
    for p in $(pgrep -P "$(pgrep -P $job | head -1)" 2> /dev/null); do
      if tr '\0' '\n' < "/proc/$p/environ" 2> /dev/null | grep -qx "OMPI_COMM_WORLD_RANK=1"; then victim=$p; fi
    done
  fi
  [ -f "$work/b/last.ckpt" ] && break
  kill -0 $job 2> /dev/null || break
  sleep 0.01
done
t0=$(date +%s.%N)
[ -n "$victim" ] && kill -9 "$victim" 2> /dev/null
# mpirun must end the job by itself; give it 20 s before calling it a hang.
for _ in $(seq 1 200); do kill -0 $job 2> /dev/null || break; sleep 0.1; done
if kill -0 $job 2> /dev/null; then
  kill -9 $job
  check "the job ends after a process dies (it hung)" false
fi
wait $job
status=$?
t1=$(date +%s.%N)
echo "process 1 (pid ${victim:-none}) killed; mpirun exited with status $status after $(awk "BEGIN{print $t1 - $t0}") s"
check "found process 1" test -n "$victim"
check "the job exits non-zero" test $status -ne 0
grep -m1 "exited on signal" "$work/b.log"
check "mpirun names the dead process" grep -q "exited on signal 9" "$work/b.log" || cat "$work/b.log"
check "killed mid-run" test ! -f "$work/b/summary.json"
"$distill" inspect "$work/b/last.ckpt" > "$work/inspect.txt" 2>&1
check "the checkpoint is the step-$N one" grep -Eq "^[[:space:]]*step[[:space:]]+$N$" "$work/inspect.txt"

# A failing process: its error, then MPI_Abort; never a hang.
timeout 60 bash -c "$(declare -f mpi_run); mpi_run 1 \"\$@\"" _ "$distill" "${args[@]}" --out "$work/f" : \
  -np 1 "$distill" "${args[@]}" --teacher "$work/none.h5" --out "$work/f" > "$work/f.log" 2>&1
status=$?
check "a failing process ends the job with status 1" test $status -eq 1 || cat "$work/f.log"
check "its message names it" grep -q "distill: process 1 of 2: .*none.h5: no such file" "$work/f.log"

mpi_run 2 "$distill" "${args[@]}" --out "$work/b" --resume > "$work/resume.log" 2>&1
check "mpirun -np 2 --resume exits 0" test $? -eq 0 || cat "$work/resume.log"
check "resumed run reached step $((2 * N))" grep -q "\"steps\": $((2 * N))," "$work/b/summary.json"
check "resumed = uninterrupted (bit for bit)" "$bin/ckpt_params_equal" "$work/two/last.ckpt" "$work/b/last.ckpt"
echo -n "resumed vs one process: "
check "resumed = one process (1e-5 relative)" \
  "$bin/ckpt_params_equal" --rel-tol 1e-5 "$work/one/last.ckpt" "$work/b/last.ckpt"
exit $fail
