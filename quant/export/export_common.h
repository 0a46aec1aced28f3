/* What the ONNX, TFLite and encodings exporters share: error messages, the embedding tables
 * requantized to their output's grid, and the quantization of the attention mask path.
 *
 * The exported graphs take (input_ids int32 [1, max_len], attention_mask int8 [1, max_len], 1 = real
 * token) and handle padding with one additive bias row, mask_bias = D * (mask - 1): 0 for real
 * tokens, -D for padding. Added to attention scores it drives padding keys' probabilities to
 * exp(-24) or less (D exceeds every layer's score range by DS_EXPORT_MASK_MARGIN), and its softmax
 * over the row gives the mean-pooling weights 1/n of the n real tokens. The native runtime masks
 * exactly instead; both agree to well under one output step. The masked scores need more range
 * than the scores themselves, so they are carried in 16 bits. */
#ifndef DS_QUANT_EXPORT_EXPORT_COMMON_H
#define DS_QUANT_EXPORT_EXPORT_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "common/common.h"
#include "quant/int8/int8.h"

#define DS_EXPORT_MASK_MARGIN 24.0f

/* Checks what every exporter relies on: a prepared model whose op list is the student graph
 * quant/int8/int8.h describes (known kinds, indices in range, the ops' inputs of the right kinds). */
int ds_export_check_model(const ds_i8_model *m, ds_err *err);

/* 1 when an EMBED op of a vocabulary-pruned model is exported as its compacted table (fewer rows than
 * the teacher has ids) plus the id -> row map m->id_map, gathered first: the exported file then stays as
 * small as the pruned model. 0 when there is no map, or the map would not make the table smaller. */
int ds_export_uses_id_rows(const ds_i8_model *m, const ds_i8_op *op);
/* The table of an EMBED or POS_EMBED (max_len rows) op, requantized to the output activation's scale and
 * zero point exactly as the runtime does it, so a plain gather of it is bit exact. An EMBED table has a
 * row per weight row when ds_export_uses_id_rows (index it by m->id_map[id]), else a row per id.
 * out: rows * cols int8; *rows set. */
int ds_export_table(const ds_i8_model *m, const ds_i8_op *op, int8_t *out, int *rows, ds_err *err);
/* Rows of that table. */
int ds_export_table_rows(const ds_i8_model *m, const ds_i8_op *op);

/* Real range [lo, hi] an activation's grid covers. */
void ds_export_act_range(const ds_i8_act *a, float *lo, float *hi);

/* D of the mask bias: the widest score range of any SOFTMAX input plus the margin. */
float ds_export_mask_depth(const ds_i8_model *m);
/* 16-bit symmetric scale (zero point 0) of one SOFTMAX's masked scores: covers [lo - D, hi], and is
 * the scores' scale divided by a whole number, so the scores themselves are represented exactly. */
float ds_export_masked_scale(const ds_i8_model *m, const ds_i8_op *softmax);

/* Scale multiplying the real value of an FC's output when the exporters fold the attention
 * 1/sqrt(head_dim) into it: q's FC (the input 0 of an ATT_SCORES) gets alpha, every other op 1. */
float ds_export_fold_alpha(const ds_i8_model *m, int act);

/* A growing text buffer (the encodings JSON, `distill inspect` descriptions). Errors are sticky. */
typedef struct {
  char *buf;
  size_t len, cap;
  int failed;
} ds_export_text;
void ds_export_text_put(ds_export_text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Describes an exported model file for `distill inspect`: operators, tensors, shapes and
 * quantization parameters. Returns 1 with *text (free it) for an ONNX, TFLite or encodings file,
 * 0 (and no text) for a file of another kind, -1 on a read or decode error. */
int ds_export_describe_file(const char *path, char **text, ds_err *err);

#endif
