/* LayerNorm over the channel axis, as torch.nn.LayerNorm (biased variance, eps inside the sqrt). */
#include <math.h>
#include <omp.h>

#include "kernels/kernels.h"
#include "kernels/ops_simd.h"

#define LN_BLOCK 256 /* channels accumulated at once in the parameter gradients */

/* Rows [n0, n1). The sums are in double, two passes: the variance of activations with a large mean stays
 * accurate. `omp simd reduction` lets the compiler keep one partial sum per vector lane (a fixed order for a
 * given machine, whatever the thread count). */
DS_VEC_CLONES static void layernorm_forward_rows(float *restrict out, float *restrict mean, float *restrict rstd,
                                                 const float *restrict inp, const float *restrict w,
                                                 const float *restrict b, long n0, long n1, int C) {
  for (long n = n0; n < n1; n++) {
    const float *x = inp + n * C;
    double m = 0.0, v = 0.0;
#pragma omp simd reduction(+ : m)
    for (int c = 0; c < C; c++) m += x[c];
    m /= C;
#pragma omp simd reduction(+ : v)
    for (int c = 0; c < C; c++) v += (x[c] - m) * (x[c] - m);
    v /= C;
    const float r = (float)(1.0 / sqrt(v + DS_LN_EPS)), mf = (float)m;
    float *y = out + n * C;
    for (int c = 0; c < C; c++) y[c] = ((x[c] - mf) * r) * w[c] + b[c];
    mean[n] = mf;
    rstd[n] = r;
  }
}

void ds_layernorm_forward(float *out, float *mean, float *rstd, const float *inp, const float *w, const float *b,
                          int N, int C) {
#pragma omp parallel
  {
    long n0, n1;
    ds_thread_range(N, omp_get_thread_num(), omp_get_num_threads(), &n0, &n1);
    layernorm_forward_rows(out, mean, rstd, inp, w, b, n0, n1, C);
  }
}

/* Input gradient of rows [n0, n1): dx = rstd * (g - mean(g) - xhat * mean(g * xhat)), g = dout * w. */
DS_VEC_CLONES static void layernorm_backward_rows(float *restrict dinp, const float *restrict dout,
                                                  const float *restrict inp, const float *restrict w,
                                                  const float *restrict mean, const float *restrict rstd, long n0,
                                                  long n1, int C) {
  for (long n = n0; n < n1; n++) {
    const float *x = inp + n * C, *dy = dout + n * C;
    const float m = mean[n], r = rstd[n];
    double g_mean = 0.0, gx_mean = 0.0;
#pragma omp simd reduction(+ : g_mean, gx_mean)
    for (int c = 0; c < C; c++) {
      const float xhat = (x[c] - m) * r, g = dy[c] * w[c];
      g_mean += g;
      gx_mean += g * xhat;
    }
    const float gm = (float)(g_mean / C), gxm = (float)(gx_mean / C);
    float *dx = dinp + n * C;
    for (int c = 0; c < C; c++) {
      const float xhat = (x[c] - m) * r, g = dy[c] * w[c];
      dx[c] += r * (g - gm - xhat * gxm);
    }
  }
}

/* Parameter gradients of channels [c0, c1): rows added in order into small accumulator blocks. Reading row
 * segments keeps the loads contiguous (a channel-major loop strides by C), and every channel is still summed
 * in row order, so the result ignores the thread count. */
DS_VEC_CLONES static void layernorm_backward_params(float *restrict dw, float *restrict db,
                                                    const float *restrict dout, const float *restrict inp,
                                                    const float *restrict mean, const float *restrict rstd, int N,
                                                    int C, long c0, long c1) {
  for (long b0 = c0; b0 < c1; b0 += LN_BLOCK) {
    const int wd = c1 - b0 < LN_BLOCK ? (int)(c1 - b0) : LN_BLOCK;
    float dwc[LN_BLOCK] = {0}, dbc[LN_BLOCK] = {0};
    for (int n = 0; n < N; n++) {
      const float *x = inp + (long)n * C + b0, *dy = dout + (long)n * C + b0;
      const float m = mean[n], r = rstd[n];
      for (int c = 0; c < wd; c++) {
        dwc[c] += dy[c] * ((x[c] - m) * r);
        dbc[c] += dy[c];
      }
    }
    for (int c = 0; c < wd; c++) {
      dw[b0 + c] += dwc[c];
      db[b0 + c] += dbc[c];
    }
  }
}

void ds_layernorm_backward(float *dinp, float *dw, float *db, const float *dout, const float *inp,
                           const float *w, const float *mean, const float *rstd, int N, int C) {
#pragma omp parallel
  {
    const int t = omp_get_thread_num(), nt = omp_get_num_threads();
    long n0, n1, c0, c1;
    ds_thread_range(N, t, nt, &n0, &n1);
    ds_thread_range(C, t, nt, &c0, &c1);
    layernorm_backward_rows(dinp, dout, inp, w, mean, rstd, n0, n1, C);
    layernorm_backward_params(dw, db, dout, inp, mean, rstd, N, C, c0, c1);
  }
}
