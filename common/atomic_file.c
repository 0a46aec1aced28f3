/* Whole-or-nothing file writes: see common/common.h. */
#include "common/common.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

int ds_fsync_path(const char *path, int is_dir) {
  int fd = open(path, is_dir ? O_RDONLY | O_DIRECTORY : O_RDONLY);
  if (fd < 0) return -1;
  int rc = fsync(fd);
  if (rc != 0 && errno == EINVAL) rc = 0; /* cannot sync a directory here: the rename is as durable as it gets */
  const int e = errno;
  close(fd);
  errno = e;
  return rc;
}

void ds_dir_of(const char *path, char *out, size_t n) {
  const char *slash = strrchr(path, '/');
  if (!slash) {
    snprintf(out, n, ".");
    return;
  }
  const int len = slash == path ? 1 : (int)(slash - path);
  snprintf(out, n, "%.*s", len, path);
}

int ds_atomic_open(ds_atomic_file *a, const char *path, const char *mode, ds_err *err) {
  memset(a, 0, sizeof *a);
  if (strlen(path) >= sizeof a->path) return ds_fail(err, "%s: path too long", path);
  snprintf(a->path, sizeof a->path, "%s", path);
  snprintf(a->tmp, sizeof a->tmp, "%s" DS_ATOMIC_TMP_SUFFIX, path);
  a->f = fopen(a->tmp, mode);
  if (!a->f) return ds_fail(err, "%s: cannot create: %s", a->tmp, strerror(errno));
  return 0;
}

void ds_atomic_abort(ds_atomic_file *a) {
  if (a->f) fclose(a->f);
  a->f = NULL;
  if (a->tmp[0]) remove(a->tmp);
}

int ds_atomic_commit(ds_atomic_file *a, ds_err *err) {
  if (!a->f) return ds_fail(err, "%s: not open", a->path);
  const int write_failed = ferror(a->f) || fflush(a->f) != 0;
  const int e_write = errno;
  const int synced = !write_failed && fsync(fileno(a->f)) == 0;
  const int e_sync = errno;
  const int closed = fclose(a->f) == 0;
  a->f = NULL;
  int rc = 0;
  if (write_failed) rc = ds_fail(err, "%s: cannot write: %s", a->tmp, strerror(e_write));
  else if (!synced) rc = ds_fail(err, "%s: cannot sync to disk: %s", a->tmp, strerror(e_sync));
  else if (!closed) rc = ds_fail(err, "%s: cannot write: %s", a->tmp, strerror(errno));
  else if (rename(a->tmp, a->path) != 0) rc = ds_fail(err, "%s: cannot rename to %s: %s", a->tmp, a->path, strerror(errno));
  if (rc) {
    remove(a->tmp);
    return rc;
  }
  char dir[DS_ATOMIC_PATH_MAX];
  ds_dir_of(a->path, dir, sizeof dir);
  if (ds_fsync_path(dir, 1) != 0)
    return ds_fail(err, "%s: written, but cannot sync directory %s: %s", a->path, dir, strerror(errno));
  return 0;
}

int ds_atomic_write(const char *path, const void *data, size_t size, ds_err *err) {
  ds_atomic_file a;
  if (ds_atomic_open(&a, path, "wb", err)) return -1;
  if (size > 0 && fwrite(data, 1, size, a.f) != size) {
    const int e = errno;
    ds_atomic_abort(&a);
    return ds_fail(err, "%s: cannot write: %s", a.tmp, strerror(e));
  }
  return ds_atomic_commit(&a, err);
}
