/* What the libFuzzer harnesses share: a per-process scratch file (the loaders under test read paths),
 * a byte reader that hands out the fuzz input field by field (zeros once it runs dry), and the
 * harnesses' own failure: an invariant broken by code that returned success. */
#ifndef DS_TESTS_FUZZ_UTIL_H
#define DS_TESTS_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/common.h"

static char fz_paths[8][256];
static const char *fz_tags[8];

/* Removes the scratch files (and their .tmp siblings) when the fuzzer exits normally. */
static inline void fz_scratch_remove(void) {
  char tmp[300];
  for (int i = 0; i < 8 && fz_tags[i]; i++) {
    unlink(fz_paths[i]);
    snprintf(tmp, sizeof tmp, "%s.tmp", fz_paths[i]);
    unlink(tmp);
  }
}

/* A path of its own for each process and tag, in /dev/shm when there is one (no disk traffic). */
static inline const char *fz_scratch_path(const char *tag) {
  for (int i = 0; i < 8; i++) {
    if (fz_tags[i] && strcmp(fz_tags[i], tag) == 0) return fz_paths[i];
    if (!fz_tags[i]) {
      const char *dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
      snprintf(fz_paths[i], sizeof fz_paths[i], "%s/distill-fuzz-%d-%s", dir, (int)getpid(), tag);
      if (i == 0) atexit(fz_scratch_remove);
      fz_tags[i] = tag;
      return fz_paths[i];
    }
  }
  abort();
}

static inline void fz_write_file(const char *path, const void *data, size_t n) {
  FILE *f = fopen(path, "wb");
  if (!f || fwrite(data, 1, n, f) != n || fclose(f) != 0) {
    fprintf(stderr, "fuzz: cannot write %s\n", path);
    abort();
  }
}

/* A harness invariant failed: say which, then abort so libFuzzer saves the input. */
#define FZ_REQUIRE(cond, ...)                                                      \
  do {                                                                             \
    if (!(cond)) {                                                                 \
      fprintf(stderr, "%s:%d: fuzz invariant failed: %s: ", __FILE__, __LINE__, #cond); \
      fprintf(stderr, __VA_ARGS__);                                                \
      fputc('\n', stderr);                                                         \
      abort();                                                                     \
    }                                                                              \
  } while (0)

/* Library errors must leave a terminated message. */
static inline void fz_check_err(const ds_err *err) {
  FZ_REQUIRE(memchr(err->msg, '\0', sizeof err->msg) != NULL, "error message not terminated");
}

typedef struct {
  const uint8_t *p;
  size_t n, at;
} fz_reader;

static inline int fz_more(const fz_reader *r) { return r->at < r->n; }
static inline uint8_t fz_u8(fz_reader *r) { return r->at < r->n ? r->p[r->at++] : 0; }
/* Little-endian; each byte read in its own statement (the order of operands is unspecified). */
static inline uint16_t fz_u16(fz_reader *r) {
  const uint16_t lo = fz_u8(r);
  return (uint16_t)(lo | fz_u8(r) << 8);
}
static inline uint32_t fz_u32(fz_reader *r) {
  const uint32_t lo = fz_u16(r);
  return lo | (uint32_t)fz_u16(r) << 16;
}
static inline uint64_t fz_u64(fz_reader *r) {
  const uint64_t lo = fz_u32(r);
  return lo | (uint64_t)fz_u32(r) << 32;
}
/* Up to n bytes (fewer at the end of the input); returns how many. */
static inline size_t fz_bytes(fz_reader *r, void *out, size_t n) {
  size_t k = r->n - r->at < n ? r->n - r->at : n;
  memcpy(out, r->p + r->at, k);
  r->at += k;
  return k;
}

/* The loaders under test run OpenMP kernels; one thread keeps executions cheap and reproducible.
 * OpenMP and OpenBLAS read these when they first start, after LLVMFuzzerInitialize. */
static inline void fz_single_thread(void) {
  setenv("OMP_NUM_THREADS", "1", 0);
  setenv("OPENBLAS_NUM_THREADS", "1", 0);
  setenv("HDF5_USE_FILE_LOCKING", "FALSE", 0);
}

#endif
