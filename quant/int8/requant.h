/* Fixed-point requantization, TFLite/gemmlowp's scheme: a positive real multiplier r is stored as
 * an int32 M in Q31 (M in [2^30, 2^31)) and an exponent `shift`, with r ~= M * 2^(shift - 31).
 * Positive shifts are left shifts applied to the input before the multiply (so no precision is
 * lost), negative shifts are rounding right shifts applied after it. The two roundings (in the
 * high multiply, then in the right shift) are kept exactly as TFLite's reference kernels do them,
 * so our int8 outputs match theirs bit for bit.
 *
 * quant/int8/ depends on libc, libm and common/ (itself libc only); functions return 0 on success and -1 on bad input. */
#ifndef DS_QUANT_INT8_REQUANT_H
#define DS_QUANT_INT8_REQUANT_H

#include <stdint.h>

#define DS_QUANT_SHIFT_MIN (-31) /* right shifts up to 31 bits */
#define DS_QUANT_SHIFT_MAX 30    /* left shifts up to 30 bits */

/* Splits real >= 0 into (multiplier, shift). real == 0 gives (0, 0). Multipliers below
 * 2^-62 lose mantissa bits (shift is pinned at -31) and may become 0. Fails (-1) for negative,
 * NaN or infinite values and for real >= 2^30, which no shift can represent. */
int ds_quant_multiplier_make(double real, int32_t *multiplier, int *shift);

/* The real number (multiplier, shift) stands for; for tests and diagnostics. */
double ds_quant_multiplier_value(int32_t multiplier, int shift);

/* The three below are inline and branch-free (selects, no jumps): they run once per output of every int8
 * layer (the runtime and the QAT simulation), where a call each cost more than the arithmetic and kept the
 * loops from vectorising. */

/* floor(v / 2^bits) without relying on how >> treats negative numbers. */
static inline int64_t ds_quant_floor_shift(int64_t v, int bits) { return v >= 0 ? v >> bits : ~(~v >> bits); }

/* High 32 bits of 2*a*b, rounded half up; the only overflow, INT32_MIN * INT32_MIN,
 * saturates to INT32_MAX. Same as gemmlowp's SaturatingRoundingDoublingHighMul / SQRDMULH. */
static inline int32_t ds_quant_high_mul(int32_t a, int32_t b) {
  /* (2ab) / 2^32 = ab / 2^31, rounded half up; in range for every other input pair. */
  const int64_t hi = ds_quant_floor_shift((int64_t)a * b + ((int64_t)1 << 30), 31);
  return a == INT32_MIN && b == INT32_MIN ? INT32_MAX : (int32_t)hi;
}

/* x / 2^exponent rounded half away from zero; exponent in [0, 31] (gemmlowp's
 * RoundingDivideByPOT). Exponents outside that range are clamped to it. Computed as gemmlowp does: the floor,
 * plus one where the remainder passes half (just past it for negative x). */
static inline int32_t ds_quant_shift_round(int32_t x, int exponent) {
  exponent = exponent < 0 ? 0 : exponent > 31 ? 31 : exponent;
  const int32_t mask = (int32_t)(((int64_t)1 << exponent) - 1);
  const int32_t remainder = x & mask, threshold = (mask >> 1) + (x < 0);
  return (int32_t)ds_quant_floor_shift(x, exponent) + (remainder > threshold);
}

/* x * multiplier * 2^(shift - 31), TFLite's MultiplyByQuantizedMultiplier. For shift > 0 the
 * input is shifted left first; where TFLite would overflow there (undefined behaviour in C),
 * the shifted value saturates to the int32 range instead. shift is clamped to
 * [DS_QUANT_SHIFT_MIN, DS_QUANT_SHIFT_MAX]. */
static inline int32_t ds_quant_multiply(int32_t x, int32_t multiplier, int shift) {
  shift = shift > DS_QUANT_SHIFT_MAX ? DS_QUANT_SHIFT_MAX : shift < DS_QUANT_SHIFT_MIN ? DS_QUANT_SHIFT_MIN : shift;
  int64_t v = (int64_t)x * ((int64_t)1 << (shift > 0 ? shift : 0)); /* |v| < 2^61 */
  v = v > INT32_MAX ? INT32_MAX : v < INT32_MIN ? INT32_MIN : v;
  return ds_quant_shift_round(ds_quant_high_mul((int32_t)v, multiplier), shift > 0 ? 0 : -shift);
}

/* Clamps to [lo, hi] (lo <= hi, both within int8) and narrows. */
int8_t ds_quant_clamp_i8(int32_t x, int32_t lo, int32_t hi);

/* Clamps to [-128, 127]. */
int8_t ds_quant_sat_i8(int32_t x);

#endif
