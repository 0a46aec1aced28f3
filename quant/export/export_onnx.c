/* The ONNX graph of an int8 model, QDQ or float (export_onnx.h): one writer per op kind, the inputs,
 * the outputs. Naming in the QDQ graph: an op writes activation A's float value to "A/pre",
 * QuantizeLinear makes "A/q" and DequantizeLinear "A", which consumers read; data movement (reshape,
 * transpose, gather) also sits between a DQ and a Q, on one grid. In the float graph the op writes "A"
 * directly. The shared helpers (ox_*) are in export_onnx_writer.c, the graph's inputs and outputs in
 * export_onnx_io.c. */
#include "common/common.h"
#include "quant/export/export_onnx.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "quant/export/export_common.h"
#include "quant/export/export_onnx_writer.h"


ds_onnx_export_params ds_onnx_export_default_params(void) {
  ds_onnx_export_params p = {0, 0, 0};
  return p;
}

/* Activation a (TOKENS [L, H*hd]) as heads [H, L, hd] (perm 1,0,2) or [H, hd, L] (perm 1,2,0). In the
 * QDQ graph each move sits between DQ and Q on a's grid (an exact no-op on the codes): QNN runs
 * Reshape/Transpose only as such quantized units, not on bare integer codes. Returns the name. */
static const char *heads(writer *w, int a, int H, int hd, int keys_last, char *out, size_t out_len) {
  const char *A = ox_act_name(w, a);
  const int64_t shape[] = {w->L, H, hd}, perm_q[] = {1, 0, 2}, perm_k[] = {1, 2, 0};
  char r[NAME_LEN], t[NAME_LEN];
  snprintf(r, sizeof r, "%s/heads_r", A);
  snprintf(t, sizeof t, "%s/heads%s", A, keys_last ? "_t" : "");
  const grid g = ox_act_grid(w, a);
  if (w->qdq) {
    ox_reshape(w, A, shape, 3, ox_nm(w, "%s/pre", r));
    ox_requant(w, ox_nm(w, "%s/pre", r), A, r);
    ox_transpose(w, r, keys_last ? perm_k : perm_q, 3, ox_nm(w, "%s/pre", t));
    ox_requant(w, ox_nm(w, "%s/pre", t), A, t);
  } else {
    ox_reshape(w, A, shape, 3, r);
    ox_transpose(w, r, keys_last ? perm_k : perm_q, 3, t);
    ox_report_grid(w, r, 0, &g);
    ox_report_grid(w, t, 0, &g);
  }
  snprintf(out, out_len, "%s", t);
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
    return err && err->msg[0] ? -1 : ds_fail(err, "export: out of memory for table '%s'", wt->name);
  }
  const grid g = ox_act_grid(w, op->out);
  const char *A = ox_act_name(w, op->out);
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
    ox_report(w, tname, 1, 8, 0, 1, &g.scale, g.zp_signed);
  }
  free(tab);
  free(ftab);
  if (op->kind == DS_I8_OP_EMBED) {
    /* QDQ: DQ -> Gather -> Q on one grid, the unit QNN runs as a quantized Gather. */
    char table[NAME_LEN];
    snprintf(table, sizeof table, "%s", wt->name);
    if (w->qdq) ox_qdq_node(w, "DequantizeLinear", tname, A, table);
    const char *ids = "ids";
    if (ds_export_uses_id_rows(m, op)) { /* a pruned vocabulary: id -> row of the compacted table first */
      const int64_t map_dims[] = {m->n_ids};
      const char *map = ox_nm(w, "%s/id_rows", wt->name);
      ds_onnx_tensor(&w->pb, ONNX_GRAPH_INITIALIZER, map, ONNX_INT32, 1, map_dims, m->id_map);
      ids = "ids/rows";
      ox_node(w, "Gather", (const char *[]){map, "ids"}, 2, ids);
      ds_onnx_attr_int(&w->pb, "axis", 0);
      ds_onnx_node_end(&w->pb);
    }
    const char *in[] = {table, ids};
    ox_node(w, "Gather", in, 2, ox_out_name(w, op->out));
    ds_onnx_attr_int(&w->pb, "axis", 0);
    ds_onnx_node_end(&w->pb);
    ox_finish_act(w, op->out);
  } else if (w->qdq) {
    ox_qdq_node(w, "DequantizeLinear", tname, A, A);
  } else {
    ox_node1(w, "Identity", tname, A);
    ox_report_grid(w, A, 0, &g);
  }
  return 0;
}

/* Gemm weight [out, in] and bias [out] (DQ per output channel in the QDQ graph). */
static int op_fc(writer *w, const ds_i8_op *op, ds_err *err) {
  const ds_i8_weight *wt = &w->m->weights[op->weight];
  const int R = wt->rows, C = wt->cols;
  const float alpha = ds_export_fold_alpha(w->m, op->out);
  const int bits = w->qdq ? ox_op_width(w, op->in, 1, op->out) : ox_act_bits(w, op->in[0]);
  /* A 16-bit input is on the fine grid (scale / 256): the bias is stated on that scale, as QNN's
   * FullyConnected reads it (s_in * s_w), with 256x its codes: the same real values. */
  const int32_t fine = bits == 16 ? 256 : 1;
  const float s_in = w->m->acts[op->in[0]].q.scale / (float)fine;
  float *ws = malloc(sizeof(float) * R), *bs = malloc(sizeof(float) * R);
  float *fw = w->qdq ? NULL : malloc(sizeof(float) * (size_t)R * C), *fb = malloc(sizeof(float) * R);
  int8_t *zeros = calloc((size_t)R, 1);
  int32_t *bias = malloc(sizeof(int32_t) * R);
  if (!ws || !bs || !fb || !zeros || !bias || (!w->qdq && !fw)) {
    free(ws), free(bs), free(fw), free(fb), free(zeros), free(bias);
    return ds_fail(err, "export: out of memory for '%s'", wt->name);
  }
  for (int r = 0; r < R; r++) {
    if (llabs((long long)wt->bias[r] * fine) > INT32_MAX) {
      free(ws), free(bs), free(fw), free(fb), free(zeros), free(bias);
      return ds_fail(err, "export: bias of '%s' row %d does not fit int32 on its 16-bit input's grid",
                            wt->name, r);
    }
    bias[r] = wt->bias[r] * fine;
  }
  for (int r = 0; r < R; r++) {
    ws[r] = wt->scale[r] * alpha;
    bs[r] = (s_in * wt->scale[r]) * alpha; /* the runtime's bias scale, a float product */
  }
  char wn[NAME_LEN], bn[NAME_LEN];
  snprintf(wn, sizeof wn, "%s", wt->name);
  const size_t len = strlen(wn);
  if (len > 7 && strcmp(wn + len - 7, ".weight") == 0) wn[len - 7] = '\0';
  ox_join(bn, wn, ".bias");
  ox_join(wn, wt->name, "");
  const int64_t wdims[] = {R, C}, bdims[] = {R};
  if (w->qdq) {
    ds_onnx_tensor(&w->pb, ONNX_GRAPH_INITIALIZER, ox_nm(w, "%s/q", wn), ONNX_INT8, 2, wdims, wt->data);
    ds_onnx_tensor(&w->pb, ONNX_GRAPH_INITIALIZER, ox_nm(w, "%s/scale", wn), ONNX_FLOAT, 1, bdims, ws);
    ds_onnx_tensor(&w->pb, ONNX_GRAPH_INITIALIZER, ox_nm(w, "%s/zp", wn), ONNX_INT8, 1, bdims, zeros);
    ds_onnx_tensor(&w->pb, ONNX_GRAPH_INITIALIZER, ox_nm(w, "%s/q", bn), ONNX_INT32, 1, bdims, bias);
    ds_onnx_tensor(&w->pb, ONNX_GRAPH_INITIALIZER, ox_nm(w, "%s/scale", bn), ONNX_FLOAT, 1, bdims, bs);
    const char *wi[] = {ox_nm(w, "%s/q", wn), ox_nm(w, "%s/scale", wn), ox_nm(w, "%s/zp", wn)};
    ox_node(w, "DequantizeLinear", wi, 3, wn);
    ds_onnx_attr_int(&w->pb, "axis", 0);
    ds_onnx_node_end(&w->pb);
    const char *bi[] = {ox_nm(w, "%s/q", bn), ox_nm(w, "%s/scale", bn)};
    ox_node(w, "DequantizeLinear", bi, 2, bn);
    ds_onnx_attr_int(&w->pb, "axis", 0);
    ds_onnx_node_end(&w->pb);
  } else {
    for (int r = 0; r < R; r++) {
      for (int c = 0; c < C; c++) fw[(size_t)r * C + c] = ws[r] * (float)wt->data[(size_t)r * C + c];
      fb[r] = bs[r] * (float)bias[r];
    }
    ds_onnx_tensor(&w->pb, ONNX_GRAPH_INITIALIZER, wn, ONNX_FLOAT, 2, wdims, fw);
    ds_onnx_tensor(&w->pb, ONNX_GRAPH_INITIALIZER, bn, ONNX_FLOAT, 1, bdims, fb);
    ox_report(w, wn, 1, 8, 1, R, ws, 0);
    ox_report(w, bn, 1, 32, 1, R, bs, 0);
  }
  const char *in[] = {ox_widen(w, ox_act_name(w, op->in[0]), op->in[0], bits), wn, bn};
  ox_node(w, "Gemm", in, 3, ox_out_name(w, op->out));
  ds_onnx_attr_int(&w->pb, "transB", 1);
  ds_onnx_node_end(&w->pb);
  ox_finish_act_at(w, op->out, bits);
  free(ws), free(bs), free(fw), free(fb), free(zeros), free(bias);
  return 0;
}

/* LayerNorm's gamma as uint8 codes (asymmetric, per tensor, the range holding 0) and beta as int32 at
 * s_x * s_gamma, each behind a DequantizeLinear: the one form in which QNN's HTP runs a quantized
 * LayerNorm (with float parameters it runs in float; uint16 or per-channel gamma are refused, tried
 * on the QNN 2.40 HTP). Costs at most half a gamma step, (max - min) / 510, against the native
 * runtime, which applies gamma and beta in float. */
static int layernorm_params_u8(writer *w, const ds_i8_op *op, const char *g, const char *b, float s_x, ds_err *err) {
  const int C = w->m->acts[op->out].width;
  const int64_t dims[] = {C};
  float lo = 0.0f, hi = 0.0f;
  for (int c = 0; c < C; c++) lo = fminf(lo, op->gamma[c]), hi = fmaxf(hi, op->gamma[c]);
  const float s_g = hi > lo ? (hi - lo) / 255.0f : 1.0f;
  const uint8_t zp = (uint8_t)lrintf(-lo / s_g);
  const float s_b = s_x * s_g;
  uint8_t *gq = malloc((size_t)C > 0 ? (size_t)C : 1);
  int32_t *bq = malloc(sizeof(int32_t) * (size_t)C);
  if (!gq || !bq) {
    free(gq), free(bq);
    return ds_fail(err, "export: out of memory for '%s'", g);
  }
  for (int c = 0; c < C; c++) {
    gq[c] = (uint8_t)fminf(fmaxf(lrintf(op->gamma[c] / s_g) + (float)zp, 0.0f), 255.0f);
    const double v = rint((double)op->beta[c] / s_b);
    if (!(fabs(v) <= INT32_MAX)) { /* NaN too */
      free(gq), free(bq);
      return ds_fail(err, "export: beta of '%s' channel %d does not fit int32 at s_x * s_gamma", g, c);
    }
    bq[c] = (int32_t)v;
  }
  ds_onnx_tensor(&w->pb, ONNX_GRAPH_INITIALIZER, ox_nm(w, "%s/q", g), ONNX_UINT8, 1, dims, gq);
  ox_init_scalar_f(w, ox_nm(w, "%s/scale", g), s_g);
  ds_onnx_tensor(&w->pb, ONNX_GRAPH_INITIALIZER, ox_nm(w, "%s/zp", g), ONNX_UINT8, 0, NULL, &zp);
  ds_onnx_tensor(&w->pb, ONNX_GRAPH_INITIALIZER, ox_nm(w, "%s/q", b), ONNX_INT32, 1, dims, bq);
  ox_init_scalar_f(w, ox_nm(w, "%s/scale", b), s_b);
  free(gq), free(bq);
  char in[NAME_LEN];
  ox_join(in, g, "/q");
  ox_qdq_node(w, "DequantizeLinear", in, g, g);
  ox_join(in, b, "/q");
  const char *bi[] = {in, ox_nm(w, "%s/scale", b)};
  ox_node(w, "DequantizeLinear", bi, 2, b);
  ds_onnx_node_end(&w->pb);
  return 0;
}

static int op_layernorm(writer *w, const ds_i8_op *op, ds_err *err) {
  const char *A = ox_act_name(w, op->out);
  const int C = w->m->acts[op->out].width;
  const int64_t dims[] = {C};
  const int bits = ox_op_width(w, op->in, 1, op->out);
  char g[NAME_LEN], b[NAME_LEN];
  snprintf(g, sizeof g, "%s.weight", A);
  snprintf(b, sizeof b, "%s.bias", A);
  if (w->qdq && w->p.uint8_acts) {
    const float s_x = w->m->acts[op->in[0]].q.scale / (bits == 16 ? 256.0f : 1.0f);
    if (layernorm_params_u8(w, op, g, b, s_x, err)) return -1;
  } else {
    ds_onnx_tensor(&w->pb, ONNX_GRAPH_INITIALIZER, g, ONNX_FLOAT, 1, dims, op->gamma);
    ds_onnx_tensor(&w->pb, ONNX_GRAPH_INITIALIZER, b, ONNX_FLOAT, 1, dims, op->beta);
  }
  if (!w->qdq) {
    /* LayerNorm parameters stay 16-bit: the int8 runtime applies them in float. */
    float sg = 0.0f, sb = 0.0f;
    for (int c = 0; c < C; c++) {
      sg = fmaxf(sg, fabsf(op->gamma[c]));
      sb = fmaxf(sb, fabsf(op->beta[c]));
    }
    sg = sg > 0.0f ? sg / 32767.0f : 1.0f;
    sb = sb > 0.0f ? sb / 32767.0f : 1.0f;
    ox_report(w, g, 1, 16, 1, 1, &sg, 0);
    ox_report(w, b, 1, 16, 1, 1, &sb, 0);
  }
  const char *in[] = {ox_widen(w, ox_act_name(w, op->in[0]), op->in[0], bits), g, b};
  ox_node(w, "LayerNormalization", in, 3, ox_out_name(w, op->out));
  ds_onnx_attr_int(&w->pb, "axis", -1);
  ds_onnx_attr_float(&w->pb, "epsilon", op->eps);
  ds_onnx_node_end(&w->pb);
  ox_finish_act_at(w, op->out, bits);
  return 0;
}

static void op_scores(writer *w, const ds_i8_op *op) {
  char q[NAME_LEN], k[NAME_LEN];
  heads(w, op->in[0], op->heads, op->head_dim, 0, q, sizeof q);
  heads(w, op->in[1], op->heads, op->head_dim, 1, k, sizeof k);
  const int bits = ox_op_width(w, op->in, 2, op->out);
  char qw[NAME_LEN];
  snprintf(qw, sizeof qw, "%s", ox_widen(w, q, op->in[0], bits));
  ox_node2(w, "MatMul", qw, ox_widen(w, k, op->in[1], bits), ox_out_name(w, op->out));
  ox_finish_act_at(w, op->out, bits);
}

/* Softmax over keys with padding keys pushed down by the mask bias; the masked scores ride on a
 * 16-bit grid wide enough for the bias (export_common.h). */
static void op_softmax(writer *w, const ds_i8_op *op) {
  const char *P = ox_act_name(w, op->out);
  char masked[NAME_LEN];
  snprintf(masked, sizeof masked, "%s/masked", P);
  grid g16 = ox_make_grid(w, 16, ds_export_masked_scale(w->m, op), 0, -32768, 32767);
  if (w->qdq) {
    /* Both addends first move onto the masked grid (exact for the scores, a whole fraction of their
     * scale), so the Add reads and writes one type, as QNN's quantized ElementWiseAdd needs. */
    char scores[NAME_LEN], bias[NAME_LEN];
    ox_join(scores, masked, "/scores");
    ox_join(bias, masked, "/bias");
    ox_init_grid(w, masked, &g16);
    ox_requant(w, ox_act_name(w, op->in[0]), masked, scores);
    ox_requant(w, "mask_bias", masked, bias);
    ox_node2(w, "Add", scores, bias, ox_nm(w, "%s/pre", masked));
    ox_requant(w, ox_nm(w, "%s/pre", masked), masked, masked);
  } else {
    ox_node2(w, "Add", ox_act_name(w, op->in[0]), "mask_bias", masked);
    ox_report_grid(w, masked, 0, &g16);
  }
  ox_node(w, "Softmax", (const char *[]){masked}, 1, ox_out_name(w, op->out));
  ds_onnx_attr_int(&w->pb, "axis", -1);
  ds_onnx_node_end(&w->pb);
  ox_finish_act_at(w, op->out, 16); /* the masked scores are 16-bit */
}

/* ctx = probs @ v per head, quantized per head, then heads moved back into columns (int8). */
static void op_context(writer *w, const ds_i8_op *op) {
  char v[NAME_LEN];
  heads(w, op->in[1], op->heads, op->head_dim, 0, v, sizeof v);
  const char *A = ox_act_name(w, op->out);
  const int64_t perm[] = {1, 0, 2}, shape[] = {w->L, (int64_t)op->heads * op->head_dim};
  const grid g = ox_act_grid(w, op->out);
  char hn[NAME_LEN], tn[NAME_LEN];
  snprintf(hn, sizeof hn, "%s/heads", A);
  snprintf(tn, sizeof tn, "%s/heads_t", A);
  if (w->qdq) { /* MatMul, Transpose and Reshape each between DQ and Q on ctx's grid */
    const int bits = ox_op_width(w, op->in, 2, op->out);
    char probs[NAME_LEN];
    snprintf(probs, sizeof probs, "%s", ox_widen(w, ox_act_name(w, op->in[0]), op->in[0], bits));
    ox_node2(w, "MatMul", probs, ox_widen(w, v, op->in[1], bits), ox_nm(w, "%s/pre", hn));
    ox_finish_at(w, ox_nm(w, "%s/pre", hn), op->out, hn, bits);
    ox_transpose(w, hn, perm, 3, ox_nm(w, "%s/pre", tn));
    ox_requant(w, ox_nm(w, "%s/pre", tn), A, tn);
  } else {
    ox_node2(w, "MatMul", ox_act_name(w, op->in[0]), v, hn);
    ox_transpose(w, hn, perm, 3, tn);
    ox_report_grid(w, hn, 0, &g);
    ox_report_grid(w, tn, 0, &g);
  }
  ox_reshape(w, tn, shape, 2, ox_out_name(w, op->out));
  ox_finish_act(w, op->out);
}

static void op_pool(writer *w, const ds_i8_op *op) {
  const char *A = ox_act_name(w, op->out), *X = ox_act_name(w, op->in[0]);
  if (op->kind == DS_I8_OP_POOL_CLS) {
    const int64_t zero = 0;
    ox_init_i64(w, ox_nm(w, "%s/index", A), &zero, 1);
    const char *in[] = {X, ox_nm(w, "%s/index", A)};
    ox_node(w, "Gather", in, 2, ox_out_name(w, op->out));
    ds_onnx_attr_int(&w->pb, "axis", 0);
    ds_onnx_node_end(&w->pb);
    if (w->qdq) { /* the first token, still on the input's grid (16-bit under w8a16) */
      ox_requant(w, ox_nm(w, "%s/pre", A), X, A);
    } else {
      const grid g = ox_act_grid(w, op->out);
      ox_report_grid(w, A, 0, &g);
    }
    return;
  }
  /* Mean over real tokens: the pooling weights (1/n on real tokens) times the token rows. */
  ox_node2(w, "MatMul", "pool_weights", ox_widen(w, X, op->in[0], 16), ox_out_name(w, op->out));
  ox_finish_act_at(w, op->out, 16); /* the pooling weights are 16-bit */
}

static void op_simple(writer *w, const ds_i8_op *op) {
  const int n_in = op->kind == DS_I8_OP_ADD ? 2 : 1, bits = ox_op_width(w, op->in, n_in, op->out);
  char a[NAME_LEN], b[NAME_LEN], out[NAME_LEN];
  snprintf(a, sizeof a, "%s", ox_widen(w, ox_act_name(w, op->in[0]), op->in[0], bits));
  snprintf(out, sizeof out, "%s", ox_out_name(w, op->out));
  if (op->kind == DS_I8_OP_ADD) {
    snprintf(b, sizeof b, "%s", ox_widen(w, ox_act_name(w, op->in[1]), op->in[1], bits));
    ox_node2(w, "Add", a, b, out);
  } else { /* GELU, tanh form as the student */
    ox_node(w, "Gelu", (const char *[]){a}, 1, out);
    ds_onnx_attr_string(&w->pb, "approximate", "tanh");
    ds_onnx_node_end(&w->pb);
  }
  ox_finish_act_at(w, op->out, bits);
}

/* Activations that never pass a QuantizeLinear of their own (CLS pooling keeps its input's grid). */
static int has_own_grid(writer *w, int a) { return ox_cls_source(w, a) < 0; }

static int write_graph(writer *w, ds_err *err) {
  const ds_i8_model *m = w->m;
  ds_onnx_model_begin(&w->pb, DS_ONNX_IR_VERSION, DS_ONNX_OPSET, "distill",
                      w->qdq ? "distill_int8_qdq" : "distill_float");
  ox_write_inputs(w);
  if (w->qdq)
    for (int a = 0; a < m->n_acts; a++) {
      if (!has_own_grid(w, a)) continue;
      const grid g = ox_act_grid(w, a);
      ox_init_grid(w, ox_act_name(w, a), &g);
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
      case DS_I8_OP_LAYERNORM:
        if (op_layernorm(w, op, err)) return -1;
        break;
      case DS_I8_OP_ATT_SCORES: op_scores(w, op); break;
      case DS_I8_OP_SOFTMAX: op_softmax(w, op); break;
      case DS_I8_OP_ATT_CONTEXT: op_context(w, op); break;
      case DS_I8_OP_POOL_MEAN:
      case DS_I8_OP_POOL_CLS: op_pool(w, op); break;
      default: op_simple(w, op); break;
    }
  }
  ox_write_output(w, m->emb_act, "emb");
  if (m->logits_act >= 0) ox_write_output(w, m->logits_act, "logits");
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
  if (!w) return ds_fail(err, "export: out of memory");
  ds_pb_init(&w->pb);
  w->m = m;
  w->p = p ? *p : ds_onnx_export_default_params();
  w->qdq = !w->p.float_graph;
  w->L = m->max_len;
  w->mask_depth = ds_export_mask_depth(m);
  w->on_tensor = w->qdq ? NULL : on_tensor;
  w->ctx = ctx;
  w->fine_grid_written = calloc((size_t)m->n_acts, 1);
  int rc = w->fine_grid_written ? write_graph(w, err) : ds_fail(err, "export: out of memory");
  if (rc == 0 && w->out_of_memory) rc = ds_fail(err, "export: out of memory");
  if (rc == 0) rc = ds_pb_finish(&w->pb, err);
  if (rc == 0) {
    *data = w->pb.data;
    *size = w->pb.len;
    w->pb.data = NULL;
  }
  ds_pb_free(&w->pb);
  free(w->fine_grid_written);
  free(w->widened);
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
  const int rc = ds_atomic_write(path, data, size, err);
  free(data);
  return rc ? ds_fail_prefix(err, "ONNX export") : 0;
}
