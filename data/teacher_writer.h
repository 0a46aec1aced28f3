/* Writes teacher files (SPEC.md "Teacher file") incrementally, for tests and generators: rows are
 * appended in chunks to chunked, extendable datasets, so N need not be known in advance.
 * Targets are written as float32, ids as int32, the mask as uint8. */
#ifndef DS_DATA_TEACHER_WRITER_H
#define DS_DATA_TEACHER_WRITER_H

#include <stdint.h>

#include "common/error.h"

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
