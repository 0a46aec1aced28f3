/* A TFLite graph under construction: tensors, constant buffers and operators collected in memory,
 * then serialized in one go with the FlatBuffers builder (children before parents, as FlatBuffers
 * needs). Internal to the TFLite exporter. */
#ifndef DS_QUANT_EXPORT_EXPORT_TFLITE_BUILD_H
#define DS_QUANT_EXPORT_EXPORT_TFLITE_BUILD_H

#include <stddef.h>
#include <stdint.h>

#include "common/common.h"

#define TFL_MAX_DIMS 4
#define TFL_MAX_IO 4

typedef struct {
  char name[96];
  int type;                 /* TFL_INT8, ... */
  int ndim;
  int32_t shape[TFL_MAX_DIMS];
  int buffer;               /* 0: no data (activations) */
  int n_q;                  /* quantization channels (0: none) */
  float *scale;             /* (n_q) */
  int64_t *zero_point;      /* (n_q) */
  int q_dim;
} tfl_tensor;

/* Builtin options: the exporter writes only the fields below (others keep their defaults). */
typedef struct {
  int type;                 /* TFL_OPTIONS_* */
  int i[4];                 /* per options kind: see tfl_write_options */
  float f;
  int32_t *new_shape;       /* RESHAPE: owned */
  int n_new_shape;
} tfl_options;

typedef struct {
  int builtin;
  int inputs[TFL_MAX_IO], n_in;
  int outputs[TFL_MAX_IO], n_out;
  tfl_options opt;
} tfl_op;

typedef struct {
  tfl_tensor *tensors;
  int n_tensors, cap_tensors;
  tfl_op *ops;
  int n_ops, cap_ops;
  uint8_t **buffers;        /* buffers[0] is the empty buffer every activation points to */
  size_t *buffer_size;
  int n_buffers, cap_buffers;
  int inputs[TFL_MAX_IO], n_inputs, outputs[TFL_MAX_IO], n_outputs;
  int failed;               /* out of memory */
} tfl_graph;

void tfl_graph_init(tfl_graph *g);
void tfl_graph_free(tfl_graph *g);

/* A tensor; quantization per tensor (n_q 1) or per channel along q_dim. data (nbytes, little-endian
 * host values) makes it a constant. Returns its index, or -1 once the graph failed. */
int tfl_tensor_add(tfl_graph *g, const char *name, int type, int ndim, const int32_t *shape, int n_q,
                   const float *scale, const int64_t *zp, int q_dim, const void *data, size_t nbytes);
/* Shorthand: per-tensor quantized activation (or constant). */
int tfl_tensor_q(tfl_graph *g, const char *name, int type, int ndim, const int32_t *shape, float scale,
                 int64_t zp, const void *data, size_t nbytes);
/* An operator; opt may be NULL (no options). */
void tfl_op_add(tfl_graph *g, int builtin, const int *in, int n_in, const int *out, int n_out,
                const tfl_options *opt);

/* Serializes the model (schema version 3, identifier TFL3) into *data (free it). */
int tfl_graph_serialize(const tfl_graph *g, const char *description, unsigned char **data, size_t *size,
                        ds_err *err);

#endif
