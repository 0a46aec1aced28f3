/* Internals shared by the teacher reader's files and the loader; not part of the public API. */
#ifndef DS_DATA_TEACHER_PRIVATE_H
#define DS_DATA_TEACHER_PRIVATE_H

#include <hdf5.h>

#include "h5/h5.h"
#include "data/data.h"

struct ds_teacher {
  ds_teacher_info info;
  hid_t file;
  hid_t ids, mask, logits, emb, labels, vocab; /* H5I_INVALID_HID when absent */
  hid_t tok_emb, hidden;                       /* token_embeddings, hidden_states: optional */
  int mask_is_enum;                            /* h5py bool: a 1-byte enum, read without conversion */
  long long file_size;                         /* bytes when opened (ds_teacher_check_size) */
};

/* A run of consecutive source rows. */
typedef struct {
  long start, count;
} ds_row_run;

/* Refuses a file that has shrunk since it was opened (truncated while we read it): HDF5 reads the missing
 * bytes as zeros without complaint, and its chunk cache may hide the loss for a while. Every batch read calls
 * it before and after reading. */
int ds_teacher_check_size(const ds_teacher *t, ds_err *err);

/* Reads the rows of sorted, disjoint runs into b, in that order (one hyperslab per run). */
int ds_teacher_read_runs(ds_teacher *t, const ds_row_run *runs, int n_runs, int max_len,
                         ds_batch *b, ds_err *err);

/* The value scan of ds_teacher_open: every id, mask, target and label, in chunks of rows.
 * Sets info.vocab_size from the largest id when the file has no vocab_size attribute. */
int ds_teacher_scan(ds_teacher *t, int have_vocab_size, ds_err *err);

/* Opens dataset `name` with a large chunk cache; *out = H5I_INVALID_HID when the file has none. */
int ds_teacher_open_optional(ds_teacher *t, const char *name, hid_t *out, ds_err *err);

/* Schema and value checks of the optional `token_embeddings` and `hidden_states` (teacher_extras.c);
 * runs after the main scan, when vocab_size is known. */
int ds_teacher_check_extras(ds_teacher *t, ds_err *err);
/* Reads `hidden_states` rows of the runs, their first `len` tokens, into buf (total, len, H). */
int ds_teacher_read_hidden(const ds_teacher *t, const ds_row_run *runs, int n_runs, int len,
                           float *buf, ds_err *err);

/* Memory type for reading a mask dataset into uint8 (a native copy of h5py's bool enum). */
hid_t ds_teacher_mask_memtype(const ds_teacher *t);

#endif
