#!/usr/bin/env bash
# kill -9 at 50 random moments of a run that saves a checkpoint every other step (SPEC.md "Checkpoints": a crash
# mid-write leaves the previous checkpoint intact). Each start is fresh (no checkpoint yet) or --resume, and is
# killed after a random delay; after every kill
#   - the start before it did not fail (killed, or finished: exit 1 would mean it could not load what was left);
#   - last.ckpt, once it has appeared, is still there, loads completely (`distill eval` reads every parameter)
#     and its step never goes back; best.ckpt, when present, loads too;
#   - the folder holds only the run's own files, plus at most the temporaries of atomic writes (`*.tmp`);
# and at the end a last --resume trains to the final step, leaves no `*.tmp`, and its parameters equal an
# uninterrupted run's bit for bit (--threads 1). A quarter of the delays fall in start-up (teacher scan,
# checkpoint load; up to S, when the uninterrupted run wrote its first checkpoint), the rest in [S, S + T/100],
# T that run's time, in training and checkpoint writes; so the run moves on whatever this machine's start-up
# costs. The seed of the delays is printed (KILL_SEED=... repeats them).
#   bash test_kill_random.sh /path/to/distill /path/to/source
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
start_cli_test kill_random "$1"
KILLS=50
STEPS=600
# Sanitizer builds run several times slower: fewer steps keep the test short; the delays scale with T anyway.
if ldd "$DISTILL" 2> /dev/null | grep -q libasan; then STEPS=300; fi
SEED=${KILL_SEED:-$(( $(date +%s) % 32768 ))}
RANDOM=$SEED

tiny_teacher "$work/t.h5" 4
{
  tiny_student 12
  cat << EOF
[train]
steps = $STEPS
batch_size = 16
threads = 1
warmup_steps = 10
eval_every = 10
save_every = 2
log_every = 5
EOF
} > "$work/s.cfg"
train() { timeout 300 "$DISTILL" --teacher "$work/t.h5" --student "$work/s.cfg" --quiet "$@"; }
now_ms() { date +%s%3N; }

# The uninterrupted run: the reference parameters, its time T and the time S to its first checkpoint (start-up:
# teacher scan, model, the first steps), against which the delays are drawn.
t0=$(now_ms)
"$DISTILL" --teacher "$work/t.h5" --student "$work/s.cfg" --quiet --out "$work/ref" &
PID=$!
wait_for "$work/ref/last.ckpt"
S=$(($(now_ms) - t0))
wait "$PID" || die "the uninterrupted run failed"
PID=
T=$(($(now_ms) - t0))
# A quarter of the kills land in start-up, uniform in [0, S]; the rest uniform in [S, S + T/(2 KILLS)], in
# training and checkpoint writes. Every start thus passes its first checkpoint 3 times in 4 and moves the run on
# by about T/(4 KILLS), so the 50 kills cover about a quarter of it, however slow start-up is on this machine
# (and still less than all of it when other load makes T three times what it is for the starts).
span=$((T / (2 * KILLS)))
base=$S
[ "$span" -ge 20 ] || span=20
echo "uninterrupted run: $STEPS steps in $T ms, first checkpoint at $S ms; kill delays in [0, $S] ms (1 in 4)" \
  "or [$S, $((S + span))] ms, seed $SEED"

run=$work/run
ok_names=" config.cfg metrics.csv last.ckpt best.ckpt run.lock last.ckpt.tmp best.ckpt.tmp config.cfg.tmp summary.json.tmp "
prev_step=-1 kills=0 before_ckpt=0 mid_write=0 finished=0 bad=0
for k in $(seq 1 "$KILLS"); do
  args=(--out "$run")
  [ -f "$run/last.ckpt" ] && args+=(--resume)
  if [ $((RANDOM % 4)) -eq 0 ]; then d=$((RANDOM % (base + 1))); else d=$((base + RANDOM % (span + 1))); fi
  # distill itself in the background (not a function's subshell), so that kill -9 reaches it.
  "$DISTILL" --teacher "$work/t.h5" --student "$work/s.cfg" --quiet "${args[@]}" 2> "$work/start.err" &
  PID=$!
  sleep "$(printf '%d.%03d' $((d / 1000)) $((d % 1000)))"
  kill -9 "$PID" 2> /dev/null
  status=0
  { wait "$PID"; } 2> /dev/null || status=$? # quiet: no "Killed" line from bash for each of the 50
  PID=
  if [ "$status" -eq 0 ]; then
    finished=1
    echo "start $k finished the run before its kill ($d ms)"
    break
  fi
  if [ "$status" -ne 137 ]; then
    echo "FAILED: start $k (${args[*]}) exited $status before its kill: $(cat "$work/start.err")"
    bad=1
    break
  fi
  kills=$((kills + 1))
  if [ ! -f "$run/last.ckpt" ]; then
    before_ckpt=$((before_ckpt + 1))
    if [ "$prev_step" -ge 0 ]; then echo "FAILED: kill $k ($d ms): last.ckpt vanished"; bad=1; break; fi
  else
    if ! "$DISTILL" eval --checkpoint "$run/last.ckpt" --teacher "$work/t.h5" > /dev/null 2> "$work/eval.err"; then
      echo "FAILED: kill $k ($d ms): last.ckpt does not load: $(cat "$work/eval.err")"
      bad=1
      break
    fi
    step=$("$DISTILL" inspect "$run/last.ckpt" 2> /dev/null | awk '$1 == "step" {print $2}')
    if [ -z "$step" ] || [ "$step" -lt "$prev_step" ]; then
      echo "FAILED: kill $k ($d ms): last.ckpt at step '$step' after step $prev_step"
      bad=1
      break
    fi
    prev_step=$step
  fi
  if [ -f "$run/best.ckpt" ] && ! "$DISTILL" eval --checkpoint "$run/best.ckpt" --teacher "$work/t.h5" > /dev/null 2> "$work/eval.err"; then
    echo "FAILED: kill $k ($d ms): best.ckpt does not load: $(cat "$work/eval.err")"
    bad=1
    break
  fi
  tmp_left=0
  for f in "$run"/* "$run"/.[!.]*; do
    [ -e "$f" ] || continue
    n=$(basename "$f")
    case "$ok_names" in *" $n "*) ;; *) echo "FAILED: kill $k ($d ms): unexpected file $n in the run folder"; bad=1 ;; esac
    case "$n" in *.tmp) tmp_left=1 ;; esac
  done
  mid_write=$((mid_write + tmp_left))
  [ "$bad" -eq 0 ] || break
  # Ahead of an even spread of the run over the kills (a resumed start, or this machine under less load, can
  # reach its first checkpoint sooner than S): kill sooner from now on.
  if [ "$prev_step" -gt $((STEPS * k / (KILLS + 10))) ]; then
    span=$((span / 2))
    base=$((base * 3 / 4))
  fi
done
check "every start was killed or finished, never failed, and every kill left loadable checkpoints" test "$bad" -eq 0
echo "$kills kills: $before_ckpt before the first checkpoint, $mid_write left a temporary file (killed mid-write);" \
  "last checkpoint at step $prev_step of $STEPS"
check "at least $((KILLS * 4 / 5)) kills landed" test "$kills" -ge $((KILLS * 4 / 5))

# The end: one more --resume (unless a start already finished), to the last step.
if [ "$finished" -eq 0 ] && [ "$bad" -eq 0 ]; then
  resume=(--resume)
  [ -f "$run/last.ckpt" ] || resume=() # every kill came before the first checkpoint: start afresh
  check "--resume after the last kill trains to the end" train --out "$run" "${resume[@]}"
fi
check "the run reached step $STEPS" grep -q "\"steps\": $STEPS," "$run/summary.json"
check "no temporary file is left in the run folder" test -z "$(find "$run" -name '*.tmp')"
check "N steps with $kills kills and resumes == N steps in one go (bit-identical parameters)" \
  "$BIN/ckpt_params_equal" "$work/ref/last.ckpt" "$run/last.ckpt"
[ "$fail" -eq 0 ] && echo "PASS: $kills random kill -9, every checkpoint loadable, resumed to the end bit-identically"
exit "$fail"
