/* The /quant/ group of training checkpoints (train/qat_train.h): everything --resume needs to
 * continue quantization-aware training exactly, and eval/export need to rebuild the int8 model. */
#include <stdlib.h>
#include <string.h>

#include "quant/qat/qat.h"
#include "train/qat_train.h"

int ds_qat_ckpt_write(const ds_student *m, ds_ckpt_writer *w, ds_err *err) {
  const ds_qat *q = m->qat;
  if (!q) return 0;
  const int n = q->n_sites;
  const int64_t shape = n, lshape = (int64_t)q->n_lsq;
  const char *names[DS_QAT_MAX_SITES];
  float lo[DS_QAT_MAX_SITES], hi[DS_QAT_MAX_SITES], scale[DS_QAT_MAX_SITES];
  int64_t seen[DS_QAT_MAX_SITES];
  int32_t zp[DS_QAT_MAX_SITES], qmin[DS_QAT_MAX_SITES], qmax[DS_QAT_MAX_SITES];
  for (int i = 0; i < n; i++) {
    const ds_qat_site *s = &q->site[i];
    names[i] = s->name;
    lo[i] = s->obs.min;
    hi[i] = s->obs.max;
    seen[i] = s->obs.seen;
    scale[i] = s->qp.scale;
    zp[i] = s->qp.zero_point;
    qmin[i] = s->qp.qmin;
    qmax[i] = s->qp.qmax;
  }
  const int64_t state[2] = {q->lsq_ready, q->frozen};
  if (ds_ckpt_write_strings(w, "/quant/site_names", names, n, err) ||
      ds_ckpt_write_f32(w, "/quant/obs_min", 1, &shape, lo, err) ||
      ds_ckpt_write_f32(w, "/quant/obs_max", 1, &shape, hi, err) ||
      ds_ckpt_write_i64(w, "/quant/obs_seen", 1, &shape, seen, err) ||
      ds_ckpt_write_f32(w, "/quant/scale", 1, &shape, scale, err) ||
      ds_ckpt_write_i32(w, "/quant/zero_point", 1, &shape, zp, err) ||
      ds_ckpt_write_i32(w, "/quant/qmin", 1, &shape, qmin, err) ||
      ds_ckpt_write_i32(w, "/quant/qmax", 1, &shape, qmax, err) ||
      ds_ckpt_write_i64(w, "/quant/state", 1, (const int64_t[]){2}, state, err))
    return -1;
  if (q->n_lsq > 0 && (ds_ckpt_write_f32(w, "/quant/lsq", 1, &lshape, q->lsq, err) ||
                       ds_ckpt_write_f32(w, "/quant/lsq_adam_m", 1, &lshape, q->lsq_m, err) ||
                       ds_ckpt_write_f32(w, "/quant/lsq_adam_v", 1, &lshape, q->lsq_v, err)))
    return -1;
  return 0;
}

int ds_qat_ckpt_read(ds_ckpt_reader *r, ds_student *m, const ds_quant_cfg *cfg, ds_err *err) {
  const int has = ds_ckpt_has(r, "/quant/scale");
  if (!has && !cfg->enabled) return 0;
  if (ds_student_qat_attach(m, cfg, err)) return -1;
  ds_qat *q = m->qat;
  int64_t step = 0;
  if (ds_ckpt_read_attr_i64(r, "step", &step, err)) return -1;
  ds_qat_set_step(q, (long)step);
  if (!has) return 0;
  const int n = q->n_sites;
  const int64_t shape = n, lshape = (int64_t)q->n_lsq;
  char **names = NULL;
  int n_names = 0;
  if (ds_ckpt_read_strings(r, "/quant/site_names", &names, &n_names, err)) return -1;
  int bad = n_names != n;
  for (int i = 0; !bad && i < n; i++) bad = strcmp(names[i], q->site[i].name) != 0;
  free(names);
  if (bad)
    return ds_fail(err, "%s: /quant/site_names does not match this student's quantization sites",
                   ds_ckpt_path(r));
  float lo[DS_QAT_MAX_SITES], hi[DS_QAT_MAX_SITES], scale[DS_QAT_MAX_SITES];
  int64_t seen[DS_QAT_MAX_SITES], state[2];
  int32_t zp[DS_QAT_MAX_SITES], qmin[DS_QAT_MAX_SITES], qmax[DS_QAT_MAX_SITES];
  if (ds_ckpt_read_f32(r, "/quant/obs_min", 1, &shape, lo, err) ||
      ds_ckpt_read_f32(r, "/quant/obs_max", 1, &shape, hi, err) ||
      ds_ckpt_read_i64(r, "/quant/obs_seen", 1, &shape, seen, err) ||
      ds_ckpt_read_f32(r, "/quant/scale", 1, &shape, scale, err) ||
      ds_ckpt_read_i32(r, "/quant/zero_point", 1, &shape, zp, err) ||
      ds_ckpt_read_i32(r, "/quant/qmin", 1, &shape, qmin, err) ||
      ds_ckpt_read_i32(r, "/quant/qmax", 1, &shape, qmax, err) ||
      ds_ckpt_read_i64(r, "/quant/state", 1, (const int64_t[]){2}, state, err))
    return -1;
  for (int i = 0; i < n; i++) {
    ds_qat_site *s = &q->site[i];
    s->obs.min = lo[i];
    s->obs.max = hi[i];
    s->obs.seen = (int)seen[i];
    s->qp = (ds_qparams){scale[i], zp[i], qmin[i], qmax[i]};
    if (!(scale[i] > 0.0f) || qmin[i] > qmax[i] || qmin[i] < -128 || qmax[i] > 127)
      return ds_fail(err, "%s: /quant/scale: site %s has scale %g and range [%d, %d]", ds_ckpt_path(r), s->name,
                     (double)scale[i], qmin[i], qmax[i]);
  }
  q->lsq_ready = (int)state[0];
  q->frozen = (int)state[1];
  if (q->n_lsq > 0) {
    if (!ds_ckpt_has(r, "/quant/lsq")) {
      /* A checkpoint from before learn_scales was switched on: the step sizes start afresh. */
      q->lsq_ready = 0;
      return 0;
    }
    if (ds_ckpt_read_f32(r, "/quant/lsq", 1, &lshape, q->lsq, err) ||
        ds_ckpt_read_f32(r, "/quant/lsq_adam_m", 1, &lshape, q->lsq_m, err) ||
        ds_ckpt_read_f32(r, "/quant/lsq_adam_v", 1, &lshape, q->lsq_v, err))
      return -1;
  } else {
    q->lsq_ready = 0;
  }
  return 0;
}
