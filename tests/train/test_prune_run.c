/* Pruning inside a training run, end to end on a tiny teacher whose training rows use only ids 2..39 of
 * a 64-id vocabulary: heads, FFN neurons and the unused vocabulary are pruned on the cubic schedule,
 * masked units stay exactly zero (parameters and Adam moments), the model is compacted after the last
 * step, summary.json counts the compact parameters, checkpoints say their form, and a run resumed from a
 * checkpoint taken between pruning events ends bit-identical to the uninterrupted run. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kernels/kernels.h"
#include "../check.h"
#include "model/model.h"
#include "checkpoints/ckpt.h"
#include "data/data.h"
#include "train/checkpoint_state.h"
#include "train/prune.h"
#include "train/trainer.h"
#include "run_fixture.h"

static void config(ds_config *c, const char teacher[600]) {
  run_config_base(c, teacher);
  c->student.layers = 2;
  c->student.heads = 4;
  c->student.ffn_dim = 32;
  /* events at 4, 8, ..., 24: the checkpoint at step 10 falls between two of them */
  c->prune = (ds_prune_cfg){.enabled = 1, .heads = 0.5, .ffn = 0.5, .vocab = 1, .start_step = 4, .end_step = 24,
                            .every = 4, .schedule = DS_PRUNE_CUBIC, .criterion = DS_CRIT_TAYLOR};
}

typedef struct {
  ds_trainer *tr;
  char log[8192];
  char dir[600], mid[600];
  int zero_ok, copied;
} watch;

/* Zeroing the masked units of a buffer must change nothing: they are already zero. */
static int masked_are_zero(const ds_student *m, const float *buf) {
  const size_t n = m->table.n_params;
  float *copy = malloc(sizeof(float) * n);
  memcpy(copy, buf, sizeof(float) * n);
  ds_compact_zero_masked(m, copy);
  const int same = memcmp(copy, buf, sizeof(float) * n) == 0;
  free(copy);
  return same;
}

static void on_progress(void *ctx, const ds_train_progress *p) {
  watch *w = ctx;
  if (p->message) {
    strncat(w->log, p->message, sizeof w->log - strlen(w->log) - 2);
    strcat(w->log, "\n");
  }
  /* Checked at every report while the model is still masked (the last reports see it compacted). */
  if (p->step < w->tr->cfg.train.steps)
    w->zero_ok &= masked_are_zero(&w->tr->model, w->tr->model.params) &&
                  masked_are_zero(&w->tr->model, w->tr->adam_m) && masked_are_zero(&w->tr->model, w->tr->adam_v);
  /* At step 20's report last.ckpt still holds step 10: keep it as the "killed mid-run" checkpoint. */
  if (w->mid[0] && p->step == 20 && !p->message) {
    char last[700];
    snprintf(last, sizeof last, "%s/last.ckpt", w->dir);
    w->copied = copy_file(last, w->mid) == 0;
  }
}

static long summary_params(const char *dir) {
  char path[700], text[4096];
  snprintf(path, sizeof path, "%s/summary.json", dir);
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  const size_t n = fread(text, 1, sizeof text - 1, f);
  fclose(f);
  text[n] = '\0';
  const char *p = strstr(text, "\"params\":");
  return p ? atol(p + 9) : -1;
}

int main(void) {
  ds_threads_set(1); /* the runs below compare bit for bit; the caller owns thread counts */
  char dir[512], teacher[600], run_a[600], run_b[600];
  snprintf(dir, sizeof dir, "%s/tmp_prune_run_XXXXXX", DISTILL_BINARY_DIR);
  if (!mkdtemp(dir)) return 1;
  snprintf(teacher, sizeof teacher, "%s/teacher.h5", dir);
  snprintf(run_a, sizeof run_a, "%s/a", dir);
  snprintf(run_b, sizeof run_b, "%s/b", dir);
  CHECK(mkdir(run_a, 0755) == 0 && mkdir(run_b, 0755) == 0);
  write_teacher(teacher);
  ds_config cfg;
  config(&cfg, teacher);
  ds_err err = {{0}};

  /* Run A: 40 steps in one go. */
  ds_trainer a;
  watch wa = {.tr = &a, .zero_ok = 1};
  snprintf(wa.dir, sizeof wa.dir, "%s", run_a);
  snprintf(wa.mid, sizeof wa.mid, "%s/mid.ckpt", dir);
  CHECK(ds_trainer_open(&a, &cfg, &err) == 0);
  const size_t dense = a.model.table.n_params;
  CHECK_MSG(ds_trainer_run(&a, run_a, on_progress, &wa, &err) == 0, "%s", err.msg);
  printf("%s", wa.log);
  CHECK(wa.zero_ok && wa.copied);
  const ds_student *m = &a.model;
  CHECK(m->shape.heads[0] == 2 && m->shape.heads[1] == 2 && m->shape.ffn[0] == 16 && m->shape.ffn[1] == 16);
  CHECK(m->shape.vocab == 40); /* ids 0 ([PAD]), 1 ([UNK]) and the 38 used ones */
  CHECK(m->vocab_map && m->vocab_map->n_ids == V && m->vocab_map->unk_id == 1);
  CHECK(m->vocab_map->row[50] == m->vocab_map->row[1] && m->vocab_map->row[39] == 39 && m->vocab_map->row[0] == 0);
  ds_student_shape want = m->shape;
  ds_param_table t;
  ds_param_table_build(&t, &want);
  CHECK(m->table.n_params == t.n_params && m->table.n_params < dense);
  CHECK(summary_params(run_a) == (long)m->table.n_params);
  CHECK(strstr(wa.log, "structure before: heads 4,4 ffn 32,32 vocab 64") != NULL);
  CHECK(strstr(wa.log, "structure after compaction: heads 2,2 ffn 16,16 vocab 40") != NULL);
  CHECK(strstr(wa.log, "vocabulary: 40 of 64 embedding rows kept") != NULL);
  printf("dense %zu params, compact %zu; val loss %.5f cos %.4f\n", dense, m->table.n_params, a.last_val.loss,
         a.last_val.cos);

  /* last.ckpt is compact and loads as such; its outputs are the trainer's model's. */
  char path[1200];
  snprintf(path, sizeof path, "%s/last.ckpt", run_a);
  ds_ckpt_reader *r = NULL;
  char *form = NULL;
  CHECK(ds_ckpt_open(&r, path, NULL, -1, &err) == 0 && ds_ckpt_read_attr_str(r, "form", &form, &err) == 0);
  CHECK(form && strcmp(form, "compact") == 0);
  free(form);
  ds_ckpt_close(r);
  ds_loaded_model lm;
  CHECK_MSG(ds_model_load(&lm, path, &err) == 0, "%s", err.msg);
  CHECK(lm.model.table.n_params == m->table.n_params && lm.model.vocab_map);
  ds_eval_metrics ea, eb;
  CHECK(ds_evaluate(&a.model, &cfg.loss, a.teacher, NULL, 32, &ea, &err) == 0);
  CHECK(ds_evaluate(&lm.model, &cfg.loss, a.teacher, NULL, 32, &eb, &err) == 0);
  CHECK(ea.loss == eb.loss && ea.cos == eb.cos);
  ds_loaded_model_free(&lm);
  /* The mid-run checkpoint is masked. */
  r = NULL;
  CHECK(ds_ckpt_open(&r, wa.mid, NULL, -1, &err) == 0 && ds_ckpt_read_attr_str(r, "form", &form, &err) == 0);
  CHECK(form && strcmp(form, "masked") == 0 && ds_ckpt_has(r, "/prune/scores") && ds_ckpt_has(r, "/vocab_map"));
  free(form);
  ds_ckpt_close(r);

  /* Run B: resumed from step 10 (between the events at 8 and 12), it must end where A ended. */
  ds_trainer b;
  watch wb = {.tr = &b, .zero_ok = 1};
  CHECK(ds_trainer_open(&b, &cfg, &err) == 0);
  CHECK_MSG(ds_trainer_resume(&b, wa.mid, &err) == 0, "%s", err.msg);
  CHECK(b.step == 10);
  CHECK_MSG(ds_trainer_run(&b, run_b, on_progress, &wb, &err) == 0, "%s", err.msg);
  CHECK(wb.zero_ok);
  CHECK(b.model.table.n_params == a.model.table.n_params);
  CHECK(memcmp(&b.model.shape, &a.model.shape, sizeof b.model.shape) == 0);
  CHECK_MSG(memcmp(b.model.params, a.model.params, sizeof(float) * a.model.table.n_params) == 0,
            "resumed run differs from the uninterrupted one");
  CHECK(memcmp(b.adam_v, a.adam_v, sizeof(float) * a.model.table.n_params) == 0);

  /* Resuming the finished run adopts the compact shape from last.ckpt. */
  ds_trainer c;
  CHECK(ds_trainer_open(&c, &cfg, &err) == 0);
  CHECK_MSG(ds_trainer_resume(&c, path, &err) == 0, "%s", err.msg);
  CHECK(c.model.table.n_params == a.model.table.n_params && c.prune.compacted);
  CHECK(memcmp(c.model.params, a.model.params, sizeof(float) * a.model.table.n_params) == 0);
  ds_trainer_close(&c);

  /* end_step after the last step is refused before anything runs. */
  cfg.prune.end_step = 41;
  CHECK(ds_trainer_open(&c, &cfg, &err) == -1 && strstr(err.msg, "end_step") != NULL);

  ds_trainer_close(&a);
  ds_trainer_close(&b);
  fx_rmdir(run_a);
  fx_rmdir(run_b);
  fx_rmdir(dir);
  return check_report();
}
