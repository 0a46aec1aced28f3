/* Pruning inside a training run: what ds_trainer calls when [prune] is enabled, and the pruning parts
 * of its checkpoints. The sequence per optimizer step is
 *   backward -> ds_prune_after_backward (Taylor scores) -> clip, AdamW -> ds_prune_after_step
 * where after_step runs a due pruning event (vocabulary first, at the first event), keeps every masked
 * unit's parameters and Adam moments at zero, and after the last step compacts the model. */
#ifndef DS_TRAIN_PRUNE_RUN_H
#define DS_TRAIN_PRUNE_RUN_H

#include "checkpoints/ckpt.h"
#include "train/trainer.h"

/* Checks [prune] against the run (end_step within steps) and allocates the scores. */
int ds_prune_open(ds_trainer *tr, ds_err *err);
void ds_prune_after_backward(ds_trainer *tr);
/* log (n bytes) receives lines for the run log (pruning events, the structure before and after
 * compaction), or "" when nothing happened. */
int ds_prune_after_step(ds_trainer *tr, char *log, size_t n, ds_err *err);
/* Cuts the masked units out of the model and its Adam moments (model/model.h). */
int ds_prune_compact(ds_trainer *tr, ds_err *err);
/* 1 once the schedule has reached its final sparsity (always without pruning): only such models may
 * become best.ckpt, so the best model is as small as the last. */
int ds_prune_settled(const ds_prune_cfg *c, long step);

/* Checkpoint parts: the "form" attribute ("masked" | "compact"), /vocab_map (int32, one row per teacher
 * id) with attribute vocab_unk_id, and /prune/scores (the Taylor scores between events, for exact
 * resume). */
const char *ds_prune_form(const ds_trainer *tr);
int ds_prune_ckpt_write(const ds_trainer *tr, ds_ckpt_writer *w, ds_err *err);
/* Resume: a compact checkpoint first gives the trainer its shape (model and Adam moments reallocated);
 * `s` is the checkpoint's shape. */
int ds_prune_ckpt_adopt_shape(ds_trainer *tr, ds_ckpt_reader *r, const ds_student_shape *s, ds_err *err);
/* Resume: the vocabulary map and scores, after the parameters and masks. */
int ds_prune_ckpt_read(ds_trainer *tr, ds_ckpt_reader *r, ds_err *err);
/* Loading a model: its vocabulary map, if the checkpoint has one. */
int ds_prune_ckpt_read_vocab_map(ds_ckpt_reader *r, ds_student *m, ds_err *err);

#endif
