/* Pieces of integer arithmetic that the runtime and the fake-quant forward pass must derive in the
 * same way; both call these, so the two cannot drift apart. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>

#include "quant/int8/int8.h"
#include "common/common.h"

static int multiplier_make(double real, int32_t *mult, int32_t *shift) {
  int sh;
  if (!(real > 0.0) || ds_quant_multiplier_make(real, mult, &sh)) return -1;
  *shift = sh;
  return 0;
}

int ds_i8_scores_multiplier(float s_q, float s_k, int head_dim, float s_out, int32_t *mult,
                            int32_t *shift) {
  if (head_dim < 1 || !(s_out > 0.0f)) return -1;
  return multiplier_make((double)s_q * (double)s_k / sqrt((double)head_dim) / (double)s_out, mult,
                         shift);
}

int ds_i8_context_multiplier(float s_v, float s_out, int32_t *mult, int32_t *shift) {
  if (!(s_out > 0.0f)) return -1;
  return multiplier_make((double)s_v / 256.0 / (double)s_out, mult, shift);
}

int ds_i8_add_prepare(const ds_qparams *a, const ds_qparams *b, const ds_qparams *out, ds_i8_add_params *p) {
  if (ds_i8_add_params_make(a->scale, a->zero_point, b->scale, b->zero_point, out->scale, out->zero_point, p))
    return -1;
  p->act_min = out->qmin;
  p->act_max = out->qmax;
  return 0;
}

void ds_i8_pool_mean(const int8_t *x, const uint8_t *mask, int T, int width, int32_t zp,
                     int8_t *out) {
  int n = 0;
  for (int t = 0; t < T; t++) n += !mask || mask[t];
  for (int c = 0; c < width; c++) {
    int32_t sum = 0;
    for (int t = 0; t < T; t++)
      if (!mask || mask[t]) sum += (int32_t)x[(size_t)t * width + c] - zp;
    /* Integer division rounding half away from zero; |mean| <= 255 keeps it inside int8 + zp. */
    int32_t q = n == 0 ? 0 : (sum >= 0 ? (2 * sum + n) / (2 * n) : -((-2 * sum + n) / (2 * n)));
    out[c] = ds_quant_sat_i8(zp + q);
  }
}

DS_VEC_CLONES void ds_i8_requant_cols(const int32_t *acc, int rows, int cols, const int32_t *mult,
                        const int32_t *shift, int32_t zp, int32_t lo, int32_t hi, int8_t *out) {
  for (int r = 0; r < rows; r++) {
    const int32_t *a = acc + (size_t)r * cols;
    int8_t *o = out + (size_t)r * cols;
    for (int c = 0; c < cols; c++) {
      /* As ds_i8_fc does it: the int64 sum of the product and zero point, saturated, clamped. */
      int64_t v = (int64_t)ds_quant_multiply(a[c], mult[c], shift[c]) + zp;
      if (v > INT32_MAX) v = INT32_MAX;
      if (v < INT32_MIN) v = INT32_MIN;
      o[c] = (int8_t)(v < lo ? lo : v > hi ? hi : v); /* ds_quant_clamp_i8, inlined */
    }
  }
}
