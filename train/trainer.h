/* A distillation run: the teacher, the student, the optimizer state and the loop that sequences them.
 * train/ only calls the model's forward/backward and the losses; it never reaches into a layer. */
#ifndef DS_TRAIN_TRAINER_H
#define DS_TRAIN_TRAINER_H

#include "data/loader.h"
#include "data/teacher.h"
#include "model/config.h"
#include "model/student.h"
#include "train/losses.h"
#include "train/prune.h"

/* Metrics of a model over a set of teacher rows (NAN where the teacher lacks the target). */
typedef struct {
  long n;
  double loss, cos, top1, kl, mse;
  /* label_acc: argmax of the student's logits against the teacher file's `labels`; knn10: kNN@10 overlap of
   * the student's and the teacher's embeddings over the evaluated rows (train/knn.h; NAN beyond
   * DS_KNN_MAX_ROWS rows). */
  double label_acc, knn10;
} ds_eval_metrics;

/* What the loop reports to its caller (the CLI prints it; library code never prints). */
typedef struct {
  long step, steps;
  double loss, lr, samples_per_sec, eta_seconds, grad_norm;
  ds_loss_terms terms;
  int is_eval;            /* validation metrics below are fresh */
  ds_eval_metrics val;
  int new_best;
  const char *message;    /* non-NULL: only a line for the run log (pruning events, structure); nothing else set */
} ds_train_progress;
typedef void (*ds_progress_fn)(void *ctx, const ds_train_progress *p);

typedef struct {
  ds_config cfg;
  char out_dir[DS_PATH_MAX];
  ds_teacher *teacher;
  ds_loader *loader;
  ds_student model;
  float *adam_m, *adam_v;       /* (n_params), same layout as the parameters */
  long step;                    /* optimizer steps completed */
  double best_val_loss;
  long best_step;
  double wall_seconds;          /* training time over all sessions of this run (resume adds up) */
  ds_eval_metrics last_val;
  char **vocab;                 /* the teacher's vocabulary, carried into checkpoints; may be NULL */
  int n_vocab;
  ds_batch batch;
  float *d_logits, *d_emb;      /* (B, K), (B, E) loss gradients */
  ds_prune_state prune;         /* [prune] scores and form (train/prune_run.h) */
  ds_eval_metrics int8_val;     /* [quant]: the integer-only model on the validation rows at the end (n 0: none) */
} ds_trainer;

/* Validates the config against the teacher (opened and fully checked here) and builds the student.
 * Creates nothing on disk. */
int ds_trainer_open(ds_trainer *tr, const ds_config *cfg, ds_err *err);
/* Restores parameters, optimizer, masks and data order from a checkpoint written by this run's config. */
int ds_trainer_resume(ds_trainer *tr, const char *ckpt_path, ds_err *err);
/* Trains until cfg.train.steps into out_dir (which must exist): metrics.csv, checkpoints, summary.json. */
int ds_trainer_run(ds_trainer *tr, const char *out_dir, ds_progress_fn progress, void *ctx, ds_err *err);
void ds_trainer_close(ds_trainer *tr);

/* Evaluates the model on validation rows of the loader, or (loader NULL) on every row of the teacher. */
int ds_evaluate(ds_student *m, const ds_loss_cfg *loss, ds_teacher *t, ds_loader *loader, int batch_size,
                ds_eval_metrics *out, ds_err *err);

#endif
