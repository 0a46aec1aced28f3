/* LayerNorm over the channel axis, as torch.nn.LayerNorm (biased variance, eps inside the sqrt). */
#include <math.h>
#include <omp.h>

#include "model/ops.h"
#include "model/student.h"

#define LN_BLOCK 256 /* channels accumulated at once in the parameter gradients */

void ds_layernorm_forward(float *out, float *mean, float *rstd, const float *inp, const float *w, const float *b,
                          int N, int C) {
#pragma omp parallel for schedule(static)
  for (int n = 0; n < N; n++) {
    const float *x = inp + (long)n * C;
    /* Two passes in double: the variance of activations with a large mean stays accurate. */
    double m = 0.0, v = 0.0;
    for (int c = 0; c < C; c++) m += x[c];
    m /= C;
    for (int c = 0; c < C; c++) v += (x[c] - m) * (x[c] - m);
    v /= C;
    const float r = (float)(1.0 / sqrt(v + DS_LN_EPS));
    float *y = out + (long)n * C;
    for (int c = 0; c < C; c++) y[c] = ((x[c] - (float)m) * r) * w[c] + b[c];
    mean[n] = (float)m;
    rstd[n] = r;
  }
}

void ds_layernorm_backward(float *dinp, float *dw, float *db, const float *dout, const float *inp,
                           const float *w, const float *mean, const float *rstd, int N, int C) {
  /* Input gradient, row by row: dx = rstd * (g - mean(g) - xhat * mean(g * xhat)), g = dout * w. */
#pragma omp parallel for schedule(static)
  for (int n = 0; n < N; n++) {
    const float *x = inp + (long)n * C, *dy = dout + (long)n * C;
    const float m = mean[n], r = rstd[n];
    double g_mean = 0.0, gx_mean = 0.0;
    for (int c = 0; c < C; c++) {
      const float xhat = (x[c] - m) * r, g = dy[c] * w[c];
      g_mean += g;
      gx_mean += g * xhat;
    }
    g_mean /= C;
    gx_mean /= C;
    float *dx = dinp + (long)n * C;
    for (int c = 0; c < C; c++) {
      const float xhat = (x[c] - m) * r, g = dy[c] * w[c];
      dx[c] += r * (g - (float)g_mean - xhat * (float)gx_mean);
    }
  }
  /* Parameter gradients: each thread a range of channels, rows added in order into small accumulator blocks.
   * Reading row segments keeps the loads contiguous (a channel-major loop strides by C), and every channel is
   * still summed in row order, so the result ignores the thread count. */
#pragma omp parallel
  {
    const int t = omp_get_thread_num(), nt = omp_get_num_threads();
    const int c0 = (int)((long)C * t / nt), c1 = (int)((long)C * (t + 1) / nt);
    for (int b0 = c0; b0 < c1; b0 += LN_BLOCK) {
      const int wd = c1 - b0 < LN_BLOCK ? c1 - b0 : LN_BLOCK;
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
}
