/* Building blocks of the HDF5 mutations (h5_make.h): types, values, dataspaces and datasets made from the
 * fuzz input. */
#include "h5_make.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const long long fzm_int_specials[] = {0, 1, -1, 2, 3, 7, 8, 16, 39, 40, 41, 64, 127, 128, 255, 256, 32767, 65535,
                                         65536, INT32_MAX, INT32_MIN, (long long)INT32_MAX + 1, INT64_MAX, INT64_MIN,
                                         1000000, 1000001, -2};
const int fzm_n_int_specials = (int)(sizeof fzm_int_specials / sizeof fzm_int_specials[0]);

double fzm_float_special(int k) {
  const double v[] = {0.0, -0.0, 1.0, -1.0, 0.5, NAN, INFINITY, -INFINITY, FLT_MAX, 1e39, DBL_MAX, 1e-45, 5e-324,
                      3.0, 1e6};
  return v[k % (int)(sizeof v / sizeof v[0])];
}

hid_t fzm_lcpl_intermediate(void) {
  hid_t p = H5Pcreate(H5P_LINK_CREATE);
  H5Pset_create_intermediate_group(p, 1);
  return p;
}

/* ---- types ---- */


hid_t fzm_make_type(int code, fz_reader *r) {
  hid_t t = H5I_INVALID_HID;
  switch (code % T_COUNT) {
    case T_I8: return H5Tcopy(H5T_STD_I8LE);
    case T_U8: return H5Tcopy(H5T_STD_U8LE);
    case T_I16: return H5Tcopy(H5T_STD_I16LE);
    case T_U16: return H5Tcopy(H5T_STD_U16LE);
    case T_I32: return H5Tcopy(H5T_STD_I32LE);
    case T_U32: return H5Tcopy(H5T_STD_U32LE);
    case T_I64: return H5Tcopy(H5T_STD_I64LE);
    case T_U64: return H5Tcopy(H5T_STD_U64LE);
    case T_I32BE: return H5Tcopy(H5T_STD_I32BE);
    case T_F16: /* IEEE half, as h5py writes numpy float16 */
      t = H5Tcopy(H5T_IEEE_F32LE);
      H5Tset_fields(t, 15, 10, 5, 0, 10);
      H5Tset_size(t, 2);
      H5Tset_ebias(t, 15);
      return t;
    case T_F32: return H5Tcopy(H5T_IEEE_F32LE);
    case T_F64: return H5Tcopy(H5T_IEEE_F64LE);
    case T_F32BE: return H5Tcopy(H5T_IEEE_F32BE);
    case T_VSTR:
      t = H5Tcopy(H5T_C_S1);
      H5Tset_size(t, H5T_VARIABLE);
      H5Tset_cset(t, fz_u8(r) & 1 ? H5T_CSET_UTF8 : H5T_CSET_ASCII);
      return t;
    case T_FSTR:
      t = H5Tcopy(H5T_C_S1);
      H5Tset_size(t, 1 + fz_u8(r) % 24);
      H5Tset_strpad(t, (H5T_str_t)(fz_u8(r) % 3));
      return t;
    case T_BOOL: {
      t = H5Tenum_create(H5T_STD_I8LE);
      signed char f = 0, tr = 1;
      H5Tenum_insert(t, "FALSE", &f);
      H5Tenum_insert(t, "TRUE", &tr);
      return t;
    }
    case T_COMPOUND:
      t = H5Tcreate(H5T_COMPOUND, 8);
      H5Tinsert(t, "a", 0, H5T_STD_I32LE);
      H5Tinsert(t, "b", 4, H5T_IEEE_F32LE);
      return t;
    case T_BITFIELD: return H5Tcopy(H5T_STD_B8LE);
    case T_OPAQUE:
      t = H5Tcreate(H5T_OPAQUE, 4);
      H5Tset_tag(t, "fuzz");
      return t;
    case T_ARRAY: {
      const hsize_t n = 2;
      return H5Tarray_create2(H5T_STD_I32LE, 1, &n);
    }
  }
  return t;
}

/* ---- values ---- */

/* Fills buf (n elements of type t) as the input says. Returns 1 if there is something to write. */
int fzm_fill_values(hid_t t, void *buf, size_t n, fz_reader *r, hid_t *memtype) {
  const H5T_class_t cls = H5Tget_class(t);
  const size_t es = H5Tget_size(t);
  const uint8_t mode = fz_u8(r) % 6;
  *memtype = H5I_INVALID_HID;
  if (cls == H5T_STRING && H5Tis_variable_str(t) > 0) {
    static const char *const words[] = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hello", "##lo", "", "a",
                                        "\xff\xfe", "tok_emb.weight", "layers.0.q", "##", "[CLS][SEP]"};
    static char pool[64][33];
    const char **s = buf;
    const size_t take = fz_u8(r) % 33;
    for (size_t i = 0; i < n; i++) {
      if (mode < 3) {
        s[i] = words[(i + mode) % (sizeof words / sizeof words[0])];
      } else {
        char *p = pool[i % 64];
        const size_t k = fz_bytes(r, p, take);
        p[k] = '\0';
        s[i] = p;
      }
    }
    *memtype = H5Tcopy(t);
    return 1;
  }
  if (mode == 5) return 0; /* leave it unwritten: readers see fill values */
  if (mode == 4 || cls == H5T_STRING || cls == H5T_ENUM || cls == H5T_COMPOUND || cls == H5T_BITFIELD ||
      cls == H5T_OPAQUE || cls == H5T_ARRAY) {
    /* Raw bytes of the stored type: any bit pattern, recycled from up to 64 input bytes. */
    uint8_t raw[64];
    const size_t k = fz_bytes(r, raw, 1 + fz_u8(r) % 64);
    uint8_t *b = buf;
    for (size_t i = 0; i < n * es; i++) b[i] = k ? raw[i % k] : 0;
    *memtype = H5Tcopy(t);
    return 1;
  }
  const int is_float = cls == H5T_FLOAT;
  if (is_float) {
    double *d = buf;
    const double special = fzm_float_special(fz_u8(r));
    const uint32_t every = 1 + fz_u8(r);
    for (size_t i = 0; i < n; i++)
      d[i] = mode == 0 ? 0.0 : mode == 1 ? (double)(i % 7) * 0.25 - 0.5 : mode == 2 ? special
             : i % every == 0 ? special : 0.125;
    *memtype = H5Tcopy(H5T_NATIVE_DOUBLE);
  } else {
    long long *v = buf;
    const long long special = fzm_int_specials[fz_u8(r) % fzm_n_int_specials];
    const uint32_t modulus = 1 + fz_u8(r);
    for (size_t i = 0; i < n; i++)
      v[i] = mode == 0 ? 0 : mode == 1 ? (long long)(i % modulus) : mode == 2 ? special
             : i % modulus == 0 ? special : 1;
    *memtype = H5Tcopy(H5T_NATIVE_LLONG);
  }
  return 1;
}

/* ---- dataspaces ---- */


int fzm_shape_of(hid_t d, shape *s) {
  hid_t space = H5Dget_space(d);
  if (space < 0) return -1;
  const H5S_class_t cls = H5Sget_simple_extent_type(space);
  int rank = H5Sget_simple_extent_ndims(space);
  hsize_t dims[H5S_MAX_RANK];
  if (rank >= 0) H5Sget_simple_extent_dims(space, dims, NULL);
  H5Sclose(space);
  if (rank < 0 || rank > MAX_RANK) return -1;
  s->rank = cls == H5S_NULL ? -1 : rank;
  for (int i = 0; i < rank; i++) s->dims[i] = dims[i];
  return 0;
}

hsize_t fzm_numel(const shape *s) {
  if (s->rank < 0) return 0;
  hsize_t n = 1;
  for (int i = 0; i < s->rank; i++) {
    if (s->dims[i] && n > UINT64_MAX / s->dims[i]) return UINT64_MAX;
    n *= s->dims[i];
  }
  return n;
}

/* A new dataspace, each axis small, relative to the old one, or huge. */
void fzm_new_shape(fz_reader *r, const shape *old, shape *s) {
  const uint8_t rb = fz_u8(r);
  s->rank = rb == 0xff ? -1 : rb % (MAX_RANK + 1);
  for (int i = 0; i < (s->rank > 0 ? s->rank : 0); i++) {
    const uint8_t b = fz_u8(r);
    const hsize_t was = old && i < old->rank ? old->dims[i] : 8;
    if (b >= 0xf8) s->dims[i] = (hsize_t)1 << (20 + (b & 7) * 5);
    else if (b & 0x80) s->dims[i] = (int64_t)was + ((b & 0x3f) - 32) > 0 ? (hsize_t)((int64_t)was + ((b & 0x3f) - 32)) : 0;
    else s->dims[i] = b;
  }
}

hid_t fzm_make_space(const shape *s, int extendable) {
  if (s->rank < 0) return H5Screate(H5S_NULL);
  if (s->rank == 0) return H5Screate(H5S_SCALAR);
  hsize_t max[MAX_RANK];
  for (int i = 0; i < s->rank; i++) max[i] = extendable ? H5S_UNLIMITED : s->dims[i];
  return H5Screate_simple(s->rank, s->dims, max);
}

/* Creates path with type t (taken) and shape s, values from buf/raw or from the input. */
void fzm_new_dataset(hid_t file, const char *path, hid_t t, const shape *s, const void *values, hid_t vtype,
                     fz_reader *r) {
  const hsize_t n = fzm_numel(s);
  if (n > MAX_DECLARED) { /* libhdf5 itself crashes on chunk counts near 2^64 */
    H5Tclose(t);
    return;
  }
  const uint8_t layout = fz_u8(r);
  const int write = n <= MAX_WRITE;
  const int chunked = !write || (layout % 3 == 1) || (layout & 0x40);
  hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
  if (chunked && s->rank > 0) {
    hsize_t chunk[MAX_RANK];
    for (int i = 0; i < s->rank; i++) chunk[i] = s->dims[i] == 0 ? 1 : s->dims[i] < 16 ? s->dims[i] : 16;
    H5Pset_chunk(dcpl, s->rank, chunk);
    if (layout & 0x20) H5Pset_deflate(dcpl, 1);
  } else if (layout % 3 == 2 && n * H5Tget_size(t) < 32000) {
    H5Pset_layout(dcpl, H5D_COMPACT);
  }
  if ((layout & 0x10) && H5Tget_class(t) == H5T_FLOAT) { /* unwritten elements read as NaN */
    const double fill = NAN;
    H5Pset_fill_value(dcpl, H5T_NATIVE_DOUBLE, &fill);
  }
  if (getenv("FZ_H5_TRACE"))
    fprintf(stderr, "h5_mutate:   new %s: rank %d [%llu %llu %llu %llu] class %d size %zu layout %d\n", path, s->rank,
            (unsigned long long)s->dims[0], (unsigned long long)s->dims[1], (unsigned long long)s->dims[2],
            (unsigned long long)s->dims[3], (int)H5Tget_class(t), H5Tget_size(t), layout);
  hid_t space = fzm_make_space(s, chunked && s->rank > 0);
  hid_t lcpl = fzm_lcpl_intermediate();
  hid_t d = space < 0 ? H5I_INVALID_HID : H5Dcreate2(file, path, t, space, lcpl, dcpl, H5P_DEFAULT);
  if (d >= 0 && write && n > 0) {
    if (values) {
      H5Dwrite(d, vtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, values);
    } else {
      const size_t es = H5Tget_size(t) > 8 ? H5Tget_size(t) : 8;
      void *buf = calloc((size_t)n, es > sizeof(char *) ? es : sizeof(char *));
      hid_t mem;
      if (buf && fzm_fill_values(t, buf, (size_t)n, r, &mem)) H5Dwrite(d, mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf);
      else mem = H5I_INVALID_HID;
      if (mem >= 0) H5Tclose(mem);
      free(buf);
    }
  }
  if (d >= 0) H5Dclose(d);
  if (space >= 0) H5Sclose(space);
  H5Pclose(lcpl);
  H5Pclose(dcpl);
  H5Tclose(t);
}

/* Reads a whole dataset of at most MAX_WRITE elements as memory type m; NULL if it cannot. */
void *fzm_read_all(hid_t d, hid_t m, const shape *s) {
  const hsize_t n = fzm_numel(s);
  if (n == 0 || n > MAX_WRITE) return NULL;
  const size_t es = H5Tget_size(m);
  void *buf = calloc((size_t)n, es);
  if (buf && H5Dread(d, m, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0) {
    free(buf);
    buf = NULL;
  }
  return buf;
}
