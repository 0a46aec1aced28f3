/* data/: the teacher file: complete validation, hyperslab reads, the split/shuffle loader, a writer. */
/* The teacher file of SPEC.md ("Teacher file"): an HDF5 file holding token ids and the teacher's
 * logits and/or sentence embeddings. ds_teacher_open validates the whole file (schema, types,
 * shapes and every value) in O(chunk) memory before anything trains; batches are then read with
 * hyperslab selections, so files larger than memory work. */
#ifndef DS_DATA_TEACHER_H
#define DS_DATA_TEACHER_H

#include <stdint.h>

#include "common/error.h"

/* The largest vocabulary taken (vocab_size, or max id + 1): 2^24 ids, 64 times the largest tokenizers in use.
 * Tables of vocab_size rows are allocated from it, so an absurd value from a small file is refused instead. */
#define DS_TEACHER_MAX_VOCAB (1 << 24)

typedef struct {
  long n_rows;
  int seq_len;       /* L: columns of input_ids */
  int vocab_size;    /* root attribute vocab_size, else max id + 1 */
  int pad_id;        /* root attribute pad_id, default 0 */
  int n_classes;     /* columns of `logits`; 0 = none */
  int emb_dim;       /* columns of `embeddings`; 0 = none */
  int has_labels, has_mask;
  int n_vocab;       /* strings in `vocab`; 0 = none */
  int has_token_emb; /* `token_embeddings` [vocab_size, emb_dim]: the teacher's embedding of each token alone */
  int hidden_dim;    /* H: last axis of `hidden_states` [N, L, H] (the teacher's token states); 0 = none */
  char name[256];    /* root attribute `teacher`, "" if absent */
  char path[1024];
} ds_teacher_info;

typedef struct ds_teacher ds_teacher;

/* Opens and validates; on failure *t is NULL and err names the file, dataset and first bad row. */
int ds_teacher_open(ds_teacher **t, const char *path, ds_err *err);
const ds_teacher_info *ds_teacher_get_info(const ds_teacher *t);
/* Reads the `vocab` strings; the caller frees each string and the array. */
int ds_teacher_load_vocab(ds_teacher *t, char ***strings, int *n, ds_err *err);
/* Reads `token_embeddings` (vocab_size, emb_dim) into a new float array the caller frees. */
int ds_teacher_load_token_embeddings(ds_teacher *t, float **out, ds_err *err);
/* freq (vocab_size): the share of each id among the real tokens of the training rows (the rows the
 * loader's split with val_fraction does not hold out); all zero when there are none. */
int ds_teacher_token_freq(ds_teacher *t, double val_fraction, double *freq, ds_err *err);
/* Safe on NULL and on a half-built teacher. */
void ds_teacher_close(ds_teacher *t);

/* One batch; buffers owned by the batch, sized by ds_batch_alloc. Row-major throughout. */
typedef struct {
  int n, len;        /* rows filled, tokens per row = min(seq_len, max_len) */
  int cap_rows, cap_len;
  int32_t *ids;      /* (n, len) */
  uint8_t *mask;     /* (n, len) 1 = real token */
  float *logits;     /* (n, n_classes) or NULL if the teacher has none */
  float *emb;        /* (n, emb_dim) or NULL */
  int32_t *labels;   /* (n) or NULL */
  float *hidden;     /* (n, len, hidden_dim) teacher token states, or NULL (none, or not requested) */
  long *rows;        /* (n) source row index of each row */
} ds_batch;

/* Sizes b for `rows` rows of min(seq_len, max_len) tokens (max_len <= 0: seq_len). b is
 * overwritten, not freed: pass a zeroed or freed batch. */
int ds_batch_alloc(ds_batch *b, const ds_teacher_info *info, int rows, int max_len, ds_err *err);
/* Also reads `hidden_states` into b->hidden from now on (a batch without it leaves them unread). */
int ds_batch_want_hidden(ds_batch *b, const ds_teacher_info *info, ds_err *err);
/* Frees the buffers and zeroes b; safe on a zeroed batch. */
void ds_batch_free(ds_batch *b);

/* Fills b->hidden (ds_batch_want_hidden) for the rows already in b (b->rows, b->len tokens each): the
 * loader's shuffled batches read their hidden states this way, one hyperslab per row, so memory stays
 * O(batch) however large `hidden_states` is. */
int ds_teacher_read_hidden_for_batch(ds_teacher *t, ds_batch *b, ds_err *err);
/* Reads rows [row0, row0+n) (one hyperslab per dataset), truncating ids/mask to max_len. */
int ds_teacher_read(ds_teacher *t, long row0, int n, int max_len, ds_batch *b, ds_err *err);

#endif
