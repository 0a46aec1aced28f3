/* Whole-or-nothing writes (common/common.h): the file appears with exactly the bytes written and no
 * PATH.tmp; a failure anywhere (missing folder, a full disk, the caller's abort) leaves the previous file
 * as it was, no PATH.tmp, and a message naming the file. The full disk is /dev/full, where every write
 * fails with ENOSPC at the flush. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../check.h"
#include "common/common.h"

static int exists(const char *p) { return access(p, F_OK) == 0; }

static int has_content(const char *p, const char *want) {
  char buf[256] = {0};
  FILE *f = fopen(p, "rb");
  if (!f) return 0;
  const size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  return n == strlen(want) && memcmp(buf, want, n) == 0;
}

int main(void) {
  char dir[] = "/tmp/test_atomic_XXXXXX";
  CHECK(mkdtemp(dir) != NULL);
  char path[256], tmp[300];
  snprintf(path, sizeof path, "%s/out.txt", dir);
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  ds_err err = {{0}};

  CHECK(ds_atomic_write(path, "first", 5, &err) == 0);
  CHECK(has_content(path, "first") && !exists(tmp));
  CHECK(ds_atomic_write(path, "second!", 7, &err) == 0); /* replaces */
  CHECK(has_content(path, "second!") && !exists(tmp));

  /* The caller gives up half way: the old file stays. */
  ds_atomic_file a;
  CHECK(ds_atomic_open(&a, path, "w", &err) == 0);
  fputs("half", a.f);
  ds_atomic_abort(&a);
  CHECK(has_content(path, "second!") && !exists(tmp));

  /* A full disk: the bytes cannot be flushed; commit fails, names the file, the old file stays. */
  CHECK(ds_atomic_open(&a, path, "w", &err) == 0);
  fclose(a.f);
  a.f = fopen("/dev/full", "w");
  if (a.f) {
    fputs("lost", a.f);
    memset(&err, 0, sizeof err);
    CHECK(ds_atomic_commit(&a, &err) == -1);
    CHECK_MSG(strstr(err.msg, "out.txt.tmp") && strstr(err.msg, "cannot write"), "%s", err.msg);
    CHECK(has_content(path, "second!") && !exists(tmp));
  }

  /* A folder that does not exist: refused with the path, nothing created. */
  char missing[300];
  snprintf(missing, sizeof missing, "%s/no/such/dir/x.bin", dir);
  memset(&err, 0, sizeof err);
  CHECK(ds_atomic_write(missing, "x", 1, &err) == -1);
  CHECK_MSG(strstr(err.msg, "no/such/dir/x.bin.tmp") != NULL, "%s", err.msg);

  char d[64];
  ds_dir_of("a/b/c.txt", d, sizeof d);
  CHECK(strcmp(d, "a/b") == 0);
  ds_dir_of("c.txt", d, sizeof d);
  CHECK(strcmp(d, ".") == 0);
  ds_dir_of("/c.txt", d, sizeof d);
  CHECK(strcmp(d, "/") == 0);

  remove(path);
  rmdir(dir);
  return check_report();
}
