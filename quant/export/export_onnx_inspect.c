/* `distill inspect` of an ONNX file: a small protobuf reader walks ModelProto and lists operators,
 * inputs and outputs, initializers, and the scale and zero point behind every QuantizeLinear /
 * DequantizeLinear. Reads any ONNX model; fields it does not know are skipped. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "quant/export/export_common.h"
#include "quant/export/export_onnx.h"
#include "quant/export/export_onnx_proto.h"

typedef struct {
  const uint8_t *p, *end;
} span;

typedef struct {
  int field, wire;
  uint64_t v;   /* varint or fixed value */
  span body;    /* length-delimited body */
} pb_field;

static int rd_varint(span *s, uint64_t *v) {
  *v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (s->p >= s->end) return -1;
    const uint8_t b = *s->p++;
    *v |= (uint64_t)(b & 0x7f) << shift;
    if (!(b & 0x80)) return 0;
  }
  return -1;
}

/* Next field of a message: 1, 0 at its end, -1 if malformed. */
static int next(span *s, pb_field *f) {
  memset(f, 0, sizeof *f);
  if (s->p >= s->end) return 0;
  uint64_t tag;
  if (rd_varint(s, &tag)) return -1;
  f->field = (int)(tag >> 3);
  f->wire = (int)(tag & 7);
  switch (f->wire) {
    case DS_PB_VARINT: return rd_varint(s, &f->v) ? -1 : 1;
    case DS_PB_I64:
    case DS_PB_I32: {
      const size_t n = f->wire == DS_PB_I64 ? 8 : 4;
      if ((size_t)(s->end - s->p) < n) return -1;
      f->v = 0;
      for (size_t i = 0; i < n; i++) f->v |= (uint64_t)s->p[i] << (8 * i);
      s->p += n;
      return 1;
    }
    case DS_PB_LEN: {
      uint64_t n;
      if (rd_varint(s, &n) || n > (uint64_t)(s->end - s->p)) return -1;
      f->body.p = s->p;
      f->body.end = s->p + n;
      s->p += n;
      return 1;
    }
    default: return -1;
  }
}

static const char *type_name(int t) {
  switch (t) {
    case ONNX_FLOAT: return "float";
    case ONNX_UINT8: return "uint8";
    case ONNX_INT8: return "int8";
    case ONNX_UINT16: return "uint16";
    case ONNX_INT16: return "int16";
    case ONNX_INT32: return "int32";
    case ONNX_INT64: return "int64";
    default: return "other";
  }
}

/* An initializer's header and (for scalars and short vectors) values, as read from TensorProto. */
typedef struct {
  span name;
  int type, ndim;
  int64_t dims[8];
  span raw;
} tensor_info;

static int read_tensor(span s, tensor_info *t) {
  memset(t, 0, sizeof *t);
  pb_field f;
  int r;
  while ((r = next(&s, &f)) > 0) {
    if (f.field == ONNX_TENSOR_NAME && f.wire == DS_PB_LEN) t->name = f.body;
    else if (f.field == ONNX_TENSOR_DATA_TYPE) t->type = (int)f.v;
    else if (f.field == ONNX_TENSOR_RAW_DATA && f.wire == DS_PB_LEN) t->raw = f.body;
    else if (f.field == ONNX_TENSOR_DIMS && f.wire == DS_PB_LEN) {
      span d = f.body;
      uint64_t v;
      while (d.p < d.end && t->ndim < 8 && rd_varint(&d, &v) == 0) t->dims[t->ndim++] = (int64_t)v;
    } else if (f.field == ONNX_TENSOR_DIMS && t->ndim < 8) {
      t->dims[t->ndim++] = (int64_t)f.v;
    }
  }
  return r;
}

static int span_eq(span a, const char *s) {
  const size_t n = strlen(s);
  return (size_t)(a.end - a.p) == n && memcmp(a.p, s, n) == 0;
}

/* Element i of a raw little-endian tensor as a double. */
static double raw_value(const tensor_info *t, size_t i) {
  const size_t es = ds_onnx_elem_size(t->type);
  if (!es || (i + 1) * es > (size_t)(t->raw.end - t->raw.p)) return 0.0;
  uint64_t u = 0;
  for (size_t b = 0; b < es; b++) u |= (uint64_t)t->raw.p[i * es + b] << (8 * b);
  switch (t->type) {
    case ONNX_FLOAT: { uint32_t x = (uint32_t)u; float f; memcpy(&f, &x, 4); return f; }
    case ONNX_INT8: return (int8_t)u;
    case ONNX_INT16: return (int16_t)u;
    case ONNX_INT32: return (int32_t)u;
    case ONNX_INT64: return (double)(int64_t)u;
    default: return (double)u;
  }
}

static size_t numel(const tensor_info *t) {
  size_t n = 1;
  for (int d = 0; d < t->ndim; d++) n *= (size_t)t->dims[d];
  return n;
}

static void put_dims(ds_export_text *o, const int64_t *dims, int n) {
  ds_export_text_put(o, "[");
  for (int d = 0; d < n; d++) ds_export_text_put(o, "%s%lld", d ? ", " : "", (long long)dims[d]);
  ds_export_text_put(o, "]");
}

static void put_value_info(ds_export_text *o, span s) {
  pb_field f;
  span name = {0, 0};
  int type = 0, nd = 0;
  int64_t dims[8];
  while (next(&s, &f) > 0) {
    if (f.field == ONNX_VALUE_NAME && f.wire == DS_PB_LEN) name = f.body;
    if (f.field != ONNX_VALUE_TYPE || f.wire != DS_PB_LEN) continue;
    span ty = f.body;
    pb_field g;
    while (next(&ty, &g) > 0) {
      if (g.field != ONNX_TYPE_TENSOR || g.wire != DS_PB_LEN) continue;
      span tt = g.body;
      pb_field h;
      while (next(&tt, &h) > 0) {
        if (h.field == ONNX_TTYPE_ELEM_TYPE) type = (int)h.v;
        if (h.field != ONNX_TTYPE_SHAPE || h.wire != DS_PB_LEN) continue;
        span sh = h.body;
        pb_field dim;
        while (next(&sh, &dim) > 0 && nd < 8) {
          span ds = dim.body;
          pb_field dv;
          dims[nd] = -1;
          while (next(&ds, &dv) > 0)
            if (dv.field == ONNX_DIM_VALUE) dims[nd] = (int64_t)dv.v;
          nd++;
        }
      }
    }
  }
  ds_export_text_put(o, "    %-24.*s %-7s ", (int)(name.end - name.p), (const char *)name.p, type_name(type));
  put_dims(o, dims, nd);
  ds_export_text_put(o, "\n");
}

typedef struct {
  span op, in[3], out;
  int n_in;
} node_info;

static void read_node(span s, node_info *n) {
  memset(n, 0, sizeof *n);
  pb_field f;
  while (next(&s, &f) > 0) {
    if (f.wire != DS_PB_LEN) continue;
    if (f.field == ONNX_NODE_OP_TYPE) n->op = f.body;
    else if (f.field == ONNX_NODE_OUTPUT && !n->out.p) n->out = f.body;
    else if (f.field == ONNX_NODE_INPUT && n->n_in < 3) n->in[n->n_in++] = f.body;
  }
}

/* Equal bytes. An absent field is the empty span {NULL, NULL}, which memcmp must not be given. */
static int span_same(span a, span b) {
  const size_t n = (size_t)(a.end - a.p);
  return n == (size_t)(b.end - b.p) && (n == 0 || memcmp(a.p, b.p, n) == 0);
}

static const tensor_info *find_init(const tensor_info *inits, int n, span name) {
  for (int i = 0; i < n; i++)
    if (span_same(inits[i].name, name)) return &inits[i];
  return NULL;
}

static int describe_graph(ds_export_text *o, span g, ds_err *err) {
  /* Pass 1: initializers (their values give the Q/DQ parameters). */
  int n_init = 0, cap = 0;
  tensor_info *inits = NULL;
  pb_field f;
  span s = g;
  int r;
  while ((r = next(&s, &f)) > 0) {
    if (f.field != ONNX_GRAPH_INITIALIZER || f.wire != DS_PB_LEN) continue;
    if (n_init == cap) {
      cap = cap ? 2 * cap : 64;
      tensor_info *t = realloc(inits, sizeof *t * (size_t)cap);
      if (!t) {
        free(inits);
        return ds_fail(err, "inspect: out of memory");
      }
      inits = t;
    }
    if (read_tensor(f.body, &inits[n_init++]) < 0) r = -1;
  }
  if (r < 0) {
    free(inits);
    return ds_fail(err, "inspect: malformed ONNX graph");
  }
  ds_export_text_put(o, "  inputs:\n");
  for (s = g; next(&s, &f) > 0;)
    if (f.field == ONNX_GRAPH_INPUT && f.wire == DS_PB_LEN) put_value_info(o, f.body);
  ds_export_text_put(o, "  outputs:\n");
  for (s = g; next(&s, &f) > 0;)
    if (f.field == ONNX_GRAPH_OUTPUT && f.wire == DS_PB_LEN) put_value_info(o, f.body);
  /* Operators: counts by type, in order of first use. */
  span ops[64];
  int counts[64], n_ops = 0, n_nodes = 0;
  for (s = g; next(&s, &f) > 0;) {
    if (f.field != ONNX_GRAPH_NODE || f.wire != DS_PB_LEN) continue;
    node_info n;
    read_node(f.body, &n);
    n_nodes++;
    int k = 0;
    while (k < n_ops && !span_same(ops[k], n.op)) k++;
    if (k == n_ops && n_ops < 64) ops[n_ops] = n.op, counts[n_ops++] = 0;
    if (k < 64) counts[k]++;
  }
  ds_export_text_put(o, "  operators: %d nodes\n", n_nodes);
  for (int k = 0; k < n_ops; k++)
    ds_export_text_put(o, "    %-24.*s x%d\n", (int)(ops[k].end - ops[k].p), (const char *)ops[k].p, counts[k]);
  ds_export_text_put(o, "  initializers: %d\n", n_init);
  for (int i = 0; i < n_init; i++) {
    ds_export_text_put(o, "    %-40.*s %-7s ", (int)(inits[i].name.end - inits[i].name.p),
                       (const char *)inits[i].name.p, type_name(inits[i].type));
    put_dims(o, inits[i].dims, inits[i].ndim);
    ds_export_text_put(o, "\n");
  }
  /* Quantization: the tensor each Q/DQ node produces, with its scale and zero point. */
  ds_export_text_put(o, "  quantization (QuantizeLinear / DequantizeLinear outputs):\n");
  for (s = g; next(&s, &f) > 0;) {
    if (f.field != ONNX_GRAPH_NODE || f.wire != DS_PB_LEN) continue;
    node_info n;
    read_node(f.body, &n);
    if (!(span_eq(n.op, "QuantizeLinear") || span_eq(n.op, "DequantizeLinear")) || n.n_in < 2) continue;
    const tensor_info *sc = find_init(inits, n_init, n.in[1]);
    const tensor_info *zp = n.n_in > 2 ? find_init(inits, n_init, n.in[2]) : NULL;
    ds_export_text_put(o, "    %-40.*s %s ", (int)(n.out.end - n.out.p), (const char *)n.out.p,
                       span_eq(n.op, "QuantizeLinear") ? "Q " : "DQ");
    if (!sc) {
      ds_export_text_put(o, "scale from a tensor\n");
      continue;
    }
    const size_t ns = numel(sc);
    if (ns == 1) ds_export_text_put(o, "scale %.6g", raw_value(sc, 0));
    else ds_export_text_put(o, "per-channel, %zu scales in [%.6g ...]", ns, raw_value(sc, 0));
    if (zp) ds_export_text_put(o, " zero_point %g (%s)", raw_value(zp, 0), type_name(zp->type));
    ds_export_text_put(o, "\n");
  }
  free(inits);
  return 0;
}

int ds_onnx_describe(const unsigned char *data, size_t size, char **text, ds_err *err) {
  ds_export_text o = {0};
  span s = {data, data + size};
  pb_field f;
  int r;
  int64_t ir = 0, opset = 0;
  span producer = {0, 0}, graph = {0, 0};
  while ((r = next(&s, &f)) > 0) {
    if (f.field == ONNX_MODEL_IR_VERSION && f.wire == DS_PB_VARINT) ir = (int64_t)f.v;
    else if (f.field == ONNX_MODEL_PRODUCER_NAME && f.wire == DS_PB_LEN) producer = f.body;
    else if (f.field == ONNX_MODEL_GRAPH && f.wire == DS_PB_LEN) graph = f.body;
    else if (f.field == ONNX_MODEL_OPSET_IMPORT && f.wire == DS_PB_LEN) {
      span os = f.body;
      pb_field g;
      while (next(&os, &g) > 0)
        if (g.field == ONNX_OPSET_VERSION) opset = (int64_t)g.v;
    }
  }
  if (r < 0 || !graph.p) return ds_fail(err, "inspect: not a readable ONNX model");
  ds_export_text_put(&o, "ONNX model: IR version %lld, opset %lld, producer %.*s\n", (long long)ir,
                     (long long)opset, (int)(producer.end - producer.p), producer.p ? (const char *)producer.p : "");
  if (describe_graph(&o, graph, err)) {
    free(o.buf);
    return -1;
  }
  if (o.failed) {
    free(o.buf);
    return ds_fail(err, "inspect: out of memory");
  }
  *text = o.buf;
  return 0;
}
