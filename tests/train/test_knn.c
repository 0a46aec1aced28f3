/* kNN@k overlap (train/knn.h) on hand-made embeddings whose neighbourhoods are known, on exact ties, and
 * on integer embeddings over several sgemm blocks against a naive reference (integer dot products are
 * exact in float, so the lists must agree entry for entry, ties included). */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "tests/check.h"
#include "train/knn.h"

/* Unit vectors in the plane at the given angles (degrees), each row scaled by `scale` (normalised away). */
static void at_angles(float *x, const double *deg, int n, double scale) {
  for (int i = 0; i < n; i++) {
    x[2 * i] = (float)(scale * (i + 1) * cos(deg[i] * M_PI / 180));
    x[2 * i + 1] = (float)(scale * (i + 1) * sin(deg[i] * M_PI / 180));
  }
}

static double rows_overlap(const float *a, int da, const float *b, int db, int n, int k) {
  ds_knn_rows r;
  ds_err err = {{0}};
  double v = -1;
  CHECK(ds_knn_rows_init(&r, n, da, db, &err) == 0);
  CHECK(ds_knn_rows_add(&r, n, a, b, &err) == 0);
  CHECK_MSG(ds_knn_rows_overlap(&r, k, &v, &err) == 0, "%s", err.msg);
  ds_knn_rows_free(&r);
  return v;
}

/* Four points; by angle A: 0, 10, 30, 65 degrees, B: 0, 50, 30, 65.
 *   k = 1  A: 0->1 1->0 2->1 3->2        B: 0->2 1->3 2->1 3->1          shared 0,0,1,0 -> 1/4
 *   k = 2  A: {1,2} {0,2} {1,0} {2,1}    B: {2,1} {3,2} {1,0} {1,2}      shared 2,1,2,2 -> 7/8
 *   k = 3  every other row on both sides -> 1; k = 10 is cut to n - 1 = 3. */
static void test_hand_made(void) {
  const double da[4] = {0, 10, 30, 65}, db[4] = {0, 50, 30, 65};
  float a[8], b[8], b3[12];
  at_angles(a, da, 4, 1.0);
  at_angles(b, db, 4, 0.37); /* other lengths: cosine ignores them */
  CHECK(rows_overlap(a, 2, b, 2, 4, 1) == 0.25);
  CHECK(rows_overlap(a, 2, b, 2, 4, 2) == 0.875);
  CHECK(rows_overlap(a, 2, b, 2, 4, 3) == 1.0);
  CHECK(rows_overlap(a, 2, b, 2, 4, DS_KNN_K) == 1.0);
  CHECK(rows_overlap(a, 2, a, 2, 4, 2) == 1.0);
  /* The student's size need not be the teacher's: b in 3 dims (a zero third coordinate) is the same set. */
  for (int i = 0; i < 4; i++) {
    b3[3 * i] = b[2 * i];
    b3[3 * i + 1] = 0;
    b3[3 * i + 2] = b[2 * i + 1];
  }
  CHECK(rows_overlap(a, 2, b3, 3, 4, 2) == 0.875);

  int32_t nbr[8];
  ds_err err = {{0}};
  float au[8];
  at_angles(au, da, 4, 1.0);
  for (int i = 0; i < 4; i++) { /* unit rows, so dot products are cosines */
    const float s = 1.0f / (i + 1);
    au[2 * i] *= s;
    au[2 * i + 1] *= s;
  }
  CHECK(ds_knn_neighbours(au, 4, 2, 2, nbr, &err) == 0);
  const int32_t want[8] = {1, 2, 0, 2, 1, 0, 2, 1}; /* nearest first */
  CHECK(memcmp(nbr, want, sizeof want) == 0);

  /* Fewer than two rows: no neighbours, NAN. */
  ds_knn_rows r;
  double v = 0;
  CHECK(ds_knn_rows_init(&r, 1, 2, 2, &err) == 0);
  CHECK(ds_knn_rows_add(&r, 1, a, b, &err) == 0);
  CHECK(ds_knn_rows_add(&r, 1, a, b, &err) == -1); /* past the reserved rows */
  CHECK(ds_knn_rows_overlap(&r, DS_KNN_K, &v, &err) == 0 && isnan(v));
  ds_knn_rows_free(&r);
  CHECK(ds_knn_neighbours(au, 4, 2, 4, nbr, &err) == -1); /* k > n - 1 */
}

/* Exact ties (integer vectors): equal similarities go to the lower index. */
static void test_ties(void) {
  /* rows 0, 2, 4 are the same vector; row 1 the opposite; row 3 orthogonal. */
  const float x[10] = {1, 1, -1, -1, 1, 1, 1, -1, 1, 1};
  int32_t nbr[15];
  ds_err err = {{0}};
  CHECK(ds_knn_neighbours(x, 5, 2, 3, nbr, &err) == 0);
  const int32_t want[15] = {2, 4, 3, /* row 0 */ 3, 0, 2, /* row 1: 3 (dot 0) before the -2s, lowest first */
                            0, 4, 3, /* row 2 */ 0, 1, 2, /* row 3: all at 0 */ 0, 2, 3 /* row 4 */};
  CHECK_MSG(memcmp(nbr, want, sizeof want) == 0, "row 1: %d %d %d, row 3: %d %d %d", nbr[3], nbr[4], nbr[5], nbr[9],
            nbr[10], nbr[11]);
}

/* Naive reference: for each row, repeatedly pick the best unpicked other row (largest dot, lowest index). */
static void naive_neighbours(const float *x, int n, int d, int k, int32_t *nbr) {
  char *used = malloc((size_t)n);
  for (int i = 0; i < n; i++) {
    memset(used, 0, (size_t)n);
    used[i] = 1;
    for (int p = 0; p < k; p++) {
      int best = -1;
      double bv = 0;
      for (int j = 0; j < n; j++) {
        if (used[j]) continue;
        double v = 0;
        for (int c = 0; c < d; c++) v += (double)x[(size_t)i * d + c] * x[(size_t)j * d + c];
        if (best < 0 || v > bv) best = j, bv = v;
      }
      used[best] = 1;
      nbr[(size_t)i * k + p] = best;
    }
  }
  free(used);
}

static void test_blocks_against_naive(void) {
  const int n = 2 * DS_KNN_BLOCK + 89, d = 6, k = DS_KNN_K;
  float *a = malloc(sizeof(float) * n * d), *b = malloc(sizeof(float) * n * d);
  int32_t *na = malloc(sizeof(int32_t) * n * k), *nb = malloc(sizeof(int32_t) * n * k);
  int32_t *ra = malloc(sizeof(int32_t) * n * k), *rb = malloc(sizeof(int32_t) * n * k);
  unsigned s = 12345;
  for (int i = 0; i < n * d; i++) {
    s = s * 1103515245u + 12345u;
    a[i] = (float)((int)((s >> 16) % 17) - 8);
    /* b: a with a few coordinates changed, so the lists partly agree */
    b[i] = (s >> 8) % 5 == 0 ? (float)((int)((s >> 20) % 17) - 8) : a[i];
  }
  naive_neighbours(a, n, d, k, ra);
  naive_neighbours(b, n, d, k, rb);
  ds_err err = {{0}};
  for (int threads = 1; threads <= 2; threads++) {
    omp_set_num_threads(threads);
    memset(na, 0xff, sizeof(int32_t) * n * k);
    CHECK(ds_knn_neighbours(a, n, d, k, na, &err) == 0);
    CHECK(ds_knn_neighbours(b, n, d, k, nb, &err) == 0);
    CHECK_MSG(memcmp(na, ra, sizeof(int32_t) * n * k) == 0, "%d threads: lists of a differ", threads);
    CHECK_MSG(memcmp(nb, rb, sizeof(int32_t) * n * k) == 0, "%d threads: lists of b differ", threads);
  }
  /* The overlap from the reference lists, counted independently. */
  long shared = 0;
  for (int i = 0; i < n; i++)
    for (int p = 0; p < k; p++)
      for (int q = 0; q < k; q++) shared += ra[i * k + p] == rb[i * k + q];
  const double want = (double)shared / ((double)n * k);
  const double got = ds_knn_lists_overlap(na, nb, n, k);
  CHECK_MSG(got == want, "overlap %.9f, reference %.9f", got, want);
  CHECK(want > 0.2 && want < 0.9); /* a test that can tell partial agreement from none or all */
  CHECK(ds_knn_lists_overlap(na, na, n, k) == 1.0);
  free(a);
  free(b);
  free(na);
  free(nb);
  free(ra);
  free(rb);
}

int main(void) {
  test_hand_made();
  test_ties();
  test_blocks_against_naive();
  return check_report();
}
