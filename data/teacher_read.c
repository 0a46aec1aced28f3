/* Batches: allocation and hyperslab reads. Values were range-checked by the open-time scan, so
 * HDF5's conversions to int32 / uint8 / float here are exact (float targets round to nearest). */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data/teacher_private.h"
#include "h5/h5.h"

int ds_teacher_check_size(const ds_teacher *t, ds_err *err) {
  const int fd = ds_h5_file_fd(t->file);
  struct stat st;
  /* Another driver than HDF5's default: nothing to check. */
  if (fd < 0 || fstat(fd, &st) != 0) return 0;
  if ((long long)st.st_size >= t->file_size) return 0;
  return ds_fail(err, "%s: the file shrank from %lld to %lld bytes while distill was reading it (truncated or "
                 "rewritten by another program?)", t->info.path, t->file_size, (long long)st.st_size);
}

int ds_batch_alloc(ds_batch *b, const ds_teacher_info *info, int rows, int max_len, ds_err *err) {
  memset(b, 0, sizeof *b);
  if (rows <= 0) return ds_fail(err, "%s: batch of %d rows", info->path, rows);
  int len = max_len > 0 && max_len < info->seq_len ? max_len : info->seq_len;
  size_t cells = (size_t)rows * len;
  b->cap_rows = rows;
  b->cap_len = len;
  b->ids = malloc(sizeof *b->ids * cells);
  b->mask = malloc(cells);
  b->rows = malloc(sizeof *b->rows * rows);
  if (info->n_classes > 0) b->logits = malloc(sizeof *b->logits * rows * info->n_classes);
  if (info->emb_dim > 0) b->emb = malloc(sizeof *b->emb * rows * info->emb_dim);
  if (info->has_labels) b->labels = malloc(sizeof *b->labels * rows);
  if (!b->ids || !b->mask || !b->rows || (info->n_classes > 0 && !b->logits) ||
      (info->emb_dim > 0 && !b->emb) || (info->has_labels && !b->labels)) {
    ds_batch_free(b);
    return ds_fail(err, "%s: out of memory for a batch of %d rows", info->path, rows);
  }
  return 0;
}

int ds_batch_want_hidden(ds_batch *b, const ds_teacher_info *info, ds_err *err) {
  if (info->hidden_dim <= 0) return ds_fail(err, "%s: has no dataset 'hidden_states'", info->path);
  free(b->hidden);
  b->hidden = malloc(sizeof *b->hidden * (size_t)b->cap_rows * b->cap_len * info->hidden_dim);
  if (!b->hidden) return ds_fail(err, "%s: out of memory for the hidden states of %d rows", info->path, b->cap_rows);
  return 0;
}

void ds_batch_free(ds_batch *b) {
  if (!b) return;
  free(b->hidden);
  free(b->ids);
  free(b->mask);
  free(b->logits);
  free(b->emb);
  free(b->labels);
  free(b->rows);
  memset(b, 0, sizeof *b);
}

hid_t ds_teacher_mask_memtype(const ds_teacher *t) {
  if (!t->mask_is_enum) return H5Tcopy(H5T_NATIVE_UINT8);
  hid_t ftype = H5Dget_type(t->mask);
  hid_t mem = H5Tget_native_type(ftype, H5T_DIR_ASCEND);
  H5Tclose(ftype);
  return mem;
}

/* `cols` leading columns (0: a 1-D dataset) of every run, one H5Dread per run: HDF5 1.10 maps a
 * union of hyperslabs onto chunks element by element, a single hyperslab in one step. */
static int read_dataset(const ds_teacher *t, hid_t d, const char *name, const ds_row_run *runs,
                        int n_runs, long total, int cols, hid_t memtype, void *buf, ds_err *err) {
  int rank = cols > 0 ? 2 : 1;
  hid_t fs = H5Dget_space(d);
  hsize_t mdims[2] = {(hsize_t)total, (hsize_t)cols};
  hid_t ms = H5Screate_simple(rank, mdims, NULL);
  herr_t rc = fs < 0 || ms < 0 ? -1 : 0;
  long at = 0;
  int k = 0;
  for (; k < n_runs && rc >= 0; k++) {
    hsize_t start[2] = {(hsize_t)runs[k].start, 0}, count[2] = {(hsize_t)runs[k].count, (hsize_t)cols};
    hsize_t mstart[2] = {(hsize_t)at, 0};
    rc = H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL);
    if (rc >= 0) rc = H5Sselect_hyperslab(ms, H5S_SELECT_SET, mstart, NULL, count, NULL);
    if (rc >= 0) rc = H5Dread(d, memtype, ms, fs, H5P_DEFAULT, buf);
    at += runs[k].count;
  }
  if (ms >= 0) H5Sclose(ms);
  if (fs >= 0) H5Sclose(fs);
  const ds_row_run *bad = &runs[k > 0 ? k - 1 : 0];
  if (rc < 0)
    return ds_fail(err, "%s: dataset '%s': cannot read rows %ld..%ld (file truncated or damaged?)",
                   t->info.path, name, bad->start, bad->start + bad->count - 1);
  return 0;
}

static int read_all(ds_teacher *t, const ds_row_run *runs, int n_runs, long total, int len,
                    ds_batch *b, ds_err *err) {
  const ds_teacher_info *in = &t->info;
  if (read_dataset(t, t->ids, "input_ids", runs, n_runs, total, len, H5T_NATIVE_INT32, b->ids, err))
    return -1;
  if (t->mask >= 0) {
    hid_t mem = ds_teacher_mask_memtype(t);
    int rc = read_dataset(t, t->mask, "attention_mask", runs, n_runs, total, len, mem, b->mask, err);
    H5Tclose(mem);
    if (rc) return -1;
  } else {
    for (size_t k = 0; k < (size_t)total * len; k++) b->mask[k] = b->ids[k] != in->pad_id;
  }
  if (t->logits >= 0 && read_dataset(t, t->logits, "logits", runs, n_runs, total, in->n_classes,
                                     H5T_NATIVE_FLOAT, b->logits, err))
    return -1;
  if (t->emb >= 0 && read_dataset(t, t->emb, "embeddings", runs, n_runs, total, in->emb_dim,
                                  H5T_NATIVE_FLOAT, b->emb, err))
    return -1;
  if (t->labels >= 0 &&
      read_dataset(t, t->labels, "labels", runs, n_runs, total, 0, H5T_NATIVE_INT32, b->labels, err))
    return -1;
  if (b->hidden && ds_teacher_read_hidden(t, runs, n_runs, len, b->hidden, err)) return -1;
  return 0;
}

int ds_teacher_read_runs(ds_teacher *t, const ds_row_run *runs, int n_runs, int max_len,
                         ds_batch *b, ds_err *err) {
  const ds_teacher_info *in = &t->info;
  int len = max_len > 0 && max_len < in->seq_len ? max_len : in->seq_len;
  long total = 0, prev_end = 0;
  for (int k = 0; k < n_runs; k++) {
    if (runs[k].count <= 0 || runs[k].start < prev_end || runs[k].start + runs[k].count > in->n_rows)
      return ds_fail(err, "%s: rows %ld..%ld: not sorted, disjoint and inside [0, %ld)", in->path,
                     runs[k].start, runs[k].start + runs[k].count - 1, in->n_rows);
    prev_end = runs[k].start + runs[k].count;
    total += runs[k].count;
  }
  if (n_runs <= 0) return ds_fail(err, "%s: read of zero rows", in->path);
  if (total > b->cap_rows || len > b->cap_len)
    return ds_fail(err, "%s: %ld rows of %d tokens exceed the batch's %d rows of %d", in->path, total,
                   len, b->cap_rows, b->cap_len);
  ds_h5_quiet q;
  ds_h5_quiet_begin(&q);
  int rc = ds_teacher_check_size(t, err);
  if (rc == 0) rc = read_all(t, runs, n_runs, total, len, b, err);
  /* Shrunk during the read: the rows may be zeros, or the read failed; either way that is the reason to give. */
  if (ds_teacher_check_size(t, err)) rc = -1;
  ds_h5_quiet_end(&q);
  if (rc) return -1;
  long i = 0;
  for (int k = 0; k < n_runs; k++)
    for (long r = runs[k].start; r < runs[k].start + runs[k].count; r++) b->rows[i++] = r;
  b->n = (int)total;
  b->len = len;
  return 0;
}

int ds_teacher_read(ds_teacher *t, long row0, int n, int max_len, ds_batch *b, ds_err *err) {
  ds_row_run run = {row0, n};
  return ds_teacher_read_runs(t, &run, 1, max_len, b, err);
}
