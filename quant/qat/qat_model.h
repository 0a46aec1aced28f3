/* quant/qat/: quantization-aware training: the fake-quant simulation, the graph it shares with the int8 builder. */
/* The QAT passes over a whole student (quant/qat/qat.h describes the scheme). ds_student_qat_attach gives a
 * student a QAT state and the hooks (model/qat_hooks.h) through which ds_student_forward and
 * ds_student_backward run these passes; the int8 model is built from the same state. */
#ifndef DS_QUANT_QAT_QAT_MODEL_H
#define DS_QUANT_QAT_QAT_MODEL_H

#include "quant/int8/int8_model.h"
#include "quant/qat/qat.h"
#include "model/student.h"

/* Gives m a QAT state for its shape (replacing any). */
int ds_student_qat_attach(ds_student *m, const ds_quant_cfg *cfg, ds_err *err);

/* The fake-quant forward on m->ids/mask/B/T (set, checked and mapped by ds_student_forward), with
 * activations sized. Results in m->a as for the float forward. */
int ds_qat_forward(ds_student *m, ds_err *err);
/* The hooks of ds_student_backward, the one backward pass of both forwards, which calls them only after a
 * fake-quant forward: they make it that forward's straight-through backward.
 * ds_qat_ste: the estimator at site `site` on the gradient wrt its dequantized output, rows x width at columns
 * [col0, col0 + width) of rows of stride ld: adds the LSQ gradient of the site's step size (learned scales)
 * and zeroes what fell outside the clamp range. */
void ds_qat_ste(ds_student *m, int site, float *grad, long rows, int width, int ld, int col0);
/* The same on a copy of n values of grad, in dst or, when dst is NULL, in QAT scratch valid until the next
 * call; returns the copy. For a gradient that reaches two sites (a residual branch). */
const float *ds_qat_ste_copy(ds_student *m, int site, const float *grad, float *dst, long n);
/* The weights the linear layers' backward multiplies by: the dequantized codes of the last forward. */
const ds_params *ds_qat_backward_weights(const ds_student *m);
/* Closes a backward pass: the weights' LSQ gradients and STE masks, unless m->qat->defer_weights. */
void ds_qat_backward_end(ds_student *m);
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
