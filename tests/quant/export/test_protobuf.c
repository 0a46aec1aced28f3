/* The protobuf encoder against byte strings worked out from the wire-format specification, and its
 * failure modes. With an argument, also writes a small ONNX model through the ONNX helpers to
 * that path: tests/quant/export/check_protobuf.py decodes it with the onnx package and runs it. */
#include <stdio.h>
#include <string.h>

#include "tests/check.h"
#include "quant/export/export_onnx_proto.h"
#include "quant/export/protobuf.h"

static int bytes_equal(const ds_pb *pb, const uint8_t *want, size_t n) {
  if (pb->len != n) {
    fprintf(stderr, "length %zu, want %zu\n", pb->len, n);
    return 0;
  }
  for (size_t i = 0; i < n; i++)
    if (pb->data[i] != want[i]) {
      fprintf(stderr, "byte %zu is %02x, want %02x\n", i, pb->data[i], want[i]);
      return 0;
    }
  return 1;
}

#define EXPECT_BYTES(pb, ...)                                      \
  do {                                                             \
    static const uint8_t want_[] = {__VA_ARGS__};                  \
    CHECK(bytes_equal(pb, want_, sizeof want_));                   \
  } while (0)

static void test_varints(void) {
  ds_pb pb;
  const uint64_t v[] = {0, 1, 127, 128, 300, 16384, UINT64_MAX};
  ds_pb_init(&pb);
  for (size_t i = 0; i < sizeof v / sizeof *v; i++) ds_pb_raw_varint(&pb, v[i]);
  EXPECT_BYTES(&pb, 0x00, 0x01, 0x7f, 0x80, 0x01, 0xac, 0x02, 0x80, 0x80, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff,
               0xff, 0xff, 0xff, 0xff, 0x01);
  ds_pb_free(&pb);
}

static void test_scalar_fields(void) {
  ds_pb pb;
  ds_err err = {{0}};
  ds_pb_init(&pb);
  ds_pb_uint64(&pb, 1, 150);  /* the encoding guide's first example */
  EXPECT_BYTES(&pb, 0x08, 0x96, 0x01);
  ds_pb_free(&pb);

  ds_pb_init(&pb);
  ds_pb_int64(&pb, 1, -1);    /* negative int64: ten bytes of two's complement */
  ds_pb_int64(&pb, 16, 2);    /* field 16 needs a two-byte tag */
  EXPECT_BYTES(&pb, 0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x80, 0x01, 0x02);
  ds_pb_free(&pb);

  ds_pb_init(&pb);
  ds_pb_float(&pb, 1, 1.0f);
  ds_pb_double(&pb, 2, -2.0);
  ds_pb_string(&pb, 2, "testing");
  EXPECT_BYTES(&pb, 0x0d, 0x00, 0x00, 0x80, 0x3f, 0x11, 0, 0, 0, 0, 0, 0, 0x00, 0xc0, 0x12, 0x07, 't', 'e', 's',
               't', 'i', 'n', 'g');
  CHECK(ds_pb_finish(&pb, &err) == 0);
  ds_pb_free(&pb);
}

static void test_packed(void) {
  ds_pb pb;
  ds_pb_init(&pb);
  const int64_t v[] = {3, 270, 86942};
  ds_pb_packed_int64(&pb, 4, v, 3);
  EXPECT_BYTES(&pb, 0x22, 0x06, 0x03, 0x8e, 0x02, 0x9e, 0xa7, 0x05);
  ds_pb_free(&pb);

  ds_pb_init(&pb);
  const int32_t w[] = {-1, 1};
  ds_pb_packed_int32(&pb, 1, w, 2);   /* -1 as int32 still takes ten bytes */
  const float f[] = {1.0f, -0.5f};
  ds_pb_packed_float(&pb, 2, f, 2);
  ds_pb_packed_float(&pb, 3, f, 0);   /* empty: nothing */
  EXPECT_BYTES(&pb, 0x0a, 0x0b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x01, 0x12, 0x08,
               0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0xbf);
  ds_pb_free(&pb);
}

static void test_nested(void) {
  ds_pb pb;
  ds_err err = {{0}};
  ds_pb_init(&pb);
  ds_pb_begin(&pb, 3);        /* message { 3: { 1: 150 } } */
  ds_pb_uint64(&pb, 1, 150);
  ds_pb_end(&pb);
  EXPECT_BYTES(&pb, 0x1a, 0x03, 0x08, 0x96, 0x01);
  CHECK(ds_pb_finish(&pb, &err) == 0);
  ds_pb_free(&pb);

  /* A body of 200 bytes needs a two-byte length, so the body moves forward by two. */
  ds_pb_init(&pb);
  ds_pb_begin(&pb, 1);
  ds_pb_begin(&pb, 2);
  uint8_t body[197];
  for (int i = 0; i < 197; i++) body[i] = (uint8_t)i;
  ds_pb_bytes(&pb, 5, body, sizeof body); /* 1 tag + 2 length + 197 = 200 bytes */
  ds_pb_end(&pb);
  ds_pb_end(&pb);
  CHECK(ds_pb_finish(&pb, &err) == 0);
  CHECK(pb.len == 1 + 2 + 1 + 2 + 200);
  static const uint8_t head[] = {0x0a, 0xcb, 0x01, 0x12, 0xc8, 0x01, 0x2a, 0xc5, 0x01, 0x00, 0x01};
  CHECK(pb.len > sizeof head && memcmp(pb.data, head, sizeof head) == 0);
  CHECK(pb.data[pb.len - 1] == 196);
  ds_pb_free(&pb);
}

static void test_errors(void) {
  ds_pb pb;
  ds_err err = {{0}};
  ds_pb_init(&pb);
  ds_pb_begin(&pb, 1);
  CHECK(ds_pb_finish(&pb, &err) == -1);
  CHECK(strstr(err.msg, "left open") != NULL);
  ds_pb_free(&pb);

  ds_pb_init(&pb);
  ds_pb_end(&pb);
  ds_pb_uint64(&pb, 1, 1); /* ignored once failed */
  CHECK(pb.len == 0);
  CHECK(ds_pb_finish(&pb, &err) == -1);
  ds_pb_free(&pb);

  ds_pb_init(&pb);
  ds_pb_uint64(&pb, 0, 1);
  CHECK(ds_pb_finish(&pb, &err) == -1);
  CHECK(strstr(err.msg, "field number") != NULL);
  ds_pb_free(&pb);

  ds_pb_init(&pb);
  for (int i = 0; i <= DS_PB_MAX_DEPTH; i++) ds_pb_begin(&pb, 1);
  CHECK(ds_pb_finish(&pb, &err) == -1);
  ds_pb_free(&pb);
}

/* y = x + DequantizeLinear(w_q, w_scale, 0) with x (1, 300) float input: check_protobuf.py decodes
 * this, checks every field and runs it. 300 elements make the initializer need a two-byte length. */
static int write_onnx(const char *path) {
  enum { N = 300 };
  ds_pb pb;
  ds_err err = {{0}};
  ds_pb_init(&pb);
  ds_onnx_model_begin(&pb, 10, 21, "distill-test", "pb_check");
  int8_t wq[N];
  for (int i = 0; i < N; i++) wq[i] = (int8_t)(i % 255 - 127);
  const int64_t dims[] = {1, N}, wdims[] = {N};
  const float scale = 0.5f;
  ds_onnx_tensor(&pb, ONNX_GRAPH_INITIALIZER, "w_q", ONNX_INT8, 1, wdims, wq);
  ds_onnx_tensor(&pb, ONNX_GRAPH_INITIALIZER, "w_scale", ONNX_FLOAT, 0, NULL, &scale);
  const char *dq_in[] = {"w_q", "w_scale"}, *dq_out[] = {"w"};
  ds_onnx_node_begin(&pb, "DequantizeLinear", "dq", dq_in, 2, dq_out, 1);
  ds_onnx_attr_int(&pb, "axis", 0);
  ds_onnx_node_end(&pb);
  const char *add_in[] = {"x", "w"}, *add_out[] = {"y"};
  ds_onnx_node_begin(&pb, "Add", "add", add_in, 2, add_out, 1);
  ds_onnx_node_end(&pb);
  ds_onnx_value_info(&pb, ONNX_GRAPH_INPUT, "x", ONNX_FLOAT, 2, dims);
  ds_onnx_value_info(&pb, ONNX_GRAPH_OUTPUT, "y", ONNX_FLOAT, 2, dims);
  ds_onnx_model_end(&pb);
  ds_onnx_model_metadata(&pb, "check", "protobuf");
  int rc = ds_pb_finish(&pb, &err);
  FILE *f = rc == 0 ? fopen(path, "wb") : NULL;
  if (!f || fwrite(pb.data, 1, pb.len, f) != pb.len) rc = -1;
  if (f && fclose(f)) rc = -1;
  ds_pb_free(&pb);
  if (rc) fprintf(stderr, "test_protobuf: cannot write %s: %s\n", path, err.msg);
  return rc;
}

int main(int argc, char **argv) {
  test_varints();
  test_scalar_fields();
  test_packed();
  test_nested();
  test_errors();
  if (argc > 1) CHECK(write_onnx(argv[1]) == 0);
  return check_report();
}
