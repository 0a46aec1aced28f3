/* Every type written and read back bit for bit, including NaN payloads, -0, infinities,
 * denormals, integer extremes, scalars, empty tensors, empty blobs, UTF-8 and long strings. */
#include "ckpt_fixture.h"

#include <float.h>
#include <math.h>

#include "tests/check.h"

static float f32_bits(uint32_t u) {
  float f;
  memcpy(&f, &u, sizeof f);
  return f;
}

static double f64_bits(uint64_t u) {
  double d;
  memcpy(&d, &u, sizeof d);
  return d;
}

int main(void) {
  char dir[1024], path[1200];
  CHECK(fix_mkdtemp(dir, sizeof dir) == 0);
  snprintf(path, sizeof path, "%s/rt.ckpt", dir);
  ds_err err = {{0}};

  /* 2 x 3 x 2 tensors of awkward values. */
  float f32[12] = {0.0f, -0.0f, 1.0f, -1.5f, FLT_MAX, -FLT_MAX, FLT_MIN, f32_bits(1u),
                   INFINITY, -INFINITY, f32_bits(0x7fc01234u), f32_bits(0xffa00001u)};
  double f64[12] = {0.0, -0.0, 1.0 / 3.0, -2.5e-300, DBL_MAX, -DBL_MAX, DBL_MIN, f64_bits(1u),
                    INFINITY, -INFINITY, f64_bits(0x7ff8000000abcdefull),
                    f64_bits(0xfff0000000000001ull)};
  int32_t i32[6] = {INT32_MIN, -1, 0, 1, 123456789, INT32_MAX};
  int64_t i64[6] = {INT64_MIN, -1, 0, 1, 1234567890123456789ll, INT64_MAX};
  uint8_t u8[256];
  for (int i = 0; i < 256; i++) u8[i] = (uint8_t)(255 - i);
  unsigned char blob[1000];
  for (int i = 0; i < 1000; i++) blob[i] = (unsigned char)(i * 37 + 11);
  const char *vocab[] = {"[PAD]", "", "héllo", "日本語", "a b\tc", "##ing"};
  size_t config_len = 200 * 1024; /* well past HDF5's 64 KiB compact attribute limit */
  char *config = malloc(config_len + 1);
  for (size_t i = 0; i < config_len; i++) config[i] = (i % 61 == 60) ? '\n' : (char)('a' + i % 26);
  config[config_len] = '\0';

  const int64_t s232[3] = {2, 3, 2}, s6[1] = {6}, s16x16[2] = {16, 16}, s0x3[2] = {0, 3};
  const int64_t s8d[8] = {1, 2, 1, 3, 1, 1, 2, 1};
  float scalar = 3.25f;

  ds_ckpt_writer *w = NULL;
  CHECK(ds_ckpt_writer_open(&w, path, FIX_FORMAT, 3, &err) == 0);
  int rc = 0;
  rc |= ds_ckpt_write_f32(w, "f32", 3, s232, f32, &err);
  rc |= ds_ckpt_write_f64(w, "f64", 3, s232, f64, &err);
  rc |= ds_ckpt_write_i32(w, "i32", 1, s6, i32, &err);
  rc |= ds_ckpt_write_i64(w, "i64", 1, s6, i64, &err);
  rc |= ds_ckpt_write_u8(w, "u8", 2, s16x16, u8, &err);
  rc |= ds_ckpt_write_f32(w, "scalar", 0, NULL, &scalar, &err);
  rc |= ds_ckpt_write_f32(w, "empty", 2, s0x3, NULL, &err);
  rc |= ds_ckpt_write_f64(w, "eight_dims", 8, s8d, f64, &err);
  rc |= ds_ckpt_write_bytes(w, "rng", blob, sizeof blob, &err);
  rc |= ds_ckpt_write_bytes(w, "no_bytes", NULL, 0, &err);
  rc |= ds_ckpt_write_strings(w, "vocab", vocab, 6, &err);
  rc |= ds_ckpt_write_strings(w, "no_strings", NULL, 0, &err);
  rc |= ds_ckpt_write_attr_str(w, "config", config, &err);
  rc |= ds_ckpt_write_attr_str(w, "empty_text", "", &err);
  rc |= ds_ckpt_write_attr_i64(w, "step", INT64_MIN, &err);
  rc |= ds_ckpt_write_attr_f64(w, "best_loss", f64_bits(0x3fb999999999999aull), &err);
  CHECK_MSG(rc == 0, "%s", err.msg);
  CHECK_MSG(ds_ckpt_writer_commit(w, &err) == 0, "%s", err.msg);
  CHECK(fix_exists(path));
  char tmp[1300];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  CHECK(!fix_exists(tmp));

  ds_ckpt_reader *r = NULL;
  CHECK_MSG(ds_ckpt_open(&r, path, FIX_FORMAT, 3, &err) == 0, "%s", err.msg);
  if (!r) return check_report();
  CHECK(ds_ckpt_version(r) == 3);
  CHECK(strcmp(ds_ckpt_format(r), FIX_FORMAT) == 0);

  float f32_in[12];
  double f64_in[12];
  int32_t i32_in[6];
  int64_t i64_in[6];
  uint8_t u8_in[256];
  unsigned char blob_in[1000];
  float scalar_in = 0.0f;
  CHECK(ds_ckpt_read_f32(r, "f32", 3, s232, f32_in, &err) == 0);
  CHECK(memcmp(f32, f32_in, sizeof f32) == 0);
  CHECK(ds_ckpt_read_f64(r, "f64", 3, s232, f64_in, &err) == 0);
  CHECK(memcmp(f64, f64_in, sizeof f64) == 0);
  CHECK(ds_ckpt_read_i32(r, "i32", 1, s6, i32_in, &err) == 0);
  CHECK(memcmp(i32, i32_in, sizeof i32) == 0);
  CHECK(ds_ckpt_read_i64(r, "i64", 1, s6, i64_in, &err) == 0);
  CHECK(memcmp(i64, i64_in, sizeof i64) == 0);
  CHECK(ds_ckpt_read_u8(r, "u8", 2, s16x16, u8_in, &err) == 0);
  CHECK(memcmp(u8, u8_in, sizeof u8) == 0);
  CHECK(ds_ckpt_read_f32(r, "scalar", 0, NULL, &scalar_in, &err) == 0);
  CHECK(scalar_in == 3.25f);
  CHECK(ds_ckpt_read_f32(r, "empty", 2, s0x3, NULL, &err) == 0);
  memset(f64_in, 0, sizeof f64_in);
  CHECK(ds_ckpt_read_f64(r, "eight_dims", 8, s8d, f64_in, &err) == 0);
  CHECK(memcmp(f64, f64_in, sizeof f64) == 0);
  CHECK(ds_ckpt_read_bytes(r, "rng", blob_in, sizeof blob_in, &err) == 0);
  CHECK(memcmp(blob, blob_in, sizeof blob) == 0);
  CHECK(ds_ckpt_read_bytes(r, "no_bytes", NULL, 0, &err) == 0);

  int ndim = -1;
  int64_t shape[DS_CKPT_MAX_DIMS];
  ds_ckpt_dtype dt = DS_CKPT_OTHER;
  CHECK(ds_ckpt_shape(r, "eight_dims", &ndim, shape, &dt, &err) == 0);
  CHECK(ndim == 8 && dt == DS_CKPT_F64 && memcmp(shape, s8d, sizeof s8d) == 0);
  CHECK(ds_ckpt_shape(r, "scalar", &ndim, shape, &dt, &err) == 0);
  CHECK(ndim == 0 && dt == DS_CKPT_F32);
  CHECK(ds_ckpt_shape(r, "vocab", &ndim, shape, &dt, &err) == 0);
  CHECK(ndim == 1 && shape[0] == 6 && dt == DS_CKPT_STRING);

  char **v = NULL;
  int nv = -1;
  CHECK_MSG(ds_ckpt_read_strings(r, "vocab", &v, &nv, &err) == 0, "%s", err.msg);
  CHECK(nv == 6);
  for (int i = 0; v && i < 6 && nv == 6; i++) CHECK_MSG(strcmp(v[i], vocab[i]) == 0, "vocab[%d]", i);
  free(v);
  CHECK(ds_ckpt_read_strings(r, "no_strings", &v, &nv, &err) == 0);
  CHECK(nv == 0);
  free(v);

  char *text = NULL;
  CHECK_MSG(ds_ckpt_read_attr_str(r, "config", &text, &err) == 0, "%s", err.msg);
  CHECK(text && strlen(text) == config_len && strcmp(text, config) == 0);
  free(text);
  CHECK(ds_ckpt_read_attr_str(r, "empty_text", &text, &err) == 0);
  CHECK(text && text[0] == '\0');
  free(text);
  int64_t step = 0;
  double best = 0.0;
  CHECK(ds_ckpt_read_attr_i64(r, "step", &step, &err) == 0);
  CHECK(step == INT64_MIN);
  CHECK(ds_ckpt_read_attr_f64(r, "best_loss", &best, &err) == 0);
  CHECK(memcmp(&best, &(double){f64_bits(0x3fb999999999999aull)}, sizeof best) == 0);
  CHECK(ds_ckpt_read_attr_i64(r, "format_version", &step, &err) == 0 && step == 3);
  CHECK(ds_ckpt_has_attr(r, "config") && !ds_ckpt_has_attr(r, "nope"));

  /* Types are checked, not converted: a float32 tensor is not silently read as float64. */
  CHECK(ds_ckpt_read_f64(r, "f32", 3, s232, f64_in, &err) < 0);
  CHECK_MSG(strstr(err.msg, "'f32'") && strstr(err.msg, "is float32, expected float64") &&
                strstr(err.msg, path),
            "%s", err.msg);
  CHECK(ds_ckpt_read_i64(r, "i32", 1, s6, i64_in, &err) < 0);
  CHECK_MSG(strstr(err.msg, "is int32, expected int64"), "%s", err.msg);
  CHECK(ds_ckpt_read_bytes(r, "rng", blob_in, 999, &err) < 0);
  CHECK_MSG(strstr(err.msg, "'rng' has 1000 bytes, expected 999"), "%s", err.msg);
  CHECK(ds_ckpt_read_bytes(r, "f32", blob_in, 48, &err) < 0);
  CHECK_MSG(strstr(err.msg, "not a byte blob"), "%s", err.msg);
  CHECK(ds_ckpt_read_strings(r, "u8", &v, &nv, &err) < 0 && v == NULL);
  CHECK(ds_ckpt_read_attr_f64(r, "step", &best, &err) < 0);
  CHECK_MSG(strstr(err.msg, "'step' is not a floating-point number"), "%s", err.msg);
  CHECK(ds_ckpt_read_attr_str(r, "step", &text, &err) < 0 && text == NULL);
  CHECK(ds_ckpt_read_attr_i64(r, "missing", &step, &err) < 0);
  CHECK_MSG(strstr(err.msg, "no attribute 'missing'"), "%s", err.msg);
  ds_ckpt_close(r);

  /* A failed write poisons the writer: commit refuses and the committed file stays as it was. */
  size_t before_n = 0, after_n = 0;
  unsigned char *before = fix_slurp(path, &before_n);
  CHECK(ds_ckpt_writer_open(&w, path, FIX_FORMAT, 1, &err) == 0);
  CHECK(ds_ckpt_write_i32(w, "x", 1, s6, i32, &err) == 0);
  CHECK(ds_ckpt_write_i32(w, "x", 1, s6, i32, &err) < 0);
  CHECK_MSG(strstr(err.msg, "dataset 'x' written twice"), "%s", err.msg);
  CHECK(ds_ckpt_write_attr_str(w, "format", "again", &err) < 0);
  CHECK_MSG(strstr(err.msg, "attribute 'format' written twice"), "%s", err.msg);
  const int64_t bad[1] = {-1};
  CHECK(ds_ckpt_write_i32(w, "y", 1, bad, i32, &err) < 0);
  CHECK(ds_ckpt_write_i32(w, "z", 9, s8d, i32, &err) < 0);
  CHECK(ds_ckpt_writer_commit(w, &err) < 0);
  CHECK_MSG(strstr(err.msg, "earlier write"), "%s", err.msg);
  CHECK(!fix_exists(tmp));
  unsigned char *after = fix_slurp(path, &after_n);
  CHECK(before && after && before_n == after_n && memcmp(before, after, before_n) == 0);
  free(before);
  free(after);

  CHECK(ds_ckpt_writer_open(&w, path, FIX_FORMAT, 0, &err) < 0 && w == NULL);
  CHECK(ds_ckpt_writer_open(&w, path, "", 1, &err) < 0 && w == NULL);
  ds_ckpt_writer_abort(NULL);
  ds_ckpt_close(NULL);

  free(config);
  fix_rmdir(dir);
  return check_report();
}
