/* A checkpoint at PATH survives an aborted write, a writer process that dies mid-write (exit
 * without commit, and SIGKILL), and a stale or garbage PATH.tmp; the next write still works. */
#include "ckpt_fixture.h"

#include <signal.h>
#include <sys/wait.h>

#include "tests/check.h"

/* The child writes half the tensors of seed `seed` to PATH.tmp and dies without committing. */
static int child_dies_mid_write(const char *path, int seed, int by_signal) {
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    ds_err err;
    ds_ckpt_writer *w;
    if (ds_ckpt_writer_open(&w, path, FIX_FORMAT, 1, &err) < 0) _exit(3);
    if (fix_write_tensors(w, seed, 0, FIX_TENSORS / 2, &err) < 0) _exit(4);
    if (by_signal) raise(SIGKILL);
    _exit(0);
  }
  int status = 0;
  if (waitpid(pid, &status, 0) != pid) return -1;
  if (by_signal) return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL ? 0 : -1;
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

static int file_unchanged(const char *path, const unsigned char *ref, size_t ref_n) {
  size_t n = 0;
  unsigned char *now = fix_slurp(path, &n);
  int same = now && n == ref_n && memcmp(now, ref, n) == 0;
  free(now);
  return same;
}

int main(void) {
  char dir[1024], path[1200], tmp[1300];
  CHECK(fix_mkdtemp(dir, sizeof dir) == 0);
  snprintf(path, sizeof path, "%s/last.ckpt", dir);
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  ds_err err = {{0}};

  CHECK_MSG(fix_write_sample(path, 1, &err) == 0, "%s", err.msg);
  CHECK_MSG(fix_load_sample(path, &err) == 1, "%s", err.msg);
  size_t ref_n = 0;
  unsigned char *ref = fix_slurp(path, &ref_n);
  CHECK(ref && ref_n > (size_t)FIX_TENSORS * FIX_ROWS * FIX_COLS * sizeof(float));

  /* Aborted: PATH.tmp is removed, PATH is untouched. */
  ds_ckpt_writer *w = NULL;
  CHECK(ds_ckpt_writer_open(&w, path, FIX_FORMAT, 1, &err) == 0);
  CHECK(fix_exists(tmp));
  CHECK(fix_write_tensors(w, 2, 0, FIX_TENSORS / 2, &err) == 0);
  ds_ckpt_writer_abort(w);
  CHECK(!fix_exists(tmp));
  CHECK(file_unchanged(path, ref, ref_n));
  CHECK(fix_load_sample(path, &err) == 1);

  /* A writer process exits mid-write: its half-written PATH.tmp stays, PATH does not change. */
  CHECK(child_dies_mid_write(path, 3, 0) == 0);
  CHECK(fix_exists(tmp));
  CHECK(file_unchanged(path, ref, ref_n));
  CHECK_MSG(fix_load_sample(path, &err) == 1, "%s", err.msg);
  /* ... and the leftover is not a loadable checkpoint, so nobody mistakes it for one. */
  CHECK(fix_load_sample(tmp, &err) < 0);

  /* The next write replaces the stale PATH.tmp and commits normally. */
  CHECK_MSG(fix_write_sample(path, 4, &err) == 0, "%s", err.msg);
  CHECK(!fix_exists(tmp));
  CHECK_MSG(fix_load_sample(path, &err) == 4, "%s", err.msg);
  free(ref);
  ref = fix_slurp(path, &ref_n);

  /* Killed by SIGKILL mid-write: same guarantees. */
  CHECK(child_dies_mid_write(path, 5, 1) == 0);
  CHECK(fix_exists(tmp));
  CHECK(file_unchanged(path, ref, ref_n));
  CHECK_MSG(fix_load_sample(path, &err) == 4, "%s", err.msg);

  /* A PATH.tmp that is not HDF5 at all (say, a torn write of something else) is no obstacle. */
  CHECK(fix_spit(tmp, "garbage\n", 8) == 0);
  CHECK_MSG(fix_write_sample(path, 6, &err) == 0, "%s", err.msg);
  CHECK_MSG(fix_load_sample(path, &err) == 6, "%s", err.msg);
  CHECK(!fix_exists(tmp));

  /* Committing over PATH while a reader has the old file open: the reader keeps its data. */
  ds_ckpt_reader *r = NULL;
  CHECK(ds_ckpt_open(&r, path, FIX_FORMAT, 1, &err) == 0);
  CHECK_MSG(fix_write_sample(path, 7, &err) == 0, "%s", err.msg);
  int64_t seed = 0;
  if (r) {
    CHECK(ds_ckpt_read_attr_i64(r, "seed", &seed, &err) == 0 && seed == 6);
    ds_ckpt_close(r);
  }
  CHECK(fix_load_sample(path, &err) == 7);

  /* A directory that does not exist: refused at open, naming the file. */
  char nowhere[1300];
  snprintf(nowhere, sizeof nowhere, "%s/no/such/dir/x.ckpt", dir);
  CHECK(ds_ckpt_writer_open(&w, nowhere, FIX_FORMAT, 1, &err) < 0 && w == NULL);
  CHECK_MSG(strstr(err.msg, "x.ckpt.tmp") && strstr(err.msg, "cannot create"), "%s", err.msg);

  free(ref);
  fix_rmdir(dir);
  return check_report();
}
