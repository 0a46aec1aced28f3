/* Linear layers through OpenBLAS sgemm, with a plain-loop reference twin. */
#include <cblas.h>
#include <string.h>

#include "model/ops.h"

static void add_bias(float *out, const float *bias, int N, int OC) {
  if (!bias) return;
#pragma omp parallel for schedule(static)
  for (int n = 0; n < N; n++)
    for (int o = 0; o < OC; o++) out[(long)n * OC + o] += bias[o];
}

void ds_linear_forward(float *out, const float *inp, const float *w, const float *bias, int N, int IC, int OC) {
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, OC, IC, 1.0f, inp, IC, w, IC, 0.0f, out, OC);
  add_bias(out, bias, N, OC);
}

void ds_linear_forward_naive(float *out, const float *inp, const float *w, const float *bias, int N, int IC,
                             int OC) {
  for (int n = 0; n < N; n++)
    for (int o = 0; o < OC; o++) {
      float acc = bias ? bias[o] : 0.0f;
      for (int i = 0; i < IC; i++) acc += inp[(long)n * IC + i] * w[(long)o * IC + i];
      out[(long)n * OC + o] = acc;
    }
}

static void bias_backward(float *dbias, const float *dout, int N, int OC) {
  if (!dbias) return;
  /* Parallel over output channels, each summing rows in order: deterministic for any thread count. */
#pragma omp parallel for schedule(static)
  for (int o = 0; o < OC; o++) {
    float acc = 0.0f;
    for (int n = 0; n < N; n++) acc += dout[(long)n * OC + o];
    dbias[o] += acc;
  }
}

void ds_linear_backward(float *dinp, float *dw, float *dbias, const float *dout, const float *inp, const float *w,
                        int N, int IC, int OC) {
  if (dinp)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, IC, OC, 1.0f, dout, OC, w, IC, 1.0f, dinp, IC);
  cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, OC, IC, N, 1.0f, dout, OC, inp, IC, 1.0f, dw, IC);
  bias_backward(dbias, dout, N, OC);
}

void ds_linear_backward_naive(float *dinp, float *dw, float *dbias, const float *dout, const float *inp,
                              const float *w, int N, int IC, int OC) {
  for (int n = 0; n < N; n++)
    for (int o = 0; o < OC; o++) {
      const float d = dout[(long)n * OC + o];
      for (int i = 0; i < IC; i++) {
        if (dinp) dinp[(long)n * IC + i] += d * w[(long)o * IC + i];
        dw[(long)o * IC + i] += d * inp[(long)n * IC + i];
      }
      if (dbias) dbias[o] += d;
    }
}
