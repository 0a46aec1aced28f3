/* One ONNX protobuf message per helper (see export_onnx_proto.h). */
#include "quant/export/export_onnx_proto.h"

#include <string.h>

size_t ds_onnx_elem_size(int data_type) {
  switch (data_type) {
    case ONNX_UINT8:
    case ONNX_INT8: return 1;
    case ONNX_UINT16:
    case ONNX_INT16: return 2;
    case ONNX_FLOAT:
    case ONNX_INT32: return 4;
    case ONNX_INT64: return 8;
    default: return 0;
  }
}

/* raw_data is little-endian whatever the host: each element is written byte by byte from its value,
 * through a small staging block. */
static void raw_data(ds_pb *pb, const void *data, size_t numel, size_t esize) {
  ds_pb_tag(pb, ONNX_TENSOR_RAW_DATA, DS_PB_LEN);
  ds_pb_raw_varint(pb, numel * esize);
  const uint8_t *src = data;
  uint8_t block[4096];
  size_t fill = 0;
  for (size_t i = 0; i < numel; i++) {
    uint64_t v = 0;
    switch (esize) {
      case 1: v = src[i]; break;
      case 2: { uint16_t x; memcpy(&x, src + 2 * i, 2); v = x; break; }
      case 4: { uint32_t x; memcpy(&x, src + 4 * i, 4); v = x; break; }
      default: memcpy(&v, src + 8 * i, 8); break;
    }
    for (size_t b = 0; b < esize; b++) block[fill++] = (uint8_t)(v >> (8 * b));
    if (fill + 8 > sizeof block) {
      ds_pb_raw(pb, block, fill);
      fill = 0;
    }
  }
  ds_pb_raw(pb, block, fill);
}

void ds_onnx_tensor(ds_pb *pb, int field, const char *name, int data_type, int ndim, const int64_t *dims,
                    const void *data) {
  size_t numel = 1;
  for (int d = 0; d < ndim; d++) numel *= (size_t)dims[d];
  ds_pb_begin(pb, field);
  ds_pb_packed_int64(pb, ONNX_TENSOR_DIMS, dims, (size_t)ndim);
  ds_pb_int64(pb, ONNX_TENSOR_DATA_TYPE, data_type);
  ds_pb_string(pb, ONNX_TENSOR_NAME, name);
  raw_data(pb, data, numel, ds_onnx_elem_size(data_type));
  ds_pb_end(pb);
}

void ds_onnx_value_info(ds_pb *pb, int field, const char *name, int elem_type, int ndim, const int64_t *dims) {
  ds_pb_begin(pb, field);
  ds_pb_string(pb, ONNX_VALUE_NAME, name);
  ds_pb_begin(pb, ONNX_VALUE_TYPE);
  ds_pb_begin(pb, ONNX_TYPE_TENSOR);
  ds_pb_int64(pb, ONNX_TTYPE_ELEM_TYPE, elem_type);
  ds_pb_begin(pb, ONNX_TTYPE_SHAPE);
  for (int d = 0; d < ndim; d++) {
    ds_pb_begin(pb, ONNX_SHAPE_DIM);
    ds_pb_int64(pb, ONNX_DIM_VALUE, dims[d]);
    ds_pb_end(pb);
  }
  ds_pb_end(pb);
  ds_pb_end(pb);
  ds_pb_end(pb);
  ds_pb_end(pb);
}

void ds_onnx_node_begin(ds_pb *pb, const char *op_type, const char *name, const char *const *inputs, int n_in,
                        const char *const *outputs, int n_out) {
  ds_pb_begin(pb, ONNX_GRAPH_NODE);
  for (int i = 0; i < n_in; i++) ds_pb_string(pb, ONNX_NODE_INPUT, inputs[i]);
  for (int i = 0; i < n_out; i++) ds_pb_string(pb, ONNX_NODE_OUTPUT, outputs[i]);
  ds_pb_string(pb, ONNX_NODE_NAME, name);
  ds_pb_string(pb, ONNX_NODE_OP_TYPE, op_type);
}

void ds_onnx_node_end(ds_pb *pb) { ds_pb_end(pb); }

void ds_onnx_attr_int(ds_pb *pb, const char *name, int64_t v) {
  ds_pb_begin(pb, ONNX_NODE_ATTRIBUTE);
  ds_pb_string(pb, ONNX_ATTR_NAME, name);
  ds_pb_int64(pb, ONNX_ATTR_TYPE, ONNX_ATTR_TYPE_INT);
  ds_pb_int64(pb, ONNX_ATTR_I, v);
  ds_pb_end(pb);
}

void ds_onnx_attr_float(ds_pb *pb, const char *name, float v) {
  ds_pb_begin(pb, ONNX_NODE_ATTRIBUTE);
  ds_pb_string(pb, ONNX_ATTR_NAME, name);
  ds_pb_int64(pb, ONNX_ATTR_TYPE, ONNX_ATTR_TYPE_FLOAT);
  ds_pb_float(pb, ONNX_ATTR_F, v);
  ds_pb_end(pb);
}

void ds_onnx_attr_string(ds_pb *pb, const char *name, const char *v) {
  ds_pb_begin(pb, ONNX_NODE_ATTRIBUTE);
  ds_pb_string(pb, ONNX_ATTR_NAME, name);
  ds_pb_int64(pb, ONNX_ATTR_TYPE, ONNX_ATTR_TYPE_STRING);
  ds_pb_string(pb, ONNX_ATTR_S, v);
  ds_pb_end(pb);
}

void ds_onnx_attr_ints(ds_pb *pb, const char *name, const int64_t *v, int n) {
  ds_pb_begin(pb, ONNX_NODE_ATTRIBUTE);
  ds_pb_string(pb, ONNX_ATTR_NAME, name);
  ds_pb_int64(pb, ONNX_ATTR_TYPE, ONNX_ATTR_TYPE_INTS);
  ds_pb_packed_int64(pb, ONNX_ATTR_INTS, v, (size_t)n);
  ds_pb_end(pb);
}

void ds_onnx_model_begin(ds_pb *pb, int64_t ir_version, int64_t opset, const char *producer,
                         const char *graph_name) {
  ds_pb_int64(pb, ONNX_MODEL_IR_VERSION, ir_version);
  ds_pb_begin(pb, ONNX_MODEL_OPSET_IMPORT);
  ds_pb_string(pb, ONNX_OPSET_DOMAIN, "");
  ds_pb_int64(pb, ONNX_OPSET_VERSION, opset);
  ds_pb_end(pb);
  ds_pb_string(pb, ONNX_MODEL_PRODUCER_NAME, producer);
  ds_pb_begin(pb, ONNX_MODEL_GRAPH);
  ds_pb_string(pb, ONNX_GRAPH_NAME, graph_name);
}

void ds_onnx_model_end(ds_pb *pb) { ds_pb_end(pb); }

void ds_onnx_model_metadata(ds_pb *pb, const char *key, const char *value) {
  ds_pb_begin(pb, ONNX_MODEL_METADATA);
  ds_pb_string(pb, ONNX_ENTRY_KEY, key);
  ds_pb_string(pb, ONNX_ENTRY_VALUE, value);
  ds_pb_end(pb);
}
