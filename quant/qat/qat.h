/* quant/qat/: quantization-aware training: the fake-quant simulation, the graph it shares with the int8 builder. */
#ifndef DS_QUANT_QAT_H
#define DS_QUANT_QAT_H

#include <stddef.h>
#include <stdint.h>

#include "model/config/config.h"
#include "quant/int8/int8.h"
#include "model/model.h"

/* ==== fake quantization, observers, learned step sizes ================================================== */
/* The float side of quantization-aware training: fake quantization with a straight-through
 * estimator (STE), range observers, and LSQ learned step sizes (Esser et al. 2020).
 *
 * Fake quantization replaces x by dequantize(quantize(x)) = (clamp(c, qmin, qmax) - zp) * scale
 * with c = roundf(x / scale) + zp (qparams.h), bit for bit what the int8 runtime stores. The STE
 * treats round() as the identity, so dy/dx = 1 where qmin <= c <= qmax and 0 where the value
 * was clamped; forward records that as a byte mask (1 = gradient passes) for backward.
 *
 * Forward functions work in place (x becomes its fake-quantized value) and write the mask when
 * it is non-NULL; backward functions accumulate into gradients, as every backward in kernels/. */
/* Per-tensor (activations): x (n), mask (n) or NULL. */
void ds_fake_quant_tensor(float *x, size_t n, const ds_qparams *qp, uint8_t *mask);

/* Per-row symmetric (weights): w (rows, cols), scales (rows), mask (rows*cols) or NULL.
 * Fails (-1) for bits outside 2..8 or a non-positive scale. */
int ds_fake_quant_rows(float *w, int rows, int cols, const float *scales, int bits, uint8_t *mask);

/* STE: grad_x[i] += mask[i] ? grad_y[i] : 0. grad_x and grad_y must not alias; for a gradient
 * updated in place use ds_fake_quant_mask_apply. */
void ds_fake_quant_backward(float *grad_x, const float *grad_y, const uint8_t *mask, size_t n);

/* In place: grad[i] = 0 where mask[i] == 0. */
void ds_fake_quant_mask_apply(float *grad, const uint8_t *mask, size_t n);

/* ---- observers: the activation range that ds_qparams_asymmetric turns into parameters ---- */

typedef struct {
  ds_observer kind; /* the [quant] observer key's own type (model/config/config.h) */
  float decay;     /* ema: new = decay * old + (1 - decay) * batch */
  float min, max;  /* the current range; meaningless until `seen` */
  int seen;        /* batches observed; the first one initialises min/max in both modes */
  int frozen;      /* set by the caller: updates are ignored, the range stays fixed */
} ds_qobserver;

/* Fails for an unknown kind or, for ema, a decay outside [0, 1). */
int ds_qobserver_init(ds_qobserver *o, ds_observer kind, float decay);
/* Folds one batch in. Non-finite values are skipped (a NaN must not poison the range); a batch
 * with no finite value changes nothing. No-op when frozen. */
void ds_qobserver_update(ds_qobserver *o, const float *x, size_t n);
/* Asymmetric parameters of the current range; before any batch, those of [0, 0]. */
int ds_qobserver_qparams(const ds_qobserver *o, int bits, ds_qparams *qp);

/* ---- LSQ: the scale is a trained parameter ---- */

/* Forward is ds_fake_quant_tensor / ds_fake_quant_rows with the learned scale. The STE gradient
 * of y = (clamp(c) - zp) * s with respect to s is
 *     round(x/s) - x/s     where qmin <= c <= qmax,
 *     qmin - zp  or  qmax - zp   where clamped below / above,
 * and LSQ multiplies it by g = 1 / sqrt(n * Q_P) so the scale learns at the pace of the weights.
 * Q_P is the number of positive levels: qmax for a symmetric grid (qmin == -qmax), and
 * qmax - qmin for an asymmetric one (LSQ's unsigned grid, shifted by the zero point). */
float ds_lsq_grad_scale(size_t n, int32_t q_p);

/* grad_scale += g * sum_i grad_y[i] * dy_i/ds, with x (n) the input before fake quantization
 * and g from ds_lsq_grad_scale(n, Q_P). The gradient to x is the STE mask (ds_fake_quant_backward). */
void ds_lsq_backward(const float *x, const float *grad_y, size_t n, const ds_qparams *qp,
                     float *grad_scale);
/* The same with g from ds_lsq_grad_scale(n_all, Q_P): x holds n of the n_all values the tensor has (a
 * data-parallel process's share of a batch), so that the shares' gradients add up to the whole one's. */
void ds_lsq_backward_share(const float *x, const float *grad_y, size_t n, size_t n_all, const ds_qparams *qp,
                           float *grad_scale);

/* Per-row version for weights (rows, cols): grad_scales[r] += the row's LSQ gradient, with
 * n = cols (elements sharing the scale) in the gradient scale. */
int ds_lsq_rows_backward(const float *w, const float *grad_w, int rows, int cols,
                         const float *scales, int bits, float *grad_scales);

/* ==== the QAT state ===================================================================================== */
/* Quantization-aware training of the student: the fake-quant forward pass that computes the integer
 * model's arithmetic itself, its straight-through backward, range observers and LSQ step sizes.
 *
 * Every tensor the int8 model stores (quant/int8/int8.h) is a "site" here, with the same name. In
 * fake-quant mode the forward pass keeps each site as int8 codes, computes the next site from those
 * codes with the integer runtime's own kernels and requantization (ds_i8_*, ds_quant_multiply), and
 * hands the float graph the dequantized codes. Linear layers run their int8 x int8 products through
 * sgemm on integer-valued floats: every product is at most 128 * 127 = 16256 in magnitude, so any
 * partial sum over at most 1024 products stays below 2^24 and is exact in float32 in any summation
 * order; longer rows are split into chunks of 1024 summed in double. The int32 accumulators are
 * therefore exactly those of the integer kernel, and the integer runtime reproduces the simulation
 * bit for bit. Backward treats each quantization as the identity inside its clamp range and as
 * zero outside it (straight-through estimator), through the float graph's own backward kernels.
 *
 * Schedule ([quant] config): before start_step the float model trains and observers (ema or minmax)
 * record each site's range on training forwards; from start_step the forward is fake-quant and,
 * unless ranges are frozen (freeze_step) or learned (learn_scales), observers keep updating on the
 * values each site sees before it is quantized. With learn_scales, the first fake-quant training
 * forward initialises every activation step size from its observer and every weight row's from
 * max|w| / qmax; from then on they are parameters (log step sizes, so Adam's steps are relative)
 * trained by the LSQ gradient; activation zero points stay as initialised. Evaluation forwards
 * never change any quantization state. */
/* The sites' numbering (DS_QS_*, DS_QL_*, DS_QF_*) is the student's: model/model.h. */

typedef enum {
  DS_QAT_FLOAT = 0,   /* plain float forward, nothing observed */
  DS_QAT_OBSERVE = 1, /* float forward; training forwards feed the observers */
  DS_QAT_FAKE = 2     /* the fake-quant (integer-exact) forward */
} ds_qat_mode;

typedef struct {
  char name[DS_I8_NAME_MAX];
  ds_i8_act_kind kind;
  int width;            /* columns (TOKENS, VECTOR) or heads (SCORES) */
  int used;             /* 0: no such tensor in this model (emb without projection, logits without classes) */
  ds_qobserver obs;
  ds_qparams qp;        /* the parameters of the last fake-quant forward (saved in checkpoints) */
  int8_t *codes;        /* last fake-quant forward: (B*T, width), (B, H, T, T) or (B, width) */
  float *pre;           /* the values the site quantized (what its observer sees), same layout */
} ds_qat_site;

typedef struct ds_qat {
  ds_quant_cfg cfg;
  ds_qat_mode mode;
  int update;           /* the next forward is a training forward (set by ds_qat_step_begin, one shot) */
  int frozen;           /* activation ranges frozen (freeze_step reached) */
  int lsq_ready;        /* learned step sizes initialised */
  int n_layers, n_sites;
  int is_static;        /* a static student: its sites are tok, pooled, emb and logits (pos, x0, ln_f unused) */
  int pool_src;         /* the site pooling reads, whose grid the pooled mean keeps: ln_f, or tok when static */
  ds_qat_site site[DS_QAT_MAX_SITES];
  /* Weights of the last fake-quant forward, laid out like the parameters: codes, codes as floats
   * (for sgemm), dequantized values (1-D parameters copied as they are) and the STE mask (LSQ). */
  size_t n_params;
  int8_t *wq;
  float *wqf, *what;
  uint8_t *wmask;
  ds_params ph;                     /* views into `what` */
  size_t wrow[DS_MAX_TENSORS];      /* first weight row of table tensor i; (size_t)-1 for 1-D ones */
  size_t n_wrows;
  float *wscale;                    /* (n_wrows) per-row scales of the last forward */
  uint8_t *tok_used;                /* (vocab) token-table rows the last forward read: only those are
                                     * quantized (the table is most of the model) */
  /* LSQ: log step sizes, n_sites activations then n_wrows weight rows; gradients and Adam moments. */
  size_t n_lsq;
  float *lsq, *lsq_grad, *lsq_m, *lsq_v;
  /* Data-parallel training (train/dist.h): called with a site's range over this process's rows of the batch
   * before its observer takes it, to make it the range over the whole batch on every process. NULL: this
   * process has the whole batch. */
  void (*range_reduce)(void *ctx, float *lo, float *hi);
  void *range_ctx;
  /* Set by a caller that runs several backward passes per optimizer step (the trainer: the batch, then token
   * rows): ds_qat_backward_end then leaves the weights' LSQ gradients and STE masks to ds_qat_weights_backward,
   * called once after the last pass, so each pass's weight gradient is counted once. */
  int defer_weights;
  /* Data-parallel training: the sequences of the whole batch whose share the next backward pass runs, so that
   * the activations' LSQ gradients are scaled for the whole batch's element counts. 0: the pass's own. */
  int lsq_batch_all;
  uint8_t *tok_step;                /* (n_tok_rows) token-table rows read since ds_qat_step_begin */
  int n_tok_rows;                   /* rows of the token table (the shape's vocab) */
  /* Per-batch buffers (sites' codes and pre, kernel scratch), grown as needed. */
  void *mem;
  size_t mem_cap;
  int B, T;
  struct ds_qat_scratch *scr;
} ds_qat;

/* Allocates the QAT state for a student of this shape (observers empty, mode FLOAT). Fails on a
 * bad [quant] section (bits outside 2..8, unknown observer, ema_decay outside [0, 1)). */
int ds_qat_init(ds_qat **q, const ds_student_shape *s, const ds_param_table *t, const ds_quant_cfg *cfg,
                ds_err *err);
void ds_qat_free(ds_qat *q); /* safe on NULL */

/* The mode the schedule gives at optimizer step `step` (steps completed so far), for a training
 * forward: sets mode and freezing and arms one observer update. Zeroes the LSQ gradients. */
void ds_qat_step_begin(ds_qat *q, long step);
/* Mode for using a model trained for `step` steps (eval, export): no updates. */
void ds_qat_set_step(ds_qat *q, long step);

/* The current parameters of activation site i (observer, learned scale or fixed) without updating. */
int ds_qat_site_qparams(const ds_qat *q, int i, ds_qparams *qp);
/* Per-row scales of weight tensor `ti` of the table (rows), as the next forward would use them. */
int ds_qat_weight_scales(const ds_qat *q, const float *w, int ti, int rows, int cols, float *scales);
/* Zeroes the gradients of the learned step sizes (ds_qat_step_begin does it too). */
void ds_qat_zero_grad(ds_qat *q);

/* ==== QAT over a whole student ========================================================================== */
/* The QAT passes over a whole student (the QAT state section above describes the scheme). ds_student_qat_attach gives a
 * student a QAT state and the hooks (model/model.h) through which ds_student_forward and
 * ds_student_backward run these passes; the int8 model is built from the same state. */
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
