/* Shared pieces of the exporters (export_common.h). */
#include "quant/export/export_common.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "quant/export/export_encodings.h"
#include "quant/export/export_onnx.h"
#include "quant/export/export_tflite.h"
#include "quant/int8/int8.h"
#include <string.h>

static int act_ok(const ds_i8_model *m, int a, ds_i8_act_kind kind) {
  return a >= 0 && a < m->n_acts && m->acts[a].kind == kind;
}

int ds_export_check_model(const ds_i8_model *m, ds_err *err) {
  if (m->n_ops < 1 || m->max_len < 1 || m->dim < 1 || m->emb_act < 0 || m->emb_act >= m->n_acts)
    return ds_fail(err, "export: the int8 model is empty or has no embedding output");
  for (int i = 0; i < m->n_ops; i++) {
    const ds_i8_op *op = &m->ops[i];
    const ds_i8_act *out = op->out >= 0 && op->out < m->n_acts ? &m->acts[op->out] : NULL;
    int ok = out != NULL && op->in[0] < m->n_acts && op->in[1] < m->n_acts;
    const int has_w = op->weight >= 0 && op->weight < m->n_weights;
    switch (ok ? (int)op->kind : -1) {
      case DS_I8_OP_EMBED:
      case DS_I8_OP_POS_EMBED: ok = has_w && op->multiplier && out->kind == DS_I8_ACT_TOKENS; break;
      case DS_I8_OP_ADD: ok = act_ok(m, op->in[0], out->kind) && act_ok(m, op->in[1], out->kind); break;
      case DS_I8_OP_LAYERNORM: ok = act_ok(m, op->in[0], out->kind) && op->gamma && op->beta; break;
      case DS_I8_OP_FC: ok = has_w && op->in[0] >= 0 && m->acts[op->in[0]].kind == out->kind &&
                             m->weights[op->weight].bias != NULL; break;
      case DS_I8_OP_ATT_SCORES: ok = act_ok(m, op->in[0], DS_I8_ACT_TOKENS) && act_ok(m, op->in[1], DS_I8_ACT_TOKENS) &&
                                     out->kind == DS_I8_ACT_SCORES && op->heads > 0 && op->head_dim > 0; break;
      case DS_I8_OP_SOFTMAX: ok = act_ok(m, op->in[0], DS_I8_ACT_SCORES) && out->kind == DS_I8_ACT_SCORES; break;
      case DS_I8_OP_ATT_CONTEXT: ok = act_ok(m, op->in[0], DS_I8_ACT_SCORES) && act_ok(m, op->in[1], DS_I8_ACT_TOKENS) &&
                                      out->kind == DS_I8_ACT_TOKENS && op->heads > 0 && op->head_dim > 0; break;
      case DS_I8_OP_GELU: ok = act_ok(m, op->in[0], DS_I8_ACT_TOKENS); break;
      case DS_I8_OP_POOL_MEAN:
      case DS_I8_OP_POOL_CLS: ok = act_ok(m, op->in[0], DS_I8_ACT_TOKENS) && out->kind == DS_I8_ACT_VECTOR; break;
      default: ok = 0; break;
    }
    if (!ok) return ds_fail(err, "export: op %d (kind %d) of the int8 model is malformed or unprepared", i,
                                   (int)op->kind);
  }
  return 0;
}

int ds_export_uses_id_rows(const ds_i8_model *m, const ds_i8_op *op) {
  return op->kind == DS_I8_OP_EMBED && m->id_map && m->weights[op->weight].rows < m->n_ids;
}

int ds_export_table_rows(const ds_i8_model *m, const ds_i8_op *op) {
  if (op->kind != DS_I8_OP_EMBED) return m->max_len;
  return m->id_map && !ds_export_uses_id_rows(m, op) ? m->n_ids : m->weights[op->weight].rows;
}

int ds_export_table(const ds_i8_model *m, const ds_i8_op *op, int8_t *out, int *rows, ds_err *err) {
  const ds_i8_weight *w = &m->weights[op->weight];
  const ds_qparams *q = &m->acts[op->out].q;
  const int n = ds_export_table_rows(m, op);
  for (int i = 0; i < n; i++) {
    const int r = op->kind == DS_I8_OP_EMBED && m->id_map && !ds_export_uses_id_rows(m, op) ? m->id_map[i] : i;
    if (r < 0 || r >= w->rows)
      return ds_fail(err, "export: table '%s' has no row %d (id %d)", w->name, r, i);
    for (int c = 0; c < w->cols; c++) {
      const int32_t v = ds_quant_multiply(w->data[(size_t)r * w->cols + c], op->multiplier[r], op->shift[r]);
      out[(size_t)i * w->cols + c] = ds_quant_clamp_i8(v + q->zero_point, q->qmin, q->qmax);
    }
  }
  *rows = n;
  return 0;
}

void ds_export_act_range(const ds_i8_act *a, float *lo, float *hi) {
  *lo = a->q.scale * (float)(a->q.qmin - a->q.zero_point);
  *hi = a->q.scale * (float)(a->q.qmax - a->q.zero_point);
}

float ds_export_mask_depth(const ds_i8_model *m) {
  float widest = 0.0f;
  for (int i = 0; i < m->n_ops; i++) {
    if (m->ops[i].kind != DS_I8_OP_SOFTMAX) continue;
    float lo, hi;
    ds_export_act_range(&m->acts[m->ops[i].in[0]], &lo, &hi);
    if (hi - lo > widest) widest = hi - lo;
  }
  return widest + DS_EXPORT_MASK_MARGIN;
}

float ds_export_masked_scale(const ds_i8_model *m, const ds_i8_op *softmax) {
  float lo, hi;
  ds_export_act_range(&m->acts[softmax->in[0]], &lo, &hi);
  const float span = fmaxf(fabsf(lo - ds_export_mask_depth(m)), fabsf(hi));
  /* A whole fraction of the scores' own scale, so every int8 score lands exactly on the 16-bit grid. */
  const float s = m->acts[softmax->in[0]].q.scale;
  const double k = floor(32767.0 * (double)s / (double)span);
  return k >= 1.0 ? (float)(s / k) : span / 32767.0f;
}

float ds_export_fold_alpha(const ds_i8_model *m, int act) {
  int scores_op = -1, uses = 0;
  for (int i = 0; i < m->n_ops; i++) {
    const ds_i8_op *op = &m->ops[i];
    uses += (op->in[0] == act) + (op->in[1] == act);
    if (op->kind == DS_I8_OP_ATT_SCORES && op->in[0] == act) scores_op = i;
  }
  if (scores_op < 0 || uses != 1) return 1.0f;
  return (float)(1.0 / sqrt((double)m->ops[scores_op].head_dim));
}

void ds_export_text_put(ds_export_text *t, const char *fmt, ...) {
  if (t->failed) return;
  for (;;) {
    va_list ap;
    va_start(ap, fmt);
    const int n = vsnprintf(t->buf ? t->buf + t->len : NULL, t->buf ? t->cap - t->len : 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
      t->failed = 1;
      return;
    }
    if (t->buf && t->len + (size_t)n < t->cap) {
      t->len += (size_t)n;
      return;
    }
    size_t cap = t->cap ? t->cap * 2 : 4096;
    while (cap < t->len + (size_t)n + 1) cap *= 2;
    char *b = realloc(t->buf, cap);
    if (!b) {
      t->failed = 1;
      return;
    }
    t->buf = b;
    t->cap = cap;
  }
}

int ds_export_describe_file(const char *path, char **text, ds_err *err) {
  *text = NULL;
  FILE *f = fopen(path, "rb");
  if (!f) return 0; /* not ours to report: the caller's other readers say what is wrong */
  unsigned char head[16] = {0};
  const size_t got = fread(head, 1, sizeof head, f);
  const int tflite = got >= 8 && memcmp(head + 4, "TFL3", 4) == 0;
  const int json = got >= 1 && head[0] == '{';
  /* ONNX: ModelProto starts with ir_version (field 1, varint) as every writer emits it. */
  const int onnx = got >= 2 && head[0] == 0x08 && head[1] >= 3 && head[1] < 64 && memcmp(head, "\x89HDF", 4) != 0;
  if (!tflite && !json && !onnx) {
    fclose(f);
    return 0;
  }
  unsigned char *data = NULL;
  long size = -1;
  if (fseek(f, 0, SEEK_END) == 0) size = ftell(f);
  if (size >= 0 && fseek(f, 0, SEEK_SET) == 0) data = malloc((size_t)size + 1);
  const int ok = data && fread(data, 1, (size_t)size, f) == (size_t)size;
  fclose(f);
  if (!ok) {
    free(data);
    return ds_fail(err, "%s: cannot read the file", path);
  }
  data[size] = 0;
  int rc;
  if (tflite) rc = ds_tflite_describe(data, (size_t)size, text, err);
  else if (json) rc = strstr((const char *)data, "activation_encodings")
                          ? ds_encodings_describe((const char *)data, (size_t)size, text, err) : 1;
  else rc = ds_onnx_describe(data, (size_t)size, text, err);
  free(data);
  if (rc == 1) return 0; /* JSON that is not an encodings file */
  if (rc) {
    char msg[sizeof err->msg];
    snprintf(msg, sizeof msg, "%s", err ? err->msg : "");
    return ds_fail(err, "%s: %s", path, msg);
  }
  return 1;
}
