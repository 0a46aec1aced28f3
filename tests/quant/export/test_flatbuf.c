/* The FlatBuffers builder, read back by a small reader written here from the format's definition
 * (root offset, vtables, vectors, strings), plus alignment and misuse. With an argument, also
 * writes a one-operator int8 TFLite model to that path: tests/quant/export/check_flatbuf.py reads it with
 * the TFLite schema and runs it in the LiteRT interpreter. */
#include <stdio.h>
#include <string.h>

#include "tests/check.h"
#include "quant/export/export_tflite_schema.h"
#include "quant/export/flatbuf.h"

/* ---- an independent reader ---- */
static uint32_t rd_u32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint16_t rd_u16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static const uint8_t *deref(const uint8_t *p) { return p + rd_u32(p); }
/* Address of a table's field, or NULL when the vtable leaves it out. */
static const uint8_t *field(const uint8_t *table, int slot) {
  const uint8_t *vt = table - (int32_t)rd_u32(table);
  const uint16_t vt_size = rd_u16(vt);
  if (4 + 2 * slot >= vt_size) return NULL;
  const uint16_t off = rd_u16(vt + 4 + 2 * slot);
  return off ? table + off : NULL;
}

static void test_table_roundtrip(void) {
  ds_fb fb;
  ds_err err = {{0}};
  ds_fb_init(&fb);
  const ds_fb_ref name = ds_fb_string(&fb, "hello");
  const int32_t iv[] = {1, -2, 300000};
  const ds_fb_ref ints = ds_fb_vector_i32(&fb, iv, 3);
  const int64_t lv[] = {-5, 1LL << 40};
  const ds_fb_ref longs = ds_fb_vector_i64(&fb, lv, 2);
  const uint8_t raw[] = {9, 8, 7};
  const ds_fb_ref bytes = ds_fb_vector_bytes(&fb, raw, 3, 16);
  ds_fb_table_start(&fb);  /* a child table */
  ds_fb_add_f32(&fb, 0, 2.5f);
  const ds_fb_ref child = ds_fb_table_end(&fb);
  const ds_fb_ref kids = ds_fb_vector_refs(&fb, (ds_fb_ref[]){child, child}, 2);
  ds_fb_table_start(&fb);
  ds_fb_add_u8(&fb, 0, 200);
  ds_fb_add_ref(&fb, 1, name);
  ds_fb_add_i64(&fb, 2, -7);
  ds_fb_add_ref(&fb, 3, ints);
  /* slot 4 left out */
  ds_fb_add_ref(&fb, 5, longs);
  ds_fb_add_ref(&fb, 6, bytes);
  ds_fb_add_ref(&fb, 7, kids);
  ds_fb_add_i32(&fb, 8, -123456);
  const ds_fb_ref root = ds_fb_table_end(&fb);
  const uint8_t *buf = NULL;
  size_t size = 0;
  CHECK(ds_fb_finish(&fb, root, "TEST", &buf, &size, &err) == 0);
  CHECK(size % 16 == 0);  /* padded to the largest alignment used (the 16-byte blob) */
  CHECK(memcmp(buf + 4, "TEST", 4) == 0);
  const uint8_t *t = deref(buf);
  CHECK(*field(t, 0) == 200);
  const uint8_t *s = deref(field(t, 1));
  CHECK(rd_u32(s) == 5 && memcmp(s + 4, "hello", 6) == 0);  /* with its NUL */
  const uint8_t *f2 = field(t, 2);
  CHECK((size_t)(f2 - buf) % 8 == 0);
  int64_t i64;
  memcpy(&i64, f2, 8);
  CHECK(i64 == -7);
  const uint8_t *v = deref(field(t, 3));
  CHECK(rd_u32(v) == 3 && (int32_t)rd_u32(v + 4) == 1 && (int32_t)rd_u32(v + 8) == -2 &&
        rd_u32(v + 12) == 300000);
  CHECK(field(t, 4) == NULL);
  const uint8_t *l = deref(field(t, 5));
  CHECK(rd_u32(l) == 2 && (size_t)(l + 4 - buf) % 8 == 0);
  memcpy(&i64, l + 12, 8);
  CHECK(i64 == (1LL << 40));
  const uint8_t *b = deref(field(t, 6));
  CHECK(rd_u32(b) == 3 && (size_t)(b + 4 - buf) % 16 == 0 && memcmp(b + 4, raw, 3) == 0);
  const uint8_t *k = deref(field(t, 7));
  CHECK(rd_u32(k) == 2);
  for (int i = 0; i < 2; i++) {
    const uint8_t *c = deref(k + 4 + 4 * i);
    float f;
    memcpy(&f, field(c, 0), 4);
    CHECK(f == 2.5f);
  }
  CHECK((int32_t)rd_u32(field(t, 8)) == -123456);
  CHECK(field(t, 20) == NULL);  /* beyond the vtable: default */
  ds_fb_free(&fb);
}

static void test_misuse(void) {
  ds_fb fb;
  ds_err err = {{0}};
  const uint8_t *buf;
  size_t size;
  ds_fb_init(&fb);
  ds_fb_table_start(&fb);
  ds_fb_string(&fb, "not inside a table");
  const ds_fb_ref r = ds_fb_table_end(&fb);
  CHECK(r == 0);
  CHECK(ds_fb_finish(&fb, r, NULL, &buf, &size, &err) == -1);
  CHECK(strstr(err.msg, "out of order") != NULL);
  ds_fb_free(&fb);

  ds_fb_init(&fb);
  ds_fb_table_start(&fb);
  ds_fb_add_i32(&fb, DS_FB_MAX_FIELDS, 1);
  CHECK(ds_fb_finish(&fb, ds_fb_table_end(&fb), NULL, &buf, &size, &err) == -1);
  ds_fb_free(&fb);

  ds_fb_init(&fb);
  ds_fb_table_start(&fb);
  const ds_fb_ref t = ds_fb_table_end(&fb);
  CHECK(ds_fb_finish(&fb, t, "TOOLONG", &buf, &size, &err) == -1);
  ds_fb_free(&fb);
}

/* A large buffer forces the builder to grow several times while keeping earlier references. */
static void test_growth(void) {
  ds_fb fb;
  ds_err err = {{0}};
  ds_fb_init(&fb);
  enum { N = 100000 };
  static int32_t big[N];
  for (int i = 0; i < N; i++) big[i] = i * 7 - 3;
  const ds_fb_ref s = ds_fb_string(&fb, "first");
  const ds_fb_ref v = ds_fb_vector_i32(&fb, big, N);
  ds_fb_table_start(&fb);
  ds_fb_add_ref(&fb, 0, s);
  ds_fb_add_ref(&fb, 1, v);
  const ds_fb_ref root = ds_fb_table_end(&fb);
  const uint8_t *buf;
  size_t size;
  CHECK(ds_fb_finish(&fb, root, NULL, &buf, &size, &err) == 0);
  const uint8_t *t = deref(buf);
  CHECK(memcmp(deref(field(t, 0)) + 4, "first", 5) == 0);
  const uint8_t *p = deref(field(t, 1));
  CHECK(rd_u32(p) == N && (int32_t)rd_u32(p + 4 + 4 * (N - 1)) == (N - 1) * 7 - 3);
  ds_fb_free(&fb);
}

/* ---- a one-operator TFLite model: int8 FULLY_CONNECTED with per-channel weights ---- */
static ds_fb_ref tensor(ds_fb *fb, const char *name, int type, const int32_t *shape, int ndim, uint32_t buffer,
                        const float *scale, const int64_t *zp, int nq, int qdim) {
  const ds_fb_ref sh = ds_fb_vector_i32(fb, shape, (size_t)ndim), nm = ds_fb_string(fb, name);
  const ds_fb_ref sc = ds_fb_vector_f32(fb, scale, (size_t)nq), z = ds_fb_vector_i64(fb, zp, (size_t)nq);
  ds_fb_table_start(fb);
  ds_fb_add_ref(fb, TFL_QUANT_SCALE, sc);
  ds_fb_add_ref(fb, TFL_QUANT_ZERO_POINT, z);
  ds_fb_add_i32(fb, TFL_QUANT_DIMENSION, qdim);
  const ds_fb_ref q = ds_fb_table_end(fb);
  ds_fb_table_start(fb);
  ds_fb_add_ref(fb, TFL_TENSOR_SHAPE, sh);
  ds_fb_add_i8(fb, TFL_TENSOR_TYPE, (int8_t)type);
  ds_fb_add_u32(fb, TFL_TENSOR_BUFFER, buffer);
  ds_fb_add_ref(fb, TFL_TENSOR_NAME, nm);
  ds_fb_add_ref(fb, TFL_TENSOR_QUANTIZATION, q);
  return ds_fb_table_end(fb);
}

static ds_fb_ref buffer(ds_fb *fb, const void *data, size_t n) {
  const ds_fb_ref d = n ? ds_fb_vector_bytes(fb, data, n, 16) : 0;
  ds_fb_table_start(fb);
  ds_fb_add_ref(fb, TFL_BUFFER_DATA, d);
  return ds_fb_table_end(fb);
}

static int write_tflite(const char *path) {
  ds_fb fb;
  ds_err err = {{0}};
  ds_fb_init(&fb);
  static const int8_t w[3 * 4] = {127, -127, 0, 5, 1, 2, 3, 4, -100, 50, -25, 12};
  static const int32_t bias[3] = {100, -200, 0};
  const ds_fb_ref bufs[4] = {buffer(&fb, NULL, 0), buffer(&fb, w, sizeof w), buffer(&fb, bias, sizeof bias),
                             buffer(&fb, NULL, 0)};
  const int32_t in_shape[] = {1, 4}, w_shape[] = {3, 4}, b_shape[] = {3}, out_shape[] = {1, 3};
  const float s_in = 0.05f, s_out = 0.1f, s_w[3] = {0.01f, 0.02f, 0.005f};
  const float s_b[3] = {s_in * s_w[0], s_in * s_w[1], s_in * s_w[2]};
  const int64_t zp_in = 3, zp_out = -5, zeros[3] = {0, 0, 0};
  ds_fb_ref t[4];
  t[0] = tensor(&fb, "x", TFL_INT8, in_shape, 2, 0, &s_in, &zp_in, 1, 0);
  t[1] = tensor(&fb, "w", TFL_INT8, w_shape, 2, 1, s_w, zeros, 3, 0);
  t[2] = tensor(&fb, "b", TFL_INT32, b_shape, 1, 2, s_b, zeros, 3, 0);
  t[3] = tensor(&fb, "y", TFL_INT8, out_shape, 2, 3, &s_out, &zp_out, 1, 0);
  const ds_fb_ref tensors = ds_fb_vector_refs(&fb, t, 4);
  const int32_t op_in[] = {0, 1, 2}, op_out[] = {3}, g_in[] = {0}, g_out[] = {3};
  const ds_fb_ref vin = ds_fb_vector_i32(&fb, op_in, 3), vout = ds_fb_vector_i32(&fb, op_out, 1);
  ds_fb_table_start(&fb);
  ds_fb_add_i8(&fb, TFL_FC_FUSED_ACTIVATION, 0);
  const ds_fb_ref opts = ds_fb_table_end(&fb);
  ds_fb_table_start(&fb);
  ds_fb_add_u32(&fb, TFL_OP_OPCODE_INDEX, 0);
  ds_fb_add_ref(&fb, TFL_OP_INPUTS, vin);
  ds_fb_add_ref(&fb, TFL_OP_OUTPUTS, vout);
  ds_fb_add_u8(&fb, TFL_OP_OPTIONS_TYPE, TFL_OPTIONS_FULLY_CONNECTED);
  ds_fb_add_ref(&fb, TFL_OP_OPTIONS, opts);
  const ds_fb_ref op = ds_fb_table_end(&fb);
  const ds_fb_ref ops = ds_fb_vector_refs(&fb, &op, 1);
  const ds_fb_ref gi = ds_fb_vector_i32(&fb, g_in, 1), go = ds_fb_vector_i32(&fb, g_out, 1);
  const ds_fb_ref gname = ds_fb_string(&fb, "main");
  ds_fb_table_start(&fb);
  ds_fb_add_ref(&fb, TFL_SUBGRAPH_TENSORS, tensors);
  ds_fb_add_ref(&fb, TFL_SUBGRAPH_INPUTS, gi);
  ds_fb_add_ref(&fb, TFL_SUBGRAPH_OUTPUTS, go);
  ds_fb_add_ref(&fb, TFL_SUBGRAPH_OPERATORS, ops);
  ds_fb_add_ref(&fb, TFL_SUBGRAPH_NAME, gname);
  const ds_fb_ref sg = ds_fb_table_end(&fb);
  const ds_fb_ref subgraphs = ds_fb_vector_refs(&fb, &sg, 1);
  ds_fb_table_start(&fb);
  ds_fb_add_i8(&fb, TFL_OPCODE_DEPRECATED_BUILTIN, TFL_OP_FULLY_CONNECTED);
  ds_fb_add_i32(&fb, TFL_OPCODE_VERSION, 4);
  ds_fb_add_i32(&fb, TFL_OPCODE_BUILTIN, TFL_OP_FULLY_CONNECTED);
  const ds_fb_ref code = ds_fb_table_end(&fb);
  const ds_fb_ref codes = ds_fb_vector_refs(&fb, &code, 1);
  const ds_fb_ref buffers = ds_fb_vector_refs(&fb, bufs, 4);
  const ds_fb_ref desc = ds_fb_string(&fb, "distill flatbuffer check");
  ds_fb_table_start(&fb);
  ds_fb_add_u32(&fb, TFL_MODEL_VERSION, TFL_SCHEMA_VERSION);
  ds_fb_add_ref(&fb, TFL_MODEL_OPERATOR_CODES, codes);
  ds_fb_add_ref(&fb, TFL_MODEL_SUBGRAPHS, subgraphs);
  ds_fb_add_ref(&fb, TFL_MODEL_DESCRIPTION, desc);
  ds_fb_add_ref(&fb, TFL_MODEL_BUFFERS, buffers);
  const ds_fb_ref model = ds_fb_table_end(&fb);
  const uint8_t *data;
  size_t size;
  int rc = ds_fb_finish(&fb, model, TFL_FILE_IDENTIFIER, &data, &size, &err);
  FILE *f = rc == 0 ? fopen(path, "wb") : NULL;
  if (!f || fwrite(data, 1, size, f) != size) rc = -1;
  if (f && fclose(f)) rc = -1;
  if (rc) fprintf(stderr, "test_flatbuf: cannot write %s: %s\n", path, err.msg);
  ds_fb_free(&fb);
  return rc;
}

int main(int argc, char **argv) {
  test_table_roundtrip();
  test_misuse();
  test_growth();
  if (argc > 1) CHECK(write_tflite(argv[1]) == 0);
  return check_report();
}
