#include "train/losses.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Each term is written once as an accumulator: it returns its value and, when d is non-NULL and
 * w != 0, ADDS w times its gradient into d. The public functions zero d and use w = 1; the combined
 * loss zeroes once and lets every term add, so no per-term gradient buffer is needed. */

/* log sum_c exp(x_c * scale), shifted by the maximum so that it cannot overflow. */
static double row_logsumexp(const float *x, int n, double scale) {
  double mx = -INFINITY;
  for (int c = 0; c < n; c++)
    if (x[c] * scale > mx) mx = x[c] * scale;
  double sum = 0.0;
  for (int c = 0; c < n; c++) sum += exp(x[c] * scale - mx);
  return mx + log(sum);
}

static double kd_term(int B, int K, const float *s, const float *t, double T, double w, float *d) {
  double total = 0.0, inv_T = 1.0 / T;
  for (int b = 0; b < B; b++) {
    const float *sb = s + (size_t)b * K, *tb = t + (size_t)b * K;
    double lse_s = row_logsumexp(sb, K, inv_T), lse_t = row_logsumexp(tb, K, inv_T);
    for (int c = 0; c < K; c++) {
      /* log-probabilities come from log-softmax, so a vanishing p_t never meets log(0) */
      double logp_s = sb[c] * inv_T - lse_s, logp_t = tb[c] * inv_T - lse_t;
      double p_t = exp(logp_t);
      total += p_t * (logp_t - logp_s);
      if (d && w != 0.0) d[(size_t)b * K + c] += (float)(w * T * (exp(logp_s) - p_t) / B);
    }
  }
  return B > 0 ? T * T * total / B : 0.0;
}

static double ce_term(int B, int K, const float *s, const int32_t *labels, double w, float *d) {
  int n = 0;
  for (int b = 0; b < B; b++) n += labels[b] >= 0 && labels[b] < K;
  if (n == 0) return 0.0;
  double total = 0.0;
  for (int b = 0; b < B; b++) {
    int y = labels[b];
    if (y < 0 || y >= K) continue;
    const float *sb = s + (size_t)b * K;
    double lse = row_logsumexp(sb, K, 1.0);
    total += lse - sb[y];
    if (d && w != 0.0) {
      for (int c = 0; c < K; c++) {
        double p = exp(sb[c] - lse) - (c == y);
        d[(size_t)b * K + c] += (float)(w * p / n);
      }
    }
  }
  return total / n;
}

/* cos(a, b) with each norm clamped below at eps; na2 and nb2 receive the squared norms. */
static double row_cosine(const float *a, const float *b, int D, double *na2, double *nb2) {
  double dot = 0.0, sa = 0.0, sb = 0.0;
  for (int k = 0; k < D; k++) {
    dot += (double)a[k] * b[k];
    sa += (double)a[k] * a[k];
    sb += (double)b[k] * b[k];
  }
  *na2 = sa;
  *nb2 = sb;
  return dot / (fmax(sqrt(sa), DS_LOSS_NORM_EPS) * fmax(sqrt(sb), DS_LOSS_NORM_EPS));
}

static double cosine_term(int B, int D, const float *e, const float *te, double w, float *d) {
  double total = 0.0;
  for (int b = 0; b < B; b++) {
    const float *eb = e + (size_t)b * D, *tb = te + (size_t)b * D;
    double na2, nb2;
    double cos = row_cosine(eb, tb, D, &na2, &nb2);
    total += 1.0 - cos;
    if (!d || w == 0.0) continue;
    double na = sqrt(na2), ca = fmax(na, DS_LOSS_NORM_EPS), cb = fmax(sqrt(nb2), DS_LOSS_NORM_EPS);
    /* a clamped norm is a constant, so only an unclamped one contributes the radial term */
    double radial = na > DS_LOSS_NORM_EPS ? cos / na2 : 0.0;
    for (int k = 0; k < D; k++) {
      double g = tb[k] / (ca * cb) - radial * eb[k];
      d[(size_t)b * D + k] += (float)(-w * g / B);
    }
  }
  return B > 0 ? total / B : 0.0;
}

static double mse_term(int B, int D, const float *e, const float *te, double w, float *d) {
  size_t n = (size_t)B * D;
  if (n == 0) return 0.0;
  double total = 0.0;
  for (size_t i = 0; i < n; i++) {
    double diff = (double)e[i] - te[i];
    total += diff * diff;
    if (d && w != 0.0) d[i] += (float)(w * 2.0 * diff / n);
  }
  return total / n;
}

static double dot_d(const float *a, const float *b, int D) {
  double s = 0.0;
  for (int k = 0; k < D; k++) s += (double)a[k] * b[k];
  return s;
}

/* Similarity distillation, one row of the B x B matrices at a time so scratch stays O(B + D).
 * With n_i = e_i / |e_i| and G = dL/dS_s, dL/de_i = (dn_i - (dn_i . n_i) n_i) / |e_i| where
 * dn_i = sum_j (G_ij + G_ji) n_j and dn_i . n_i = sum_j (G_ij + G_ji) S_ij =: c_i; both sums are
 * linear in G, so they are accumulated row by row and the radial part subtracted at the end. */
static double sim_term(int B, int D, const float *e, const float *te, double tau, double w,
                       float *d) {
  if (B < 2) return 0.0;
  double *buf = malloc(sizeof(double) * ((size_t)6 * B + D));
  if (!buf) return NAN;
  double *inv_s = buf, *inv_t = inv_s + B, *c = inv_t + B, *ss = c + B, *st = ss + B;
  double *radial = st + B;       /* (B): 1 where the norm is unclamped and so depends on e_i */
  double *own = radial + B;      /* (D): row i's share of dn_i, summed in double */
  int grad = d && w != 0.0;
  for (int i = 0; i < B; i++) {
    double ns = sqrt(dot_d(e + (size_t)i * D, e + (size_t)i * D, D));
    double nt = sqrt(dot_d(te + (size_t)i * D, te + (size_t)i * D, D));
    radial[i] = ns > DS_LOSS_NORM_EPS ? 1.0 : 0.0;
    inv_s[i] = 1.0 / fmax(ns, DS_LOSS_NORM_EPS);
    inv_t[i] = 1.0 / fmax(nt, DS_LOSS_NORM_EPS);
    c[i] = 0.0;
  }
  double total = 0.0;
  for (int i = 0; i < B; i++) {
    const float *ei = e + (size_t)i * D, *ti = te + (size_t)i * D;
    double mx_s = -INFINITY, mx_t = -INFINITY;
    for (int j = 0; j < B; j++) {
      if (j == i) continue;
      ss[j] = dot_d(ei, e + (size_t)j * D, D) * inv_s[i] * inv_s[j];
      st[j] = dot_d(ti, te + (size_t)j * D, D) * inv_t[i] * inv_t[j];
      mx_s = fmax(mx_s, ss[j] / tau);
      mx_t = fmax(mx_t, st[j] / tau);
    }
    double sum_s = 0.0, sum_t = 0.0;
    for (int j = 0; j < B; j++) {
      if (j == i) continue;
      sum_s += exp(ss[j] / tau - mx_s);
      sum_t += exp(st[j] / tau - mx_t);
    }
    double lse_s = mx_s + log(sum_s), lse_t = mx_t + log(sum_t);
    if (grad) memset(own, 0, sizeof(double) * D);
    for (int j = 0; j < B; j++) {
      if (j == i) continue;
      double logp_s = ss[j] / tau - lse_s, logp_t = st[j] / tau - lse_t, p_t = exp(logp_t);
      total += p_t * (logp_t - logp_s);
      if (!grad) continue;
      double g = w * (exp(logp_s) - p_t) / (tau * B);
      const float *ej = e + (size_t)j * D;
      for (int k = 0; k < D; k++) own[k] += g * inv_s[j] * ej[k];
      double to_j = g * inv_s[i] * inv_s[j];
      float *dj = d + (size_t)j * D;
      for (int k = 0; k < D; k++) dj[k] += (float)(to_j * ei[k]);
      c[i] += g * ss[j];
      c[j] += g * ss[j];
    }
    if (grad) {
      float *di = d + (size_t)i * D;
      for (int k = 0; k < D; k++) di[k] += (float)(inv_s[i] * own[k]);
    }
  }
  if (grad) {
    for (int i = 0; i < B; i++) {
      double r = radial[i] * c[i] * inv_s[i] * inv_s[i];
      for (int k = 0; k < D; k++) d[(size_t)i * D + k] -= (float)(r * e[(size_t)i * D + k]);
    }
  }
  free(buf);
  return total / B;
}

static void zero_floats(float *d, size_t n) {
  if (d && n) memset(d, 0, sizeof(float) * n);
}

double ds_loss_kd(int B, int K, const float *s, const float *t, double T, float *ds_out) {
  zero_floats(ds_out, (size_t)B * K);
  return kd_term(B, K, s, t, T, 1.0, ds_out);
}

double ds_loss_ce(int B, int K, const float *s, const int32_t *labels, float *ds_out) {
  zero_floats(ds_out, (size_t)B * K);
  return ce_term(B, K, s, labels, 1.0, ds_out);
}

double ds_loss_emb_cosine(int B, int D, const float *e, const float *te, float *de_out) {
  zero_floats(de_out, (size_t)B * D);
  return cosine_term(B, D, e, te, 1.0, de_out);
}

double ds_loss_emb_mse(int B, int D, const float *e, const float *te, float *de_out) {
  zero_floats(de_out, (size_t)B * D);
  return mse_term(B, D, e, te, 1.0, de_out);
}

double ds_loss_sim(int B, int D, const float *e, const float *te, double tau, float *de_out) {
  zero_floats(de_out, (size_t)B * D);
  return sim_term(B, D, e, te, tau, 1.0, de_out);
}

double ds_loss_compute(const ds_loss_cfg *cfg, int B, int K, int D, const float *s_logits,
                       const float *t_logits, const int32_t *labels, const float *s_emb,
                       const float *t_emb, float *d_logits, float *d_emb, ds_loss_terms *terms) {
  ds_loss_terms r = {0};
  if (K > 0) zero_floats(d_logits, (size_t)B * K);
  if (D > 0) zero_floats(d_emb, (size_t)B * D);
  if (K > 0 && s_logits && t_logits) {
    r.kd = kd_term(B, K, s_logits, t_logits, cfg->temperature, cfg->kd_weight, d_logits);
    r.total += cfg->kd_weight * r.kd;
  }
  if (K > 0 && s_logits && labels) {
    r.ce = ce_term(B, K, s_logits, labels, cfg->ce_weight, d_logits);
    r.total += cfg->ce_weight * r.ce;
  }
  if (D > 0 && s_emb && t_emb) {
    r.emb = cfg->emb_loss == DS_EMB_MSE ? mse_term(B, D, s_emb, t_emb, cfg->emb_weight, d_emb)
                                        : cosine_term(B, D, s_emb, t_emb, cfg->emb_weight, d_emb);
    r.total += cfg->emb_weight * r.emb;
    /* the other terms are logged even at weight 0; this one costs O(B^2 D), so only when used */
    if (cfg->sim_weight != 0.0) {
      r.sim = sim_term(B, D, s_emb, t_emb, cfg->sim_temperature, cfg->sim_weight, d_emb);
      r.total += cfg->sim_weight * r.sim;
    }
  }
  if (terms) *terms = r;
  return r.total;
}

double ds_metric_cosine(int B, int D, const float *e, const float *te) {
  return B > 0 ? 1.0 - cosine_term(B, D, e, te, 0.0, NULL) : 0.0;
}

static int row_argmax(const float *x, int n) {
  int best = 0;
  for (int c = 1; c < n; c++)
    if (x[c] > x[best]) best = c;
  return best;
}

double ds_metric_top1(int B, int K, const float *s, const float *t) {
  if (B <= 0 || K <= 0) return 0.0;
  int hits = 0;
  for (int b = 0; b < B; b++)
    hits += row_argmax(s + (size_t)b * K, K) == row_argmax(t + (size_t)b * K, K);
  return (double)hits / B;
}

double ds_metric_kl(int B, int K, const float *s, const float *t) {
  return kd_term(B, K, s, t, 1.0, 0.0, NULL);
}

double ds_metric_mse(int B, int D, const float *e, const float *te) {
  return mse_term(B, D, e, te, 0.0, NULL);
}
