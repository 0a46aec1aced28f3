/* Token-level distillation ([loss] hidden_weight > 0): the student's final token states (the
 * transformer's final LayerNorm output, one row per real token), through a learned linear projection
 * (H, C) + (H), are matched to the teacher file's `hidden_states` [N, L, H] of the same tokens:
 *   mse:    mean over real tokens and features of (W s + b - h)^2
 *   cosine: mean over real tokens of 1 - cos(W s + b, h)
 * The projection is training-only: it is not part of the student, its parameters count nowhere and
 * exports never see it; it is saved in checkpoints (/hidden_head/) so --resume continues exactly. */
#ifndef DS_TRAIN_HIDDEN_DISTILL_H
#define DS_TRAIN_HIDDEN_DISTILL_H

#include "train/trainer.h"

/* Checks the run can use the loss (hidden_states present, a transformer, no QAT) and sets up the head. */
int ds_hidden_open(ds_hidden_head *h, ds_trainer *tr, ds_err *err);
/* The loss of the model's last forward on batch b (weighted by hidden_weight). Leaves the gradient wrt the
 * final token states in h->d_tokens and points m->d_final_tokens at it for the next backward; accumulates
 * the head's own gradients (zeroed here first). */
double ds_hidden_batch_loss(ds_hidden_head *h, ds_student *m, const ds_batch *b, const ds_loss_cfg *cfg);
/* The same in a data-parallel run (train/dist.h): b holds this process's rows of the batch; means are over the
 * real tokens of the whole batch, and *loss is the whole batch's loss on every process. In a world of one,
 * exactly ds_hidden_batch_loss. */
int ds_hidden_batch_loss_dist(ds_hidden_head *h, ds_student *m, const ds_batch *b, const ds_loss_cfg *cfg,
                              const ds_dist *d, double *loss, ds_err *err);
/* The loss and its gradients alone (tests): s (n, C) student states, t (n, H) targets, d_s (n, C). */
double ds_hidden_loss_rows(const ds_hidden_head *h, int n, const float *s, const float *t, const ds_loss_cfg *cfg,
                           float *pred, float *d_pred, float *d_s, float *d_params);
/* As ds_hidden_loss_rows, but means over n_norm tokens (those of the whole batch when n are one process's). */
double ds_hidden_loss_rows_norm(const ds_hidden_head *h, int n, long n_norm, const float *s, const float *t,
                                const ds_loss_cfg *cfg, float *pred, float *d_pred, float *d_s, float *d_params);
/* Clips the head's gradient to the run's grad_clip and takes its AdamW step. */
void ds_hidden_step(ds_hidden_head *h, const ds_train_cfg *tc, double lr, long t);
void ds_hidden_free(ds_hidden_head *h);

#endif
