/* The fast path (OpenBLAS sgemm, threaded loops) and the naive reference kernels compute the same model:
 * outputs and every parameter gradient agree to float rounding on a mid-sized student. */
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <stdlib.h>
#include <string.h>

#include "compare_students.h"

int main(void) {
  ds_student_shape s = {.vocab = 300, .max_len = 24, .dim = 64, .n_layers = 2, .head_dim = 16,
                        .heads = {4, 4}, .ffn = {128, 96}, .out_dim = 32, .n_classes = 7,
                        .pooling = DS_POOL_MEAN};
  const int B = 8, T = 20;
  ds_student fast, naive;
  ds_err err;
  CHECK(ds_student_init(&fast, &s, &err) == 0);
  CHECK(ds_student_init(&naive, &s, &err) == 0);
  ds_student_init_params(&fast, 7);
  memcpy(naive.params, fast.params, sizeof(float) * fast.table.n_params);
  naive.naive = 1;
  gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
  int32_t ids[B * T];
  uint8_t mask[B * T];
  for (int b = 0; b < B; b++)
    for (int t = 0; t < T; t++) {
      const int len = T - 2 * b;
      ids[b * T + t] = t < len ? (int32_t)gsl_rng_uniform_int(rng, s.vocab) : 0;
      mask[b * T + t] = t < len;
    }
  float d_emb[B * 32], d_logits[B * 7];
  for (int i = 0; i < B * 32; i++) d_emb[i] = (float)gsl_ran_gaussian(rng, 1.0);
  for (int i = 0; i < B * 7; i++) d_logits[i] = (float)gsl_ran_gaussian(rng, 1.0);
  CHECK(ds_student_forward(&fast, ids, mask, B, T, &err) == 0);
  CHECK(ds_student_forward(&naive, ids, mask, B, T, &err) == 0);
  const double e_emb = rel_l2(fast.a.emb, naive.a.emb, (size_t)B * 32);
  const double e_log = rel_l2(fast.a.logits, naive.a.logits, (size_t)B * 7);
  printf("embedding rel L2 %.3g, logits rel L2 %.3g\n", e_emb, e_log);
  CHECK(e_emb < 1e-5);
  CHECK(e_log < 1e-5);
  ds_student_backward(&fast, d_emb, d_logits);
  ds_student_backward(&naive, d_emb, d_logits);
  const double worst = check_grads_close(&fast, &naive, 1e-4, "fast vs naive");
  printf("worst gradient rel L2 %.3g\n", worst);
  gsl_rng_free(rng);
  ds_student_free(&fast);
  ds_student_free(&naive);
  return check_report();
}
