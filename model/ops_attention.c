/* Scaled dot-product attention over the packed qkv tensor, one (batch, head) pair per task.
 * Padding keys are excluded by the mask; a query row with no valid key yields zeros rather than NaN. */
#include <math.h>
#include <string.h>

#include "model/ops.h"

static void softmax_masked_row(float *p, const float *scores, const uint8_t *key_mask, int T) {
  float maxv = -INFINITY;
  for (int s = 0; s < T; s++)
    if (key_mask[s] && scores[s] > maxv) maxv = scores[s];
  if (maxv == -INFINITY) {
    memset(p, 0, sizeof(float) * T);
    return;
  }
  float sum = 0.0f;
  for (int s = 0; s < T; s++) {
    p[s] = key_mask[s] ? expf(scores[s] - maxv) : 0.0f;
    sum += p[s];
  }
  const float inv = 1.0f / sum;
  for (int s = 0; s < T; s++) p[s] *= inv;
}

static void attention_head_forward(float *out, float *probs, const float *qkv, const uint8_t *mask, int T, int H,
                                   int hd, int h) {
  const int HD = H * hd, stride = 3 * HD;
  const float scale = 1.0f / sqrtf((float)hd);
  float scores[T];
  for (int t = 0; t < T; t++) {
    const float *q = qkv + (long)t * stride + h * hd;
    for (int s = 0; s < T; s++) {
      const float *k = qkv + (long)s * stride + HD + h * hd;
      float dot = 0.0f;
      for (int d = 0; d < hd; d++) dot += q[d] * k[d];
      scores[s] = dot * scale;
    }
    float *p = probs + (long)t * T;
    softmax_masked_row(p, scores, mask, T);
    float *o = out + (long)t * HD + h * hd;
    memset(o, 0, sizeof(float) * hd);
    for (int s = 0; s < T; s++) {
      const float *v = qkv + (long)s * stride + 2 * HD + h * hd;
      const float ps = p[s];
      if (ps == 0.0f) continue;
      for (int d = 0; d < hd; d++) o[d] += ps * v[d];
    }
  }
}

void ds_attention_forward(float *out, float *probs, const float *qkv, const uint8_t *mask, int B, int T, int H,
                          int hd) {
  const int HD = H * hd;
#pragma omp parallel for collapse(2) schedule(static)
  for (int b = 0; b < B; b++)
    for (int h = 0; h < H; h++)
      attention_head_forward(out + (long)b * T * HD, probs + ((long)b * H + h) * T * T,
                             qkv + (long)b * T * 3 * HD, mask + (long)b * T, T, H, hd, h);
}

void ds_attention_forward_naive(float *out, float *probs, const float *qkv, const uint8_t *mask, int B, int T,
                                int H, int hd) {
  const int HD = H * hd, stride = 3 * HD;
  const double scale = 1.0 / sqrt((double)hd);
  for (int b = 0; b < B; b++)
    for (int h = 0; h < H; h++)
      for (int t = 0; t < T; t++) {
        const float *q = qkv + ((long)b * T + t) * stride + h * hd;
        float *p = probs + (((long)b * H + h) * T + t) * T;
        double maxv = -INFINITY, sum = 0.0;
        double sc[T];
        for (int s = 0; s < T; s++) {
          const float *k = qkv + ((long)b * T + s) * stride + HD + h * hd;
          double dot = 0.0;
          for (int d = 0; d < hd; d++) dot += (double)q[d] * k[d];
          sc[s] = mask[(long)b * T + s] ? dot * scale : -INFINITY;
          if (sc[s] > maxv) maxv = sc[s];
        }
        for (int s = 0; s < T; s++) {
          sc[s] = (maxv == -INFINITY || sc[s] == -INFINITY) ? 0.0 : exp(sc[s] - maxv);
          sum += sc[s];
        }
        for (int s = 0; s < T; s++) p[s] = sum > 0.0 ? (float)(sc[s] / sum) : 0.0f;
        float *o = out + ((long)b * T + t) * HD + h * hd;
        for (int d = 0; d < hd; d++) {
          double acc = 0.0;
          for (int s = 0; s < T; s++) acc += (double)p[s] * qkv[((long)b * T + s) * stride + 2 * HD + h * hd + d];
          o[d] = (float)acc;
        }
      }
}

static void attention_head_backward(float *dqkv, float *dp, const float *dout, const float *qkv, const float *probs,
                                    int T, int H, int hd, int h) {
  const int HD = H * hd, stride = 3 * HD;
  const float scale = 1.0f / sqrtf((float)hd);
  for (int t = 0; t < T; t++) {
    const float *p = probs + (long)t * T;
    const float *dO = dout + (long)t * HD + h * hd;
    float *dpt = dp + (long)t * T;
    /* dP = dO V^T and dV += P^T dO */
    float pdp = 0.0f;
    for (int s = 0; s < T; s++) {
      const float *v = qkv + (long)s * stride + 2 * HD + h * hd;
      float *dv = dqkv + (long)s * stride + 2 * HD + h * hd;
      float dot = 0.0f;
      for (int d = 0; d < hd; d++) {
        dot += dO[d] * v[d];
        dv[d] += p[s] * dO[d];
      }
      dpt[s] = dot;
      pdp += p[s] * dot;
    }
    /* Softmax backward: dS = P (dP - sum(P dP)); masked keys have P = 0 and so get nothing. */
    const float *q = qkv + (long)t * stride + h * hd;
    float *dq = dqkv + (long)t * stride + h * hd;
    for (int s = 0; s < T; s++) {
      const float ds = p[s] * (dpt[s] - pdp) * scale;
      if (ds == 0.0f) continue;
      const float *k = qkv + (long)s * stride + HD + h * hd;
      float *dk = dqkv + (long)s * stride + HD + h * hd;
      for (int d = 0; d < hd; d++) {
        dq[d] += ds * k[d];
        dk[d] += ds * q[d];
      }
    }
  }
}

void ds_attention_backward(float *dqkv, float *scratch, const float *dout, const float *qkv, const float *probs,
                           int B, int T, int H, int hd) {
  const int HD = H * hd;
  /* Each (b, h) writes only its own head's columns of its own batch row: no races. */
#pragma omp parallel for collapse(2) schedule(static)
  for (int b = 0; b < B; b++)
    for (int h = 0; h < H; h++)
      attention_head_backward(dqkv + (long)b * T * 3 * HD, scratch + ((long)b * H + h) * T * T,
                              dout + (long)b * T * HD, qkv + (long)b * T * 3 * HD,
                              probs + ((long)b * H + h) * T * T, T, H, hd, h);
}
