/* Unit importance (taylor and magnitude) on hand-set weights and gradients, the ranking of a pruning
 * event, and zeroing of masked units' parameters: every number below is worked out by hand. */
#include <math.h>
#include <string.h>

#include "../check.h"
#include "model/model.h"
#include "train/prune.h"

enum { C = 4, HD = 2, H = 2, F = 3 };
#define HEAD_PARAMS (3 * HD * C + 3 * HD + C * HD) /* Q, K, V rows with biases, output-projection columns */
#define FFN_PARAMS (C + 1 + C)                     /* fc1 row and bias, fc2 column */

/* Sets every parameter head h (or neuron f) owns, in the buffer viewed by v, to x. */
static void set_head(ds_layer_params *v, int h, float x) {
  for (int part = 0; part < 3; part++)
    for (int d = 0; d < HD; d++) {
      const int r = part * H * HD + h * HD + d;
      for (int c = 0; c < C; c++) v->qkv_w[r * C + c] = x;
      v->qkv_b[r] = x;
    }
  for (int c = 0; c < C; c++)
    for (int d = 0; d < HD; d++) v->attn_out_w[c * H * HD + h * HD + d] = x;
}

static void set_ffn(ds_layer_params *v, int f, float x) {
  for (int c = 0; c < C; c++) {
    v->fc1_w[f * C + c] = x;
    v->fc2_w[c * F + f] = x;
  }
  v->fc1_b[f] = x;
}

int main(void) {
  ds_student_shape s = {.vocab = 10, .max_len = 4, .dim = C, .n_layers = 1, .head_dim = HD, .pooling = DS_POOL_MEAN};
  s.heads[0] = H;
  s.ffn[0] = F;
  ds_student m;
  ds_err err;
  CHECK(ds_student_init(&m, &s, &err) == 0);
  ds_layer_params *P = &m.p.layer[0], *G = &m.g.layer[0];
  set_head(P, 0, 1.0f);
  set_head(P, 1, -2.0f);
  for (int f = 0; f < F; f++) set_ffn(P, f, (float)(F - f)); /* 3, 2, 1 */

  /* magnitude: L2 norm of the unit's parameters */
  float hs[H], fs[F];
  ds_prune_state ps;
  CHECK(ds_prune_state_init(&ps, &s, &err) == 0);
  ds_prune_importance(&ps, &m, DS_CRIT_MAGNITUDE, 0, hs, fs);
  CHECK_CLOSE(hs[0], sqrt(HEAD_PARAMS), 1e-5, 1e-6);
  CHECK_CLOSE(hs[1], 2 * sqrt(HEAD_PARAMS), 1e-5, 1e-6);
  for (int f = 0; f < F; f++) CHECK_CLOSE(fs[f], (F - f) * sqrt(FFN_PARAMS), 1e-5, 1e-6);

  /* taylor: |sum grad * weight| per backward pass, summed over passes */
  set_head(G, 0, 0.1f);
  set_head(G, 1, 0.1f);
  for (int f = 0; f < F; f++) set_ffn(G, f, f == 1 ? -1.0f : 0.5f);
  ds_prune_accumulate(&ps, &m);
  ds_prune_accumulate(&ps, &m);
  ds_prune_importance(&ps, &m, DS_CRIT_TAYLOR, 0, hs, fs);
  CHECK_CLOSE(hs[0], 2 * 0.1 * HEAD_PARAMS, 1e-4, 1e-6);       /* 7.6 */
  CHECK_CLOSE(hs[1], 2 * 0.2 * HEAD_PARAMS, 1e-4, 1e-6);       /* |-0.2 * 38| twice: 15.2 */
  CHECK_CLOSE(fs[0], 2 * 0.5 * 3 * FFN_PARAMS, 1e-4, 1e-6);    /* 27 */
  CHECK_CLOSE(fs[1], 2 * 1.0 * 2 * FFN_PARAMS, 1e-4, 1e-6);    /* 36 */
  CHECK_CLOSE(fs[2], 2 * 0.5 * 1 * FFN_PARAMS, 1e-4, 1e-6);    /* 9 */

  /* A one-shot event at step 5 removing half the heads and 2 of 3 neurons, by taylor: head 0 and
   * neurons 2 and 0 go. Scores reset afterwards. */
  ds_prune_cfg c = {.enabled = 1, .heads = 0.5, .ffn = 0.6, .start_step = 5, .end_step = 5, .every = 1,
                    .criterion = DS_CRIT_TAYLOR};
  CHECK(ds_prune_event(&ps, &m, &c, 5, &err) == 3);
  CHECK(m.head_mask[0][0] == 0.0f && m.head_mask[0][1] == 1.0f);
  CHECK(m.ffn_mask[0][0] == 0.0f && m.ffn_mask[0][1] == 1.0f && m.ffn_mask[0][2] == 0.0f);
  ds_prune_importance(&ps, &m, DS_CRIT_TAYLOR, 0, hs, fs);
  CHECK(hs[0] == 0.0f && hs[1] == 0.0f && fs[1] == 0.0f);
  /* Repeating the event removes nothing more, and masked units never come back. */
  CHECK(ds_prune_event(&ps, &m, &c, 5, &err) == 0);
  CHECK(m.head_mask[0][0] == 0.0f && m.ffn_mask[0][0] == 0.0f && m.ffn_mask[0][2] == 0.0f);

  /* Magnitude ranks by norm: with neuron 1 now the only live one, nothing is left to remove; on a
   * fresh mask the smallest norm (neuron 2, then 1) goes first, ties broken by the lower index. */
  for (int f = 0; f < F; f++) m.ffn_mask[0][f] = 1.0f;
  m.head_mask[0][0] = 1.0f;
  c.criterion = DS_CRIT_MAGNITUDE;
  CHECK(ds_prune_event(&ps, &m, &c, 5, &err) == 3);
  CHECK(m.head_mask[0][0] == 0.0f && m.ffn_mask[0][2] == 0.0f && m.ffn_mask[0][1] == 0.0f &&
        m.ffn_mask[0][0] == 1.0f);
  set_head(P, 0, 1.0f);
  set_head(P, 1, 1.0f);
  m.head_mask[0][0] = 1.0f;
  CHECK(ds_prune_event(&ps, &m, &c, 5, &err) == 1); /* ffn already at target: one head only */
  CHECK(m.head_mask[0][0] == 0.0f && m.head_mask[0][1] == 1.0f); /* equal norms: the lower index goes */

  /* Zeroing: exactly the parameters masked units own become 0; the rest are untouched. */
  for (size_t i = 0; i < m.table.n_params; i++) m.params[i] = 3.0f;
  ds_compact_zero_masked(&m, m.params);
  size_t zeros = 0;
  for (size_t i = 0; i < m.table.n_params; i++) zeros += m.params[i] == 0.0f;
  CHECK(zeros == HEAD_PARAMS + 2 * FFN_PARAMS);
  CHECK(P->qkv_w[0] == 0.0f && P->qkv_w[HD * C] == 3.0f && P->attn_out_w[0] == 0.0f && P->attn_out_w[HD] == 3.0f);
  CHECK(P->fc1_b[0] == 3.0f && P->fc1_b[1] == 0.0f && P->fc2_w[2] == 0.0f && P->fc2_w[0] == 3.0f);
  /* Unused embedding rows of a vocabulary map are zeroed too (ids 3..9 read row 0). */
  CHECK(ds_vocab_map_init(&m.vocab_map, 10, &err) == 0);
  for (int i = 3; i < 10; i++) m.vocab_map->row[i] = 0;
  for (size_t i = 0; i < m.table.n_params; i++) m.params[i] = 3.0f;
  ds_compact_zero_masked(&m, m.params);
  zeros = 0;
  for (size_t i = 0; i < m.table.n_params; i++) zeros += m.params[i] == 0.0f;
  CHECK(zeros == HEAD_PARAMS + 2 * FFN_PARAMS + 7 * C);
  CHECK(m.p.tok_emb[2 * C] == 3.0f && m.p.tok_emb[3 * C] == 0.0f);
  ds_prune_state_free(&ps);
  ds_student_free(&m);
  return check_report();
}
