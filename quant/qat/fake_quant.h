/* The float side of quantization-aware training: fake quantization with a straight-through
 * estimator (STE), range observers, and LSQ learned step sizes (Esser et al. 2020).
 *
 * Fake quantization replaces x by dequantize(quantize(x)) = (clamp(c, qmin, qmax) - zp) * scale
 * with c = roundf(x / scale) + zp (qparams.h), bit for bit what the int8 runtime stores. The STE
 * treats round() as the identity, so dy/dx = 1 where qmin <= c <= qmax and 0 where the value
 * was clamped; forward records that as a byte mask (1 = gradient passes) for backward.
 *
 * Forward functions work in place (x becomes its fake-quantized value) and write the mask when
 * it is non-NULL; backward functions accumulate into gradients, as every backward in model/. */
#ifndef DS_QUANT_QAT_FAKE_QUANT_H
#define DS_QUANT_QAT_FAKE_QUANT_H

#include <stddef.h>
#include <stdint.h>

#include "model/config/config.h"
#include "quant/int8/qparams.h"

/* Per-tensor (activations): x (n), mask (n) or NULL. */
void ds_fake_quant_tensor(float *x, size_t n, const ds_qparams *qp, uint8_t *mask);

/* Per-row symmetric (weights): w (rows, cols), scales (rows), mask (rows*cols) or NULL.
 * Fails (-1) for bits outside 2..8 or a non-positive scale. */
int ds_fake_quant_rows(float *w, int rows, int cols, const float *scales, int bits, uint8_t *mask);

/* STE: grad_x[i] += mask[i] ? grad_y[i] : 0. grad_x and grad_y must not alias; for a gradient
 * updated in place use ds_fake_quant_mask_apply. */
void ds_fake_quant_backward(float *grad_x, const float *grad_y, const uint8_t *mask, size_t n);

/* In place: grad[i] = 0 where mask[i] == 0. */
void ds_fake_quant_mask_apply(float *grad, const uint8_t *mask, size_t n);

/* ---- observers: the activation range that ds_qparams_asymmetric turns into parameters ---- */

typedef struct {
  ds_observer kind; /* the [quant] observer key's own type (model/config/config.h) */
  float decay;     /* ema: new = decay * old + (1 - decay) * batch */
  float min, max;  /* the current range; meaningless until `seen` */
  int seen;        /* batches observed; the first one initialises min/max in both modes */
  int frozen;      /* set by the caller: updates are ignored, the range stays fixed */
} ds_qobserver;

/* Fails for an unknown kind or, for ema, a decay outside [0, 1). */
int ds_qobserver_init(ds_qobserver *o, ds_observer kind, float decay);
/* Folds one batch in. Non-finite values are skipped (a NaN must not poison the range); a batch
 * with no finite value changes nothing. No-op when frozen. */
void ds_qobserver_update(ds_qobserver *o, const float *x, size_t n);
/* Asymmetric parameters of the current range; before any batch, those of [0, 0]. */
int ds_qobserver_qparams(const ds_qobserver *o, int bits, ds_qparams *qp);

/* ---- LSQ: the scale is a trained parameter ---- */

/* Forward is ds_fake_quant_tensor / ds_fake_quant_rows with the learned scale. The STE gradient
 * of y = (clamp(c) - zp) * s with respect to s is
 *     round(x/s) - x/s     where qmin <= c <= qmax,
 *     qmin - zp  or  qmax - zp   where clamped below / above,
 * and LSQ multiplies it by g = 1 / sqrt(n * Q_P) so the scale learns at the pace of the weights.
 * Q_P is the number of positive levels: qmax for a symmetric grid (qmin == -qmax), and
 * qmax - qmin for an asymmetric one (LSQ's unsigned grid, shifted by the zero point). */
float ds_lsq_grad_scale(size_t n, int32_t q_p);

/* grad_scale += g * sum_i grad_y[i] * dy_i/ds, with x (n) the input before fake quantization
 * and g from ds_lsq_grad_scale(n, Q_P). The gradient to x is the STE mask (ds_fake_quant_backward). */
void ds_lsq_backward(const float *x, const float *grad_y, size_t n, const ds_qparams *qp,
                     float *grad_scale);
/* The same with g from ds_lsq_grad_scale(n_all, Q_P): x holds n of the n_all values the tensor has (a
 * data-parallel process's share of a batch), so that the shares' gradients add up to the whole one's. */
void ds_lsq_backward_share(const float *x, const float *grad_y, size_t n, size_t n_all, const ds_qparams *qp,
                           float *grad_scale);

/* Per-row version for weights (rows, cols): grad_scales[r] += the row's LSQ gradient, with
 * n = cols (elements sharing the scale) in the gradient scale. */
int ds_lsq_rows_backward(const float *w, const float *grad_w, int rows, int cols,
                         const float *scales, int bits, float *grad_scales);

#endif
