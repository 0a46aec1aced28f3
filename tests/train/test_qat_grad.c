/* The straight-through backward of the fake-quant forward: at 8 bits the quantized model is close to
 * the float one, so its gradients must point the same way as the float model's (cosine per tensor);
 * clamped values pass no gradient (a site whose range is squeezed loses gradient); and with learned
 * step sizes every used site and weight row receives an LSQ gradient. */
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <stdlib.h>
#include <string.h>

#include "../check.h"
#include "quant/qat/qat.h"

enum { V = 50, B = 6, T = 10 };

static double cosine(const float *a, const float *b, size_t n) {
  double ab = 0, aa = 0, bb = 0;
  for (size_t i = 0; i < n; i++) ab += (double)a[i] * b[i], aa += (double)a[i] * a[i], bb += (double)b[i] * b[i];
  return aa > 0 && bb > 0 ? ab / sqrt(aa * bb) : 1.0;
}

int main(void) {
  ds_err err = {{0}};
  ds_student_shape s = {.vocab = V, .max_len = T, .dim = 24, .n_layers = 2, .head_dim = 6, .out_dim = 8,
                        .n_classes = 4, .pooling = DS_POOL_MEAN};
  for (int l = 0; l < 2; l++) s.heads[l] = 4, s.ffn[l] = 32;
  ds_student m;
  CHECK(ds_student_init(&m, &s, &err) == 0);
  ds_student_init_params(&m, 5);
  for (size_t i = 0; i < m.table.n_params; i++) m.params[i] *= 5.0f;
  gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
  gsl_rng_set(r, 3);
  int32_t ids[B * T];
  uint8_t mask[B * T];
  for (int i = 0; i < B * T; i++) ids[i] = (int32_t)gsl_rng_uniform_int(r, V), mask[i] = i % T < 3 + (i / T) % 7;
  float d_emb[B * 8], d_logits[B * 4];
  for (int i = 0; i < B * 8; i++) d_emb[i] = (float)gsl_ran_gaussian(r, 1.0);
  for (int i = 0; i < B * 4; i++) d_logits[i] = (float)gsl_ran_gaussian(r, 1.0);
  const size_t n = m.table.n_params;
  float *g_float = malloc(sizeof(float) * n);
  CHECK(ds_student_forward(&m, ids, mask, B, T, &err) == 0);
  ds_student_zero_grad(&m);
  ds_student_backward(&m, d_emb, d_logits);
  memcpy(g_float, m.grads, sizeof(float) * n);

  for (int learn = 0; learn <= 1; learn++) {
    ds_quant_cfg qc = {.enabled = 1, .start_step = 1, .weight_bits = 8, .act_bits = 8, .observer = DS_OBS_MINMAX,
                       .freeze_step = -1, .learn_scales = learn};
    CHECK(ds_student_qat_attach(&m, &qc, &err) == 0);
    ds_qat_step_begin(m.qat, 0); /* observe the float ranges of this very batch */
    CHECK(ds_student_forward(&m, ids, mask, B, T, &err) == 0);
    ds_qat_step_begin(m.qat, 1); /* fake-quant */
    CHECK(ds_student_forward(&m, ids, mask, B, T, &err) == 0);
    ds_student_zero_grad(&m);
    ds_student_backward(&m, d_emb, d_logits);
    double worst = 1.0;
    const char *worst_name = "";
    for (int i = 0; i < m.table.n_tensors; i++) {
      const ds_tensor_info *ti = &m.table.tensors[i];
      const double c = cosine(m.grads + ti->offset, g_float + ti->offset, ti->numel);
      if (c < worst) worst = c, worst_name = ti->name;
    }
    printf("learn_scales=%d: worst gradient cosine vs float %.4f (%s)\n", learn, worst, worst_name);
    CHECK(worst > 0.9);
    if (learn) {
      ds_qat *q = m.qat;
      int zero_sites = 0, zero_rows = 0;
      for (int i = 0; i < q->n_sites; i++) {
        const int k = i >= DS_QS_HEAD && i < ds_qat_final_site(2, 0) ? (i - DS_QS_HEAD) % DS_QL_COUNT : -1;
        if (!q->site[i].used || k == DS_QL_SCORES || k == DS_QL_PROBS || i == ds_qat_final_site(2, DS_QF_POOLED))
          continue;
        zero_sites += q->lsq_grad[i] == 0.0f;
      }
      for (size_t rw = 0; rw < q->n_wrows; rw++) zero_rows += q->lsq_grad[q->n_sites + rw] == 0.0f;
      printf("LSQ: %d sites and %d of %zu weight rows without gradient\n", zero_sites, zero_rows, q->n_wrows);
      CHECK(zero_sites == 0);
      /* embedding rows of unused tokens get none; every other row must */
      CHECK(zero_rows < V);
    }
  }
  /* Squeeze the range of ln_f to a sliver: nearly everything clamps, so its gradient nearly vanishes. */
  ds_quant_cfg qc = {.enabled = 1, .start_step = 1, .weight_bits = 8, .act_bits = 8, .observer = DS_OBS_MINMAX,
                     .freeze_step = 0};
  CHECK(ds_student_qat_attach(&m, &qc, &err) == 0);
  ds_qat *q = m.qat;
  const int lnf = ds_qat_final_site(2, DS_QF_LNF);
  for (int i = 0; i < q->n_sites; i++) {
    float lo = -50, hi = 50;
    if (i == lnf) lo = -1e-3f, hi = 1e-3f;
    ds_qobserver_update(&q->site[i].obs, (const float[]){lo, hi}, 2);
  }
  ds_qat_step_begin(q, 1);
  CHECK(ds_student_forward(&m, ids, mask, B, T, &err) == 0);
  ds_student_zero_grad(&m);
  ds_student_backward(&m, d_emb, d_logits);
  double gw = 0, gf = 0;
  const size_t w_off = (size_t)(m.p.lnf_w - m.params), b_off = (size_t)(m.p.lnf_b - m.params);
  for (int i = 0; i < s.dim; i++) {
    gw += fabs(m.g.lnf_w[i]) + fabs(m.g.lnf_b[i]);
    gf += fabs(g_float[w_off + i]) + fabs(g_float[b_off + i]);
  }
  printf("clamped ln_f: |grad ln_f| = %.3g, float model %.3g\n", gw, gf);
  CHECK(gw < 0.05 * gf);
  free(g_float);
  gsl_rng_free(r);
  ds_student_free(&m);
  return check_report();
}
