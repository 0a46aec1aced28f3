/* The fake-quant forward pass: the integer model's arithmetic on a batch, op by op of the graph the int8 model
 * is built from (quant/qat/qat_graph.h), with the dequantized codes handed to the float graph for backward
 * (quant/qat/qat.h explains the scheme). Each site: compute what it would quantize (`pre`, for observers and the STE), settle its parameters,
 * then produce its codes with the runtime's own kernel (the same function run_op in quant/int8/int8_model.c
 * calls, including its AVX-512 dispatch) and dequantize them. Linear layers are the one exception by
 * design: sgemm with exact accumulators, then the runtime's requantization (ds_i8_requant_cols). */
#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <string.h>

#include "quant/int8/int8.h" /* the kernels the runtime dispatches to (quant/int8/int8_model.c): the very same code */
#include "kernels/kernels.h"
#include "quant/qat/qat_graph.h"
#include "quant/qat/qat_internal.h"

/* [begin, end) of n items for thread t of nt. */
static void split(long n, int t, int nt, long *b, long *e) {
  *b = n * t / nt;
  *e = n * (t + 1) / nt;
}

/* dst[r * ld + col0 + c] = dequantize(codes[r * width + c]) */
static void dequant_into(const ds_qparams *qp, const int8_t *codes, long rows, int width, float *dst, int ld,
                         int col0) {
#pragma omp parallel for schedule(static)
  for (long r = 0; r < rows; r++)
    for (int c = 0; c < width; c++)
      dst[r * ld + col0 + c] = (float)(codes[r * width + c] - qp->zero_point) * qp->scale; /* = ds_qparams_dequantize */
}

/* acc (N, OC) = saturate(bias + sum_i (x - zp) w) exactly: sgemm on integer-valued floats in chunks
 * of at most DS_QAT_EXACT_K inputs (exact, see quant/qat/qat.h), the zero point folded in through the
 * weight-row sums. */
static void int_gemm(struct ds_qat_scratch *scr, const float *xf, const float *wf, const int32_t *wsum,
                     const int32_t *bias, int32_t zp, int N, int IC, int OC) {
  const int chunked = IC > DS_QAT_EXACT_K;
  for (int k0 = 0; k0 < IC; k0 += DS_QAT_EXACT_K) {
    const int K = IC - k0 < DS_QAT_EXACT_K ? IC - k0 : DS_QAT_EXACT_K;
#pragma omp parallel
    {
      long n0, n1;
      split(N, omp_get_thread_num(), omp_get_num_threads(), &n0, &n1);
      if (n1 > n0) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)(n1 - n0), OC, K, 1.0f, xf + n0 * IC + k0, IC,
                    wf + k0, IC, 0.0f, scr->tmp + n0 * OC, OC);
        if (chunked)
          for (long i = n0 * OC; i < n1 * OC; i++) scr->accd[i] = (k0 == 0 ? 0.0 : scr->accd[i]) + scr->tmp[i];
      }
    }
  }
#pragma omp parallel for schedule(static)
  for (long n = 0; n < N; n++)
    for (int o = 0; o < OC; o++) {
      const long i = n * OC + o;
      int64_t v = (int64_t)(chunked ? scr->accd[i] : (double)scr->tmp[i]) + bias[o] - (int64_t)zp * wsum[o];
      scr->acc[i] = v > INT32_MAX ? INT32_MAX : v < INT32_MIN ? INT32_MIN : (int32_t)v;
    }
}

/* Site `out` = FC of site `in` (rows, IC) by rows [r0, r0 + OC) of weight tensor `ti` with float bias
 * (OC); dequantized into deq[r * ld + col0 + o]. xf must hold the input codes as floats. */
static int fc_site(ds_qat *q, const ds_student *m, int in, int rows, int IC, int out, int ti, int r0, int OC,
                   const float *bias, float *deq, int ld, int col0, ds_err *err) {
  struct ds_qat_scratch *scr = q->scr;
  const ds_tensor_info *info = &m->table.tensors[ti];
  const int8_t *wq = q->wq + info->offset + (size_t)r0 * IC;
  const float *wf = q->wqf + info->offset + (size_t)r0 * IC;
  const float *sw = q->wscale + q->wrow[ti] + r0;
  const ds_qparams in_qp = q->site[in].qp;
  for (int o = 0; o < OC; o++) {
    int32_t s = 0;
    for (int i = 0; i < IC; i++) s += wq[(size_t)o * IC + i];
    scr->wsum[o] = s;
  }
  if (ds_quant_bias(bias, (size_t)OC, in_qp.scale, sw, scr->bq))
    return ds_fail(err, "cannot quantize %s: a bias is NaN/Inf or a scale is zero", info->name);
  int_gemm(scr, scr->xf, wf, scr->wsum, scr->bq, in_qp.zero_point, rows, IC, OC);
  ds_qat_site *st = &q->site[out];
  const long n = (long)rows * OC;
#pragma omp parallel for schedule(static)
  for (long r = 0; r < rows; r++)
    for (int o = 0; o < OC; o++) st->pre[r * OC + o] = (float)scr->acc[r * OC + o] * (in_qp.scale * sw[o]);
  ds_qat_site_prepare(q, out, st->pre, (size_t)n);
  if (ds_i8_multipliers_make(in_qp.scale, sw, OC, st->qp.scale, scr->mult, scr->shift))
    return ds_fail(err, "%s: scales give no representable requantization multiplier", st->name);
#pragma omp parallel
  {
    long b, e;
    split(rows, omp_get_thread_num(), omp_get_num_threads(), &b, &e);
    if (e > b)
      ds_i8_requant_cols_vnni(scr->acc + b * OC, (int)(e - b), OC, scr->mult, scr->shift, st->qp.zero_point,
                         st->qp.qmin, st->qp.qmax, st->codes + b * OC);
  }
  dequant_into(&st->qp, st->codes, rows, OC, deq, ld, col0);
  return 0;
}

static void codes_to_floats(float *xf, const int8_t *codes, long n) {
#pragma omp parallel for schedule(static)
  for (long i = 0; i < n; i++) xf[i] = (float)codes[i];
}

/* Site `out` = ADD(site a, site b), n elements; pre = sum of the dequantized inputs (fa + fb). */
static int add_site(ds_qat *q, int a, int b, int out, const float *fa, const float *fb, long n, float *deq,
                    ds_err *err) {
  ds_qat_site *st = &q->site[out];
#pragma omp parallel for schedule(static)
  for (long i = 0; i < n; i++) st->pre[i] = fa[i] + fb[i];
  ds_qat_site_prepare(q, out, st->pre, (size_t)n);
  ds_i8_add_params ap;
  if (ds_i8_add_prepare(&q->site[a].qp, &q->site[b].qp, &st->qp, &ap))
    return ds_fail(err, "%s: scales give no representable ADD parameters", st->name);
#pragma omp parallel
  {
    long b0, e0;
    split(n, omp_get_thread_num(), omp_get_num_threads(), &b0, &e0);
    if (e0 > b0) ds_i8_add_vnni(&ap, q->site[a].codes + b0, q->site[b].codes + b0, (size_t)(e0 - b0), st->codes + b0);
  }
  dequant_into(&st->qp, st->codes, n, 1, deq, 1, 0);
  return 0;
}

/* Site `out` = LAYERNORM(site in) over rows (N, C); the float LayerNorm of the dequantized input gives
 * `pre` and the mean/rstd backward uses. */
static void layernorm_site(ds_qat *q, int in, int out, const float *x, const float *w, const float *b, int N, int C,
                           float *mean, float *rstd, float *deq) {
  ds_qat_site *st = &q->site[out];
  ds_layernorm_forward(st->pre, mean, rstd, x, w, b, N, C);
  ds_qat_site_prepare(q, out, st->pre, (size_t)N * C);
  struct ds_qat_scratch *scr = q->scr;
  const ds_qparams in_qp = q->site[in].qp, out_qp = st->qp;
  const int8_t *xc = q->site[in].codes;
#pragma omp parallel num_threads(scr->threads)
  {
    long b0, e0;
    const int t = omp_get_thread_num();
    split(N, t, omp_get_num_threads(), &b0, &e0);
    if (e0 > b0)
      ds_i8_layernorm_vnni(&in_qp, &out_qp, w, b, DS_LN_EPS, xc + b0 * C, (int)(e0 - b0), C,
                      scr->rows + (size_t)t * scr->row_len, st->codes + b0 * C);
  }
  dequant_into(&st->qp, st->codes, N, C, deq, C, 0);
}

/* Site `out` = EMBED of rows ids (N) of table tensor ti (rows V, C). */
static int embed_site(ds_qat *q, const ds_student *m, int out, int ti, const int32_t *ids, int N, ds_err *err) {
  struct ds_qat_scratch *scr = q->scr;
  const ds_tensor_info *info = &m->table.tensors[ti];
  const int V = info->shape[0], C = info->shape[1];
  ds_qat_site *st = &q->site[out];
  const float *what = q->what + info->offset;
#pragma omp parallel for schedule(static)
  for (long n = 0; n < N; n++) memcpy(st->pre + n * C, what + (size_t)ids[n] * C, sizeof(float) * C);
  ds_qat_site_prepare(q, out, st->pre, (size_t)N * C);
  const float *sw = q->wscale + q->wrow[ti];
  /* Multipliers of the rows read (the token table's others hold no fresh scales). */
  int bad = 0;
  for (int r = 0; r < V; r++)
    if ((ti != DS_T_TOK_EMB || q->tok_used[r]) && ds_i8_multipliers_make(1.0f, sw + r, 1, st->qp.scale, scr->mult + r, scr->shift + r))
      bad = 1;
  if (bad) return ds_fail(err, "%s: scales give no representable requantization multiplier", st->name);
  const ds_i8_embedding_params p = {st->qp.zero_point, st->qp.qmin, st->qp.qmax};
  const ds_i8_embedding_dims d = {V, C};
  if (ds_i8_embedding_lookup_vnni(&p, &d, scr->mult, scr->shift, q->wq + info->offset, ids, N, st->codes))
    return ds_fail(err, "%s: embedding lookup failed", st->name);
  return 0;
}

/* ATT_SCORES of layer l: the scores of the dequantized q and k (quant/qat/qat.h; quant/int8/int8.h ATT_SCORES). */
static int scores_site(ds_qat *q, ds_student *m, int l, ds_err *err) {
  const ds_student_shape *s = &m->shape;
  const int B = m->B, T = m->T, H = s->heads[l], hd = s->head_dim, HD = H * hd;
  ds_layer_acts *L = &m->a.layer[l];
  ds_qat_site *sq = &q->site[ds_qat_layer_site(l, DS_QL_Q)], *sk = &q->site[ds_qat_layer_site(l, DS_QL_K)];
  ds_qat_site *ss = &q->site[ds_qat_layer_site(l, DS_QL_SCORES)];
  const float alpha = 1.0f / sqrtf((float)hd);
  const int observing = ds_qat_observing(q);
  /* Scores the observer sees: the float product of the dequantized q and k; padding keys (which the
   * softmax ignores) as NaN, which observers skip. */
  if (observing) {
#pragma omp parallel for collapse(2) schedule(static)
    for (int b = 0; b < B; b++)
      for (int h = 0; h < H; h++)
        for (int i = 0; i < T; i++) {
          const float *qi = L->qkv + ((size_t)b * T + i) * 3 * HD + h * hd;
          float *row = ss->pre + (((size_t)b * H + h) * T + i) * T;
          for (int j = 0; j < T; j++) {
            if (!m->mask[(size_t)b * T + j]) {
              row[j] = NAN;
              continue;
            }
            const float *kj = L->qkv + ((size_t)b * T + j) * 3 * HD + HD + h * hd;
            float acc = 0.0f;
            for (int d = 0; d < hd; d++) acc += qi[d] * kj[d];
            row[j] = acc * alpha;
          }
        }
  }
  ds_qat_site_prepare(q, ds_qat_layer_site(l, DS_QL_SCORES), observing ? ss->pre : NULL, ds_qat_site_numel(q, ds_qat_layer_site(l, DS_QL_SCORES)));
  ds_i8_matmul_params ps = {sq->qp.zero_point, sk->qp.zero_point, ss->qp.zero_point, 0, 0, ss->qp.qmin, ss->qp.qmax};
  if (ds_i8_scores_multiplier(sq->qp.scale, sk->qp.scale, hd, ss->qp.scale, &ps.multiplier, &ps.shift))
    return ds_fail(err, "%s: scales give no representable multiplier", ss->name);
  struct ds_qat_scratch *scr = q->scr;
#pragma omp parallel for collapse(2) schedule(static) num_threads(scr->threads)
  for (int b = 0; b < B; b++)
    for (int h = 0; h < H; h++)
      ds_i8_att_scores_vnni(&ps, T, hd, HD, sq->codes + (size_t)b * T * HD + h * hd, sk->codes + (size_t)b * T * HD + h * hd,
                       (int32_t *)(void *)(scr->rows + (size_t)omp_get_thread_num() * scr->row_len),
                       ss->codes + ((size_t)b * H + h) * T * T);
  return 0;
}

/* SOFTMAX of layer l, dequantized into the attention probabilities backward uses. */
static void softmax_site(ds_qat *q, ds_student *m, int l) {
  const int B = m->B, T = m->T, H = m->shape.heads[l];
  ds_qat_site *ss = &q->site[ds_qat_layer_site(l, DS_QL_SCORES)], *sp = &q->site[ds_qat_layer_site(l, DS_QL_PROBS)];
  struct ds_qat_scratch *scr = q->scr;
#pragma omp parallel for schedule(static) num_threads(scr->threads)
  for (int b = 0; b < B; b++)
    ds_i8_softmax(&ss->qp, ss->codes + (size_t)b * H * T * T, m->mask + (size_t)b * T, H * T, T,
                  scr->rows + (size_t)omp_get_thread_num() * scr->row_len, sp->codes + (size_t)b * H * T * T);
  dequant_into(&sp->qp, sp->codes, (long)B * H * T * T, 1, m->a.layer[l].att, 1, 0);
}

/* ATT_CONTEXT of layer l: the probabilities times v (quant/int8/int8.h ATT_CONTEXT), removed heads zero. */
static int context_site(ds_qat *q, ds_student *m, int l, ds_err *err) {
  const ds_student_shape *s = &m->shape;
  const int B = m->B, T = m->T, H = s->heads[l], hd = s->head_dim, HD = H * hd;
  ds_layer_acts *L = &m->a.layer[l];
  ds_qat_site *sv = &q->site[ds_qat_layer_site(l, DS_QL_V)], *sp = &q->site[ds_qat_layer_site(l, DS_QL_PROBS)];
  ds_qat_site *sc = &q->site[ds_qat_layer_site(l, DS_QL_CTX)];
  struct ds_qat_scratch *scr = q->scr;
  /* Context: pre = dequantized probabilities times dequantized v (removed heads zero), for the
   * observer and the STE. */
  const float *hmask = m->head_mask[l];
  {
#pragma omp parallel for collapse(2) schedule(static)
    for (int b = 0; b < B; b++)
      for (int h = 0; h < H; h++)
        for (int i = 0; i < T; i++) {
          float *o = sc->pre + ((size_t)b * T + i) * HD + h * hd;
          for (int d = 0; d < hd; d++) o[d] = 0.0f;
          if (hmask[h] == 0.0f) continue;
          const float *p = L->att + (((size_t)b * H + h) * T + i) * T;
          for (int j = 0; j < T; j++) {
            const float *vj = L->qkv + ((size_t)b * T + j) * 3 * HD + 2 * HD + h * hd;
            for (int d = 0; d < hd; d++) o[d] += p[j] * vj[d];
          }
        }
  }
  const int ctx_site = ds_qat_layer_site(l, DS_QL_CTX);
  ds_qat_site_prepare(q, ctx_site, sc->pre, ds_qat_site_numel(q, ctx_site));
  ds_i8_matmul_params pc = {DS_I8_SOFTMAX_ZP, sv->qp.zero_point, sc->qp.zero_point, 0, 0, sc->qp.qmin, sc->qp.qmax};
  if (ds_i8_context_multiplier(sv->qp.scale, sc->qp.scale, &pc.multiplier, &pc.shift))
    return ds_fail(err, "%s: scales give no representable multiplier", sc->name);
#pragma omp parallel for collapse(2) schedule(static) num_threads(scr->threads)
  for (int b = 0; b < B; b++)
    for (int h = 0; h < H; h++) {
      int8_t *o = sc->codes + (size_t)b * T * HD + h * hd;
      if (hmask[h] == 0.0f) {
        /* A removed head outputs zero, exactly the zero point. */
        for (int i = 0; i < T; i++) memset(o + (size_t)i * HD, sc->qp.zero_point, (size_t)hd);
        continue;
      }
      ds_i8_att_context_vnni(&pc, T, hd, HD, sp->codes + ((size_t)b * H + h) * T * T, sv->codes + (size_t)b * T * HD + h * hd,
                        (int32_t *)(void *)(scr->rows + (size_t)omp_get_thread_num() * scr->row_len), o);
    }
  dequant_into(&sc->qp, sc->codes, (long)B * T, HD, L->atto, HD, 0);
  return 0;
}

/* GELU of layer l through the runtime's lookup table; removed neurons output their zero point. */
static int gelu_site(ds_qat *q, ds_student *m, int l, ds_err *err) {
  const long N = (long)m->B * m->T;
  const int F = m->shape.ffn[l];
  ds_layer_acts *L = &m->a.layer[l];
  ds_qat_site *sg = &q->site[ds_qat_layer_site(l, DS_QL_GELU)], *sf = &q->site[ds_qat_layer_site(l, DS_QL_FC1)];
  const float *fm = m->ffn_mask[l];
  ds_gelu_forward(sg->pre, L->fch, N * F);
  ds_unit_mask_apply(sg->pre, fm, N, F, 1);
  ds_qat_site_prepare(q, ds_qat_layer_site(l, DS_QL_GELU), sg->pre, (size_t)N * F);
  int8_t lut[256];
  if (ds_i8_gelu_lut_build(lut, &sf->qp, &sg->qp)) return ds_fail(err, "%s: bad quantization", sg->name);
  ds_i8_lut_apply(lut, sf->codes, (size_t)N * F, sg->codes);
#pragma omp parallel for schedule(static)
  for (long n = 0; n < N; n++)
    for (int f = 0; f < F; f++)
      if (fm[f] == 0.0f) sg->codes[n * F + f] = (int8_t)sg->qp.zero_point;
  dequant_into(&sg->qp, sg->codes, N, F, L->fch_gelu, F, 0);
  return 0;
}

/* POOL_MEAN / POOL_CLS of site `in` into site `out`, on the input's grid. */
static void pool_site(ds_qat *q, ds_student *m, int in, int out, int cls) {
  const int B = m->B, T = m->T, C = m->shape.dim;
  ds_qat_site *sl = &q->site[in], *sp = &q->site[out];
  ds_qat_site_prepare(q, out, NULL, 0);
#pragma omp parallel for schedule(static)
  for (int b = 0; b < B; b++) {
    if (cls)
      memcpy(sp->codes + (size_t)b * C, sl->codes + (size_t)b * T * C, (size_t)C);
    else
      ds_i8_pool_mean(sl->codes + (size_t)b * T * C, m->mask + (size_t)b * T, T, C, sp->qp.zero_point,
                      sp->codes + (size_t)b * C);
  }
  dequant_into(&sp->qp, sp->codes, B, C, m->a.pooled, C, 0);
}

/* Where the float graph keeps a site's dequantized values: columns [col0, col0 + width) of rows of stride ld of
 * x, and for a LayerNorm's output the mean and rstd its backward uses. The backward pass reads them there. */
typedef struct {
  float *x;
  int ld, col0;
  float *mean, *rstd;
} site_floats;

static site_floats floats_of(ds_qat *q, ds_student *m, int site) {
  const ds_student_shape *s = &m->shape;
  ds_acts *a = &m->a;
  const int f0 = ds_qat_final_site(s->n_layers, 0);
  site_floats v = {NULL, q->site[site].width, 0, NULL, NULL};
  if (site == DS_QS_TOK || site == DS_QS_X0) v.x = a->encoded;
  else if (site == DS_QS_POS) v.x = q->scr->xf; /* until the ADD that follows reads it */
  else if (site >= f0) {
    float *const finals[DS_QF_COUNT] = {[DS_QF_LNF] = a->lnf, [DS_QF_POOLED] = a->pooled, [DS_QF_EMB] = a->emb,
                                        [DS_QF_LOGITS] = a->logits};
    v.x = finals[site - f0];
    if (site - f0 == DS_QF_LNF) v.mean = a->lnf_mean, v.rstd = a->lnf_rstd;
  } else {
    const int l = (site - DS_QS_HEAD) / DS_QL_COUNT, k = (site - DS_QS_HEAD) % DS_QL_COUNT;
    ds_layer_acts *L = &a->layer[l];
    float *const layer[DS_QL_COUNT] = {
        [DS_QL_LN1] = L->ln1,       [DS_QL_Q] = L->qkv,          [DS_QL_K] = L->qkv,        [DS_QL_V] = L->qkv,
        [DS_QL_SCORES] = NULL,      [DS_QL_PROBS] = L->att,      [DS_QL_CTX] = L->atto,     [DS_QL_ATTN_OUT] = L->attproj,
        [DS_QL_MID] = L->resid_mid, [DS_QL_LN2] = L->ln2,        [DS_QL_FC1] = L->fch,      [DS_QL_GELU] = L->fch_gelu,
        [DS_QL_FC2] = L->fcproj,    [DS_QL_OUT] = L->resid_out};
    v.x = layer[k];
    if (k == DS_QL_Q || k == DS_QL_K || k == DS_QL_V) { /* one third each of the fused qkv rows */
      v.col0 = (k - DS_QL_Q) * v.ld;
      v.ld *= 3;
    }
    if (k == DS_QL_LN1) v.mean = L->ln1_mean, v.rstd = L->ln1_rstd;
    if (k == DS_QL_LN2) v.mean = L->ln2_mean, v.rstd = L->ln2_rstd;
  }
  return v;
}

/* Runs one op of the graph (quant/qat/qat_graph.h) on the batch. */
static int run_node(ds_qat *q, ds_student *m, const ds_qat_node *nd, ds_err *err) {
  const int B = m->B, N = B * m->T, C = m->shape.dim;
  const ds_param_table *t = &m->table;
  ds_qat_site *so = &q->site[nd->out];
  const site_floats out = floats_of(q, m, nd->out);
  switch (nd->kind) {
  case DS_I8_OP_EMBED:
  case DS_I8_OP_POS_EMBED:
    if (embed_site(q, m, nd->out, nd->weight, nd->kind == DS_I8_OP_EMBED ? m->ids : q->scr->pos_ids, N, err))
      return -1;
    dequant_into(&so->qp, so->codes, N, C, out.x, C, 0);
    return 0;
  case DS_I8_OP_ADD:
    return add_site(q, nd->in[0], nd->in[1], nd->out, floats_of(q, m, nd->in[0]).x, floats_of(q, m, nd->in[1]).x,
                    (long)N * C, out.x, err);
  case DS_I8_OP_LAYERNORM:
    layernorm_site(q, nd->in[0], nd->out, floats_of(q, m, nd->in[0]).x, m->params + t->tensors[nd->gamma].offset,
                   m->params + t->tensors[nd->gamma + 1].offset, N, C, out.mean, out.rstd, out.x);
    return 0;
  case DS_I8_OP_FC: {
    const ds_tensor_info *w = &t->tensors[nd->weight];
    const int rows = q->site[nd->in[0]].kind == DS_I8_ACT_VECTOR ? B : N, IC = w->shape[1];
    const int OC = nd->part >= 0 ? w->shape[0] / 3 : w->shape[0], r0 = nd->part >= 0 ? nd->part * OC : 0;
    /* k and v follow q on the same input (qat_graph.c), whose codes xf still holds: convert them once. */
    if (nd->part <= 0) codes_to_floats(q->scr->xf, q->site[nd->in[0]].codes, (long)rows * IC);
    return fc_site(q, m, nd->in[0], rows, IC, nd->out, nd->weight, r0, OC,
                   m->params + t->tensors[nd->weight + 1].offset + r0, out.x, out.ld, out.col0, err);
  }
  case DS_I8_OP_ATT_SCORES:
    return scores_site(q, m, nd->layer, err);
  case DS_I8_OP_SOFTMAX:
    softmax_site(q, m, nd->layer);
    return 0;
  case DS_I8_OP_ATT_CONTEXT:
    return context_site(q, m, nd->layer, err);
  case DS_I8_OP_GELU:
    return gelu_site(q, m, nd->layer, err);
  case DS_I8_OP_POOL_MEAN:
  case DS_I8_OP_POOL_CLS:
    pool_site(q, m, nd->in[0], nd->out, nd->kind == DS_I8_OP_POOL_CLS);
    return 0;
  }
  return ds_fail(err, "fake-quant forward: op kind %d is not in a student's graph", (int)nd->kind);
}

int ds_qat_forward(ds_student *m, ds_err *err) {
  ds_qat *q = m->qat;
  if (ds_qat_ensure_mem(q, &m->shape, m->B, m->T, err) || ds_qat_quantize_weights(q, m, err)) return -1;
  ds_qat_node nodes[DS_QAT_MAX_NODES];
  const int n = ds_qat_graph(&m->shape, &m->table, nodes);
  for (int i = 0; i < n; i++)
    if (run_node(q, m, &nodes[i], err)) return -1;
  if (q->update && q->cfg.learn_scales && !q->lsq_ready) ds_qat_lsq_init(q, m);
  q->update = 0;
  return 0;
}
