/* model/config/: the run-wide configuration, one struct for every .cfg section, its strict parser and defaults. */
/* The resolved configuration of a run: every section of SPEC.md's .cfg, with its defaults.
 * ds_config_default() fills the SPEC defaults; ds_config_parse_file()/_string() overlay a file;
 * ds_config_set() applies one "section.key=value" override (CLI --set and training flags);
 * ds_config_write() prints every key so that the output re-parses to the same config. */
#ifndef DS_MODEL_CONFIG_CONFIG_H
#define DS_MODEL_CONFIG_CONFIG_H

#include <stdio.h>

#include "common/common.h"

#define DS_PATH_MAX 1024
#define DS_OUT_DIM_TEACHER (-1) /* out_dim = teacher: project to the teacher's embedding size */
#define DS_CONFIG_MAX_KEYS 64   /* capacity of ds_config.key_line; config.c checks its key table fits */
/* Largest [student] dim, ffn_dim, max_len and layers; checkpoint readers hold the shapes they load to them too. */
#define DS_MAX_DIM 16384
#define DS_MAX_FFN (1 << 20)
#define DS_MAX_SEQ_LEN 8192
#define DS_MAX_LAYERS 32

typedef enum { DS_POOL_MEAN = 0, DS_POOL_CLS = 1 } ds_pooling;
typedef enum { DS_SCHED_COSINE = 0, DS_SCHED_LINEAR = 1, DS_SCHED_CONSTANT = 2 } ds_schedule;
typedef enum { DS_EMB_COSINE = 0, DS_EMB_MSE = 1 } ds_emb_loss;
typedef enum { DS_OBS_EMA = 0, DS_OBS_MINMAX = 1 } ds_observer;
typedef enum { DS_PRUNE_CUBIC = 0 } ds_prune_schedule;
typedef enum { DS_CRIT_TAYLOR = 0, DS_CRIT_MAGNITUDE = 1 } ds_prune_criterion;
/* [student] init: teacher = from the teacher file's token_embeddings (falls back to random without them). */
typedef enum { DS_INIT_TEACHER = 0, DS_INIT_RANDOM = 1 } ds_init_kind;
/* [student] token_weights: per-token weights folded into the initial token table (teacher init only). */
typedef enum { DS_TOKW_NONE = 0, DS_TOKW_ZIPF = 1, DS_TOKW_SIF = 2 } ds_token_weights;
typedef enum { DS_HIDDEN_MSE = 0, DS_HIDDEN_COSINE = 1 } ds_hidden_loss;

typedef struct {
  char name[256];          /* [run] name: run folder is runs/<name>; default "default" */
  char out[DS_PATH_MAX];   /* [run] out: run folder; empty = runs/<name> */
} ds_run_cfg;

typedef struct {
  char path[DS_PATH_MAX];  /* [teacher] path */
} ds_teacher_cfg;

typedef struct {
  char arch[32];           /* "transformer" or "static" (token table, mean, projection) */
  int dim, layers, heads, ffn_dim, max_len;
  ds_pooling pooling;
  int out_dim;             /* DS_OUT_DIM_TEACHER, 0 (none) or a positive size */
  ds_init_kind init;
  ds_token_weights token_weights;
} ds_student_cfg;

typedef struct {
  long steps;
  int batch_size;
  double lr;
  long warmup_steps;
  ds_schedule schedule;
  double weight_decay, grad_clip;
  unsigned long seed;
  int threads;             /* 0 = all cores */
  double val_fraction;
  long eval_every, save_every;
  long log_every;          /* extension: steps between metrics.csv rows (default 10) */
  int quiet;               /* extension: no progress output */
  int token_rows;          /* teacher token rows added to each step (train/token_rows.h); 0 = none */
  double token_dropout;    /* share of each sentence's inner tokens masked out per step (train/token_dropout.h) */
} ds_train_cfg;

typedef struct {
  double kd_weight, temperature, ce_weight, emb_weight;
  ds_emb_loss emb_loss;
  double sim_weight, sim_temperature;
  double hidden_weight;    /* token-level distillation against the teacher file's hidden_states */
  ds_hidden_loss hidden_loss;
} ds_loss_cfg;

typedef struct {
  int enabled;
  long start_step;
  int weight_bits, act_bits;
  ds_observer observer;
  double ema_decay;
  long freeze_step;        /* -1: never */
  int learn_scales;
} ds_quant_cfg;

typedef struct {
  int enabled;
  double heads, ffn;       /* final fractions removed, in [0, 1) */
  int vocab;
  long start_step, end_step, every;
  ds_prune_schedule schedule;
  ds_prune_criterion criterion;
} ds_prune_cfg;

typedef struct {
  ds_run_cfg run;
  ds_teacher_cfg teacher;
  ds_student_cfg student;
  ds_train_cfg train;
  ds_loss_cfg loss;
  ds_quant_cfg quant;
  ds_prune_cfg prune;
  int has_student;         /* a [student] section was seen */
  char source[DS_PATH_MAX];/* the file the config came from, for messages */
  /* Line in `source` where each key was last set (0: default or an override), indexed like
   * config.c's key table, so that ds_config_validate() can point at "file:line". */
  int key_line[DS_CONFIG_MAX_KEYS];
} ds_config;

void ds_config_default(ds_config *c);
/* Overlays the file onto c. Errors name "file:line". Requires a [student] section unless
 * c->has_student is already set. Relative [teacher] path is kept as written. */
int ds_config_parse_file(ds_config *c, const char *path, ds_err *err);
/* Same, for text already in memory; `origin` is the name used in messages. */
int ds_config_parse_string(ds_config *c, const char *text, const char *origin, ds_err *err);
/* Applies "section.key=value"; `origin` names where it came from (e.g. "--set", "--lr"). */
int ds_config_set(ds_config *c, const char *assignment, const char *origin, ds_err *err);
/* Checks cross-key constraints (heads divides dim, ranges) after all overlays. */
int ds_config_validate(const ds_config *c, const char *origin, ds_err *err);
/* Writes every key of every section, defaults included. */
int ds_config_write(const ds_config *c, FILE *f);

#endif
