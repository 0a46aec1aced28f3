/* What is not a readable checkpoint is refused with a message naming the file (and dataset):
 * missing, empty, non-HDF5 and truncated files, wrong or missing format, newer versions, wrong
 * shapes, missing datasets. HDF5 itself must print nothing. */
#include "ckpt_fixture.h"

#include <fcntl.h>
#include <hdf5.h>
#include <sys/stat.h>

#include "tests/check.h"

/* Opens path expecting refusal; returns 1 if refused and the message contains `want`. */
static int refused_with(const char *path, const char *format, int max_version, const char *want,
                        ds_err *err) {
  ds_ckpt_reader *r = (ds_ckpt_reader *)1;
  err->msg[0] = '\0';
  int rc = ds_ckpt_open(&r, path, format, max_version, err);
  if (rc == 0) ds_ckpt_close(r);
  int ok = rc < 0 && r == NULL && strstr(err->msg, path) && strstr(err->msg, want);
  if (!ok) fprintf(stderr, "open(%s) gave rc %d, message: %s\n", path, rc, err->msg);
  return ok;
}

static long file_size(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

int main(void) {
  char dir[1024], good[1200], p[1300];
  CHECK(fix_mkdtemp(dir, sizeof dir) == 0);
  snprintf(good, sizeof good, "%s/good.ckpt", dir);
  ds_err err = {{0}};
  CHECK_MSG(fix_write_sample(good, 1, &err) == 0, "%s", err.msg);

  /* Everything HDF5 might print goes to a file we inspect at the end. */
  char errlog[1300];
  snprintf(errlog, sizeof errlog, "%s/stderr.log", dir);
  fflush(stderr);
  int saved_stderr = dup(2);
  int logfd = open(errlog, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  dup2(logfd, 2);
  close(logfd);
  int ok[16] = {0};

  snprintf(p, sizeof p, "%s/missing.ckpt", dir);
  ok[0] = refused_with(p, FIX_FORMAT, 1, "cannot open: No such file", &err);

  snprintf(p, sizeof p, "%s/empty.ckpt", dir);
  fix_spit(p, "", 0);
  ok[1] = refused_with(p, FIX_FORMAT, 1, "empty file", &err);

  snprintf(p, sizeof p, "%s/text.ckpt", dir);
  const char *text = "[student]\ndim = 128\nthis is not HDF5, though it is long enough to be read\n";
  fix_spit(p, text, strlen(text));
  ok[2] = refused_with(p, FIX_FORMAT, 1, "not an HDF5 file", &err);

  ok[3] = refused_with(dir, FIX_FORMAT, 1, "is a directory", &err);

  /* Truncated copies of a real checkpoint: half, a quarter, all but the last byte. */
  size_t n = 0;
  unsigned char *whole = fix_slurp(good, &n);
  size_t cuts[3] = {n / 2, n / 4, n - 1};
  for (int i = 0; i < 3 && whole; i++) {
    snprintf(p, sizeof p, "%s/cut%d.ckpt", dir, i);
    fix_spit(p, whole, cuts[i]);
    ok[4 + i] = refused_with(p, FIX_FORMAT, 1, "truncated or damaged HDF5 file", &err);
  }
  free(whole);

  /* Wrong format name and a newer version, written by our own writer. */
  ds_ckpt_writer *w;
  snprintf(p, sizeof p, "%s/other.ckpt", dir);
  if (ds_ckpt_writer_open(&w, p, "distill-model", 1, &err) == 0) ds_ckpt_writer_commit(w, &err);
  ok[7] = refused_with(p, FIX_FORMAT, 1, "format is 'distill-model', expected 'distill-checkpoint'",
                       &err);
  snprintf(p, sizeof p, "%s/v7.ckpt", dir);
  if (ds_ckpt_writer_open(&w, p, FIX_FORMAT, 7, &err) == 0) ds_ckpt_writer_commit(w, &err);
  char want[1500];
  snprintf(want, sizeof want, "%s: checkpoint format version 7 is newer than this distill reads (1)", p);
  ok[8] = refused_with(p, FIX_FORMAT, 1, want, &err) && strcmp(err.msg, want) == 0;

  /* An HDF5 file that is no checkpoint at all (e.g. a teacher file). */
  snprintf(p, sizeof p, "%s/plain.h5", dir);
  hid_t f = H5Fcreate(p, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  hsize_t dims[1] = {4};
  hid_t sp = H5Screate_simple(1, dims, NULL);
  hid_t d = H5Dcreate2(f, "input_ids", H5T_STD_I32LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  int ids[4] = {101, 7592, 102, 0};
  H5Dwrite(d, H5T_NATIVE_INT, H5S_ALL, H5S_ALL, H5P_DEFAULT, ids);
  H5Dclose(d);
  H5Sclose(sp);
  H5Fclose(f);
  ok[9] = refused_with(p, FIX_FORMAT, 1, "no 'format' attribute", &err);

  /* Shapes and names are checked on read. */
  ds_ckpt_reader *r = NULL;
  int r_open = ds_ckpt_open(&r, good, FIX_FORMAT, 1, &err) == 0;
  static float buf[FIX_ROWS * FIX_COLS];
  const int64_t transposed[2] = {FIX_COLS, FIX_ROWS}, flat[1] = {FIX_ROWS * FIX_COLS};
  char shape_msg[3][1500];
  if (r_open) {
    ds_ckpt_read_f32(r, "/params/t3", 2, transposed, buf, &err);
    snprintf(shape_msg[0], sizeof shape_msg[0], "%s", err.msg);
    ds_ckpt_read_f32(r, "/params/t3", 1, flat, buf, &err);
    snprintf(shape_msg[1], sizeof shape_msg[1], "%s", err.msg);
    ok[10] = ds_ckpt_read_f32(r, "/params/t99", 1, flat, buf, &err) < 0;
    snprintf(shape_msg[2], sizeof shape_msg[2], "%s", err.msg);
    ds_ckpt_close(r);
  }

  /* With no format asked for, any HDF5 file opens (for `distill inspect`): version 0. */
  snprintf(p, sizeof p, "%s/plain.h5", dir);
  ok[11] = ds_ckpt_open(&r, p, NULL, -1, &err) == 0 && ds_ckpt_version(r) == 0 &&
           ds_ckpt_format(r)[0] == '\0' && ds_ckpt_has(r, "input_ids");
  if (ok[11]) ds_ckpt_close(r);
  snprintf(p, sizeof p, "%s/v7.ckpt", dir);
  ok[12] = ds_ckpt_open(&r, p, NULL, -1, &err) == 0 && ds_ckpt_version(r) == 7;
  if (ok[12]) ds_ckpt_close(r);

  fflush(stderr);
  dup2(saved_stderr, 2);
  close(saved_stderr);

  for (int i = 0; i <= 12; i++) CHECK_MSG(ok[i], "case %d", i);
  CHECK_MSG(r_open, "%s", err.msg);
  char expect[1500];
  snprintf(expect, sizeof expect, "%s: dataset '/params/t3' has shape [%d, %d], expected [%d, %d]",
           good, FIX_ROWS, FIX_COLS, FIX_COLS, FIX_ROWS);
  CHECK_MSG(strcmp(shape_msg[0], expect) == 0, "%s", shape_msg[0]);
  snprintf(expect, sizeof expect, "has shape [%d, %d], expected [%d]", FIX_ROWS, FIX_COLS,
           FIX_ROWS * FIX_COLS);
  CHECK_MSG(strstr(shape_msg[1], expect) && strstr(shape_msg[1], "'/params/t3'"), "%s", shape_msg[1]);
  CHECK_MSG(strstr(shape_msg[2], "no dataset '/params/t99'") && strstr(shape_msg[2], good), "%s",
            shape_msg[2]);
  CHECK_MSG(file_size(errlog) == 0, "HDF5 printed %ld bytes to stderr (see %s)", file_size(errlog),
            errlog);

  /* The good checkpoint is still fine after all that. */
  CHECK(fix_load_sample(good, &err) == 1);
  if (check_failures == 0) fix_rmdir(dir);
  return check_report();
}
