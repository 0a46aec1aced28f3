/* The distillation losses of SPEC [loss] and the evaluation metrics built from the same pieces.
 *
 * Every loss is a batch mean computed in double from float inputs and returns its value. Where a
 * gradient pointer is given it is OVERWRITTEN with the gradient wrt the student's input (pass NULL
 * for the value only). Shapes: logits (B, K), embeddings (B, D), labels (B), all row-major. */
#ifndef DS_TRAIN_LOSSES_H
#define DS_TRAIN_LOSSES_H

#include <stdint.h>

#include "model/config/config.h"
#include "train/train.h" /* ds_loss_terms */

/* The combined loss: kd_weight*kd + ce_weight*ce + emb_weight*emb + sim_weight*sim. Any of
 * t_logits, labels, t_emb may be NULL (the teacher lacks it): that term is 0 and its weight
 * ignored. Writes d_logits (B, K) if K > 0 and d_emb (B, D) if D > 0, zero-filling what no term
 * touches. terms may be NULL. Terms with weight 0 are still computed and reported, except sim
 * (O(B^2 D)), which is 0 then. Returns NAN only if sim cannot get its O(B + D) scratch. */
double ds_loss_compute(const ds_loss_cfg *cfg, int B, int K, int D, const float *s_logits,
                       const float *t_logits, const int32_t *labels, const float *s_emb,
                       const float *t_emb, float *d_logits, float *d_emb, ds_loss_terms *terms);

/* T^2 * mean_b KL(softmax(t/T) || softmax(s/T)). */
double ds_loss_kd(int B, int K, const float *s, const float *t, double T, float *ds_out);
/* mean_b -log softmax(s)[y_b] over rows with 0 <= y_b < K; other rows are ignored (all -> 0). */
double ds_loss_ce(int B, int K, const float *s, const int32_t *labels, float *ds_out);
/* mean_b (1 - cos(e_b, te_b)), each norm clamped below at DS_LOSS_NORM_EPS. */
double ds_loss_emb_cosine(int B, int D, const float *e, const float *te, float *de_out);
/* mean over all B*D elements of (e - te)^2. */
double ds_loss_emb_mse(int B, int D, const float *e, const float *te, float *de_out);
/* mean_i KL(softmax(St[i,:]/tau) || softmax(Ss[i,:]/tau)) over j != i, where Ss and St are the
 * in-batch cosine-similarity matrices of e and te. 0 for B < 2. NAN if its O(B + D) scratch
 * cannot be allocated. */
double ds_loss_sim(int B, int D, const float *e, const float *te, double tau, float *de_out);

#define DS_LOSS_NORM_EPS 1e-8

/* Evaluation metrics, batch means without gradients. */
double ds_metric_cosine(int B, int D, const float *e, const float *te);   /* mean cos(e_b, te_b) */
double ds_metric_top1(int B, int K, const float *s, const float *t);      /* argmax agreement */
double ds_metric_kl(int B, int K, const float *s, const float *t);        /* KL(p_t||p_s), T = 1 */
double ds_metric_mse(int B, int D, const float *e, const float *te);      /* as ds_loss_emb_mse */

#endif
