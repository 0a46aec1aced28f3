/* Dropping padding rows (kernels/kernels.h) changes no result: the packed fast path and the padded fast path
 * give the same embeddings, logits and parameter gradients, for mean and CLS pooling, with sequences that start
 * with padding and sequences that are padding only. Also checks the pack's bookkeeping on a small mask. */
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "compare_students.h"

static void test_bookkeeping(void) {
  const uint8_t mask[12] = {1, 1, 0, 0, /**/ 0, 1, 1, 0, /**/ 0, 0, 0, 0};
  ds_token_pack p = {0};
  ds_err err;
  CHECK(ds_token_pack_build(&p, mask, 3, 4, DS_PACK_VALID, 0, &err) == 0);
  CHECK(p.n_rows == 4);
  CHECK(p.seq_start[0] == 0 && p.seq_start[1] == 2 && p.seq_start[2] == 4 && p.seq_start[3] == 4);
  CHECK(p.row[0] == 0 && p.row[1] == 1 && p.row[2] == 5 && p.row[3] == 6);
  CHECK(p.score_start[1] == 4 && p.score_start[2] == 8 && ds_token_pack_scores(&p) == 8);
  /* CLS pooling keeps position 0 of every sequence, as a row no one attends to when it is padding. */
  CHECK(ds_token_pack_build(&p, mask, 3, 4, DS_PACK_VALID, 1, &err) == 0);
  CHECK(p.n_rows == 6);
  CHECK(p.row[2] == 4 && p.key_ok[2] == 0 && p.row[5] == 8 && p.key_ok[5] == 0);
  CHECK(ds_token_pack_scores(&p) == 4 + 9 + 1);
  CHECK(ds_token_pack_build(&p, mask, 3, 4, DS_PACK_PADDED, 1, &err) == 0);
  CHECK(p.n_rows == 12 && ds_token_pack_scores(&p) == 48 && p.key_ok[4] == 0 && p.key_ok[5] == 1);
  ds_token_pack_free(&p);
}

static void test_model(ds_pooling pooling, int threads) {
  omp_set_num_threads(threads);
  ds_student_shape s = {.vocab = 300, .max_len = 24, .dim = 64, .n_layers = 2, .head_dim = 16,
                        .heads = {4, 3}, .ffn = {128, 96}, .out_dim = 32, .n_classes = 7, .pooling = pooling};
  enum { B = 9, T = 24 };
  ds_student packed, padded;
  ds_err err;
  CHECK(ds_student_init(&packed, &s, &err) == 0);
  CHECK(ds_student_init(&padded, &s, &err) == 0);
  ds_student_init_params(&packed, 3);
  memcpy(padded.params, packed.params, sizeof(float) * packed.table.n_params);
  padded.keep_padding = 1;
  gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
  int32_t ids[B * T];
  uint8_t mask[B * T];
  for (int b = 0; b < B; b++) {
    /* Random lengths; sequence 3 starts with two padding positions, sequence 5 is padding only. */
    const int len = b == 5 ? 0 : 1 + (int)gsl_rng_uniform_int(rng, T);
    for (int t = 0; t < T; t++) {
      mask[b * T + t] = t < len && !(b == 3 && t < 2);
      ids[b * T + t] = mask[b * T + t] ? (int32_t)gsl_rng_uniform_int(rng, s.vocab) : 0;
    }
  }
  float d_emb[B * 32], d_logits[B * 7];
  for (int i = 0; i < B * 32; i++) d_emb[i] = (float)gsl_ran_gaussian(rng, 1.0);
  for (int i = 0; i < B * 7; i++) d_logits[i] = (float)gsl_ran_gaussian(rng, 1.0);
  CHECK(ds_student_forward(&packed, ids, mask, B, T, &err) == 0);
  CHECK(ds_student_forward(&padded, ids, mask, B, T, &err) == 0);
  CHECK(packed.pack.n_rows < B * T && padded.pack.n_rows == B * T);
  const double e_emb = rel_l2(packed.a.emb, padded.a.emb, (size_t)B * 32);
  const double e_log = rel_l2(packed.a.logits, padded.a.logits, (size_t)B * 7);
  ds_student_zero_grad(&packed);
  ds_student_zero_grad(&padded);
  ds_student_backward(&packed, d_emb, d_logits);
  ds_student_backward(&padded, d_emb, d_logits);
  const double worst = check_grads_close(&packed, &padded, 1e-5, "packed vs padded");
  printf("%s pooling, %d threads, %d of %d rows: embedding rel L2 %.3g, logits %.3g, worst gradient %.3g\n",
         pooling == DS_POOL_CLS ? "cls" : "mean", threads, packed.pack.n_rows, B * T, e_emb, e_log, worst);
  CHECK(e_emb < 1e-6);
  CHECK(e_log < 1e-6);
  gsl_rng_free(rng);
  ds_student_free(&packed);
  ds_student_free(&padded);
}

/* An empty batch on a model that has never run: no rows, no crash (the pack's arrays exist even then). */
static void test_empty_batch(void) {
  ds_student_shape s = {.vocab = 10, .max_len = 4, .dim = 8, .n_layers = 1, .head_dim = 4, .heads = {2},
                        .ffn = {16}, .out_dim = 0, .n_classes = 3, .pooling = DS_POOL_MEAN};
  ds_student m;
  ds_err err;
  CHECK(ds_student_init(&m, &s, &err) == 0);
  const int32_t ids[1] = {0};
  const uint8_t mask[1] = {0};
  CHECK(ds_student_forward(&m, ids, mask, 0, 4, &err) == 0);
  CHECK(m.pack.n_rows == 0 && m.pack.seq_start[0] == 0);
  ds_student_free(&m);
}

int main(void) {
  test_bookkeeping();
  test_empty_batch();
  for (int threads = 1; threads <= 2; threads++) {
    test_model(DS_POOL_MEAN, threads);
    test_model(DS_POOL_CLS, threads);
  }
  return check_report();
}
