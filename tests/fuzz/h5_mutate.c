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
 * declared, chunked and left unwritten, so files stay small while declaring absurd sizes. Types, values and
 * datasets are made by h5_make.c. */
#include "h5_mutate.h"

#include <hdf5.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "h5_make.h"

#define MAX_NAMES 512

enum { OP_DELETE, OP_CREATE, OP_RETYPE, OP_RESHAPE, OP_POKE, OP_EXTENT, OP_ATTR_SET, OP_ATTR_DEL, OP_ATTR_EDIT,
       OP_GROUP, OP_LINK, OP_COPY, OP_COUNT };

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

void fz_read_bases(const char *source_dir, const char *const *names, int n, void **data, size_t *size) {
  for (int i = 0; i < n; i++) {
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/fuzz/bases/%s", source_dir, names[i]);
    data[i] = fz_read_file(path, &size[i]);
    if (!data[i]) {
      fprintf(stderr, "fuzz: cannot read the base file %s\n", path);
      abort();
    }
  }
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
/* ---- operations ---- */

static void op_create(hid_t file, const char *path, fz_reader *r) {
  shape old = {.rank = 2, .dims = {64, 8}}, s;
  hid_t d = exists(file, path) ? H5Dopen2(file, path, H5P_DEFAULT) : H5I_INVALID_HID;
  if (d >= 0) {
    fzm_shape_of(d, &old);
    H5Dclose(d);
  }
  hid_t t = fzm_make_type(fz_u8(r), r);
  fzm_new_shape(r, &old, &s);
  unlink_if_there(file, path);
  fzm_new_dataset(file, path, t, &s, NULL, H5I_INVALID_HID, r);
}

/* RETYPE (same shape, values converted) and RESHAPE (same type, values recycled). */
static void op_retype_reshape(hid_t file, const char *path, int reshape, fz_reader *r) {
  if (!exists(file, path)) return;
  hid_t d = H5Dopen2(file, path, H5P_DEFAULT);
  if (d < 0) return;
  shape old, s;
  hid_t old_type = H5Dget_type(d);
  if (fzm_shape_of(d, &old) < 0 || old_type < 0) {
    if (old_type >= 0) H5Tclose(old_type);
    H5Dclose(d);
    return;
  }
  hid_t t = reshape ? H5Tcopy(old_type) : fzm_make_type(fz_u8(r), r);
  if (reshape) fzm_new_shape(r, &old, &s);
  else s = old;
  /* Values: the old ones read as the new type (HDF5 converts, or refuses across classes). */
  const int vlen = H5Tis_variable_str(t) > 0 || H5Tis_variable_str(old_type) > 0;
  void *vals = vlen ? NULL : fzm_read_all(d, t, &old);
  H5Dclose(d);
  H5Tclose(old_type);
  void *buf = NULL;
  const hsize_t n = fzm_numel(&s), n_old = fzm_numel(&old);
  if (vals && n > 0 && n <= MAX_WRITE) {
    const size_t es = H5Tget_size(t);
    buf = malloc((size_t)n * es);
    for (hsize_t i = 0; buf && i < n; i++) memcpy((char *)buf + i * es, (char *)vals + (i % n_old) * es, es);
  }
  free(vals);
  unlink_if_there(file, path);
  hid_t vt = H5Tcopy(t);
  fzm_new_dataset(file, path, t, &s, buf, vt, r);
  H5Tclose(vt);
  free(buf);
}

static void op_poke(hid_t file, const char *path, fz_reader *r) {
  if (!exists(file, path)) return;
  hid_t d = H5Dopen2(file, path, H5P_DEFAULT);
  if (d < 0) return;
  shape s;
  hid_t t = H5Dget_type(d);
  const hsize_t n = fzm_shape_of(d, &s) == 0 ? fzm_numel(&s) : 0;
  const int k = 1 + fz_u8(r) % 8;
  for (int j = 0; j < k && n > 0 && s.rank > 0 && t >= 0; j++) {
    hsize_t flat = fz_u32(r) % n, coord[MAX_RANK];
    if (fz_u8(r) & 1) flat = n - 1 - flat % 4; /* often near the end: the last row of the last chunk */
    for (int i = s.rank - 1; i >= 0; i--) coord[i] = flat % s.dims[i], flat /= s.dims[i];
    hid_t space = H5Dget_space(d), one = H5Screate_simple(1, (hsize_t[]){1}, NULL);
    H5Sselect_elements(space, H5S_SELECT_SET, 1, coord);
    uint64_t value[8] = {0};
    hid_t mem;
    if (fzm_fill_values(t, value, 1, r, &mem)) H5Dwrite(d, mem, one, space, H5P_DEFAULT, value);
    else mem = H5I_INVALID_HID;
    if (mem >= 0) H5Tclose(mem);
    H5Sclose(one);
    H5Sclose(space);
  }
  if (t >= 0) H5Tclose(t);
  H5Dclose(d);
}

#define MAX_PRUNED_CHUNKS ((hsize_t)1 << 20)

static int shrinks(const shape *old, const shape *s) {
  for (int i = 0; i < old->rank; i++)
    if (s->dims[i] < old->dims[i]) return 1;
  return 0;
}

/* Chunk positions the extent s spans in chunked dataset d (saturating); 0 when d is not chunked. */
static hsize_t chunk_positions(hid_t d, const shape *s) {
  hid_t dcpl = H5Dget_create_plist(d);
  hsize_t chunk[H5S_MAX_RANK], n = 0;
  const int rank = dcpl < 0 ? -1 : H5Pget_chunk(dcpl, H5S_MAX_RANK, chunk);
  if (rank == s->rank) {
    n = 1;
    for (int i = 0; i < rank; i++) {
      const hsize_t k = chunk[i] ? (s->dims[i] + chunk[i] - 1) / chunk[i] : 0;
      n = k && n > UINT64_MAX / k ? UINT64_MAX : n * k;
    }
  }
  if (dcpl >= 0) H5Pclose(dcpl);
  return n;
}

static void op_extent(hid_t file, const char *path, fz_reader *r) {
  if (!exists(file, path)) return;
  hid_t d = H5Dopen2(file, path, H5P_DEFAULT);
  if (d < 0) return;
  shape old, s;
  if (fzm_shape_of(d, &old) == 0 && old.rank > 0) {
    fzm_new_shape(r, &old, &s);
    for (int i = 0; i < old.rank; i++)
      if (i >= s.rank) s.dims[i] = old.dims[i];
    s.rank = old.rank;
    /* Fails unless chunked: nothing changes then. A shrink makes libhdf5 visit every chunk position it cuts
     * off, allocated or not, so one over a vast declared extent would run for hours: the harness skips it. */
    if (fzm_numel(&s) <= MAX_DECLARED && (!shrinks(&old, &s) || chunk_positions(d, &old) <= MAX_PRUNED_CHUNKS))
      H5Dset_extent(d, s.dims);
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
  else t = fzm_make_type(kind == 6 ? T_VSTR : T_FSTR, r);
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
      const double v = b & 0x80 ? (double)fzm_int_specials[b % fzm_n_int_specials] : fzm_float_special(b);
      H5Awrite(a, H5T_NATIVE_DOUBLE, &v);
    } else if (n > 0) {
      long long v[4];
      for (int i = 0; i < 4; i++) {
        const uint8_t b = fz_u8(r);
        v[i] = b & 0x80 ? (long long)fz_u64(r) : fzm_int_specials[b % fzm_n_int_specials];
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
  hid_t lcpl = fzm_lcpl_intermediate();
  hid_t g = H5Gcreate2(file, path, lcpl, H5P_DEFAULT, H5P_DEFAULT);
  if (g >= 0) H5Gclose(g);
  H5Pclose(lcpl);
}

static void op_link(hid_t file, const char *path, const char *target) {
  unlink_if_there(file, path);
  hid_t lcpl = fzm_lcpl_intermediate();
  H5Lcreate_soft(target, file, path, lcpl, H5P_DEFAULT);
  H5Pclose(lcpl);
}

static void op_copy(hid_t file, const char *from, const char *to) {
  if (!exists(file, from) || strcmp(from, to) == 0) return;
  unlink_if_there(file, to);
  hid_t lcpl = fzm_lcpl_intermediate();
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
