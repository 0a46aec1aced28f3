#include "train/optimizer.h"

#include <math.h>
#include <omp.h>

#include "common/common.h"

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

/* Elements [i0, i1) in float, in torch's order of operations (its CPU kernels run AdamW in float32 too):
 * a plain loop the compiler vectorises, square roots and divisions included. */
DS_VEC_CLONES static void adamw_range(float *restrict p, const float *restrict g, float *restrict m,
                                      float *restrict v, size_t i0, size_t i1, float grad_scale, float b1,
                                      float one_b1, float b2, float one_b2, float decay, float step_size,
                                      float bc2_sqrt, float eps) {
  for (size_t i = i0; i < i1; i++) {
    const float gi = g[i] * grad_scale; /* the same float product clipping would have stored */
    const float mi = m[i] * b1 + one_b1 * gi;
    const float vi = v[i] * b2 + one_b2 * gi * gi;
    const float denom = sqrtf(vi) / bc2_sqrt + eps;
    m[i] = mi;
    v[i] = vi;
    p[i] = p[i] * decay - step_size * mi / denom;
  }
}

void ds_adamw_step(float *p, const float *g, float *m, float *v, size_t n,
                   const ds_adamw_params *hp, long t) {
  ds_adamw_step_scaled(p, g, m, v, n, hp, t, 1.0f);
}

void ds_adamw_step_scaled(float *p, const float *g, float *m, float *v, size_t n, const ds_adamw_params *hp, long t,
                          float grad_scale) {
  const float decay = (float)(1.0 - hp->lr * hp->weight_decay);
  const float step_size = (float)(hp->lr / (1.0 - pow(hp->beta1, (double)t)));
  const float bc2_sqrt = (float)sqrt(1.0 - pow(hp->beta2, (double)t));
  /* each element is independent, so the update is identical at any thread count */
#pragma omp parallel if (n >= DS_OMP_MIN)
  {
    const int nt = omp_get_num_threads(), th = omp_get_thread_num();
    /* 1 - beta in double, then rounded once, as torch passes it (1.0f - 0.999f is 1.3e-5 off) */
    adamw_range(p, g, m, v, n * th / nt, n * (th + 1) / nt, grad_scale, (float)hp->beta1, (float)(1.0 - hp->beta1),
                (float)hp->beta2, (float)(1.0 - hp->beta2), decay, step_size, bc2_sqrt, (float)hp->eps);
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

double ds_grad_clip_scale(const float *g, size_t n, double max_norm, float *scale) {
  const double norm = ds_grad_norm(g, n);
  *scale = 1.0f;
  if (max_norm <= 0.0 || !isfinite(norm)) return norm;
  const double coef = max_norm / (norm + 1e-6);
  if (coef < 1.0) *scale = (float)coef;
  return norm;
}

double ds_grad_clip(float *g, size_t n, double max_norm) {
  float scale;
  const double norm = ds_grad_clip_scale(g, n, max_norm, &scale);
  if (scale == 1.0f) return norm;
#pragma omp parallel for schedule(static) if (n >= DS_OMP_MIN)
  for (size_t i = 0; i < n; i++) g[i] *= scale;
  return norm;
}
