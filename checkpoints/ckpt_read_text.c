/* Reading strings and root attributes. Both variable-length strings (what the writer makes) and
 * fixed-length ones (what other tools such as h5py may make) are accepted. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoints/ckpt_h5.h"

/* Packs n strings into one allocation: the pointer array, then the NUL-terminated texts.
 * lens[i] is the length of src[i] (which need not be NUL-terminated). */
static char **strings_pack(const char *const *src, const size_t *lens, size_t n) {
  size_t total = n * sizeof(char *);
  for (size_t i = 0; i < n; i++) total += lens[i] + 1;
  char **out = malloc(total ? total : 1);
  if (!out) return NULL;
  char *text = (char *)(out + n);
  for (size_t i = 0; i < n; i++) {
    out[i] = text;
    if (lens[i]) memcpy(text, src[i], lens[i]);
    text[lens[i]] = '\0';
    text += lens[i] + 1;
  }
  return out;
}

/* Reads n strings of stored type ftype from a dataset, or from an attribute if is_attr, into
 * a packed allocation; NULL on failure with the HDF5 cause in cause. */
static char **strings_read(hid_t obj, int is_attr, hid_t ftype, size_t n, char *cause,
                           size_t cause_n) {
  char **out = NULL;
  size_t *lens = calloc(n ? n : 1, sizeof *lens);
  const char **src = calloc(n ? n : 1, sizeof *src);
  if (!lens || !src) goto done;
  if (H5Tis_variable_str(ftype) > 0) {
    hid_t mt = ds_h5_vlen_str_type();
    char **vl = calloc(n ? n : 1, sizeof *vl);
    herr_t rd = -1;
    if (mt >= 0 && vl)
      rd = is_attr ? H5Aread(obj, mt, vl) : H5Dread(obj, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, vl);
    if (rd < 0) ds_h5_cause(cause, cause_n);
    if (rd >= 0) {
      for (size_t i = 0; i < n; i++) {
        src[i] = vl[i] ? vl[i] : "";
        lens[i] = strlen(src[i]);
      }
      out = strings_pack(src, lens, n);
      /* H5free_memory, unlike H5Treclaim, exists in every HDF5 1.8.13+ and 1.10 build. */
      for (size_t i = 0; i < n; i++) H5free_memory(vl[i]);
    }
    free(vl);
    if (mt >= 0) H5Tclose(mt);
  } else {
    size_t sz = H5Tget_size(ftype);
    hid_t mt = H5Tcopy(ftype);
    char *buf = malloc(n * sz > 0 ? n * sz : 1);
    herr_t rd = -1;
    if (mt >= 0 && buf && H5Tset_strpad(mt, H5T_STR_NULLPAD) >= 0)
      rd = is_attr ? H5Aread(obj, mt, buf) : H5Dread(obj, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf);
    if (rd < 0) ds_h5_cause(cause, cause_n);
    if (rd >= 0) {
      for (size_t i = 0; i < n; i++) {
        src[i] = buf + i * sz;
        const char *nul = memchr(src[i], '\0', sz);
        lens[i] = nul ? (size_t)(nul - src[i]) : sz;
      }
      out = strings_pack(src, lens, n);
    }
    free(buf);
    if (mt >= 0) H5Tclose(mt);
  }
done:
  free(lens);
  free(src);
  return out;
}

int ds_ckpt_read_strings(ds_ckpt_reader *r, const char *name, char ***out, int *n, ds_err *err) {
  *out = NULL;
  *n = 0;
  int ndim = 0;
  int64_t shape[DS_CKPT_MAX_DIMS];
  ds_ckpt_dtype t;
  if (ds_ckpt_shape(r, name, &ndim, shape, &t, err) < 0) return -1;
  if (t != DS_CKPT_STRING || ndim != 1)
    return ds_fail(err, "%s: dataset '%s' is not a 1-D array of strings", r->path, name);
  if (shape[0] > INT_MAX) return ds_fail(err, "%s: dataset '%s': too many strings", r->path, name);

  ds_h5_quiet q;
  ds_h5_quiet_begin(&q);
  char cause[256] = "";
  hid_t dset = H5Dopen2(r->file, name, H5P_DEFAULT);
  hid_t ftype = dset < 0 ? H5I_INVALID_HID : H5Dget_type(dset);
  char **s = ftype < 0 ? NULL : strings_read(dset, 0, ftype, (size_t)shape[0], cause, sizeof cause);
  if (ftype >= 0) H5Tclose(ftype);
  if (dset >= 0) H5Dclose(dset);
  ds_h5_quiet_end(&q);
  if (!s) return ds_fail(err, "%s: cannot read strings '%s': %s", r->path, name, cause);
  *out = s;
  *n = (int)shape[0];
  return 0;
}

/* Opens a one-element root attribute of the wanted class; *type receives its stored type. */
static hid_t attr_open(ds_ckpt_reader *r, const char *name, H5T_class_t want, const char *what,
                       hid_t *type, ds_err *err) {
  if (!name || H5Aexists(r->file, name) <= 0) {
    ds_fail(err, "%s: no attribute '%s'", r->path, name ? name : "(null)");
    return H5I_INVALID_HID;
  }
  hid_t attr = H5Aopen(r->file, name, H5P_DEFAULT);
  hid_t space = attr < 0 ? H5I_INVALID_HID : H5Aget_space(attr);
  *type = attr < 0 ? H5I_INVALID_HID : H5Aget_type(attr);
  hssize_t npoints = space < 0 ? -1 : H5Sget_simple_extent_npoints(space);
  if (space >= 0) H5Sclose(space);
  if (attr >= 0 && *type >= 0 && npoints == 1 && H5Tget_class(*type) == want) return attr;
  if (*type >= 0) H5Tclose(*type);
  if (attr >= 0) H5Aclose(attr);
  *type = H5I_INVALID_HID;
  ds_fail(err, "%s: attribute '%s' is not %s", r->path, name, what);
  return H5I_INVALID_HID;
}

int ds_ckpt_read_attr_str(ds_ckpt_reader *r, const char *name, char **out, ds_err *err) {
  *out = NULL;
  ds_h5_quiet q;
  ds_h5_quiet_begin(&q);
  hid_t type;
  char cause[256] = "";
  hid_t attr = attr_open(r, name, H5T_STRING, "a string", &type, err);
  char **s = attr < 0 ? NULL : strings_read(attr, 1, type, 1, cause, sizeof cause);
  if (attr >= 0) {
    H5Tclose(type);
    H5Aclose(attr);
  }
  ds_h5_quiet_end(&q);
  if (attr < 0) return -1;
  if (!s) return ds_fail(err, "%s: cannot read attribute '%s': %s", r->path, name, cause);
  /* The packed block starts with one pointer; move the text to the front so free() works. */
  size_t len = strlen(s[0]);
  memmove(s, s[0], len + 1);
  *out = (char *)s;
  return 0;
}

static int attr_read_number(ds_ckpt_reader *r, const char *name, H5T_class_t want,
                            const char *what, hid_t mtype, void *out, ds_err *err) {
  ds_h5_quiet q;
  ds_h5_quiet_begin(&q);
  hid_t type;
  int rc = -1;
  hid_t attr = attr_open(r, name, want, what, &type, err);
  if (attr >= 0) {
    char cause[256] = "";
    if (H5Aread(attr, mtype, out) >= 0) {
      rc = 0;
    } else {
      ds_h5_cause(cause, sizeof cause);
      ds_fail(err, "%s: cannot read attribute '%s': %s", r->path, name, cause);
    }
    H5Tclose(type);
    H5Aclose(attr);
  }
  ds_h5_quiet_end(&q);
  return rc;
}

int ds_ckpt_read_attr_i64(ds_ckpt_reader *r, const char *name, int64_t *out, ds_err *err) {
  return attr_read_number(r, name, H5T_INTEGER, "an integer", H5T_NATIVE_INT64, out, err);
}

int ds_ckpt_read_attr_f64(ds_ckpt_reader *r, const char *name, double *out, ds_err *err) {
  return attr_read_number(r, name, H5T_FLOAT, "a floating-point number", H5T_NATIVE_DOUBLE, out,
                          err);
}
