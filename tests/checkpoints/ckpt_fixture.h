/* Shared by the checkpoint tests: a scratch directory under the build tree and a small sample
 * checkpoint whose every value derives from a seed, so a reader can tell which write it sees. */
#ifndef DS_TESTS_CKPT_FIXTURE_H
#define DS_TESTS_CKPT_FIXTURE_H

#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "checkpoints/ckpt.h"

#define FIX_FORMAT "distill-checkpoint"
#define FIX_ROWS 64
#define FIX_COLS 256

/* Makes DISTILL_BINARY_DIR/ckpt_test_XXXXXX; returns 0 on success. */
static inline int fix_mkdtemp(char *dir, size_t n) {
  snprintf(dir, n, "%s/ckpt_test_XXXXXX", DISTILL_BINARY_DIR);
  return mkdtemp(dir) ? 0 : -1;
}

/* Removes the scratch directory and the files in it (the tests make no subdirectories). */
static inline void fix_rmdir(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return;
  struct dirent *e;
  char p[2048];
  while ((e = readdir(d)) != NULL) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
    unlink(p);
  }
  closedir(d);
  rmdir(dir);
}

static inline int fix_exists(const char *path) { return access(path, F_OK) == 0; }

static inline float fix_value(int seed, int i) { return (float)seed * 1000.0f + (float)i * 0.25f; }

/* Writes tensors "/params/t0" .. "/params/t{n_tensors-1}" (each FIX_ROWS x FIX_COLS), starting
 * at tensor `first`, into an open writer. */
static inline int fix_write_tensors(ds_ckpt_writer *w, int seed, int first, int last, ds_err *err) {
  static float buf[FIX_ROWS * FIX_COLS];
  const int64_t shape[2] = {FIX_ROWS, FIX_COLS};
  for (int t = first; t < last; t++) {
    char name[64];
    snprintf(name, sizeof name, "/params/t%d", t);
    for (int i = 0; i < FIX_ROWS * FIX_COLS; i++) buf[i] = fix_value(seed, i + t);
    if (ds_ckpt_write_f32(w, name, 2, shape, buf, err) < 0) return -1;
  }
  return 0;
}

#define FIX_TENSORS 8

/* A complete sample checkpoint at path, written and committed. */
static inline int fix_write_sample(const char *path, int seed, ds_err *err) {
  ds_ckpt_writer *w;
  if (ds_ckpt_writer_open(&w, path, FIX_FORMAT, 1, err) < 0) return -1;
  if (fix_write_tensors(w, seed, 0, FIX_TENSORS, err) < 0 ||
      ds_ckpt_write_attr_i64(w, "seed", seed, err) < 0) {
    ds_ckpt_writer_abort(w);
    return -1;
  }
  return ds_ckpt_writer_commit(w, err);
}

/* Loads the sample at path; returns the seed it was written with, or -1 if it does not load or
 * any value differs from what that seed writes. */
static inline int fix_load_sample(const char *path, ds_err *err) {
  static float buf[FIX_ROWS * FIX_COLS];
  const int64_t shape[2] = {FIX_ROWS, FIX_COLS};
  ds_ckpt_reader *r;
  if (ds_ckpt_open(&r, path, FIX_FORMAT, 1, err) < 0) return -1;
  int64_t seed = -1;
  int ok = ds_ckpt_read_attr_i64(r, "seed", &seed, err) == 0;
  for (int t = 0; ok && t < FIX_TENSORS; t++) {
    char name[64];
    snprintf(name, sizeof name, "/params/t%d", t);
    ok = ds_ckpt_read_f32(r, name, 2, shape, buf, err) == 0;
    for (int i = 0; ok && i < FIX_ROWS * FIX_COLS; i++) ok = buf[i] == fix_value((int)seed, i + t);
  }
  ds_ckpt_close(r);
  return ok ? (int)seed : -1;
}

/* Reads a whole file into memory (for byte-for-byte comparisons); *n receives its size. */
static inline unsigned char *fix_slurp(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long size = ftell(f);
  fseek(f, 0, SEEK_SET);
  unsigned char *b = malloc(size > 0 ? (size_t)size : 1);
  if (b && fread(b, 1, (size_t)size, f) != (size_t)size) {
    free(b);
    b = NULL;
  }
  fclose(f);
  *n = (size_t)size;
  return b;
}

static inline int fix_spit(const char *path, const void *data, size_t n) {
  FILE *f = fopen(path, "wb");
  if (!f) return -1;
  size_t wrote = fwrite(data, 1, n, f);
  return fclose(f) == 0 && wrote == n ? 0 : -1;
}

#endif
