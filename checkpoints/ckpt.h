/* checkpoints/: HDF5 tensor files written whole or not at all and read back with every shape checked. */
/* Checkpoint files: HDF5 files of named datasets plus root attributes. This layer knows nothing
 * of models or training; the trainer decides what goes in and composes these calls.
 *
 * Every file carries two root attributes: "format" (a name such as "distill-checkpoint") and
 * "format_version" (an integer >= 1), so a reader refuses files it does not understand.
 * Dataset names may contain '/' ("/params/layers.0.ln1.weight"); groups are created as needed.
 * Numbers are stored little-endian, uncompressed and contiguous; strings as UTF-8.
 *
 * Writes are atomic: everything goes to PATH.tmp, and only ds_ckpt_writer_commit() replaces PATH
 * (fsync, rename, fsync of the directory), so a crash at any point leaves the old PATH intact. */
#ifndef DS_CHECKPOINTS_CKPT_H
#define DS_CHECKPOINTS_CKPT_H

#include <stddef.h>
#include <stdint.h>

#include "common/common.h"

#define DS_CKPT_MAX_DIMS 8

typedef enum {
  DS_CKPT_F32 = 0,
  DS_CKPT_F64,
  DS_CKPT_I32,
  DS_CKPT_I64,
  DS_CKPT_U8,
  DS_CKPT_STRING,
  DS_CKPT_OTHER /* a type this layer does not write (listed, never read) */
} ds_ckpt_dtype;

/* "float32", "float64", "int32", "int64", "uint8", "string" or "other". */
const char *ds_ckpt_dtype_name(ds_ckpt_dtype t);

/* ---- writing ---- */

typedef struct ds_ckpt_writer ds_ckpt_writer;

/* Creates PATH.tmp (a stale one from a crashed write is replaced) and writes the format name and
 * version (>= 1). Nothing at PATH changes until commit. */
int ds_ckpt_writer_open(ds_ckpt_writer **w, const char *path, const char *format_name, int version,
                        ds_err *err);

/* A tensor of ndim (0..DS_CKPT_MAX_DIMS) dimensions; ndim 0 is a scalar. Names must be new. */
int ds_ckpt_write_f32(ds_ckpt_writer *w, const char *name, int ndim, const int64_t *shape,
                      const float *data, ds_err *err);
int ds_ckpt_write_f64(ds_ckpt_writer *w, const char *name, int ndim, const int64_t *shape,
                      const double *data, ds_err *err);
int ds_ckpt_write_i32(ds_ckpt_writer *w, const char *name, int ndim, const int64_t *shape,
                      const int32_t *data, ds_err *err);
int ds_ckpt_write_i64(ds_ckpt_writer *w, const char *name, int ndim, const int64_t *shape,
                      const int64_t *data, ds_err *err);
int ds_ckpt_write_u8(ds_ckpt_writer *w, const char *name, int ndim, const int64_t *shape,
                     const uint8_t *data, ds_err *err);
/* An opaque blob (RNG state, data order), stored as a 1-D uint8 dataset of n bytes. */
int ds_ckpt_write_bytes(ds_ckpt_writer *w, const char *name, const void *data, size_t n,
                        ds_err *err);
/* A 1-D dataset of n variable-length UTF-8 strings (e.g. a vocabulary). */
int ds_ckpt_write_strings(ds_ckpt_writer *w, const char *name, const char *const *s, int n,
                          ds_err *err);
/* Root attributes. Strings may be long (a whole resolved config). */
int ds_ckpt_write_attr_str(ds_ckpt_writer *w, const char *name, const char *value, ds_err *err);
int ds_ckpt_write_attr_i64(ds_ckpt_writer *w, const char *name, int64_t value, ds_err *err);
int ds_ckpt_write_attr_f64(ds_ckpt_writer *w, const char *name, double value, ds_err *err);

/* Flushes and closes PATH.tmp, fsyncs it, renames it over PATH and fsyncs the directory.
 * Always frees w; on failure (including any earlier failed write) PATH.tmp is removed and PATH
 * is left as it was. */
int ds_ckpt_writer_commit(ds_ckpt_writer *w, ds_err *err);
/* Closes and deletes PATH.tmp, frees w. Safe on NULL. */
void ds_ckpt_writer_abort(ds_ckpt_writer *w);

/* ---- reading ---- */

typedef struct ds_ckpt_reader ds_ckpt_reader;

/* Refuses a missing, non-HDF5 or truncated file, a missing or different format name and a
 * version newer than max_version. format_name NULL accepts any file (for `distill inspect`);
 * then a file without "format_version" has version 0. max_version < 0 means no limit. */
int ds_ckpt_open(ds_ckpt_reader **r, const char *path, const char *format_name, int max_version,
                 ds_err *err);
void ds_ckpt_close(ds_ckpt_reader *r); /* safe on NULL */

int ds_ckpt_version(const ds_ckpt_reader *r);
const char *ds_ckpt_format(const ds_ckpt_reader *r); /* "" when the file has none */
const char *ds_ckpt_path(const ds_ckpt_reader *r);
/* 1 if a dataset of that name exists, else 0. */
int ds_ckpt_has(const ds_ckpt_reader *r, const char *name);
/* 1 if a root attribute of that name exists, else 0. */
int ds_ckpt_has_attr(const ds_ckpt_reader *r, const char *name);

/* shape has room for DS_CKPT_MAX_DIMS entries. dtype may be NULL. */
int ds_ckpt_shape(ds_ckpt_reader *r, const char *name, int *ndim, int64_t *shape,
                  ds_ckpt_dtype *dtype, ds_err *err);

/* Reads a whole dataset whose type is exactly the one asked for and whose shape equals the
 * expected one; otherwise fails naming the file, the dataset and both types or shapes. */
int ds_ckpt_read_f32(ds_ckpt_reader *r, const char *name, int ndim, const int64_t *shape,
                     float *out, ds_err *err);
int ds_ckpt_read_f64(ds_ckpt_reader *r, const char *name, int ndim, const int64_t *shape,
                     double *out, ds_err *err);
int ds_ckpt_read_i32(ds_ckpt_reader *r, const char *name, int ndim, const int64_t *shape,
                     int32_t *out, ds_err *err);
int ds_ckpt_read_i64(ds_ckpt_reader *r, const char *name, int ndim, const int64_t *shape,
                     int64_t *out, ds_err *err);
int ds_ckpt_read_u8(ds_ckpt_reader *r, const char *name, int ndim, const int64_t *shape,
                    uint8_t *out, ds_err *err);
/* A blob written by ds_ckpt_write_bytes; its size must be exactly n. */
int ds_ckpt_read_bytes(ds_ckpt_reader *r, const char *name, void *out, size_t n, ds_err *err);
/* Allocates *out as one block (free(*out) releases everything): *n pointers, then the text. */
int ds_ckpt_read_strings(ds_ckpt_reader *r, const char *name, char ***out, int *n, ds_err *err);

/* Root attributes. read_attr_str allocates *out (free it). Integer attributes of any width are
 * accepted by read_attr_i64; read_attr_f64 wants a floating-point attribute. */
int ds_ckpt_read_attr_str(ds_ckpt_reader *r, const char *name, char **out, ds_err *err);
int ds_ckpt_read_attr_i64(ds_ckpt_reader *r, const char *name, int64_t *out, ds_err *err);
int ds_ckpt_read_attr_f64(ds_ckpt_reader *r, const char *name, double *out, ds_err *err);

/* One dataset found by ds_ckpt_list. */
typedef struct {
  char name[256];                   /* full path from the root, e.g. "/params/tok_emb" */
  ds_ckpt_dtype dtype;
  int ndim;
  int64_t shape[DS_CKPT_MAX_DIMS];
} ds_ckpt_entry;

/* Every dataset under group ("/" for the whole file), recursively, sorted by name. Allocates
 * *entries (free it); *n may be 0. */
int ds_ckpt_list(ds_ckpt_reader *r, const char *group, ds_ckpt_entry **entries, int *n,
                 ds_err *err);

#endif
