/* AdamW against torch and against an independent double-precision reference; gradient clipping;
 * bit-identical results at 1 and 2 OpenMP threads. */
#include <omp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tests/check.h"
#include "train/optimizer.h"

static float rnd(uint64_t *s, float a) {
  *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
  return a * (2.0f * (float)((*s >> 40) & 0xFFFFFF) / (float)0xFFFFFF - 1.0f);
}

/* Values printed by torch 1.13 (Debian python3-torch) for
 *   p = torch.tensor([0.5, -1.0, 2.0, 0.0, -0.25]); opt = torch.optim.AdamW([p], lr=1e-2,
 *   betas=(0.9, 0.999), eps=1e-8, weight_decay=0.1); for g in GRADS: p.grad = g; opt.step()
 * with p, exp_avg and exp_avg_sq printed after each step as %.9g (float32). */
static const float TORCH_GRADS[3][5] = {{0.1f, -0.2f, 0.3f, 1e-4f, -2.0f},
                                        {0.05f, 0.4f, -0.3f, 0.0f, -1.0f},
                                        {-0.2f, 0.1f, 0.25f, 3.0f, 0.5f}};
static const double TORCH_P[3][5] = {
    {0.489500016, -0.989000022, 1.98800004, -0.00999899954, -0.239749998},
    {0.479688704, -0.991672099, 1.98653841, -0.0166886356, -0.230188459},
    {0.481272608, -0.994836986, 1.98165751, -0.0230602548, -0.224321663}};
static const double TORCH_M[3][5] = {
    {0.0100000007, -0.0200000014, 0.0300000012, 9.99999975e-06, -0.200000003},
    {0.0140000004, 0.0219999999, -0.00300000096, 8.99999941e-06, -0.280000001},
    {-0.00740000047, 0.0297999997, 0.0222999994, 0.300008118, -0.202000007}};
static const double TORCH_V[3][5] = {
    {1.00000007e-05, 4.00000026e-05, 9.00000086e-05, 9.99999996e-12, 0.00400000019},
    {1.24900007e-05, 0.000199960006, 0.000179910014, 9.99000015e-12, 0.00499600032},
    {5.24775132e-05, 0.000209760052, 0.000242230104, 0.00900000054, 0.00524100428}};

static void test_adamw_torch(void) {
  float p[5] = {0.5f, -1.0f, 2.0f, 0.0f, -0.25f}, m[5] = {0}, v[5] = {0};
  ds_adamw_params hp = ds_adamw_default_params();
  hp.lr = 1e-2;
  hp.weight_decay = 0.1;
  for (int s = 0; s < 3; s++) {
    ds_adamw_step(p, TORCH_GRADS[s], m, v, 5, &hp, s + 1);
    /* torch rounds every intermediate to float32; we round once, so allow a few ulp */
    for (int i = 0; i < 5; i++) {
      CHECK_CLOSE(p[i], TORCH_P[s][i], 1e-7, 1e-6);
      CHECK_CLOSE(m[i], TORCH_M[s][i], 1e-12, 1e-6);
      CHECK_CLOSE(v[i], TORCH_V[s][i], 1e-15, 1e-6);
    }
  }
}

/* The update of torch.optim.AdamW (single-tensor path) written out in double. */
static void ref_adamw(double *p, const double *g, double *m, double *v, int n, double lr,
                      double b1, double b2, double eps, double wd, int t) {
  double bc1 = 1.0 - pow(b1, t), bc2 = 1.0 - pow(b2, t);
  for (int i = 0; i < n; i++) {
    p[i] *= 1.0 - lr * wd;
    m[i] = b1 * m[i] + (1.0 - b1) * g[i];
    v[i] = b2 * v[i] + (1.0 - b2) * g[i] * g[i];
    double denom = sqrt(v[i]) / sqrt(bc2) + eps;
    p[i] -= (lr / bc1) * m[i] / denom;
  }
}

static void test_adamw_reference(void) {
  enum { N = 257 };
  uint64_t st = 11;
  float p[N], g[N], m[N] = {0}, v[N] = {0}, p0;
  double pr[N], gr[N], mr[N] = {0}, vr[N] = {0};
  for (int i = 0; i < N; i++) pr[i] = p[i] = rnd(&st, 1.0f);
  p0 = p[0];
  ds_adamw_params hp = ds_adamw_default_params();
  CHECK(hp.lr == 1e-3 && hp.beta1 == 0.9 && hp.beta2 == 0.999 && hp.eps == 1e-8);
  CHECK(hp.weight_decay == 0.01);
  hp.lr = 3e-3;
  hp.weight_decay = 0.05;
  for (int t = 1; t <= 10; t++) {
    for (int i = 0; i < N; i++) gr[i] = g[i] = rnd(&st, 0.5f) * (float)(i % 7); /* some exact 0 */
    ds_adamw_step(p, g, m, v, N, &hp, t);
    ref_adamw(pr, gr, mr, vr, N, 3e-3, 0.9, 0.999, 1e-8, 0.05, t);
  }
  /* The step runs in float, as torch's does (test_adamw_torch matches torch itself to 1e-6): float rounding of
   * each product is the difference from the double reference, ~3e-8 per step on m's terms of up to 0.3. */
  for (int i = 0; i < N; i++) {
    CHECK_CLOSE(p[i], pr[i], 1e-6, 1e-6);
    CHECK_CLOSE(m[i], mr[i], 2e-7, 1e-6); /* m cancels to small values: absolute */
    CHECK_CLOSE(v[i], vr[i], 1e-12, 1e-6);
  }
  /* element 0 always has a zero gradient, so it only decays: p0 (1 - lr wd)^10 */
  CHECK_CLOSE(p[0], p0 * pow(1.0 - 3e-3 * 0.05, 10), 0, 1e-6);
  CHECK(m[0] == 0.0f && v[0] == 0.0f);
}

static void test_threads(void) {
  const size_t n = 200003; /* above the size where the loops go parallel, not a multiple of 64 */
  float *buf = malloc(sizeof(float) * n * 10);
  float *g = buf, *p1 = g + n, *m1 = p1 + n, *v1 = m1 + n, *p2 = v1 + n, *m2 = p2 + n,
        *v2 = m2 + n, *c1 = v2 + n, *c2 = c1 + n;
  uint64_t st = 7;
  for (size_t i = 0; i < n; i++) {
    g[i] = rnd(&st, 1e-2f);
    p1[i] = p2[i] = rnd(&st, 1.0f);
  }
  memset(m1, 0, sizeof(float) * n * 2);
  memset(m2, 0, sizeof(float) * n * 2);
  ds_adamw_params hp = ds_adamw_default_params();
  double norm[2];
  for (int run = 0; run < 2; run++) {
    omp_set_num_threads(run + 1);
    float *p = run ? p2 : p1, *m = run ? m2 : m1, *v = run ? v2 : v1, *c = run ? c2 : c1;
    for (int t = 1; t <= 3; t++) ds_adamw_step(p, g, m, v, n, &hp, t);
    memcpy(c, g, sizeof(float) * n);
    norm[run] = ds_grad_clip(c, n, 0.5);
  }
  CHECK(memcmp(p1, p2, sizeof(float) * n) == 0);
  CHECK(memcmp(m1, m2, sizeof(float) * n) == 0);
  CHECK(memcmp(v1, v2, sizeof(float) * n) == 0);
  CHECK(memcmp(c1, c2, sizeof(float) * n) == 0);
  CHECK(memcmp(&norm[0], &norm[1], sizeof(double)) == 0);
  double ref = 0.0;
  for (size_t i = 0; i < n; i++) ref += (double)g[i] * g[i];
  CHECK_CLOSE(norm[0], sqrt(ref), 0, 1e-12);
  CHECK_CLOSE(ds_grad_norm(c1, n), 0.5, 0, 1e-6);
  free(buf);
}

static void test_clip(void) {
  float g[2] = {3, 4};
  CHECK(ds_grad_clip(g, 2, 0.0) == 5.0); /* off: measure only */
  CHECK(g[0] == 3.0f && g[1] == 4.0f);
  CHECK(ds_grad_clip(g, 2, 10.0) == 5.0); /* below the limit: untouched */
  CHECK(g[0] == 3.0f && g[1] == 4.0f);
  CHECK(ds_grad_clip(g, 2, 1.0) == 5.0);
  CHECK_CLOSE(g[0], 0.6 * 5.0 / (5.0 + 1e-6), 0, 1e-7); /* torch's max_norm / (norm + 1e-6) */
  CHECK_CLOSE(g[1], 0.8 * 5.0 / (5.0 + 1e-6), 0, 1e-7);
  CHECK_CLOSE(ds_grad_norm(g, 2), 1.0, 0, 1e-6);
  float bad[3] = {1, INFINITY, 2};
  CHECK(isinf(ds_grad_clip(bad, 3, 1.0)));
  CHECK(bad[0] == 1.0f && bad[2] == 2.0f);
  CHECK(ds_grad_norm(g, 0) == 0.0);
}

/* Clipping folded into the step (what the trainer does) gives the same bits as clipping g in place first. */
static void test_clip_folded_into_step(void) {
  enum { N = 20011 };
  static float g[N], gc[N], p1[N], m1[N], v1[N], p2[N], m2[N], v2[N];
  uint64_t st = 5;
  for (int i = 0; i < N; i++) {
    p1[i] = p2[i] = rnd(&st, 1.0f);
    m1[i] = m2[i] = rnd(&st, 1e-2f);
    v1[i] = v2[i] = fabsf(rnd(&st, 1e-4f));
  }
  ds_adamw_params hp = ds_adamw_default_params();
  for (int t = 1; t <= 3; t++) {
    for (int i = 0; i < N; i++) gc[i] = g[i] = rnd(&st, 0.1f);
    float scale;
    const double n1 = ds_grad_clip_scale(g, N, 1.0, &scale), n2 = ds_grad_clip(gc, N, 1.0);
    CHECK(n1 == n2 && scale < 1.0f); /* norm ~ 0.1 sqrt(N / 3) > 1: clipping active */
    ds_adamw_step_scaled(p1, g, m1, v1, N, &hp, t, scale);
    ds_adamw_step(p2, gc, m2, v2, N, &hp, t);
  }
  CHECK(memcmp(p1, p2, sizeof p1) == 0 && memcmp(m1, m2, sizeof m1) == 0 && memcmp(v1, v2, sizeof v1) == 0);
  float one;
  ds_grad_clip_scale(g, N, 1e9, &one);
  CHECK(one == 1.0f);
}

int main(void) {
  test_adamw_torch();
  test_adamw_reference();
  test_threads();
  test_clip();
  test_clip_folded_into_step();
  return check_report();
}
