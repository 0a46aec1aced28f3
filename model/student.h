/* model/: the float student: size table, layer kernels, forward and backward, and the hooks a QAT state plugs into. */
/* The student model at run time: parameters, gradients, pruning masks and activations, with the
 * forward and backward passes. Shapes, the size table and parameter views are in model/shape.h. */
#ifndef DS_MODEL_STUDENT_H
#define DS_MODEL_STUDENT_H

#include "model/activations.h"
#include "model/shape.h"
#include "model/token_pack.h"
#include "model/vocab_map.h"

/* ---- The trainable model: parameters, gradients, masks and activations -------------------- */

typedef struct {
  ds_student_shape shape;
  ds_param_table table;
  float *params;             /* (table.n_params) */
  float *grads;              /* (table.n_params) */
  ds_params p, g;            /* views into params and grads */
  /* Structured-pruning masks, 1 keeps a unit and 0 removes it: head_mask[l] (H_l), ffn_mask[l] (F_l).
   * Views into one allocation, all ones unless pruning sets them. */
  float *mask_mem;
  float *head_mask[DS_MAX_LAYERS], *ffn_mask[DS_MAX_LAYERS];
  /* Vocabulary pruning (model/vocab_map.h): teacher ids -> embedding rows; NULL = ids are rows. Owned. */
  ds_vocab_map *vocab_map;
  /* Quantization-aware training (quant/qat/qat_model.h): NULL = a float model. Owned; in its fake-quant mode the
   * forward pass runs the integer-exact simulation and backward its straight-through estimator, through qat_hooks
   * (model/qat_hooks.h), which the attaching code sets with it. */
  struct ds_qat *qat;
  const struct ds_qat_hooks *qat_hooks;
  /* Activations of the last forward pass and their gradients: buffers sized for acts_B x acts_T padded
   * tokens, laid out each pass for the rows that pass computes (acts_used floats). */
  float *acts_mem, *dacts_mem;
  size_t acts_size, acts_used;
  ds_acts a, da;
  int acts_B, acts_T;
  /* The token rows of the last forward (model/token_pack.h): padding dropped, unless keep_padding is set,
   * the reference kernels run (naive) or the QAT simulation or its observers run (they see every position). */
  ds_token_pack pack;
  int keep_padding;
  const int32_t *ids;        /* (B,T) of the last forward; the caller keeps them alive for backward */
  const uint8_t *mask;       /* (B,T) */
  int B, T;
  int naive;                 /* run the reference kernels instead of the fast ones (tests) */
  /* Set by a caller before backward (train/hidden_distill.h): a gradient wrt the final token states, the final
   * LayerNorm's output (rows of pack, C), added to what pooling passes back. NULL: none. Not owned. */
  const float *d_final_tokens;
} ds_student;

/* Allocates parameters, gradients and masks for `shape` (zeroed; masks all ones). */
int ds_student_init(ds_student *m, const ds_student_shape *shape, ds_err *err);
/* Initialises parameters as BERT does: N(0, 0.02) weights and embeddings, zero biases, unit LayerNorm. */
void ds_student_init_params(ds_student *m, unsigned long seed);
void ds_student_free(ds_student *m); /* safe on a zeroed or half-built model */
void ds_student_zero_grad(ds_student *m);
/* Runs the model on ids/mask (B,T), T <= max_len, ids in [0, vocab). Grows the activation buffers as needed.
 * Results: m->a.emb (B,E) and m->a.logits (B,K). */
int ds_student_forward(ds_student *m, const int32_t *ids, const uint8_t *mask, int B, int T, ds_err *err);
/* Backpropagates the loss gradients wrt the embedding d_emb (B,E) and the logits d_logits (B,K) (either may be
 * NULL) through the last forward pass, accumulating into m->grads. */
void ds_student_backward(ds_student *m, const float *d_emb, const float *d_logits);

/* Parameters that remain once masked heads and FFN neurons are cut out (what compaction would keep). */
size_t ds_student_live_params(const ds_student *m);

#endif
