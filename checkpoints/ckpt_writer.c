/* Atomic checkpoint writing: everything goes to PATH.tmp; commit makes it durable, then renames
 * it over PATH, so a reader sees either the old checkpoint or the complete new one. */
#define _GNU_SOURCE /* fallocate, memfd_create, sendfile: the disk-full paths below (Linux) */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/common.h"
#include "h5/h5.h"
#include "checkpoints/ckpt_h5.h"

struct ds_ckpt_writer {
  hid_t file;
  hid_t lcpl;   /* creates the groups of "a/b/name" on the way */
  char *path;
  char *tmp;
  int failed;   /* an earlier write failed: commit must not publish a partial checkpoint */
  off_t reserved; /* bytes allocated ahead of the final flush (reserve_flush_space) */
};

static char *str_concat(const char *a, const char *b) {
  size_t na = strlen(a), nb = strlen(b);
  char *s = malloc(na + nb + 1);
  if (!s) return NULL;
  memcpy(s, a, na);
  memcpy(s + na, b, nb + 1);
  return s;
}

/* A full disk and HDF5 1.10: once a flush of its metadata fails, H5Fclose fails too ("slist already enabled"),
 * the file stays half-open inside the library, and the library crashes when the process exits. So HDF5 must
 * never meet a full disk while it flushes. Two guards: commit reserves the space the flush can need before
 * flushing, and abort moves the doomed file into memory before closing it. */

/* Allocates (without changing the file's size) every byte the file has plus what the metadata cache may still
 * write and a margin for HDF5's write buffers, so the flush cannot run out of space. 0, or an errno value. */
static int reserve_flush_space(ds_ckpt_writer *w) {
  const int fd = ds_h5_file_fd(w->file);
  hsize_t size = 0;
  size_t max_size = 0, min_clean = 0, cur_size = 0;
  int n_entries = 0;
  if (fd < 0 || H5Fget_filesize(w->file, &size) < 0) return 0; /* cannot tell: go ahead */
  if (H5Fget_mdc_size(w->file, &max_size, &min_clean, &cur_size, &n_entries) < 0) cur_size = max_size;
  const off_t need = (off_t)size + (off_t)cur_size + (64 << 10);
  if (fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, need) == 0) {
    w->reserved = need;
    return 0;
  }
  /* A file system that cannot preallocate: go ahead unprotected. */
  return errno == EOPNOTSUPP || errno == ENOSYS || errno == EINVAL ? 0 : errno;
}

/* After the close: the reserved blocks past the end HDF5 gave the file go back to the file system. */
static void release_reserved(const ds_ckpt_writer *w) {
  if (w->reserved <= 0) return;
  const int fd = open(w->tmp, O_WRONLY | O_CLOEXEC);
  struct stat st;
  if (fd < 0) return;
  if (fstat(fd, &st) == 0 && st.st_size < w->reserved)
    fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, st.st_size, w->reserved - st.st_size);
  close(fd);
}

/* Before a failed file is closed: its bytes are copied into an in-memory file that takes the place of the
 * descriptor HDF5 writes to, so whatever the close still writes goes to memory, and the space the file held on
 * disk is free again once it is unlinked. Without memfd_create the close goes to the disk as it is. */
static void writer_detach_to_memory(ds_ckpt_writer *w) {
  const int fd = ds_h5_file_fd(w->file);
  if (fd < 0) return;
  struct stat st;
  const int mfd = memfd_create("distill-checkpoint", MFD_CLOEXEC);
  if (mfd < 0 || fstat(fd, &st) != 0) {
    if (mfd >= 0) close(mfd);
    return;
  }
  off_t off = 0;
  while (off < st.st_size) {
    const ssize_t n = sendfile(mfd, fd, &off, (size_t)(st.st_size - off));
    if (n <= 0) break;
  }
  if (off == st.st_size) dup2(mfd, fd);
  close(mfd);
}

static void writer_free(ds_ckpt_writer *w) {
  if (w->lcpl >= 0) H5Pclose(w->lcpl);
  if (w->file >= 0) H5Fclose(w->file);
  free(w->path);
  free(w->tmp);
  free(w);
}

static int attr_write(ds_ckpt_writer *w, const char *name, hid_t ftype, hid_t mtype,
                      const void *value, ds_err *err) {
  if (!w || !name || !*name) return ds_fail(err, "checkpoint attribute: no writer or empty name");
  if (H5Aexists(w->file, name) > 0) {
    w->failed = 1;
    return ds_fail(err, "%s: attribute '%s' written twice", w->tmp, name);
  }
  int rc = -1;
  char cause[256] = "";
  hid_t space = H5Screate(H5S_SCALAR);
  hid_t attr = space < 0 ? -1 : H5Acreate2(w->file, name, ftype, space, H5P_DEFAULT, H5P_DEFAULT);
  if (attr >= 0 && H5Awrite(attr, mtype, value) >= 0) rc = 0;
  if (rc < 0) ds_h5_cause(cause, sizeof cause);
  if (attr >= 0) H5Aclose(attr);
  if (space >= 0) H5Sclose(space);
  if (rc < 0) {
    w->failed = 1;
    return ds_fail(err, "%s: cannot write attribute '%s': %s", w->tmp, name, cause);
  }
  return 0;
}

static int attr_write_str(ds_ckpt_writer *w, const char *name, const char *value, ds_err *err) {
  if (!value) return ds_fail(err, "%s: attribute '%s': NULL string", w ? w->tmp : "?", name);
  hid_t t = ds_h5_vlen_str_type();
  if (t < 0) return ds_fail(err, "%s: cannot make a string type", w ? w->tmp : "?");
  int rc = attr_write(w, name, t, t, &value, err);
  H5Tclose(t);
  return rc;
}

int ds_ckpt_writer_open(ds_ckpt_writer **out, const char *path, const char *format_name,
                        int version, ds_err *err) {
  *out = NULL;
  if (!path || !*path) return ds_fail(err, "checkpoint: empty path");
  if (!format_name || !*format_name) return ds_fail(err, "%s: empty checkpoint format name", path);
  if (version < 1) return ds_fail(err, "%s: checkpoint format version %d is not >= 1", path, version);

  ds_ckpt_writer *w = calloc(1, sizeof *w);
  if (!w) return ds_fail(err, "%s: out of memory", path);
  w->file = w->lcpl = H5I_INVALID_HID;
  w->path = str_concat(path, "");
  w->tmp = str_concat(path, DS_ATOMIC_TMP_SUFFIX);
  if (!w->path || !w->tmp) {
    writer_free(w);
    return ds_fail(err, "%s: out of memory", path);
  }
  /* A crashed earlier write may have left PATH.tmp behind, possibly unreadable as HDF5. */
  if (unlink(w->tmp) != 0 && errno != ENOENT) {
    int e = errno;
    writer_free(w);
    return ds_fail(err, "%s" DS_ATOMIC_TMP_SUFFIX ": cannot remove stale temporary file: %s", path, strerror(e));
  }

  ds_h5_quiet q;
  ds_h5_quiet_begin(&q);
  char cause[256] = "";
  hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  /* v1.8 object headers store long attributes (a whole config) densely instead of failing at
   * 64 KiB; CLOSE_STRONG guarantees H5Fclose really closes before the rename. */
  if (fapl >= 0) {
    H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_LATEST);
    H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG);
    w->file = H5Fcreate(w->tmp, H5F_ACC_EXCL, H5P_DEFAULT, fapl);
    if (w->file < 0) ds_h5_cause(cause, sizeof cause);
    H5Pclose(fapl);
  }
  if (w->file >= 0) {
    w->lcpl = H5Pcreate(H5P_LINK_CREATE);
    if (w->lcpl >= 0) {
      H5Pset_create_intermediate_group(w->lcpl, 1);
      H5Pset_char_encoding(w->lcpl, H5T_CSET_UTF8);
    }
  }
  int rc = 0;
  if (w->file < 0 || w->lcpl < 0) {
    rc = ds_fail(err, "%s: cannot create checkpoint file: %s", w->tmp, cause);
  } else {
    int64_t v = version;
    rc = attr_write_str(w, "format", format_name, err);
    if (rc == 0) rc = attr_write(w, "format_version", H5T_STD_I64LE, H5T_NATIVE_INT64, &v, err);
  }
  ds_h5_quiet_end(&q);
  if (rc < 0) {
    ds_ckpt_writer_abort(w);
    return -1;
  }
  *out = w;
  return 0;
}

static int shape_numel(const char *file, const char *name, int ndim, const int64_t *shape,
                       hsize_t *dims, size_t *numel, ds_err *err) {
  if (ndim < 0 || ndim > DS_CKPT_MAX_DIMS)
    return ds_fail(err, "%s: dataset '%s': %d dimensions (0..%d allowed)", file, name, ndim,
                   DS_CKPT_MAX_DIMS);
  if (ndim > 0 && !shape) return ds_fail(err, "%s: dataset '%s': no shape", file, name);
  size_t n = 1;
  for (int i = 0; i < ndim; i++) {
    if (shape[i] < 0) return ds_fail(err, "%s: dataset '%s': negative dimension", file, name);
    if (shape[i] > 0 && n > SIZE_MAX / 16 / (size_t)shape[i])
      return ds_fail(err, "%s: dataset '%s': too large", file, name);
    n *= (size_t)shape[i];
    dims[i] = (hsize_t)shape[i];
  }
  *numel = n;
  return 0;
}

/* Creates a new contiguous dataset and writes all of it from data (in memory type mtype). */
static int dataset_write(ds_ckpt_writer *w, const char *name, hid_t ftype, hid_t mtype, int ndim,
                         const hsize_t *dims, size_t numel, const void *data, ds_err *err) {
  if (ds_h5_path_exists(w->file, name))
    return ds_fail(err, "%s: dataset '%s' written twice", w->tmp, name);
  if (numel > 0 && !data) return ds_fail(err, "%s: dataset '%s': no data", w->tmp, name);
  int rc = -1;
  char cause[256] = "";
  hid_t space = ndim == 0 ? H5Screate(H5S_SCALAR) : H5Screate_simple(ndim, dims, NULL);
  hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
  hid_t dset = H5I_INVALID_HID;
  if (space >= 0 && dcpl >= 0 && H5Pset_layout(dcpl, H5D_CONTIGUOUS) >= 0) {
    dset = H5Dcreate2(w->file, name, ftype, space, w->lcpl, dcpl, H5P_DEFAULT);
    if (dset >= 0 && (numel == 0 || H5Dwrite(dset, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) >= 0))
      rc = 0;
  }
  if (rc < 0) ds_h5_cause(cause, sizeof cause);
  /* Closing writes out what HDF5 still buffers (its sieve buffer): a full disk can show here first. */
  if (dset >= 0 && H5Dclose(dset) < 0 && rc == 0) {
    rc = -1;
    ds_h5_cause(cause, sizeof cause);
  }
  if (dcpl >= 0) H5Pclose(dcpl);
  if (space >= 0) H5Sclose(space);
  if (rc < 0) return ds_fail(err, "%s: cannot write dataset '%s': %s", w->tmp, name, cause);
  return 0;
}

static int tensor_write(ds_ckpt_writer *w, const char *name, ds_ckpt_dtype t, int ndim,
                        const int64_t *shape, const void *data, ds_err *err) {
  if (!w) return ds_fail(err, "checkpoint: no writer");
  if (!name || !*name) {
    w->failed = 1;
    return ds_fail(err, "%s: empty dataset name", w->tmp);
  }
  hsize_t dims[DS_CKPT_MAX_DIMS];
  size_t numel = 0;
  int rc = shape_numel(w->tmp, name, ndim, shape, dims, &numel, err);
  if (rc == 0) {
    ds_h5_quiet q;
    ds_h5_quiet_begin(&q);
    rc = dataset_write(w, name, ds_h5_file_type(t), ds_h5_mem_type(t), ndim, dims, numel, data, err);
    ds_h5_quiet_end(&q);
  }
  if (rc < 0) w->failed = 1;
  return rc;
}

int ds_ckpt_write_f32(ds_ckpt_writer *w, const char *name, int ndim, const int64_t *shape,
                      const float *data, ds_err *err) {
  return tensor_write(w, name, DS_CKPT_F32, ndim, shape, data, err);
}

int ds_ckpt_write_f64(ds_ckpt_writer *w, const char *name, int ndim, const int64_t *shape,
                      const double *data, ds_err *err) {
  return tensor_write(w, name, DS_CKPT_F64, ndim, shape, data, err);
}

int ds_ckpt_write_i32(ds_ckpt_writer *w, const char *name, int ndim, const int64_t *shape,
                      const int32_t *data, ds_err *err) {
  return tensor_write(w, name, DS_CKPT_I32, ndim, shape, data, err);
}

int ds_ckpt_write_i64(ds_ckpt_writer *w, const char *name, int ndim, const int64_t *shape,
                      const int64_t *data, ds_err *err) {
  return tensor_write(w, name, DS_CKPT_I64, ndim, shape, data, err);
}

int ds_ckpt_write_u8(ds_ckpt_writer *w, const char *name, int ndim, const int64_t *shape,
                     const uint8_t *data, ds_err *err) {
  return tensor_write(w, name, DS_CKPT_U8, ndim, shape, data, err);
}

int ds_ckpt_write_bytes(ds_ckpt_writer *w, const char *name, const void *data, size_t n,
                        ds_err *err) {
  if (n > (size_t)INT64_MAX) return ds_fail(err, "%s: blob '%s' too large", w ? w->tmp : "?", name);
  int64_t len = (int64_t)n;
  return tensor_write(w, name, DS_CKPT_U8, 1, &len, data, err);
}

int ds_ckpt_write_strings(ds_ckpt_writer *w, const char *name, const char *const *s, int n,
                          ds_err *err) {
  if (!w) return ds_fail(err, "checkpoint: no writer");
  if (!name || !*name) {
    w->failed = 1;
    return ds_fail(err, "%s: empty dataset name", w->tmp);
  }
  if (n < 0 || (n > 0 && !s)) {
    w->failed = 1;
    return ds_fail(err, "%s: dataset '%s': bad string count %d", w->tmp, name, n);
  }
  for (int i = 0; i < n; i++)
    if (!s[i]) {
      w->failed = 1;
      return ds_fail(err, "%s: dataset '%s': string %d is NULL", w->tmp, name, i);
    }
  ds_h5_quiet q;
  ds_h5_quiet_begin(&q);
  hsize_t dims[1] = {(hsize_t)n};
  hid_t t = ds_h5_vlen_str_type();
  int rc = t < 0 ? ds_fail(err, "%s: cannot make a string type", w->tmp)
                 : dataset_write(w, name, t, t, 1, dims, (size_t)n, s, err);
  if (t >= 0) H5Tclose(t);
  ds_h5_quiet_end(&q);
  if (rc < 0) w->failed = 1;
  return rc;
}

int ds_ckpt_write_attr_str(ds_ckpt_writer *w, const char *name, const char *value, ds_err *err) {
  ds_h5_quiet q;
  ds_h5_quiet_begin(&q);
  int rc = attr_write_str(w, name, value, err);
  ds_h5_quiet_end(&q);
  return rc;
}

int ds_ckpt_write_attr_i64(ds_ckpt_writer *w, const char *name, int64_t value, ds_err *err) {
  ds_h5_quiet q;
  ds_h5_quiet_begin(&q);
  int rc = attr_write(w, name, H5T_STD_I64LE, H5T_NATIVE_INT64, &value, err);
  ds_h5_quiet_end(&q);
  return rc;
}

int ds_ckpt_write_attr_f64(ds_ckpt_writer *w, const char *name, double value, ds_err *err) {
  ds_h5_quiet q;
  ds_h5_quiet_begin(&q);
  int rc = attr_write(w, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &value, err);
  ds_h5_quiet_end(&q);
  return rc;
}

int ds_ckpt_writer_commit(ds_ckpt_writer *w, ds_err *err) {
  if (!w) return ds_fail(err, "checkpoint: no writer to commit");
  if (w->failed) {
    ds_fail(err, "%s: not saved because an earlier write to it failed", w->path);
    ds_ckpt_writer_abort(w);
    return -1;
  }
  ds_h5_quiet q;
  ds_h5_quiet_begin(&q);
  char cause[256] = "";
  H5Pclose(w->lcpl);
  w->lcpl = H5I_INVALID_HID;
  const int no_space = reserve_flush_space(w);
  if (no_space) {
    ds_h5_quiet_end(&q);
    ds_fail(err, "%s: cannot write checkpoint: %s", w->tmp, strerror(no_space));
    ds_ckpt_writer_abort(w);
    return -1;
  }
  herr_t flushed = H5Fflush(w->file, H5F_SCOPE_GLOBAL);
  if (flushed < 0) ds_h5_cause(cause, sizeof cause); /* the next call clears HDF5's error stack */
  herr_t closed = H5Fclose(w->file);
  if (flushed >= 0 && closed < 0) ds_h5_cause(cause, sizeof cause);
  w->file = H5I_INVALID_HID;
  ds_h5_quiet_end(&q);
  if (flushed < 0 || closed < 0) {
    ds_fail(err, "%s: cannot flush checkpoint: %s", w->tmp, cause);
    ds_ckpt_writer_abort(w);
    return -1;
  }
  release_reserved(w);
  if (ds_fsync_path(w->tmp, 0) != 0) {
    ds_fail(err, "%s: cannot sync checkpoint to disk: %s", w->tmp, strerror(errno));
    ds_ckpt_writer_abort(w);
    return -1;
  }
  if (rename(w->tmp, w->path) != 0) {
    ds_fail(err, "%s: cannot rename to %s: %s", w->tmp, w->path, strerror(errno));
    ds_ckpt_writer_abort(w);
    return -1;
  }
  /* The rename is only durable once the directory entry itself reaches the disk. */
  char dir[DS_ATOMIC_PATH_MAX];
  ds_dir_of(w->path, dir, sizeof dir);
  int rc = 0;
  if (ds_fsync_path(dir, 1) != 0)
    rc = ds_fail(err, "%s: saved, but cannot sync directory %s: %s", w->path, dir, strerror(errno));
  writer_free(w);
  return rc;
}

void ds_ckpt_writer_abort(ds_ckpt_writer *w) {
  if (!w) return;
  ds_h5_quiet q;
  ds_h5_quiet_begin(&q);
  if (w->lcpl >= 0) H5Pclose(w->lcpl);
  if (w->file >= 0) writer_detach_to_memory(w); /* the file is discarded: let its close write to memory */
  if (w->file >= 0) H5Fclose(w->file);
  w->lcpl = w->file = H5I_INVALID_HID;
  ds_h5_quiet_end(&q);
  if (w->tmp) unlink(w->tmp);
  writer_free(w);
}
