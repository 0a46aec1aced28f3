/* Structured pruning during training (SPEC.md [prune]): the sparsity schedule, unit importance and
 * pruning events that set the student's head and FFN masks. Masked units are cut out for real by
 * model/model.h at the end of training; the trainer glue is in train/prune_run.h.
 *
 * Units and their parameters: a head h of layer l owns its hd rows of each of Q, K, V in qkv (with
 * their biases) and its hd columns of the attention output projection; an FFN neuron owns its row of
 * fc1 (with its bias) and its column of fc2. Importance is ranked within each layer. */
#ifndef DS_TRAIN_PRUNE_H
#define DS_TRAIN_PRUNE_H

#include "model/config/config.h"
#include "model/model.h"

/* The cubic schedule of Zhu & Gupta: the fraction of units removed after `step` optimizer steps,
 * s_t = s_f (1 - (1 - (t - t0)/(t1 - t0))^3) for t0 <= t <= t1, 0 before t0 and s_f after t1
 * (start_step = end_step prunes everything at once). */
double ds_prune_sparsity_at(const ds_prune_cfg *c, double final_fraction, long step);
/* 1 if a pruning event follows optimizer step `step`: every `every` steps from start_step, and at
 * end_step, while start_step <= step <= end_step. */
int ds_prune_is_event(const ds_prune_cfg *c, long step);
/* Units of a layer to remove at sparsity s: s * n rounded to nearest, at most n - 1 (one unit stays). */
int ds_prune_target_count(double s, int n);

/* Taylor importance accumulated between events: the sum over backward passes of |sum grad * weight|
 * over each unit's parameters (Molchanov et al.'s first-order estimate of the loss change). */
typedef struct {
  float *head_score[DS_MAX_LAYERS];  /* (H_l) */
  float *ffn_score[DS_MAX_LAYERS];   /* (F_l) */
  float *mem;                        /* the one allocation: per layer heads then FFN, like the masks */
  size_t n;
  int compacted;                     /* the trainer's model has been compacted (checkpoints: form compact) */
} ds_prune_state;

int ds_prune_state_init(ds_prune_state *ps, const ds_student_shape *s, ds_err *err);
void ds_prune_state_free(ds_prune_state *ps); /* safe on a zeroed state */
void ds_prune_state_reset(ds_prune_state *ps);

/* Adds this backward pass's |sum grad * weight| of every live unit (call after backward, before the
 * gradients are clipped or applied). */
void ds_prune_accumulate(ds_prune_state *ps, const ds_student *m);
/* Importance of every unit of layer l by `crit`: taylor reads the accumulated scores, magnitude the
 * L2 norm of the unit's parameters. heads (H_l), ffn (F_l). */
void ds_prune_importance(const ds_prune_state *ps, const ds_student *m, ds_prune_criterion crit, int l,
                         float *heads, float *ffn);
/* A pruning event at `step`: in each layer, masks the least important live units until the schedule's
 * count is removed (masked units never return; ties go to the lower index), then resets the scores.
 * Returns the number of units newly masked, or -1 when out of memory. */
int ds_prune_event(ds_prune_state *ps, ds_student *m, const ds_prune_cfg *c, long step, ds_err *err);

#endif
