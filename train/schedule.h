/* The learning-rate schedule of SPEC [train]: linear warmup, then cosine, linear or constant. */
#ifndef DS_TRAIN_SCHEDULE_H
#define DS_TRAIN_SCHEDULE_H

#include "model/config/config.h"

/* Learning rate for 0-based `step`: lr*(step+1)/warmup_steps while step < warmup_steps; then with
 * p = (step - warmup_steps) / max(1, steps - warmup_steps), clamped to [0, 1]:
 * cosine lr*0.5*(1 + cos(pi p)), linear lr*(1 - p), constant lr. */
double ds_lr_at(const ds_train_cfg *c, long step);

#endif
