/* Dataset-level HDF5 mutations (h5_mutate.h). Operations, one opcode byte each (opcode % OP_COUNT):
 *   DELETE     unlink a dataset
 *   CREATE     (re)create a dataset: new type, dataspace, layout and values (see new_dataset)
 *   RETYPE     same shape and values, another type (HDF5 converts; a fill pattern where it cannot)
 *   RESHAPE    same type and values (recycled), another dataspace
 *   POKE       set up to 8 elements to chosen or special values (NaN, Inf, -1, INT64_MIN, ...)
 *   EXTENT     H5Dset_extent of a chunked dataset: rows appear (fill values) or go
 *   ATTR_SET   (re)create a root attribute: integer, float, string, array or empty, of any width
 *   ATTR_DEL   delete a root attribute
 *   ATTR_EDIT  splice bytes into a string root attribute (the checkpoint's whole `config` text)
 *   GROUP      replace a dataset by a group of the same name
 *   LINK       replace a dataset by a soft link (to another dataset, to itself, or dangling)
 *   COPY       copy a dataset over another name ("embeddings" -> "token_embeddings")
 * Written datasets hold at most MAX_WRITE elements; larger extents (up to 2^55 per axis, 2^48 in all) are
 * declared, chunked and left unwritten, so files stay small while declaring absurd sizes. */
#include "h5_mutate.h"

#include <float.h>
#include <hdf5.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_WRITE (1u << 16)
#define MAX_DECLARED ((hsize_t)1 << 48)
#define MAX_NAMES 512
#define MAX_RANK 4

enum { OP_DELETE, OP_CREATE, OP_RETYPE, OP_RESHAPE, OP_POKE, OP_EXTENT, OP_ATTR_SET, OP_ATTR_DEL, OP_ATTR_EDIT,
       OP_GROUP, OP_LINK, OP_COPY, OP_COUNT };

static const long long int_specials[] = {0, 1, -1, 2, 3, 7, 8, 16, 39, 40, 41, 64, 127, 128, 255, 256, 32767, 65535,
                                         65536, INT32_MAX, INT32_MIN, (long long)INT32_MAX + 1, INT64_MAX, INT64_MIN,
                                         1000000, 1000001, -2};
#define N_INT_SPECIALS ((int)(sizeof int_specials / sizeof int_specials[0]))

static double float_special(int k) {
  const double v[] = {0.0, -0.0, 1.0, -1.0, 0.5, NAN, INFINITY, -INFINITY, FLT_MAX, 1e39, DBL_MAX, 1e-45, 5e-324,
                      3.0, 1e6};
  return v[k % (int)(sizeof v / sizeof v[0])];
}

void *fz_read_file(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  const long size = ftell(f);
  fseek(f, 0, SEEK_SET);
  void *buf = size >= 0 ? malloc((size_t)size + 1) : NULL;
  if (buf && fread(buf, 1, (size_t)size, f) != (size_t)size) {
    free(buf);
    buf = NULL;
  }
  fclose(f);
  *n = buf ? (size_t)size : 0;
  return buf;
}

/* Open files, datasets, groups, types and attributes, plus dataspaces and property lists (which
 * H5Fget_obj_count does not see), above what the library itself holds once initialised. */
static long ids_open(void) {
  hsize_t spaces = 0, plists = 0;
  H5Inmembers(H5I_DATASPACE, &spaces);
  H5Inmembers(H5I_GENPROP_LST, &plists);
  return (long)H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL) + (long)spaces + (long)plists;
}

static long ids_baseline = -1;

long fz_h5_open_objects(void) { return ids_open() - ids_baseline; }

/* ---- names ---- */

typedef struct {
  char *names[MAX_NAMES];
  int n;
} name_list;

static herr_t collect_dataset(hid_t obj, const char *name, const H5O_info_t *info, void *data) {
  (void)obj;
  name_list *l = data;
  if (info->type == H5O_TYPE_DATASET && l->n < MAX_NAMES) {
    const size_t n = strlen(name);
    char *copy = malloc(n + 2);
    if (!copy) return -1;
    copy[0] = '/';
    memcpy(copy + 1, name, n + 1);
    l->names[l->n++] = copy;
  }
  return 0;
}

static herr_t collect_attr(hid_t loc, const char *name, const H5A_info_t *info, void *data) {
  (void)loc, (void)info;
  name_list *l = data;
  if (l->n < MAX_NAMES && (l->names[l->n] = malloc(strlen(name) + 1))) strcpy(l->names[l->n++], name);
  return 0;
}

static void names_free(name_list *l) {
  for (int i = 0; i < l->n; i++) free(l->names[i]);
  l->n = 0;
}

/* A dataset path: one of the file's (high bit clear) or one the schema knows (high bit set). */
static const char *pick_dataset(fz_reader *r, const name_list *have, const fz_h5_schema *s) {
  const uint8_t b = fz_u8(r);
  if (((b & 0x80) || have->n == 0) && s->n_datasets > 0) return s->datasets[(b & 0x7f) % s->n_datasets];
  return have->n > 0 ? have->names[b % have->n] : NULL;
}

static const char *pick_attr(fz_reader *r, const name_list *have, const fz_h5_schema *s) {
  const uint8_t b = fz_u8(r);
  if (((b & 0x80) || have->n == 0) && s->n_attrs > 0) return s->attrs[(b & 0x7f) % s->n_attrs];
  return have->n > 0 ? have->names[b % have->n] : NULL;
}

static int exists(hid_t file, const char *path) {
  /* H5Lexists fails, rather than answering no, under a missing group: check each component. */
  char buf[512];
  snprintf(buf, sizeof buf, "%s", path);
  for (char *p = buf + 1; *p; p++) {
    if (*p != '/') continue;
    *p = '\0';
    const int ok = H5Lexists(file, buf, H5P_DEFAULT) > 0;
    *p = '/';
    if (!ok) return 0;
  }
  return H5Lexists(file, buf, H5P_DEFAULT) > 0;
}

static void unlink_if_there(hid_t file, const char *path) {
  if (exists(file, path)) H5Ldelete(file, path, H5P_DEFAULT);
}

/* Link creation that makes missing groups ("/quant/scale" in a file without /quant). */
static hid_t lcpl_intermediate(void) {
  hid_t p = H5Pcreate(H5P_LINK_CREATE);
  H5Pset_create_intermediate_group(p, 1);
  return p;
}

/* ---- types ---- */

enum { T_I8, T_U8, T_I16, T_U16, T_I32, T_U32, T_I64, T_U64, T_I32BE, T_F16, T_F32, T_F64, T_F32BE, T_VSTR, T_FSTR,
       T_BOOL, T_COMPOUND, T_BITFIELD, T_OPAQUE, T_ARRAY, T_COUNT };

static hid_t make_type(int code, fz_reader *r) {
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
static int fill_values(hid_t t, void *buf, size_t n, fz_reader *r, hid_t *memtype) {
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
    const double special = float_special(fz_u8(r));
    const uint32_t every = 1 + fz_u8(r);
    for (size_t i = 0; i < n; i++)
      d[i] = mode == 0 ? 0.0 : mode == 1 ? (double)(i % 7) * 0.25 - 0.5 : mode == 2 ? special
             : i % every == 0 ? special : 0.125;
    *memtype = H5Tcopy(H5T_NATIVE_DOUBLE);
  } else {
    long long *v = buf;
    const long long special = int_specials[fz_u8(r) % N_INT_SPECIALS];
    const uint32_t modulus = 1 + fz_u8(r);
    for (size_t i = 0; i < n; i++)
      v[i] = mode == 0 ? 0 : mode == 1 ? (long long)(i % modulus) : mode == 2 ? special
             : i % modulus == 0 ? special : 1;
    *memtype = H5Tcopy(H5T_NATIVE_LLONG);
  }
  return 1;
}

/* ---- dataspaces ---- */

typedef struct {
  int rank;            /* -1: H5S_NULL, 0: scalar */
  hsize_t dims[MAX_RANK];
} shape;

static int shape_of(hid_t d, shape *s) {
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

static hsize_t numel(const shape *s) {
  if (s->rank < 0) return 0;
  hsize_t n = 1;
  for (int i = 0; i < s->rank; i++) {
    if (s->dims[i] && n > UINT64_MAX / s->dims[i]) return UINT64_MAX;
    n *= s->dims[i];
  }
  return n;
}

/* A new dataspace, each axis small, relative to the old one, or huge. */
static void new_shape(fz_reader *r, const shape *old, shape *s) {
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

static hid_t make_space(const shape *s, int extendable) {
  if (s->rank < 0) return H5Screate(H5S_NULL);
  if (s->rank == 0) return H5Screate(H5S_SCALAR);
  hsize_t max[MAX_RANK];
  for (int i = 0; i < s->rank; i++) max[i] = extendable ? H5S_UNLIMITED : s->dims[i];
  return H5Screate_simple(s->rank, s->dims, max);
}

/* Creates path with type t (taken) and shape s, values from buf/raw or from the input. */
static void new_dataset(hid_t file, const char *path, hid_t t, const shape *s, const void *values, hid_t vtype,
                        fz_reader *r) {
  const hsize_t n = numel(s);
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
  hid_t space = make_space(s, chunked && s->rank > 0);
  hid_t lcpl = lcpl_intermediate();
  hid_t d = space < 0 ? H5I_INVALID_HID : H5Dcreate2(file, path, t, space, lcpl, dcpl, H5P_DEFAULT);
  if (d >= 0 && write && n > 0) {
    if (values) {
      H5Dwrite(d, vtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, values);
    } else {
      const size_t es = H5Tget_size(t) > 8 ? H5Tget_size(t) : 8;
      void *buf = calloc((size_t)n, es > sizeof(char *) ? es : sizeof(char *));
      hid_t mem;
      if (buf && fill_values(t, buf, (size_t)n, r, &mem)) H5Dwrite(d, mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf);
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
static void *read_all(hid_t d, hid_t m, const shape *s) {
  const hsize_t n = numel(s);
  if (n == 0 || n > MAX_WRITE) return NULL;
  const size_t es = H5Tget_size(m);
  void *buf = calloc((size_t)n, es);
  if (buf && H5Dread(d, m, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0) {
    free(buf);
    buf = NULL;
  }
  return buf;
}

/* ---- operations ---- */

static void op_create(hid_t file, const char *path, fz_reader *r) {
  shape old = {.rank = 2, .dims = {64, 8}}, s;
  hid_t d = exists(file, path) ? H5Dopen2(file, path, H5P_DEFAULT) : H5I_INVALID_HID;
  if (d >= 0) {
    shape_of(d, &old);
    H5Dclose(d);
  }
  hid_t t = make_type(fz_u8(r), r);
  new_shape(r, &old, &s);
  unlink_if_there(file, path);
  new_dataset(file, path, t, &s, NULL, H5I_INVALID_HID, r);
}

/* RETYPE (same shape, values converted) and RESHAPE (same type, values recycled). */
static void op_retype_reshape(hid_t file, const char *path, int reshape, fz_reader *r) {
  if (!exists(file, path)) return;
  hid_t d = H5Dopen2(file, path, H5P_DEFAULT);
  if (d < 0) return;
  shape old, s;
  hid_t old_type = H5Dget_type(d);
  if (shape_of(d, &old) < 0 || old_type < 0) {
    if (old_type >= 0) H5Tclose(old_type);
    H5Dclose(d);
    return;
  }
  hid_t t = reshape ? H5Tcopy(old_type) : make_type(fz_u8(r), r);
  if (reshape) new_shape(r, &old, &s);
  else s = old;
  /* Values: the old ones read as the new type (HDF5 converts, or refuses across classes). */
  const int vlen = H5Tis_variable_str(t) > 0 || H5Tis_variable_str(old_type) > 0;
  void *vals = vlen ? NULL : read_all(d, t, &old);
  H5Dclose(d);
  H5Tclose(old_type);
  void *buf = NULL;
  const hsize_t n = numel(&s), n_old = numel(&old);
  if (vals && n > 0 && n <= MAX_WRITE) {
    const size_t es = H5Tget_size(t);
    buf = malloc((size_t)n * es);
    for (hsize_t i = 0; buf && i < n; i++) memcpy((char *)buf + i * es, (char *)vals + (i % n_old) * es, es);
  }
  free(vals);
  unlink_if_there(file, path);
  hid_t vt = H5Tcopy(t);
  new_dataset(file, path, t, &s, buf, vt, r);
  H5Tclose(vt);
  free(buf);
}

static void op_poke(hid_t file, const char *path, fz_reader *r) {
  if (!exists(file, path)) return;
  hid_t d = H5Dopen2(file, path, H5P_DEFAULT);
  if (d < 0) return;
  shape s;
  hid_t t = H5Dget_type(d);
  const hsize_t n = shape_of(d, &s) == 0 ? numel(&s) : 0;
  const int k = 1 + fz_u8(r) % 8;
  for (int j = 0; j < k && n > 0 && s.rank > 0 && t >= 0; j++) {
    hsize_t flat = fz_u32(r) % n, coord[MAX_RANK];
    if (fz_u8(r) & 1) flat = n - 1 - flat % 4; /* often near the end: the last row of the last chunk */
    for (int i = s.rank - 1; i >= 0; i--) coord[i] = flat % s.dims[i], flat /= s.dims[i];
    hid_t space = H5Dget_space(d), one = H5Screate_simple(1, (hsize_t[]){1}, NULL);
    H5Sselect_elements(space, H5S_SELECT_SET, 1, coord);
    uint64_t value[8] = {0};
    hid_t mem;
    if (fill_values(t, value, 1, r, &mem)) H5Dwrite(d, mem, one, space, H5P_DEFAULT, value);
    else mem = H5I_INVALID_HID;
    if (mem >= 0) H5Tclose(mem);
    H5Sclose(one);
    H5Sclose(space);
  }
  if (t >= 0) H5Tclose(t);
  H5Dclose(d);
}

static void op_extent(hid_t file, const char *path, fz_reader *r) {
  if (!exists(file, path)) return;
  hid_t d = H5Dopen2(file, path, H5P_DEFAULT);
  if (d < 0) return;
  shape old, s;
  if (shape_of(d, &old) == 0 && old.rank > 0) {
    new_shape(r, &old, &s);
    for (int i = 0; i < old.rank; i++)
      if (i >= s.rank) s.dims[i] = old.dims[i];
    s.rank = old.rank;
    if (numel(&s) <= MAX_DECLARED) H5Dset_extent(d, s.dims); /* fails unless chunked: nothing changes then */
  }
  H5Dclose(d);
}

static void op_attr_set(hid_t file, const char *name, fz_reader *r) {
  if (H5Aexists(file, name) > 0) H5Adelete(file, name);
  const uint8_t kind = fz_u8(r) % 10;
  hid_t space = kind == 8   ? H5Screate(H5S_NULL)
                : kind == 9 ? H5Screate_simple(1, (hsize_t[]){(hsize_t)(fz_u8(r) % 4)}, NULL)
                            : H5Screate(H5S_SCALAR);
  hid_t t;
  if (kind < 5 || kind >= 8) {
    const hid_t ints[] = {H5T_STD_I64LE, H5T_STD_I32LE, H5T_STD_U8LE, H5T_STD_U64LE, H5T_STD_I16BE};
    t = H5Tcopy(kind < 5 ? ints[kind] : H5T_STD_I64LE);
  }
  else if (kind == 5) t = H5Tcopy(fz_u8(r) & 1 ? H5T_IEEE_F64LE : H5T_IEEE_F32LE);
  else t = make_type(kind == 6 ? T_VSTR : T_FSTR, r);
  hid_t a = H5Acreate2(file, name, t, space, H5P_DEFAULT, H5P_DEFAULT);
  if (a >= 0) {
    const hssize_t n = H5Sget_simple_extent_npoints(space);
    if (kind == 6) {
      static char text[256];
      const size_t k = fz_bytes(r, text, fz_u8(r));
      text[k] = '\0';
      const char *p = text;
      H5Awrite(a, t, &p);
    } else if (kind == 7) {
      char text[32] = {0};
      fz_bytes(r, text, H5Tget_size(t));
      H5Awrite(a, t, text);
    } else if (kind == 5) {
      const uint8_t b = fz_u8(r);
      const double v = b & 0x80 ? (double)int_specials[b % N_INT_SPECIALS] : float_special(b);
      H5Awrite(a, H5T_NATIVE_DOUBLE, &v);
    } else if (n > 0) {
      long long v[4];
      for (int i = 0; i < 4; i++) {
        const uint8_t b = fz_u8(r);
        v[i] = b & 0x80 ? (long long)fz_u64(r) : int_specials[b % N_INT_SPECIALS];
      }
      H5Awrite(a, H5T_NATIVE_LLONG, v);
    }
    H5Aclose(a);
  }
  H5Tclose(t);
  H5Sclose(space);
}

/* Byte edits of a string attribute, written back as a variable-length UTF-8 string. */
static void op_attr_edit(hid_t file, const char *name, fz_reader *r) {
  if (H5Aexists(file, name) <= 0) return;
  hid_t a = H5Aopen(file, name, H5P_DEFAULT);
  hid_t t = a < 0 ? H5I_INVALID_HID : H5Aget_type(a);
  char *text = NULL;
  if (t >= 0 && H5Tget_class(t) == H5T_STRING) {
    if (H5Tis_variable_str(t) > 0) {
      char *s = NULL;
      if (H5Aread(a, t, &s) >= 0 && s) text = strdup(s);
      if (s) H5free_memory(s);
    } else {
      const size_t n = H5Tget_size(t);
      text = calloc(n + 1, 1);
      if (text && H5Aread(a, t, text) < 0) text[0] = '\0';
    }
  }
  if (t >= 0) H5Tclose(t);
  if (a >= 0) H5Aclose(a);
  if (!text) return;
  const int k = 1 + fz_u8(r) % 4;
  for (int j = 0; j < k; j++) {
    const size_t len = strlen(text), at = fz_u16(r) % (len + 1);
    const uint8_t how = fz_u8(r) % 3;
    if (how == 0) { /* delete up to 64 bytes */
      const size_t cut = fz_u8(r) % 64, n = at + cut > len ? len - at : cut;
      memmove(text + at, text + at + n, len - at - n + 1);
    } else { /* insert (1) or overwrite (2) up to 64 bytes */
      char ins[65];
      const size_t n = fz_bytes(r, ins, fz_u8(r) % 64);
      ins[n] = '\0';
      const size_t m = strlen(ins); /* a NUL would end the C string anyway */
      char *grown = realloc(text, len + m + 1);
      if (!grown) break;
      text = grown;
      if (how == 1) memmove(text + at + m, text + at, len - at + 1);
      else if (at + m > len) text[at + m] = '\0';
      memcpy(text + at, ins, m);
    }
  }
  H5Adelete(file, name);
  hid_t vt = H5Tcopy(H5T_C_S1);
  H5Tset_size(vt, H5T_VARIABLE);
  H5Tset_cset(vt, H5T_CSET_UTF8);
  hid_t space = H5Screate(H5S_SCALAR);
  a = H5Acreate2(file, name, vt, space, H5P_DEFAULT, H5P_DEFAULT);
  if (a >= 0) {
    const char *p = text;
    H5Awrite(a, vt, &p);
    H5Aclose(a);
  }
  H5Sclose(space);
  H5Tclose(vt);
  free(text);
}

static void op_group(hid_t file, const char *path) {
  unlink_if_there(file, path);
  hid_t lcpl = lcpl_intermediate();
  hid_t g = H5Gcreate2(file, path, lcpl, H5P_DEFAULT, H5P_DEFAULT);
  if (g >= 0) H5Gclose(g);
  H5Pclose(lcpl);
}

static void op_link(hid_t file, const char *path, const char *target) {
  unlink_if_there(file, path);
  hid_t lcpl = lcpl_intermediate();
  H5Lcreate_soft(target, file, path, lcpl, H5P_DEFAULT);
  H5Pclose(lcpl);
}

static void op_copy(hid_t file, const char *from, const char *to) {
  if (!exists(file, from) || strcmp(from, to) == 0) return;
  unlink_if_there(file, to);
  hid_t lcpl = lcpl_intermediate();
  H5Ocopy(file, from, file, to, H5P_DEFAULT, lcpl);
  H5Pclose(lcpl);
}

int fz_h5_mutate(const void *base, size_t n, const char *path, const fz_h5_schema *schema, fz_reader *r) {
  if (ids_baseline < 0) {
    H5open();
    ids_baseline = ids_open();
  }
  fz_write_file(path, base, n);
  H5E_auto2_t func;
  void *func_data;
  H5Eget_auto2(H5E_DEFAULT, &func, &func_data);
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
  hid_t file = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
  if (file < 0) {
    H5Eset_auto2(H5E_DEFAULT, func, func_data);
    return -1;
  }
  name_list sets = {.n = 0}, attrs = {.n = 0};
  const int trace = getenv("FZ_H5_TRACE") != NULL; /* FZ_H5_TRACE=1 fuzz_teacher INPUT: what the program does */
  for (int k = 0; k < FZ_H5_MAX_OPS && fz_more(r); k++) {
    names_free(&sets);
    names_free(&attrs);
    H5Ovisit2(file, H5_INDEX_NAME, H5_ITER_INC, collect_dataset, &sets, H5O_INFO_BASIC);
    H5Aiterate2(file, H5_INDEX_NAME, H5_ITER_INC, NULL, collect_attr, &attrs);
    const int op = fz_u8(r) % OP_COUNT;
    const char *ds = op < OP_ATTR_SET || op > OP_ATTR_EDIT ? pick_dataset(r, &sets, schema) : NULL;
    const char *at = op >= OP_ATTR_SET && op <= OP_ATTR_EDIT ? pick_attr(r, &attrs, schema) : NULL;
    if (!ds && !at) continue;
    if (trace) fprintf(stderr, "h5_mutate: op %d on %s\n", op, ds ? ds : at);
    switch (op) {
      case OP_DELETE: unlink_if_there(file, ds); break;
      case OP_CREATE: op_create(file, ds, r); break;
      case OP_RETYPE: op_retype_reshape(file, ds, 0, r); break;
      case OP_RESHAPE: op_retype_reshape(file, ds, 1, r); break;
      case OP_POKE: op_poke(file, ds, r); break;
      case OP_EXTENT: op_extent(file, ds, r); break;
      case OP_ATTR_SET: op_attr_set(file, at, r); break;
      case OP_ATTR_DEL: H5Adelete(file, at); break;
      case OP_ATTR_EDIT: op_attr_edit(file, at, r); break;
      case OP_GROUP: op_group(file, ds); break;
      case OP_LINK: {
        const uint8_t b = fz_u8(r);
        op_link(file, ds, b % 3 == 0 ? "/nowhere" : b % 3 == 1 ? ds : sets.n ? sets.names[b % sets.n] : "/x");
        break;
      }
      case OP_COPY: {
        const char *to = pick_dataset(r, &sets, schema);
        if (to) op_copy(file, ds, to);
        break;
      }
    }
  }
  names_free(&sets);
  names_free(&attrs);
  const herr_t closed = H5Fclose(file);
  H5Eset_auto2(H5E_DEFAULT, func, func_data);
  FZ_REQUIRE(fz_h5_open_objects() == 0, "the mutator left %ld HDF5 objects open", fz_h5_open_objects());
  return closed < 0 ? -1 : 0;
}
