/* Observer warm-up: after a float training forward (before start_step), every site's observer sees
 * the range of the float value the fake-quant forward will quantize there. */
#include <math.h>

#include "quant/qat/qat_internal.h"

/* Range of columns [col0, col0 + width) of rows of stride ld. */
static void range_cols(const float *x, long rows, int width, int ld, int col0, float *lo, float *hi) {
  float l = INFINITY, h = -INFINITY;
#pragma omp parallel for schedule(static) reduction(min : l) reduction(max : h)
  for (long r = 0; r < rows; r++)
    for (int c = 0; c < width; c++) {
      const float v = x[r * ld + col0 + c];
      if (v < l) l = v;
      if (v > h) h = v;
    }
  *lo = l;
  *hi = h;
}

static void observe(ds_qat *q, int site, const float *x, long rows, int width, int ld, int col0) {
  float lo, hi;
  range_cols(x, rows, width, ld, col0, &lo, &hi);
  ds_qat_site_observe_range(q, site, lo, hi);
}

/* Range of the attention scores alpha q.k of layer l over real (unmasked) keys. */
static void scores_range(const ds_student *m, int l, float *lo, float *hi) {
  const ds_student_shape *s = &m->shape;
  const int B = m->B, T = m->T, H = s->heads[l], hd = s->head_dim, HD = H * hd;
  const float *qkv = m->a.layer[l].qkv, alpha = 1.0f / sqrtf((float)hd);
  float l0 = INFINITY, h0 = -INFINITY;
#pragma omp parallel for collapse(2) schedule(static) reduction(min : l0) reduction(max : h0)
  for (int b = 0; b < B; b++)
    for (int h = 0; h < H; h++)
      for (int i = 0; i < T; i++)
        for (int j = 0; j < T; j++) {
          if (!m->mask[(size_t)b * T + j]) continue;
          const float *qi = qkv + ((size_t)b * T + i) * 3 * HD + h * hd;
          const float *kj = qkv + ((size_t)b * T + j) * 3 * HD + HD + h * hd;
          float acc = 0.0f;
          for (int d = 0; d < hd; d++) acc += qi[d] * kj[d];
          acc *= alpha;
          if (acc < l0) l0 = acc;
          if (acc > h0) h0 = acc;
        }
  *lo = l0;
  *hi = h0;
}

void ds_qat_observe(ds_student *m) {
  ds_qat *q = m->qat;
  const ds_student_shape *s = &m->shape;
  const int B = m->B, T = m->T, N = B * T, C = s->dim, hd = s->head_dim, E = ds_student_emb_dim(s);
  const ds_acts *a = &m->a;
  float lo = INFINITY, hi = -INFINITY;
  /* The lookups: the rows read (token rows of this batch; positions 0..T-1). */
  for (long n = 0; n < N; n++) {
    const float *row = m->p.tok_emb + (size_t)m->ids[n] * C;
    for (int c = 0; c < C; c++) {
      if (row[c] < lo) lo = row[c];
      if (row[c] > hi) hi = row[c];
    }
  }
  ds_qat_site_observe_range(q, DS_QS_TOK, lo, hi);
  if (!q->is_static) {
    observe(q, DS_QS_POS, m->p.pos_emb, T, C, C, 0);
    observe(q, DS_QS_X0, a->encoded, N, C, C, 0);
  }
  for (int l = 0; l < s->n_layers; l++) {
    const ds_layer_acts *L = &a->layer[l];
    const int HD = s->heads[l] * hd, F = s->ffn[l];
#define SITE(k) ds_qat_layer_site(l, k)
    observe(q, SITE(DS_QL_LN1), L->ln1, N, C, C, 0);
    for (int k = 0; k < 3; k++) observe(q, SITE(DS_QL_Q + k), L->qkv, N, HD, 3 * HD, k * HD);
    scores_range(m, l, &lo, &hi);
    ds_qat_site_observe_range(q, SITE(DS_QL_SCORES), lo, hi);
    observe(q, SITE(DS_QL_CTX), L->atto, N, HD, HD, 0);
    observe(q, SITE(DS_QL_ATTN_OUT), L->attproj, N, C, C, 0);
    observe(q, SITE(DS_QL_MID), L->resid_mid, N, C, C, 0);
    observe(q, SITE(DS_QL_LN2), L->ln2, N, C, C, 0);
    observe(q, SITE(DS_QL_FC1), L->fch, N, F, F, 0);
    observe(q, SITE(DS_QL_GELU), L->fch_gelu, N, F, F, 0);
    observe(q, SITE(DS_QL_FC2), L->fcproj, N, C, C, 0);
    observe(q, SITE(DS_QL_OUT), L->resid_out, N, C, C, 0);
#undef SITE
  }
  const int f0 = ds_qat_final_site(s->n_layers, 0);
  if (!q->is_static) observe(q, f0 + DS_QF_LNF, a->lnf, N, C, C, 0);
  if (s->out_dim > 0) observe(q, f0 + DS_QF_EMB, a->emb, B, E, E, 0);
  if (s->n_classes > 0) observe(q, f0 + DS_QF_LOGITS, a->logits, B, s->n_classes, s->n_classes, 0);
  for (int i = 0; i < q->n_sites; i++) ds_qat_site_qparams(q, i, &q->site[i].qp);
  q->update = 0;
}
