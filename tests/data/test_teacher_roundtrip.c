/* Good teacher files read back exactly: the library's writer (appends of uneven sizes, vocab,
 * attributes), a derived mask from pad_id, and raw-HDF5 files with int64 ids, float16 and float64
 * targets, int64 labels, an h5py-style bool mask and fixed-length strings. */
#include "tests/data/fixture.h"

#include "data/data.h"
#include "tests/check.h"

enum { N = 300, L = 12, C = 5, D = 7, V = 50 };

/* Closes the writer and opens what it wrote; NULL (with a failed check) when either fails. */
static ds_teacher *close_and_open(ds_teacher_writer *w, const char *path) {
  ds_err err = {{0}};
  CHECK_MSG(ds_teacher_writer_close(w, &err) == 0, "%s", err.msg);
  ds_teacher *t = NULL;
  CHECK_MSG(ds_teacher_open(&t, path, &err) == 0, "%s", err.msg);
  return t;
}

static void check_rows_exact(const ds_batch *b, long row0, int n, int len, int V_, int C_, int D_,
                             int check_mask) {
  int bad_ids = 0, bad_mask = 0, bad_t = 0, bad_rows = 0;
  for (int i = 0; i < n; i++) {
    long r = row0 + i;
    bad_rows += b->rows[i] != r;
    for (int j = 0; j < len; j++) {
      bad_ids += b->ids[i * len + j] != fx_id(r, j, L, V_);
      if (check_mask) bad_mask += b->mask[i * len + j] != (j < fx_len(r, L));
    }
    for (int c = 0; c < C_; c++) bad_t += b->logits[i * C_ + c] != fx_logit(r, c);
    for (int d = 0; d < D_; d++) bad_t += b->emb[i * D_ + d] != fx_emb(r, d);
  }
  CHECK_MSG(bad_ids == 0, "%d ids differ", bad_ids);
  CHECK_MSG(bad_mask == 0, "%d mask values differ", bad_mask);
  CHECK_MSG(bad_t == 0, "%d targets differ", bad_t);
  CHECK_MSG(bad_rows == 0, "%d row indices differ", bad_rows);
}

static void test_writer_roundtrip(const char *dir) {
  char path[1200];
  snprintf(path, sizeof path, "%s/good.h5", dir);
  char words[V][16];
  const char *vocab[V];
  for (int v = 0; v < V; v++) {
    snprintf(words[v], sizeof words[v], v == 7 ? "caf\xc3\xa9%d" : "w%d", v);
    vocab[v] = words[v];
  }
  ds_teacher_writer_params p = ds_teacher_writer_default_params();
  p.seq_len = L;
  p.n_classes = C;
  p.emb_dim = D;
  p.has_labels = 1;
  p.vocab_size = V;
  p.teacher_name = "bert-tiny";
  p.vocab = vocab;
  p.n_vocab = V;
  p.chunk_rows = 64;
  ds_err err = {{0}};
  ds_teacher_writer *w;
  CHECK(ds_teacher_writer_create(&w, path, &p, &err) == 0);
  static int32_t ids[N * L], labels[N];
  static uint8_t mask[N * L];
  static float logits[N * C], emb[N * D];
  fx_fill(0, N, L, V, C, D, ids, mask, logits, emb, labels);
  const long parts[] = {100, 77, 123};
  long r0 = 0;
  for (int k = 0; k < 3; k++) {
    CHECK(ds_teacher_writer_append(w, parts[k], ids + r0 * L, mask + r0 * L, logits + r0 * C,
                                   emb + r0 * D, labels + r0, &err) == 0);
    r0 += parts[k];
  }
  CHECK(ds_teacher_writer_rows(w) == N);
  ds_teacher *t = close_and_open(w, path);
  if (!t) return;
  const ds_teacher_info *in = ds_teacher_get_info(t);
  CHECK(in->n_rows == N && in->seq_len == L && in->vocab_size == V && in->pad_id == 0);
  CHECK(in->n_classes == C && in->emb_dim == D && in->has_labels && in->has_mask);
  CHECK(in->n_vocab == V && strcmp(in->name, "bert-tiny") == 0 && strcmp(in->path, path) == 0);

  ds_batch b = {0};
  CHECK(ds_batch_alloc(&b, in, 40, 0, &err) == 0);
  CHECK(ds_teacher_read(t, 10, 40, 0, &b, &err) == 0);
  CHECK(b.n == 40 && b.len == L);
  check_rows_exact(&b, 10, 40, L, V, C, D, 1);
  int bad_labels = 0;
  for (int i = 0; i < 40; i++) bad_labels += b.labels[i] != (10 + i) % C;
  CHECK(bad_labels == 0);
  /* Truncation: a shorter read into the same buffer. */
  CHECK(ds_teacher_read(t, N - 25, 25, 5, &b, &err) == 0);
  CHECK(b.n == 25 && b.len == 5);
  check_rows_exact(&b, N - 25, 25, 5, V, C, D, 1);
  /* Out of range and too large for the buffer: refused, not read. */
  CHECK(ds_teacher_read(t, N - 10, 20, 0, &b, &err) == -1);
  CHECK(strstr(err.msg, path) != NULL);
  CHECK(ds_teacher_read(t, 0, 41, 0, &b, &err) == -1);
  ds_batch_free(&b);
  CHECK(b.ids == NULL && b.cap_rows == 0);
  ds_batch_free(&b);

  CHECK(ds_batch_alloc(&b, in, 8, 3, &err) == 0);
  CHECK(b.cap_len == 3 && b.logits && b.emb && b.labels);
  CHECK(ds_teacher_read(t, 0, 8, 0, &b, &err) == -1); /* full length does not fit cap_len 3 */
  ds_batch_free(&b);

  char **strings = NULL;
  int n = 0;
  CHECK(ds_teacher_load_vocab(t, &strings, &n, &err) == 0);
  CHECK(n == V);
  int bad = 0;
  for (int v = 0; v < n; v++) bad += strcmp(strings[v], words[v]) != 0;
  CHECK(bad == 0);
  for (int v = 0; v < n; v++) free(strings[v]);
  free(strings);
  ds_teacher_close(t);
}

/* No mask dataset, pad_id 3, embeddings only, no vocab_size attribute: mask = ids != 3. */
static void test_derived_mask(const char *dir) {
  char path[1200];
  snprintf(path, sizeof path, "%s/nomask.h5", dir);
  enum { n = 50 };
  ds_teacher_writer_params p = ds_teacher_writer_default_params();
  p.n_rows = n;
  p.seq_len = L;
  p.emb_dim = D;
  p.has_mask = 0;
  p.pad_id = 3;
  ds_err err = {{0}};
  ds_teacher_writer *w;
  CHECK(ds_teacher_writer_create(&w, path, &p, &err) == 0);
  int32_t ids[n * L];
  float emb[n * D];
  fx_fill(0, n, L, V, 0, D, ids, NULL, NULL, emb, NULL);
  int32_t max_id = 0;
  for (int k = 0; k < n * L; k++) {
    if (ids[k] == 0) ids[k] = 3;
    else if (ids[k] == 3) ids[k] = 4;
    if (ids[k] > max_id) max_id = ids[k];
  }
  CHECK(ds_teacher_writer_append(w, n, ids, NULL, NULL, emb, NULL, &err) == 0);
  ds_teacher *t = close_and_open(w, path);
  if (!t) return;
  const ds_teacher_info *in = ds_teacher_get_info(t);
  CHECK(in->pad_id == 3 && !in->has_mask && in->n_classes == 0 && !in->has_labels);
  CHECK(in->vocab_size == max_id + 1 && in->n_vocab == 0 && in->name[0] == '\0');
  ds_batch b = {0};
  CHECK(ds_batch_alloc(&b, in, n, 0, &err) == 0);
  CHECK(b.logits == NULL && b.labels == NULL && b.emb != NULL);
  CHECK(ds_teacher_read(t, 0, n, 0, &b, &err) == 0);
  int bad = 0;
  for (int i = 0; i < n; i++)
    for (int j = 0; j < L; j++) bad += b.mask[i * L + j] != (j < fx_len(i, L));
  CHECK_MSG(bad == 0, "%d derived mask values differ", bad);
  char **strings;
  int nv;
  CHECK(ds_teacher_load_vocab(t, &strings, &nv, &err) == -1 && strstr(err.msg, "vocab"));
  ds_batch_free(&b);
  ds_teacher_close(t);

  /* A writer that was promised more rows than it got fails at close. */
  CHECK(ds_teacher_writer_create(&w, path, &p, &err) == 0);
  CHECK(ds_teacher_writer_append(w, 10, ids, NULL, NULL, emb, NULL, &err) == 0);
  CHECK(ds_teacher_writer_close(w, &err) == -1 && strstr(err.msg, "declared"));
}

/* int64 ids and labels, float16 logits, float64 embeddings, bool mask, fixed-length strings. */
static void test_raw_types(const char *dir) {
  char path[1200];
  snprintf(path, sizeof path, "%s/raw.h5", dir);
  enum { n = 40 };
  int32_t ids32[n * L], labels32[n];
  uint8_t mask[n * L];
  float logits[n * C], emb[n * D];
  fx_fill(0, n, L, V, C, D, ids32, mask, logits, emb, labels32);
  long long ids[n * L], labels[n];
  double emb64[n * D];
  for (int k = 0; k < n * L; k++) ids[k] = ids32[k];
  for (int k = 0; k < n; k++) labels[k] = labels32[k];
  for (int k = 0; k < n * D; k++) emb64[k] = emb[k] + 1.0 / 3.0; /* not a float: rounds on read */
  char fixed[V][8];
  memset(fixed, 0, sizeof fixed);
  for (int v = 0; v < V; v++) snprintf(fixed[v], sizeof fixed[v], "t%d", v);

  hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  hid_t f16 = fx_float16(), boolean = fx_bool_enum();
  hid_t str8 = H5Tcopy(H5T_C_S1);
  H5Tset_size(str8, 8);
  H5Tset_strpad(str8, H5T_STR_NULLPAD);
  CHECK(fx_dataset(f, "input_ids", H5T_STD_I64LE, 2, n, L, H5T_NATIVE_LLONG, ids) == 0);
  /* HDF5 has no integer-to-enum conversion: the 0/1 bytes are written as the enum itself. */
  CHECK(fx_dataset(f, "attention_mask", boolean, 2, n, L, boolean, mask) == 0);
  CHECK(fx_dataset(f, "logits", f16, 2, n, C, H5T_NATIVE_FLOAT, logits) == 0);
  CHECK(fx_dataset(f, "embeddings", H5T_IEEE_F64LE, 2, n, D, H5T_NATIVE_DOUBLE, emb64) == 0);
  CHECK(fx_dataset(f, "labels", H5T_STD_I64LE, 1, n, 0, H5T_NATIVE_LLONG, labels) == 0);
  CHECK(fx_dataset(f, "vocab", str8, 1, V, 0, str8, fixed) == 0);
  hid_t space = H5Screate(H5S_SCALAR);
  hid_t a = H5Acreate2(f, "teacher", str8, space, H5P_DEFAULT, H5P_DEFAULT);
  const char name8[8] = "raw-t";
  H5Awrite(a, str8, name8);
  H5Aclose(a);
  H5Sclose(space);
  CHECK(fx_int_attr(f, "vocab_size", V) == 0);
  H5Tclose(f16);
  H5Tclose(boolean);
  H5Tclose(str8);
  H5Fclose(f);

  ds_err err = {{0}};
  ds_teacher *t;
  int rc = ds_teacher_open(&t, path, &err);
  CHECK_MSG(rc == 0, "%s", err.msg);
  if (rc) return;
  const ds_teacher_info *in = ds_teacher_get_info(t);
  CHECK(in->has_mask && in->has_labels && in->n_vocab == V && strcmp(in->name, "raw-t") == 0);
  ds_batch b = {0};
  CHECK(ds_batch_alloc(&b, in, n, 0, &err) == 0);
  CHECK(ds_teacher_read(t, 0, n, 0, &b, &err) == 0);
  /* fx_logit values are multiples of 0.25 below 30: exact in float16. */
  check_rows_exact(&b, 0, n, L, V, C, 0, 1);
  int bad = 0;
  for (int k = 0; k < n * D; k++) bad += b.emb[k] != (float)emb64[k];
  for (int k = 0; k < n; k++) bad += b.labels[k] != labels32[k];
  CHECK_MSG(bad == 0, "%d float64 targets or int64 labels differ", bad);
  char **strings;
  int nv;
  CHECK(ds_teacher_load_vocab(t, &strings, &nv, &err) == 0 && nv == V);
  bad = 0;
  for (int v = 0; v < nv; v++) bad += strcmp(strings[v], fixed[v]) != 0;
  CHECK(bad == 0);
  for (int v = 0; v < nv; v++) free(strings[v]);
  free(strings);
  ds_batch_free(&b);
  ds_teacher_close(t);
}

int main(void) {
  char dir[1024];
  if (fx_tmpdir(dir, sizeof dir, "roundtrip")) return 1;
  test_writer_roundtrip(dir);
  test_derived_mask(dir);
  test_raw_types(dir);
  ds_teacher_close(NULL);
  fx_rmdir(dir);
  return check_report();
}
