/* Small random int8 students for the exporter tests, built by the QAT builder from a random float student
 * (fx_build; no training needed). Also writes the native runtime's outputs on random padded rows as JSON, the
 * reference the Python checks compare onnxruntime and LiteRT against. */
#ifndef DS_TESTS_QUANT_EXPORT_TEST_EXPORT_FIXTURE_H
#define DS_TESTS_QUANT_EXPORT_TEST_EXPORT_FIXTURE_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "quant/qat/qat.h"
#include "quant/int8/int8.h"
#include "tests/rng.h"

typedef struct {
  int vocab, max_len, dim, layers, heads, ffn, out_dim, classes, cls_pooling;
  int prune; /* structured pruning before the build: head 0 of layer 0 and every third FFN neuron of the last layer */
  unsigned long seed;
} fx_shape;

/* The two students both exporters' tests build: mean pooling with a projection and pruned heads and neurons, and
 * CLS pooling without one (other widths, heads and vocabulary, so no size is hard-wired). */
#define FX_N_SHAPES 2
static const fx_shape fx_shapes[FX_N_SHAPES] = {
    {.vocab = 97, .max_len = 12, .dim = 16, .layers = 2, .heads = 2, .ffn = 40, .out_dim = 12, .classes = 5,
     .cls_pooling = 0, .prune = 1, .seed = 11},
    {.vocab = 61, .max_len = 9, .dim = 24, .layers = 1, .heads = 3, .ffn = 32, .out_dim = 0, .classes = 7,
     .cls_pooling = 1, .seed = 12},
};

/* Random rows: lengths in [1, L] (the first row full), ids in [0, n_ids), padding (id 0, mask 0) after them. */
static void fx_rows_of(int L, int n_ids, int n, unsigned long seed, int32_t *ids, uint8_t *mask) {
  test_rng r = {seed};
  for (int i = 0; i < n; i++) {
    const int len = i == 0 ? L : (int)rng_range(&r, 1, L);
    for (int t = 0; t < L; t++) {
      ids[(size_t)i * L + t] = t < len ? (int32_t)rng_range(&r, 0, n_ids - 1) : 0;
      mask[(size_t)i * L + t] = t < len;
    }
  }
}

/* The same for an int8 model's max_len and vocabulary. */
static void fx_rows(const ds_i8_model *m, int n, unsigned long seed, int32_t *ids, uint8_t *mask) {
  fx_rows_of(m->max_len, m->n_ids, n, seed, ids, mask);
}

/* The int8 model of a random student of shape s, built the way every exported checkpoint is: a float student
 * (weights larger than a fresh one's and uneven LayerNorms, so attention and GELU do real work), QAT observers
 * run on random rows, then ds_qat_build_int8 -- the one builder of the int8 graph, so the exporters are tested
 * on exactly the graph they get in use. */
static int fx_build(ds_i8_model *m, const fx_shape *s, ds_err *err) {
  ds_student_shape sh;
  memset(&sh, 0, sizeof sh);
  sh.arch = DS_ARCH_TRANSFORMER;
  sh.vocab = s->vocab;
  sh.max_len = s->max_len;
  sh.dim = s->dim;
  sh.n_layers = s->layers;
  sh.head_dim = s->dim / s->heads;
  for (int l = 0; l < s->layers; l++) sh.heads[l] = s->heads, sh.ffn[l] = s->ffn;
  sh.out_dim = s->out_dim;
  sh.n_classes = s->classes;
  sh.pooling = s->cls_pooling ? DS_POOL_CLS : DS_POOL_MEAN;
  ds_student st;
  if (ds_student_init(&st, &sh, err)) return -1;
  test_rng r = {s->seed};
  for (int i = 0; i < st.table.n_tensors; i++) {
    const ds_tensor_info *t = &st.table.tensors[i];
    float *x = st.params + t->offset;
    const int is_gain = strstr(t->name, "ln") != NULL && strstr(t->name, ".weight") != NULL;
    /* Real values uniform in +-amp: tables of order 1, matrices keeping a unit input near unit output. */
    const double amp = i == DS_T_TOK_EMB ? 1.0 : i == DS_T_POS_EMB ? 0.5 : t->ndim == 2 ? 1.7 / sqrt(t->shape[1]) : 0.1;
    for (size_t k = 0; k < t->numel; k++) x[k] = (float)(is_gain ? rng_uniform(&r, 0.8, 1.2) : rng_uniform(&r, -amp, amp));
  }
  if (s->prune) { /* the builder cuts them out: the exporters see the narrower layers a pruned run exports */
    st.head_mask[0][0] = 0.0f;
    for (int f = 0; f < s->ffn; f += 3) st.ffn_mask[s->layers - 1][f] = 0.0f;
  }
  const ds_quant_cfg qc = {.enabled = 1, .start_step = 2, .weight_bits = 8, .act_bits = 8, .observer = DS_OBS_MINMAX,
                           .freeze_step = -1};
  enum { N = 24 };
  int32_t *ids = malloc(sizeof(int32_t) * N * s->max_len);
  uint8_t *mask = malloc((size_t)N * s->max_len);
  int rc = ids && mask ? ds_student_qat_attach(&st, &qc, err) : -1;
  /* Two observer steps: every row at full length, then rows of random lengths. */
  for (int step = 0; rc == 0 && step < 2; step++) {
    fx_rows_of(s->max_len, s->vocab, N, 7 + (unsigned long)step, ids, mask);
    if (step == 0) memset(mask, 1, (size_t)N * s->max_len);
    ds_qat_step_begin(st.qat, step);
    rc = ds_student_forward(&st, ids, mask, N, s->max_len, err);
  }
  if (rc == 0) {
    ds_qat_set_step(st.qat, qc.start_step);
    rc = ds_qat_build_int8(&st, NULL, 0, 0, m, err);
  }
  free(ids);
  free(mask);
  ds_student_free(&st);
  return rc;
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

/* DIR/reference.json: the native runtime's outputs on FX_REFERENCE_ROWS random rows of seed `seed`, for the
 * Python checks. */
#define FX_REFERENCE_ROWS 200
static int fx_write_random_reference(const ds_i8_model *m, unsigned long seed, const char *dir, ds_err *err) {
  int32_t *ids = malloc(sizeof(int32_t) * FX_REFERENCE_ROWS * m->max_len);
  uint8_t *mask = malloc((size_t)FX_REFERENCE_ROWS * m->max_len);
  char path[1100];
  int rc = ids && mask && snprintf(path, sizeof path, "%s/reference.json", dir) < (int)sizeof path ? 0 : -1;
  if (rc == 0) {
    fx_rows(m, FX_REFERENCE_ROWS, seed, ids, mask);
    rc = fx_write_reference(m, ids, mask, FX_REFERENCE_ROWS, path, err);
  } else {
    ds_fail(err, "%s/reference.json: out of memory or path too long", dir);
  }
  free(ids);
  free(mask);
  return rc;
}

#endif
