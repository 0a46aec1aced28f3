/* The encodings JSON, collected from the float ONNX graph writer's report of every tensor
 * (export_onnx_graph.h) so that the two cannot disagree on which tensors exist. */
#include "common/common.h"
#include "quant/export/export_encodings.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "quant/export/export_common.h"
#include "quant/export/export_onnx_graph.h"

typedef struct {
  ds_export_text t;
  int n;
} text;

#define put(tx, ...) ds_export_text_put(&(tx)->t, __VA_ARGS__)

typedef struct {
  text act, param;
} collector;

/* JSON string body: names are plain ASCII identifiers with '.', '/', '_'; escape the rest anyway. */
static void put_name(text *t, const char *s) {
  put(t, "\"");
  for (; *s; s++) {
    if (*s == '"' || *s == '\\') put(t, "\\%c", *s);
    else if ((unsigned char)*s < 0x20) put(t, "\\u%04x", *s);
    else put(t, "%c", *s);
  }
  put(t, "\"");
}

static void on_tensor(void *ctx, const ds_onnx_tensor_grid *g) {
  collector *c = ctx;
  text *t = g->is_param ? &c->param : &c->act;
  put(t, "%s\n    ", t->n++ ? "," : "");
  put_name(t, g->name);
  put(t, ": [");
  const long long half = 1LL << (g->bits - 1), levels = (1LL << g->bits) - 1;
  for (int i = 0; i < g->n; i++) {
    const double s = g->scale[i];
    const long long offset = -half - g->zero_point;
    put(t, "%s{\"bitwidth\": %d, \"dtype\": \"int\", \"is_symmetric\": \"%s\", \"max\": %.9g, \"min\": %.9g, "
           "\"offset\": %lld, \"scale\": %.9g}",
        i ? ", " : "", g->bits, g->symmetric ? "True" : "False", s * (double)(levels + offset), s * (double)offset,
        offset, s);
  }
  put(t, "]");
}

int ds_encodings_export(const ds_i8_model *m, const ds_onnx_export_params *p, const char *path, ds_err *err) {
  ds_onnx_export_params fp = p ? *p : ds_onnx_export_default_params();
  fp.float_graph = 1;
  collector c;
  memset(&c, 0, sizeof c);
  unsigned char *onnx = NULL;
  size_t size = 0;
  if (ds_onnx_export_graph(m, &fp, on_tensor, &c, &onnx, &size, err)) {
    free(c.act.t.buf);
    free(c.param.t.buf);
    return -1;
  }
  free(onnx);
  int rc = 0;
  ds_atomic_file a;
  if (c.act.t.failed || c.param.t.failed) {
    rc = ds_fail(err, "%s: out of memory for the encodings", path);
  } else if ((rc = ds_atomic_open(&a, path, "w", err)) == 0) {
    FILE *f = a.f;
    fprintf(f, "{\n  \"version\": \"0.6.1\",\n  \"activation_encodings\": {%s\n  },\n", c.act.t.buf ? c.act.t.buf : "");
    fprintf(f, "  \"param_encodings\": {%s\n  },\n", c.param.t.buf ? c.param.t.buf : "");
    fprintf(f, "  \"quantizer_args\": {\"activation_bitwidth\": %d, \"param_bitwidth\": 8, \"dtype\": \"int\", "
               "\"per_channel_quantization\": true, \"is_symmetric\": false, \"quant_scheme\": \"qat\"}\n}\n",
            8);
    rc = ds_atomic_commit(&a, err);
  }
  if (rc) ds_fail_prefix(err, "encodings export");
  free(c.act.t.buf);
  free(c.param.t.buf);
  return rc;
}

/* ---- describing an encodings file: a tolerant scanner over the two maps of tensor -> [entries] ---- */

static const char *skip_ws(const char *p, const char *end) {
  while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t' || *p == ',' || *p == ':')) p++;
  return p;
}

/* The string at p (p at its opening quote); returns the position after it. */
static const char *scan_string(const char *p, const char *end, const char **s, int *n) {
  const char *q = p + 1;
  while (q < end && *q != '"') q += *q == '\\' ? 2 : 1;
  *s = p + 1;
  *n = (int)(q - p - 1);
  return q < end ? q + 1 : end;
}

/* Position just after the JSON value starting at p (object, array, string or scalar). */
static const char *skip_value(const char *p, const char *end) {
  const char *s;
  int n;
  if (p < end && *p == '"') return scan_string(p, end, &s, &n);
  if (p >= end || (*p != '{' && *p != '[')) {
    while (p < end && *p != ',' && *p != '}' && *p != ']') p++;
    return p;
  }
  int depth = 0;
  while (p < end) {
    if (*p == '"') {
      p = scan_string(p, end, &s, &n);
      continue;
    }
    if (*p == '{' || *p == '[') depth++;
    if (*p == '}' || *p == ']') depth--;
    p++;
    if (depth == 0) break;
  }
  return p;
}

static double number_after(const char *key, const char *p, const char *end, int *found) {
  const size_t kn = strlen(key);
  for (; p + kn < end && *p != ']'; p++)
    if (memcmp(p, key, kn) == 0) {
      *found = 1;
      return strtod(skip_ws(p + kn, end), NULL);
    }
  *found = 0;
  return 0.0;
}

static int describe_map(ds_export_text *o, const char *json, const char *end, const char *name) {
  char key[64];
  snprintf(key, sizeof key, "\"%s\"", name);
  const char *p = strstr(json, key);
  if (!p || p >= end) return 0;
  p = skip_ws(p + strlen(key), end);
  if (p >= end || *p != '{') return -1;
  const char *stop = skip_value(p, end);
  int count = 0;
  ds_export_text t = {0};
  for (p = skip_ws(p + 1, stop); p < stop && *p == '"'; p = skip_ws(p, stop)) {
    const char *s;
    int n;
    p = skip_ws(scan_string(p, stop, &s, &n), stop);
    const char *v_end = skip_value(p, stop);
    int channels = 0;
    for (const char *q = p; q < v_end; q++) channels += *q == '{';
    int fb, fo, fs;
    const double bits = number_after("\"bitwidth\"", p, v_end, &fb), off = number_after("\"offset\"", p, v_end, &fo);
    const double sc = number_after("\"scale\"", p, v_end, &fs);
    ds_export_text_put(&t, "    %-44.*s %2.0f-bit scale %-12.6g offset %.0f", n, s, bits, sc, off);
    if (channels > 1) ds_export_text_put(&t, "  (%d channels)", channels);
    ds_export_text_put(&t, "\n");
    count++;
    p = v_end;
  }
  ds_export_text_put(o, "  %s: %d tensors\n%s", name, count, t.buf ? t.buf : "");
  free(t.buf);
  return 0;
}

int ds_encodings_describe(const char *json, size_t size, char **text, ds_err *err) {
  ds_export_text o = {0};
  const char *end = json + size;
  ds_export_text_put(&o, "QNN encodings (AIMET quantization overrides)\n");
  if (describe_map(&o, json, end, "activation_encodings") || describe_map(&o, json, end, "param_encodings") ||
      o.failed) {
    free(o.buf);
    return ds_fail(err, "inspect: malformed encodings JSON");
  }
  *text = o.buf;
  return 0;
}
