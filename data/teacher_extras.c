/* The optional datasets that teacher-derived training uses: `token_embeddings` [V, D] (the teacher's
 * embedding of each vocabulary token on its own, for initialising a student) and `hidden_states`
 * [N, L, H] (the teacher's last-layer token states, for token-level distillation). Both are checked
 * like the required ones at open time: type, shape against the rest of the file, every value finite. */
#include <math.h>
#include <stdlib.h>

#include "data/teacher_private.h"

#define EXTRAS_CHUNK_VALUES (1L << 21) /* doubles per scan buffer (16 MB) */

static int float_class(hid_t d) {
  hid_t type = H5Dget_type(d);
  int ok = type >= 0 && H5Tget_class(type) == H5T_FLOAT;
  if (type >= 0) H5Tclose(type);
  return ok;
}

static int extents(hid_t d, hsize_t dims[3]) {
  hid_t space = H5Dget_space(d);
  int rank = space < 0 ? -1 : H5Sget_simple_extent_ndims(space);
  hsize_t all[H5S_MAX_RANK] = {0};
  if (rank >= 0) H5Sget_simple_extent_dims(space, all, NULL);
  if (space >= 0) H5Sclose(space);
  for (int i = 0; i < 3; i++) dims[i] = all[i];
  return rank;
}

/* Reads rows [r0, r0+n) of a dataset as `memtype`: rank 2 [rows, width] (len unused), or rank 3
 * [rows, tokens, width] of which the first `len` tokens. */
static int read_rows(const ds_teacher *t, hid_t d, const char *name, int rank, long r0, long n, hsize_t len,
                     hsize_t width, hid_t memtype, void *buf, ds_err *err) {
  hsize_t start[3] = {(hsize_t)r0, 0, 0}, count[3] = {(hsize_t)n, len, width};
  if (rank == 2) count[1] = width;
  hid_t fs = H5Dget_space(d), ms = H5Screate_simple(rank, count, NULL);
  herr_t rc = fs < 0 || ms < 0 ? -1 : H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL);
  if (rc >= 0) rc = H5Dread(d, memtype, ms, fs, H5P_DEFAULT, buf);
  if (ms >= 0) H5Sclose(ms);
  if (fs >= 0) H5Sclose(fs);
  if (rc < 0)
    return ds_fail(err, "%s: dataset '%s': cannot read rows %ld..%ld (file truncated or damaged?)", t->info.path,
                   name, r0, r0 + n - 1);
  return 0;
}

/* Every value of a [rows, ...] float dataset is finite and fits float32; per_row values per row. */
static int scan_finite(const ds_teacher *t, hid_t d, const char *name, int rank, long rows, hsize_t len,
                       hsize_t width, ds_err *err) {
  const long per_row = (long)(len * width);
  long chunk = EXTRAS_CHUNK_VALUES / per_row;
  if (chunk < 1) chunk = 1;
  double *buf = malloc(sizeof *buf * (size_t)chunk * per_row);
  if (!buf) return ds_fail(err, "%s: out of memory scanning dataset '%s'", t->info.path, name);
  int rc = 0;
  for (long r0 = 0; r0 < rows && rc == 0; r0 += chunk) {
    long n = rows - r0 < chunk ? rows - r0 : chunk;
    rc = read_rows(t, d, name, rank, r0, n, len, width, H5T_NATIVE_DOUBLE, buf, err);
    for (long k = 0; rc == 0 && k < n * per_row; k++) {
      double v = buf[k];
      if (!isfinite(v) || fabs(v) > 3.4e38)
        rc = ds_fail(err, "%s: dataset '%s': row %ld, value %ld: %s", t->info.path, name, r0 + k / per_row,
                     k % per_row, isnan(v) ? "NaN" : isinf(v) ? "Inf" : "does not fit float32");
    }
  }
  free(buf);
  return rc;
}

static int check_token_embeddings(ds_teacher *t, ds_err *err) {
  ds_teacher_info *in = &t->info;
  if (ds_teacher_open_optional(t, "token_embeddings", &t->tok_emb, err)) return -1;
  if (t->tok_emb < 0) return 0;
  hsize_t dims[3];
  int rank = extents(t->tok_emb, dims);
  if (rank != 2 || !float_class(t->tok_emb))
    return ds_fail(err, "%s: dataset 'token_embeddings' must be 2-D [vocab_size, D] of a float type", in->path);
  if (in->emb_dim == 0)
    return ds_fail(err, "%s: dataset 'token_embeddings' needs the dataset 'embeddings' it is a table of",
                   in->path);
  if (dims[0] != (hsize_t)in->vocab_size)
    return ds_fail(err, "%s: dataset 'token_embeddings' has %llu rows but the vocabulary has %d (vocab_size)",
                   in->path, (unsigned long long)dims[0], in->vocab_size);
  if (dims[1] != (hsize_t)in->emb_dim)
    return ds_fail(err, "%s: dataset 'token_embeddings' has %llu columns but 'embeddings' has %d", in->path,
                   (unsigned long long)dims[1], in->emb_dim);
  if (scan_finite(t, t->tok_emb, "token_embeddings", 2, in->vocab_size, 1, dims[1], err)) return -1;
  in->has_token_emb = 1;
  return 0;
}

static int check_hidden_states(ds_teacher *t, ds_err *err) {
  ds_teacher_info *in = &t->info;
  if (ds_teacher_open_optional(t, "hidden_states", &t->hidden, err)) return -1;
  if (t->hidden < 0) return 0;
  hsize_t dims[3];
  int rank = extents(t->hidden, dims);
  if (rank != 3 || !float_class(t->hidden))
    return ds_fail(err, "%s: dataset 'hidden_states' must be 3-D [N, L, H] of a float type", in->path);
  if ((long)dims[0] != in->n_rows || dims[1] != (hsize_t)in->seq_len)
    return ds_fail(err, "%s: dataset 'hidden_states' has shape [%llu, %llu, %llu] but 'input_ids' is [%ld, %d]",
                   in->path, (unsigned long long)dims[0], (unsigned long long)dims[1],
                   (unsigned long long)dims[2], in->n_rows, in->seq_len);
  if (dims[2] == 0 || dims[2] > 65536)
    return ds_fail(err, "%s: dataset 'hidden_states' has %llu features per token", in->path,
                   (unsigned long long)dims[2]);
  if (scan_finite(t, t->hidden, "hidden_states", 3, in->n_rows, dims[1], dims[2], err)) return -1;
  in->hidden_dim = (int)dims[2];
  return 0;
}

int ds_teacher_check_extras(ds_teacher *t, ds_err *err) {
  return check_token_embeddings(t, err) || check_hidden_states(t, err) ? -1 : 0;
}

int ds_teacher_load_token_embeddings(ds_teacher *t, float **out, ds_err *err) {
  const ds_teacher_info *in = &t->info;
  *out = NULL;
  if (!in->has_token_emb) return ds_fail(err, "%s: has no dataset 'token_embeddings'", in->path);
  float *table = malloc(sizeof *table * (size_t)in->vocab_size * in->emb_dim);
  if (!table) return ds_fail(err, "%s: out of memory for 'token_embeddings'", in->path);
  ds_h5_quiet q;
  ds_h5_quiet_begin(&q);
  int rc = read_rows(t, t->tok_emb, "token_embeddings", 2, 0, in->vocab_size, 1, (hsize_t)in->emb_dim,
                     H5T_NATIVE_FLOAT, table, err);
  ds_h5_quiet_end(&q);
  if (rc) {
    free(table);
    return -1;
  }
  *out = table;
  return 0;
}

int ds_teacher_read_hidden(const ds_teacher *t, const ds_row_run *runs, int n_runs, int len,
                           float *buf, ds_err *err) {
  const size_t per_row = (size_t)len * t->info.hidden_dim;
  long at = 0;
  for (int k = 0; k < n_runs; k++) {
    if (read_rows(t, t->hidden, "hidden_states", 3, runs[k].start, runs[k].count, (hsize_t)len,
                  (hsize_t)t->info.hidden_dim, H5T_NATIVE_FLOAT, buf + (size_t)at * per_row, err))
      return -1;
    at += runs[k].count;
  }
  return 0;
}

int ds_teacher_read_hidden_for_batch(ds_teacher *t, ds_batch *b, ds_err *err) {
  if (!b->hidden) return ds_fail(err, "%s: batch has no room for hidden states", t->info.path);
  ds_h5_quiet q;
  ds_h5_quiet_begin(&q);
  int rc = 0;
  for (int i = 0; i < b->n && rc == 0; i++) {
    const ds_row_run run = {b->rows[i], 1};
    rc = ds_teacher_read_hidden(t, &run, 1, b->len, b->hidden + (size_t)i * b->len * t->info.hidden_dim, err);
  }
  if (ds_teacher_check_size(t, err)) rc = -1;
  ds_h5_quiet_end(&q);
  return rc;
}
