/* Losses: values on hand-computed cases, gradients against central finite differences.
 *
 * Finite differences perturb the float inputs by h = 1e-3 (dividing by the step actually taken
 * after float rounding) and evaluate the loss in double, so the only error is the O(h^2)
 * truncation. Tolerance |fd - analytic| <= atol + FD_RTOL*|fd| with FD_RTOL 1e-4 and atol FD_ATOL
 * 1e-6 for kd, ce, cosine and mse; the similarity loss (third derivatives grow like 1/tau^3,
 * checked at tau = 0.5 and 0.2) and the combined loss that contains it use FD_ATOL_SIM 1e-5.
 * Observed errors are 10-100x below these. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tests/check.h"
#include "train/losses.h"

#define FD_H 1e-3f
#define FD_ATOL 1e-6
#define FD_RTOL 1e-4
#define FD_ATOL_SIM 1e-5

/* Deterministic uniform numbers in [-a, a]; the state lives with the caller. */
static float rnd(uint64_t *s, float a) {
  *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
  return a * (2.0f * (float)((*s >> 40) & 0xFFFFFF) / (float)0xFFFFFF - 1.0f);
}

static void fill(float *x, int n, uint64_t *s, float a) {
  for (int i = 0; i < n; i++) x[i] = rnd(s, a);
}

/* One loss as a function of a mutable input x; `grad` writes the analytic gradient wrt x. */
typedef struct {
  int kind, B, K, D;
  float *s, *t;
  const int32_t *labels;
  double T;
  const ds_loss_cfg *cfg;
  float *e, *te;
  int wrt_emb; /* combined loss: 0 = differentiate wrt logits, 1 = wrt embeddings */
} loss_case;

enum { KD, CE, COS, MSE, SIM, ALL };

static double eval(const loss_case *c, float *grad) {
  switch (c->kind) {
    case KD: return ds_loss_kd(c->B, c->K, c->s, c->t, c->T, grad);
    case CE: return ds_loss_ce(c->B, c->K, c->s, c->labels, grad);
    case COS: return ds_loss_emb_cosine(c->B, c->D, c->s, c->t, grad);
    case MSE: return ds_loss_emb_mse(c->B, c->D, c->s, c->t, grad);
    case SIM: return ds_loss_sim(c->B, c->D, c->s, c->t, c->T, grad);
    default: {
      float *dl = malloc(sizeof(float) * c->B * c->K), *de = malloc(sizeof(float) * c->B * c->D);
      double v = ds_loss_compute(c->cfg, c->B, c->K, c->D, c->s, c->t, c->labels, c->e, c->te,
                                 dl, de, NULL);
      if (grad) memcpy(grad, c->wrt_emb ? de : dl, sizeof(float) * c->B * (c->wrt_emb ? c->D : c->K));
      free(dl);
      free(de);
      return v;
    }
  }
}

/* Compares the analytic gradient wrt x (n floats) with central differences. */
static void fd_check(const char *name, const loss_case *c, float *x, int n, double atol) {
  float *g = malloc(sizeof(float) * n);
  eval(c, g);
  double worst = 0.0;
  for (int i = 0; i < n; i++) {
    float x0 = x[i], xp = x0 + FD_H, xm = x0 - FD_H;
    x[i] = xp;
    double fp = eval(c, NULL);
    x[i] = xm;
    double fm = eval(c, NULL);
    x[i] = x0;
    double fd = (fp - fm) / ((double)xp - (double)xm);
    double err = fabs(fd - g[i]);
    if (err > worst) worst = err;
    CHECK_MSG(err <= atol + FD_RTOL * fabs(fd), "%s: d[%d] analytic %.9g vs fd %.9g", name, i,
              g[i], fd);
  }
  printf("%-24s max |fd - analytic| = %.3g\n", name, worst);
  free(g);
}

static void test_kd(void) {
  uint64_t st = 1;
  float s[3 * 5], t[3 * 5];
  fill(s, 15, &st, 2.0f);
  fill(t, 15, &st, 2.0f);
  loss_case c = {.kind = KD, .B = 3, .K = 5, .s = s, .t = t, .T = 2.0};
  fd_check("kd T=2", &c, s, 15, FD_ATOL);
  c.T = 1.0;
  fd_check("kd T=1", &c, s, 15, FD_ATOL);

  /* identical logits: p_t == p_s, so the divergence and its gradient vanish */
  float g[15];
  CHECK_CLOSE(ds_loss_kd(3, 5, s, s, 2.0, g), 0.0, 1e-12, 0);
  for (int i = 0; i < 15; i++) CHECK_CLOSE(g[i], 0.0, 1e-7, 0);

  /* t/T = (ln 3, 0) gives p_t = (3/4, 1/4); s = 0 gives p_s = (1/2, 1/2) */
  float s2[2] = {0, 0}, t2[2] = {(float)(2.0 * log(3.0)), 0};
  double kd = ds_loss_kd(1, 2, s2, t2, 2.0, g);
  CHECK_CLOSE(kd, 4.0 * (0.75 * log(1.5) + 0.25 * log(0.5)), 1e-7, 1e-6);
  CHECK_CLOSE(g[0], -0.5, 1e-6, 0); /* T (p_s - p_t) */
  CHECK_CLOSE(g[1], 0.5, 1e-6, 0);

  /* far-apart logits underflow p_t to 0 in one class: still finite (no log(0)) */
  float s3[3] = {0, 0, 0}, t3[3] = {0, 2000, -2000};
  kd = ds_loss_kd(1, 3, s3, t3, 1.0, g);
  CHECK(isfinite(kd));
  CHECK_CLOSE(kd, log(3.0), 1e-9, 1e-9); /* p_t one-hot: KL = -log(1/3) */
  CHECK_CLOSE(ds_metric_kl(3, 5, s, t), ds_loss_kd(3, 5, s, t, 1.0, NULL), 1e-12, 0);
}

static void test_ce(void) {
  uint64_t st = 2;
  float s[4 * 5];
  fill(s, 20, &st, 2.0f);
  int32_t labels[4] = {2, -1, 4, 0};
  loss_case c = {.kind = CE, .B = 4, .K = 5, .s = s, .labels = labels};
  fd_check("ce masked", &c, s, 20, FD_ATOL);

  float g[20];
  ds_loss_ce(4, 5, s, labels, g);
  for (int k = 0; k < 5; k++) CHECK(g[5 + k] == 0.0f); /* the ignored row gets no gradient */

  /* the ignored row does not count in the mean: same as the three kept rows alone */
  float kept[15];
  memcpy(kept, s, sizeof(float) * 5);
  memcpy(kept + 5, s + 10, sizeof(float) * 10);
  int32_t kept_labels[3] = {2, 4, 0};
  CHECK_CLOSE(ds_loss_ce(4, 5, s, labels, NULL), ds_loss_ce(3, 5, kept, kept_labels, NULL), 1e-12,
              1e-12);

  int32_t none[4] = {-1, -1, -1, -1};
  for (int i = 0; i < 20; i++) g[i] = 9.0f;
  CHECK(ds_loss_ce(4, 5, s, none, g) == 0.0);
  for (int i = 0; i < 20; i++) CHECK(g[i] == 0.0f);

  float u[4] = {0, 0, 0, 0};
  int32_t y[1] = {1};
  CHECK_CLOSE(ds_loss_ce(1, 4, u, y, g), log(4.0), 1e-12, 1e-12);
  CHECK_CLOSE(g[1], 0.25 - 1.0, 1e-7, 0);
  CHECK_CLOSE(g[0], 0.25, 1e-7, 0);
}

static void test_emb(void) {
  uint64_t st = 3;
  float e[3 * 6], te[3 * 6];
  fill(e, 18, &st, 1.0f);
  fill(te, 18, &st, 1.0f);
  loss_case c = {.kind = COS, .B = 3, .D = 6, .s = e, .t = te};
  fd_check("emb cosine", &c, e, 18, FD_ATOL);
  c.kind = MSE;
  fd_check("emb mse", &c, e, 18, FD_ATOL);

  float a[2 * 2] = {1, 0, 2, 3}, b[2 * 2] = {0, 5, -4, -6}, g[4];
  /* row 0 orthogonal (1 - 0), row 1 opposite (1 + 1) */
  CHECK_CLOSE(ds_loss_emb_cosine(2, 2, a, b, g), (1.0 + 2.0) / 2, 1e-12, 1e-12);
  CHECK_CLOSE(ds_loss_emb_cosine(2, 2, a, a, NULL), 0.0, 1e-12, 0);
  CHECK_CLOSE(ds_metric_cosine(2, 2, a, b), (0.0 - 1.0) / 2, 1e-12, 1e-12);
  /* d(1 - cos)/da at a = (1,0), b = (0,5): -(b/|a||b| - cos a/|a|^2) / B = (0, -1/2) */
  CHECK_CLOSE(g[0], 0.0, 1e-7, 0);
  CHECK_CLOSE(g[1], -0.5, 1e-7, 0);

  /* a zero student embedding: the eps clamp keeps the loss at 1 and the gradient finite */
  float z[2] = {0, 0}, w[2] = {3, 4};
  CHECK_CLOSE(ds_loss_emb_cosine(1, 2, z, w, g), 1.0, 1e-12, 0);
  CHECK(isfinite(g[0]) && isfinite(g[1]));

  float m0[2] = {1, 2}, m1[2] = {0, 0};
  CHECK_CLOSE(ds_loss_emb_mse(1, 2, m0, m1, g), 2.5, 1e-12, 0);
  CHECK_CLOSE(g[0], 1.0, 1e-7, 0); /* 2 (e - te) / (B D) */
  CHECK_CLOSE(g[1], 2.0, 1e-7, 0);
  CHECK_CLOSE(ds_metric_mse(1, 2, m0, m1), 2.5, 1e-12, 0);
}

static void test_sim(void) {
  uint64_t st = 4;
  float e[5 * 4], te[5 * 4];
  fill(e, 20, &st, 1.0f);
  fill(te, 20, &st, 1.0f);
  loss_case c = {.kind = SIM, .B = 5, .D = 4, .s = e, .t = te, .T = 0.5};
  fd_check("sim tau=0.5", &c, e, 20, FD_ATOL_SIM);
  c.T = 0.2;
  fd_check("sim tau=0.2", &c, e, 20, FD_ATOL_SIM);

  /* cosine similarities ignore scale: te = 3 e matches exactly */
  float te3[20], g[20];
  for (int i = 0; i < 20; i++) te3[i] = 3.0f * e[i];
  CHECK_CLOSE(ds_loss_sim(5, 4, e, te3, 0.05, g), 0.0, 1e-9, 0);
  for (int i = 0; i < 20; i++) CHECK_CLOSE(g[i], 0.0, 1e-5, 0);

  /* B = 1 has no off-diagonal pair; B = 2 has one per row, whose softmax is always 1 */
  for (int i = 0; i < 20; i++) g[i] = 9.0f;
  CHECK(ds_loss_sim(1, 4, e, te, 0.05, g) == 0.0);
  for (int i = 0; i < 4; i++) CHECK(g[i] == 0.0f);
  CHECK_CLOSE(ds_loss_sim(2, 4, e, te, 0.05, g), 0.0, 1e-12, 0);
  c.B = 1;
  fd_check("sim B=1", &c, e, 4, FD_ATOL_SIM);

  /* Hand case, tau = 1, a = e/(1+e), b = 1/(1+e):
   * student (1,0),(0,1),(1,0): rows of S_s off the diagonal (0,1), (0,0), (1,0)
   * teacher (1,0),(1,0),(0,1): rows of S_t off the diagonal (1,0), (1,0), (0,0)
   * row 0: KL((a,b) || (b,a)) = (a-b) ln(a/b) = a - b
   * row 1: KL((a,b) || (1/2,1/2)) = a ln 2a + b ln 2b
   * row 2: KL((1/2,1/2) || (a,b)) = -ln 2 - (ln a + ln b)/2 */
  float hs[6] = {1, 0, 0, 1, 1, 0}, ht[6] = {1, 0, 1, 0, 0, 1};
  double E = exp(1.0), A = E / (1 + E), Bv = 1 / (1 + E);
  double want = ((A - Bv) + (A * log(2 * A) + Bv * log(2 * Bv)) +
                 (-log(2.0) - 0.5 * (log(A) + log(Bv)))) / 3;
  CHECK_CLOSE(ds_loss_sim(3, 2, hs, ht, 1.0, NULL), want, 1e-12, 1e-9);
  loss_case h = {.kind = SIM, .B = 3, .D = 2, .s = hs, .t = ht, .T = 1.0};
  fd_check("sim hand case", &h, hs, 6, FD_ATOL_SIM);
}

static void test_compute(void) {
  enum { B = 4, K = 3, D = 5 };
  uint64_t st = 5;
  float s[B * K], t[B * K], e[B * D], te[B * D];
  fill(s, B * K, &st, 2.0f);
  fill(t, B * K, &st, 2.0f);
  fill(e, B * D, &st, 1.0f);
  fill(te, B * D, &st, 1.0f);
  int32_t labels[B] = {0, 2, -1, 1};
  ds_loss_cfg cfg = {.kd_weight = 0.7, .temperature = 2.0, .ce_weight = 0.3, .emb_weight = 1.5,
                     .emb_loss = DS_EMB_COSINE, .sim_weight = 0.4, .sim_temperature = 0.5};
  loss_case c = {.kind = ALL, .B = B, .K = K, .D = D, .s = s, .t = t, .labels = labels,
                 .cfg = &cfg, .e = e, .te = te};
  fd_check("compute wrt logits", &c, s, B * K, FD_ATOL_SIM);
  c.wrt_emb = 1;
  fd_check("compute wrt emb", &c, e, B * D, FD_ATOL_SIM);
  cfg.emb_loss = DS_EMB_MSE;
  fd_check("compute wrt emb (mse)", &c, e, B * D, FD_ATOL_SIM);

  /* the total is the weighted sum of the terms, each equal to its own function */
  float dl[B * K], de[B * D], gk[B * K], gc[B * K];
  ds_loss_terms r;
  double total = ds_loss_compute(&cfg, B, K, D, s, t, labels, e, te, dl, de, &r);
  CHECK_CLOSE(r.kd, ds_loss_kd(B, K, s, t, 2.0, gk), 1e-12, 1e-12);
  CHECK_CLOSE(r.ce, ds_loss_ce(B, K, s, labels, gc), 1e-12, 1e-12);
  CHECK_CLOSE(r.emb, ds_loss_emb_mse(B, D, e, te, NULL), 1e-12, 1e-12);
  CHECK_CLOSE(r.sim, ds_loss_sim(B, D, e, te, 0.5, NULL), 1e-12, 1e-12);
  CHECK_CLOSE(total, 0.7 * r.kd + 0.3 * r.ce + 1.5 * r.emb + 0.4 * r.sim, 1e-12, 1e-12);
  CHECK(r.total == total);
  for (int i = 0; i < B * K; i++) CHECK_CLOSE(dl[i], 0.7 * gk[i] + 0.3 * gc[i], 1e-7, 1e-5);

  /* embeddings only: logit terms are 0, d_logits zero-filled, weights of absent terms ignored */
  for (int i = 0; i < B * K; i++) dl[i] = 7.0f;
  total = ds_loss_compute(&cfg, B, K, D, s, NULL, NULL, e, te, dl, de, &r);
  CHECK(r.kd == 0.0 && r.ce == 0.0);
  CHECK_CLOSE(total, 1.5 * r.emb + 0.4 * r.sim, 1e-12, 1e-12);
  for (int i = 0; i < B * K; i++) CHECK(dl[i] == 0.0f);

  /* logits only */
  for (int i = 0; i < B * D; i++) de[i] = 7.0f;
  total = ds_loss_compute(&cfg, B, K, D, s, t, NULL, e, NULL, dl, de, &r);
  CHECK(r.ce == 0.0 && r.emb == 0.0 && r.sim == 0.0);
  CHECK_CLOSE(total, 0.7 * r.kd, 1e-12, 1e-12);
  for (int i = 0; i < B * D; i++) CHECK(de[i] == 0.0f);

  /* sim at weight 0 is skipped, not just unweighted */
  cfg.sim_weight = 0.0;
  total = ds_loss_compute(&cfg, B, K, D, s, t, labels, e, te, dl, de, &r);
  CHECK(r.sim == 0.0);
  CHECK_CLOSE(total, 0.7 * r.kd + 0.3 * r.ce + 1.5 * r.emb, 1e-12, 1e-12);
  cfg.sim_weight = 0.4;

  /* no classifier (K = 0) and a NULL d_logits are fine */
  total = ds_loss_compute(&cfg, B, 0, D, NULL, NULL, NULL, e, te, NULL, de, &r);
  CHECK_CLOSE(total, 1.5 * r.emb + 0.4 * r.sim, 1e-12, 1e-12);
}

static void test_top1(void) {
  float s[2 * 3] = {1, 2, 0, 3, 0, 0}, t[2 * 3] = {0, 5, 1, 0, 0, 1};
  CHECK_CLOSE(ds_metric_top1(2, 3, s, t), 0.5, 0, 0);
  CHECK_CLOSE(ds_metric_top1(2, 3, s, s), 1.0, 0, 0);
}

int main(void) {
  test_kd();
  test_ce();
  test_emb();
  test_sim();
  test_compute();
  test_top1();
  return check_report();
}
