#include "cli/progress.h"

#include <math.h>
#include <stdio.h>
#include <unistd.h>

static void format_duration(char *out, size_t n, double s) {
  if (!isfinite(s) || s < 0) s = 0;
  const long t = (long)(s + 0.5);
  if (t >= 3600)
    snprintf(out, n, "%ldh%02ldm", t / 3600, (t % 3600) / 60);
  else
    snprintf(out, n, "%ldm%02lds", t / 60, t % 60);
}

void cli_progress_init(cli_progress *p, const ds_trainer_view *run, const char *dir, int quiet) {
  p->tty = isatty(fileno(stderr));
  p->quiet = quiet;
  p->line_open = 0;
  const long steps = run->cfg->train.steps;
  p->plain_every = steps >= 20 ? steps / 20 : 1;
  if (quiet) return;
  const ds_teacher_info *info = run->teacher;
  const ds_student_shape *s = &run->model->shape;
  fprintf(stderr, "distill: teacher %s (%s): %ld rows x %d tokens, %d classes, embeddings %d\n", info->path,
          info->name[0] ? info->name : "unnamed", info->n_rows, info->seq_len, info->n_classes, info->emb_dim);
  if (s->arch == DS_ARCH_STATIC)
    fprintf(stderr, "distill: static student (token table, mean, projection) dim %d, embedding %d: %zu parameters\n",
            s->dim, ds_student_emb_dim(s), run->model->table.n_params);
  else
    fprintf(stderr, "distill: student dim %d, %d layers, %d heads, ffn %d, embedding %d: %zu parameters\n", s->dim,
            s->n_layers, s->heads[0], s->ffn[0], ds_student_emb_dim(s), run->model->table.n_params);
  fprintf(stderr, "distill: %ld train / %ld validation rows; %ld steps of %d; run folder %s\n",
          run->n_train, run->n_val, steps, run->cfg->train.batch_size, dir);
  if (run->step > 0)
    fprintf(stderr, "distill: resumed at step %ld\n", run->step);
  else if (run->init_note[0])
    fprintf(stderr, "%s\n", run->init_note);
}

void cli_progress_report(void *ctx, const ds_train_progress *p) {
  cli_progress *pr = ctx;
  if (pr->quiet) return;
  if (p->message) { /* a line for the run log: pruning events and the structure before/after compaction */
    if (pr->line_open) fputc('\n', stderr);
    pr->line_open = 0;
    fprintf(stderr, "%s\n", p->message);
    fflush(stderr);
    return;
  }
  char eta[32];
  format_duration(eta, sizeof eta, p->eta_seconds);
  if (p->step == 0) {
    /* only the validation of the initial model */
  } else if (pr->tty) {
    fprintf(stderr, "\r\033[Kstep %ld/%ld  loss %.4f  lr %.2e  %.0f samples/s  ETA %s", p->step, p->steps, p->loss,
            p->lr, p->samples_per_sec, eta);
    pr->line_open = 1;
  } else if (p->is_eval || p->step % pr->plain_every == 0 || p->step == 1) {
    fprintf(stderr, "step %ld/%ld loss %.4f lr %.3e samples/s %.0f eta %s\n", p->step, p->steps, p->loss, p->lr,
            p->samples_per_sec, eta);
  }
  if (p->is_eval) {
    if (pr->line_open) fputc('\n', stderr);
    pr->line_open = 0;
    fprintf(stderr, "  validation at step %ld: loss %.4f", p->step, p->val.loss);
    if (isfinite(p->val.cos)) fprintf(stderr, "  cos %.4f", p->val.cos);
    if (isfinite(p->val.knn10)) fprintf(stderr, "  knn10 %.4f", p->val.knn10);
    if (isfinite(p->val.top1)) fprintf(stderr, "  top1 %.4f  kl %.4f", p->val.top1, p->val.kl);
    fprintf(stderr, "%s\n", p->new_best ? "  (best so far)" : "");
  }
  fflush(stderr);
}

void cli_progress_finish(cli_progress *p) {
  if (p->line_open) fputc('\n', stderr);
  p->line_open = 0;
}

void cli_print_summary(const ds_trainer_view *run, const char *dir) {
  const ds_eval_metrics *v = &run->last_val;
  char wall[32];
  format_duration(wall, sizeof wall, run->wall_seconds);
  fprintf(stderr, "\ndistill: done: %ld steps in %s (%.0f samples/s), %zu parameters\n", run->step, wall,
          run->step * (double)run->cfg->train.batch_size / (run->wall_seconds > 0 ? run->wall_seconds : 1),
          ds_student_live_params(run->model));
  if (v->n > 0) {
    fprintf(stderr, "distill: validation (%ld rows): loss %.4f", v->n, v->loss);
    if (isfinite(v->cos)) fprintf(stderr, ", cosine to teacher %.4f", v->cos);
    if (isfinite(v->top1)) fprintf(stderr, ", top-1 agreement %.2f%%, KL %.4f", 100 * v->top1, v->kl);
    fputc('\n', stderr);
  }
  fprintf(stderr, "distill: best step %ld; wrote %s/{config.cfg,metrics.csv,summary.json,last.ckpt,best.ckpt}\n",
          run->best_step, dir);
}
