/* The ONNX graph writer's helpers (export_onnx_writer.h): names, grids, node emission, Q -> DQ pairs
 * and the one-width-per-op rule of the QDQ graph. */
#include "quant/export/export_onnx_writer.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "quant/export/export_common.h"

const char *ox_nm(writer *w, const char *fmt, ...) {
  char *s = w->names[w->next_name++ % N_NAMES];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(s, NAME_LEN, fmt, ap);
  va_end(ap);
  return s;
}

/* dst = a + b, cut to NAME_LEN (names are far shorter; a cut name would fail the checker loudly). */
void ox_join(char *dst, const char *a, const char *b) {
  if (snprintf(dst, NAME_LEN, "%s%s", a, b) >= NAME_LEN) dst[NAME_LEN - 1] = '\0';
}

const char *ox_act_name(writer *w, int a) { return w->m->acts[a].name; }

/* ---- the grid each activation is exported on ---- */

/* The input of the CLS pooling that writes a, or -1. */
int ox_cls_source(writer *w, int a) {
  for (int i = 0; i < w->m->n_ops; i++)
    if (w->m->ops[i].out == a) return w->m->ops[i].kind == DS_I8_OP_POOL_CLS ? w->m->ops[i].in[0] : -1;
  return -1;
}

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


grid ox_make_grid(writer *w, int bits, float scale, int32_t zp_signed, int32_t qmin, int32_t qmax) {
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

grid ox_act_grid(writer *w, int a) {
  const int src = ox_cls_source(w, a);
  if (src >= 0) return ox_act_grid(w, src); /* CLS pooling keeps its input's codes and grid */
  const ds_i8_act *act = &w->m->acts[a];
  const float s = act->q.scale * ds_export_fold_alpha(w->m, a);
  if (!is_a16(w, a)) return ox_make_grid(w, 8, s, act->q.zero_point, act->q.qmin, act->q.qmax);
  if (is_probs(w, a)) return ox_make_grid(w, 16, 1.0f / 65536.0f, -32768, -32768, 32767);
  /* The same range on a 256x finer grid. */
  return ox_make_grid(w, 16, s / 256.0f, act->q.zero_point * 256, act->q.qmin * 256, act->q.qmax * 256 + 255);
}

void ox_report(writer *w, const char *name, int is_param, int bits, int symmetric, int n, const float *scale,
                   int32_t zp) {
  if (!w->on_tensor) return;
  const ds_onnx_tensor_grid g = {name, is_param, bits, symmetric, n, scale, zp};
  w->on_tensor(w->ctx, &g);
}

void ox_report_grid(writer *w, const char *name, int is_param, const grid *g) {
  ox_report(w, name, is_param, g->bits, 0, 1, &g->scale, g->zp_signed);
}

/* ---- initializers and nodes ---- */

void ox_init_scalar_f(writer *w, const char *name, float v) {
  ds_onnx_tensor(&w->pb, ONNX_GRAPH_INITIALIZER, name, ONNX_FLOAT, 0, NULL, &v);
}

void ox_init_i64(writer *w, const char *name, const int64_t *v, int n) {
  const int64_t dims[] = {n};
  ds_onnx_tensor(&w->pb, ONNX_GRAPH_INITIALIZER, name, ONNX_INT64, 1, dims, v);
}

/* Scale and zero point initializers "<base>/scale", "<base>/zp" of a grid. */
void ox_init_grid(writer *w, const char *base, const grid *g) {
  ox_init_scalar_f(w, ox_nm(w, "%s/scale", base), g->scale);
  const int32_t zp = g->zp;
  uint8_t b1 = (uint8_t)zp;
  uint16_t b2 = (uint16_t)zp;
  ds_onnx_tensor(&w->pb, ONNX_GRAPH_INITIALIZER, ox_nm(w, "%s/zp", base), g->onnx_type, 0, NULL,
                 g->bits == 16 ? (const void *)&b2 : (const void *)&b1);
}

void ox_node(writer *w, const char *op, const char *const *in, int n_in, const char *out) {
  ds_onnx_node_begin(&w->pb, op, ox_nm(w, "%s_%d", op, w->n_nodes++), in, n_in, &out, 1);
}

void ox_node1(writer *w, const char *op, const char *in, const char *out) {
  ox_node(w, op, &in, 1, out);
  ds_onnx_node_end(&w->pb);
}

void ox_node2(writer *w, const char *op, const char *a, const char *b, const char *out) {
  const char *in[] = {a, b};
  ox_node(w, op, in, 2, out);
  ds_onnx_node_end(&w->pb);
}

/* QuantizeLinear / DequantizeLinear with the grid initializers of `base`. */
void ox_qdq_node(writer *w, const char *op, const char *in, const char *base, const char *out) {
  char s[NAME_LEN], z[NAME_LEN];
  ox_join(s, base, "/scale");
  ox_join(z, base, "/zp");
  const char *ins[] = {in, s, z};
  ox_node(w, op, ins, 3, out);
  ds_onnx_node_end(&w->pb);
}

/* Where an op writes activation a, and the Q -> DQ pair after it (QDQ graph). */
const char *ox_out_name(writer *w, int a) {
  return w->qdq ? ox_nm(w, "%s/pre", ox_act_name(w, a)) : ox_act_name(w, a);
}

void ox_finish_act(writer *w, int a) {
  const char *A = ox_act_name(w, a);
  if (w->qdq) {
    char pre[NAME_LEN], q[NAME_LEN];
    ox_join(pre, A, "/pre");
    ox_join(q, A, "/q");
    ox_qdq_node(w, "QuantizeLinear", pre, A, q);
    ox_qdq_node(w, "DequantizeLinear", q, A, A);
  } else {
    const grid g = ox_act_grid(w, a);
    ox_report_grid(w, A, 0, &g);
  }
}

void ox_reshape(writer *w, const char *in, const int64_t *shape, int n, const char *out) {
  const char *sh = ox_nm(w, "%s/shape", out);
  ox_init_i64(w, sh, shape, n);
  ox_node2(w, "Reshape", in, sh, out);
}

void ox_transpose(writer *w, const char *in, const int64_t *perm, int n, const char *out) {
  ox_node(w, "Transpose", &in, 1, out);
  ds_onnx_attr_ints(&w->pb, "perm", perm, n);
  ds_onnx_node_end(&w->pb);
}

/* Q then DQ of a float tensor on the grid of `base` (its "/scale" and "/zp" initializers): "out/q", "out". */
void ox_requant(writer *w, const char *pre, const char *base, const char *out) {
  char q[NAME_LEN];
  ox_join(q, out, "/q");
  ox_qdq_node(w, "QuantizeLinear", pre, base, q);
  ox_qdq_node(w, "DequantizeLinear", q, base, out);
}

/* ---- one width per op (QDQ graph) ----
 * QNN's HTP runs an op quantized only when its activation inputs and output share one type (weights
 * aside): ORT groups DQ -> op -> Q into a quantized unit only then, and otherwise runs the op in float.
 * So an op that mixes 8- and 16-bit activations (the Softmax over 16-bit masked scores, the pooling
 * MatMul with its 16-bit weights, every op next to a 16-bit LayerNorm under w8a16) runs at the wider
 * width: 8-bit inputs are first copied exactly onto their 16-bit "fine" grid (scale / 256, zero point
 * x 256; a DQ -> Q pair, which QNN runs as Convert), and an 8-bit output is written on its fine grid
 * and then brought down to its own. */

static grid fine_grid(writer *w, int a) {
  const ds_i8_act *act = &w->m->acts[a];
  const float s = act->q.scale * ds_export_fold_alpha(w->m, a);
  return ox_make_grid(w, 16, s / 256.0f, act->q.zero_point * 256, act->q.qmin * 256, act->q.qmax * 256 + 255);
}

/* Base name of activation a's fine grid initializers ("A/16"), written on first use. */
static const char *fine_base(writer *w, int a) {
  const char *base = ox_nm(w, "%s/16", ox_act_name(w, a));
  if (!w->fine_grid_written[a]) {
    const grid g = fine_grid(w, a);
    ox_init_grid(w, base, &g);
    w->fine_grid_written[a] = 1;
  }
  return base;
}

static int is_widened(writer *w, const char *name) {
  for (int i = 0; i < w->n_widened; i++)
    if (strcmp(w->widened[i], name) == 0) return 1;
  return 0;
}

static void note_widened(writer *w, const char *name) {
  if (w->n_widened == w->cap_widened) {
    const int cap = w->cap_widened ? 2 * w->cap_widened : 32;
    char(*grown)[NAME_LEN] = realloc(w->widened, sizeof *grown * (size_t)cap);
    if (!grown) {
      w->out_of_memory = 1;
      return;
    }
    w->widened = grown;
    w->cap_widened = cap;
  }
  snprintf(w->widened[w->n_widened++], NAME_LEN, "%s", name);
}

int ox_act_bits(writer *w, int a) { return ox_act_grid(w, a).bits; }

/* Tensor `name`, held on activation a's grid, as an input of a `bits`-wide op: itself, or its exact
 * 16-bit copy "name/16" (made once). */
const char *ox_widen(writer *w, const char *name, int a, int bits) {
  if (!w->qdq || ox_act_bits(w, a) >= bits) return name;
  char out[NAME_LEN];
  ox_join(out, name, "/16");
  if (!is_widened(w, name)) {
    char src[NAME_LEN];
    snprintf(src, sizeof src, "%s", name);
    ox_requant(w, src, fine_base(w, a), out);
    note_widened(w, src);
  }
  return ox_nm(w, "%s", out);
}

/* An op of width `bits` wrote `pre`, a value of activation a: quantize it to tensor `out` on a's grid,
 * through a's fine grid when a is narrower than the op (then "out/16" stays for 16-bit consumers). */
void ox_finish_at(writer *w, const char *pre, int a, const char *out, int bits) {
  if (ox_act_bits(w, a) >= bits) {
    ox_requant(w, pre, ox_act_name(w, a), out);
    return;
  }
  char o[NAME_LEN], o16[NAME_LEN];
  snprintf(o, sizeof o, "%s", out);
  ox_join(o16, o, "/16");
  ox_requant(w, pre, fine_base(w, a), o16);
  ox_requant(w, o16, ox_act_name(w, a), o);
  note_widened(w, o);
}

/* The width of an op reading activations in[0..n) and writing out. */
int ox_op_width(writer *w, const int *in, int n, int out) {
  int bits = ox_act_bits(w, out);
  for (int i = 0; i < n; i++)
    if (ox_act_bits(w, in[i]) > bits) bits = ox_act_bits(w, in[i]);
  return bits;
}

/* Where an op of width `bits` writes activation a, and what comes after it (QDQ: Q -> DQ). */
void ox_finish_act_at(writer *w, int a, int bits) {
  if (!w->qdq || ox_act_bits(w, a) >= bits) {
    ox_finish_act(w, a);
    return;
  }
  ox_finish_at(w, ox_nm(w, "%s/pre", ox_act_name(w, a)), a, ox_act_name(w, a), bits);
}
