/* Data-parallel steps: see train/dist_step.h. */
#include "train/dist_step.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "quant/qat/qat.h"

double ds_dist_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* What one row contributes to the loss, in gather order: student logits (K), student embedding (E), teacher
 * logits (K), teacher embedding (E), label (int32); the teacher's parts only where it has them. */
typedef struct {
  int K, E, t_logits, t_emb, labels;
} rec_layout;

static rec_layout layout_of(const ds_trainer *tr) {
  const ds_teacher_info *info = ds_teacher_get_info(tr->teacher);
  const ds_student_shape *s = &tr->model.shape;
  rec_layout r = {s->n_classes, ds_student_emb_dim(s), 0, 0, 0};
  r.t_logits = r.K > 0 && tr->batch.logits != NULL;
  r.t_emb = info->emb_dim == r.E && tr->batch.emb != NULL;
  r.labels = tr->batch.labels != NULL;
  return r;
}

static size_t rec_bytes(const rec_layout *r) {
  return sizeof(float) * ((size_t)r->K * (1 + r->t_logits) + (size_t)r->E * (1 + r->t_emb)) +
         (r->labels ? sizeof(int32_t) : 0);
}

int ds_dist_step_open(ds_trainer *tr, const ds_dist *d, ds_err *err) {
  ds_dist_state *p = &tr->par;
  tr->dist = *d;
  if (ds_dist_size(d) <= 1) return 0;
  const int B = tr->cfg.train.batch_size, P = ds_dist_size(d);
  if (B < P)
    return ds_fail(err, "[train] batch_size = %d is smaller than the %d processes: every process needs a row of "
                        "each batch", B, P);
  ds_dist_share(d, B, &p->lo, &p->hi);
  ds_dist_share(d, tr->token_rows.n, &p->tok_lo, &p->tok_hi);
  if (ds_loader_set_share(tr->loader, B, (int)p->lo, (int)p->hi, err)) return -1;
  const rec_layout r = layout_of(tr);
  p->rec_bytes = rec_bytes(&r);
  p->rec = malloc(p->rec_bytes * (size_t)(p->hi - p->lo));
  p->rec_all = malloc(p->rec_bytes * (size_t)B);
  p->s_logits = malloc(sizeof(float) * (size_t)B * (r.K > 0 ? r.K : 1));
  p->t_logits = malloc(sizeof(float) * (size_t)B * (r.K > 0 ? r.K : 1));
  p->s_emb = malloc(sizeof(float) * (size_t)B * r.E);
  p->t_emb = malloc(sizeof(float) * (size_t)B * r.E);
  p->labels = malloc(sizeof(int32_t) * (size_t)B);
  p->tok_emb = malloc(sizeof(float) * (size_t)(tr->token_rows.n > 0 ? tr->token_rows.n : 1) * r.E);
  p->touched = malloc((size_t)tr->model.shape.vocab + 1);
  if (!p->rec || !p->rec_all || !p->s_logits || !p->t_logits || !p->s_emb || !p->t_emb || !p->labels ||
      !p->tok_emb || !p->touched)
    return ds_fail(err, "out of memory for the data-parallel buffers");
  return 0;
}

void ds_dist_step_free(ds_dist_state *p) {
  free(p->rec);
  free(p->rec_all);
  free(p->s_logits);
  free(p->t_logits);
  free(p->s_emb);
  free(p->t_emb);
  free(p->labels);
  free(p->tok_emb);
  free(p->touched);
  free(p->flat);
  memset(p, 0, sizeof *p);
}

static unsigned char *put(unsigned char *at, const void *src, size_t n) {
  memcpy(at, src, n);
  return at + n;
}

int ds_dist_batch_loss(ds_trainer *tr, ds_loss_terms *terms, double *loss, ds_err *err) {
  ds_dist_state *p = &tr->par;
  const ds_student *m = &tr->model;
  const ds_batch *b = &tr->batch;
  const rec_layout r = layout_of(tr);
  const int B = tr->cfg.train.batch_size, n = (int)(p->hi - p->lo);
  const size_t fK = sizeof(float) * r.K, fE = sizeof(float) * r.E;
  for (int i = 0; i < n; i++) {
    unsigned char *at = p->rec + p->rec_bytes * i;
    if (r.K > 0) at = put(at, m->a.logits + (size_t)i * r.K, fK);
    at = put(at, m->a.emb + (size_t)i * r.E, fE);
    if (r.t_logits) at = put(at, b->logits + (size_t)i * r.K, fK);
    if (r.t_emb) at = put(at, b->emb + (size_t)i * r.E, fE);
    if (r.labels) put(at, b->labels + i, sizeof(int32_t));
  }
  const double t0 = ds_dist_now();
  const int rc = ds_dist_gather_shares(&tr->dist, p->rec, p->rec_all, B, p->rec_bytes, err);
  p->comm_seconds += ds_dist_now() - t0;
  if (rc) return -1;
  for (int i = 0; i < B; i++) {
    const unsigned char *at = p->rec_all + p->rec_bytes * i;
    if (r.K > 0) memcpy(p->s_logits + (size_t)i * r.K, at, fK), at += fK;
    memcpy(p->s_emb + (size_t)i * r.E, at, fE), at += fE;
    if (r.t_logits) memcpy(p->t_logits + (size_t)i * r.K, at, fK), at += fK;
    if (r.t_emb) memcpy(p->t_emb + (size_t)i * r.E, at, fE), at += fE;
    if (r.labels) memcpy(p->labels + i, at, sizeof(int32_t));
  }
  /* The same call, on the same numbers, as one process makes for the whole batch. */
  *loss = ds_loss_compute(&tr->cfg.loss, B, r.K, r.E, p->s_logits, r.t_logits ? p->t_logits : NULL,
                          r.labels ? p->labels : NULL, p->s_emb, r.t_emb ? p->t_emb : NULL, tr->d_logits, tr->d_emb,
                          terms);
  return 0;
}

static void mark(uint8_t *touched, int V, const ds_vocab_map *vm, const int32_t *ids, long n) {
  for (long k = 0; k < n; k++) {
    const int32_t row = vm ? vm->row[ids[k]] : ids[k];
    if (row >= 0 && row < V) touched[row] = 1;
  }
}

/* n floats between the all-reduce buffer at flat and x, into the buffer (to_flat) or out of it; returns the
 * buffer position after them. */
static float *flat_xfer(float *flat, float *x, size_t n, int to_flat) {
  if (to_flat)
    memcpy(flat, x, sizeof(float) * n);
  else
    memcpy(x, flat, sizeof(float) * n);
  return flat + n;
}

/* The gradients the all-reduce sums, in buffer order: the parameters before the token table, its touched rows,
 * the parameters after it, the LSQ step sizes', the hidden head's. Into tr->par.flat (to_flat) or back. */
static void flat_move(ds_trainer *tr, int to_flat) {
  ds_dist_state *p = &tr->par;
  ds_student *m = &tr->model;
  const ds_tensor_info *tok = &m->table.tensors[DS_T_TOK_EMB];
  const int V = tok->shape[0], C = tok->shape[1];
  const size_t off = tok->offset, end = off + tok->numel, n_params = m->table.n_params;
  float *f = p->flat, *g = m->grads;
  f = flat_xfer(f, g, off, to_flat);
  for (int r = 0; r < V; r++)
    if (p->touched[r]) f = flat_xfer(f, g + off + (size_t)r * C, C, to_flat);
  f = flat_xfer(f, g + end, n_params - end, to_flat);
  if (m->qat && m->qat->n_lsq) f = flat_xfer(f, m->qat->lsq_grad, m->qat->n_lsq, to_flat);
  if (tr->hidden.n) flat_xfer(f, tr->hidden.grads, tr->hidden.n, to_flat);
}

int ds_dist_reduce_grads(ds_trainer *tr, ds_err *err) {
  ds_dist_state *p = &tr->par;
  ds_student *m = &tr->model;
  const ds_tensor_info *tok = &m->table.tensors[DS_T_TOK_EMB];
  const int V = tok->shape[0], C = tok->shape[1];
  const size_t off = tok->offset, end = off + tok->numel, n_params = m->table.n_params;
  const size_t n_lsq = m->qat ? m->qat->n_lsq : 0, n_hid = tr->hidden.n;
  /* The token-table rows any process's passes read: every other row's gradient is zero on every process. */
  memset(p->touched, 0, (size_t)V);
  mark(p->touched, V, m->vocab_map, tr->batch.ids, (long)tr->batch.n * tr->batch.len);
  if (p->tok_hi > p->tok_lo)
    mark(p->touched, V, m->vocab_map, tr->token_rows.ids + p->tok_lo * 3, (p->tok_hi - p->tok_lo) * 3);
  double t0 = ds_dist_now();
  if (ds_dist_or_bytes(&tr->dist, p->touched, (size_t)V, err)) return -1;
  p->comm_seconds += ds_dist_now() - t0;
  size_t rows = 0;
  for (int r = 0; r < V; r++) rows += p->touched[r];
  const size_t total = off + rows * C + (n_params - end) + n_lsq + n_hid;
  if (total > p->flat_cap) {
    free(p->flat);
    p->flat = malloc(sizeof(float) * total);
    p->flat_cap = p->flat ? total : 0;
    if (!p->flat) return ds_fail(err, "out of memory for the all-reduce buffer (%zu floats)", total);
  }
  flat_move(tr, 1);
  t0 = ds_dist_now();
  if (ds_dist_sum_floats(&tr->dist, p->flat, total, err)) return -1;
  p->comm_seconds += ds_dist_now() - t0;
  p->reduce_floats = total;
  flat_move(tr, 0);
  return 0;
}

static uint64_t fnv(uint64_t h, const void *x, size_t n) {
  const unsigned char *c = x;
  for (size_t i = 0; i < n; i++) h = (h ^ c[i]) * 0x100000001b3ULL;
  return h;
}

int ds_dist_check_same(ds_trainer *tr, ds_err *err) {
  if (ds_dist_size(&tr->dist) <= 1) return 0;
  const ds_student *m = &tr->model;
  uint64_t h = fnv(0xcbf29ce484222325ULL, m->params, sizeof(float) * m->table.n_params);
  if (m->qat && m->qat->n_lsq) h = fnv(h, m->qat->lsq, sizeof(float) * m->qat->n_lsq);
  if (tr->hidden.n) h = fnv(h, tr->hidden.params, sizeof(float) * tr->hidden.n);
  const int same = ds_dist_all_equal(&tr->dist, h, err);
  if (same < 0) return -1;
  if (!same)
    return ds_fail(err, "the %d processes' parameters differ at step %ld (they must stay identical); this is a bug",
                   ds_dist_size(&tr->dist), tr->step);
  return 0;
}

void ds_dist_range_hook(void *ctx, float *lo, float *hi) {
  ds_trainer *tr = ctx;
  ds_err err;
  const double t0 = ds_dist_now();
  /* MPI's default error handler ends the job on a failed collective, so there is nothing to return here. */
  (void)ds_dist_range(&tr->dist, lo, hi, &err);
  tr->par.comm_seconds += ds_dist_now() - t0;
}
