/* `distill inspect` of a TFLite file: a bounds-checked FlatBuffers reader walks Model -> SubGraph and
 * lists operators and tensors with their quantization. Reads any TFLite file (first subgraph). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "quant/export/export_common.h"
#include "quant/export/export_tflite.h"
#include "quant/export/export_tflite_schema.h"

typedef struct {
  const uint8_t *b;
  size_t n;
  int bad;   /* an offset pointed outside the buffer */
} fbuf;

/* Bounds checks are written so that no offset from the file can wrap them around. */
static uint32_t u32(fbuf *f, size_t at) {
  if (at > f->n || f->n - at < 4) {
    f->bad = 1;
    return 0;
  }
  return (uint32_t)f->b[at] | (uint32_t)f->b[at + 1] << 8 | (uint32_t)f->b[at + 2] << 16 |
         (uint32_t)f->b[at + 3] << 24;
}

static uint16_t u16(fbuf *f, size_t at) {
  if (at > f->n || f->n - at < 2) {
    f->bad = 1;
    return 0;
  }
  return (uint16_t)(f->b[at] | f->b[at + 1] << 8);
}

/* Position of a table's field, 0 if absent. */
static size_t field(fbuf *f, size_t table, int slot) {
  /* The vtable is at table - soffset (a signed 32-bit offset): anywhere before or after the table. */
  const int64_t vt_at = (int64_t)table - (int32_t)u32(f, table);
  if (f->bad || vt_at < 0 || (uint64_t)vt_at > f->n || f->n - (size_t)vt_at < 4) return f->bad = 1, 0;
  const size_t vt = (size_t)vt_at;
  const uint16_t vsize = u16(f, vt);
  if (4 + 2 * (size_t)slot >= vsize) return 0;
  const uint16_t off = u16(f, vt + 4 + 2 * (size_t)slot);
  return off ? table + off : 0;
}

static size_t deref(fbuf *f, size_t at) { return at ? at + u32(f, at) : 0; }

/* A vector field: position of element 0 and the length. */
static size_t vec(fbuf *f, size_t table, int slot, uint32_t *len) {
  const size_t v = deref(f, field(f, table, slot));
  *len = v ? u32(f, v) : 0;
  if (v && v + 4 + (size_t)*len > f->n) f->bad = 1, *len = 0;
  return v + 4;
}

static int32_t i32_field(fbuf *f, size_t table, int slot, int32_t dflt) {
  const size_t p = field(f, table, slot);
  return p ? (int32_t)u32(f, p) : dflt;
}

static const char *tensor_type(int t) {
  switch (t) {
    case TFL_FLOAT32: return "float32";
    case TFL_INT32: return "int32";
    case TFL_UINT8: return "uint8";
    case TFL_INT64: return "int64";
    case TFL_BOOL: return "bool";
    case TFL_INT16: return "int16";
    case TFL_INT8: return "int8";
    default: return "other";
  }
}

static const char *op_name(int code) {
  switch (code) {
    case TFL_OP_ADD: return "ADD";
    case TFL_OP_FULLY_CONNECTED: return "FULLY_CONNECTED";
    case TFL_OP_MUL: return "MUL";
    case TFL_OP_RESHAPE: return "RESHAPE";
    case TFL_OP_SOFTMAX: return "SOFTMAX";
    case TFL_OP_GATHER: return "GATHER";
    case TFL_OP_TRANSPOSE: return "TRANSPOSE";
    case TFL_OP_MEAN: return "MEAN";
    case TFL_OP_SUB: return "SUB";
    case TFL_OP_SUM: return "SUM";
    case TFL_OP_RSQRT: return "RSQRT";
    case TFL_OP_SQUARED_DIFFERENCE: return "SQUARED_DIFFERENCE";
    case TFL_OP_QUANTIZE: return "QUANTIZE";
    case TFL_OP_BATCH_MATMUL: return "BATCH_MATMUL";
    case TFL_OP_GELU: return "GELU";
    case 32: return "CUSTOM";
    default: return NULL;
  }
}

static void put_str(ds_export_text *o, fbuf *f, size_t at, const char *fmt) {
  const size_t s = deref(f, at);
  const uint32_t n = s ? u32(f, s) : 0;
  if (!s || s + 4 + (size_t)n > f->n) {
    ds_export_text_put(o, fmt, 0, "");
    return;
  }
  ds_export_text_put(o, fmt, (int)n, (const char *)f->b + s + 4);
}

static void put_tensor(ds_export_text *o, fbuf *f, size_t t, uint32_t i) {
  ds_export_text_put(o, "    %4u ", i);
  put_str(o, f, field(f, t, TFL_TENSOR_NAME), "%-40.*s");
  const size_t tp = field(f, t, TFL_TENSOR_TYPE);
  ds_export_text_put(o, " %-7s [", tensor_type(tp && tp < f->n ? (int8_t)f->b[tp] : 0));
  uint32_t nd;
  const size_t sh = vec(f, t, TFL_TENSOR_SHAPE, &nd);
  for (uint32_t d = 0; d < nd && d < 8; d++) ds_export_text_put(o, "%s%d", d ? ", " : "", (int32_t)u32(f, sh + 4 * d));
  ds_export_text_put(o, "]");
  if (i32_field(f, t, TFL_TENSOR_BUFFER, 0) > 0) ds_export_text_put(o, " const");
  const size_t q = deref(f, field(f, t, TFL_TENSOR_QUANTIZATION));
  uint32_t ns = 0, nz = 0;
  const size_t sc = q ? vec(f, q, TFL_QUANT_SCALE, &ns) : 0, zp = q ? vec(f, q, TFL_QUANT_ZERO_POINT, &nz) : 0;
  if (ns > 0) {
    uint32_t bits = u32(f, sc);
    float s0;
    memcpy(&s0, &bits, 4);
    const int64_t z0 = nz ? (int64_t)((uint64_t)u32(f, zp) | (uint64_t)u32(f, zp + 4) << 32) : 0;
    if (ns == 1) ds_export_text_put(o, "  scale %.6g zero_point %lld", (double)s0, (long long)z0);
    else ds_export_text_put(o, "  per-channel (axis %d): %u scales from %.6g", i32_field(f, q, TFL_QUANT_DIMENSION, 0),
                            ns, (double)s0);
  }
  ds_export_text_put(o, "\n");
}

int ds_tflite_describe(const unsigned char *data, size_t size, char **text, ds_err *err) {
  fbuf f = {data, size, 0};
  if (size < 8 || memcmp(data + 4, TFL_FILE_IDENTIFIER, 4) != 0)
    return ds_fail(err, "inspect: not a TFLite file (no TFL3 identifier)");
  ds_export_text o = {0};
  const size_t model = u32(&f, 0);
  uint32_t n_codes, n_sg;
  const size_t codes = vec(&f, model, TFL_MODEL_OPERATOR_CODES, &n_codes);
  const size_t sgs = vec(&f, model, TFL_MODEL_SUBGRAPHS, &n_sg);
  ds_export_text_put(&o, "TFLite model: schema version %d, %u subgraph(s)", i32_field(&f, model, TFL_MODEL_VERSION, 0),
                     n_sg);
  put_str(&o, &f, field(&f, model, TFL_MODEL_DESCRIPTION), ", \"%.*s\"\n");
  if (n_sg == 0 || f.bad) {
    free(o.buf);
    return ds_fail(err, "inspect: malformed TFLite file");
  }
  const size_t g = deref(&f, sgs);
  uint32_t n_t, n_ops, n_in, n_out;
  const size_t tensors = vec(&f, g, TFL_SUBGRAPH_TENSORS, &n_t), ops = vec(&f, g, TFL_SUBGRAPH_OPERATORS, &n_ops);
  const size_t ins = vec(&f, g, TFL_SUBGRAPH_INPUTS, &n_in), outs = vec(&f, g, TFL_SUBGRAPH_OUTPUTS, &n_out);
  ds_export_text_put(&o, "  inputs:");
  for (uint32_t i = 0; i < n_in; i++) ds_export_text_put(&o, " %d", (int32_t)u32(&f, ins + 4 * i));
  ds_export_text_put(&o, "   outputs:");
  for (uint32_t i = 0; i < n_out; i++) ds_export_text_put(&o, " %d", (int32_t)u32(&f, outs + 4 * i));
  ds_export_text_put(&o, "   (tensor indices)\n  operators: %u\n", n_ops);
  for (uint32_t i = 0; i < n_ops && !f.bad; i++) {
    const size_t op = deref(&f, ops + 4 * i);
    const uint32_t ci = (uint32_t)i32_field(&f, op, TFL_OP_OPCODE_INDEX, 0);
    int code = -1;
    if (ci < n_codes) {
      const size_t c = deref(&f, codes + 4 * ci);
      const size_t dp = field(&f, c, TFL_OPCODE_DEPRECATED_BUILTIN);
      const int dep = dp && dp < f.n ? (int8_t)f.b[dp] : 0;
      code = i32_field(&f, c, TFL_OPCODE_BUILTIN, 0);
      if (dep > code) code = dep;
    }
    const char *name = op_name(code);
    if (name) ds_export_text_put(&o, "    %4u %-18s", i, name);
    else ds_export_text_put(&o, "    %4u builtin %-10d", i, code);
    uint32_t ni, no;
    const size_t vi = vec(&f, op, TFL_OP_INPUTS, &ni), vo = vec(&f, op, TFL_OP_OUTPUTS, &no);
    ds_export_text_put(&o, " in");
    for (uint32_t k = 0; k < ni; k++) ds_export_text_put(&o, " %d", (int32_t)u32(&f, vi + 4 * k));
    ds_export_text_put(&o, " -> out");
    for (uint32_t k = 0; k < no; k++) ds_export_text_put(&o, " %d", (int32_t)u32(&f, vo + 4 * k));
    ds_export_text_put(&o, "\n");
  }
  ds_export_text_put(&o, "  tensors: %u\n", n_t);
  for (uint32_t i = 0; i < n_t && !f.bad; i++) put_tensor(&o, &f, deref(&f, tensors + 4 * i), i);
  if (f.bad || o.failed) {
    free(o.buf);
    return ds_fail(err, "inspect: malformed TFLite file (an offset points outside it)");
  }
  *text = o.buf;
  return 0;
}
