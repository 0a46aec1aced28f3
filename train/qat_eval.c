/* Evaluation of an int8 model with the integer-only runtime: the same metrics as ds_evaluate
 * (train/eval_accum.h), from the runtime's dequantized embeddings and logits. */
#include <omp.h>
#include <stdlib.h>

#include "train/eval_accum.h"
#include "train/qat_train.h"

/* Runs the int8 model on the n rows of b, in parallel, one runtime scratch per thread: emb (n, E), logits (n, K). */
static int run_batch(const ds_i8_model *im, const ds_batch *b, const char *path, char *scratch, size_t scratch_size,
                     int threads, float *emb, float *logits, ds_err *err) {
  const int n = b->n, K = im->n_classes, E = im->emb_dim;
  int failed = -1;
  ds_err row_err = {{0}};
#pragma omp parallel for schedule(dynamic) num_threads(threads)
  for (int i = 0; i < n; i++) {
    ds_err e;
    if (ds_i8_model_run(im, b->ids + (size_t)i * b->len, b->mask + (size_t)i * b->len, b->len,
                        scratch + scratch_size * (size_t)omp_get_thread_num(), emb + (size_t)i * E,
                        K > 0 ? logits + (size_t)i * K : NULL, &e)) {
#pragma omp critical
      if (failed < 0 || i < failed) {
        failed = i;
        row_err = e;
      }
    }
  }
  if (failed >= 0) return ds_fail(err, "%s: row %ld: %s", path, b->rows[failed], row_err.msg);
  return 0;
}

int ds_evaluate_int8(const ds_i8_model *im, const ds_loss_cfg *loss, ds_teacher *t, ds_loader *loader,
                     int batch_size, ds_eval_metrics *out, ds_err *err) {
  const int K = im->n_classes, E = im->emb_dim, threads = omp_get_max_threads();
  const size_t scratch_size = ds_i8_model_scratch_size(im);
  ds_eval_accum acc = {0};
  float *emb = malloc(sizeof(float) * (size_t)batch_size * E);
  float *logits = malloc(sizeof(float) * (size_t)batch_size * (K > 0 ? K : 1));
  char *scratch = malloc(scratch_size * (size_t)threads);
  int rc = -1, n;
  if (!emb || !logits || !scratch) {
    ds_fail(err, "out of memory in int8 evaluation");
    goto done;
  }
  if (ds_eval_accum_init(&acc, t, loader, batch_size, im->max_len, K, E, err)) goto done;
  while ((n = ds_eval_accum_read(&acc, err)) > 0) {
    if (run_batch(im, &acc.batch, acc.info->path, scratch, scratch_size, threads, emb, logits, err) ||
        ds_eval_accum_add(&acc, loss, emb, logits, err))
      goto done;
  }
  if (n < 0 || ds_eval_accum_finish(&acc, out, err)) goto done;
  rc = 0;
done:
  ds_eval_accum_free(&acc);
  free(emb);
  free(logits);
  free(scratch);
  return rc;
}
