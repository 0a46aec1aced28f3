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

#include "common/common.h"
#include "train/train.h" /* ds_dist, ds_dist_size, ds_dist_rank */

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
