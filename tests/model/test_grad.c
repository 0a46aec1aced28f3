/* Finite-difference gradient checks: every layer's backward and the whole model, loss to every parameter.
 * Each check uses loss = sum(r * output) with fixed random r, so backward is fed dout = r, and compares
 * analytic gradients with central differences (step H) computed in float32 but summed in double.
 * Tolerance: |numeric - analytic| <= RTOL * (|analytic| + 0.01 * max|analytic|) + ATOL. */
#include <gsl/gsl_randist.h>
#include <omp.h>
#include <gsl/gsl_rng.h>
#include <stdlib.h>
#include <string.h>

#include "../check.h"
#include "kernels/kernels.h"
#include "model/model.h"
#include "fd_check.h"

#define H 1e-2
#define RTOL 2e-2
#define ATOL 2e-4

/* Checks up to `samples` entries of x (all if fewer) against analytic gradient g. */
static void fd_check(const char *what, float *x, const float *g, long n, int samples, loss_fn f, void *ctx) {
  double gmax;
  const double worst = fd_compare(what, x, g, n, samples, f, ctx, H, RTOL, ATOL, 0, &gmax);
  printf("%-44s worst error / tolerance %.3f\n", what, worst);
}

/* ---- linear ---- */
typedef struct { float *out, *inp, *w, *b, *r; int N, IC, OC, naive; } linear_ctx;
static double linear_loss(void *p) {
  linear_ctx *c = p;
  (c->naive ? ds_linear_forward_naive : ds_linear_forward)(c->out, c->inp, c->w, c->b, c->N, c->IC, c->OC);
  return dot(c->out, c->r, (long)c->N * c->OC);
}
static void test_linear(int naive) {
  linear_ctx c = {.N = 6, .IC = 5, .OC = 7, .naive = naive};
  c.inp = randn(c.N * c.IC, 1);
  c.w = randn(c.OC * c.IC, 1);
  c.b = randn(c.OC, 1);
  c.r = randn(c.N * c.OC, 1);
  c.out = malloc(sizeof(float) * c.N * c.OC);
  float *dinp = calloc(c.N * c.IC, 4), *dw = calloc(c.OC * c.IC, 4), *db = calloc(c.OC, 4);
  (naive ? ds_linear_backward_naive : ds_linear_backward)(dinp, dw, db, c.r, c.inp, c.w, c.N, c.IC, c.OC);
  fd_check(naive ? "linear_naive dinp" : "linear dinp", c.inp, dinp, c.N * c.IC, 100, linear_loss, &c);
  fd_check(naive ? "linear_naive dw" : "linear dw", c.w, dw, c.OC * c.IC, 100, linear_loss, &c);
  fd_check(naive ? "linear_naive db" : "linear db", c.b, db, c.OC, 100, linear_loss, &c);
  free(c.inp); free(c.w); free(c.b); free(c.r); free(c.out); free(dinp); free(dw); free(db);
}

/* ---- layernorm ---- */
typedef struct { float *out, *mean, *rstd, *inp, *w, *b, *r; int N, C; } ln_ctx;
static double ln_loss(void *p) {
  ln_ctx *c = p;
  ds_layernorm_forward(c->out, c->mean, c->rstd, c->inp, c->w, c->b, c->N, c->C);
  return dot(c->out, c->r, (long)c->N * c->C);
}
static void test_layernorm(void) {
  ln_ctx c = {.N = 5, .C = 8};
  c.inp = randn(c.N * c.C, 2);
  c.w = randn(c.C, 1);
  c.b = randn(c.C, 1);
  c.r = randn(c.N * c.C, 1);
  c.out = malloc(4 * c.N * c.C);
  c.mean = malloc(4 * c.N);
  c.rstd = malloc(4 * c.N);
  ln_loss(&c);
  float *dinp = calloc(c.N * c.C, 4), *dw = calloc(c.C, 4), *db = calloc(c.C, 4);
  ds_layernorm_backward(dinp, dw, db, c.r, c.inp, c.w, c.mean, c.rstd, c.N, c.C);
  fd_check("layernorm dinp", c.inp, dinp, c.N * c.C, 100, ln_loss, &c);
  fd_check("layernorm dw", c.w, dw, c.C, 100, ln_loss, &c);
  fd_check("layernorm db", c.b, db, c.C, 100, ln_loss, &c);
  free(c.inp); free(c.w); free(c.b); free(c.r); free(c.out); free(c.mean); free(c.rstd);
  free(dinp); free(dw); free(db);
}

/* ---- attention ---- */
typedef struct { float *out, *probs, *qkv, *r; const ds_token_pack *pk; int Hh, hd; } att_ctx;
static double att_loss(void *p) {
  att_ctx *c = p;
  ds_attention_forward(c->out, c->probs, c->qkv, c->pk, c->Hh, c->hd);
  return dot(c->out, c->r, (long)c->pk->n_rows * c->Hh * c->hd);
}
/* Padded (every position a row, padding masked as keys) and packed (padding dropped) layouts. */
static void test_attention(ds_pack_mode mode) {
  const int B = 2, T = 5;
  uint8_t mask[10] = {1, 1, 1, 1, 1, 1, 1, 0, 0, 0}; /* second row padded after 2 tokens */
  ds_token_pack pk = {0};
  ds_err err;
  CHECK(ds_token_pack_build(&pk, mask, B, T, mode, 0, &err) == 0);
  CHECK(pk.n_rows == (mode == DS_PACK_PADDED ? 10 : 7));
  att_ctx c = {.pk = &pk, .Hh = 2, .hd = 3};
  const long nqkv = (long)pk.n_rows * 3 * c.Hh * c.hd, nout = (long)pk.n_rows * c.Hh * c.hd;
  c.qkv = randn(nqkv, 1);
  c.r = randn(nout, 1);
  c.out = malloc(4 * nout);
  c.probs = malloc(4 * c.Hh * ds_token_pack_scores(&pk));
  att_loss(&c);
  float *dqkv = calloc(nqkv, 4), *scratch = malloc(4 * c.Hh * ds_token_pack_scores(&pk));
  ds_attention_backward(dqkv, scratch, c.r, c.qkv, c.probs, &pk, c.Hh, c.hd);
  fd_check(mode == DS_PACK_PADDED ? "attention dqkv (padded)" : "attention dqkv (packed)", c.qkv, dqkv, nqkv, 200,
           att_loss, &c);
  if (mode == DS_PACK_PADDED) { /* keys at padded positions must receive exactly no gradient */
    const int HD = c.Hh * c.hd;
    double pad_grad = 0.0;
    for (int t = 2; t < 5; t++)
      for (int j = HD; j < 3 * HD; j++) pad_grad += fabs(dqkv[((long)1 * T + t) * 3 * HD + j]);
    CHECK(pad_grad == 0.0);
  }
  free(c.qkv); free(c.r); free(c.out); free(c.probs); free(dqkv); free(scratch);
  ds_token_pack_free(&pk);
}

/* ---- gelu ---- */
typedef struct { float *out, *inp, *r; long n; } gelu_ctx;
static double gelu_loss(void *p) {
  gelu_ctx *c = p;
  ds_gelu_forward(c->out, c->inp, c->n);
  return dot(c->out, c->r, c->n);
}
static void test_gelu(void) {
  gelu_ctx c = {.n = 50};
  c.inp = randn(c.n, 2);
  c.r = randn(c.n, 1);
  c.out = malloc(4 * c.n);
  float *dinp = calloc(c.n, 4);
  ds_gelu_backward(dinp, c.inp, c.r, c.n);
  fd_check("gelu dinp", c.inp, dinp, c.n, 100, gelu_loss, &c);
  free(c.inp); free(c.r); free(c.out); free(dinp);
}

/* ---- embedding + pooling ---- */
typedef struct { float *out, *pooled, *tok, *pos, *r; int32_t *ids; const ds_token_pack *pk; int B, C, cls; } emb_ctx;
static double emb_loss(void *p) {
  emb_ctx *c = p;
  ds_embedding_forward(c->out, c->ids, c->tok, c->pos, c->pk, c->C);
  ds_pool_forward(c->pooled, c->out, c->pk, c->cls, c->C);
  return dot(c->pooled, c->r, (long)c->B * c->C);
}
static void test_embedding_pool(int cls, ds_pack_mode mode) {
  const int T = 4;
  emb_ctx c = {.B = 3, .C = 3, .cls = cls};
  int32_t ids[12] = {1, 4, 4, 0, 2, 3, 1, 0, 0, 2, 3, 0};
  uint8_t mask[12] = {1, 1, 1, 0, 1, 1, 0, 0, 0, 1, 1, 0}; /* the third sequence starts with padding */
  ds_token_pack pk = {0};
  ds_err err;
  CHECK(ds_token_pack_build(&pk, mask, c.B, T, mode, cls, &err) == 0);
  c.ids = ids;
  c.pk = &pk;
  c.tok = randn(5 * c.C, 1);
  c.pos = randn(T * c.C, 1);
  c.r = randn(c.B * c.C, 1);
  c.out = malloc(4 * pk.n_rows * c.C);
  c.pooled = malloc(4 * c.B * c.C);
  emb_loss(&c);
  float *dout = calloc(pk.n_rows * c.C, 4), *dtok = calloc(5 * c.C, 4), *dpos = calloc(T * c.C, 4);
  ds_pool_backward(dout, c.r, &pk, cls, c.C);
  ds_embedding_backward(dtok, dpos, dout, c.ids, &pk, c.C);
  char name[80];
  snprintf(name, sizeof name, "embedding+%s pool (%s) dtok", cls ? "cls" : "mean", mode ? "packed" : "padded");
  fd_check(name, c.tok, dtok, 5 * c.C, 100, emb_loss, &c);
  snprintf(name, sizeof name, "embedding+%s pool (%s) dpos", cls ? "cls" : "mean", mode ? "packed" : "padded");
  fd_check(name, c.pos, dpos, T * c.C, 100, emb_loss, &c);
  free(c.tok); free(c.pos); free(c.r); free(c.out); free(c.pooled); free(dout); free(dtok); free(dpos);
  ds_token_pack_free(&pk);
}

/* ---- the whole model ---- */
typedef struct { ds_student *m; int32_t *ids; uint8_t *mask; int B, T; float *r_emb, *r_logits; } model_ctx;
static double model_loss(void *p) {
  model_ctx *c = p;
  ds_err err;
  if (ds_student_forward(c->m, c->ids, c->mask, c->B, c->T, &err)) {
    fprintf(stderr, "%s\n", err.msg);
    exit(1);
  }
  const ds_student_shape *s = &c->m->shape;
  return dot(c->m->a.emb, c->r_emb, (long)c->B * ds_student_emb_dim(s)) +
         dot(c->m->a.logits, c->r_logits, (long)c->B * s->n_classes);
}
static void test_model(ds_pooling pooling, int out_dim, int prune_head, int keep_padding) {
  ds_student_shape s = {.vocab = 11, .max_len = 6, .dim = 8, .n_layers = 2, .head_dim = 4,
                        .heads = {2, 1}, .ffn = {12, 10}, .out_dim = out_dim, .n_classes = 3,
                        .pooling = pooling};
  ds_student m;
  ds_err err;
  CHECK(ds_student_init(&m, &s, &err) == 0);
  m.keep_padding = keep_padding;
  /* Larger than the usual 0.02 so every path carries a gradient well above rounding noise. */
  for (size_t i = 0; i < m.table.n_params; i++) m.params[i] = (float)gsl_ran_gaussian(rng, 0.3);
  if (prune_head) {
    m.head_mask[0][1] = 0.0f;
    m.ffn_mask[1][3] = 0.0f;
  }
  int32_t ids[12] = {3, 7, 1, 10, 2, 0, 5, 5, 9, 0, 0, 0};
  uint8_t mask[12] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0};
  model_ctx c = {.m = &m, .ids = ids, .mask = mask, .B = 2, .T = 6};
  c.r_emb = randn(2 * ds_student_emb_dim(&s), 1);
  c.r_logits = randn(2 * 3, 1);
  model_loss(&c);
  ds_student_zero_grad(&m);
  ds_student_backward(&m, c.r_emb, c.r_logits);
  float *grads = malloc(sizeof(float) * m.table.n_params);
  memcpy(grads, m.grads, sizeof(float) * m.table.n_params);
  for (int i = 0; i < m.table.n_tensors; i++) {
    const ds_tensor_info *t = &m.table.tensors[i];
    char what[128];
    snprintf(what, sizeof what, "model(%s,out%d%s%s) %s", pooling == DS_POOL_CLS ? "cls" : "mean", out_dim,
             prune_head ? ",pruned" : "", keep_padding ? ",padded" : "", t->name);
    fd_check(what, m.params + t->offset, grads + t->offset, (long)t->numel, 40, model_loss, &c);
  }
  if (prune_head) {
    /* A masked head's parameters get exactly zero gradient: Q, K and V rows of head 1 in layer 0. */
    const int hd = 4, HD = 2 * hd;
    double g = 0.0;
    for (int part = 0; part < 3; part++)
      for (int r = 0; r < hd; r++)
        for (int k = 0; k < 8; k++) g += fabs(grads[m.table.tensors[4].offset + ((long)part * HD + hd + r) * 8 + k]);
    CHECK(g == 0.0);
  }
  free(grads);
  free(c.r_emb);
  free(c.r_logits);
  ds_student_free(&m);
}

int main(void) {
  /* Thousands of forward passes on tiny tensors: thread start-up would cost more than the work. */
  omp_set_num_threads(1);
  rng = gsl_rng_alloc(gsl_rng_mt19937);
  gsl_rng_set(rng, 42);
  test_linear(0);
  test_linear(1);
  test_layernorm();
  test_attention(DS_PACK_PADDED);
  test_attention(DS_PACK_VALID);
  test_gelu();
  for (int cls = 0; cls < 2; cls++) {
    test_embedding_pool(cls, DS_PACK_PADDED);
    test_embedding_pool(cls, DS_PACK_VALID);
  }
  test_model(DS_POOL_MEAN, 5, 0, 0);
  test_model(DS_POOL_MEAN, 5, 0, 1);
  test_model(DS_POOL_CLS, 0, 0, 0);
  test_model(DS_POOL_MEAN, 5, 1, 0);
  gsl_rng_free(rng);
  return check_report();
}
