/* Single-precision GEMM for the layer kernels: an AVX-512 path written here, OpenBLAS everywhere else.
 *
 * Why: the training step is ~80% sgemm at the larger students, so its speed is the sgemm kernel's. OpenBLAS
 * picks its kernel per CPU at load time (or from OPENBLAS_CORETYPE); where that is a 256-bit kernel on a CPU
 * with 512-bit FMA units, half the machine is idle. This path uses AVX-512 when the CPU (and OS) have it and
 * calls cblas_sgemm otherwise, so it is never slower than OpenBLAS on machines without AVX-512.
 *
 * Where OpenBLAS itself runs an AVX-512 kernel, large products go to it (measured ~10% faster on the training
 * step than this one); small ones (attention heads) stay here, where the call and packing overheads of a
 * general BLAS dominate.
 *
 * Scheme (the usual one of BLIS / GotoBLAS): C is computed in 12 x 32 tiles held in 24 zmm registers; B is
 * packed into KC x 32 column panels of a KC x NC block, A into 12-row panels of an MC x KC block; one A panel
 * (12 KB) stays in L1 while the B panels stream past it (the two orders measured within noise of each other).
 * Packing absorbs the transposes, so all four layouts run the same micro-kernel; edges are zero-padded in the
 * packs and masked at the store. Single-threaded: the callers split rows (or columns) across their OpenMP
 * threads, as they did with OpenBLAS. */
#include <cblas.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"

#define MR 12   /* rows of a C tile: 12 x 2 accumulators + 2 B vectors + 1 broadcast fit 32 zmm */
#define NR 32   /* columns of a C tile: two zmm */
#define SMALL_GEMM 262144.0 /* M N K below which this kernel is used even when OpenBLAS has AVX-512 */
/* Block sizes, overridable at compile time for tuning (the step time was flat across KC 128-384, MC, NC). */
#ifndef KC
#define KC 256  /* depth of a packed block */
#endif
#ifndef MC
#define MC 240  /* rows of a packed A block (MC x KC floats, 240 KB) for L2 */
#endif
#ifndef NC
#define NC 1024 /* columns of a packed B block (KC x NC floats, 1 MB) */
#endif

void ds_sgemm_naive(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A, int lda,
                    const float *B, int ldb, float beta, float *C, int ldc) {
  for (int i = 0; i < M; i++)
    for (int j = 0; j < N; j++) {
      double acc = 0.0;
      for (int k = 0; k < K; k++) {
        const float a = trans_a ? A[(long)k * lda + i] : A[(long)i * lda + k];
        const float b = trans_b ? B[(long)j * ldb + k] : B[(long)k * ldb + j];
        acc += (double)a * b;
      }
      float *c = C + (long)i * ldc + j;
      *c = (float)(alpha * acc + (beta == 0.0f ? 0.0 : (double)beta * *c));
    }
}

static void sgemm_openblas(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A, int lda,
                           const float *B, int ldb, float beta, float *C, int ldc) {
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, M, N, K,
              alpha, A, lda, B, ldb, beta, C, ldc);
}

#if defined(__x86_64__) && defined(__GNUC__) && !defined(DS_NO_AVX512_GEMM)
#include <immintrin.h>
#define AVX512 __attribute__((target("avx512f")))

/* In-register transpose of 16 x 16 floats: r[i] holds row i on entry and column i on return. */
AVX512 static inline __attribute__((always_inline)) void transpose16(__m512 r[16]) {
  __m512 t[16];
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
  }
  for (int i = 0; i < 16; i += 4)
    for (int j = 0; j < 2; j++) {
      r[i + j] = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(t[i + j]), _mm512_castps_pd(t[i + j + 2])));
      r[i + j + 2] =
          _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(t[i + j]), _mm512_castps_pd(t[i + j + 2])));
    }
  for (int i = 0; i < 16; i += 8)
    for (int j = 0; j < 4; j++) {
      t[i + j] = _mm512_shuffle_f32x4(r[i + j], r[i + j + 4], 0x88);
      t[i + j + 4] = _mm512_shuffle_f32x4(r[i + j], r[i + j + 4], 0xDD);
    }
  for (int j = 0; j < 8; j++) {
    r[j] = _mm512_shuffle_f32x4(t[j], t[j + 8], 0x88);
    r[j + 8] = _mm512_shuffle_f32x4(t[j], t[j + 8], 0xDD);
  }
  /* After the four stages columns 1 and 2 of each group of four sit swapped. */
  for (int i = 0; i < 16; i += 4) {
    const __m512 x = r[i + 1];
    r[i + 1] = r[i + 2];
    r[i + 2] = x;
  }
}

/* rows x 16 block of a row-major matrix (row stride ld, `cols` <= 16 valid columns, missing rows and columns
 * read as zero), transposed: out[c] = column c. */
AVX512 static inline __attribute__((always_inline)) void load_transposed(__m512 out[16], const float *src, long ld, int rows, int cols) {
  const __mmask16 m = cols >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << cols) - 1u);
  for (int i = 0; i < 16; i++) out[i] = i < rows ? _mm512_maskz_loadu_ps(m, src + i * ld) : _mm512_setzero_ps();
  transpose16(out);
}

/* op(B)[k0 + k][j0 + j] for k < kc, j < nc into panels of NR columns: panel p holds kc rows of NR floats,
 * columns past nc zero. Untransposed B is copied along its rows (a panel-by-panel walk would stride by ldb and
 * alias in the cache when ldb is a power of two); transposed B goes through 16 x 16 register transposes. */
AVX512 static void pack_b(float *restrict bp, const float *B, int ldb, int trans_b, int k0, int kc, int j0, int nc) {
  const int full = nc / NR * NR;
  if (!trans_b) {
    for (int k = 0; k < kc; k++) {
      const float *src = B + (long)(k0 + k) * ldb + j0;
      for (int p = 0; p < full; p += NR) memcpy(bp + (long)p * kc + (long)k * NR, src + p, sizeof(float) * NR);
      if (full < nc) {
        float *d = bp + (long)full * kc + (long)k * NR;
        for (int j = 0; j < NR; j++) d[j] = full + j < nc ? src[full + j] : 0.0f;
      }
    }
    return;
  }
  /* B stored (N, K): rows j of the store are columns of op(B). */
  for (int p = 0; p < nc; p += NR) {
    float *dst = bp + (long)p * kc;
    for (int h = 0; h < NR; h += 16) {
      const int rows = nc - p - h < 16 ? nc - p - h : 16;
      for (int k = 0; k < kc; k += 16) {
        __m512 v[16];
        const int cols = kc - k < 16 ? kc - k : 16;
        if (rows > 0) {
          load_transposed(v, B + (long)(j0 + p + h) * ldb + k0 + k, ldb, rows, cols);
        } else {
          for (int i = 0; i < 16; i++) v[i] = _mm512_setzero_ps();
        }
        for (int i = 0; i < cols; i++) _mm512_store_ps(dst + (long)(k + i) * NR + h, v[i]);
      }
    }
  }
}

/* op(A)[i0 + i][k0 + k] for i < mc, k < kc into panels of MR rows: panel p holds kc columns of MR floats,
 * rows past mc zero. Untransposed A goes through register transposes, transposed A is copied along its rows. */
AVX512 static void pack_a(float *restrict ap, const float *A, int lda, int trans_a, int i0, int mc, int k0, int kc) {
  const __mmask16 m12 = (__mmask16)((1u << MR) - 1u);
  if (trans_a) {
    for (int k = 0; k < kc; k++) {
      const float *src = A + (long)(k0 + k) * lda + i0;
      for (int p = 0; p < mc; p += MR) {
        const int h = mc - p < MR ? mc - p : MR;
        const __mmask16 m = (__mmask16)((1u << h) - 1u);
        _mm512_mask_storeu_ps(ap + (long)p * kc + (long)k * MR, m12, _mm512_maskz_loadu_ps(m, src + p));
      }
    }
    return;
  }
  for (int p = 0; p < mc; p += MR) {
    const int h = mc - p < MR ? mc - p : MR;
    float *dst = ap + (long)p * kc;
    for (int k = 0; k < kc; k += 16) {
      __m512 v[16];
      const int cols = kc - k < 16 ? kc - k : 16;
      load_transposed(v, A + (long)(i0 + p) * lda + k0 + k, lda, h, cols);
      for (int i = 0; i < cols; i++) _mm512_mask_storeu_ps(dst + (long)(k + i) * MR, m12, v[i]);
    }
  }
}

/* C[0:mr, 0:nr] = alpha * (A panel . B panel) + beta * C (beta == 0: C is not read). */
AVX512 static void kernel_12x32(int kc, const float *restrict ap, const float *restrict bp, float *c, int ldc,
                                int mr, int nr, float alpha, float beta) {
  __m512 c00 = _mm512_setzero_ps(), c01 = _mm512_setzero_ps(), c10 = _mm512_setzero_ps(),
         c11 = _mm512_setzero_ps(), c20 = _mm512_setzero_ps(), c21 = _mm512_setzero_ps(),
         c30 = _mm512_setzero_ps(), c31 = _mm512_setzero_ps(), c40 = _mm512_setzero_ps(),
         c41 = _mm512_setzero_ps(), c50 = _mm512_setzero_ps(), c51 = _mm512_setzero_ps(),
         c60 = _mm512_setzero_ps(), c61 = _mm512_setzero_ps(), c70 = _mm512_setzero_ps(),
         c71 = _mm512_setzero_ps(), c80 = _mm512_setzero_ps(), c81 = _mm512_setzero_ps(),
         c90 = _mm512_setzero_ps(), c91 = _mm512_setzero_ps(), ca0 = _mm512_setzero_ps(),
         ca1 = _mm512_setzero_ps(), cb0 = _mm512_setzero_ps(), cb1 = _mm512_setzero_ps();
  for (int k = 0; k < kc; k++, ap += MR, bp += NR) {
    const __m512 b0 = _mm512_load_ps(bp), b1 = _mm512_load_ps(bp + 16);
    __m512 a;
#define ROW(r, x0, x1)                  \
  a = _mm512_set1_ps(ap[r]);            \
  x0 = _mm512_fmadd_ps(a, b0, x0);      \
  x1 = _mm512_fmadd_ps(a, b1, x1);
    ROW(0, c00, c01) ROW(1, c10, c11) ROW(2, c20, c21) ROW(3, c30, c31) ROW(4, c40, c41) ROW(5, c50, c51)
    ROW(6, c60, c61) ROW(7, c70, c71) ROW(8, c80, c81) ROW(9, c90, c91) ROW(10, ca0, ca1) ROW(11, cb0, cb1)
#undef ROW
  }
  const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
  const __mmask16 m0 = nr >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << nr) - 1u);
  const __mmask16 m1 = nr >= 32 ? (__mmask16)0xFFFF : nr > 16 ? (__mmask16)((1u << (nr - 16)) - 1u) : 0;
  const __m512 acc[MR][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51},
                             {c60, c61}, {c70, c71}, {c80, c81}, {c90, c91}, {ca0, ca1}, {cb0, cb1}};
  for (int r = 0; r < mr; r++) {
    float *cr = c + (long)r * ldc;
    __m512 v0 = _mm512_mul_ps(va, acc[r][0]), v1 = _mm512_mul_ps(va, acc[r][1]);
    if (beta != 0.0f) {
      v0 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m0, cr), v0);
      v1 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m1, cr + 16), v1);
    }
    _mm512_mask_storeu_ps(cr, m0, v0);
    _mm512_mask_storeu_ps(cr + 16, m1, v1);
  }
}

#define SMALL_PACK 8192 /* floats of packing space taken from the stack (attention's small products) */

/* Returns -1 (nothing done) if the packing buffers cannot be allocated. */
AVX512 static int sgemm_avx512(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A, int lda,
                               const float *B, int ldb, float beta, float *C, int ldc) {
  const int kc_max = K < KC ? K : KC;
  const int nc_max = ((N < NC ? N : NC) + NR - 1) / NR * NR, mc_max = ((M < MC ? M : MC) + MR - 1) / MR * MR;
  /* Sizes rounded to whole cache lines: C11's aligned_alloc wants a multiple of the alignment. */
  const size_t nb = (size_t)kc_max * nc_max, na = ((size_t)kc_max * mc_max + 15) / 16 * 16;
  _Alignas(64) float small[SMALL_PACK];
  const int on_stack = nb + na <= SMALL_PACK;
  float *bp = on_stack ? small : aligned_alloc(64, sizeof(float) * nb);
  float *ap = on_stack ? small + nb : aligned_alloc(64, sizeof(float) * na);
  if (!bp || !ap) {
    if (!on_stack) {
      free(bp);
      free(ap);
    }
    return -1;
  }
  for (int j0 = 0; j0 < N; j0 += NC) {
    const int nc = N - j0 < NC ? N - j0 : NC;
    for (int k0 = 0; k0 < K; k0 += KC) {
      const int kc = K - k0 < KC ? K - k0 : KC;
      const float b_eff = k0 == 0 ? beta : 1.0f; /* later depth blocks add to what the first wrote */
      pack_b(bp, B, ldb, trans_b, k0, kc, j0, nc);
      for (int i0 = 0; i0 < M; i0 += MC) {
        const int mc = M - i0 < MC ? M - i0 : MC;
        pack_a(ap, A, lda, trans_a, i0, mc, k0, kc);
        for (int ir = 0; ir < mc; ir += MR)
          for (int jr = 0; jr < nc; jr += NR)
            kernel_12x32(kc, ap + (long)ir * kc, bp + (long)jr * kc, C + (long)(i0 + ir) * ldc + j0 + jr, ldc,
                         mc - ir < MR ? mc - ir : MR, nc - jr < NR ? nc - jr : NR, alpha, b_eff);
      }
    }
  }
  if (!on_stack) {
    free(bp);
    free(ap);
  }
  return 0;
}

static int have_avx512(void) { return __builtin_cpu_supports("avx512f"); }

/* OpenBLAS's kernel for this process (its CPU detection, or OPENBLAS_CORETYPE) is an AVX-512 one. */
static int openblas_avx512(void) {
  static const char *const cores[] = {"SkylakeX", "Cooperlake", "SapphireRapids"};
  const char *c = openblas_get_corename();
  for (size_t i = 0; c && i < sizeof cores / sizeof cores[0]; i++)
    if (strcmp(c, cores[i]) == 0) return 1;
  return 0;
}
#else
static int have_avx512(void) { return 0; }
static int openblas_avx512(void) { return 1; }
static int sgemm_avx512(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A, int lda,
                        const float *B, int ldb, float beta, float *C, int ldc) {
  (void)trans_a, (void)trans_b, (void)M, (void)N, (void)K, (void)alpha, (void)A, (void)lda, (void)B, (void)ldb,
      (void)beta, (void)C, (void)ldc;
  return -1;
}
#endif

void ds_sgemm(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A, int lda, const float *B,
              int ldb, float beta, float *C, int ldc) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) { /* C = beta C, as BLAS defines it */
    for (int i = 0; i < M; i++)
      for (int j = 0; j < N; j++) C[(long)i * ldc + j] = beta == 0.0f ? 0.0f : beta * C[(long)i * ldc + j];
    return;
  }
  const int small = (double)M * N * K < SMALL_GEMM;
  if (have_avx512() && (small || !openblas_avx512()) &&
      sgemm_avx512(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc) == 0)
    return;
  sgemm_openblas(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}
