/* Token dropout (token_dropout.h). */
#include "train/token_dropout.h"

#include <stddef.h>
#include <stdint.h>

/* splitmix64's finalizer: a well-mixed 64-bit hash of x. */
static uint64_t mix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

/* Uniform in [0, 1) from (seed, step, row, position); 53 bits, so p compares exactly as a double. */
static double draw(unsigned long seed, long step, long row, int pos) {
  uint64_t h = mix64((uint64_t)seed ^ 0x746F6B656E64726Full); /* "tokendro": a stream of its own */
  h = mix64(h ^ (uint64_t)step);
  h = mix64(h ^ (uint64_t)row);
  h = mix64(h ^ (uint64_t)pos);
  return (double)(h >> 11) * (1.0 / 9007199254740992.0);
}

long ds_token_dropout_apply(ds_batch *b, int n, double p, unsigned long seed, long step) {
  if (!(p > 0.0)) return 0;
  long dropped = 0;
  for (int i = 0; i < n; i++) {
    uint8_t *mask = b->mask + (size_t)i * b->len;
    int first = -1, last = -1;
    for (int j = 0; j < b->len; j++)
      if (mask[j]) {
        if (first < 0) first = j;
        last = j;
      }
    for (int j = first + 1; first >= 0 && j < last; j++)
      if (mask[j] && draw(seed, step, b->rows[i], j) < p) {
        mask[j] = 0;
        dropped++;
      }
  }
  return dropped;
}
