/* A protocol-buffers wire-format encoder: just enough to write ONNX models without libprotobuf.
 *
 * Messages are written field by field into one growing buffer. A nested message is opened with
 * ds_pb_begin and closed with ds_pb_end: its length is only known at the end, so the body is
 * written first and moved forward by the size of the length varint once that is known (nesting
 * is shallow in ONNX, so the moves cost little).
 *
 * Errors are sticky: an allocation failure or unbalanced begin/end marks the encoder failed and
 * later calls do nothing; ds_pb_finish reports it once. This keeps writers free of per-field checks.
 * Field numbers must be in [1, 2^29). Scalars equal to zero are written anyway (proto2 and proto3
 * readers both accept them), so the writer decides what to omit. */
#ifndef DS_QUANT_EXPORT_PROTOBUF_H
#define DS_QUANT_EXPORT_PROTOBUF_H

#include <stddef.h>
#include <stdint.h>

#include "common/common.h"

#define DS_PB_MAX_DEPTH 16

/* Wire types of the protobuf encoding. */
enum { DS_PB_VARINT = 0, DS_PB_I64 = 1, DS_PB_LEN = 2, DS_PB_I32 = 5 };

typedef struct {
  uint8_t *data;
  size_t len, cap;
  size_t open[DS_PB_MAX_DEPTH]; /* offset where each open message's body starts */
  int depth;
  int failed;                   /* 1 = out of memory, 2 = begin/end misuse, 3 = bad field number */
} ds_pb;

void ds_pb_init(ds_pb *pb);
void ds_pb_free(ds_pb *pb); /* safe on a zeroed encoder */

/* Encodes v as a base-128 varint at the end of the buffer (no tag). Exposed for tests. */
void ds_pb_raw_varint(ds_pb *pb, uint64_t v);
/* Appends n bytes as they are (the body of a length-delimited field whose tag and length the
 * caller wrote). */
void ds_pb_raw(ds_pb *pb, const void *data, size_t n);
/* The tag of a field: (field << 3) | wire_type. */
void ds_pb_tag(ds_pb *pb, int field, int wire_type);

/* Scalar fields. int64/int32/enum fields are plain varints; negative values take ten bytes (the
 * two's-complement bits), as protobuf requires for int32 and int64. */
void ds_pb_uint64(ds_pb *pb, int field, uint64_t v);
void ds_pb_int64(ds_pb *pb, int field, int64_t v);
void ds_pb_float(ds_pb *pb, int field, float v);   /* fixed 32-bit, little-endian */
void ds_pb_double(ds_pb *pb, int field, double v); /* fixed 64-bit, little-endian */

/* Length-delimited fields: raw bytes and (NUL-terminated) strings. */
void ds_pb_bytes(ds_pb *pb, int field, const void *data, size_t n);
void ds_pb_string(ds_pb *pb, int field, const char *s);

/* Packed repeated fields: one length-delimited field holding the values back to back. Nothing is
 * written for n == 0. */
void ds_pb_packed_int64(ds_pb *pb, int field, const int64_t *v, size_t n);
void ds_pb_packed_int32(ds_pb *pb, int field, const int32_t *v, size_t n);
void ds_pb_packed_float(ds_pb *pb, int field, const float *v, size_t n);

/* Nested messages: begin writes the tag, end the length (moving the body after it). */
void ds_pb_begin(ds_pb *pb, int field);
void ds_pb_end(ds_pb *pb);

/* 0 when every call succeeded and every message was closed; otherwise -1 with a message. */
int ds_pb_finish(const ds_pb *pb, ds_err *err);

#endif
