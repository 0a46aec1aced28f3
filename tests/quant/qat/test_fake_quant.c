/* Fake quantization (forward equals the integer round trip, STE mask), observers and LSQ. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "quant/qat/qat.h"
#include "tests/check.h"
#include "tests/rng.h"

static void test_forward_matches_integer_path(void) {
  test_rng r = {5};
  enum { N = 4096 };
  static float x[N], fq[N], back[N];
  static uint8_t mask[N];
  static int8_t q[N];
  ds_qparams qp;
  CHECK(ds_qparams_asymmetric(-1.3f, 2.1f, 8, &qp) == 0);
  for (int i = 0; i < N; i++) x[i] = (float)rng_uniform(&r, -2.0, 3.0); /* some clamp */
  memcpy(fq, x, sizeof x);
  ds_fake_quant_tensor(fq, N, &qp, mask);
  ds_quant_tensor(&qp, x, N, q);
  ds_dequant_tensor(&qp, q, N, back);
  int differ = 0, bad_mask = 0, inside = 0;
  for (int i = 0; i < N; i++) {
    if (memcmp(&fq[i], &back[i], sizeof(float)) != 0) differ++;
    float c = roundf(x[i] / qp.scale) + (float)qp.zero_point;
    int want = c >= qp.qmin && c <= qp.qmax;
    if (mask[i] != want) bad_mask++;
    inside += want;
  }
  CHECK_MSG(differ == 0, "%d fake-quant values differ from dequantize(quantize(x))", differ);
  CHECK(bad_mask == 0);
  CHECK(inside > N / 2 && inside < N); /* both cases were exercised */

  /* Hand-picked values around the top of the range (scale 0.1, zero point 0). */
  ds_qparams p = {0.1f, 0, -128, 127};
  float v[4] = {12.7f, 12.74f, 12.76f, -12.86f};
  uint8_t m[4];
  ds_fake_quant_tensor(v, 4, &p, m);
  CHECK(m[0] == 1 && m[1] == 1 && m[2] == 0 && m[3] == 0);
  CHECK(v[2] == 127 * 0.1f && v[3] == -128 * 0.1f);

  float gy[4] = {1.0f, 2.0f, 3.0f, 4.0f}, gx[4] = {0.5f, 0.5f, 0.5f, 0.5f};
  ds_fake_quant_backward(gx, gy, m, 4);
  CHECK(gx[0] == 1.5f && gx[1] == 2.5f && gx[2] == 0.5f && gx[3] == 0.5f);
  ds_fake_quant_mask_apply(gy, m, 4);
  CHECK(gy[0] == 1.0f && gy[1] == 2.0f && gy[2] == 0.0f && gy[3] == 0.0f);
}

static void test_rows(void) {
  enum { R = 3, C = 50 };
  float w[R * C], fq[R * C], back[R * C], scales[R];
  int8_t q[R * C];
  uint8_t mask[R * C];
  test_rng r = {8};
  for (int i = 0; i < R * C; i++) w[i] = (float)rng_uniform(&r, -1.0, 1.0) * (float)(1 + i / C);
  CHECK(ds_qparams_rows(w, R, C, 4, scales) == 0);
  memcpy(fq, w, sizeof w);
  CHECK(ds_fake_quant_rows(fq, R, C, scales, 4, mask) == 0);
  CHECK(ds_quant_rows(w, R, C, scales, 4, q) == 0);
  CHECK(ds_dequant_rows(q, R, C, scales, back) == 0);
  int differ = 0, masked = 0;
  for (int i = 0; i < R * C; i++) {
    differ += fq[i] != back[i];
    masked += !mask[i];
  }
  CHECK(differ == 0);
  CHECK(masked == 0); /* scales from the row max never clamp */
  /* With half the scale, values beyond 7 steps are clamped and masked. */
  for (int i = 0; i < R; i++) scales[i] *= 0.5f;
  memcpy(fq, w, sizeof w);
  CHECK(ds_fake_quant_rows(fq, R, C, scales, 4, mask) == 0);
  int bad = 0;
  for (int i = 0; i < R * C; i++) {
    float c = roundf(w[i] / scales[i / C]);
    if (mask[i] != (fabsf(c) <= 7.0f)) bad++;
    if (fabsf(fq[i]) > 7.0f * scales[i / C] * 1.000001f) bad++;
  }
  CHECK(bad == 0);
  CHECK(ds_fake_quant_rows(fq, R, C, scales, 1, mask) == -1);
}

static void test_observers(void) {
  ds_qobserver o;
  float b1[4] = {-1.0f, 0.5f, 2.0f, 0.0f}, b2[3] = {-3.0f, 1.0f, NAN}, b3[2] = {0.0f, 5.0f};
  float none[2] = {NAN, INFINITY};
  ds_qparams qp;

  CHECK(ds_qobserver_init(&o, DS_OBS_MINMAX, 0.0f) == 0);
  CHECK(ds_qobserver_qparams(&o, 8, &qp) == 0 && qp.scale == 1.0f);
  ds_qobserver_update(&o, b1, 4);
  CHECK(o.min == -1.0f && o.max == 2.0f && o.seen == 1);
  ds_qobserver_update(&o, b2, 3);
  CHECK(o.min == -3.0f && o.max == 2.0f);
  ds_qobserver_update(&o, none, 2);
  CHECK(o.min == -3.0f && o.max == 2.0f && o.seen == 2);
  o.frozen = 1;
  ds_qobserver_update(&o, b3, 2);
  CHECK(o.max == 2.0f);
  CHECK(ds_qobserver_qparams(&o, 8, &qp) == 0);
  CHECK_CLOSE(qp.scale, 5.0 / 255.0, 0, 1e-6);

  CHECK(ds_qobserver_init(&o, DS_OBS_EMA, 0.9f) == 0);
  ds_qobserver_update(&o, b1, 4); /* first batch: taken as is */
  CHECK(o.min == -1.0f && o.max == 2.0f);
  ds_qobserver_update(&o, b2, 3);
  CHECK_CLOSE(o.min, 0.9 * -1.0 + 0.1 * -3.0, 1e-6, 0);
  CHECK_CLOSE(o.max, 0.9 * 2.0 + 0.1 * 1.0, 1e-6, 0);
  ds_qobserver_update(&o, b3, 2);
  CHECK_CLOSE(o.min, 0.9 * -1.2 + 0.1 * 0.0, 1e-6, 0);
  CHECK_CLOSE(o.max, 0.9 * 1.9 + 0.1 * 5.0, 1e-6, 0);
  float min_before = o.min;
  o.frozen = 1;
  ds_qobserver_update(&o, b2, 3);
  CHECK(o.min == min_before);

  CHECK(ds_qobserver_init(&o, DS_OBS_EMA, 1.0f) == -1);
  CHECK(ds_qobserver_init(&o, (ds_observer)7, 0.5f) == -1);
}

/* The fake-quantized value of one element as a function of the scale (zero point fixed). */
static float fq_at(float x, ds_qparams qp, float scale) {
  qp.scale = scale;
  ds_fake_quant_tensor(&x, 1, &qp, NULL);
  return x;
}

static void test_lsq(void) {
  CHECK_CLOSE(ds_lsq_grad_scale(100, 127), 1.0 / sqrt(12700.0), 0, 1e-6);
  CHECK(ds_lsq_grad_scale(0, 127) == 0.0f);

  /* Per-element derivative: clamped elements match central differences exactly; inside
   * elements, away from rounding boundaries, differences give round(x/s) and LSQ's STE
   * gradient is that minus x/s. */
  ds_qparams qp = {0.05f, -20, -128, 127};
  test_rng r = {31};
  int bad = 0, n_in = 0, n_out = 0;
  for (int t = 0; t < 2000; t++) {
    float x = (float)rng_uniform(&r, -9.0, 9.0);
    float v = x / qp.scale, frac = v - floorf(v);
    if (fabsf(frac - 0.5f) < 0.1f) continue; /* round(v) flips at half steps */
    float c = roundf(v) + qp.zero_point;
    if (fabsf(c - qp.qmin) < 2.0f || fabsf(c - qp.qmax) < 2.0f) continue;
    /* The slope is an integer (c - zp or a clamp bound); float noise in the difference
     * quotient is far below 0.5, so the nearest integer identifies it. */
    const float h = 2e-4f * qp.scale;
    double fd = ((double)fq_at(x, qp, qp.scale + h) - fq_at(x, qp, qp.scale - h)) /
                ((double)(qp.scale + h) - (double)(qp.scale - h));
    double slope = round(fd);
    if (fabs(fd - slope) > 0.2) bad++;
    float one = 1.0f, gs = 0.0f;
    ds_lsq_backward(&x, &one, 1, &qp, &gs);
    double d = gs / ds_lsq_grad_scale(1, qp.qmax - qp.qmin);
    int inside = c >= qp.qmin && c <= qp.qmax;
    double want = inside ? slope - (double)v : slope;
    if (fabs(d - want) > 1e-4 * (1.0 + fabs(want))) {
      if (bad++ < 5) fprintf(stderr, "x=%g: lsq %g vs fd-based %g\n", x, d, want);
    }
    if (!inside && slope != (c < qp.qmin ? qp.qmin - qp.zero_point : qp.qmax - qp.zero_point))
      bad++;
    n_in += inside;
    n_out += !inside;
  }
  CHECK_MSG(bad == 0, "%d LSQ element gradients disagree", bad);
  CHECK(n_in > 100 && n_out > 100);

  /* Whole tensor against the formula written out here. */
  enum { N = 300 };
  float x[N], gy[N];
  for (int i = 0; i < N; i++) {
    x[i] = (float)rng_uniform(&r, -9.0, 9.0);
    gy[i] = (float)rng_uniform(&r, -1.0, 1.0);
  }
  double sum = 0.0;
  for (int i = 0; i < N; i++) {
    double v = x[i] / qp.scale, q = round(v) + qp.zero_point, d;
    if (q < qp.qmin) d = qp.qmin - qp.zero_point;
    else if (q > qp.qmax) d = qp.qmax - qp.zero_point;
    else d = round(v) - v;
    sum += gy[i] * d;
  }
  float gs = 1.0f; /* accumulates */
  ds_lsq_backward(x, gy, N, &qp, &gs);
  CHECK_CLOSE(gs, 1.0 + sum / sqrt(N * 255.0), 1e-5, 1e-4);

  /* Per row (symmetric, Q_P = qmax, n = cols). */
  float scales[2] = {0.02f, 0.5f}, gsr[2] = {0.0f, 0.0f};
  CHECK(ds_lsq_rows_backward(x, gy, 2, N / 2, scales, 8, gsr) == 0);
  for (int row = 0; row < 2; row++) {
    double s = 0.0;
    for (int i = row * N / 2; i < (row + 1) * N / 2; i++) {
      double v = x[i] / scales[row], q = round(v);
      s += gy[i] * (q < -127 ? -127.0 : q > 127 ? 127.0 : round(v) - v);
    }
    CHECK_CLOSE(gsr[row], s / sqrt((N / 2) * 127.0), 1e-5, 1e-4);
  }
}

int main(void) {
  test_forward_matches_integer_path();
  test_rows();
  test_observers();
  test_lsq();
  return check_report();
}
