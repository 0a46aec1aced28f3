/* Internals of the ONNX exporter shared with the encodings exporter: the graph writer reports every
 * float-valued tensor it creates, with the quantization grid that tensor lives on, so that the
 * encodings JSON covers the float graph's tensors by construction. Not part of the public API. */
#ifndef DS_QUANT_EXPORT_EXPORT_ONNX_GRAPH_H
#define DS_QUANT_EXPORT_EXPORT_ONNX_GRAPH_H

#include <stdint.h>

#include "quant/export/export_onnx.h"

/* One tensor's grid: real = scale[c] * (q - zero_point), q in [qmin, qmax] of a `bits`-bit integer
 * (signed convention), one scale per channel c < n (n = 1: per tensor). */
typedef struct {
  const char *name;
  int is_param;        /* an initializer (weight, bias, table, LayerNorm parameter) */
  int bits;            /* 8, 16 or 32 */
  int symmetric;       /* zero point 0 and a symmetric grid */
  int n;
  const float *scale;  /* (n) */
  int32_t zero_point;
} ds_onnx_tensor_grid;

typedef void (*ds_onnx_grid_fn)(void *ctx, const ds_onnx_tensor_grid *g);

/* ds_onnx_export_buffer, calling on_tensor (if non-NULL) for every float tensor of the float graph
 * (p->float_graph): inputs, initializers and node outputs. The QDQ graph reports nothing. */
int ds_onnx_export_graph(const ds_i8_model *m, const ds_onnx_export_params *p, ds_onnx_grid_fn on_tensor,
                         void *ctx, unsigned char **data, size_t *size, ds_err *err);

#endif
