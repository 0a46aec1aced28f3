/* A FlatBuffers builder: just enough to write TFLite models without the flatbuffers library.
 *
 * A FlatBuffer's offsets only point forward, so it is built back to front, as the reference
 * builder does: children (strings, vectors, tables) first, each placed in front of what is
 * already there, and a reference to an object is its distance from the END of the buffer (a
 * ds_fb_ref), which does not change as more is written in front of it. Every scalar is aligned
 * to its size relative to that end; ds_fb_finish pads the front so the whole buffer keeps the
 * largest alignment used, and writes the root offset and the 4-byte file identifier.
 *
 * Tables: ds_fb_table_start, then any number of ds_fb_add_* calls naming the field's slot (its
 * index in the schema: a union takes two slots, the type then the value), then ds_fb_table_end,
 * which writes the table's vtable. Fields not added read as their schema default. Nothing may be
 * written between start and end except the table's own fields: strings, vectors and sub-tables
 * are created before the table that refers to them.
 *
 * Errors are sticky as in protobuf.h: later calls do nothing, ds_fb_finish reports the first. */
#ifndef DS_QUANT_EXPORT_FLATBUF_H
#define DS_QUANT_EXPORT_FLATBUF_H

#include <stddef.h>
#include <stdint.h>

#include "common/common.h"

#define DS_FB_MAX_FIELDS 64

typedef uint32_t ds_fb_ref; /* an object's distance from the end of the buffer; 0 = none */

typedef struct {
  uint8_t *buf;            /* bytes live in buf[cap - used, cap) */
  size_t cap, used;
  size_t minalign;         /* largest alignment asked for so far */
  /* The open table (in_table): where it starts and where each field slot was written. */
  int in_table;
  size_t table_start;
  ds_fb_ref field[DS_FB_MAX_FIELDS];
  int n_fields;            /* 1 + highest slot added */
  int failed;              /* a DS_FB_ERR_* code */
  const uint8_t *result;   /* after ds_fb_finish: the buffer's first byte */
} ds_fb;

enum { DS_FB_OK = 0, DS_FB_ERR_NOMEM, DS_FB_ERR_STATE, DS_FB_ERR_SLOT, DS_FB_ERR_SIZE };

void ds_fb_init(ds_fb *fb);
void ds_fb_free(ds_fb *fb); /* safe on a zeroed builder */

/* ---- strings and vectors ---- */
ds_fb_ref ds_fb_string(ds_fb *fb, const char *s);
/* Vectors of scalars, given as host values and stored little-endian. */
ds_fb_ref ds_fb_vector_i8(ds_fb *fb, const int8_t *v, size_t n);
ds_fb_ref ds_fb_vector_u8(ds_fb *fb, const uint8_t *v, size_t n);
ds_fb_ref ds_fb_vector_i32(ds_fb *fb, const int32_t *v, size_t n);
ds_fb_ref ds_fb_vector_i64(ds_fb *fb, const int64_t *v, size_t n);
ds_fb_ref ds_fb_vector_f32(ds_fb *fb, const float *v, size_t n);
/* Raw bytes (a TFLite Buffer's data), aligned to `align` (a power of two, at most 16) so that
 * int32/int64 contents read in place. */
ds_fb_ref ds_fb_vector_bytes(ds_fb *fb, const void *data, size_t n, size_t align);
/* A vector of references to objects already written (tables or strings). */
ds_fb_ref ds_fb_vector_refs(ds_fb *fb, const ds_fb_ref *refs, size_t n);

/* ---- tables ---- */
void ds_fb_table_start(ds_fb *fb);
void ds_fb_add_u8(ds_fb *fb, int slot, uint8_t v);   /* also bool and byte-sized enums */
void ds_fb_add_i8(ds_fb *fb, int slot, int8_t v);
void ds_fb_add_i32(ds_fb *fb, int slot, int32_t v);
void ds_fb_add_u32(ds_fb *fb, int slot, uint32_t v);
void ds_fb_add_i64(ds_fb *fb, int slot, int64_t v);
void ds_fb_add_f32(ds_fb *fb, int slot, float v);
void ds_fb_add_ref(ds_fb *fb, int slot, ds_fb_ref ref); /* a string, vector or table field */
ds_fb_ref ds_fb_table_end(ds_fb *fb);

/* Writes the root reference and the 4-character file identifier (NULL for none). On success
 * *data points into the builder (valid until ds_fb_free) and *size is its length. */
int ds_fb_finish(ds_fb *fb, ds_fb_ref root, const char *file_identifier, const uint8_t **data,
                 size_t *size, ds_err *err);

#endif
