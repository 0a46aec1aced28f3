/* The descriptor under an HDF5 file (h5/h5.h). */
#include "h5/h5.h"

int ds_h5_file_fd(hid_t file) {
  void *h = NULL;
  if (file < 0 || H5Fget_vfd_handle(file, H5P_DEFAULT, &h) < 0 || !h) return -1;
  return *(int *)h;
}
