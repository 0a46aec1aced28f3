/* PCA (model/pca.h) and the teacher-derived initialization (model/model.h) against the numpy
 * reference of tests/golden/pca_reference.py (golden numbers in tests/model/pca_golden.h):
 *  - ds_pca: mean, top-k axes with the sign convention, variances, rows past d zero (k < d and k > d), the same
 *    result when the rows span several of its 4096-row blocks, refusal of empty inputs;
 *  - ds_token_weights_compute: none / zipf / sif with their mean over the training tokens 1;
 *  - ds_student_init_from_teacher on a static student and on 1- and 2-layer transformers (C < D and C > D):
 *    token table, projection = inverse PCA, pos_emb / attention and FFN output projections zero, ln_f gain
 *    = the table rows' RMS, everything else left as ds_student_init_params made it;
 *  - ds_student_forward at step 0: a static student gives the static model's embeddings; a transformer gives
 *    the static model with each token vector renormalised by the final LayerNorm (checked against the golden
 *    numbers, a direct double-precision computation, and a static student whose table holds the renormalised
 *    rows).
 * Tolerance: |got - want| <= RTOL |want| + ATOL max|want| per array (float32 results against float64). */
#include <stdlib.h>
#include <string.h>

#include "../check.h"
#include "model/model.h"
#include "model/pca.h"
#include "tests/model/pca_golden.h"

#define RTOL 1e-5
#define ATOL 1e-6
#define K_CLASSES 3
#define SEED 7

typedef struct {
  int C;
  const double *axes, *var, *proj_w;
  const double *rows[3], *emb_static[3], *emb_tf[3];
  double gain[3];
} golden_dim;

static const double *const golden_w[3] = {pg_w_none, pg_w_zipf, pg_w_sif};
static const char *const kind_name[3] = {"none", "zipf", "sif"};
static const ds_token_weights kinds[3] = {DS_TOKW_NONE, DS_TOKW_ZIPF, DS_TOKW_SIF};

static const golden_dim golden[2] = {
    {PG_C1, pg_axes5, pg_var5, pg_proj_w5, {pg_rows5_none, pg_rows5_zipf, pg_rows5_sif},
     {pg_emb_static5_none, pg_emb_static5_zipf, pg_emb_static5_sif}, {pg_emb_tf5_none, pg_emb_tf5_zipf, pg_emb_tf5_sif},
     {pg_gain5_none, pg_gain5_zipf, pg_gain5_sif}},
    {PG_C2, pg_axes16, pg_var16, pg_proj_w16, {pg_rows16_none, pg_rows16_zipf, pg_rows16_sif},
     {pg_emb_static16_none, pg_emb_static16_zipf, pg_emb_static16_sif},
     {pg_emb_tf16_none, pg_emb_tf16_zipf, pg_emb_tf16_sif}, {pg_gain16_none, pg_gain16_zipf, pg_gain16_sif}},
};

/* Compares n values (float or double through `at`) with want; prints the first few misses and the worst. */
static void compare_(const char *what, const float *gf, const double *gd, const double *want, long n, double rtol,
                     double atol_frac, int line) {
  double scale = 0.0, worst = 0.0;
  for (long i = 0; i < n; i++) scale = fmax(scale, fabs(want[i]));
  int bad = 0;
  for (long i = 0; i < n; i++) {
    const double got = gf ? (double)gf[i] : gd[i], tol = rtol * fabs(want[i]) + atol_frac * scale;
    const double e = fabs(got - want[i]);
    if (!(e <= tol)) {
      if (bad < 4) fprintf(stderr, "  %s[%ld]: got %.9g want %.9g\n", what, i, got, want[i]);
      bad++;
    }
    if (tol > 0) worst = fmax(worst, e / tol);
  }
  check_count++;
  if (bad) {
    check_failures++;
    fprintf(stderr, "%s:%d: %s: %d of %ld values outside tolerance\n", __FILE__, line, what, bad, n);
  }
  printf("%-40s %5ld values, worst error / tolerance %.3f\n", what, n, worst);
}
#define COMPARE_F(what, got, want, n, rtol, atol) compare_(what, got, NULL, want, n, rtol, atol, __LINE__)
#define COMPARE_D(what, got, want, n, rtol, atol) compare_(what, NULL, got, want, n, rtol, atol, __LINE__)

static int all_equal(const float *x, long n, float v) {
  for (long i = 0; i < n; i++)
    if (x[i] != v) return 0;
  return 1;
}

static void test_pca(void) {
  ds_err err;
  double mean[PG_D], var[PG_C2];
  float axes[PG_C2 * PG_D];
  for (int g = 0; g < 2; g++) {
    const int k = golden[g].C;
    char what[64];
    memset(axes, 0x7f, sizeof axes);
    for (int a = 0; a < PG_C2; a++) var[a] = -1.0;
    CHECK(ds_pca(pg_table, PG_V, PG_D, k, mean, axes, var, &err) == 0);
    snprintf(what, sizeof what, "pca k=%d mean", k);
    COMPARE_D(what, mean, pg_mean, PG_D, 1e-12, 1e-14);
    snprintf(what, sizeof what, "pca k=%d axes", k);
    COMPARE_F(what, axes, golden[g].axes, (long)k * PG_D, RTOL, ATOL);
    snprintf(what, sizeof what, "pca k=%d variance", k);
    COMPARE_D(what, var, golden[g].var, k, 1e-9, 1e-12);
    for (int a = 0; a < k && a < PG_D; a++) { /* sign: the largest-magnitude component is positive */
      int arg = 0;
      for (int j = 1; j < PG_D; j++)
        if (fabsf(axes[a * PG_D + j]) > fabsf(axes[a * PG_D + arg])) arg = j;
      CHECK_MSG(axes[a * PG_D + arg] > 0, "k=%d axis %d: largest component %g", k, a, axes[a * PG_D + arg]);
    }
    if (k > PG_D) {
      CHECK_MSG(all_equal(axes + PG_D * PG_D, (long)(k - PG_D) * PG_D, 0.0f), "k=%d: axes past d not zero", k);
      for (int a = PG_D; a < k; a++) CHECK_MSG(var[a] == 0.0, "k=%d: variance[%d] = %g", k, a, var[a]);
    }
    CHECK_MSG(var[k - 1] >= 0 && (k >= PG_C2 || var[k] == -1.0), "k=%d: variance written past k", k);
  }
  /* variance may be NULL */
  CHECK(ds_pca(pg_table, PG_V, PG_D, PG_C1, mean, axes, NULL, &err) == 0);
  COMPARE_F("pca (variance NULL) axes", axes, pg_axes5, (long)PG_C1 * PG_D, RTOL, ATOL);

  /* 110 copies of the table: 4400 rows, two covariance blocks (the second partial); same mean, axes and
   * variances (the covariance grows with n, and the variance divides by n). */
  enum { COPIES = 110 };
  float *big = malloc(sizeof *big * COPIES * PG_V * PG_D);
  for (int c = 0; c < COPIES; c++) memcpy(big + (size_t)c * PG_V * PG_D, pg_table, sizeof pg_table);
  CHECK(ds_pca(big, (long)COPIES * PG_V, PG_D, PG_C1, mean, axes, var, &err) == 0);
  COMPARE_D("pca 4400 rows mean", mean, pg_mean, PG_D, 1e-9, 1e-12);
  COMPARE_F("pca 4400 rows axes", axes, pg_axes5, (long)PG_C1 * PG_D, RTOL, ATOL);
  COMPARE_D("pca 4400 rows variance", var, pg_var5, PG_C1, 1e-9, 1e-12);
  free(big);

  err.msg[0] = 0;
  CHECK(ds_pca(pg_table, 0, PG_D, PG_C1, mean, axes, var, &err) == -1 && strstr(err.msg, "PCA"));
  CHECK(ds_pca(pg_table, PG_V, 0, PG_C1, mean, axes, var, &err) == -1);
  CHECK(ds_pca(pg_table, PG_V, PG_D, 0, mean, axes, var, &err) == -1);
}

static void test_weights(void) {
  double w[PG_V];
  for (int k = 0; k < 3; k++) {
    char what[64];
    ds_token_weights_compute(kinds[k], pg_freq, PG_V, w);
    snprintf(what, sizeof what, "token weights %s", kind_name[k]);
    COMPARE_D(what, w, golden_w[k], PG_V, 1e-12, 0.0);
    double mean = 0.0;
    for (int id = 0; id < PG_V; id++) mean += pg_freq[id] * w[id];
    CHECK_CLOSE(mean, 1.0, 1e-12, 0.0);
  }
  /* By hand: frequencies 1/2, 1/4, 1/4, 0. */
  const double freq[4] = {0.5, 0.25, 0.25, 0.0};
  ds_token_weights_compute(DS_TOKW_ZIPF, freq, 4, w); /* log(1+id) / (0.25 log 2 + 0.25 log 3) */
  const double zm = 0.25 * log(2.0) + 0.25 * log(3.0);
  CHECK_CLOSE(w[0], 0.0, 1e-15, 0.0);
  CHECK_CLOSE(w[1], log(2.0) / zm, 0.0, 1e-12);
  CHECK_CLOSE(w[3], log(4.0) / zm, 0.0, 1e-12);
  ds_token_weights_compute(DS_TOKW_SIF, freq, 4, w);
  const double s0 = 1e-3 / (1e-3 + 0.5), s1 = 1e-3 / (1e-3 + 0.25), sm = 0.5 * s0 + 0.5 * s1;
  CHECK_CLOSE(w[0], s0 / sm, 0.0, 1e-12);
  CHECK_CLOSE(w[2], s1 / sm, 0.0, 1e-12);
  CHECK_CLOSE(w[3], 1.0 / sm, 0.0, 1e-12); /* an unseen token: a / (a + 0) = 1 before normalising */
  ds_token_weights_compute(DS_TOKW_NONE, freq, 4, w);
  for (int id = 0; id < 4; id++) CHECK_CLOSE(w[id], 1.0, 1e-15, 0.0);
}

static int make_student(ds_student *m, ds_arch arch, int C, int layers, int out_dim) {
  ds_student_shape s = {.arch = arch, .vocab = PG_V, .max_len = 8, .dim = C, .n_layers = 0, .head_dim = 0,
                        .out_dim = out_dim, .n_classes = K_CLASSES, .pooling = DS_POOL_MEAN};
  if (arch == DS_ARCH_TRANSFORMER) {
    s.n_layers = layers;
    const int H = C % 2 == 0 ? 2 : 1;
    s.head_dim = C / H;
    for (int l = 0; l < layers; l++) {
      s.heads[l] = H;
      s.ffn[l] = 2 * C + l;
    }
  }
  ds_err err;
  if (ds_student_init(m, &s, &err)) {
    fprintf(stderr, "%s\n", err.msg);
    return -1;
  }
  ds_student_init_params(m, SEED);
  return 0;
}

static int init_teacher(ds_student *m, int kind) {
  const ds_teacher_init ti = {.token_emb = pg_table, .n_tokens = PG_V, .dim = PG_D, .token_freq = pg_freq,
                              .weights = kinds[kind]};
  ds_err err;
  const int rc = ds_student_init_from_teacher(m, &ti, &err);
  if (rc) fprintf(stderr, "ds_student_init_from_teacher: %s\n", err.msg);
  return rc;
}

/* The tensors the teacher does not determine keep the random init: compare with a fresh random student. */
static void check_untouched(const ds_student *m, const ds_student *ref, const char *tag) {
  for (int i = 0; i < m->table.n_tensors; i++) {
    const ds_tensor_info *t = &m->table.tensors[i];
    const char *n = t->name;
    if (strcmp(n, "tok_emb.weight") == 0 || strcmp(n, "pos_emb.weight") == 0 || strncmp(n, "proj.", 5) == 0 ||
        strncmp(n, "ln_f.", 5) == 0 || strstr(n, "attn.out.") || strstr(n, "fc2."))
      continue;
    CHECK_MSG(memcmp(m->params + t->offset, ref->params + t->offset, sizeof(float) * t->numel) == 0,
              "%s: %s changed by the teacher init", tag, n);
  }
}

static int forward(ds_student *m, const char *tag) {
  ds_err err;
  if (ds_student_forward(m, pg_ids, pg_mask, PG_B, PG_T, &err)) {
    fprintf(stderr, "%s: forward: %s\n", tag, err.msg);
    check_failures++;
    return -1;
  }
  return 0;
}

static void check_projection(const ds_student *m, const golden_dim *g, const char *tag) {
  char what[96];
  snprintf(what, sizeof what, "%s proj.weight", tag);
  COMPARE_F(what, m->p.proj_w, g->proj_w, (long)PG_D * g->C, RTOL, ATOL);
  snprintf(what, sizeof what, "%s proj.bias", tag);
  COMPARE_F(what, m->p.proj_b, pg_mean, PG_D, 1e-7, 0.0);
  for (int j = 0; j < PG_D; j++) /* columns past D: zero */
    for (int c = PG_D; c < g->C; c++) CHECK_MSG(m->p.proj_w[j * g->C + c] == 0.0f, "%s proj_w[%d][%d]", tag, j, c);
}

static void test_static(const golden_dim *g, int kind) {
  char tag[64], what[96];
  snprintf(tag, sizeof tag, "static C=%d %s", g->C, kind_name[kind]);
  ds_student m, ref;
  if (make_student(&m, DS_ARCH_STATIC, g->C, 0, PG_D) || make_student(&ref, DS_ARCH_STATIC, g->C, 0, PG_D)) {
    check_failures++;
    return;
  }
  CHECK(init_teacher(&m, kind) == 0);
  snprintf(what, sizeof what, "%s tok_emb", tag);
  COMPARE_F(what, m.p.tok_emb, g->rows[kind], (long)PG_V * g->C, RTOL, ATOL);
  for (int id = 0; id < PG_V; id++)
    for (int c = PG_D; c < g->C; c++) CHECK_MSG(m.p.tok_emb[id * g->C + c] == 0.0f, "%s: tok_emb[%d][%d]", tag, id, c);
  check_projection(&m, g, tag);
  check_untouched(&m, &ref, tag);
  if (forward(&m, tag) == 0) {
    snprintf(what, sizeof what, "%s forward emb", tag);
    COMPARE_F(what, m.a.emb, g->emb_static[kind], (long)PG_B * PG_D, RTOL, ATOL);
  }
  ds_student_free(&m);
  ds_student_free(&ref);
}

/* The final LayerNorm applied to one token row, in double: (x - mean) / sqrt(var + eps) * w + b. */
static void layernorm_row(double *out, const float *x, const float *w, const float *b, int C) {
  double mu = 0.0, var = 0.0;
  for (int c = 0; c < C; c++) mu += x[c];
  mu /= C;
  for (int c = 0; c < C; c++) var += (x[c] - mu) * (x[c] - mu);
  var /= C;
  const double r = 1.0 / sqrt(var + (double)DS_LN_EPS);
  for (int c = 0; c < C; c++) out[c] = (x[c] - mu) * r * w[c] + b[c];
}

static void test_transformer(const golden_dim *g, int kind, int layers) {
  char tag[64], what[96];
  snprintf(tag, sizeof tag, "transformer L=%d C=%d %s", layers, g->C, kind_name[kind]);
  const int C = g->C;
  ds_student m, ref, st;
  if (make_student(&m, DS_ARCH_TRANSFORMER, C, layers, PG_D) ||
      make_student(&ref, DS_ARCH_TRANSFORMER, C, layers, PG_D) || make_student(&st, DS_ARCH_STATIC, C, 0, PG_D)) {
    check_failures++;
    return;
  }
  CHECK(init_teacher(&m, kind) == 0);
  CHECK(init_teacher(&st, kind) == 0);
  const ds_student_shape *s = &m.shape;
  snprintf(what, sizeof what, "%s tok_emb", tag);
  COMPARE_F(what, m.p.tok_emb, g->rows[kind], (long)PG_V * C, RTOL, ATOL);
  CHECK_MSG(memcmp(m.p.tok_emb, st.p.tok_emb, sizeof(float) * PG_V * C) == 0, "%s: table != the static student's",
            tag);
  CHECK_MSG(all_equal(m.p.pos_emb, (long)s->max_len * C, 0.0f), "%s: pos_emb not zero", tag);
  for (int l = 0; l < layers; l++) {
    const ds_layer_params *P = &m.p.layer[l];
    const int HD = s->heads[l] * s->head_dim;
    CHECK_MSG(all_equal(P->attn_out_w, (long)C * HD, 0.0f), "%s: layer %d attn.out.weight not zero", tag, l);
    CHECK_MSG(all_equal(P->attn_out_b, C, 0.0f), "%s: layer %d attn.out.bias not zero", tag, l);
    CHECK_MSG(all_equal(P->fc2_w, (long)C * s->ffn[l], 0.0f), "%s: layer %d fc2.weight not zero", tag, l);
    CHECK_MSG(all_equal(P->fc2_b, C, 0.0f), "%s: layer %d fc2.bias not zero", tag, l);
    CHECK_MSG(!all_equal(P->qkv_w, (long)3 * HD * C, 0.0f), "%s: layer %d qkv zero", tag, l);
  }
  CHECK_MSG(all_equal(m.p.lnf_b, C, 0.0f), "%s: ln_f.bias not zero", tag);
  for (int c = 0; c < C; c++) CHECK_CLOSE(m.p.lnf_w[c], g->gain[kind], 0.0, 1e-6);
  { /* the gain by its definition: sqrt(sum_id p_id |row_id|^2 / C), from the model's own table */
    double sq = 0.0;
    for (int id = 0; id < PG_V; id++)
      for (int c = 0; c < C; c++) sq += pg_freq[id] * (double)m.p.tok_emb[id * C + c] * m.p.tok_emb[id * C + c];
    CHECK_CLOSE(m.p.lnf_w[0], sqrt(sq / C), 0.0, 1e-6);
  }
  check_projection(&m, g, tag);
  check_untouched(&m, &ref, tag);

  if (forward(&m, tag) == 0) {
    snprintf(what, sizeof what, "%s forward emb (golden)", tag);
    COMPARE_F(what, m.a.emb, g->emb_tf[kind], (long)PG_B * PG_D, RTOL, ATOL);
    /* Direct: each real token's row through ln_f, their mean, then the projection, in double. */
    double want[PG_B * PG_D], z[PG_C2], y[PG_C2];
    for (int r = 0; r < PG_B; r++) {
      int n = 0;
      memset(z, 0, sizeof z);
      for (int j = 0; j < PG_T; j++) {
        if (!pg_mask[r * PG_T + j]) continue;
        layernorm_row(y, m.p.tok_emb + (size_t)pg_ids[r * PG_T + j] * C, m.p.lnf_w, m.p.lnf_b, C);
        for (int c = 0; c < C; c++) z[c] += y[c];
        n++;
      }
      for (int j = 0; j < PG_D; j++) {
        double acc = m.p.proj_b[j];
        for (int c = 0; c < C; c++) acc += (double)m.p.proj_w[j * C + c] * z[c] / n;
        want[r * PG_D + j] = acc;
      }
    }
    snprintf(what, sizeof what, "%s forward emb (direct)", tag);
    COMPARE_F(what, m.a.emb, want, (long)PG_B * PG_D, RTOL, ATOL);
    /* The static student with every table row renormalised by ln_f gives the same embeddings. */
    for (int id = 0; id < PG_V; id++) {
      layernorm_row(y, st.p.tok_emb + (size_t)id * C, m.p.lnf_w, m.p.lnf_b, C);
      for (int c = 0; c < C; c++) st.p.tok_emb[id * C + c] = (float)y[c];
    }
    if (forward(&st, tag) == 0) {
      double st_emb[PG_B * PG_D];
      for (int i = 0; i < PG_B * PG_D; i++) st_emb[i] = st.a.emb[i];
      snprintf(what, sizeof what, "%s = static(ln_f rows)", tag);
      COMPARE_F(what, m.a.emb, st_emb, (long)PG_B * PG_D, RTOL, ATOL);
    }
  }
  ds_student_free(&m);
  ds_student_free(&ref);
  ds_student_free(&st);
}

/* Without a projection to the teacher's D the projection keeps its random init; the table is still set. */
static void test_other_out_dim(void) {
  ds_student m, ref;
  if (make_student(&m, DS_ARCH_STATIC, PG_C1, 0, 7) || make_student(&ref, DS_ARCH_STATIC, PG_C1, 0, 7)) {
    check_failures++;
    return;
  }
  CHECK(init_teacher(&m, 2) == 0);
  COMPARE_F("static out_dim 7 tok_emb", m.p.tok_emb, pg_rows5_sif, (long)PG_V * PG_C1, RTOL, ATOL);
  CHECK(memcmp(m.p.proj_w, ref.p.proj_w, sizeof(float) * 7 * PG_C1) == 0);
  ds_student_free(&m);
  ds_student_free(&ref);
  /* No projection at all: the embedding is the mean of the table rows. */
  if (make_student(&m, DS_ARCH_STATIC, PG_C1, 0, 0)) {
    check_failures++;
    return;
  }
  CHECK(init_teacher(&m, 0) == 0);
  if (forward(&m, "static out_dim 0") == 0) {
    double want[PG_B * PG_C1] = {0};
    for (int r = 0; r < PG_B; r++) {
      int n = 0;
      for (int j = 0; j < PG_T; j++)
        if (pg_mask[r * PG_T + j]) {
          for (int c = 0; c < PG_C1; c++) want[r * PG_C1 + c] += pg_rows5_none[pg_ids[r * PG_T + j] * PG_C1 + c];
          n++;
        }
      for (int c = 0; c < PG_C1; c++) want[r * PG_C1 + c] /= n;
    }
    COMPARE_F("static out_dim 0 forward emb", m.a.emb, want, (long)PG_B * PG_C1, RTOL, ATOL);
  }
  ds_student_free(&m);
}

static void test_refusal(void) {
  ds_student m;
  if (make_student(&m, DS_ARCH_STATIC, PG_C1, 0, PG_D)) {
    check_failures++;
    return;
  }
  const ds_teacher_init ti = {.token_emb = pg_table, .n_tokens = PG_V - 1, .dim = PG_D, .token_freq = pg_freq,
                              .weights = DS_TOKW_NONE};
  ds_err err = {{0}};
  CHECK(ds_student_init_from_teacher(&m, &ti, &err) == -1);
  CHECK_MSG(strstr(err.msg, "39") && strstr(err.msg, "40"), "message \"%s\"", err.msg);
  ds_student_free(&m);
}

int main(void) {
  test_pca();
  test_weights();
  for (int g = 0; g < 2; g++)
    for (int k = 0; k < 3; k++) {
      test_static(&golden[g], k);
      test_transformer(&golden[g], k, 1);
    }
  test_transformer(&golden[0], 2, 2);
  test_transformer(&golden[1], 0, 2);
  test_other_out_dim();
  test_refusal();
  return check_report();
}
