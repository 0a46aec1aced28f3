/* Data-parallel training across processes: the few collectives the trainer needs, over MPI when distill is
 * built with -DDISTILL_MPI=ON and started by an MPI launcher (mpirun, srun), else a world of one process in
 * which every call is a no-op. The trainer therefore calls them unconditionally and carries no #ifdef.
 *
 * Every rank runs the same program on the same data order; rank r computes rows [lo, hi) of each global
 * batch (ds_dist_share) and the collectives below make the rest of the step identical on every rank. */
#ifndef DS_TRAIN_DIST_H
#define DS_TRAIN_DIST_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

typedef struct {
  int rank, size;  /* size 1: no MPI in use (a zeroed struct counts as a world of one too) */
  int initialized; /* this process called MPI_Init (ds_dist_finalize then ends MPI) */
} ds_dist;

/* 1 when this binary was built with MPI. */
int ds_dist_available(void);
/* Joins the MPI job when the process was started by an MPI launcher (it sets OMPI_COMM_WORLD_SIZE, PMI_SIZE
 * or PMIX_RANK); otherwise, or without MPI, d is a world of one and MPI is never initialised. */
int ds_dist_init(ds_dist *d, int *argc, char ***argv, ds_err *err);
void ds_dist_finalize(ds_dist *d);
/* Ends the whole job now with status `code` (MPI_Abort); returns only in a world of one. */
void ds_dist_abort(const ds_dist *d, int code);

static inline int ds_dist_size(const ds_dist *d) { return d && d->size > 1 ? d->size : 1; }
static inline int ds_dist_rank(const ds_dist *d) { return ds_dist_size(d) > 1 ? d->rank : 0; }
static inline int ds_dist_is_root(const ds_dist *d) { return ds_dist_rank(d) == 0; }
/* Rank r's share of n items: [n r / size, n (r+1) / size), contiguous, sizes differing by at most one. */
static inline void ds_dist_share_of(const ds_dist *d, int r, long n, long *lo, long *hi) {
  const long p = ds_dist_size(d);
  *lo = n * r / p;
  *hi = n * (r + 1) / p;
}
static inline void ds_dist_share(const ds_dist *d, long n, long *lo, long *hi) {
  ds_dist_share_of(d, ds_dist_rank(d), n, lo, hi);
}

/* In-place sums over all ranks (MPI_Allreduce). Every rank must call with the same n. */
int ds_dist_sum_floats(const ds_dist *d, float *x, size_t n, ds_err *err);
int ds_dist_sum_doubles(const ds_dist *d, double *x, size_t n, ds_err *err);
/* In place: lo = min over ranks, hi = max over ranks (one collective). */
int ds_dist_range(const ds_dist *d, float *lo, float *hi, ds_err *err);
/* In place: bytes OR-ed over ranks (flags: 1 if any rank set it). */
int ds_dist_or_bytes(const ds_dist *d, uint8_t *x, size_t n, ds_err *err);
/* Gathers every rank's share of n records of rec_bytes bytes: rank r contributes records
 * [lo_r, hi_r) of ds_dist_share_of(n) from `mine`; `all` (n records) receives all of them in rank order. */
int ds_dist_gather_shares(const ds_dist *d, const void *mine, void *all, long n, size_t rec_bytes, ds_err *err);
/* 1 if v is the same on every rank, else 0 (-1 on a communication error). */
int ds_dist_all_equal(const ds_dist *d, uint64_t v, ds_err *err);

#endif
