/* Protocol-buffers wire-format encoder (see protobuf.h). */
#include "quant/export/protobuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { PB_OK = 0, PB_NOMEM = 1, PB_NESTING = 2, PB_FIELD = 3 };

void ds_pb_init(ds_pb *pb) { memset(pb, 0, sizeof *pb); }

void ds_pb_free(ds_pb *pb) {
  free(pb->data);
  memset(pb, 0, sizeof *pb);
}

/* Makes room for n more bytes; on failure marks the encoder and returns NULL. */
static uint8_t *reserve(ds_pb *pb, size_t n) {
  if (pb->failed) return NULL;
  if (pb->len + n > pb->cap) {
    size_t cap = pb->cap ? pb->cap : 256;
    while (cap < pb->len + n) cap *= 2;
    uint8_t *d = realloc(pb->data, cap);
    if (!d) {
      pb->failed = PB_NOMEM;
      return NULL;
    }
    pb->data = d;
    pb->cap = cap;
  }
  return pb->data + pb->len;
}

static size_t varint_size(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    n++;
  }
  return n;
}

static void put_varint(uint8_t *p, uint64_t v) {
  while (v >= 0x80) {
    *p++ = (uint8_t)(v | 0x80);
    v >>= 7;
  }
  *p = (uint8_t)v;
}

void ds_pb_raw_varint(ds_pb *pb, uint64_t v) {
  const size_t n = varint_size(v);
  uint8_t *p = reserve(pb, n);
  if (!p) return;
  put_varint(p, v);
  pb->len += n;
}

void ds_pb_raw(ds_pb *pb, const void *data, size_t n) {
  uint8_t *p = reserve(pb, n);
  if (!p) return;
  if (n) memcpy(p, data, n);
  pb->len += n;
}

static void put_le(ds_pb *pb, uint64_t bits, size_t n) {
  uint8_t *p = reserve(pb, n);
  if (!p) return;
  for (size_t i = 0; i < n; i++) p[i] = (uint8_t)(bits >> (8 * i));
  pb->len += n;
}

void ds_pb_tag(ds_pb *pb, int field, int wire_type) {
  if (field < 1 || field >= (1 << 29)) {
    if (!pb->failed) pb->failed = PB_FIELD;
    return;
  }
  ds_pb_raw_varint(pb, ((uint64_t)field << 3) | (uint64_t)wire_type);
}

void ds_pb_uint64(ds_pb *pb, int field, uint64_t v) {
  ds_pb_tag(pb, field, DS_PB_VARINT);
  ds_pb_raw_varint(pb, v);
}

void ds_pb_int64(ds_pb *pb, int field, int64_t v) { ds_pb_uint64(pb, field, (uint64_t)v); }

static uint32_t float_bits(float v) {
  uint32_t u;
  memcpy(&u, &v, sizeof u);
  return u;
}

void ds_pb_float(ds_pb *pb, int field, float v) {
  ds_pb_tag(pb, field, DS_PB_I32);
  put_le(pb, float_bits(v), 4);
}

void ds_pb_double(ds_pb *pb, int field, double v) {
  uint64_t u;
  memcpy(&u, &v, sizeof u);
  ds_pb_tag(pb, field, DS_PB_I64);
  put_le(pb, u, 8);
}

void ds_pb_bytes(ds_pb *pb, int field, const void *data, size_t n) {
  ds_pb_tag(pb, field, DS_PB_LEN);
  ds_pb_raw_varint(pb, n);
  ds_pb_raw(pb, data, n);
}

void ds_pb_string(ds_pb *pb, int field, const char *s) { ds_pb_bytes(pb, field, s, strlen(s)); }

void ds_pb_packed_int64(ds_pb *pb, int field, const int64_t *v, size_t n) {
  if (n == 0) return;
  size_t body = 0;
  for (size_t i = 0; i < n; i++) body += varint_size((uint64_t)v[i]);
  ds_pb_tag(pb, field, DS_PB_LEN);
  ds_pb_raw_varint(pb, body);
  for (size_t i = 0; i < n; i++) ds_pb_raw_varint(pb, (uint64_t)v[i]);
}

void ds_pb_packed_int32(ds_pb *pb, int field, const int32_t *v, size_t n) {
  if (n == 0) return;
  /* int32 fields sign-extend negatives to 64 bits on the wire. */
  size_t body = 0;
  for (size_t i = 0; i < n; i++) body += varint_size((uint64_t)(int64_t)v[i]);
  ds_pb_tag(pb, field, DS_PB_LEN);
  ds_pb_raw_varint(pb, body);
  for (size_t i = 0; i < n; i++) ds_pb_raw_varint(pb, (uint64_t)(int64_t)v[i]);
}

void ds_pb_packed_float(ds_pb *pb, int field, const float *v, size_t n) {
  if (n == 0) return;
  ds_pb_tag(pb, field, DS_PB_LEN);
  ds_pb_raw_varint(pb, 4 * n);
  for (size_t i = 0; i < n; i++) put_le(pb, float_bits(v[i]), 4);
}

void ds_pb_begin(ds_pb *pb, int field) {
  if (pb->failed) return;
  if (pb->depth >= DS_PB_MAX_DEPTH) {
    pb->failed = PB_NESTING;
    return;
  }
  ds_pb_tag(pb, field, DS_PB_LEN);
  pb->open[pb->depth++] = pb->len;
}

void ds_pb_end(ds_pb *pb) {
  if (pb->failed) return;
  if (pb->depth == 0) {
    pb->failed = PB_NESTING;
    return;
  }
  const size_t start = pb->open[--pb->depth], body = pb->len - start, n = varint_size(body);
  if (!reserve(pb, n)) return;
  memmove(pb->data + start + n, pb->data + start, body);
  put_varint(pb->data + start, body);
  pb->len += n;
}

int ds_pb_finish(const ds_pb *pb, ds_err *err) {
  switch (pb->failed) {
    case PB_NOMEM: return ds_fail(err, "protobuf encoder: out of memory at %zu bytes", pb->len);
    case PB_NESTING: return ds_fail(err, "protobuf encoder: unbalanced or too deep nested messages");
    case PB_FIELD: return ds_fail(err, "protobuf encoder: field number outside [1, 2^29)");
    default: break;
  }
  if (pb->depth != 0) return ds_fail(err, "protobuf encoder: %d nested message(s) left open", pb->depth);
  return 0;
}
