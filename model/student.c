/* The student's forward pass as a readable call sequence, and backward as its mirror. */
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"
#include "model/model.h"

static size_t mask_units(const ds_student_shape *s) {
  size_t n = 0;
  for (int l = 0; l < s->n_layers; l++) n += (size_t)s->heads[l] + (size_t)s->ffn[l];
  return n;
}

int ds_student_init(ds_student *m, const ds_student_shape *shape, ds_err *err) {
  memset(m, 0, sizeof *m);
  m->shape = *shape;
  ds_param_table_build(&m->table, shape);
  const size_t n = m->table.n_params, units = mask_units(shape);
  m->params = calloc(n, sizeof(float));
  m->grads = calloc(n, sizeof(float));
  m->mask_mem = malloc((units + 1) * sizeof(float)); /* + 1: a static student has no units */
  if (!m->params || !m->grads || !m->mask_mem) {
    ds_student_free(m);
    return ds_fail(err, "out of memory allocating a student of %zu parameters", n);
  }
  ds_params_view(&m->table, shape, m->params, &m->p);
  ds_params_view(&m->table, shape, m->grads, &m->g);
  for (size_t i = 0; i < units; i++) m->mask_mem[i] = 1.0f;
  float *mp = m->mask_mem;
  for (int l = 0; l < shape->n_layers; l++) {
    m->head_mask[l] = mp;
    mp += shape->heads[l];
    m->ffn_mask[l] = mp;
    mp += shape->ffn[l];
  }
  return 0;
}

void ds_student_init_params(ds_student *m, unsigned long seed) {
  gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
  gsl_rng_set(rng, seed);
  for (int i = 0; i < m->table.n_tensors; i++) {
    const ds_tensor_info *t = &m->table.tensors[i];
    float *x = m->params + t->offset;
    const char *suffix = strrchr(t->name, '.');
    const int is_ln = strstr(t->name, "ln") == t->name || strstr(t->name, ".ln") != NULL;
    if (is_ln && strcmp(suffix, ".weight") == 0) {
      for (size_t k = 0; k < t->numel; k++) x[k] = 1.0f;
    } else if (t->ndim == 1) {
      memset(x, 0, t->numel * sizeof(float));
    } else {
      for (size_t k = 0; k < t->numel; k++) x[k] = (float)gsl_ran_gaussian(rng, 0.02);
    }
  }
  gsl_rng_free(rng);
}

void ds_student_free(ds_student *m) {
  free(m->params);
  free(m->grads);
  free(m->mask_mem);
  free(m->acts_mem);
  free(m->dacts_mem);
  ds_token_pack_free(&m->pack);
  ds_vocab_map_free(m->vocab_map);
  if (m->qat) m->qat_hooks->free(m->qat);
  memset(m, 0, sizeof *m);
}

void ds_student_zero_grad(ds_student *m) { memset(m->grads, 0, m->table.n_params * sizeof(float)); }

/* The pass a QAT state (model/model.h) has the next forward run; a float student's is always the float one. */
static ds_qat_pass qat_pass(const ds_student *m) { return m->qat ? m->qat_hooks->pass(m->qat) : DS_QAT_PASS_FLOAT; }

/* The STE hooks of the backward pass: nothing, and the gradient itself, without fake-quant. */
static void ste(ds_student *m, int fake, int site, float *grad, long rows, int width, int ld, int col0) {
  if (fake) m->qat_hooks->ste(m, site, grad, rows, width, ld, col0);
}
static const float *ste_copy(ds_student *m, int fake, int site, const float *grad, float *dst, long n) {
  return fake ? m->qat_hooks->ste_copy(m, site, grad, dst, n) : grad;
}

/* Packs the batch's token rows and lays the activations out for them; the buffers are sized once for B x T
 * padded tokens, which any packing of the batch fits in. */
static int prepare_acts(ds_student *m, const uint8_t *mask, int B, int T, ds_err *err) {
  if (!m->acts_mem || B != m->acts_B || T != m->acts_T) {
    ds_acts probe;
    const size_t need = ds_acts_layout(&probe, &m->shape, B, (long)B * T, (long)B * T * T, NULL);
    if (need > m->acts_size) {
      free(m->acts_mem);
      free(m->dacts_mem);
      m->acts_mem = malloc(need * sizeof(float));
      m->dacts_mem = malloc(need * sizeof(float));
      if (!m->acts_mem || !m->dacts_mem) {
        m->acts_size = 0;
        return ds_fail(err, "out of memory allocating activations for batch %d x %d", B, T);
      }
      m->acts_size = need;
    }
    m->acts_B = B;
    m->acts_T = T;
  }
  /* The QAT simulation and its observers see every position, as they always have: their ranges and learned
   * scales are per tensor, padding rows included. */
  const int padded = m->keep_padding || m->naive || qat_pass(m) != DS_QAT_PASS_FLOAT;
  if (ds_token_pack_build(&m->pack, mask, B, T, padded ? DS_PACK_PADDED : DS_PACK_VALID,
                          m->shape.pooling == DS_POOL_CLS, err))
    return -1;
  const long rows = m->pack.n_rows, scores = ds_token_pack_scores(&m->pack);
  m->acts_used = ds_acts_layout(&m->a, &m->shape, B, rows, scores, m->acts_mem);
  ds_acts_layout(&m->da, &m->shape, B, rows, scores, m->dacts_mem);
  return 0;
}

/* pooled -> projection -> classifier, shared by both architectures; then the observers, if they run. */
static int head_forward(ds_student *m) {
  const ds_student_shape *s = &m->shape;
  const int B = m->B, C = s->dim, E = ds_student_emb_dim(s);
  void (*linear)(float *, const float *, const float *, const float *, int, int, int) =
      m->naive ? ds_linear_forward_naive : ds_linear_forward;
  ds_acts *a = &m->a;
  if (s->out_dim > 0) linear(a->emb, a->pooled, m->p.proj_w, m->p.proj_b, B, C, s->out_dim);
  if (s->n_classes > 0) linear(a->logits, a->emb, m->p.cls_w, m->p.cls_b, B, E, s->n_classes);
  if (qat_pass(m) == DS_QAT_PASS_OBSERVE) m->qat_hooks->observe(m);
  return 0;
}

int ds_student_forward(ds_student *m, const int32_t *ids, const uint8_t *mask, int B, int T, ds_err *err) {
  const ds_student_shape *s = &m->shape;
  if (T < 1 || T > s->max_len) return ds_fail(err, "sequence length %d is outside [1, %d]", T, s->max_len);
  /* A vocabulary-pruned model takes the teacher's ids and reads the rows they map to. */
  if (m->vocab_map && ds_vocab_map_apply(m->vocab_map, ids, (long)B * T, &ids, err)) return -1;
  for (long i = 0; i < (long)B * T; i++)
    if (ids[i] < 0 || ids[i] >= s->vocab)
      return ds_fail(err, "token id %d at row %ld is outside the vocabulary [0, %d)", ids[i], i / T, s->vocab);
  if (prepare_acts(m, mask, B, T, err)) return -1;
  m->ids = ids;
  m->mask = mask;
  m->B = B;
  m->T = T;
  const int C = s->dim, hd = s->head_dim, N = m->pack.n_rows;
  void (*linear)(float *, const float *, const float *, const float *, int, int, int) =
      m->naive ? ds_linear_forward_naive : ds_linear_forward;
  void (*attention)(float *, float *, const float *, const ds_token_pack *, int, int) =
      m->naive ? ds_attention_forward_naive : ds_attention_forward;
  ds_acts *a = &m->a;
  if (qat_pass(m) == DS_QAT_PASS_FAKE) return m->qat_hooks->forward(m, err);

  ds_embedding_forward(a->encoded, ids, m->p.tok_emb, m->p.pos_emb, &m->pack, C);
  if (s->arch == DS_ARCH_STATIC) {
    /* Model2Vec-like: the mean of the token rows, then the same head as the encoder's. */
    ds_pool_forward(a->pooled, a->encoded, &m->pack, 0, C);
    return head_forward(m);
  }
  const float *x = a->encoded;
  for (int l = 0; l < s->n_layers; l++) {
    const ds_layer_params *P = &m->p.layer[l];
    ds_layer_acts *L = &a->layer[l];
    const int H = s->heads[l], HD = H * hd, F = s->ffn[l];
    ds_layernorm_forward(L->ln1, L->ln1_mean, L->ln1_rstd, x, P->ln1_w, P->ln1_b, N, C);
    linear(L->qkv, L->ln1, P->qkv_w, P->qkv_b, N, C, 3 * HD);
    attention(L->atto, L->att, L->qkv, &m->pack, H, hd);
    ds_unit_mask_apply(L->atto, m->head_mask[l], N, H, hd);
    linear(L->attproj, L->atto, P->attn_out_w, P->attn_out_b, N, HD, C);
    ds_residual_forward(L->resid_mid, x, L->attproj, (long)N * C);
    ds_layernorm_forward(L->ln2, L->ln2_mean, L->ln2_rstd, L->resid_mid, P->ln2_w, P->ln2_b, N, C);
    linear(L->fch, L->ln2, P->fc1_w, P->fc1_b, N, C, F);
    ds_gelu_forward(L->fch_gelu, L->fch, (long)N * F);
    ds_unit_mask_apply(L->fch_gelu, m->ffn_mask[l], N, F, 1);
    linear(L->fcproj, L->fch_gelu, P->fc2_w, P->fc2_b, N, F, C);
    ds_residual_forward(L->resid_out, L->resid_mid, L->fcproj, (long)N * C);
    x = L->resid_out;
  }
  ds_layernorm_forward(a->lnf, a->lnf_mean, a->lnf_rstd, x, m->p.lnf_w, m->p.lnf_b, N, C);
  ds_pool_forward(a->pooled, a->lnf, &m->pack, s->pooling == DS_POOL_CLS, C);
  return head_forward(m);
}

/* One backward for both forwards: under fake-quant (quant/qat/qat.h) the linear layers multiply by the dequantized
 * weights and every quantization site passes its gradient through the straight-through estimator (ste, a no-op
 * otherwise). A gradient that reaches two sites (both branches of a residual add, the token and position
 * tables) gets a masked copy per site (ste_copy, the gradient itself otherwise). */
void ds_student_backward(ds_student *m, const float *d_emb, const float *d_logits) {
  const ds_student_shape *s = &m->shape;
  const int B = m->B, C = s->dim, hd = s->head_dim, N = m->pack.n_rows, E = ds_student_emb_dim(s);
  const int K = s->n_classes, f0 = ds_qat_final_site(s->n_layers, 0);
  const int fake = qat_pass(m) == DS_QAT_PASS_FAKE;
  void (*linear_bw)(float *, float *, float *, const float *, const float *, const float *, int, int, int) =
      m->naive && !fake ? ds_linear_backward_naive : ds_linear_backward;
  const ds_params *W = fake ? m->qat_hooks->backward_weights(m) : &m->p; /* what the linear layers multiplied by */
  ds_acts *a = &m->a, *da = &m->da;
  memset(m->dacts_mem, 0, m->acts_used * sizeof(float));

  if (d_emb) memcpy(da->emb, d_emb, sizeof(float) * (size_t)B * E);
  if (K > 0 && d_logits)
    linear_bw(da->emb, m->g.cls_w, m->g.cls_b, ste_copy(m, fake, f0 + DS_QF_LOGITS, d_logits, NULL, (long)B * K),
              a->emb, W->cls_w, B, E, K);
  if (s->out_dim > 0) {
    ste(m, fake, f0 + DS_QF_EMB, da->emb, (long)B * E, 1, 1, 0);
    linear_bw(da->pooled, m->g.proj_w, m->g.proj_b, da->emb, a->pooled, W->proj_w, B, C, E);
  }
  if (s->arch == DS_ARCH_STATIC) {
    ds_pool_backward(da->encoded, da->pooled, &m->pack, 0, C);
    ste(m, fake, DS_QS_TOK, da->encoded, (long)N * C, 1, 1, 0);
    ds_embedding_backward(m->g.tok_emb, NULL, da->encoded, m->ids, &m->pack, C);
    if (fake) m->qat_hooks->backward_end(m);
    return;
  }
  ds_pool_backward(da->lnf, da->pooled, &m->pack, s->pooling == DS_POOL_CLS, C);
  if (m->d_final_tokens) ds_accumulate(da->lnf, m->d_final_tokens, (long)N * C);
  ste(m, fake, f0 + DS_QF_LNF, da->lnf, (long)N * C, 1, 1, 0);
  const float *x_last = s->n_layers > 0 ? a->layer[s->n_layers - 1].resid_out : a->encoded;
  float *dx_last = s->n_layers > 0 ? da->layer[s->n_layers - 1].resid_out : da->encoded;
  ds_layernorm_backward(dx_last, m->g.lnf_w, m->g.lnf_b, da->lnf, x_last, m->p.lnf_w, a->lnf_mean, a->lnf_rstd,
                        N, C);
  for (int l = s->n_layers - 1; l >= 0; l--) {
    const ds_layer_params *P = &m->p.layer[l], *Pw = &W->layer[l];
    ds_layer_params *G = &m->g.layer[l];
    ds_layer_acts *L = &a->layer[l], *dL = &da->layer[l];
    const int H = s->heads[l], HD = H * hd, F = s->ffn[l];
    const long NC = (long)N * C;
    const float *x = l > 0 ? a->layer[l - 1].resid_out : a->encoded;
    float *dx = l > 0 ? da->layer[l - 1].resid_out : da->encoded;
#define SITE(k) ds_qat_layer_site(l, k)
    /* resid_out = resid_mid + fcproj */
    ste(m, fake, SITE(DS_QL_OUT), dL->resid_out, NC, 1, 1, 0);
    ds_accumulate(dL->resid_mid, dL->resid_out, NC);
    const float *d_fc2 = ste_copy(m, fake, SITE(DS_QL_FC2), dL->resid_out, dL->fcproj, NC);
    linear_bw(dL->fch_gelu, G->fc2_w, G->fc2_b, d_fc2, L->fch_gelu, Pw->fc2_w, N, F, C);
    ds_unit_mask_apply(dL->fch_gelu, m->ffn_mask[l], N, F, 1);
    ste(m, fake, SITE(DS_QL_GELU), dL->fch_gelu, (long)N * F, 1, 1, 0);
    ds_gelu_backward(dL->fch, L->fch, dL->fch_gelu, (long)N * F);
    ste(m, fake, SITE(DS_QL_FC1), dL->fch, (long)N * F, 1, 1, 0);
    linear_bw(dL->ln2, G->fc1_w, G->fc1_b, dL->fch, L->ln2, Pw->fc1_w, N, C, F);
    ste(m, fake, SITE(DS_QL_LN2), dL->ln2, NC, 1, 1, 0);
    ds_layernorm_backward(dL->resid_mid, G->ln2_w, G->ln2_b, dL->ln2, L->resid_mid, P->ln2_w, L->ln2_mean,
                          L->ln2_rstd, N, C);
    /* resid_mid = x + attproj */
    ste(m, fake, SITE(DS_QL_MID), dL->resid_mid, NC, 1, 1, 0);
    ds_accumulate(dx, dL->resid_mid, NC);
    const float *d_attn_out = ste_copy(m, fake, SITE(DS_QL_ATTN_OUT), dL->resid_mid, dL->attproj, NC);
    linear_bw(dL->atto, G->attn_out_w, G->attn_out_b, d_attn_out, L->atto, Pw->attn_out_w, N, HD, C);
    ds_unit_mask_apply(dL->atto, m->head_mask[l], N, H, hd);
    ste(m, fake, SITE(DS_QL_CTX), dL->atto, N, HD, HD, 0);
    /* dL->att is free scratch: the probabilities' gradient is consumed inside attention backward. The scores'
     * and probabilities' quantization pass gradients straight through: the softmax backward runs on the
     * dequantized probabilities. */
    ds_attention_backward(dL->qkv, dL->att, dL->atto, L->qkv, L->att, &m->pack, H, hd);
    for (int k = 0; k < 3; k++) ste(m, fake, SITE(DS_QL_Q + k), dL->qkv, N, HD, 3 * HD, k * HD);
    linear_bw(dL->ln1, G->qkv_w, G->qkv_b, dL->qkv, L->ln1, Pw->qkv_w, N, C, 3 * HD);
    ste(m, fake, SITE(DS_QL_LN1), dL->ln1, NC, 1, 1, 0);
    ds_layernorm_backward(dx, G->ln1_w, G->ln1_b, dL->ln1, x, P->ln1_w, L->ln1_mean, L->ln1_rstd, N, C);
#undef SITE
  }
  /* encoded = tok + pos, each a lookup that passes its gradient to the rows it read. */
  const long NC = (long)N * C;
  ste(m, fake, DS_QS_X0, da->encoded, NC, 1, 1, 0);
  ds_embedding_backward(m->g.tok_emb, NULL, ste_copy(m, fake, DS_QS_TOK, da->encoded, NULL, NC), m->ids, &m->pack, C);
  ds_embedding_backward(NULL, m->g.pos_emb, ste_copy(m, fake, DS_QS_POS, da->encoded, NULL, NC), m->ids, &m->pack,
                        C);
  if (fake) m->qat_hooks->backward_end(m);
}

size_t ds_student_live_params(const ds_student *m) {
  const ds_student_shape *s = &m->shape;
  ds_student_shape live = *s;
  for (int l = 0; l < s->n_layers; l++) {
    int h = 0, f = 0;
    for (int u = 0; u < s->heads[l]; u++) h += m->head_mask[l][u] != 0.0f;
    for (int u = 0; u < s->ffn[l]; u++) f += m->ffn_mask[l][u] != 0.0f;
    live.heads[l] = h;
    live.ffn[l] = f;
  }
  ds_param_table t;
  ds_param_table_build(&t, &live);
  return t.n_params;
}
