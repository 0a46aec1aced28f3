/* Pruning schedule, importance and events. Importance sums run over parameter views, so they follow the
 * size table and work for any per-layer head and FFN counts. */
#include "train/prune.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

double ds_prune_sparsity_at(const ds_prune_cfg *c, double final_fraction, long step) {
  if (step < c->start_step) return 0.0;
  if (step >= c->end_step) return final_fraction;
  const double x = 1.0 - (double)(step - c->start_step) / (double)(c->end_step - c->start_step);
  return final_fraction * (1.0 - x * x * x);
}

int ds_prune_is_event(const ds_prune_cfg *c, long step) {
  if (step < c->start_step || step > c->end_step) return 0;
  return step == c->end_step || (c->every > 0 && (step - c->start_step) % c->every == 0);
}

int ds_prune_target_count(double s, int n) {
  int k = (int)floor(s * n + 0.5);
  if (k > n - 1) k = n - 1;
  return k < 0 ? 0 : k;
}

int ds_prune_state_init(ds_prune_state *ps, const ds_student_shape *s, ds_err *err) {
  memset(ps, 0, sizeof *ps);
  for (int l = 0; l < s->n_layers; l++) ps->n += (size_t)s->heads[l] + (size_t)s->ffn[l];
  ps->mem = calloc(ps->n + 1, sizeof(float));
  if (!ps->mem) return ds_fail(err, "out of memory for the pruning scores");
  float *q = ps->mem;
  for (int l = 0; l < s->n_layers; l++) {
    ps->head_score[l] = q;
    q += s->heads[l];
    ps->ffn_score[l] = q;
    q += s->ffn[l];
  }
  return 0;
}

void ds_prune_state_free(ds_prune_state *ps) {
  free(ps->mem);
  memset(ps, 0, sizeof *ps);
}

void ds_prune_state_reset(ds_prune_state *ps) {
  if (ps->mem) memset(ps->mem, 0, sizeof(float) * ps->n);
}

/* Per unit of layer l: sum over its parameters of a[i] * b[i], with a, b two views of the same layout
 * (gradients and weights for taylor, weights twice for magnitude). heads (H), ffn (F). */
static void unit_sums(const ds_student *m, const ds_params *a, const ds_params *b, int l, double *heads,
                      double *ffn) {
  const ds_student_shape *s = &m->shape;
  const int C = s->dim, hd = s->head_dim, H = s->heads[l], HD = H * hd, F = s->ffn[l];
  const ds_layer_params *A = &a->layer[l], *B = &b->layer[l];
  for (int h = 0; h < H; h++) {
    double acc = 0.0;
    for (int part = 0; part < 3; part++)
      for (int d = 0; d < hd; d++) {
        const long r = (long)part * HD + (long)h * hd + d;
        for (int c = 0; c < C; c++) acc += (double)A->qkv_w[r * C + c] * B->qkv_w[r * C + c];
        acc += (double)A->qkv_b[r] * B->qkv_b[r];
      }
    for (int c = 0; c < C; c++)
      for (int d = 0; d < hd; d++) {
        const long i = (long)c * HD + (long)h * hd + d;
        acc += (double)A->attn_out_w[i] * B->attn_out_w[i];
      }
    heads[h] = acc;
  }
  for (int f = 0; f < F; f++) {
    double acc = (double)A->fc1_b[f] * B->fc1_b[f];
    for (int c = 0; c < C; c++) acc += (double)A->fc1_w[(long)f * C + c] * B->fc1_w[(long)f * C + c];
    ffn[f] = acc;
  }
  /* fc2 is (C, F): a neuron's column is strided, so walk rows and add to every neuron. */
  for (int c = 0; c < C; c++)
    for (int f = 0; f < F; f++) ffn[f] += (double)A->fc2_w[(long)c * F + f] * B->fc2_w[(long)c * F + f];
}

static int max_units(const ds_student_shape *s) {
  int n = 1;
  for (int l = 0; l < s->n_layers; l++)
    if (s->heads[l] + s->ffn[l] > n) n = s->heads[l] + s->ffn[l];
  return n;
}

void ds_prune_accumulate(ds_prune_state *ps, const ds_student *m) {
  const ds_student_shape *s = &m->shape;
  double *sum = malloc(sizeof(double) * (size_t)max_units(s));
  if (!sum) return; /* an importance estimate that misses one batch is still an estimate */
  for (int l = 0; l < s->n_layers; l++) {
    const int H = s->heads[l], F = s->ffn[l];
    unit_sums(m, &m->g, &m->p, l, sum, sum + H);
    for (int h = 0; h < H; h++) ps->head_score[l][h] += (float)fabs(sum[h]);
    for (int f = 0; f < F; f++) ps->ffn_score[l][f] += (float)fabs(sum[H + f]);
  }
  free(sum);
}

void ds_prune_importance(const ds_prune_state *ps, const ds_student *m, ds_prune_criterion crit, int l,
                         float *heads, float *ffn) {
  const int H = m->shape.heads[l], F = m->shape.ffn[l];
  if (crit == DS_CRIT_TAYLOR) {
    memcpy(heads, ps->head_score[l], sizeof(float) * H);
    memcpy(ffn, ps->ffn_score[l], sizeof(float) * F);
    return;
  }
  double *sum = malloc(sizeof(double) * (size_t)(H + F));
  if (!sum) { /* cannot rank: call every unit equal, so ties keep the lowest indices' order */
    memset(heads, 0, sizeof(float) * H);
    memset(ffn, 0, sizeof(float) * F);
    return;
  }
  unit_sums(m, &m->p, &m->p, l, sum, sum + H);
  for (int h = 0; h < H; h++) heads[h] = (float)sqrt(sum[h]);
  for (int f = 0; f < F; f++) ffn[f] = (float)sqrt(sum[H + f]);
  free(sum);
}

typedef struct {
  float score;
  int index;
} ranked;

static int ranked_cmp(const void *pa, const void *pb) {
  const ranked *a = pa, *b = pb;
  if (a->score != b->score) return a->score < b->score ? -1 : 1;
  return (a->index > b->index) - (a->index < b->index);
}

/* Masks the least important live units of one kind in one layer until `target` are masked. */
static int mask_lowest(float *mask, const float *score, int n, int target, ranked *scratch) {
  int masked = 0, live = 0;
  for (int u = 0; u < n; u++) {
    if (mask[u] == 0.0f)
      masked++;
    else
      scratch[live++] = (ranked){isfinite(score[u]) ? score[u] : INFINITY, u};
  }
  const int need = target - masked;
  if (need <= 0) return 0;
  qsort(scratch, (size_t)live, sizeof *scratch, ranked_cmp);
  for (int k = 0; k < need && k < live; k++) mask[scratch[k].index] = 0.0f;
  return need < live ? need : live;
}

int ds_prune_event(ds_prune_state *ps, ds_student *m, const ds_prune_cfg *c, long step, ds_err *err) {
  const ds_student_shape *s = &m->shape;
  const int U = max_units(s);
  float *score = malloc(sizeof(float) * (size_t)U);
  ranked *scratch = malloc(sizeof(ranked) * (size_t)U);
  if (!score || !scratch) {
    free(score);
    free(scratch);
    return ds_fail(err, "out of memory in a pruning event at step %ld", step);
  }
  const double sh = ds_prune_sparsity_at(c, c->heads, step), sf = ds_prune_sparsity_at(c, c->ffn, step);
  int newly = 0;
  for (int l = 0; l < s->n_layers; l++) {
    const int H = s->heads[l], F = s->ffn[l];
    ds_prune_importance(ps, m, c->criterion, l, score, score + H);
    newly += mask_lowest(m->head_mask[l], score, H, ds_prune_target_count(sh, H), scratch);
    newly += mask_lowest(m->ffn_mask[l], score + H, F, ds_prune_target_count(sf, F), scratch);
  }
  ds_prune_state_reset(ps);
  free(score);
  free(scratch);
  return newly;
}
