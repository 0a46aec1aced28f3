/* The run folder's lock file: see common/common.h. */
#define _DEFAULT_SOURCE
#include "common/common.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

int ds_run_lock_acquire(const char *dir, int *fd, ds_err *err) {
  *fd = -1;
  char path[4096 + 16];
  if (snprintf(path, sizeof path, "%s/%s", dir, DS_RUN_LOCK_NAME) >= (int)sizeof path)
    return ds_fail(err, "%s: path too long", dir);
  const int f = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (f < 0)
    return ds_fail(err, "%s: cannot write in the run folder: cannot create %s: %s", dir, path, strerror(errno));
  int rc;
  do rc = flock(f, LOCK_EX | LOCK_NB);
  while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    const int e = errno;
    if (e == EWOULDBLOCK) {
      char buf[32] = "";
      const ssize_t n = pread(f, buf, sizeof buf - 1, 0);
      const long pid = n > 0 ? strtol(buf, NULL, 10) : 0;
      close(f);
      if (pid > 0)
        return ds_fail(err, "%s: another distill run (pid %ld) holds this run folder (%s is locked); wait for it "
                            "to end or choose another --out", dir, pid, path);
      return ds_fail(err, "%s: another distill run holds this run folder (%s is locked); wait for it to end or "
                          "choose another --out", dir, path);
    }
    close(f);
    return ds_fail(err, "%s: cannot lock %s: %s", dir, path, strerror(e));
  }
  /* Ours now: record who holds it. A failure here loses only the pid in a later message. */
  char buf[32];
  const int n = snprintf(buf, sizeof buf, "%ld\n", (long)getpid());
  if (ftruncate(f, 0) == 0 && pwrite(f, buf, (size_t)n, 0) != n) {
    /* a full disk: the lock itself holds all the same */
  }
  *fd = f;
  return 0;
}

void ds_run_lock_release(int fd) {
  if (fd < 0) return;
  flock(fd, LOCK_UN);
  close(fd);
}
