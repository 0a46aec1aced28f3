/* The run's side of [student] init: teacher-derived initialization from the teacher file (the
 * recipe is model/model.h), or the random one with a note saying why. */
#ifndef DS_TRAIN_INIT_RUN_H
#define DS_TRAIN_INIT_RUN_H

#include "train/trainer.h"

/* Initialises tr->model's parameters as the config asks and writes one log line into tr->init_note. */
int ds_init_run(ds_trainer *tr, ds_err *err);

#endif
