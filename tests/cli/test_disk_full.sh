#!/usr/bin/env bash
# A full disk under --out (a 4 MiB tmpfs filled up with a filler file): a run resumed there with room for none,
# a few KiB, and a quarter, half and three quarters of one checkpoint
#   - exits 1 (not a crash) with a message naming the file it could not write and "No space left on device";
#   - leaves last.ckpt and best.ckpt byte for byte as they were, and loadable, and no *.tmp behind;
# and once the filler is gone the same run resumes to the end. `distill export` onto the full disk exits 1
# naming the file, and the earlier export at that path stays as it was.
# Mounting needs root; elsewhere the test is skipped (77) with a line saying so.
#   bash test_disk_full.sh /path/to/distill /path/to/source
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
start_cli_test disk_full "$1"
full=$work/full
mkdir "$full"
if ! mount -t tmpfs -o size=4m distill-full "$full" 2> /dev/null; then
  echo "SKIP: cannot mount a small tmpfs at $full (needs root): no disk-full test here"
  exit 77
fi
trap 'umount "$full" 2> /dev/null; rm -rf "$work"' EXIT

tiny_teacher "$work/t.h5" 6
{
  tiny_student 12
  cat << 'EOF'
[train]
steps = 20
batch_size = 16
threads = 1
eval_every = 10
save_every = 10
[quant]
enabled = true
EOF
} > "$work/s.cfg"
run=$full/run
train() { timeout 300 "$DISTILL" --teacher "$work/t.h5" --student "$work/s.cfg" --quiet "$@"; }
train --out "$run" || die "the first 20 steps did not train on the empty tmpfs"
"$DISTILL" export --checkpoint "$run/last.ckpt" --format tflite --out "$full/m.tflite" || die "export failed"
cp "$run/last.ckpt" "$run/best.ckpt" "$full/m.tflite" "$work/"
ckpt=$(stat -c %s "$run/last.ckpt")
# fill FREE_KIB: the tmpfs full but for FREE_KIB KiB.
fill() {
  rm -f "$full/filler"
  dd if=/dev/zero of="$full/filler" bs=4k 2> /dev/null
  truncate -s "-$1K" "$full/filler"
}

for free in 0 4 $((ckpt / 4096)) $((ckpt / 2048)) $((ckpt * 3 / 4096)); do
  fill "$free"
  what="resume with $free KiB free (a checkpoint is $((ckpt / 1024)) KiB)"
  refuse "$what" "No space left on device" train --out "$run" --resume --steps 60
  check "$what: the message names the file" grep -Eq "$run/(last\.ckpt|best\.ckpt|config\.cfg|metrics\.csv)" "$work/err"
  echo "  $(cat "$work/err")"
  check "$what: last.ckpt unchanged" cmp -s "$run/last.ckpt" "$work/last.ckpt"
  check "$what: best.ckpt unchanged" cmp -s "$run/best.ckpt" "$work/best.ckpt"
  check "$what: last.ckpt loads" "$DISTILL" eval --checkpoint "$run/last.ckpt" --teacher "$work/t.h5" > /dev/null
  check "$what: no temporary file left" test -z "$(find "$run" -name '*.tmp')"
done

rm -f "$full/filler"
check "with the disk free again, --resume trains to the end" train --out "$run" --resume --steps 60
check "the resumed run reached step 60" grep -q '"steps": 60,' "$run/summary.json"

tfl=$(stat -c %s "$work/m.tflite")
for free in 0 $((tfl / 4096)); do
  fill "$free"
  refuse "export with $free KiB free" "$full/m.tflite" \
    "$DISTILL" export --checkpoint "$run/last.ckpt" --format tflite --out "$full/m.tflite"
  check "export with $free KiB free: says why" grep -qF "No space left on device" "$work/err"
  check "export with $free KiB free: the earlier export is unchanged" cmp -s "$full/m.tflite" "$work/m.tflite"
  check "export with $free KiB free: no temporary file left" test ! -e "$full/m.tflite.tmp"
done
[ "$fail" -eq 0 ] && echo "PASS: a full disk gives exit 1 naming the file, checkpoints and exports intact"
exit "$fail"
