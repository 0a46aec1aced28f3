/* Internals shared by the QAT files of quant/qat/ (qat.c, qat_attach.c, qat_forward.c, qat_backward.c,
 * qat_observe.c, qat_build.c). Not part of the public API. */
#ifndef DS_QUANT_QAT_QAT_INTERNAL_H
#define DS_QUANT_QAT_QAT_INTERNAL_H

#include "quant/qat/qat.h"

/* Largest inner dimension one sgemm chunk may have for its int8 x int8 partial sums to stay exact
 * in float32: 1024 * 128 * 127 < 2^24. */
#define DS_QAT_EXACT_K 1024

/* Kernel scratch of one batch, views into ds_qat.mem after the sites' buffers. */
struct ds_qat_scratch {
  float *xf;          /* (N, max in) input codes as floats; in backward a masked copy of one site's gradient (at
                       * least B x n_classes too) */
  float *tmp;         /* (N, max out) one sgemm chunk */
  double *accd;       /* (N, max out) chunk sums when an input is wider than DS_QAT_EXACT_K, else NULL */
  int32_t *acc;       /* (N, max out) accumulators */
  int32_t *mult, *shift;  /* (max rows of any weight) requantization of one op */
  int32_t *wsum, *bq; /* (max out) weight-row sums, quantized bias */
  int32_t *pos_ids;   /* (N) position of every token */
  float *rows;        /* (threads, max(C, T, F)) per-thread float rows for LayerNorm / softmax */
  int row_len, threads;
};

/* Sizes the per-batch buffers for B x T (keeps them when large enough). */
int ds_qat_ensure_mem(ds_qat *q, const ds_student_shape *s, int B, int T, ds_err *err);
/* Elements of site i for the current B, T. */
size_t ds_qat_site_numel(const ds_qat *q, int i);
/* Decides site i's parameters for this forward: feeds the observer `pre` (n values) on an unfrozen
 * training forward (observer mode, or LSQ not yet initialised), then takes the observer's or the
 * learned parameters. Fixed sites (softmax, pooled) are left alone. */
void ds_qat_site_prepare(ds_qat *q, int i, const float *pre, size_t n);
/* Min and max of n values into the observer of site i, when observers run (used by observe mode). */
void ds_qat_site_observe_range(ds_qat *q, int i, float lo, float hi);
/* Quantizes every weight tensor of m (codes, codes as floats, dequantized values, scales); of the
 * token table only the rows m->ids reads (marked in q->tok_used). */
int ds_qat_quantize_weights(ds_qat *q, const ds_student *m, ds_err *err);
/* After the first fake-quant training forward with learn_scales: activation step sizes from the
 * current parameters, weight rows' from max |w| / qmax. */
void ds_qat_lsq_init(ds_qat *q, const ds_student *m);
/* Whether observers take updates in this forward. */
int ds_qat_observing(const ds_qat *q);

#endif
