/* Teacher-derived initialization ([student] init = teacher): a student that starts as the teacher's
 * static model (Model2Vec's recipe) instead of from noise.
 *
 * Token table: row id = w_id * P (t_id - mu), with t_id the teacher's embedding of token id on its own
 * (the file's `token_embeddings`), mu their mean and P (C, D) the top C principal axes (model/pca.h).
 * Token weights w, normalised so that their mean over the training tokens is 1:
 *   none: 1;  zipf: log(1 + id) (Model2Vec: ids of a frequency-sorted vocabulary);
 *   sif: a / (a + p_id) with a = 1e-3 and p_id the share of id among the training tokens.
 * Projection (when it maps to the teacher's D): the inverse PCA, weight P^T and bias mu. A static
 * student is then exactly the static model: emb = mean_t(row of id_t) P + mu.
 * Transformer: no position signal (pos_emb 0), every residual branch closed (attention and FFN output
 * projections 0), so the stream is the token row; the final LayerNorm's gain is the table rows' RMS so
 * that it renormalises each token vector to a common length rather than blowing it up. Everything else
 * keeps the random initialization (ds_student_init_params). */
#ifndef DS_MODEL_INIT_TEACHER_H
#define DS_MODEL_INIT_TEACHER_H

#include "model/student.h"

#define DS_SIF_A 1e-3

typedef struct {
  const float *token_emb;   /* (n_tokens, dim) */
  int n_tokens, dim;        /* n_tokens must equal the student's vocabulary */
  const double *token_freq; /* (n_tokens) share of each id among the training tokens; sums to 1 */
  ds_token_weights weights;
} ds_teacher_init;

/* Computes the weights of the table rows (n_tokens) as described above. */
void ds_token_weights_compute(ds_token_weights kind, const double *token_freq, int n_tokens, double *w);
/* Overwrites the parameters the teacher determines; call after ds_student_init_params. */
int ds_student_init_from_teacher(ds_student *m, const ds_teacher_init *ti, ds_err *err);

#endif
