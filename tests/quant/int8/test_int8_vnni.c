/* The AVX-512 / VNNI kernels against the portable ones, bit for bit: ds_i8_add_vnni against ds_i8_add, the
 * attention heads against ds_i8_att_scores / ds_i8_att_context (several heads side by side, partial blocks of
 * 16 keys and columns, probabilities at the zero point), and ds_i8_fc_vnni against the reference ds_i8_fc on
 * random layers, ds_i8_embedding_lookup_vnni, ds_i8_requant_cols_vnni, and ds_i8_layernorm_vnni against ds_i8_layernorm (codes on rounding ties, narrowed ranges);
 * ds_i8_fc_vnni on random layers: widths that are not multiples of 4, 16 or 64, channel counts that leave partial
 * blocks of 16, batches that leave partial groups of 4 rows, per-channel multipliers over the whole shift range
 * (left and right shifts), extreme zero points and clamp ranges, with and without bias, and accumulators large
 * enough to saturate int32 after the bias. */
#include <stdlib.h>
#include <string.h>

#include "tests/check.h"
#include "quant/int8/int8.h"

static uint32_t rng_state = 12345u;
static uint32_t rnd(void) { /* xorshift32: reproducible without libgsl (quant/int8/ links libc, libm and common/ only) */
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 17;
  rng_state ^= rng_state << 5;
  return rng_state;
}
static int rnd_in(int lo, int hi) { return lo + (int)(rnd() % (uint32_t)(hi - lo + 1)); }

static int check_case(int batch, int in, int out, int with_bias, int big_bias) {
  int8_t *x = malloc((size_t)batch * in), *w = malloc((size_t)out * in);
  int8_t *y = malloc((size_t)batch * out), *r = malloc((size_t)batch * out);
  int32_t *bias = malloc(sizeof(int32_t) * out), *mult = malloc(sizeof(int32_t) * out);
  int32_t *shift = malloc(sizeof(int32_t) * out), *wsum = malloc(sizeof(int32_t) * out);
  for (int i = 0; i < batch * in; i++) x[i] = (int8_t)rnd_in(-128, 127);
  for (int i = 0; i < out * in; i++) w[i] = (int8_t)rnd_in(-127, 127);
  for (int o = 0; o < out; o++) {
    bias[o] = big_bias ? (int32_t)(rnd() - 2147483648u) : rnd_in(-100000, 100000);
    /* real multipliers from 2^-40 to 2^3: right shifts past 31 are clamped, left shifts up to 3 */
    const double real = (1.0 + (rnd() % 1000) / 1000.0) * (double)(1ull << 20) / (double)(1ull << rnd_in(21, 60));
    int sh;
    if (ds_quant_multiplier_make(real, &mult[o], &sh)) sh = 0, mult[o] = 1 << 30;
    shift[o] = sh;
  }
  ds_i8_row_sums(w, out, in, wsum);
  const int32_t zps[3] = {-128, 0, 127};
  ds_i8_fc_params p = {zps[rnd() % 3], rnd_in(-128, 127), -128, 127};
  if (rnd() % 3 == 0) p.act_min = -100, p.act_max = 90;
  const ds_i8_fc_dims d = {batch, in, out};
  int ok = ds_i8_fc_vnni(&p, &d, mult, shift, x, w, with_bias ? bias : NULL, wsum, y) == 0 &&
           ds_i8_fc(&p, &d, mult, shift, x, w, with_bias ? bias : NULL, r) == 0 &&
           memcmp(y, r, (size_t)batch * out) == 0;
  CHECK_MSG(ok, "batch %d in %d out %d bias %d big %d zp %d", batch, in, out, with_bias, big_bias, p.input_zp);
  free(x), free(w), free(y), free(r), free(bias), free(mult), free(shift), free(wsum);
  return ok;
}

static int check_add(size_t n) {
  int8_t *a = malloc(n + 1), *b = malloc(n + 1), *y = malloc(n + 1), *r = malloc(n + 1);
  for (size_t i = 0; i < n; i++) a[i] = (int8_t)rnd_in(-128, 127), b[i] = (int8_t)rnd_in(-128, 127);
  ds_i8_add_params p;
  const float s1 = (float)(0.001 + (rnd() % 1000) * 1e-4), s2 = (float)(0.001 + (rnd() % 1000) * 1e-4);
  const float so = (float)(0.002 + (rnd() % 1000) * 1e-4);
  int ok = ds_i8_add_params_make(s1, rnd_in(-128, 127), s2, rnd_in(-128, 127), so, rnd_in(-128, 127), &p) == 0;
  if (rnd() % 2) p.act_min = -120, p.act_max = 100;
  ok = ok && ds_i8_add_vnni(&p, a, b, n, y) == 0 && ds_i8_add(&p, a, b, n, r) == 0 && memcmp(y, r, n) == 0;
  CHECK_MSG(ok, "add n %zu", n);
  free(a), free(b), free(y), free(r);
  return ok;
}

static int check_attention(int T, int hd, int heads) {
  const int ld = heads * hd;
  int8_t *q = malloc((size_t)T * ld), *k = malloc((size_t)T * ld), *v = malloc((size_t)T * ld);
  int8_t *pr = malloc((size_t)T * T), *y = malloc((size_t)T * T), *r = malloc((size_t)T * T);
  int8_t *c1 = malloc((size_t)T * ld), *c2 = malloc((size_t)T * ld);
  int32_t *scr = malloc(sizeof(int32_t) * (size_t)(T > hd ? T : hd));
  for (int i = 0; i < T * ld; i++) {
    q[i] = (int8_t)rnd_in(-128, 127), k[i] = (int8_t)rnd_in(-128, 127), v[i] = (int8_t)rnd_in(-128, 127);
    c1[i] = c2[i] = 7; /* other heads' columns must stay untouched */
  }
  for (int i = 0; i < T * T; i++) pr[i] = (int8_t)(rnd() % 4 == 0 ? -128 : rnd_in(-128, 127)); /* zeros too */
  int ok = 1;
  for (int h = 0; h < heads; h++) {
    const double real = (1.0 + (rnd() % 1000) / 1000.0) / (double)(1ull << rnd_in(4, 40));
    int32_t m;
    int sh;
    if (ds_quant_multiplier_make(real, &m, &sh)) return 0;
    ds_i8_matmul_params p = {rnd_in(-128, 127), rnd_in(-128, 127), rnd_in(-128, 127), m, sh, -128, 127};
    ds_i8_att_scores_vnni(&p, T, hd, ld, q + h * hd, k + h * hd, scr, y);
    ds_i8_att_scores(&p, T, hd, ld, q + h * hd, k + h * hd, scr, r);
    ok &= memcmp(y, r, (size_t)T * T) == 0;
    p.a_zp = -128; /* the softmax zero point */
    ds_i8_att_context_vnni(&p, T, hd, ld, pr, v + h * hd, scr, c1 + h * hd);
    ds_i8_att_context(&p, T, hd, ld, pr, v + h * hd, scr, c2 + h * hd);
  }
  ok &= memcmp(c1, c2, (size_t)T * ld) == 0;
  CHECK_MSG(ok, "attention T %d hd %d heads %d", T, hd, heads);
  free(q), free(k), free(v), free(pr), free(y), free(r), free(c1), free(c2), free(scr);
  return ok;
}

static int check_layernorm(int rows, int cols, int ties) {
  int8_t *x = malloc((size_t)rows * cols), *y = malloc((size_t)rows * cols), *r = malloc((size_t)rows * cols);
  float *g = malloc(sizeof(float) * cols), *b = malloc(sizeof(float) * cols), *scr = malloc(sizeof(float) * cols);
  ds_qparams qi = {(float)(0.01 + (rnd() % 100) * 1e-3), rnd_in(-128, 127), -128, 127};
  ds_qparams qo = {(float)(0.005 + (rnd() % 100) * 1e-3), rnd_in(-20, 20), -128, 127};
  float eps = 1e-5f;
  for (int i = 0; i < rows * cols; i++) x[i] = (int8_t)rnd_in(-128, 127);
  for (int c = 0; c < cols; c++) {
    g[c] = (float)((rnd() % 2000) / 1000.0 - 0.5);
    b[c] = (float)((rnd() % 2000) / 1000.0 - 1.0);
  }
  if (ties) {
    /* rows of +1, -1 (scale 1/4, codes zp +- 4; cols even): mean 0 and rstd 1 exactly with eps 0, so the
     * outputs are +-gamma = +-(k + 1/2) at scale 1: every code is a rounding tie */
    qi = (ds_qparams){0.25f, 3, -128, 127};
    qo = (ds_qparams){1.0f, 0, -128, 127};
    eps = 0.0f;
    for (int i = 0; i < rows * cols; i++) x[i] = (int8_t)(3 + (i % 2 ? -4 : 4));
    for (int c = 0; c < cols; c++) g[c] = (float)rnd_in(-20, 20) + 0.5f, b[c] = 0.0f;
  } else if (rnd() % 2) {
    qo.qmin = -100, qo.qmax = 100;
  }
  int ok = ds_i8_layernorm_vnni(&qi, &qo, g, b, eps, x, rows, cols, scr, y) == 0 &&
           ds_i8_layernorm(&qi, &qo, g, b, eps, x, rows, cols, scr, r) == 0 &&
           memcmp(y, r, (size_t)rows * cols) == 0;
  CHECK_MSG(ok, "layernorm rows %d cols %d ties %d", rows, cols, ties);
  free(x), free(y), free(r), free(g), free(b), free(scr);
  return ok;
}

static int check_embedding(int vocab, int dim, int n) {
  int8_t *table = malloc((size_t)vocab * dim), *y = malloc((size_t)n * dim + 1), *r = malloc((size_t)n * dim + 1);
  int32_t *mult = malloc(sizeof(int32_t) * vocab), *shift = malloc(sizeof(int32_t) * vocab);
  int32_t *ids = malloc(sizeof(int32_t) * (n + 1));
  for (int i = 0; i < vocab * dim; i++) table[i] = (int8_t)rnd_in(-127, 127);
  for (int v = 0; v < vocab; v++) {
    int sh;
    if (ds_quant_multiplier_make((1.0 + (rnd() % 1000) / 1000.0) / (double)(1ull << rnd_in(0, 9)), &mult[v], &sh))
      return 0;
    shift[v] = sh;
  }
  for (int t = 0; t < n; t++) ids[t] = rnd_in(0, vocab - 1);
  ds_i8_embedding_params p = {rnd_in(-128, 127), -128, 127};
  const ds_i8_embedding_dims d = {vocab, dim};
  int ok = ds_i8_embedding_lookup_vnni(&p, &d, mult, shift, table, ids, n, y) == 0 &&
           ds_i8_embedding_lookup(&p, &d, mult, shift, table, ids, n, r) == 0 && memcmp(y, r, (size_t)n * dim) == 0;
  ids[n > 0 ? n - 1 : 0] = vocab; /* an id out of range is refused, as by the portable kernel */
  ok = ok && (n == 0 || ds_i8_embedding_lookup_vnni(&p, &d, mult, shift, table, ids, n, y) == -1);
  CHECK_MSG(ok, "embedding vocab %d dim %d n %d", vocab, dim, n);
  free(table), free(y), free(r), free(mult), free(shift), free(ids);
  return ok;
}

/* ds_i8_requant_cols_vnni against ds_i8_requant_cols: accumulators over the whole int32 range (and at its ends),
 * multipliers with left and right shifts (past the clamped range too), INT32_MIN multipliers, narrowed clamps. */
static int check_requant_cols(int rows, int cols) {
  int32_t *acc = malloc(sizeof(int32_t) * rows * cols), *mult = malloc(sizeof(int32_t) * cols);
  int32_t *shift = malloc(sizeof(int32_t) * cols);
  int8_t *y = malloc((size_t)rows * cols), *r = malloc((size_t)rows * cols);
  for (int i = 0; i < rows * cols; i++)
    acc[i] = i % 11 == 0 ? (i % 2 ? INT32_MIN : INT32_MAX) : i % 3 ? rnd_in(-100000, 100000) : (int32_t)rnd();
  for (int c = 0; c < cols; c++) {
    mult[c] = c % 13 == 5 ? INT32_MIN : (int32_t)((1u << 30) + (rnd() >> 2));
    shift[c] = rnd_in(-40, 33);
  }
  const int32_t zp = rnd_in(-128, 127), lo = rnd_in(-128, -60), hi = rnd_in(60, 127);
  ds_i8_requant_cols(acc, rows, cols, mult, shift, zp, lo, hi, r);
  ds_i8_requant_cols_vnni(acc, rows, cols, mult, shift, zp, lo, hi, y);
  const int same = memcmp(y, r, (size_t)rows * cols) == 0;
  CHECK_MSG(same, "requant_cols %d x %d differs", rows, cols);
  free(acc), free(mult), free(shift), free(y), free(r);
  return same;
}

int main(void) {
  printf("VNNI kernel %s on this CPU\n", ds_i8_vnni_available() ? "used" : "not available (fallback tested)");
  static const int ins[] = {1, 3, 4, 5, 63, 64, 65, 127, 128, 200, 512, 1000, 4096, 4097};
  static const int outs[] = {1, 15, 16, 17, 33, 64, 100};
  static const int batches[] = {1, 3, 4, 5, 9, 32};
  int n = 0, good = 0;
  for (size_t i = 0; i < sizeof ins / sizeof ins[0]; i++)
    for (size_t o = 0; o < sizeof outs / sizeof outs[0]; o++) {
      const int b = batches[(i + o) % (sizeof batches / sizeof batches[0])];
      good += check_case(b, ins[i], outs[o], (int)((i + o) % 2), 0);
      n++;
    }
  for (int k = 0; k < 20; k++, n++) good += check_case(rnd_in(1, 40), rnd_in(1, 700), rnd_in(1, 70), 1, k % 2);
  printf("%d of %d random layers bit-exact\n", good, n);
  static const size_t adds[] = {1, 15, 16, 17, 100, 4096, 4103};
  for (size_t i = 0; i < sizeof adds / sizeof adds[0]; i++) check_add(adds[i]);
  static const int Ts[] = {1, 5, 16, 17, 32, 33}, hds[] = {1, 3, 8, 16, 17, 32, 64, 65};
  int na = 0, ga = 0;
  for (size_t t = 0; t < sizeof Ts / sizeof Ts[0]; t++)
    for (size_t h = 0; h < sizeof hds / sizeof hds[0]; h++, na++) ga += check_attention(Ts[t], hds[h], 1 + (int)(h % 3));
  printf("%d of %d attention cases bit-exact\n", ga, na);
  static const int cols[] = {2, 8, 16, 18, 64, 128, 300};
  int nl = 0, gl = 0;
  for (size_t c = 0; c < sizeof cols / sizeof cols[0]; c++)
    for (int ties = 0; ties < 2; ties++, nl++) gl += check_layernorm(1 + (int)(c % 5) * 7, cols[c], ties);
  printf("%d of %d layernorm cases bit-exact\n", gl, nl);
  check_embedding(50, 1, 7);
  check_embedding(300, 17, 33);
  check_embedding(1000, 64, 32);
  check_embedding(10, 130, 5);
  static const int rq_cols[] = {1, 15, 16, 17, 33, 100, 384};
  int nr = 0, gr = 0;
  for (size_t c = 0; c < sizeof rq_cols / sizeof rq_cols[0]; c++, nr++) gr += check_requant_cols(1 + (int)c * 5, rq_cols[c]);
  printf("%d of %d requant_cols cases bit-exact\n", gr, nr);
  /* bad arguments */
  ds_i8_fc_params p = {0, 0, -128, 127};
  ds_i8_fc_dims d = {1, 4, 1};
  int8_t x[4] = {0}, w[4] = {0}, y[1];
  int32_t m = 1 << 30, s = 0, ws = 0;
  CHECK(ds_i8_fc_vnni(&p, &d, &m, &s, x, w, NULL, NULL, y) == -1);
  p.act_min = 5, p.act_max = 4;
  CHECK(ds_i8_fc_vnni(&p, &d, &m, &s, x, w, NULL, &ws, y) == -1);
  return check_report();
}
