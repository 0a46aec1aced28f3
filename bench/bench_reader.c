/* bench_reader: the HDF5 teacher reader alone, as training drives it: shuffled training batches from
 * data/data.h (hyperslab reads of shuffle windows) for at least --seconds, after one warm-up batch.
 *
 *   bench_reader --teacher T.h5 [--batch 64] [--len 32] [--seconds 2]
 *
 * Prints `key value` lines: samples_per_sec, rows (read in the timed loop), maxrss_kb. */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "data/data.h"

int main(int argc, char **argv) {
  const char *path = NULL;
  int batch = 64, len = 32;
  double seconds = 2.0;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (strcmp(argv[i], "--teacher") == 0) path = argv[i + 1];
    else if (strcmp(argv[i], "--batch") == 0) batch = atoi(argv[i + 1]);
    else if (strcmp(argv[i], "--len") == 0) len = atoi(argv[i + 1]);
    else if (strcmp(argv[i], "--seconds") == 0) seconds = atof(argv[i + 1]);
    else path = NULL, i = argc;
  }
  if (!path || batch < 1 || len < 1 || seconds <= 0.0) {
    fprintf(stderr, "usage: bench_reader --teacher T.h5 [--batch B] [--len L] [--seconds S]\n");
    return 1;
  }
  ds_err err;
  ds_teacher *t = NULL;
  ds_loader *l = NULL;
  ds_batch b = {0};
  if (ds_teacher_open(&t, path, &err) || ds_loader_init(&l, t, 0.1, 1, &err) ||
      ds_batch_alloc(&b, ds_teacher_get_info(t), batch, len, &err) || ds_loader_next_train(l, batch, len, &b, &err)) {
    fprintf(stderr, "bench_reader: %s\n", err.msg);
    return 1;
  }
  long rows = 0;
  const double t0 = omp_get_wtime();
  double dt = 0.0;
  while (dt < seconds) {
    if (ds_loader_next_train(l, batch, len, &b, &err)) {
      fprintf(stderr, "bench_reader: %s\n", err.msg);
      return 1;
    }
    rows += batch;
    dt = omp_get_wtime() - t0;
  }
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  printf("samples_per_sec %.0f\n", rows / dt);
  printf("rows %ld\n", rows);
  printf("maxrss_kb %ld\n", ru.ru_maxrss);
  ds_batch_free(&b);
  ds_loader_free(l);
  ds_teacher_close(t);
  return 0;
}
