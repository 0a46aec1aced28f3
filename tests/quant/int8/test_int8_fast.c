/* The runtime's faster kernels (int8_fast.c, int8_attention.c) against the reference kernels they
 * replace (ds_i8_fc, ds_i8_matmul): bit-identical outputs on random inputs and on edge cases
 * (extreme zero points, saturating biases and outputs, all-padding probabilities), and the integer
 * mean pooling against a double-precision reference. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "quant/int8/int8.h"
#include "tests/check.h"
#include "tests/rng.h"

static void fill(test_rng *r, int8_t *x, size_t n, int lo, int hi) {
  for (size_t i = 0; i < n; i++) x[i] = (int8_t)rng_range(r, lo, hi);
}

static void test_fc(test_rng *r) {
  enum { BATCH = 9, IN = 300, OUT = 37 };
  static int8_t x[BATCH * IN], w[OUT * IN], y1[BATCH * OUT], y2[BATCH * OUT];
  static int32_t bias[OUT], mult[OUT], shift[OUT], wsum[OUT];
  long diff = 0, total = 0, saturated = 0;
  for (int trial = 0; trial < 60; trial++) {
    const int edge = trial % 3 == 0;
    fill(r, x, sizeof x, edge ? 126 : -128, 127);
    fill(r, w, sizeof w, -127, 127);
    for (int o = 0; o < OUT; o++) {
      bias[o] = edge && o % 5 == 0 ? (o % 2 ? INT32_MAX - 5 : -INT32_MAX + 5) : (int32_t)rng_range(r, -100000, 100000);
      int sh;
      ds_quant_multiplier_make(pow(10.0, rng_uniform(r, -6.0, -3.0)) * (trial % 7 == 0 ? 4096 : 1), &mult[o], &sh);
      shift[o] = sh;
    }
    const ds_i8_fc_params p = {edge ? (trial % 2 ? -128 : 127) : (int32_t)rng_range(r, -20, 20),
                               (int32_t)rng_range(r, -128, 127), trial % 4 == 1 ? -100 : -128, trial % 4 == 1 ? 90 : 127};
    const ds_i8_fc_dims d = {BATCH, IN - trial, OUT};
    ds_i8_row_sums(w, OUT, d.in, wsum);
    /* w is (OUT, d.in): re-pack the rows for the narrower input */
    CHECK(ds_i8_fc(&p, &d, mult, shift, x, w, bias, y1) == 0);
    CHECK(ds_i8_fc_fast(&p, &d, mult, shift, x, w, bias, wsum, y2) == 0);
    for (int i = 0; i < BATCH * OUT; i++) {
      diff += y1[i] != y2[i];
      saturated += y1[i] == p.act_min || y1[i] == p.act_max;
      total++;
    }
  }
  printf("fc: %ld outputs, %ld differ, %ld at the clamp\n", total, diff, saturated);
  CHECK(diff == 0);
  CHECK(saturated > 0);
}

static void test_attention(test_rng *r) {
  enum { T = 23, HD = 16, LD = 3 * HD };
  static int8_t q[T * LD], k[T * LD], s1[T * T], s2[T * T], pr[T * T], c1[T * LD], c2[T * LD];
  static int32_t scratch[T > HD ? T : HD];
  long diff = 0, total = 0;
  for (int trial = 0; trial < 50; trial++) {
    fill(r, q, sizeof q, -128, 127);
    fill(r, k, sizeof k, -128, 127);
    ds_i8_matmul_params p = {(int32_t)rng_range(r, -128, 127), (int32_t)rng_range(r, -128, 127),
                             (int32_t)rng_range(r, -128, 127), 0, 0, -128, 127};
    int sh;
    ds_quant_multiplier_make(rng_uniform(r, 1e-6, 1e-2), &p.multiplier, &sh);
    p.shift = sh;
    const ds_i8_matmul_dims ds = {T, HD, T, LD, LD, T, 1};
    CHECK(ds_i8_matmul(&p, &ds, q + 5, k + 7, s1) == 0);
    ds_i8_att_scores(&p, T, HD, LD, q + 5, k + 7, scratch, s2);
    for (int i = 0; i < T * T; i++) diff += s1[i] != s2[i], total++;
    /* probabilities: mostly -128 (zero), as after a softmax with padding */
    for (int i = 0; i < T * T; i++) pr[i] = (int8_t)(rng_unit(r) < 0.6 ? -128 : rng_range(r, -128, 127));
    if (trial == 0) memset(pr, -128, sizeof pr);
    p.a_zp = -128;
    const ds_i8_matmul_dims dc = {T, T, HD, T, LD, LD, 0};
    memset(c1, 0, sizeof c1);
    memset(c2, 0, sizeof c2);
    CHECK(ds_i8_matmul(&p, &dc, pr, k + 3, c1 + 2) == 0);
    ds_i8_att_context(&p, T, HD, LD, pr, k + 3, scratch, c2 + 2);
    for (int i = 0; i < T * LD; i++) diff += c1[i] != c2[i], total++;
  }
  printf("attention: %ld outputs, %ld differ\n", total, diff);
  CHECK(diff == 0);
}

static void test_pool(test_rng *r) {
  enum { T = 17, W = 40 };
  static int8_t x[T * W], y[W];
  static uint8_t mask[T];
  long worst = 0;
  for (int trial = 0; trial < 200; trial++) {
    fill(r, x, sizeof x, -128, 127);
    const int32_t zp = (int32_t)rng_range(r, -128, 127);
    int n = 0;
    for (int t = 0; t < T; t++) n += mask[t] = trial % 50 == 0 ? 0 : rng_unit(r) < 0.7;
    ds_i8_pool_mean(x, mask, T, W, zp, y);
    for (int c = 0; c < W; c++) {
      double sum = 0;
      for (int t = 0; t < T; t++)
        if (mask[t]) sum += x[t * W + c] - zp;
      const double mean = n ? sum / n : 0.0;
      const long want = zp + (long)(mean >= 0 ? floor(mean + 0.5) : -floor(-mean + 0.5));
      worst = labs(want - y[c]) > worst ? labs(want - y[c]) : worst;
    }
  }
  printf("pool: worst difference from the rounded mean %ld\n", worst);
  CHECK(worst == 0);
}

int main(void) {
  test_rng r = {77};
  test_fc(&r);
  test_attention(&r);
  test_pool(&r);
  return check_report();
}
