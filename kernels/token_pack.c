#include "kernels/kernels.h"

#include <stdlib.h>
#include <string.h>

static int grow(ds_token_pack *p, int rows, int seqs, ds_err *err) {
  /* At least one of each, so even an empty batch (B = 0) has arrays to write seq_start[0] into. */
  rows = rows > 1 ? rows : 1;
  seqs = seqs > 1 ? seqs : 1;
  if (rows > p->cap_rows) {
    int *row = realloc(p->row, sizeof(int) * (size_t)rows);
    if (row) p->row = row;
    uint8_t *key_ok = row ? realloc(p->key_ok, (size_t)rows) : NULL;
    if (key_ok) p->key_ok = key_ok;
    if (!row || !key_ok) return ds_fail(err, "out of memory packing %d token rows", rows);
    p->cap_rows = rows;
  }
  if (seqs > p->cap_seqs) {
    int *start = realloc(p->seq_start, sizeof(int) * (size_t)(seqs + 1));
    if (start) p->seq_start = start;
    long *scores = start ? realloc(p->score_start, sizeof(long) * (size_t)(seqs + 1)) : NULL;
    if (scores) p->score_start = scores;
    if (!start || !scores) return ds_fail(err, "out of memory packing %d sequences", seqs);
    p->cap_seqs = seqs;
  }
  return 0;
}

int ds_token_pack_build(ds_token_pack *p, const uint8_t *mask, int B, int T, ds_pack_mode mode, int keep_first,
                        ds_err *err) {
  if (grow(p, B * T, B, err)) return -1;
  p->B = B;
  p->T = T;
  int r = 0;
  long scores = 0;
  for (int b = 0; b < B; b++) {
    p->seq_start[b] = r;
    p->score_start[b] = scores;
    for (int t = 0; t < T; t++) {
      const int i = b * T + t;
      if (mode == DS_PACK_VALID && !mask[i] && !(keep_first && t == 0)) continue;
      p->row[r] = i;
      p->key_ok[r] = mask[i] != 0;
      r++;
    }
    const long n = r - p->seq_start[b];
    scores += n * n;
  }
  p->seq_start[B] = r;
  p->score_start[B] = scores;
  p->n_rows = r;
  return 0;
}

void ds_token_pack_free(ds_token_pack *p) {
  free(p->row);
  free(p->key_ok);
  free(p->seq_start);
  free(p->score_start);
  memset(p, 0, sizeof *p);
}
