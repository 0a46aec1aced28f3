/* The TFLite graph of an int8 model (export_tflite.h). Activation tensors carry the int8 model's
 * names; intermediates add a suffix ("layers.0.ln1/var"). */
#include "common/common.h"
#include "quant/export/export_tflite.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "quant/export/export_common.h"
#include "quant/export/export_tflite_build.h"
#include "quant/export/export_tflite_schema.h"

typedef struct {
  tfl_graph g;
  const ds_i8_model *m;
  ds_tflite_export_params p;
  int L;
  int *act_t;        /* tensor of each activation, -1 until made */
  int ids, mask_bias, pool_weights;
  char name[160];
} tw;

static const char *nm(tw *w, const char *a, const char *suffix) {
  if (snprintf(w->name, sizeof w->name, "%s%s", a, suffix) >= (int)sizeof w->name) w->name[sizeof w->name - 1] = 0;
  return w->name;
}

/* ---- tensors ---- */

static int act_shape(const tw *w, int a, int32_t *shape) {
  const ds_i8_act *x = &w->m->acts[a];
  switch (x->kind) {
    case DS_I8_ACT_TOKENS: shape[0] = w->L, shape[1] = x->width; return 2;
    case DS_I8_ACT_SCORES: shape[0] = x->width, shape[1] = w->L, shape[2] = w->L; return 3;
    default: shape[0] = 1, shape[1] = x->width; return 2;
  }
}

static int act(tw *w, int a) {
  if (w->act_t[a] >= 0) return w->act_t[a];
  const ds_i8_act *x = &w->m->acts[a];
  int32_t shape[3];
  const int nd = act_shape(w, a, shape);
  w->act_t[a] = tfl_tensor_q(&w->g, x->name, TFL_INT8, nd, shape, x->q.scale * ds_export_fold_alpha(w->m, a),
                             x->q.zero_point, NULL, 0);
  return w->act_t[a];
}

static int t16(tw *w, const char *name, int nd, const int32_t *shape, float scale) {
  return tfl_tensor_q(&w->g, name, TFL_INT16, nd, shape, scale, 0, NULL, 0);
}

static int const_i32(tw *w, const char *name, const int32_t *v, int n) {
  const int32_t shape[] = {n};
  return tfl_tensor_add(&w->g, name, TFL_INT32, 1, shape, 0, NULL, NULL, 0, v, sizeof(int32_t) * (size_t)n);
}

/* A constant int16 vector quantized symmetrically from floats (LayerNorm gamma and beta). */
static int const_f16(tw *w, const char *name, const float *v, int n) {
  float amax = 0.0f;
  for (int i = 0; i < n; i++) amax = fmaxf(amax, fabsf(v[i]));
  const float s = amax > 0.0f ? amax / 32767.0f : 1.0f;
  int16_t *q = malloc(sizeof(int16_t) * (size_t)n);
  if (!q) {
    w->g.failed = 1;
    return -1;
  }
  for (int i = 0; i < n; i++) q[i] = (int16_t)lrintf(v[i] / s);
  const int32_t shape[] = {n};
  const int t = tfl_tensor_q(&w->g, name, TFL_INT16, 1, shape, s, 0, q, sizeof(int16_t) * (size_t)n);
  free(q);
  return t;
}

/* ---- operators ---- */

static void op1(tw *w, int builtin, int in, int out, const tfl_options *o) { tfl_op_add(&w->g, builtin, &in, 1, &out, 1, o); }

static void op2(tw *w, int builtin, int a, int b, int out, const tfl_options *o) {
  const int in[] = {a, b};
  tfl_op_add(&w->g, builtin, in, 2, &out, 1, o);
}

static void reshape(tw *w, int in, const int32_t *shape, int nd, int out) {
  tfl_options o = {.type = TFL_OPTIONS_RESHAPE, .n_new_shape = nd};
  o.new_shape = malloc(sizeof(int32_t) * (size_t)nd);
  if (!o.new_shape) {
    w->g.failed = 1;
    return;
  }
  memcpy(o.new_shape, shape, sizeof(int32_t) * (size_t)nd);
  op2(w, TFL_OP_RESHAPE, in, const_i32(w, nm(w, w->g.tensors[out].name, "/shape"), shape, nd), out, &o);
}

static void transpose(tw *w, int in, const int32_t *perm, int out) {
  const tfl_options o = {.type = TFL_OPTIONS_TRANSPOSE};
  op2(w, TFL_OP_TRANSPOSE, in, const_i32(w, nm(w, w->g.tensors[out].name, "/perm"), perm, 3), out, &o);
}

static void add(tw *w, int a, int b, int out) {
  const tfl_options o = {.type = TFL_OPTIONS_ADD};
  op2(w, TFL_OP_ADD, a, b, out, &o);
}

static void mul(tw *w, int a, int b, int out) {
  const tfl_options o = {.type = TFL_OPTIONS_MUL};
  op2(w, TFL_OP_MUL, a, b, out, &o);
}

static void quantize(tw *w, int in, int out) { op1(w, TFL_OP_QUANTIZE, in, out, NULL); }

/* Activation a [L, H*hd] as heads [H, L, hd] on its own grid. */
static int heads(tw *w, int a, int H, int hd, const char *suffix) {
  const ds_i8_act *x = &w->m->acts[a];
  const float s = x->q.scale * ds_export_fold_alpha(w->m, a);
  const int32_t s3[] = {w->L, H, hd}, sh[] = {H, w->L, hd}, perm[] = {1, 0, 2};
  const int r = tfl_tensor_q(&w->g, nm(w, x->name, "/heads_r"), TFL_INT8, 3, s3, s, x->q.zero_point, NULL, 0);
  reshape(w, act(w, a), s3, 3, r);
  const int t = tfl_tensor_q(&w->g, nm(w, x->name, suffix), TFL_INT8, 3, sh, s, x->q.zero_point, NULL, 0);
  transpose(w, r, perm, t);
  return t;
}

/* An ids tensor of the type params.ids asks for (export_tflite.h). The type is the graph input's
 * itself: converting inside the graph would need a CAST that Vela and QNN leave on the CPU. */
static int ids_type(const tw *w) {
  const ds_tfl_ids_type t = w->p.ids;
  return t == DS_TFL_IDS_INT32 || (t == DS_TFL_IDS_AUTO && w->m->n_ids > 32767) ? TFL_INT32 : TFL_INT16;
}

static int ids_tensor_data(tw *w, const char *name, int nd, const int32_t *shape, const void *data, size_t nbytes) {
  if (w->p.ids == DS_TFL_IDS_AUTO) return tfl_tensor_q(&w->g, name, ids_type(w), nd, shape, 1.0f, 0, data, nbytes);
  return tfl_tensor_add(&w->g, name, ids_type(w), nd, shape, 0, NULL, NULL, 0, data, nbytes);
}

static int ids_tensor(tw *w, const char *name, int nd, const int32_t *shape) {
  return ids_tensor_data(w, name, nd, shape, NULL, 0);
}

/* A constant of n ids (values < n_ids, so they fit the ids type), typed like the ids; -1 out of memory. */
static int ids_const(tw *w, const char *name, int n, const int32_t *shape, const int32_t *v) {
  if (ids_type(w) == TFL_INT32) return ids_tensor_data(w, name, 1, shape, v, sizeof(int32_t) * (size_t)n);
  int16_t *v16 = malloc(sizeof(int16_t) * (size_t)n);
  if (!v16) return -1;
  for (int i = 0; i < n; i++) v16[i] = (int16_t)v[i];
  const int t = ids_tensor_data(w, name, 1, shape, v16, sizeof(int16_t) * (size_t)n);
  free(v16);
  return t;
}

/* ---- the student's ops ---- */

static int op_table(tw *w, const ds_i8_op *op, ds_err *err) {
  const ds_i8_weight *wt = &w->m->weights[op->weight];
  const ds_i8_act *out = &w->m->acts[op->out];
  const int rows = ds_export_table_rows(w->m, op);
  int8_t *tab = malloc((size_t)rows * wt->cols);
  int n = 0;
  if (!tab) return ds_fail(err, "tflite export: out of memory for '%s'", wt->name);
  if (ds_export_table(w->m, op, tab, &n, err)) {
    free(tab);
    return -1;
  }
  const int32_t shape[] = {rows, wt->cols};
  const int t = tfl_tensor_q(&w->g, wt->name, TFL_INT8, 2, shape, out->q.scale, out->q.zero_point, tab,
                             (size_t)rows * wt->cols);
  free(tab);
  if (op->kind == DS_I8_OP_POS_EMBED) {
    w->act_t[op->out] = t; /* the first max_len positions, a constant */
    return 0;
  }
  const tfl_options o = {.type = TFL_OPTIONS_GATHER, .i = {0, 0}};
  int ids = w->ids;
  if (ds_export_uses_id_rows(w->m, op)) { /* a pruned vocabulary: id -> row of the compacted table first */
    const int32_t map_shape[] = {w->m->n_ids}, flat[] = {w->L};
    const int map = ids_const(w, nm(w, wt->name, "/id_rows"), w->m->n_ids, map_shape, w->m->id_map);
    if (map < 0) return ds_fail(err, "tflite export: out of memory for '%s/id_rows'", wt->name);
    ids = ids_tensor(w, "ids/rows", 1, flat);
    op2(w, TFL_OP_GATHER, map, w->ids, ids, &o);
  }
  op2(w, TFL_OP_GATHER, t, ids, act(w, op->out), &o);
  return 0;
}

static int op_fc(tw *w, const ds_i8_op *op, ds_err *err) {
  const ds_i8_weight *wt = &w->m->weights[op->weight];
  const float alpha = ds_export_fold_alpha(w->m, op->out), s_in = w->m->acts[op->in[0]].q.scale;
  float *ws = malloc(sizeof(float) * wt->rows), *bs = malloc(sizeof(float) * wt->rows);
  int64_t *zeros = calloc((size_t)wt->rows, sizeof(int64_t));
  if (!ws || !bs || !zeros) {
    free(ws), free(bs), free(zeros);
    return ds_fail(err, "tflite export: out of memory for '%s'", wt->name);
  }
  for (int r = 0; r < wt->rows; r++) {
    ws[r] = wt->scale[r] * alpha;
    bs[r] = (s_in * wt->scale[r]) * alpha;
  }
  const int32_t wshape[] = {wt->rows, wt->cols}, bshape[] = {wt->rows};
  const int wt_t = tfl_tensor_add(&w->g, wt->name, TFL_INT8, 2, wshape, wt->rows, ws, zeros, 0, wt->data,
                                  (size_t)wt->rows * wt->cols);
  const int b_t = tfl_tensor_add(&w->g, nm(w, wt->name, "/bias"), TFL_INT32, 1, bshape, wt->rows, bs, zeros, 0,
                                 wt->bias, sizeof(int32_t) * (size_t)wt->rows);
  free(ws), free(bs), free(zeros);
  const int in[] = {act(w, op->in[0]), wt_t, b_t}, out = act(w, op->out);
  const tfl_options o = {.type = TFL_OPTIONS_FULLY_CONNECTED};
  tfl_op_add(&w->g, TFL_OP_FULLY_CONNECTED, in, 3, &out, 1, &o);
  return 0;
}

/* LayerNorm in 16-bit builtins. Ranges come from the input grid alone (no calibration): with the
 * input spanning R = 255 steps of s, |x - mean| <= R and the variance <= R^2/4.
 *
 * One RSQRT cannot cover that variance range. LiteRT's int16 RSQRT is a 513-entry table interpolated
 * linearly over 128-code segments, and 1/sqrt is too curved for that below a few hundred codes
 * (code 45 of a grid that reaches 1/sqrt of code 1 gives 3.6x the true value; codes 128-256 are up
 * to 3.3% off), while a row a few input steps wide (a teacher-initialized student's frequent words)
 * has a variance of a few codes on a grid that holds R^2/4. So the row is normalized twice:
 *   r0 = RSQRT(var), its output clamped at 1/sqrt(vc), vc = max(32 variance codes, eps), where the
 *        table is flat: within 7% over and 15% under 1/sqrt(var) for a row wider than vc, 1/sqrt(vc)
 *        (less than its own) for a narrower one; r0 sqrt(var + eps) < LN_F sqrt(1 + eps/vc);
 *   d1 = (x - mean) r0, and t = mean(d1^2) + eps r0^2 = r0^2 (var + eps): about 1 for a row wider
 *        than vc, var/vc for a narrower one, on a grid up to LN_F^2 (1 + eps/vc);
 *   normalized = d1 RSQRT(t) = (x - mean) / sqrt(var + eps), with the native runtime's eps.
 * A row of variance vc/32 (spread over about one input step) has t at 2% of its grid (655 codes),
 * where RSQRT is within 0.3%; the second RSQRT is clamped at 128 codes of t, again a flat table. */
#define LN_VC_CODES 32.0f /* vc in codes of the variance grid */
#define LN_F 1.25f        /* bound on r0 sqrt(var), with margin */

static void op_layernorm(tw *w, const ds_i8_op *op) {
  const ds_i8_act *x = &w->m->acts[op->in[0]], *y = &w->m->acts[op->out];
  const int C = x->width;
  int32_t sh[3], col[2];
  act_shape(w, op->in[0], sh);
  col[0] = sh[0], col[1] = 1;
  const float s = x->q.scale, R = s * (float)(x->q.qmax - x->q.qmin), eps = op->eps > 0.0f ? op->eps : 0.0f;
  const char *X = y->name;
  const int x16 = t16(w, nm(w, X, "/x16"), 2, sh, s);
  quantize(w, act(w, op->in[0]), x16);
  const int32_t axis = -1;
  const tfl_options keep = {.type = TFL_OPTIONS_REDUCER, .i = {1}};
  /* The mean and x - mean on s/128 (|x|, |x - mean| <= 255 s fit): x - mean is then exact, and a
   * narrow row is off only by the mean's rounding, at most s/256 in every element. */
  const int mean = t16(w, nm(w, X, "/mean"), 2, col, s / 128.0f);
  op2(w, TFL_OP_MEAN, x16, const_i32(w, nm(w, X, "/axis"), &axis, 1), mean, &keep);
  const int d = t16(w, nm(w, X, "/centered"), 2, sh, s / 128.0f);
  const tfl_options so = {.type = TFL_OPTIONS_SUB};
  op2(w, TFL_OP_SUB, x16, mean, d, &so);
  /* first pass: r0 */
  const int d2 = t16(w, nm(w, X, "/squared"), 2, sh, R * R / 32767.0f);
  mul(w, d, d, d2);
  const float var_step = R * R / 4.0f / 32767.0f, vc = fmaxf(LN_VC_CODES * var_step, eps);
  const int var = t16(w, nm(w, X, "/var"), 2, col, var_step);
  op2(w, TFL_OP_MEAN, d2, const_i32(w, nm(w, X, "/axis2"), &axis, 1), var, &keep);
  const int r0 = t16(w, nm(w, X, "/rstd0"), 2, col, 1.0f / sqrtf(vc) / 32767.0f);
  op1(w, TFL_OP_RSQRT, var, r0, NULL);
  /* second pass: t = mean(d1^2) + eps * r0^2, then 1 / sqrt(t) */
  const float F = LN_F * sqrtf(1.0f + eps / vc), T = F * F, nmax = sqrtf((float)C);
  const int d1 = t16(w, nm(w, X, "/centered1"), 2, sh, F * nmax / 32767.0f);
  mul(w, d, r0, d1);
  const int d12 = t16(w, nm(w, X, "/squared1"), 2, sh, T * (float)C / 32767.0f);
  mul(w, d1, d1, d12);
  int t = t16(w, nm(w, X, "/var1"), 2, col, T / 32767.0f);
  op2(w, TFL_OP_MEAN, d12, const_i32(w, nm(w, X, "/axis3"), &axis, 1), t, &keep);
  if (eps > 0.0f) {
    const float emax = sqrtf(eps / vc), seps = sqrtf(eps); /* sqrt(eps) * r0 <= emax <= 1 */
    const int e1 = t16(w, nm(w, X, "/eps_r"), 2, col, emax / 32767.0f);
    mul(w, r0, const_f16(w, nm(w, X, "/sqrt_eps"), &seps, 1), e1);
    const int e2 = t16(w, nm(w, X, "/eps_r2"), 2, col, emax * emax / 32767.0f);
    mul(w, e1, e1, e2);
    const int te = t16(w, nm(w, X, "/t"), 2, col, T / 32767.0f);
    add(w, t, e2, te);
    t = te;
  }
  const int r1 = t16(w, nm(w, X, "/rstd"), 2, col, 1.0f / sqrtf(128.0f * T / 32767.0f) / 32767.0f);
  op1(w, TFL_OP_RSQRT, t, r1, NULL);
  const int nrm = t16(w, nm(w, X, "/normalized"), 2, sh, nmax / 32767.0f);
  mul(w, d1, r1, nrm);
  float gmax = 0.0f;
  for (int c = 0; c < C; c++) gmax = fmaxf(gmax, fabsf(op->gamma[c]));
  const int gamma = const_f16(w, nm(w, X, ".weight"), op->gamma, C);
  const int scaled = t16(w, nm(w, X, "/scaled"), 2, sh, fmaxf(nmax * gmax, 1e-6f) / 32767.0f);
  mul(w, nrm, gamma, scaled);
  const int beta = const_f16(w, nm(w, X, ".bias"), op->beta, C);
  float lo, hi;
  ds_export_act_range(y, &lo, &hi);
  const int y16 = t16(w, nm(w, X, "/y16"), 2, sh, fmaxf(fabsf(lo), fabsf(hi)) / 32767.0f);
  add(w, scaled, beta, y16);
  quantize(w, y16, act(w, op->out));
}

static void op_scores(tw *w, const ds_i8_op *op) {
  const int q = heads(w, op->in[0], op->heads, op->head_dim, "/heads");
  const int k = heads(w, op->in[1], op->heads, op->head_dim, "/heads");
  const tfl_options o = {.type = TFL_OPTIONS_BATCH_MATMUL, .i = {0, 1}};
  op2(w, TFL_OP_BATCH_MATMUL, q, k, act(w, op->out), &o);
}

/* Softmax over keys: scores to 16 bits (exactly), plus the mask bias, int16 SOFTMAX, then the
 * int8 probability grid (1/256, -128). */
static void op_softmax(tw *w, const ds_i8_op *op) {
  const char *P = w->m->acts[op->out].name;
  int32_t sh[3];
  act_shape(w, op->out, sh);
  const float s16 = ds_export_masked_scale(w->m, op);
  const int sc16 = t16(w, nm(w, P, "/scores16"), 3, sh, s16);
  quantize(w, act(w, op->in[0]), sc16);
  const int masked = t16(w, nm(w, P, "/masked"), 3, sh, s16);
  add(w, sc16, w->mask_bias, masked);
  const int p16 = t16(w, nm(w, P, "/p16"), 3, sh, 1.0f / 32768.0f);
  const tfl_options o = {.type = TFL_OPTIONS_SOFTMAX, .f = 1.0f};
  op1(w, TFL_OP_SOFTMAX, masked, p16, &o);
  quantize(w, p16, act(w, op->out));
}

static void op_context(tw *w, const ds_i8_op *op) {
  const ds_i8_act *c = &w->m->acts[op->out];
  const int v = heads(w, op->in[1], op->heads, op->head_dim, "/heads");
  const int32_t sh[] = {op->heads, w->L, op->head_dim}, st[] = {w->L, op->heads, op->head_dim};
  const int32_t flat[] = {w->L, op->heads * op->head_dim}, perm[] = {1, 0, 2};
  const int ch = tfl_tensor_q(&w->g, nm(w, c->name, "/heads"), TFL_INT8, 3, sh, c->q.scale, c->q.zero_point, NULL, 0);
  const tfl_options o = {.type = TFL_OPTIONS_BATCH_MATMUL, .i = {0, 0}};
  op2(w, TFL_OP_BATCH_MATMUL, act(w, op->in[0]), v, ch, &o);
  const int ct = tfl_tensor_q(&w->g, nm(w, c->name, "/heads_t"), TFL_INT8, 3, st, c->q.scale, c->q.zero_point, NULL, 0);
  transpose(w, ch, perm, ct);
  reshape(w, ct, flat, 2, act(w, op->out));
}

static void op_pool(tw *w, const ds_i8_op *op) {
  const ds_i8_act *x = &w->m->acts[op->in[0]], *y = &w->m->acts[op->out];
  if (op->kind == DS_I8_OP_POOL_CLS) {
    const int32_t zero = 0;
    const int idx = const_i32(w, nm(w, y->name, "/index"), &zero, 1);
    const tfl_options o = {.type = TFL_OPTIONS_GATHER, .i = {0, 0}};
    op2(w, TFL_OP_GATHER, act(w, op->in[0]), idx, act(w, op->out), &o);
    return;
  }
  int32_t sh[3];
  act_shape(w, op->in[0], sh);
  /* The int8 codes times 128 (|q - zp| <= 255 fits): Qualcomm's HTP runs this int16 BATCH_MATMUL
   * with its result on a grid of 2 input steps, biased by -1.4 steps on average, when the input keeps
   * the int8 scale and so spans only 8 of its 16 bits (LiteRT's CPU is exact either way). */
  const int x16 = t16(w, nm(w, y->name, "/x16"), 2, sh, x->q.scale / 128.0f);
  quantize(w, act(w, op->in[0]), x16);
  float lo, hi;
  ds_export_act_range(y, &lo, &hi);
  const int32_t osh[] = {1, y->width};
  const int p16 = t16(w, nm(w, y->name, "/p16"), 2, osh, fmaxf(fabsf(lo), fabsf(hi)) / 32767.0f);
  const tfl_options o = {.type = TFL_OPTIONS_BATCH_MATMUL, .i = {0, 0}};
  op2(w, TFL_OP_BATCH_MATMUL, w->pool_weights, x16, p16, &o);
  quantize(w, p16, act(w, op->out));
}

static void op_simple(tw *w, const ds_i8_op *op) {
  if (op->kind == DS_I8_OP_ADD) {
    add(w, act(w, op->in[0]), act(w, op->in[1]), act(w, op->out));
  } else {
    const tfl_options o = {.type = TFL_OPTIONS_GELU, .i = {1}};
    op1(w, TFL_OP_GELU, act(w, op->in[0]), act(w, op->out), &o);
  }
}

/* ---- inputs ---- */

static void write_inputs(tw *w) {
  const int32_t in_shape[] = {1, w->L}, flat[] = {w->L}, row[] = {1, w->L};
  const int ids_in = ids_tensor(w, "input_ids", 2, in_shape);
  const float D = ds_export_mask_depth(w->m);
  const int mask_in = tfl_tensor_q(&w->g, "attention_mask", TFL_INT8, 2, in_shape, D, 1, NULL, 0);
  w->g.inputs[0] = ids_in;
  w->g.inputs[1] = mask_in;
  w->g.n_inputs = 2;
  w->ids = ids_tensor(w, "ids", 1, flat);
  reshape(w, ids_in, flat, 1, w->ids);
  /* 16384 steps for D: the bias values -D and 0 are exact. */
  w->mask_bias = t16(w, "mask_bias", 2, row, D / 16384.0f);
  quantize(w, mask_in, w->mask_bias);
  /* Mean pooling's weights, 1/n on real tokens. Only for mean pooling: a SOFTMAX nothing reads
   * would become a dangling output of the NPU graph (QNN keeps it). */
  int mean_pool = 0;
  for (int i = 0; i < w->m->n_ops; i++) mean_pool |= w->m->ops[i].kind == DS_I8_OP_POOL_MEAN;
  if (!mean_pool) return;
  w->pool_weights = t16(w, "pool_weights", 2, row, 1.0f / 32768.0f);
  const tfl_options o = {.type = TFL_OPTIONS_SOFTMAX, .f = 1.0f};
  op1(w, TFL_OP_SOFTMAX, w->mask_bias, w->pool_weights, &o);
}

ds_tflite_export_params ds_tflite_export_default_params(void) {
  ds_tflite_export_params p = {DS_TFL_IDS_AUTO};
  return p;
}

int ds_tflite_export_buffer_with(const ds_i8_model *m, const ds_tflite_export_params *p, unsigned char **data,
                                 size_t *size, ds_err *err) {
  *data = NULL;
  *size = 0;
  if (ds_export_check_model(m, err)) return -1;
  const ds_tflite_export_params P = p ? *p : ds_tflite_export_default_params();
  if (P.ids != DS_TFL_IDS_AUTO && P.ids != DS_TFL_IDS_INT32 && P.ids != DS_TFL_IDS_INT16_PLAIN)
    return ds_fail(err, "tflite export: unknown ids type %d", (int)P.ids);
  if (P.ids == DS_TFL_IDS_INT16_PLAIN && m->n_ids > 32767)
    return ds_fail(err, "tflite export: %d token ids do not fit int16 input_ids (at most 32767): use int32 ids",
                          m->n_ids);
  tw w;
  memset(&w, 0, sizeof w);
  tfl_graph_init(&w.g);
  w.m = m;
  w.p = P;
  w.L = m->max_len;
  w.act_t = malloc(sizeof(int) * (size_t)m->n_acts);
  if (!w.act_t) {
    tfl_graph_free(&w.g);
    return ds_fail(err, "tflite export: out of memory");
  }
  for (int a = 0; a < m->n_acts; a++) w.act_t[a] = -1;
  write_inputs(&w);
  int rc = 0;
  for (int i = 0; rc == 0 && i < m->n_ops; i++) {
    const ds_i8_op *op = &m->ops[i];
    switch (op->kind) {
      case DS_I8_OP_EMBED:
      case DS_I8_OP_POS_EMBED: rc = op_table(&w, op, err); break;
      case DS_I8_OP_FC: rc = op_fc(&w, op, err); break;
      case DS_I8_OP_LAYERNORM: op_layernorm(&w, op); break;
      case DS_I8_OP_ATT_SCORES: op_scores(&w, op); break;
      case DS_I8_OP_SOFTMAX: op_softmax(&w, op); break;
      case DS_I8_OP_ATT_CONTEXT: op_context(&w, op); break;
      case DS_I8_OP_POOL_MEAN:
      case DS_I8_OP_POOL_CLS: op_pool(&w, op); break;
      default: op_simple(&w, op); break;
    }
  }
  if (rc == 0) {
    w.g.outputs[0] = act(&w, m->emb_act);
    w.g.n_outputs = 1;
    if (m->logits_act >= 0) w.g.outputs[w.g.n_outputs++] = act(&w, m->logits_act);
    /* The outputs are looked up by name: "emb" and "logits" whatever the activations are called. */
    if (!w.g.failed) {
      snprintf(w.g.tensors[w.g.outputs[0]].name, sizeof w.g.tensors[0].name, "emb");
      if (m->logits_act >= 0) snprintf(w.g.tensors[w.g.outputs[1]].name, sizeof w.g.tensors[0].name, "logits");
    }
    rc = tfl_graph_serialize(&w.g, "distill int8 student", data, size, err);
  }
  free(w.act_t);
  tfl_graph_free(&w.g);
  return rc;
}

int ds_tflite_export_buffer(const ds_i8_model *m, unsigned char **data, size_t *size, ds_err *err) {
  return ds_tflite_export_buffer_with(m, NULL, data, size, err);
}

int ds_tflite_export_with(const ds_i8_model *m, const ds_tflite_export_params *p, const char *path, ds_err *err) {
  unsigned char *data;
  size_t size;
  if (ds_tflite_export_buffer_with(m, p, &data, &size, err)) return -1;
  const int rc = ds_atomic_write(path, data, size, err);
  free(data);
  return rc ? ds_fail_prefix(err, "TFLite export") : 0;
}

int ds_tflite_export(const ds_i8_model *m, const char *path, ds_err *err) {
  return ds_tflite_export_with(m, NULL, path, err);
}
