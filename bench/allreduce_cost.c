/* allreduce_cost [MAX_BYTES]: the cost of MPI_Allreduce (float sum, in place, as train/dist.c calls it) by
 * message size, from 4 bytes to MAX_BYTES (default 64 MiB) in powers of 4, on the processes mpirun started.
 * Prints one line per size (bytes, microseconds per call, algorithm bandwidth bytes / t) and fits the ring
 * model t = 2 (p - 1) a + 2 (p - 1) / p * bytes / b: latency a from the smallest messages, bandwidth b from the
 * largest; each size timed as the median of 7 batches. bench/scaling.sh feeds a and b to its estimate for more processes.
 *   mpirun -np 2 build-mpi/allreduce_cost */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

static double time_batch(float *x, int n, int reps) {
  MPI_Barrier(MPI_COMM_WORLD);
  const double t0 = MPI_Wtime();
  for (int r = 0; r < reps; r++) MPI_Allreduce(MPI_IN_PLACE, x, n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
  double t = (MPI_Wtime() - t0) / reps, worst = 0.0;
  MPI_Allreduce(&t, &worst, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD); /* the slowest process sets the pace */
  return worst;
}

static int cmp_double(const void *a, const void *b) {
  const double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* The median of 7 batches: on a shared machine a process descheduled for a few ms spoils a mean. */
static double time_call(float *x, int n, int reps) {
  double t[7];
  for (int k = 0; k < 7; k++) t[k] = time_batch(x, n, reps > 7 ? reps / 7 : 1);
  qsort(t, 7, sizeof *t, cmp_double);
  return t[3];
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  int rank, p;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &p);
  const long max_bytes = argc > 1 ? atol(argv[1]) : 64L << 20;
  float *x = calloc((size_t)max_bytes / sizeof(float) + 1, sizeof(float));
  if (!x) MPI_Abort(MPI_COMM_WORLD, 1);
  if (rank == 0) printf("# MPI_Allreduce, float sum, in place, %d processes\n# bytes  us/call  MB/s\n", p);
  double small_t = 0.0, big_t = 0.0;
  long big_bytes = 0;
  for (long bytes = 4; bytes <= max_bytes; bytes *= 4) {
    const int n = (int)(bytes / sizeof(float));
    /* about 0.2 s per size: many repetitions of small messages, a few of large ones */
    const int reps = bytes < (1 << 16) ? 2000 : bytes < (1 << 22) ? 100 : 10;
    time_batch(x, n, reps > 10 ? 10 : 1); /* warm up: buffers, connections */
    const double t = time_call(x, n, reps);
    if (rank == 0) printf("%9ld  %9.2f  %9.1f\n", bytes, t * 1e6, bytes / t / 1e6);
    if (bytes <= 256 && (small_t == 0.0 || t < small_t)) small_t = t; /* latency: the smallest messages */
    big_t = t;
    big_bytes = bytes;
  }
  if (rank == 0 && p > 1) {
    const double a = small_t / (2.0 * (p - 1));
    const double b = 2.0 * (p - 1) / p * big_bytes / (big_t - 2.0 * (p - 1) * a);
    printf("ring fit: latency %.2f us, bandwidth %.0f MB/s\n", a * 1e6, b / 1e6);
  }
  free(x);
  MPI_Finalize();
  return 0;
}
