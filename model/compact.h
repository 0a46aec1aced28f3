/* Compaction: cutting pruned units out of a masked student, giving a smaller dense one whose outputs
 * are the masked model's (up to float summation order).
 *
 * Units: an attention head (its rows of Q, K and V with their biases, and its columns of the output
 * projection), an FFN neuron (a row of fc1 with its bias, and the column of fc2) and, when the model
 * has a vocabulary map, an embedding row no token id maps to. Everything else is copied unchanged.
 *
 * A plan lists what is kept; it converts any buffer laid out by the masked model's size table
 * (parameters, gradients, Adam moments) into the compact layout, and per-channel side arrays such as
 * quantization scales through the ds_compact_*_rows helpers, so those are cut with their channels. */
#ifndef DS_MODEL_COMPACT_H
#define DS_MODEL_COMPACT_H

#include "model/student.h"

typedef struct ds_compact_plan {
  ds_student_shape from, to;
  int *heads[DS_MAX_LAYERS];  /* (to.heads[l]) kept heads of layer l, ascending indices into from */
  int *ffn[DS_MAX_LAYERS];    /* (to.ffn[l]) kept FFN neurons of layer l */
  int *rows;                  /* (to.vocab) kept embedding rows, ascending */
  int *mem;                   /* the one allocation behind the lists */
} ds_compact_plan;

/* What m's masks (and vocabulary map, if any) keep. At least one head must survive in every layer. */
int ds_compact_plan_make(ds_compact_plan *p, const ds_student *m, ds_err *err);
void ds_compact_plan_free(ds_compact_plan *p); /* safe on a zeroed plan */

/* src laid out by the table of p->from, dst by that of p->to (ds_param_table_build). */
void ds_compact_copy(const ds_compact_plan *p, const float *src, float *dst);
/* Replaces *buf (malloc'ed, p->from layout) by a new malloc'ed buffer in p->to layout. */
int ds_compact_buffer(const ds_compact_plan *p, float **buf, ds_err *err);
/* Replaces m by its compacted form: new shape, parameters (gradients zeroed), masks all ones, the
 * vocabulary map renumbered to the kept rows and, with QAT, a QAT state for the new shape that keeps the
 * old one's mode, activation observers and parameters, and its per-row weight scales (learned step sizes
 * with their Adam moments) cut with their rows. m is unchanged on failure. */
int ds_compact_student(const ds_compact_plan *p, ds_student *m, ds_err *err);
/* Both steps for a model alone (eval, export): plan from its masks, then compaction. */
int ds_student_compact(ds_student *m, ds_err *err);

/* Zeroes, in a buffer laid out by m's size table (parameters, Adam moments), every parameter compaction
 * would cut: those of masked heads and FFN neurons, and the embedding rows no id maps to. Training keeps
 * masked units exactly zero this way, so they hold no optimizer state and (with QAT) add nothing to any
 * activation range. */
void ds_compact_zero_masked(const ds_student *m, float *buf);

/* Per-output-channel arrays, `width` floats per channel (1 for a weight scale):
 * qkv rows of layer l (3 * H * hd channels), fc1 rows of layer l (F channels), embedding rows (V). */
void ds_compact_qkv_rows(const ds_compact_plan *p, int l, const float *src, float *dst, int width);
void ds_compact_ffn_rows(const ds_compact_plan *p, int l, const float *src, float *dst, int width);
void ds_compact_vocab_rows(const ds_compact_plan *p, const float *src, float *dst, int width);
/* One value per row of every 2-D tensor, tensors in size-table order (QAT's per-row weight scales and
 * their learned step sizes): the rows of p->from's weights in, those of p->to's out. */
void ds_compact_weight_rows(const ds_compact_plan *p, const float *src, float *dst);

/* The structure of m, for run logs: "heads 4,3 ffn 512,448 vocab 2000: 665802 params"; with live = 1
 * only the units its masks (and vocabulary map) keep, with live = 0 its full shape. Returns buf. */
char *ds_compact_describe(const ds_student *m, int live, char *buf, size_t n);
/* Parameters m keeps once compacted: ds_student_live_params less the embedding rows no id maps to. */
size_t ds_compact_live_params(const ds_student *m);

#endif
