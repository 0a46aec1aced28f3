/* Metric accumulation shared by the float and the int8 evaluations (train/eval_accum.h). */
#include "train/eval_accum.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Index of the largest of x (n); the first on ties. */
static int argmax(const float *x, int n) {
  int best = 0;
  for (int i = 1; i < n; i++)
    if (x[i] > x[best]) best = i;
  return best;
}

int ds_eval_accum_init(ds_eval_accum *a, ds_teacher *t, ds_loader *loader, int batch_size, int max_len, int K,
                       int E, ds_err *err) {
  memset(a, 0, sizeof *a);
  const ds_teacher_info *info = ds_teacher_get_info(t);
  a->teacher = t;
  a->loader = loader;
  a->info = info;
  a->batch_size = batch_size;
  a->max_len = max_len;
  a->K = K;
  a->E = E;
  a->total = loader ? ds_loader_n_val(loader) : info->n_rows;
  a->emb_ok = info->emb_dim > 0 && info->emb_dim == E;
  a->logits_ok = info->n_classes > 0 && info->n_classes == K;
  a->labels_ok = a->logits_ok && info->has_labels;
  /* kNN@10 holds every evaluated embedding (train/knn.h); the model's size need not match the teacher's. */
  a->knn_ok = info->emb_dim > 0 && E > 0 && a->total >= 2 && a->total <= DS_KNN_MAX_ROWS;
  if (ds_batch_alloc(&a->batch, info, batch_size, max_len, err)) return -1;
  a->d_logits = malloc(sizeof(float) * (size_t)batch_size * (K > 0 ? K : 1));
  a->d_emb = malloc(sizeof(float) * (size_t)batch_size * (E > 0 ? E : 1));
  if (!a->d_logits || !a->d_emb) return ds_fail(err, "out of memory in evaluation");
  if (a->knn_ok && ds_knn_rows_init(&a->knn, a->total, E, info->emb_dim, err)) return -1;
  return 0;
}

int ds_eval_accum_read(ds_eval_accum *a, ds_err *err) {
  if (a->next >= a->total) return 0;
  const int n = (int)(a->total - a->next < a->batch_size ? a->total - a->next : a->batch_size);
  if (a->loader ? ds_loader_read_val(a->loader, a->next, n, a->max_len, &a->batch, err)
                : ds_teacher_read(a->teacher, a->next, n, a->max_len, &a->batch, err))
    return -1;
  a->next += n;
  return n;
}

int ds_eval_accum_add(ds_eval_accum *a, const ds_loss_cfg *loss, const float *emb, const float *logits,
                      ds_err *err) {
  const ds_batch *b = &a->batch;
  const int n = b->n, K = a->K, E = a->E;
  if (K <= 0) logits = NULL;
  a->sum_loss += n * ds_loss_compute(loss, n, K, E, logits, a->logits_ok ? b->logits : NULL,
                                     a->logits_ok ? b->labels : NULL, emb, a->emb_ok ? b->emb : NULL, a->d_logits,
                                     a->d_emb, NULL);
  if (a->emb_ok) {
    a->sum_cos += n * ds_metric_cosine(n, E, emb, b->emb);
    a->sum_mse += n * ds_metric_mse(n, E, emb, b->emb);
  }
  if (a->logits_ok) {
    a->sum_top1 += n * ds_metric_top1(n, K, logits, b->logits);
    a->sum_kl += n * ds_metric_kl(n, K, logits, b->logits);
  }
  if (a->labels_ok)
    for (int i = 0; i < n; i++) a->n_label_hits += argmax(logits + (size_t)i * K, K) == b->labels[i];
  if (a->knn_ok && ds_knn_rows_add(&a->knn, n, emb, b->emb, err)) return -1;
  return 0;
}

int ds_eval_accum_finish(ds_eval_accum *a, ds_eval_metrics *out, ds_err *err) {
  const long total = a->total;
  out->n = total;
  const double inv = total > 0 ? 1.0 / total : NAN;
  out->loss = a->sum_loss * inv;
  out->cos = a->emb_ok ? a->sum_cos * inv : NAN;
  out->mse = a->emb_ok ? a->sum_mse * inv : NAN;
  out->top1 = a->logits_ok ? a->sum_top1 * inv : NAN;
  out->kl = a->logits_ok ? a->sum_kl * inv : NAN;
  out->label_acc = a->labels_ok ? a->n_label_hits * inv : NAN;
  out->knn10 = NAN;
  if (a->knn_ok && ds_knn_rows_overlap(&a->knn, DS_KNN_K, &out->knn10, err)) return -1;
  return 0;
}

void ds_eval_accum_free(ds_eval_accum *a) {
  ds_batch_free(&a->batch);
  ds_knn_rows_free(&a->knn);
  free(a->d_logits);
  free(a->d_emb);
  memset(a, 0, sizeof *a);
}
