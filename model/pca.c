/* PCA by the eigenvectors of the d x d covariance: one pass of dsyrk over the rows (in double, so the
 * result does not depend on the row count's rounding), then gsl_eigen_symmv. */
#include "model/pca.h"

#include <gsl/gsl_blas.h>
#include <gsl/gsl_eigen.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PCA_BLOCK_ROWS 4096

/* cov += (x - mean)^T (x - mean) over rows [0, n), a block of rows at a time. */
static int accumulate_covariance(const float *x, long n, int d, const double *mean, gsl_matrix *cov) {
  gsl_matrix *blk = gsl_matrix_alloc(PCA_BLOCK_ROWS, d);
  if (!blk) return -1;
  for (long r0 = 0; r0 < n; r0 += PCA_BLOCK_ROWS) {
    const long rows = n - r0 < PCA_BLOCK_ROWS ? n - r0 : PCA_BLOCK_ROWS;
    for (long i = 0; i < rows; i++)
      for (int j = 0; j < d; j++) gsl_matrix_set(blk, i, j, (double)x[(r0 + i) * d + j] - mean[j]);
    gsl_matrix_view v = gsl_matrix_submatrix(blk, 0, 0, rows, d);
    gsl_blas_dsyrk(CblasLower, CblasTrans, 1.0, &v.matrix, 1.0, cov);
  }
  gsl_matrix_free(blk);
  return 0;
}

int ds_pca(const float *x, long n, int d, int k, double *mean, float *axes, double *variance, ds_err *err) {
  if (n < 1 || d < 1 || k < 1) return ds_fail(err, "PCA of %ld rows of %d values to %d axes", n, d, k);
  memset(mean, 0, sizeof *mean * d);
  for (long i = 0; i < n; i++)
    for (int j = 0; j < d; j++) mean[j] += x[i * d + j];
  for (int j = 0; j < d; j++) mean[j] /= (double)n;

  gsl_matrix *cov = gsl_matrix_calloc(d, d), *evec = gsl_matrix_alloc(d, d);
  gsl_vector *eval = gsl_vector_alloc(d);
  gsl_eigen_symmv_workspace *ws = gsl_eigen_symmv_alloc(d);
  int rc = 0;
  if (!cov || !evec || !eval || !ws || accumulate_covariance(x, n, d, mean, cov)) {
    rc = ds_fail(err, "out of memory for a PCA of %d values", d);
    goto done;
  }
  for (int i = 0; i < d; i++) /* dsyrk filled the lower triangle; the solver reads it all */
    for (int j = 0; j < i; j++) gsl_matrix_set(cov, j, i, gsl_matrix_get(cov, i, j));
  if (gsl_eigen_symmv(cov, eval, evec, ws) != 0) {
    rc = ds_fail(err, "PCA: the eigensolver did not converge");
    goto done;
  }
  gsl_eigen_symmv_sort(eval, evec, GSL_EIGEN_SORT_VAL_DESC);
  memset(axes, 0, sizeof *axes * (size_t)k * d);
  for (int a = 0; a < k && a < d; a++) {
    int arg = 0;
    for (int j = 1; j < d; j++)
      if (fabs(gsl_matrix_get(evec, j, a)) > fabs(gsl_matrix_get(evec, arg, a))) arg = j;
    const double sign = gsl_matrix_get(evec, arg, a) < 0 ? -1.0 : 1.0;
    for (int j = 0; j < d; j++) axes[(size_t)a * d + j] = (float)(sign * gsl_matrix_get(evec, j, a));
  }
  if (variance)
    for (int a = 0; a < k; a++) variance[a] = a < d ? gsl_vector_get(eval, a) / (double)n : 0.0;
done:
  gsl_eigen_symmv_free(ws);
  gsl_vector_free(eval);
  gsl_matrix_free(evec);
  gsl_matrix_free(cov);
  return rc;
}
