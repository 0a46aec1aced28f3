#!/usr/bin/env bash
# Where a run writes (SPEC.md "A training run writes into DIR"):
#   - without --out and without [run] out: runs/<[run] name>, and a second run beside it runs/<name>-2 (an
#     earlier run is never overwritten);
#   - [run] out = DIR: the run folder is DIR, and the resolved config.cfg keeps it;
#   - --out beats [run] out;
#   - a second run on the [run] out folder of a finished run is refused (exit 1, naming the folder), nothing
#     in it changed.
#   bash test_run_folder.sh /path/to/distill /path/to/source
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
start_cli_test run_folder "$1"

tiny_teacher "$work/t.h5" 5
student() { # OUT_LINE: the [run] section, then a short run
  printf '[run]\nname = folders\n%s\n' "$1"
  tiny_student 12
  printf '[train]\nsteps = 4\nbatch_size = 8\nthreads = 1\neval_every = 4\nsave_every = 4\n'
}
student "" > "$work/plain.cfg"
student "out = $work/from_config" > "$work/with_out.cfg"
mkdir "$work/cwd"
cd "$work/cwd" || die "cannot enter $work/cwd"
train() { "$DISTILL" --teacher "$work/t.h5" --quiet "$@" > /dev/null 2> "$work/last_err"; }

check "default folder: trains" train --student "$work/plain.cfg"
check "default folder is runs/folders" test -f runs/folders/summary.json
check "a second run goes beside it" train --student "$work/plain.cfg"
check "... in runs/folders-2" test -f runs/folders-2/summary.json

check "[run] out: trains" train --student "$work/with_out.cfg"
check "[run] out: the folder is the one named" test -f "$work/from_config/summary.json"
check "[run] out: nothing under runs/ for it" test ! -e runs/folders-3
check "[run] out: config.cfg keeps it" grep -qx "out = $work/from_config" "$work/from_config/config.cfg"

check "--out beats [run] out" train --student "$work/with_out.cfg" --out "$work/from_flag"
check "... the run is in the --out folder" test -f "$work/from_flag/summary.json"

before=$(sha256sum "$work/from_config/last.ckpt")
refuse "[run] out on a finished run" "$work/from_config already holds a run" \
  "$DISTILL" --teacher "$work/t.h5" --student "$work/with_out.cfg" --quiet
check "... its checkpoint unchanged" test "$(sha256sum "$work/from_config/last.ckpt")" = "$before"
exit $fail
