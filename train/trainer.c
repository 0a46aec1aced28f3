/* The training loop: batch -> forward -> loss -> backward -> clip -> AdamW, with validation, best-model
 * tracking, metrics.csv rows and atomic checkpoints. */
#include "train/trainer.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "train/checkpoint_state.h"
#include "train/dist_step.h"
#include "train/hidden_distill.h"
#include "train/init_run.h"
#include "train/token_dropout.h"
#include "train/token_rows.h"
#include "train/optimizer.h"
#include "train/prune_run.h"
#include "train/qat_train.h"
#include "train/schedule.h"
#include "train/summary.h"

/* Checks that what the config asks for is something this teacher can give. */
static int check_against_teacher(const ds_config *c, const ds_teacher_info *info, const ds_student_shape *s,
                                 ds_err *err) {
  const char *src = c->source[0] ? c->source : "config";
  const int E = ds_student_emb_dim(s);
  if (info->emb_dim > 0 && c->loss.emb_weight > 0 && E != info->emb_dim)
    return ds_fail(err, "%s: [student] out_dim gives embeddings of size %d but the teacher %s has embeddings of "
                        "size %d; set out_dim = teacher or emb_weight = 0", src, E, info->path, info->emb_dim);
  const int hidden = c->loss.hidden_weight > 0 && info->hidden_dim > 0;
  if (info->n_classes == 0 && info->emb_dim > 0 && c->loss.emb_weight == 0 && c->loss.sim_weight == 0 && !hidden)
    return ds_fail(err, "%s: the teacher %s has only embeddings but emb_weight and sim_weight are both 0: nothing "
                        "to learn", src, info->path);
  if (info->emb_dim == 0 && c->loss.kd_weight == 0 && c->loss.ce_weight == 0 && !hidden)
    return ds_fail(err, "%s: the teacher %s has only logits but kd_weight and ce_weight are both 0: nothing to "
                        "learn", src, info->path);
  if (c->train.val_fraction > 0 && (long)(info->n_rows * c->train.val_fraction) < 1)
    return ds_fail(err, "%s: val_fraction = %g of %ld rows leaves no validation row", src, c->train.val_fraction,
                   info->n_rows);
  if ((long)(info->n_rows * (1.0 - c->train.val_fraction)) < 1)
    return ds_fail(err, "%s: the teacher %s has no training rows left after the validation split", src,
                   info->path);
  return 0;
}

int ds_trainer_open(ds_trainer *tr, const ds_config *cfg, ds_err *err) {
  memset(tr, 0, sizeof *tr);
  tr->dist.size = 1;
  tr->cfg = *cfg;
  tr->best_val_loss = INFINITY;
  tr->best_step = -1;
  const ds_config *c = &tr->cfg;
  if (!c->teacher.path[0]) return ds_fail(err, "no teacher file: give --teacher FILE or [teacher] path");
  if (ds_teacher_open(&tr->teacher, c->teacher.path, err)) goto fail;
  const ds_teacher_info *info = ds_teacher_get_info(tr->teacher);
  ds_student_shape shape;
  if (ds_student_shape_from_config(&shape, &c->student, info->vocab_size, info->emb_dim, info->n_classes, err)) {
    ds_fail_prefix(err, "%s", c->source[0] ? c->source : "config");
    goto fail;
  }
  if (check_against_teacher(c, info, &shape, err)) goto fail;
  if (ds_loader_init(&tr->loader, tr->teacher, c->train.val_fraction, c->train.seed, err)) goto fail;
  if (ds_student_init(&tr->model, &shape, err)) goto fail;
  if (ds_init_run(tr, err)) goto fail;
  const size_t n = tr->model.table.n_params, B = (size_t)c->train.batch_size;
  tr->adam_m = calloc(n, sizeof(float));
  tr->adam_v = calloc(n, sizeof(float));
  tr->d_logits = calloc(B * (shape.n_classes > 0 ? shape.n_classes : 1), sizeof(float));
  tr->d_emb = calloc(B * ds_student_emb_dim(&shape), sizeof(float));
  if (!tr->adam_m || !tr->adam_v || !tr->d_logits || !tr->d_emb) {
    ds_fail(err, "out of memory allocating the optimizer state for %zu parameters", n);
    goto fail;
  }
  if (ds_batch_alloc(&tr->batch, info, c->train.batch_size, shape.max_len, err)) goto fail;
  if (info->n_vocab > 0 && ds_teacher_load_vocab(tr->teacher, &tr->vocab, &tr->n_vocab, err)) goto fail;
  if (ds_token_rows_open(&tr->token_rows, tr, err) || ds_hidden_open(&tr->hidden, tr, err)) goto fail;
  if (c->prune.enabled && ds_prune_open(tr, err)) goto fail;
  if (c->quant.enabled && ds_student_qat_attach(&tr->model, &c->quant, err)) goto fail;
  return 0;
fail:
  ds_trainer_close(tr);
  return -1;
}

void ds_trainer_close(ds_trainer *tr) {
  ds_loader_free(tr->loader);
  ds_teacher_close(tr->teacher);
  ds_student_free(&tr->model);
  ds_batch_free(&tr->batch);
  ds_token_rows_free(&tr->token_rows);
  ds_hidden_free(&tr->hidden);
  free(tr->adam_m);
  free(tr->adam_v);
  free(tr->d_logits);
  free(tr->d_emb);
  ds_prune_state_free(&tr->prune);
  ds_dist_step_free(&tr->par);
  if (tr->vocab) {
    for (int i = 0; i < tr->n_vocab; i++) free(tr->vocab[i]);
    free(tr->vocab);
  }
  memset(tr, 0, sizeof *tr);
}

static void path_join(char *out, size_t n, const char *dir, const char *file) {
  snprintf(out, n, "%s/%s", dir, file);
}

/* One optimizer step on the next training batch; returns the loss (NAN on a read error). In a data-parallel
 * run (train/dist_step.h) this process computes rows [lo, hi) of the batch and the gradients are summed over
 * the processes before anything uses them. */
static double train_step(ds_trainer *tr, ds_loss_terms *terms, double *grad_norm, double *lr, ds_err *err) {
  const ds_config *c = &tr->cfg;
  ds_student *m = &tr->model;
  const ds_student_shape *s = &m->shape;
  const int B = c->train.batch_size, K = s->n_classes, E = ds_student_emb_dim(s);
  const ds_teacher_info *info = ds_teacher_get_info(tr->teacher);
  const int par = ds_dist_size(&tr->dist) > 1;
  const long lo = par ? tr->par.lo : 0, n = par ? tr->par.hi - tr->par.lo : B;
  if (ds_loader_next_train(tr->loader, B, s->max_len, &tr->batch, err)) return NAN;
  if (tr->hidden.n > 0 && ds_teacher_read_hidden_for_batch(tr->teacher, &tr->batch, err)) return NAN;
  ds_token_dropout_apply(&tr->batch, (int)n, c->train.token_dropout, c->train.seed, tr->step);
  if (m->qat) {
    /* Token rows add a second backward pass: the weights' LSQ gradients wait for both (ds_qat_weights_backward). */
    m->qat->defer_weights = 1;
    m->qat->range_reduce = par ? ds_dist_range_hook : NULL;
    m->qat->range_ctx = tr;
    ds_qat_step_begin(m->qat, tr->step); /* QAT schedule: observe, fake-quant, freeze */
  }
  if (ds_student_forward(m, tr->batch.ids, tr->batch.mask, (int)n, tr->batch.len, err)) return NAN;
  const int emb_ok = info->emb_dim == E;
  double loss, hidden_loss;
  if (par) {
    if (ds_dist_batch_loss(tr, terms, &loss, err)) return NAN;
  } else {
    loss = ds_loss_compute(&c->loss, B, K, E, m->a.logits, tr->batch.logits, tr->batch.labels, m->a.emb,
                           emb_ok ? tr->batch.emb : NULL, tr->d_logits, tr->d_emb, terms);
  }
  if (ds_hidden_batch_loss_dist(&tr->hidden, m, &tr->batch, &c->loss, &tr->dist, &hidden_loss, err)) return NAN;
  loss += hidden_loss;
  if (!isfinite(loss)) {
    ds_fail(err, "the loss became %g at step %ld; lower the learning rate (lr = %g)", loss, tr->step + 1,
            c->train.lr);
    return NAN;
  }
  ds_student_zero_grad(m);
  if (m->qat) m->qat->lsq_batch_all = par ? B : 0; /* LSQ's gradient scale counts the whole batch */
  ds_student_backward(m, tr->d_emb + (size_t)lo * E, K > 0 ? tr->d_logits + (size_t)lo * K : NULL);
  m->d_final_tokens = NULL;
  double token_loss;
  if (ds_token_rows_step(&tr->token_rows, tr, &token_loss, err)) return NAN;
  if (m->qat) ds_qat_weights_backward(m);
  if (par && ds_dist_reduce_grads(tr, err)) return NAN;
  const double t_update = ds_dist_now(); /* from here on every process repeats the same work */
  ds_prune_after_backward(tr);
  float clip_scale; /* applied inside the AdamW pass rather than in a pass of its own */
  *grad_norm = ds_grad_clip_scale(m->grads, m->table.n_params, c->train.grad_clip, &clip_scale);
  *lr = ds_lr_at(&c->train, tr->step);
  ds_adamw_params hp = ds_adamw_default_params();
  hp.lr = *lr;
  hp.weight_decay = c->train.weight_decay;
  ds_adamw_step_scaled(m->params, m->grads, tr->adam_m, tr->adam_v, m->table.n_params, &hp, tr->step + 1,
                       clip_scale);
  ds_hidden_step(&tr->hidden, &c->train, *lr, tr->step + 1);
  tr->step++;
  ds_qat_train_step_end(tr, *lr);
  tr->par.update_seconds += ds_dist_now() - t_update;
  return loss;
}

static void csv_header(FILE *f) {
  fprintf(f, "step,lr,loss,loss_kd,loss_ce,loss_emb,loss_sim,grad_norm,samples_per_sec,"
             "val_loss,val_cos,val_top1,val_kl,val_mse\n");
}

static void csv_num(FILE *f, double v) {
  if (isnan(v))
    fputs(",", f);
  else
    fprintf(f, ",%.9g", v);
}

int ds_trainer_run(ds_trainer *tr, const char *out_dir, ds_progress_fn progress, void *ctx, ds_err *err) {
  const ds_config *c = &tr->cfg;
  char path[DS_PATH_MAX + 64], last[DS_PATH_MAX + 64], best[DS_PATH_MAX + 64];
  snprintf(tr->out_dir, sizeof tr->out_dir, "%s", out_dir);
  path_join(path, sizeof path, out_dir, "metrics.csv");
  path_join(last, sizeof last, out_dir, "last.ckpt");
  path_join(best, sizeof best, out_dir, "best.ckpt");
  /* In a data-parallel run only the first process (rank 0) evaluates and writes; the others only train. */
  const int root = ds_dist_is_root(&tr->dist);
  FILE *csv = NULL;
  if (root) {
    /* A resumed run appends to its metrics; rows past the checkpoint's step may repeat after a kill. */
    csv = fopen(path, tr->step > 0 ? "a" : "w");
    if (!csv) return ds_fail(err, "%s: cannot create the metrics file: %s", path, strerror(errno));
    if (tr->step == 0) csv_header(csv);
  }
  const int B = c->train.batch_size;
  const long steps = c->train.steps;
  double t_session = ds_dist_now(), t_window = t_session, wall_base = tr->wall_seconds;
  long window_steps = 0;
  double loss_sum = 0.0, sps = 0.0;
  ds_loss_terms terms_sum = {0};
  int rc = -1;
  /* Where the student starts: with a teacher-derived init this is already the static model's quality. */
  if (root && tr->step == 0 && ds_loader_n_val(tr->loader) > 0) {
    if (ds_evaluate(&tr->model, &c->loss, tr->teacher, tr->loader, B, &tr->init_val, err)) goto done;
    if (progress) {
      ds_train_progress p = {.step = 0, .steps = steps, .is_eval = 1, .val = tr->init_val};
      progress(ctx, &p);
    }
  }
  while (tr->step < steps) {
    ds_loss_terms terms;
    double gnorm = 0.0, lr = 0.0;
    const double t_step = ds_dist_now();
    const double loss = train_step(tr, &terms, &gnorm, &lr, err);
    tr->par.step_seconds += ds_dist_now() - t_step;
    if (isnan(loss)) goto done;
    if (c->prune.enabled) { /* pruning events, masked units kept at zero, compaction after the last step */
      char note[2048];
      if (ds_prune_after_step(tr, note, sizeof note, err)) goto done;
      if (note[0] && progress) progress(ctx, &(ds_train_progress){.step = tr->step, .steps = steps, .message = note});
    }
    window_steps++;
    loss_sum += loss;
    terms_sum.kd += terms.kd;
    terms_sum.ce += terms.ce;
    terms_sum.emb += terms.emb;
    terms_sum.sim += terms.sim;
    tr->wall_seconds = wall_base + (ds_dist_now() - t_session);
    const int at_end = tr->step == steps;
    const int do_eval = (c->train.eval_every > 0 && tr->step % c->train.eval_every == 0) || at_end;
    const int do_save = (c->train.save_every > 0 && tr->step % c->train.save_every == 0) || at_end;
    const int do_log = tr->step % c->train.log_every == 0 || do_eval || do_save || tr->step == 1;
    /* Every process has the same parameters; checked where a checkpoint is written. */
    if (do_save && ds_dist_check_same(tr, err)) goto done;
    if (!do_log || !root) continue;
    const double t_now = ds_dist_now();
    sps = window_steps * (double)B / fmax(t_now - t_window, 1e-9);
    ds_train_progress p = {.step = tr->step, .steps = steps, .loss = loss_sum / window_steps, .lr = lr,
                           .samples_per_sec = sps, .grad_norm = gnorm};
    p.terms = (ds_loss_terms){.total = p.loss, .kd = terms_sum.kd / window_steps,
                              .ce = terms_sum.ce / window_steps, .emb = terms_sum.emb / window_steps,
                              .sim = terms_sum.sim / window_steps};
    p.eta_seconds = (steps - tr->step) * B / fmax(sps, 1e-9);
    p.val = (ds_eval_metrics){.loss = NAN, .cos = NAN, .top1 = NAN, .kl = NAN, .mse = NAN};
    if (do_eval && ds_loader_n_val(tr->loader) > 0) {
      if (ds_evaluate(&tr->model, &c->loss, tr->teacher, tr->loader, B, &p.val, err)) goto done;
      p.is_eval = 1;
      tr->last_val = p.val;
      if (p.val.loss < tr->best_val_loss && ds_prune_settled(&c->prune, tr->step)) {
        tr->best_val_loss = p.val.loss;
        tr->best_step = tr->step;
        p.new_best = 1;
        if (ds_trainer_save(tr, best, err)) goto done;
      }
    }
    fprintf(csv, "%ld", tr->step);
    csv_num(csv, lr);
    csv_num(csv, p.loss);
    csv_num(csv, p.terms.kd);
    csv_num(csv, p.terms.ce);
    csv_num(csv, p.terms.emb);
    csv_num(csv, p.terms.sim);
    csv_num(csv, gnorm);
    csv_num(csv, sps);
    csv_num(csv, p.val.loss);
    csv_num(csv, p.val.cos);
    csv_num(csv, p.val.top1);
    csv_num(csv, p.val.kl);
    csv_num(csv, p.val.mse);
    fputc('\n', csv);
    /* A full disk shows here first: stop with the file's name rather than train on without metrics. */
    if (fflush(csv) != 0 || ferror(csv)) {
      ds_fail(err, "%s: cannot write: %s", path, strerror(errno));
      goto done;
    }
    if (progress) progress(ctx, &p);
    if (do_save && ds_trainer_save(tr, last, err)) goto done;
    window_steps = 0;
    loss_sum = 0.0;
    terms_sum = (ds_loss_terms){0};
    t_window = ds_dist_now();
  }
  if (!root) {
    rc = 0;
    goto done;
  }
  /* Validation disabled (val_fraction 0): the last model is the best one we know of. */
  if (ds_loader_n_val(tr->loader) == 0 && ds_trainer_save(tr, best, err)) goto done;
  if (ds_qat_train_finish(tr, err)) goto done; /* int8_val_* from the integer runtime */
  path_join(path, sizeof path, out_dir, "summary.json");
  if (ds_summary_write(tr, path, err)) goto done;
  rc = 0;
done:
  if (csv) fclose(csv);
  return rc;
}
