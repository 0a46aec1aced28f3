/* Every activation the forward pass stores for backward, as views into one flat buffer. The same
 * layout serves the activation gradients, so backward mirrors forward tensor for tensor. */
#ifndef DS_MODEL_ACTIVATIONS_H
#define DS_MODEL_ACTIVATIONS_H

#include <stddef.h>

#include "model/shape.h"

typedef struct {
  float *ln1, *ln1_mean, *ln1_rstd;  /* (B,T,C), (B,T), (B,T) */
  float *qkv;                        /* (B,T,3*H*hd) */
  float *att;                        /* (B,H,T,T) attention probabilities */
  float *atto;                       /* (B,T,H*hd) heads concatenated, before the output projection */
  float *attproj;                    /* (B,T,C) */
  float *resid_mid;                  /* (B,T,C) stream after attention */
  float *ln2, *ln2_mean, *ln2_rstd;  /* (B,T,C), (B,T), (B,T) */
  float *fch;                        /* (B,T,F) before GELU */
  float *fch_gelu;                   /* (B,T,F) */
  float *fcproj;                     /* (B,T,C) */
  float *resid_out;                  /* (B,T,C) stream after the block */
} ds_layer_acts;

typedef struct {
  float *encoded;                    /* (B,T,C) token + position embeddings */
  ds_layer_acts layer[DS_MAX_LAYERS];
  float *lnf, *lnf_mean, *lnf_rstd;  /* (B,T,C), (B,T), (B,T) */
  float *pooled;                     /* (B,C) */
  float *emb;                        /* (B,E): the sentence embedding (aliases pooled without projection) */
  float *logits;                     /* (B,K) or NULL */
} ds_acts;

/* Lays out the activations of a batch of B rows of T tokens at `base` (NULL: only count) and
 * returns the number of floats needed. */
size_t ds_acts_layout(ds_acts *a, const ds_student_shape *s, int B, int T, float *base);

#endif
