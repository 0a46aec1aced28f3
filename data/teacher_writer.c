#include "data/data.h"

#include <stdlib.h>
#include <string.h>

#include "data/teacher_private.h"

enum { W_IDS, W_MASK, W_LOGITS, W_EMB, W_LABELS, W_COUNT };
static const char *const w_names[W_COUNT] = {"input_ids", "attention_mask", "logits", "embeddings",
                                             "labels"};

struct ds_teacher_writer {
  ds_teacher_writer_params p;
  hid_t file;
  hid_t d[W_COUNT]; /* H5I_INVALID_HID for data the file does not hold */
  int cols[W_COUNT];/* 0 for the 1-D labels */
  long rows;
  char path[1024];
};

ds_teacher_writer_params ds_teacher_writer_default_params(void) {
  ds_teacher_writer_params p;
  memset(&p, 0, sizeof p);
  p.has_mask = 1;
  return p;
}

static hid_t create_dataset(const ds_teacher_writer *w, const char *name, hid_t type, int cols) {
  int rank = cols > 0 ? 2 : 1;
  hsize_t dims[2] = {(hsize_t)w->p.n_rows, (hsize_t)cols};
  hsize_t maxdims[2] = {H5S_UNLIMITED, (hsize_t)cols};
  hsize_t chunk[2] = {(hsize_t)(w->p.chunk_rows > 0 ? w->p.chunk_rows : 256), (hsize_t)cols};
  hid_t space = H5Screate_simple(rank, dims, maxdims);
  hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
  H5Pset_chunk(dcpl, rank, chunk);
  H5Pset_fill_time(dcpl, H5D_FILL_TIME_NEVER); /* every row is written by append */
  hid_t d = H5Dcreate2(w->file, name, type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
  H5Pclose(dcpl);
  H5Sclose(space);
  return d;
}

static int write_int_attr(hid_t file, const char *name, int v) {
  hid_t space = H5Screate(H5S_SCALAR);
  hid_t a = H5Acreate2(file, name, H5T_STD_I64LE, space, H5P_DEFAULT, H5P_DEFAULT);
  long long x = v;
  herr_t rc = a < 0 ? -1 : H5Awrite(a, H5T_NATIVE_LLONG, &x);
  if (a >= 0) H5Aclose(a);
  H5Sclose(space);
  return rc < 0 ? -1 : 0;
}

static hid_t utf8_vlen_string(void) {
  hid_t type = H5Tcopy(H5T_C_S1);
  H5Tset_size(type, H5T_VARIABLE);
  H5Tset_cset(type, H5T_CSET_UTF8);
  return type;
}

static int write_metadata(ds_teacher_writer *w) {
  const ds_teacher_writer_params *p = &w->p;
  if (p->vocab_size > 0 && write_int_attr(w->file, "vocab_size", p->vocab_size)) return -1;
  if (write_int_attr(w->file, "pad_id", p->pad_id)) return -1;
  hid_t str = utf8_vlen_string();
  herr_t rc = 0;
  if (p->teacher_name) {
    hid_t space = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(w->file, "teacher", str, space, H5P_DEFAULT, H5P_DEFAULT);
    rc = a < 0 ? -1 : H5Awrite(a, str, &p->teacher_name);
    if (a >= 0) H5Aclose(a);
    H5Sclose(space);
  }
  if (rc >= 0 && p->vocab) {
    hsize_t n = (hsize_t)p->n_vocab;
    hid_t space = H5Screate_simple(1, &n, NULL);
    hid_t d = H5Dcreate2(w->file, "vocab", str, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    rc = d < 0 ? -1 : H5Dwrite(d, str, H5S_ALL, H5S_ALL, H5P_DEFAULT, p->vocab);
    if (d >= 0) H5Dclose(d);
    H5Sclose(space);
  }
  H5Tclose(str);
  return rc < 0 ? -1 : 0;
}

static int create_all(ds_teacher_writer *w, ds_err *err) {
  const ds_teacher_writer_params *p = &w->p;
  w->file = H5Fcreate(w->path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  if (w->file < 0) return ds_fail(err, "%s: cannot create the file", w->path);
  const int want[W_COUNT] = {1, p->has_mask, p->n_classes > 0, p->emb_dim > 0, p->has_labels};
  const hid_t types[W_COUNT] = {H5T_STD_I32LE, H5T_STD_U8LE, H5T_IEEE_F32LE, H5T_IEEE_F32LE,
                                H5T_STD_I32LE};
  const int cols[W_COUNT] = {p->seq_len, p->seq_len, p->n_classes, p->emb_dim, 0};
  for (int k = 0; k < W_COUNT; k++) {
    w->cols[k] = cols[k];
    if (!want[k]) continue;
    w->d[k] = create_dataset(w, w_names[k], types[k], cols[k]);
    if (w->d[k] < 0) return ds_fail(err, "%s: cannot create dataset '%s'", w->path, w_names[k]);
  }
  if (write_metadata(w)) return ds_fail(err, "%s: cannot write the attributes or 'vocab'", w->path);
  return 0;
}

static int close_all(ds_teacher_writer *w) {
  int rc = 0;
  for (int k = 0; k < W_COUNT; k++)
    if (w->d[k] >= 0 && H5Dclose(w->d[k]) < 0) rc = -1;
  if (w->file >= 0 && H5Fclose(w->file) < 0) rc = -1;
  free(w);
  return rc;
}

int ds_teacher_writer_create(ds_teacher_writer **out, const char *path,
                             const ds_teacher_writer_params *p, ds_err *err) {
  *out = NULL;
  if (strlen(path) >= sizeof((ds_teacher_writer *)0)->path)
    return ds_fail(err, "%.200s...: path too long", path);
  if (p->seq_len <= 0 || p->n_classes < 0 || p->emb_dim < 0 || p->n_rows < 0 ||
      (p->n_classes == 0 && p->emb_dim == 0) || (p->vocab && p->n_vocab <= 0))
    return ds_fail(err, "%s: writer needs seq_len > 0, logits or embeddings, n_vocab > 0 with vocab",
                   path);
  ds_teacher_writer *w = calloc(1, sizeof *w);
  if (!w) return ds_fail(err, "%s: out of memory", path);
  w->p = *p;
  w->file = H5I_INVALID_HID;
  for (int k = 0; k < W_COUNT; k++) w->d[k] = H5I_INVALID_HID;
  strcpy(w->path, path);
  ds_h5_quiet q;
  ds_h5_quiet_begin(&q);
  int rc = create_all(w, err);
  if (rc) close_all(w);
  ds_h5_quiet_end(&q);
  if (rc) return -1;
  *out = w;
  return 0;
}

static int append_all(ds_teacher_writer *w, long n, const void *const src[W_COUNT], ds_err *err) {
  const hid_t memtypes[W_COUNT] = {H5T_NATIVE_INT32, H5T_NATIVE_UINT8, H5T_NATIVE_FLOAT,
                                   H5T_NATIVE_FLOAT, H5T_NATIVE_INT32};
  for (int k = 0; k < W_COUNT; k++) {
    if (w->d[k] < 0) continue;
    int rank = w->cols[k] > 0 ? 2 : 1;
    hsize_t size[2] = {(hsize_t)(w->rows + n), (hsize_t)w->cols[k]};
    if (w->rows + n > w->p.n_rows && H5Dset_extent(w->d[k], size) < 0)
      return ds_fail(err, "%s: dataset '%s': cannot grow to %ld rows", w->path, w_names[k], w->rows + n);
    hsize_t start[2] = {(hsize_t)w->rows, 0}, count[2] = {(hsize_t)n, (hsize_t)w->cols[k]};
    hid_t fs = H5Dget_space(w->d[k]);
    hid_t ms = H5Screate_simple(rank, count, NULL);
    herr_t rc = H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL);
    if (rc >= 0) rc = H5Dwrite(w->d[k], memtypes[k], ms, fs, H5P_DEFAULT, src[k]);
    H5Sclose(ms);
    H5Sclose(fs);
    if (rc < 0)
      return ds_fail(err, "%s: dataset '%s': cannot write rows %ld..%ld", w->path, w_names[k], w->rows,
                     w->rows + n - 1);
  }
  return 0;
}

int ds_teacher_writer_append(ds_teacher_writer *w, long n, const int32_t *ids, const uint8_t *mask,
                             const float *logits, const float *emb, const int32_t *labels,
                             ds_err *err) {
  const void *const src[W_COUNT] = {ids, mask, logits, emb, labels};
  if (n <= 0) return 0;
  for (int k = 0; k < W_COUNT; k++)
    if (w->d[k] >= 0 && !src[k])
      return ds_fail(err, "%s: append without data for dataset '%s'", w->path, w_names[k]);
  if (w->p.n_rows > 0 && w->rows + n > w->p.n_rows)
    return ds_fail(err, "%s: appending %ld rows exceeds the declared %ld", w->path, n, w->p.n_rows);
  ds_h5_quiet q;
  ds_h5_quiet_begin(&q);
  int rc = append_all(w, n, src, err);
  ds_h5_quiet_end(&q);
  if (rc) return -1;
  w->rows += n;
  return 0;
}

long ds_teacher_writer_rows(const ds_teacher_writer *w) { return w->rows; }

int ds_teacher_writer_close(ds_teacher_writer *w, ds_err *err) {
  if (!w) return 0;
  char path[sizeof w->path];
  strcpy(path, w->path);
  long rows = w->rows, want = w->p.n_rows;
  ds_h5_quiet q;
  ds_h5_quiet_begin(&q);
  int rc = close_all(w);
  ds_h5_quiet_end(&q);
  if (rc) return ds_fail(err, "%s: cannot flush and close the file", path);
  if (want > 0 && rows != want)
    return ds_fail(err, "%s: %ld rows written, %ld declared", path, rows, want);
  return 0;
}
