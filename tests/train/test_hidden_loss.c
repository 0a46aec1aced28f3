/* Token-level distillation ([loss] hidden_weight, train/hidden_distill.h), checked by central finite differences:
 *  (a) ds_hidden_loss_rows alone, mse and cosine: the gradient wrt the student states d_s and wrt the head's
 *      parameters d_params (which must accumulate), the loss value against an independent double computation;
 *  (b) end to end through a transformer student: L = ds_hidden_batch_loss after ds_student_forward, then
 *      ds_student_backward with a zero d_emb (and once with a sentence-level term on top), every parameter
 *      tensor's gradient against central differences of L(params), packed (keep_padding 0) and padded rows,
 *      mean and CLS pooling; padding tokens (their targets, their ids) must change nothing.
 * Tolerance as tests/model/test_grad.c: |numeric - analytic| <= RTOL * (|analytic| + 0.01 max|analytic|) + ATOL,
 * step FD_H; the model is float32, the loss sums in double. */
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "../check.h"
#include "model/model.h"
#include "train/hidden_distill.h"
#include "../model/fd_check.h"

#define FD_H 1e-2
#define RTOL 2e-2
#define ATOL 2e-4

/* Checks up to `samples` entries of x against the analytic gradient g; returns the worst error / tolerance. */
static double fd_check(const char *what, float *x, const float *g, long n, int samples, loss_fn f, void *ctx) {
  double gmax;
  const double worst = fd_compare(what, x, g, n, samples, f, ctx, FD_H, RTOL, ATOL, 1, &gmax);
  printf("%-58s worst error / tolerance %.3f  (max|g| %.3g)\n", what, worst, gmax);
  return worst;
}

static double max_abs(const float *x, long n) {
  double m = 0.0;
  for (long i = 0; i < n; i++) m = fmax(m, fabs(x[i]));
  return m;
}

/* ---- (a) the loss on rows ---- */
typedef struct {
  ds_hidden_head h;
  ds_loss_cfg cfg;
  int n;
  float *s, *t, *pred, *d_pred, *d_s;
} rows_ctx;

static double rows_loss(void *p) {
  rows_ctx *c = p;
  return ds_hidden_loss_rows(&c->h, c->n, c->s, c->t, &c->cfg, c->pred, c->d_pred, c->d_s, NULL);
}

/* The loss of the header comment, in double from scratch (W (H, C) then b (H)). */
static double reference_loss(const rows_ctx *c) {
  const int H = c->h.H, C = c->h.C;
  double total = 0.0;
  for (int i = 0; i < c->n; i++) {
    double pq = 0.0, pp = 0.0, qq = 0.0, se = 0.0;
    for (int j = 0; j < H; j++) {
      double p = c->h.params[(size_t)H * C + j];
      for (int k = 0; k < C; k++) p += (double)c->h.params[(size_t)j * C + k] * c->s[(size_t)i * C + k];
      const double q = c->t[(size_t)i * H + j];
      se += (p - q) * (p - q);
      pq += p * q;
      pp += p * p;
      qq += q * q;
    }
    if (c->cfg.hidden_loss == DS_HIDDEN_MSE)
      total += se / H;
    else
      total += 1.0 - (qq > 0 ? pq / (sqrt(pp) * sqrt(qq)) : 0.0);
  }
  return c->cfg.hidden_weight * total / c->n;
}

static void test_rows(ds_hidden_loss kind, int H, int C, int n, double weight) {
  rows_ctx c = {.n = n};
  c.cfg.hidden_weight = weight;
  c.cfg.hidden_loss = kind;
  c.h.H = H;
  c.h.C = C;
  c.h.n = (size_t)H * C + H;
  c.h.params = randn((long)c.h.n, 0.5);
  c.s = randn((long)n * C, 1);
  c.t = randn((long)n * H, 1);
  if (kind == DS_HIDDEN_COSINE) memset(c.t + (size_t)(n - 1) * H, 0, sizeof(float) * H); /* a zero target row */
  c.pred = malloc(sizeof(float) * (size_t)n * H);
  c.d_pred = malloc(sizeof(float) * (size_t)n * H);
  c.d_s = malloc(sizeof(float) * (size_t)n * C);
  float *d_s = malloc(sizeof(float) * (size_t)n * C);
  float *d_params = randn((long)c.h.n, 1); /* nonzero: the call must add to it */
  float *before = malloc(sizeof(float) * c.h.n);
  memcpy(before, d_params, sizeof(float) * c.h.n);
  const double loss = ds_hidden_loss_rows(&c.h, n, c.s, c.t, &c.cfg, c.pred, c.d_pred, d_s, d_params);
  for (size_t i = 0; i < c.h.n; i++) d_params[i] -= before[i];
  const char *name = kind == DS_HIDDEN_MSE ? "mse" : "cosine";
  char what[96];
  CHECK_MSG(isfinite(loss), "%s: loss %g", name, loss);
  CHECK_CLOSE(loss, reference_loss(&c), 1e-6, 1e-5);
  int finite = 1;
  for (long i = 0; i < (long)n * C; i++) finite &= isfinite(d_s[i]) != 0;
  for (size_t i = 0; i < c.h.n; i++) finite &= isfinite(d_params[i]) != 0;
  CHECK_MSG(finite, "%s: non-finite gradient", name);
  /* d_params may be NULL: the state gradient is the same without it. */
  ds_hidden_loss_rows(&c.h, n, c.s, c.t, &c.cfg, c.pred, c.d_pred, c.d_s, NULL);
  CHECK(memcmp(c.d_s, d_s, sizeof(float) * (size_t)n * C) == 0);
  snprintf(what, sizeof what, "rows %s (H%d C%d n%d w%g) d_s", name, H, C, n, weight);
  fd_check(what, c.s, d_s, (long)n * C, 200, rows_loss, &c);
  snprintf(what, sizeof what, "rows %s (H%d C%d n%d w%g) d_params", name, H, C, n, weight);
  fd_check(what, c.h.params, d_params, (long)c.h.n, 200, rows_loss, &c);
  CHECK(max_abs(d_s, (long)n * C) > 1e-3 && max_abs(d_params, (long)c.h.n) > 1e-3);
  /* No rows: no loss, and nothing read or written. */
  CHECK(ds_hidden_loss_rows(&c.h, 0, c.s, c.t, &c.cfg, c.pred, c.d_pred, c.d_s, NULL) == 0.0);
  free(c.h.params); free(c.s); free(c.t); free(c.pred); free(c.d_pred); free(c.d_s);
  free(d_s); free(d_params); free(before);
}

/* ---- (b) through the student ---- */
enum { B = 3, T = 6, HID = 5 };
typedef struct {
  ds_student *m;
  ds_hidden_head *h;
  ds_loss_cfg cfg;
  ds_batch *b;
  int32_t *ids;
  uint8_t *mask;
  float *r_emb; /* NULL: the hidden loss alone */
} model_ctx;

static double model_loss(void *p) {
  model_ctx *c = p;
  ds_err err;
  if (ds_student_forward(c->m, c->ids, c->mask, B, T, &err)) {
    fprintf(stderr, "%s\n", err.msg);
    exit(1);
  }
  double L = ds_hidden_batch_loss(c->h, c->m, c->b, &c->cfg);
  if (c->r_emb) L += dot(c->m->a.emb, c->r_emb, (long)B * ds_student_emb_dim(&c->m->shape));
  return L;
}

/* Pads of the batch below: the second sequence after 4 tokens, the third before and after its 3 tokens; the last
 * position is padding everywhere, so pos_emb's last row may get no gradient at all. */
static const uint8_t batch_mask[B * T] = {1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 0, 0, 0, 1, 1, 1, 0, 0};
static const int32_t batch_ids[B * T] = {3, 7, 1, 10, 2, 0, 5, 5, 9, 4, 0, 0, 0, 8, 6, 2, 0, 0};

typedef struct { double loss; float *grads, *head_grads; } model_result;

static model_result test_model(ds_hidden_loss kind, ds_pooling pooling, int keep_padding, int with_emb) {
  ds_student_shape s = {.vocab = 11, .max_len = T, .dim = 8, .n_layers = 2, .head_dim = 4, .heads = {2, 1},
                        .ffn = {12, 10}, .out_dim = 5, .n_classes = 3, .pooling = pooling};
  ds_student m;
  ds_err err;
  CHECK(ds_student_init(&m, &s, &err) == 0);
  m.keep_padding = keep_padding;
  /* Same seed for every variant: packed and padded runs see the same model, targets and head. */
  gsl_rng_set(rng, 7 + 100 * kind + 10 * pooling);
  for (size_t i = 0; i < m.table.n_params; i++) m.params[i] = (float)gsl_ran_gaussian(rng, 0.3);
  ds_hidden_head h = {.H = HID, .C = s.dim};
  h.n = (size_t)h.H * h.C + h.H;
  h.params = randn((long)h.n, 0.5);
  h.grads = calloc(h.n, sizeof(float));
  int32_t ids[B * T];
  uint8_t mask[B * T];
  memcpy(ids, batch_ids, sizeof ids);
  memcpy(mask, batch_mask, sizeof mask);
  ds_batch b = {.n = B, .len = T};
  b.hidden = randn((long)B * T * HID, 1);
  for (int i = 0; i < B * T; i++) /* the teacher file has zeros at padding; these must not matter either */
    if (!mask[i])
      for (int j = 0; j < HID; j++) b.hidden[(size_t)i * HID + j] = 0.0f;
  model_ctx c = {.m = &m, .h = &h, .b = &b, .ids = ids, .mask = mask};
  c.cfg.hidden_weight = 3.0; /* gradients well above the absolute tolerance */
  c.cfg.hidden_loss = kind;
  const int E = ds_student_emb_dim(&s);
  float *zero_emb = calloc((size_t)B * E, sizeof(float));
  if (with_emb) c.r_emb = randn((long)B * E, 1);

  const double L = model_loss(&c);
  CHECK(isfinite(L) && L > 0);
  CHECK(m.d_final_tokens == h.d_tokens);
  /* Padding rows of a padded pack get no gradient from the loss. */
  for (int r = 0; r < m.pack.n_rows; r++)
    if (!mask[m.pack.row[r]]) CHECK(max_abs(h.d_tokens + (size_t)r * s.dim, s.dim) == 0.0);
  ds_student_zero_grad(&m);
  ds_student_backward(&m, with_emb ? c.r_emb : zero_emb, NULL);
  model_result res = {.loss = L};
  res.grads = malloc(sizeof(float) * m.table.n_params);
  res.head_grads = malloc(sizeof(float) * h.n);
  memcpy(res.grads, m.grads, sizeof(float) * m.table.n_params);
  memcpy(res.head_grads, h.grads, sizeof(float) * h.n);

  char tag[96], what[256];
  snprintf(tag, sizeof tag, "model(%s,%s,%s%s)", kind == DS_HIDDEN_MSE ? "mse" : "cosine",
           pooling == DS_POOL_CLS ? "cls" : "mean", keep_padding ? "padded" : "packed", with_emb ? ",+emb" : "");
  for (int i = 0; i < m.table.n_tensors; i++) {
    const ds_tensor_info *t = &m.table.tensors[i];
    snprintf(what, sizeof what, "%s %s", tag, t->name);
    fd_check(what, m.params + t->offset, res.grads + t->offset, (long)t->numel, 40, model_loss, &c);
  }
  /* Every entry of the token rows the batch uses (the strided sampling above may miss them). */
  const ds_tensor_info *tok = ds_param_table_find(&m.table, "tok_emb.weight");
  for (int id = 0; id < s.vocab; id++) {
    int used = 0;
    for (int i = 0; i < B * T; i++) used |= mask[i] && ids[i] == id;
    if (!used) continue;
    snprintf(what, sizeof what, "%s %s row %d", tag, tok->name, id);
    fd_check(what, m.params + tok->offset + (size_t)id * s.dim, res.grads + tok->offset + (size_t)id * s.dim,
             s.dim, s.dim, model_loss, &c);
  }
  snprintf(what, sizeof what, "%s hidden head", tag);
  fd_check(what, h.params, res.head_grads, (long)h.n, 200, model_loss, &c);
  /* The hidden loss reaches the whole encoder, not just the final LayerNorm. */
  const char *deep[] = {"layers.0.attn.qkv.weight", "layers.0.ffn.fc1.weight", "layers.1.attn.qkv.weight",
                        "ln_f.weight", "ln_f.bias"};
  for (int k = 0; k < 5; k++) {
    const ds_tensor_info *t = ds_param_table_find(&m.table, deep[k]);
    CHECK_MSG(t && max_abs(res.grads + t->offset, (long)t->numel) > 1e-4, "%s: %s gets no gradient", tag, deep[k]);
  }
  /* No position is real at t = T-1: its position row gets nothing (the hidden loss alone touches only
   * real tokens' states; pooling skips padding too). */
  const ds_tensor_info *pos = ds_param_table_find(&m.table, "pos_emb.weight");
  CHECK(pos != NULL);
  if (pos && !with_emb) {
    CHECK_MSG(max_abs(res.grads + pos->offset + (size_t)(T - 1) * s.dim, s.dim) == 0.0,
              "%s: padding position gets a gradient", tag);
  }
  /* The gradient wrt the final states was handed over and left in place by backward: backward twice
   * accumulates twice. (Forward again first: the finite differences left the activations of a perturbed model.) */
  CHECK(model_loss(&c) == L);
  /* The head's gradient is this batch's alone (zeroed by each call, not summed over calls). */
  CHECK_MSG(memcmp(h.grads, res.head_grads, sizeof(float) * h.n) == 0, "%s: head gradient not reset", tag);
  ds_student_zero_grad(&m);
  ds_student_backward(&m, with_emb ? c.r_emb : zero_emb, NULL);
  ds_student_backward(&m, with_emb ? c.r_emb : zero_emb, NULL);
  double twice = 0.0;
  for (size_t i = 0; i < m.table.n_params; i++) twice = fmax(twice, fabs(m.grads[i] - 2.0 * res.grads[i]));
  CHECK_MSG(twice <= 1e-5 * (max_abs(res.grads, (long)m.table.n_params) + 1e-30), "%s: backward not repeatable", tag);

  /* Padding changes nothing: other targets and other ids at padding positions give the same loss. (Not the ids
   * with a sentence-level term: CLS pooling reads position 0 even where it is padding, as documented.) */
  for (int i = 0; i < B * T; i++)
    if (!mask[i]) {
      for (int j = 0; j < HID; j++) b.hidden[(size_t)i * HID + j] = (float)gsl_ran_gaussian(rng, 5);
      if (!with_emb) ids[i] = (int32_t)gsl_rng_uniform_int(rng, (unsigned long)s.vocab);
    }
  const double L2 = model_loss(&c);
  CHECK_MSG(L2 == L, "%s: padding changed the loss: %.17g vs %.17g", tag, L2, L);
  free(zero_emb);
  free(c.r_emb);
  free(b.hidden);
  ds_hidden_free(&h);
  ds_student_free(&m);
  return res;
}

/* Packed and padded layouts compute the same loss and gradients (to float rounding). */
static void compare_layouts(ds_hidden_loss kind, ds_pooling pooling) {
  model_result a = test_model(kind, pooling, 0, 0), b = test_model(kind, pooling, 1, 0);
  ds_student_shape s = {.vocab = 11, .max_len = T, .dim = 8, .n_layers = 2, .head_dim = 4, .heads = {2, 1},
                        .ffn = {12, 10}, .out_dim = 5, .n_classes = 3, .pooling = pooling};
  ds_param_table tab;
  ds_param_table_build(&tab, &s);
  CHECK_CLOSE(a.loss, b.loss, 1e-6, 1e-5);
  const double ga = max_abs(a.grads, (long)tab.n_params);
  double d = 0.0;
  for (size_t i = 0; i < tab.n_params; i++) d = fmax(d, fabs(a.grads[i] - b.grads[i]));
  CHECK_MSG(d <= 1e-4 * ga, "packed vs padded gradients differ by %g (max %g)", d, ga);
  d = 0.0;
  for (size_t i = 0; i < (size_t)HID * 8 + HID; i++) d = fmax(d, fabs(a.head_grads[i] - b.head_grads[i]));
  CHECK_MSG(d <= 1e-4 * max_abs(a.head_grads, HID * 8 + HID), "packed vs padded head gradients differ by %g", d);
  free(a.grads); free(a.head_grads); free(b.grads); free(b.head_grads);
}

int main(void) {
  omp_set_num_threads(1); /* thousands of tiny forward passes */
  rng = gsl_rng_alloc(gsl_rng_mt19937);
  gsl_rng_set(rng, 42);
  test_rows(DS_HIDDEN_MSE, 5, 4, 6, 1.0);
  test_rows(DS_HIDDEN_MSE, 3, 7, 9, 0.3);
  test_rows(DS_HIDDEN_COSINE, 5, 4, 6, 1.0);
  test_rows(DS_HIDDEN_COSINE, 7, 3, 9, 2.5);
  for (int kind = 0; kind < 2; kind++) {
    compare_layouts((ds_hidden_loss)kind, DS_POOL_MEAN);
    compare_layouts((ds_hidden_loss)kind, DS_POOL_CLS);
  }
  /* A sentence-level term on top: the token gradient is added to pooling's, not in its place. */
  model_result r = test_model(DS_HIDDEN_MSE, DS_POOL_MEAN, 0, 1);
  free(r.grads); free(r.head_grads);
  r = test_model(DS_HIDDEN_COSINE, DS_POOL_CLS, 1, 1);
  free(r.grads); free(r.head_grads);
  gsl_rng_free(rng);
  return check_report();
}
