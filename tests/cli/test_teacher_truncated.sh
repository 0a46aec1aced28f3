#!/usr/bin/env bash
# The teacher file truncated (truncate -s) while a run reads it. HDF5 reads missing bytes as zeros without an
# error, and its chunk cache can hide the loss for hundreds of steps, so the reader compares the file's size
# with its size at open on every batch read (data/teacher_private.h: ds_teacher_check_size). The run must
#   - stop with exit 1 at its next read, naming the teacher file and saying it shrank (not train on zeros);
#   - leave its checkpoints loadable and no *.tmp;
# and with the file restored, --resume continues from the last checkpoint.
#   bash test_teacher_truncated.sh /path/to/distill /path/to/source
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
start_cli_test teacher_truncated "$1"

"$BIN/make_synthetic_teacher" --out "$work/orig.h5" --rows 20000 --len 16 --vocab 300 --classes 5 --emb-dim 16 \
  --targets random > /dev/null || die "cannot write the teacher"
cp "$work/orig.h5" "$work/t.h5"
{
  tiny_student 16
  cat << 'EOF'
[train]
steps = 1000000
batch_size = 16
threads = 1
eval_every = 100
save_every = 20
EOF
} > "$work/s.cfg"
run=$work/run
# distill itself in the background, so that the trap can stop it should it train on regardless.
"$DISTILL" --teacher "$work/t.h5" --student "$work/s.cfg" --out "$run" --quiet 2> "$work/err" &
PID=$!
wait_for "$run/last.ckpt" || die "no first checkpoint: $(cat "$work/err")"
size=$(stat -c %s "$work/t.h5")
truncate -s $((size / 2)) "$work/t.h5"
# A million steps take many minutes: the run must stop long before.
status=
for _ in $(seq 1 6000); do
  if ! kill -0 "$PID" 2> /dev/null; then
    status=0
    wait "$PID" || status=$?
    PID=
    break
  fi
  sleep 0.01
done
[ -n "$status" ] || die "the run was still training 60 s after its teacher file was cut in half"
echo "  $(cat "$work/err")"
check "the run stops with exit 1" test "$status" -eq 1
check "the message names the teacher file and says it shrank" grep -qF "$work/t.h5: the file shrank from $size to $((size / 2)) bytes" "$work/err"
step=$("$DISTILL" inspect "$run/last.ckpt" 2> /dev/null | awk '$1 == "step" {print $2}')
check "last.ckpt loads (step $step)" "$DISTILL" eval --checkpoint "$run/last.ckpt" --teacher "$work/orig.h5" > /dev/null
if [ -f "$run/best.ckpt" ]; then
  check "best.ckpt loads" "$DISTILL" eval --checkpoint "$run/best.ckpt" --teacher "$work/orig.h5" > /dev/null
fi
check "no temporary file left" test -z "$(find "$run" -name '*.tmp')"
refuse "a new run on the truncated file" "$work/t.h5" "$DISTILL" --teacher "$work/t.h5" --student "$work/s.cfg" \
  --out "$work/other" --quiet
cp "$work/orig.h5" "$work/t.h5"
check "with the file restored, --resume continues to step $((step + 20))" timeout 120 "$DISTILL" \
  --teacher "$work/t.h5" --student "$work/s.cfg" --out "$run" --quiet --resume --steps $((step + 20))
check "the resumed run reached step $((step + 20))" grep -q "\"steps\": $((step + 20))," "$run/summary.json"
[ "$fail" -eq 0 ] && echo "PASS: a teacher file truncated mid-run stops the run naming it, checkpoints intact"
exit "$fail"
