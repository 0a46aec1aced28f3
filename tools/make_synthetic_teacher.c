/* tools/: generators for tests and benchmarks. */
/* make_synthetic_teacher: writes a SPEC.md teacher file whose targets come from a fixed random transformer
 * encoder (the student architecture with wider, larger-variance random weights), over random token
 * sequences of random length. A known function of the tokens: what a student can learn, with no real model.
 * `--targets random` skips the encoder and writes random targets (for size and memory tests). */
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"
#include "data/data.h"
#include "model/model.h"

static const char *usage =
    "usage: make_synthetic_teacher --out FILE [--rows N] [--len L] [--min-len M] [--vocab V] [--classes K]\n"
    "                              [--emb-dim D] [--dim C] [--layers N] [--heads H] [--ffn F] [--seed S]\n"
    "                              [--targets model|random]\n"
    "defaults: 20000 rows, L 32, real lengths uniform in [min(4, L), L] (M = L: no padding), V 2000, K 10, D 64,\n"
    "          teacher dim 128, 2 layers, 4 heads, ffn 512, seed 1\n";

static int parse_long(const char *flag, const char *s, long lo, long *out) {
  char *end;
  const long v = strtol(s, &end, 10);
  if (*s == '\0' || *end != '\0' || v < lo) {
    fprintf(stderr, "make_synthetic_teacher: %s expects an integer >= %ld, got '%s'\n", flag, lo, s);
    return -1;
  }
  *out = v;
  return 0;
}

int main(int argc, char **argv) {
  ds_threads_set(0);
  long rows = 20000, len = 32, vocab = 2000, classes = 10, emb = 64, dim = 128, layers = 2, heads = 4, ffn = 512,
       seed = 1, min_len = 0;
  const char *out = NULL;
  int random_targets = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    long *dst = NULL, lo = 1;
    if (strcmp(a, "--out") == 0 && v) { out = v; i++; continue; }
    if (strcmp(a, "--targets") == 0 && v) {
      random_targets = strcmp(v, "random") == 0;
      if (!random_targets && strcmp(v, "model") != 0) { fprintf(stderr, "%s", usage); return 1; }
      i++;
      continue;
    }
    if (strcmp(a, "--rows") == 0) dst = &rows;
    else if (strcmp(a, "--len") == 0) { dst = &len; lo = 2; }
    else if (strcmp(a, "--min-len") == 0) dst = &min_len;
    else if (strcmp(a, "--vocab") == 0) { dst = &vocab; lo = 3; }
    else if (strcmp(a, "--classes") == 0) { dst = &classes; lo = 0; }
    else if (strcmp(a, "--emb-dim") == 0) { dst = &emb; lo = 0; }
    else if (strcmp(a, "--dim") == 0) dst = &dim;
    else if (strcmp(a, "--layers") == 0) dst = &layers;
    else if (strcmp(a, "--heads") == 0) dst = &heads;
    else if (strcmp(a, "--ffn") == 0) dst = &ffn;
    else if (strcmp(a, "--seed") == 0) { dst = &seed; lo = 0; }
    if (!dst || !v) { fprintf(stderr, "%s", usage); return 1; }
    if (parse_long(a, v, lo, dst)) return 1;
    i++;
  }
  if (!out || (classes == 0 && emb == 0) || dim % heads != 0 || layers > DS_MAX_LAYERS || min_len > len) {
    fprintf(stderr, "%s", usage);
    return 1;
  }
  ds_err err;
  gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
  /* Mixed, not `seed` itself: the student's initialisation draws from mt19937 seeded with [train] seed in
   * the same tensor order, and equal seeds would start the student as a scaled copy of the teacher. */
  gsl_rng_set(rng, (unsigned long)(seed * 0x9E3779B97F4A7C15ull + 0x5851F42D4C957F2Dull) & 0xffffffffUL);

  /* The teacher encoder: weights N(0, 1/fan_in) so activations keep their scale through the layers,
   * giving a function of the whole sequence rather than of the token embeddings alone. */
  ds_student_shape s = {.vocab = (int)vocab, .max_len = (int)len, .dim = (int)dim, .n_layers = (int)layers,
                        .head_dim = (int)(dim / heads), .out_dim = (int)emb, .n_classes = (int)classes,
                        .pooling = DS_POOL_MEAN};
  for (int l = 0; l < layers; l++) {
    s.heads[l] = (int)heads;
    s.ffn[l] = (int)ffn;
  }
  ds_student teacher;
  const int use_model = !random_targets;
  if (use_model) {
    if (ds_student_init(&teacher, &s, &err)) { fprintf(stderr, "make_synthetic_teacher: %s\n", err.msg); return 1; }
    ds_student_init_params(&teacher, (unsigned long)seed + 1000);
    for (int i = 0; i < teacher.table.n_tensors; i++) {
      const ds_tensor_info *t = &teacher.table.tensors[i];
      if (t->ndim != 2) continue;
      const int embedding = strstr(t->name, "emb.") != NULL;
      const double sd = embedding ? 1.0 : 1.0 / sqrt((double)t->shape[1]);
      for (size_t k = 0; k < t->numel; k++) teacher.params[t->offset + k] = (float)gsl_ran_gaussian(rng, sd);
    }
    /* Sharper class distributions: a larger classifier makes top-1 meaningful and KD informative. */
    if (classes > 0)
      for (size_t k = 0; k < (size_t)classes * emb; k++) teacher.p.cls_w[k] *= 3.0f;
  }

  ds_teacher_writer_params wp = ds_teacher_writer_default_params();
  wp.n_rows = rows;
  wp.seq_len = (int)len;
  wp.n_classes = (int)classes;
  wp.emb_dim = (int)(emb > 0 ? emb : 0);
  wp.has_labels = classes > 0;
  wp.has_mask = 1;
  wp.vocab_size = (int)vocab;
  wp.pad_id = 0;
  wp.teacher_name = use_model ? "synthetic random transformer" : "synthetic random targets";
  ds_teacher_writer *w = NULL;
  if (ds_teacher_writer_create(&w, out, &wp, &err)) { fprintf(stderr, "make_synthetic_teacher: %s\n", err.msg); return 1; }

  const int chunk = 256;
  int32_t *ids = malloc(sizeof(int32_t) * chunk * len), *labels = malloc(sizeof(int32_t) * chunk);
  uint8_t *mask = malloc((size_t)chunk * len);
  float *logits = malloc(sizeof(float) * chunk * (classes ? classes : 1));
  float *embs = malloc(sizeof(float) * chunk * (emb ? emb : 1));
  for (long r0 = 0; r0 < rows; r0 += chunk) {
    const int n = (int)(rows - r0 < chunk ? rows - r0 : chunk);
    for (int b = 0; b < n; b++) {
      /* Lengths from --min-len (default 4, or L if shorter) to L; ids skip 0, the pad id. */
      const int lo = min_len > 0 ? (int)min_len : len < 4 ? (int)len : 4;
      const int real = lo + (int)gsl_rng_uniform_int(rng, (unsigned long)(len - lo + 1));
      for (int t = 0; t < len; t++) {
        ids[b * len + t] = t < real ? 1 + (int32_t)gsl_rng_uniform_int(rng, (unsigned long)(vocab - 1)) : 0;
        mask[b * len + t] = t < real;
      }
    }
    if (use_model) {
      if (ds_student_forward(&teacher, ids, mask, n, (int)len, &err)) {
        fprintf(stderr, "make_synthetic_teacher: %s\n", err.msg);
        return 1;
      }
      if (emb) memcpy(embs, teacher.a.emb, sizeof(float) * n * emb);
      if (classes) memcpy(logits, teacher.a.logits, sizeof(float) * n * classes);
    } else {
      for (long k = 0; k < n * emb; k++) embs[k] = (float)gsl_ran_gaussian(rng, 1.0);
      for (long k = 0; k < n * classes; k++) logits[k] = (float)gsl_ran_gaussian(rng, 2.0);
    }
    for (int b = 0; b < n && classes; b++) {
      int best = 0;
      for (int k = 1; k < classes; k++)
        if (logits[b * classes + k] > logits[b * classes + best]) best = k;
      labels[b] = best;
    }
    if (ds_teacher_writer_append(w, n, ids, mask, logits, embs, labels, &err)) {
      fprintf(stderr, "make_synthetic_teacher: %s\n", err.msg);
      return 1;
    }
  }
  const int rc = ds_teacher_writer_close(w, &err);
  if (rc) fprintf(stderr, "make_synthetic_teacher: %s\n", err.msg);
  free(ids); free(labels); free(mask); free(logits); free(embs);
  if (use_model) ds_student_free(&teacher);
  gsl_rng_free(rng);
  return rc ? 1 : 0;
}
