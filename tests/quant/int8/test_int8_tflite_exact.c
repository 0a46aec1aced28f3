/* The integer kernels TFLite also has, bit for bit against LiteRT itself: ADD (ds_i8_add), FULLY_CONNECTED with
 * per-channel weights and int32 bias (ds_i8_multipliers_make + ds_i8_fc) and BATCH_MATMUL of two int8
 * activations (ds_i8_matmul). tests/quant/int8/fixtures/tflite_ops.txt holds one-operator TFLite models' inputs,
 * quantization parameters and LiteRT's outputs (its builtin kernels, no delegate), written by
 * tests/quant/int8/make_tflite_op_vectors.py; every output code must be equal, none within a step.
 *
 * One known difference, pinned down rather than tolerated: requantization rounds twice (TFLite's
 * MultiplyByQuantizedMultiplier: a rounding high multiply, then a rounding right shift), and when the second
 * rounding meets an exact tie on a negative value, TFLite's reference kernels (gemmlowp's RoundingDivideByPOT,
 * distill's ds_quant_shift_round) round away from zero, while LiteRT's x86 FULLY_CONNECTED (its ruy GEMM) rounds
 * up. Those codes are identified exactly here (the tie is recomputed from the accumulator) and LiteRT's must be
 * the rounded-up value; every other code must be equal. LiteRT's BATCH_MATMUL rounds such ties as the
 * reference does, and is held to equality everywhere (its ties are counted, to show they occur). */
#include <stdlib.h>
#include <string.h>

#include "tests/check.h"
#include "quant/int8/int8_ops.h"
#include "quant/int8/int8.h"

#define FIXTURE DISTILL_SOURCE_DIR "/tests/quant/int8/fixtures/tflite_ops.txt"

static FILE *in;
static int bad_read;

static long next_int(void) {
  long v = 0;
  if (fscanf(in, "%ld", &v) != 1) bad_read = 1;
  return v;
}

static float next_float(void) {
  float v = 0;
  if (fscanf(in, "%f", &v) != 1) bad_read = 1;
  return v;
}

static void read_i8(int8_t *x, size_t n) {
  for (size_t i = 0; i < n; i++) x[i] = (int8_t)next_int();
}

/* 1 if requantizing acc ends on an exact tie of a negative value at the final shift (see the top). */
static int negative_tie(int32_t acc, int32_t multiplier, int shift) {
  int64_t v = (int64_t)acc * ((int64_t)1 << (shift > 0 ? shift : 0));
  v = v > INT32_MAX ? INT32_MAX : v < INT32_MIN ? INT32_MIN : v;
  const int32_t x = ds_quant_high_mul((int32_t)v, multiplier);
  const int rs = shift > 0 ? 0 : -shift;
  return rs > 0 && x < 0 && (x & (((int32_t)1 << rs) - 1)) == ((int32_t)1 << (rs - 1));
}

/* Like compare(), for an output whose accumulators are acc; ties_up: at a negative tie LiteRT must have the
 * rounded-up value, else distill's. */
static void compare_ties(const char *what, int k, const int8_t *y, const int8_t *want, const int32_t *acc,
                         const int32_t *mult, const int32_t *shift, int per_col, int32_t zo, int ties_up, size_t n,
                         long *differ, long *ties) {
  for (size_t i = 0; i < n; i++) {
    const int c = per_col > 0 ? (int)(i % (size_t)per_col) : 0;
    int expect = y[i];
    if (negative_tie(acc[i], mult[c], shift[c])) {
      /* Ties that survive the clamp to [-128, 127] only: the others cannot tell the rules apart. */
      const int32_t ref = ds_quant_multiply(acc[i], mult[c], shift[c]) + zo;
      if (ref >= -128 && ref < 127) {
        (*ties)++;
        if (ties_up) expect = ref + 1;
      }
    }
    if (expect != want[i] && (*differ)++ < 5)
      fprintf(stderr, "%s case %d, element %zu: distill %d, LiteRT %d (expected %d)\n", what, k, i, y[i], want[i],
              expect);
  }
}

/* Codes of y that differ from LiteRT's want (n), counted into *differ; the first few are printed. */
static void compare(const char *what, int k, const int8_t *y, const int8_t *want, size_t n, long *differ) {
  for (size_t i = 0; i < n; i++)
    if (y[i] != want[i] && (*differ)++ < 5)
      fprintf(stderr, "%s case %d, element %zu: distill %d, LiteRT %d\n", what, k, i, y[i], want[i]);
}

int main(void) {
  in = fopen(FIXTURE, "r");
  CHECK_MSG(in != NULL, "cannot open %s", FIXTURE);
  if (!in) return check_report();
  enum { MAX = 1 << 16 };
  static int8_t a[MAX], b[MAX], want[MAX], y[MAX];
  static int32_t bias[1024], mult[1024], shift[1024], acc[MAX];
  static float s_w[1024];
  int n_add = 0, n_fc = 0, n_mm = 0;
  long values = 0, d_add = 0, d_fc = 0, d_mm = 0, ties_fc = 0, ties_mm = 0;
  char word[32], line[256];
  while (!bad_read && fscanf(in, "%31s", word) == 1) {
    if (word[0] == '#') {
      if (!fgets(line, sizeof line, in)) break;
      continue;
    }
    if (strcmp(word, "add") == 0) {
      const long n = next_int();
      const float s1 = next_float();
      const long z1 = next_int();
      const float s2 = next_float();
      const long z2 = next_int();
      const float so = next_float();
      const long zo = next_int();
      if (n <= 0 || n > MAX) break;
      read_i8(a, n), read_i8(b, n), read_i8(want, n);
      ds_i8_add_params p;
      CHECK(ds_i8_add_params_make(s1, (int32_t)z1, s2, (int32_t)z2, so, (int32_t)zo, &p) == 0);
      CHECK(ds_i8_add(&p, a, b, (size_t)n, y) == 0);
      compare("ADD", n_add++, y, want, (size_t)n, &d_add);
      values += n;
    } else if (strcmp(word, "fc") == 0) {
      const long batch = next_int(), nin = next_int(), nout = next_int();
      const float s_in = next_float();
      const long zi = next_int();
      const float so = next_float();
      const long zo = next_int();
      if (batch <= 0 || nin <= 0 || nout <= 0 || nout > 1024 || batch * nin > MAX || nout * nin > MAX ||
          batch * nout > MAX)
        break;
      for (long i = 0; i < nout; i++) s_w[i] = next_float();
      read_i8(b, nout * nin);
      for (long i = 0; i < nout; i++) bias[i] = (int32_t)next_int();
      read_i8(a, batch * nin), read_i8(want, batch * nout);
      CHECK(ds_i8_multipliers_make(s_in, s_w, (int)nout, so, mult, shift) == 0);
      const ds_i8_fc_params p = {(int32_t)zi, (int32_t)zo, -128, 127};
      const ds_i8_fc_dims d = {(int)batch, (int)nin, (int)nout};
      CHECK(ds_i8_fc(&p, &d, mult, shift, a, b, bias, y) == 0);
      for (long r = 0; r < batch; r++)
        for (long o = 0; o < nout; o++) {
          int32_t s = bias[o];
          for (long i = 0; i < nin; i++) s += (a[r * nin + i] - (int32_t)zi) * b[o * nin + i];
          acc[r * nout + o] = s;
        }
      compare_ties("FULLY_CONNECTED", n_fc++, y, want, acc, mult, shift, (int)nout, (int32_t)zo, 1, (size_t)(batch * nout), &d_fc,
                   &ties_fc);
      values += batch * nout;
    } else if (strcmp(word, "matmul") == 0) {
      const long m = next_int(), k = next_int(), n = next_int();
      const float sa = next_float();
      const long za = next_int();
      const float sb = next_float();
      const long zb = next_int();
      const float so = next_float();
      const long zo = next_int();
      if (m <= 0 || k <= 0 || n <= 0 || m * k > MAX || k * n > MAX || m * n > MAX) break;
      read_i8(a, m * k), read_i8(b, k * n), read_i8(want, m * n);
      /* TFLite's multiplier: the scales' product in float, divided by the output scale in double. */
      int32_t mm = 0, sh = 0;
      CHECK(ds_i8_multipliers_make(sa, &sb, 1, so, &mm, &sh) == 0);
      const ds_i8_matmul_params p = {(int32_t)za, (int32_t)zb, (int32_t)zo, mm, sh, -128, 127};
      const ds_i8_matmul_dims d = {(int)m, (int)k, (int)n, (int)k, (int)n, (int)n, 0};
      CHECK(ds_i8_matmul(&p, &d, a, b, y) == 0);
      for (long r = 0; r < m; r++)
        for (long c = 0; c < n; c++) {
          int32_t s = 0;
          for (long i = 0; i < k; i++) s += (a[r * k + i] - (int32_t)za) * (b[i * n + c] - (int32_t)zb);
          acc[r * n + c] = s;
        }
      compare_ties("BATCH_MATMUL", n_mm++, y, want, acc, &mm, &sh, 0, (int32_t)zo, 0, (size_t)(m * n), &d_mm,
                   &ties_mm);
      values += m * n;
    } else {
      CHECK_MSG(0, "%s: unknown case '%s'", FIXTURE, word);
      break;
    }
  }
  CHECK_MSG(!bad_read && feof(in), "%s: malformed after %d ADD, %d FC and %d BATCH_MATMUL cases", FIXTURE, n_add,
            n_fc, n_mm);
  fclose(in);
  printf("%d ADD, %d FULLY_CONNECTED, %d BATCH_MATMUL cases, %ld output codes: %ld, %ld, %ld differ from LiteRT "
         "(negative ties in range: %ld FULLY_CONNECTED, rounded up by LiteRT; %ld BATCH_MATMUL, as distill)\n",
         n_add, n_fc, n_mm, values, d_add, d_fc, d_mm, ties_fc, ties_mm);
  CHECK(n_add >= 30 && n_fc >= 30 && n_mm >= 30);
  CHECK_MSG(ties_fc > 0 && ties_mm > 0, "no negative tie in range: the rounding rules above went unchecked");
  CHECK_MSG(d_add == 0, "%ld ADD codes differ from LiteRT", d_add);
  CHECK_MSG(d_fc == 0, "%ld FULLY_CONNECTED codes differ from LiteRT", d_fc);
  CHECK_MSG(d_mm == 0, "%ld BATCH_MATMUL codes differ from LiteRT", d_mm);
  return check_report();
}
