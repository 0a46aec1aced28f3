/* The QAT passes over a whole student (model/qat.h describes the scheme). ds_student_forward and
 * ds_student_backward dispatch here when the student carries a QAT state; the int8 model is built
 * from the same state. */
#ifndef DS_MODEL_QAT_MODEL_H
#define DS_MODEL_QAT_MODEL_H

#include "quant/int8/int8_model.h"
#include "model/qat.h"
#include "model/student.h"

/* Gives m a QAT state for its shape (replacing any). */
int ds_student_qat_attach(ds_student *m, const ds_quant_cfg *cfg, ds_err *err);

/* The fake-quant forward on m->ids/mask/B/T (set, checked and mapped by ds_student_forward), with
 * activations sized. Results in m->a as for the float forward. */
int ds_qat_forward(ds_student *m, ds_err *err);
/* Straight-through backward of the last fake-quant forward; accumulates into m->grads and, with
 * learned step sizes, into m->qat->lsq_grad. */
void ds_qat_backward(ds_student *m, const float *d_emb, const float *d_logits);
/* With m->qat->defer_weights: the weights' LSQ gradients and STE masks for everything m->grads holds, once per
 * optimizer step after its last backward pass, over the token rows read since ds_qat_step_begin (a no-op
 * unless the passes ran fake-quant with learned scales). */
void ds_qat_weights_backward(ds_student *m);
/* Feeds the observers the float activations of the last (float) forward. */
void ds_qat_observe(ds_student *m);

/* The int8 model of m as its QAT state quantizes it now: pruned heads and neurons cut out, every
 * scale the one the fake-quant forward would use. vocab (n_vocab strings) is copied when non-NULL. */
int ds_qat_build_int8(const ds_student *m, char *const *vocab, int n_vocab, int pad_id, ds_i8_model *out,
                      ds_err *err);

#endif
