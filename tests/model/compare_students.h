/* Comparing two students that should compute the same thing (fast vs naive kernels, packed vs padded rows). */
#ifndef DS_TESTS_MODEL_COMPARE_STUDENTS_H
#define DS_TESTS_MODEL_COMPARE_STUDENTS_H

#include <math.h>
#include <stddef.h>

#include "../check.h"
#include "model/model.h"

/* ||a - b|| / ||b|| over n values. */
static double rel_l2(const float *a, const float *b, size_t n) {
  double num = 0.0, den = 0.0;
  for (size_t i = 0; i < n; i++) {
    num += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
    den += (double)b[i] * b[i];
  }
  return sqrt(num / (den + 1e-300));
}

/* Checks every parameter gradient of `a` against `ref` (same shape) to relative L2 below `limit`, naming the
 * tensor and `what` on failure; returns the worst error. */
static double check_grads_close(const ds_student *a, const ds_student *ref, double limit, const char *what) {
  double worst = 0.0;
  for (int i = 0; i < a->table.n_tensors; i++) {
    const ds_tensor_info *t = &a->table.tensors[i];
    const double e = rel_l2(a->grads + t->offset, ref->grads + t->offset, t->numel);
    CHECK_MSG(e < limit, "%s gradient: %s rel L2 %.3g", t->name, what, e);
    worst = fmax(worst, e);
  }
  return worst;
}

#endif
