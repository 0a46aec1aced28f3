/* Helpers shared by the data tests: a scratch directory under the build tree, deterministic
 * row contents, and raw-HDF5 writers for files the library's own writer cannot produce. */
#ifndef DS_TESTS_DATA_FIXTURE_H
#define DS_TESTS_DATA_FIXTURE_H

#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <hdf5.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Creates DISTILL_BINARY_DIR/tmp_<tag>_XXXXXX into dir. */
static inline int fx_tmpdir(char *dir, size_t cap, const char *tag) {
  snprintf(dir, cap, "%s/tmp_%s_XXXXXX", DISTILL_BINARY_DIR, tag);
  return mkdtemp(dir) ? 0 : -1;
}

/* Removes the files of a flat scratch directory, then the directory. */
static inline void fx_rmdir(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return;
  struct dirent *e;
  char p[2048];
  while ((e = readdir(d)))
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
      snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
      unlink(p);
    }
  closedir(d);
  rmdir(dir);
}

/* Deterministic contents of row r (lengths 1..L, pad 0 after, ids in [1, V)). */
static inline int fx_len(long r, int L) { return 1 + (int)(r % L); }
static inline int32_t fx_id(long r, int j, int L, int V) {
  return j < fx_len(r, L) ? 1 + (int32_t)((r * 7 + j * 3) % (V - 1)) : 0;
}
static inline float fx_logit(long r, int c) { return (float)((r % 97) * 0.25 - (c % 5) * 1.5); }
static inline float fx_emb(long r, int d) { return d == 0 ? (float)r : (float)((r + d) % 13) * 0.125f; }

static inline void fx_fill(long r0, long n, int L, int V, int C, int D, int32_t *ids, uint8_t *mask,
                           float *logits, float *emb, int32_t *labels) {
  for (long i = 0; i < n; i++) {
    long r = r0 + i;
    for (int j = 0; j < L; j++) {
      if (ids) ids[i * L + j] = fx_id(r, j, L, V);
      if (mask) mask[i * L + j] = j < fx_len(r, L);
    }
    for (int c = 0; c < C && logits; c++) logits[i * C + c] = fx_logit(r, c);
    for (int d = 0; d < D && emb; d++) emb[i * D + d] = fx_emb(r, d);
    if (labels) labels[i] = (int32_t)(r % (C > 0 ? C : 3));
  }
}

/* Writes a whole dataset (rank 1 or 2) with the given file and memory types. */
static inline int fx_dataset(hid_t file, const char *name, hid_t ftype, int rank, long d0, long d1,
                             hid_t mtype, const void *buf) {
  hsize_t dims[2] = {(hsize_t)d0, (hsize_t)d1};
  hid_t space = H5Screate_simple(rank, dims, NULL);
  hid_t d = H5Dcreate2(file, name, ftype, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  herr_t rc = d < 0 ? -1 : (d0 * (rank == 2 ? d1 : 1) > 0 ? H5Dwrite(d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) : 0);
  if (d >= 0) H5Dclose(d);
  H5Sclose(space);
  return rc < 0 ? -1 : 0;
}

static inline int fx_int_attr(hid_t file, const char *name, long long v) {
  hid_t space = H5Screate(H5S_SCALAR);
  hid_t a = H5Acreate2(file, name, H5T_STD_I64LE, space, H5P_DEFAULT, H5P_DEFAULT);
  herr_t rc = H5Awrite(a, H5T_NATIVE_LLONG, &v);
  H5Aclose(a);
  H5Sclose(space);
  return rc < 0 ? -1 : 0;
}

/* IEEE half precision, as h5py writes numpy float16. */
static inline hid_t fx_float16(void) {
  hid_t t = H5Tcopy(H5T_IEEE_F32LE);
  H5Tset_fields(t, 15, 10, 5, 0, 10);
  H5Tset_size(t, 2);
  H5Tset_ebias(t, 15);
  return t;
}

/* numpy bool as h5py writes it: an int8 enum FALSE=0, TRUE=1. */
static inline hid_t fx_bool_enum(void) {
  hid_t t = H5Tenum_create(H5T_STD_I8LE);
  signed char f = 0, tr = 1;
  H5Tenum_insert(t, "FALSE", &f);
  H5Tenum_insert(t, "TRUE", &tr);
  return t;
}

#endif
