#include "model/model.h"

#include <stdlib.h>
#include <string.h>

int ds_vocab_map_init(ds_vocab_map **out, int n_ids, ds_err *err) {
  *out = NULL;
  if (n_ids < 1) return ds_fail(err, "vocabulary map: %d ids, need at least 1", n_ids);
  ds_vocab_map *vm = calloc(1, sizeof *vm);
  if (!vm || !(vm->row = malloc(sizeof(int32_t) * (size_t)n_ids))) {
    free(vm);
    return ds_fail(err, "out of memory for a vocabulary map of %d ids", n_ids);
  }
  vm->n_ids = n_ids;
  for (int i = 0; i < n_ids; i++) vm->row[i] = i;
  *out = vm;
  return 0;
}

int ds_vocab_map_clone(ds_vocab_map **out, const ds_vocab_map *src, ds_err *err) {
  if (ds_vocab_map_init(out, src->n_ids, err)) return -1;
  memcpy((*out)->row, src->row, sizeof(int32_t) * (size_t)src->n_ids);
  (*out)->unk_id = src->unk_id;
  return 0;
}

void ds_vocab_map_free(ds_vocab_map *vm) {
  if (!vm) return;
  free(vm->row);
  free(vm->mapped);
  free(vm);
}

int ds_vocab_map_apply(ds_vocab_map *vm, const int32_t *ids, long n, const int32_t **out, ds_err *err) {
  if (n > vm->mapped_cap) {
    int32_t *p = realloc(vm->mapped, sizeof(int32_t) * (size_t)n);
    if (!p) return ds_fail(err, "out of memory mapping %ld token ids", n);
    vm->mapped = p;
    vm->mapped_cap = n;
  }
  for (long i = 0; i < n; i++) {
    if (ids[i] < 0 || ids[i] >= vm->n_ids)
      return ds_fail(err, "token id %d (position %ld) is outside the teacher vocabulary [0, %d)", ids[i], i,
                     vm->n_ids);
    vm->mapped[i] = vm->row[ids[i]];
  }
  *out = vm->mapped;
  return 0;
}

int ds_vocab_map_rows_used(const ds_vocab_map *vm, int n_rows, uint8_t *used) {
  memset(used, 0, (size_t)n_rows);
  int n = 0;
  for (int i = 0; i < vm->n_ids; i++) {
    const int32_t r = vm->row[i];
    if (r >= 0 && r < n_rows && !used[r]) {
      used[r] = 1;
      n++;
    }
  }
  return n;
}
