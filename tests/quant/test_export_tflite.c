/* The TFLite exporter on two random int8 students (mean and CLS pooling): the flatbuffer encodes
 * with identifier TFL3, and a malformed model is refused with a message. With a directory argument,
 * also writes model.tflite and the native runtime's reference outputs there: tests/export/
 * check_tflite.py runs them in LiteRT and compiles them with Vela. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../check.h"
#include "quant/export_tflite.h"
#include "test_export_fixture.h"

static const fx_shape shapes[] = {
    {.vocab = 97, .max_len = 12, .dim = 16, .layers = 2, .heads = 2, .ffn = 40, .out_dim = 12, .classes = 5,
     .cls_pooling = 0, .seed = 11},
    {.vocab = 61, .max_len = 9, .dim = 24, .layers = 1, .heads = 3, .ffn = 32, .out_dim = 0, .classes = 7,
     .cls_pooling = 1, .seed = 12},
};
static const char *shape_dirs[] = {"tflite_mean", "tflite_cls"};

/* `distill inspect`'s reader on the export, and on every truncation of it (never a crash). */
static void test_describe(const unsigned char *data, size_t size) {
  ds_err err = {{0}};
  char *text = NULL;
  CHECK_MSG(ds_tflite_describe(data, size, &text, &err) == 0, "%s", err.msg);
  CHECK(text && strstr(text, "schema version 3") && strstr(text, "FULLY_CONNECTED") && strstr(text, "BATCH_MATMUL"));
  CHECK(text && strstr(text, "per-channel (axis 0)") && strstr(text, "scale 0.00390625 zero_point -128"));
  free(text);
  for (size_t n = 0; n < size; n += 1 + n / 8) {
    text = NULL;
    const int rc = ds_tflite_describe(data, n, &text, &err);
    CHECK(rc == 0 || rc == -1);
    free(text);
  }
}

int main(int argc, char **argv) {
  const char *out = argc > 1 ? argv[1] : NULL;
  for (int s = 0; s < 2; s++) {
    ds_i8_model m;
    ds_err err = {{0}};
    int rc = fx_build(&m, &shapes[s], &err);
    CHECK_MSG(rc == 0, "fixture %d: %s", s, err.msg);
    if (rc) {
      ds_i8_model_free(&m);
      continue;
    }
    unsigned char *data = NULL;
    size_t size = 0;
    rc = ds_tflite_export_buffer(&m, &data, &size, &err);
    CHECK_MSG(rc == 0, "%s", err.msg);
    CHECK(size > 1000 && memcmp(data + 4, "TFL3", 4) == 0);
    test_describe(data, size);
    free(data);

    const ds_i8_op_kind saved = m.ops[2].kind;
    m.ops[2].kind = (ds_i8_op_kind)42;
    CHECK(ds_tflite_export_buffer(&m, &data, &size, &err) == -1 && strstr(err.msg, "op 2") != NULL);
    m.ops[2].kind = saved;
    CHECK(ds_tflite_export(&m, "/nonexistent-dir/m.tflite", &err) == -1);

    if (out) {
      char dir[512], path[600];
      snprintf(dir, sizeof dir, "%s/%s", out, shape_dirs[s]);
      mkdir(out, 0777);
      mkdir(dir, 0777);
      snprintf(path, sizeof path, "%s/model.tflite", dir);
      CHECK_MSG(ds_tflite_export(&m, path, &err) == 0, "%s", err.msg);
      enum { N = 200 };
      int32_t *ids = malloc(sizeof(int32_t) * N * m.max_len);
      uint8_t *mask = malloc((size_t)N * m.max_len);
      fx_rows(&m, N, 100 + s, ids, mask);
      snprintf(path, sizeof path, "%s/reference.json", dir);
      CHECK_MSG(fx_write_reference(&m, ids, mask, N, path, &err) == 0, "%s", err.msg);
      free(ids);
      free(mask);
    }
    ds_i8_model_free(&m);
  }
  return check_report();
}
