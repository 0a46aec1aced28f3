#include "train/prune_vocab.h"

#include <stdlib.h>
#include <string.h>

#include "data/data.h"

#define SCAN_ROWS 256

int ds_prune_vocab_unk_id(const ds_teacher_info *info, const char *const *vocab, int n_vocab) {
  for (int i = 0; vocab && i < n_vocab && i < info->vocab_size; i++)
    if (strcmp(vocab[i], "[UNK]") == 0 || strcmp(vocab[i], "<unk>") == 0) return i;
  return info->pad_id;
}

int ds_prune_vocab_map_build(ds_vocab_map **out, ds_teacher *t, double val_fraction, unsigned long seed,
                             int max_len, const char *const *vocab, int n_vocab, int *n_kept, ds_err *err) {
  *out = NULL;
  const ds_teacher_info *info = ds_teacher_get_info(t);
  const int V = info->vocab_size;
  ds_loader *l = NULL;
  ds_batch b = {0};
  uint8_t *seen = calloc((size_t)V, 1);
  int rc = -1;
  if (!seen) {
    ds_fail(err, "%s: out of memory scanning the vocabulary", info->path);
    goto done;
  }
  /* A loader of its own, from the start of epoch 0: the trainer's data order is left untouched, and one
   * epoch hands out every training row exactly once. */
  if (ds_loader_init(&l, t, val_fraction, seed, err) || ds_batch_alloc(&b, info, SCAN_ROWS, max_len, err)) goto done;
  for (long left = ds_loader_n_train(l); left > 0;) {
    const int n = left < SCAN_ROWS ? (int)left : SCAN_ROWS;
    if (ds_loader_next_train(l, n, max_len, &b, err)) goto done;
    for (long i = 0; i < (long)n * b.len; i++)
      if (b.mask[i]) seen[b.ids[i]] = 1;
    left -= n;
  }
  const int unk = ds_prune_vocab_unk_id(info, vocab, n_vocab);
  seen[unk] = 1;
  seen[info->pad_id] = 1;
  if (ds_vocab_map_init(out, V, err)) goto done;
  (*out)->unk_id = unk;
  int kept = 0;
  for (int i = 0; i < V; i++) {
    (*out)->row[i] = seen[i] ? i : unk;
    kept += seen[i];
  }
  if (n_kept) *n_kept = kept;
  rc = 0;
done:
  free(seen);
  ds_batch_free(&b);
  ds_loader_free(l);
  return rc;
}
