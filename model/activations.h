/* Every activation the forward pass stores for backward, as views into one flat buffer. The same
 * layout serves the activation gradients, so backward mirrors forward tensor for tensor. */
#ifndef DS_MODEL_ACTIVATIONS_H
#define DS_MODEL_ACTIVATIONS_H

#include <stddef.h>

#include "model/shape.h"

typedef struct {
  float *ln1, *ln1_mean, *ln1_rstd;  /* (rows,C), (rows), (rows) */
  float *qkv;                        /* (rows,3*H*hd) */
  float *att;                        /* (H * scores) attention probabilities: model/token_pack.h says where */
  float *atto;                       /* (rows,H*hd) heads concatenated, before the output projection */
  float *attproj;                    /* (rows,C) */
  float *resid_mid;                  /* (rows,C) stream after attention */
  float *ln2, *ln2_mean, *ln2_rstd;  /* (rows,C), (rows), (rows) */
  float *fch;                        /* (rows,F) before GELU */
  float *fch_gelu;                   /* (rows,F) */
  float *fcproj;                     /* (rows,C) */
  float *resid_out;                  /* (rows,C) stream after the block */
} ds_layer_acts;

typedef struct {
  float *encoded;                    /* (rows,C) token + position embeddings (static: token rows only) */
  ds_layer_acts layer[DS_MAX_LAYERS];
  float *lnf, *lnf_mean, *lnf_rstd;  /* (rows,C), (rows), (rows); NULL in a static student */
  float *pooled;                     /* (B,C) */
  float *emb;                        /* (B,E): the sentence embedding (aliases pooled without projection) */
  float *logits;                     /* (B,K) or NULL */
} ds_acts;

/* Lays out the activations of B sequences at `base` (NULL: only count) and returns the number of floats
 * needed: `rows` token rows in all (B*T padded, fewer packed: model/token_pack.h) and `scores` attention
 * scores per head (B*T*T padded). Token tensors hold their first `rows` rows, att H * scores floats. */
size_t ds_acts_layout(ds_acts *a, const ds_student_shape *s, int B, long rows, long scores, float *base);

#endif
