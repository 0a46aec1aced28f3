/* The handle train/train.h gives callers outside the folder: a trainer on the heap, opened, resumed and joined
 * to its data-parallel step in one call, and read through a view instead of its fields. */
#include <stdlib.h>

#include "train/dist_step.h"
#include "train/trainer.h"

int ds_trainer_create(ds_trainer **out, const ds_config *cfg, const ds_dist *dist, const char *resume_ckpt,
                      ds_err *err) {
  *out = NULL;
  ds_trainer *tr = calloc(1, sizeof *tr);
  if (!tr) return ds_fail(err, "out of memory for the trainer");
  if (ds_trainer_open(tr, cfg, err)) { /* closes what it opened on failure */
    free(tr);
    return -1;
  }
  /* Without dist the trainer stays the world of one ds_trainer_open made it. */
  if ((resume_ckpt && ds_trainer_resume(tr, resume_ckpt, err)) || (dist && ds_dist_step_open(tr, dist, err))) {
    ds_trainer_destroy(tr);
    return -1;
  }
  *out = tr;
  return 0;
}

void ds_trainer_destroy(ds_trainer *tr) {
  if (!tr) return;
  ds_trainer_close(tr);
  free(tr);
}

ds_trainer_view ds_trainer_view_of(const ds_trainer *tr) {
  return (ds_trainer_view){
      .cfg = &tr->cfg,
      .teacher = ds_teacher_get_info(tr->teacher),
      .model = &tr->model,
      .n_train = ds_loader_n_train(tr->loader),
      .n_val = ds_loader_n_val(tr->loader),
      .step = tr->step,
      .best_step = tr->best_step,
      .wall_seconds = tr->wall_seconds,
      .last_val = tr->last_val,
      .init_note = tr->init_note,
      .comm_seconds = tr->par.comm_seconds,
      .step_seconds = tr->par.step_seconds,
  };
}
