/* kNN@k overlap (train/knn.h): blockwise sgemm for the similarities, a running top-k per row. */
#include "train/knn.h"

#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

/* From OpenBLAS: each OpenMP thread runs its own sgemm, so OpenBLAS's pool must not start one per call. */

int ds_knn_rows_init(ds_knn_rows *r, long cap, int da, int db, ds_err *err) {
  memset(r, 0, sizeof *r);
  if (cap < 0 || da < 1 || db < 1) return ds_fail(err, "kNN: bad sizes (%ld rows of %d and %d dims)", cap, da, db);
  r->cap = cap;
  r->da = da;
  r->db = db;
  r->a = malloc(sizeof(float) * (size_t)(cap > 0 ? cap : 1) * (size_t)da);
  r->b = malloc(sizeof(float) * (size_t)(cap > 0 ? cap : 1) * (size_t)db);
  if (!r->a || !r->b) {
    ds_knn_rows_free(r);
    return ds_fail(err, "out of memory holding %ld embeddings of %d + %d dims for kNN", cap, da, db);
  }
  return 0;
}

void ds_knn_rows_free(ds_knn_rows *r) {
  free(r->a);
  free(r->b);
  memset(r, 0, sizeof *r);
}

/* dst = src / |src| (a zero row stays zero: it is then equally far from everything). */
static void unit_copy(float *dst, const float *src, int d) {
  double ss = 0;
  for (int i = 0; i < d; i++) ss += (double)src[i] * src[i];
  const float s = ss > 0 ? (float)(1.0 / sqrt(ss)) : 0.0f;
  for (int i = 0; i < d; i++) dst[i] = src[i] * s;
}

int ds_knn_rows_add(ds_knn_rows *r, int n, const float *a, const float *b, ds_err *err) {
  if (n < 0 || r->n + n > r->cap) return ds_fail(err, "kNN: %ld + %d rows exceed the %ld reserved", r->n, n, r->cap);
  for (int i = 0; i < n; i++) {
    unit_copy(r->a + (size_t)(r->n + i) * r->da, a + (size_t)i * r->da, r->da);
    unit_copy(r->b + (size_t)(r->n + i) * r->db, b + (size_t)i * r->db, r->db);
  }
  r->n += n;
  return 0;
}

/* Top k of one row of similarities s (n), excluding `self`. Columns come in increasing order, so a
 * strict comparison keeps the earlier (lower) index ahead on ties. */
static void row_top_k(const float *s, long n, long self, int k, int32_t *idx) {
  float v[DS_KNN_MAX_K];
  int c = 0;
  for (long j = 0; j < n; j++) {
    if (j == self) continue;
    float x = s[j];
    if (isnan(x)) x = -INFINITY;
    if (c == k && !(x > v[k - 1])) continue;
    int p = c < k ? c : k - 1; /* the slot that frees up: the end, or the current worst */
    while (p > 0 && x > v[p - 1]) {
      v[p] = v[p - 1];
      idx[p] = idx[p - 1];
      p--;
    }
    v[p] = x;
    idx[p] = (int32_t)j;
    if (c < k) c++;
  }
}

int ds_knn_neighbours(const float *x, long n, int d, int k, int32_t *nbr, ds_err *err) {
  if (k < 1 || k > DS_KNN_MAX_K || k > n - 1 || n > INT32_MAX) return ds_fail(err, "kNN: %d neighbours asked of %ld rows", k, n);
  const int threads = omp_get_max_threads();
  const long n_blocks = (n + DS_KNN_BLOCK - 1) / DS_KNN_BLOCK;
  float *sim = malloc(sizeof(float) * (size_t)threads * DS_KNN_BLOCK * (size_t)n); /* (threads, block, n) */
  if (!sim) return ds_fail(err, "out of memory for kNN similarity blocks (%d x %d x %ld floats)", threads, DS_KNN_BLOCK, n);
#pragma omp parallel for schedule(dynamic) num_threads(threads)
  for (long blk = 0; blk < n_blocks; blk++) {
    const long i0 = blk * DS_KNN_BLOCK, rows = n - i0 < DS_KNN_BLOCK ? n - i0 : DS_KNN_BLOCK;
    float *s = sim + (size_t)omp_get_thread_num() * DS_KNN_BLOCK * (size_t)n; /* (rows, n) */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rows, (int)n, d, 1.0f, x + (size_t)i0 * d, d, x, d,
                0.0f, s, (int)n);
    for (long r = 0; r < rows; r++) row_top_k(s + (size_t)r * n, n, i0 + r, k, nbr + (size_t)(i0 + r) * k);
  }
  free(sim);
  return 0;
}

double ds_knn_lists_overlap(const int32_t *a, const int32_t *b, long n, int k) {
  long shared = 0;
  for (long i = 0; i < n; i++) {
    const int32_t *ai = a + (size_t)i * k, *bi = b + (size_t)i * k;
    for (int p = 0; p < k; p++)
      for (int q = 0; q < k; q++)
        if (ai[p] == bi[q]) {
          shared++;
          break;
        }
  }
  return n > 0 ? (double)shared / ((double)n * k) : NAN;
}

int ds_knn_rows_overlap(const ds_knn_rows *r, int k, double *overlap, ds_err *err) {
  *overlap = NAN;
  if (r->n < 2 || k < 1) return 0;
  if (k > r->n - 1) k = (int)(r->n - 1);
  int32_t *na = malloc(sizeof(int32_t) * (size_t)r->n * k), *nb = malloc(sizeof(int32_t) * (size_t)r->n * k);
  int rc = -1;
  if (!na || !nb) {
    ds_fail(err, "out of memory for the neighbour lists of %ld rows", r->n);
  } else if (!ds_knn_neighbours(r->a, r->n, r->da, k, na, err) && !ds_knn_neighbours(r->b, r->n, r->db, k, nb, err)) {
    *overlap = ds_knn_lists_overlap(na, nb, r->n, k);
    rc = 0;
  }
  free(na);
  free(nb);
  return rc;
}
