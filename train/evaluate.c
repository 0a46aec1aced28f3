/* Evaluation of a float student against teacher rows: the training loss and the user-facing metrics
 * (train/eval_accum.h). */
#include "train/eval_accum.h"
#include "train/trainer.h"

int ds_evaluate(ds_student *m, const ds_loss_cfg *loss, ds_teacher *t, ds_loader *loader, int batch_size,
                ds_eval_metrics *out, ds_err *err) {
  const ds_student_shape *s = &m->shape;
  ds_eval_accum acc;
  int rc = -1, n;
  if (ds_eval_accum_init(&acc, t, loader, batch_size, s->max_len, s->n_classes, ds_student_emb_dim(s), err))
    goto done;
  while ((n = ds_eval_accum_read(&acc, err)) > 0) {
    if (ds_student_forward(m, acc.batch.ids, acc.batch.mask, n, acc.batch.len, err) ||
        ds_eval_accum_add(&acc, loss, m->a.emb, m->a.logits, err))
      goto done;
  }
  if (n < 0 || ds_eval_accum_finish(&acc, out, err)) goto done;
  rc = 0;
done:
  ds_eval_accum_free(&acc);
  return rc;
}
