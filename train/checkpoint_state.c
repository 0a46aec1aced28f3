#include "train/checkpoint_state.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoints/ckpt.h"
#include "train/prune_run.h"
#include "train/qat_train.h"

static char *config_text(const ds_config *cfg) {
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  if (!f) return NULL;
  ds_config_write(cfg, f);
  fclose(f);
  return text;
}

static int write_tensors(ds_ckpt_writer *w, const char *group, const ds_param_table *t, const float *base,
                         ds_err *err) {
  for (int i = 0; i < t->n_tensors; i++) {
    const ds_tensor_info *ti = &t->tensors[i];
    char name[160];
    snprintf(name, sizeof name, "/%s/%s", group, ti->name);
    const int64_t shape[2] = {ti->shape[0], ti->shape[1]};
    if (ds_ckpt_write_f32(w, name, ti->ndim, shape, base + ti->offset, err)) return -1;
  }
  return 0;
}

static int write_shape(ds_ckpt_writer *w, const ds_student_shape *s, ds_err *err) {
  const int64_t L = s->n_layers;
  if (ds_ckpt_write_attr_str(w, "arch", s->arch == DS_ARCH_STATIC ? "static" : "transformer", err) ||
      ds_ckpt_write_attr_i64(w, "vocab", s->vocab, err) || ds_ckpt_write_attr_i64(w, "max_len", s->max_len, err) ||
      ds_ckpt_write_attr_i64(w, "dim", s->dim, err) || ds_ckpt_write_attr_i64(w, "n_layers", s->n_layers, err) ||
      ds_ckpt_write_attr_i64(w, "head_dim", s->head_dim, err) ||
      ds_ckpt_write_attr_i64(w, "out_dim", s->out_dim, err) ||
      ds_ckpt_write_attr_i64(w, "n_classes", s->n_classes, err) ||
      ds_ckpt_write_attr_str(w, "pooling", s->pooling == DS_POOL_CLS ? "cls" : "mean", err) ||
      ds_ckpt_write_i32(w, "/shape/heads", 1, &L, s->heads, err) ||
      ds_ckpt_write_i32(w, "/shape/ffn", 1, &L, s->ffn, err))
    return -1;
  return 0;
}

static int64_t mask_count(const ds_student_shape *s, int heads) {
  int64_t n = 0;
  for (int l = 0; l < s->n_layers; l++) n += heads ? s->heads[l] : s->ffn[l];
  return n;
}

/* The masks live in one allocation: per layer, heads then FFN units. Stored as two flat datasets. */
static void masks_split(const ds_student *m, float *heads, float *ffn, int to_flat) {
  for (int l = 0; l < m->shape.n_layers; l++) {
    if (to_flat) {
      memcpy(heads, m->head_mask[l], sizeof(float) * m->shape.heads[l]);
      memcpy(ffn, m->ffn_mask[l], sizeof(float) * m->shape.ffn[l]);
    } else {
      memcpy(m->head_mask[l], heads, sizeof(float) * m->shape.heads[l]);
      memcpy(m->ffn_mask[l], ffn, sizeof(float) * m->shape.ffn[l]);
    }
    heads += m->shape.heads[l];
    ffn += m->shape.ffn[l];
  }
}

/* The training-only projection of [loss] hidden_weight (train/hidden_distill.h). */
static int write_hidden_head(ds_ckpt_writer *w, const ds_hidden_head *h, ds_err *err) {
  if (h->n == 0) return 0;
  const int64_t n = (int64_t)h->n;
  return ds_ckpt_write_f32(w, "/hidden_head/params", 1, &n, h->params, err) ||
                 ds_ckpt_write_f32(w, "/hidden_head/adam_m", 1, &n, h->adam_m, err) ||
                 ds_ckpt_write_f32(w, "/hidden_head/adam_v", 1, &n, h->adam_v, err)
             ? -1
             : 0;
}

static int read_hidden_head(ds_ckpt_reader *r, ds_hidden_head *h, ds_err *err) {
  if (h->n == 0) return 0;
  if (!ds_ckpt_has(r, "/hidden_head/params"))
    return ds_fail(err, "%s: has no /hidden_head (the run that wrote it had [loss] hidden_weight = 0)", ds_ckpt_path(r));
  const int64_t n = (int64_t)h->n;
  return ds_ckpt_read_f32(r, "/hidden_head/params", 1, &n, h->params, err) ||
                 ds_ckpt_read_f32(r, "/hidden_head/adam_m", 1, &n, h->adam_m, err) ||
                 ds_ckpt_read_f32(r, "/hidden_head/adam_v", 1, &n, h->adam_v, err)
             ? -1
             : 0;
}

/* The step-0 and latest validation metrics, so that a resumed run's summary.json still reports init_val_* (measured
 * only at step 0) and its progress view shows the last evaluation before the next one. One f64 vector per set in
 * the order of metrics_pack; absent when not measured (n 0) and in checkpoints from before they were kept. Only
 * the row count is checked: a non-finite metric is what the run measured (NAN: the teacher lacks that target). */
#define N_METRIC_FIELDS 8

static void metrics_pack(const ds_eval_metrics *v, double out[N_METRIC_FIELDS]) {
  const double f[N_METRIC_FIELDS] = {(double)v->n, v->loss, v->cos, v->top1, v->kl, v->mse, v->label_acc, v->knn10};
  memcpy(out, f, sizeof f);
}

static void metrics_unpack(const double in[N_METRIC_FIELDS], ds_eval_metrics *v) {
  *v = (ds_eval_metrics){.n = (long)in[0], .loss = in[1], .cos = in[2], .top1 = in[3], .kl = in[4], .mse = in[5],
                         .label_acc = in[6], .knn10 = in[7]};
}

static int write_metrics(ds_ckpt_writer *w, const char *name, const ds_eval_metrics *v, ds_err *err) {
  if (v->n <= 0) return 0;
  double packed[N_METRIC_FIELDS];
  metrics_pack(v, packed);
  return ds_ckpt_write_f64(w, name, 1, (const int64_t[]){N_METRIC_FIELDS}, packed, err);
}

/* A set measured on another validation split (--resume may change val_fraction) is not carried over: the run
 * reports only metrics of its own rows. */
static int read_metrics(ds_ckpt_reader *r, const char *name, long n_val, ds_eval_metrics *v, ds_err *err) {
  if (!ds_ckpt_has(r, name)) return 0;
  double packed[N_METRIC_FIELDS];
  if (ds_ckpt_read_f64(r, name, 1, (const int64_t[]){N_METRIC_FIELDS}, packed, err)) return -1;
  const double n = packed[0];
  if (!(n >= 1.0 && n <= 1e15 && n == floor(n)))
    return ds_fail(err, "%s: dataset '%s': row count %g is not a positive whole number", ds_ckpt_path(r), name, n);
  if (n == (double)n_val) metrics_unpack(packed, v);
  return 0;
}

int ds_trainer_save(const ds_trainer *tr, const char *path, ds_err *err) {
  const ds_student *m = &tr->model;
  ds_ckpt_writer *w = NULL;
  char *cfg_text = config_text(&tr->cfg);
  const int64_t nh = mask_count(&m->shape, 1), nf = mask_count(&m->shape, 0);
  float *hm = malloc(sizeof(float) * (size_t)(nh + 1)), *fm = malloc(sizeof(float) * (size_t)(nf + 1));
  int rc = -1;
  if (!cfg_text || !hm || !fm) {
    ds_fail(err, "%s: out of memory preparing the checkpoint", path);
    goto done;
  }
  masks_split(m, hm, fm, 1);
  const int64_t state[2] = {0, 0};
  ds_loader_state ls = ds_loader_get_state(tr->loader);
  const int64_t loader_state[2] = {(int64_t)ls.epoch, (int64_t)ls.cursor};
  (void)state;
  if (ds_ckpt_writer_open(&w, path, DS_CKPT_FORMAT, DS_CKPT_VERSION, err)) goto done;
  if (ds_ckpt_write_attr_str(w, "config", cfg_text, err) || ds_ckpt_write_attr_i64(w, "step", tr->step, err) ||
      ds_ckpt_write_attr_f64(w, "best_val_loss", tr->best_val_loss, err) ||
      ds_ckpt_write_attr_i64(w, "best_step", tr->best_step, err) ||
      ds_ckpt_write_attr_f64(w, "wall_seconds", tr->wall_seconds, err) ||
      ds_ckpt_write_attr_i64(w, "seed", (int64_t)tr->cfg.train.seed, err) ||
      ds_ckpt_write_attr_str(w, "form", ds_prune_form(tr), err) || write_shape(w, &m->shape, err) ||
      write_tensors(w, "params", &m->table, m->params, err) ||
      write_tensors(w, "adam_m", &m->table, tr->adam_m, err) ||
      write_tensors(w, "adam_v", &m->table, tr->adam_v, err) ||
      ds_ckpt_write_f32(w, "/masks/heads", 1, &nh, hm, err) || ds_ckpt_write_f32(w, "/masks/ffn", 1, &nf, fm, err) ||
      ds_ckpt_write_i64(w, "/data/loader_state", 1, (const int64_t[]){2}, loader_state, err) ||
      ds_prune_ckpt_write(tr, w, err) || ds_qat_ckpt_write(m, w, err) || write_hidden_head(w, &tr->hidden, err) ||
      write_metrics(w, "/run/init_val", &tr->init_val, err) || write_metrics(w, "/run/last_val", &tr->last_val, err))
    goto done;
  if (tr->vocab && ds_ckpt_write_strings(w, "/vocab", (const char *const *)tr->vocab, tr->n_vocab, err)) goto done;
  rc = ds_ckpt_writer_commit(w, err);
  w = NULL;
done:
  ds_ckpt_writer_abort(w);
  free(cfg_text);
  free(hm);
  free(fm);
  return rc;
}

/* A size attribute: an integer in [0, INT_MAX] (a wider value must not wrap into a plausible int). */
static int read_i64_attr_int(ds_ckpt_reader *r, const char *name, int *out, ds_err *err) {
  int64_t v;
  if (ds_ckpt_read_attr_i64(r, name, &v, err)) return -1;
  if (v < 0 || v > INT_MAX)
    return ds_fail(err, "%s: attribute '%s' = %lld is not a size in [0, %d]", ds_ckpt_path(r), name, (long long)v,
                   INT_MAX);
  *out = (int)v;
  return 0;
}

/* The shape must be one a config can give (model/config/config.h limits; pruning only removes heads and FFN units),
 * so that the size table's int arithmetic cannot overflow and a few bytes of attributes cannot ask for
 * absurd memory. */
static int check_shape(ds_ckpt_reader *r, const ds_student_shape *s, ds_err *err) {
  const char *p = ds_ckpt_path(r);
  if (s->vocab < 1 || s->max_len < 1 || s->max_len > DS_MAX_SEQ_LEN || s->dim < 1 || s->dim > DS_MAX_DIM)
    return ds_fail(err, "%s: student shape vocab %d, max_len %d, dim %d is outside vocab >= 1, max_len in [1, %d], "
                   "dim in [1, %d]", p, s->vocab, s->max_len, s->dim, DS_MAX_SEQ_LEN, DS_MAX_DIM);
  if (s->arch != DS_ARCH_STATIC && (s->head_dim < 1 || s->head_dim > s->dim))
    return ds_fail(err, "%s: head_dim = %d is outside [1, dim = %d]", p, s->head_dim, s->dim);
  for (int l = 0; l < s->n_layers; l++)
    if (s->heads[l] < 0 || s->heads[l] > s->dim / s->head_dim || s->ffn[l] < 0 || s->ffn[l] > DS_MAX_FFN)
      return ds_fail(err, "%s: /shape: layer %d has %d heads and %d FFN units (at most %d and %d)", p, l, s->heads[l],
                     s->ffn[l], s->dim / s->head_dim, DS_MAX_FFN);
  return 0;
}

static int read_shape(ds_ckpt_reader *r, ds_student_shape *s, ds_err *err) {
  memset(s, 0, sizeof *s);
  char *pooling = NULL;
  if (read_i64_attr_int(r, "vocab", &s->vocab, err) || read_i64_attr_int(r, "max_len", &s->max_len, err) ||
      read_i64_attr_int(r, "dim", &s->dim, err) || read_i64_attr_int(r, "n_layers", &s->n_layers, err) ||
      read_i64_attr_int(r, "head_dim", &s->head_dim, err) || read_i64_attr_int(r, "out_dim", &s->out_dim, err) ||
      read_i64_attr_int(r, "n_classes", &s->n_classes, err) || ds_ckpt_read_attr_str(r, "pooling", &pooling, err))
    return -1;
  s->pooling = strcmp(pooling, "cls") == 0 ? DS_POOL_CLS : DS_POOL_MEAN;
  free(pooling);
  /* Checkpoints from before arch = static have no arch attribute: they hold transformers. */
  s->arch = DS_ARCH_TRANSFORMER;
  if (ds_ckpt_has_attr(r, "arch")) {
    char *arch = NULL;
    if (ds_ckpt_read_attr_str(r, "arch", &arch, err)) return -1;
    const int known = strcmp(arch, "static") == 0 || strcmp(arch, "transformer") == 0;
    if (strcmp(arch, "static") == 0) s->arch = DS_ARCH_STATIC;
    if (!known) {
      ds_fail(err, "%s: unknown student arch '%s' (this distill knows transformer and static)", ds_ckpt_path(r), arch);
      free(arch);
      return -1;
    }
    free(arch);
  }
  if (s->arch == DS_ARCH_STATIC && (s->n_layers != 0 || s->pooling != DS_POOL_MEAN))
    return ds_fail(err, "%s: a static student has no layers and mean pooling, not n_layers = %d and %s pooling",
                   ds_ckpt_path(r), s->n_layers, s->pooling == DS_POOL_CLS ? "cls" : "mean");
  if (s->arch != DS_ARCH_STATIC && (s->n_layers < 1 || s->n_layers > DS_MAX_LAYERS))
    return ds_fail(err, "%s: n_layers = %d is outside [1, %d]", ds_ckpt_path(r), s->n_layers, DS_MAX_LAYERS);
  const int64_t L = s->n_layers;
  if (ds_ckpt_read_i32(r, "/shape/heads", 1, &L, s->heads, err) || ds_ckpt_read_i32(r, "/shape/ffn", 1, &L, s->ffn, err))
    return -1;
  return check_shape(r, s, err);
}

static int read_tensors(ds_ckpt_reader *r, const char *group, const ds_param_table *t, float *base, ds_err *err) {
  for (int i = 0; i < t->n_tensors; i++) {
    const ds_tensor_info *ti = &t->tensors[i];
    char name[160];
    snprintf(name, sizeof name, "/%s/%s", group, ti->name);
    const int64_t shape[2] = {ti->shape[0], ti->shape[1]};
    if (ds_ckpt_read_f32(r, name, ti->ndim, shape, base + ti->offset, err)) return -1;
  }
  return 0;
}

static int read_masks(ds_ckpt_reader *r, ds_student *m, ds_err *err) {
  const int64_t nh = mask_count(&m->shape, 1), nf = mask_count(&m->shape, 0);
  float *hm = malloc(sizeof(float) * (size_t)(nh + 1)), *fm = malloc(sizeof(float) * (size_t)(nf + 1));
  int rc = -1;
  if (hm && fm && !ds_ckpt_read_f32(r, "/masks/heads", 1, &nh, hm, err) &&
      !ds_ckpt_read_f32(r, "/masks/ffn", 1, &nf, fm, err)) {
    masks_split(m, hm, fm, 0);
    rc = 0;
  }
  free(hm);
  free(fm);
  return rc;
}

int ds_trainer_resume(ds_trainer *tr, const char *path, ds_err *err) {
  ds_ckpt_reader *r = NULL;
  int rc = -1;
  ds_student_shape s;
  if (ds_ckpt_open(&r, path, DS_CKPT_FORMAT, DS_CKPT_VERSION, err) || read_shape(r, &s, err) ||
      ds_prune_ckpt_adopt_shape(tr, r, &s, err))
    goto done;
  if (memcmp(&s, &tr->model.shape, sizeof s) != 0) {
    ds_fail(err, "%s: the checkpoint's student shape differs from this run's config; resume needs the same "
                 "[student] section and teacher", path);
    goto done;
  }
  int64_t step, best_step, ls[2];
  if (read_tensors(r, "params", &tr->model.table, tr->model.params, err) ||
      read_tensors(r, "adam_m", &tr->model.table, tr->adam_m, err) ||
      read_tensors(r, "adam_v", &tr->model.table, tr->adam_v, err) || read_masks(r, &tr->model, err) ||
      ds_ckpt_read_attr_i64(r, "step", &step, err) || ds_ckpt_read_attr_i64(r, "best_step", &best_step, err) ||
      ds_ckpt_read_attr_f64(r, "best_val_loss", &tr->best_val_loss, err) ||
      ds_ckpt_read_attr_f64(r, "wall_seconds", &tr->wall_seconds, err) ||
      ds_ckpt_read_i64(r, "/data/loader_state", 1, (const int64_t[]){2}, ls, err) || ds_prune_ckpt_read(tr, r, err) ||
      ds_qat_ckpt_read(r, &tr->model, &tr->cfg.quant, err) || read_hidden_head(r, &tr->hidden, err) ||
      read_metrics(r, "/run/init_val", ds_loader_n_val(tr->loader), &tr->init_val, err) ||
      read_metrics(r, "/run/last_val", ds_loader_n_val(tr->loader), &tr->last_val, err))
    goto done;
  tr->step = (long)step;
  tr->best_step = (long)best_step;
  if (ds_loader_set_state(tr->loader, (ds_loader_state){(uint64_t)ls[0], (uint64_t)ls[1]}, err)) goto done;
  rc = 0;
done:
  if (rc) ds_fail_prefix(err, "cannot resume");
  ds_ckpt_close(r);
  return rc;
}

int ds_model_load(ds_loaded_model *lm, const char *path, ds_err *err) {
  memset(lm, 0, sizeof *lm);
  ds_ckpt_reader *r = NULL;
  char *cfg_text = NULL;
  ds_student_shape s;
  int64_t step = 0;
  int rc = -1;
  if (ds_ckpt_open(&r, path, DS_CKPT_FORMAT, DS_CKPT_VERSION, err) || read_shape(r, &s, err)) goto done;
  ds_config_default(&lm->cfg);
  char origin[DS_PATH_MAX + 32];
  snprintf(origin, sizeof origin, "%s (config attribute)", path);
  if (ds_ckpt_read_attr_str(r, "config", &cfg_text, err) ||
      ds_config_parse_string(&lm->cfg, cfg_text, origin, err) || ds_ckpt_read_attr_i64(r, "step", &step, err))
    goto done;
  lm->step = (long)step;
  if (ds_student_init(&lm->model, &s, err)) {
    ds_fail_prefix(err, "%s", path);
    goto done;
  }
  if (read_tensors(r, "params", &lm->model.table, lm->model.params, err) ||
      read_masks(r, &lm->model, err) || ds_prune_ckpt_read_vocab_map(r, &lm->model, err) ||
      ds_qat_ckpt_read(r, &lm->model, &lm->cfg.quant, err))
    goto done;
  if (ds_ckpt_has(r, "/vocab") && ds_ckpt_read_strings(r, "/vocab", &lm->vocab, &lm->n_vocab, err)) goto done;
  rc = 0;
done:
  free(cfg_text);
  ds_ckpt_close(r);
  if (rc) ds_loaded_model_free(lm);
  return rc;
}

void ds_loaded_model_free(ds_loaded_model *lm) {
  ds_student_free(&lm->model);
  free(lm->vocab);
  lm->vocab = NULL;
}
