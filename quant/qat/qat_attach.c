/* Giving a student a QAT state: the hooks through which its passes run the simulation (model/model.h), and
 * the state of a student's compacted copy (structured pruning). */
#include <string.h>

#include "model/model.h"
#include "quant/qat/qat_internal.h"

static ds_qat_pass pass(const ds_qat *q) {
  if (q->mode == DS_QAT_FAKE) return DS_QAT_PASS_FAKE;
  /* The observers see every position, as they always have: their ranges are per tensor, padding included. */
  return q->mode == DS_QAT_OBSERVE && q->update ? DS_QAT_PASS_OBSERVE : DS_QAT_PASS_FLOAT;
}

static int compact(const ds_compact_plan *p, const ds_qat *src, ds_student *n, ds_err *err);

static const ds_qat_hooks hooks = {
    .pass = pass,
    .forward = ds_qat_forward,
    .observe = ds_qat_observe,
    .ste = ds_qat_ste,
    .ste_copy = ds_qat_ste_copy,
    .backward_weights = ds_qat_backward_weights,
    .backward_end = ds_qat_backward_end,
    .compact = compact,
    .free = ds_qat_free,
};

int ds_student_qat_attach(ds_student *m, const ds_quant_cfg *cfg, ds_err *err) {
  ds_qat *q;
  if (ds_qat_init(&q, &m->shape, &m->table, cfg, err)) return -1;
  ds_qat_free(m->qat);
  m->qat = q;
  m->qat_hooks = &hooks;
  return 0;
}

/* A QAT state for the compact model that quantizes exactly as the old one did: the same schedule
 * position and activation parameters (per tensor, so cutting channels that were exactly zero leaves
 * them unchanged), and per-row weight scales cut with their rows. Per-batch buffers are rebuilt. */
static int compact(const ds_compact_plan *p, const ds_qat *src, ds_student *n, ds_err *err) {
  ds_qat *q;
  if (ds_qat_init(&q, &p->to, &n->table, &src->cfg, err)) return -1;
  q->mode = src->mode;
  q->frozen = src->frozen;
  q->lsq_ready = src->lsq_ready;
  for (int i = 0; i < q->n_sites && i < src->n_sites; i++) {
    q->site[i].obs = src->site[i].obs;
    q->site[i].qp = src->site[i].qp;
  }
  ds_compact_weight_rows(p, src->wscale, q->wscale);
  if (q->n_lsq > 0 && src->n_lsq > 0) {
    /* activation step sizes first, then one per weight row */
    const float *from[3] = {src->lsq, src->lsq_m, src->lsq_v};
    float *to[3] = {q->lsq, q->lsq_m, q->lsq_v};
    for (int k = 0; k < 3; k++) {
      memcpy(to[k], from[k], sizeof(float) * (size_t)src->n_sites);
      ds_compact_weight_rows(p, from[k] + src->n_sites, to[k] + q->n_sites);
    }
  }
  n->qat = q;
  n->qat_hooks = &hooks;
  return 0;
}

