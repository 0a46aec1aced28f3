/* ONNX export of an int8 model (quant/int8/int8.h), written with our own protobuf encoder.
 *
 * Two graphs come from one model:
 *  - QDQ (the default): int8 weights and requantized embedding tables as initializers feeding
 *    DequantizeLinear (per output channel on axis 0 of each Gemm weight, int32 biases at
 *    s_in * s_w), every activation passed through QuantizeLinear -> DequantizeLinear with the
 *    scale and zero point QAT learned, so onnxruntime, QNN or OpenVINO recalibrate nothing.
 *  - float (params.float_graph): the same graph with the weights dequantized and no Q/DQ nodes,
 *    for Qualcomm's converter together with the encodings JSON (export_encodings.h).
 * Both are static (batch 1, max_len tokens), opset 21 / IR 10, with LayerNormalization, Softmax
 * and Gelu (tanh) as ONNX ops.
 *
 * Inputs: input_ids int32 [1, max_len]; attention_mask int8 [1, max_len] (1 = token, 0 = padding;
 * float in the float graph). Outputs: emb float [1, E], and logits float [1, K] with a classifier.
 * Activation tensors carry the int8 model's names ("layers.0.ln1", "pooled", ...); attention's
 * query "layers.L.q" holds q / sqrt(head_dim) (the scaling is folded into its weights). */
#ifndef DS_QUANT_EXPORT_EXPORT_ONNX_H
#define DS_QUANT_EXPORT_EXPORT_ONNX_H

#include <stddef.h>

#include "common/common.h"
#include "quant/int8/int8.h"

#define DS_ONNX_OPSET 21
#define DS_ONNX_IR_VERSION 10

typedef struct {
  int uint8_acts;   /* activations as uint8 / uint16 (zero point shifted by 128 / 32768), as
                     * Qualcomm's HTP prefers; same real values */
  int a16_norm;     /* 16-bit activations into and out of LayerNorm and Softmax (w8a16), the
                     * same ranges on a 256x finer grid */
  int float_graph;  /* no Q/DQ, float weights: the graph the encodings JSON describes */
} ds_onnx_export_params;

ds_onnx_export_params ds_onnx_export_default_params(void);

/* Writes the model to path (through path.tmp, then rename). */
int ds_onnx_export(const ds_i8_model *m, const ds_onnx_export_params *p, const char *path, ds_err *err);

/* The same into memory: *data (free it) and *size. */
int ds_onnx_export_buffer(const ds_i8_model *m, const ds_onnx_export_params *p, unsigned char **data,
                          size_t *size, ds_err *err);

/* A text description of any ONNX file's contents (for `distill inspect`): inputs, outputs, operator
 * counts, initializers and each QuantizeLinear / DequantizeLinear's scale and zero point. *text is
 * allocated (free it). */
int ds_onnx_describe(const unsigned char *data, size_t size, char **text, ds_err *err);

#endif
