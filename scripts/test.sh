#!/usr/bin/env bash
# Runs the test suite with ctest.
#   bash scripts/test.sh             the Release build in build/
#   bash scripts/test.sh --sanitize  a Debug build with AddressSanitizer + UndefinedBehaviorSanitizer in build-asan/
#   bash scripts/test.sh --own-gemm  a Release build with distill's own AVX-512 sgemm (-DDISTILL_OWN_GEMM=ON)
#                                    in build-own-gemm/, the C tests only (the shell tests add no GEMM path)
#   bash scripts/test.sh --mpi       a Release build with MPI (-DDISTILL_MPI=ON) in build-mpi/, the tests labelled
#                                    mpi: mpirun -np 2 against one process, kill + --resume (docs/mpi.md)
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)
# Tests share two cores with each other (ctest -j): OpenMP threads must sleep, not spin, while they wait.
export OMP_WAIT_POLICY=passive
# distill's kernels thread with OpenMP; tests that call the library directly get OpenBLAS single-threaded here,
# as the CLI sets it (kernels/kernels.h: the caller owns thread counts).
export OPENBLAS_NUM_THREADS=1
if [ "${1:-}" = "--sanitize" ]; then
  cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DDISTILL_SANITIZE=ON -DDISTILL_WERROR=ON >/dev/null
  cmake --build build-asan -j"$jobs" >/dev/null
  # Leak checks stay on; ASan/UBSan reports are fatal (-fno-sanitize-recover) so a report fails its test.
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  ctest --test-dir build-asan --output-on-failure -j"$jobs" -LE slow
elif [ "${1:-}" = "--own-gemm" ]; then
  # The opt-in sgemm (kernels/ops_gemm.c) is compiled out of the default build: this keeps it from rotting.
  cmake -S . -B build-own-gemm -DCMAKE_BUILD_TYPE=Release -DDISTILL_WERROR=ON -DDISTILL_OWN_GEMM=ON >/dev/null
  cmake --build build-own-gemm -j"$jobs" >/dev/null
  ctest --test-dir build-own-gemm --output-on-failure -j"$jobs" -LE shell
elif [ "${1:-}" = "--mpi" ]; then
  cmake -S . -B build-mpi -DCMAKE_BUILD_TYPE=Release -DDISTILL_WERROR=ON -DDISTILL_MPI=ON >/dev/null
  cmake --build build-mpi -j"$jobs" >/dev/null
  # CI runs as root on few cores: OpenMPI refuses root and more processes than cores unless told (the tests
  # pass --oversubscribe themselves); one OpenMP thread per process.
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1
  ctest --test-dir build-mpi --output-on-failure -L mpi
else
  cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DDISTILL_WERROR=ON >/dev/null
  cmake --build build -j"$jobs" >/dev/null
  ctest --test-dir build --output-on-failure -j"$jobs"
fi
