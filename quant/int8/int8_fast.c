/* A faster fully connected kernel for the runtime: the product sum runs in int32 (vectorizable, no
 * zero point inside the loop) and the input zero point is folded in afterwards through the weight-row
 * sums: sum (x - zp) w = sum x w - zp sum w. The result is ds_i8_fc's, bit for bit, whenever the
 * plain product sum fits int32, which holds for in <= DS_I8_FC_FAST_MAX_IN (128 * 127 * in < 2^31). */
#include "quant/int8/int8.h"

void ds_i8_row_sums(const int8_t *w, int rows, int cols, int32_t *sums) {
  for (int r = 0; r < rows; r++) {
    int32_t s = 0;
    for (int c = 0; c < cols; c++) s += w[(size_t)r * cols + c];
    sums[r] = s;
  }
}

static int32_t dot_i8(const int8_t *a, const int8_t *b, int n) {
  int32_t s = 0;
  for (int i = 0; i < n; i++) s += (int32_t)a[i] * (int32_t)b[i];
  return s;
}

int ds_i8_fc_fast(const ds_i8_fc_params *p, const ds_i8_fc_dims *d, const int32_t *multiplier,
                  const int32_t *shift, const int8_t *x, const int8_t *w, const int32_t *bias,
                  const int32_t *wsum, int8_t *y) {
  if (!p || !d || !multiplier || !shift || !x || !w || !y || !wsum) return -1;
  if (d->in > DS_I8_FC_FAST_MAX_IN) return ds_i8_fc(p, d, multiplier, shift, x, w, bias, y);
  if (d->batch < 0 || d->in < 0 || d->out < 0 || p->act_min > p->act_max || p->act_min < INT8_MIN ||
      p->act_max > INT8_MAX)
    return -1;
  for (int b = 0; b < d->batch; b++) {
    const int8_t *xr = x + (size_t)b * d->in;
    int8_t *yr = y + (size_t)b * d->out;
    for (int o = 0; o < d->out; o++) {
      int64_t acc = (int64_t)dot_i8(xr, w + (size_t)o * d->in, d->in) + (bias ? bias[o] : 0) -
                    (int64_t)p->input_zp * wsum[o];
      if (acc > INT32_MAX) acc = INT32_MAX;
      if (acc < INT32_MIN) acc = INT32_MIN;
      int64_t v = (int64_t)ds_quant_multiply((int32_t)acc, multiplier[o], shift[o]) + p->output_zp;
      if (v > INT32_MAX) v = INT32_MAX;
      if (v < INT32_MIN) v = INT32_MIN;
      yr[o] = ds_quant_clamp_i8((int32_t)v, p->act_min, p->act_max);
    }
  }
  return 0;
}
