/* train/: the training loop and all it runs: losses, AdamW, schedules, evaluation, QAT, pruning, checkpoints. */
/* What train/ offers its callers (the CLI): a run to create, train and destroy, the processes of a data-parallel
 * run, models loaded from checkpoints or int8 files, and their evaluation on teacher rows. The trainer's insides
 * (train/trainer.h and the headers beside it) are the folder's own; tests of the folder may use them. */
#ifndef DS_TRAIN_H
#define DS_TRAIN_H

#include "data/data.h"
#include "model/config/config.h"
#include "model/model.h"
#include "quant/int8/int8.h"

/* ==== the processes of a run (train/dist.h has the collectives) ========================================= */
typedef struct {
  int rank, size;  /* size 1: no MPI in use (a zeroed struct counts as a world of one too) */
  int initialized; /* this process called MPI_Init (ds_dist_finalize then ends MPI) */
} ds_dist;

/* 1 when this binary was built with MPI. */
int ds_dist_available(void);
/* Joins the MPI job when the process was started by an MPI launcher (it sets OMPI_COMM_WORLD_SIZE, PMI_SIZE
 * or PMIX_RANK); otherwise, or without MPI, d is a world of one and MPI is never initialised. */
int ds_dist_init(ds_dist *d, int *argc, char ***argv, ds_err *err);
void ds_dist_finalize(ds_dist *d);
/* Ends the whole job now with status `code` (MPI_Abort); returns only in a world of one. */
void ds_dist_abort(const ds_dist *d, int code);

static inline int ds_dist_size(const ds_dist *d) { return d && d->size > 1 ? d->size : 1; }
static inline int ds_dist_rank(const ds_dist *d) { return ds_dist_size(d) > 1 ? d->rank : 0; }
static inline int ds_dist_is_root(const ds_dist *d) { return ds_dist_rank(d) == 0; }

/* ==== what a run reports ================================================================================ */
/* Unweighted value of each term (0 when its target is absent) and the weighted total. */
typedef struct {
  double total, kd, ce, emb, sim;
} ds_loss_terms;

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

/* ==== a run ============================================================================================= */
/* The trainer (train/trainer.h): opaque here, so a caller reads a run only through ds_trainer_view. */
typedef struct ds_trainer ds_trainer;

/* Validates the config against the teacher (opened and fully checked), builds the student, restores it from
 * resume_ckpt when non-NULL (parameters, optimizer, masks and data order) and joins the data-parallel step of
 * dist (NULL: a world of one). Creates nothing on disk. On failure *out is NULL and err says why. */
int ds_trainer_create(ds_trainer **out, const ds_config *cfg, const ds_dist *dist, const char *resume_ckpt,
                      ds_err *err);
/* Trains until cfg.train.steps into out_dir (which must exist): metrics.csv, checkpoints, summary.json. */
int ds_trainer_run(ds_trainer *tr, const char *out_dir, ds_progress_fn progress, void *ctx, ds_err *err);
void ds_trainer_destroy(ds_trainer *tr); /* safe on NULL */

/* What a caller's log lines read of a run; pointers stay valid until ds_trainer_destroy. */
typedef struct {
  const ds_config *cfg;           /* the resolved config the run trains */
  const ds_teacher_info *teacher;
  const ds_student *model;
  long n_train, n_val;            /* rows of the split */
  long step, best_step;           /* optimizer steps completed; the step of best.ckpt */
  double wall_seconds;            /* training time over all sessions of the run */
  ds_eval_metrics last_val;       /* the latest validation metrics */
  const char *init_note;          /* how the parameters were initialised, one log line (a resumed run: step > 0) */
  double comm_seconds, step_seconds; /* a data-parallel run's time in collectives and in steps */
} ds_trainer_view;
ds_trainer_view ds_trainer_view_of(const ds_trainer *tr);

/* ==== models for use: loading and evaluation ============================================================ */
/* A model loaded from a training checkpoint (eval, export, embed): shape, parameters, masks, config, vocabulary. */
typedef struct {
  ds_config cfg;
  ds_student model;
  char **vocab;      /* NULL when the checkpoint has none; one allocation, free(vocab) */
  int n_vocab;
  long step;
} ds_loaded_model;
int ds_model_load(ds_loaded_model *lm, const char *path, ds_err *err);
void ds_loaded_model_free(ds_loaded_model *lm);

/* An int8 model from a file: a native model (quant/int8/int8.h), or a training checkpoint whose QAT state gives
 * the model (built as at the end of training, with the checkpoint's vocabulary). A checkpoint without QAT state
 * is refused with a message saying how to get one. */
int ds_int8_model_open(const char *path, ds_i8_model *im, ds_err *err);

/* Evaluates the model on validation rows of the loader, or (loader NULL) on every row of the teacher. */
int ds_evaluate(ds_student *m, const ds_loss_cfg *loss, ds_teacher *t, ds_loader *loader, int batch_size,
                ds_eval_metrics *out, ds_err *err);
/* Metrics of an int8 model over validation rows of a loader, or (loader NULL) every teacher row;
 * rows run in parallel, one runtime scratch per thread. */
int ds_evaluate_int8(const ds_i8_model *im, const ds_loss_cfg *loss, ds_teacher *t, ds_loader *loader,
                     int batch_size, ds_eval_metrics *out, ds_err *err);

#endif
