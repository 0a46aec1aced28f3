/* The pieces of ONNX's protobuf schema (onnx.proto) that distill writes, as field numbers, plus
 * helpers that write one message each through the encoder in protobuf.h. Field numbers are the
 * public ONNX schema's; a reader (onnx, onnxruntime) knows them by these numbers only. */
#ifndef DS_QUANT_EXPORT_EXPORT_ONNX_PROTO_H
#define DS_QUANT_EXPORT_EXPORT_ONNX_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "quant/export/protobuf.h"

/* ModelProto */
enum { ONNX_MODEL_IR_VERSION = 1, ONNX_MODEL_PRODUCER_NAME = 2, ONNX_MODEL_PRODUCER_VERSION = 3,
       ONNX_MODEL_DOC_STRING = 6, ONNX_MODEL_GRAPH = 7, ONNX_MODEL_OPSET_IMPORT = 8,
       ONNX_MODEL_METADATA = 14 };
/* OperatorSetIdProto, StringStringEntryProto */
enum { ONNX_OPSET_DOMAIN = 1, ONNX_OPSET_VERSION = 2 };
enum { ONNX_ENTRY_KEY = 1, ONNX_ENTRY_VALUE = 2 };
/* GraphProto */
enum { ONNX_GRAPH_NODE = 1, ONNX_GRAPH_NAME = 2, ONNX_GRAPH_INITIALIZER = 5, ONNX_GRAPH_DOC_STRING = 10,
       ONNX_GRAPH_INPUT = 11, ONNX_GRAPH_OUTPUT = 12, ONNX_GRAPH_VALUE_INFO = 13 };
/* NodeProto */
enum { ONNX_NODE_INPUT = 1, ONNX_NODE_OUTPUT = 2, ONNX_NODE_NAME = 3, ONNX_NODE_OP_TYPE = 4,
       ONNX_NODE_ATTRIBUTE = 5, ONNX_NODE_DOMAIN = 7 };
/* AttributeProto and its AttributeType values */
enum { ONNX_ATTR_NAME = 1, ONNX_ATTR_F = 2, ONNX_ATTR_I = 3, ONNX_ATTR_S = 4, ONNX_ATTR_T = 5,
       ONNX_ATTR_FLOATS = 7, ONNX_ATTR_INTS = 8, ONNX_ATTR_TYPE = 20 };
enum { ONNX_ATTR_TYPE_FLOAT = 1, ONNX_ATTR_TYPE_INT = 2, ONNX_ATTR_TYPE_STRING = 3,
       ONNX_ATTR_TYPE_TENSOR = 4, ONNX_ATTR_TYPE_FLOATS = 6, ONNX_ATTR_TYPE_INTS = 7 };
/* TensorProto and its DataType values */
enum { ONNX_TENSOR_DIMS = 1, ONNX_TENSOR_DATA_TYPE = 2, ONNX_TENSOR_NAME = 8, ONNX_TENSOR_RAW_DATA = 9 };
enum { ONNX_FLOAT = 1, ONNX_UINT8 = 2, ONNX_INT8 = 3, ONNX_UINT16 = 4, ONNX_INT16 = 5, ONNX_INT32 = 6,
       ONNX_INT64 = 7 };
/* ValueInfoProto, TypeProto, TypeProto.Tensor, TensorShapeProto, TensorShapeProto.Dimension */
enum { ONNX_VALUE_NAME = 1, ONNX_VALUE_TYPE = 2 };
enum { ONNX_TYPE_TENSOR = 1 };
enum { ONNX_TTYPE_ELEM_TYPE = 1, ONNX_TTYPE_SHAPE = 2 };
enum { ONNX_SHAPE_DIM = 1 };
enum { ONNX_DIM_VALUE = 1 };

/* Size in bytes of one element of an ONNX data type (0 for types not listed above). */
size_t ds_onnx_elem_size(int data_type);

/* A tensor message in `field` (ONNX_GRAPH_INITIALIZER, or ONNX_ATTR_T inside an attribute).
 * data holds numel host-order values of the data type; they are stored as raw_data, little-endian. */
void ds_onnx_tensor(ds_pb *pb, int field, const char *name, int data_type, int ndim, const int64_t *dims,
                    const void *data);
/* A ValueInfoProto in `field` (graph input, output or value_info) with a static shape. */
void ds_onnx_value_info(ds_pb *pb, int field, const char *name, int elem_type, int ndim, const int64_t *dims);

/* A node: begin writes inputs, outputs, name and op type; attributes follow; end closes it.
 * An empty input name ("") marks an optional input left out, as ONNX specifies. */
void ds_onnx_node_begin(ds_pb *pb, const char *op_type, const char *name, const char *const *inputs, int n_in,
                        const char *const *outputs, int n_out);
void ds_onnx_attr_int(ds_pb *pb, const char *name, int64_t v);
void ds_onnx_attr_float(ds_pb *pb, const char *name, float v);
void ds_onnx_attr_string(ds_pb *pb, const char *name, const char *v);
void ds_onnx_attr_ints(ds_pb *pb, const char *name, const int64_t *v, int n);
void ds_onnx_node_end(ds_pb *pb);

/* The model header: IR version, one opset import of the default domain, producer; then the graph
 * message is opened (ds_onnx_model_end closes it). */
void ds_onnx_model_begin(ds_pb *pb, int64_t ir_version, int64_t opset, const char *producer,
                         const char *graph_name);
void ds_onnx_model_end(ds_pb *pb);
/* A metadata_props entry of the model (written after ds_onnx_model_end). */
void ds_onnx_model_metadata(ds_pb *pb, const char *key, const char *value);

#endif
