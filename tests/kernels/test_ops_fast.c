/* The fast layer kernels against their naive twins: ds_sgemm (the AVX-512 path where the CPU has it, else
 * OpenBLAS) over every transpose combination, edge sizes (partial 12 x 32 tiles, depths that are not a multiple
 * of 16 or span several 256-deep blocks), row strides wider than the matrix, alpha/beta and a C full of NaN
 * with beta = 0; the vectorised GELU; attention backward (four small GEMMs) with padded keys and a row with no
 * valid key; and the thread-count independence of the column sums (bias and LayerNorm gradients). */
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "../check.h"
#include "kernels/kernels.h"

static gsl_rng *rng;

static float *randn(long n, double sd) {
  float *x = malloc(sizeof(float) * (size_t)n);
  for (long i = 0; i < n; i++) x[i] = (float)gsl_ran_gaussian(rng, sd);
  return x;
}

/* max |a - b| / (max |b| + tiny) */
static double rel_max(const float *a, const float *b, long n) {
  double e = 0.0, m = 0.0;
  for (long i = 0; i < n; i++) {
    e = fmax(e, fabs((double)a[i] - b[i]));
    m = fmax(m, fabs((double)b[i]));
  }
  return e / (m + 1e-30);
}

static void test_sgemm_case(int ta, int tb, int M, int N, int K, int pad, float alpha, float beta) {
  const int lda = (ta ? M : K) + pad, ldb = (tb ? K : N) + pad, ldc = N + pad;
  float *A = randn((long)(ta ? K : M) * lda, 1.0), *B = randn((long)(tb ? N : K) * ldb, 1.0);
  float *C = randn((long)M * ldc, 1.0), *R = malloc(sizeof(float) * (size_t)M * ldc);
  if (beta == 0.0f)
    for (long i = 0; i < (long)M * ldc; i++) C[i] = NAN; /* beta = 0 must not read C */
  memcpy(R, C, sizeof(float) * (size_t)M * ldc);
  ds_sgemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  ds_sgemm_naive(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, R, ldc);
  int pad_ok = 1, finite = 1;
  double e = 0.0, m = 0.0;
  for (int i = 0; i < M; i++)
    for (int j = 0; j < ldc; j++) {
      const float c = C[(long)i * ldc + j], r = R[(long)i * ldc + j];
      if (j >= N) { /* the padding columns of C are never written */
        pad_ok &= memcmp(&c, &r, sizeof c) == 0;
        continue;
      }
      finite &= isfinite(c);
      e = fmax(e, fabs((double)c - r));
      m = fmax(m, fabs((double)r));
    }
  /* float accumulation over K terms against a double reference */
  const double tol = 1e-6 * sqrt((double)K) + 1e-6;
  CHECK_MSG(finite && pad_ok && e <= tol * (m + 1e-30), "sgemm %c%c M %d N %d K %d pad %d alpha %g beta %g: rel err %.3g",
            ta ? 'T' : 'N', tb ? 'T' : 'N', M, N, K, pad, alpha, beta, e / (m + 1e-30));
  free(A);
  free(B);
  free(C);
  free(R);
}

static void test_sgemm(void) {
  static const int sizes[][3] = {{1, 1, 1},    {12, 32, 16},  {13, 33, 17},  {11, 31, 15}, {37, 45, 29},
                                 {64, 96, 64}, {100, 70, 300}, {250, 40, 513}, {30, 1100, 40}, {7, 5, 1000}};
  for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
    for (int ta = 0; ta < 2; ta++)
      for (int tb = 0; tb < 2; tb++) {
        const int M = sizes[s][0], N = sizes[s][1], K = sizes[s][2];
        test_sgemm_case(ta, tb, M, N, K, 0, 1.0f, 0.0f);
        test_sgemm_case(ta, tb, M, N, K, 3, 0.5f, 1.0f);
        test_sgemm_case(ta, tb, M, N, K, 16, -1.25f, 0.75f);
      }
  /* K = 0: C = beta C */
  float c[4] = {1, 2, 3, 4}, a = 0.0f;
  ds_sgemm(0, 0, 2, 2, 0, 1.0f, &a, 1, &a, 2, 0.5f, c, 2);
  CHECK(c[0] == 0.5f && c[3] == 2.0f);
}

static void test_gelu(void) {
  const long n = 4099;
  float *x = randn(n, 3.0), *y = malloc(sizeof(float) * n), *r = malloc(sizeof(float) * n);
  x[0] = 0.0f;
  x[1] = 30.0f; /* saturated: exactly x */
  x[2] = -30.0f; /* saturated: 0 to float precision */
  x[3] = 1e-6f;
  ds_gelu_forward(y, x, n);
  ds_gelu_forward_naive(r, x, n);
  double worst = 0.0;
  for (long i = 0; i < n; i++) worst = fmax(worst, fabs((double)y[i] - r[i]) / (fabs((double)r[i]) + 1e-3));
  printf("gelu forward: worst error %.3g (relative, floor 1e-3)\n", worst);
  CHECK(worst < 1e-5);
  CHECK(y[0] == 0.0f && y[1] == 30.0f && fabsf(y[2]) < 1e-30f);
  float *d = randn(n, 1.0), *g = calloc(n, sizeof(float)), *gr = calloc(n, sizeof(float));
  for (long i = 0; i < n; i++) g[i] = gr[i] = 0.25f; /* backward accumulates */
  ds_gelu_backward(g, x, d, n);
  ds_gelu_backward_naive(gr, x, d, n);
  const double eb = rel_max(g, gr, n);
  printf("gelu backward: rel err %.3g\n", eb);
  CHECK(eb < 1e-5);
  free(x), free(y), free(r), free(d), free(g), free(gr);
}

/* Fast against naive kernels in both layouts: padded (row 2 has no valid key at all) and packed (row 2 then
 * has no rows). */
static void test_attention_backward(ds_pack_mode mode) {
  const int B = 3, T = 19, H = 3, hd = 8, HD = H * hd;
  uint8_t mask[3 * 19];
  for (int b = 0; b < B; b++)
    for (int t = 0; t < T; t++) mask[b * T + t] = b == 2 ? 0 : t < T - 5 * b;
  ds_token_pack pk = {0};
  ds_err err;
  CHECK(ds_token_pack_build(&pk, mask, B, T, mode, 0, &err) == 0);
  const long R = pk.n_rows, S = H * ds_token_pack_scores(&pk);
  float *qkv = randn(R * 3 * HD, 1.0), *dout = randn(R * HD, 1.0);
  float *out = malloc(sizeof(float) * R * HD), *probs = malloc(sizeof(float) * S);
  float *sc = malloc(sizeof(float) * S), *sc2 = malloc(sizeof(float) * S);
  float *d1 = randn(R * 3 * HD, 0.1), *d2 = malloc(sizeof(float) * R * 3 * HD);
  memcpy(d2, d1, sizeof(float) * R * 3 * HD); /* both accumulate onto the same start */
  ds_attention_forward(out, probs, qkv, &pk, H, hd);
  float *ref = malloc(sizeof(float) * R * HD), *pref = malloc(sizeof(float) * S);
  ds_attention_forward_naive(ref, pref, qkv, &pk, H, hd);
  CHECK(rel_max(out, ref, R * HD) < 1e-5);
  CHECK(rel_max(probs, pref, S) < 1e-5);
  ds_attention_backward(d1, sc, dout, qkv, probs, &pk, H, hd);
  ds_attention_backward_naive(d2, sc2, dout, qkv, probs, &pk, H, hd);
  const double e = rel_max(d1, d2, R * 3 * HD);
  printf("attention backward (%s, %ld rows): rel err %.3g\n", mode ? "packed" : "padded", R, e);
  CHECK(e < 1e-5);
  free(qkv), free(dout), free(out), free(probs), free(sc), free(sc2), free(d1), free(d2), free(ref), free(pref);
  ds_token_pack_free(&pk);
}

/* Column sums are per column in row order: identical bits for 1 and 3 threads. */
static void test_thread_independence(void) {
  const int N = 77, C = 300, IC = 9;
  float *dout = randn((long)N * C, 1.0), *inp = randn((long)N * IC, 1.0), *w = randn((long)C * IC, 1.0);
  float *x = randn((long)N * C, 2.0), *lw = randn(C, 1.0), *lb = randn(C, 1.0);
  float *db[2], *dw[2], *ldw[2], *ldb[2], *dx[2], mean[77], rstd[77], *y = malloc(sizeof(float) * N * C);
  ds_layernorm_forward(y, mean, rstd, x, lw, lb, N, C);
  const int threads[2] = {1, 3};
  for (int k = 0; k < 2; k++) {
    omp_set_num_threads(threads[k]);
    db[k] = calloc(C, sizeof(float));
    dw[k] = calloc((size_t)C * IC, sizeof(float));
    ldw[k] = calloc(C, sizeof(float));
    ldb[k] = calloc(C, sizeof(float));
    dx[k] = calloc((size_t)N * C, sizeof(float));
    ds_linear_backward(NULL, dw[k], db[k], dout, inp, w, N, IC, C);
    ds_layernorm_backward(dx[k], ldw[k], ldb[k], dout, x, lw, mean, rstd, N, C);
  }
  CHECK(memcmp(db[0], db[1], sizeof(float) * C) == 0);
  CHECK(memcmp(ldw[0], ldw[1], sizeof(float) * C) == 0);
  CHECK(memcmp(ldb[0], ldb[1], sizeof(float) * C) == 0);
  CHECK(memcmp(dx[0], dx[1], sizeof(float) * N * C) == 0);
  for (int k = 0; k < 2; k++) free(db[k]), free(dw[k]), free(ldw[k]), free(ldb[k]), free(dx[k]);
  free(dout), free(inp), free(w), free(x), free(lw), free(lb), free(y);
  omp_set_num_threads(2);
}

int main(void) {
  rng = gsl_rng_alloc(gsl_rng_mt19937);
  gsl_rng_set(rng, 11);
  test_sgemm();
  test_gelu();
  test_attention_backward(DS_PACK_PADDED);
  test_attention_backward(DS_PACK_VALID);
  test_thread_independence();
  gsl_rng_free(rng);
  return check_report();
}
