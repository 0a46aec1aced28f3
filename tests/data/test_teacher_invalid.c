/* Every violation of the teacher schema is refused by ds_teacher_open with -1, a message naming
 * the file, the dataset and (where it applies) the first bad row, and nothing on stderr (HDF5's
 * own error stack is silenced). */
#include <fcntl.h>
#include <sys/stat.h>

#include "tests/data/expect_fail.h"
#include "tests/data/fixture.h"

#include "data/data.h"
#include "tests/check.h"

enum { N = 64, L = 6, C = 4, D = 3, V = 20 };
enum { NO_IDS = 1, NO_MASK = 2, NO_LOGITS = 4, NO_EMB = 8, NO_LABELS = 16, NO_VOCAB_SIZE = 32 };

static char dir[1024];
static int32_t ids[N * L], labels[N];
static uint8_t mask[N * L];
static float logits[N * C], emb[N * D];

static void make_path(char *path, const char *name) { snprintf(path, 1200, "%s/%s.h5", dir, name); }

/* A valid file minus the datasets in `skip`; the caller adds a broken one. */
static hid_t base(const char *path, int skip, long n) {
  fx_fill(0, N, L, V, C, D, ids, mask, logits, emb, labels);
  hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  if (!(skip & NO_IDS)) fx_dataset(f, "input_ids", H5T_STD_I32LE, 2, n, L, H5T_NATIVE_INT32, ids);
  if (!(skip & NO_MASK)) fx_dataset(f, "attention_mask", H5T_STD_U8LE, 2, n, L, H5T_NATIVE_UINT8, mask);
  if (!(skip & NO_LOGITS)) fx_dataset(f, "logits", H5T_IEEE_F32LE, 2, n, C, H5T_NATIVE_FLOAT, logits);
  if (!(skip & NO_EMB)) fx_dataset(f, "embeddings", H5T_IEEE_F32LE, 2, n, D, H5T_NATIVE_FLOAT, emb);
  if (!(skip & NO_LABELS)) fx_dataset(f, "labels", H5T_STD_I32LE, 1, n, 0, H5T_NATIVE_INT32, labels);
  if (!(skip & NO_VOCAB_SIZE)) fx_int_attr(f, "vocab_size", V);
  return f;
}


static void test_files(void) {
  char path[1200];
  make_path(path, "missing");
  EXPECT_FAIL(path, "no such file");
  EXPECT_FAIL(dir, "not a regular file");
  make_path(path, "text");
  FILE *f = fopen(path, "w");
  fputs("input_ids,logits\n1,2\n", f);
  fclose(f);
  EXPECT_FAIL(path, "not an HDF5 file");
  /* A good file cut in half. */
  make_path(path, "truncated");
  ds_teacher_writer_params p = ds_teacher_writer_default_params();
  p.seq_len = L;
  p.n_classes = C;
  ds_err err;
  ds_teacher_writer *w;
  CHECK(ds_teacher_writer_create(&w, path, &p, &err) == 0);
  for (int k = 0; k < 40; k++)
    CHECK(ds_teacher_writer_append(w, N, ids, mask, logits, NULL, NULL, &err) == 0);
  CHECK(ds_teacher_writer_close(w, &err) == 0);
  struct stat st;
  stat(path, &st);
  CHECK(truncate(path, st.st_size / 2) == 0);
  EXPECT_FAIL(path, "truncated");
}

static void test_schema(void) {
  char path[1200];
  hid_t f;
  make_path(path, "no_ids");
  H5Fclose(base(path, NO_IDS, N));
  EXPECT_FAIL(path, "'input_ids'", "missing");

  make_path(path, "ids_1d");
  f = base(path, NO_IDS, N);
  fx_dataset(f, "input_ids", H5T_STD_I32LE, 1, N, 0, H5T_NATIVE_INT32, ids);
  H5Fclose(f);
  EXPECT_FAIL(path, "'input_ids'", "2-D");

  make_path(path, "ids_float");
  f = base(path, NO_IDS, N);
  fx_dataset(f, "input_ids", H5T_IEEE_F32LE, 2, N, L, H5T_NATIVE_INT32, ids);
  H5Fclose(f);
  EXPECT_FAIL(path, "'input_ids'", "integer");

  make_path(path, "no_targets");
  H5Fclose(base(path, NO_LOGITS | NO_EMB | NO_LABELS, N));
  EXPECT_FAIL(path, "'logits'", "'embeddings'");

  make_path(path, "logits_int");
  f = base(path, NO_LOGITS, N);
  fx_dataset(f, "logits", H5T_STD_I32LE, 2, N, L, H5T_NATIVE_INT32, ids);
  H5Fclose(f);
  EXPECT_FAIL(path, "'logits'", "float");

  make_path(path, "emb_1d");
  f = base(path, NO_EMB, N);
  fx_dataset(f, "embeddings", H5T_IEEE_F32LE, 1, N, 0, H5T_NATIVE_FLOAT, emb);
  H5Fclose(f);
  EXPECT_FAIL(path, "'embeddings'", "2-D");

  make_path(path, "mask_shape");
  f = base(path, NO_MASK, N);
  fx_dataset(f, "attention_mask", H5T_STD_U8LE, 2, N, L - 1, H5T_NATIVE_UINT8, mask);
  H5Fclose(f);
  EXPECT_FAIL(path, "'attention_mask'", "shape");

  make_path(path, "mask_float");
  f = base(path, NO_MASK, N);
  fx_dataset(f, "attention_mask", H5T_IEEE_F32LE, 2, N, L, H5T_NATIVE_UINT8, mask);
  H5Fclose(f);
  EXPECT_FAIL(path, "'attention_mask'", "bool");

  make_path(path, "labels_2d");
  f = base(path, NO_LABELS, N);
  fx_dataset(f, "labels", H5T_STD_I32LE, 2, N / 2, 2, H5T_NATIVE_INT32, labels);
  H5Fclose(f);
  EXPECT_FAIL(path, "'labels'", "1-D");

  make_path(path, "labels_float");
  f = base(path, NO_LABELS, N);
  fx_dataset(f, "labels", H5T_IEEE_F64LE, 1, N, 0, H5T_NATIVE_INT32, labels);
  H5Fclose(f);
  EXPECT_FAIL(path, "'labels'", "integer");

  make_path(path, "rows_logits");
  f = base(path, NO_LOGITS, N);
  fx_dataset(f, "logits", H5T_IEEE_F32LE, 2, N - 1, C, H5T_NATIVE_FLOAT, logits);
  H5Fclose(f);
  EXPECT_FAIL(path, "'logits' has 63 rows", "'input_ids' has 64");

  make_path(path, "rows_labels");
  f = base(path, NO_LABELS, N);
  fx_dataset(f, "labels", H5T_STD_I32LE, 1, N - 4, 0, H5T_NATIVE_INT32, labels);
  H5Fclose(f);
  EXPECT_FAIL(path, "'labels' has 60 rows", "'input_ids' has 64");

  make_path(path, "zero_rows");
  H5Fclose(base(path, 0, 0));
  EXPECT_FAIL(path, "'input_ids'", "zero rows");

  make_path(path, "vocab_size_str");
  f = base(path, NO_VOCAB_SIZE, N);
  hid_t str = H5Tcopy(H5T_C_S1), space = H5Screate(H5S_SCALAR);
  H5Tset_size(str, 3);
  hid_t a = H5Acreate2(f, "vocab_size", str, space, H5P_DEFAULT, H5P_DEFAULT);
  H5Awrite(a, str, "20");
  H5Aclose(a);
  H5Sclose(space);
  H5Tclose(str);
  H5Fclose(f);
  EXPECT_FAIL(path, "'vocab_size'", "integer");

  /* Tables of vocab_size rows are allocated from it: an absurd size in a small file is refused. */
  make_path(path, "vocab_size_huge");
  f = base(path, NO_VOCAB_SIZE, N);
  fx_int_attr(f, "vocab_size", DS_TEACHER_MAX_VOCAB + 1);
  H5Fclose(f);
  EXPECT_FAIL(path, "'vocab_size' = 16777217", "largest vocabulary");
}

static void test_values(void) {
  char path[1200];
  hid_t f;
  make_path(path, "id_range");
  f = base(path, NO_IDS, N);
  ids[7 * L + 3] = V;
  fx_dataset(f, "input_ids", H5T_STD_I32LE, 2, N, L, H5T_NATIVE_INT32, ids);
  H5Fclose(f);
  EXPECT_FAIL(path, "'input_ids'", "row 7, column 3", "id 20 outside [0, 20)");

  make_path(path, "id_negative");
  f = base(path, NO_IDS | NO_VOCAB_SIZE, N);
  ids[11 * L + 0] = -2;
  fx_dataset(f, "input_ids", H5T_STD_I32LE, 2, N, L, H5T_NATIVE_INT32, ids);
  H5Fclose(f);
  EXPECT_FAIL(path, "'input_ids'", "row 11, column 0", "id -2");

  make_path(path, "id_past_max_vocab"); /* no vocab_size: max id + 1 would be the vocabulary */
  f = base(path, NO_IDS | NO_VOCAB_SIZE, N);
  const int32_t kept = ids[3 * L + 1];
  ids[3 * L + 1] = DS_TEACHER_MAX_VOCAB;
  fx_dataset(f, "input_ids", H5T_STD_I32LE, 2, N, L, H5T_NATIVE_INT32, ids);
  ids[3 * L + 1] = kept;
  H5Fclose(f);
  EXPECT_FAIL(path, "'input_ids'", "row 3, column 1", "id 16777216 outside [0, 16777216)", "largest vocabulary");

  make_path(path, "label_range");
  f = base(path, NO_LABELS, N);
  labels[5] = C;
  fx_dataset(f, "labels", H5T_STD_I32LE, 1, N, 0, H5T_NATIVE_INT32, labels);
  H5Fclose(f);
  EXPECT_FAIL(path, "'labels'", "row 5", "label 4");

  make_path(path, "label_negative");
  f = base(path, NO_LABELS | NO_LOGITS, N);
  labels[9] = -1;
  fx_dataset(f, "labels", H5T_STD_I32LE, 1, N, 0, H5T_NATIVE_INT32, labels);
  H5Fclose(f);
  EXPECT_FAIL(path, "'labels'", "row 9", "label -1");

  make_path(path, "logits_nan");
  f = base(path, NO_LOGITS, N);
  logits[9 * C + 2] = NAN;
  fx_dataset(f, "logits", H5T_IEEE_F32LE, 2, N, C, H5T_NATIVE_FLOAT, logits);
  H5Fclose(f);
  EXPECT_FAIL(path, "'logits'", "row 9, column 2", "NaN");

  make_path(path, "emb_inf");
  f = base(path, NO_EMB, N);
  emb[4 * D + 1] = -INFINITY;
  fx_dataset(f, "embeddings", H5T_IEEE_F32LE, 2, N, D, H5T_NATIVE_FLOAT, emb);
  H5Fclose(f);
  EXPECT_FAIL(path, "'embeddings'", "row 4, column 1", "Inf");

  make_path(path, "emb_f16_inf");
  f = base(path, NO_EMB, N);
  emb[12 * D] = 1e6f; /* overflows half precision: stored as Inf */
  hid_t f16 = fx_float16();
  fx_dataset(f, "embeddings", f16, 2, N, D, H5T_NATIVE_FLOAT, emb);
  H5Tclose(f16);
  H5Fclose(f);
  EXPECT_FAIL(path, "'embeddings'", "row 12, column 0", "Inf");

  make_path(path, "emb_f64_big");
  f = base(path, NO_EMB, N);
  static double emb64[N * D];
  emb64[20 * D + 2] = 1e300;
  fx_dataset(f, "embeddings", H5T_IEEE_F64LE, 2, N, D, H5T_NATIVE_DOUBLE, emb64);
  H5Fclose(f);
  EXPECT_FAIL(path, "'embeddings'", "row 20, column 2", "float32");

  make_path(path, "mask_empty_row");
  f = base(path, NO_MASK, N);
  memset(mask + 6 * L, 0, L);
  fx_dataset(f, "attention_mask", H5T_STD_U8LE, 2, N, L, H5T_NATIVE_UINT8, mask);
  H5Fclose(f);
  EXPECT_FAIL(path, "'attention_mask'", "row 6 has no real token");

  make_path(path, "mask_value");
  f = base(path, NO_MASK, N);
  mask[8 * L + 1] = 2;
  fx_dataset(f, "attention_mask", H5T_STD_U8LE, 2, N, L, H5T_NATIVE_UINT8, mask);
  H5Fclose(f);
  EXPECT_FAIL(path, "'attention_mask'", "row 8, column 1", "not 0 or 1");

  make_path(path, "pad_row");
  f = base(path, NO_MASK | NO_IDS, N);
  for (int j = 0; j < L; j++) ids[13 * L + j] = 0;
  fx_dataset(f, "input_ids", H5T_STD_I32LE, 2, N, L, H5T_NATIVE_INT32, ids);
  H5Fclose(f);
  EXPECT_FAIL(path, "'input_ids'", "row 13 has no real token");

  make_path(path, "vocab_ints");
  f = base(path, 0, N);
  fx_dataset(f, "vocab", H5T_STD_I32LE, 1, V, 0, H5T_NATIVE_INT32, ids);
  H5Fclose(f);
  EXPECT_FAIL(path, "'vocab'", "strings");

  make_path(path, "vocab_short");
  f = base(path, 0, N);
  hid_t str = H5Tcopy(H5T_C_S1);
  H5Tset_size(str, H5T_VARIABLE);
  const char *words[V - 1];
  for (int v = 0; v < V - 1; v++) words[v] = "w";
  fx_dataset(f, "vocab", str, 1, V - 1, 0, str, words);
  H5Tclose(str);
  H5Fclose(f);
  EXPECT_FAIL(path, "'vocab'", "19 entries", "vocab_size 20");
}

/* The scan reads in chunks of rows: a bad row after the first chunk is still found and named. */
static void test_late_row(void) {
  char path[1200];
  make_path(path, "late_nan");
  enum { big = 9000 };
  ds_teacher_writer_params p = ds_teacher_writer_default_params();
  p.seq_len = L;
  p.emb_dim = D;
  ds_err err;
  ds_teacher_writer *w;
  CHECK(ds_teacher_writer_create(&w, path, &p, &err) == 0);
  fx_fill(0, N, L, V, C, D, ids, mask, logits, emb, labels);
  for (long r0 = 0; r0 < big; r0 += N) {
    if (r0 == 8960) emb[(8999 - r0) * D + 2] = NAN;
    long n = big - r0 < N ? big - r0 : N;
    CHECK(ds_teacher_writer_append(w, n, ids, mask, NULL, emb, NULL, &err) == 0);
  }
  CHECK(ds_teacher_writer_close(w, &err) == 0);
  EXPECT_FAIL(path, "'embeddings'", "row 8999, column 2", "NaN");
}

int main(void) {
  if (fx_tmpdir(dir, sizeof dir, "invalid")) return 1;
  test_files();
  test_schema();
  test_values();
  test_late_row();
  fx_rmdir(dir);
  return check_report();
}
