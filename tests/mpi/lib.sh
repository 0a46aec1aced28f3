# Shared by the MPI tests (sourced): how they start MPI jobs.
#   need_mpirun          exits 77 (ctest: skipped) without mpirun
#   mpi_run N CMD...     CMD on N processes of this machine, one OpenMP thread each, even as root and on
#                        fewer cores than processes
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
