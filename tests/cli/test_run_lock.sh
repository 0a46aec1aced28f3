#!/usr/bin/env bash
# One training run per run folder (common/common.h), and run folders that cannot be written:
#   - while a run trains, a second run on the same --out (fresh or --resume) exits 1 naming the folder and
#     saying another run holds it, and changes nothing there;
#   - after kill -9 of the first run its run.lock file is still there, yet `--resume` takes the folder and
#     trains to the end (the kernel dropped the lock with the process); afterwards the lock is free again;
#   - --out naming a regular file, or a folder under one, exits 1 naming the path and leaves the file alone;
#   - --out on a read-only file system (a read-only tmpfs, and a read-only bind mount of a finished run for
#     --resume: chmod 555 does not stop root) exits 1 naming the path.
#   bash test_run_lock.sh /path/to/distill /path/to/source
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
start_cli_test run_lock "$1"
MOUNTS=()
cleanup() {
  if [ -n "$PID" ]; then kill -9 "$PID" 2> /dev/null; wait "$PID" 2> /dev/null; fi
  for m in "${MOUNTS[@]}"; do umount "$m" 2> /dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT

tiny_teacher "$work/t.h5" 3
# Far more steps than the test waits for: run A is still training when B comes, and is killed.
{
  tiny_student 12
  cat << 'EOF'
[train]
steps = 1000000
batch_size = 16
threads = 1
eval_every = 1000000
save_every = 20
EOF
} > "$work/s.cfg"
run=$work/run
# timeout: with a broken lock, a refused run would train its million steps instead of failing the test.
train() { timeout 120 "$DISTILL" --teacher "$work/t.h5" --student "$work/s.cfg" --quiet "$@"; }

# ---- a second run while the first one trains ----
"$DISTILL" --teacher "$work/t.h5" --student "$work/s.cfg" --quiet --out "$run" > "$work/a.log" 2>&1 &
PID=$! # distill itself, not a subshell: kill -9 below must hit the process that holds the lock
wait_for "$run/last.ckpt" || die "run A did not write its first checkpoint: $(cat "$work/a.log")"
check "run A holds $run/run.lock while it trains" test -f "$run/run.lock"
listing() { (cd "$run" && ls | grep -v '\.tmp$'); } # run A's own temporaries come and go
before=$(listing)
refuse "second run on a busy --out" "another distill run" train --out "$run"
check "the refusal names the folder" grep -qF "$run: " "$work/err"
check "the refusal names the holder's pid" grep -qF "(pid $PID)" "$work/err"
echo "  $(cat "$work/err")"
refuse "second run with --resume on a busy --out" "another distill run" train --out "$run" --resume
check "the --resume refusal names the folder" grep -qF "$run: " "$work/err"
# A run pointing its own config file at the busy folder (distill run DIR/config.cfg --out DIR) too.
refuse "distill run on a busy --out" "holds this run folder" timeout 120 "$DISTILL" run "$run/config.cfg" --out "$run" --quiet
check "run A is still training after the refusals" kill -0 "$PID"
check "the refused runs wrote nothing new into the folder" test "$(listing)" = "$before"

# ---- kill -9: the lock dies with the process, the file stays, --resume proceeds ----
kill -9 "$PID"
status=0
wait "$PID" || status=$?
PID=
check "run A was killed (status 137)" test "$status" -eq 137
check "run.lock is left behind by the killed run" test -f "$run/run.lock"
step=$("$DISTILL" inspect "$run/last.ckpt" 2> /dev/null | awk '$1 == "step" {print $2}')
check "the killed run's checkpoint loads (step $step)" test -n "$step"
end=$((step + 40))
check "--resume after kill -9 takes the folder and trains to step $end" train --out "$run" --resume --steps "$end"
check "the resumed run reached step $end" grep -q "\"steps\": $end," "$run/summary.json"
check "the lock is free once the run ended: --resume again exits 0" train --out "$run" --resume --steps "$end"
refuse "a new run on the finished folder" "already holds a run" train --out "$run"

# ---- --out is not a directory ----
echo "not a run folder" > "$work/file"
refuse "--out naming a regular file" "$work/file: not a directory" train --out "$work/file" --steps 2
check "the file is unchanged" test "$(cat "$work/file")" = "not a run folder"
refuse "--out under a regular file" "$work/file/sub: cannot create the run folder" train --out "$work/file/sub" --steps 2
check "the file is unchanged" test "$(cat "$work/file")" = "not a run folder"

# ---- read-only --out ----
mkdir "$work/ro"
if mount -t tmpfs -o ro,size=1m distill-ro "$work/ro" 2> /dev/null; then
  MOUNTS+=("$work/ro")
  refuse "--out a read-only folder" "$work/ro: cannot write in the run folder" train --out "$work/ro" --steps 2
  check "the message gives the cause" grep -qF "Read-only file system" "$work/err"
  refuse "--out a new folder on a read-only file system" "$work/ro/new: cannot create the run folder" \
    train --out "$work/ro/new" --steps 2
  check "the message gives the cause" grep -qF "Read-only file system" "$work/err"
  # The finished run, bind-mounted read-only: --resume must not be able to take it.
  mkdir "$work/ro_run"
  if mount --bind "$run" "$work/ro_run" 2> /dev/null; then
    MOUNTS=("$work/ro_run" "${MOUNTS[@]}")
    if mount -o remount,ro,bind "$work/ro_run" 2> /dev/null; then
      refuse "--resume in a read-only run folder" "$work/ro_run: cannot write in the run folder" \
        train --out "$work/ro_run" --resume --steps $((end + 10))
    else
      echo "SKIP (part): cannot remount the bind mount read-only here"
    fi
  fi
elif [ "$(id -u)" -ne 0 ]; then
  chmod 555 "$work/ro" # not root: permissions do stop us
  refuse "--out a read-only folder" "$work/ro: cannot write in the run folder" train --out "$work/ro" --steps 2
  refuse "--out a new folder in a read-only folder" "$work/ro/new: cannot create the run folder" \
    train --out "$work/ro/new" --steps 2
  chmod 755 "$work/ro"
else
  echo "SKIP (part): root cannot mount a read-only tmpfs here, and chmod does not stop root"
fi

[ "$fail" -eq 0 ] && echo "PASS: run folder lock, kill -9 + --resume, non-directory and read-only --out"
exit "$fail"
