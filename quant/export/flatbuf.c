/* FlatBuffers builder, back to front (see flatbuf.h). Positions are counted from the buffer's end. */
#include "quant/export/flatbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ds_fb_init(ds_fb *fb) {
  memset(fb, 0, sizeof *fb);
  fb->minalign = 1;
}

void ds_fb_free(ds_fb *fb) {
  free(fb->buf);
  memset(fb, 0, sizeof *fb);
}

static void fail(ds_fb *fb, int code) {
  if (!fb->failed) fb->failed = code;
}

/* Room for n more bytes in front; the content moves to the end of a larger block when it grows. */
static int grow(ds_fb *fb, size_t n) {
  if (fb->failed) return -1;
  if (fb->cap - fb->used >= n) return 0;
  if (fb->used + n > UINT32_MAX) {  /* offsets are 32-bit */
    fail(fb, DS_FB_ERR_SIZE);
    return -1;
  }
  size_t cap = fb->cap ? fb->cap : 1024;
  while (cap - fb->used < n) cap *= 2;
  uint8_t *b = malloc(cap);
  if (!b) {
    fail(fb, DS_FB_ERR_NOMEM);
    return -1;
  }
  if (fb->used) memcpy(b + cap - fb->used, fb->buf + fb->cap - fb->used, fb->used);
  free(fb->buf);
  fb->buf = b;
  fb->cap = cap;
  return 0;
}

static uint8_t *front(ds_fb *fb) { return fb->buf + fb->cap - fb->used; }

static void pad(ds_fb *fb, size_t n) {
  if (n == 0 || grow(fb, n)) return;
  fb->used += n;
  memset(front(fb), 0, n);
}

/* Pads so that after `additional` more bytes the position is a multiple of `size`: the next
 * size-byte scalar written then lands aligned in the finished buffer. */
static void prep(ds_fb *fb, size_t size, size_t additional) {
  if (size > fb->minalign) fb->minalign = size;
  pad(fb, (~(fb->used + additional) + 1) & (size - 1));
}

static void push_le(ds_fb *fb, uint64_t v, size_t n) {
  if (grow(fb, n)) return;
  fb->used += n;
  uint8_t *p = front(fb);
  for (size_t i = 0; i < n; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static int check_outside_table(ds_fb *fb) {
  if (fb->in_table) fail(fb, DS_FB_ERR_STATE);
  return fb->failed ? -1 : 0;
}

ds_fb_ref ds_fb_string(ds_fb *fb, const char *s) {
  if (check_outside_table(fb)) return 0;
  const size_t n = strlen(s);
  prep(fb, 4, n + 1);
  push_le(fb, 0, 1); /* strings keep a terminating NUL for C readers */
  if (grow(fb, n)) return 0;
  fb->used += n;
  memcpy(front(fb), s, n);
  push_le(fb, n, 4);
  return fb->failed ? 0 : (ds_fb_ref)fb->used;
}

/* A vector of n elements of `size` bytes whose element i is get(v, i). */
static ds_fb_ref vector_scalars(ds_fb *fb, const void *v, size_t n, size_t size, size_t align,
                                uint64_t (*get)(const void *, size_t)) {
  if (check_outside_table(fb)) return 0;
  prep(fb, 4, n * size);
  prep(fb, align, n * size);
  for (size_t i = n; i-- > 0;) push_le(fb, get(v, i), size);
  push_le(fb, n, 4);
  return fb->failed ? 0 : (ds_fb_ref)fb->used;
}

static uint64_t get_i8(const void *v, size_t i) { return (uint8_t)((const int8_t *)v)[i]; }
static uint64_t get_u8(const void *v, size_t i) { return ((const uint8_t *)v)[i]; }
static uint64_t get_i32(const void *v, size_t i) { return (uint32_t)((const int32_t *)v)[i]; }
static uint64_t get_i64(const void *v, size_t i) { return (uint64_t)((const int64_t *)v)[i]; }
static uint64_t get_f32(const void *v, size_t i) {
  uint32_t u;
  memcpy(&u, (const float *)v + i, sizeof u);
  return u;
}

ds_fb_ref ds_fb_vector_i8(ds_fb *fb, const int8_t *v, size_t n) { return vector_scalars(fb, v, n, 1, 1, get_i8); }
ds_fb_ref ds_fb_vector_u8(ds_fb *fb, const uint8_t *v, size_t n) { return vector_scalars(fb, v, n, 1, 1, get_u8); }
ds_fb_ref ds_fb_vector_i32(ds_fb *fb, const int32_t *v, size_t n) {
  return vector_scalars(fb, v, n, 4, 4, get_i32);
}
ds_fb_ref ds_fb_vector_i64(ds_fb *fb, const int64_t *v, size_t n) {
  return vector_scalars(fb, v, n, 8, 8, get_i64);
}
ds_fb_ref ds_fb_vector_f32(ds_fb *fb, const float *v, size_t n) {
  return vector_scalars(fb, v, n, 4, 4, get_f32);
}

ds_fb_ref ds_fb_vector_bytes(ds_fb *fb, const void *data, size_t n, size_t align) {
  if (align == 0 || align > 16 || (align & (align - 1))) fail(fb, DS_FB_ERR_SIZE);
  if (check_outside_table(fb)) return 0;
  prep(fb, 4, n);
  prep(fb, align, n);
  if (grow(fb, n)) return 0;
  fb->used += n;
  if (n) memcpy(front(fb), data, n);
  push_le(fb, n, 4);
  return fb->failed ? 0 : (ds_fb_ref)fb->used;
}

ds_fb_ref ds_fb_vector_refs(ds_fb *fb, const ds_fb_ref *refs, size_t n) {
  if (check_outside_table(fb)) return 0;
  prep(fb, 4, 4 * n);
  for (size_t i = n; i-- > 0;) {
    if (refs[i] == 0 || refs[i] > fb->used) fail(fb, DS_FB_ERR_STATE);
    push_le(fb, fb->used + 4 - refs[i], 4); /* distance from this slot forward to the object */
  }
  push_le(fb, n, 4);
  return fb->failed ? 0 : (ds_fb_ref)fb->used;
}

void ds_fb_table_start(ds_fb *fb) {
  if (fb->in_table) fail(fb, DS_FB_ERR_STATE);
  fb->in_table = 1;
  fb->table_start = fb->used;
  fb->n_fields = 0;
  memset(fb->field, 0, sizeof fb->field);
}

static void add_scalar(ds_fb *fb, int slot, uint64_t v, size_t size) {
  if (!fb->in_table) fail(fb, DS_FB_ERR_STATE);
  if (slot < 0 || slot >= DS_FB_MAX_FIELDS) fail(fb, DS_FB_ERR_SLOT);
  if (fb->failed) return;
  prep(fb, size, 0);
  push_le(fb, v, size);
  fb->field[slot] = (ds_fb_ref)fb->used;
  if (slot + 1 > fb->n_fields) fb->n_fields = slot + 1;
}

void ds_fb_add_u8(ds_fb *fb, int slot, uint8_t v) { add_scalar(fb, slot, v, 1); }
void ds_fb_add_i8(ds_fb *fb, int slot, int8_t v) { add_scalar(fb, slot, (uint8_t)v, 1); }
void ds_fb_add_i32(ds_fb *fb, int slot, int32_t v) { add_scalar(fb, slot, (uint32_t)v, 4); }
void ds_fb_add_u32(ds_fb *fb, int slot, uint32_t v) { add_scalar(fb, slot, v, 4); }
void ds_fb_add_i64(ds_fb *fb, int slot, int64_t v) { add_scalar(fb, slot, (uint64_t)v, 8); }
void ds_fb_add_f32(ds_fb *fb, int slot, float v) {
  uint32_t u;
  memcpy(&u, &v, sizeof u);
  add_scalar(fb, slot, u, 4);
}

void ds_fb_add_ref(ds_fb *fb, int slot, ds_fb_ref ref) {
  if (ref == 0) return; /* an absent object: the field keeps its default (none) */
  if (!fb->in_table) fail(fb, DS_FB_ERR_STATE);
  if (slot < 0 || slot >= DS_FB_MAX_FIELDS) fail(fb, DS_FB_ERR_SLOT);
  if (fb->failed) return;
  prep(fb, 4, 0);
  if (ref > fb->used) {
    fail(fb, DS_FB_ERR_STATE);
    return;
  }
  push_le(fb, fb->used + 4 - ref, 4);
  fb->field[slot] = (ds_fb_ref)fb->used;
  if (slot + 1 > fb->n_fields) fb->n_fields = slot + 1;
}

ds_fb_ref ds_fb_table_end(ds_fb *fb) {
  if (!fb->in_table) fail(fb, DS_FB_ERR_STATE);
  if (fb->failed) return 0;
  /* The table starts with the signed distance to its vtable, patched once the vtable is placed. */
  prep(fb, 4, 0);
  push_le(fb, 0, 4);
  const size_t obj = fb->used, obj_size = obj - fb->table_start;
  if (obj_size > UINT16_MAX || 4 + 2 * (size_t)fb->n_fields > UINT16_MAX) {
    fail(fb, DS_FB_ERR_SIZE);
    return 0;
  }
  for (int s = fb->n_fields - 1; s >= 0; s--)
    push_le(fb, fb->field[s] ? obj - fb->field[s] : 0, 2); /* field's offset inside the table */
  push_le(fb, obj_size, 2);
  push_le(fb, 4 + 2 * (size_t)fb->n_fields, 2);
  if (fb->failed) return 0;
  const size_t vt = fb->used;
  const uint32_t soff = (uint32_t)(vt - obj); /* table address minus vtable address */
  uint8_t *p = fb->buf + fb->cap - obj;
  for (int i = 0; i < 4; i++) p[i] = (uint8_t)(soff >> (8 * i));
  fb->in_table = 0;
  return (ds_fb_ref)obj;
}

int ds_fb_finish(ds_fb *fb, ds_fb_ref root, const char *file_identifier, const uint8_t **data,
                 size_t *size, ds_err *err) {
  if (fb->in_table) fail(fb, DS_FB_ERR_STATE);
  if (root == 0 || root > fb->used) fail(fb, DS_FB_ERR_STATE);
  const size_t id_len = file_identifier ? 4 : 0;
  if (file_identifier && strlen(file_identifier) != 4) fail(fb, DS_FB_ERR_SIZE);
  if (!fb->failed) {
    prep(fb, fb->minalign > 4 ? fb->minalign : 4, 4 + id_len);
    for (size_t i = id_len; i-- > 0;) push_le(fb, (uint8_t)file_identifier[i], 1);
    prep(fb, 4, 0);
    push_le(fb, fb->used + 4 - root, 4);
  }
  switch (fb->failed) {
    case DS_FB_OK: break;
    case DS_FB_ERR_NOMEM: return ds_fail(err, "flatbuffer builder: out of memory at %zu bytes", fb->used);
    case DS_FB_ERR_SLOT: return ds_fail(err, "flatbuffer builder: field slot outside [0, %d)", DS_FB_MAX_FIELDS);
    case DS_FB_ERR_SIZE: return ds_fail(err, "flatbuffer builder: a table, identifier or buffer of a bad size");
    default: return ds_fail(err, "flatbuffer builder: calls out of order (object written inside a table?)");
  }
  fb->result = front(fb);
  *data = fb->result;
  *size = fb->used;
  return 0;
}
