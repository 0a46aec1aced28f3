/* The C student against an independent PyTorch implementation (tests/golden/golden_reference.py):
 * pooled output, embedding and logits, then every parameter's gradient given the reference's loss
 * gradients, all to 1e-4 relative (plus a small absolute floor for values near zero). */
#include <stdlib.h>

#include "../check.h"
#include "../golden_fixture.h"

static double max_rel_err(const float *got, const double *want, size_t n, double floor_abs) {
  double worst = 0.0;
  for (size_t i = 0; i < n; i++) {
    const double e = fabs(got[i] - want[i]) / (fabs(want[i]) + floor_abs);
    if (e > worst) worst = e;
  }
  return worst;
}

static double worst_l2 = 0.0;

static void check_fixture(const char *file, int naive) {
  golden_fixture g;
  ds_student m;
  golden_forward(file, naive, &g, &m);
  const int E = ds_student_emb_dim(&g.shape), K = g.shape.n_classes, C = g.shape.dim;
  size_t n;
  double *want = golden_read_f64(&g, "/outputs/pooled", &n);
  CHECK(n == (size_t)g.B * C);
  double e = max_rel_err(m.a.pooled, want, n, 1e-3);
  CHECK_MSG(e < 1e-4, "%s pooled: max relative error %.3g", file, e);
  free(want);
  want = golden_read_f64(&g, "/outputs/embedding", &n);
  CHECK(n == (size_t)g.B * E);
  e = max_rel_err(m.a.emb, want, n, 1e-3);
  CHECK_MSG(e < 1e-4, "%s embedding: max relative error %.3g", file, e);
  free(want);
  want = golden_read_f64(&g, "/outputs/logits", &n);
  CHECK(n == (size_t)g.B * K);
  e = max_rel_err(m.a.logits, want, n, 1e-3);
  CHECK_MSG(e < 1e-4, "%s logits: max relative error %.3g", file, e);
  free(want);

  double *d_emb64 = golden_read_f64(&g, "/outputs/d_embedding", &n);
  float *d_emb = malloc(n * sizeof(float));
  for (size_t i = 0; i < n; i++) d_emb[i] = (float)d_emb64[i];
  double *d_log64 = golden_read_f64(&g, "/outputs/d_logits", &n);
  float *d_log = malloc(n * sizeof(float));
  for (size_t i = 0; i < n; i++) d_log[i] = (float)d_log64[i];
  ds_student_zero_grad(&m);
  ds_student_backward(&m, d_emb, d_log);
  for (int i = 0; i < m.table.n_tensors; i++) {
    const ds_tensor_info *t = &m.table.tensors[i];
    char name[128];
    snprintf(name, sizeof name, "/grads/%s", t->name);
    double *gw = golden_read_f64(&g, name, &n);
    CHECK(n == t->numel);
    /* The absolute floor is 1e-4 of the tensor's largest gradient: entries that are zero in exact
     * arithmetic (unused token rows) come out as float rounding noise. */
    double gmax = 0.0;
    for (size_t k = 0; k < n; k++) gmax = fmax(gmax, fabs(gw[k]));
    /* Element-wise: relative to the entry plus 1% of the tensor's largest gradient, because entries near zero
     * are sums with cancellation whose float32 rounding is relative to their terms, not to their result. */
    e = max_rel_err(m.grads + t->offset, gw, n, 1e-2 * gmax + 1e-7);
    CHECK_MSG(e < 1e-4, "%s %s gradient (naive=%d): max relative error %.3g", file, t->name, naive, e);
    /* Tensor-wise: the relative L2 error of the whole gradient. */
    double diff, ref;
    golden_l2(m.grads + t->offset, gw, n, &diff, &ref);
    CHECK_MSG(diff <= 1e-5 * ref + 1e-9, "%s %s gradient: relative L2 error %.3g", file, t->name,
              diff / (ref + 1e-300));
    worst_l2 = fmax(worst_l2, diff / (ref + 1e-300));
    free(gw);
  }
  free(d_emb64);
  free(d_emb);
  free(d_log64);
  free(d_log);
  ds_student_free(&m);
  golden_close(&g);
}

int main(void) {
  check_fixture("golden_small.h5", 0);
  check_fixture("golden_small.h5", 1);
  check_fixture("golden_cls_mse.h5", 0);
  check_fixture("golden_cls_mse.h5", 1);
  printf("worst relative L2 error of a parameter gradient: %.3g\n", worst_l2);
  return check_report();
}
