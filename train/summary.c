#include "common/common.h"
#include "train/summary.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

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

/* "PREFIX_NAME": value for each of the names (NULL-terminated), in their order, when m has rows and the value is
 * finite (NAN: the teacher lacks that target). */
static void json_metrics(FILE *f, const char *prefix, const ds_eval_metrics *m, const char *const *names) {
  static const struct {
    const char *name;
    size_t offset;
  } fields[] = {{"loss", offsetof(ds_eval_metrics, loss)}, {"cos", offsetof(ds_eval_metrics, cos)},
                {"top1", offsetof(ds_eval_metrics, top1)}, {"kl", offsetof(ds_eval_metrics, kl)},
                {"mse", offsetof(ds_eval_metrics, mse)}, {"label_acc", offsetof(ds_eval_metrics, label_acc)},
                {"knn10", offsetof(ds_eval_metrics, knn10)}};
  if (m->n <= 0) return;
  for (; *names; names++)
    for (size_t k = 0; k < sizeof fields / sizeof *fields; k++)
      if (strcmp(fields[k].name, *names) == 0) {
        char key[64];
        snprintf(key, sizeof key, "%s_%s", prefix, *names);
        json_metric(f, key, *(const double *)((const char *)m + fields[k].offset));
      }
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
  json_metrics(f, "val", &tr->last_val,
               (const char *[]){"loss", "cos", "top1", "kl", "mse", "label_acc", "knn10", NULL});
  /* Step 0, before any update: where the initialization put the student. */
  json_metrics(f, "init_val", &tr->init_val, (const char *[]){"cos", "knn10", "loss", NULL});
  /* [quant]: the same metrics of the integer-only int8 model (train/qat_train.h). */
  json_metrics(f, "int8_val", &tr->int8_val,
               (const char *[]){"loss", "cos", "top1", "kl", "label_acc", "knn10", NULL});
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
