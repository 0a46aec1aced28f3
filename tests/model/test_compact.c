/* Compaction cuts masked heads, FFN neurons and unused embedding rows out for real: the compact model
 * must give the masked model's outputs (max abs difference <= 1e-5), have exactly the parameters the
 * masked model keeps, and carry side arrays (per-channel scales) with their channels. */
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../check.h"
#include "model/model.h"

enum { B = 3, T = 7, V = 50 };

static ds_student_shape small_shape(void) {
  ds_student_shape s = {.vocab = V, .max_len = 8, .dim = 16, .n_layers = 3, .head_dim = 4, .out_dim = 12,
                        .n_classes = 5, .pooling = DS_POOL_MEAN};
  const int heads[3] = {4, 4, 2}, ffn[3] = {24, 20, 8}; /* per-layer counts differ, as after an earlier cut */
  for (int l = 0; l < 3; l++) {
    s.heads[l] = heads[l];
    s.ffn[l] = ffn[l];
  }
  return s;
}

/* Large random parameters (std 0.3) so every unit matters to the output; masked units keep theirs,
 * since the masks act on activations: compaction must not depend on anyone having zeroed them. */
static void random_params(ds_student *m, unsigned long seed) {
  gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
  gsl_rng_set(rng, seed);
  for (size_t i = 0; i < m->table.n_params; i++) m->params[i] = (float)gsl_ran_gaussian(rng, 0.3);
  gsl_rng_free(rng);
}

static void batch(int32_t *ids, uint8_t *mask) {
  for (int b = 0; b < B; b++)
    for (int t = 0; t < T; t++) {
      ids[b * T + t] = (b * 17 + t * 5 + 3) % V; /* hits dropped ids too */
      mask[b * T + t] = t < T - b;
    }
}

static double max_diff(const float *a, const float *b, long n) {
  double d = 0;
  for (long i = 0; i < n; i++) d = fmax(d, fabs((double)a[i] - b[i]));
  return d;
}

/* Runs masked -> compact for one combination of pruned units and checks outputs and sizes. */
static void check_case(const char *name, int heads, int ffn, int vocab, ds_pooling pooling) {
  ds_student_shape s = small_shape();
  s.pooling = pooling;
  ds_student m;
  ds_err err;
  CHECK(ds_student_init(&m, &s, &err) == 0);
  random_params(&m, 7);
  int32_t ids[B * T];
  uint8_t mask[B * T];
  batch(ids, mask);
  const int E = ds_student_emb_dim(&s), K = s.n_classes;
  float dense[B * 12];
  CHECK(ds_student_forward(&m, ids, mask, B, T, &err) == 0);
  memcpy(dense, m.a.emb, sizeof(float) * B * E);
  if (heads) { /* layer 0 loses heads 0 and 2, layer 2 head 1: different positions, one head left */
    m.head_mask[0][0] = m.head_mask[0][2] = 0.0f;
    m.head_mask[2][1] = 0.0f;
  }
  if (ffn)
    for (int l = 0; l < s.n_layers; l++)
      for (int f = 0; f < s.ffn[l]; f++)
        if ((f * 7 + l) % 3 == 0) m.ffn_mask[l][f] = 0.0f;
  if (vocab) { /* ids 10..29 dropped: they read row 1 (the "unk"), rows 10..29 become unused */
    CHECK(ds_vocab_map_init(&m.vocab_map, V, &err) == 0);
    m.vocab_map->unk_id = 1;
    for (int i = 10; i < 30; i++) m.vocab_map->row[i] = 1;
  }
  CHECK(ds_student_forward(&m, ids, mask, B, T, &err) == 0);
  /* The cut units mattered: otherwise equal outputs would prove nothing. */
  if (heads || ffn || vocab) CHECK_MSG(max_diff(dense, m.a.emb, (long)B * E) > 1e-2, "%s: masks change nothing", name);
  float emb0[B * 12], logits0[B * 5];
  memcpy(emb0, m.a.emb, sizeof(float) * B * E);
  memcpy(logits0, m.a.logits, sizeof(float) * B * K);
  const size_t live = ds_compact_live_params(&m), full = m.table.n_params;

  /* An Adam-moment-like buffer holding each parameter's own index: after compaction it must hold
   * exactly the indices of the parameters that compaction kept, in the same places. */
  float *state = malloc(sizeof(float) * full);
  for (size_t i = 0; i < full; i++) state[i] = (float)i;
  float *before = malloc(sizeof(float) * full);
  memcpy(before, m.params, sizeof(float) * full);

  ds_compact_plan p;
  CHECK(ds_compact_plan_make(&p, &m, &err) == 0);
  CHECK(ds_compact_buffer(&p, &state, &err) == 0);
  /* Per-channel side arrays, e.g. weight scales: channel i holds i before the cut. */
  float qkv_scale[3 * 16], qkv_cut[3 * 16], fc1_scale[24], fc1_cut[24], emb_scale[V], emb_cut[V];
  for (int i = 0; i < 3 * 16; i++) qkv_scale[i] = (float)i;
  for (int i = 0; i < 24; i++) fc1_scale[i] = (float)i;
  for (int i = 0; i < V; i++) emb_scale[i] = (float)i;
  ds_compact_qkv_rows(&p, 0, qkv_scale, qkv_cut, 1);
  ds_compact_ffn_rows(&p, 0, fc1_scale, fc1_cut, 1);
  ds_compact_vocab_rows(&p, emb_scale, emb_cut, 1);
  CHECK(ds_compact_student(&p, &m, &err) == 0);

  CHECK_MSG(m.table.n_params == live, "%s: %zu params after compaction, %zu live before", name, m.table.n_params,
            live);
  if (heads || ffn || vocab) CHECK_MSG(live < full, "%s: nothing was cut", name);
  CHECK(m.shape.heads[0] == (heads ? 2 : 4) && m.shape.heads[2] == (heads ? 1 : 2));
  CHECK(m.shape.vocab == (vocab ? V - 20 : V));
  for (size_t i = 0; i < m.table.n_params; i++)
    CHECK_MSG(m.params[i] == before[(size_t)state[i]], "%s: parameter %zu is not the one kept", name, i);
  if (heads) { /* layer 0 keeps heads 1, 3: Q rows 4..7, 12..15, then K from 16 */
    CHECK(qkv_cut[0] == 4 && qkv_cut[4] == 12 && qkv_cut[8] == 20 && qkv_cut[23] == 47);
  }
  if (ffn) CHECK(fc1_cut[0] == 1 && fc1_cut[1] == 2 && fc1_cut[2] == 4); /* 0, 3 dropped */
  if (vocab) CHECK(emb_cut[9] == 9 && emb_cut[10] == 30);

  CHECK(ds_student_forward(&m, ids, mask, B, T, &err) == 0);
  const double de = max_diff(emb0, m.a.emb, (long)B * E), dl = max_diff(logits0, m.a.logits, (long)B * K);
  printf("%-28s params %zu -> %zu  max |diff| emb %.2e logits %.2e\n", name, full, m.table.n_params, de, dl);
  CHECK_MSG(de <= 1e-5 && dl <= 1e-5, "%s: compact differs from masked by %g / %g", name, de, dl);

  /* A compact model compacts to itself. */
  const size_t n1 = m.table.n_params;
  CHECK(ds_student_compact(&m, &err) == 0);
  CHECK(m.table.n_params == n1);
  ds_compact_plan_free(&p);
  free(state);
  free(before);
  ds_student_free(&m);
}

static void check_refusals(void) {
  ds_student_shape s = small_shape();
  ds_student m;
  ds_err err;
  CHECK(ds_student_init(&m, &s, &err) == 0);
  for (int h = 0; h < s.heads[1]; h++) m.head_mask[1][h] = 0.0f;
  ds_compact_plan p;
  CHECK(ds_compact_plan_make(&p, &m, &err) == -1);
  CHECK(strstr(err.msg, "layer 1") != NULL);
  ds_student_free(&m);
  /* An id outside the teacher vocabulary is refused by the map, naming the id. */
  CHECK(ds_student_init(&m, &s, &err) == 0);
  CHECK(ds_vocab_map_init(&m.vocab_map, V, &err) == 0);
  int32_t ids[2] = {3, V};
  uint8_t mask[2] = {1, 1};
  CHECK(ds_student_forward(&m, ids, mask, 1, 2, &err) == -1);
  CHECK(strstr(err.msg, "50") != NULL);
  ds_student_free(&m);
}

int main(void) {
  check_case("heads", 1, 0, 0, DS_POOL_MEAN);
  check_case("ffn", 0, 1, 0, DS_POOL_MEAN);
  check_case("vocab", 0, 0, 1, DS_POOL_MEAN);
  check_case("heads+ffn+vocab", 1, 1, 1, DS_POOL_MEAN);
  check_case("heads+ffn+vocab cls", 1, 1, 1, DS_POOL_CLS);
  check_case("nothing pruned", 0, 0, 0, DS_POOL_MEAN);
  check_refusals();
  return check_report();
}
