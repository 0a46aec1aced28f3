/* Opening a checkpoint (refusing what we cannot read, loudly) and reading whole tensors whose
 * type and shape the caller states, so a mismatched model fails instead of loading garbage. */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "checkpoints/ckpt_h5.h"
#include "h5/h5.h"

/* HDF5 looks for its signature at 0, 512, 1024, 2048, ... (a user block may precede it). */
static int has_hdf5_signature(FILE *f, long long size) {
  static const unsigned char sig[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
  for (long long off = 0; off + 8 <= size; off = off ? off * 2 : 512) {
    unsigned char buf[8];
    if (fseek(f, (long)off, SEEK_SET) != 0 || fread(buf, 1, 8, f) != 8) return 0;
    if (memcmp(buf, sig, 8) == 0) return 1;
  }
  return 0;
}

/* Gives clearer messages than H5Fopen for the common ways a path is not a checkpoint. */
static int file_precheck(const char *path, ds_err *err) {
  struct stat st;
  if (stat(path, &st) != 0) return ds_fail(err, "%s: cannot open: %s", path, strerror(errno));
  if (S_ISDIR(st.st_mode)) return ds_fail(err, "%s: is a directory, not a checkpoint", path);
  if (st.st_size == 0) return ds_fail(err, "%s: empty file, not a checkpoint", path);
  FILE *f = fopen(path, "rb");
  if (!f) return ds_fail(err, "%s: cannot open: %s", path, strerror(errno));
  int ok = has_hdf5_signature(f, (long long)st.st_size);
  fclose(f);
  if (!ok) return ds_fail(err, "%s: not an HDF5 file (no HDF5 signature)", path);
  return 0;
}

static int check_format(ds_ckpt_reader *r, const char *format_name, int max_version, ds_err *err) {
  if (ds_ckpt_has_attr(r, "format")) {
    char *fmt = NULL;
    if (ds_ckpt_read_attr_str(r, "format", &fmt, err) < 0) return -1;
    snprintf(r->format, sizeof r->format, "%s", fmt);
    free(fmt);
  }
  if (format_name && !ds_ckpt_has_attr(r, "format"))
    return ds_fail(err, "%s: not a '%s' file: no 'format' attribute", r->path, format_name);
  if (format_name && strcmp(r->format, format_name) != 0)
    return ds_fail(err, "%s: format is '%s', expected '%s'", r->path, r->format, format_name);

  if (ds_ckpt_has_attr(r, "format_version")) {
    int64_t v;
    if (ds_ckpt_read_attr_i64(r, "format_version", &v, err) < 0) return -1;
    if (v < 1 || v > 1000000)
      return ds_fail(err, "%s: invalid checkpoint format version %lld", r->path, (long long)v);
    r->version = (int)v;
  } else if (format_name) {
    return ds_fail(err, "%s: no 'format_version' attribute", r->path);
  }
  if (max_version >= 0 && r->version > max_version)
    return ds_fail(err, "%s: checkpoint format version %d is newer than this distill reads (%d)",
                   r->path, r->version, max_version);
  return 0;
}

int ds_ckpt_open(ds_ckpt_reader **out, const char *path, const char *format_name, int max_version,
                 ds_err *err) {
  *out = NULL;
  if (!path || !*path) return ds_fail(err, "checkpoint: empty path");
  if (file_precheck(path, err) < 0) return -1;
  ds_ckpt_reader *r = calloc(1, sizeof *r);
  if (!r || !(r->path = malloc(strlen(path) + 1))) {
    free(r);
    return ds_fail(err, "%s: out of memory", path);
  }
  strcpy(r->path, path);

  ds_h5_quiet q;
  ds_h5_quiet_begin(&q);
  char cause[256] = "";
  hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  if (fapl >= 0) H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG);
  r->file = fapl < 0 ? H5I_INVALID_HID : H5Fopen(path, H5F_ACC_RDONLY, fapl);
  /* This process may hold the file open already (`--resume` given the teacher file): HDF5 then refuses any
   * other close degree than the first open's, so open it again with the default degree, which matches any,
   * and let check_format say what the file is not. */
  if (r->file < 0 && fapl >= 0 && H5Pset_fclose_degree(fapl, H5F_CLOSE_DEFAULT) >= 0)
    r->file = H5Fopen(path, H5F_ACC_RDONLY, fapl);
  if (r->file < 0) ds_h5_cause(cause, sizeof cause);
  if (fapl >= 0) H5Pclose(fapl);
  int rc = r->file < 0 ? ds_fail(err, "%s: truncated or damaged HDF5 file (%s)", path, cause)
                       : check_format(r, format_name, max_version, err);
  ds_h5_quiet_end(&q);
  if (rc < 0) {
    ds_ckpt_close(r);
    return -1;
  }
  *out = r;
  return 0;
}

void ds_ckpt_close(ds_ckpt_reader *r) {
  if (!r) return;
  if (r->file >= 0) {
    ds_h5_quiet q;
    ds_h5_quiet_begin(&q);
    H5Fclose(r->file);
    ds_h5_quiet_end(&q);
  }
  free(r->path);
  free(r);
}

int ds_ckpt_version(const ds_ckpt_reader *r) { return r->version; }
const char *ds_ckpt_format(const ds_ckpt_reader *r) { return r->format; }
const char *ds_ckpt_path(const ds_ckpt_reader *r) { return r->path; }

int ds_ckpt_has(const ds_ckpt_reader *r, const char *name) {
  ds_h5_quiet q;
  ds_h5_quiet_begin(&q);
  int has = ds_h5_is_dataset(r->file, name);
  ds_h5_quiet_end(&q);
  return has;
}

int ds_ckpt_has_attr(const ds_ckpt_reader *r, const char *name) {
  if (!name || !*name) return 0;
  ds_h5_quiet q;
  ds_h5_quiet_begin(&q);
  int has = H5Aexists(r->file, name) > 0;
  ds_h5_quiet_end(&q);
  return has;
}

/* Opens a dataset and describes it; on failure nothing is left open. */
static hid_t dataset_open(ds_ckpt_reader *r, const char *name, int *ndim, int64_t *shape,
                          ds_ckpt_dtype *dtype, ds_err *err) {
  if (!name || !ds_h5_is_dataset(r->file, name)) {
    ds_fail(err, "%s: no dataset '%s'", r->path, name ? name : "(null)");
    return H5I_INVALID_HID;
  }
  hid_t dset = H5Dopen2(r->file, name, H5P_DEFAULT);
  hid_t type = dset < 0 ? H5I_INVALID_HID : H5Dget_type(dset);
  hid_t space = dset < 0 ? H5I_INVALID_HID : H5Dget_space(dset);
  int rank = space < 0 ? -1 : H5Sget_simple_extent_ndims(space);
  if (type >= 0) *dtype = ds_h5_dtype_of(type);
  if (rank >= 0 && rank <= DS_CKPT_MAX_DIMS) {
    hsize_t dims[DS_CKPT_MAX_DIMS];
    H5Sget_simple_extent_dims(space, dims, NULL);
    for (int i = 0; i < rank; i++) shape[i] = (int64_t)dims[i];
    *ndim = rank;
  }
  if (type >= 0) H5Tclose(type);
  if (space >= 0) H5Sclose(space);
  if (dset < 0 || type < 0 || rank < 0) {
    if (dset >= 0) H5Dclose(dset);
    ds_fail(err, "%s: cannot open dataset '%s'", r->path, name);
    return H5I_INVALID_HID;
  }
  if (rank > DS_CKPT_MAX_DIMS) {
    H5Dclose(dset);
    ds_fail(err, "%s: dataset '%s' has %d dimensions (at most %d)", r->path, name, rank,
            DS_CKPT_MAX_DIMS);
    return H5I_INVALID_HID;
  }
  /* Unwritten values read as fill values: a few bytes could declare a tensor of any size. */
  if (ds_h5_fully_stored(dset) != 1) {
    H5Dclose(dset);
    ds_fail(err, "%s: dataset '%s' does not store all the values its shape declares (file truncated or damaged?)",
            r->path, name);
    return H5I_INVALID_HID;
  }
  return dset;
}

int ds_ckpt_shape(ds_ckpt_reader *r, const char *name, int *ndim, int64_t *shape,
                  ds_ckpt_dtype *dtype, ds_err *err) {
  ds_ckpt_dtype t;
  ds_h5_quiet q;
  ds_h5_quiet_begin(&q);
  hid_t dset = dataset_open(r, name, ndim, shape, &t, err);
  if (dset >= 0) H5Dclose(dset);
  ds_h5_quiet_end(&q);
  if (dset < 0) return -1;
  if (dtype) *dtype = t;
  return 0;
}

static int shapes_equal(int na, const int64_t *a, int nb, const int64_t *b) {
  if (na != nb) return 0;
  for (int i = 0; i < na; i++)
    if (a[i] != b[i]) return 0;
  return 1;
}

static int tensor_read(ds_ckpt_reader *r, const char *name, ds_ckpt_dtype want, int ndim,
                       const int64_t *shape, void *out, ds_err *err) {
  int got_ndim = 0;
  int64_t got[DS_CKPT_MAX_DIMS];
  ds_ckpt_dtype got_type = DS_CKPT_OTHER;
  ds_h5_quiet q;
  ds_h5_quiet_begin(&q);
  int rc = -1;
  hid_t dset = dataset_open(r, name, &got_ndim, got, &got_type, err);
  if (dset < 0) {
    /* dataset_open has said why */
  } else if (got_type != want) {
    ds_fail(err, "%s: dataset '%s' is %s, expected %s", r->path, name, ds_ckpt_dtype_name(got_type),
            ds_ckpt_dtype_name(want));
  } else if (ndim < 0 || ndim > DS_CKPT_MAX_DIMS || (ndim > 0 && !shape) ||
             !shapes_equal(got_ndim, got, ndim, shape)) {
    char a[160], b[160];
    ds_ckpt_shape_format(a, sizeof a, got_ndim, got);
    if (ndim < 0 || ndim > DS_CKPT_MAX_DIMS || (ndim > 0 && !shape))
      snprintf(b, sizeof b, "(invalid: %d dimensions)", ndim);
    else
      ds_ckpt_shape_format(b, sizeof b, ndim, shape);
    ds_fail(err, "%s: dataset '%s' has shape %s, expected %s", r->path, name, a, b);
  } else {
    int64_t numel = 1;
    for (int i = 0; i < got_ndim; i++) numel *= got[i];
    char cause[256] = "";
    if (numel == 0 || H5Dread(dset, ds_h5_mem_type(want), H5S_ALL, H5S_ALL, H5P_DEFAULT, out) >= 0) {
      rc = 0;
    } else {
      ds_h5_cause(cause, sizeof cause);
      ds_fail(err, "%s: cannot read dataset '%s' (file damaged?): %s", r->path, name, cause);
    }
  }
  if (dset >= 0) H5Dclose(dset);
  ds_h5_quiet_end(&q);
  return rc;
}

int ds_ckpt_read_f32(ds_ckpt_reader *r, const char *name, int ndim, const int64_t *shape,
                     float *out, ds_err *err) {
  return tensor_read(r, name, DS_CKPT_F32, ndim, shape, out, err);
}

int ds_ckpt_read_f64(ds_ckpt_reader *r, const char *name, int ndim, const int64_t *shape,
                     double *out, ds_err *err) {
  return tensor_read(r, name, DS_CKPT_F64, ndim, shape, out, err);
}

int ds_ckpt_read_i32(ds_ckpt_reader *r, const char *name, int ndim, const int64_t *shape,
                     int32_t *out, ds_err *err) {
  return tensor_read(r, name, DS_CKPT_I32, ndim, shape, out, err);
}

int ds_ckpt_read_i64(ds_ckpt_reader *r, const char *name, int ndim, const int64_t *shape,
                     int64_t *out, ds_err *err) {
  return tensor_read(r, name, DS_CKPT_I64, ndim, shape, out, err);
}

int ds_ckpt_read_u8(ds_ckpt_reader *r, const char *name, int ndim, const int64_t *shape,
                    uint8_t *out, ds_err *err) {
  return tensor_read(r, name, DS_CKPT_U8, ndim, shape, out, err);
}

int ds_ckpt_read_bytes(ds_ckpt_reader *r, const char *name, void *out, size_t n, ds_err *err) {
  int ndim = 0;
  int64_t got[DS_CKPT_MAX_DIMS];
  ds_ckpt_dtype t;
  if (ds_ckpt_shape(r, name, &ndim, got, &t, err) < 0) return -1;
  if (t != DS_CKPT_U8 || ndim != 1)
    return ds_fail(err, "%s: dataset '%s' is not a byte blob", r->path, name);
  if ((uint64_t)got[0] != (uint64_t)n)
    return ds_fail(err, "%s: blob '%s' has %lld bytes, expected %zu", r->path, name,
                   (long long)got[0], n);
  int64_t len = (int64_t)n;
  return tensor_read(r, name, DS_CKPT_U8, 1, &len, out, err);
}
