/* Opening a teacher file: the file itself, the schema (names, ranks, types, shapes, row counts)
 * and the root attributes. The value scan lives in teacher_scan.c. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data/teacher_private.h"
#include "h5/h5.h"

int ds_teacher_open_optional(ds_teacher *t, const char *name, hid_t *out, ds_err *err) {
  *out = H5I_INVALID_HID;
  htri_t there = H5Lexists(t->file, name, H5P_DEFAULT);
  if (there < 0) return ds_fail(err, "%s: cannot look up dataset '%s'", t->info.path, name);
  if (!there) return 0;
  /* A large chunk cache keeps the loader's block reads from re-reading the same chunk. */
  hid_t dapl = H5Pcreate(H5P_DATASET_ACCESS);
  H5Pset_chunk_cache(dapl, 12421, 16u << 20, 1.0);
  *out = H5Dopen2(t->file, name, dapl);
  H5Pclose(dapl);
  if (*out < 0) return ds_fail(err, "%s: '%s' is not a dataset", t->info.path, name);
  /* Unwritten values read as fill values: a small file could declare any number of rows and have the
   * scan read them all. */
  if (ds_h5_fully_stored(*out) != 1)
    return ds_fail(err, "%s: dataset '%s' does not store all the values its shape declares (file truncated or "
                   "damaged?)", t->info.path, name);
  return 0;
}

/* Rank and the first two extents; rank is returned even when it is not 1 or 2. */
static int dataset_shape(const ds_teacher *t, hid_t d, const char *name, int *rank, hsize_t dims[2],
                         ds_err *err) {
  hid_t space = H5Dget_space(d);
  int r = space < 0 ? -1 : H5Sget_simple_extent_ndims(space);
  hsize_t all[H5S_MAX_RANK] = {0};
  if (r >= 0) H5Sget_simple_extent_dims(space, all, NULL);
  if (space >= 0) H5Sclose(space);
  if (r < 0) return ds_fail(err, "%s: dataset '%s': cannot read its shape", t->info.path, name);
  *rank = r;
  dims[0] = all[0];
  dims[1] = all[1];
  return 0;
}

static H5T_class_t dataset_class(hid_t d, size_t *size) {
  hid_t type = H5Dget_type(d);
  H5T_class_t c = H5Tget_class(type);
  if (size) *size = H5Tget_size(type);
  H5Tclose(type);
  return c;
}

/* h5py stores numpy bool as a 1-byte integer enum (FALSE=0, TRUE=1). */
static int is_bool_enum(hid_t d) {
  hid_t type = H5Dget_type(d);
  int ok = 0;
  if (H5Tget_class(type) == H5T_ENUM && H5Tget_size(type) == 1) {
    hid_t base = H5Tget_super(type);
    ok = H5Tget_class(base) == H5T_INTEGER;
    H5Tclose(base);
  }
  H5Tclose(type);
  return ok;
}

static int check_2d(const ds_teacher *t, hid_t d, const char *name, H5T_class_t want,
                    const char *want_text, hsize_t dims[2], ds_err *err) {
  int rank;
  if (dataset_shape(t, d, name, &rank, dims, err)) return -1;
  if (rank != 2)
    return ds_fail(err, "%s: dataset '%s' must be 2-D [N, %s], got %d dimension(s)", t->info.path,
                   name, !strcmp(name, "input_ids") ? "L" : !strcmp(name, "logits") ? "C" : "D", rank);
  if (dataset_class(d, NULL) != want)
    return ds_fail(err, "%s: dataset '%s' must be %s", t->info.path, name, want_text);
  if (dims[1] == 0 || dims[1] > INT_MAX)
    return ds_fail(err, "%s: dataset '%s' has %llu columns", t->info.path, name,
                   (unsigned long long)dims[1]);
  return 0;
}

static int check_rows(const ds_teacher *t, const char *name, hsize_t rows, ds_err *err) {
  if ((long)rows != t->info.n_rows)
    return ds_fail(err, "%s: dataset '%s' has %llu rows but 'input_ids' has %ld", t->info.path,
                   name, (unsigned long long)rows, t->info.n_rows);
  return 0;
}

/* Reads an integer root attribute of one element; *found = 0 if absent. */
static int attr_long(const ds_teacher *t, const char *name, long long *v, int *found, ds_err *err) {
  *found = 0;
  htri_t there = H5Aexists(t->file, name);
  if (there <= 0) return there < 0 ? ds_fail(err, "%s: cannot look up attribute '%s'", t->info.path, name) : 0;
  hid_t a = H5Aopen(t->file, name, H5P_DEFAULT);
  hid_t type = a < 0 ? -1 : H5Aget_type(a);
  hid_t space = a < 0 ? -1 : H5Aget_space(a);
  int ok = a >= 0 && H5Tget_class(type) == H5T_INTEGER && H5Sget_simple_extent_npoints(space) == 1 &&
           H5Aread(a, H5T_NATIVE_LLONG, v) >= 0;
  if (space >= 0) H5Sclose(space);
  if (type >= 0) H5Tclose(type);
  if (a >= 0) H5Aclose(a);
  if (!ok) return ds_fail(err, "%s: root attribute '%s' must be a single integer", t->info.path, name);
  *found = 1;
  return 0;
}

/* Reads a string root attribute (fixed or variable length) into buf; "" if absent. */
static int attr_string(const ds_teacher *t, const char *name, char *buf, size_t cap, ds_err *err) {
  buf[0] = '\0';
  htri_t there = H5Aexists(t->file, name);
  if (there <= 0) return there < 0 ? ds_fail(err, "%s: cannot look up attribute '%s'", t->info.path, name) : 0;
  hid_t a = H5Aopen(t->file, name, H5P_DEFAULT);
  hid_t type = a < 0 ? -1 : H5Aget_type(a);
  hid_t space = a < 0 ? -1 : H5Aget_space(a);
  int ok = a >= 0 && H5Tget_class(type) == H5T_STRING && H5Sget_simple_extent_npoints(space) == 1;
  if (ok && H5Tis_variable_str(type) > 0) {
    char *s = NULL;
    hid_t mem = H5Tcopy(H5T_C_S1);
    H5Tset_size(mem, H5T_VARIABLE);
    H5Tset_cset(mem, H5Tget_cset(type));
    ok = H5Aread(a, mem, &s) >= 0;
    if (ok && s) snprintf(buf, cap, "%s", s);
    if (s) H5free_memory(s);
    H5Tclose(mem);
  } else if (ok) {
    size_t n = H5Tget_size(type);
    char *raw = calloc(n + 1, 1);
    ok = raw && H5Aread(a, type, raw) >= 0;
    if (ok) snprintf(buf, cap, "%s", raw);
    free(raw);
  }
  if (space >= 0) H5Sclose(space);
  if (type >= 0) H5Tclose(type);
  if (a >= 0) H5Aclose(a);
  if (!ok) return ds_fail(err, "%s: root attribute '%s' must be a string", t->info.path, name);
  return 0;
}

static int open_file(ds_teacher *t, const char *path, ds_err *err) {
  struct stat st;
  if (stat(path, &st) != 0) return ds_fail(err, "%s: no such file", path);
  if (!S_ISREG(st.st_mode)) return ds_fail(err, "%s: not a regular file", path);
  htri_t h5 = H5Fis_hdf5(path);
  if (h5 <= 0) return ds_fail(err, "%s: not an HDF5 file", path);
  t->file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  if (t->file < 0) return ds_fail(err, "%s: cannot open as HDF5 (file truncated or damaged?)", path);
  t->file_size = (long long)st.st_size;
  return ds_teacher_check_size(t, err); /* the size of the file HDF5 opened, should it differ from the stat */
}

static int check_schema(ds_teacher *t, ds_err *err) {
  ds_teacher_info *in = &t->info;
  const char *p = in->path;
  hsize_t dims[2];
  if (ds_teacher_open_optional(t, "input_ids", &t->ids, err)) return -1;
  if (t->ids < 0) return ds_fail(err, "%s: dataset 'input_ids' is missing", p);
  if (check_2d(t, t->ids, "input_ids", H5T_INTEGER, "an integer type (int32 or int64)", dims, err))
    return -1;
  if (dims[0] == 0) return ds_fail(err, "%s: dataset 'input_ids' has zero rows", p);
  in->n_rows = (long)dims[0];
  in->seq_len = (int)dims[1];

  if (ds_teacher_open_optional(t, "logits", &t->logits, err) || ds_teacher_open_optional(t, "embeddings", &t->emb, err))
    return -1;
  if (t->logits < 0 && t->emb < 0)
    return ds_fail(err, "%s: has neither dataset 'logits' nor 'embeddings'", p);
  if (t->logits >= 0) {
    if (check_2d(t, t->logits, "logits", H5T_FLOAT, "a float type (float16/32/64)", dims, err) ||
        check_rows(t, "logits", dims[0], err))
      return -1;
    in->n_classes = (int)dims[1];
  }
  if (t->emb >= 0) {
    if (check_2d(t, t->emb, "embeddings", H5T_FLOAT, "a float type (float16/32/64)", dims, err) ||
        check_rows(t, "embeddings", dims[0], err))
      return -1;
    in->emb_dim = (int)dims[1];
  }

  if (ds_teacher_open_optional(t, "attention_mask", &t->mask, err)) return -1;
  if (t->mask >= 0) {
    int rank;
    if (dataset_shape(t, t->mask, "attention_mask", &rank, dims, err)) return -1;
    if (rank != 2 || (long)dims[0] != in->n_rows || dims[1] != (hsize_t)in->seq_len)
      return ds_fail(err, "%s: dataset 'attention_mask' must have the shape of 'input_ids' [%ld, %d]",
                     p, in->n_rows, in->seq_len);
    t->mask_is_enum = is_bool_enum(t->mask);
    if (!t->mask_is_enum && dataset_class(t->mask, NULL) != H5T_INTEGER)
      return ds_fail(err, "%s: dataset 'attention_mask' must be uint8, int8 or bool", p);
    in->has_mask = 1;
  }

  if (ds_teacher_open_optional(t, "labels", &t->labels, err)) return -1;
  if (t->labels >= 0) {
    int rank;
    if (dataset_shape(t, t->labels, "labels", &rank, dims, err)) return -1;
    if (rank != 1 || dataset_class(t->labels, NULL) != H5T_INTEGER)
      return ds_fail(err, "%s: dataset 'labels' must be 1-D [N] of an integer type", p);
    if (check_rows(t, "labels", dims[0], err)) return -1;
    in->has_labels = 1;
  }

  if (ds_teacher_open_optional(t, "vocab", &t->vocab, err)) return -1;
  if (t->vocab >= 0) {
    int rank;
    if (dataset_shape(t, t->vocab, "vocab", &rank, dims, err)) return -1;
    if (rank != 1 || dataset_class(t->vocab, NULL) != H5T_STRING)
      return ds_fail(err, "%s: dataset 'vocab' must be 1-D of strings", p);
    if (dims[0] > INT_MAX) return ds_fail(err, "%s: dataset 'vocab' is too long", p);
    in->n_vocab = (int)dims[0];
  }
  return 0;
}

static int check_attributes(ds_teacher *t, int *have_vocab_size, ds_err *err) {
  long long v;
  int found;
  if (attr_long(t, "vocab_size", &v, &found, err)) return -1;
  if (found && (v <= 0 || v > INT_MAX))
    return ds_fail(err, "%s: root attribute 'vocab_size' = %lld is not a positive int", t->info.path, v);
  if (found && v > DS_TEACHER_MAX_VOCAB)
    return ds_fail(err, "%s: root attribute 'vocab_size' = %lld is larger than %d, the largest vocabulary distill takes",
                   t->info.path, v, DS_TEACHER_MAX_VOCAB);
  if (found) t->info.vocab_size = (int)v;
  *have_vocab_size = found;
  if (attr_long(t, "pad_id", &v, &found, err)) return -1;
  if (found && (v < INT_MIN || v > INT_MAX))
    return ds_fail(err, "%s: root attribute 'pad_id' = %lld does not fit an int", t->info.path, v);
  t->info.pad_id = found ? (int)v : 0;
  return attr_string(t, "teacher", t->info.name, sizeof t->info.name, err);
}

static int open_checked(ds_teacher *t, const char *path, ds_err *err) {
  int have_vocab_size = 0;
  if (open_file(t, path, err) || check_schema(t, err) || check_attributes(t, &have_vocab_size, err) ||
      ds_teacher_scan(t, have_vocab_size, err) || ds_teacher_check_extras(t, err))
    return -1;
  if (t->vocab >= 0 && t->info.n_vocab < t->info.vocab_size)
    return ds_fail(err, "%s: dataset 'vocab' has %d entries, fewer than vocab_size %d", path,
                   t->info.n_vocab, t->info.vocab_size);
  return 0;
}

int ds_teacher_open(ds_teacher **out, const char *path, ds_err *err) {
  *out = NULL;
  if (!path) return ds_fail(err, "teacher path is NULL");
  if (strlen(path) >= sizeof((ds_teacher_info *)0)->path)
    return ds_fail(err, "%.200s...: teacher path too long", path);
  ds_teacher *t = calloc(1, sizeof *t);
  if (!t) return ds_fail(err, "%s: out of memory", path);
  t->file = t->ids = t->mask = t->logits = t->emb = t->labels = t->vocab = H5I_INVALID_HID;
  t->tok_emb = t->hidden = H5I_INVALID_HID;
  strcpy(t->info.path, path);
  ds_h5_quiet q;
  ds_h5_quiet_begin(&q);
  int rc = open_checked(t, path, err);
  ds_h5_quiet_end(&q);
  if (rc) {
    ds_teacher_close(t);
    return -1;
  }
  *out = t;
  return 0;
}

const ds_teacher_info *ds_teacher_get_info(const ds_teacher *t) { return &t->info; }

void ds_teacher_close(ds_teacher *t) {
  if (!t) return;
  ds_h5_quiet q;
  ds_h5_quiet_begin(&q);
  hid_t *sets[] = {&t->ids, &t->mask, &t->logits, &t->emb, &t->labels, &t->vocab, &t->tok_emb, &t->hidden};
  for (size_t i = 0; i < sizeof sets / sizeof sets[0]; i++)
    if (*sets[i] >= 0) H5Dclose(*sets[i]);
  if (t->file >= 0) H5Fclose(t->file);
  ds_h5_quiet_end(&q);
  free(t);
}
