/* How often each token id occurs among the real tokens of the training rows: the frequencies that
 * SIF token weights and the teacher-derived initialization's normalisation use. */
#include <stdlib.h>
#include <string.h>

#include "data/loader_split.h"
#include "data/teacher_private.h"

#define COUNT_BLOCK_ROWS 1024

int ds_teacher_token_freq(ds_teacher *t, double val_fraction, double *freq, ds_err *err) {
  const ds_teacher_info *in = &t->info;
  memset(freq, 0, sizeof *freq * in->vocab_size);
  ds_batch b;
  if (ds_batch_alloc(&b, in, COUNT_BLOCK_ROWS, 0, err)) return -1;
  double total = 0.0;
  for (long r0 = 0; r0 < in->n_rows; r0 += COUNT_BLOCK_ROWS) {
    const int n = (int)(in->n_rows - r0 < COUNT_BLOCK_ROWS ? in->n_rows - r0 : COUNT_BLOCK_ROWS);
    if (ds_teacher_read(t, r0, n, 0, &b, err)) {
      ds_batch_free(&b);
      return -1;
    }
    for (int i = 0; i < n; i++) {
      if (ds_split_is_val(val_fraction, r0 + i)) continue;
      for (int j = 0; j < b.len; j++)
        if (b.mask[(size_t)i * b.len + j]) {
          freq[b.ids[(size_t)i * b.len + j]] += 1.0;
          total += 1.0;
        }
    }
  }
  ds_batch_free(&b);
  if (total > 0)
    for (int id = 0; id < in->vocab_size; id++) freq[id] /= total;
  return 0;
}
