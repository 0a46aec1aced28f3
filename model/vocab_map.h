/* The token-id map of a vocabulary-pruned student. Vocabulary pruning drops the embedding rows of
 * token ids the training data never uses; the model must still take the teacher's ids, so every
 * teacher id names an embedding row through this map. Ids that were dropped share the row of one
 * kept id (the teacher's [UNK] when its vocabulary has one, else pad_id; see train/prune_vocab.c).
 *
 * Masked form: rows index the full table (dropped rows are zero and never used).
 * Compact form: rows index the smaller table that compaction keeps (model/compact.h). */
#ifndef DS_MODEL_VOCAB_MAP_H
#define DS_MODEL_VOCAB_MAP_H

#include <stdint.h>

#include "common/error.h"

typedef struct {
  int n_ids;            /* ids accepted: [0, n_ids), the teacher's vocabulary */
  int32_t *row;         /* (n_ids) embedding row of each id */
  int32_t unk_id;       /* the teacher id whose row every dropped id shares */
  int32_t *mapped;      /* (mapped_cap) the mapped ids of the last call to apply: forward keeps them */
  long mapped_cap;
} ds_vocab_map;

/* An identity map of n_ids ids (row[i] = i), unk_id 0. */
int ds_vocab_map_init(ds_vocab_map **vm, int n_ids, ds_err *err);
/* A copy of src (without its scratch). */
int ds_vocab_map_clone(ds_vocab_map **vm, const ds_vocab_map *src, ds_err *err);
void ds_vocab_map_free(ds_vocab_map *vm); /* safe on NULL */

/* Maps ids (n) to embedding rows; *out points into the map's own buffer, valid until the next call.
 * Fails naming the first id outside [0, n_ids). */
int ds_vocab_map_apply(ds_vocab_map *vm, const int32_t *ids, long n, const int32_t **out, ds_err *err);

/* used (n_rows) = 1 for every row some id maps to, else 0; returns how many rows are used.
 * Rows outside [0, n_rows) are ignored. */
int ds_vocab_map_rows_used(const ds_vocab_map *vm, int n_rows, uint8_t *used);

#endif
