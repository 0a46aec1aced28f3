#include "train/optimizer.h"

#include <math.h>

/* Below this many elements a parallel region costs more than it saves. */
#define DS_OMP_MIN 16384
/* The norm is split into this many fixed slices whatever the thread count, and the slice sums
 * are added in order, so the rounding never depends on how the work was scheduled. */
#define DS_NORM_CHUNKS 64

ds_adamw_params ds_adamw_default_params(void) {
  ds_adamw_params hp = {.lr = 1e-3, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8,
                        .weight_decay = 0.01};
  return hp;
}

void ds_adamw_step(float *p, const float *g, float *m, float *v, size_t n,
                   const ds_adamw_params *hp, long t) {
  const double b1 = hp->beta1, b2 = hp->beta2, eps = hp->eps;
  const double decay = 1.0 - hp->lr * hp->weight_decay;
  const double step_size = hp->lr / (1.0 - pow(b1, (double)t));
  const double bc2_sqrt = sqrt(1.0 - pow(b2, (double)t));
  /* each element is independent, so the update is identical at any thread count */
#pragma omp parallel for schedule(static) if (n >= DS_OMP_MIN)
  for (size_t i = 0; i < n; i++) {
    double mi = b1 * m[i] + (1.0 - b1) * g[i];
    double vi = b2 * v[i] + (1.0 - b2) * (double)g[i] * g[i];
    double pi = p[i] * decay;
    pi -= step_size * mi / (sqrt(vi) / bc2_sqrt + eps);
    m[i] = (float)mi;
    v[i] = (float)vi;
    p[i] = (float)pi;
  }
}

double ds_grad_norm(const float *g, size_t n) {
  double part[DS_NORM_CHUNKS];
  size_t chunk = (n + DS_NORM_CHUNKS - 1) / DS_NORM_CHUNKS;
#pragma omp parallel for schedule(static) if (n >= DS_OMP_MIN)
  for (int c = 0; c < DS_NORM_CHUNKS; c++) {
    size_t lo = (size_t)c * chunk, hi = lo + chunk < n ? lo + chunk : n;
    double s = 0.0;
    for (size_t i = lo; i < hi; i++) s += (double)g[i] * g[i];
    part[c] = s;
  }
  double total = 0.0;
  for (int c = 0; c < DS_NORM_CHUNKS; c++) total += part[c];
  return sqrt(total);
}

double ds_grad_clip(float *g, size_t n, double max_norm) {
  double norm = ds_grad_norm(g, n);
  if (max_norm <= 0.0 || !isfinite(norm)) return norm;
  double coef = max_norm / (norm + 1e-6);
  if (coef >= 1.0) return norm;
  const float scale = (float)coef;
#pragma omp parallel for schedule(static) if (n >= DS_OMP_MIN)
  for (size_t i = 0; i < n; i++) g[i] *= scale;
  return norm;
}
