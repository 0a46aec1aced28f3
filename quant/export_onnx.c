/* The ONNX graph of an int8 model, QDQ or float (export_onnx.h). Naming in the QDQ graph: an op
 * writes activation A's float value to "A/pre", QuantizeLinear makes "A/q" and DequantizeLinear
 * "A", which consumers read; data movement (reshape, transpose, gather) works on the int8 "A/q".
 * In the float graph the op writes "A" directly. */
#include "quant/export_onnx.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "quant/export_common.h"
#include "quant/export_onnx_graph.h"
#include "quant/export_onnx_proto.h"

#define NAME_LEN 128
#define N_NAMES 16

typedef struct {
  ds_pb pb;
  const ds_i8_model *m;
  ds_onnx_export_params p;
  int qdq, L;
  float mask_depth;
  ds_onnx_grid_fn on_tensor;
  void *ctx;
  char names[N_NAMES][NAME_LEN]; /* rotating scratch for formatted names */
  int next_name;
  int n_nodes;
} writer;

ds_onnx_export_params ds_onnx_export_default_params(void) {
  ds_onnx_export_params p = {0, 0, 0};
  return p;
}

static const char *nm(writer *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static const char *nm(writer *w, const char *fmt, ...) {
  char *s = w->names[w->next_name++ % N_NAMES];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(s, NAME_LEN, fmt, ap);
  va_end(ap);
  return s;
}

/* dst = a + b, cut to NAME_LEN (names are far shorter; a cut name would fail the checker loudly). */
static void join(char *dst, const char *a, const char *b) {
  if (snprintf(dst, NAME_LEN, "%s%s", a, b) >= NAME_LEN) dst[NAME_LEN - 1] = '\0';
}

static const char *act_name(writer *w, int a) { return w->m->acts[a].name; }

/* ---- the grid each activation is exported on ---- */

static int is_a16(writer *w, int a) {
  if (!w->p.a16_norm) return 0;
  for (int i = 0; i < w->m->n_ops; i++) {
    const ds_i8_op *op = &w->m->ops[i];
    if ((op->kind == DS_I8_OP_LAYERNORM || op->kind == DS_I8_OP_SOFTMAX) && (op->in[0] == a || op->out == a))
      return 1;
  }
  return 0;
}

static int is_probs(writer *w, int a) {
  for (int i = 0; i < w->m->n_ops; i++)
    if (w->m->ops[i].kind == DS_I8_OP_SOFTMAX && w->m->ops[i].out == a) return 1;
  return 0;
}

typedef struct {
  int bits, onnx_type;
  float scale;
  int32_t zp;   /* in the exported type (shifted for unsigned types) */
  int32_t zp_signed, qmin, qmax;
} grid;

static grid make_grid(writer *w, int bits, float scale, int32_t zp_signed, int32_t qmin, int32_t qmax) {
  grid g = {bits, 0, scale, zp_signed, zp_signed, qmin, qmax};
  const int32_t shift = bits == 16 ? 32768 : 128;
  if (w->p.uint8_acts) {
    g.onnx_type = bits == 16 ? ONNX_UINT16 : ONNX_UINT8;
    g.zp = zp_signed + shift;
  } else {
    g.onnx_type = bits == 16 ? ONNX_INT16 : ONNX_INT8;
  }
  return g;
}

static grid act_grid(writer *w, int a) {
  const ds_i8_act *act = &w->m->acts[a];
  const float s = act->q.scale * ds_export_fold_alpha(w->m, a);
  if (!is_a16(w, a)) return make_grid(w, 8, s, act->q.zero_point, act->q.qmin, act->q.qmax);
  if (is_probs(w, a)) return make_grid(w, 16, 1.0f / 65536.0f, -32768, -32768, 32767);
  /* The same range on a 256x finer grid. */
  return make_grid(w, 16, s / 256.0f, act->q.zero_point * 256, act->q.qmin * 256, act->q.qmax * 256 + 255);
}

static void report(writer *w, const char *name, int is_param, int bits, int symmetric, int n, const float *scale,
                   int32_t zp) {
  if (!w->on_tensor) return;
  const ds_onnx_tensor_grid g = {name, is_param, bits, symmetric, n, scale, zp};
  w->on_tensor(w->ctx, &g);
}

static void report_grid(writer *w, const char *name, int is_param, const grid *g) {
  report(w, name, is_param, g->bits, 0, 1, &g->scale, g->zp_signed);
}

/* ---- initializers and nodes ---- */

static void init_scalar_f(writer *w, const char *name, float v) {
  ds_onnx_tensor(&w->pb, ONNX_GRAPH_INITIALIZER, name, ONNX_FLOAT, 0, NULL, &v);
}

static void init_i64(writer *w, const char *name, const int64_t *v, int n) {
  const int64_t dims[] = {n};
  ds_onnx_tensor(&w->pb, ONNX_GRAPH_INITIALIZER, name, ONNX_INT64, 1, dims, v);
}

/* Scale and zero point initializers "<base>/scale", "<base>/zp" of a grid. */
static void init_grid(writer *w, const char *base, const grid *g) {
  init_scalar_f(w, nm(w, "%s/scale", base), g->scale);
  const int32_t zp = g->zp;
  uint8_t b1 = (uint8_t)zp;
  uint16_t b2 = (uint16_t)zp;
  ds_onnx_tensor(&w->pb, ONNX_GRAPH_INITIALIZER, nm(w, "%s/zp", base), g->onnx_type, 0, NULL,
                 g->bits == 16 ? (const void *)&b2 : (const void *)&b1);
}

static void node(writer *w, const char *op, const char *const *in, int n_in, const char *out) {
  ds_onnx_node_begin(&w->pb, op, nm(w, "%s_%d", op, w->n_nodes++), in, n_in, &out, 1);
}

static void node1(writer *w, const char *op, const char *in, const char *out) {
  node(w, op, &in, 1, out);
  ds_onnx_node_end(&w->pb);
}

static void node2(writer *w, const char *op, const char *a, const char *b, const char *out) {
  const char *in[] = {a, b};
  node(w, op, in, 2, out);
  ds_onnx_node_end(&w->pb);
}

/* QuantizeLinear / DequantizeLinear with the grid initializers of `base`. */
static void qdq_node(writer *w, const char *op, const char *in, const char *base, const char *out) {
  char s[NAME_LEN], z[NAME_LEN];
  join(s, base, "/scale");
  join(z, base, "/zp");
  const char *ins[] = {in, s, z};
  node(w, op, ins, 3, out);
  ds_onnx_node_end(&w->pb);
}

/* Where an op writes activation a, and the Q -> DQ pair after it (QDQ graph). */
static const char *out_name(writer *w, int a) {
  return w->qdq ? nm(w, "%s/pre", act_name(w, a)) : act_name(w, a);
}

static void finish_act(writer *w, int a) {
  const char *A = act_name(w, a);
  if (w->qdq) {
    char pre[NAME_LEN], q[NAME_LEN];
    join(pre, A, "/pre");
    join(q, A, "/q");
    qdq_node(w, "QuantizeLinear", pre, A, q);
    qdq_node(w, "DequantizeLinear", q, A, A);
  } else {
    const grid g = act_grid(w, a);
    report_grid(w, A, 0, &g);
  }
}

static void reshape(writer *w, const char *in, const int64_t *shape, int n, const char *out) {
  const char *sh = nm(w, "%s/shape", out);
  init_i64(w, sh, shape, n);
  node2(w, "Reshape", in, sh, out);
}

static void transpose(writer *w, const char *in, const int64_t *perm, int n, const char *out) {
  node(w, "Transpose", &in, 1, out);
  ds_onnx_attr_ints(&w->pb, "perm", perm, n);
  ds_onnx_node_end(&w->pb);
}

/* Activation a (TOKENS [L, H*hd]) as heads [H, L, hd] (perm 1,0,2) or [H, hd, L] (perm 1,2,0),
 * in float: the int8 codes are moved, then dequantized. Returns the float tensor's name. */
static const char *heads(writer *w, int a, int H, int hd, int keys_last, char *out, size_t out_len) {
  const char *A = act_name(w, a);
  const int64_t shape[] = {w->L, H, hd}, perm_q[] = {1, 0, 2}, perm_k[] = {1, 2, 0};
  const char *src = w->qdq ? nm(w, "%s/q", A) : A;
  const char *r = nm(w, "%s/heads_r%s", A, w->qdq ? "/q" : "");
  reshape(w, src, shape, 3, r);
  const char *t = nm(w, "%s/heads%s%s", A, keys_last ? "_t" : "", w->qdq ? "/q" : "");
  char tcopy[NAME_LEN];
  snprintf(tcopy, sizeof tcopy, "%s", t);
  transpose(w, r, keys_last ? perm_k : perm_q, 3, tcopy);
  const grid g = act_grid(w, a);
  if (w->qdq) {
    snprintf(out, out_len, "%s/heads%s", A, keys_last ? "_t" : "");
    qdq_node(w, "DequantizeLinear", tcopy, A, out);
  } else {
    report_grid(w, nm(w, "%s/heads_r", A), 0, &g);
    report_grid(w, tcopy, 0, &g);
    snprintf(out, out_len, "%s", tcopy);
  }
  return out;
}

/* ---- ops ---- */

static int op_table(writer *w, const ds_i8_op *op, ds_err *err) {
  const ds_i8_model *m = w->m;
  const ds_i8_weight *wt = &m->weights[op->weight];
  const int rows = ds_export_table_rows(m, op), cols = wt->cols;
  int8_t *tab = malloc((size_t)rows * cols);
  float *ftab = w->qdq ? NULL : malloc(sizeof(float) * (size_t)rows * cols);
  int n = 0;
  if (!tab || (!w->qdq && !ftab) || ds_export_table(m, op, tab, &n, err)) {
    free(tab);
    free(ftab);
    return err && err->msg[0] ? -1 : ds_export_fail(err, "export: out of memory for table '%s'", wt->name);
  }
  const grid g = act_grid(w, op->out);
  const char *A = act_name(w, op->out);
  const int64_t dims[] = {rows, cols};
  char tname[NAME_LEN];
  snprintf(tname, sizeof tname, "%s%s", wt->name, w->qdq ? "/q" : "");
  if (w->qdq) {
    /* Stored on the output's own grid (int8 codes, shifted for uint8), so a gather is exact. */
    if (w->p.uint8_acts)
      for (size_t i = 0; i < (size_t)rows * cols; i++) tab[i] = (int8_t)(uint8_t)(tab[i] + 128);
    ds_onnx_tensor(&w->pb, ONNX_GRAPH_INITIALIZER, tname, g.bits == 8 ? g.onnx_type : ONNX_INT8, 2, dims, tab);
  } else {
    for (size_t i = 0; i < (size_t)rows * cols; i++) ftab[i] = g.scale * (float)(tab[i] - g.zp_signed);
    ds_onnx_tensor(&w->pb, ONNX_GRAPH_INITIALIZER, tname, ONNX_FLOAT, 2, dims, ftab);
    report(w, tname, 1, 8, 0, 1, &g.scale, g.zp_signed);
  }
  free(tab);
  free(ftab);
  if (op->kind == DS_I8_OP_EMBED) {
    const char *in[] = {tname, "ids"};
    node(w, "Gather", in, 2, w->qdq ? nm(w, "%s/q", A) : A);
    ds_onnx_attr_int(&w->pb, "axis", 0);
    ds_onnx_node_end(&w->pb);
    if (w->qdq) qdq_node(w, "DequantizeLinear", nm(w, "%s/q", A), A, A);
    else report_grid(w, A, 0, &g);
  } else if (w->qdq) {
    qdq_node(w, "DequantizeLinear", tname, A, A);
  } else {
    node1(w, "Identity", tname, A);
    report_grid(w, A, 0, &g);
  }
  return 0;
}

/* Gemm weight [out, in] and bias [out] (DQ per output channel in the QDQ graph). */
static int op_fc(writer *w, const ds_i8_op *op, ds_err *err) {
  const ds_i8_weight *wt = &w->m->weights[op->weight];
  const int R = wt->rows, C = wt->cols;
  const float alpha = ds_export_fold_alpha(w->m, op->out);
  const float s_in = w->m->acts[op->in[0]].q.scale;
  float *ws = malloc(sizeof(float) * R), *bs = malloc(sizeof(float) * R);
  float *fw = w->qdq ? NULL : malloc(sizeof(float) * (size_t)R * C), *fb = malloc(sizeof(float) * R);
  int8_t *zeros = calloc((size_t)R, 1);
  if (!ws || !bs || !fb || !zeros || (!w->qdq && !fw)) {
    free(ws), free(bs), free(fw), free(fb), free(zeros);
    return ds_export_fail(err, "export: out of memory for '%s'", wt->name);
  }
  for (int r = 0; r < R; r++) {
    ws[r] = wt->scale[r] * alpha;
    bs[r] = (s_in * wt->scale[r]) * alpha; /* the runtime's bias scale, a float product */
  }
  char wn[NAME_LEN], bn[NAME_LEN];
  snprintf(wn, sizeof wn, "%s", wt->name);
  const size_t len = strlen(wn);
  if (len > 7 && strcmp(wn + len - 7, ".weight") == 0) wn[len - 7] = '\0';
  join(bn, wn, ".bias");
  join(wn, wt->name, "");
  const int64_t wdims[] = {R, C}, bdims[] = {R};
  if (w->qdq) {
    ds_onnx_tensor(&w->pb, ONNX_GRAPH_INITIALIZER, nm(w, "%s/q", wn), ONNX_INT8, 2, wdims, wt->data);
    ds_onnx_tensor(&w->pb, ONNX_GRAPH_INITIALIZER, nm(w, "%s/scale", wn), ONNX_FLOAT, 1, bdims, ws);
    ds_onnx_tensor(&w->pb, ONNX_GRAPH_INITIALIZER, nm(w, "%s/zp", wn), ONNX_INT8, 1, bdims, zeros);
    ds_onnx_tensor(&w->pb, ONNX_GRAPH_INITIALIZER, nm(w, "%s/q", bn), ONNX_INT32, 1, bdims, wt->bias);
    ds_onnx_tensor(&w->pb, ONNX_GRAPH_INITIALIZER, nm(w, "%s/scale", bn), ONNX_FLOAT, 1, bdims, bs);
    const char *wi[] = {nm(w, "%s/q", wn), nm(w, "%s/scale", wn), nm(w, "%s/zp", wn)};
    node(w, "DequantizeLinear", wi, 3, wn);
    ds_onnx_attr_int(&w->pb, "axis", 0);
    ds_onnx_node_end(&w->pb);
    const char *bi[] = {nm(w, "%s/q", bn), nm(w, "%s/scale", bn)};
    node(w, "DequantizeLinear", bi, 2, bn);
    ds_onnx_attr_int(&w->pb, "axis", 0);
    ds_onnx_node_end(&w->pb);
  } else {
    for (int r = 0; r < R; r++) {
      for (int c = 0; c < C; c++) fw[(size_t)r * C + c] = ws[r] * (float)wt->data[(size_t)r * C + c];
      fb[r] = bs[r] * (float)wt->bias[r];
    }
    ds_onnx_tensor(&w->pb, ONNX_GRAPH_INITIALIZER, wn, ONNX_FLOAT, 2, wdims, fw);
    ds_onnx_tensor(&w->pb, ONNX_GRAPH_INITIALIZER, bn, ONNX_FLOAT, 1, bdims, fb);
    report(w, wn, 1, 8, 1, R, ws, 0);
    report(w, bn, 1, 32, 1, R, bs, 0);
  }
  const char *in[] = {act_name(w, op->in[0]), wn, bn};
  node(w, "Gemm", in, 3, out_name(w, op->out));
  ds_onnx_attr_int(&w->pb, "transB", 1);
  ds_onnx_node_end(&w->pb);
  finish_act(w, op->out);
  free(ws), free(bs), free(fw), free(fb), free(zeros);
  return 0;
}

static void op_layernorm(writer *w, const ds_i8_op *op) {
  const char *A = act_name(w, op->out);
  const int C = w->m->acts[op->out].width;
  const int64_t dims[] = {C};
  char g[NAME_LEN], b[NAME_LEN];
  snprintf(g, sizeof g, "%s.weight", A);
  snprintf(b, sizeof b, "%s.bias", A);
  ds_onnx_tensor(&w->pb, ONNX_GRAPH_INITIALIZER, g, ONNX_FLOAT, 1, dims, op->gamma);
  ds_onnx_tensor(&w->pb, ONNX_GRAPH_INITIALIZER, b, ONNX_FLOAT, 1, dims, op->beta);
  if (!w->qdq) {
    /* LayerNorm parameters stay 16-bit: the int8 runtime applies them in float. */
    float sg = 0.0f, sb = 0.0f;
    for (int c = 0; c < C; c++) {
      sg = fmaxf(sg, fabsf(op->gamma[c]));
      sb = fmaxf(sb, fabsf(op->beta[c]));
    }
    sg = sg > 0.0f ? sg / 32767.0f : 1.0f;
    sb = sb > 0.0f ? sb / 32767.0f : 1.0f;
    report(w, g, 1, 16, 1, 1, &sg, 0);
    report(w, b, 1, 16, 1, 1, &sb, 0);
  }
  const char *in[] = {act_name(w, op->in[0]), g, b};
  node(w, "LayerNormalization", in, 3, out_name(w, op->out));
  ds_onnx_attr_int(&w->pb, "axis", -1);
  ds_onnx_attr_float(&w->pb, "epsilon", op->eps);
  ds_onnx_node_end(&w->pb);
  finish_act(w, op->out);
}

static void op_scores(writer *w, const ds_i8_op *op) {
  char q[NAME_LEN], k[NAME_LEN];
  heads(w, op->in[0], op->heads, op->head_dim, 0, q, sizeof q);
  heads(w, op->in[1], op->heads, op->head_dim, 1, k, sizeof k);
  node2(w, "MatMul", q, k, out_name(w, op->out));
  finish_act(w, op->out);
}

/* Softmax over keys with padding keys pushed down by the mask bias; the masked scores ride on a
 * 16-bit grid wide enough for the bias (export_common.h). */
static void op_softmax(writer *w, const ds_i8_op *op) {
  const char *P = act_name(w, op->out);
  char masked[NAME_LEN];
  snprintf(masked, sizeof masked, "%s/masked", P);
  grid g16 = make_grid(w, 16, ds_export_masked_scale(w->m, op), 0, -32768, 32767);
  if (w->qdq) {
    init_grid(w, masked, &g16);
    node2(w, "Add", act_name(w, op->in[0]), "mask_bias", nm(w, "%s/pre", masked));
    qdq_node(w, "QuantizeLinear", nm(w, "%s/pre", masked), masked, nm(w, "%s/q", masked));
    qdq_node(w, "DequantizeLinear", nm(w, "%s/q", masked), masked, masked);
  } else {
    node2(w, "Add", act_name(w, op->in[0]), "mask_bias", masked);
    report_grid(w, masked, 0, &g16);
  }
  node(w, "Softmax", (const char *[]){masked}, 1, out_name(w, op->out));
  ds_onnx_attr_int(&w->pb, "axis", -1);
  ds_onnx_node_end(&w->pb);
  finish_act(w, op->out);
}

/* ctx = probs @ v per head, quantized per head, then heads moved back into columns (int8). */
static void op_context(writer *w, const ds_i8_op *op) {
  char v[NAME_LEN];
  heads(w, op->in[1], op->heads, op->head_dim, 0, v, sizeof v);
  const char *A = act_name(w, op->out);
  const char *suffix = w->qdq ? "/q" : "";
  const int64_t perm[] = {1, 0, 2}, shape[] = {w->L, (int64_t)op->heads * op->head_dim};
  const grid g = act_grid(w, op->out);
  char hn[NAME_LEN], tn[NAME_LEN];
  snprintf(hn, sizeof hn, "%s/heads%s", A, suffix);
  snprintf(tn, sizeof tn, "%s/heads_t%s", A, suffix);
  if (w->qdq) {
    node2(w, "MatMul", act_name(w, op->in[0]), v, nm(w, "%s/heads/pre", A));
    qdq_node(w, "QuantizeLinear", nm(w, "%s/heads/pre", A), A, hn);
  } else {
    node2(w, "MatMul", act_name(w, op->in[0]), v, hn);
    report_grid(w, hn, 0, &g);
    report_grid(w, tn, 0, &g);
  }
  transpose(w, hn, perm, 3, tn);
  if (w->qdq) {
    reshape(w, tn, shape, 2, nm(w, "%s/q", A));
    qdq_node(w, "DequantizeLinear", nm(w, "%s/q", A), A, A);
  } else {
    reshape(w, tn, shape, 2, A);
    report_grid(w, A, 0, &g);
  }
}

static void op_pool(writer *w, const ds_i8_op *op) {
  const char *A = act_name(w, op->out), *X = act_name(w, op->in[0]);
  if (op->kind == DS_I8_OP_POOL_CLS) {
    const int64_t zero = 0;
    init_i64(w, nm(w, "%s/index", A), &zero, 1);
    const char *in[] = {w->qdq ? nm(w, "%s/q", X) : X, nm(w, "%s/index", A)};
    node(w, "Gather", in, 2, w->qdq ? nm(w, "%s/q", A) : A);
    ds_onnx_attr_int(&w->pb, "axis", 0);
    ds_onnx_node_end(&w->pb);
    if (w->qdq) { /* the first token's codes, still on the input's grid (16-bit under w8a16) */
      qdq_node(w, "DequantizeLinear", nm(w, "%s/q", A), X, A);
    } else {
      const grid g = act_grid(w, op->out);
      report_grid(w, A, 0, &g);
    }
    return;
  }
  /* Mean over real tokens: the pooling weights (1/n on real tokens) times the token rows. */
  node2(w, "MatMul", "pool_weights", X, out_name(w, op->out));
  finish_act(w, op->out);
}

static void op_simple(writer *w, const ds_i8_op *op) {
  const char *out = out_name(w, op->out);
  if (op->kind == DS_I8_OP_ADD) {
    node2(w, "Add", act_name(w, op->in[0]), act_name(w, op->in[1]), out);
  } else { /* GELU, tanh form as the student */
    const char *in = act_name(w, op->in[0]);
    node(w, "Gelu", &in, 1, out);
    ds_onnx_attr_string(&w->pb, "approximate", "tanh");
    ds_onnx_node_end(&w->pb);
  }
  finish_act(w, op->out);
}

/* ---- inputs: ids, the mask bias and the pooling weights ---- */

static void write_inputs(writer *w) {
  const int64_t in_dims[] = {1, w->L}, ids_shape[] = {w->L};
  ds_onnx_value_info(&w->pb, ONNX_GRAPH_INPUT, "input_ids", ONNX_INT32, 2, in_dims);
  ds_onnx_value_info(&w->pb, ONNX_GRAPH_INPUT, "attention_mask", w->qdq ? ONNX_INT8 : ONNX_FLOAT, 2, in_dims);
  reshape(w, "input_ids", ids_shape, 1, "ids");
  const float D = w->mask_depth, s_mask = D / 255.0f, s_pool = 1.0f / 65536.0f;
  grid pool = make_grid(w, 16, s_pool, -32768, -32768, 32767);
  if (w->qdq) {
    /* The int8 mask read on the grid (scale D, zero point 1) is D * (mask - 1): the bias itself. */
    init_scalar_f(w, "mask_bias/scale", D);
    const int8_t one = 1;
    ds_onnx_tensor(&w->pb, ONNX_GRAPH_INITIALIZER, "mask_bias/zp", ONNX_INT8, 0, NULL, &one);
    qdq_node(w, "DequantizeLinear", "attention_mask", "mask_bias", "mask_bias");
    init_grid(w, "pool_weights", &pool);
    node(w, "Softmax", (const char *[]){"mask_bias"}, 1, "pool_weights/pre");
    ds_onnx_attr_int(&w->pb, "axis", -1);
    ds_onnx_node_end(&w->pb);
    qdq_node(w, "QuantizeLinear", "pool_weights/pre", "pool_weights", "pool_weights/q");
    qdq_node(w, "DequantizeLinear", "pool_weights/q", "pool_weights", "pool_weights");
  } else {
    const float one = 1.0f, s_one = 1.0f / 255.0f;
    init_scalar_f(w, "mask_one", one);
    init_scalar_f(w, "mask_depth", D);
    node2(w, "Sub", "attention_mask", "mask_one", "mask_bias/sub");
    node2(w, "Mul", "mask_bias/sub", "mask_depth", "mask_bias");
    node(w, "Softmax", (const char *[]){"mask_bias"}, 1, "pool_weights");
    ds_onnx_attr_int(&w->pb, "axis", -1);
    ds_onnx_node_end(&w->pb);
    report(w, "attention_mask", 0, 8, 0, 1, &s_one, -128);
    report(w, "mask_one", 1, 8, 0, 1, &s_one, -128);
    report(w, "mask_depth", 1, 8, 0, 1, &s_mask, -128);
    report(w, "mask_bias/sub", 0, 8, 0, 1, &s_one, 127);
    report(w, "mask_bias", 0, 8, 0, 1, &s_mask, 127);
    report_grid(w, "pool_weights", 0, &pool);
  }
}

/* Graph outputs are always "emb" and "logits", whatever the activation is called (no projection:
 * the embedding is "pooled"). */
static void write_output(writer *w, int a, const char *name) {
  const int64_t dims[] = {1, w->m->acts[a].width};
  if (strcmp(act_name(w, a), name) != 0) {
    node1(w, "Identity", act_name(w, a), name);
    if (!w->qdq) {
      const grid g = act_grid(w, a);
      report_grid(w, name, 0, &g);
    }
  }
  ds_onnx_value_info(&w->pb, ONNX_GRAPH_OUTPUT, name, ONNX_FLOAT, 2, dims);
}

/* Activations that never pass a QuantizeLinear of their own (CLS pooling keeps its input's grid). */
static int has_own_grid(writer *w, int a) {
  for (int i = 0; i < w->m->n_ops; i++)
    if (w->m->ops[i].out == a) return w->m->ops[i].kind != DS_I8_OP_POOL_CLS;
  return 1;
}

static int write_graph(writer *w, ds_err *err) {
  const ds_i8_model *m = w->m;
  ds_onnx_model_begin(&w->pb, DS_ONNX_IR_VERSION, DS_ONNX_OPSET, "distill",
                      w->qdq ? "distill_int8_qdq" : "distill_float");
  write_inputs(w);
  if (w->qdq)
    for (int a = 0; a < m->n_acts; a++) {
      if (!has_own_grid(w, a)) continue;
      const grid g = act_grid(w, a);
      init_grid(w, act_name(w, a), &g);
    }
  for (int i = 0; i < m->n_ops; i++) {
    const ds_i8_op *op = &m->ops[i];
    switch (op->kind) {
      case DS_I8_OP_EMBED:
      case DS_I8_OP_POS_EMBED:
        if (op_table(w, op, err)) return -1;
        break;
      case DS_I8_OP_FC:
        if (op_fc(w, op, err)) return -1;
        break;
      case DS_I8_OP_LAYERNORM: op_layernorm(w, op); break;
      case DS_I8_OP_ATT_SCORES: op_scores(w, op); break;
      case DS_I8_OP_SOFTMAX: op_softmax(w, op); break;
      case DS_I8_OP_ATT_CONTEXT: op_context(w, op); break;
      case DS_I8_OP_POOL_MEAN:
      case DS_I8_OP_POOL_CLS: op_pool(w, op); break;
      default: op_simple(w, op); break;
    }
  }
  write_output(w, m->emb_act, "emb");
  if (m->logits_act >= 0) write_output(w, m->logits_act, "logits");
  ds_onnx_model_end(&w->pb);
  char v[64];
  ds_onnx_model_metadata(&w->pb, "distill.graph", w->qdq ? "qdq" : "float");
  snprintf(v, sizeof v, "%d", w->L);
  ds_onnx_model_metadata(&w->pb, "distill.max_len", v);
  snprintf(v, sizeof v, "%.9g", w->mask_depth);
  ds_onnx_model_metadata(&w->pb, "distill.mask_depth", v);
  return 0;
}

int ds_onnx_export_graph(const ds_i8_model *m, const ds_onnx_export_params *p, ds_onnx_grid_fn on_tensor,
                         void *ctx, unsigned char **data, size_t *size, ds_err *err) {
  *data = NULL;
  *size = 0;
  if (ds_export_check_model(m, err)) return -1;
  writer *w = calloc(1, sizeof *w);
  if (!w) return ds_export_fail(err, "export: out of memory");
  ds_pb_init(&w->pb);
  w->m = m;
  w->p = p ? *p : ds_onnx_export_default_params();
  w->qdq = !w->p.float_graph;
  w->L = m->max_len;
  w->mask_depth = ds_export_mask_depth(m);
  w->on_tensor = w->qdq ? NULL : on_tensor;
  w->ctx = ctx;
  int rc = write_graph(w, err);
  if (rc == 0) rc = ds_pb_finish(&w->pb, err);
  if (rc == 0) {
    *data = w->pb.data;
    *size = w->pb.len;
    w->pb.data = NULL;
  }
  ds_pb_free(&w->pb);
  free(w);
  return rc;
}

int ds_onnx_export_buffer(const ds_i8_model *m, const ds_onnx_export_params *p, unsigned char **data,
                          size_t *size, ds_err *err) {
  return ds_onnx_export_graph(m, p, NULL, NULL, data, size, err);
}

int ds_onnx_export(const ds_i8_model *m, const ds_onnx_export_params *p, const char *path, ds_err *err) {
  unsigned char *data;
  size_t size;
  if (ds_onnx_export_buffer(m, p, &data, &size, err)) return -1;
  char tmp[4096];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  FILE *f = fopen(tmp, "wb");
  int ok = f && fwrite(data, 1, size, f) == size;
  if (f && fclose(f)) ok = 0;
  free(data);
  if (!ok || rename(tmp, path)) {
    remove(tmp);
    return ds_export_fail(err, "%s: cannot write the ONNX model", path);
  }
  return 0;
}
