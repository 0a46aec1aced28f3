/* The TFLite exporter on two random int8 students (mean and CLS pooling): the flatbuffer encodes
 * with identifier TFL3, each ids type gives input_ids its type, and a malformed model is refused
 * with a message. With a directory argument, also writes model.tflite (default ids),
 * model_ids32.tflite, model_ids16plain.tflite and the native runtime's reference outputs there:
 * tests/quant/export/check_tflite.py runs them in LiteRT, check_vela.py compiles model.tflite with Vela.
 * The mean-pooling student's token rows have a teacher-initialized student's value ranges
 * (fx_teacher_like): LayerNorm rows a few steps wide on a grid set by the widest rows. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tests/check.h"
#include "quant/export/export_tflite.h"
#include "test_export_fixture.h"

static const char *shape_dirs[FX_N_SHAPES] = {"tflite_mean", "tflite_cls"};
static const struct {
  ds_tfl_ids_type ids;
  const char *file, *type; /* the file it is written to; input_ids' type */
  int quantized;           /* input_ids has a (unit) quantization */
} id_types[] = {
    {DS_TFL_IDS_AUTO, "model.tflite", "int16", 1},
    {DS_TFL_IDS_INT32, "model_ids32.tflite", "int32", 0},
    {DS_TFL_IDS_INT16_PLAIN, "model_ids16plain.tflite", "int16", 0},
};

/* Token rows like those of a student started from a teacher's token embeddings, where frequent
 * words have small vectors: x0's grid is set by the large rows, so LayerNorm sees many rows a few
 * steps wide, with a variance of a few dozen codes on a grid made for the widest row's, where a
 * single int16 RSQRT in LiteRT is off by up to 3.6x (export_tflite.c; the export failed this at cos
 * -0.87, top-1 0.68). By id mod 4: unchanged, 1/12 and 1/8 of the values (about +-7 and +-10 steps of
 * x0), and a flat row with one element at full scale (a lone spike). Positions are zero so that they
 * neither widen the small rows nor put x0 on rounding ties. The grids stay those calibrated before. */
static int fx_teacher_like(ds_i8_model *m, ds_err *err) {
  for (int i = 0; i < m->n_ops; i++) {
    const ds_i8_op *op = &m->ops[i];
    if (op->kind != DS_I8_OP_EMBED && op->kind != DS_I8_OP_POS_EMBED) continue;
    ds_i8_weight *w = &m->weights[op->weight];
    for (int r = 0; r < w->rows; r++) {
      int8_t *row = w->data + (size_t)r * w->cols;
      if (op->kind == DS_I8_OP_POS_EMBED) {
        memset(row, 0, (size_t)w->cols);
      } else if (r % 4 == 1 || r % 4 == 2) {
        w->scale[r] /= r % 4 == 1 ? 12.0f : 8.0f;
      } else if (r % 4 == 3) {
        for (int c = 0; c < w->cols; c++) row[c] = c == r % w->cols ? (r & 4 ? 127 : -127) : 3;
      }
    }
  }
  return ds_i8_model_prepare(m, err);
}

/* Checks the input_ids line of the export's description ("0 input_ids  int16  [1, L]  scale 1 ..."). */
static void check_ids_input(const unsigned char *data, size_t size, int t) {
  ds_err err = {{0}};
  char *text = NULL;
  CHECK_MSG(ds_tflite_describe(data, size, &text, &err) == 0, "%s", err.msg);
  char *line = text ? strstr(text, " input_ids ") : NULL, *end = line ? strchr(line, '\n') : NULL;
  CHECK_MSG(line && end, "%s: no input_ids tensor", id_types[t].file);
  if (line && end) {
    *end = 0;
    CHECK_MSG(strstr(line, id_types[t].type) && !strstr(line, "scale") == !id_types[t].quantized, "%s: %s",
              id_types[t].file, line);
  }
  free(text);
}

/* Every ids type exports and types input_ids as it says; int16 without quantization refuses a
 * vocabulary over 32767 ids, int32 takes it. */
static void test_ids_types(ds_i8_model *m) {
  ds_err err = {{0}};
  unsigned char *data = NULL;
  size_t size = 0;
  ds_tflite_export_params p = ds_tflite_export_default_params();
  CHECK(p.ids == DS_TFL_IDS_AUTO);
  for (int t = 0; t < 3; t++) {
    p.ids = id_types[t].ids;
    CHECK_MSG(ds_tflite_export_buffer_with(m, &p, &data, &size, &err) == 0, "%s: %s", id_types[t].file, err.msg);
    if (data) check_ids_input(data, size, t);
    free(data);
  }
  const int n_ids = m->n_ids;
  m->n_ids = 40000;
  p.ids = DS_TFL_IDS_INT16_PLAIN;
  CHECK(ds_tflite_export_buffer_with(m, &p, &data, &size, &err) == -1 && strstr(err.msg, "40000") &&
        strstr(err.msg, "32767") && data == NULL);
  p.ids = DS_TFL_IDS_INT32;
  CHECK_MSG(ds_tflite_export_buffer_with(m, &p, &data, &size, &err) == 0, "%s", err.msg);
  free(data);
  p.ids = (ds_tfl_ids_type)7;
  CHECK(ds_tflite_export_buffer_with(m, &p, &data, &size, &err) == -1 && strstr(err.msg, "ids type 7"));
  m->n_ids = n_ids;
}

/* `distill inspect`'s reader on the export, and on every truncation of it (never a crash). Mean
 * pooling's weights are there for mean pooling only (nothing would read them in a CLS student). */
static void test_describe(const unsigned char *data, size_t size, int cls_pooling) {
  ds_err err = {{0}};
  char *text = NULL;
  CHECK_MSG(ds_tflite_describe(data, size, &text, &err) == 0, "%s", err.msg);
  CHECK(text && strstr(text, "schema version 3") && strstr(text, "FULLY_CONNECTED") && strstr(text, "BATCH_MATMUL"));
  CHECK(text && (strstr(text, " pool_weights ") == NULL) == (cls_pooling != 0));
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
  for (int s = 0; s < FX_N_SHAPES; s++) {
    ds_i8_model m;
    ds_err err = {{0}};
    int rc = fx_build(&m, &fx_shapes[s], &err);
    if (rc == 0 && !fx_shapes[s].cls_pooling) rc = fx_teacher_like(&m, &err);
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
    test_describe(data, size, fx_shapes[s].cls_pooling);
    free(data);
    test_ids_types(&m);

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
      for (int t = 0; t < 3; t++) {
        const ds_tflite_export_params p = {.ids = id_types[t].ids};
        snprintf(path, sizeof path, "%s/%s", dir, id_types[t].file);
        CHECK_MSG((t ? ds_tflite_export_with(&m, &p, path, &err) : ds_tflite_export(&m, path, &err)) == 0, "%s",
                  err.msg);
      }
      CHECK_MSG(fx_write_random_reference(&m, 100 + (unsigned long)s, dir, &err) == 0, "%s", err.msg);
    }
    ds_i8_model_free(&m);
  }
  return check_report();
}
