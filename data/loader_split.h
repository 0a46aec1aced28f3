/* The deterministic train/validation split (see the loader section of data/data.h); private to data/. */
#ifndef DS_DATA_LOADER_SPLIT_H
#define DS_DATA_LOADER_SPLIT_H

/* Validation rows among rows [0, r). */
static inline long ds_split_val_before(double f, long r) { return (long)((double)r * f); }

static inline int ds_split_is_val(double f, long r) {
  return ds_split_val_before(f, r + 1) > ds_split_val_before(f, r);
}

/* Source row of validation row k: the smallest r with val_before(r + 1) > k. */
static inline long ds_split_val_row(double f, long n_rows, long k) {
  long lo = 0, hi = n_rows - 1;
  while (lo < hi) {
    long mid = lo + (hi - lo) / 2;
    if (ds_split_val_before(f, mid + 1) > k)
      hi = mid;
    else
      lo = mid + 1;
  }
  return lo;
}

#endif
