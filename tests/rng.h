/* A seeded splitmix64 generator for the quant tests (no shared state: the caller owns it). */
#ifndef DS_TESTS_RNG_H
#define DS_TESTS_RNG_H

#include <stdint.h>

typedef struct {
  uint64_t s;
} test_rng;

static inline uint64_t rng_u64(test_rng *r) {
  uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

/* Uniform in [0, 1). */
static inline double rng_unit(test_rng *r) {
  return (double)(rng_u64(r) >> 11) * (1.0 / 9007199254740992.0);
}

/* Uniform integer in [lo, hi]. */
static inline int64_t rng_range(test_rng *r, int64_t lo, int64_t hi) {
  return lo + (int64_t)(rng_u64(r) % (uint64_t)(hi - lo + 1));
}

static inline double rng_uniform(test_rng *r, double lo, double hi) {
  return lo + (hi - lo) * rng_unit(r);
}

#endif
