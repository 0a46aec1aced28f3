/* sgemm_peak: this machine's single-precision GEMM rate, the ceiling the training step is held to.
 *
 *   sgemm_peak [--n N] [--threads P] [--reps R]
 *
 * Three layouts of the same P threads, each timed R times on an N x N x N product (median and best reported):
 *  - "openblas": one cblas_sgemm with OpenBLAS's own P threads (the usual way to quote a BLAS peak);
 *  - "omp-split": OpenBLAS single-threaded inside P OpenMP threads, each taking N/P rows of the output;
 *  - "ds_sgemm": distill's own GEMM (kernels/ops_gemm.c: AVX-512 where the CPU has it, else OpenBLAS) in the same
 *    split -- how kernels/ops_linear.c runs every layer.
 * OpenBLAS's kernel is the one it picked for this CPU, or the one OPENBLAS_CORETYPE names.
 * Prints one line per layout: `sgemm_peak <layout> n <N> threads <P> gflops <median> best <max>`. */
#include <cblas.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernels/kernels.h"

void openblas_set_num_threads(int n);

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
  const double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static void gemm_openblas(const float *a, const float *b, float *c, int n) {
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
}

static void gemm_split(const float *a, const float *b, float *c, int n) {
#pragma omp parallel
  {
    const int t = omp_get_thread_num(), nt = omp_get_num_threads();
    const int r0 = (int)((long)n * t / nt), r1 = (int)((long)n * (t + 1) / nt);
    if (r1 > r0)
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, r1 - r0, n, n, 1.0f, a + (long)r0 * n, n, b, n, 0.0f,
                  c + (long)r0 * n, n);
  }
}

static void gemm_ds(const float *a, const float *b, float *c, int n) {
#pragma omp parallel
  {
    const int t = omp_get_thread_num(), nt = omp_get_num_threads();
    const int r0 = (int)((long)n * t / nt), r1 = (int)((long)n * (t + 1) / nt);
    if (r1 > r0) ds_sgemm(0, 1, r1 - r0, n, n, 1.0f, a + (long)r0 * n, n, b, n, 0.0f, c + (long)r0 * n, n);
  }
}

/* Median and best GFLOP/s of `reps` timed calls after one warm-up call. */
static void measure(const char *name, void (*gemm)(const float *, const float *, float *, int), const float *a,
                    const float *b, float *c, int n, int threads, int reps) {
  double *g = malloc(sizeof(double) * reps);
  if (!g) return;
  gemm(a, b, c, n);
  for (int r = 0; r < reps; r++) {
    const double t0 = now();
    gemm(a, b, c, n);
    g[r] = 2.0 * n * n * (double)n / (now() - t0) * 1e-9;
  }
  qsort(g, reps, sizeof(double), cmp_double);
  printf("sgemm_peak %s n %d threads %d gflops %.1f best %.1f\n", name, n, threads, g[reps / 2], g[reps - 1]);
  free(g);
}

int main(int argc, char **argv) {
  int n = 2048, threads = 2, reps = 9;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (strcmp(argv[i], "--n") == 0) n = atoi(argv[i + 1]);
    else if (strcmp(argv[i], "--threads") == 0) threads = atoi(argv[i + 1]);
    else if (strcmp(argv[i], "--reps") == 0) reps = atoi(argv[i + 1]);
    else {
      fprintf(stderr, "usage: sgemm_peak [--n N] [--threads P] [--reps R]\n");
      return 1;
    }
  }
  if (n < 16 || threads < 1 || reps < 1) {
    fprintf(stderr, "sgemm_peak: --n >= 16, --threads >= 1, --reps >= 1\n");
    return 1;
  }
  float *a = malloc(sizeof(float) * n * n), *b = malloc(sizeof(float) * n * n), *c = malloc(sizeof(float) * n * n);
  if (!a || !b || !c) {
    fprintf(stderr, "sgemm_peak: out of memory for n = %d\n", n);
    return 1;
  }
  for (long i = 0; i < (long)n * n; i++) {
    a[i] = (float)((i * 7919) % 1000) * 1e-3f - 0.5f;
    b[i] = (float)((i * 104729) % 1000) * 1e-3f - 0.5f;
  }
  openblas_set_num_threads(threads);
  measure("openblas", gemm_openblas, a, b, c, n, threads, reps);
  openblas_set_num_threads(1);
  omp_set_num_threads(threads);
  measure("omp-split", gemm_split, a, b, c, n, threads, reps);
  measure("ds_sgemm", gemm_ds, a, b, c, n, threads, reps);
  free(a);
  free(b);
  free(c);
  return 0;
}
