#include "quant/int8/qparams.h"

#include <math.h>

int ds_qparams_bits_range(int bits, int symmetric, int32_t *qmin, int32_t *qmax) {
  if (bits < DS_QUANT_BITS_MIN || bits > DS_QUANT_BITS_MAX || !qmin || !qmax) return -1;
  int32_t hi = (1 << (bits - 1)) - 1;
  *qmax = hi;
  *qmin = symmetric ? -hi : -hi - 1;
  return 0;
}

static float safe_scale(double range, int32_t levels) {
  if (range == 0.0) return 1.0f;
  float s = (float)(range / levels);
  return s < DS_QUANT_SCALE_MIN ? DS_QUANT_SCALE_MIN : s;
}

int ds_qparams_asymmetric(float min, float max, int bits, ds_qparams *qp) {
  if (!qp || !isfinite(min) || !isfinite(max) || min > max) return -1;
  if (ds_qparams_bits_range(bits, 0, &qp->qmin, &qp->qmax)) return -1;
  if (min > 0.0f) min = 0.0f;
  if (max < 0.0f) max = 0.0f;
  qp->scale = safe_scale((double)max - (double)min, qp->qmax - qp->qmin);
  /* The real zero point lies in [qmin, qmax] already; rounding it to an integer shifts the
   * represented range by under half a step, which is the "nudge". */
  double zp = round((double)qp->qmin - (double)min / qp->scale);
  if (zp < qp->qmin) zp = qp->qmin;
  if (zp > qp->qmax) zp = qp->qmax;
  qp->zero_point = (int32_t)zp;
  return 0;
}

int ds_qparams_symmetric(float absmax, int bits, ds_qparams *qp) {
  if (!qp || !isfinite(absmax) || absmax < 0.0f) return -1;
  if (ds_qparams_bits_range(bits, 1, &qp->qmin, &qp->qmax)) return -1;
  qp->scale = safe_scale(absmax, qp->qmax);
  qp->zero_point = 0;
  return 0;
}

int ds_qparams_rows(const float *w, int rows, int cols, int bits, float *scales) {
  int32_t qmin, qmax;
  if (!w || !scales || rows < 0 || cols < 0 || ds_qparams_bits_range(bits, 1, &qmin, &qmax))
    return -1;
  for (int r = 0; r < rows; r++) {
    float m = 0.0f;
    for (int c = 0; c < cols; c++) {
      float a = fabsf(w[(size_t)r * cols + c]);
      if (!isfinite(a)) return -1;
      if (a > m) m = a;
    }
    scales[r] = safe_scale(m, qmax);
  }
  return 0;
}

float ds_qparams_code(const ds_qparams *qp, float x) {
  return roundf(x / qp->scale) + (float)qp->zero_point;
}

int32_t ds_qparams_quantize(const ds_qparams *qp, float x) {
  float c = ds_qparams_code(qp, x);
  if (!(c >= (float)qp->qmin)) return qp->qmin; /* also catches NaN */
  if (c > (float)qp->qmax) return qp->qmax;
  return (int32_t)c;
}

float ds_qparams_dequantize(const ds_qparams *qp, int32_t q) {
  return (float)(q - qp->zero_point) * qp->scale;
}

void ds_quant_tensor(const ds_qparams *qp, const float *x, size_t n, int8_t *q) {
  for (size_t i = 0; i < n; i++) q[i] = (int8_t)ds_qparams_quantize(qp, x[i]);
}

void ds_dequant_tensor(const ds_qparams *qp, const int8_t *q, size_t n, float *x) {
  for (size_t i = 0; i < n; i++) x[i] = ds_qparams_dequantize(qp, q[i]);
}

int ds_quant_rows(const float *w, int rows, int cols, const float *scales, int bits, int8_t *q) {
  ds_qparams qp = {0};
  if (!w || !scales || !q || rows < 0 || cols < 0 || ds_qparams_bits_range(bits, 1, &qp.qmin, &qp.qmax))
    return -1;
  for (int r = 0; r < rows; r++) {
    qp.scale = scales[r];
    if (!(qp.scale > 0.0f)) return -1;
    ds_quant_tensor(&qp, w + (size_t)r * cols, (size_t)cols, q + (size_t)r * cols);
  }
  return 0;
}

int ds_dequant_rows(const int8_t *q, int rows, int cols, const float *scales, float *w) {
  if (!q || !scales || !w || rows < 0 || cols < 0) return -1;
  for (int r = 0; r < rows; r++)
    for (int c = 0; c < cols; c++)
      w[(size_t)r * cols + c] = (float)q[(size_t)r * cols + c] * scales[r];
  return 0;
}

int ds_quant_bias(const float *b, size_t n, float s_in, const float *s_w, int32_t *q) {
  if (!b || !s_w || !q) return -1;
  for (size_t i = 0; i < n; i++) {
    float s = s_in * s_w[i];
    if (!(s > 0.0f) || !isfinite(b[i])) return -1;
    double v = round((double)b[i] / (double)s);
    if (v > INT32_MAX) v = INT32_MAX;
    if (v < -INT32_MAX) v = -INT32_MAX;
    q[i] = (int32_t)v;
  }
  return 0;
}
