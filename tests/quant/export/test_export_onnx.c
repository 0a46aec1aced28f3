/* The ONNX exporter on two random int8 students (mean and CLS pooling): every variant (QDQ int8,
 * uint8, w8a16, float) encodes, starts as an ONNX model does, and a malformed model is refused
 * with a message. With a directory argument, also writes each variant and the native runtime's
 * reference outputs there: tests/quant/export/check_onnx.py runs them in onnxruntime.
 *
 * `test_export_onnx --reference MODEL TEACHER.h5 ROWS OUT.json` instead writes the native runtime's
 * outputs for the first ROWS rows of a teacher file, for a model exported by `distill export
 * --format native` (tests/cli/test_export_trained.sh). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <hdf5.h>

#include "tests/check.h"
#include "quant/export/export_encodings.h"
#include "quant/export/export_onnx.h"
#include "test_export_fixture.h"

static const char *shape_dirs[FX_N_SHAPES] = {"onnx_mean", "onnx_cls"};

static const struct {
  const char *file;
  ds_onnx_export_params p;
} variants[] = {
    {"qdq.onnx", {0, 0, 0}}, {"u8.onnx", {1, 0, 0}}, {"a16.onnx", {0, 1, 0}}, {"u8a16.onnx", {1, 1, 0}},
    {"float.onnx", {0, 0, 1}}, {"float_a16.onnx", {0, 1, 1}},
};
#define N_VARIANTS (sizeof variants / sizeof *variants)

/* `distill inspect`'s reader on the QDQ export, and on every truncation of it (never a crash: a
 * description or an error). */
static void test_describe(const unsigned char *data, size_t size) {
  ds_err err = {{0}};
  char *text = NULL;
  CHECK_MSG(ds_onnx_describe(data, size, &text, &err) == 0, "%s", err.msg);
  CHECK(text && strstr(text, "opset 21") && strstr(text, "Gemm") && strstr(text, "LayerNormalization"));
  CHECK(text && strstr(text, "per-channel") && strstr(text, "attention_mask           int8"));
  free(text);
  for (size_t n = 0; n < size; n += 1 + n / 8) {
    text = NULL;
    const int rc = ds_onnx_describe(data, n, &text, &err);
    CHECK(rc == 0 || rc == -1);
    free(text);
  }
}

static void test_variants(const ds_i8_model *m, const char *dir) {
  for (size_t v = 0; v < N_VARIANTS; v++) {
    ds_err err = {{0}};
    unsigned char *data = NULL;
    size_t size = 0;
    const int rc = ds_onnx_export_buffer(m, &variants[v].p, &data, &size, &err);
    CHECK_MSG(rc == 0, "%s: %s", variants[v].file, err.msg);
    /* ModelProto field 1 (ir_version) first: tag 0x08, then the IR version. */
    CHECK(size > 1000 && data[0] == 0x08 && data[1] == DS_ONNX_IR_VERSION);
    if (v == 0) test_describe(data, size);
    free(data);
    if (dir) {
      char path[1100];
      if (snprintf(path, sizeof path, "%s/%s", dir, variants[v].file) >= (int)sizeof path) continue;
      CHECK_MSG(ds_onnx_export(m, &variants[v].p, path, &err) == 0, "%s", err.msg);
      if (variants[v].p.float_graph) { /* the encodings for this float graph: NAME.encodings */
        strcpy(path + strlen(path) - 5, ".encodings");
        CHECK_MSG(ds_encodings_export(m, &variants[v].p, path, &err) == 0, "%s", err.msg);
      }
    }
  }
}

static void test_refusals(ds_i8_model *m) {
  ds_err err = {{0}};
  unsigned char *data = NULL;
  size_t size = 0;
  const ds_i8_op_kind saved = m->ops[3].kind;
  m->ops[3].kind = (ds_i8_op_kind)99;
  CHECK(ds_onnx_export_buffer(m, NULL, &data, &size, &err) == -1);
  CHECK(data == NULL && strstr(err.msg, "op 3") != NULL);
  m->ops[3].kind = saved;
  CHECK(ds_onnx_export(m, NULL, "/nonexistent-dir/x.onnx", &err) == -1);
  CHECK(strstr(err.msg, "/nonexistent-dir/x.onnx") != NULL);
}

/* Reads `input_ids` (and `attention_mask`, else ids != pad_id) of the first n rows, cut or padded to L. */
static int read_teacher_rows(const char *path, int n, int L, int32_t *ids, uint8_t *mask) {
  const hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  if (f < 0) return -1;
  int rc = -1, pad = 0;
  if (H5Aexists(f, "pad_id") > 0) {
    const hid_t a = H5Aopen(f, "pad_id", H5P_DEFAULT);
    H5Aread(a, H5T_NATIVE_INT, &pad);
    H5Aclose(a);
  }
  const hid_t d = H5Dopen2(f, "input_ids", H5P_DEFAULT);
  const hid_t sp = d >= 0 ? H5Dget_space(d) : -1;
  hsize_t dims[2] = {0, 0};
  if (sp >= 0 && H5Sget_simple_extent_ndims(sp) == 2 && H5Sget_simple_extent_dims(sp, dims, NULL) == 2 &&
      dims[0] >= (hsize_t)n) {
    int32_t *all = malloc(sizeof(int32_t) * n * dims[1]);
    uint8_t *m = malloc((size_t)n * dims[1]);
    const hsize_t start[2] = {0, 0}, count[2] = {(hsize_t)n, dims[1]};
    const hid_t mem = H5Screate_simple(2, count, NULL);
    H5Sselect_hyperslab(sp, H5S_SELECT_SET, start, NULL, count, NULL);
    if (all && m && H5Dread(d, H5T_NATIVE_INT32, mem, sp, H5P_DEFAULT, all) >= 0) {
      rc = 0;
      for (size_t i = 0; i < (size_t)n * dims[1]; i++) m[i] = all[i] != pad;
      if (H5Lexists(f, "attention_mask", H5P_DEFAULT) > 0) {
        const hid_t md = H5Dopen2(f, "attention_mask", H5P_DEFAULT);
        const hid_t ms = H5Dget_space(md);
        H5Sselect_hyperslab(ms, H5S_SELECT_SET, start, NULL, count, NULL);
        if (H5Dread(md, H5T_NATIVE_UINT8, mem, ms, H5P_DEFAULT, m) < 0) rc = -1;
        H5Sclose(ms);
        H5Dclose(md);
      }
      for (int i = 0; i < n; i++)
        for (int t = 0; t < L; t++) {
          const int in = (hsize_t)t < dims[1];
          mask[(size_t)i * L + t] = in ? m[i * dims[1] + t] : 0;
          ids[(size_t)i * L + t] = in && mask[(size_t)i * L + t] ? all[i * dims[1] + t] : 0;
        }
    }
    H5Sclose(mem);
    free(all);
    free(m);
  }
  if (sp >= 0) H5Sclose(sp);
  if (d >= 0) H5Dclose(d);
  H5Fclose(f);
  return rc;
}

static int write_teacher_reference(char **argv) {
  ds_i8_model m;
  ds_err err = {{0}};
  const int n = atoi(argv[4]);
  if (n < 1 || ds_i8_model_load(&m, argv[2], &err)) {
    fprintf(stderr, "test_export_onnx: %s\n", n < 1 ? "ROWS must be >= 1" : err.msg);
    return 1;
  }
  int32_t *ids = malloc(sizeof(int32_t) * (size_t)n * m.max_len);
  uint8_t *mask = malloc((size_t)n * m.max_len);
  int rc = ids && mask ? read_teacher_rows(argv[3], n, m.max_len, ids, mask) : -1;
  if (rc) fprintf(stderr, "test_export_onnx: cannot read %d rows of input_ids from %s\n", n, argv[3]);
  if (rc == 0 && fx_write_reference(&m, ids, mask, n, argv[5], &err)) {
    fprintf(stderr, "test_export_onnx: %s\n", err.msg);
    rc = -1;
  }
  free(ids);
  free(mask);
  ds_i8_model_free(&m);
  return rc ? 1 : 0;
}

int main(int argc, char **argv) {
  if (argc == 6 && strcmp(argv[1], "--reference") == 0) return write_teacher_reference(argv);
  const char *out = argc > 1 ? argv[1] : NULL;
  for (int s = 0; s < FX_N_SHAPES; s++) {
    ds_i8_model m;
    ds_err err = {{0}};
    const int rc = fx_build(&m, &fx_shapes[s], &err);
    CHECK_MSG(rc == 0, "fixture %d: %s", s, err.msg);
    if (rc) {
      ds_i8_model_free(&m);
      continue;
    }
    char dir[512] = {0};
    if (out) {
      snprintf(dir, sizeof dir, "%s/%s", out, shape_dirs[s]);
      mkdir(out, 0777);
      mkdir(dir, 0777);
    }
    test_variants(&m, out ? dir : NULL);
    test_refusals(&m);
    if (out) CHECK_MSG(fx_write_random_reference(&m, 100 + (unsigned long)s, dir, &err) == 0, "%s", err.msg);
    ds_i8_model_free(&m);
  }
  return check_report();
}
