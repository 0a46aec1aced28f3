#include "quant/int8/int8_ops.h"

#include <math.h>

#include "quant/int8/int8.h"

static int act_range_ok(int32_t lo, int32_t hi) {
  return lo >= INT8_MIN && hi <= INT8_MAX && lo <= hi;
}

static int zp_ok(int32_t zp) {
  return zp >= INT8_MIN && zp <= INT8_MAX;
}

/* Accumulation is in int64 and saturated here, so no layer width overflows; for every layer
 * where an int32 accumulator would not overflow (all real ones) the result is TFLite's. */
static int32_t sat_i32(int64_t v) {
  return v > INT32_MAX ? INT32_MAX : v < INT32_MIN ? INT32_MIN : (int32_t)v;
}

/* Requantizes an accumulator to the output: clamp(acc * M * 2^(shift-31) + zp, lo, hi). */
static int8_t requant_out(int32_t acc, int32_t multiplier, int32_t shift, int32_t zp, int32_t lo,
                          int32_t hi) {
  int64_t v = (int64_t)ds_quant_multiply(acc, multiplier, shift) + zp;
  return ds_quant_clamp_i8(sat_i32(v), lo, hi);
}

int ds_i8_multipliers_make(float s_in, const float *s_w, int n, float s_out, int32_t *multiplier,
                           int32_t *shift) {
  if (!s_w || !multiplier || !shift || n < 0 || !(s_out > 0.0f)) return -1;
  for (int i = 0; i < n; i++) {
    float prod = s_in * s_w[i];
    int sh;
    if (!(prod > 0.0f) || ds_quant_multiplier_make((double)prod / (double)s_out, &multiplier[i], &sh))
      return -1;
    shift[i] = sh;
  }
  return 0;
}

int ds_i8_fc(const ds_i8_fc_params *p, const ds_i8_fc_dims *d, const int32_t *multiplier,
             const int32_t *shift, const int8_t *x, const int8_t *w, const int32_t *bias, int8_t *y) {
  if (!p || !d || !multiplier || !shift || !x || !w || !y) return -1;
  if (d->batch < 0 || d->in < 0 || d->out < 0 || !act_range_ok(p->act_min, p->act_max)) return -1;
  if (!zp_ok(p->input_zp) || !zp_ok(p->output_zp)) return -1;
  for (int b = 0; b < d->batch; b++) {
    const int8_t *xr = x + (size_t)b * d->in;
    for (int o = 0; o < d->out; o++) {
      const int8_t *wr = w + (size_t)o * d->in;
      int64_t acc = bias ? bias[o] : 0;
      for (int i = 0; i < d->in; i++) acc += ((int32_t)xr[i] - p->input_zp) * (int32_t)wr[i];
      y[(size_t)b * d->out + o] = requant_out(sat_i32(acc), multiplier[o], shift[o], p->output_zp,
                                              p->act_min, p->act_max);
    }
  }
  return 0;
}

int ds_i8_matmul(const ds_i8_matmul_params *p, const ds_i8_matmul_dims *d, const int8_t *a,
                 const int8_t *b, int8_t *y) {
  if (!p || !d || !a || !b || !y) return -1;
  if (d->m < 0 || d->k < 0 || d->n < 0 || d->lda < d->k || d->ldy < d->n) return -1;
  if (d->ldb < (d->b_transposed ? d->k : d->n) || !act_range_ok(p->act_min, p->act_max)) return -1;
  if (!zp_ok(p->a_zp) || !zp_ok(p->b_zp) || !zp_ok(p->output_zp)) return -1;
  /* b[kk, j] lives at b + kk * step_k + j * step_n in either layout. */
  size_t step_k = d->b_transposed ? 1 : (size_t)d->ldb;
  size_t step_n = d->b_transposed ? (size_t)d->ldb : 1;
  for (int i = 0; i < d->m; i++) {
    const int8_t *ar = a + (size_t)i * d->lda;
    for (int j = 0; j < d->n; j++) {
      int64_t acc = 0;
      for (int kk = 0; kk < d->k; kk++)
        acc += ((int32_t)ar[kk] - p->a_zp) * ((int32_t)b[kk * step_k + j * step_n] - p->b_zp);
      y[(size_t)i * d->ldy + j] = requant_out(sat_i32(acc), p->multiplier, p->shift, p->output_zp,
                                              p->act_min, p->act_max);
    }
  }
  return 0;
}

int ds_i8_add_params_make(float s1, int32_t zp1, float s2, int32_t zp2, float s_out, int32_t zp_out,
                          ds_i8_add_params *p) {
  if (!p || !(s1 > 0.0f) || !(s2 > 0.0f) || !(s_out > 0.0f)) return -1;
  if (!zp_ok(zp1) || !zp_ok(zp2) || !zp_ok(zp_out)) return -1;
  p->in1_zp = zp1;
  p->in2_zp = zp2;
  p->output_zp = zp_out;
  /* 20 bits of headroom: (x - zp) * 2^20 stays below 2^29, and the inputs' rescaling to a
   * common scale loses nothing that matters at int8 output precision. */
  p->left_shift = 20;
  double twice_max = 2.0 * (s1 > s2 ? (double)s1 : (double)s2);
  int sh1, sh2, sho;
  if (ds_quant_multiplier_make((double)s1 / twice_max, &p->in1_multiplier, &sh1) ||
      ds_quant_multiplier_make((double)s2 / twice_max, &p->in2_multiplier, &sh2) ||
      ds_quant_multiplier_make(twice_max / (ldexp(1.0, p->left_shift) * (double)s_out),
                               &p->out_multiplier, &sho))
    return -1;
  p->in1_shift = sh1;
  p->in2_shift = sh2;
  p->out_shift = sho;
  p->act_min = INT8_MIN;
  p->act_max = INT8_MAX;
  return 0;
}

int ds_i8_add(const ds_i8_add_params *p, const int8_t *x1, const int8_t *x2, size_t n, int8_t *y) {
  if (!p || !x1 || !x2 || !y || p->left_shift < 0 || p->left_shift > 22 ||
      !act_range_ok(p->act_min, p->act_max))
    return -1;
  if (!zp_ok(p->in1_zp) || !zp_ok(p->in2_zp) || !zp_ok(p->output_zp)) return -1;
  int32_t one = (int32_t)1 << p->left_shift;
  for (size_t i = 0; i < n; i++) {
    int32_t a = ((int32_t)x1[i] - p->in1_zp) * one;
    int32_t b = ((int32_t)x2[i] - p->in2_zp) * one;
    int64_t sum = (int64_t)ds_quant_multiply(a, p->in1_multiplier, p->in1_shift) +
                  ds_quant_multiply(b, p->in2_multiplier, p->in2_shift);
    y[i] = requant_out(sat_i32(sum), p->out_multiplier, p->out_shift, p->output_zp, p->act_min,
                       p->act_max);
  }
  return 0;
}

int ds_i8_embedding_lookup(const ds_i8_embedding_params *p, const ds_i8_embedding_dims *d,
                           const int32_t *multiplier, const int32_t *shift, const int8_t *table,
                           const int32_t *ids, int n, int8_t *y) {
  if (!p || !d || !multiplier || !shift || !table || !ids || !y || n < 0) return -1;
  if (d->vocab < 0 || d->dim < 0 || !act_range_ok(p->act_min, p->act_max)) return -1;
  if (!zp_ok(p->output_zp)) return -1;
  for (int t = 0; t < n; t++) {
    int32_t id = ids[t];
    if (id < 0 || id >= d->vocab) return -1;
    const int8_t *row = table + (size_t)id * d->dim;
    int8_t *out = y + (size_t)t * d->dim;
    for (int c = 0; c < d->dim; c++) {
      out[c] = requant_out(row[c], multiplier[id], shift[id], p->output_zp, p->act_min, p->act_max);
    }
  }
  return 0;
}
