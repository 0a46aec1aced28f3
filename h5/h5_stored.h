/* Whether a dataset stores every value its extent declares. HDF5 reads values that were never written (a chunk
 * never allocated, contiguous storage never written) as the fill value without complaint, so a file of a few
 * kilobytes can declare terabytes; readers that trust extents refuse such datasets first. */
#ifndef DS_H5_H5_STORED_H
#define DS_H5_H5_STORED_H

#include <hdf5.h>

/* 1 if every element of the open dataset d has storage (chunked: every chunk the extent covers is allocated;
 * contiguous: storage allocated; compact, empty or other layouts: yes), 0 if not, -1 if HDF5 cannot say. */
int ds_h5_fully_stored(hid_t d);

#endif
