/* Embedding lookup, pooling, GELU, residual adds and unit masks: the memory-bound layers. */
#include <math.h>
#include <omp.h>
#include <string.h>

#include "kernels/kernels.h"
#include "kernels/ops_simd.h"

#define GELU_K 0.7978845608028654f /* sqrt(2 / pi) */

/* 0.5 x (1 + tanh(u)) = x sigmoid(2u): one exp, and no cancellation in 1 + tanh(u) where tanh(u) is near -1.
 * (glibc's scalar expf, and tanhf before it, dominated the GELU passes.) */
static inline float sigmoid2(float u) { return 1.0f / (1.0f + ds_exp_vec(-2.0f * u)); }

DS_VEC_CLONES static void gelu_forward_range(float *restrict out, const float *restrict inp, long i0, long i1) {
  for (long i = i0; i < i1; i++) {
    const float x = inp[i];
    out[i] = x * sigmoid2(GELU_K * (x + 0.044715f * x * x * x));
  }
}

/* d/dx: with s = sigmoid(2u), 1 + tanh(u) = 2s and 1 - tanh(u)^2 = 4 s (1 - s). */
DS_VEC_CLONES static void gelu_backward_range(float *restrict dinp, const float *restrict inp,
                                              const float *restrict dout, long i0, long i1) {
  for (long i = i0; i < i1; i++) {
    const float x = inp[i];
    const float s = sigmoid2(GELU_K * (x + 0.044715f * x * x * x));
    const float grad = s + 2.0f * x * s * (1.0f - s) * GELU_K * (1.0f + 3.0f * 0.044715f * x * x);
    dinp[i] += grad * dout[i];
  }
}

void ds_gelu_forward(float *out, const float *inp, long n) {
#pragma omp parallel
  {
    long i0, i1;
    ds_thread_range(n, omp_get_thread_num(), omp_get_num_threads(), &i0, &i1);
    gelu_forward_range(out, inp, i0, i1);
  }
}

void ds_gelu_backward(float *dinp, const float *inp, const float *dout, long n) {
#pragma omp parallel
  {
    long i0, i1;
    ds_thread_range(n, omp_get_thread_num(), omp_get_num_threads(), &i0, &i1);
    gelu_backward_range(dinp, inp, dout, i0, i1);
  }
}

/* References in double through libm's tanh. */
void ds_gelu_forward_naive(float *out, const float *inp, long n) {
  for (long i = 0; i < n; i++) {
    const double x = inp[i];
    out[i] = (float)(0.5 * x * (1.0 + tanh(0.7978845608028654 * (x + 0.044715 * x * x * x))));
  }
}

void ds_gelu_backward_naive(float *dinp, const float *inp, const float *dout, long n) {
  for (long i = 0; i < n; i++) {
    const double x = inp[i], th = tanh(0.7978845608028654 * (x + 0.044715 * x * x * x));
    const double grad =
        0.5 * (1.0 + th) + 0.5 * x * (1.0 - th * th) * 0.7978845608028654 * (1.0 + 3.0 * 0.044715 * x * x);
    dinp[i] += (float)(grad * dout[i]);
  }
}

void ds_embedding_forward(float *out, const int32_t *ids, const float *tok, const float *pos, const ds_token_pack *p,
                          int C) {
#pragma omp parallel for schedule(static)
  for (int r = 0; r < p->n_rows; r++) {
    const int i = p->row[r];
    const float *te = tok + (long)ids[i] * C;
    float *o = out + (long)r * C;
    if (!pos) {
      memcpy(o, te, sizeof(float) * (size_t)C);
      continue;
    }
    const float *pe = pos + (long)(i % p->T) * C;
    for (int c = 0; c < C; c++) o[c] = te[c] + pe[c];
  }
}

void ds_embedding_backward(float *dtok, float *dpos, const float *dout, const int32_t *ids, const ds_token_pack *p,
                           int C) {
  /* Sequential over rows: the same id can occur many times, and the order of sums stays fixed. */
  for (int r = 0; r < p->n_rows; r++) {
    const int i = p->row[r];
    const float *d = dout + (long)r * C;
    if (dtok) {
      float *dt = dtok + (long)ids[i] * C;
      for (int c = 0; c < C; c++) dt[c] += d[c];
    }
    if (!dpos) continue;
    float *dp = dpos + (long)(i % p->T) * C;
    for (int c = 0; c < C; c++) dp[c] += d[c];
  }
}

/* Rows of sequence b that pooling averages (its valid tokens). */
static int count_valid(const ds_token_pack *p, int b) {
  int n = 0;
  for (int r = p->seq_start[b]; r < p->seq_start[b + 1]; r++) n += p->key_ok[r] != 0;
  return n;
}

void ds_pool_forward(float *out, const float *inp, const ds_token_pack *p, int cls, int C) {
#pragma omp parallel for schedule(static)
  for (int b = 0; b < p->B; b++) {
    float *o = out + (long)b * C;
    const int r0 = p->seq_start[b], r1 = p->seq_start[b + 1];
    memset(o, 0, sizeof(float) * C);
    if (cls) {
      if (r1 > r0) memcpy(o, inp + (long)r0 * C, sizeof(float) * C);
      continue;
    }
    const int n = count_valid(p, b);
    if (n == 0) continue;
    for (int r = r0; r < r1; r++)
      if (p->key_ok[r])
        for (int c = 0; c < C; c++) o[c] += inp[(long)r * C + c];
    const float inv = 1.0f / (float)n;
    for (int c = 0; c < C; c++) o[c] *= inv;
  }
}

void ds_pool_backward(float *dinp, const float *dout, const ds_token_pack *p, int cls, int C) {
#pragma omp parallel for schedule(static)
  for (int b = 0; b < p->B; b++) {
    const float *d = dout + (long)b * C;
    const int r0 = p->seq_start[b], r1 = p->seq_start[b + 1];
    if (cls) {
      if (r1 > r0)
        for (int c = 0; c < C; c++) dinp[(long)r0 * C + c] += d[c];
      continue;
    }
    const int n = count_valid(p, b);
    if (n == 0) continue;
    const float inv = 1.0f / (float)n;
    for (int r = r0; r < r1; r++)
      if (p->key_ok[r])
        for (int c = 0; c < C; c++) dinp[(long)r * C + c] += d[c] * inv;
  }
}

void ds_residual_forward(float *out, const float *a, const float *b, long n) {
#pragma omp parallel for schedule(static)
  for (long i = 0; i < n; i++) out[i] = a[i] + b[i];
}

void ds_accumulate(float *y, const float *x, long n) {
#pragma omp parallel for schedule(static)
  for (long i = 0; i < n; i++) y[i] += x[i];
}

void ds_unit_mask_apply(float *x, const float *unit_mask, int N, int U, int width) {
  /* Nothing is pruned in most runs: skip the pass over x (and its per-element branch) entirely. */
  int u0 = 0;
  while (u0 < U && unit_mask[u0] == 1.0f) u0++;
  if (u0 == U) return;
#pragma omp parallel for schedule(static)
  for (int n = 0; n < N; n++)
    for (int u = u0; u < U; u++) {
      const float m = unit_mask[u];
      if (m == 1.0f) continue;
      float *xs = x + ((long)n * U + u) * width;
      for (int w = 0; w < width; w++) xs[w] *= m;
    }
}
