/* Chooses and applies the student's initialization at the start of a run. */
#include "train/init_run.h"

#include <stdio.h>
#include <stdlib.h>

#include "model/model.h"

static const char *const weight_names[] = {"none", "zipf", "sif"};

int ds_init_run(ds_trainer *tr, ds_err *err) {
  const ds_config *c = &tr->cfg;
  ds_teacher *t = tr->teacher;
  const ds_teacher_info *info = ds_teacher_get_info(t);
  ds_student_init_params(&tr->model, c->train.seed);
  if (c->student.init == DS_INIT_RANDOM) {
    snprintf(tr->init_note, sizeof tr->init_note, "distill: init = random (N(0, 0.02), seed %lu)", c->train.seed);
    return 0;
  }
  if (!info->has_token_emb) {
    snprintf(tr->init_note, sizeof tr->init_note,
             "distill: init = teacher: %s has no 'token_embeddings'; using the random init", info->path);
    return 0;
  }
  float *table = NULL;
  double *freq = malloc(sizeof *freq * info->vocab_size);
  int rc = -1;
  if (!freq) {
    ds_fail(err, "out of memory for the token frequencies");
    goto done;
  }
  if (ds_teacher_token_freq(t, c->train.val_fraction, freq, err) ||
      ds_teacher_load_token_embeddings(t, &table, err))
    goto done;
  const ds_teacher_init ti = {.token_emb = table, .n_tokens = info->vocab_size, .dim = info->emb_dim,
                              .token_freq = freq, .weights = c->student.token_weights};
  if (ds_student_init_from_teacher(&tr->model, &ti, err)) goto done;
  snprintf(tr->init_note, sizeof tr->init_note,
           "distill: init = teacher: token table from a PCA of %s's token_embeddings (%d x %d -> %d), "
           "token weights %s%s",
           info->path, info->vocab_size, info->emb_dim, tr->model.shape.dim, weight_names[c->student.token_weights],
           tr->model.shape.out_dim == info->emb_dim ? ", projection = inverse PCA" : "");
  rc = 0;
done:
  free(table);
  free(freq);
  return rc;
}
