/* Names with '/' create groups on the way; names read back with or without the leading '/';
 * listing a group gives every dataset under it, recursively, sorted, with dtype and shape. */
#include "ckpt_fixture.h"

#include "tests/check.h"

/* The tree both writers below write: nested groups, every dtype, names with and without the leading '/'. */
static const float ln[4] = {1, 2, 3, 4}, emb[6] = {-1, -2, -3, -4, -5, -6}, m[4] = {0.5f, 0, 0, 0};
static const int64_t s4[1] = {4}, s23[2] = {2, 3};

static int write_tree(ds_ckpt_writer *w, ds_err *err) {
  const int32_t order[3] = {2, 0, 1};
  const uint8_t mask[2] = {1, 0};
  const int64_t s3[1] = {3}, s2[1] = {2};
  const char *vocab[] = {"a", "b"};
  int rc = 0;
  rc |= ds_ckpt_write_f32(w, "/params/layers.0.ln1.weight", 1, s4, ln, err);
  rc |= ds_ckpt_write_f32(w, "params/tok_emb", 2, s23, emb, err); /* relative = from the root */
  rc |= ds_ckpt_write_f32(w, "/adam_m/layers.0.ln1.weight", 1, s4, m, err);
  rc |= ds_ckpt_write_u8(w, "/params/masks/layers.0.heads", 1, s2, mask, err);
  rc |= ds_ckpt_write_i32(w, "/data/order", 1, s3, order, err);
  rc |= ds_ckpt_write_bytes(w, "/data/rng", "xyz", 3, err);
  rc |= ds_ckpt_write_strings(w, "/vocab", vocab, 2, err);
  rc |= ds_ckpt_write_f32(w, "/a/b/c/d/e/f", 1, s4, ln, err);
  return rc;
}

int main(void) {
  char dir[1024], path[1200];
  CHECK(fix_mkdtemp(dir, sizeof dir) == 0);
  snprintf(path, sizeof path, "%s/names.ckpt", dir);
  ds_err err = {{0}};

  ds_ckpt_writer *w = NULL;
  CHECK(ds_ckpt_writer_open(&w, path, FIX_FORMAT, 1, &err) == 0);
  int rc = write_tree(w, &err);
  CHECK_MSG(rc == 0, "%s", err.msg);
  /* A dataset cannot also be a group. */
  CHECK(ds_ckpt_write_f32(w, "/data/rng/inner", 1, s4, ln, &err) < 0);
  CHECK_MSG(strstr(err.msg, "'/data/rng/inner'"), "%s", err.msg);
  ds_ckpt_writer_abort(w);

  /* Again without the failed write, so it commits. */
  CHECK(ds_ckpt_writer_open(&w, path, FIX_FORMAT, 1, &err) == 0);
  rc = write_tree(w, &err);
  CHECK_MSG(rc == 0, "%s", err.msg);
  CHECK_MSG(ds_ckpt_writer_commit(w, &err) == 0, "%s", err.msg);

  ds_ckpt_reader *r = NULL;
  CHECK_MSG(ds_ckpt_open(&r, path, FIX_FORMAT, 1, &err) == 0, "%s", err.msg);
  if (!r) return check_report();

  float got[6] = {0};
  CHECK(ds_ckpt_read_f32(r, "params/layers.0.ln1.weight", 1, s4, got, &err) == 0);
  CHECK(memcmp(got, ln, sizeof ln) == 0);
  CHECK(ds_ckpt_read_f32(r, "/params/tok_emb", 2, s23, got, &err) == 0);
  CHECK(memcmp(got, emb, sizeof emb) == 0);
  CHECK(ds_ckpt_read_f32(r, "/adam_m/layers.0.ln1.weight", 1, s4, got, &err) == 0);
  CHECK(memcmp(got, m, sizeof m) == 0);
  CHECK(ds_ckpt_read_f32(r, "/a/b/c/d/e/f", 1, s4, got, &err) == 0);
  CHECK(memcmp(got, ln, sizeof ln) == 0);

  CHECK(ds_ckpt_has(r, "/params/tok_emb") == 1);
  CHECK(ds_ckpt_has(r, "params/tok_emb") == 1);
  CHECK(ds_ckpt_has(r, "/params") == 0);        /* a group, not a dataset */
  CHECK(ds_ckpt_has(r, "/nope/tok_emb") == 0);  /* missing intermediate group */
  CHECK(ds_ckpt_has(r, "/data/rng/x") == 0);    /* a dataset used as a group */
  CHECK(ds_ckpt_has(r, "") == 0);

  ds_ckpt_entry *e = NULL;
  int n = -1;
  CHECK_MSG(ds_ckpt_list(r, "/params", &e, &n, &err) == 0, "%s", err.msg);
  CHECK(n == 3);
  if (n == 3) {
    CHECK(strcmp(e[0].name, "/params/layers.0.ln1.weight") == 0);
    CHECK(e[0].dtype == DS_CKPT_F32 && e[0].ndim == 1 && e[0].shape[0] == 4);
    CHECK(strcmp(e[1].name, "/params/masks/layers.0.heads") == 0);
    CHECK(e[1].dtype == DS_CKPT_U8 && e[1].ndim == 1 && e[1].shape[0] == 2);
    CHECK(strcmp(e[2].name, "/params/tok_emb") == 0);
    CHECK(e[2].dtype == DS_CKPT_F32 && e[2].ndim == 2 && e[2].shape[0] == 2 && e[2].shape[1] == 3);
  }
  free(e);

  /* "params/" and "/params" name the same group. */
  CHECK(ds_ckpt_list(r, "params/", &e, &n, &err) == 0 && n == 3);
  CHECK(e && strcmp(e[2].name, "/params/tok_emb") == 0);
  free(e);

  const char *all[] = {"/a/b/c/d/e/f", "/adam_m/layers.0.ln1.weight", "/data/order", "/data/rng",
                       "/params/layers.0.ln1.weight", "/params/masks/layers.0.heads",
                       "/params/tok_emb", "/vocab"};
  const ds_ckpt_dtype types[] = {DS_CKPT_F32, DS_CKPT_F32, DS_CKPT_I32, DS_CKPT_U8,
                                 DS_CKPT_F32, DS_CKPT_U8,  DS_CKPT_F32, DS_CKPT_STRING};
  CHECK(ds_ckpt_list(r, "/", &e, &n, &err) == 0);
  CHECK(n == 8);
  for (int i = 0; i < 8 && n == 8; i++) {
    CHECK_MSG(strcmp(e[i].name, all[i]) == 0, "%d: %s vs %s", i, e[i].name, all[i]);
    CHECK_MSG(e[i].dtype == types[i], "%s: %s", e[i].name, ds_ckpt_dtype_name(e[i].dtype));
  }
  free(e);

  CHECK(ds_ckpt_list(r, "/a/b/c", &e, &n, &err) == 0 && n == 1);
  CHECK(e && strcmp(e[0].name, "/a/b/c/d/e/f") == 0);
  free(e);

  CHECK(ds_ckpt_list(r, "/nothing", &e, &n, &err) < 0 && e == NULL && n == 0);
  CHECK_MSG(strstr(err.msg, "no group '/nothing'") && strstr(err.msg, path), "%s", err.msg);
  CHECK(ds_ckpt_list(r, "/data/rng", &e, &n, &err) < 0);
  CHECK_MSG(strstr(err.msg, "no group '/data/rng'"), "%s", err.msg);

  CHECK(strcmp(ds_ckpt_dtype_name(DS_CKPT_I64), "int64") == 0);
  CHECK(strcmp(ds_ckpt_dtype_name(DS_CKPT_STRING), "string") == 0);
  ds_ckpt_close(r);
  fix_rmdir(dir);
  return check_report();
}
