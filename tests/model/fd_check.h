/* Finite-difference helpers shared by the gradient tests (tests/model/test_grad.c,
 * tests/train/test_hidden_loss.c): random normal buffers, a double-precision dot product, and the central
 * difference comparison |numeric - analytic| <= rtol * (|analytic| + 0.01 max|analytic|) + atol.
 * The including test seeds `rng` in main. */
#ifndef DS_TESTS_MODEL_FD_CHECK_H
#define DS_TESTS_MODEL_FD_CHECK_H

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "../check.h"

typedef double (*loss_fn)(void *ctx);
static gsl_rng *rng;

static inline float *randn(long n, double sd) {
  float *x = malloc(sizeof(float) * (size_t)n);
  for (long i = 0; i < n; i++) x[i] = (float)gsl_ran_gaussian(rng, sd);
  return x;
}

static inline double dot(const float *a, const float *b, long n) {
  double s = 0.0;
  for (long i = 0; i < n; i++) s += (double)a[i] * b[i];
  return s;
}

/* Checks up to `samples` entries of x (all if fewer) against the analytic gradient g with central differences
 * of step h; an entry fails when its error exceeds the tolerance (nan_fails: also when the error is NaN). One
 * CHECK for all entries; returns the worst error / tolerance and stores max|g| in *gmax_out. */
static inline double fd_compare(const char *what, float *x, const float *g, long n, int samples, loss_fn f, void *ctx,
                                double h, double rtol, double atol, int nan_fails, double *gmax_out) {
  double gmax = 0.0;
  for (long i = 0; i < n; i++) gmax = fmax(gmax, fabs(g[i]));
  const long step = n > samples ? n / samples : 1;
  int bad = 0;
  double worst = 0.0;
  for (long i = 0; i < n; i += step) {
    const float orig = x[i];
    x[i] = orig + (float)h;
    const double lp = f(ctx);
    x[i] = orig - (float)h;
    const double lm = f(ctx);
    x[i] = orig;
    const double num = (lp - lm) / (2 * h), err = fabs(num - g[i]);
    const double tol = rtol * (fabs(g[i]) + 0.01 * gmax) + atol;
    if (nan_fails ? !(err <= tol) : err > tol) {
      if (bad++ < 3) fprintf(stderr, "%s[%ld]: numeric %.6g analytic %.6g\n", what, i, num, (double)g[i]);
    }
    worst = fmax(worst, err / tol);
  }
  CHECK_MSG(bad == 0, "%s: %d entries outside tolerance", what, bad);
  *gmax_out = gmax;
  return worst;
}

#endif
