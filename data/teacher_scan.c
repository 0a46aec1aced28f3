/* The value scan of ds_teacher_open. Rows are read in chunks so memory is O(chunk), never O(N);
 * ids and labels are read as int64 and targets as double so that nothing is clipped by HDF5's
 * conversion before it is checked. */
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "data/teacher_private.h"

#define SCAN_MAX_ROWS 4096
#define SCAN_MAX_VALUES (1L << 22) /* per buffer: bounds memory for very wide rows */

typedef struct {
  long long *ids;  /* (rows, L) */
  long long *mask; /* (rows, L) */
  uint8_t *mask8;  /* (rows, L) raw bytes of a bool enum */
  double *target;  /* (rows, max(C, D)) */
  long long *labels;
  long long max_id;
} scan_bufs;

static int read_chunk(const ds_teacher *t, hid_t d, const char *name, long r0, long n, int cols,
                      hid_t memtype, void *buf, ds_err *err) {
  hsize_t start[2] = {(hsize_t)r0, 0}, count[2] = {(hsize_t)n, (hsize_t)cols};
  int rank = cols > 0 ? 2 : 1;
  hid_t fs = H5Dget_space(d);
  hid_t ms = H5Screate_simple(rank, count, NULL);
  herr_t rc = H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL);
  if (rc >= 0) rc = H5Dread(d, memtype, ms, fs, H5P_DEFAULT, buf);
  H5Sclose(ms);
  H5Sclose(fs);
  if (rc < 0)
    return ds_fail(err, "%s: dataset '%s': cannot read rows %ld..%ld (file truncated or damaged?)",
                   t->info.path, name, r0, r0 + n - 1);
  return 0;
}

static int scan_ids(const ds_teacher *t, scan_bufs *s, long r0, long n, int have_vs, ds_err *err) {
  const ds_teacher_info *in = &t->info;
  int L = in->seq_len;
  if (read_chunk(t, t->ids, "input_ids", r0, n, L, H5T_NATIVE_LLONG, s->ids, err)) return -1;
  long long limit = have_vs ? in->vocab_size : (long long)DS_TEACHER_MAX_VOCAB;
  for (long i = 0; i < n; i++)
    for (int j = 0; j < L; j++) {
      long long v = s->ids[i * L + j];
      if (v < 0)
        return ds_fail(err, "%s: dataset 'input_ids': row %ld, column %d: id %lld is negative",
                       in->path, r0 + i, j, v);
      if (v >= limit)
        return ds_fail(err, "%s: dataset 'input_ids': row %ld, column %d: id %lld outside [0, %lld)%s",
                       in->path, r0 + i, j, v, limit, have_vs ? " (vocab_size)" : " (the largest vocabulary distill takes)");
      if (v > s->max_id) s->max_id = v;
    }
  return 0;
}

static int scan_mask(const ds_teacher *t, scan_bufs *s, long r0, long n, ds_err *err) {
  const ds_teacher_info *in = &t->info;
  int L = in->seq_len;
  size_t cells = (size_t)n * L;
  if (t->mask >= 0) {
    if (t->mask_is_enum) {
      hid_t mem = ds_teacher_mask_memtype(t);
      int rc = read_chunk(t, t->mask, "attention_mask", r0, n, L, mem, s->mask8, err);
      H5Tclose(mem);
      if (rc) return -1;
      for (size_t k = 0; k < cells; k++) s->mask[k] = (signed char)s->mask8[k];
    } else if (read_chunk(t, t->mask, "attention_mask", r0, n, L, H5T_NATIVE_LLONG, s->mask, err)) {
      return -1;
    }
  }
  for (long i = 0; i < n; i++) {
    int real = 0;
    for (int j = 0; j < L; j++) {
      if (t->mask < 0) {
        real += s->ids[i * L + j] != in->pad_id;
        continue;
      }
      long long m = s->mask[i * L + j];
      if (m != 0 && m != 1)
        return ds_fail(err, "%s: dataset 'attention_mask': row %ld, column %d: value %lld is not 0 or 1",
                       in->path, r0 + i, j, m);
      real += (int)m;
    }
    if (real == 0) {
      if (t->mask >= 0)
        return ds_fail(err, "%s: dataset 'attention_mask': row %ld has no real token", in->path, r0 + i);
      return ds_fail(err, "%s: dataset 'input_ids': row %ld has no real token (every id is pad_id %d)",
                     in->path, r0 + i, in->pad_id);
    }
  }
  return 0;
}

static int scan_target(const ds_teacher *t, scan_bufs *s, hid_t d, const char *name, int cols,
                       long r0, long n, ds_err *err) {
  if (read_chunk(t, d, name, r0, n, cols, H5T_NATIVE_DOUBLE, s->target, err)) return -1;
  for (long i = 0; i < n; i++)
    for (int j = 0; j < cols; j++) {
      double v = s->target[i * cols + j];
      if (!isfinite(v))
        return ds_fail(err, "%s: dataset '%s': row %ld, column %d: value is %s", t->info.path, name,
                       r0 + i, j, isnan(v) ? "NaN" : "Inf");
      if (fabs(v) > FLT_MAX)
        return ds_fail(err, "%s: dataset '%s': row %ld, column %d: value %g does not fit float32",
                       t->info.path, name, r0 + i, j, v);
    }
  return 0;
}

static int scan_labels(const ds_teacher *t, scan_bufs *s, long r0, long n, ds_err *err) {
  const ds_teacher_info *in = &t->info;
  if (read_chunk(t, t->labels, "labels", r0, n, 0, H5T_NATIVE_LLONG, s->labels, err)) return -1;
  long long limit = in->n_classes > 0 ? in->n_classes : (long long)INT32_MAX;
  for (long i = 0; i < n; i++) {
    long long v = s->labels[i];
    if (v < 0)
      return ds_fail(err, "%s: dataset 'labels': row %ld: label %lld is negative", in->path, r0 + i, v);
    if (v >= limit)
      return ds_fail(err, "%s: dataset 'labels': row %ld: label %lld outside [0, %lld)%s", in->path,
                     r0 + i, v, limit, in->n_classes > 0 ? " (columns of 'logits')" : "");
  }
  return 0;
}

static int scan_rows(ds_teacher *t, scan_bufs *s, long chunk, int have_vs, ds_err *err) {
  const ds_teacher_info *in = &t->info;
  for (long r0 = 0; r0 < in->n_rows; r0 += chunk) {
    long n = in->n_rows - r0 < chunk ? in->n_rows - r0 : chunk;
    if (scan_ids(t, s, r0, n, have_vs, err) || scan_mask(t, s, r0, n, err)) return -1;
    if (t->logits >= 0 && scan_target(t, s, t->logits, "logits", in->n_classes, r0, n, err)) return -1;
    if (t->emb >= 0 && scan_target(t, s, t->emb, "embeddings", in->emb_dim, r0, n, err)) return -1;
    if (t->labels >= 0 && scan_labels(t, s, r0, n, err)) return -1;
  }
  return 0;
}

int ds_teacher_scan(ds_teacher *t, int have_vocab_size, ds_err *err) {
  ds_teacher_info *in = &t->info;
  long width = in->seq_len;
  long twidth = in->n_classes > in->emb_dim ? in->n_classes : in->emb_dim;
  if (twidth > width) width = twidth;
  long chunk = SCAN_MAX_VALUES / width;
  if (chunk > SCAN_MAX_ROWS) chunk = SCAN_MAX_ROWS;
  if (chunk < 1) chunk = 1;
  scan_bufs s = {0};
  s.max_id = -1;
  s.ids = malloc(sizeof *s.ids * chunk * in->seq_len);
  s.mask = malloc(sizeof *s.mask * chunk * in->seq_len);
  s.mask8 = malloc((size_t)chunk * in->seq_len);
  s.target = malloc(sizeof *s.target * chunk * twidth);
  s.labels = malloc(sizeof *s.labels * chunk);
  int rc;
  if (!s.ids || !s.mask || !s.mask8 || !s.target || !s.labels)
    rc = ds_fail(err, "%s: out of memory for the validation scan", in->path);
  else
    rc = scan_rows(t, &s, chunk, have_vocab_size, err);
  if (rc == 0 && !have_vocab_size) in->vocab_size = (int)(s.max_id + 1);
  free(s.ids);
  free(s.mask);
  free(s.mask8);
  free(s.target);
  free(s.labels);
  return rc;
}
