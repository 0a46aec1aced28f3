/* Fixed-point requantization, TFLite/gemmlowp's scheme: a positive real multiplier r is stored as
 * an int32 M in Q31 (M in [2^30, 2^31)) and an exponent `shift`, with r ~= M * 2^(shift - 31).
 * Positive shifts are left shifts applied to the input before the multiply (so no precision is
 * lost), negative shifts are rounding right shifts applied after it. The two roundings (in the
 * high multiply, then in the right shift) are kept exactly as TFLite's reference kernels do them,
 * so our int8 outputs match theirs bit for bit.
 *
 * quant/ depends on libc and libm only; functions return 0 on success and -1 on bad input. */
#ifndef DS_QUANT_REQUANT_H
#define DS_QUANT_REQUANT_H

#include <stdint.h>

#define DS_QUANT_SHIFT_MIN (-31) /* right shifts up to 31 bits */
#define DS_QUANT_SHIFT_MAX 30    /* left shifts up to 30 bits */

/* Splits real >= 0 into (multiplier, shift). real == 0 gives (0, 0). Multipliers below
 * 2^-62 lose mantissa bits (shift is pinned at -31) and may become 0. Fails (-1) for negative,
 * NaN or infinite values and for real >= 2^30, which no shift can represent. */
int ds_quant_multiplier_make(double real, int32_t *multiplier, int *shift);

/* The real number (multiplier, shift) stands for; for tests and diagnostics. */
double ds_quant_multiplier_value(int32_t multiplier, int shift);

/* High 32 bits of 2*a*b, rounded half up; the only overflow, INT32_MIN * INT32_MIN,
 * saturates to INT32_MAX. Same as gemmlowp's SaturatingRoundingDoublingHighMul / SQRDMULH. */
int32_t ds_quant_high_mul(int32_t a, int32_t b);

/* x / 2^exponent rounded half away from zero; exponent in [0, 31] (gemmlowp's
 * RoundingDivideByPOT). Exponents outside that range are clamped to it. */
int32_t ds_quant_shift_round(int32_t x, int exponent);

/* x * multiplier * 2^(shift - 31), TFLite's MultiplyByQuantizedMultiplier. For shift > 0 the
 * input is shifted left first; where TFLite would overflow there (undefined behaviour in C),
 * the shifted value saturates to the int32 range instead. shift is clamped to
 * [DS_QUANT_SHIFT_MIN, DS_QUANT_SHIFT_MAX]. */
int32_t ds_quant_multiply(int32_t x, int32_t multiplier, int shift);

/* Clamps to [lo, hi] (lo <= hi, both within int8) and narrows. */
int8_t ds_quant_clamp_i8(int32_t x, int32_t lo, int32_t hi);

/* Clamps to [-128, 127]. */
int8_t ds_quant_sat_i8(int32_t x);

#endif
