/* QAT state: the sites, the schedule, quantization parameters and buffers (quant/qat/qat.h). */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "quant/qat/qat_internal.h"

static const char *layer_site_names[DS_QL_COUNT] = {"ln1", "q",        "k",   "v",   "scores", "probs", "ctx",
                                                    "attn_out", "mid", "ln2", "fc1", "gelu",   "fc2",   "out"};

static void site_set(ds_qat_site *st, const char *name, ds_i8_act_kind kind, int width, int used) {
  snprintf(st->name, sizeof st->name, "%s", name);
  st->kind = kind;
  st->width = width;
  st->used = used;
}

int ds_qat_init(ds_qat **out, const ds_student_shape *s, const ds_param_table *t, const ds_quant_cfg *cfg,
                ds_err *err) {
  *out = NULL;
  int32_t lo, hi;
  if (ds_qparams_bits_range(cfg->weight_bits, 1, &lo, &hi) || ds_qparams_bits_range(cfg->act_bits, 0, &lo, &hi))
    return ds_fail(err, "[quant] weight_bits = %d and act_bits = %d must lie in [%d, %d]", cfg->weight_bits,
                   cfg->act_bits, DS_QUANT_BITS_MIN, DS_QUANT_BITS_MAX);
  ds_qat *q = calloc(1, sizeof *q);
  if (!q) return ds_fail(err, "out of memory allocating the QAT state");
  q->cfg = *cfg;
  q->n_layers = s->n_layers;
  q->n_tok_rows = s->vocab;
  q->is_static = s->arch == DS_ARCH_STATIC;
  const int C = s->dim, hd = s->head_dim, encoder = !q->is_static;
  site_set(&q->site[DS_QS_TOK], "tok", DS_I8_ACT_TOKENS, C, 1);
  site_set(&q->site[DS_QS_POS], "pos", DS_I8_ACT_TOKENS, C, encoder);
  site_set(&q->site[DS_QS_X0], "x0", DS_I8_ACT_TOKENS, C, encoder);
  for (int l = 0; l < s->n_layers; l++) {
    const int H = s->heads[l], HD = H * hd, F = s->ffn[l];
    const int widths[DS_QL_COUNT] = {C, HD, HD, HD, H, H, HD, C, C, C, F, F, C, C};
    for (int k = 0; k < DS_QL_COUNT; k++) {
      char name[DS_I8_NAME_MAX];
      snprintf(name, sizeof name, "layers.%d.%s", l, layer_site_names[k]);
      const int scores = k == DS_QL_SCORES || k == DS_QL_PROBS;
      site_set(&q->site[ds_qat_layer_site(l, k)], name, scores ? DS_I8_ACT_SCORES : DS_I8_ACT_TOKENS, widths[k], 1);
    }
  }
  const int f0 = ds_qat_final_site(s->n_layers, 0);
  site_set(&q->site[f0 + DS_QF_LNF], "ln_f", DS_I8_ACT_TOKENS, C, encoder);
  q->pool_src = encoder ? f0 + DS_QF_LNF : DS_QS_TOK;
  site_set(&q->site[f0 + DS_QF_POOLED], "pooled", DS_I8_ACT_VECTOR, C, 1);
  site_set(&q->site[f0 + DS_QF_EMB], "emb", DS_I8_ACT_VECTOR, s->out_dim > 0 ? s->out_dim : C, s->out_dim > 0);
  site_set(&q->site[f0 + DS_QF_LOGITS], "logits", DS_I8_ACT_VECTOR, s->n_classes > 0 ? s->n_classes : 1,
           s->n_classes > 0);
  q->n_sites = f0 + DS_QF_COUNT;
  for (int i = 0; i < q->n_sites; i++)
    if (ds_qobserver_init(&q->site[i].obs, cfg->observer, (float)cfg->ema_decay)) {
      ds_qat_free(q);
      return ds_fail(err, "[quant] observer %d with ema_decay = %g is not usable (decay must lie in [0, 1))",
                     (int)cfg->observer, cfg->ema_decay);
    }
  /* Softmax output is fixed as TFLite fixes it; the pooled mean keeps its input's parameters. */
  q->site[ds_qat_layer_site(0, DS_QL_PROBS)].qp = (ds_qparams){DS_I8_SOFTMAX_SCALE, DS_I8_SOFTMAX_ZP, -128, 127};
  for (int l = 0; l < s->n_layers; l++)
    q->site[ds_qat_layer_site(l, DS_QL_PROBS)].qp = q->site[ds_qat_layer_site(0, DS_QL_PROBS)].qp;
  for (int i = 0; i < q->n_sites; i++)
    if (q->site[i].qp.scale == 0.0f) ds_qobserver_qparams(&q->site[i].obs, cfg->act_bits, &q->site[i].qp);
  /* Weight rows: every 2-D tensor of the table is a weight (embedding tables included). */
  for (int i = 0; i < t->n_tensors; i++) {
    if (t->tensors[i].ndim == 2) {
      q->wrow[i] = q->n_wrows;
      q->n_wrows += (size_t)t->tensors[i].shape[0];
    } else {
      q->wrow[i] = (size_t)-1;
    }
  }
  q->n_params = t->n_params;
  q->wq = malloc(q->n_params);
  q->wqf = malloc(sizeof(float) * q->n_params);
  q->what = malloc(sizeof(float) * q->n_params);
  q->wmask = malloc(q->n_params);
  q->wscale = calloc(q->n_wrows + 1, sizeof(float));
  q->tok_used = calloc((size_t)s->vocab + 1, 1);
  q->tok_step = calloc((size_t)s->vocab + 1, 1);
  q->n_lsq = cfg->learn_scales ? (size_t)q->n_sites + q->n_wrows : 0;
  q->lsq = calloc(4 * q->n_lsq + 4, sizeof(float));
  if (!q->wq || !q->wqf || !q->what || !q->wmask || !q->wscale || !q->tok_used || !q->tok_step || !q->lsq) {
    ds_qat_free(q);
    return ds_fail(err, "out of memory allocating the QAT state of %zu parameters", t->n_params);
  }
  q->lsq_grad = q->lsq + q->n_lsq;
  q->lsq_m = q->lsq_grad + q->n_lsq;
  q->lsq_v = q->lsq_m + q->n_lsq;
  ds_params_view(t, s, q->what, &q->ph);
  *out = q;
  return 0;
}

void ds_qat_free(ds_qat *q) {
  if (!q) return;
  free(q->wq);
  free(q->wqf);
  free(q->what);
  free(q->wmask);
  free(q->wscale);
  free(q->tok_used);
  free(q->tok_step);
  free(q->lsq);
  free(q->mem);
  free(q);
}

void ds_qat_zero_grad(ds_qat *q) {
  if (q->n_lsq) memset(q->lsq_grad, 0, sizeof(float) * q->n_lsq);
}

void ds_qat_set_step(ds_qat *q, long step) {
  q->mode = step >= q->cfg.start_step ? DS_QAT_FAKE : DS_QAT_OBSERVE;
  q->frozen = q->cfg.freeze_step >= 0 && step >= q->cfg.freeze_step;
  q->update = 0;
}

void ds_qat_step_begin(ds_qat *q, long step) {
  ds_qat_set_step(q, step);
  q->update = 1;
  ds_qat_zero_grad(q);
  memset(q->tok_step, 0, (size_t)q->n_tok_rows);
}

int ds_qat_observing(const ds_qat *q) {
  return q->update && !q->frozen && (!q->cfg.learn_scales || !q->lsq_ready);
}

static int site_fixed(const ds_qat *q, int i) {
  if (i < DS_QS_HEAD || i >= ds_qat_final_site(q->n_layers, 0)) return i == ds_qat_final_site(q->n_layers, DS_QF_POOLED);
  return (i - DS_QS_HEAD) % DS_QL_COUNT == DS_QL_PROBS;
}

int ds_qat_site_qparams(const ds_qat *q, int i, ds_qparams *qp) {
  if (i < 0 || i >= q->n_sites) return -1;
  const ds_qat_site *st = &q->site[i];
  if (i == ds_qat_final_site(q->n_layers, DS_QF_POOLED)) return ds_qat_site_qparams(q, q->pool_src, qp);
  if (site_fixed(q, i)) {
    *qp = st->qp;
    return 0;
  }
  if (q->cfg.learn_scales && q->lsq_ready) {
    *qp = st->qp; /* zero point and range as initialised */
    float s = expf(q->lsq[i]);
    qp->scale = s > DS_QUANT_SCALE_MIN ? s : DS_QUANT_SCALE_MIN;
    return 0;
  }
  return ds_qobserver_qparams(&st->obs, q->cfg.act_bits, qp);
}

void ds_qat_site_prepare(ds_qat *q, int i, const float *pre, size_t n) {
  if (ds_qat_observing(q) && pre && !site_fixed(q, i)) {
    /* The batch's range over finite values, in parallel; the observer folds it in as it would the
     * whole batch (ds_qobserver_update skips non-finite values too). */
    float lo = INFINITY, hi = -INFINITY;
#pragma omp parallel for schedule(static) reduction(min : lo) reduction(max : hi)
    for (size_t k = 0; k < n; k++)
      if (isfinite(pre[k])) {
        if (pre[k] < lo) lo = pre[k];
        if (pre[k] > hi) hi = pre[k];
      }
    if (q->range_reduce) q->range_reduce(q->range_ctx, &lo, &hi);
    if (lo <= hi) ds_qobserver_update(&q->site[i].obs, (const float[]){lo, hi}, 2);
  }
  ds_qat_site_qparams(q, i, &q->site[i].qp);
}

void ds_qat_site_observe_range(ds_qat *q, int i, float lo, float hi) {
  if (!ds_qat_observing(q) || site_fixed(q, i)) return;
  if (q->range_reduce) q->range_reduce(q->range_ctx, &lo, &hi);
  if (!(lo <= hi)) return;
  const float r[2] = {lo, hi};
  ds_qobserver_update(&q->site[i].obs, r, 2);
}

void ds_qat_lsq_init(ds_qat *q, const ds_student *m) {
  for (int i = 0; i < q->n_sites; i++) q->lsq[i] = logf(q->site[i].qp.scale);
  /* Every weight row from max |w| / qmax (the forward quantized only the token rows it read). */
  for (int i = 0; i < m->table.n_tensors; i++) {
    const ds_tensor_info *ti = &m->table.tensors[i];
    if (ti->ndim != 2) continue;
    float *ls = q->lsq + q->n_sites + q->wrow[i];
    ds_qparams_rows(m->params + ti->offset, ti->shape[0], ti->shape[1], q->cfg.weight_bits, ls);
    for (int r = 0; r < ti->shape[0]; r++) ls[r] = logf(ls[r]);
  }
  memset(q->lsq_m, 0, sizeof(float) * q->n_lsq);
  memset(q->lsq_v, 0, sizeof(float) * q->n_lsq);
  q->lsq_ready = 1;
}

int ds_qat_weight_scales(const ds_qat *q, const float *w, int ti, int rows, int cols, float *scales) {
  if (q->cfg.learn_scales && q->lsq_ready) {
    const float *ls = q->lsq + q->n_sites + q->wrow[ti];
    for (int r = 0; r < rows; r++) {
      float s = expf(ls[r]);
      scales[r] = s > DS_QUANT_SCALE_MIN ? s : DS_QUANT_SCALE_MIN;
    }
    return 0;
  }
  return ds_qparams_rows(w, rows, cols, q->cfg.weight_bits, scales);
}

/* Quantizes rows [r0, r1) of weight tensor i: scales, codes, codes as floats, dequantized values and
 * (for LSQ) the STE mask. */
static int quantize_rows(ds_qat *q, const ds_student *m, int i, int r0, int r1) {
  const ds_tensor_info *ti = &m->table.tensors[i];
  const int cols = ti->shape[1];
  const size_t off = ti->offset + (size_t)r0 * cols;
  const float *w = m->params + off;
  float *sc = q->wscale + q->wrow[i] + r0;
  int8_t *codes = q->wq + off;
  if (q->cfg.learn_scales && q->lsq_ready) {
    const float *ls = q->lsq + q->n_sites + q->wrow[i] + r0;
    for (int r = 0; r < r1 - r0; r++) {
      const float e = expf(ls[r]);
      sc[r] = e > DS_QUANT_SCALE_MIN ? e : DS_QUANT_SCALE_MIN; /* as ds_qat_weight_scales */
    }
  } else if (ds_qparams_rows(w, r1 - r0, cols, q->cfg.weight_bits, sc)) {
    return -1;
  }
  if (ds_quant_rows(w, r1 - r0, cols, sc, q->cfg.weight_bits, codes)) return -1;
  const int32_t qmax = (1 << (q->cfg.weight_bits - 1)) - 1;
  for (int r = 0; r < r1 - r0; r++)
    for (int c = 0; c < cols; c++) {
      const size_t k = (size_t)r * cols + c;
      q->wqf[off + k] = (float)codes[k];
      q->what[off + k] = (float)codes[k] * sc[r];
      /* STE: the gradient passes where w / s rounds inside the grid (always, for max-abs scales). */
      const float cf = roundf(w[k] / sc[r]);
      q->wmask[off + k] = cf >= (float)-qmax && cf <= (float)qmax;
    }
  return 0;
}

int ds_qat_quantize_weights(ds_qat *q, const ds_student *m, ds_err *err) {
  const ds_param_table *t = &m->table;
  /* The token table: only the rows this batch reads (their codes are all the forward uses). */
  const long N = (long)m->B * m->T;
  memset(q->tok_used, 0, (size_t)m->shape.vocab);
  for (long n = 0; n < N; n++) q->tok_used[m->ids[n]] = q->tok_step[m->ids[n]] = 1;
  int bad = -1;
#pragma omp parallel for schedule(dynamic, 64) reduction(max : bad)
  for (int r = 0; r < m->shape.vocab; r++)
    if (q->tok_used[r] && quantize_rows(q, m, DS_T_TOK_EMB, r, r + 1)) bad = 0;
  if (bad >= 0) return ds_fail(err, "cannot quantize %s: it holds NaN or Inf", t->tensors[DS_T_TOK_EMB].name);
  for (int i = DS_T_TOK_EMB + 1; i < t->n_tensors; i++) {
    const ds_tensor_info *ti = &t->tensors[i];
    if (ti->ndim != 2) {
      memcpy(q->what + ti->offset, m->params + ti->offset, sizeof(float) * ti->numel);
      continue;
    }
#pragma omp parallel for schedule(static) reduction(max : bad)
    for (int r = 0; r < ti->shape[0]; r++)
      if (quantize_rows(q, m, i, r, r + 1)) bad = i;
    if (bad >= 0) return ds_fail(err, "cannot quantize %s: it holds NaN or Inf", ti->name);
  }
  return 0;
}

size_t ds_qat_site_numel(const ds_qat *q, int i) {
  const ds_qat_site *st = &q->site[i];
  const size_t B = (size_t)q->B, T = (size_t)q->T;
  if (!st->used && st->kind == DS_I8_ACT_TOKENS) return 0; /* a static student's pos, x0, ln_f: no buffers */
  switch (st->kind) {
    case DS_I8_ACT_TOKENS: return B * T * st->width;
    case DS_I8_ACT_SCORES: return B * st->width * T * T;
    default: return B * st->width;
  }
}

#define ALIGN_UP(x) (((x) + 63) / 64 * 64)

int ds_qat_ensure_mem(ds_qat *q, const ds_student_shape *s, int B, int T, ds_err *err) {
  if (q->mem && q->B == B && q->T == T) return 0;
  q->B = B;
  q->T = T;
  const size_t N = (size_t)B * T;
  int max_in = s->dim, max_out = s->dim > s->out_dim ? s->dim : s->out_dim, max_rows = s->vocab;
  if (s->n_classes > max_out) max_out = s->n_classes;
  if (s->max_len > max_rows) max_rows = s->max_len;
  if (s->out_dim > max_in) max_in = s->out_dim;
  for (int l = 0; l < s->n_layers; l++) {
    const int HD = s->heads[l] * s->head_dim, F = s->ffn[l];
    if (HD > max_in) max_in = HD;
    if (F > max_in) max_in = F;
    if (F > max_out) max_out = F;
    if (HD > max_out) max_out = HD;
  }
  if (max_out > max_rows) max_rows = max_out;
  const int threads = omp_get_max_threads();
  int row_len = s->dim > T ? s->dim : T;
  if (max_in > row_len) row_len = max_in;
  /* Sizes of every piece, in bytes, each rounded up to keep alignment. */
  size_t need = 0;
  for (int i = 0; i < q->n_sites; i++) need += ALIGN_UP(ds_qat_site_numel(q, i)) * (1 + sizeof(float));
  const size_t nio = N * (size_t)max_out;
  /* xf holds the input codes of any FC and, in backward, a masked copy of any one site's gradient: the widest
   * token site (N x max_in) or the logits (B x n_classes, wider when rows are short and classes many). */
  const size_t n_xf = N * max_in > (size_t)B * s->n_classes ? N * max_in : (size_t)B * s->n_classes;
  const int chunked = max_in > DS_QAT_EXACT_K;
  need += ALIGN_UP(n_xf * sizeof(float)) + ALIGN_UP(nio * sizeof(float)) +
          (chunked ? ALIGN_UP(nio * sizeof(double)) : 0) + ALIGN_UP(nio * sizeof(int32_t)) +
          2 * ALIGN_UP((size_t)max_rows * sizeof(int32_t)) + 2 * ALIGN_UP((size_t)max_out * sizeof(int32_t)) +
          ALIGN_UP(N * sizeof(int32_t)) + ALIGN_UP((size_t)threads * row_len * sizeof(float)) +
          ALIGN_UP(sizeof(struct ds_qat_scratch));
  if (need > q->mem_cap) {
    free(q->mem);
    q->mem = malloc(need);
    if (!q->mem) {
      q->mem_cap = 0;
      q->B = q->T = 0;
      return ds_fail(err, "out of memory allocating QAT buffers for batch %d x %d", B, T);
    }
    q->mem_cap = need;
  }
  char *p = q->mem;
#define CARVE(ptr, bytes)              \
  do {                                 \
    (ptr) = (void *)p;                 \
    p += ALIGN_UP((size_t)(bytes));    \
  } while (0)
  struct ds_qat_scratch *scr;
  CARVE(scr, sizeof *scr);
  for (int i = 0; i < q->n_sites; i++) {
    const size_t n = ds_qat_site_numel(q, i);
    CARVE(q->site[i].codes, n);
    CARVE(q->site[i].pre, n * sizeof(float));
  }
  CARVE(scr->xf, n_xf * sizeof(float));
  CARVE(scr->tmp, nio * sizeof(float));
  scr->accd = NULL;
  if (chunked) CARVE(scr->accd, nio * sizeof(double));
  CARVE(scr->acc, nio * sizeof(int32_t));
  CARVE(scr->mult, (size_t)max_rows * sizeof(int32_t));
  CARVE(scr->shift, (size_t)max_rows * sizeof(int32_t));
  CARVE(scr->wsum, (size_t)max_out * sizeof(int32_t));
  CARVE(scr->bq, (size_t)max_out * sizeof(int32_t));
  CARVE(scr->pos_ids, N * sizeof(int32_t));
  CARVE(scr->rows, (size_t)threads * row_len * sizeof(float));
#undef CARVE
  scr->row_len = row_len;
  scr->threads = threads;
  for (int b = 0; b < B; b++)
    for (int t = 0; t < T; t++) scr->pos_ids[(size_t)b * T + t] = t;
  q->scr = scr;
  return 0;
}
