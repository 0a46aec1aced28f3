/* The student's side of quantization-aware training: its quantization sites, numbered, and the hooks through
 * which a QAT state (quant/qat/, which sets them when it attaches one) runs the student's passes, so that
 * model/ does not link the simulation. */
#ifndef DS_MODEL_QAT_HOOKS_H
#define DS_MODEL_QAT_HOOKS_H

#include "model/student.h"

/* Sites before the layers, per layer (site = DS_QS_HEAD + l * DS_QL_COUNT + k) and after them. A static
 * student keeps the same numbering with no layers; its pos, x0 and ln_f sites are unused. */
enum { DS_QS_TOK, DS_QS_POS, DS_QS_X0, DS_QS_HEAD };
enum {
  DS_QL_LN1, DS_QL_Q, DS_QL_K, DS_QL_V, DS_QL_SCORES, DS_QL_PROBS, DS_QL_CTX, DS_QL_ATTN_OUT, DS_QL_MID,
  DS_QL_LN2, DS_QL_FC1, DS_QL_GELU, DS_QL_FC2, DS_QL_OUT, DS_QL_COUNT
};
enum { DS_QF_LNF, DS_QF_POOLED, DS_QF_EMB, DS_QF_LOGITS, DS_QF_COUNT };
#define DS_QAT_MAX_SITES (DS_QS_HEAD + DS_QL_COUNT * DS_MAX_LAYERS + DS_QF_COUNT)

static inline int ds_qat_layer_site(int l, int k) { return DS_QS_HEAD + l * DS_QL_COUNT + k; }
static inline int ds_qat_final_site(int n_layers, int k) { return DS_QS_HEAD + n_layers * DS_QL_COUNT + k; }

/* What the next forward of a student with a QAT state runs. */
typedef enum {
  DS_QAT_PASS_FLOAT = 0,   /* the float forward, nothing observed */
  DS_QAT_PASS_OBSERVE = 1, /* the float forward on every position, its activations then fed to the observers */
  DS_QAT_PASS_FAKE = 2     /* the fake-quant forward (every position), and backward through the STE hooks */
} ds_qat_pass;

struct ds_compact_plan;

/* Set with m->qat (quant/qat/qat_model.h describes each). ds_student_backward calls the backward hooks (ste,
 * ste_copy, backward_weights, backward_end) only when pass() says the last forward was fake-quant. */
typedef struct ds_qat_hooks {
  ds_qat_pass (*pass)(const struct ds_qat *q);
  int (*forward)(ds_student *m, ds_err *err);
  void (*observe)(ds_student *m);
  void (*ste)(ds_student *m, int site, float *grad, long rows, int width, int ld, int col0);
  const float *(*ste_copy)(ds_student *m, int site, const float *grad, float *dst, long n);
  const ds_params *(*backward_weights)(const ds_student *m);
  void (*backward_end)(ds_student *m);
  /* A QAT state for dst, the compacted copy of the student that holds src (model/compact.h). */
  int (*compact)(const struct ds_compact_plan *p, const struct ds_qat *src, ds_student *dst, ds_err *err);
  void (*free)(struct ds_qat *q);
} ds_qat_hooks;

#endif
