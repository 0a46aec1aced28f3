# Shared prelude of the CLI test scripts (static.sh, teacher_init.sh, hidden.sh, qat.sh, prune.sh); sourced, not
# run (it lives under lib/ so that CMake's tests/cli/*.sh glob does not make it a test of its own):
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
