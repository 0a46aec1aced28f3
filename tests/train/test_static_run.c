/* A static student (arch = static) through the trainer: QAT with learned step sizes and vocabulary pruning on
 * a teacher whose training rows use only ids 2..39 of 64. The table is compacted to 40 rows; checkpoints
 * carry arch = static and load back as a static student with the trainer's outputs; a run resumed from a
 * checkpoint taken between pruning events (and after QAT's start) ends bit-identical to the uninterrupted
 * run; a checkpoint without the arch attribute (written before arch existed) loads as a transformer. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kernels/kernels.h"
#include "../check.h"
#include "data/data.h"
#include "quant/qat/qat.h"
#include "train/checkpoint_state.h"
#include "train/trainer.h"
#include "run_fixture.h"

static void config(ds_config *c, const char *teacher) {
  run_config_base(c, teacher);
  snprintf(c->student.arch, sizeof c->student.arch, "static");
  c->student.init = DS_INIT_RANDOM;
  c->train.lr = 5e-3;
  c->quant = (ds_quant_cfg){.enabled = 1, .start_step = 6, .weight_bits = 8, .act_bits = 8, .observer = DS_OBS_EMA,
                            .ema_decay = 0.9, .freeze_step = 30, .learn_scales = 1};
  /* vocabulary only; events at 4, 8, ..., 24: the checkpoint at step 10 falls between two of them */
  c->prune = (ds_prune_cfg){.enabled = 1, .vocab = 1, .start_step = 4, .end_step = 24, .every = 4,
                            .schedule = DS_PRUNE_CUBIC, .criterion = DS_CRIT_TAYLOR};
}

typedef struct {
  char log[8192];
  char dir[600], mid[600];
  int copied;
} watch;

static void on_progress(void *ctx, const ds_train_progress *p) {
  watch *w = ctx;
  if (p->message) {
    strncat(w->log, p->message, sizeof w->log - strlen(w->log) - 2);
    strcat(w->log, "\n");
  }
  /* At step 20's report last.ckpt still holds step 10: keep it as the "killed mid-run" checkpoint. */
  if (w->mid[0] && p->step == 20 && !p->message) {
    char last[700];
    snprintf(last, sizeof last, "%s/last.ckpt", w->dir);
    w->copied = copy_file(last, w->mid) == 0;
  }
}

/* The checkpoint as an older distill wrote it: no arch attribute. */
static int drop_arch(const char *path) {
  hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
  if (f < 0) return -1;
  const herr_t rc = H5Adelete(f, "arch");
  H5Fclose(f);
  return rc < 0 ? -1 : 0;
}

int main(void) {
  ds_threads_set(1); /* the runs below compare bit for bit; the caller owns thread counts */
  char dir[512], teacher[600], run_a[600], run_b[600], run_t[600], path[1200];
  snprintf(dir, sizeof dir, "%s/tmp_static_run_XXXXXX", DISTILL_BINARY_DIR);
  if (!mkdtemp(dir)) return 1;
  snprintf(teacher, sizeof teacher, "%s/teacher.h5", dir);
  snprintf(run_a, sizeof run_a, "%s/a", dir);
  snprintf(run_b, sizeof run_b, "%s/b", dir);
  snprintf(run_t, sizeof run_t, "%s/t", dir);
  CHECK(mkdir(run_a, 0755) == 0 && mkdir(run_b, 0755) == 0 && mkdir(run_t, 0755) == 0);
  write_teacher(teacher);
  ds_config cfg;
  config(&cfg, teacher);
  ds_err err = {{0}};

  /* Run A: 40 steps in one go. */
  ds_trainer a;
  watch wa = {.copied = 0};
  snprintf(wa.dir, sizeof wa.dir, "%s", run_a);
  snprintf(wa.mid, sizeof wa.mid, "%s/mid.ckpt", dir);
  CHECK_MSG(ds_trainer_open(&a, &cfg, &err) == 0, "%s", err.msg);
  CHECK(a.model.shape.arch == DS_ARCH_STATIC && a.model.shape.n_layers == 0 && a.model.table.n_tensors == 5);
  CHECK_MSG(ds_trainer_run(&a, run_a, on_progress, &wa, &err) == 0, "%s", err.msg);
  printf("%s", wa.log);
  CHECK(wa.copied);
  const ds_student *m = &a.model;
  CHECK(m->shape.vocab == 40); /* ids 0 ([PAD]), 1 ([UNK]) and the 38 used ones */
  CHECK(m->table.n_params == (size_t)(40 * 16 + D * 16 + D + K * D + K));
  CHECK(strstr(wa.log, "structure after compaction: vocab 40: ") != NULL);
  CHECK(strstr(wa.log, "heads") == NULL);
  CHECK(m->qat && m->qat->is_static && m->qat->lsq_ready);
  printf("static: %zu params; val loss %.5f cos %.4f\n", m->table.n_params, a.last_val.loss, a.last_val.cos);

  /* last.ckpt loads back as the same static student. */
  snprintf(path, sizeof path, "%s/last.ckpt", run_a);
  ds_loaded_model lm;
  CHECK_MSG(ds_model_load(&lm, path, &err) == 0, "%s", err.msg);
  CHECK(memcmp(&lm.model.shape, &m->shape, sizeof m->shape) == 0);
  CHECK(lm.model.qat && lm.model.qat->is_static && lm.model.vocab_map);
  ds_eval_metrics ea, eb;
  CHECK(ds_evaluate(&a.model, &cfg.loss, a.teacher, NULL, 32, &ea, &err) == 0);
  CHECK(ds_evaluate(&lm.model, &cfg.loss, a.teacher, NULL, 32, &eb, &err) == 0);
  CHECK(ea.loss == eb.loss && ea.cos == eb.cos);
  ds_loaded_model_free(&lm);

  /* Run B: resumed from step 10 (between the pruning events at 8 and 12), it must end where A ended. */
  ds_trainer b;
  watch wb = {.copied = 0};
  CHECK(ds_trainer_open(&b, &cfg, &err) == 0);
  CHECK_MSG(ds_trainer_resume(&b, wa.mid, &err) == 0, "%s", err.msg);
  CHECK(b.step == 10);
  CHECK_MSG(ds_trainer_run(&b, run_b, on_progress, &wb, &err) == 0, "%s", err.msg);
  CHECK(memcmp(&b.model.shape, &a.model.shape, sizeof b.model.shape) == 0);
  CHECK_MSG(memcmp(b.model.params, a.model.params, sizeof(float) * a.model.table.n_params) == 0,
            "resumed run differs from the uninterrupted one");
  CHECK(memcmp(b.adam_v, a.adam_v, sizeof(float) * a.model.table.n_params) == 0);
  CHECK(b.model.qat->n_lsq == a.model.qat->n_lsq &&
        memcmp(b.model.qat->lsq, a.model.qat->lsq, sizeof(float) * a.model.qat->n_lsq) == 0);

  /* A transformer checkpoint without the arch attribute loads as a transformer; a static one without it does
   * not load (it has no position table), so the attribute is what makes it static. */
  ds_config tc;
  config(&tc, teacher);
  snprintf(tc.student.arch, sizeof tc.student.arch, "transformer");
  tc.student.layers = 1;
  tc.student.heads = 2;
  tc.student.ffn_dim = 16;
  tc.train.steps = 2;
  tc.prune.enabled = 0;
  tc.quant.enabled = 0;
  ds_trainer t;
  CHECK_MSG(ds_trainer_open(&t, &tc, &err) == 0, "%s", err.msg);
  CHECK_MSG(ds_trainer_run(&t, run_t, NULL, NULL, &err) == 0, "%s", err.msg);
  snprintf(path, sizeof path, "%s/last.ckpt", run_t);
  CHECK(drop_arch(path) == 0);
  CHECK_MSG(ds_model_load(&lm, path, &err) == 0, "%s", err.msg);
  CHECK(lm.model.shape.arch == DS_ARCH_TRANSFORMER && lm.model.shape.n_layers == 1 && lm.model.p.pos_emb != NULL);
  ds_loaded_model_free(&lm);
  ds_trainer_close(&t);
  snprintf(path, sizeof path, "%s/last.ckpt", run_a);
  CHECK(drop_arch(path) == 0);
  CHECK(ds_model_load(&lm, path, &err) != 0);
  printf("a static checkpoint without its arch attribute: %s\n", err.msg);

  ds_trainer_close(&a);
  ds_trainer_close(&b);
  fx_rmdir(run_a);
  fx_rmdir(run_b);
  fx_rmdir(run_t);
  fx_rmdir(dir);
  return check_report();
}
