/* Scaled dot-product attention over the packed qkv tensor, one (sequence, head) pair per task, as small GEMMs.
 * Each sequence attends within its own rows of the token pack (kernels/kernels.h); rows whose key_ok is 0
 * (padding) get no attention; a query row with no valid key yields zeros rather than NaN. */
#include <math.h>
#include <string.h>

#include "kernels/kernels.h"
#include "kernels/ops_simd.h"

/* In place over one row of scores; masked keys get exactly 0, an all-masked row is all zeros. The simd
 * reductions let the compiler vectorise max and sum (a fixed lane order on a given machine). */
static inline void softmax_masked_row(float *restrict p, const uint8_t *restrict key_mask, int T) {
  float maxv = -INFINITY;
#pragma omp simd reduction(max : maxv)
  for (int s = 0; s < T; s++) {
    const float v = key_mask[s] ? p[s] : -INFINITY;
    maxv = v > maxv ? v : maxv;
  }
  if (maxv == -INFINITY) {
    memset(p, 0, sizeof(float) * T);
    return;
  }
  float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
  for (int s = 0; s < T; s++) {
    p[s] = key_mask[s] ? ds_exp_vec(p[s] - maxv) : 0.0f;
    sum += p[s];
  }
  const float inv = 1.0f / sum;
  for (int s = 0; s < T; s++) p[s] *= inv;
}

/* One (batch, head) pair: S = scale Q K^T, softmax over valid keys, O = P V. Q, K and V of the head are
 * strided views into the packed qkv rows, so sgemm reads them in place (lda = 3*H*hd): no gather copies. */
DS_VEC_CLONES static void attention_head_forward(float *out, float *probs, const float *qkv, const uint8_t *key_mask, int T,
                                   int H, int hd, int h) {
  const int HD = H * hd, stride = 3 * HD;
  const float *q = qkv + h * hd, *k = qkv + HD + h * hd, *v = qkv + 2 * HD + h * hd;
  ds_sgemm(0, 1, T, T, hd, 1.0f / sqrtf((float)hd), q, stride, k, stride, 0.0f, probs, T);
  for (int t = 0; t < T; t++) softmax_masked_row(probs + (long)t * T, key_mask, T);
  ds_sgemm(0, 0, T, hd, T, 1.0f, probs, T, v, stride, 0.0f, out + h * hd, HD);
}

/* Sequences differ in length once padding is dropped, so (sequence, head) tasks are handed out dynamically;
 * each task writes only its own rows and head columns, so the result does not depend on the schedule. */
void ds_attention_forward(float *out, float *probs, const float *qkv, const ds_token_pack *p, int H, int hd) {
  const int HD = H * hd;
#pragma omp parallel for collapse(2) schedule(dynamic)
  for (int b = 0; b < p->B; b++)
    for (int h = 0; h < H; h++) {
      const int r0 = p->seq_start[b], n = p->seq_start[b + 1] - r0;
      if (n > 0)
        attention_head_forward(out + (long)r0 * HD, probs + H * p->score_start[b] + (long)h * n * n,
                               qkv + (long)r0 * 3 * HD, p->key_ok + r0, n, H, hd, h);
    }
}

void ds_attention_forward_naive(float *out, float *probs, const float *qkv, const ds_token_pack *pk, int H,
                                int hd) {
  const int HD = H * hd, stride = 3 * HD;
  const double scale = 1.0 / sqrt((double)hd);
  for (int b = 0; b < pk->B; b++) {
    const int r0 = pk->seq_start[b], T = pk->seq_start[b + 1] - r0;
    const uint8_t *key_ok = pk->key_ok + r0;
    const float *base = qkv + (long)r0 * stride;
    for (int h = 0; h < H; h++)
      for (int t = 0; t < T; t++) {
        const float *q = base + (long)t * stride + h * hd;
        float *p = probs + H * pk->score_start[b] + ((long)h * T + t) * T;
        double maxv = -INFINITY, sum = 0.0;
        double sc[T];
        for (int s = 0; s < T; s++) {
          const float *k = base + (long)s * stride + HD + h * hd;
          double dot = 0.0;
          for (int d = 0; d < hd; d++) dot += (double)q[d] * k[d];
          sc[s] = key_ok[s] ? dot * scale : -INFINITY;
          if (sc[s] > maxv) maxv = sc[s];
        }
        for (int s = 0; s < T; s++) {
          sc[s] = (maxv == -INFINITY || sc[s] == -INFINITY) ? 0.0 : exp(sc[s] - maxv);
          sum += sc[s];
        }
        for (int s = 0; s < T; s++) p[s] = sum > 0.0 ? (float)(sc[s] / sum) : 0.0f;
        float *o = out + ((long)r0 + t) * HD + h * hd;
        for (int d = 0; d < hd; d++) {
          double acc = 0.0;
          for (int s = 0; s < T; s++) acc += (double)p[s] * base[(long)s * stride + 2 * HD + h * hd + d];
          o[d] = (float)acc;
        }
      }
  }
}

/* One (batch, head) pair, four small GEMMs around the softmax backward:
 * dP = dO V^T, dV += P^T dO, dS = P (dP - rowsum(P dP)) scale, dQ += dS K, dK += dS^T Q. */
DS_VEC_CLONES static void attention_head_backward(float *dqkv, float *dp, const float *dout, const float *qkv, const float *probs,
                                    int T, int H, int hd, int h) {
  const int HD = H * hd, stride = 3 * HD;
  const float scale = 1.0f / sqrtf((float)hd);
  const float *q = qkv + h * hd, *k = qkv + HD + h * hd, *v = qkv + 2 * HD + h * hd, *dO = dout + h * hd;
  float *dq = dqkv + h * hd, *dk = dqkv + HD + h * hd, *dv = dqkv + 2 * HD + h * hd;
  ds_sgemm(0, 1, T, T, hd, 1.0f, dO, HD, v, stride, 0.0f, dp, T);
  ds_sgemm(1, 0, T, hd, T, 1.0f, probs, T, dO, HD, 1.0f, dv, stride);
  /* Masked keys have P = 0 and so get dS = 0. */
  for (int t = 0; t < T; t++) {
    const float *p = probs + (long)t * T;
    float *d = dp + (long)t * T;
    float pdp = 0.0f;
#pragma omp simd reduction(+ : pdp)
    for (int s = 0; s < T; s++) pdp += p[s] * d[s];
    for (int s = 0; s < T; s++) d[s] = p[s] * (d[s] - pdp) * scale;
  }
  ds_sgemm(0, 0, T, hd, T, 1.0f, dp, T, k, stride, 1.0f, dq, stride);
  ds_sgemm(1, 0, T, hd, T, 1.0f, dp, T, q, stride, 1.0f, dk, stride);
}

void ds_attention_backward(float *dqkv, float *scratch, const float *dout, const float *qkv, const float *probs,
                           const ds_token_pack *p, int H, int hd) {
  const int HD = H * hd;
  /* Each (sequence, head) writes only its own head's columns of its own rows: no races. */
#pragma omp parallel for collapse(2) schedule(dynamic)
  for (int b = 0; b < p->B; b++)
    for (int h = 0; h < H; h++) {
      const int r0 = p->seq_start[b], n = p->seq_start[b + 1] - r0;
      const long s0 = H * p->score_start[b] + (long)h * n * n;
      if (n > 0)
        attention_head_backward(dqkv + (long)r0 * 3 * HD, scratch + s0, dout + (long)r0 * HD,
                                qkv + (long)r0 * 3 * HD, probs + s0, n, H, hd, h);
    }
}

void ds_attention_backward_naive(float *dqkv, float *scratch, const float *dout, const float *qkv,
                                 const float *probs, const ds_token_pack *pk, int H, int hd) {
  const int HD = H * hd, stride = 3 * HD;
  const double scale = 1.0 / sqrt((double)hd);
  for (int b = 0; b < pk->B; b++) {
    const int r0 = pk->seq_start[b], T = pk->seq_start[b + 1] - r0;
    const float *base = qkv + (long)r0 * stride, *dO = dout + (long)r0 * HD;
    float *dbase = dqkv + (long)r0 * stride;
    for (int h = 0; h < H; h++) {
      const float *P = probs + H * pk->score_start[b] + (long)h * T * T;
      float *dS = scratch + H * pk->score_start[b] + (long)h * T * T;
      for (int t = 0; t < T; t++) {
        double dp[T], pdp = 0.0;
        for (int s = 0; s < T; s++) {
          double acc = 0.0;
          for (int d = 0; d < hd; d++)
            acc += (double)dO[(long)t * HD + h * hd + d] * base[(long)s * stride + 2 * HD + h * hd + d];
          dp[s] = acc;
          pdp += P[(long)t * T + s] * acc;
        }
        for (int s = 0; s < T; s++) dS[(long)t * T + s] = (float)(P[(long)t * T + s] * (dp[s] - pdp) * scale);
      }
      for (int s = 0; s < T; s++)
        for (int d = 0; d < hd; d++) {
          double dv = 0.0, dk = 0.0, dq = 0.0;
          for (int t = 0; t < T; t++) {
            dv += (double)P[(long)t * T + s] * dO[(long)t * HD + h * hd + d];
            dk += (double)dS[(long)t * T + s] * base[(long)t * stride + h * hd + d];
            dq += (double)dS[(long)s * T + t] * base[(long)t * stride + HD + h * hd + d];
          }
          dbase[(long)s * stride + 2 * HD + h * hd + d] += (float)dv;
          dbase[(long)s * stride + HD + h * hd + d] += (float)dk;
          dbase[(long)s * stride + h * hd + d] += (float)dq;
        }
    }
  }
}
