/* Evaluation of a float student against teacher rows: the training loss and the user-facing metrics,
 * each a mean over rows (batch means weighted by batch size). */
#include <math.h>
#include <stdlib.h>

#include "train/knn.h"
#include "train/trainer.h"

/* Index of the largest of x (n); the first on ties. */
static int argmax(const float *x, int n) {
  int best = 0;
  for (int i = 1; i < n; i++)
    if (x[i] > x[best]) best = i;
  return best;
}

int ds_evaluate(ds_student *m, const ds_loss_cfg *loss, ds_teacher *t, ds_loader *loader, int batch_size,
                ds_eval_metrics *out, ds_err *err) {
  const ds_teacher_info *info = ds_teacher_get_info(t);
  const ds_student_shape *s = &m->shape;
  const int K = s->n_classes, E = ds_student_emb_dim(s);
  const long total = loader ? ds_loader_n_val(loader) : info->n_rows;
  double sum_loss = 0, sum_cos = 0, sum_top1 = 0, sum_kl = 0, sum_mse = 0;
  long n_label_hits = 0;
  ds_knn_rows knn = {0};
  ds_batch b = {0};
  float *d_logits = NULL, *d_emb = NULL;
  int rc = -1;
  if (ds_batch_alloc(&b, info, batch_size, s->max_len, err)) goto done;
  d_logits = malloc(sizeof(float) * (size_t)batch_size * (K > 0 ? K : 1));
  d_emb = malloc(sizeof(float) * (size_t)batch_size * E);
  if (!d_logits || !d_emb) {
    ds_fail(err, "out of memory in evaluation");
    goto done;
  }
  const int emb_ok = info->emb_dim > 0 && info->emb_dim == E;
  const int logits_ok = info->n_classes > 0 && info->n_classes == K;
  const int labels_ok = logits_ok && info->has_labels;
  /* kNN@10 holds every evaluated embedding (train/knn.h); the student's size need not match the teacher's. */
  const int knn_ok = info->emb_dim > 0 && E > 0 && total >= 2 && total <= DS_KNN_MAX_ROWS;
  if (knn_ok && ds_knn_rows_init(&knn, total, E, info->emb_dim, err)) goto done;
  for (long start = 0; start < total; start += batch_size) {
    const int n = (int)(total - start < batch_size ? total - start : batch_size);
    if (loader ? ds_loader_read_val(loader, start, n, s->max_len, &b, err)
               : ds_teacher_read(t, start, n, s->max_len, &b, err))
      goto done;
    if (ds_student_forward(m, b.ids, b.mask, n, b.len, err)) goto done;
    sum_loss += n * ds_loss_compute(loss, n, K, E, m->a.logits, logits_ok ? b.logits : NULL,
                                    logits_ok ? b.labels : NULL, m->a.emb, emb_ok ? b.emb : NULL, d_logits,
                                    d_emb, NULL);
    if (emb_ok) {
      sum_cos += n * ds_metric_cosine(n, E, m->a.emb, b.emb);
      sum_mse += n * ds_metric_mse(n, E, m->a.emb, b.emb);
    }
    if (logits_ok) {
      sum_top1 += n * ds_metric_top1(n, K, m->a.logits, b.logits);
      sum_kl += n * ds_metric_kl(n, K, m->a.logits, b.logits);
    }
    if (labels_ok)
      for (int i = 0; i < n; i++) n_label_hits += argmax(m->a.logits + (size_t)i * K, K) == b.labels[i];
    if (knn_ok && ds_knn_rows_add(&knn, n, m->a.emb, b.emb, err)) goto done;
  }
  out->n = total;
  const double inv = total > 0 ? 1.0 / total : NAN;
  out->loss = sum_loss * inv;
  out->cos = emb_ok ? sum_cos * inv : NAN;
  out->mse = emb_ok ? sum_mse * inv : NAN;
  out->top1 = logits_ok ? sum_top1 * inv : NAN;
  out->kl = logits_ok ? sum_kl * inv : NAN;
  out->label_acc = labels_ok ? n_label_hits * inv : NAN;
  out->knn10 = NAN;
  if (knn_ok && ds_knn_rows_overlap(&knn, DS_KNN_K, &out->knn10, err)) goto done;
  rc = 0;
done:
  ds_batch_free(&b);
  ds_knn_rows_free(&knn);
  free(d_logits);
  free(d_emb);
  return rc;
}
