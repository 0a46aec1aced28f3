/* Principal component analysis of the rows of a matrix, through the covariance's eigenvectors
 * (libgsl's symmetric eigensolver): what teacher-derived initialization reduces the teacher's token
 * embeddings with. */
#ifndef DS_MODEL_PCA_H
#define DS_MODEL_PCA_H

#include "common/common.h"

/* x (n, d): mean (d) and the top k principal axes as rows of axes (k, d), by decreasing variance
 * (variance (k) receives the eigenvalues of the covariance, divided by n; may be NULL). Rows past d
 * (k > d) are zero. Each axis's sign makes its largest-magnitude component positive, so the result is
 * unique for distinct eigenvalues. */
int ds_pca(const float *x, long n, int d, int k, double *mean, float *axes, double *variance, ds_err *err);

#endif
