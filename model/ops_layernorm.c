/* LayerNorm over the channel axis, as torch.nn.LayerNorm (biased variance, eps inside the sqrt). */
#include <math.h>

#include "model/ops.h"
#include "model/student.h"

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
  /* Parameter gradients, channel by channel, rows summed in order: deterministic for any thread count. */
#pragma omp parallel for schedule(static)
  for (int c = 0; c < C; c++) {
    float dwc = 0.0f, dbc = 0.0f;
    for (int n = 0; n < N; n++) {
      const float xhat = (inp[(long)n * C + c] - mean[n]) * rstd[n], dy = dout[(long)n * C + c];
      dwc += dy * xhat;
      dbc += dy;
    }
    dw[c] += dwc;
    db[c] += dbc;
  }
}
