/* Listing every dataset under a group, for `distill inspect`. */
#include <stdlib.h>
#include <string.h>

#include "checkpoints/ckpt_h5.h"

typedef struct {
  ds_ckpt_reader *r;
  const char *prefix;       /* the group's path, without a trailing '/' ("" for the root) */
  ds_ckpt_entry *items;
  int n, cap;
  ds_err *err;
  int said;                 /* err already holds the reason the visit stopped */
} list_state;

static herr_t list_visit(hid_t group, const char *name, const H5L_info_t *info, void *data) {
  list_state *st = data;
  if (info->type != H5L_TYPE_HARD) return 0;
  hid_t obj = H5Oopen(group, name, H5P_DEFAULT);
  if (obj < 0) return 0;
  int is_dataset = H5Iget_type(obj) == H5I_DATASET;
  hid_t type = is_dataset ? H5Dget_type(obj) : H5I_INVALID_HID;
  hid_t space = is_dataset ? H5Dget_space(obj) : H5I_INVALID_HID;
  int rank = space < 0 ? -1 : H5Sget_simple_extent_ndims(space);
  herr_t rc = 0;
  if (is_dataset) {
    ds_ckpt_entry e;
    memset(&e, 0, sizeof e);
    size_t len = strlen(st->prefix) + 1 + strlen(name);
    if (len >= sizeof e.name) {
      ds_fail(st->err, "%s: dataset name too long to list: %s/%s", st->r->path, st->prefix, name);
      rc = -1;
      st->said = 1;
    } else if (type < 0 || rank < 0 || rank > DS_CKPT_MAX_DIMS) {
      ds_fail(st->err, "%s: cannot describe dataset '%s/%s'", st->r->path, st->prefix, name);
      rc = -1;
      st->said = 1;
    } else if (st->n == st->cap) {
      int cap = st->cap ? 2 * st->cap : 32;
      ds_ckpt_entry *grown = realloc(st->items, (size_t)cap * sizeof *grown);
      if (!grown) {
        ds_fail(st->err, "%s: out of memory", st->r->path);
        rc = -1;
        st->said = 1;
      } else {
        st->items = grown;
        st->cap = cap;
      }
    }
    if (rc == 0) {
      strcpy(e.name, st->prefix);
      strcat(e.name, "/");
      strcat(e.name, name);
      e.dtype = ds_h5_dtype_of(type);
      e.ndim = rank;
      hsize_t dims[DS_CKPT_MAX_DIMS];
      H5Sget_simple_extent_dims(space, dims, NULL);
      for (int i = 0; i < rank; i++) e.shape[i] = (int64_t)dims[i];
      st->items[st->n++] = e;
    }
  }
  if (type >= 0) H5Tclose(type);
  if (space >= 0) H5Sclose(space);
  H5Oclose(obj);
  return rc;
}

static int entry_cmp(const void *a, const void *b) {
  return strcmp(((const ds_ckpt_entry *)a)->name, ((const ds_ckpt_entry *)b)->name);
}

int ds_ckpt_list(ds_ckpt_reader *r, const char *group, ds_ckpt_entry **entries, int *n,
                 ds_err *err) {
  *entries = NULL;
  *n = 0;
  if (!group || !*group) group = "/";
  char prefix[256];
  size_t len = strlen(group);
  while (len > 0 && group[len - 1] == '/') len--;
  if (len + 2 > sizeof prefix) return ds_fail(err, "%s: group name too long", r->path);
  size_t at = 0;
  if (group[0] != '/') prefix[at++] = '/';
  memcpy(prefix + at, group, len);
  prefix[at + len] = '\0';

  ds_h5_quiet q;
  ds_h5_quiet_begin(&q);
  list_state st = {r, prefix, NULL, 0, 0, err, 0};
  int rc = 0;
  int is_group = 0;
  if (prefix[0] == '\0' || ds_h5_path_exists(r->file, prefix)) {
    hid_t obj = H5Oopen(r->file, prefix[0] ? prefix : "/", H5P_DEFAULT);
    if (obj >= 0) {
      is_group = H5Iget_type(obj) == H5I_GROUP;
      if (is_group && H5Lvisit(obj, H5_INDEX_NAME, H5_ITER_INC, list_visit, &st) < 0) rc = -1;
      H5Oclose(obj);
    }
  }
  ds_h5_quiet_end(&q);
  if (!is_group) {
    free(st.items);
    return ds_fail(err, "%s: no group '%s'", r->path, group);
  }
  if (rc < 0) {
    free(st.items);
    return st.said ? -1 : ds_fail(err, "%s: cannot list group '%s'", r->path, group);
  }
  if (st.n > 1) qsort(st.items, (size_t)st.n, sizeof *st.items, entry_cmp);
  *entries = st.items;
  *n = st.n;
  return 0;
}
