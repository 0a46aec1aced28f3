/* HDF5 prints its error stack to stderr by default; library code must not print. Each public entry
 * point that calls HDF5 silences it for its own duration and restores whatever the caller had set. */
#ifndef DS_H5_H5_QUIET_H
#define DS_H5_H5_QUIET_H

#include <hdf5.h>

typedef struct {
  H5E_auto2_t func;
  void *data;
} ds_h5_quiet;

void ds_h5_quiet_begin(ds_h5_quiet *q);
void ds_h5_quiet_end(const ds_h5_quiet *q);

#endif
