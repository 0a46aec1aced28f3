#include "common/common.h"
#include "train/summary.h"

#include <math.h>
#include <stdio.h>

void ds_json_string(FILE *f, const char *s) {
  fputc('"', f);
  for (; *s; s++) {
    const unsigned char ch = (unsigned char)*s;
    if (ch == '"' || ch == '\\')
      fprintf(f, "\\%c", ch);
    else if (ch < 0x20)
      fprintf(f, "\\u%04x", ch);
    else
      fputc(ch, f);
  }
  fputc('"', f);
}

static void json_metric(FILE *f, const char *key, double v) {
  if (isfinite(v)) fprintf(f, ",\n  \"%s\": %.9g", key, v);
}

int ds_summary_write(const ds_trainer *tr, const char *path, ds_err *err) {
  ds_atomic_file a;
  if (ds_atomic_open(&a, path, "w", err)) return ds_fail_prefix(err, "run summary");
  FILE *f = a.f;
  const ds_teacher_info *info = ds_teacher_get_info(tr->teacher);
  const double samples = (double)tr->step * tr->cfg.train.batch_size;
  fprintf(f, "{\n  \"params\": %zu", ds_student_live_params(&tr->model));
  fprintf(f, ",\n  \"steps\": %ld", tr->step);
  fprintf(f, ",\n  \"wall_seconds\": %.3f", tr->wall_seconds);
  fprintf(f, ",\n  \"samples_per_sec\": %.1f", samples / fmax(tr->wall_seconds, 1e-9));
  const ds_eval_metrics *v = &tr->last_val;
  json_metric(f, "val_loss", v->n > 0 ? v->loss : NAN);
  json_metric(f, "val_cos", v->n > 0 ? v->cos : NAN);
  json_metric(f, "val_top1", v->n > 0 ? v->top1 : NAN);
  json_metric(f, "val_kl", v->n > 0 ? v->kl : NAN);
  json_metric(f, "val_mse", v->n > 0 ? v->mse : NAN);
  json_metric(f, "val_label_acc", v->n > 0 ? v->label_acc : NAN);
  json_metric(f, "val_knn10", v->n > 0 ? v->knn10 : NAN);
  /* Step 0, before any update: where the initialization put the student. */
  const ds_eval_metrics *i0 = &tr->init_val;
  json_metric(f, "init_val_cos", i0->n > 0 ? i0->cos : NAN);
  json_metric(f, "init_val_knn10", i0->n > 0 ? i0->knn10 : NAN);
  json_metric(f, "init_val_loss", i0->n > 0 ? i0->loss : NAN);
  /* [quant]: the same metrics of the integer-only int8 model (train/qat_train.h). */
  const ds_eval_metrics *q = &tr->int8_val;
  json_metric(f, "int8_val_loss", q->n > 0 ? q->loss : NAN);
  json_metric(f, "int8_val_cos", q->n > 0 ? q->cos : NAN);
  json_metric(f, "int8_val_top1", q->n > 0 ? q->top1 : NAN);
  json_metric(f, "int8_val_kl", q->n > 0 ? q->kl : NAN);
  json_metric(f, "int8_val_label_acc", q->n > 0 ? q->label_acc : NAN);
  json_metric(f, "int8_val_knn10", q->n > 0 ? q->knn10 : NAN);
  if (tr->best_step >= 0) {
    fprintf(f, ",\n  \"best_step\": %ld", tr->best_step);
    json_metric(f, "best_val_loss", tr->best_val_loss);
  }
  fprintf(f, ",\n  \"n_train\": %ld,\n  \"n_val\": %ld", ds_loader_n_train(tr->loader), ds_loader_n_val(tr->loader));
  if (tr->dist.initialized) { /* started by an MPI launcher (docs/mpi.md); this session's steps */
    const ds_dist_state *p = &tr->par;
    fprintf(f, ",\n  \"processes\": %d", ds_dist_size(&tr->dist));
    json_metric(f, "comm_fraction", p->step_seconds > 0 ? p->comm_seconds / p->step_seconds : NAN);
    json_metric(f, "update_fraction", p->step_seconds > 0 ? p->update_seconds / p->step_seconds : NAN);
    fprintf(f, ",\n  \"allreduce_floats\": %zu", p->reduce_floats);
  }
  fprintf(f, ",\n  \"teacher\": ");
  ds_json_string(f, info->name[0] ? info->name : info->path);
  fprintf(f, "\n}\n");
  return ds_atomic_commit(&a, err) ? ds_fail_prefix(err, "run summary") : 0;
}
