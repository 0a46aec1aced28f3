/* The optional teacher datasets of data/teacher_extras.c and the token counts of data/teacher_counts.c:
 *  - `token_embeddings` [vocab_size, D] (float16/32/64) loads and equals what was written;
 *  - `hidden_states` [N, L, H] reads into batches (ds_batch_want_hidden) with ds_teacher_read,
 *    ds_teacher_read_runs, ds_teacher_read_hidden_for_batch after the loader's shuffled batches, and the
 *    loader's validation reads, truncated to max_len tokens, equal to what was written;
 *  - every bad shape, rank, type or value of either is refused at open with -1, the dataset named (and the
 *    row of a NaN/Inf), nothing on stderr;
 *  - ds_teacher_token_freq against hand-counted shares (validation rows and masked tokens excluded). */
#include <fcntl.h>
#include <sys/stat.h>

#include "tests/data/expect_fail.h"
#include "tests/data/fixture.h"

#include "data/data.h"
#include "data/teacher_private.h"
#include "tests/check.h"

enum { N = 24, L = 6, D = 3, V = 20, H = 4, C = 4 };
enum { NO_EMB = 1, NO_VOCAB_SIZE = 2, WITH_LOGITS = 4 };

static char dir[1024];
static int32_t ids[N * L], labels[N];
static uint8_t mask[N * L];
static float logits[N * C], emb[N * D];
static float tok[(V + 1) * (D + 1)], hid[N * (L + 1) * H];

static void make_path(char *path, const char *name) { snprintf(path, 1200, "%s/%s.h5", dir, name); }

/* Exact in float16 too: multiples of 1/16 below 2. */
static float tok_value(int id, int d) { return (float)(id % 16) * 0.0625f + (float)d * 0.5f - 1.0f; }
static float hid_value(long r, int j, int h) { return (float)r * 100.0f + (float)j * 10.0f + (float)h + 0.25f; }

static void fill_extras(void) {
  for (int id = 0; id < V; id++)
    for (int d = 0; d < D; d++) tok[id * D + d] = tok_value(id, d);
  for (long r = 0; r < N; r++)
    for (int j = 0; j < L; j++)
      for (int h = 0; h < H; h++) hid[(r * L + j) * H + h] = hid_value(r, j, h);
}

/* Rank-3 dataset [d0, d1, d2]. */
static int dataset3(hid_t file, const char *name, hid_t ftype, long d0, long d1, long d2, hid_t mtype,
                    const void *buf) {
  hsize_t dims[3] = {(hsize_t)d0, (hsize_t)d1, (hsize_t)d2};
  hid_t space = H5Screate_simple(3, dims, NULL);
  hid_t d = H5Dcreate2(file, name, ftype, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  herr_t rc = d < 0 ? -1 : H5Dwrite(d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf);
  if (d >= 0) H5Dclose(d);
  H5Sclose(space);
  return rc < 0 ? -1 : 0;
}

/* A valid teacher file (ids, mask, embeddings, labels, vocab_size); the caller adds the extras. */
static hid_t base(const char *path, int flags) {
  fx_fill(0, N, L, V, C, D, ids, mask, logits, emb, labels);
  fill_extras();
  hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  fx_dataset(f, "input_ids", H5T_STD_I32LE, 2, N, L, H5T_NATIVE_INT32, ids);
  fx_dataset(f, "attention_mask", H5T_STD_U8LE, 2, N, L, H5T_NATIVE_UINT8, mask);
  if (!(flags & NO_EMB)) fx_dataset(f, "embeddings", H5T_IEEE_F32LE, 2, N, D, H5T_NATIVE_FLOAT, emb);
  if (flags & (WITH_LOGITS | NO_EMB)) fx_dataset(f, "logits", H5T_IEEE_F32LE, 2, N, C, H5T_NATIVE_FLOAT, logits);
  fx_dataset(f, "labels", H5T_STD_I32LE, 1, N, 0, H5T_NATIVE_INT32, labels);
  if (!(flags & NO_VOCAB_SIZE)) fx_int_attr(f, "vocab_size", V);
  return f;
}

static void add_tok(hid_t f, hid_t ftype) { fx_dataset(f, "token_embeddings", ftype, 2, V, D, H5T_NATIVE_FLOAT, tok); }
static void add_hidden(hid_t f) { dataset3(f, "hidden_states", H5T_IEEE_F32LE, N, L, H, H5T_NATIVE_FLOAT, hid); }


static ds_teacher *open_ok(const char *path) {
  ds_err err;
  ds_teacher *t = NULL;
  if (ds_teacher_open(&t, path, &err)) {
    fprintf(stderr, "%s\n", err.msg);
    check_failures++;
    return NULL;
  }
  return t;
}

/* token_embeddings stored as float16, float32 and float64 all load as the written float values. */
static void test_token_embeddings_load(void) {
  const hid_t types[3] = {fx_float16(), H5T_IEEE_F32LE, H5T_IEEE_F64LE};
  const char *names[3] = {"tok_f16", "tok_f32", "tok_f64"};
  for (int k = 0; k < 3; k++) {
    char path[1200];
    make_path(path, names[k]);
    hid_t f = base(path, 0);
    add_tok(f, types[k]);
    H5Fclose(f);
    ds_teacher *t = open_ok(path);
    if (!t) continue;
    const ds_teacher_info *in = ds_teacher_get_info(t);
    CHECK_MSG(in->has_token_emb == 1 && in->hidden_dim == 0 && in->vocab_size == V && in->emb_dim == D,
              "%s: has_token_emb %d hidden_dim %d", names[k], in->has_token_emb, in->hidden_dim);
    float *table = NULL;
    ds_err err;
    CHECK(ds_teacher_load_token_embeddings(t, &table, &err) == 0 && table);
    int bad = 0;
    for (int i = 0; table && i < V * D; i++) bad += table[i] != tok[i];
    CHECK_MSG(bad == 0, "%s: %d values differ from what was written", names[k], bad);
    free(table);
    ds_teacher_close(t);
  }
  H5Tclose(types[0]);

  /* Without vocab_size the vocabulary is max id + 1: token_embeddings must have that many rows. */
  char path[1200];
  make_path(path, "tok_no_vocab_size");
  hid_t f = base(path, NO_VOCAB_SIZE);
  int max_id = 0;
  for (int i = 0; i < N * L; i++) max_id = ids[i] > max_id ? ids[i] : max_id;
  fx_dataset(f, "token_embeddings", H5T_IEEE_F32LE, 2, max_id + 1, D, H5T_NATIVE_FLOAT, tok);
  H5Fclose(f);
  ds_teacher *t = open_ok(path);
  if (t) {
    CHECK(ds_teacher_get_info(t)->has_token_emb == 1 && ds_teacher_get_info(t)->vocab_size == max_id + 1);
    ds_teacher_close(t);
  }

  /* A file without the datasets: has_token_emb 0, and loading / hidden batches refused by name. */
  make_path(path, "plain");
  H5Fclose(base(path, 0));
  t = open_ok(path);
  if (t) {
    const ds_teacher_info *in = ds_teacher_get_info(t);
    CHECK(in->has_token_emb == 0 && in->hidden_dim == 0);
    float *table = (float *)&table;
    ds_err err = {{0}};
    CHECK(ds_teacher_load_token_embeddings(t, &table, &err) == -1 && table == NULL);
    CHECK_MSG(strstr(err.msg, "'token_embeddings'"), "\"%s\"", err.msg);
    ds_batch b;
    CHECK(ds_batch_alloc(&b, in, 4, 0, &err) == 0);
    err.msg[0] = 0;
    CHECK(ds_batch_want_hidden(&b, in, &err) == -1);
    CHECK_MSG(strstr(err.msg, "'hidden_states'"), "\"%s\"", err.msg);
    ds_batch_free(&b);
    ds_teacher_close(t);
  }
}

/* Rows of b hold the hidden states of their source rows, first b->len tokens. */
static int hidden_mismatches(const ds_batch *b) {
  int bad = 0;
  for (int i = 0; i < b->n; i++)
    for (int j = 0; j < b->len; j++) {
      bad += b->ids[i * b->len + j] != fx_id(b->rows[i], j, L, V);
      for (int h = 0; h < H; h++) bad += b->hidden[((size_t)i * b->len + j) * H + h] != hid_value(b->rows[i], j, h);
    }
  return bad;
}

static void test_hidden_read(void) {
  char path[1200];
  make_path(path, "hidden_ok");
  hid_t f = base(path, 0);
  add_tok(f, H5T_IEEE_F32LE);
  add_hidden(f);
  H5Fclose(f);
  ds_teacher *t = open_ok(path);
  if (!t) return;
  const ds_teacher_info *in = ds_teacher_get_info(t);
  CHECK(in->hidden_dim == H && in->has_token_emb == 1);
  ds_err err;
  ds_batch b;

  /* max_len 4 < L: the first 4 tokens of rows 5..11. */
  CHECK(ds_batch_alloc(&b, in, 8, 4, &err) == 0);
  CHECK(b.hidden == NULL);
  CHECK(ds_batch_want_hidden(&b, in, &err) == 0 && b.hidden);
  CHECK(ds_teacher_read(t, 5, 7, 4, &b, &err) == 0);
  CHECK(b.n == 7 && b.len == 4 && b.rows[0] == 5 && b.rows[6] == 11);
  CHECK_MSG(hidden_mismatches(&b) == 0, "read rows 5..11, max_len 4");
  /* max_len 2 into the same batch: 2 tokens per row, packed (n, 2, H). */
  CHECK(ds_teacher_read(t, 20, 4, 2, &b, &err) == 0);
  CHECK(b.len == 2 && b.n == 4);
  CHECK_MSG(hidden_mismatches(&b) == 0, "read rows 20..23, max_len 2");
  ds_batch_free(&b);

  /* Full length, three runs: rows 1-2, 10-12, 20-23. */
  CHECK(ds_batch_alloc(&b, in, 9, 0, &err) == 0);
  CHECK(ds_batch_want_hidden(&b, in, &err) == 0);
  const ds_row_run runs[3] = {{1, 2}, {10, 3}, {20, 4}};
  CHECK(ds_teacher_read_runs(t, runs, 3, 0, &b, &err) == 0);
  CHECK(b.n == 9 && b.len == L && b.rows[2] == 10 && b.rows[5] == 20);
  CHECK_MSG(hidden_mismatches(&b) == 0, "read_runs, full length");
  ds_batch_free(&b);

  /* A batch that did not ask for them reads the rest as before and leaves hidden NULL. */
  CHECK(ds_batch_alloc(&b, in, 3, 0, &err) == 0);
  CHECK(ds_teacher_read(t, 0, 3, 0, &b, &err) == 0 && b.hidden == NULL && b.emb[D] == fx_emb(1, 0));
  ds_batch_free(&b);

  /* The loader: shuffled training batches get their hidden states through ds_teacher_read_hidden_for_batch;
   * validation batches through the read itself. */
  ds_loader *l = NULL;
  CHECK(ds_loader_init(&l, t, 0.25, 3, &err) == 0);
  if (l) {
    CHECK(ds_batch_alloc(&b, in, 5, 3, &err) == 0);
    CHECK(ds_batch_want_hidden(&b, in, &err) == 0);
    for (int k = 0; k < 6; k++) {
      CHECK(ds_loader_next_train(l, 5, 3, &b, &err) == 0);
      CHECK(ds_teacher_read_hidden_for_batch(t, &b, &err) == 0);
      CHECK_MSG(b.len == 3 && hidden_mismatches(&b) == 0, "loader training batch %d", k);
    }
    CHECK(ds_loader_read_val(l, 1, 4, 3, &b, &err) == 0);
    CHECK_MSG(b.n == 4 && hidden_mismatches(&b) == 0 && b.rows[0] == 7, "loader validation rows (first %ld)",
              b.rows[0]);
    ds_batch_free(&b);
    /* A batch without room for them is refused. */
    CHECK(ds_batch_alloc(&b, in, 5, 3, &err) == 0);
    CHECK(ds_loader_next_train(l, 5, 3, &b, &err) == 0);
    CHECK(ds_teacher_read_hidden_for_batch(t, &b, &err) == -1);
    ds_batch_free(&b);
    ds_loader_free(l);
  }
  ds_teacher_close(t);
}

static void test_refusals(void) {
  char path[1200];
  hid_t f;
  static float big[(V + 1) * (D + 1) * 2];
  for (int i = 0; i < (V + 1) * (D + 1) * 2; i++) big[i] = 0.5f;

  make_path(path, "tok_rows");
  f = base(path, 0);
  fx_dataset(f, "token_embeddings", H5T_IEEE_F32LE, 2, V + 1, D, H5T_NATIVE_FLOAT, big);
  H5Fclose(f);
  EXPECT_FAIL(path, "'token_embeddings'", "21 rows", "20");

  make_path(path, "tok_rows_short");
  f = base(path, 0);
  fx_dataset(f, "token_embeddings", H5T_IEEE_F32LE, 2, V - 5, D, H5T_NATIVE_FLOAT, big);
  H5Fclose(f);
  EXPECT_FAIL(path, "'token_embeddings'", "15 rows", "20");

  make_path(path, "tok_cols");
  f = base(path, 0);
  fx_dataset(f, "token_embeddings", H5T_IEEE_F32LE, 2, V, D + 1, H5T_NATIVE_FLOAT, big);
  H5Fclose(f);
  EXPECT_FAIL(path, "'token_embeddings'", "4 columns", "'embeddings' has 3");

  make_path(path, "tok_nan");
  f = base(path, 0);
  tok[17 * D + 2] = NAN;
  add_tok(f, H5T_IEEE_F32LE);
  H5Fclose(f);
  EXPECT_FAIL(path, "'token_embeddings'", "row 17,", "NaN");

  make_path(path, "tok_inf_first");
  f = base(path, 0);
  tok[0] = INFINITY;
  add_tok(f, H5T_IEEE_F32LE);
  H5Fclose(f);
  EXPECT_FAIL(path, "'token_embeddings'", "row 0,", "Inf");

  make_path(path, "tok_inf_last");
  f = base(path, 0);
  tok[(V - 1) * D + 1] = -INFINITY;
  add_tok(f, H5T_IEEE_F32LE);
  H5Fclose(f);
  EXPECT_FAIL(path, "'token_embeddings'", "row 19,", "Inf");

  make_path(path, "tok_f16_inf");
  f = base(path, 0);
  tok[4 * D] = 1e6f; /* overflows half precision: stored as Inf */
  hid_t f16 = fx_float16();
  add_tok(f, f16);
  H5Tclose(f16);
  H5Fclose(f);
  EXPECT_FAIL(path, "'token_embeddings'", "row 4,", "Inf");

  make_path(path, "tok_f64_big");
  f = base(path, 0);
  static double tok64[V * D];
  tok64[9 * D + 1] = 1e300;
  fx_dataset(f, "token_embeddings", H5T_IEEE_F64LE, 2, V, D, H5T_NATIVE_DOUBLE, tok64);
  H5Fclose(f);
  EXPECT_FAIL(path, "'token_embeddings'", "row 9,", "float32");

  make_path(path, "tok_1d");
  f = base(path, 0);
  fx_dataset(f, "token_embeddings", H5T_IEEE_F32LE, 1, V, 0, H5T_NATIVE_FLOAT, big);
  H5Fclose(f);
  EXPECT_FAIL(path, "'token_embeddings'", "2-D");

  make_path(path, "tok_3d");
  f = base(path, 0);
  dataset3(f, "token_embeddings", H5T_IEEE_F32LE, V, D, 1, H5T_NATIVE_FLOAT, big);
  H5Fclose(f);
  EXPECT_FAIL(path, "'token_embeddings'", "2-D");

  make_path(path, "tok_int");
  f = base(path, 0);
  static int32_t tok_int[V * D];
  fx_dataset(f, "token_embeddings", H5T_STD_I32LE, 2, V, D, H5T_NATIVE_INT32, tok_int);
  H5Fclose(f);
  EXPECT_FAIL(path, "'token_embeddings'", "float");

  make_path(path, "tok_no_embeddings"); /* a logits-only teacher: nothing for the table to be a table of */
  f = base(path, NO_EMB);
  add_tok(f, H5T_IEEE_F32LE);
  H5Fclose(f);
  EXPECT_FAIL(path, "'token_embeddings'", "'embeddings'");

  fill_extras();
  make_path(path, "hid_rows");
  f = base(path, 0);
  dataset3(f, "hidden_states", H5T_IEEE_F32LE, N - 1, L, H, H5T_NATIVE_FLOAT, hid);
  H5Fclose(f);
  EXPECT_FAIL(path, "'hidden_states'", "[23, 6, 4]", "[24, 6]");

  make_path(path, "hid_len");
  f = base(path, 0);
  dataset3(f, "hidden_states", H5T_IEEE_F32LE, N, L + 1, H, H5T_NATIVE_FLOAT, hid);
  H5Fclose(f);
  EXPECT_FAIL(path, "'hidden_states'", "[24, 7, 4]", "[24, 6]");

  make_path(path, "hid_len_short");
  f = base(path, 0);
  dataset3(f, "hidden_states", H5T_IEEE_F32LE, N, L - 2, H, H5T_NATIVE_FLOAT, hid);
  H5Fclose(f);
  EXPECT_FAIL(path, "'hidden_states'", "[24, 4, 4]");

  make_path(path, "hid_rank2");
  f = base(path, 0);
  fx_dataset(f, "hidden_states", H5T_IEEE_F32LE, 2, N, L, H5T_NATIVE_FLOAT, hid);
  H5Fclose(f);
  EXPECT_FAIL(path, "'hidden_states'", "3-D");

  make_path(path, "hid_int");
  f = base(path, 0);
  static int32_t hid_int[N * L * H];
  dataset3(f, "hidden_states", H5T_STD_I32LE, N, L, H, H5T_NATIVE_INT32, hid_int);
  H5Fclose(f);
  EXPECT_FAIL(path, "'hidden_states'", "float");

  make_path(path, "hid_nan");
  f = base(path, 0);
  hid[(13 * L + 5) * H + 3] = NAN; /* row 13, token 5, feature 3: value 23 of the row */
  add_hidden(f);
  H5Fclose(f);
  EXPECT_FAIL(path, "'hidden_states'", "row 13,", "value 23", "NaN");
  fill_extras();

  /* The open-time scan reads in chunks (2^21 values): a NaN in the last row of the third chunk is found. */
  enum { BN = 36, BL = 2, BH = 65536 }; /* 131072 values per row: 16 rows per chunk */
  make_path(path, "hid_late_nan");
  f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  static int32_t bids[BN * BL];
  static float bemb[BN * D];
  for (int i = 0; i < BN * BL; i++) bids[i] = 1 + i % 5;
  fx_dataset(f, "input_ids", H5T_STD_I32LE, 2, BN, BL, H5T_NATIVE_INT32, bids);
  fx_dataset(f, "embeddings", H5T_IEEE_F32LE, 2, BN, D, H5T_NATIVE_FLOAT, bemb);
  float *bh = calloc((size_t)BN * BL * BH, sizeof *bh);
  bh[((size_t)35 * BL + 1) * BH + 7] = NAN;
  dataset3(f, "hidden_states", H5T_IEEE_F32LE, BN, BL, BH, H5T_NATIVE_FLOAT, bh);
  free(bh);
  H5Fclose(f);
  EXPECT_FAIL(path, "'hidden_states'", "row 35,", "value 65543", "NaN");
  unlink(path);

  /* Both present and both fine except hidden_states: the message is about hidden_states. */
  make_path(path, "tok_ok_hid_bad");
  f = base(path, 0);
  add_tok(f, H5T_IEEE_F32LE);
  fx_dataset(f, "hidden_states", H5T_IEEE_F32LE, 2, N, L, H5T_NATIVE_FLOAT, hid);
  H5Fclose(f);
  EXPECT_FAIL(path, "'hidden_states'");
}

/* Token shares on a hand-made file: 8 rows of 4 tokens, ids in [0, 6), vocab_size 7. */
static const int32_t fq_ids[8 * 4] = {1, 2, 2, 0, /* row 0 */ 3, 1, 0, 0, 5, 5, 5, 5, 4, 0, 0, 0,
                                      2, 3, 4, 0, /* row 4 */ 1, 1, 1, 1, 0, 2, 0, 0, 4, 4, 3, 0};
static const uint8_t fq_mask[8 * 4] = {1, 1, 1, 0, 1, 1, 0, 0, 1, 1, 1, 1, 1, 0, 0, 0,
                                       1, 1, 1, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 1, 0};

static void expect_freq(ds_teacher *t, double f, const double *counts, double total, const char *what) {
  double freq[7];
  ds_err err;
  for (int i = 0; i < 7; i++) freq[i] = -1.0;
  CHECK(ds_teacher_token_freq(t, f, freq, &err) == 0);
  for (int i = 0; i < 7; i++)
    CHECK_MSG(fabs(freq[i] - counts[i] / total) < 1e-15, "%s: id %d: %.17g, want %g/%g", what, i, freq[i],
              counts[i], total);
}

static void test_token_freq(void) {
  char path[1200];
  float fq_emb[8 * 2] = {0};
  make_path(path, "freq");
  hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  fx_dataset(f, "input_ids", H5T_STD_I32LE, 2, 8, 4, H5T_NATIVE_INT32, fq_ids);
  fx_dataset(f, "attention_mask", H5T_STD_U8LE, 2, 8, 4, H5T_NATIVE_UINT8, fq_mask);
  fx_dataset(f, "embeddings", H5T_IEEE_F32LE, 2, 8, 2, H5T_NATIVE_FLOAT, fq_emb);
  fx_int_attr(f, "vocab_size", 7);
  H5Fclose(f);
  ds_teacher *t = open_ok(path);
  if (t) {
    /* f = 0.25: rows 3 and 7 are validation rows. Training tokens (mask 1): row 0: 1 2 2; row 1: 3 1;
     * row 2: 5 5 5 5; row 4: 2 3 4; row 5: 1 1 (the last two ids are masked); row 6: 0 2. 16 in all. */
    expect_freq(t, 0.25, (const double[]){1, 4, 4, 2, 1, 4, 0}, 16, "f 0.25");
    /* f = 0: every row; rows 3 (4) and 7 (4 4 3) add 4 tokens. */
    expect_freq(t, 0.0, (const double[]){1, 4, 4, 3, 4, 4, 0}, 20, "f 0");
    /* f = 0.5: rows 1, 3, 5, 7 held out; rows 0, 2, 4, 6: 12 tokens. */
    expect_freq(t, 0.5, (const double[]){1, 1, 4, 1, 1, 4, 0}, 12, "f 0.5");
    ds_teacher_close(t);
  }
  /* Without attention_mask the real tokens are the ids other than pad_id (0): row 5 counts all four 1s and
   * row 6 its 2 only. f = 0.25: 1 x6, 2 x4, 3 x2, 4 x1, 5 x4: 17. */
  make_path(path, "freq_nomask");
  f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  fx_dataset(f, "input_ids", H5T_STD_I32LE, 2, 8, 4, H5T_NATIVE_INT32, fq_ids);
  fx_dataset(f, "embeddings", H5T_IEEE_F32LE, 2, 8, 2, H5T_NATIVE_FLOAT, fq_emb);
  fx_int_attr(f, "vocab_size", 7);
  H5Fclose(f);
  t = open_ok(path);
  if (t) {
    expect_freq(t, 0.25, (const double[]){0, 6, 4, 2, 1, 4, 0}, 17, "no mask, f 0.25");
    ds_teacher_close(t);
  }
}

int main(void) {
  if (fx_tmpdir(dir, sizeof dir, "extras")) return 1;
  test_token_embeddings_load();
  test_hidden_read();
  test_refusals();
  test_token_freq();
  fx_rmdir(dir);
  return check_report();
}
