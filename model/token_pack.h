/* Which token rows a forward pass computes, and where each sequence's rows and attention scores sit.
 *
 * Padding positions change nothing the model outputs: no token attends to them (the key mask) and pooling
 * skips them. So the fast path drops them and packs the remaining rows of all sequences end to end; every
 * linear layer, LayerNorm and GELU then runs on n_rows rows instead of B*T, and attention runs per sequence on
 * its own length. The same struct describes the plain padded layout (every position kept), which the
 * reference kernels and the QAT simulation use, so one set of kernels serves both. */
#ifndef DS_MODEL_TOKEN_PACK_H
#define DS_MODEL_TOKEN_PACK_H

#include <stdint.h>

#include "common/error.h"

typedef struct {
  int B, T;          /* the padded batch (B, T) the pack was built from */
  int n_rows;        /* rows kept */
  int *row;          /* (n_rows) padded index b*T + t of each kept row: sequence by sequence, t ascending */
  int *seq_start;    /* (B+1) sequence b owns kept rows [seq_start[b], seq_start[b+1]) */
  long *score_start; /* (B+1) sum of n^2 over the sequences before b (n = its kept rows): sequence b's scores
                      * for head h of H start at H * score_start[b] + h * n_b * n_b */
  uint8_t *key_ok;   /* (n_rows) the row's attention mask: 1 = other rows may attend to it */
  int cap_rows, cap_seqs;
} ds_token_pack;

/* The padded layout (every position kept) or the packed one (padding dropped). */
typedef enum { DS_PACK_PADDED = 0, DS_PACK_VALID = 1 } ds_pack_mode;

/* Fills p from mask (B, T). DS_PACK_VALID keeps the positions with mask != 0 and, when keep_first, position 0
 * of every sequence too (CLS pooling reads it even where it is padding). Grows the arrays as needed. */
int ds_token_pack_build(ds_token_pack *p, const uint8_t *mask, int B, int T, ds_pack_mode mode, int keep_first,
                        ds_err *err);
/* Attention score floats per head for the whole batch (sum over sequences of n^2). */
static inline long ds_token_pack_scores(const ds_token_pack *p) { return p->score_start[p->B]; }
void ds_token_pack_free(ds_token_pack *p); /* safe on a zeroed pack */

#endif
