/* Token-level distillation against the teacher's hidden states: see train/hidden_distill.h. */
#include "train/hidden_distill.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "train/optimizer.h"

#define HIDDEN_NORM_EPS 1e-8

int ds_hidden_open(ds_hidden_head *h, ds_trainer *tr, ds_err *err) {
  memset(h, 0, sizeof *h);
  const ds_config *c = &tr->cfg;
  if (c->loss.hidden_weight <= 0) return 0;
  const ds_teacher_info *info = ds_teacher_get_info(tr->teacher);
  const char *src = c->source[0] ? c->source : "config";
  if (info->hidden_dim <= 0)
    return ds_fail(err, "%s: [loss] hidden_weight = %g needs the dataset 'hidden_states', which %s does not have",
                   src, c->loss.hidden_weight, info->path);
  if (tr->model.shape.arch == DS_ARCH_STATIC)
    return ds_fail(err, "%s: [loss] hidden_weight needs a transformer student (a static student has no token "
                        "states); set hidden_weight = 0", src);
  if (c->quant.enabled)
    return ds_fail(err, "%s: [loss] hidden_weight with [quant] enabled is not supported; distil the hidden states "
                        "first, then run QAT from that checkpoint", src);
  h->H = info->hidden_dim;
  h->C = tr->model.shape.dim;
  h->n = (size_t)h->H * h->C + h->H;
  h->params = calloc(h->n, sizeof(float));
  h->grads = calloc(h->n, sizeof(float));
  h->adam_m = calloc(h->n, sizeof(float));
  h->adam_v = calloc(h->n, sizeof(float));
  if (!h->params || !h->grads || !h->adam_m || !h->adam_v) {
    ds_hidden_free(h);
    return ds_fail(err, "out of memory for the hidden-state head");
  }
  /* Start as a scaled identity where the widths overlap: the student's states already live in a PCA of the
   * teacher's output space when it starts from the teacher. */
  for (int i = 0; i < h->H && i < h->C; i++) h->params[(size_t)i * h->C + i] = 1.0f;
  if (ds_batch_want_hidden(&tr->batch, info, err)) {
    ds_hidden_free(h);
    return -1;
  }
  return 0;
}

static int reserve(ds_hidden_head *h, long rows) {
  if (rows <= h->cap) return 0;
  float **bufs[] = {&h->s, &h->t, &h->pred, &h->d_pred, &h->d_s, &h->d_tokens};
  const int widths[] = {h->C, h->H, h->H, h->H, h->C, h->C};
  for (int k = 0; k < 6; k++) {
    free(*bufs[k]);
    *bufs[k] = malloc(sizeof(float) * (size_t)rows * widths[k]);
    if (!*bufs[k]) return -1;
  }
  h->cap = rows;
  return 0;
}

double ds_hidden_loss_rows(const ds_hidden_head *h, int n, const float *s, const float *t, const ds_loss_cfg *cfg,
                           float *pred, float *d_pred, float *d_s, float *d_params) {
  return ds_hidden_loss_rows_norm(h, n, n, s, t, cfg, pred, d_pred, d_s, d_params);
}

double ds_hidden_loss_rows_norm(const ds_hidden_head *h, int n, long n_norm, const float *s, const float *t,
                                const ds_loss_cfg *cfg, float *pred, float *d_pred, float *d_s, float *d_params) {
  const int H = h->H, C = h->C;
  const float *W = h->params, *bias = h->params + (size_t)H * C;
  if (n <= 0) return 0.0;
  for (int i = 0; i < n; i++) memcpy(pred + (size_t)i * H, bias, sizeof(float) * H);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, H, C, 1.0f, s, C, W, C, 1.0f, pred, H);
  double loss = 0.0;
  const double wgt = cfg->hidden_weight;
  for (int i = 0; i < n; i++) {
    const float *p = pred + (size_t)i * H, *q = t + (size_t)i * H;
    float *g = d_pred + (size_t)i * H;
    if (cfg->hidden_loss == DS_HIDDEN_MSE) {
      const double scale = 2.0 * wgt / ((double)n_norm * H);
      for (int j = 0; j < H; j++) {
        const double e = (double)p[j] - q[j];
        loss += e * e;
        g[j] = (float)(scale * e);
      }
    } else {
      double pq = 0.0, pp = 0.0, qq = 0.0;
      for (int j = 0; j < H; j++) {
        pq += (double)p[j] * q[j];
        pp += (double)p[j] * p[j];
        qq += (double)q[j] * q[j];
      }
      const double np = fmax(sqrt(pp), HIDDEN_NORM_EPS), nq = fmax(sqrt(qq), HIDDEN_NORM_EPS);
      const double cosv = pq / (np * nq);
      loss += 1.0 - cosv;
      /* d(1 - cos)/dp = -(q / (|p||q|) - cos p / |p|^2) */
      for (int j = 0; j < H; j++) g[j] = (float)(-wgt / n_norm * (q[j] / (np * nq) - cosv * p[j] / (np * np)));
    }
  }
  loss = cfg->hidden_loss == DS_HIDDEN_MSE ? loss / ((double)n_norm * H) : loss / n_norm;
  /* d_s = d_pred W; dW += d_pred^T s; db += sum of d_pred rows. */
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, C, H, 1.0f, d_pred, H, W, C, 0.0f, d_s, C);
  if (d_params) {
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, H, C, n, 1.0f, d_pred, H, s, C, 1.0f, d_params, C);
    float *db = d_params + (size_t)H * C;
    for (int i = 0; i < n; i++)
      for (int j = 0; j < H; j++) db[j] += d_pred[(size_t)i * H + j];
  }
  return wgt * loss;
}

/* Real tokens of the last forward. */
static long real_tokens(const ds_student *m) {
  long n = 0;
  for (int r = 0; r < m->pack.n_rows; r++) n += m->mask[m->pack.row[r]] != 0;
  return n;
}

/* n_norm: tokens the means are over; 0 = this batch's. */
static double batch_loss(ds_hidden_head *h, ds_student *m, const ds_batch *b, const ds_loss_cfg *cfg, long n_norm) {
  m->d_final_tokens = NULL;
  if (h->n == 0) return 0.0;
  const ds_token_pack *pk = &m->pack;
  const int C = h->C, H = h->H, T = m->T;
  if (reserve(h, pk->n_rows)) return NAN;
  /* Gather the real tokens' states and targets (a padded pack also holds padding rows). */
  int n = 0;
  for (int r = 0; r < pk->n_rows; r++) {
    const int pos = pk->row[r];
    if (!m->mask[pos]) continue;
    const int bi = pos / T, ti = pos % T;
    memcpy(h->s + (size_t)n * C, m->a.lnf + (size_t)r * C, sizeof(float) * C);
    memcpy(h->t + (size_t)n * H, b->hidden + ((size_t)bi * b->len + ti) * H, sizeof(float) * H);
    n++;
  }
  memset(h->grads, 0, sizeof(float) * h->n);
  const double loss = ds_hidden_loss_rows_norm(h, n, n_norm > 0 ? n_norm : n, h->s, h->t, cfg, h->pred, h->d_pred,
                                              h->d_s, h->grads);
  /* Scatter the state gradients back to the pack's rows (zero on padding rows). */
  memset(h->d_tokens, 0, sizeof(float) * (size_t)pk->n_rows * C);
  n = 0;
  for (int r = 0; r < pk->n_rows; r++) {
    if (!m->mask[pk->row[r]]) continue;
    memcpy(h->d_tokens + (size_t)r * C, h->d_s + (size_t)n * C, sizeof(float) * C);
    n++;
  }
  m->d_final_tokens = h->d_tokens;
  return loss;
}

double ds_hidden_batch_loss(ds_hidden_head *h, ds_student *m, const ds_batch *b, const ds_loss_cfg *cfg) {
  return batch_loss(h, m, b, cfg, 0);
}

int ds_hidden_batch_loss_dist(ds_hidden_head *h, ds_student *m, const ds_batch *b, const ds_loss_cfg *cfg,
                              const ds_dist *d, double *loss, ds_err *err) {
  if (ds_dist_size(d) <= 1 || h->n == 0) {
    *loss = ds_hidden_batch_loss(h, m, b, cfg);
    return 0;
  }
  double n_all = (double)real_tokens(m);
  if (ds_dist_sum_doubles(d, &n_all, 1, err)) return -1;
  double l = batch_loss(h, m, b, cfg, (long)n_all);
  if (ds_dist_sum_doubles(d, &l, 1, err)) return -1;
  *loss = l;
  return 0;
}

void ds_hidden_step(ds_hidden_head *h, const ds_train_cfg *tc, double lr, long t) {
  if (h->n == 0) return;
  float clip_scale;
  ds_grad_clip_scale(h->grads, h->n, tc->grad_clip, &clip_scale);
  ds_adamw_params hp = ds_adamw_default_params();
  hp.lr = lr;
  hp.weight_decay = tc->weight_decay;
  ds_adamw_step_scaled(h->params, h->grads, h->adam_m, h->adam_v, h->n, &hp, t, clip_scale);
}

void ds_hidden_free(ds_hidden_head *h) {
  free(h->params);
  free(h->grads);
  free(h->adam_m);
  free(h->adam_v);
  free(h->s);
  free(h->t);
  free(h->pred);
  free(h->d_pred);
  free(h->d_s);
  free(h->d_tokens);
  memset(h, 0, sizeof *h);
}
