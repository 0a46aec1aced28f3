/* The operating-system file descriptor under an open HDF5 file, for what HDF5 does not do itself: checking the
 * file's size on disk, reserving space, moving a doomed file into memory. */
#ifndef DS_H5_H5_FD_H
#define DS_H5_H5_FD_H

#include <hdf5.h>

/* The descriptor of HDF5's default (sec2) driver for the open file, or -1 (another driver, or no file). The
 * file keeps owning it: do not close it. */
int ds_h5_file_fd(hid_t file);

#endif
