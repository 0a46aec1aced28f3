/* The straight-through estimator's mask under learned step sizes (LSQ), exactly. With learned scales a weight or
 * an activation can fall outside the clip range (a max-abs weight scale never clips), and there the STE passes no
 * gradient: d fake_quant(x) / dx = 1 where qmin <= round(x / s) + zp <= qmax, else 0 (quant/qat/qat.h).
 *
 * Weights: every weight row's learned step size is cut to a quarter, so a large share of the weights clips. The
 * gradient of each weight must then be exactly 0 where the test's own clip rule says it clips, and exactly the
 * unmasked STE gradient elsewhere; the unmasked gradient is the same backward with the mask forced open (an
 * internal of quant/qat/qat_internal.h), and it is non-zero on many of the clipped weights, so a missing mask shows.
 *
 * Activations: the logits site's learned step size is cut (to an eighth, a 32nd), so many logits clamp. The classifier's
 * bias gradient is the batch sum of the logits gradient that passes the site, so it must equal
 * sum_b [logit b, k inside the range] * d_logits[b, k], computed here from the site's pre-quantization values,
 * and differ clearly from the unmasked sum. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tests/check.h"
#include "quant/qat/qat_internal.h"
#include "tests/rng.h"

/* Two students: one of the default kind, and one with short rows and many classes, whose B x K logits
 * gradient is larger than the N x (widest input) QAT scratch its masked copy once overflowed into. */
typedef struct {
  int V, B, T, dim, layers, heads, ffn, E, K;
  float logits_squeeze; /* the logits site's learned step size is divided by this */
} lsq_case;
static const lsq_case cases[] = {{60, 6, 10, 24, 2, 4, 32, 8, 5, 8.0f}, {30, 4, 2, 8, 1, 2, 16, 8, 64, 32.0f}};

static void backward(ds_student *m, const float *d_emb, const float *d_logits, float *g) {
  ds_student_zero_grad(m);
  ds_student_backward(m, d_emb, d_logits);
  memcpy(g, m->grads, sizeof(float) * m->table.n_params);
}

static void check_case(const lsq_case *c) {
  const int V = c->V, B = c->B, T = c->T, E = c->E, K = c->K;
  printf("-- %d layer(s) of %d, %d classes, batch %d x %d\n", c->layers, c->dim, K, B, T);
  ds_err err = {{0}};
  ds_student_shape s = {.vocab = V, .max_len = T, .dim = c->dim, .n_layers = c->layers,
                        .head_dim = c->dim / c->heads, .out_dim = E, .n_classes = K, .pooling = DS_POOL_MEAN};
  for (int l = 0; l < c->layers; l++) s.heads[l] = c->heads, s.ffn[l] = c->ffn;
  ds_student m;
  CHECK_MSG(ds_student_init(&m, &s, &err) == 0, "%s", err.msg);
  ds_student_init_params(&m, 7);
  test_rng r = {11};
  int32_t *ids = malloc(sizeof(int32_t) * B * T);
  uint8_t *mask = malloc((size_t)B * T);
  for (int i = 0; i < B * T; i++) ids[i] = (int32_t)rng_range(&r, 0, V - 1), mask[i] = i % T < 4 + (i / T) % 6;
  float *d_emb = malloc(sizeof(float) * B * E), *d_logits = malloc(sizeof(float) * B * K);
  for (int i = 0; i < B * E; i++) d_emb[i] = (float)rng_uniform(&r, -1, 1);
  for (int i = 0; i < B * K; i++) d_logits[i] = (float)rng_uniform(&r, -1, 1);

  ds_quant_cfg qc = {.enabled = 1, .start_step = 1, .weight_bits = 8, .act_bits = 8, .observer = DS_OBS_MINMAX,
                     .freeze_step = -1, .learn_scales = 1};
  CHECK_MSG(ds_student_qat_attach(&m, &qc, &err) == 0, "%s", err.msg);
  ds_qat *q = m.qat;
  ds_qat_step_begin(q, 0); /* observe this batch's float ranges */
  CHECK(ds_student_forward(&m, ids, mask, B, T, &err) == 0);
  ds_qat_step_begin(q, 1); /* first fake-quant training forward: initialises the learned step sizes */
  CHECK(ds_student_forward(&m, ids, mask, B, T, &err) == 0);
  CHECK(q->lsq_ready);

  /* Squeeze (log step sizes): every weight row's step size to a quarter, the logits site's by logits_squeeze. */
  const int logits_site = ds_qat_final_site(s.n_layers, DS_QF_LOGITS);
  for (size_t rw = 0; rw < q->n_wrows; rw++) q->lsq[q->n_sites + rw] -= logf(4.0f);
  q->lsq[logits_site] -= logf(c->logits_squeeze);
  ds_qat_step_begin(q, 2);
  CHECK_MSG(ds_student_forward(&m, ids, mask, B, T, &err) == 0, "%s", err.msg);

  const size_t n = m.table.n_params;
  float *g_masked = malloc(sizeof(float) * n), *g_open = malloc(sizeof(float) * n), *g_again = malloc(sizeof(float) * n);
  uint8_t *wmask = malloc(n);
  backward(&m, d_emb, d_logits, g_masked);
  memcpy(wmask, q->wmask, n);
  memset(q->wmask, 1, n); /* the same backward with the weights' STE mask forced open */
  backward(&m, d_emb, d_logits, g_open);
  memcpy(q->wmask, wmask, n);
  backward(&m, d_emb, d_logits, g_again);
  CHECK_MSG(memcmp(g_again, g_masked, sizeof(float) * n) == 0, "the backward pass is not repeatable");

  /* ---- weights ---- */
  const int32_t qmax = 127;
  long n_w = 0, n_clipped = 0, clipped_blocked = 0, bad_clipped = 0, bad_inside = 0, bad_scale = 0;
  for (int i = 0; i < m.table.n_tensors; i++) {
    const ds_tensor_info *ti = &m.table.tensors[i];
    if (ti->ndim != 2) continue;
    const int rows = ti->shape[0], cols = ti->shape[1];
    for (int row = 0; row < rows; row++) {
      if (i == 0 && !q->tok_used[row]) continue; /* token rows the batch did not read: no gradient at all */
      float sc = expf(q->lsq[q->n_sites + q->wrow[i] + row]);
      if (sc < DS_QUANT_SCALE_MIN) sc = DS_QUANT_SCALE_MIN;
      bad_scale += sc != q->wscale[q->wrow[i] + row];
      for (int c = 0; c < cols; c++) {
        const size_t k = ti->offset + (size_t)row * cols + c;
        const float code = roundf(m.params[k] / sc);
        const int clipped = code < (float)-qmax || code > (float)qmax;
        n_w++;
        n_clipped += clipped;
        if (clipped) {
          clipped_blocked += g_open[k] != 0.0f;
          if (g_masked[k] != 0.0f) {
            if (bad_clipped++ < 5)
              fprintf(stderr, "%s[%d, %d] = %g clips at step %g, yet its gradient is %g\n", ti->name, row, c,
                      m.params[k], sc, g_masked[k]);
          }
        } else if (memcmp(&g_masked[k], &g_open[k], sizeof(float)) != 0) {
          if (bad_inside++ < 5)
            fprintf(stderr, "%s[%d, %d] inside the range: gradient %g, STE %g\n", ti->name, row, c, g_masked[k],
                    g_open[k]);
        }
      }
    }
  }
  printf("weights: %ld of %ld clip at a quarter of their step size; %ld of them would get a gradient unmasked\n",
         n_clipped, n_w, clipped_blocked);
  CHECK_MSG(bad_scale == 0, "%ld weight rows quantized with another step size than the learned one", bad_scale);
  CHECK_MSG(bad_clipped == 0, "%ld clipped weights got a gradient", bad_clipped);
  CHECK_MSG(bad_inside == 0, "%ld weights inside the range got another gradient than the STE's", bad_inside);
  CHECK_MSG(n_clipped > n_w / 20 && n_clipped < n_w * 19 / 20, "%ld of %ld weights clip: the squeeze is off", n_clipped, n_w);
  CHECK_MSG(clipped_blocked > n_clipped / 2, "only %ld of %ld clipped weights have a gradient to block",
            clipped_blocked, n_clipped);

  /* ---- activations: the logits site ---- */
  const ds_qat_site *ls = &q->site[logits_site];
  ds_qparams qp;
  CHECK(ds_qat_site_qparams(q, logits_site, &qp) == 0);
  CHECK(memcmp(&qp, &ls->qp, sizeof qp) == 0);
  int n_out = 0;
  double worst = 0, worst_open = 0;
  for (int k = 0; k < K; k++) {
    double want = 0, open = 0;
    for (int b = 0; b < B; b++) {
      const float c = ds_qparams_code(&qp, ls->pre[b * K + k]);
      const int inside = c >= (float)qp.qmin && c <= (float)qp.qmax;
      n_out += !inside;
      want += inside ? d_logits[b * K + k] : 0.0;
      open += d_logits[b * K + k];
    }
    const float got = g_masked[m.p.cls_b - m.params + k];
    CHECK_CLOSE(got, want, 1e-6, 1e-5);
    if (fabs(got - want) > worst) worst = fabs(got - want);
    if (fabs(open - want) > worst_open) worst_open = fabs(open - want);
  }
  printf("logits: %d of %d clamp; classifier bias gradient within %.2g of the masked sum, which is %.3g away from "
         "the unmasked one\n", n_out, B * K, worst, worst_open);
  CHECK_MSG(n_out >= B * K / 10 && n_out <= B * K * 9 / 10, "%d of %d logits clamp: the squeeze is off", n_out, B * K);
  CHECK_MSG(worst_open > 0.1, "masked and unmasked bias gradients agree (%.3g): the check cannot fail", worst_open);

  free(g_masked);
  free(g_open);
  free(g_again);
  free(wmask);
  free(ids);
  free(mask);
  free(d_emb);
  free(d_logits);
  ds_student_free(&m);
}

int main(void) {
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) check_case(&cases[i]);
  return check_report();
}
