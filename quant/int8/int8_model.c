/* The integer-only runtime: validates a model, derives its requantization parameters and runs its op
 * list on one sequence, every activation kept in caller-provided scratch (quant/int8/int8.h). */
#include "quant/int8/int8.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"

#define ALIGN 16

int ds_i8_model_find_act(const ds_i8_model *m, const char *name) {
  for (int i = 0; i < m->n_acts; i++)
    if (strcmp(m->acts[i].name, name) == 0) return i;
  return -1;
}

int ds_i8_model_find_weight(const ds_i8_model *m, const char *name) {
  for (int i = 0; i < m->n_weights; i++)
    if (strcmp(m->weights[i].name, name) == 0) return i;
  return -1;
}

void ds_i8_model_free(ds_i8_model *m) {
  if (!m) return;
  for (int i = 0; m->weights && i < m->n_weights; i++) {
    free(m->weights[i].data);
    free(m->weights[i].scale);
    free(m->weights[i].bias);
  }
  for (int i = 0; m->ops && i < m->n_ops; i++) {
    free(m->ops[i].gamma);
    free(m->ops[i].beta);
    free(m->ops[i].multiplier);
    free(m->ops[i].shift);
    free(m->ops[i].wsum);
  }
  free(m->acts);
  free(m->weights);
  free(m->ops);
  free(m->id_map);
  free(m->vocab_strings);
  memset(m, 0, sizeof *m);
}

/* Bytes of activation `a` for max_len tokens, rounded up so every buffer stays aligned. */
static size_t act_capacity(const ds_i8_model *m, const ds_i8_act *a) {
  size_t L = (size_t)m->max_len, n;
  switch (a->kind) {
    case DS_I8_ACT_TOKENS: n = L * (size_t)a->width; break;
    case DS_I8_ACT_SCORES: n = (size_t)a->width * L * L; break;
    default: n = (size_t)a->width; break;
  }
  return (n + ALIGN - 1) / ALIGN * ALIGN;
}

static size_t act_offset(const ds_i8_model *m, int act) {
  size_t off = 0;
  for (int i = 0; i < act; i++) off += act_capacity(m, &m->acts[i]);
  return off;
}

/* Kernel scratch after the activations: int32 row ids / attention sums (float_row of them) and a
 * float row for LayerNorm and softmax (the widest of dim, max_len, any width). */
static size_t float_row(const ds_i8_model *m) {
  size_t w = (size_t)(m->max_len > m->dim ? m->max_len : m->dim);
  for (int i = 0; i < m->n_acts; i++)
    if ((size_t)m->acts[i].width > w) w = (size_t)m->acts[i].width;
  return w;
}

size_t ds_i8_model_scratch_size(const ds_i8_model *m) {
  return act_offset(m, m->n_acts) + 2 * float_row(m) * sizeof(float) + ALIGN;
}

const int8_t *ds_i8_model_act_data(const ds_i8_model *m, const void *scratch, int act) {
  if (act < 0 || act >= m->n_acts) return NULL;
  return (const int8_t *)scratch + act_offset(m, act);
}

/* ---- validation and derived parameters ---- */

static int act_ok(const ds_i8_model *m, int i, ds_i8_act_kind kind, int width) {
  if (i < 0 || i >= m->n_acts) return 0;
  return m->acts[i].kind == kind && (width < 0 || m->acts[i].width == width);
}

static int qparams_ok(const ds_qparams *q) {
  return q->scale > 0.0f && q->scale < 1e30f && q->qmin >= INT8_MIN && q->qmax <= INT8_MAX &&
         q->qmin <= q->qmax && q->zero_point >= INT8_MIN && q->zero_point <= INT8_MAX;
}

/* Attention heads: both counts positive and their product (the q/k/v width) an activation width. */
static int heads_ok(const ds_i8_op *op) {
  return op->heads >= 1 && op->head_dim >= 1 && (int64_t)op->heads * op->head_dim <= (1 << 20);
}

static int prepare_op(ds_i8_model *m, int k, ds_err *err) {
  ds_i8_op *op = &m->ops[k];
  const int n_in = op->kind == DS_I8_OP_ADD || op->kind == DS_I8_OP_ATT_SCORES || op->kind == DS_I8_OP_ATT_CONTEXT
                       ? 2
                   : op->kind == DS_I8_OP_EMBED || op->kind == DS_I8_OP_POS_EMBED ? 0
                                                                                  : 1;
  if ((unsigned)op->kind > DS_I8_OP_POOL_CLS) return ds_fail(err, "op %d: unknown kind %d", k, (int)op->kind);
  if (op->out < 0 || op->out >= m->n_acts) return ds_fail(err, "op %d: output %d out of range", k, op->out);
  for (int j = 0; j < 2; j++)
    if (j < n_in ? op->in[j] < 0 || op->in[j] >= m->n_acts : op->in[j] != -1)
      return ds_fail(err, "op %d: input %d is %d, out of range", k, j, op->in[j]);
  const int has_weight = op->kind == DS_I8_OP_EMBED || op->kind == DS_I8_OP_POS_EMBED || op->kind == DS_I8_OP_FC;
  if (!has_weight && op->weight != -1) return ds_fail(err, "op %d: takes no weight but names %d", k, op->weight);
  const ds_i8_act *out = &m->acts[op->out];
  const ds_i8_act *in0 = n_in > 0 ? &m->acts[op->in[0]] : NULL, *in1 = n_in > 1 ? &m->acts[op->in[1]] : NULL;
  const ds_i8_weight *w = NULL;
  if (has_weight) {
    if (op->weight < 0 || op->weight >= m->n_weights) return ds_fail(err, "op %d: weight %d out of range", k, op->weight);
    w = &m->weights[op->weight];
    free(op->multiplier);
    free(op->shift);
    op->multiplier = malloc(sizeof(int32_t) * (size_t)(w->rows > 0 ? w->rows : 1));
    op->shift = malloc(sizeof(int32_t) * (size_t)(w->rows > 0 ? w->rows : 1));
    if (!op->multiplier || !op->shift) return ds_fail(err, "out of memory preparing op %d", k);
  }
  int bad = 0;
  switch (op->kind) {
    case DS_I8_OP_EMBED:
    case DS_I8_OP_POS_EMBED:
      bad = !act_ok(m, op->out, DS_I8_ACT_TOKENS, w->cols) ||
            (op->kind == DS_I8_OP_EMBED ? w->rows != m->vocab : w->rows < m->max_len) ||
            ds_i8_multipliers_make(1.0f, w->scale, w->rows, out->q.scale, op->multiplier, op->shift);
      break;
    case DS_I8_OP_ADD:
      bad = in0->kind != out->kind || in1->kind != out->kind || in0->width != out->width ||
            in1->width != out->width ||
            ds_i8_add_prepare(&in0->q, &in1->q, &out->q, &op->add);
      break;
    case DS_I8_OP_LAYERNORM:
      bad = in0->kind != out->kind || in0->width != out->width || !op->gamma || !op->beta || !(op->eps >= 0.0f);
      for (int c = 0; !bad && c < out->width; c++) bad = !isfinite(op->gamma[c]) || !isfinite(op->beta[c]);
      break;
    case DS_I8_OP_FC:
      free(op->wsum);
      op->wsum = malloc(sizeof(int32_t) * (size_t)w->rows);
      if (!op->wsum) return ds_fail(err, "out of memory preparing op %d", k);
      ds_i8_row_sums(w->data, w->rows, w->cols, op->wsum);
      bad = in0->kind == DS_I8_ACT_SCORES || in0->kind != out->kind || w->cols != in0->width ||
            w->rows != out->width || !w->bias ||
            ds_i8_multipliers_make(in0->q.scale, w->scale, w->rows, out->q.scale, op->multiplier, op->shift);
      break;
    case DS_I8_OP_ATT_SCORES:
      bad = !heads_ok(op) || !act_ok(m, op->in[0], DS_I8_ACT_TOKENS, op->heads * op->head_dim) ||
            !act_ok(m, op->in[1], DS_I8_ACT_TOKENS, op->heads * op->head_dim) ||
            !act_ok(m, op->out, DS_I8_ACT_SCORES, op->heads) ||
            ds_i8_scores_multiplier(in0->q.scale, in1->q.scale, op->head_dim, out->q.scale, &op->mult1, &op->shift1);
      break;
    case DS_I8_OP_SOFTMAX:
      bad = in0->kind != DS_I8_ACT_SCORES || !act_ok(m, op->out, DS_I8_ACT_SCORES, in0->width) ||
            out->q.scale != DS_I8_SOFTMAX_SCALE || out->q.zero_point != DS_I8_SOFTMAX_ZP;
      break;
    case DS_I8_OP_ATT_CONTEXT:
      bad = !heads_ok(op) || !act_ok(m, op->in[0], DS_I8_ACT_SCORES, op->heads) ||
            in0->q.scale != DS_I8_SOFTMAX_SCALE || in0->q.zero_point != DS_I8_SOFTMAX_ZP ||
            !act_ok(m, op->in[1], DS_I8_ACT_TOKENS, op->heads * op->head_dim) ||
            !act_ok(m, op->out, DS_I8_ACT_TOKENS, op->heads * op->head_dim) ||
            ds_i8_context_multiplier(in1->q.scale, out->q.scale, &op->mult1, &op->shift1);
      break;
    case DS_I8_OP_GELU:
      bad = in0->kind != out->kind || in0->width != out->width;
      break;
    case DS_I8_OP_POOL_MEAN:
    case DS_I8_OP_POOL_CLS:
      bad = in0->kind != DS_I8_ACT_TOKENS || !act_ok(m, op->out, DS_I8_ACT_VECTOR, in0->width) ||
            in0->q.scale != out->q.scale || in0->q.zero_point != out->q.zero_point;
      break;
  }
  if (bad) return ds_fail(err, "op %d (output '%s'): inconsistent shapes, weights or scales", k, out->name);
  return 0;
}

int ds_i8_model_prepare(ds_i8_model *m, ds_err *err) {
  if (m->vocab < 1 || m->max_len < 1 || m->dim < 1 || m->emb_dim < 1 || m->n_classes < 0 || m->n_acts < 1 ||
      m->n_ops < 1 || !m->acts || !m->ops || (m->n_weights > 0 && !m->weights))
    return ds_fail(err, "int8 model: bad header (vocab %d, max_len %d, dim %d, emb_dim %d, %d acts, %d ops)",
                      m->vocab, m->max_len, m->dim, m->emb_dim, m->n_acts, m->n_ops);
  if (m->n_ids < 1 || (!m->id_map && m->n_ids != m->vocab))
    return ds_fail(err, "int8 model: %d input ids for a token table of %d rows and no id map", m->n_ids, m->vocab);
  for (int i = 0; m->id_map && i < m->n_ids; i++)
    if (m->id_map[i] < 0 || m->id_map[i] >= m->vocab)
      return ds_fail(err, "int8 model: id %d maps to row %d outside [0, %d)", i, m->id_map[i], m->vocab);
  for (int i = 0; i < m->n_acts; i++) {
    const ds_i8_act *a = &m->acts[i];
    if ((unsigned)a->kind > DS_I8_ACT_VECTOR || a->width < 1 || a->width > (1 << 20) || !qparams_ok(&a->q))
      return ds_fail(err, "int8 model: activation %d ('%.*s') has a bad kind, width or quantization", i,
                        DS_I8_NAME_MAX, a->name);
  }
  for (int i = 0; i < m->n_weights; i++) {
    const ds_i8_weight *w = &m->weights[i];
    if (w->rows < 1 || w->cols < 1 || !w->data || !w->scale)
      return ds_fail(err, "int8 model: weight '%.*s' is empty", DS_I8_NAME_MAX, w->name);
    for (int r = 0; r < w->rows; r++)
      if (!(w->scale[r] > 0.0f && w->scale[r] < 1e30f))
        return ds_fail(err, "int8 model: weight '%.*s' row %d has scale %g", DS_I8_NAME_MAX, w->name, r,
                          (double)w->scale[r]);
  }
  for (int k = 0; k < m->n_ops; k++)
    if (prepare_op(m, k, err)) return -1;
  if (!act_ok(m, m->emb_act, DS_I8_ACT_VECTOR, m->emb_dim) ||
      (m->n_classes > 0 ? !act_ok(m, m->logits_act, DS_I8_ACT_VECTOR, m->n_classes) : m->logits_act != -1))
    return ds_fail(err, "int8 model: the output tensors do not match emb_dim %d / n_classes %d", m->emb_dim,
                      m->n_classes);
  return 0;
}

/* ---- running ---- */

static size_t act_numel(const ds_i8_act *a, int T) {
  switch (a->kind) {
    case DS_I8_ACT_TOKENS: return (size_t)T * a->width;
    case DS_I8_ACT_SCORES: return (size_t)a->width * T * T;
    default: return (size_t)a->width;
  }
}

static int run_op(const ds_i8_model *m, const ds_i8_op *op, int8_t *base, const int32_t *ids, const uint8_t *mask,
                  int T, int32_t *rows, float *frow) {
  const ds_i8_act *out = &m->acts[op->out];
  int8_t *y = base + act_offset(m, op->out);
  const int8_t *x0 = op->in[0] >= 0 ? base + act_offset(m, op->in[0]) : NULL;
  const int8_t *x1 = op->in[1] >= 0 ? base + act_offset(m, op->in[1]) : NULL;
  const ds_i8_act *a0 = op->in[0] >= 0 ? &m->acts[op->in[0]] : NULL, *a1 = op->in[1] >= 0 ? &m->acts[op->in[1]] : NULL;
  const ds_i8_weight *w = op->weight >= 0 ? &m->weights[op->weight] : NULL;
  /* heads and head_dim mean something (and are checked) for the attention ops only. */
  const int attention = op->kind == DS_I8_OP_ATT_SCORES || op->kind == DS_I8_OP_ATT_CONTEXT;
  const int hd = attention ? op->head_dim : 0, HD = attention ? op->heads * op->head_dim : 0;
  switch (op->kind) {
    case DS_I8_OP_EMBED:
    case DS_I8_OP_POS_EMBED: {
      for (int t = 0; t < T; t++) rows[t] = op->kind == DS_I8_OP_POS_EMBED ? t : m->id_map ? m->id_map[ids[t]] : ids[t];
      const ds_i8_embedding_params p = {out->q.zero_point, out->q.qmin, out->q.qmax};
      const ds_i8_embedding_dims d = {w->rows, w->cols};
      return ds_i8_embedding_lookup_vnni(&p, &d, op->multiplier, op->shift, w->data, rows, T, y);
    }
    case DS_I8_OP_ADD: return ds_i8_add_vnni(&op->add, x0, x1, act_numel(out, T), y);
    case DS_I8_OP_LAYERNORM:
      return ds_i8_layernorm_vnni(&a0->q, &out->q, op->gamma, op->beta, op->eps, x0,
                             a0->kind == DS_I8_ACT_VECTOR ? 1 : T, a0->width, frow, y);
    case DS_I8_OP_FC: {
      const ds_i8_fc_params p = {a0->q.zero_point, out->q.zero_point, out->q.qmin, out->q.qmax};
      const ds_i8_fc_dims d = {a0->kind == DS_I8_ACT_VECTOR ? 1 : T, w->cols, w->rows};
      return ds_i8_fc_vnni(&p, &d, op->multiplier, op->shift, x0, w->data, w->bias, op->wsum, y);
    }
    case DS_I8_OP_ATT_SCORES: {
      const ds_i8_matmul_params p = {a0->q.zero_point, a1->q.zero_point, out->q.zero_point, op->mult1, op->shift1,
                                     out->q.qmin, out->q.qmax};
      for (int h = 0; h < op->heads; h++) ds_i8_att_scores_vnni(&p, T, hd, HD, x0 + h * hd, x1 + h * hd, rows, y + (size_t)h * T * T);
      return 0;
    }
    case DS_I8_OP_SOFTMAX: return ds_i8_softmax(&a0->q, x0, mask, a0->width * T, T, frow, y);
    case DS_I8_OP_ATT_CONTEXT: {
      const ds_i8_matmul_params p = {DS_I8_SOFTMAX_ZP, a1->q.zero_point, out->q.zero_point, op->mult1, op->shift1,
                                     out->q.qmin, out->q.qmax};
      for (int h = 0; h < op->heads; h++) ds_i8_att_context_vnni(&p, T, hd, HD, x0 + (size_t)h * T * T, x1 + h * hd, rows, y + h * hd);
      return 0;
    }
    case DS_I8_OP_GELU: ds_i8_lut_apply(op->lut, x0, act_numel(out, T), y); return 0;
    case DS_I8_OP_POOL_MEAN: ds_i8_pool_mean(x0, mask, T, a0->width, a0->q.zero_point, y); return 0;
    case DS_I8_OP_POOL_CLS: memcpy(y, x0, (size_t)a0->width); return 0;
  }
  return -1;
}

int ds_i8_model_run(const ds_i8_model *m, const int32_t *ids, const uint8_t *mask, int T, void *scratch,
                    float *emb, float *logits, ds_err *err) {
  if (!m || !ids || !scratch) return ds_fail(err, "int8 run: NULL argument");
  if (T < 1 || T > m->max_len) return ds_fail(err, "sequence length %d is outside [1, %d]", T, m->max_len);
  for (int t = 0; t < T; t++)
    if (ids[t] < 0 || ids[t] >= m->n_ids)
      return ds_fail(err, "token id %d at position %d is outside the vocabulary [0, %d)", ids[t], t, m->n_ids);
  int8_t *base = scratch;
  size_t off = act_offset(m, m->n_acts);
  int32_t *rows = (int32_t *)(void *)(base + off);
  off += float_row(m) * sizeof(int32_t);
  off = (off + ALIGN - 1) / ALIGN * ALIGN;
  float *frow = (float *)(void *)(base + off);
  for (int k = 0; k < m->n_ops; k++)
    if (run_op(m, &m->ops[k], base, ids, mask, T, rows, frow))
      return ds_fail(err, "int8 run: op %d ('%s') failed", k, m->acts[m->ops[k].out].name);
  const ds_i8_act *e = &m->acts[m->emb_act];
  if (emb) ds_dequant_tensor(&e->q, base + act_offset(m, m->emb_act), (size_t)m->emb_dim, emb);
  if (logits && m->logits_act >= 0) {
    const ds_i8_act *l = &m->acts[m->logits_act];
    ds_dequant_tensor(&l->q, base + act_offset(m, m->logits_act), (size_t)m->n_classes, logits);
  }
  return 0;
}
