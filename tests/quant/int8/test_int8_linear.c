/* Integer kernels (fully connected, matmul, add, embedding) against a reference that
 * dequantizes, computes in double and quantizes: within one step of the output everywhere. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "quant/int8/int8_ops.h"
#include "quant/int8/int8.h"
#include "quant/qat/qat.h"
#include "tests/check.h"
#include "tests/rng.h"

static int ref_quant(double y, double scale, int zp, int lo, int hi) {
  double c = round(y / scale) + zp;
  return c < lo ? lo : c > hi ? hi : (int)c;
}

static void fill_i8(test_rng *r, int8_t *q, size_t n, int lo, int hi) {
  for (size_t i = 0; i < n; i++) q[i] = (int8_t)rng_range(r, lo, hi);
}

/* Output parameters covering `frac` of the reference outputs' range, so some saturate. */
static ds_qparams out_params_for(const double *y, size_t n, double frac) {
  double lo = 0.0, hi = 0.0;
  for (size_t i = 0; i < n; i++) {
    if (y[i] < lo) lo = y[i];
    if (y[i] > hi) hi = y[i];
  }
  ds_qparams qp;
  ds_qparams_asymmetric((float)(lo * frac), (float)(hi * frac), 8, &qp);
  return qp;
}

enum { B = 7, I = 61, O = 33 };

static void test_fc(void) {
  static int8_t x[B * I], w[O * I], y[B * O];
  static float wf[O * I], wfq[O * I], bf[O], s_w[O], xf[B * I];
  static int32_t bias[O], mult[O], shift[O];
  static double ref[B * O];
  test_rng r = {2024};
  int worst = 0, exact = 0, total = 0, fq_worst = 0, fails = 0;
  for (int trial = 0; trial < 20; trial++) {
    ds_qparams in = {(float)rng_uniform(&r, 0.005, 0.05), (int32_t)rng_range(&r, -20, 20), -128, 127};
    fill_i8(&r, x, B * I, -128, 127);
    for (int o = 0; o < O; o++)
      for (int i = 0; i < I; i++) wf[o * I + i] = (float)rng_uniform(&r, -1.0, 1.0) * (1 + o % 5);
    for (int o = 0; o < O; o++) bf[o] = (float)rng_uniform(&r, -0.5, 0.5);
    int with_bias = trial % 4 != 3;
    if (ds_qparams_rows(wf, O, I, 8, s_w) || ds_quant_rows(wf, O, I, s_w, 8, w) ||
        ds_quant_bias(bf, O, in.scale, s_w, bias)) {
      fails++;
      continue;
    }
    for (int b = 0; b < B; b++)
      for (int o = 0; o < O; o++) {
        double acc = with_bias ? (double)bias[o] * ((double)in.scale * s_w[o]) : 0.0;
        for (int i = 0; i < I; i++)
          acc += ((double)x[b * I + i] - in.zero_point) * in.scale * ((double)w[o * I + i] * s_w[o]);
        ref[b * O + o] = acc;
      }
    ds_qparams out = out_params_for(ref, B * O, 0.8);
    ds_i8_fc_params p = {in.zero_point, out.zero_point, -128, 127};
    ds_i8_fc_dims d = {B, I, O};
    if (ds_i8_multipliers_make(in.scale, s_w, O, out.scale, mult, shift) ||
        ds_i8_fc(&p, &d, mult, shift, x, w, with_bias ? bias : NULL, y)) {
      fails++;
      continue;
    }
    for (int k = 0; k < B * O; k++) {
      int want = ref_quant(ref[k], out.scale, out.zero_point, -128, 127);
      int e = abs(y[k] - want);
      if (e > worst) worst = e;
      exact += e == 0;
      total++;
    }

    /* The fake-quant forward in float: fake-quantized weights, dequantized input, float bias. */
    memcpy(wfq, wf, sizeof wf);
    ds_fake_quant_rows(wfq, O, I, s_w, 8, NULL);
    ds_dequant_tensor(&in, x, B * I, xf);
    for (int b = 0; b < B; b++)
      for (int o = 0; o < O; o++) {
        float acc = with_bias ? bf[o] : 0.0f;
        for (int i = 0; i < I; i++) acc += xf[b * I + i] * wfq[o * I + i];
        ds_fake_quant_tensor(&acc, 1, &out, NULL);
        int e = abs(y[b * O + o] - ds_qparams_quantize(&out, acc));
        if (e > fq_worst) fq_worst = e;
      }
  }
  CHECK(fails == 0);
  CHECK_MSG(worst <= 1, "fc: worst error %d LSB", worst);
  CHECK_MSG(exact > total * 9 / 10, "fc: only %d of %d exact", exact, total);
  CHECK_MSG(fq_worst <= 1, "fc vs fake-quant forward: worst %d LSB", fq_worst);

  ds_i8_fc_params p = {0, 0, -128, 127};
  ds_i8_fc_dims d = {B, I, O};
  CHECK(ds_i8_fc(&p, &d, mult, shift, NULL, w, NULL, y) == -1);
  p.input_zp = 300;
  CHECK(ds_i8_fc(&p, &d, mult, shift, x, w, NULL, y) == -1);
}

static void test_attention_matmul(void) {
  enum { T = 9, H = 2, HD = 8, C = H * HD };
  static int8_t qkv[T * 3 * C], scores[T * T], probs[T * T], ctx[T * C];
  static double ref[T * T > T * HD ? T * T : T * HD];
  test_rng r = {4242};
  ds_qparams act = {0.05f, -3, -128, 127};
  ds_qparams pq = {DS_I8_SOFTMAX_SCALE, DS_I8_SOFTMAX_ZP, -128, 127};
  fill_i8(&r, qkv, sizeof qkv, -128, 127);
  fill_i8(&r, probs, sizeof probs, -128, 127);
  memset(ctx, 0x55, sizeof ctx);
  int worst = 0, fails = 0;
  double alpha = 1.0 / sqrt((double)HD);
  for (int h = 0; h < H; h++) {
    const int8_t *qh = qkv + h * HD, *kh = qkv + C + h * HD, *vh = qkv + 2 * C + h * HD;
    for (int i = 0; i < T; i++)
      for (int j = 0; j < T; j++) {
        double acc = 0.0;
        for (int k = 0; k < HD; k++)
          acc += ((qh[i * 3 * C + k] - act.zero_point) * (double)act.scale) *
                 ((kh[j * 3 * C + k] - act.zero_point) * (double)act.scale);
        ref[i * T + j] = acc * alpha;
      }
    ds_qparams so = out_params_for(ref, T * T, 0.9);
    ds_i8_matmul_params p = {act.zero_point, act.zero_point, so.zero_point, 0, 0, -128, 127};
    int sh;
    fails += ds_quant_multiplier_make((double)act.scale * act.scale * alpha / so.scale, &p.multiplier, &sh);
    p.shift = sh;
    ds_i8_matmul_dims d = {T, HD, T, 3 * C, 3 * C, T, 1};
    fails += ds_i8_matmul(&p, &d, qh, kh, scores) != 0;
    for (int k = 0; k < T * T; k++) {
      int e = abs(scores[k] - ref_quant(ref[k], so.scale, so.zero_point, -128, 127));
      if (e > worst) worst = e;
    }

    /* P V: probabilities (T, T) times V_h (T, HD) read from the packed rows, written into
     * the head's columns of the context (T, C). */
    for (int i = 0; i < T; i++)
      for (int k = 0; k < HD; k++) {
        double acc = 0.0;
        for (int j = 0; j < T; j++)
          acc += ((probs[i * T + j] - pq.zero_point) * (double)pq.scale) *
                 ((vh[j * 3 * C + k] - act.zero_point) * (double)act.scale);
        ref[i * HD + k] = acc;
      }
    ds_qparams co = out_params_for(ref, T * HD, 1.0);
    ds_i8_matmul_params pv = {pq.zero_point, act.zero_point, co.zero_point, 0, 0, -128, 127};
    fails += ds_quant_multiplier_make((double)pq.scale * act.scale / co.scale, &pv.multiplier, &sh);
    pv.shift = sh;
    ds_i8_matmul_dims dv = {T, T, HD, T, 3 * C, C, 0};
    fails += ds_i8_matmul(&pv, &dv, probs, vh, ctx + h * HD) != 0;
    for (int i = 0; i < T; i++)
      for (int k = 0; k < HD; k++) {
        int e = abs(ctx[i * C + h * HD + k] - ref_quant(ref[i * HD + k], co.scale, co.zero_point, -128, 127));
        if (e > worst) worst = e;
      }
  }
  CHECK(fails == 0);
  CHECK_MSG(worst <= 1, "matmul: worst error %d LSB", worst);
  int untouched = 0;
  for (int k = 0; k < T * C; k++) untouched += ctx[k] == 0x55;
  CHECK(untouched < 4); /* every head's columns were written */

  ds_i8_matmul_params p = {0, 0, 0, 1 << 30, 0, -128, 127};
  ds_i8_matmul_dims bad = {T, HD, T, HD - 1, HD, T, 1};
  CHECK(ds_i8_matmul(&p, &bad, qkv, qkv, scores) == -1);
}

static void check_add_exhaustive(float s1, int zp1, float s2, int zp2, float so, int zpo,
                                 int want_exact) {
  ds_i8_add_params p;
  CHECK(ds_i8_add_params_make(s1, zp1, s2, zp2, so, zpo, &p) == 0);
  static int8_t a[65536], b[65536], y[65536];
  for (int i = 0; i < 65536; i++) {
    a[i] = (int8_t)(i / 256 - 128);
    b[i] = (int8_t)(i % 256 - 128);
  }
  CHECK(ds_i8_add(&p, a, b, 65536, y) == 0);
  int worst = 0, exact = 0;
  for (int i = 0; i < 65536; i++) {
    double v = (a[i] - zp1) * (double)s1 + (b[i] - zp2) * (double)s2;
    int e = abs(y[i] - ref_quant(v, so, zpo, -128, 127));
    if (e > worst) worst = e;
    exact += e == 0;
  }
  CHECK_MSG(worst <= (want_exact ? 0 : 1), "add(%g, %g -> %g): worst %d LSB", s1, s2, so, worst);
  CHECK_MSG(exact > 65536 * 9 / 10, "add: only %d exact", exact);
}

static void test_add(void) {
  check_add_exhaustive(0.05f, -10, 0.02f, 7, 0.06f, 3, 0);
  check_add_exhaustive(0.01f, 0, 0.1f, -128, 0.05f, -5, 0);
  check_add_exhaustive(0.0371f, 12, 0.0413f, -40, 0.029f, 0, 0); /* saturates a lot */
  check_add_exhaustive(0.03f, 0, 0.03f, 0, 0.03f, 0, 1);         /* plain integer sum */
  ds_i8_add_params p;
  CHECK(ds_i8_add_params_make(0.0f, 0, 0.1f, 0, 0.1f, 0, &p) == -1);
  CHECK(ds_i8_add_params_make(0.1f, 200, 0.1f, 0, 0.1f, 0, &p) == -1);
}

static void test_embedding(void) {
  enum { V = 50, D = 16, N = 12 };
  static float table_f[V * D], s_row[V];
  static int8_t table[V * D], y[N * D];
  static int32_t mult[V], shift[V], ids[N];
  test_rng r = {77};
  for (int v = 0; v < V; v++)
    for (int c = 0; c < D; c++) table_f[v * D + c] = (float)rng_uniform(&r, -1, 1) * (0.2f + v % 7);
  CHECK(ds_qparams_rows(table_f, V, D, 8, s_row) == 0);
  CHECK(ds_quant_rows(table_f, V, D, s_row, 8, table) == 0);
  ds_qparams out;
  CHECK(ds_qparams_asymmetric(-2.0f, 3.0f, 8, &out) == 0);
  CHECK(ds_i8_multipliers_make(1.0f, s_row, V, out.scale, mult, shift) == 0);
  for (int t = 0; t < N; t++) ids[t] = (int32_t)rng_range(&r, 0, V - 1);
  ids[0] = 0;
  ids[1] = V - 1;
  ds_i8_embedding_params p = {out.zero_point, -128, 127};
  ds_i8_embedding_dims d = {V, D};
  CHECK(ds_i8_embedding_lookup(&p, &d, mult, shift, table, ids, N, y) == 0);
  int worst = 0;
  for (int t = 0; t < N; t++)
    for (int c = 0; c < D; c++) {
      double v = (double)table[ids[t] * D + c] * s_row[ids[t]];
      int e = abs(y[t * D + c] - ref_quant(v, out.scale, out.zero_point, -128, 127));
      if (e > worst) worst = e;
    }
  CHECK_MSG(worst <= 1, "embedding: worst %d LSB", worst);
  ids[3] = V;
  CHECK(ds_i8_embedding_lookup(&p, &d, mult, shift, table, ids, N, y) == -1);
  ids[3] = -1;
  CHECK(ds_i8_embedding_lookup(&p, &d, mult, shift, table, ids, N, y) == -1);
}

int main(void) {
  test_fc();
  test_attention_matmul();
  test_add();
  test_embedding();
  return check_report();
}
