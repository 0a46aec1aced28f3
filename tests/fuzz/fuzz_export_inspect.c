/* libFuzzer harness: the `distill inspect` readers of exported models (quant/export/export_common.h): ONNX
 * (protobuf), TFLite (FlatBuffers) and QNN encodings (JSON).
 *
 * Input: a file's bytes. They go through ds_export_describe_file, which sniffs the format from the first
 * bytes as `distill inspect` does, and also straight to each of the three readers (each in a buffer of
 * exactly the input's size, the JSON one NUL-terminated as its contract asks), so every reader sees every
 * input whatever its first bytes. Oracle: the sanitizers; a reader either fails with a message or returns
 * text. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "quant/export/export.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc, (void)argv;
  fz_single_thread();
  return 0;
}

static void check(int rc, char *text, const ds_err *err) {
  if (rc == 0) {
    FZ_REQUIRE(text != NULL, "success without text");
  } else {
    fz_check_err(err);
    FZ_REQUIRE(text == NULL, "failure with text");
  }
  free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  ds_err err = {{0}};
  char *text = NULL;
  const char *path = fz_scratch_path("model.export");
  fz_write_file(path, data, size);
  const int kind = ds_export_describe_file(path, &text, &err);
  FZ_REQUIRE(kind >= -1 && kind <= 1, "describe_file returned %d", kind);
  if (kind == 1) FZ_REQUIRE(text != NULL, "described without text");
  if (kind == -1) {
    fz_check_err(&err);
    FZ_REQUIRE(strstr(err.msg, path) != NULL, "error without the path: %s", err.msg);
  }
  free(text);

  unsigned char *exact = malloc(size ? size : 1);
  if (!exact) return 0;
  memcpy(exact, data, size);
  text = NULL;
  check(ds_onnx_describe(exact, size, &text, &err), text, &err);
  text = NULL;
  check(ds_tflite_describe(exact, size, &text, &err), text, &err);
  free(exact);

  char *json = malloc(size + 1);
  if (!json) return 0;
  memcpy(json, data, size);
  json[size] = '\0';
  text = NULL;
  check(ds_encodings_describe(json, size, &text, &err), text, &err);
  free(json);
  return 0;
}
