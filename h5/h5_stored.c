/* Whether a dataset stores every value it declares (h5/h5.h). */
#include "h5/h5.h"

#include <stdint.h>

int ds_h5_fully_stored(hid_t d) {
  hid_t space = H5Dget_space(d), dcpl = H5Dget_create_plist(d);
  int rc = -1;
  const int rank = space < 0 ? -1 : H5Sget_simple_extent_ndims(space);
  const hssize_t n = space < 0 ? -1 : H5Sget_simple_extent_npoints(space);
  const H5D_layout_t layout = dcpl < 0 ? H5D_LAYOUT_ERROR : H5Pget_layout(dcpl);
  if (rank < 0 || n < 0 || layout == H5D_LAYOUT_ERROR) {
    rc = -1;
  } else if (n == 0 || layout == H5D_COMPACT) {
    rc = 1;
  } else if (layout == H5D_CONTIGUOUS) {
    rc = H5Pget_external_count(dcpl) > 0 || H5Dget_storage_size(d) > 0;
  } else if (layout == H5D_CHUNKED) {
    hsize_t dims[H5S_MAX_RANK], chunk[H5S_MAX_RANK], stored = 0, need = 1;
    if (H5Sget_simple_extent_dims(space, dims, NULL) == rank && H5Pget_chunk(dcpl, rank, chunk) == rank &&
        H5Dget_num_chunks(d, space, &stored) >= 0) {
      for (int i = 0; i < rank && need <= stored; i++) {
        const hsize_t per_axis = chunk[i] ? dims[i] / chunk[i] + (dims[i] % chunk[i] != 0) : 0;
        need = per_axis && need > UINT64_MAX / per_axis ? UINT64_MAX : need * per_axis;
      }
      rc = stored >= need;
    }
  } else {
    rc = 1; /* virtual or external storage: what is stored elsewhere is the reader's to find */
  }
  if (dcpl >= 0) H5Pclose(dcpl);
  if (space >= 0) H5Sclose(space);
  return rc;
}
