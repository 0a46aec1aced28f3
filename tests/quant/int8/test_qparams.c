/* Choosing quantization parameters and rounding values to them. */
#include <math.h>
#include <stdint.h>

#include "quant/int8/qparams.h"
#include "tests/check.h"
#include "tests/rng.h"

static void test_bits_range(void) {
  int32_t lo, hi;
  CHECK(ds_qparams_bits_range(8, 0, &lo, &hi) == 0 && lo == -128 && hi == 127);
  CHECK(ds_qparams_bits_range(8, 1, &lo, &hi) == 0 && lo == -127 && hi == 127);
  CHECK(ds_qparams_bits_range(4, 0, &lo, &hi) == 0 && lo == -8 && hi == 7);
  CHECK(ds_qparams_bits_range(2, 1, &lo, &hi) == 0 && lo == -1 && hi == 1);
  CHECK(ds_qparams_bits_range(2, 0, &lo, &hi) == 0 && lo == -2 && hi == 1);
  CHECK(ds_qparams_bits_range(1, 0, &lo, &hi) == -1);
  CHECK(ds_qparams_bits_range(9, 1, &lo, &hi) == -1);
}

static void test_asymmetric(void) {
  ds_qparams qp;
  CHECK(ds_qparams_asymmetric(-1.0f, 1.0f, 8, &qp) == 0);
  CHECK_CLOSE(qp.scale, 2.0 / 255.0, 1e-9, 1e-6);
  CHECK(qp.zero_point == -1); /* -128 + 127.5 = -0.5 rounds away from zero */
  CHECK(qp.qmin == -128 && qp.qmax == 127);
  CHECK(ds_qparams_quantize(&qp, 0.0f) == qp.zero_point);
  CHECK(ds_qparams_dequantize(&qp, ds_qparams_quantize(&qp, 0.0f)) == 0.0f);

  CHECK(ds_qparams_asymmetric(0.5f, 2.0f, 8, &qp) == 0); /* widened down to 0 */
  CHECK_CLOSE(qp.scale, 2.0 / 255.0, 1e-9, 1e-6);
  CHECK(qp.zero_point == -128);
  CHECK(ds_qparams_asymmetric(-3.0f, -1.0f, 8, &qp) == 0); /* widened up to 0 */
  CHECK_CLOSE(qp.scale, 3.0 / 255.0, 1e-9, 1e-6);
  CHECK(qp.zero_point == 127);
  CHECK(ds_qparams_asymmetric(-1.0f, 1.0f, 4, &qp) == 0);
  CHECK_CLOSE(qp.scale, 2.0 / 15.0, 1e-9, 1e-6);
  CHECK(qp.qmin == -8 && qp.qmax == 7 && qp.zero_point == -1); /* -8 + 7.5 -> -0.5 -> -1 */

  /* Degenerate ranges still give a usable scale, and zero stays exact. */
  CHECK(ds_qparams_asymmetric(0.0f, 0.0f, 8, &qp) == 0);
  CHECK(qp.scale == 1.0f && qp.zero_point == -128);
  CHECK(ds_qparams_dequantize(&qp, ds_qparams_quantize(&qp, 0.0f)) == 0.0f);
  CHECK(ds_qparams_asymmetric(0.0f, 1e-20f, 8, &qp) == 0);
  CHECK(qp.scale == DS_QUANT_SCALE_MIN && isfinite(1.0f / qp.scale));

  CHECK(ds_qparams_asymmetric(1.0f, -1.0f, 8, &qp) == -1);
  CHECK(ds_qparams_asymmetric(NAN, 1.0f, 8, &qp) == -1);
  CHECK(ds_qparams_asymmetric(-INFINITY, 1.0f, 8, &qp) == -1);
  CHECK(ds_qparams_asymmetric(-1.0f, 1.0f, 9, &qp) == -1);

  /* Random ranges: zero exact, every value of the range within half a step of its image. */
  test_rng r = {99};
  int bad = 0;
  for (int t = 0; t < 2000; t++) {
    float lo = (float)rng_uniform(&r, -10, 3), hi = lo + (float)rng_uniform(&r, 0.01, 12);
    int bits = (int)rng_range(&r, 2, 8);
    if (ds_qparams_asymmetric(lo, hi, bits, &qp)) {
      bad++;
      continue;
    }
    if (qp.zero_point < qp.qmin || qp.zero_point > qp.qmax) bad++;
    if (ds_qparams_dequantize(&qp, ds_qparams_quantize(&qp, 0.0f)) != 0.0f) bad++;
    for (int i = 0; i <= 50; i++) {
      float x = lo + (hi - lo) * (float)i / 50.0f;
      float err = fabsf(ds_qparams_dequantize(&qp, ds_qparams_quantize(&qp, x)) - x);
      if (err > 0.5f * qp.scale * (1.0f + 1e-4f)) bad++;
    }
  }
  CHECK_MSG(bad == 0, "%d random range failures", bad);
}

static void test_rounding(void) {
  ds_qparams qp = {1.0f, 0, -128, 127};
  CHECK(ds_qparams_quantize(&qp, 2.5f) == 3);
  CHECK(ds_qparams_quantize(&qp, -2.5f) == -3);
  CHECK(ds_qparams_quantize(&qp, 0.5f) == 1);
  CHECK(ds_qparams_quantize(&qp, -0.5f) == -1);
  CHECK(ds_qparams_quantize(&qp, 1000.0f) == 127);
  CHECK(ds_qparams_quantize(&qp, -1000.0f) == -128);
  CHECK(ds_qparams_quantize(&qp, INFINITY) == 127);
  CHECK(ds_qparams_quantize(&qp, -INFINITY) == -128);
  CHECK(ds_qparams_quantize(&qp, NAN) == -128);
  CHECK(ds_qparams_quantize(&qp, 3e38f) == 127);
  qp.zero_point = 10;
  CHECK(ds_qparams_quantize(&qp, 2.5f) == 13);
  CHECK(ds_qparams_code(&qp, 200.0f) == 210.0f);
  CHECK(ds_qparams_dequantize(&qp, 13) == 3.0f);

  float x[5] = {-200.0f, -1.4f, 0.0f, 7.5f, 500.0f};
  int8_t q[5];
  float back[5];
  ds_quant_tensor(&qp, x, 5, q);
  ds_dequant_tensor(&qp, q, 5, back);
  CHECK(q[0] == -128 && q[1] == 9 && q[2] == 10 && q[3] == 18 && q[4] == 127);
  CHECK(back[0] == -138.0f && back[1] == -1.0f && back[4] == 117.0f);
}

static void test_symmetric_rows(void) {
  ds_qparams qp;
  CHECK(ds_qparams_symmetric(2.54f, 8, &qp) == 0);
  CHECK_CLOSE(qp.scale, 0.02, 0, 1e-6);
  CHECK(qp.zero_point == 0 && qp.qmin == -127 && qp.qmax == 127);
  CHECK(ds_qparams_symmetric(0.0f, 8, &qp) == 0 && qp.scale == 1.0f);
  CHECK(ds_qparams_symmetric(-1.0f, 8, &qp) == -1);

  enum { R = 4, C = 6 };
  float w[R * C] = {
      1.0f, -2.54f, 0.3f, 0.0f, 2.0f, -0.01f, /* max |w| 2.54 */
      0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f,     /* all zero */
      0.1f, 0.1f, -0.1f, 0.05f, 0.0f, 0.0f,   /* max 0.1 */
      -7.0f, 1.0f, 2.0f, 3.0f, 6.9f, 0.5f,    /* max 7 */
  };
  float scales[R], back[R * C];
  int8_t q[R * C];
  CHECK(ds_qparams_rows(w, R, C, 8, scales) == 0);
  CHECK_CLOSE(scales[0], 2.54 / 127, 0, 1e-6);
  CHECK(scales[1] == 1.0f);
  CHECK_CLOSE(scales[2], 0.1 / 127, 0, 1e-6);
  CHECK_CLOSE(scales[3], 7.0 / 127, 0, 1e-6);
  CHECK(ds_quant_rows(w, R, C, scales, 8, q) == 0);
  CHECK(q[1] == -127 && q[0] == 50 && q[12] == 127 && q[14] == -127 && q[18] == -127);
  for (int i = C; i < 2 * C; i++) CHECK(q[i] == 0);
  CHECK(ds_dequant_rows(q, R, C, scales, back) == 0);
  int far = 0;
  for (int i = 0; i < R * C; i++)
    if (fabsf(back[i] - w[i]) > 0.5f * scales[i / C] * 1.0001f) far++;
  CHECK(far == 0);

  CHECK(ds_qparams_rows(w, R, C, 2, scales) == 0); /* 2 bits: q in {-1, 0, 1} */
  CHECK_CLOSE(scales[0], 2.54, 0, 1e-6);
  CHECK(ds_quant_rows(w, R, C, scales, 2, q) == 0);
  CHECK(q[0] == 0 && q[1] == -1 && q[4] == 1);

  w[7] = NAN;
  CHECK(ds_qparams_rows(w, R, C, 8, scales) == -1);
  float zero_scale[R] = {0};
  CHECK(ds_quant_rows(w, R, C, zero_scale, 8, q) == -1);
}

static void test_bias(void) {
  float b[4] = {1.0f, -0.5f, 1e9f, -1e9f};
  float sw[4] = {0.01f, 0.02f, 1e-6f, 1e-6f};
  int32_t q[4];
  CHECK(ds_quant_bias(b, 4, 0.1f, sw, q) == 0);
  CHECK(q[0] == 1000);
  CHECK(q[1] == -250);
  CHECK(q[2] == INT32_MAX);
  CHECK(q[3] == -INT32_MAX);
  /* Half steps round away from zero: 0.5 * s and -1.5 * s. */
  float s_in = 0.5f, sw1[2] = {0.5f, 0.5f}, b2[2] = {0.125f, -0.375f};
  CHECK(ds_quant_bias(b2, 2, s_in, sw1, q) == 0 && q[0] == 1 && q[1] == -2);
  float bad_s[1] = {0.0f};
  CHECK(ds_quant_bias(b, 1, 0.1f, bad_s, q) == -1);
}

int main(void) {
  test_bits_range();
  test_asymmetric();
  test_rounding();
  test_symmetric_rows();
  test_bias();
  return check_report();
}
