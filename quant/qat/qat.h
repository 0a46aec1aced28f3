/* Quantization-aware training of the student: the fake-quant forward pass that computes the integer
 * model's arithmetic itself, its straight-through backward, range observers and LSQ step sizes.
 *
 * Every tensor the int8 model stores (quant/int8/int8_model.h) is a "site" here, with the same name. In
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
#ifndef DS_QUANT_QAT_QAT_H
#define DS_QUANT_QAT_QAT_H

#include <stddef.h>
#include <stdint.h>

#include "model/config/config.h"
#include "quant/int8/int8_model.h"
#include "model/qat_hooks.h"
#include "model/shape.h"
#include "quant/qat/fake_quant.h"

/* The sites' numbering (DS_QS_*, DS_QL_*, DS_QF_*) is the student's: model/qat_hooks.h. */

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

#endif
