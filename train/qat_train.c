/* The training loop's QAT steps (train/qat_train.h). */
#include "train/qat_train.h"

#include <math.h>

#include "quant/qat/qat.h"
#include "train/optimizer.h"

void ds_qat_train_step_end(ds_trainer *tr, double lr) {
  ds_qat *q = tr->model.qat;
  if (!q || !q->cfg.learn_scales || !q->lsq_ready) return;
  ds_adamw_params hp = ds_adamw_default_params();
  hp.lr = lr;
  hp.weight_decay = 0.0;
  /* Adam's bias correction counts the steps the step sizes have been learning. */
  long t = tr->step - q->cfg.start_step;
  ds_adamw_step(q->lsq, q->lsq_grad, q->lsq_m, q->lsq_v, q->n_lsq, &hp, t > 0 ? t : 1);
}

int ds_qat_train_finish(ds_trainer *tr, ds_err *err) {
  tr->int8_val = (ds_eval_metrics){.n = 0, .loss = NAN, .cos = NAN, .top1 = NAN, .kl = NAN, .mse = NAN,
                                   .label_acc = NAN, .knn10 = NAN};
  if (!tr->model.qat || ds_loader_n_val(tr->loader) == 0) return 0;
  const ds_teacher_info *info = ds_teacher_get_info(tr->teacher);
  ds_i8_model im;
  if (ds_qat_build_int8(&tr->model, tr->vocab, tr->n_vocab, info->pad_id, &im, err)) return -1;
  const int rc = ds_evaluate_int8(&im, &tr->cfg.loss, tr->teacher, tr->loader, tr->cfg.train.batch_size,
                                  &tr->int8_val, err);
  ds_i8_model_free(&im);
  return rc;
}
