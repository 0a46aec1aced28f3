/* kNN@k overlap: how well a student keeps the teacher's neighbourhoods. For every row of a set, its k
 * nearest other rows by cosine are found once under the student's embeddings and once under the
 * teacher's; the row scores |both lists| / k and the metric is the mean over rows (1: every
 * neighbourhood kept, about k/n for unrelated embeddings).
 *
 * All rows are held in memory (n x d floats per side, unit-normalised as they are added); the
 * similarities are computed a block of rows at a time with sgemm, so the extra memory is
 * O(threads x DS_KNN_BLOCK x n) and never n x n. The cost is O(n^2 (d_a + d_b)), hence DS_KNN_MAX_ROWS. */
#ifndef DS_TRAIN_KNN_H
#define DS_TRAIN_KNN_H

#include <stdint.h>

#include "common/common.h"

#define DS_KNN_K 10
#define DS_KNN_MAX_K 64           /* largest k ds_knn_neighbours takes */
#define DS_KNN_BLOCK 256          /* rows per sgemm block */
#define DS_KNN_MAX_ROWS 20000     /* evaluations over more rows leave kNN@10 out (quadratic cost) */

/* Rows of two embeddings of the same items: a (n, da) and b (n, db), each row scaled to unit length. */
typedef struct {
  long n, cap;
  int da, db;
  float *a, *b;
} ds_knn_rows;

/* Room for cap rows. */
int ds_knn_rows_init(ds_knn_rows *r, long cap, int da, int db, ds_err *err);
/* Appends n rows (a: (n, da), b: (n, db)), normalised; rows past cap are refused. */
int ds_knn_rows_add(ds_knn_rows *r, int n, const float *a, const float *b, ds_err *err);
/* Mean kNN@k overlap of the rows added so far, with k = min(k, n - 1); NAN when n < 2. */
int ds_knn_rows_overlap(const ds_knn_rows *r, int k, double *overlap, ds_err *err);
void ds_knn_rows_free(ds_knn_rows *r); /* safe on a zeroed or half-built set */

/* The k nearest other rows of every row of x (n, d) by dot product (cosine for unit rows), nearest
 * first, ties to the lower index: nbr (n, k). Requires 1 <= k <= min(n - 1, DS_KNN_MAX_K). */
int ds_knn_neighbours(const float *x, long n, int d, int k, int32_t *nbr, ds_err *err);
/* Mean over rows of |a_i ∩ b_i| / k for neighbour lists a, b (n, k). */
double ds_knn_lists_overlap(const int32_t *a, const int32_t *b, long n, int k);

#endif
