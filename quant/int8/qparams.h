/* Quantization parameters: real = scale * (q - zero_point), q an integer in [qmin, qmax].
 *
 * Activations: asymmetric per tensor, bits b in 2..8 -> q in [-2^(b-1), 2^(b-1) - 1].
 * Weights: symmetric per output channel (row), zero point 0 -> q in [-(2^(b-1) - 1), 2^(b-1) - 1]
 *   (the most negative code is left out so that the grid is symmetric, as TFLite requires).
 * Biases: int32 at scale s_in * s_w[row], zero point 0.
 *
 * Rounding everywhere is round half away from zero (roundf) of x / scale; the fake-quant forward
 * (quant/qat/qat.h) uses the very same expression, so the integer runtime sees the values training
 * simulated. Functions return 0 on success, -1 on bad input (bits out of range, NaN/Inf ranges,
 * NULL pointers); none prints or allocates. */
#ifndef DS_QUANT_INT8_QPARAMS_H
#define DS_QUANT_INT8_QPARAMS_H

#include <stddef.h>
#include <stdint.h>

#define DS_QUANT_BITS_MIN 2
#define DS_QUANT_BITS_MAX 8
/* Smallest scale handed out: keeps 1/scale and the requantization multipliers finite when a
 * range is tiny but not zero. A range of exactly zero gets scale 1 instead (any scale is exact). */
#define DS_QUANT_SCALE_MIN 1e-10f

typedef struct {
  float scale;
  int32_t zero_point;
  int32_t qmin, qmax;
} ds_qparams;

/* The integer range for `bits`: asymmetric [-2^(b-1), 2^(b-1)-1] or symmetric
 * [-(2^(b-1)-1), 2^(b-1)-1]. */
int ds_qparams_bits_range(int bits, int symmetric, int32_t *qmin, int32_t *qmax);

/* Asymmetric per-tensor parameters from an observed [min, max]: the range is widened to
 * contain 0 (so zero is exact, which padding and ReLU-like outputs rely on),
 * scale = (max - min) / (qmax - qmin), and the zero point is qmin - min / scale rounded and
 * clamped into [qmin, qmax]. Fails for min > max or non-finite bounds. */
int ds_qparams_asymmetric(float min, float max, int bits, ds_qparams *qp);

/* Symmetric parameters from max |x|: scale = absmax / qmax, zero point 0. */
int ds_qparams_symmetric(float absmax, int bits, ds_qparams *qp);

/* Per-output-channel symmetric scales of a weight w (rows, cols): scales[r] = max_c |w[r,c]| / qmax
 * (1 for an all-zero row). Fails if w holds NaN/Inf. */
int ds_qparams_rows(const float *w, int rows, int cols, int bits, float *scales);

/* The unclamped integer code of x: roundf(x / scale) + zero_point, as a float so that huge or
 * non-finite inputs stay well defined. The fake-quant STE mask is "qmin <= this <= qmax". */
float ds_qparams_code(const ds_qparams *qp, float x);

/* One value: code clamped to [qmin, qmax] (a NaN input gives qmin). */
int32_t ds_qparams_quantize(const ds_qparams *qp, float x);
float ds_qparams_dequantize(const ds_qparams *qp, int32_t q);

/* Whole tensors (per-tensor parameters). The codes must fit int8, i.e. bits <= 8. */
void ds_quant_tensor(const ds_qparams *qp, const float *x, size_t n, int8_t *q);
void ds_dequant_tensor(const ds_qparams *qp, const int8_t *q, size_t n, float *x);

/* Weights (rows, cols) with per-row symmetric scales (from ds_qparams_rows). */
int ds_quant_rows(const float *w, int rows, int cols, const float *scales, int bits, int8_t *q);
int ds_dequant_rows(const int8_t *q, int rows, int cols, const float *scales, float *w);

/* Bias (n) -> int32 at scale s_in * s_w[i] (the product taken in float, as TFLite does),
 * rounded half away from zero and saturated to [-INT32_MAX, INT32_MAX]. s_w has n entries
 * (per channel); pass the same value n times for a per-tensor weight scale. */
int ds_quant_bias(const float *b, size_t n, float s_in, const float *s_w, int32_t *q);

#endif
