/* QNN quantization overrides (AIMET's encodings JSON, version 0.6.1) for the float ONNX graph of
 * export_onnx.h: one entry per activation and per parameter tensor of that graph, carrying the
 * scales and zero points QAT learned, so Qualcomm's converter (qnn-onnx-converter
 * --quantization_overrides) calibrates nothing. Per-channel weights list one encoding per output
 * channel; biases are 32-bit at s_in * s_w; LayerNorm parameters 16-bit.
 *
 * AIMET's convention is unsigned: real = scale * (q + offset), q in [0, 2^bits - 1], so a signed
 * grid real = scale * (q_s - zp) has offset = -2^(bits-1) - zp, min = scale * offset and
 * max = scale * (2^bits - 1 + offset). */
#ifndef DS_QUANT_EXPORT_EXPORT_ENCODINGS_H
#define DS_QUANT_EXPORT_EXPORT_ENCODINGS_H

#include "common/common.h"
#include "quant/export/export_onnx.h"
#include "quant/int8/int8.h"

/* Writes the JSON for the float graph that ds_onnx_export writes with the same params (whose
 * float_graph flag is ignored: it is always the float graph). */
int ds_encodings_export(const ds_i8_model *m, const ds_onnx_export_params *p, const char *path, ds_err *err);

/* A text description of an encodings JSON (for `distill inspect`): each tensor with its bitwidth,
 * scale and offset (the first channel's, and the channel count for per-channel entries). */
int ds_encodings_describe(const char *json, size_t size, char **text, ds_err *err);

#endif
