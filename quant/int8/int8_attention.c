/* Attention products of one head, as ds_i8_matmul computes them (same accumulators, same
 * requantization) but with int32 sums that vectorize: zero points are folded in through row sums
 * for the scores, and the context loops over keys with the head's columns innermost. Exact for
 * head_dim and T below 33025 (255 * 255 * n < 2^31). */
#include <string.h>

#include "quant/int8/int8.h"

static int8_t requant(int64_t acc, const ds_i8_matmul_params *p) {
  if (acc > INT32_MAX) acc = INT32_MAX;
  if (acc < INT32_MIN) acc = INT32_MIN;
  int64_t v = (int64_t)ds_quant_multiply((int32_t)acc, p->multiplier, p->shift) + p->output_zp;
  if (v > INT32_MAX) v = INT32_MAX;
  if (v < INT32_MIN) v = INT32_MIN;
  return ds_quant_clamp_i8((int32_t)v, p->act_min, p->act_max);
}

void ds_i8_att_scores(const ds_i8_matmul_params *p, int T, int hd, int ld, const int8_t *q, const int8_t *k,
                      int32_t *ksum, int8_t *y) {
  for (int j = 0; j < T; j++) {
    int32_t s = 0;
    for (int d = 0; d < hd; d++) s += k[(size_t)j * ld + d];
    ksum[j] = s;
  }
  for (int i = 0; i < T; i++) {
    const int8_t *qi = q + (size_t)i * ld;
    int32_t qs = 0;
    for (int d = 0; d < hd; d++) qs += qi[d];
    const int64_t base = (int64_t)hd * p->a_zp * p->b_zp - (int64_t)p->b_zp * qs;
    for (int j = 0; j < T; j++) {
      const int8_t *kj = k + (size_t)j * ld;
      int32_t dot = 0;
      for (int d = 0; d < hd; d++) dot += (int32_t)qi[d] * (int32_t)kj[d];
      y[(size_t)i * T + j] = requant(base + dot - (int64_t)p->a_zp * ksum[j], p);
    }
  }
}

void ds_i8_att_context(const ds_i8_matmul_params *p, int T, int hd, int ld, const int8_t *probs, const int8_t *v,
                       int32_t *acc, int8_t *y) {
  for (int i = 0; i < T; i++) {
    const int8_t *pi = probs + (size_t)i * T;
    memset(acc, 0, sizeof(int32_t) * (size_t)hd);
    for (int j = 0; j < T; j++) {
      const int32_t pa = (int32_t)pi[j] - p->a_zp;
      if (pa == 0) continue; /* padding keys and negligible probabilities add nothing */
      const int8_t *vj = v + (size_t)j * ld;
      for (int d = 0; d < hd; d++) acc[d] += pa * ((int32_t)vj[d] - p->b_zp);
    }
    for (int d = 0; d < hd; d++) y[(size_t)i * ld + d] = requant(acc[d], p);
  }
}
