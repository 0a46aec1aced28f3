#!/usr/bin/env bash
# Fuzzes every parser of outside bytes (tests/fuzz/README.md): configures a clang build in build-fuzz/
# (-DDISTILL_FUZZ=ON: libFuzzer, AddressSanitizer, UndefinedBehaviorSanitizer), builds the harnesses, and runs
# each tests/fuzz/fuzz_NAME for SECONDS (default 30), one at a time, over a copy of tests/fuzz/corpus/NAME.
#   bash scripts/fuzz.sh [SECONDS] [NAME ...]     (NAME: only those harnesses, e.g. teacher checkpoint)
# Exit 1 if any harness reports a crash, a sanitizer error, a leak, an out-of-memory or a timeout (one input
# running over 10 s); the input that did it is saved as build-fuzz/fuzz-out/NAME/{crash,leak,oom,timeout}-*
# and the harness's log beside it. Reproduce with: build-fuzz/fuzz_NAME THAT_FILE
set -uo pipefail
cd "$(dirname "$0")/.."
secs=${1:-30}
case $secs in '' | *[!0-9]*) echo "usage: scripts/fuzz.sh [SECONDS] [NAME ...]" >&2; exit 2 ;; esac
shift $(($# > 0 ? 1 : 0))
only=" $* "
for n in "$@"; do
  [ -f "tests/fuzz/fuzz_$n.c" ] || { echo "fuzz.sh: no harness tests/fuzz/fuzz_$n.c" >&2; exit 2; }
done
command -v clang > /dev/null || { echo "fuzz.sh: clang is needed (apt-get install clang)" >&2; exit 1; }
CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDISTILL_FUZZ=ON > /dev/null || exit 1
cmake --build build-fuzz -j"$(nproc)" --target fuzz > build-fuzz/fuzz-build.log 2>&1 ||
  { tail -30 build-fuzz/fuzz-build.log; exit 1; }

# One thread per library call: executions stay cheap and reproducible, and the harnesses never share cores.
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 OMP_WAIT_POLICY=passive HDF5_USE_FILE_LOCKING=FALSE
# A request over 4 GiB gets NULL, as malloc gives on most machines, so the code's out-of-memory paths run; what
# is actually used (touched) is limited to 2 GiB: a small file that makes a reader use more is a finding.
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:symbolize=1:allocator_may_return_null=1:max_allocation_size_mb=4096
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
out=build-fuzz/fuzz-out
rm -rf "${@/#/$out/}"
[ $# -gt 0 ] || rm -rf "$out"
failed=0
for src in tests/fuzz/fuzz_*.c; do
  name=$(basename "$src" .c)
  name=${name#fuzz_}
  [ $# -eq 0 ] || [[ $only == *" $name "* ]] || continue
  dir=$out/$name
  mkdir -p "$dir/corpus"
  cp -r "tests/fuzz/corpus/$name/." "$dir/corpus/"
  # Inputs: tokenizer texts up to 64 KiB (the harness also repeats them to 1 MiB), mutation programs short.
  case $name in
    tokenizer) max_len=65536 ;;
    teacher | checkpoint) max_len=512 ;;
    *) max_len=0 ;; # libFuzzer's default: the largest seed or 4096
  esac
  start=$SECONDS
  "build-fuzz/fuzz_$name" "$dir/corpus" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=4096 -max_len="$max_len" \
    -artifact_prefix="$dir/" -print_final_stats=1 > "$dir/log" 2>&1
  rc=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log")
  if [ $rc -ne 0 ]; then
    failed=1
    echo "FAILED: fuzz_$name (exit $rc after $((SECONDS - start)) s); log: $dir/log"
    grep -E "ERROR|runtime error|fuzz invariant|Test unit written|SUMMARY" "$dir/log" | head -8 | sed 's/^/  /'
  else
    echo "ok: fuzz_$name: ${runs:-?} runs in $((SECONDS - start)) s, $(ls "$dir/corpus" | wc -l) corpus inputs"
  fi
done
exit $failed
