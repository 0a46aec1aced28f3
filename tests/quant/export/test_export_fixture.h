/* A small random int8 student for the exporter tests, built op by op as quant/int8/int8_model.h lays the
 * graph out (no training needed): random int8 weights whose real values keep activations within
 * the hand-picked ranges below, so little saturates and the outputs carry information. Also writes
 * the native runtime's outputs on random padded rows as JSON, the reference the Python checks compare
 * onnxruntime and LiteRT against. */
#ifndef DS_TESTS_QUANT_EXPORT_TEST_EXPORT_FIXTURE_H
#define DS_TESTS_QUANT_EXPORT_TEST_EXPORT_FIXTURE_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "quant/int8/int8_model.h"
#include "tests/rng.h"

typedef struct {
  int vocab, max_len, dim, layers, heads, ffn, out_dim, classes, cls_pooling;
  unsigned long seed;
} fx_shape;

/* The two students both exporters' tests build: mean pooling with a projection, and CLS pooling without one
 * (other widths, heads and vocabulary, so no size is hard-wired). */
#define FX_N_SHAPES 2
static const fx_shape fx_shapes[FX_N_SHAPES] = {
    {.vocab = 97, .max_len = 12, .dim = 16, .layers = 2, .heads = 2, .ffn = 40, .out_dim = 12, .classes = 5,
     .cls_pooling = 0, .seed = 11},
    {.vocab = 61, .max_len = 9, .dim = 24, .layers = 1, .heads = 3, .ffn = 32, .out_dim = 0, .classes = 7,
     .cls_pooling = 1, .seed = 12},
};

#define FX_CAP 256

/* Ranges measured by fx_calibrate, by activation index (used when set). */
typedef struct {
  int set;
  float lo[FX_CAP], hi[FX_CAP];
} fx_ranges;

static int fx_act(ds_i8_model *m, const fx_ranges *cal, const char *name, ds_i8_act_kind kind, int width, float lo,
                  float hi) {
  if (cal && cal->set) {
    lo = cal->lo[m->n_acts];
    hi = cal->hi[m->n_acts];
  }
  ds_i8_act *a = &m->acts[m->n_acts];
  if (snprintf(a->name, sizeof a->name, "%s", name) >= (int)sizeof a->name) return -1;
  a->kind = kind;
  a->width = width;
  ds_qparams_asymmetric(lo, hi, 8, &a->q);
  return m->n_acts++;
}

/* Codes uniform in [-127, 127] and row scales so that real values are uniform in +-amp. */
static int fx_weight(ds_i8_model *m, test_rng *r, const char *name, int rows, int cols, float amp, int bias,
                     float s_in) {
  ds_i8_weight *w = &m->weights[m->n_weights];
  if (snprintf(w->name, sizeof w->name, "%s", name) >= (int)sizeof w->name) return -1;
  w->rows = rows;
  w->cols = cols;
  w->data = malloc((size_t)rows * cols);
  w->scale = malloc(sizeof(float) * rows);
  w->bias = bias ? malloc(sizeof(int32_t) * rows) : NULL;
  for (int i = 0; i < rows; i++) {
    w->scale[i] = amp * (float)rng_uniform(r, 0.7, 1.3) / 127.0f;
    for (int c = 0; c < cols; c++) w->data[(size_t)i * cols + c] = (int8_t)rng_range(r, -127, 127);
    if (bias) w->bias[i] = (int32_t)lrintf((float)rng_uniform(r, -0.1, 0.1) / (s_in * w->scale[i]));
  }
  return m->n_weights++;
}

static ds_i8_op *fx_op(ds_i8_model *m, ds_i8_op_kind kind, int in0, int in1, int out, int weight) {
  ds_i8_op *op = &m->ops[m->n_ops++];
  memset(op, 0, sizeof *op);
  op->kind = kind;
  op->in[0] = in0;
  op->in[1] = in1;
  op->out = out;
  op->weight = weight;
  return op;
}

static void fx_layernorm(ds_i8_model *m, test_rng *r, int in, int out, int C) {
  ds_i8_op *op = fx_op(m, DS_I8_OP_LAYERNORM, in, -1, out, -1);
  op->eps = 1e-5f;
  op->gamma = malloc(sizeof(float) * C);
  op->beta = malloc(sizeof(float) * C);
  for (int c = 0; c < C; c++) {
    op->gamma[c] = (float)rng_uniform(r, 0.8, 1.2);
    op->beta[c] = (float)rng_uniform(r, -0.1, 0.1);
  }
}

static int fx_fc(ds_i8_model *m, const fx_ranges *cal, test_rng *r, int in, const char *wname, const char *out_name, int rows,
                 ds_i8_act_kind kind, float lo, float hi) {
  const int cols = m->acts[in].width;
  const int w = fx_weight(m, r, wname, rows, cols, 1.7f / sqrtf((float)cols), 1, m->acts[in].q.scale);
  const int out = fx_act(m, cal, out_name, kind, rows, lo, hi);
  fx_op(m, DS_I8_OP_FC, in, -1, out, w);
  return out;
}

/* Builds and prepares the model with the default ranges, or those of cal; 0 on success. */
static int fx_build_ranges(ds_i8_model *m, const fx_shape *s, const fx_ranges *cal, ds_err *err) {
  memset(m, 0, sizeof *m);
  test_rng r = {s->seed};
  m->vocab = m->n_ids = s->vocab;
  m->max_len = s->max_len;
  m->dim = s->dim;
  m->pooling = s->cls_pooling;
  m->acts = calloc(FX_CAP, sizeof *m->acts);
  m->weights = calloc(FX_CAP, sizeof *m->weights);
  m->ops = calloc(FX_CAP, sizeof *m->ops);
  const int C = s->dim, H = s->heads, hd = s->dim / s->heads, HD = H * hd;
  char n[64];
  const int tw = fx_weight(m, &r, "tok_emb.weight", s->vocab, C, 1.0f, 0, 1.0f);
  const int tok = fx_act(m, cal, "tok", DS_I8_ACT_TOKENS, C, -1.1f, 1.0f);
  fx_op(m, DS_I8_OP_EMBED, -1, -1, tok, tw);
  const int pw = fx_weight(m, &r, "pos_emb.weight", s->max_len, C, 0.5f, 0, 1.0f);
  const int pos = fx_act(m, cal, "pos", DS_I8_ACT_TOKENS, C, -0.5f, 0.55f);
  fx_op(m, DS_I8_OP_POS_EMBED, -1, -1, pos, pw);
  int x = fx_act(m, cal, "x0", DS_I8_ACT_TOKENS, C, -1.6f, 1.5f);
  fx_op(m, DS_I8_OP_ADD, tok, pos, x, -1);
  for (int l = 0; l < s->layers; l++) {
#define NM(fmt) (snprintf(n, sizeof n, "layers.%d." fmt, l), n)
    const int ln1 = fx_act(m, cal, NM("ln1"), DS_I8_ACT_TOKENS, C, -3.5f, 3.6f);
    fx_layernorm(m, &r, x, ln1, C);
    char wn[64];
    snprintf(wn, sizeof wn, "layers.%d.attn.q.weight", l);
    const int q = fx_fc(m, cal, &r, ln1, wn, NM("q"), HD, DS_I8_ACT_TOKENS, -4.0f, 4.1f);
    snprintf(wn, sizeof wn, "layers.%d.attn.k.weight", l);
    const int k = fx_fc(m, cal, &r, ln1, wn, NM("k"), HD, DS_I8_ACT_TOKENS, -4.2f, 4.0f);
    snprintf(wn, sizeof wn, "layers.%d.attn.v.weight", l);
    const int v = fx_fc(m, cal, &r, ln1, wn, NM("v"), HD, DS_I8_ACT_TOKENS, -3.0f, 3.1f);
    const int sc = fx_act(m, cal, NM("scores"), DS_I8_ACT_SCORES, H, -6.0f, 6.5f);
    ds_i8_op *op = fx_op(m, DS_I8_OP_ATT_SCORES, q, k, sc, -1);
    op->heads = H;
    op->head_dim = hd;
    const int pr = fx_act(m, cal, NM("probs"), DS_I8_ACT_SCORES, H, 0.0f, 1.0f);
    m->acts[pr].q = (ds_qparams){1.0f / 256.0f, -128, -128, 127};
    fx_op(m, DS_I8_OP_SOFTMAX, sc, -1, pr, -1);
    const int ctx = fx_act(m, cal, NM("ctx"), DS_I8_ACT_TOKENS, HD, -2.5f, 2.4f);
    op = fx_op(m, DS_I8_OP_ATT_CONTEXT, pr, v, ctx, -1);
    op->heads = H;
    op->head_dim = hd;
    snprintf(wn, sizeof wn, "layers.%d.attn.out.weight", l);
    const int ao = fx_fc(m, cal, &r, ctx, wn, NM("attn_out"), C, DS_I8_ACT_TOKENS, -2.5f, 2.5f);
    const int mid = fx_act(m, cal, NM("mid"), DS_I8_ACT_TOKENS, C, -3.0f, 3.2f);
    fx_op(m, DS_I8_OP_ADD, x, ao, mid, -1);
    const int ln2 = fx_act(m, cal, NM("ln2"), DS_I8_ACT_TOKENS, C, -3.6f, 3.5f);
    fx_layernorm(m, &r, mid, ln2, C);
    snprintf(wn, sizeof wn, "layers.%d.ffn.fc1.weight", l);
    const int fc1 = fx_fc(m, cal, &r, ln2, wn, NM("fc1"), s->ffn, DS_I8_ACT_TOKENS, -4.0f, 4.0f);
    const int ge = fx_act(m, cal, NM("gelu"), DS_I8_ACT_TOKENS, s->ffn, -0.2f, 4.0f);
    op = fx_op(m, DS_I8_OP_GELU, fc1, -1, ge, -1);
    ds_i8_gelu_lut_build(op->lut, &m->acts[fc1].q, &m->acts[ge].q);
    snprintf(wn, sizeof wn, "layers.%d.ffn.fc2.weight", l);
    const int fc2 = fx_fc(m, cal, &r, ge, wn, NM("fc2"), C, DS_I8_ACT_TOKENS, -3.0f, 3.0f);
    const int o = fx_act(m, cal, NM("out"), DS_I8_ACT_TOKENS, C, -4.5f, 4.4f);
    fx_op(m, DS_I8_OP_ADD, mid, fc2, o, -1);
    x = o;
#undef NM
  }
  const int lnf = fx_act(m, cal, "ln_f", DS_I8_ACT_TOKENS, C, -3.5f, 3.6f);
  fx_layernorm(m, &r, x, lnf, C);
  const int pooled = fx_act(m, cal, "pooled", DS_I8_ACT_VECTOR, C, 0, 0);
  m->acts[pooled].q = m->acts[lnf].q;
  fx_op(m, s->cls_pooling ? DS_I8_OP_POOL_CLS : DS_I8_OP_POOL_MEAN, lnf, -1, pooled, -1);
  int emb = pooled;
  if (s->out_dim > 0) emb = fx_fc(m, cal, &r, pooled, "proj.weight", "emb", s->out_dim, DS_I8_ACT_VECTOR, -1.5f, 1.6f);
  m->emb_act = emb;
  m->emb_dim = m->acts[emb].width;
  m->logits_act = -1;
  if (s->classes > 0) {
    m->logits_act = fx_fc(m, cal, &r, emb, "cls.weight", "logits", s->classes, DS_I8_ACT_VECTOR, -3.0f, 3.0f);
    m->n_classes = s->classes;
  }
  return ds_i8_model_prepare(m, err);
}

static size_t fx_numel(const ds_i8_model *m, int a, int T) {
  const ds_i8_act *x = &m->acts[a];
  return x->kind == DS_I8_ACT_TOKENS ? (size_t)T * x->width
         : x->kind == DS_I8_ACT_SCORES ? (size_t)x->width * T * T : (size_t)x->width;
}

static void fx_rows(const ds_i8_model *m, int n, unsigned long seed, int32_t *ids, uint8_t *mask);

/* Builds the model, then twice measures every activation's range on random full-length rows with
 * the native runtime and rebuilds with those ranges (widened where values clamped), as an observer
 * would: activations then use their grids fully, like a trained model's. */
static int fx_build(ds_i8_model *m, const fx_shape *s, ds_err *err) {
  fx_ranges cal;
  memset(&cal, 0, sizeof cal);
  enum { N = 24 };
  for (int pass = 0; pass < 3; pass++) {
    if (fx_build_ranges(m, s, &cal, err)) return -1;
    if (pass == 2) return 0;
    int32_t ids[N * 64];
    uint8_t mask[N * 64];
    if (m->max_len > 64) return 0;
    fx_rows(m, N, 7 + pass, ids, mask);
    void *scratch = malloc(ds_i8_model_scratch_size(m));
    for (int a = 0; a < m->n_acts; a++) {
      cal.lo[a] = 0.0f;
      cal.hi[a] = 0.0f;
    }
    for (int i = 0; i < N; i++) {
      for (int t = 0; t < m->max_len; t++) mask[i * m->max_len + t] = 1;
      if (ds_i8_model_run(m, ids + i * m->max_len, mask + i * m->max_len, m->max_len, scratch, NULL, NULL, err))
        return -1;
      for (int a = 0; a < m->n_acts; a++) {
        const int8_t *d = ds_i8_model_act_data(m, scratch, a);
        const ds_qparams *q = &m->acts[a].q;
        for (size_t k = 0; k < fx_numel(m, a, m->max_len); k++) {
          float v = q->scale * (float)(d[k] - q->zero_point);
          if (d[k] == q->qmin || d[k] == q->qmax) v *= 1.5f; /* clamped: the real value was further out */
          cal.lo[a] = fminf(cal.lo[a], v);
          cal.hi[a] = fmaxf(cal.hi[a], v);
        }
      }
    }
    free(scratch);
    for (int a = 0; a < m->n_acts; a++) {
      cal.lo[a] = cal.lo[a] * 1.05f - 1e-3f;
      cal.hi[a] = cal.hi[a] * 1.05f + 1e-3f;
    }
    cal.set = 1;
    ds_i8_model_free(m);
  }
  return 0;
}

/* Random rows: lengths in [1, max_len], ids in [0, vocab), padding (id 0, mask 0) after them. */
static void fx_rows(const ds_i8_model *m, int n, unsigned long seed, int32_t *ids, uint8_t *mask) {
  test_rng r = {seed};
  const int L = m->max_len;
  for (int i = 0; i < n; i++) {
    const int len = i == 0 ? L : (int)rng_range(&r, 1, L);
    for (int t = 0; t < L; t++) {
      ids[(size_t)i * L + t] = t < len ? (int32_t)rng_range(&r, 0, m->n_ids - 1) : 0;
      mask[(size_t)i * L + t] = t < len;
    }
  }
}

static void fx_json_floats(FILE *f, const float *v, int n) {
  fputc('[', f);
  for (int i = 0; i < n; i++) fprintf(f, "%s%.9g", i ? "," : "", (double)v[i]);
  fputc(']', f);
}

/* {"max_len": L, "rows": [{"ids": [...], "mask": [...], "emb": [...], "logits": [...]}, ...]} with
 * the native runtime's outputs on the padded rows (run at full length, padding included). */
static int fx_write_reference(const ds_i8_model *m, const int32_t *ids, const uint8_t *mask, int n,
                              const char *path, ds_err *err) {
  const int L = m->max_len;
  void *scratch = malloc(ds_i8_model_scratch_size(m));
  float *emb = malloc(sizeof(float) * m->emb_dim), *logits = malloc(sizeof(float) * (m->n_classes + 1));
  FILE *f = fopen(path, "w");
  int rc = scratch && emb && logits && f ? 0 : -1;
  if (rc == 0) fprintf(f, "{\"max_len\": %d, \"rows\": [\n", L);
  for (int i = 0; rc == 0 && i < n; i++) {
    rc = ds_i8_model_run(m, ids + (size_t)i * L, mask + (size_t)i * L, L, scratch, emb, logits, err);
    if (rc) break;
    fprintf(f, "%s{\"ids\": [", i ? ",\n" : "");
    for (int t = 0; t < L; t++) fprintf(f, "%s%d", t ? "," : "", ids[(size_t)i * L + t]);
    fprintf(f, "], \"mask\": [");
    for (int t = 0; t < L; t++) fprintf(f, "%s%d", t ? "," : "", mask[(size_t)i * L + t]);
    fprintf(f, "], \"emb\": ");
    fx_json_floats(f, emb, m->emb_dim);
    if (m->n_classes > 0) {
      fprintf(f, ", \"logits\": ");
      fx_json_floats(f, logits, m->n_classes);
    }
    fputc('}', f);
  }
  if (f) {
    fprintf(f, "\n]}\n");
    if (fclose(f)) rc = -1;
  }
  free(scratch);
  free(emb);
  free(logits);
  return rc;
}

#endif
