/* Compaction with quantization-aware training on: a masked student in fake-quant mode (observers warmed
 * up, optionally with learned step sizes) and its compacted form must give the same outputs (max abs
 * difference <= 1e-5; the integer-exact simulation in fact gives identical ones), for pruned heads, FFN
 * neurons and vocabulary, and the per-row weight scales and learned step sizes must be cut with their
 * rows. As in training, the parameters of masked units are zero before the observers see anything. */
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tests/check.h"
#include "model/model.h"
#include "quant/qat/qat.h"

enum { V = 40, B = 4, T = 9 };

static void batch(gsl_rng *r, int32_t *ids, uint8_t *mask) {
  for (int b = 0; b < B; b++) {
    const int len = 3 + (int)gsl_rng_uniform_int(r, T - 2);
    for (int t = 0; t < T; t++) {
      ids[b * T + t] = t < len ? (int32_t)gsl_rng_uniform_int(r, V) : 0; /* dropped ids included */
      mask[b * T + t] = t < len;
    }
  }
}

static double max_diff(const float *a, const float *b, long n) {
  double d = 0;
  for (long i = 0; i < n; i++) d = fmax(d, fabs((double)a[i] - b[i]));
  return d;
}

static void check_case(const char *name, int heads, int ffn, int vocab, int learn) {
  ds_student_shape s = {.vocab = V, .max_len = T, .dim = 24, .n_layers = 2, .head_dim = 6, .out_dim = 10,
                        .n_classes = 4, .pooling = DS_POOL_MEAN};
  for (int l = 0; l < 2; l++) {
    s.heads[l] = 4;
    s.ffn[l] = 32;
  }
  ds_student m;
  ds_err err = {{0}};
  CHECK(ds_student_init(&m, &s, &err) == 0);
  gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
  gsl_rng_set(r, 5);
  for (size_t i = 0; i < m.table.n_params; i++) m.params[i] = (float)gsl_ran_gaussian(r, 0.3);
  if (heads) {
    m.head_mask[0][1] = m.head_mask[0][2] = 0.0f;
    m.head_mask[1][0] = 0.0f;
  }
  if (ffn)
    for (int l = 0; l < 2; l++)
      for (int f = 0; f < 32; f++)
        if ((f + l) % 3 == 1) m.ffn_mask[l][f] = 0.0f;
  if (vocab) { /* ids 20..34 dropped, reading row 1 */
    CHECK(ds_vocab_map_init(&m.vocab_map, V, &err) == 0);
    m.vocab_map->unk_id = 1;
    for (int i = 20; i < 35; i++) m.vocab_map->row[i] = 1;
  }
  ds_compact_zero_masked(&m, m.params);
  ds_quant_cfg qc = {.enabled = 1, .start_step = 2, .weight_bits = 8, .act_bits = 8, .observer = DS_OBS_EMA,
                     .ema_decay = 0.9, .freeze_step = -1, .learn_scales = learn};
  CHECK(ds_student_qat_attach(&m, &qc, &err) == 0);
  int32_t ids[B * T];
  uint8_t mask[B * T];
  for (long step = 0; step < 5; step++) { /* two float steps feeding observers, then fake-quant ones */
    batch(r, ids, mask);
    ds_qat_step_begin(m.qat, step);
    CHECK(ds_student_forward(&m, ids, mask, B, T, &err) == 0);
  }
  if (learn) { /* learned step sizes that no longer follow the weights: they must travel with their rows */
    CHECK(m.qat->lsq_ready);
    for (size_t i = 0; i < m.qat->n_lsq; i++) m.qat->lsq[i] += (float)gsl_ran_gaussian(r, 0.1);
  }
  ds_qat_set_step(m.qat, 5);
  batch(r, ids, mask);
  CHECK(ds_student_forward(&m, ids, mask, B, T, &err) == 0);
  CHECK(m.qat->mode == DS_QAT_FAKE);
  const int E = ds_student_emb_dim(&s), K = s.n_classes;
  float emb0[B * 10], logits0[B * 4];
  memcpy(emb0, m.a.emb, sizeof emb0);
  memcpy(logits0, m.a.logits, sizeof logits0);
  /* Per-row scales of layer 0's qkv rows before the cut (table tensor 4 = layers.0.attn.qkv.weight). */
  const ds_qat *q0 = m.qat;
  float qkv_scale[3 * 24];
  memcpy(qkv_scale, q0->wscale + q0->wrow[4], sizeof qkv_scale);
  float lsq_row0 = learn ? q0->lsq[q0->n_sites + q0->wrow[4]] : 0.0f;
  const size_t full = m.table.n_params, live = ds_compact_live_params(&m);

  CHECK_MSG(ds_student_compact(&m, &err) == 0, "%s", err.msg);
  CHECK(m.table.n_params == live && (live < full || !(heads || ffn || vocab)));
  CHECK(m.qat && m.qat->mode == DS_QAT_FAKE && m.qat->lsq_ready == learn);
  const ds_qat *q1 = m.qat;
  if (heads) { /* layer 0 keeps heads 0 and 3: rows 0..5 and 18..23 of Q, then K from row 24 */
    const float *sc = q1->wscale + q1->wrow[4];
    CHECK(sc[0] == qkv_scale[0] && sc[6] == qkv_scale[18] && sc[12] == qkv_scale[24] && sc[35] == qkv_scale[71]);
    if (learn) CHECK(q1->lsq[q1->n_sites + q1->wrow[4]] == lsq_row0);
  }
  ds_qat_set_step(m.qat, 5);
  CHECK_MSG(ds_student_forward(&m, ids, mask, B, T, &err) == 0, "%s", err.msg);
  const double de = max_diff(emb0, m.a.emb, (long)B * E), dl = max_diff(logits0, m.a.logits, (long)B * K);
  printf("QAT %-22s lsq %d: params %zu -> %zu  max |diff| emb %.2e logits %.2e\n", name, learn, full,
         m.table.n_params, de, dl);
  CHECK_MSG(de <= 1e-5 && dl <= 1e-5, "%s: compact differs from masked by %g / %g", name, de, dl);
  gsl_rng_free(r);
  ds_student_free(&m);
}

int main(void) {
  for (int learn = 0; learn <= 1; learn++) {
    check_case("heads", 1, 0, 0, learn);
    check_case("ffn", 0, 1, 0, learn);
    check_case("vocab", 0, 0, 1, learn);
    check_case("heads+ffn+vocab", 1, 1, 1, learn);
  }
  return check_report();
}
