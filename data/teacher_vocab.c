/* The `vocab` dataset: variable- or fixed-length strings, returned as C strings. */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>

#include "data/teacher_private.h"

static void free_strings(char **s, int n) {
  if (!s) return;
  for (int i = 0; i < n; i++) free(s[i]);
  free(s);
}

static int read_variable(hid_t d, hid_t ftype, int n, char **out) {
  char **raw = calloc((size_t)n, sizeof *raw);
  hid_t mem = H5Tcopy(H5T_C_S1);
  H5Tset_size(mem, H5T_VARIABLE);
  H5Tset_cset(mem, H5Tget_cset(ftype)); /* HDF5 does not convert between ASCII and UTF-8 */
  int ok = raw && H5Dread(d, mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, raw) >= 0;
  for (int i = 0; ok && i < n; i++) ok = (out[i] = strdup(raw[i] ? raw[i] : "")) != NULL;
  if (raw) {
    hid_t space = H5Dget_space(d);
    H5Dvlen_reclaim(mem, space, H5P_DEFAULT, raw);
    H5Sclose(space);
  }
  H5Tclose(mem);
  free(raw);
  return ok ? 0 : -1;
}

static int read_fixed(hid_t d, hid_t ftype, int n, char **out) {
  size_t w = H5Tget_size(ftype);
  char *raw = malloc((size_t)n * w);
  int ok = raw && H5Dread(d, ftype, H5S_ALL, H5S_ALL, H5P_DEFAULT, raw) >= 0;
  int spaces = H5Tget_strpad(ftype) == H5T_STR_SPACEPAD;
  for (int i = 0; ok && i < n; i++) {
    const char *s = raw + (size_t)i * w;
    size_t len = strnlen(s, w);
    while (spaces && len > 0 && s[len - 1] == ' ') len--;
    ok = (out[i] = strndup(s, len)) != NULL;
  }
  free(raw);
  return ok ? 0 : -1;
}

int ds_teacher_load_vocab(ds_teacher *t, char ***strings, int *n, ds_err *err) {
  *strings = NULL;
  *n = 0;
  if (t->vocab < 0) return ds_fail(err, "%s: has no dataset 'vocab'", t->info.path);
  int count = t->info.n_vocab;
  char **out = calloc(count > 0 ? (size_t)count : 1, sizeof *out);
  if (!out) return ds_fail(err, "%s: out of memory for 'vocab'", t->info.path);
  ds_h5_quiet q;
  ds_h5_quiet_begin(&q);
  hid_t ftype = H5Dget_type(t->vocab);
  int rc = count == 0 ? 0
           : H5Tis_variable_str(ftype) > 0 ? read_variable(t->vocab, ftype, count, out)
                                           : read_fixed(t->vocab, ftype, count, out);
  H5Tclose(ftype);
  ds_h5_quiet_end(&q);
  if (rc) {
    free_strings(out, count);
    return ds_fail(err, "%s: dataset 'vocab': cannot read its strings", t->info.path);
  }
  *strings = out;
  *n = count;
  return 0;
}
