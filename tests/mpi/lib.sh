# Shared by the MPI tests (sourced): how they start MPI jobs. Sources the CLI tests' helpers (check, make_work, ...)
# and cases.sh.
#   mpi_test_start NAME DISTILL SOURCE   sets distill, bin (its build folder), MPI_SRC and a scratch $work (NAME);
#                        exits 77 without mpirun
#   need_mpirun          exits 77 (ctest: skipped) without mpirun
#   mpi_run N CMD...     CMD on N processes of this machine, one OpenMP thread each, even as root and on
#                        fewer cores than processes
mpi_lib_dir=$(dirname "${BASH_SOURCE[0]}")
. "$mpi_lib_dir/../cli/lib/common.sh"
. "$mpi_lib_dir/cases.sh"

need_mpirun() {
  if ! command -v mpirun > /dev/null; then
    echo "SKIP: mpirun is not installed (Debian: openmpi-bin)"
    exit 77
  fi
}

mpi_run() {
  local n=$1
  shift
  OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1 \
    mpirun -np "$n" --oversubscribe --bind-to none "$@"
}

mpi_test_start() {
  need_mpirun
  distill=$2
  bin=$(dirname "$distill")
  MPI_SRC=$3
  make_work "$1"
}
