/* A distillation run as train/ itself sees it (callers outside the folder get train/train.h's opaque handle):
 * the teacher, the student, the optimizer state and the loop that sequences them. train/ only calls the model's
 * forward/backward and the losses; it never reaches into a layer. */
#ifndef DS_TRAIN_TRAINER_H
#define DS_TRAIN_TRAINER_H

#include "train/dist.h"
#include "train/losses.h"
#include "train/prune.h"
#include "train/train.h"



/* [train] token_rows state (train/token_rows.h). */
typedef struct {
  int n, cls, sep;
  int *eligible, n_eligible; /* ids rows are drawn from */
  int32_t *ids;  /* (n, 3) */
  uint8_t *mask; /* (n, 3) */
  float *target, *d_emb; /* (n, D) */
  float *table;  /* (vocab, D) the teacher's token_embeddings */
} ds_token_rows;

/* [loss] hidden_weight state (train/hidden_distill.h): the training-only projection to the teacher's
 * token states and its optimizer state; n 0 = not in use. */
typedef struct {
  int H, C;
  size_t n;                    /* H*C + H: weight (H, C) then bias (H) */
  float *params, *grads, *adam_m, *adam_v;
  float *s, *t, *pred, *d_pred, *d_s; /* per-step scratch for up to cap rows */
  float *d_tokens;             /* (rows of the model's pack, C) gradient wrt the final token states */
  long cap;
} ds_hidden_head;

/* Data parallelism (train/dist_step.h): this process's rows and the scratch of the step's collectives. Unused
 * (all zero) in a world of one. */
typedef struct {
  long lo, hi;                  /* rows [lo, hi) of every global batch */
  long tok_lo, tok_hi;          /* rows [tok_lo, tok_hi) of the [train] token_rows of every step */
  size_t rec_bytes;             /* one row's loss inputs, as gathered */
  unsigned char *rec, *rec_all; /* (hi - lo, rec_bytes), (B, rec_bytes) */
  float *s_logits, *s_emb, *t_logits, *t_emb; /* the whole batch's loss inputs: (B, K), (B, E), (B, K), (B, D) */
  int32_t *labels;              /* (B) */
  float *tok_emb;               /* (token_rows, E) the token rows' embeddings, gathered */
  uint8_t *touched;             /* (vocab rows) token-table rows with a gradient on some process */
  float *flat;                  /* every gradient of a step, packed for one all-reduce */
  size_t flat_cap;
  double comm_seconds;          /* spent in collectives (waiting for other processes included) */
  double step_seconds;          /* spent in training steps */
  double update_seconds;        /* spent after the all-reduce (clipping, AdamW, ...): the same on every process */
  size_t reduce_floats;         /* floats all-reduced in the last step */
} ds_dist_state;

struct ds_trainer {
  ds_config cfg;
  char out_dir[DS_PATH_MAX];
  ds_dist dist;                 /* the processes of a data-parallel run (train/dist.h); a world of one by default */
  ds_dist_state par;
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
  ds_token_rows token_rows;     /* [train] token_rows: extra single-token rows each step */
  ds_hidden_head hidden;        /* [loss] hidden_weight: token-level distillation */
  char init_note[1536];         /* how the parameters were initialised, one log line (train/init_run.h) */
  ds_eval_metrics init_val;     /* the validation metrics at step 0, before any update (n 0: not measured) */
};

/* Validates the config against the teacher (opened and fully checked here) and builds the student.
 * Creates nothing on disk. */
int ds_trainer_open(ds_trainer *tr, const ds_config *cfg, ds_err *err);
/* Restores parameters, optimizer, masks and data order from a checkpoint written by this run's config. */
int ds_trainer_resume(ds_trainer *tr, const char *ckpt_path, ds_err *err);
void ds_trainer_close(ds_trainer *tr);

#endif
