/* The static student (arch = static: token table -> mean over real tokens -> projection -> classifier):
 *  - its forward equals the definition computed here by hand (mean of the table rows of the real tokens);
 *  - finite differences of loss = sum(r_emb * emb) + sum(r_logits * logits) against backward, for every
 *    tensor, with and without projection, in the packed and the padded layout;
 *  - table rows read only at padding positions get exactly zero gradient;
 *  - the fake-quant (QAT) backward points the way of the float one (cosine per tensor at 8 bits).
 * Tolerance as tests/model/test_grad.c: |numeric - analytic| <= RTOL (|analytic| + 0.01 max|analytic|) + ATOL. */
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "../check.h"
#include "quant/qat/qat.h"
#include "model/model.h"
#include "fd_check.h"

#define H 1e-2
#define RTOL 2e-2
#define ATOL 2e-4

enum { V = 11, B = 3, T = 6, C = 8, K = 3 };

/* Row 0: 4 real tokens; row 1: all 6; row 2: 2 real tokens, then padding that reads ids 9 and 10 only. */
static const int32_t ids[B * T] = {3, 7, 1, 3, 0, 0, 5, 5, 2, 8, 4, 6, 1, 2, 9, 10, 9, 10};
static const uint8_t mask[B * T] = {1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0};

typedef struct {
  ds_student *m;
  float *r_emb, *r_logits;
} ctx;

static double loss(ctx *c) {
  ds_err err;
  if (ds_student_forward(c->m, ids, mask, B, T, &err)) {
    fprintf(stderr, "%s\n", err.msg);
    exit(1);
  }
  const ds_student_shape *s = &c->m->shape;
  return dot(c->m->a.emb, c->r_emb, (long)B * ds_student_emb_dim(s)) + dot(c->m->a.logits, c->r_logits, (long)B * K);
}

static double loss_fn_ctx(void *c) { return loss(c); }

static void fd_check(const char *what, float *x, const float *g, long n, ctx *c) {
  double gmax;
  const double worst = fd_compare(what, x, g, n, 60, loss_fn_ctx, c, H, RTOL, ATOL, 0, &gmax);
  printf("%-44s worst error / tolerance %.3f\n", what, worst);
}

static void init_static(ds_student *m, int out_dim) {
  ds_student_shape s = {.arch = DS_ARCH_STATIC, .vocab = V, .max_len = T, .dim = C, .n_layers = 0,
                        .out_dim = out_dim, .n_classes = K, .pooling = DS_POOL_MEAN};
  ds_err err;
  CHECK(ds_student_init(m, &s, &err) == 0);
  CHECK(m->p.pos_emb == NULL && m->p.lnf_w == NULL && m->table.n_tensors == (out_dim > 0 ? 5 : 3));
  for (size_t i = 0; i < m->table.n_params; i++) m->params[i] = (float)gsl_ran_gaussian(rng, 0.3);
}

/* emb and logits from the definition, in double. */
static void check_definition(ds_student *m) {
  const ds_student_shape *s = &m->shape;
  const int E = ds_student_emb_dim(s);
  double worst = 0.0;
  for (int b = 0; b < B; b++) {
    double pooled[C] = {0}, emb[64];
    int n = 0;
    for (int t = 0; t < T; t++)
      if (mask[b * T + t]) {
        n++;
        for (int c = 0; c < C; c++) pooled[c] += m->p.tok_emb[ids[b * T + t] * C + c];
      }
    for (int c = 0; c < C; c++) pooled[c] /= n;
    for (int e = 0; e < E; e++) {
      emb[e] = s->out_dim > 0 ? m->p.proj_b[e] : pooled[e];
      for (int c = 0; s->out_dim > 0 && c < C; c++) emb[e] += m->p.proj_w[e * C + c] * pooled[c];
      worst = fmax(worst, fabs(emb[e] - m->a.emb[b * E + e]));
    }
    for (int k = 0; k < K; k++) {
      double z = m->p.cls_b[k];
      for (int e = 0; e < E; e++) z += m->p.cls_w[k * E + e] * emb[e];
      worst = fmax(worst, fabs(z - m->a.logits[b * K + k]));
    }
  }
  printf("static forward vs definition: max |diff| %.3g\n", worst);
  CHECK(worst < 1e-5);
}

static void test_static(int out_dim, int keep_padding) {
  ds_student m;
  init_static(&m, out_dim);
  m.keep_padding = keep_padding;
  ctx c = {&m, malloc(sizeof(float) * B * 16), malloc(sizeof(float) * B * K)};
  for (int i = 0; i < B * 16; i++) c.r_emb[i] = (float)gsl_ran_gaussian(rng, 1.0);
  for (int i = 0; i < B * K; i++) c.r_logits[i] = (float)gsl_ran_gaussian(rng, 1.0);
  loss(&c);
  check_definition(&m);
  ds_student_zero_grad(&m);
  ds_student_backward(&m, c.r_emb, c.r_logits);
  float *g = malloc(sizeof(float) * m.table.n_params);
  memcpy(g, m.grads, sizeof(float) * m.table.n_params);
  /* ids 9 and 10 occur only where the mask is 0: their rows take no part in the output. */
  double pad = 0.0;
  for (int c2 = 0; c2 < 2 * C; c2++) pad += fabs(g[9 * C + c2]);
  CHECK(pad == 0.0);
  for (int i = 0; i < m.table.n_tensors; i++) {
    const ds_tensor_info *t = &m.table.tensors[i];
    char what[96];
    snprintf(what, sizeof what, "static(out%d%s) %s", out_dim, keep_padding ? ",padded" : "", t->name);
    fd_check(what, m.params + t->offset, g + t->offset, (long)t->numel, &c);
  }
  free(g);
  free(c.r_emb);
  free(c.r_logits);
  ds_student_free(&m);
}

static double cosine(const float *a, const float *b, size_t n) {
  double ab = 0, aa = 0, bb = 0;
  for (size_t i = 0; i < n; i++) ab += (double)a[i] * b[i], aa += (double)a[i] * a[i], bb += (double)b[i] * b[i];
  return aa > 0 && bb > 0 ? ab / sqrt(aa * bb) : 1.0;
}

/* The straight-through backward of the fake-quant forward against the float backward. */
static void test_static_qat(void) {
  ds_student m;
  init_static(&m, 5);
  ds_err err = {{0}};
  ds_quant_cfg qc = {.enabled = 1, .start_step = 1, .weight_bits = 8, .act_bits = 8, .observer = DS_OBS_MINMAX,
                     .ema_decay = 0.9, .freeze_step = -1, .learn_scales = 0};
  CHECK(ds_student_qat_attach(&m, &qc, &err) == 0);
  float r_emb[B * 5], r_logits[B * K];
  for (int i = 0; i < B * 5; i++) r_emb[i] = (float)gsl_ran_gaussian(rng, 1.0);
  for (int i = 0; i < B * K; i++) r_logits[i] = (float)gsl_ran_gaussian(rng, 1.0);
  const size_t n = m.table.n_params;
  float *g_float = malloc(sizeof(float) * n);
  ds_qat_step_begin(m.qat, 0); /* observers see the float forward */
  CHECK(ds_student_forward(&m, ids, mask, B, T, &err) == 0);
  ds_student_zero_grad(&m);
  ds_student_backward(&m, r_emb, r_logits);
  memcpy(g_float, m.grads, sizeof(float) * n);
  ds_qat_step_begin(m.qat, 1); /* fake-quant from here */
  CHECK(ds_student_forward(&m, ids, mask, B, T, &err) == 0);
  CHECK(m.qat->mode == DS_QAT_FAKE);
  ds_student_zero_grad(&m);
  ds_student_backward(&m, r_emb, r_logits);
  for (int i = 0; i < m.table.n_tensors; i++) {
    const ds_tensor_info *t = &m.table.tensors[i];
    const double cs = cosine(g_float + t->offset, m.grads + t->offset, t->numel);
    printf("static QAT gradient %-20s cosine to float %.5f\n", t->name, cs);
    CHECK_MSG(cs > 0.99, "%s: cosine %.5f", t->name, cs);
  }
  free(g_float);
  ds_student_free(&m);
}

int main(void) {
  omp_set_num_threads(1);
  rng = gsl_rng_alloc(gsl_rng_mt19937);
  gsl_rng_set(rng, 17);
  test_static(5, 0);
  test_static(5, 1);
  test_static(0, 0);
  test_static_qat();
  /* pooling = cls is refused for a static student, with the reason. */
  ds_student_cfg sc = {.dim = 8, .layers = 1, .heads = 2, .ffn_dim = 8, .max_len = 6, .pooling = DS_POOL_CLS,
                        .out_dim = DS_OUT_DIM_TEACHER};
  strcpy(sc.arch, "static");
  ds_student_shape s;
  ds_err err = {{0}};
  CHECK(ds_student_shape_from_config(&s, &sc, V, 4, 2, &err) != 0);
  CHECK(strstr(err.msg, "pooling = cls") && strstr(err.msg, "static"));
  sc.pooling = DS_POOL_MEAN;
  CHECK(ds_student_shape_from_config(&s, &sc, V, 4, 2, &err) == 0);
  CHECK(s.arch == DS_ARCH_STATIC && s.n_layers == 0 && s.out_dim == 4 && s.n_classes == 2);
  gsl_rng_free(rng);
  return check_report();
}
