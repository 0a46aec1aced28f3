/* Thread setup for programs: see kernels/kernels.h. */
#include "kernels/kernels.h"

#include <omp.h>

/* From OpenBLAS; declared here because cblas.h and GSL's headers clash. */
void openblas_set_num_threads(int n);

void ds_threads_set(int n) {
  openblas_set_num_threads(1);
  if (n > 0) omp_set_num_threads(n);
}
