/* Private to kernels/ops_*.c: hot loops compiled for several instruction sets with the best chosen at load
 * time, and a vectorisable exp.
 *
 * The library is built for baseline x86-64 (SSE2, 4 floats per instruction) so one binary runs anywhere; the
 * element-wise and row kernels (GELU, LayerNorm, softmax, bias) were then bound by instruction count, so they
 * are marked DS_VEC_CLONES (common/common.h). */
#ifndef DS_KERNELS_OPS_SIMD_H
#define DS_KERNELS_OPS_SIMD_H

#include <stdint.h>
#include <string.h>

/* Every file including this one: the kernels clamp before they compute, and under GCC's default
 * -ftrapping-math those branches are not turned into selects, so the loops stayed scalar. No kernel reads
 * floating-point exception flags. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif

#include "common/common.h"

/* e^x for x clamped to [-87, 87] (so e^x and 1 / (1 + e^x) stay normal floats), in plain arithmetic the compiler vectorises:
 * x = n ln2 + r with |r| <= ln2/2, e^r by its Taylor series to r^7 (truncation error below 3e-9 relative,
 * under float's 6e-8), times 2^n built in the exponent bits. NaN gives NaN (a diverged model, NaN parameters
 * in a checkpoint): it passes both clamps, and converting it to an integer would be undefined. */
static inline float ds_exp_vec(float x) {
  const float in = x;
  x = x < -87.0f ? -87.0f : x;
  x = x > 87.0f ? 87.0f : x;
  x = x == x ? x : 0.0f;
  /* Round to nearest by adding and removing 1.5 * 2^23 (baseline SSE2 has no vector round). */
  const float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
  const float r = (x - n * 0.693145751953125f) - n * 1.428606765330187e-06f; /* ln 2 in two parts */
  float p = 1.0f / 5040.0f;
  p = p * r + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  const int32_t bits = ((int32_t)n + 127) << 23;
  float scale;
  memcpy(&scale, &bits, sizeof scale);
  return in == in ? p * scale : in;
}

/* [begin, end) of `n` items for thread `t` of `nt`. */
static inline void ds_thread_range(long n, int t, int nt, long *begin, long *end) {
  *begin = n * t / nt;
  *end = n * (t + 1) / nt;
}

#endif
