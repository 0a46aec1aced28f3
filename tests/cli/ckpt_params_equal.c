/* ckpt_params_equal [--rel-tol X] A.ckpt B.ckpt: exit 0 when both checkpoints hold the same /params tensors (same
 * names, shapes and float32 bits), 1 when they differ (the first difference is printed), 2 on an unreadable file.
 * Used by tests/cli/test_resume.sh: an interrupted and resumed run must equal an uninterrupted one bit for bit,
 * so values are compared as bytes, not within a tolerance.
 * With --rel-tol X (tests/mpi: a data-parallel run sums its gradients in another order) the values may differ:
 * the relative L2 difference ||a - b|| / ||a|| of all parameters together and of each tensor is printed, and
 * the checkpoints count as equal when the overall one is at most X and no tensor's exceeds 100 X (a tensor
 * that is nearly zero, such as the key bias whose gradient is zero in exact arithmetic, has a noisy ratio). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoints/ckpt.h"

static size_t numel(const ds_ckpt_entry *e) {
  size_t n = 1;
  for (int d = 0; d < e->ndim; d++) n *= (size_t)e->shape[d];
  return n;
}

static int same_shape(const ds_ckpt_entry *a, const ds_ckpt_entry *b) {
  if (a->ndim != b->ndim || a->dtype != b->dtype) return 0;
  for (int d = 0; d < a->ndim; d++)
    if (a->shape[d] != b->shape[d]) return 0;
  return 1;
}

/* 0 equal, 1 different; prints what differs. */
static int compare_tensor(const char *name, const float *a, const float *b, size_t n) {
  if (memcmp(a, b, n * sizeof(float)) == 0) return 0;
  size_t first = 0, n_diff = 0;
  double max_abs = 0.0;
  for (size_t i = 0; i < n; i++) {
    if (memcmp(&a[i], &b[i], sizeof(float)) == 0) continue;
    if (n_diff++ == 0) first = i;
    const double d = fabs((double)a[i] - (double)b[i]);
    if (d > max_abs) max_abs = d;
  }
  printf("%s: %zu of %zu values differ; first at [%zu]: %.9g vs %.9g; max |diff| %.3g\n", name, n_diff, n, first,
         a[first], b[first], max_abs);
  return 1;
}

/* Relative L2 difference of one tensor; adds its squares to the totals. */
static double rel_l2(const float *a, const float *b, size_t n, double *sum_d2, double *sum_a2) {
  double d2 = 0.0, a2 = 0.0;
  for (size_t i = 0; i < n; i++) {
    const double d = (double)a[i] - b[i];
    d2 += d * d;
    a2 += (double)a[i] * a[i];
  }
  *sum_d2 += d2;
  *sum_a2 += a2;
  return a2 > 0 ? sqrt(d2 / a2) : (d2 > 0 ? INFINITY : 0.0);
}

int main(int argc, char **argv) {
  double tol = -1.0; /* < 0: bit for bit */
  if (argc == 5 && strcmp(argv[1], "--rel-tol") == 0) {
    char *end = NULL;
    tol = strtod(argv[2], &end);
    if (!end || *end || !(tol >= 0)) {
      fprintf(stderr, "ckpt_params_equal: --rel-tol wants a number >= 0, not '%s'\n", argv[2]);
      return 2;
    }
    argv += 2;
    argc -= 2;
  }
  if (argc != 3) {
    fprintf(stderr, "usage: ckpt_params_equal [--rel-tol X] A.ckpt B.ckpt\n");
    return 2;
  }
  double sum_d2 = 0.0, sum_a2 = 0.0, worst = 0.0;
  const char *worst_name = "";
  ds_err err = {{0}};
  ds_ckpt_reader *ra = NULL, *rb = NULL;
  ds_ckpt_entry *ea = NULL, *eb = NULL;
  float *va = NULL, *vb = NULL;
  int na = 0, nb = 0, rc = 2;
  if (ds_ckpt_open(&ra, argv[1], NULL, -1, &err) || ds_ckpt_open(&rb, argv[2], NULL, -1, &err) ||
      ds_ckpt_list(ra, "/params", &ea, &na, &err) || ds_ckpt_list(rb, "/params", &eb, &nb, &err)) {
    fprintf(stderr, "ckpt_params_equal: %s\n", err.msg);
    goto done;
  }
  if (na == 0) {
    fprintf(stderr, "ckpt_params_equal: %s has no /params tensors\n", argv[1]);
    goto done;
  }
  if (na != nb) {
    printf("%s has %d parameter tensors, %s has %d\n", argv[1], na, argv[2], nb);
    rc = 1;
    goto done;
  }
  int differ = 0;
  for (int i = 0; i < na; i++) {
    /* ds_ckpt_list sorts by name, so equal sets line up index by index. */
    if (strcmp(ea[i].name, eb[i].name) != 0 || !same_shape(&ea[i], &eb[i])) {
      printf("tensor %d: %s (%s, rank %d) vs %s (%s, rank %d)\n", i, ea[i].name, ds_ckpt_dtype_name(ea[i].dtype),
             ea[i].ndim, eb[i].name, ds_ckpt_dtype_name(eb[i].dtype), eb[i].ndim);
      differ = 1;
      continue;
    }
    if (ea[i].dtype != DS_CKPT_F32) {
      fprintf(stderr, "ckpt_params_equal: %s: %s is %s, expected float32\n", argv[1], ea[i].name,
              ds_ckpt_dtype_name(ea[i].dtype));
      goto done;
    }
    const size_t n = numel(&ea[i]);
    float *ta = realloc(va, n * sizeof(float) + 1), *tb = ta ? realloc(vb, n * sizeof(float) + 1) : NULL;
    if (ta) va = ta;
    if (tb) vb = tb;
    if (!ta || !tb) {
      fprintf(stderr, "ckpt_params_equal: out of memory for %s\n", ea[i].name);
      goto done;
    }
    if (ds_ckpt_read_f32(ra, ea[i].name, ea[i].ndim, ea[i].shape, va, &err) ||
        ds_ckpt_read_f32(rb, eb[i].name, eb[i].ndim, eb[i].shape, vb, &err)) {
      fprintf(stderr, "ckpt_params_equal: %s\n", err.msg);
      goto done;
    }
    if (tol < 0) {
      differ |= compare_tensor(ea[i].name, va, vb, n);
      continue;
    }
    const double r = rel_l2(va, vb, n, &sum_d2, &sum_a2);
    if (r > worst || !worst_name[0]) {
      worst = r;
      worst_name = ea[i].name;
    }
    if (r > 100 * tol) {
      printf("%s: relative L2 difference %.3g > %g\n", ea[i].name, r, 100 * tol);
      differ = 1;
    }
  }
  if (tol >= 0) {
    const double overall = sum_a2 > 0 ? sqrt(sum_d2 / sum_a2) : 0.0;
    printf("%d parameter tensors: relative L2 difference %.3g overall (tolerance %g), worst tensor %s %.3g\n", na,
           overall, tol, worst_name, worst);
    differ |= !(overall <= tol);
  } else if (!differ) {
    printf("%d parameter tensors identical\n", na);
  }
  rc = differ;
done:
  free(va);
  free(vb);
  free(ea);
  free(eb);
  ds_ckpt_close(ra);
  ds_ckpt_close(rb);
  return rc;
}
