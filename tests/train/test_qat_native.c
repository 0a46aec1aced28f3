/* The native int8 file: a QAT student's int8 model survives save/load unchanged (every activation of
 * a run identical), and damaged files are refused with a message, never a crash: missing, empty,
 * wrong magic, unknown version, truncated, a flipped byte (checksum), and a file whose checksum is
 * right but whose graph indices are out of range. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../check.h"
#include "quant/qat/qat.h"

static const char *path = "test_qat_native.i8";
static const char *bad = "test_qat_native_bad.i8";

static uint32_t crc32_ref(const unsigned char *p, size_t n) {
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; i++) {
    c ^= p[i];
    for (int k = 0; k < 8; k++) c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
  }
  return c ^ 0xFFFFFFFFu;
}

static unsigned char *slurp(const char *p, long *n) {
  FILE *f = fopen(p, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  *n = ftell(f);
  fseek(f, 0, SEEK_SET);
  unsigned char *d = malloc((size_t)*n + 1);
  if (fread(d, 1, (size_t)*n, f) != (size_t)*n) *n = -1;
  fclose(f);
  return d;
}

static void spit(const char *p, const unsigned char *d, long n) {
  FILE *f = fopen(p, "wb");
  fwrite(d, 1, (size_t)n, f);
  fclose(f);
}

/* Writes d (n bytes) with the trailing checksum recomputed when fix_crc. */
static void spit_fixed(const unsigned char *d, long n, int fix_crc) {
  unsigned char *c = malloc((size_t)n);
  memcpy(c, d, (size_t)n);
  if (fix_crc) {
    uint32_t v = crc32_ref(c, (size_t)n - 4);
    for (int k = 0; k < 4; k++) c[n - 4 + k] = (unsigned char)(v >> (8 * k));
  }
  spit(bad, c, n);
  free(c);
}

static void expect_refused(const char *what, const char *needle) {
  ds_i8_model m;
  ds_err err = {{0}};
  const int rc = ds_i8_model_load(&m, bad, &err);
  CHECK_MSG(rc == -1, "%s was accepted", what);
  CHECK_MSG(strstr(err.msg, needle) != NULL, "%s: message '%s' lacks '%s'", what, err.msg, needle);
  printf("%-28s -> %s\n", what, err.msg);
  if (rc == 0) ds_i8_model_free(&m);
}

int main(void) {
  ds_err err = {{0}};
  ds_student_shape s = {.vocab = 40, .max_len = 9, .dim = 16, .n_layers = 2, .head_dim = 4, .out_dim = 6,
                        .n_classes = 3, .pooling = DS_POOL_MEAN};
  for (int l = 0; l < 2; l++) s.heads[l] = 4, s.ffn[l] = 20;
  ds_student m;
  CHECK(ds_student_init(&m, &s, &err) == 0);
  ds_student_init_params(&m, 3);
  for (size_t i = 0; i < m.table.n_params; i++) m.params[i] *= 4.0f;
  m.head_mask[1][2] = 0.0f;
  ds_quant_cfg qc = {.enabled = 1, .weight_bits = 8, .act_bits = 8, .observer = DS_OBS_MINMAX, .freeze_step = -1};
  CHECK(ds_student_qat_attach(&m, &qc, &err) == 0);
  int32_t ids[2 * 9];
  uint8_t mask[2 * 9];
  for (int i = 0; i < 18; i++) ids[i] = (i * 7 + 3) % 40, mask[i] = i % 9 < 7;
  ds_qat_step_begin(m.qat, 0);
  CHECK(ds_student_forward(&m, ids, mask, 2, 9, &err) == 0);
  char *vocab[3] = {"[PAD]", "hello", "w\xc3\xb6rld"};
  ds_i8_model a, b;
  CHECK(ds_qat_build_int8(&m, vocab, 3, 0, &a, &err) == 0);
  CHECK_MSG(ds_i8_model_save(&a, path, &err) == 0, "%s", err.msg);
  CHECK_MSG(ds_i8_model_load(&b, path, &err) == 0, "%s", err.msg);
  CHECK(ds_i8_file_is_native(path));
  CHECK(b.n_acts == a.n_acts && b.n_ops == a.n_ops && b.n_weights == a.n_weights);
  CHECK(b.n_vocab_strings == 3 && strcmp(b.vocab_strings[2], "w\xc3\xb6rld") == 0);
  void *sa = malloc(ds_i8_model_scratch_size(&a)), *sb = malloc(ds_i8_model_scratch_size(&b));
  float ea[6], eb[6], la[3], lb[3];
  CHECK(ds_i8_model_run(&a, ids, mask, 9, sa, ea, la, &err) == 0);
  CHECK(ds_i8_model_run(&b, ids, mask, 9, sb, eb, lb, &err) == 0);
  CHECK(memcmp(ea, eb, sizeof ea) == 0 && memcmp(la, lb, sizeof la) == 0);
  long differ = 0;
  for (int i = 0; i < a.n_acts; i++) {
    const size_t n = a.acts[i].kind == DS_I8_ACT_SCORES ? (size_t)a.acts[i].width * 81
                     : a.acts[i].kind == DS_I8_ACT_TOKENS ? (size_t)9 * a.acts[i].width
                                                         : (size_t)a.acts[i].width;
    differ += memcmp(ds_i8_model_act_data(&a, sa, i), ds_i8_model_act_data(&b, sb, i), n) != 0;
  }
  CHECK(differ == 0);
  char *text = NULL;
  CHECK(ds_i8_model_describe(&b, &text, &err) == 0);
  CHECK(text && strstr(text, "SOFTMAX     layers.1.probs") && strstr(text, "layers.1.ffn.fc2.weight"));
  if (text) fputs(text, stdout);
  free(text);
  /* A run must not accept ids outside the vocabulary or overlong sequences. */
  ids[3] = 40;
  CHECK(ds_i8_model_run(&b, ids, mask, 9, sb, eb, lb, &err) == -1 && strstr(err.msg, "outside the vocabulary"));
  CHECK(ds_i8_model_run(&b, ids, mask, 10, sb, eb, lb, &err) == -1);

  long n = 0;
  unsigned char *d = slurp(path, &n);
  CHECK(d && n > 100);
  ds_i8_model tmp;
  CHECK(ds_i8_model_load(&tmp, "no_such_file.i8", &err) == -1 && strstr(err.msg, "cannot open"));
  spit_fixed(d, 0, 0);
  expect_refused("empty file", "not a distill int8 model");
  unsigned char *c = malloc((size_t)n);
  memcpy(c, d, (size_t)n);
  c[0] = 'X';
  spit_fixed(c, n, 1);
  expect_refused("wrong magic", "not a distill int8 model");
  memcpy(c, d, (size_t)n);
  c[8] = 2; /* version 2 */
  spit_fixed(c, n, 1);
  expect_refused("unknown version", "version 2 is not supported");
  spit_fixed(d, n / 2, 0);
  expect_refused("truncated", "checksum");
  memcpy(c, d, (size_t)n);
  c[n / 3] ^= 0x10;
  spit_fixed(c, n, 0);
  expect_refused("flipped byte", "checksum");
  /* n_acts (header field 9, after magic + version) set huge, checksum fixed: sizes are checked */
  memcpy(c, d, (size_t)n);
  c[12 + 9 * 4 + 3] = 0x7f;
  spit_fixed(c, n, 1);
  expect_refused("absurd count", "malformed");
  /* The embedding output (header field 12) out of range, checksum fixed: the graph is validated. */
  memcpy(c, d, (size_t)n);
  c[12 + 12 * 4] = 0xff, c[12 + 12 * 4 + 1] = 0xff, c[12 + 12 * 4 + 2] = 0xff, c[12 + 12 * 4 + 3] = 0x7f;
  spit_fixed(c, n, 1);
  expect_refused("bad output index", "output tensors");
  free(c);
  free(d);
  free(sa);
  free(sb);
  ds_i8_model_free(&a);
  ds_i8_model_free(&b);
  ds_student_free(&m);
  remove(path);
  remove(bad);
  return check_report();
}
