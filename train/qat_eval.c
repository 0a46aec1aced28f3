/* Evaluation of an int8 model with the integer-only runtime: the same metrics as ds_evaluate
 * (train/evaluate.c: loss, cos, top1, kl, mse, label_acc, knn10), from the runtime's dequantized
 * embeddings and logits. */
#include <math.h>
#include <omp.h>
#include <stdlib.h>

#include "train/knn.h"
#include "train/qat_train.h"

/* Index of the largest of x (n); the first on ties (as train/evaluate.c). */
static int argmax(const float *x, int n) {
  int best = 0;
  for (int i = 1; i < n; i++)
    if (x[i] > x[best]) best = i;
  return best;
}

int ds_evaluate_int8(const ds_i8_model *im, const ds_loss_cfg *loss, ds_teacher *t, ds_loader *loader,
                     int batch_size, ds_eval_metrics *out, ds_err *err) {
  const ds_teacher_info *info = ds_teacher_get_info(t);
  const int K = im->n_classes, E = im->emb_dim, threads = omp_get_max_threads();
  const long total = loader ? ds_loader_n_val(loader) : info->n_rows;
  double sum_loss = 0, sum_cos = 0, sum_top1 = 0, sum_kl = 0, sum_mse = 0;
  long n_label_hits = 0;
  ds_knn_rows knn = {0};
  ds_batch b = {0};
  const size_t scratch_size = ds_i8_model_scratch_size(im);
  float *emb = malloc(sizeof(float) * (size_t)batch_size * E);
  float *logits = malloc(sizeof(float) * (size_t)batch_size * (K > 0 ? K : 1));
  float *d_logits = malloc(sizeof(float) * (size_t)batch_size * (K > 0 ? K : 1));
  float *d_emb = malloc(sizeof(float) * (size_t)batch_size * E);
  char *scratch = malloc(scratch_size * (size_t)threads);
  int rc = -1;
  if (!emb || !logits || !d_logits || !d_emb || !scratch) {
    ds_fail(err, "out of memory in int8 evaluation");
    goto done;
  }
  if (ds_batch_alloc(&b, info, batch_size, im->max_len, err)) goto done;
  const int emb_ok = info->emb_dim > 0 && info->emb_dim == E;
  const int logits_ok = info->n_classes > 0 && info->n_classes == K;
  const int labels_ok = logits_ok && info->has_labels;
  const int knn_ok = info->emb_dim > 0 && E > 0 && total >= 2 && total <= DS_KNN_MAX_ROWS;
  if (knn_ok && ds_knn_rows_init(&knn, total, E, info->emb_dim, err)) goto done;
  for (long start = 0; start < total; start += batch_size) {
    const int n = (int)(total - start < batch_size ? total - start : batch_size);
    if (loader ? ds_loader_read_val(loader, start, n, im->max_len, &b, err)
               : ds_teacher_read(t, start, n, im->max_len, &b, err))
      goto done;
    int failed = -1;
    ds_err row_err = {{0}};
#pragma omp parallel for schedule(dynamic) num_threads(threads)
    for (int i = 0; i < n; i++) {
      ds_err e;
      if (ds_i8_model_run(im, b.ids + (size_t)i * b.len, b.mask + (size_t)i * b.len, b.len,
                          scratch + scratch_size * (size_t)omp_get_thread_num(), emb + (size_t)i * E,
                          K > 0 ? logits + (size_t)i * K : NULL, &e)) {
#pragma omp critical
        if (failed < 0 || i < failed) {
          failed = i;
          row_err = e;
        }
      }
    }
    if (failed >= 0) {
      ds_fail(err, "%s: row %ld: %s", info->path, b.rows[failed], row_err.msg);
      goto done;
    }
    sum_loss += n * ds_loss_compute(loss, n, K, E, K > 0 ? logits : NULL, logits_ok ? b.logits : NULL,
                                    logits_ok ? b.labels : NULL, emb, emb_ok ? b.emb : NULL, d_logits, d_emb, NULL);
    if (emb_ok) {
      sum_cos += n * ds_metric_cosine(n, E, emb, b.emb);
      sum_mse += n * ds_metric_mse(n, E, emb, b.emb);
    }
    if (logits_ok) {
      sum_top1 += n * ds_metric_top1(n, K, logits, b.logits);
      sum_kl += n * ds_metric_kl(n, K, logits, b.logits);
    }
    if (labels_ok)
      for (int i = 0; i < n; i++) n_label_hits += argmax(logits + (size_t)i * K, K) == b.labels[i];
    if (knn_ok && ds_knn_rows_add(&knn, n, emb, b.emb, err)) goto done;
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
  free(emb);
  free(logits);
  free(d_logits);
  free(d_emb);
  free(scratch);
  return rc;
}
