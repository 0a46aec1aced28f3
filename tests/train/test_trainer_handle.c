/* The run handle of train/train.h, as the CLI uses it: ds_trainer_create opens a run (and refuses a bad one with
 * *out NULL and the file named), ds_trainer_view_of reports what the trainer holds (rows of the split, step, the
 * model, the init note, the validation metrics after a run), ds_trainer_run trains, a second create resumes from
 * the run's last checkpoint at its step and trains on, and ds_trainer_destroy is safe on NULL. Only train/train.h is included:
 * this is all a caller outside train/ gets. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "kernels/kernels.h"
#include "../check.h"
#include "train/train.h"
#include "run_fixture.h"

static void on_progress(void *ctx, const ds_train_progress *p) {
  long *reports = ctx;
  if (!p->message) (*reports)++;
}

int main(void) {
  ds_threads_set(1);
  char dir[600], teacher[700], run[700], last[760];
  CHECK(fx_tmpdir(dir, sizeof dir, "handle") == 0);
  snprintf(teacher, sizeof teacher, "%s/teacher.h5", dir);
  snprintf(run, sizeof run, "%s/run", dir);
  snprintf(last, sizeof last, "%s/last.ckpt", run);
  write_teacher(teacher);
  CHECK(mkdir(run, 0755) == 0);

  ds_config cfg;
  run_config_base(&cfg, teacher);
  cfg.train.steps = 20;
  ds_err err = {{0}};

  /* A teacher that is not there: refused, nothing handed out, the path named. */
  ds_config bad = cfg;
  snprintf(bad.teacher.path, sizeof bad.teacher.path, "%s/missing.h5", dir);
  ds_trainer *tr = (ds_trainer *)&bad; /* not NULL, so the test sees create clear it */
  CHECK(ds_trainer_create(&tr, &bad, NULL, NULL, &err) == -1);
  CHECK(tr == NULL);
  CHECK_MSG(strstr(err.msg, "missing.h5") != NULL, "%s", err.msg);
  ds_trainer_destroy(NULL);

  /* A fresh run: the view before and after training. */
  CHECK_MSG(ds_trainer_create(&tr, &cfg, NULL, NULL, &err) == 0, "%s", err.msg);
  if (!tr) return check_report();
  ds_trainer_view v = ds_trainer_view_of(tr);
  CHECK(v.step == 0 && v.n_train + v.n_val == N && v.n_val > 0);
  CHECK(v.cfg->train.steps == 20 && v.teacher->n_rows == N && v.teacher->emb_dim == D);
  CHECK(v.model->shape.dim == 16 && v.model->table.n_params > 0);
  CHECK(v.init_note && v.init_note[0] != '\0');
  long reports = 0;
  CHECK_MSG(ds_trainer_run(tr, run, on_progress, &reports, &err) == 0, "%s", err.msg);
  v = ds_trainer_view_of(tr);
  CHECK(v.step == 20 && reports > 0);
  CHECK(v.last_val.n == v.n_val && isfinite(v.last_val.cos) && v.last_val.cos > -1 && v.last_val.cos <= 1);
  CHECK(v.wall_seconds > 0 && v.best_step > 0 && v.best_step <= 20);
  const double cos_end = v.last_val.cos;
  ds_trainer_destroy(tr);

  /* Resumed from the run's last checkpoint: at its step; 10 more steps train on from there and validate again. */
  ds_config more = cfg;
  more.train.steps = 30;
  CHECK_MSG(ds_trainer_create(&tr, &more, NULL, last, &err) == 0, "%s", err.msg);
  if (!tr) return check_report();
  v = ds_trainer_view_of(tr);
  CHECK(v.step == 20 && v.wall_seconds > 0);
  /* the checkpoint carries the latest validation metrics, so the view has them before any new evaluation */
  CHECK_MSG(v.last_val.n == v.n_val && v.last_val.cos == cos_end, "last_val after resume: n %ld, cos %.9g vs %.9g",
            v.last_val.n, v.last_val.cos, cos_end);
  CHECK_MSG(ds_trainer_run(tr, run, NULL, NULL, &err) == 0, "%s", err.msg);
  v = ds_trainer_view_of(tr);
  CHECK(v.step == 30 && v.last_val.n == v.n_val && isfinite(v.last_val.cos) && v.last_val.cos != cos_end);
  ds_trainer_destroy(tr);

  /* Resumed with another validation split: metrics of the old split's rows are not carried over. */
  ds_config resplit = more;
  resplit.train.val_fraction = 0.25;
  CHECK_MSG(ds_trainer_create(&tr, &resplit, NULL, last, &err) == 0, "%s", err.msg);
  if (!tr) return check_report();
  v = ds_trainer_view_of(tr);
  CHECK_MSG(v.step == 30 && v.n_val > 0 && v.last_val.n == 0, "n_val %ld, last_val.n %ld", v.n_val, v.last_val.n);
  ds_trainer_destroy(tr);

  /* A checkpoint that is not there: refused with its path. */
  snprintf(last, sizeof last, "%s/none.ckpt", run);
  CHECK(ds_trainer_create(&tr, &more, NULL, last, &err) == -1 && tr == NULL);
  CHECK_MSG(strstr(err.msg, "none.ckpt") != NULL, "%s", err.msg);

  fx_rmdir(run);
  fx_rmdir(dir);
  return check_report();
}
