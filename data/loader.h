/* Train/validation split and shuffled, resumable streaming of training batches.
 *
 * Split: row r is a validation row when floor((r+1)f) > floor(r f), so the floor(N f) validation
 * rows are spread evenly and the split needs no memory. Shuffle: each epoch visits the training
 * rows in blocks of DS_LOADER_BLOCK_ROWS consecutive rows, in a permutation of block indices seeded
 * by (seed, epoch); DS_LOADER_WINDOW_BLOCKS blocks at a time are read (one hyperslab each) into a
 * shuffle window whose rows are permuted with a generator seeded by (seed, epoch, window). The
 * order therefore depends on (seed, epoch, cursor) alone: restoring a ds_loader_state reproduces
 * exactly the batches a continuous run would have produced. Memory is O(window + N / block). */
#ifndef DS_DATA_LOADER_H
#define DS_DATA_LOADER_H

#include <stdint.h>

#include "common/error.h"
#include "data/teacher.h"

#define DS_LOADER_BLOCK_ROWS 256
#define DS_LOADER_WINDOW_BLOCKS 16

typedef struct ds_loader ds_loader;
typedef struct {
  uint64_t epoch, cursor; /* cursor: training rows handed out in this epoch */
} ds_loader_state;

/* t is borrowed and must outlive the loader. val_fraction in [0, 0.99]. */
int ds_loader_init(ds_loader **l, ds_teacher *t, double val_fraction, unsigned long seed, ds_err *err);
long ds_loader_n_train(const ds_loader *l);
long ds_loader_n_val(const ds_loader *l);
/* Next training batch of exactly batch_size rows (b sized for at least that many rows of
 * min(seq_len, max_len) tokens); wraps into the next epoch, reshuffled, as needed. */
int ds_loader_next_train(ds_loader *l, int batch_size, int max_len, ds_batch *b, ds_err *err);
/* Validation rows [start, start+n) of the validation split, in source order. */
int ds_loader_read_val(ds_loader *l, long start, int n, int max_len, ds_batch *b, ds_err *err);
/* Data-parallel training (train/dist.h): from now on this process takes only rows [lo, hi) of every training
 * batch of batch_size rows. The order of all rows stays what it is without a share (every process advances
 * through the same global batches), next_train fills b with rows [lo, hi) of the global batch (b->n = hi - lo),
 * and each shuffle window reads, by hyperslab, only the rows this process will use. */
int ds_loader_set_share(ds_loader *l, int batch_size, int lo, int hi, ds_err *err);
ds_loader_state ds_loader_get_state(const ds_loader *l);
int ds_loader_set_state(ds_loader *l, ds_loader_state s, ds_err *err);
void ds_loader_free(ds_loader *l);

#endif
