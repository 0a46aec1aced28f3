/* Backward of the fake-quant forward: the float graph's backward kernels on the dequantized values,
 * with a straight-through estimator at every site (gradient zero where the site's input fell
 * outside its clamp range) and, with learned step sizes, the LSQ gradient of each scale. */
#include <math.h>
#include <string.h>

#include "model/ops.h"
#include "model/qat_internal.h"

static int lsq_acts(const ds_qat *q) { return q->cfg.learn_scales && q->lsq_ready && !q->frozen; }

/* grad (rows, width) at columns [col0, col0 + width) of rows of stride ld: the gradient wrt site i's
 * dequantized output. Adds the LSQ gradient of its log step size, then applies the STE mask. */
static void site_backward(ds_qat *q, int i, float *grad, long rows, int width, int ld, int col0) {
  ds_qat_site *st = &q->site[i];
  const ds_qparams qp = st->qp;
  if (lsq_acts(q)) {
    float *g = q->scr->tmp; /* gather the columns: the LSQ gradient wants them contiguous */
    for (long r = 0; r < rows; r++) memcpy(g + r * width, grad + r * ld + col0, sizeof(float) * width);
    float gs = 0.0f;
    /* Every site holds a whole number of values per sequence: the whole batch has n / B * B_all. */
    const size_t n = (size_t)rows * width, n_all = q->lsq_batch_all > 0 ? n / q->B * q->lsq_batch_all : n;
    ds_lsq_backward_share(st->pre, g, n, n_all, &qp, &gs);
    q->lsq_grad[i] += gs * qp.scale; /* d/dlog(s) = s d/ds */
  }
  /* The values that round into [qmin, qmax]: within half a step of the grid's ends. */
  const float lo = ((float)(qp.qmin - qp.zero_point) - 0.5f) * qp.scale;
  const float hi = ((float)(qp.qmax - qp.zero_point) + 0.5f) * qp.scale;
  /* A select rather than a branch, so the loops vectorise; NaN inputs fail both tests and get 0 too. */
  if (ld == width) { /* contiguous (col0 is then 0): one flat loop, however narrow the rows */
    const long n = rows * width;
#pragma omp parallel for schedule(static)
    for (long k = 0; k < n; k++) grad[k] = st->pre[k] >= lo && st->pre[k] <= hi ? grad[k] : 0.0f;
    return;
  }
#pragma omp parallel for schedule(static)
  for (long r = 0; r < rows; r++) {
    const float *x = st->pre + r * width;
    float *g = grad + r * ld + col0;
    for (int c = 0; c < width; c++) g[c] = x[c] >= lo && x[c] <= hi ? g[c] : 0.0f;
  }
}

static void site_backward_flat(ds_qat *q, int i, float *grad, long n) { site_backward(q, i, grad, n, 1, 1, 0); }

/* d table[rows[n]] += d[n] for n in [0, N), sequentially (a row may repeat). */
static void scatter_rows(float *dtable, const float *d, const int32_t *rows, long N, int C) {
  for (long n = 0; n < N; n++) {
    float *dst = dtable + (size_t)rows[n] * C;
    for (int c = 0; c < C; c++) dst[c] += d[n * C + c];
  }
}

/* Weights: the LSQ gradient of every row's log step size, then the STE mask on the weight gradient; of the
 * token table only the rows flagged in tok (the others have no gradient). */
static void weights_backward(ds_qat *q, ds_student *m, const uint8_t *tok) {
  if (!(q->cfg.learn_scales && q->lsq_ready)) return;
  const int32_t qmax = (1 << (q->cfg.weight_bits - 1)) - 1;
  for (int i = 0; i < m->table.n_tensors; i++) {
    const ds_tensor_info *ti = &m->table.tensors[i];
    if (ti->ndim != 2) continue;
    const int rows = ti->shape[0], cols = ti->shape[1];
    const float *sc = q->wscale + q->wrow[i];
    float *lg = q->lsq_grad + q->n_sites + q->wrow[i];
    float *g = m->grads + ti->offset;
#pragma omp parallel for schedule(static)
    for (int r = 0; r < rows; r++) {
      if (i == 0 && !tok[r]) continue; /* token rows this batch did not read: no gradient */
      const ds_qparams qp = {sc[r], 0, -qmax, qmax};
      float gs = 0.0f;
      ds_lsq_backward(m->params + ti->offset + (size_t)r * cols, g + (size_t)r * cols, (size_t)cols, &qp, &gs);
      lg[r] += gs * sc[r];
    }
    for (int r = 0; r < rows; r++)
      if (i != 0 || tok[r])
        ds_fake_quant_mask_apply(g + (size_t)r * cols, q->wmask + ti->offset + (size_t)r * cols, (size_t)cols);
  }
}

void ds_qat_backward(ds_student *m, const float *d_emb, const float *d_logits) {
  ds_qat *q = m->qat;
  const ds_student_shape *s = &m->shape;
  const int B = m->B, T = m->T, C = s->dim, hd = s->head_dim, N = B * T, E = ds_student_emb_dim(s);
  const int K = s->n_classes, f0 = ds_qat_final_site(s->n_layers, 0);
  ds_acts *a = &m->a, *da = &m->da;
  const ds_params *ph = &q->ph;
  float *tmp = q->scr->xf; /* (N, C): site_backward's LSQ gather uses scr->tmp */
  memset(m->dacts_mem, 0, m->acts_used * sizeof(float));

  if (d_emb) ds_accumulate(da->emb, d_emb, (long)B * E);
  if (K > 0 && d_logits) {
    float *dl = q->scr->xf; /* (B, K) masked copy of the logits gradient */
    memcpy(dl, d_logits, sizeof(float) * (size_t)B * K);
    site_backward_flat(q, f0 + DS_QF_LOGITS, dl, (long)B * K);
    ds_linear_backward(da->emb, m->g.cls_w, m->g.cls_b, dl, a->emb, ph->cls_w, B, E, K);
  }
  if (s->out_dim > 0) {
    site_backward_flat(q, f0 + DS_QF_EMB, da->emb, (long)B * E);
    ds_linear_backward(da->pooled, m->g.proj_w, m->g.proj_b, da->emb, a->pooled, ph->proj_w, B, C, E);
  }
  if (q->is_static) {
    /* tok = EMBED(tok_emb); pooled = POOL_MEAN(tok) */
    ds_pool_backward(da->encoded, da->pooled, &m->pack, 0, C);
    site_backward_flat(q, DS_QS_TOK, da->encoded, (long)N * C);
    scatter_rows(m->g.tok_emb, da->encoded, m->ids, N, C);
    if (!q->defer_weights) weights_backward(q, m, q->tok_used);
    return;
  }
  ds_pool_backward(da->lnf, da->pooled, &m->pack, s->pooling == DS_POOL_CLS, C);
  site_backward_flat(q, f0 + DS_QF_LNF, da->lnf, (long)N * C);
  const float *x_last = s->n_layers > 0 ? a->layer[s->n_layers - 1].resid_out : a->encoded;
  float *dx_last = s->n_layers > 0 ? da->layer[s->n_layers - 1].resid_out : da->encoded;
  ds_layernorm_backward(dx_last, m->g.lnf_w, m->g.lnf_b, da->lnf, x_last, m->p.lnf_w, a->lnf_mean, a->lnf_rstd, N,
                        C);
  for (int l = s->n_layers - 1; l >= 0; l--) {
    const ds_layer_params *P = &m->p.layer[l], *Ph = &ph->layer[l];
    ds_layer_params *G = &m->g.layer[l];
    ds_layer_acts *L = &a->layer[l], *dL = &da->layer[l];
    const int H = s->heads[l], HD = H * hd, F = s->ffn[l];
    const float *x = l > 0 ? a->layer[l - 1].resid_out : a->encoded;
    float *dx = l > 0 ? da->layer[l - 1].resid_out : da->encoded;
#define SITE(k) ds_qat_layer_site(l, k)
    /* out = ADD(mid, fc2) */
    site_backward_flat(q, SITE(DS_QL_OUT), dL->resid_out, (long)N * C);
    ds_accumulate(dL->resid_mid, dL->resid_out, (long)N * C);
    memcpy(dL->fcproj, dL->resid_out, sizeof(float) * (size_t)N * C);
    site_backward_flat(q, SITE(DS_QL_FC2), dL->fcproj, (long)N * C);
    ds_linear_backward(dL->fch_gelu, G->fc2_w, G->fc2_b, dL->fcproj, L->fch_gelu, Ph->fc2_w, N, F, C);
    ds_unit_mask_apply(dL->fch_gelu, m->ffn_mask[l], N, F, 1);
    site_backward_flat(q, SITE(DS_QL_GELU), dL->fch_gelu, (long)N * F);
    ds_gelu_backward(dL->fch, L->fch, dL->fch_gelu, (long)N * F);
    site_backward_flat(q, SITE(DS_QL_FC1), dL->fch, (long)N * F);
    ds_linear_backward(dL->ln2, G->fc1_w, G->fc1_b, dL->fch, L->ln2, Ph->fc1_w, N, C, F);
    site_backward_flat(q, SITE(DS_QL_LN2), dL->ln2, (long)N * C);
    ds_layernorm_backward(dL->resid_mid, G->ln2_w, G->ln2_b, dL->ln2, L->resid_mid, P->ln2_w, L->ln2_mean,
                          L->ln2_rstd, N, C);
    /* mid = ADD(x, attn_out) */
    site_backward_flat(q, SITE(DS_QL_MID), dL->resid_mid, (long)N * C);
    ds_accumulate(dx, dL->resid_mid, (long)N * C);
    memcpy(dL->attproj, dL->resid_mid, sizeof(float) * (size_t)N * C);
    site_backward_flat(q, SITE(DS_QL_ATTN_OUT), dL->attproj, (long)N * C);
    ds_linear_backward(dL->atto, G->attn_out_w, G->attn_out_b, dL->attproj, L->atto, Ph->attn_out_w, N, HD, C);
    ds_unit_mask_apply(dL->atto, m->head_mask[l], N, H, hd);
    site_backward(q, SITE(DS_QL_CTX), dL->atto, N, HD, HD, 0);
    /* The scores' and probabilities' quantization pass gradients straight through: the softmax
     * backward runs inside the attention kernel on the dequantized probabilities. */
    ds_attention_backward(dL->qkv, dL->att, dL->atto, L->qkv, L->att, &m->pack, H, hd);
    for (int k = 0; k < 3; k++) site_backward(q, SITE(DS_QL_Q + k), dL->qkv, N, HD, 3 * HD, k * HD);
    ds_linear_backward(dL->ln1, G->qkv_w, G->qkv_b, dL->qkv, L->ln1, Ph->qkv_w, N, C, 3 * HD);
    site_backward_flat(q, SITE(DS_QL_LN1), dL->ln1, (long)N * C);
    ds_layernorm_backward(dx, G->ln1_w, G->ln1_b, dL->ln1, x, P->ln1_w, L->ln1_mean, L->ln1_rstd, N, C);
#undef SITE
  }
  /* x0 = ADD(tok, pos); each lookup passes its gradient to the rows it read. */
  site_backward_flat(q, DS_QS_X0, da->encoded, (long)N * C);
  memcpy(tmp, da->encoded, sizeof(float) * (size_t)N * C);
  site_backward_flat(q, DS_QS_TOK, tmp, (long)N * C);
  scatter_rows(m->g.tok_emb, tmp, m->ids, N, C);
  memcpy(tmp, da->encoded, sizeof(float) * (size_t)N * C);
  site_backward_flat(q, DS_QS_POS, tmp, (long)N * C);
  scatter_rows(m->g.pos_emb, tmp, q->scr->pos_ids, N, C);
  if (!q->defer_weights) weights_backward(q, m, q->tok_used);
}

void ds_qat_weights_backward(ds_student *m) {
  ds_qat *q = m->qat;
  if (q && q->mode == DS_QAT_FAKE) weights_backward(q, m, q->tok_step);
}
