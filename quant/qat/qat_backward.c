/* The hooks that make the student's one backward pass (model/student.c) the backward of the fake-quant
 * forward: the float graph's backward kernels on the dequantized values and weights, with a
 * straight-through estimator at every site (gradient zero where the site's input fell outside its
 * clamp range) and, with learned step sizes, the LSQ gradient of each scale. */
#include <math.h>
#include <string.h>

#include "kernels/kernels.h"
#include "quant/qat/qat_internal.h"

static int lsq_acts(const ds_qat *q) { return q->cfg.learn_scales && q->lsq_ready && !q->frozen; }

/* grad (rows, width) at columns [col0, col0 + width) of rows of stride ld: the gradient wrt site i's
 * dequantized output. Adds the LSQ gradient of its log step size, then applies the STE mask. */
static void site_backward(ds_qat *q, int i, float *grad, long rows, int width, int ld, int col0) {
  ds_qat_site *st = &q->site[i];
  const ds_qparams qp = st->qp;
  if (lsq_acts(q)) {
    float *g = q->scr->tmp; /* gather the columns: the LSQ gradient wants them contiguous */
    for (long r = 0; r < rows; r++) memcpy(g + r * width, grad + r * ld + col0, sizeof(float) * width);
    float gs = 0.0f;
    /* Every site holds a whole number of values per sequence: the whole batch has n / B * B_all. */
    const size_t n = (size_t)rows * width, n_all = q->lsq_batch_all > 0 ? n / q->B * q->lsq_batch_all : n;
    ds_lsq_backward_share(st->pre, g, n, n_all, &qp, &gs);
    q->lsq_grad[i] += gs * qp.scale; /* d/dlog(s) = s d/ds */
  }
  /* The values that round into [qmin, qmax]: within half a step of the grid's ends. */
  const float lo = ((float)(qp.qmin - qp.zero_point) - 0.5f) * qp.scale;
  const float hi = ((float)(qp.qmax - qp.zero_point) + 0.5f) * qp.scale;
  /* A select rather than a branch, so the loops vectorise; NaN inputs fail both tests and get 0 too. */
  if (ld == width) { /* contiguous (col0 is then 0): one flat loop, however narrow the rows */
    const long n = rows * width;
#pragma omp parallel for schedule(static)
    for (long k = 0; k < n; k++) grad[k] = st->pre[k] >= lo && st->pre[k] <= hi ? grad[k] : 0.0f;
    return;
  }
#pragma omp parallel for schedule(static)
  for (long r = 0; r < rows; r++) {
    const float *x = st->pre + r * width;
    float *g = grad + r * ld + col0;
    for (int c = 0; c < width; c++) g[c] = x[c] >= lo && x[c] <= hi ? g[c] : 0.0f;
  }
}

/* Weights: the LSQ gradient of every row's log step size, then the STE mask on the weight gradient; of the
 * token table only the rows flagged in tok (the others have no gradient). */
static void weights_backward(ds_qat *q, ds_student *m, const uint8_t *tok) {
  if (!(q->cfg.learn_scales && q->lsq_ready)) return;
  const int32_t qmax = (1 << (q->cfg.weight_bits - 1)) - 1;
  for (int i = 0; i < m->table.n_tensors; i++) {
    const ds_tensor_info *ti = &m->table.tensors[i];
    if (ti->ndim != 2) continue;
    const int rows = ti->shape[0], cols = ti->shape[1];
    const float *sc = q->wscale + q->wrow[i];
    float *lg = q->lsq_grad + q->n_sites + q->wrow[i];
    float *g = m->grads + ti->offset;
#pragma omp parallel for schedule(static)
    for (int r = 0; r < rows; r++) {
      if (i == DS_T_TOK_EMB && !tok[r]) continue; /* token rows this batch did not read: no gradient */
      const ds_qparams qp = {sc[r], 0, -qmax, qmax};
      float gs = 0.0f;
      ds_lsq_backward(m->params + ti->offset + (size_t)r * cols, g + (size_t)r * cols, (size_t)cols, &qp, &gs);
      lg[r] += gs * sc[r];
    }
    for (int r = 0; r < rows; r++)
      if (i != DS_T_TOK_EMB || tok[r])
        ds_fake_quant_mask_apply(g + (size_t)r * cols, q->wmask + ti->offset + (size_t)r * cols, (size_t)cols);
  }
}

/* The hooks below run only inside ds_student_backward after a fake-quant forward (it decides that once). */
void ds_qat_ste(ds_student *m, int site, float *grad, long rows, int width, int ld, int col0) {
  site_backward(m->qat, site, grad, rows, width, ld, col0);
}

const float *ds_qat_ste_copy(ds_student *m, int site, const float *grad, float *dst, long n) {
  ds_qat *q = m->qat;
  if (!dst) dst = q->scr->xf; /* sized for any one site's gradient (ds_qat_ensure_mem) */
  memcpy(dst, grad, sizeof(float) * (size_t)n);
  site_backward(q, site, dst, n, 1, 1, 0);
  return dst;
}

const ds_params *ds_qat_backward_weights(const ds_student *m) { return &m->qat->ph; }

void ds_qat_backward_end(ds_student *m) {
  if (!m->qat->defer_weights) weights_backward(m->qat, m, m->qat->tok_used);
}

void ds_qat_weights_backward(ds_student *m) {
  ds_qat *q = m->qat;
  if (q && q->mode == DS_QAT_FAKE) weights_backward(q, m, q->tok_step);
}
