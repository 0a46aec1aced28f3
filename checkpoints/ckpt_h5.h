/* Private to checkpoints/: the reader's state and the HDF5 helpers shared by writer, reader and
 * lister. Not part of the public API (see ckpt.h). */
#ifndef DS_CHECKPOINTS_CKPT_H5_H
#define DS_CHECKPOINTS_CKPT_H5_H

#include <hdf5.h>
#include <stddef.h>
#include <stdint.h>

#include "checkpoints/ckpt.h"

struct ds_ckpt_reader {
  hid_t file;
  char *path;
  char format[128];
  int version;
};

#include "h5/h5.h"

/* The innermost message of HDF5's current error stack ("" if none). Call it right after the
 * failing HDF5 call: the next API call clears the stack. */
void ds_h5_cause(char *buf, size_t n);

/* 1 if every component of a '/'-separated path exists under loc, else 0 (never an error:
 * H5Lexists fails rather than answering "no" when an intermediate group is missing). */
int ds_h5_path_exists(hid_t loc, const char *name);
/* 1 if name is a dataset under loc, else 0. */
int ds_h5_is_dataset(hid_t loc, const char *name);

/* Stored (little-endian) and in-memory types of the numeric dtypes; predefined, never closed. */
hid_t ds_h5_file_type(ds_ckpt_dtype t);
hid_t ds_h5_mem_type(ds_ckpt_dtype t);
/* Classifies a stored type: byte order is ignored, width and signedness are not. */
ds_ckpt_dtype ds_h5_dtype_of(hid_t type);
/* A UTF-8 variable-length string type; the caller closes it. */
hid_t ds_h5_vlen_str_type(void);

/* "[3, 4]" ("[]" for a scalar), always NUL-terminated. */
void ds_ckpt_shape_format(char *buf, size_t n, int ndim, const int64_t *shape);

#endif
