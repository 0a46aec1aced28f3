/* libFuzzer harness: the native int8 model loader (quant/int8/int8.h, docs/int8_format.md) and what
 * runs a model it accepted: `distill inspect` (ds_i8_model_describe), `distill embed` (ds_i8_model_run)
 * and `distill export --checkpoint MODEL.native` (the ONNX, TFLite and encodings exporters).
 *
 * Input: the file's bytes. When they start with the magic, the last 4 bytes are replaced by the checksum
 * of the rest (a fuzzer cannot compute it), so mutations reach the body; the last byte as the fuzzer made
 * it picks the export options. ds_i8_model_load reads a path: the bytes go to a scratch file.
 * Oracles: an accepted model runs on a short sequence (when its scratch is below 64 MiB) with finite
 * outputs, saves and loads back to the same description, and every exported ONNX/TFLite buffer is
 * readable by the `inspect` readers. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "quant/export/export.h"
#include "quant/int8/int8.h"

#define MAX_SCRATCH (64u << 20)

static uint32_t crc32_of(const uint8_t *p, size_t n) {
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; i++) {
    c ^= p[i];
    for (int k = 0; k < 8; k++) c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
  }
  return c ^ 0xFFFFFFFFu;
}

static void run_model(const ds_i8_model *m) {
  const size_t need = ds_i8_model_scratch_size(m);
  if (need > MAX_SCRATCH) return;
  void *scratch = malloc(need);
  const int T = m->max_len < 6 ? m->max_len : 6;
  int32_t ids[6];
  uint8_t mask[6];
  float *emb = malloc(sizeof(float) * (size_t)m->emb_dim);
  float *logits = malloc(sizeof(float) * (size_t)(m->n_classes > 0 ? m->n_classes : 1));
  FZ_REQUIRE(scratch && emb && logits, "out of memory");
  for (int t = 0; t < T; t++) {
    ids[t] = (int32_t)((t * 7 + 1) % m->n_ids);
    mask[t] = t < 4;
  }
  ds_err err = {{0}};
  const int rc = ds_i8_model_run(m, ids, mask, T, scratch, emb, logits, &err);
  FZ_REQUIRE(rc == 0, "a loaded model does not run: %s", err.msg);
  for (int i = 0; i < m->emb_dim; i++) FZ_REQUIRE(isfinite(emb[i]), "embedding %d is %g", i, (double)emb[i]);
  for (int i = 0; i < m->n_classes; i++) FZ_REQUIRE(isfinite(logits[i]), "logit %d is %g", i, (double)logits[i]);
  free(scratch);
  free(emb);
  free(logits);
}

static char *describe(const ds_i8_model *m) {
  char *text = NULL;
  ds_err err = {{0}};
  FZ_REQUIRE(ds_i8_model_describe(m, &text, &err) == 0, "describe: %s", err.msg);
  return text;
}

static void check_save_load(const ds_i8_model *m) {
  const char *path = fz_scratch_path("resaved.native");
  ds_err err = {{0}};
  FZ_REQUIRE(ds_i8_model_save(m, path, &err) == 0, "save: %s", err.msg);
  ds_i8_model back;
  FZ_REQUIRE(ds_i8_model_load(&back, path, &err) == 0, "a saved model does not load: %s", err.msg);
  char *a = describe(m), *b = describe(&back);
  FZ_REQUIRE(strcmp(a, b) == 0, "save -> load changed the model\n%s---\n%s", a, b);
  free(a);
  free(b);
  ds_i8_model_free(&back);
}

/* The exporters either refuse the model or give a file their own readers can describe. */
static void check_exports(const ds_i8_model *m, int variant) {
  ds_err err = {{0}};
  if (ds_export_check_model(m, &err)) return;
  ds_onnx_export_params op = ds_onnx_export_default_params();
  op.uint8_acts = variant & 1;
  op.a16_norm = (variant >> 1) & 1;
  op.float_graph = (variant >> 2) & 1;
  unsigned char *buf = NULL;
  size_t size = 0;
  char *text = NULL;
  if (ds_onnx_export_buffer(m, &op, &buf, &size, &err) == 0) {
    FZ_REQUIRE(ds_onnx_describe(buf, size, &text, &err) == 0, "exported ONNX unreadable: %s", err.msg);
    free(text);
    free(buf);
  } else {
    fz_check_err(&err);
  }
  ds_tflite_export_params tp = ds_tflite_export_default_params();
  tp.ids = (ds_tfl_ids_type)((variant >> 3) % 3);
  if (ds_tflite_export_buffer_with(m, &tp, &buf, &size, &err) == 0) {
    FZ_REQUIRE(ds_tflite_describe(buf, size, &text, &err) == 0, "exported TFLite unreadable: %s", err.msg);
    free(text);
    free(buf);
  } else {
    fz_check_err(&err);
  }
  const char *path = fz_scratch_path("encodings.json");
  if (ds_encodings_export(m, &op, path, &err) == 0) {
    FZ_REQUIRE(ds_export_describe_file(path, &text, &err) == 1, "exported encodings unreadable: %s", err.msg);
    free(text);
  } else {
    fz_check_err(&err);
  }
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc, (void)argv;
  fz_single_thread();
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  uint8_t *bytes = malloc(size ? size : 1);
  if (!bytes) return 0;
  memcpy(bytes, data, size);
  const int variant = size ? data[size - 1] : 0;
  if (size >= 20 && memcmp(bytes, DS_I8_FILE_MAGIC, 8) == 0) {
    const uint32_t crc = crc32_of(bytes, size - 4);
    for (int i = 0; i < 4; i++) bytes[size - 4 + i] = (uint8_t)(crc >> (8 * i));
  }
  const char *path = fz_scratch_path("model.native");
  fz_write_file(path, bytes, size);
  ds_i8_model m;
  ds_err err = {{0}};
  if (ds_i8_model_load(&m, path, &err) == 0) {
    free(describe(&m));
    run_model(&m);
    check_save_load(&m);
    check_exports(&m, variant);
    ds_i8_model_free(&m);
  } else {
    fz_check_err(&err);
    FZ_REQUIRE(strstr(err.msg, path) != NULL, "the error does not name the file: %s", err.msg);
  }
  free(bytes);
  return 0;
}
