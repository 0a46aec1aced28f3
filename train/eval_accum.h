/* The part of an evaluation every model shares: reading the evaluated teacher rows batch by batch and
 * turning a model's (embeddings, logits) of each batch into ds_eval_metrics. The float student
 * (train/evaluate.c) and the int8 runtime (train/qat_eval.c) differ only in how they run a batch:
 *
 *   ds_eval_accum a;
 *   if (ds_eval_accum_init(&a, t, loader, batch_size, max_len, K, E, err)) goto done;
 *   while ((n = ds_eval_accum_read(&a, err)) > 0) {
 *     ... run the model on a.batch (n rows) into emb (n, E) and logits (n, K) ...
 *     if (ds_eval_accum_add(&a, loss, emb, logits, err)) goto done;
 *   }
 *   if (n < 0 || ds_eval_accum_finish(&a, out, err)) goto done;
 * done:
 *   ds_eval_accum_free(&a);
 *
 * Each metric is a mean over rows (batch means weighted by batch size, summed in row order). */
#ifndef DS_TRAIN_EVAL_ACCUM_H
#define DS_TRAIN_EVAL_ACCUM_H

#include "train/knn.h"
#include "train/trainer.h"

typedef struct {
  ds_teacher *teacher;
  ds_loader *loader;            /* NULL: every teacher row; else its validation rows */
  const ds_teacher_info *info;
  int batch_size, max_len;
  int K, E;                     /* the model's classes and embedding size */
  int emb_ok, logits_ok, labels_ok, knn_ok; /* which targets the teacher gives at the model's sizes */
  long total, next;             /* rows to evaluate; first row of the next batch */
  ds_batch batch;               /* the last batch read */
  double sum_loss, sum_cos, sum_top1, sum_kl, sum_mse;
  long n_label_hits;
  ds_knn_rows knn;
  float *d_logits, *d_emb;      /* (batch_size, K), (batch_size, E): loss gradients, unused */
} ds_eval_accum;

/* Evaluation of a model with K classes (0: none) and E-dim embeddings over the validation rows of loader
 * or (loader NULL) every row of t, batch_size rows at a time, ids truncated to max_len. t and loader are
 * borrowed. On failure a is still safe to free. */
int ds_eval_accum_init(ds_eval_accum *a, ds_teacher *t, ds_loader *loader, int batch_size, int max_len, int K,
                       int E, ds_err *err);
/* Reads the next batch into a->batch: its row count, 0 when every row has been read, -1 on error. */
int ds_eval_accum_read(ds_eval_accum *a, ds_err *err);
/* Adds the model's outputs on a->batch: emb (n, E) and logits (n, K; ignored when K is 0). */
int ds_eval_accum_add(ds_eval_accum *a, const ds_loss_cfg *loss, const float *emb, const float *logits,
                      ds_err *err);
/* The means over the rows added (NAN where the teacher lacks the target). */
int ds_eval_accum_finish(ds_eval_accum *a, ds_eval_metrics *out, ds_err *err);
void ds_eval_accum_free(ds_eval_accum *a); /* safe on a zeroed or half-built accumulator */

#endif
