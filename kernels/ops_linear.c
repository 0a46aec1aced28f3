/* Linear layers through ds_sgemm (kernels/ops_gemm.c: AVX-512 or OpenBLAS), with a plain-loop reference twin.
 * The GEMM runs single-threaded (OpenBLAS too, see ds_student_init); the OpenMP threads each take a slice of
 * rows (or of output channels for the weight gradient), so one thread pool serves the whole step and no pool
 * spins while the other works. */
#include <omp.h>
#include <string.h>

/* [begin, end) of `n` items for thread `t` of `nt`. */
static void thread_range(int n, int t, int nt, int *begin, int *end) {
  *begin = (int)((long)n * t / nt);
  *end = (int)((long)n * (t + 1) / nt);
}

#include "kernels/kernels.h"
#include "kernels/ops_simd.h"

DS_VEC_CLONES static void add_bias_rows(float *restrict out, const float *restrict bias, int n0, int n1, int OC) {
  for (int n = n0; n < n1; n++) {
    float *o = out + (long)n * OC;
    for (int c = 0; c < OC; c++) o[c] += bias[c];
  }
}

/* Bias added by each thread to its own rows right after its sgemm: same arithmetic as a separate pass, but
 * no second fork/join, and the rows are the ones this thread just wrote. */
void ds_linear_forward(float *out, const float *inp, const float *w, const float *bias, int N, int IC, int OC) {
#pragma omp parallel
  {
    int n0, n1;
    thread_range(N, omp_get_thread_num(), omp_get_num_threads(), &n0, &n1);
    if (n1 > n0) {
      ds_sgemm(0, 1, n1 - n0, OC, IC, 1.0f, inp + (long)n0 * IC, IC, w, IC, 0.0f, out + (long)n0 * OC, OC);
      if (bias) add_bias_rows(out, bias, n0, n1, OC);
    }
  }
}

void ds_linear_forward_naive(float *out, const float *inp, const float *w, const float *bias, int N, int IC,
                             int OC) {
  for (int n = 0; n < N; n++)
    for (int o = 0; o < OC; o++) {
      float acc = bias ? bias[o] : 0.0f;
      for (int i = 0; i < IC; i++) acc += inp[(long)n * IC + i] * w[(long)o * IC + i];
      out[(long)n * OC + o] = acc;
    }
}

#define BIAS_BLOCK 256 /* columns summed at once: one row segment of dout is contiguous */

/* Column sums of dout (N, OC) over columns [c0, c1), rows added in order into a small block of accumulators:
 * reads dout row by row (a plain column loop strides through memory and cost more than the sgemm beside
 * it), and every column is still summed in row order, so the result ignores the thread count. */
DS_VEC_CLONES static void bias_backward(float *restrict dbias, const float *restrict dout, int N, int OC, int c0, int c1) {
  for (int b0 = c0; b0 < c1; b0 += BIAS_BLOCK) {
    const int w = c1 - b0 < BIAS_BLOCK ? c1 - b0 : BIAS_BLOCK;
    float acc[BIAS_BLOCK] = {0};
    for (int n = 0; n < N; n++) {
      const float *d = dout + (long)n * OC + b0;
      for (int c = 0; c < w; c++) acc[c] += d[c];
    }
    for (int c = 0; c < w; c++) dbias[b0 + c] += acc[c];
  }
}

void ds_linear_backward(float *dinp, float *dw, float *dbias, const float *dout, const float *inp, const float *w,
                        int N, int IC, int OC) {
#pragma omp parallel
  {
    const int t = omp_get_thread_num(), nt = omp_get_num_threads();
    int n0, n1, o0, o1;
    thread_range(N, t, nt, &n0, &n1);
    thread_range(OC, t, nt, &o0, &o1);
    if (dinp && n1 > n0)
      ds_sgemm(0, 0, n1 - n0, IC, OC, 1.0f, dout + (long)n0 * OC, OC, w, IC, 1.0f, dinp + (long)n0 * IC, IC);
    /* The weight gradient sums over all N rows: split it by output channel instead. */
    if (o1 > o0)
      ds_sgemm(1, 0, o1 - o0, IC, N, 1.0f, dout + o0, OC, inp, IC, 1.0f, dw + (long)o0 * IC, IC);
    if (dbias) bias_backward(dbias, dout, N, OC, o0, o1);
  }
}

void ds_linear_backward_naive(float *dinp, float *dw, float *dbias, const float *dout, const float *inp,
                              const float *w, int N, int IC, int OC) {
  for (int n = 0; n < N; n++)
    for (int o = 0; o < OC; o++) {
      const float d = dout[(long)n * OC + o];
      for (int i = 0; i < IC; i++) {
        if (dinp) dinp[(long)n * IC + i] += d * w[(long)o * IC + i];
        dw[(long)o * IC + i] += d * inp[(long)n * IC + i];
      }
      if (dbias) dbias[o] += d;
    }
}
