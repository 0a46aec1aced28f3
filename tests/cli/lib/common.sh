# Shared prelude of the CLI test scripts (static.sh, teacher_init.sh, hidden.sh, qat.sh, prune.sh, the fault
# tests test_run_lock.sh, test_kill_random.sh, test_disk_full.sh, test_teacher_truncated.sh, test_run_folder.sh,
# and the exporters' runtime checks test_export_runtimes.sh, test_export_trained.sh); sourced, not run (it lives
# under lib/ so that CMake's tests/cli/*.sh glob does not make it a test of its own):
#   . "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

# need_python_h5py WHY: sets PY (DISTILL_TEST_PYTHON, else /usr/bin/python3); exits 77 (ctest: skipped) with a
# note naming WHY when it cannot import numpy and h5py.
need_python_h5py() {
  PY=${DISTILL_TEST_PYTHON:-/usr/bin/python3}
  if ! "$PY" -c "import h5py, numpy" 2> /dev/null; then
    echo "SKIP: $PY with numpy and h5py is needed $1"
    exit 77
  fi
}

# make_work NAME: a scratch directory $work (distill_NAME.XXXXXX under TMPDIR), removed on exit.
make_work() {
  work=$(mktemp -d "${TMPDIR:-/tmp}/distill_$1.XXXXXX")
  trap 'rm -rf "$work"' EXIT
}

# start_cli_test NAME DISTILL: sets DISTILL (made absolute), BIN (its build folder, for make_synthetic_teacher),
# PID (empty: the background run, if the test starts one) and a scratch $work; on exit the run $PID, if any, is
# killed and $work removed. A test with more to clean up sets its own EXIT trap after this.
start_cli_test() {
  DISTILL=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
  BIN=$(dirname "$DISTILL")
  PID=
  make_work "$1"
  trap '[ -n "$PID" ] && kill -9 "$PID" 2> /dev/null; rm -rf "$work"' EXIT
}

# have_export_runtimes: python3 can import onnx, onnxruntime, ai-edge-litert and numpy, and Vela is on PATH
# (tests/quant/export/requirements.txt). need_export_runtimes: exits 77 (ctest: skipped) when they are missing.
have_export_runtimes() {
  python3 -c "import onnx, onnxruntime, ai_edge_litert, numpy" 2> /dev/null && command -v vela > /dev/null
}
need_export_runtimes() {
  have_export_runtimes && return 0
  echo "SKIP: onnx, onnxruntime, ai-edge-litert or ethos-u-vela missing (pip install -r tests/quant/export/requirements.txt)"
  exit 77
}
# start_export_test NAME DISTILL SOURCE_DIR: the exporters' runtime checks: sets distill, src, bin (the build folder)
# and a scratch $tmp removed on exit; exits 77 when the Python runtimes are missing.
start_export_test() {
  distill=$2
  src=$3
  bin=$(dirname "$distill")
  need_export_runtimes
  make_work "$1"
  tmp=$work
}

fail=0
check() { # description, then a command that must succeed
  local what=$1
  shift
  if "$@"; then echo "ok: $what"; else echo "FAILED: $what"; fail=1; fi
}
# json FILE KEY: the number stored under KEY
json() { sed -n "s/.*\"$2\": \([-0-9.e+]*\).*/\1/p" "$1" | head -1; }
# refuse WHAT WANT COMMAND...: COMMAND exits 1 and its stderr contains the fixed string WANT (two checks).
refuse() {
  local what=$1 want=$2
  shift 2
  "$@" > /dev/null 2> "$work/err"
  local rc=$?
  check "$what: exit 1" test $rc -eq 1
  check "$what: says '$want'" grep -qF "$want" "$work/err"
}

# die MESSAGE: the test fails at once.
die() { echo "FAIL: $*" >&2; exit 1; }

# wait_for FILE: waits up to 120 s for FILE to appear while the run $PID lives; 1 when it never does.
wait_for() {
  for _ in $(seq 1 12000); do
    [ -e "$1" ] && return 0
    kill -0 "$PID" 2> /dev/null || return 1
    sleep 0.01
  done
  return 1
}

# tiny_teacher OUT SEED: a 1,000-row synthetic teacher file (L 12, vocabulary 200, 4 classes, 8-d embeddings)
# for runs that must start and checkpoint quickly; needs $BIN (the folder of distill's build).
tiny_teacher() {
  "$BIN/make_synthetic_teacher" --out "$1" --rows 1000 --len 12 --vocab 200 --classes 4 --emb-dim 8 \
    --dim 16 --layers 1 --heads 2 --ffn 32 --seed "$2" > /dev/null || die "cannot write the teacher $1"
}

# student_section DIM LAYERS HEADS FFN MAX_LEN: the [student] section of a transformer of that shape.
student_section() {
  printf '[student]\ndim = %s\nlayers = %s\nheads = %s\nffn_dim = %s\nmax_len = %s\n' "$1" "$2" "$3" "$4" "$5"
}
# tiny_student MAX_LEN: the [student] section of a 32-wide, one-layer student.
tiny_student() { student_section 32 1 2 64 "$1"; }
