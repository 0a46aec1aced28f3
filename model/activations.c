#include "model/model.h"

#include <string.h>

size_t ds_acts_layout(ds_acts *a, const ds_student_shape *s, int B, long rows, long scores, float *base) {
  size_t off = 0;
  /* Each view gets the next `n` floats; with base == NULL only the total is computed. */
#define TAKE(ptr, n)                           \
  do {                                         \
    (ptr) = base ? base + off : NULL;          \
    off += (size_t)(n);                        \
  } while (0)
  memset(a, 0, sizeof *a);
  const size_t BT = (size_t)rows, C = (size_t)s->dim, E = (size_t)ds_student_emb_dim(s);
  TAKE(a->encoded, BT * C);
  for (int l = 0; l < s->n_layers; l++) {
    ds_layer_acts *L = &a->layer[l];
    const size_t H = (size_t)s->heads[l], HD = H * s->head_dim, F = (size_t)s->ffn[l];
    TAKE(L->ln1, BT * C);
    TAKE(L->ln1_mean, BT);
    TAKE(L->ln1_rstd, BT);
    TAKE(L->qkv, BT * 3 * HD);
    TAKE(L->att, H * (size_t)scores);
    TAKE(L->atto, BT * HD);
    TAKE(L->attproj, BT * C);
    TAKE(L->resid_mid, BT * C);
    TAKE(L->ln2, BT * C);
    TAKE(L->ln2_mean, BT);
    TAKE(L->ln2_rstd, BT);
    TAKE(L->fch, BT * F);
    TAKE(L->fch_gelu, BT * F);
    TAKE(L->fcproj, BT * C);
    TAKE(L->resid_out, BT * C);
  }
  if (s->arch != DS_ARCH_STATIC) { /* a static student pools the token rows themselves */
    TAKE(a->lnf, BT * C);
    TAKE(a->lnf_mean, BT);
    TAKE(a->lnf_rstd, BT);
  }
  TAKE(a->pooled, (size_t)B * C);
  if (s->out_dim > 0) {
    TAKE(a->emb, (size_t)B * E);
  } else {
    a->emb = a->pooled;
  }
  if (s->n_classes > 0) TAKE(a->logits, (size_t)B * s->n_classes);
#undef TAKE
  return off;
}
