/* The loader: exact split sizes, no validation row in training, every training row exactly once
 * per epoch, seeded order, and state save/restore reproducing a continuous run's batches; a data-parallel
 * share (ds_loader_set_share) hands out exactly its slice of those batches, also after a restore. */
#include "tests/data/fixture.h"

#include "data/data.h"
#include "tests/check.h"

enum { N = 5000, L = 6, D = 2, V = 30 }; /* N is not a multiple of the 256-row block */

static int is_val(double f, long r) { return floor((r + 1) * f) > floor(r * f); }

static int make_file(const char *path) {
  ds_teacher_writer_params p = ds_teacher_writer_default_params();
  p.seq_len = L;
  p.emb_dim = D;
  p.has_labels = 1;
  p.chunk_rows = 100;
  ds_err err;
  ds_teacher_writer *w;
  if (ds_teacher_writer_create(&w, path, &p, &err)) return -1;
  static int32_t ids[N * L], labels[N];
  static uint8_t mask[N * L];
  static float emb[N * D];
  fx_fill(0, N, L, V, 0, D, ids, mask, NULL, emb, labels);
  if (ds_teacher_writer_append(w, N, ids, mask, NULL, emb, labels, &err)) return -1;
  return ds_teacher_writer_close(w, &err);
}

/* Every row of a batch carries its own source row's data. */
static int batch_consistent(const ds_batch *b) {
  int bad = 0;
  for (int i = 0; i < b->n; i++) {
    long r = b->rows[i];
    bad += b->emb[i * D] != (float)r || b->emb[i * D + 1] != fx_emb(r, 1) || b->labels[i] != r % 3;
    for (int j = 0; j < b->len; j++)
      bad += b->ids[i * b->len + j] != fx_id(r, j, L, V) || b->mask[i * b->len + j] != (j < fx_len(r, L));
  }
  return bad;
}

/* Source rows of the next `count` training rows, in batches of bs. */
static void take_rows(ds_loader *l, ds_batch *b, int bs, long count, long *out, int *bad) {
  ds_err err;
  for (long k = 0; k < count; k += bs) {
    if (ds_loader_next_train(l, bs, 4, b, &err)) {
      (*bad)++;
      return;
    }
    *bad += batch_consistent(b) + (b->len != 4);
    for (int i = 0; i < bs && k + i < count; i++) out[k + i] = b->rows[i];
  }
}

static void test_split_and_epochs(ds_teacher *t) {
  const double f = 0.1;
  ds_err err;
  ds_loader *l;
  CHECK(ds_loader_init(&l, t, f, 7, &err) == 0);
  long n_val = ds_loader_n_val(l), n_train = ds_loader_n_train(l);
  CHECK(n_val == 500 && n_train == 4500);

  ds_batch b = {0};
  CHECK(ds_batch_alloc(&b, ds_teacher_get_info(t), 64, 4, &err) == 0);
  /* Validation: rows in source order, each one a validation row, all of them covered. */
  long seen_val = 0, prev = -1;
  int bad = 0;
  for (long s = 0; s < n_val; s += 64) {
    int n = n_val - s < 64 ? (int)(n_val - s) : 64;
    CHECK(ds_loader_read_val(l, s, n, 4, &b, &err) == 0);
    bad += batch_consistent(&b);
    for (int i = 0; i < b.n; i++) {
      bad += !is_val(f, b.rows[i]) || b.rows[i] <= prev;
      prev = b.rows[i];
      seen_val++;
    }
  }
  CHECK(seen_val == n_val && bad == 0);
  CHECK(ds_loader_read_val(l, n_val - 3, 4, 4, &b, &err) == -1);

  /* Two epochs, in batches of 64 that straddle the boundary. */
  static long rows[2 * 4500];
  take_rows(l, &b, 64, 2 * n_train, rows, &bad);
  CHECK(bad == 0);
  for (int e = 0; e < 2; e++) {
    static char seen[N];
    memset(seen, 0, sizeof seen);
    int dup = 0, val = 0, in_order = 0;
    for (long k = 0; k < n_train; k++) {
      long r = rows[e * n_train + k];
      dup += seen[r]++;
      val += is_val(f, r);
      if (k) in_order += r == rows[e * n_train + k - 1] + 1;
    }
    CHECK_MSG(dup == 0 && val == 0, "epoch %d: %d repeats, %d validation rows", e, dup, val);
    CHECK_MSG(in_order < n_train / 20, "epoch %d: %d consecutive pairs: not shuffled", e, in_order);
  }
  long same = 0;
  for (long k = 0; k < n_train; k++) same += rows[k] == rows[n_train + k];
  CHECK_MSG(same < n_train / 20, "epochs 0 and 1 share %ld positions", same);
  ds_loader_state s = ds_loader_get_state(l);
  CHECK(s.epoch == 2 && s.cursor == (uint64_t)(((2 * n_train + 63) / 64) * 64 - 2 * n_train));
  ds_batch_free(&b);
  ds_loader_free(l);

  /* f = 0: every row trains. */
  CHECK(ds_loader_init(&l, t, 0.0, 7, &err) == 0);
  CHECK(ds_loader_n_val(l) == 0 && ds_loader_n_train(l) == N);
  ds_loader_free(l);
  CHECK(ds_loader_init(&l, t, 1.0, 7, &err) == -1 && l == NULL);
}

/* The first `count` row indices handed out by a fresh loader with this seed. */
static void sequence(ds_teacher *t, unsigned long seed, long count, long *out) {
  ds_err err;
  ds_loader *l;
  ds_batch b = {0};
  int bad = 0;
  CHECK(ds_loader_init(&l, t, 0.1, seed, &err) == 0);
  CHECK(ds_batch_alloc(&b, ds_teacher_get_info(t), 50, 0, &err) == 0);
  take_rows(l, &b, 50, count, out, &bad);
  CHECK(bad == 0);
  ds_batch_free(&b);
  ds_loader_free(l);
}

static void test_seeds(ds_teacher *t) {
  static long a[3000], b[3000], c[3000];
  sequence(t, 11, 3000, a);
  sequence(t, 11, 3000, b);
  sequence(t, 12, 3000, c);
  long same_ab = 0, same_ac = 0;
  for (int k = 0; k < 3000; k++) {
    same_ab += a[k] == b[k];
    same_ac += a[k] == c[k];
  }
  CHECK(same_ab == 3000);
  CHECK_MSG(same_ac < 150, "seeds 11 and 12 agree at %ld of 3000 positions", same_ac);
}

/* Runs `total` batches continuously, saving the state after batch `at`; a second loader restored
 * to that state must produce batches at+1 .. total identically (rows and contents). */
static void test_resume(ds_teacher *t, int bs, int total, int at) {
  ds_err err;
  ds_loader *l1, *l2;
  CHECK(ds_loader_init(&l1, t, 0.1, 99, &err) == 0);
  CHECK(ds_loader_init(&l2, t, 0.1, 99, &err) == 0);
  ds_batch b1 = {0}, b2 = {0};
  CHECK(ds_batch_alloc(&b1, ds_teacher_get_info(t), bs, 0, &err) == 0);
  CHECK(ds_batch_alloc(&b2, ds_teacher_get_info(t), bs, 0, &err) == 0);
  /* Move l2 somewhere else first so that set_state must discard its window and permutation. */
  CHECK(ds_loader_next_train(l2, bs, 0, &b2, &err) == 0);
  ds_loader_state saved = {0, 0};
  int diff = 0;
  long *expect = malloc(sizeof *expect * (size_t)bs * total);
  for (int k = 0; k < total; k++) {
    CHECK(ds_loader_next_train(l1, bs, 0, &b1, &err) == 0);
    memcpy(expect + (size_t)k * bs, b1.rows, sizeof *expect * bs);
    if (k == at) saved = ds_loader_get_state(l1);
  }
  CHECK(ds_loader_set_state(l2, saved, &err) == 0);
  for (int k = at + 1; k < total; k++) {
    CHECK(ds_loader_next_train(l2, bs, 0, &b2, &err) == 0);
    diff += memcmp(expect + (size_t)k * bs, b2.rows, sizeof *expect * bs) != 0;
    diff += batch_consistent(&b2);
  }
  CHECK_MSG(diff == 0, "bs %d, resume after batch %d (epoch %llu, cursor %llu): %d batches differ",
            bs, at, (unsigned long long)saved.epoch, (unsigned long long)saved.cursor, diff);
  ds_loader_state bad = {0, 4501};
  CHECK(ds_loader_set_state(l2, bad, &err) == -1);
  free(expect);
  ds_batch_free(&b1);
  ds_batch_free(&b2);
  ds_loader_free(l1);
  ds_loader_free(l2);
}

/* Three processes' shares of batches of bs rows, [0, 16), [16, 31), [31, bs), against one loader without a
 * share, over `total` batches (epochs and windows crossed); each share loader is also restored mid-run from the
 * state after batch `at` (its cursor mid-window) and must go on identically. */
static void test_shares(ds_teacher *t, int bs, int total, int at) {
  ds_err err;
  const int cut[4] = {0, 16, 31, bs};
  ds_loader *whole, *part[3], *again;
  CHECK(ds_loader_init(&whole, t, 0.1, 5, &err) == 0);
  ds_batch bw = {0}, bp = {0};
  CHECK(ds_batch_alloc(&bw, ds_teacher_get_info(t), bs, 0, &err) == 0);
  CHECK(ds_batch_alloc(&bp, ds_teacher_get_info(t), bs, 0, &err) == 0);
  long *expect = malloc(sizeof *expect * (size_t)bs * total);
  for (int k = 0; k < total; k++) {
    CHECK(ds_loader_next_train(whole, bs, 0, &bw, &err) == 0);
    memcpy(expect + (size_t)k * bs, bw.rows, sizeof *expect * bs);
  }
  int diff = 0;
  for (int s = 0; s < 3; s++) {
    CHECK(ds_loader_init(&part[s], t, 0.1, 5, &err) == 0);
    CHECK(ds_loader_init(&again, t, 0.1, 5, &err) == 0);
    CHECK(ds_loader_set_share(part[s], bs, cut[s], cut[s + 1], &err) == 0);
    CHECK(ds_loader_set_share(again, bs, cut[s], cut[s + 1], &err) == 0);
    ds_loader_state saved = {0, 0};
    for (int k = 0; k < total; k++) {
      CHECK(ds_loader_next_train(part[s], bs, 0, &bp, &err) == 0);
      diff += bp.n != cut[s + 1] - cut[s] || batch_consistent(&bp) ||
              memcmp(expect + (size_t)k * bs + cut[s], bp.rows, sizeof *expect * bp.n) != 0;
      if (k == at) saved = ds_loader_get_state(part[s]);
    }
    CHECK(ds_loader_set_state(again, saved, &err) == 0);
    for (int k = at + 1; k < total; k++) {
      CHECK(ds_loader_next_train(again, bs, 0, &bp, &err) == 0);
      diff += batch_consistent(&bp) || memcmp(expect + (size_t)k * bs + cut[s], bp.rows, sizeof *expect * bp.n) != 0;
    }
    CHECK(ds_loader_next_train(again, bs + 1, 0, &bp, &err) == -1); /* another batch size than the share's */
    ds_loader_free(part[s]);
    ds_loader_free(again);
  }
  CHECK_MSG(diff == 0, "shares of batches of %d: %d batches differ from the unshared loader's", bs, diff);
  CHECK(ds_loader_init(&again, t, 0.1, 5, &err) == 0);
  CHECK(ds_loader_set_share(again, bs, 10, 10, &err) == -1); /* an empty share */
  ds_loader_free(again);
  free(expect);
  ds_batch_free(&bw);
  ds_batch_free(&bp);
  ds_loader_free(whole);
}

int main(void) {
  char dir[1024], path[1200];
  if (fx_tmpdir(dir, sizeof dir, "loader")) return 1;
  snprintf(path, sizeof path, "%s/teacher.h5", dir);
  CHECK(make_file(path) == 0);
  ds_err err;
  ds_teacher *t;
  int rc = ds_teacher_open(&t, path, &err);
  CHECK_MSG(rc == 0, "%s", err.msg);
  if (rc == 0) {
    test_split_and_epochs(t);
    test_seeds(t);
    test_resume(t, 64, 60, 20);   /* mid-epoch, inside a shuffle window */
    test_resume(t, 64, 160, 69);  /* the next batch straddles the epoch boundary (4500 / 64) */
    test_resume(t, 100, 100, 44); /* saved exactly at the end of epoch 0: cursor == n_train */
    test_resume(t, 100, 140, 60); /* within epoch 1 */
    test_shares(t, 48, 200, 70);  /* 200 x 48 rows: two epochs of 4500, several windows each */
  }
  ds_teacher_close(t);
  fx_rmdir(dir);
  return check_report();
}
