#include "quant/requant.h"

#include <math.h>

/* floor(v / 2^bits) without relying on how >> treats negative numbers. */
static int64_t floor_shift(int64_t v, int bits) {
  return v >= 0 ? v >> bits : ~(~v >> bits);
}

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

int32_t ds_quant_high_mul(int32_t a, int32_t b) {
  if (a == INT32_MIN && b == INT32_MIN) return INT32_MAX;
  int64_t ab = (int64_t)a * b;
  /* (2ab) / 2^32 = ab / 2^31, rounded half up; in range for every other input pair. */
  return (int32_t)floor_shift(ab + ((int64_t)1 << 30), 31);
}

int32_t ds_quant_shift_round(int32_t x, int exponent) {
  if (exponent <= 0) return x;
  if (exponent > 31) exponent = 31;
  int64_t half = (int64_t)1 << (exponent - 1);
  int64_t v = x;
  int64_t r = v >= 0 ? (v + half) >> exponent : -((-v + half) >> exponent);
  return (int32_t)r;
}

int32_t ds_quant_multiply(int32_t x, int32_t multiplier, int shift) {
  if (shift > DS_QUANT_SHIFT_MAX) shift = DS_QUANT_SHIFT_MAX;
  if (shift < DS_QUANT_SHIFT_MIN) shift = DS_QUANT_SHIFT_MIN;
  int64_t v = x;
  if (shift > 0) {
    v *= (int64_t)1 << shift;
    if (v > INT32_MAX) v = INT32_MAX;
    if (v < INT32_MIN) v = INT32_MIN;
  }
  return ds_quant_shift_round(ds_quant_high_mul((int32_t)v, multiplier), shift > 0 ? 0 : -shift);
}

int8_t ds_quant_clamp_i8(int32_t x, int32_t lo, int32_t hi) {
  if (x < lo) x = lo;
  if (x > hi) x = hi;
  return (int8_t)x;
}

int8_t ds_quant_sat_i8(int32_t x) {
  return ds_quant_clamp_i8(x, INT8_MIN, INT8_MAX);
}
