/* LayerNorm and softmax (float inside) within one step of a double reference; the GELU
 * lookup table exactly equal to it on all 256 inputs. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "quant/int8/int8_ops.h"
#include "tests/check.h"
#include "tests/rng.h"

static int ref_quant(double y, double scale, int zp, int lo, int hi) {
  double c = round(y / scale) + zp;
  return c < lo ? lo : c > hi ? hi : (int)c;
}

static double deq(int8_t q, const ds_qparams *p) {
  return ((double)q - p->zero_point) * (double)p->scale;
}

static void test_layernorm(void) {
  enum { R = 6, C = 64 };
  int8_t x[R * C], y[R * C];
  float g[C], b[C];
  test_rng r = {11};
  ds_qparams in, out;
  CHECK(ds_qparams_asymmetric(-3.0f, 5.0f, 8, &in) == 0);
  CHECK(ds_qparams_asymmetric(-4.0f, 4.0f, 8, &out) == 0);
  for (int i = 0; i < R * C; i++) x[i] = (int8_t)rng_range(&r, -128, 127);
  for (int c = 0; c < C; c++) x[5 * C + c] = 17; /* a constant row: variance 0, y = beta */
  for (int c = 0; c < C; c++) {
    g[c] = (float)rng_uniform(&r, 0.5, 1.5);
    b[c] = (float)rng_uniform(&r, -0.5, 0.5);
  }
  void *scratch = malloc(ds_i8_layernorm_buffer_size(C));
  CHECK(ds_i8_layernorm_buffer_size(C) == C * sizeof(float));
  CHECK(ds_i8_layernorm(&in, &out, g, b, 1e-5f, x, R, C, scratch, y) == 0);
  int worst = 0, exact = 0;
  for (int row = 0; row < R; row++) {
    double mean = 0.0, var = 0.0;
    for (int c = 0; c < C; c++) mean += deq(x[row * C + c], &in);
    mean /= C;
    for (int c = 0; c < C; c++) var += pow(deq(x[row * C + c], &in) - mean, 2);
    var /= C;
    for (int c = 0; c < C; c++) {
      double v = (deq(x[row * C + c], &in) - mean) / sqrt(var + 1e-5) * g[c] + b[c];
      int e = abs(y[row * C + c] - ref_quant(v, out.scale, out.zero_point, out.qmin, out.qmax));
      if (e > worst) worst = e;
      exact += e == 0;
    }
  }
  CHECK_MSG(worst <= 1, "layernorm: worst %d LSB", worst);
  CHECK(exact > R * C * 9 / 10);
  CHECK(ds_i8_layernorm(&in, &out, g, b, 1e-5f, x, R, C, NULL, y) == -1);
  free(scratch);
}

static void test_softmax(void) {
  enum { R = 8, C = 37 };
  int8_t x[R * C], y[R * C];
  uint8_t mask[C];
  test_rng r = {12};
  ds_qparams in = {0.08f, -3, -128, 127};
  for (int i = 0; i < R * C; i++) x[i] = (int8_t)rng_range(&r, -128, 127);
  for (int c = 0; c < C; c++) mask[c] = c < 30; /* the last 7 keys are padding */
  x[2 * C + 4] = 127; /* row 2: one dominant logit */
  for (int c = 0; c < C; c++)
    if (c != 4) x[2 * C + c] = -128;
  void *scratch = malloc(ds_i8_softmax_buffer_size(C));
  int worst = 0;
  for (int masked = 0; masked < 2; masked++) {
    const uint8_t *m = masked ? mask : NULL;
    CHECK(ds_i8_softmax(&in, x, m, R, C, scratch, y) == 0);
    for (int row = 0; row < R; row++) {
      double mx = -1e300, sum = 0.0;
      for (int c = 0; c < C; c++)
        if (!m || m[c]) mx = fmax(mx, deq(x[row * C + c], &in));
      for (int c = 0; c < C; c++)
        if (!m || m[c]) sum += exp(deq(x[row * C + c], &in) - mx);
      for (int c = 0; c < C; c++) {
        double p = (!m || m[c]) ? exp(deq(x[row * C + c], &in) - mx) / sum : 0.0;
        int e = abs(y[row * C + c] - ref_quant(p, 1.0 / 256, -128, -128, 127));
        if (e > worst) worst = e;
      }
    }
    for (int c = 30; masked && c < C; c++) CHECK(y[c] == -128 && y[3 * C + c] == -128);
    CHECK(y[2 * C + 4] == 127); /* p = 1 saturates at 255/256 */
  }
  CHECK_MSG(worst <= 1, "softmax: worst %d LSB", worst);
  uint8_t none[C] = {0};
  CHECK(ds_i8_softmax(&in, x, none, 1, C, scratch, y) == 0);
  int all_zero = 1;
  for (int c = 0; c < C; c++) all_zero &= y[c] == -128;
  CHECK(all_zero);
  free(scratch);
}

static double ref_gelu(double x) {
  double pi = acos(-1.0);
  return 0.5 * x * (1.0 + tanh(sqrt(2.0 / pi) * (x + 0.044715 * x * x * x)));
}

static void test_gelu_lut(void) {
  const float ranges[3][4] = {{-6.0f, 6.0f, -0.2f, 6.0f}, {-0.5f, 8.0f, -0.2f, 8.0f},
                              {-10.0f, 1.0f, -0.5f, 0.5f}};
  for (int t = 0; t < 3; t++) {
    ds_qparams in, out;
    CHECK(ds_qparams_asymmetric(ranges[t][0], ranges[t][1], 8, &in) == 0);
    CHECK(ds_qparams_asymmetric(ranges[t][2], ranges[t][3], t == 2 ? 4 : 8, &out) == 0);
    int8_t lut[256];
    CHECK(ds_i8_gelu_lut_build(lut, &in, &out) == 0);
    int8_t x[256], y[256];
    for (int i = 0; i < 256; i++) x[i] = (int8_t)(i - 128);
    ds_i8_lut_apply(lut, x, 256, y);
    int mismatches = 0;
    for (int i = 0; i < 256; i++) {
      double v = ((double)x[i] - in.zero_point) * (double)in.scale;
      int want = ref_quant(ref_gelu(v), out.scale, out.zero_point, out.qmin, out.qmax);
      mismatches += y[i] != want;
    }
    CHECK_MSG(mismatches == 0, "gelu table %d: %d mismatches", t, mismatches);
  }
  CHECK_CLOSE(ds_gelu_tanh(1.0), 0.8411919906082768, 1e-15, 0);
  CHECK(ds_gelu_tanh(0.0) == 0.0);
}

int main(void) {
  test_layernorm();
  test_softmax();
  test_gelu_lut();
  return check_report();
}
