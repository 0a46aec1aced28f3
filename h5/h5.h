/* h5/: the HDF5 helpers data/ and checkpoints/ share: silencing HDF5's error printing, whether a dataset stores
 * every value it declares, and the file descriptor under an open file. */
#ifndef DS_H5_H5_H
#define DS_H5_H5_H

#include <hdf5.h>

/* HDF5 prints its error stack to stderr by default; library code must not print. Each public entry point that
 * calls HDF5 silences it for its own duration and restores whatever the caller had set (h5_quiet.c). */
typedef struct {
  H5E_auto2_t func;
  void *data;
} ds_h5_quiet;
void ds_h5_quiet_begin(ds_h5_quiet *q);
void ds_h5_quiet_end(const ds_h5_quiet *q);

/* Whether a dataset stores every value its extent declares (h5_stored.c). HDF5 reads values that were never
 * written (a chunk never allocated, contiguous storage never written) as the fill value without complaint, so a
 * file of a few kilobytes can declare terabytes; readers that trust extents refuse such datasets first.
 * 1 if every element of the open dataset d has storage (chunked: every chunk the extent covers is allocated;
 * contiguous: storage allocated; compact, empty or other layouts: yes), 0 if not, -1 if HDF5 cannot say. */
int ds_h5_fully_stored(hid_t d);

/* The operating-system file descriptor under an open HDF5 file, for what HDF5 does not do itself: checking the
 * file's size on disk, reserving space, moving a doomed file into memory (h5_fd.c). The descriptor of HDF5's
 * default (sec2) driver for the open file, or -1 (another driver, or no file). The file keeps owning it: do not
 * close it. */
int ds_h5_file_fd(hid_t file);

#endif
