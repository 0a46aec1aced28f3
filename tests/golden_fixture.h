/* Reads the PyTorch golden fixtures of tests/golden/ (see tests/golden/README.md) into a student. */
#ifndef DS_TESTS_GOLDEN_FIXTURE_H
#define DS_TESTS_GOLDEN_FIXTURE_H

#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "model/model.h"

typedef struct {
  hid_t file;
  ds_student_shape shape;
  int B, T;
  ds_loss_cfg loss;
  int32_t *ids, *labels;
  uint8_t *mask;
  float *t_logits, *t_emb;
} golden_fixture;

static double golden_attr_double(hid_t f, const char *name) {
  double v = 0;
  hid_t a = H5Aopen(f, name, H5P_DEFAULT);
  H5Aread(a, H5T_NATIVE_DOUBLE, &v);
  H5Aclose(a);
  return v;
}

/* Integer attributes read through the double reader: HDF5 converts them, exactly for the small sizes stored. */
static int golden_attr_int(hid_t f, const char *name) { return (int)golden_attr_double(f, name); }

static void golden_attr_str(hid_t f, const char *name, char *out, size_t n) {
  hid_t a = H5Aopen(f, name, H5P_DEFAULT), t = H5Aget_type(a);
  size_t len = H5Tget_size(t);
  char *buf = calloc(len + 1, 1);
  H5Aread(a, t, buf);
  snprintf(out, n, "%s", buf);
  free(buf);
  H5Tclose(t);
  H5Aclose(a);
}

/* Reads a whole dataset converted to `type` into a fresh buffer of `elem` bytes per value. */
static void *golden_read(hid_t f, const char *name, hid_t type, size_t elem, size_t *count) {
  hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
  if (d < 0) {
    fprintf(stderr, "golden fixture: no dataset %s\n", name);
    exit(1);
  }
  hid_t sp = H5Dget_space(d);
  size_t n = (size_t)H5Sget_simple_extent_npoints(sp);
  void *buf = malloc(n * elem + 1);
  H5Dread(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf);
  H5Sclose(sp);
  H5Dclose(d);
  if (count) *count = n;
  return buf;
}

static void golden_open(golden_fixture *g, const char *path) {
  memset(g, 0, sizeof *g);
  g->file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  if (g->file < 0) {
    fprintf(stderr, "cannot open golden fixture %s\n", path);
    exit(1);
  }
  hid_t f = g->file;
  ds_student_shape *s = &g->shape;
  s->vocab = golden_attr_int(f, "vocab");
  s->max_len = golden_attr_int(f, "max_len");
  s->dim = golden_attr_int(f, "dim");
  s->n_layers = golden_attr_int(f, "n_layers");
  s->head_dim = golden_attr_int(f, "head_dim");
  s->out_dim = golden_attr_int(f, "out_dim");
  s->n_classes = golden_attr_int(f, "n_classes");
  char buf[64];
  golden_attr_str(f, "pooling", buf, sizeof buf);
  s->pooling = strcmp(buf, "cls") == 0 ? DS_POOL_CLS : DS_POOL_MEAN;
  hid_t a = H5Aopen(f, "heads", H5P_DEFAULT);
  H5Aread(a, H5T_NATIVE_INT, s->heads);
  H5Aclose(a);
  a = H5Aopen(f, "ffn", H5P_DEFAULT);
  H5Aread(a, H5T_NATIVE_INT, s->ffn);
  H5Aclose(a);
  g->B = golden_attr_int(f, "batch");
  g->T = golden_attr_int(f, "seq_len");
  g->loss.kd_weight = golden_attr_double(f, "kd_weight");
  g->loss.temperature = golden_attr_double(f, "temperature");
  g->loss.ce_weight = golden_attr_double(f, "ce_weight");
  g->loss.emb_weight = golden_attr_double(f, "emb_weight");
  golden_attr_str(f, "emb_loss", buf, sizeof buf);
  g->loss.emb_loss = strcmp(buf, "mse") == 0 ? DS_EMB_MSE : DS_EMB_COSINE;
  g->loss.sim_weight = golden_attr_double(f, "sim_weight");
  g->loss.sim_temperature = golden_attr_double(f, "sim_temperature");
  g->ids = golden_read(f, "/inputs/input_ids", H5T_NATIVE_INT32, 4, NULL);
  g->mask = golden_read(f, "/inputs/attention_mask", H5T_NATIVE_UINT8, 1, NULL);
  g->labels = golden_read(f, "/inputs/labels", H5T_NATIVE_INT32, 4, NULL);
  g->t_logits = golden_read(f, "/inputs/teacher_logits", H5T_NATIVE_FLOAT, 4, NULL);
  g->t_emb = golden_read(f, "/inputs/teacher_embeddings", H5T_NATIVE_FLOAT, 4, NULL);
}

/* Copies /params/<name> of every tensor in the student's table into its parameters. */
static void golden_load_params(golden_fixture *g, ds_student *m) {
  for (int i = 0; i < m->table.n_tensors; i++) {
    const ds_tensor_info *t = &m->table.tensors[i];
    char name[128];
    snprintf(name, sizeof name, "/params/%s", t->name);
    size_t n = 0;
    float *v = golden_read(g->file, name, H5T_NATIVE_FLOAT, 4, &n);
    if (n != t->numel) {
      fprintf(stderr, "golden fixture: %s has %zu values, the student expects %zu\n", name, n, t->numel);
      exit(1);
    }
    memcpy(m->params + t->offset, v, n * sizeof(float));
    free(v);
  }
}

static double *golden_read_f64(golden_fixture *g, const char *name, size_t *n) {
  return golden_read(g->file, name, H5T_NATIVE_DOUBLE, 8, n);
}

/* Opens tests/golden/FILE, builds its student with the fixture's parameters and runs the forward pass on the
 * fixture's batch (naive: the reference kernels instead of the fast ones). */
static void golden_forward(const char *file, int naive, golden_fixture *g, ds_student *m) {
  char path[1024];
  snprintf(path, sizeof path, "%s/tests/golden/%s", DISTILL_SOURCE_DIR, file);
  golden_open(g, path);
  ds_err err;
  CHECK(ds_student_init(m, &g->shape, &err) == 0);
  m->naive = naive;
  golden_load_params(g, m);
  CHECK(ds_student_forward(m, g->ids, g->mask, g->B, g->T, &err) == 0);
}

/* |got - want| and |want| (L2 over n values), for a whole tensor's relative error. */
static void golden_l2(const float *got, const double *want, size_t n, double *diff, double *ref) {
  double num = 0.0, den = 0.0;
  for (size_t k = 0; k < n; k++) {
    num += (got[k] - want[k]) * (got[k] - want[k]);
    den += want[k] * want[k];
  }
  *diff = sqrt(num);
  *ref = sqrt(den);
}

static void golden_close(golden_fixture *g) {
  free(g->ids);
  free(g->labels);
  free(g->mask);
  free(g->t_logits);
  free(g->t_emb);
  H5Fclose(g->file);
}

#endif
