/* TFLite export of an int8 model (int8_model.h): a full-integer flatbuffer (schema version 3, file
 * identifier TFL3) written with our own FlatBuffers builder, for LiteRT and its NPU delegates and
 * for Arm's Vela (Ethos-U).
 *
 * Inputs: input_ids int16 [1, max_len] (int32 for vocabularies over 32767 ids: Vela places GATHER on
 * the Ethos-U only with 16-bit indices); attention_mask int8 [1, max_len] holding 1 for a token and
 * 0 for padding (its quantization, scale D and zero point 1, makes its real value the mask bias of
 * export_common.h). Outputs: emb int8 [1, E] and logits int8 [1, K], dequantized with their tensor's
 * scale and zero point. Token tensors are [max_len, width].
 *
 * Operators: GATHER (embedding, requantized table), ADD, FULLY_CONNECTED (int8 weights per output
 * channel, int32 biases), BATCH_MATMUL for attention (heads through RESHAPE + TRANSPOSE), SOFTMAX,
 * GELU (approximate, the tanh form), and LayerNorm decomposed into builtins in 16-bit (QUANTIZE,
 * MEAN, SUB, MUL, MEAN, RSQRT, MUL, MUL, ADD, QUANTIZE). The attention probabilities keep SOFTMAX's
 * int8 grid (scale 1/256, zero point -128): the masked scores and SOFTMAX itself run in int16 so that
 * padding keys can be pushed out of range exactly, then a QUANTIZE brings them to that grid. Mean
 * pooling is a BATCH_MATMUL of the tokens with a SOFTMAX of the mask bias (1/n on real tokens). */
#ifndef DS_QUANT_EXPORT_TFLITE_H
#define DS_QUANT_EXPORT_TFLITE_H

#include <stddef.h>

#include "common/error.h"
#include "quant/int8_model.h"

int ds_tflite_export(const ds_i8_model *m, const char *path, ds_err *err);
/* The same into memory: *data (free it) and *size. */
int ds_tflite_export_buffer(const ds_i8_model *m, unsigned char **data, size_t *size, ds_err *err);

/* A text description of a TFLite file (for `distill inspect`): operators in order, and every tensor
 * with its type, shape and quantization. *text is allocated (free it). */
int ds_tflite_describe(const unsigned char *data, size_t size, char **text, ds_err *err);

#endif
