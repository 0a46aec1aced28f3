/* The native int8 model file (docs/int8_format.md): magic, version, a header, the activations,
 * weights and ops, the optional id map and vocabulary, and a CRC-32 of everything before it.
 * Every number is little-endian whatever the host; the reader checks each size before using it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "quant/int8/int8.h"

/* ---- a growing byte buffer for writing ---- */
typedef struct {
  uint8_t *p;
  size_t n, cap;
  int oom;
} wbuf;

static void put(wbuf *b, const void *src, size_t n) {
  if (b->oom) return;
  if (b->n + n > b->cap) {
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->n + n) cap *= 2;
    uint8_t *q = realloc(b->p, cap);
    if (!q) {
      b->oom = 1;
      return;
    }
    b->p = q;
    b->cap = cap;
  }
  memcpy(b->p + b->n, src, n);
  b->n += n;
}

static void put_u32(wbuf *b, uint32_t v) {
  const uint8_t x[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
  put(b, x, 4);
}
static void put_i32(wbuf *b, int32_t v) { put_u32(b, (uint32_t)v); }
static void put_f32(wbuf *b, float v) {
  uint32_t u;
  memcpy(&u, &v, 4);
  put_u32(b, u);
}
static void put_name(wbuf *b, const char *s) {
  size_t n = strnlen(s, DS_I8_NAME_MAX - 1);
  put_u32(b, (uint32_t)n);
  put(b, s, n);
}

/* CRC-32 (IEEE 802.3, reflected, as zlib computes it). */
static uint32_t crc32_of(const uint8_t *p, size_t n) {
  uint32_t table[256];
  for (uint32_t i = 0; i < 256; i++) {
    uint32_t c = i;
    for (int k = 0; k < 8; k++) c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    table[i] = c;
  }
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; i++) c = table[(c ^ p[i]) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

int ds_i8_model_save(const ds_i8_model *m, const char *path, ds_err *err) {
  wbuf b = {0};
  put(&b, DS_I8_FILE_MAGIC, 8);
  put_u32(&b, DS_I8_FILE_VERSION);
  const int32_t header[] = {m->vocab, m->max_len, m->dim, m->emb_dim, m->n_classes, m->pooling, m->pad_id,
                            m->n_ids, m->id_map != NULL, m->n_acts, m->n_weights, m->n_ops, m->emb_act,
                            m->logits_act, m->vocab_strings ? m->n_vocab_strings : 0};
  for (size_t i = 0; i < sizeof header / sizeof header[0]; i++) put_i32(&b, header[i]);
  for (int i = 0; i < m->n_acts; i++) {
    const ds_i8_act *a = &m->acts[i];
    put_name(&b, a->name);
    put_i32(&b, (int32_t)a->kind);
    put_i32(&b, a->width);
    put_f32(&b, a->q.scale);
    put_i32(&b, a->q.zero_point);
    put_i32(&b, a->q.qmin);
    put_i32(&b, a->q.qmax);
  }
  for (int i = 0; i < m->n_weights; i++) {
    const ds_i8_weight *w = &m->weights[i];
    put_name(&b, w->name);
    put_i32(&b, w->rows);
    put_i32(&b, w->cols);
    put_i32(&b, w->bias != NULL);
    put(&b, w->data, (size_t)w->rows * w->cols);
    for (int r = 0; r < w->rows; r++) put_f32(&b, w->scale[r]);
    for (int r = 0; w->bias && r < w->rows; r++) put_i32(&b, w->bias[r]);
  }
  for (int k = 0; k < m->n_ops; k++) {
    const ds_i8_op *op = &m->ops[k];
    const int32_t f[] = {(int32_t)op->kind, op->in[0], op->in[1], op->out, op->weight, op->heads, op->head_dim};
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) put_i32(&b, f[i]);
    put_f32(&b, op->eps);
    if (op->kind == DS_I8_OP_LAYERNORM) {
      const int width = m->acts[op->out].width;
      for (int c = 0; c < width; c++) put_f32(&b, op->gamma[c]);
      for (int c = 0; c < width; c++) put_f32(&b, op->beta[c]);
    }
    if (op->kind == DS_I8_OP_GELU) put(&b, op->lut, 256);
  }
  for (int i = 0; m->id_map && i < m->n_ids; i++) put_i32(&b, m->id_map[i]);
  for (int i = 0; m->vocab_strings && i < m->n_vocab_strings; i++) {
    size_t n = strlen(m->vocab_strings[i]);
    put_u32(&b, (uint32_t)n);
    put(&b, m->vocab_strings[i], n);
  }
  if (!b.oom) put_u32(&b, crc32_of(b.p, b.n));
  if (b.oom) {
    free(b.p);
    return ds_fail(err, "%s: out of memory serializing the int8 model", path);
  }
  const int rc = ds_atomic_write(path, b.p, b.n, err);
  free(b.p);
  return rc ? ds_fail_prefix(err, "int8 model") : 0;
}

/* ---- reading: a cursor that fails once and stays failed ---- */
typedef struct {
  const uint8_t *p;
  size_t n, at;
  int bad;
} rbuf;

static const uint8_t *take(rbuf *r, size_t n) {
  if (r->bad || n > r->n - r->at) {
    r->bad = 1;
    return NULL;
  }
  const uint8_t *q = r->p + r->at;
  r->at += n;
  return q;
}
static uint32_t get_u32(rbuf *r) {
  const uint8_t *x = take(r, 4);
  return x ? (uint32_t)x[0] | (uint32_t)x[1] << 8 | (uint32_t)x[2] << 16 | (uint32_t)x[3] << 24 : 0;
}
static int32_t get_i32(rbuf *r) { return (int32_t)get_u32(r); }
static float get_f32(rbuf *r) {
  uint32_t u = get_u32(r);
  float v;
  memcpy(&v, &u, 4);
  return v;
}
static void get_name(rbuf *r, char *out) {
  uint32_t n = get_u32(r);
  const uint8_t *s = n < DS_I8_NAME_MAX ? take(r, n) : NULL;
  if (!s) {
    r->bad = 1;
    out[0] = '\0';
    return;
  }
  memcpy(out, s, n);
  out[n] = '\0';
}
/* Allocates count zeroed elements of mem_size bytes after checking that the file still holds at
 * least count * file_size bytes, so a corrupt count cannot ask for absurd memory. */
static void *get_array(rbuf *r, size_t count, size_t file_size, size_t mem_size) {
  if (r->bad || count > (r->n - r->at) / file_size) {
    r->bad = 1;
    return NULL;
  }
  void *a = calloc(count + 1, mem_size);
  if (!a) r->bad = 1;
  return a;
}

static int read_body(ds_i8_model *m, rbuf *r) {
  int32_t h[15];
  for (int i = 0; i < 15; i++) h[i] = get_i32(r);
  m->vocab = h[0], m->max_len = h[1], m->dim = h[2], m->emb_dim = h[3], m->n_classes = h[4];
  m->pooling = h[5], m->pad_id = h[6], m->n_ids = h[7];
  const int has_map = h[8];
  m->n_acts = h[9], m->n_weights = h[10], m->n_ops = h[11], m->emb_act = h[12], m->logits_act = h[13];
  const int n_strings = h[14];
  if (r->bad || m->n_acts < 1 || m->n_weights < 0 || m->n_ops < 1 || m->n_ids < 1 || n_strings < 0 ||
      m->max_len < 1 || m->max_len > 65536 || m->vocab < 1)
    return -1;
  /* Smallest encodings: an activation 28 bytes, a weight 17, an op 32. */
  m->acts = get_array(r, (size_t)m->n_acts, 28, sizeof(ds_i8_act));
  m->weights = get_array(r, (size_t)m->n_weights, 17, sizeof(ds_i8_weight));
  m->ops = get_array(r, (size_t)m->n_ops, 32, sizeof(ds_i8_op));
  if (!m->acts || !m->weights || !m->ops) return -1;
  for (int i = 0; i < m->n_acts; i++) {
    ds_i8_act *a = &m->acts[i];
    get_name(r, a->name);
    a->kind = (ds_i8_act_kind)get_i32(r);
    a->width = get_i32(r);
    a->q.scale = get_f32(r);
    a->q.zero_point = get_i32(r);
    a->q.qmin = get_i32(r);
    a->q.qmax = get_i32(r);
    if (r->bad || a->width < 1) return -1;
  }
  for (int i = 0; i < m->n_weights; i++) {
    ds_i8_weight *w = &m->weights[i];
    get_name(r, w->name);
    w->rows = get_i32(r);
    w->cols = get_i32(r);
    const int has_bias = get_i32(r);
    if (r->bad || w->rows < 1 || w->cols < 1) return -1;
    const size_t n = (size_t)w->rows * (size_t)w->cols;
    if (!(w->data = get_array(r, n, 1, 1))) return -1;
    memcpy(w->data, take(r, n), n);
    if (!(w->scale = get_array(r, (size_t)w->rows, 4, 4))) return -1;
    for (int k = 0; k < w->rows; k++) w->scale[k] = get_f32(r);
    if (has_bias) {
      if (!(w->bias = get_array(r, (size_t)w->rows, 4, 4))) return -1;
      for (int k = 0; k < w->rows; k++) w->bias[k] = get_i32(r);
    }
  }
  for (int k = 0; k < m->n_ops; k++) {
    ds_i8_op *op = &m->ops[k];
    op->kind = (ds_i8_op_kind)get_i32(r);
    op->in[0] = get_i32(r);
    op->in[1] = get_i32(r);
    op->out = get_i32(r);
    op->weight = get_i32(r);
    op->heads = get_i32(r);
    op->head_dim = get_i32(r);
    op->eps = get_f32(r);
    if (r->bad || op->out < 0 || op->out >= m->n_acts) return -1;
    if (op->kind == DS_I8_OP_LAYERNORM) {
      const int width = m->acts[op->out].width;
      if (!(op->gamma = get_array(r, (size_t)width, 4, 4))) return -1;
      for (int c = 0; c < width; c++) op->gamma[c] = get_f32(r);
      if (!(op->beta = get_array(r, (size_t)width, 4, 4))) return -1;
      for (int c = 0; c < width; c++) op->beta[c] = get_f32(r);
    }
    if (op->kind == DS_I8_OP_GELU) {
      const uint8_t *lut = take(r, 256);
      if (!lut) return -1;
      memcpy(op->lut, lut, 256);
    }
  }
  if (has_map) {
    if (!(m->id_map = get_array(r, (size_t)m->n_ids, 4, 4))) return -1;
    for (int i = 0; i < m->n_ids; i++) m->id_map[i] = get_i32(r);
  }
  if (n_strings > 0) {
    /* One allocation: the pointers, then the text, as checkpoints hand vocabularies out. */
    const size_t start = r->at;
    size_t text = 0;
    for (int i = 0; i < n_strings; i++) {
      uint32_t n = get_u32(r);
      if (!take(r, n)) return -1;
      text += n + 1;
    }
    char **v = malloc(sizeof(char *) * (size_t)n_strings + text);
    if (!v) return -1;
    char *dst = (char *)(v + n_strings);
    r->at = start;
    for (int i = 0; i < n_strings; i++) {
      uint32_t n = get_u32(r);
      memcpy(dst, take(r, n), n);
      dst[n] = '\0';
      v[i] = dst;
      dst += n + 1;
    }
    m->vocab_strings = v;
    m->n_vocab_strings = n_strings;
  }
  return r->bad ? -1 : 0;
}

int ds_i8_file_is_native(const char *path) {
  FILE *f = fopen(path, "rb");
  char magic[8];
  int yes = f && fread(magic, 1, 8, f) == 8 && memcmp(magic, DS_I8_FILE_MAGIC, 8) == 0;
  if (f) fclose(f);
  return yes;
}

int ds_i8_model_load(ds_i8_model *m, const char *path, ds_err *err) {
  memset(m, 0, sizeof *m);
  FILE *f = fopen(path, "rb");
  if (!f) return ds_fail(err, "%s: cannot open the int8 model file", path);
  uint8_t *data = NULL;
  long size = -1;
  if (fseek(f, 0, SEEK_END) == 0) size = ftell(f);
  if (size >= 0 && fseek(f, 0, SEEK_SET) == 0) data = malloc((size_t)size + 1);
  const int read_ok = data && fread(data, 1, (size_t)size, f) == (size_t)size;
  fclose(f);
  int rc = -1;
  if (!read_ok) {
    ds_fail(err, "%s: cannot read the int8 model file", path);
  } else if (size < 16 || memcmp(data, DS_I8_FILE_MAGIC, 8) != 0) {
    ds_fail(err, "%s: not a distill int8 model (no '%s' magic at the start)", path, DS_I8_FILE_MAGIC);
  } else {
    rbuf r = {data, (size_t)size - 4, 8, 0};
    const uint32_t version = get_u32(&r);
    rbuf tail = {data, (size_t)size, (size_t)size - 4, 0};
    if (version != DS_I8_FILE_VERSION) {
      ds_fail(err, "%s: int8 model format version %u is not supported (this distill reads version %d)", path,
                 version, DS_I8_FILE_VERSION);
    } else if (get_u32(&tail) != crc32_of(data, (size_t)size - 4)) {
      ds_fail(err, "%s: checksum mismatch: the int8 model file is truncated or corrupt", path);
    } else if (read_body(m, &r) || r.at != r.n) {
      ds_fail(err, "%s: malformed int8 model (bad sizes near byte %zu)", path, r.at);
    } else if (ds_i8_model_prepare(m, err) == 0) {
      rc = 0;
    } else {
      char msg[sizeof err->msg];
      snprintf(msg, sizeof msg, "%s", err ? err->msg : "");
      ds_fail(err, "%s: %s", path, msg);
    }
  }
  free(data);
  if (rc) ds_i8_model_free(m);
  return rc;
}
