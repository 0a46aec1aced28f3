/* TFLite graph records and their serialization (export_tflite_build.h). */
#include "quant/export/export_tflite_build.h"

#include <stdlib.h>
#include <string.h>

#include "quant/export/export_common.h"
#include "quant/export/export_tflite_schema.h"
#include "quant/export/flatbuf.h"

static int grow(void **p, int *cap, int need, size_t elem) {
  if (need <= *cap) return 0;
  int cap2 = *cap ? *cap * 2 : 64;
  while (cap2 < need) cap2 *= 2;
  void *q = realloc(*p, (size_t)cap2 * elem);
  if (!q) return -1;
  memset((char *)q + (size_t)*cap * elem, 0, (size_t)(cap2 - *cap) * elem);
  *p = q;
  *cap = cap2;
  return 0;
}

void tfl_graph_init(tfl_graph *g) {
  memset(g, 0, sizeof *g);
  /* Buffer 0: the empty buffer (TFLite's convention for tensors without data). */
  if (grow((void **)&g->buffers, &g->cap_buffers, 1, sizeof *g->buffers)) g->failed = 1;
  int cap = 0;
  if (grow((void **)&g->buffer_size, &cap, g->cap_buffers, sizeof *g->buffer_size)) g->failed = 1;
  g->n_buffers = 1;
}

void tfl_graph_free(tfl_graph *g) {
  for (int i = 0; i < g->n_tensors; i++) {
    free(g->tensors[i].scale);
    free(g->tensors[i].zero_point);
  }
  for (int i = 0; i < g->n_ops; i++) free(g->ops[i].opt.new_shape);
  for (int i = 0; i < g->n_buffers; i++) free(g->buffers[i]);
  free(g->tensors);
  free(g->ops);
  free(g->buffers);
  free(g->buffer_size);
  memset(g, 0, sizeof *g);
}

static int add_buffer(tfl_graph *g, const void *data, size_t n) {
  const int old_cap = g->cap_buffers;
  if (grow((void **)&g->buffers, &g->cap_buffers, g->n_buffers + 1, sizeof *g->buffers)) return -1;
  if (g->cap_buffers != old_cap) {
    int cap = old_cap;
    if (grow((void **)&g->buffer_size, &cap, g->cap_buffers, sizeof *g->buffer_size)) return -1;
  }
  uint8_t *b = malloc(n ? n : 1);
  if (!b) return -1;
  memcpy(b, data, n);
  g->buffers[g->n_buffers] = b;
  g->buffer_size[g->n_buffers] = n;
  return g->n_buffers++;
}

int tfl_tensor_add(tfl_graph *g, const char *name, int type, int ndim, const int32_t *shape, int n_q,
                   const float *scale, const int64_t *zp, int q_dim, const void *data, size_t nbytes) {
  if (g->failed || grow((void **)&g->tensors, &g->cap_tensors, g->n_tensors + 1, sizeof *g->tensors)) {
    g->failed = 1;
    return -1;
  }
  tfl_tensor *t = &g->tensors[g->n_tensors];
  memset(t, 0, sizeof *t);
  strncpy(t->name, name, sizeof t->name - 1);
  t->type = type;
  t->ndim = ndim;
  memcpy(t->shape, shape, sizeof(int32_t) * (size_t)ndim);
  t->q_dim = q_dim;
  if (n_q > 0) {
    t->scale = malloc(sizeof(float) * (size_t)n_q);
    t->zero_point = malloc(sizeof(int64_t) * (size_t)n_q);
    if (!t->scale || !t->zero_point) {
      free(t->scale), free(t->zero_point);
      g->failed = 1;
      return -1;
    }
    memcpy(t->scale, scale, sizeof(float) * (size_t)n_q);
    memcpy(t->zero_point, zp, sizeof(int64_t) * (size_t)n_q);
    t->n_q = n_q;
  }
  if (data) {
    t->buffer = add_buffer(g, data, nbytes);
    if (t->buffer < 0) {
      free(t->scale), free(t->zero_point);
      g->failed = 1;
      return -1;
    }
  }
  return g->n_tensors++;
}

int tfl_tensor_q(tfl_graph *g, const char *name, int type, int ndim, const int32_t *shape, float scale,
                 int64_t zp, const void *data, size_t nbytes) {
  return tfl_tensor_add(g, name, type, ndim, shape, 1, &scale, &zp, 0, data, nbytes);
}

void tfl_op_add(tfl_graph *g, int builtin, const int *in, int n_in, const int *out, int n_out,
                const tfl_options *opt) {
  if (g->failed || grow((void **)&g->ops, &g->cap_ops, g->n_ops + 1, sizeof *g->ops)) {
    g->failed = 1;
    if (opt) free(opt->new_shape);
    return;
  }
  tfl_op *op = &g->ops[g->n_ops++];
  memset(op, 0, sizeof *op);
  op->builtin = builtin;
  for (int i = 0; i < n_in; i++) {
    op->inputs[i] = in[i];
    if (in[i] < 0) g->failed = 1;
  }
  for (int i = 0; i < n_out; i++) {
    op->outputs[i] = out[i];
    if (out[i] < 0) g->failed = 1;
  }
  op->n_in = n_in;
  op->n_out = n_out;
  if (opt) op->opt = *opt;
}

/* ---- serialization ---- */

static ds_fb_ref write_options(ds_fb *fb, const tfl_options *o) {
  ds_fb_ref shape = 0;
  if (o->type == TFL_OPTIONS_RESHAPE) shape = ds_fb_vector_i32(fb, o->new_shape, (size_t)o->n_new_shape);
  ds_fb_table_start(fb);
  switch (o->type) {
    case TFL_OPTIONS_FULLY_CONNECTED: ds_fb_add_i8(fb, TFL_FC_KEEP_NUM_DIMS, 0); break;
    case TFL_OPTIONS_SOFTMAX: ds_fb_add_f32(fb, TFL_SOFTMAX_BETA, o->f); break;
    case TFL_OPTIONS_RESHAPE: ds_fb_add_ref(fb, TFL_RESHAPE_NEW_SHAPE, shape); break;
    case TFL_OPTIONS_REDUCER: ds_fb_add_u8(fb, TFL_REDUCER_KEEP_DIMS, (uint8_t)o->i[0]); break;
    case TFL_OPTIONS_GATHER:
      ds_fb_add_i32(fb, TFL_GATHER_AXIS, o->i[0]);
      ds_fb_add_i32(fb, TFL_GATHER_BATCH_DIMS, o->i[1]);
      break;
    case TFL_OPTIONS_BATCH_MATMUL:
      ds_fb_add_u8(fb, TFL_BMM_ADJ_X, (uint8_t)o->i[0]);
      ds_fb_add_u8(fb, TFL_BMM_ADJ_Y, (uint8_t)o->i[1]);
      break;
    case TFL_OPTIONS_GELU: ds_fb_add_u8(fb, TFL_GELU_APPROXIMATE, (uint8_t)o->i[0]); break;
    default: break; /* ADD, MUL, SUB, TRANSPOSE: defaults (no fused activation) */
  }
  return ds_fb_table_end(fb);
}

static ds_fb_ref write_tensor(ds_fb *fb, const tfl_tensor *t) {
  const ds_fb_ref shape = ds_fb_vector_i32(fb, t->shape, (size_t)t->ndim), name = ds_fb_string(fb, t->name);
  ds_fb_ref q = 0;
  if (t->n_q > 0) {
    const ds_fb_ref sc = ds_fb_vector_f32(fb, t->scale, (size_t)t->n_q);
    const ds_fb_ref zp = ds_fb_vector_i64(fb, t->zero_point, (size_t)t->n_q);
    ds_fb_table_start(fb);
    ds_fb_add_ref(fb, TFL_QUANT_SCALE, sc);
    ds_fb_add_ref(fb, TFL_QUANT_ZERO_POINT, zp);
    ds_fb_add_i32(fb, TFL_QUANT_DIMENSION, t->q_dim);
    q = ds_fb_table_end(fb);
  }
  ds_fb_table_start(fb);
  ds_fb_add_ref(fb, TFL_TENSOR_SHAPE, shape);
  ds_fb_add_i8(fb, TFL_TENSOR_TYPE, (int8_t)t->type);
  ds_fb_add_u32(fb, TFL_TENSOR_BUFFER, (uint32_t)t->buffer);
  ds_fb_add_ref(fb, TFL_TENSOR_NAME, name);
  ds_fb_add_ref(fb, TFL_TENSOR_QUANTIZATION, q);
  return ds_fb_table_end(fb);
}

int tfl_graph_serialize(const tfl_graph *g, const char *description, unsigned char **data, size_t *size,
                        ds_err *err) {
  *data = NULL;
  if (g->failed) return ds_fail(err, "tflite export: out of memory or a bad tensor while building");
  int codes[64], n_codes = 0;
  int *code_of = malloc(sizeof(int) * (size_t)(g->n_ops + 1));
  ds_fb_ref *refs = malloc(sizeof(ds_fb_ref) *
                           (size_t)(g->n_tensors + g->n_ops + g->n_buffers + 1));
  if (!code_of || !refs) {
    free(code_of), free(refs);
    return ds_fail(err, "tflite export: out of memory");
  }
  for (int i = 0; i < g->n_ops; i++) {
    int k = 0;
    while (k < n_codes && codes[k] != g->ops[i].builtin) k++;
    if (k == n_codes) codes[n_codes++] = g->ops[i].builtin;
    code_of[i] = k;
  }
  ds_fb fb;
  ds_fb_init(&fb);
  /* Constant data first: large and 16-byte aligned so int32 and int64 read in place. */
  for (int i = 0; i < g->n_buffers; i++) {
    const ds_fb_ref d = g->buffer_size[i] ? ds_fb_vector_bytes(&fb, g->buffers[i], g->buffer_size[i], 16) : 0;
    ds_fb_table_start(&fb);
    ds_fb_add_ref(&fb, TFL_BUFFER_DATA, d);
    refs[i] = ds_fb_table_end(&fb);
  }
  const ds_fb_ref buffers = ds_fb_vector_refs(&fb, refs, (size_t)g->n_buffers);
  for (int i = 0; i < g->n_tensors; i++) refs[i] = write_tensor(&fb, &g->tensors[i]);
  const ds_fb_ref tensors = ds_fb_vector_refs(&fb, refs, (size_t)g->n_tensors);
  for (int i = 0; i < g->n_ops; i++) {
    const tfl_op *op = &g->ops[i];
    const ds_fb_ref in = ds_fb_vector_i32(&fb, op->inputs, (size_t)op->n_in);
    const ds_fb_ref out = ds_fb_vector_i32(&fb, op->outputs, (size_t)op->n_out);
    const ds_fb_ref opt = op->opt.type ? write_options(&fb, &op->opt) : 0;
    ds_fb_table_start(&fb);
    ds_fb_add_u32(&fb, TFL_OP_OPCODE_INDEX, (uint32_t)code_of[i]);
    ds_fb_add_ref(&fb, TFL_OP_INPUTS, in);
    ds_fb_add_ref(&fb, TFL_OP_OUTPUTS, out);
    if (op->opt.type) {
      ds_fb_add_u8(&fb, TFL_OP_OPTIONS_TYPE, (uint8_t)op->opt.type);
      ds_fb_add_ref(&fb, TFL_OP_OPTIONS, opt);
    }
    refs[i] = ds_fb_table_end(&fb);
  }
  const ds_fb_ref ops = ds_fb_vector_refs(&fb, refs, (size_t)g->n_ops);
  const ds_fb_ref gin = ds_fb_vector_i32(&fb, g->inputs, (size_t)g->n_inputs);
  const ds_fb_ref gout = ds_fb_vector_i32(&fb, g->outputs, (size_t)g->n_outputs);
  const ds_fb_ref gname = ds_fb_string(&fb, "main");
  ds_fb_table_start(&fb);
  ds_fb_add_ref(&fb, TFL_SUBGRAPH_TENSORS, tensors);
  ds_fb_add_ref(&fb, TFL_SUBGRAPH_INPUTS, gin);
  ds_fb_add_ref(&fb, TFL_SUBGRAPH_OUTPUTS, gout);
  ds_fb_add_ref(&fb, TFL_SUBGRAPH_OPERATORS, ops);
  ds_fb_add_ref(&fb, TFL_SUBGRAPH_NAME, gname);
  const ds_fb_ref sg = ds_fb_table_end(&fb);
  const ds_fb_ref subgraphs = ds_fb_vector_refs(&fb, &sg, 1);
  for (int k = 0; k < n_codes; k++) {
    ds_fb_table_start(&fb);
    /* Codes past 127 keep the old int8 field at its placeholder (127), as TFLite's writer does. */
    ds_fb_add_i8(&fb, TFL_OPCODE_DEPRECATED_BUILTIN, (int8_t)(codes[k] < 127 ? codes[k] : 127));
    ds_fb_add_i32(&fb, TFL_OPCODE_VERSION, 1);
    ds_fb_add_i32(&fb, TFL_OPCODE_BUILTIN, codes[k]);
    refs[k] = ds_fb_table_end(&fb);
  }
  const ds_fb_ref opcodes = ds_fb_vector_refs(&fb, refs, (size_t)n_codes);
  const ds_fb_ref desc = ds_fb_string(&fb, description);
  ds_fb_table_start(&fb);
  ds_fb_add_u32(&fb, TFL_MODEL_VERSION, TFL_SCHEMA_VERSION);
  ds_fb_add_ref(&fb, TFL_MODEL_OPERATOR_CODES, opcodes);
  ds_fb_add_ref(&fb, TFL_MODEL_SUBGRAPHS, subgraphs);
  ds_fb_add_ref(&fb, TFL_MODEL_DESCRIPTION, desc);
  ds_fb_add_ref(&fb, TFL_MODEL_BUFFERS, buffers);
  const ds_fb_ref model = ds_fb_table_end(&fb);
  const uint8_t *bytes;
  int rc = ds_fb_finish(&fb, model, TFL_FILE_IDENTIFIER, &bytes, size, err);
  if (rc == 0) {
    *data = malloc(*size);
    if (*data) memcpy(*data, bytes, *size);
    else rc = ds_fail(err, "tflite export: out of memory");
  }
  ds_fb_free(&fb);
  free(code_of);
  free(refs);
  return rc;
}
