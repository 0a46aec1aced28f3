/* Silencing HDF5's error printing for one call (h5/h5.h). */
#include "h5/h5.h"

void ds_h5_quiet_begin(ds_h5_quiet *q) {
  q->func = NULL;
  q->data = NULL;
  H5Eget_auto2(H5E_DEFAULT, &q->func, &q->data);
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

void ds_h5_quiet_end(const ds_h5_quiet *q) { H5Eset_auto2(H5E_DEFAULT, q->func, q->data); }
