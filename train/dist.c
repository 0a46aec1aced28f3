/* The collectives of train/dist.h: MPI when built with DS_HAVE_MPI (CMake -DDISTILL_MPI=ON), else no-ops. */
#include "train/dist.h"

#include <stdlib.h>
#include <string.h>

#ifdef DS_HAVE_MPI
#include <limits.h>
#include <mpi.h>

/* MPI counts are ints: long buffers go in chunks. */
#define CHUNK ((size_t)1 << 28)

int ds_dist_available(void) { return 1; }

static int launched_by_mpi(void) {
  return getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMI_SIZE") || getenv("PMIX_RANK") || getenv("PMI_RANK");
}

int ds_dist_init(ds_dist *d, int *argc, char ***argv, ds_err *err) {
  memset(d, 0, sizeof *d);
  d->size = 1;
  if (!launched_by_mpi()) return 0;
  int provided = 0;
  /* Only the main thread calls MPI; OpenMP threads never do. */
  if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
    return ds_fail(err, "MPI_Init failed");
  d->initialized = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &d->rank);
  MPI_Comm_size(MPI_COMM_WORLD, &d->size);
  return 0;
}

void ds_dist_finalize(ds_dist *d) {
  if (d->initialized) MPI_Finalize();
  d->initialized = 0;
}

void ds_dist_abort(const ds_dist *d, int code) {
  if (d && d->initialized) MPI_Abort(MPI_COMM_WORLD, code);
}

static int check(int rc, const char *what, ds_err *err) {
  if (rc == MPI_SUCCESS) return 0;
  char msg[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, msg, &len);
  return ds_fail(err, "%s failed: %s", what, msg);
}

static int allreduce(const ds_dist *d, void *x, size_t n, size_t elem, MPI_Datatype t, MPI_Op op, ds_err *err) {
  if (ds_dist_size(d) <= 1) return 0;
  for (size_t at = 0; at < n; at += CHUNK) {
    const size_t k = n - at < CHUNK ? n - at : CHUNK;
    if (check(MPI_Allreduce(MPI_IN_PLACE, (char *)x + at * elem, (int)k, t, op, MPI_COMM_WORLD), "MPI_Allreduce",
              err))
      return -1;
  }
  return 0;
}

int ds_dist_sum_floats(const ds_dist *d, float *x, size_t n, ds_err *err) {
  return allreduce(d, x, n, sizeof *x, MPI_FLOAT, MPI_SUM, err);
}

int ds_dist_sum_doubles(const ds_dist *d, double *x, size_t n, ds_err *err) {
  return allreduce(d, x, n, sizeof *x, MPI_DOUBLE, MPI_SUM, err);
}

int ds_dist_range(const ds_dist *d, float *lo, float *hi, ds_err *err) {
  if (ds_dist_size(d) <= 1) return 0;
  float v[2] = {*lo, -*hi}; /* one MPI_MIN for both: max(hi) = -min(-hi) */
  if (allreduce(d, v, 2, sizeof *v, MPI_FLOAT, MPI_MIN, err)) return -1;
  *lo = v[0];
  *hi = -v[1];
  return 0;
}

int ds_dist_or_bytes(const ds_dist *d, uint8_t *x, size_t n, ds_err *err) {
  return allreduce(d, x, n, 1, MPI_UNSIGNED_CHAR, MPI_BOR, err);
}

int ds_dist_gather_shares(const ds_dist *d, const void *mine, void *all, long n, size_t rec_bytes, ds_err *err) {
  const int p = ds_dist_size(d);
  long lo, hi;
  ds_dist_share(d, n, &lo, &hi);
  if (p <= 1) {
    if (mine != all && n > 0) memcpy(all, mine, (size_t)n * rec_bytes);
    return 0;
  }
  if ((double)n * rec_bytes > INT_MAX) return ds_fail(err, "MPI gather of %ld records is too large", n);
  int *counts = malloc(sizeof(int) * 2 * (size_t)p);
  if (!counts) return ds_fail(err, "out of memory");
  int *displs = counts + p;
  for (int r = 0; r < p; r++) {
    long a, b;
    ds_dist_share_of(d, r, n, &a, &b);
    counts[r] = (int)((b - a) * (long)rec_bytes);
    displs[r] = (int)(a * (long)rec_bytes);
  }
  const int rc = check(MPI_Allgatherv(mine, counts[d->rank], MPI_BYTE, all, counts, displs, MPI_BYTE, MPI_COMM_WORLD),
                       "MPI_Allgatherv", err);
  free(counts);
  return rc;
}

int ds_dist_all_equal(const ds_dist *d, uint64_t v, ds_err *err) {
  if (ds_dist_size(d) <= 1) return 1;
  unsigned long long m[2] = {v, ~v}; /* one MPI_MIN for both: max(v) = ~min(~v), as ds_dist_range does */
  if (allreduce(d, m, 2, sizeof *m, MPI_UNSIGNED_LONG_LONG, MPI_MIN, err)) return -1;
  return m[0] == ~m[1];
}

#else /* a world of one: nothing to communicate */

int ds_dist_available(void) { return 0; }

int ds_dist_init(ds_dist *d, int *argc, char ***argv, ds_err *err) {
  (void)argc, (void)argv, (void)err;
  memset(d, 0, sizeof *d);
  d->size = 1;
  return 0;
}

void ds_dist_finalize(ds_dist *d) { (void)d; }
void ds_dist_abort(const ds_dist *d, int code) { (void)d, (void)code; }

int ds_dist_sum_floats(const ds_dist *d, float *x, size_t n, ds_err *err) {
  (void)d, (void)x, (void)n, (void)err;
  return 0;
}

int ds_dist_sum_doubles(const ds_dist *d, double *x, size_t n, ds_err *err) {
  (void)d, (void)x, (void)n, (void)err;
  return 0;
}

int ds_dist_range(const ds_dist *d, float *lo, float *hi, ds_err *err) {
  (void)d, (void)lo, (void)hi, (void)err;
  return 0;
}

int ds_dist_or_bytes(const ds_dist *d, uint8_t *x, size_t n, ds_err *err) {
  (void)d, (void)x, (void)n, (void)err;
  return 0;
}

int ds_dist_gather_shares(const ds_dist *d, const void *mine, void *all, long n, size_t rec_bytes, ds_err *err) {
  (void)d, (void)err;
  if (mine != all && n > 0) memcpy(all, mine, (size_t)n * rec_bytes);
  return 0;
}

int ds_dist_all_equal(const ds_dist *d, uint64_t v, ds_err *err) {
  (void)d, (void)v, (void)err;
  return 1;
}

#endif
