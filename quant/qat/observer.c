#include "quant/qat/qat.h"

#include <math.h>

int ds_qobserver_init(ds_qobserver *o, ds_observer kind, float decay) {
  if (!o || (kind != DS_OBS_EMA && kind != DS_OBS_MINMAX)) return -1;
  if (kind == DS_OBS_EMA && !(decay >= 0.0f && decay < 1.0f)) return -1;
  o->kind = kind;
  o->decay = decay;
  o->min = o->max = 0.0f;
  o->seen = 0;
  o->frozen = 0;
  return 0;
}

void ds_qobserver_update(ds_qobserver *o, const float *x, size_t n) {
  if (o->frozen) return;
  float lo = INFINITY, hi = -INFINITY;
  for (size_t i = 0; i < n; i++) {
    if (!isfinite(x[i])) continue;
    if (x[i] < lo) lo = x[i];
    if (x[i] > hi) hi = x[i];
  }
  if (lo > hi) return; /* nothing finite in this batch */
  if (!o->seen) {
    o->min = lo;
    o->max = hi;
  } else if (o->kind == DS_OBS_MINMAX) {
    if (lo < o->min) o->min = lo;
    if (hi > o->max) o->max = hi;
  } else {
    o->min = o->decay * o->min + (1.0f - o->decay) * lo;
    o->max = o->decay * o->max + (1.0f - o->decay) * hi;
  }
  o->seen++;
}

int ds_qobserver_qparams(const ds_qobserver *o, int bits, ds_qparams *qp) {
  if (!o) return -1;
  return ds_qparams_asymmetric(o->seen ? o->min : 0.0f, o->seen ? o->max : 0.0f, bits, qp);
}
