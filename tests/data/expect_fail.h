/* ds_teacher_open expected to fail, shared by the data tests that feed it broken teacher files
 * (test_teacher_invalid, test_teacher_extras). */
#ifndef DS_TESTS_DATA_EXPECT_FAIL_H
#define DS_TESTS_DATA_EXPECT_FAIL_H

#include <fcntl.h>
#include <sys/stat.h>

#include "tests/data/fixture.h"

#include "data/data.h"
#include "tests/check.h"

/* Opens path expecting failure (-1, the handle reset to NULL); the message must name the path and contain
 * every non-NULL want[]; nothing may reach stderr (captured in dir/stderr.txt). */
static inline void fx_expect_open_fail(const char *dir, const char *path, const char *const *want, int line) {
  char errpath[1200];
  snprintf(errpath, sizeof errpath, "%s/stderr.txt", dir);
  fflush(stderr);
  int saved = dup(2), fd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  dup2(fd, 2);
  ds_err err = {{0}};
  ds_teacher *t = (ds_teacher *)&err; /* must be reset to NULL on failure */
  int rc = ds_teacher_open(&t, path, &err);
  fflush(stderr);
  dup2(saved, 2);
  close(saved);
  close(fd);
  struct stat st;
  stat(errpath, &st);
  CHECK_MSG(rc == -1 && t == NULL, "line %d: open succeeded", line);
  CHECK_MSG(st.st_size == 0, "line %d: %ld bytes written to stderr", line, (long)st.st_size);
  CHECK_MSG(strstr(err.msg, path) != NULL, "line %d: no path in \"%s\"", line, err.msg);
  for (int k = 0; want[k]; k++)
    CHECK_MSG(strstr(err.msg, want[k]) != NULL, "line %d: \"%s\" not in \"%s\"", line, want[k], err.msg);
  if (getenv("SHOW_MSG")) printf("%s\n", err.msg);
  if (rc == 0) ds_teacher_close(t);
}
/* EXPECT_FAIL(path, "word", ...): uses the including test's scratch directory `dir`. */
#define EXPECT_FAIL(path, ...) fx_expect_open_fail(dir, path, (const char *const[]){__VA_ARGS__, NULL}, __LINE__)

#endif
