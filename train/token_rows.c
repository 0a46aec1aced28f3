/* Teacher token rows: see train/token_rows.h. */
#include "train/token_rows.h"

#include <gsl/gsl_rng.h>
#include <stdlib.h>
#include <string.h>

#include "quant/qat/qat.h"
#include "train/losses.h"

#define TOKEN_ROW_LEN 3

static int vocab_find(char **vocab, int n, const char *word) {
  for (int i = 0; i < n; i++)
    if (vocab[i] && strcmp(vocab[i], word) == 0) return i;
  return -1;
}

int ds_token_rows_open(ds_token_rows *r, ds_trainer *tr, ds_err *err) {
  memset(r, 0, sizeof *r);
  const ds_teacher_info *info = ds_teacher_get_info(tr->teacher);
  const int n = tr->cfg.train.token_rows, D = info->emb_dim;
  if (n <= 0) return 0;
  if (!info->has_token_emb)
    return ds_fail(err, "[train] token_rows = %d needs the dataset 'token_embeddings', which %s does not have", n,
                   info->path);
  r->cls = vocab_find(tr->vocab, tr->n_vocab, "[CLS]");
  r->sep = vocab_find(tr->vocab, tr->n_vocab, "[SEP]");
  if (r->cls < 0 || r->sep < 0)
    return ds_fail(err, "[train] token_rows = %d needs '[CLS]' and '[SEP]' in the 'vocab' of %s", n, info->path);
  if (tr->model.shape.max_len < TOKEN_ROW_LEN)
    return ds_fail(err, "[train] token_rows needs [student] max_len >= %d ([CLS] token [SEP]); it is %d",
                   TOKEN_ROW_LEN, tr->model.shape.max_len);
  /* Bracketed entries ([PAD], [MASK], [unused7], ...) are special or unused: no meaning to learn. */
  r->eligible = malloc(sizeof *r->eligible * info->vocab_size);
  if (!r->eligible) return ds_fail(err, "out of memory for %d token ids", info->vocab_size);
  for (int id = 0; id < info->vocab_size && id < tr->n_vocab; id++) {
    const char *w = tr->vocab[id];
    const size_t len = w ? strlen(w) : 0;
    if (len > 0 && !(len > 2 && w[0] == '[' && w[len - 1] == ']')) r->eligible[r->n_eligible++] = id;
  }
  if (r->n_eligible == 0) {
    ds_token_rows_free(r);
    return ds_fail(err, "%s: the 'vocab' has no ordinary token to train on", info->path);
  }
  r->n = n;
  r->ids = calloc((size_t)n * TOKEN_ROW_LEN, sizeof *r->ids);
  r->mask = malloc((size_t)n * TOKEN_ROW_LEN);
  r->target = malloc(sizeof *r->target * (size_t)n * D);
  r->d_emb = malloc(sizeof *r->d_emb * (size_t)n * D);
  if (!r->ids || !r->mask || !r->target || !r->d_emb) {
    ds_token_rows_free(r);
    return ds_fail(err, "out of memory for %d token rows", n);
  }
  memset(r->mask, 1, (size_t)n * TOKEN_ROW_LEN);
  if (ds_teacher_load_token_embeddings(tr->teacher, &r->table, err)) {
    ds_token_rows_free(r);
    return -1;
  }
  return 0;
}

int ds_token_rows_step(ds_token_rows *r, ds_trainer *tr, double *loss, ds_err *err) {
  *loss = 0.0;
  if (r->n <= 0) return 0;
  ds_student *m = &tr->model;
  const int D = ds_teacher_get_info(tr->teacher)->emb_dim, E = ds_student_emb_dim(&m->shape);
  gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
  if (!rng) return ds_fail(err, "out of memory for the token-row generator");
  gsl_rng_set(rng, tr->cfg.train.seed * 1000003UL + (unsigned long)tr->step);
  for (int i = 0; i < r->n; i++) {
    const int id = r->eligible[gsl_rng_uniform_int(rng, (unsigned long)r->n_eligible)];
    r->ids[i * TOKEN_ROW_LEN] = r->cls;
    r->ids[i * TOKEN_ROW_LEN + 1] = id;
    r->ids[i * TOKEN_ROW_LEN + 2] = r->sep;
    memcpy(r->target + (size_t)i * D, r->table + (size_t)id * D, sizeof(float) * D);
  }
  gsl_rng_free(rng);
  /* The embedding loss alone: these rows have no logits or labels, and in-batch similarity between
   * random tokens says nothing about sentences. */
  ds_loss_cfg only_emb = tr->cfg.loss;
  only_emb.kd_weight = only_emb.ce_weight = only_emb.sim_weight = 0.0;
  if (ds_dist_size(&tr->dist) <= 1) {
    if (ds_student_forward(m, r->ids, r->mask, r->n, TOKEN_ROW_LEN, err)) return -1;
    *loss = ds_loss_compute(&only_emb, r->n, 0, E, NULL, NULL, NULL, m->a.emb, E == D ? r->target : NULL, NULL,
                            r->d_emb, NULL);
    ds_student_backward(m, r->d_emb, NULL);
    return 0;
  }
  /* Data-parallel (train/dist_step.h): every process draws the same rows and runs its share of them; the loss
   * is computed on all of them, gathered, as one process would. */
  const long lo = tr->par.tok_lo, k = tr->par.tok_hi - tr->par.tok_lo;
  if (k > 0 && ds_student_forward(m, r->ids + lo * TOKEN_ROW_LEN, r->mask + lo * TOKEN_ROW_LEN, (int)k,
                                  TOKEN_ROW_LEN, err))
    return -1;
  if (ds_dist_gather_shares(&tr->dist, m->a.emb, tr->par.tok_emb, r->n, sizeof(float) * E, err)) return -1;
  *loss = ds_loss_compute(&only_emb, r->n, 0, E, NULL, NULL, NULL, tr->par.tok_emb, E == D ? r->target : NULL,
                          NULL, r->d_emb, NULL);
  if (m->qat) m->qat->lsq_batch_all = r->n;
  if (k > 0) ds_student_backward(m, r->d_emb + lo * E, NULL);
  return 0;
}

void ds_token_rows_free(ds_token_rows *r) {
  free(r->ids);
  free(r->mask);
  free(r->target);
  free(r->d_emb);
  free(r->table);
  free(r->eligible);
  memset(r, 0, sizeof *r);
}
