/* The int8 kernels that compute internally in floating point; int8_ops.h says why. */
#include "quant/int8/int8_ops.h"

#include <math.h>

static int qparams_ok(const ds_qparams *q) {
  return q && q->scale > 0.0f && isfinite(q->scale) && q->qmin >= INT8_MIN && q->qmax <= INT8_MAX &&
         q->qmin <= q->qmax;
}

size_t ds_i8_layernorm_buffer_size(int cols) {
  return cols > 0 ? (size_t)cols * sizeof(float) : 0;
}

int ds_i8_layernorm(const ds_qparams *in, const ds_qparams *out, const float *gamma,
                    const float *beta, float eps, const int8_t *x, int rows, int cols,
                    void *scratch, int8_t *y) {
  if (!qparams_ok(in) || !qparams_ok(out) || !gamma || !beta || !x || !y || !scratch) return -1;
  if (rows < 0 || cols <= 0 || !(eps >= 0.0f)) return -1;
  float *xf = scratch; /* (cols): the dequantized row */
  for (int r = 0; r < rows; r++) {
    const int8_t *xr = x + (size_t)r * cols;
    float mean = 0.0f, var = 0.0f;
    for (int c = 0; c < cols; c++) {
      xf[c] = ds_qparams_dequantize(in, xr[c]);
      mean += xf[c];
    }
    mean /= (float)cols;
    for (int c = 0; c < cols; c++) var += (xf[c] - mean) * (xf[c] - mean);
    var /= (float)cols;
    float rstd = 1.0f / sqrtf(var + eps);
    for (int c = 0; c < cols; c++) {
      float v = (xf[c] - mean) * rstd * gamma[c] + beta[c];
      y[(size_t)r * cols + c] = (int8_t)ds_qparams_quantize(out, v);
    }
  }
  return 0;
}

size_t ds_i8_softmax_buffer_size(int cols) {
  return cols > 0 ? (size_t)cols * sizeof(float) : 0;
}

int ds_i8_softmax(const ds_qparams *in, const int8_t *x, const uint8_t *key_mask, int rows,
                  int cols, void *scratch, int8_t *y) {
  if (!qparams_ok(in) || !x || !y || !scratch || rows < 0 || cols <= 0) return -1;
  const ds_qparams out = {DS_I8_SOFTMAX_SCALE, DS_I8_SOFTMAX_ZP, INT8_MIN, INT8_MAX};
  float *e = scratch; /* (cols): exp of the shifted logits */
  for (int r = 0; r < rows; r++) {
    const int8_t *xr = x + (size_t)r * cols;
    int8_t *yr = y + (size_t)r * cols;
    int32_t qmax = INT32_MIN;
    for (int c = 0; c < cols; c++)
      if ((!key_mask || key_mask[c]) && xr[c] > qmax) qmax = xr[c];
    float sum = 0.0f;
    if (qmax != INT32_MIN) {
      float m = ds_qparams_dequantize(in, qmax); /* subtracting the max keeps exp() <= 1 */
      for (int c = 0; c < cols; c++) {
        e[c] = (!key_mask || key_mask[c]) ? expf(ds_qparams_dequantize(in, xr[c]) - m) : 0.0f;
        sum += e[c];
      }
    }
    for (int c = 0; c < cols; c++)
      yr[c] = (int8_t)(sum > 0.0f ? ds_qparams_quantize(&out, e[c] / sum) : DS_I8_SOFTMAX_ZP);
  }
  return 0;
}

double ds_gelu_tanh(double x) {
  const double k = 0.7978845608028654; /* sqrt(2 / pi) */
  return 0.5 * x * (1.0 + tanh(k * (x + 0.044715 * x * x * x)));
}

int ds_i8_lut_build(int8_t lut[256], const ds_qparams *in, const ds_qparams *out,
                    double (*f)(double)) {
  if (!lut || !f || !qparams_ok(in) || !qparams_ok(out)) return -1;
  for (int q = INT8_MIN; q <= INT8_MAX; q++) {
    double x = (double)(q - in->zero_point) * (double)in->scale;
    double c = round(f(x) / (double)out->scale) + out->zero_point;
    if (!(c >= out->qmin)) c = out->qmin; /* NaN from f lands at qmin, as in ds_qparams_quantize */
    if (c > out->qmax) c = out->qmax;
    lut[(uint8_t)q] = (int8_t)c;
  }
  return 0;
}

int ds_i8_gelu_lut_build(int8_t lut[256], const ds_qparams *in, const ds_qparams *out) {
  return ds_i8_lut_build(lut, in, out, ds_gelu_tanh);
}

void ds_i8_lut_apply(const int8_t lut[256], const int8_t *x, size_t n, int8_t *y) {
  for (size_t i = 0; i < n; i++) y[i] = lut[(uint8_t)x[i]];
}
