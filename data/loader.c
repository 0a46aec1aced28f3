#include "data/data.h"

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <stdlib.h>
#include <string.h>

#include "data/loader_split.h"
#include "data/teacher_private.h"

#define BLOCK DS_LOADER_BLOCK_ROWS
#define WINDOW DS_LOADER_WINDOW_BLOCKS

struct ds_loader {
  ds_teacher *t;      /* borrowed */
  double f;
  unsigned long seed;
  long n_rows, n_val, n_train, n_blocks, n_windows;
  uint64_t epoch, cursor;
  int have_epoch;     /* perm and win_start describe `epoch` */
  long *perm;         /* (n_blocks) block order of the epoch */
  long *win_start;    /* (n_windows + 1) cursor at which each window begins */
  long win;           /* window held in buf; -1 = none */
  ds_batch buf;       /* (WINDOW * BLOCK, L) the window's rows, source order */
  long *order;        /* (WINDOW * BLOCK) buf positions of the window's training rows, shuffled */
  long n_order;
  gsl_rng *rng;
  /* Data parallelism (ds_loader_set_share): only rows [share_lo, share_hi) of every batch of share_b rows are
   * handed out, and a window reads only those; share_b 0 = every row. */
  int share_b, share_lo, share_hi;
  long *want;         /* (WINDOW * BLOCK) scratch: window positions this process reads */
};

/* splitmix64 finaliser: decorrelates nearby (seed, epoch, window) tuples. */
static uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

static void rng_seed(ds_loader *l, uint64_t epoch, uint64_t stream) {
  uint64_t h = mix(mix(mix((uint64_t)l->seed) ^ epoch) ^ stream);
  gsl_rng_set(l->rng, (unsigned long)h);
}

static long block_train_rows(const ds_loader *l, long b) {
  long start = b * BLOCK, end = start + BLOCK < l->n_rows ? start + BLOCK : l->n_rows;
  return (end - start) - (ds_split_val_before(l->f, end) - ds_split_val_before(l->f, start));
}

static void epoch_setup(ds_loader *l) {
  if (l->have_epoch) return;
  for (long b = 0; b < l->n_blocks; b++) l->perm[b] = b;
  rng_seed(l, l->epoch, 0);
  gsl_ran_shuffle(l->rng, l->perm, (size_t)l->n_blocks, sizeof *l->perm);
  l->win_start[0] = 0;
  for (long w = 0; w < l->n_windows; w++) {
    long sum = 0;
    for (long k = w * WINDOW; k < (w + 1) * WINDOW && k < l->n_blocks; k++)
      sum += block_train_rows(l, l->perm[k]);
    l->win_start[w + 1] = l->win_start[w] + sum;
  }
  l->have_epoch = 1;
  l->win = -1;
}

static int cmp_long(const void *a, const void *b) {
  long x = *(const long *)a, y = *(const long *)b;
  return (x > y) - (x < y);
}

/* order[] = the positions, in the window's blocks laid end to end, of its training rows, shuffled: computed from
 * the row numbers alone, so a process reading only its share of the rows draws the same order. */
static void window_order(ds_loader *l, long w, const ds_row_run *runs, int n) {
  long i = 0;
  l->n_order = 0;
  for (int k = 0; k < n; k++)
    for (long j = 0; j < runs[k].count; j++, i++)
      if (!ds_split_is_val(l->f, runs[k].start + j)) l->order[l->n_order++] = i;
  rng_seed(l, l->epoch, (uint64_t)w + 1);
  gsl_ran_shuffle(l->rng, l->order, (size_t)l->n_order, sizeof *l->order);
}

/* Source row of position i of the window's blocks laid end to end. */
static long window_row(const ds_row_run *runs, int n, long i) {
  for (int k = 0; k < n; k++) {
    if (i < runs[k].count) return runs[k].start + i;
    i -= runs[k].count;
  }
  return -1;
}

/* With a share, after window_order: only the rows that land in this process's slots of the batches to come are
 * read. `slot` is the batch slot of the row at the cursor. order[] then holds buf positions, -1 for rows another
 * process reads. */
static int window_read_share(ds_loader *l, long w, int slot, const ds_row_run *runs, int n, ds_err *err) {
  long n_want = 0;
  const long first = (long)l->cursor - l->win_start[w]; /* rows before the cursor are gone */
  for (long k = first > 0 ? first : 0; k < l->n_order; k++) {
    const long s = (slot + (k - first)) % l->share_b;
    if (s >= l->share_lo && s < l->share_hi) l->want[n_want++] = l->order[k];
  }
  qsort(l->want, (size_t)n_want, sizeof *l->want, cmp_long); /* file order */
  ds_row_run *mine = malloc(sizeof *mine * (size_t)(n_want > 0 ? n_want : 1));
  if (!mine) return ds_fail(err, "%s: out of memory", l->t->info.path);
  int n_mine = 0;
  for (long j = 0; j < n_want; j++) {
    const long r = window_row(runs, n, l->want[j]);
    if (n_mine && mine[n_mine - 1].start + mine[n_mine - 1].count == r)
      mine[n_mine - 1].count++;
    else
      mine[n_mine++] = (ds_row_run){r, 1};
  }
  const int rc = n_mine > 0 ? ds_teacher_read_runs(l->t, mine, n_mine, 0, &l->buf, err) : 0;
  free(mine);
  if (rc) return -1;
  if (n_mine == 0) l->buf.n = 0;
  for (long k = 0; k < l->n_order; k++) { /* window position -> buf position (want is sorted) */
    const long *hit = bsearch(&l->order[k], l->want, (size_t)n_want, sizeof *l->want, cmp_long);
    l->order[k] = hit ? hit - l->want : -1;
  }
  return 0;
}

static int window_load(ds_loader *l, long w, int slot, ds_err *err) {
  long blocks[WINDOW];
  ds_row_run runs[WINDOW];
  int n = 0;
  for (long k = w * WINDOW; k < (w + 1) * WINDOW && k < l->n_blocks; k++) blocks[n++] = l->perm[k];
  qsort(blocks, (size_t)n, sizeof *blocks, cmp_long); /* file order: sequential disk reads */
  for (int i = 0; i < n; i++) {
    runs[i].start = blocks[i] * BLOCK;
    runs[i].count = runs[i].start + BLOCK < l->n_rows ? BLOCK : l->n_rows - runs[i].start;
  }
  l->win = -1;
  window_order(l, w, runs, n);
  /* Without a share the blocks are read whole, so a window position is its buf position. */
  const int rc = l->share_b > 0 ? window_read_share(l, w, slot, runs, n, err)
                                : ds_teacher_read_runs(l->t, runs, n, 0, &l->buf, err);
  if (rc) return -1;
  l->win = w;
  return 0;
}

/* The window holding cursor c: the last w with win_start[w] <= c (skips empty windows). */
static long window_of(const ds_loader *l, long c) {
  long lo = 0, hi = l->n_windows - 1;
  while (lo < hi) {
    long mid = lo + (hi - lo + 1) / 2;
    if (l->win_start[mid] <= c)
      lo = mid;
    else
      hi = mid - 1;
  }
  return lo;
}

static void copy_row(const ds_loader *l, long src, ds_batch *b, int i, int len) {
  const ds_teacher_info *in = &l->t->info;
  const ds_batch *w = &l->buf;
  int L = w->len, C = in->n_classes, D = in->emb_dim;
  memcpy(b->ids + (size_t)i * len, w->ids + (size_t)src * L, sizeof *b->ids * len);
  memcpy(b->mask + (size_t)i * len, w->mask + (size_t)src * L, (size_t)len);
  if (C) memcpy(b->logits + (size_t)i * C, w->logits + (size_t)src * C, sizeof *b->logits * C);
  if (D) memcpy(b->emb + (size_t)i * D, w->emb + (size_t)src * D, sizeof *b->emb * D);
  if (in->has_labels) b->labels[i] = w->labels[src];
  b->rows[i] = w->rows[src];
}

int ds_loader_next_train(ds_loader *l, int batch_size, int max_len, ds_batch *b, ds_err *err) {
  const ds_teacher_info *in = &l->t->info;
  int len = max_len > 0 && max_len < in->seq_len ? max_len : in->seq_len;
  if (batch_size <= 0 || batch_size > b->cap_rows || len > b->cap_len)
    return ds_fail(err, "%s: batch of %d rows of %d tokens does not fit the buffer (%d rows of %d)",
                   in->path, batch_size, len, b->cap_rows, b->cap_len);
  if (l->share_b > 0 && batch_size != l->share_b)
    return ds_fail(err, "%s: batch of %d rows, but this process computes a share of batches of %d", in->path,
                   batch_size, l->share_b);
  const int lo = l->share_b > 0 ? l->share_lo : 0, hi = l->share_b > 0 ? l->share_hi : batch_size;
  for (int i = 0; i < batch_size; i++) {
    if (l->cursor >= (uint64_t)l->n_train) {
      l->epoch++;
      l->cursor = 0;
      l->have_epoch = 0;
    }
    epoch_setup(l);
    long c = (long)l->cursor, w = window_of(l, c);
    if (w != l->win && window_load(l, w, i, err)) return -1;
    if (i >= lo && i < hi) {
      const long src = l->order[c - l->win_start[w]];
      if (src < 0) return ds_fail(err, "%s: internal error: row of batch slot %d not read", in->path, i);
      copy_row(l, src, b, i - lo, len);
    }
    l->cursor++;
  }
  b->n = hi - lo;
  b->len = len;
  return 0;
}

int ds_loader_read_val(ds_loader *l, long start, int n, int max_len, ds_batch *b, ds_err *err) {
  if (start < 0 || n <= 0 || start + n > l->n_val)
    return ds_fail(err, "%s: validation rows %ld..%ld outside [0, %ld)", l->t->info.path, start,
                   start + n - 1, l->n_val);
  ds_row_run *runs = malloc(sizeof *runs * (size_t)n);
  if (!runs) return ds_fail(err, "%s: out of memory", l->t->info.path);
  int n_runs = 0;
  for (long k = start; k < start + n; k++) {
    long r = ds_split_val_row(l->f, l->n_rows, k);
    if (n_runs && runs[n_runs - 1].start + runs[n_runs - 1].count == r)
      runs[n_runs - 1].count++;
    else
      runs[n_runs++] = (ds_row_run){r, 1};
  }
  int rc = ds_teacher_read_runs(l->t, runs, n_runs, max_len, b, err);
  free(runs);
  return rc;
}

int ds_loader_init(ds_loader **out, ds_teacher *t, double f, unsigned long seed, ds_err *err) {
  *out = NULL;
  const ds_teacher_info *in = ds_teacher_get_info(t);
  if (!(f >= 0.0 && f <= 0.99))
    return ds_fail(err, "%s: val_fraction %g outside [0, 0.99]", in->path, f);
  ds_loader *l = calloc(1, sizeof *l);
  if (!l) return ds_fail(err, "%s: out of memory", in->path);
  l->t = t;
  l->f = f;
  l->seed = seed;
  l->n_rows = in->n_rows;
  l->n_val = ds_split_val_before(f, in->n_rows);
  l->n_train = in->n_rows - l->n_val;
  l->n_blocks = (in->n_rows + BLOCK - 1) / BLOCK;
  l->n_windows = (l->n_blocks + WINDOW - 1) / WINDOW;
  l->win = -1;
  l->perm = malloc(sizeof *l->perm * l->n_blocks);
  l->win_start = malloc(sizeof *l->win_start * (l->n_windows + 1));
  l->order = malloc(sizeof *l->order * WINDOW * BLOCK);
  l->want = malloc(sizeof *l->want * WINDOW * BLOCK);
  l->rng = gsl_rng_alloc(gsl_rng_mt19937);
  if (!l->perm || !l->win_start || !l->order || !l->want || !l->rng) {
    ds_loader_free(l);
    return ds_fail(err, "%s: out of memory for the loader", in->path);
  }
  if (ds_batch_alloc(&l->buf, in, WINDOW * BLOCK, 0, err)) {
    ds_loader_free(l);
    return -1;
  }
  if (l->n_train <= 0) {
    ds_loader_free(l);
    return ds_fail(err, "%s: no training rows with val_fraction %g", in->path, f);
  }
  *out = l;
  return 0;
}

long ds_loader_n_train(const ds_loader *l) { return l->n_train; }
long ds_loader_n_val(const ds_loader *l) { return l->n_val; }

ds_loader_state ds_loader_get_state(const ds_loader *l) {
  ds_loader_state s = {l->epoch, l->cursor};
  return s;
}

int ds_loader_set_state(ds_loader *l, ds_loader_state s, ds_err *err) {
  if (s.cursor > (uint64_t)l->n_train)
    return ds_fail(err, "%s: loader cursor %llu beyond the %ld training rows", l->t->info.path,
                   (unsigned long long)s.cursor, l->n_train);
  if (s.epoch != l->epoch) l->have_epoch = 0;
  if (l->share_b > 0) l->win = -1; /* a share's window holds the rows of slots counted from its cursor */
  l->epoch = s.epoch;
  l->cursor = s.cursor;
  return 0;
}

int ds_loader_set_share(ds_loader *l, int batch_size, int lo, int hi, ds_err *err) {
  if (batch_size <= 0 || lo < 0 || hi <= lo || hi > batch_size)
    return ds_fail(err, "%s: share [%d, %d) of batches of %d rows", l->t->info.path, lo, hi, batch_size);
  l->share_b = batch_size;
  l->share_lo = lo;
  l->share_hi = hi;
  l->win = -1; /* a window read for another share holds the wrong rows */
  return 0;
}

void ds_loader_free(ds_loader *l) {
  if (!l) return;
  free(l->perm);
  free(l->win_start);
  free(l->order);
  free(l->want);
  if (l->rng) gsl_rng_free(l->rng);
  ds_batch_free(&l->buf);
  free(l);
}
