/* The int8 model of a QAT student (quant/int8/int8.h): the same weight codes, scales, biases,
 * activation parameters and lookup tables the fake-quant forward uses, with pruned heads and FFN
 * neurons cut out (a removed unit adds exactly zero to every accumulator it feeds, so cutting it
 * changes no integer). */
#include <stdlib.h>
#include <string.h>

#include "quant/qat/qat_graph.h"
#include "quant/qat/qat_internal.h"

typedef struct {
  ds_i8_model *m;
  int cap_acts, cap_weights, cap_ops;
  int failed;
} builder;

static int add_act(builder *b, const char *name, ds_i8_act_kind kind, int width, const ds_qparams *qp) {
  ds_i8_model *m = b->m;
  if (b->failed || m->n_acts == b->cap_acts) return b->failed = 1, -1;
  ds_i8_act *a = &m->acts[m->n_acts];
  snprintf(a->name, sizeof a->name, "%s", name);
  a->kind = kind;
  a->width = width;
  a->q = *qp;
  return m->n_acts++;
}

/* A weight from rows `rows` (n_rows of them) and columns `cols` (n_cols) of a quantized tensor
 * (codes, per-row scales, float bias or NULL), the bias quantized at s_in * scale. */
static int add_weight(builder *b, const char *name, const int8_t *codes, const float *scales, int ld,
                      const int *rows, int n_rows, const int *cols, int n_cols, const float *bias, float s_in) {
  ds_i8_model *m = b->m;
  if (b->failed || m->n_weights == b->cap_weights) return b->failed = 1, -1;
  ds_i8_weight *w = &m->weights[m->n_weights++];
  snprintf(w->name, sizeof w->name, "%s", name);
  w->rows = n_rows;
  w->cols = n_cols;
  w->data = malloc((size_t)n_rows * n_cols);
  w->scale = malloc(sizeof(float) * (size_t)n_rows);
  float *bsel = bias ? malloc(sizeof(float) * (size_t)n_rows) : NULL;
  w->bias = bias ? malloc(sizeof(int32_t) * (size_t)n_rows) : NULL;
  if (!w->data || !w->scale || (bias && (!bsel || !w->bias))) {
    free(bsel);
    return b->failed = 1, -1;
  }
  for (int r = 0; r < n_rows; r++) {
    const int src = rows ? rows[r] : r;
    w->scale[r] = scales[src];
    if (bias) bsel[r] = bias[src];
    for (int c = 0; c < n_cols; c++) w->data[(size_t)r * n_cols + c] = codes[(size_t)src * ld + (cols ? cols[c] : c)];
  }
  if (bias && ds_quant_bias(bsel, (size_t)n_rows, s_in, w->scale, w->bias)) b->failed = 1;
  free(bsel);
  return b->failed ? -1 : m->n_weights - 1;
}

static ds_i8_op *add_op(builder *b, ds_i8_op_kind kind, int in0, int in1, int out, int weight) {
  ds_i8_model *m = b->m;
  if (b->failed || m->n_ops == b->cap_ops || out < 0) {
    b->failed = 1;
    return NULL;
  }
  ds_i8_op *op = &m->ops[m->n_ops++];
  memset(op, 0, sizeof *op);
  op->kind = kind;
  op->in[0] = in0;
  op->in[1] = in1;
  op->out = out;
  op->weight = weight;
  return op;
}

static float *copy_floats(builder *b, const float *x, int n) {
  float *y = malloc(sizeof(float) * (size_t)n);
  if (!y) b->failed = 1;
  else memcpy(y, x, sizeof(float) * (size_t)n);
  return y;
}

static int layernorm_op(builder *b, int in, int out, const float *w, const float *bias, int C) {
  ds_i8_op *op = add_op(b, DS_I8_OP_LAYERNORM, in, -1, out, -1);
  if (!op) return -1;
  op->eps = DS_LN_EPS;
  op->gamma = copy_floats(b, w, C);
  op->beta = copy_floats(b, bias, C);
  return b->failed ? -1 : 0;
}

static char **copy_vocab(char *const *v, int n) {
  size_t text = 0;
  for (int i = 0; i < n; i++) text += strlen(v[i]) + 1;
  char **out = malloc(sizeof(char *) * (size_t)n + text);
  if (!out) return NULL;
  char *dst = (char *)(out + n);
  for (int i = 0; i < n; i++) {
    size_t len = strlen(v[i]) + 1;
    memcpy(dst, v[i], len);
    out[i] = dst;
    dst += len;
  }
  return out;
}

int ds_qat_build_int8(const ds_student *st, char *const *vocab, int n_vocab, int pad_id, ds_i8_model *out,
                      ds_err *err) {
  memset(out, 0, sizeof *out);
  const ds_qat *q = st->qat;
  if (!q) return ds_fail(err, "the model has no quantization state: train it with [quant] enabled = true");
  const ds_student_shape *s = &st->shape;
  const ds_param_table *t = &st->table;
  const int C = s->dim, hd = s->head_dim, L = s->n_layers, E = ds_student_emb_dim(s);
  /* Every weight tensor quantized as the forward pass does it. */
  int8_t *codes = malloc(t->n_params);
  float *scales = malloc(sizeof(float) * (q->n_wrows + 1));
  size_t n_idx = 1;
  for (int l = 0; l < L; l++)
    if ((size_t)(3 * s->heads[l] * hd + s->ffn[l]) + 1 > n_idx) n_idx = (size_t)(3 * s->heads[l] * hd + s->ffn[l]) + 1;
  int *idx = malloc(sizeof(int) * n_idx); /* live head rows, then live FFN neurons, of one layer */
  builder b = {out, q->n_sites, 2 + 6 * L + 2, 3 + 14 * L + 4, 0};
  out->acts = calloc((size_t)b.cap_acts, sizeof(ds_i8_act));
  out->weights = calloc((size_t)b.cap_weights, sizeof(ds_i8_weight));
  out->ops = calloc((size_t)b.cap_ops, sizeof(ds_i8_op));
  int rc = -1;
  if (!codes || !scales || !idx || !out->acts || !out->weights || !out->ops) {
    ds_fail(err, "out of memory building the int8 model");
    goto done;
  }
  for (int i = 0; i < t->n_tensors; i++) {
    const ds_tensor_info *ti = &t->tensors[i];
    if (ti->ndim != 2) continue;
    float *sc = scales + q->wrow[i];
    if (ds_qat_weight_scales(q, st->params + ti->offset, i, ti->shape[0], ti->shape[1], sc) ||
        ds_quant_rows(st->params + ti->offset, ti->shape[0], ti->shape[1], sc, q->cfg.weight_bits,
                      codes + ti->offset)) {
      ds_fail(err, "cannot quantize %s: it holds NaN or Inf", ti->name);
      goto done;
    }
  }
#define W(ti) (codes + t->tensors[ti].offset), (scales + q->wrow[ti])
  ds_qparams qp[DS_QAT_MAX_SITES];
  for (int i = 0; i < q->n_sites; i++) ds_qat_site_qparams(q, i, &qp[i]);
  int act[DS_QAT_MAX_SITES];
  /* Activations in site order, at their live widths. */
  for (int i = 0; i < q->n_sites; i++) {
    const ds_qat_site *si = &q->site[i];
    int width = si->width;
    if (i >= DS_QS_HEAD && i < ds_qat_final_site(L, 0)) {
      const int l = (i - DS_QS_HEAD) / DS_QL_COUNT, k = (i - DS_QS_HEAD) % DS_QL_COUNT;
      int heads = 0, ffn = 0;
      for (int h = 0; h < s->heads[l]; h++) heads += st->head_mask[l][h] != 0.0f;
      for (int f = 0; f < s->ffn[l]; f++) ffn += st->ffn_mask[l][f] != 0.0f;
      if (heads == 0 || ffn == 0) {
        ds_fail(err, "layer %d has every head or every FFN neuron pruned; the int8 model needs at least one", l);
        goto done;
      }
      if (k == DS_QL_Q || k == DS_QL_K || k == DS_QL_V || k == DS_QL_CTX) width = heads * hd;
      if (k == DS_QL_SCORES || k == DS_QL_PROBS) width = heads;
      if (k == DS_QL_FC1 || k == DS_QL_GELU) width = ffn;
    }
    act[i] = si->used ? add_act(&b, si->name, si->kind, width, &qp[i]) : -1;
  }
  /* The ops, one per node of the graph the fake-quant forward runs. */
  ds_qat_node nodes[DS_QAT_MAX_NODES];
  const int n_nodes = ds_qat_graph(s, t, nodes);
  int layer = -1, n_heads = 0, n_ffn = 0;
  int *hrows = idx, *fcols = idx; /* live head rows, then live FFN neurons, of `layer` */
  for (int i = 0; i < n_nodes && !b.failed; i++) {
    const ds_qat_node *nd = &nodes[i];
    if (nd->layer >= 0 && nd->layer != layer) {
      layer = nd->layer;
      const int H = s->heads[layer], F = s->ffn[layer];
      fcols = idx + 3 * H * hd;
      n_heads = n_ffn = 0;
      for (int h = 0; h < H; h++)
        if (st->head_mask[layer][h] != 0.0f) {
          for (int d = 0; d < hd; d++) hrows[n_heads * hd + d] = h * hd + d;
          n_heads++;
        }
      for (int f = 0; f < F; f++)
        if (st->ffn_mask[layer][f] != 0.0f) fcols[n_ffn++] = f;
    }
    const int in0 = nd->in[0] >= 0 ? act[nd->in[0]] : -1, in1 = nd->in[1] >= 0 ? act[nd->in[1]] : -1;
    const int out = act[nd->out];
    const ds_tensor_info *w = nd->weight >= 0 ? &t->tensors[nd->weight] : NULL;
    ds_i8_op *op = NULL;
    switch (nd->kind) {
    case DS_I8_OP_EMBED:
    case DS_I8_OP_POS_EMBED: {
      char name[DS_I8_NAME_MAX];
      snprintf(name, sizeof name, "%.*s", (int)sizeof name - 1, w->name);
      add_op(&b, nd->kind, -1, -1, out, add_weight(&b, name, W(nd->weight), C, NULL, w->shape[0], NULL, C, NULL, 0));
      break;
    }
    case DS_I8_OP_LAYERNORM:
      layernorm_op(&b, in0, out, st->params + t->tensors[nd->gamma].offset,
                   st->params + t->tensors[nd->gamma + 1].offset, C);
      break;
    case DS_I8_OP_FC: {
      /* Pruned heads and neurons cut out: rows of q/k/v and fc1, columns of the attention output and fc2. */
      const int slot = nd->layer >= 0 ? nd->weight - ds_layer_tensor(nd->layer, 0) : -1;
      const int HD = nd->layer >= 0 ? s->heads[nd->layer] * hd : 0, LHD = n_heads * hd;
      int qkv_rows[LHD > 0 ? LHD : 1];
      for (int r = 0; r < LHD && nd->part >= 0; r++) qkv_rows[r] = nd->part * HD + hrows[r];
      const int *rows = nd->part >= 0 ? qkv_rows : slot == DS_LT_FC1_W ? fcols : NULL;
      const int n_rows = nd->part >= 0 ? LHD : slot == DS_LT_FC1_W ? n_ffn : w->shape[0];
      const int *cols = slot == DS_LT_ATTN_OUT_W ? hrows : slot == DS_LT_FC2_W ? fcols : NULL;
      const int n_cols = slot == DS_LT_ATTN_OUT_W ? LHD : slot == DS_LT_FC2_W ? n_ffn : w->shape[1];
      char name[DS_I8_NAME_MAX];
      if (nd->part >= 0) /* the fused weight splits into three: layers.L.attn.q.weight, ... */
        snprintf(name, sizeof name, "layers.%d.attn.%c.weight", nd->layer, "qkv"[nd->part]);
      else /* table names are far shorter than DS_I8_NAME_MAX */
        snprintf(name, sizeof name, "%.*s", (int)sizeof name - 1, w->name);
      add_op(&b, DS_I8_OP_FC, in0, -1, out,
             add_weight(&b, name, W(nd->weight), w->shape[1], rows, n_rows, cols, n_cols,
                        st->params + t->tensors[nd->weight + 1].offset, qp[nd->in[0]].scale));
      break;
    }
    case DS_I8_OP_ATT_SCORES:
    case DS_I8_OP_ATT_CONTEXT:
      op = add_op(&b, nd->kind, in0, in1, out, -1);
      if (op) op->heads = n_heads, op->head_dim = hd;
      break;
    case DS_I8_OP_GELU:
      op = add_op(&b, nd->kind, in0, -1, out, -1);
      if (op && ds_i8_gelu_lut_build(op->lut, &qp[nd->in[0]], &qp[nd->out])) b.failed = 1;
      break;
    default: /* SOFTMAX, ADD and the poolings: no parameters */
      add_op(&b, nd->kind, in0, in1, out, -1);
    }
  }
  const int f0 = ds_qat_final_site(L, 0), emb = s->out_dim > 0 ? f0 + DS_QF_EMB : f0 + DS_QF_POOLED;
#undef W
  out->vocab = s->vocab;
  out->max_len = s->max_len;
  out->dim = C;
  out->emb_dim = E;
  out->n_classes = s->n_classes;
  out->pooling = s->pooling == DS_POOL_CLS;
  out->pad_id = pad_id;
  out->emb_act = act[emb];
  out->logits_act = s->n_classes > 0 ? act[f0 + DS_QF_LOGITS] : -1;
  out->n_ids = s->vocab;
  if (st->vocab_map) {
    out->n_ids = st->vocab_map->n_ids;
    out->id_map = malloc(sizeof(int32_t) * (size_t)out->n_ids);
    if (!out->id_map) b.failed = 1;
    else memcpy(out->id_map, st->vocab_map->row, sizeof(int32_t) * (size_t)out->n_ids);
  }
  if (vocab && n_vocab > 0) {
    out->vocab_strings = copy_vocab(vocab, n_vocab);
    out->n_vocab_strings = n_vocab;
    if (!out->vocab_strings) b.failed = 1;
  }
  if (b.failed) {
    ds_fail(err, "cannot build the int8 model: out of memory or a NaN/Inf bias");
    goto done;
  }
  rc = ds_i8_model_prepare(out, err);
done:
  free(codes);
  free(scales);
  free(idx);
  if (rc) ds_i8_model_free(out);
  return rc;
}
