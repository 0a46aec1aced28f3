/* The whole training computation against the PyTorch reference (tests/golden/golden_reference.py): student
 * forward, the combined SPEC [loss] (kd, ce, emb, sim terms and total), its gradients wrt logits and
 * embedding, and every parameter's gradient after backward, to 1e-4 relative. */
#include <stdlib.h>

#include "../check.h"
#include "../golden_fixture.h"
#include "train/losses.h"

static double scalar(golden_fixture *g, const char *name) {
  size_t n;
  double *v = golden_read_f64(g, name, &n);
  const double x = v[0];
  free(v);
  return x;
}

static void check_fixture(const char *file) {
  golden_fixture g;
  ds_student m;
  golden_forward(file, 0, &g, &m);
  const int E = ds_student_emb_dim(&g.shape), K = g.shape.n_classes;
  float *d_logits = malloc(sizeof(float) * g.B * K), *d_emb = malloc(sizeof(float) * g.B * E);
  ds_loss_terms terms;
  const double total = ds_loss_compute(&g.loss, g.B, K, E, m.a.logits, g.t_logits, g.labels, m.a.emb, g.t_emb,
                                       d_logits, d_emb, &terms);
  CHECK_CLOSE(total, scalar(&g, "/outputs/loss"), 1e-7, 1e-4);
  CHECK_CLOSE(terms.kd, scalar(&g, "/outputs/loss_kd"), 1e-7, 1e-4);
  CHECK_CLOSE(terms.ce, scalar(&g, "/outputs/loss_ce"), 1e-7, 1e-4);
  CHECK_CLOSE(terms.emb, scalar(&g, "/outputs/loss_emb"), 1e-7, 1e-4);
  CHECK_CLOSE(terms.sim, scalar(&g, "/outputs/loss_sim"), 1e-7, 1e-4);
  printf("%s: loss %.9f (reference %.9f)\n", file, total, scalar(&g, "/outputs/loss"));
  size_t n;
  double *want = golden_read_f64(&g, "/outputs/d_logits", &n);
  for (size_t i = 0; i < n; i++) CHECK_CLOSE(d_logits[i], want[i], 1e-6, 1e-4);
  free(want);
  want = golden_read_f64(&g, "/outputs/d_embedding", &n);
  for (size_t i = 0; i < n; i++) CHECK_CLOSE(d_emb[i], want[i], 1e-6, 1e-4);
  free(want);
  /* End to end: our loss gradients through our backward give PyTorch's parameter gradients. */
  ds_student_zero_grad(&m);
  ds_student_backward(&m, d_emb, d_logits);
  for (int i = 0; i < m.table.n_tensors; i++) {
    const ds_tensor_info *t = &m.table.tensors[i];
    char name[128];
    snprintf(name, sizeof name, "/grads/%s", t->name);
    double *gw = golden_read_f64(&g, name, &n);
    double diff, ref;
    golden_l2(m.grads + t->offset, gw, n, &diff, &ref);
    CHECK_MSG(diff <= 1e-4 * ref + 1e-9, "%s %s: relative L2 error %.3g", file, t->name, diff / (ref + 1e-300));
    free(gw);
  }
  free(d_logits);
  free(d_emb);
  ds_student_free(&m);
  golden_close(&g);
}

int main(void) {
  check_fixture("golden_small.h5");
  check_fixture("golden_cls_mse.h5");
  return check_report();
}
