/* bench_int8: batch-1 inference of one trained student, on the integer-only int8 runtime and as the float
 * model, on the same teacher rows (max_len tokens each, with their padding masks).
 *
 *   bench_int8 --native M.i8 --checkpoint C.ckpt --teacher T.h5 [--runs 2000] [--threads 1] [--dump F]
 *
 * --dump writes the rows and the int8 runtime's embeddings for bench/speed_ort.py: int32 T, int32 E, then per
 * row T int32 ids, T uint8 mask bytes and E float32 embedding values.
 * The checkpoint's float parameters run through ds_student_forward with B = 1 (QAT switched off), the native
 * file through ds_i8_model_run. The two are timed in alternating blocks of 100 calls and each reports the
 * median call: prints `int8_latency_us`, `int8_per_sec`, `float_latency_us`, `float_per_sec`, `maxrss_kb`
 * and `int8_float_cos` (mean cosine between the two embeddings: a check that both ran the same model). */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "data/data.h"
#include "quant/int8/int8.h"
#include "quant/qat/qat.h"
#include "train/checkpoint_state.h"

#define BLOCK 100

static int cmp_double(const void *a, const void *b) {
  const double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double cosine(const float *a, const float *b, int n) {
  double ab = 0.0, aa = 0.0, bb = 0.0;
  for (int i = 0; i < n; i++) {
    ab += (double)a[i] * b[i];
    aa += (double)a[i] * a[i];
    bb += (double)b[i] * b[i];
  }
  return ab / (sqrt(aa * bb) + 1e-30);
}

typedef struct {
  const ds_i8_model *im;
  ds_loaded_model *lm;
  const ds_batch *b;
  int T;
  void *scratch;
  float *e8;
} bench_ctx;

/* One batch-1 call of the int8 runtime (which 0) or the float model (1) on row r: seconds, or -1 on error. */
static double run_one(bench_ctx *c, int which, int r, ds_err *err) {
  const int32_t *ids = c->b->ids + (long)r * c->T;
  const uint8_t *mask = c->b->mask + (long)r * c->T;
  const double t0 = omp_get_wtime();
  const int rc = which == 0
                     ? ds_i8_model_run(c->im, ids, mask, c->T, c->scratch, c->e8, c->e8 + c->im->emb_dim, err)
                     : ds_student_forward(&c->lm->model, ids, mask, 1, c->T, err);
  return rc ? -1.0 : omp_get_wtime() - t0;
}

int main(int argc, char **argv) {
  const char *native = NULL, *ckpt = NULL, *teacher = NULL, *dump = NULL;
  int runs = 2000, threads = 1;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (strcmp(argv[i], "--native") == 0) native = argv[i + 1];
    else if (strcmp(argv[i], "--checkpoint") == 0) ckpt = argv[i + 1];
    else if (strcmp(argv[i], "--teacher") == 0) teacher = argv[i + 1];
    else if (strcmp(argv[i], "--dump") == 0) dump = argv[i + 1];
    else if (strcmp(argv[i], "--runs") == 0) runs = atoi(argv[i + 1]);
    else if (strcmp(argv[i], "--threads") == 0) threads = atoi(argv[i + 1]);
    else native = NULL, i = argc;
  }
  if (!native || !ckpt || !teacher || runs < BLOCK || threads < 1) {
    fprintf(stderr, "usage: bench_int8 --native M.i8 --checkpoint C.ckpt --teacher T.h5 [--runs R>=%d] [--threads P]\n",
            BLOCK);
    return 1;
  }
  omp_set_num_threads(threads);
  ds_err err;
  ds_i8_model im;
  ds_loaded_model lm;
  ds_teacher *t = NULL;
  ds_batch b = {0};
  enum { ROWS = 64 };
  if (ds_i8_model_load(&im, native, &err) || ds_model_load(&lm, ckpt, &err) || ds_teacher_open(&t, teacher, &err) ||
      ds_batch_alloc(&b, ds_teacher_get_info(t), ROWS, im.max_len, &err) ||
      ds_teacher_read(t, 0, ROWS, im.max_len, &b, &err)) {
    fprintf(stderr, "bench_int8: %s\n", err.msg);
    return 1;
  }
  if (lm.model.qat) lm.model.qat->mode = DS_QAT_FLOAT;
  const int T = b.len, E = im.emb_dim;
  void *scratch = malloc(ds_i8_model_scratch_size(&im));
  float *e8 = malloc(sizeof(float) * (size_t)(E + im.n_classes + 1));
  double *t8 = malloc(sizeof(double) * runs), *tf = malloc(sizeof(double) * runs);
  if (!scratch || !e8 || !t8 || !tf) {
    fprintf(stderr, "bench_int8: out of memory\n");
    return 1;
  }
  bench_ctx c = {&im, &lm, &b, T, scratch, e8};
  double cos_sum = 0.0;
  FILE *df = dump ? fopen(dump, "wb") : NULL;
  if (dump && (!df || fwrite(&T, sizeof T, 1, df) != 1 || fwrite(&E, sizeof E, 1, df) != 1)) {
    fprintf(stderr, "bench_int8: cannot write %s\n", dump);
    return 1;
  }
  for (int r = 0; r < ROWS; r++) { /* warm-up, and the agreement check */
    if (run_one(&c, 1, r, &err) < 0 || run_one(&c, 0, r, &err) < 0) {
      fprintf(stderr, "bench_int8: %s\n", err.msg);
      return 1;
    }
    cos_sum += cosine(e8, lm.model.a.emb, E);
    if (df && (fwrite(b.ids + (long)r * T, sizeof(int32_t), T, df) != (size_t)T ||
               fwrite(b.mask + (long)r * T, 1, T, df) != (size_t)T || fwrite(e8, sizeof(float), E, df) != (size_t)E)) {
      fprintf(stderr, "bench_int8: cannot write %s\n", dump);
      return 1;
    }
  }
  if (df && fclose(df)) {
    fprintf(stderr, "bench_int8: cannot write %s\n", dump);
    return 1;
  }
  /* Alternating blocks, so both see the same mix of load from other processes. */
  int n8 = 0, nf = 0;
  for (int blk = 0; blk < runs / BLOCK; blk++)
    for (int which = 0; which < 2; which++)
      for (int k = 0; k < BLOCK; k++) {
        const double dt = run_one(&c, which, (blk * BLOCK + k) % ROWS, &err);
        if (dt < 0) {
          fprintf(stderr, "bench_int8: %s\n", err.msg);
          return 1;
        }
        if (which == 0) t8[n8++] = dt;
        else tf[nf++] = dt;
      }
  qsort(t8, n8, sizeof(double), cmp_double);
  qsort(tf, nf, sizeof(double), cmp_double);
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  printf("tokens %d\n", T);
  printf("int8_latency_us %.1f\n", 1e6 * t8[n8 / 2]);
  printf("int8_per_sec %.0f\n", 1.0 / t8[n8 / 2]);
  printf("float_latency_us %.1f\n", 1e6 * tf[nf / 2]);
  printf("float_per_sec %.0f\n", 1.0 / tf[nf / 2]);
  printf("int8_float_cos %.4f\n", cos_sum / ROWS);
  printf("maxrss_kb %ld\n", ru.ru_maxrss);
  free(scratch);
  free(e8);
  free(t8);
  free(tf);
  ds_batch_free(&b);
  ds_teacher_close(t);
  ds_loaded_model_free(&lm);
  ds_i8_model_free(&im);
  return 0;
}
