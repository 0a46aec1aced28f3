/* Requantization against a second implementation written here with 128-bit arithmetic and
 * gemmlowp's original formulation (truncating division with a sign-dependent nudge for the high
 * multiply; mask and threshold for the rounding shift), which the library does not use. */
#include <math.h>
#include <stdint.h>

#include "quant/int8/int8.h"
#include "tests/check.h"
#include "tests/rng.h"

static int32_t ref_high_mul(int32_t a, int32_t b) {
  __int128 ab = (__int128)a * b;
  __int128 nudge = ab >= 0 ? ((__int128)1 << 30) : 1 - ((__int128)1 << 30);
  __int128 r = (ab + nudge) / ((__int128)1 << 31); /* C division truncates toward zero */
  return r > INT32_MAX ? INT32_MAX : (int32_t)r;
}

static int32_t ref_shift_round(int32_t x, int e) {
  if (e == 0) return x;
  __int128 v = x, p = (__int128)1 << e;
  __int128 mask = p - 1;
  __int128 rem = v & mask; /* v mod 2^e, in [0, 2^e) */
  __int128 floor_q = (v - rem) / p;
  __int128 threshold = (mask >> 1) + (x < 0);
  return (int32_t)(floor_q + (rem > threshold));
}

static int32_t ref_multiply(int32_t x, int32_t m, int shift) {
  int left = shift > 0 ? shift : 0, right = shift > 0 ? 0 : -shift;
  __int128 v = (__int128)x * ((__int128)1 << left);
  if (v > INT32_MAX) v = INT32_MAX;
  if (v < INT32_MIN) v = INT32_MIN;
  return ref_shift_round(ref_high_mul((int32_t)v, m), right);
}

static void test_known_values(void) {
  CHECK(ds_quant_high_mul(INT32_MIN, INT32_MIN) == INT32_MAX);
  CHECK(ds_quant_high_mul(INT32_MIN, INT32_MAX) == -INT32_MAX);
  CHECK(ds_quant_high_mul(INT32_MAX, INT32_MAX) == INT32_MAX - 1);
  CHECK(ds_quant_high_mul(0, INT32_MIN) == 0);
  CHECK(ds_quant_high_mul(3, 1 << 30) == 2);   /* 1.5 rounds up */
  CHECK(ds_quant_high_mul(-3, 1 << 30) == -1); /* -1.5 rounds up too (half toward +inf) */
  CHECK(ds_quant_high_mul(1000, 1 << 30) == 500);
  CHECK(ds_quant_shift_round(5, 1) == 3);
  CHECK(ds_quant_shift_round(-5, 1) == -3); /* half away from zero */
  CHECK(ds_quant_shift_round(-4, 1) == -2);
  CHECK(ds_quant_shift_round(-6, 2) == -2);
  CHECK(ds_quant_shift_round(7, 0) == 7);
  CHECK(ds_quant_shift_round(INT32_MIN, 31) == -1);
  CHECK(ds_quant_shift_round(INT32_MAX, 31) == 1);
  CHECK(ds_quant_shift_round(1 << 30, 31) == 1);
  CHECK(ds_quant_shift_round(-(1 << 30), 31) == -1);
  CHECK(ds_quant_shift_round((1 << 30) - 1, 31) == 0);
  CHECK(ds_quant_multiply(100, 1 << 30, 0) == 50);   /* x * 0.5 */
  CHECK(ds_quant_multiply(100, 1 << 30, 1) == 100);  /* x * 1.0 */
  CHECK(ds_quant_multiply(100, 1 << 30, 3) == 400);  /* left shift first */
  CHECK(ds_quant_multiply(INT32_MAX, 1 << 30, 30) == (1 << 30)); /* saturated, then * 0.5 */
  CHECK(ds_quant_multiply(INT32_MIN, 1 << 30, 30) == INT32_MIN / 2);
  CHECK(ds_quant_multiply(-7, 1 << 30, -1) == -2);   /* -1.75 */
  CHECK(ds_quant_multiply(123456, INT32_MAX, -31) == 0);
  CHECK(ds_quant_sat_i8(200) == 127);
  CHECK(ds_quant_sat_i8(-200) == -128);
  CHECK(ds_quant_sat_i8(-5) == -5);
  CHECK(ds_quant_clamp_i8(-100, -8, 7) == -8);
}

static void test_edges_against_reference(void) {
  const int32_t xs[] = {0, 1, -1, 2, -2, 3, -3, 127, -128, 255, 1 << 15, -(1 << 15), (1 << 30) - 1,
                        1 << 30, -(1 << 30), INT32_MAX, INT32_MIN, INT32_MIN + 1, INT32_MAX - 1};
  const int32_t ms[] = {0, 1, -1, 1 << 30, (1 << 30) + 1, INT32_MAX, INT32_MIN, INT32_MIN + 1,
                        1518500250 /* ~ 2^31 / sqrt(2) */};
  const int shifts[] = {-31, -30, -20, -2, -1, 0, 1, 2, 15, 29, 30};
  int bad = 0, n = 0;
  for (size_t i = 0; i < sizeof xs / sizeof xs[0]; i++)
    for (size_t j = 0; j < sizeof ms / sizeof ms[0]; j++) {
      n++;
      if (ds_quant_high_mul(xs[i], ms[j]) != ref_high_mul(xs[i], ms[j])) bad++;
      for (size_t k = 0; k < sizeof shifts / sizeof shifts[0]; k++)
        if (ds_quant_multiply(xs[i], ms[j], shifts[k]) != ref_multiply(xs[i], ms[j], shifts[k])) {
          if (bad++ < 5)
            fprintf(stderr, "multiply(%d, %d, %d): %d vs ref %d\n", xs[i], ms[j], shifts[k],
                    ds_quant_multiply(xs[i], ms[j], shifts[k]), ref_multiply(xs[i], ms[j], shifts[k]));
        }
    }
  for (size_t i = 0; i < sizeof xs / sizeof xs[0]; i++)
    for (int e = 0; e <= 31; e++)
      if (ds_quant_shift_round(xs[i], e) != ref_shift_round(xs[i], e)) bad++;
  CHECK_MSG(bad == 0, "%d edge mismatches over %d pairs", bad, n);
}

static int32_t draw_x(test_rng *r) {
  switch (rng_u64(r) % 4) {
  case 0: return (int32_t)(uint32_t)rng_u64(r);            /* full range */
  case 1: return (int32_t)rng_range(r, -(1 << 20), 1 << 20); /* accumulator-sized */
  case 2: return (int32_t)rng_range(r, -300, 300);          /* tiny, many exact halves */
  default: return (int32_t)((uint32_t)rng_u64(r) >> rng_range(r, 0, 31)) * (rng_u64(r) & 1 ? 1 : -1);
  }
}

static void test_random_against_reference(void) {
  test_rng r = {12345};
  int bad_mul = 0, bad_hm = 0, bad_sr = 0, bad_real = 0;
  const int draws = 1000000;
  for (int i = 0; i < draws; i++) {
    int32_t x = draw_x(&r);
    int32_t m = (rng_u64(&r) % 8) ? (int32_t)rng_range(&r, 1 << 30, INT32_MAX)
                                   : (int32_t)(uint32_t)rng_u64(&r);
    int shift = (int)rng_range(&r, DS_QUANT_SHIFT_MIN, DS_QUANT_SHIFT_MAX);
    int32_t got = ds_quant_multiply(x, m, shift);
    if (got != ref_multiply(x, m, shift) && bad_mul++ < 5)
      fprintf(stderr, "multiply(%d, %d, %d) = %d, ref %d\n", x, m, shift, got,
              ref_multiply(x, m, shift));
    if (ds_quant_high_mul(x, m) != ref_high_mul(x, m)) bad_hm++;
    int e = (int)rng_range(&r, 0, 31);
    if (ds_quant_shift_round(x, e) != ref_shift_round(x, e)) bad_sr++;
    /* Against the exact product where nothing saturates: two roundings cost at most one unit. */
    if (shift <= 0) {
      long double exact = ldexpl((long double)x * (long double)m, shift - 31);
      if (fabsl(exact) < 2.0e9L && fabsl((long double)got - exact) > 1.0L) bad_real++;
    }
  }
  CHECK_MSG(bad_mul == 0, "%d of %d multiply draws differ from the reference", bad_mul, draws);
  CHECK_MSG(bad_hm == 0, "%d high_mul mismatches", bad_hm);
  CHECK_MSG(bad_sr == 0, "%d shift_round mismatches", bad_sr);
  CHECK_MSG(bad_real == 0, "%d results more than 1 from the exact product", bad_real);
}

static void test_multiplier_make(void) {
  int32_t m;
  int s;
  CHECK(ds_quant_multiplier_make(1.0, &m, &s) == 0 && m == (1 << 30) && s == 1);
  CHECK(ds_quant_multiplier_make(0.5, &m, &s) == 0 && m == (1 << 30) && s == 0);
  CHECK(ds_quant_multiplier_make(0.75, &m, &s) == 0 && m == 3 * (1 << 29) && s == 0);
  CHECK(ds_quant_multiplier_make(0.0, &m, &s) == 0 && m == 0 && s == 0);
  /* q * 2^31 rounds to 2^31 exactly: the multiplier halves and the shift goes up by one. */
  CHECK(ds_quant_multiplier_make(1.0 - ldexp(1.0, -40), &m, &s) == 0 && m == (1 << 30) && s == 1);
  CHECK(ds_quant_multiplier_make(0.5 - ldexp(1.0, -40), &m, &s) == 0 && m == (1 << 30) && s == 0);
  CHECK(ds_quant_multiplier_make(ldexp(1.0, 29), &m, &s) == 0 && m == (1 << 30) && s == 30);
  CHECK(ds_quant_multiplier_make(ldexp(1.0, 30), &m, &s) == -1);
  CHECK(ds_quant_multiplier_make(-0.5, &m, &s) == -1);
  CHECK(ds_quant_multiplier_make(NAN, &m, &s) == -1);
  CHECK(ds_quant_multiplier_make(INFINITY, &m, &s) == -1);
  CHECK(ds_quant_multiplier_make(1.0, NULL, &s) == -1);
  /* Below 2^-32 the shift is pinned at -31 and the multiplier shrinks instead. */
  CHECK(ds_quant_multiplier_make(ldexp(1.0, -40), &m, &s) == 0 && s == -31 && m == (1 << 22));
  CHECK(ds_quant_multiplier_make(ldexp(1.0, -80), &m, &s) == 0 && m == 0);
  CHECK(ds_quant_multiplier_value(1 << 30, 1) == 1.0);

  test_rng r = {777};
  int bad = 0, n = 100000;
  double worst = 0.0;
  for (int i = 0; i < n; i++) {
    double real = ldexp(1.0 + rng_unit(&r), (int)rng_range(&r, -32, 28)); /* [2^-32, 2^29) */
    if (ds_quant_multiplier_make(real, &m, &s)) {
      bad++;
      continue;
    }
    double rel = fabs(ds_quant_multiplier_value(m, s) - real) / real;
    if (rel > worst) worst = rel;
    if (m < (1 << 30) || s < DS_QUANT_SHIFT_MIN || s > DS_QUANT_SHIFT_MAX) bad++;
  }
  CHECK_MSG(bad == 0, "%d draws failed or gave an unnormalised multiplier", bad);
  CHECK_MSG(worst < ldexp(1.0, -30), "worst relative round-trip error %.3g", worst);

  /* Multiplying by a quantized real matches x * real to within one unit. */
  int far = 0;
  for (int i = 0; i < n; i++) {
    double real = ldexp(1.0 + rng_unit(&r), (int)rng_range(&r, -20, 5));
    int32_t x = (int32_t)rng_range(&r, -(1 << 20), 1 << 20);
    ds_quant_multiplier_make(real, &m, &s);
    double want = x * real;
    if (fabs(want) < 2e9 && fabs(ds_quant_multiply(x, m, s) - want) > 1.0 + 1e-9 * fabs(want)) far++;
  }
  CHECK_MSG(far == 0, "%d products off by more than one", far);
}

int main(void) {
  test_known_values();
  test_edges_against_reference();
  test_random_against_reference();
  test_multiplier_make();
  return check_report();
}
