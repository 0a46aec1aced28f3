/* Quantization-aware training inside a run ([quant] enabled): what ds_trainer calls and the QAT part of its
 * checkpoints (evaluation with the integer-only runtime is in train/train.h). The sequence per step is
 *   ds_qat_step_begin (quant/qat/qat.h) -> forward -> backward -> clip, AdamW -> ds_qat_train_step_end
 * and, after the last step, ds_qat_train_finish measures the int8 model on the validation rows. */
#ifndef DS_TRAIN_QAT_TRAIN_H
#define DS_TRAIN_QAT_TRAIN_H

#include "checkpoints/ckpt.h"
#include "quant/int8/int8.h"
#include "quant/qat/qat.h"
#include "train/trainer.h"

/* AdamW step (no weight decay) of the learned log step sizes, at the weights' learning rate. */
void ds_qat_train_step_end(ds_trainer *tr, double lr);
/* Builds the int8 model and evaluates it with the integer runtime on the validation rows into
 * tr->int8_val (n = 0 when QAT is off or there is no validation row). */
int ds_qat_train_finish(ds_trainer *tr, ds_err *err);

/* Checkpoint group /quant/ (written when the model has a QAT state):
 *   /quant/site_names            strings (n_sites): the int8 model's activation names, in site order
 *   /quant/obs_min, obs_max      float32 (n_sites) observer ranges; /quant/obs_seen int64 (n_sites)
 *   /quant/scale                 float32 (n_sites) activation scales of the last forward
 *   /quant/zero_point, qmin, qmax int32 (n_sites)
 *   /quant/state                 int64 [lsq_ready, frozen]
 *   /quant/lsq, lsq_adam_m, lsq_adam_v  float32 (n_sites + weight rows), with learn_scales: the
 *                                learned log step sizes (activations, then every weight row in
 *                                size-table order) and their Adam moments */
int ds_qat_ckpt_write(const ds_student *m, ds_ckpt_writer *w, ds_err *err);
/* Gives m a fresh QAT state for its current shape and [quant] config and, when the checkpoint has a
 * /quant/ group, restores it; the mode follows the checkpoint's step. No-op when cfg->enabled is 0
 * and the file has no /quant/ group. */
int ds_qat_ckpt_read(ds_ckpt_reader *r, ds_student *m, const ds_quant_cfg *cfg, ds_err *err);

#endif
