#include "quant/int8/int8.h"

#include <math.h>

int ds_quant_multiplier_make(double real, int32_t *multiplier, int *shift) {
  if (!multiplier || !shift || !(real >= 0.0) || isinf(real)) return -1;
  if (real == 0.0) {
    *multiplier = 0;
    *shift = 0;
    return 0;
  }
  int e;
  double q = frexp(real, &e); /* real = q * 2^e, q in [0.5, 1) */
  int64_t m = llround(q * 2147483648.0);
  /* q just below 1 can round up to 2^31, which does not fit: halve it and bump the exponent. */
  if (m == ((int64_t)1 << 31)) {
    m >>= 1;
    e++;
  }
  if (e > DS_QUANT_SHIFT_MAX) return -1;
  if (e < DS_QUANT_SHIFT_MIN) {
    /* The right shift cannot exceed 31 bits, so the remaining factor moves into M. */
    m = llround(ldexp(q, e - DS_QUANT_SHIFT_MIN + 31));
    e = DS_QUANT_SHIFT_MIN;
  }
  *multiplier = (int32_t)m;
  *shift = e;
  return 0;
}

double ds_quant_multiplier_value(int32_t multiplier, int shift) {
  return ldexp((double)multiplier, shift - 31);
}

int8_t ds_quant_clamp_i8(int32_t x, int32_t lo, int32_t hi) {
  if (x < lo) x = lo;
  if (x > hi) x = hi;
  return (int8_t)x;
}

int8_t ds_quant_sat_i8(int32_t x) {
  return ds_quant_clamp_i8(x, INT8_MIN, INT8_MAX);
}
