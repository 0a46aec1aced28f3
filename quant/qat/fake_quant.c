#include "quant/qat/qat.h"

#include <math.h>

void ds_fake_quant_tensor(float *x, size_t n, const ds_qparams *qp, uint8_t *mask) {
  for (size_t i = 0; i < n; i++) {
    float c = ds_qparams_code(qp, x[i]);
    if (mask) mask[i] = c >= (float)qp->qmin && c <= (float)qp->qmax;
    x[i] = ds_qparams_dequantize(qp, ds_qparams_quantize(qp, x[i]));
  }
}

int ds_fake_quant_rows(float *w, int rows, int cols, const float *scales, int bits, uint8_t *mask) {
  ds_qparams qp = {0};
  if (!w || !scales || rows < 0 || cols < 0 || ds_qparams_bits_range(bits, 1, &qp.qmin, &qp.qmax))
    return -1;
  for (int r = 0; r < rows; r++) {
    qp.scale = scales[r];
    if (!(qp.scale > 0.0f)) return -1;
    size_t off = (size_t)r * cols;
    ds_fake_quant_tensor(w + off, (size_t)cols, &qp, mask ? mask + off : NULL);
  }
  return 0;
}

void ds_fake_quant_backward(float *grad_x, const float *grad_y, const uint8_t *mask, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (mask[i]) grad_x[i] += grad_y[i];
}

void ds_fake_quant_mask_apply(float *grad, const uint8_t *mask, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!mask[i]) grad[i] = 0.0f;
}

float ds_lsq_grad_scale(size_t n, int32_t q_p) {
  if (n == 0 || q_p <= 0) return 0.0f;
  return (float)(1.0 / sqrt((double)n * (double)q_p));
}

void ds_lsq_backward(const float *x, const float *grad_y, size_t n, const ds_qparams *qp,
                     float *grad_scale) {
  ds_lsq_backward_share(x, grad_y, n, n, qp, grad_scale);
}

void ds_lsq_backward_share(const float *x, const float *grad_y, size_t n, size_t n_all, const ds_qparams *qp,
                           float *grad_scale) {
  int32_t q_p = qp->qmin == -qp->qmax ? qp->qmax : qp->qmax - qp->qmin;
  double sum = 0.0;
  for (size_t i = 0; i < n; i++) {
    float c = ds_qparams_code(qp, x[i]);
    double d;
    if (c < (float)qp->qmin)
      d = qp->qmin - qp->zero_point;
    else if (c > (float)qp->qmax)
      d = qp->qmax - qp->zero_point;
    else if (c == c) {
      float v = x[i] / qp->scale;
      d = (double)roundf(v) - (double)v;
    } else {
      d = 0.0; /* NaN input: no gradient */
    }
    sum += (double)grad_y[i] * d;
  }
  *grad_scale += (float)(sum * ds_lsq_grad_scale(n_all, q_p));
}

int ds_lsq_rows_backward(const float *w, const float *grad_w, int rows, int cols,
                         const float *scales, int bits, float *grad_scales) {
  ds_qparams qp = {0};
  if (!w || !grad_w || !scales || !grad_scales || rows < 0 || cols < 0 ||
      ds_qparams_bits_range(bits, 1, &qp.qmin, &qp.qmax))
    return -1;
  for (int r = 0; r < rows; r++) {
    qp.scale = scales[r];
    if (!(qp.scale > 0.0f)) return -1;
    size_t off = (size_t)r * cols;
    ds_lsq_backward(w + off, grad_w + off, (size_t)cols, &qp, &grad_scales[r]);
  }
  return 0;
}
