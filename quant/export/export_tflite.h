/* TFLite export of an int8 model (quant/int8/int8.h): a full-integer flatbuffer (schema version 3, file
 * identifier TFL3) written with our own FlatBuffers builder, for LiteRT and its NPU delegates and
 * for Arm's Vela (Ethos-U).
 *
 * Inputs: input_ids [1, max_len], typed by params.ids (below; by default int16, int32 for vocabularies
 * over 32767 ids); attention_mask int8 [1, max_len] holding 1 for a token and
 * 0 for padding (its quantization, scale D and zero point 1, makes its real value the mask bias of
 * export_common.h). Outputs: emb int8 [1, E] and logits int8 [1, K], dequantized with their tensor's
 * scale and zero point. Token tensors are [max_len, width].
 *
 * Operators: GATHER (embedding, requantized table), ADD, FULLY_CONNECTED (int8 weights per output
 * channel, int32 biases), BATCH_MATMUL for attention (heads through RESHAPE + TRANSPOSE), SOFTMAX,
 * GELU (approximate, the tanh form), and LayerNorm decomposed into builtins in 16-bit, normalizing
 * each row twice so that both RSQRTs read their input where LiteRT's int16 table is exact
 * (QUANTIZE, MEAN, SUB; MUL, MEAN, RSQRT; MUL, MUL, MEAN, MUL, MUL, ADD, RSQRT, MUL; MUL, ADD,
 * QUANTIZE: export_tflite.c). The attention probabilities keep SOFTMAX's int8 grid (scale 1/256,
 * zero point -128): the masked scores and SOFTMAX itself run in int16 so that padding keys can be
 * pushed out of range exactly, then a QUANTIZE brings them to that grid. Mean pooling is a
 * BATCH_MATMUL of the tokens (in int16, codes x128) with a SOFTMAX of the mask bias (1/n on real
 * tokens). */
#ifndef DS_QUANT_EXPORT_EXPORT_TFLITE_H
#define DS_QUANT_EXPORT_EXPORT_TFLITE_H

#include <stddef.h>

#include "common/common.h"
#include "quant/int8/int8.h"

/* The type of input_ids: each NPU toolchain gathers the embedding only with its own index type. */
typedef enum {
  DS_TFL_IDS_AUTO = 0,    /* int16 with a unit quantization (Vela runs GATHER on the Ethos-U only with
                           * 16-bit indices, and wants quantization on every tensor a RESHAPE touches);
                           * int32, likewise quantized, for vocabularies over 32767 ids */
  DS_TFL_IDS_INT32,       /* int32 without quantization, any vocabulary (Qualcomm's HTP gathers only
                           * with plain 32-bit indices: quantized ones, SFIXED_POINT_32 in QNN, leave
                           * GATHER and RESHAPE on the CPU like int16 ones) */
  DS_TFL_IDS_INT16_PLAIN, /* int16 without quantization (OpenVINO's TFLite reader); at most 32767 ids */
} ds_tfl_ids_type;

typedef struct {
  ds_tfl_ids_type ids;
} ds_tflite_export_params;

ds_tflite_export_params ds_tflite_export_default_params(void);

/* Writes the model to path (through path.tmp, then rename); p NULL: the default params. */
int ds_tflite_export_with(const ds_i8_model *m, const ds_tflite_export_params *p, const char *path, ds_err *err);
/* The same into memory: *data (free it) and *size. */
int ds_tflite_export_buffer_with(const ds_i8_model *m, const ds_tflite_export_params *p, unsigned char **data,
                                 size_t *size, ds_err *err);
/* Both with the default params. */
int ds_tflite_export(const ds_i8_model *m, const char *path, ds_err *err);
int ds_tflite_export_buffer(const ds_i8_model *m, unsigned char **data, size_t *size, ds_err *err);

/* A text description of a TFLite file (for `distill inspect`): operators in order, and every tensor
 * with its type, shape and quantization. *text is allocated (free it). */
int ds_tflite_describe(const unsigned char *data, size_t size, char **text, ds_err *err);

#endif
