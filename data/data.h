/* data/: the teacher file: complete validation, hyperslab reads, the split/shuffle loader, a writer. */
#ifndef DS_DATA_H
#define DS_DATA_H

#include <stdint.h>

#include "common/common.h"

/* ==== the teacher file ================================================================================== */
/* The teacher file of SPEC.md ("Teacher file"): an HDF5 file holding token ids and the teacher's
 * logits and/or sentence embeddings. ds_teacher_open validates the whole file (schema, types,
 * shapes and every value) in O(chunk) memory before anything trains; batches are then read with
 * hyperslab selections, so files larger than memory work. */
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

/* ==== the split and the shuffled batches ================================================================ */
/* Train/validation split and shuffled, resumable streaming of training batches.
 *
 * Split: row r is a validation row when floor((r+1)f) > floor(r f), so the floor(N f) validation
 * rows are spread evenly and the split needs no memory. Shuffle: each epoch visits the training
 * rows in blocks of DS_LOADER_BLOCK_ROWS consecutive rows, in a permutation of block indices seeded
 * by (seed, epoch); DS_LOADER_WINDOW_BLOCKS blocks at a time are read (one hyperslab each) into a
 * shuffle window whose rows are permuted with a generator seeded by (seed, epoch, window). The
 * order therefore depends on (seed, epoch, cursor) alone: restoring a ds_loader_state reproduces
 * exactly the batches a continuous run would have produced. Memory is O(window + N / block). */
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

/* ==== writing teacher files ============================================================================= */
/* Writes teacher files (SPEC.md "Teacher file") incrementally, for tests and generators: rows are
 * appended in chunks to chunked, extendable datasets, so N need not be known in advance.
 * Targets are written as float32, ids as int32, the mask as uint8. */
typedef struct {
  long n_rows;              /* rows if known (checked at close); 0 = unknown */
  int seq_len;              /* L, required */
  int n_classes;            /* columns of `logits`; 0 = no logits */
  int emb_dim;              /* columns of `embeddings`; 0 = no embeddings */
  int has_labels;
  int has_mask;             /* write `attention_mask`; else readers derive it from pad_id */
  int vocab_size;           /* root attribute; 0 = not written (readers use max id + 1) */
  int pad_id;               /* root attribute, always written */
  const char *teacher_name; /* root attribute `teacher`; NULL = not written */
  const char *const *vocab; /* `vocab` strings (variable length, UTF-8); NULL = none */
  int n_vocab;
  int chunk_rows;           /* HDF5 chunk height; 0 = default (256, the loader's block) */
} ds_teacher_writer_params;

typedef struct ds_teacher_writer ds_teacher_writer;

ds_teacher_writer_params ds_teacher_writer_default_params(void);
/* Creates (truncates) the file and its datasets. */
int ds_teacher_writer_create(ds_teacher_writer **w, const char *path,
                             const ds_teacher_writer_params *p, ds_err *err);
/* Appends n rows: ids and mask (n, L), logits (n, C), emb (n, D), labels (n). Pointers for data
 * the file does not hold are ignored and may be NULL; those it holds are required. */
int ds_teacher_writer_append(ds_teacher_writer *w, long n, const int32_t *ids, const uint8_t *mask,
                             const float *logits, const float *emb, const int32_t *labels,
                             ds_err *err);
long ds_teacher_writer_rows(const ds_teacher_writer *w);
/* Flushes and closes; always frees w, returns -1 if anything failed (rows short of n_rows too). */
int ds_teacher_writer_close(ds_teacher_writer *w, ds_err *err);

#endif
