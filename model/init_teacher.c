/* Teacher-derived initialization: the recipe is in model/model.h. */
#include "model/model.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/pca.h"

void ds_token_weights_compute(ds_token_weights kind, const double *token_freq, int n_tokens, double *w) {
  for (int id = 0; id < n_tokens; id++) {
    switch (kind) {
      case DS_TOKW_ZIPF: w[id] = log1p((double)id); break;
      case DS_TOKW_SIF: w[id] = DS_SIF_A / (DS_SIF_A + token_freq[id]); break;
      default: w[id] = 1.0;
    }
  }
  double mean = 0.0;
  for (int id = 0; id < n_tokens; id++) mean += token_freq[id] * w[id];
  if (mean > 0.0)
    for (int id = 0; id < n_tokens; id++) w[id] /= mean;
}

/* rows (V, C) = w_id * axes (t_id - mu); returns the training tokens' mean squared row length. */
static double fill_token_table(float *rows, const ds_teacher_init *ti, const float *axes, const double *mean,
                               const double *w, int C) {
  const int D = ti->dim;
  double *centred = malloc(sizeof *centred * D);
  double sq = 0.0;
  for (int id = 0; id < ti->n_tokens; id++) {
    for (int j = 0; j < D; j++) centred[j] = (double)ti->token_emb[(size_t)id * D + j] - mean[j];
    double row_sq = 0.0;
    for (int c = 0; c < C; c++) {
      double acc = 0.0;
      for (int j = 0; j < D; j++) acc += (double)axes[(size_t)c * D + j] * centred[j];
      rows[(size_t)id * C + c] = (float)(w[id] * acc);
      row_sq += (w[id] * acc) * (w[id] * acc);
    }
    sq += ti->token_freq[id] * row_sq;
  }
  free(centred);
  return sq;
}

/* The transformer starts as the static model: no positions, closed residual branches, and a final
 * LayerNorm whose gain restores the rows' typical length. */
static void close_encoder(ds_student *m, double mean_sq_row) {
  const ds_student_shape *s = &m->shape;
  const int C = s->dim;
  memset(m->p.pos_emb, 0, sizeof(float) * (size_t)s->max_len * C);
  for (int l = 0; l < s->n_layers; l++) {
    const ds_layer_params *L = &m->p.layer[l];
    const int HD = s->heads[l] * s->head_dim;
    memset(L->attn_out_w, 0, sizeof(float) * (size_t)C * HD);
    memset(L->attn_out_b, 0, sizeof(float) * C);
    memset(L->fc2_w, 0, sizeof(float) * (size_t)C * s->ffn[l]);
    memset(L->fc2_b, 0, sizeof(float) * C);
  }
  const float gain = (float)sqrt(mean_sq_row / C);
  for (int c = 0; c < C; c++) {
    m->p.lnf_w[c] = gain > 0.0f ? gain : 1.0f;
    m->p.lnf_b[c] = 0.0f;
  }
}

int ds_student_init_from_teacher(ds_student *m, const ds_teacher_init *ti, ds_err *err) {
  const ds_student_shape *s = &m->shape;
  const int C = s->dim, D = ti->dim;
  if (ti->n_tokens != s->vocab)
    return ds_fail(err, "init = teacher: the token table has %d rows but the student's vocabulary is %d",
                   ti->n_tokens, s->vocab);
  float *axes = malloc(sizeof *axes * (size_t)C * D);
  double *mean = malloc(sizeof *mean * D), *w = malloc(sizeof *w * ti->n_tokens);
  int rc = 0;
  if (!axes || !mean || !w) {
    rc = ds_fail(err, "init = teacher: out of memory");
    goto done;
  }
  if ((rc = ds_pca(ti->token_emb, ti->n_tokens, D, C, mean, axes, NULL, err))) goto done;
  ds_token_weights_compute(ti->weights, ti->token_freq, ti->n_tokens, w);
  const double mean_sq_row = fill_token_table(m->p.tok_emb, ti, axes, mean, w, C);
  if (s->arch != DS_ARCH_STATIC) close_encoder(m, mean_sq_row);
  if (s->out_dim == D) { /* the inverse PCA: back to the teacher's space */
    for (int j = 0; j < D; j++) {
      for (int c = 0; c < C; c++) m->p.proj_w[(size_t)j * C + c] = axes[(size_t)c * D + j];
      m->p.proj_b[j] = (float)mean[j];
    }
  }
done:
  free(axes);
  free(mean);
  free(w);
  return rc;
}
