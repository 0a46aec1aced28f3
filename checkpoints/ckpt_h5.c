#include "checkpoints/ckpt_h5.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>


typedef struct {
  char *buf;
  size_t n;
} cause_sink;

static herr_t cause_take_first(unsigned depth, const H5E_error2_t *e, void *data) {
  cause_sink *s = data;
  if (depth != 0 || !e->desc) return 0;
  /* A failed system call is described at length ("file write failed: time = ..., filename = ..., errno = 28,
   * error message = 'No space left on device', buf = ..."): keep the first words and the system's message. */
  const char *msg = strstr(e->desc, "error message = '");
  const char *colon = strchr(e->desc, ':');
  if (msg && colon && colon < msg) {
    msg += strlen("error message = '");
    const char *end = strchr(msg, '\'');
    snprintf(s->buf, s->n, "%.*s: %.*s", (int)(colon - e->desc), e->desc, end ? (int)(end - msg) : 200, msg);
  } else {
    snprintf(s->buf, s->n, "%s", e->desc);
  }
  return 0;
}

void ds_h5_cause(char *buf, size_t n) {
  if (n == 0) return;
  buf[0] = '\0';
  cause_sink s = {buf, n};
  /* Walking upward starts at the innermost frame, where the real cause is described. */
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, cause_take_first, &s);
}

int ds_h5_path_exists(hid_t loc, const char *name) {
  size_t len = name ? strlen(name) : 0;
  if (len == 0) return 0;
  char *p = malloc(len + 1);
  if (!p) return 0;
  memcpy(p, name, len + 1);
  int ok = 1;
  for (size_t i = 1; i <= len && ok; i++) {
    if (i < len && p[i] != '/') continue;
    char saved = p[i];
    p[i] = '\0';
    ok = H5Lexists(loc, p, H5P_DEFAULT) > 0;
    p[i] = saved;
  }
  free(p);
  return ok;
}

int ds_h5_is_dataset(hid_t loc, const char *name) {
  if (!ds_h5_path_exists(loc, name)) return 0;
  hid_t obj = H5Oopen(loc, name, H5P_DEFAULT);
  if (obj < 0) return 0;
  int is = H5Iget_type(obj) == H5I_DATASET;
  H5Oclose(obj);
  return is;
}

hid_t ds_h5_file_type(ds_ckpt_dtype t) {
  switch (t) {
    case DS_CKPT_F32: return H5T_IEEE_F32LE;
    case DS_CKPT_F64: return H5T_IEEE_F64LE;
    case DS_CKPT_I32: return H5T_STD_I32LE;
    case DS_CKPT_I64: return H5T_STD_I64LE;
    case DS_CKPT_U8: return H5T_STD_U8LE;
    default: return H5I_INVALID_HID;
  }
}

hid_t ds_h5_mem_type(ds_ckpt_dtype t) {
  switch (t) {
    case DS_CKPT_F32: return H5T_NATIVE_FLOAT;
    case DS_CKPT_F64: return H5T_NATIVE_DOUBLE;
    case DS_CKPT_I32: return H5T_NATIVE_INT32;
    case DS_CKPT_I64: return H5T_NATIVE_INT64;
    case DS_CKPT_U8: return H5T_NATIVE_UINT8;
    default: return H5I_INVALID_HID;
  }
}

ds_ckpt_dtype ds_h5_dtype_of(hid_t type) {
  size_t size = H5Tget_size(type);
  switch (H5Tget_class(type)) {
    case H5T_FLOAT:
      return size == 4 ? DS_CKPT_F32 : size == 8 ? DS_CKPT_F64 : DS_CKPT_OTHER;
    case H5T_INTEGER: {
      int is_signed = H5Tget_sign(type) == H5T_SGN_2;
      if (is_signed && size == 4) return DS_CKPT_I32;
      if (is_signed && size == 8) return DS_CKPT_I64;
      if (!is_signed && size == 1) return DS_CKPT_U8;
      return DS_CKPT_OTHER;
    }
    case H5T_STRING: return DS_CKPT_STRING;
    default: return DS_CKPT_OTHER;
  }
}

hid_t ds_h5_vlen_str_type(void) {
  hid_t t = H5Tcopy(H5T_C_S1);
  if (t < 0) return t;
  if (H5Tset_size(t, H5T_VARIABLE) < 0 || H5Tset_cset(t, H5T_CSET_UTF8) < 0) {
    H5Tclose(t);
    return H5I_INVALID_HID;
  }
  return t;
}

const char *ds_ckpt_dtype_name(ds_ckpt_dtype t) {
  switch (t) {
    case DS_CKPT_F32: return "float32";
    case DS_CKPT_F64: return "float64";
    case DS_CKPT_I32: return "int32";
    case DS_CKPT_I64: return "int64";
    case DS_CKPT_U8: return "uint8";
    case DS_CKPT_STRING: return "string";
    default: return "other";
  }
}

void ds_ckpt_shape_format(char *buf, size_t n, int ndim, const int64_t *shape) {
  if (n == 0) return;
  size_t used = (size_t)snprintf(buf, n, "[");
  for (int i = 0; i < ndim && used < n; i++)
    used += (size_t)snprintf(buf + used, n - used, "%s%lld", i ? ", " : "", (long long)shape[i]);
  if (used < n) snprintf(buf + used, n - used, "]");
}
