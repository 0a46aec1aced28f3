/* The size table: every parameter tensor's name, shape and offset in the flat buffer. All other
 * code finds parameters through it, so per-layer sizes (after pruning) need no special cases. */
#include <stdio.h>
#include <string.h>

#include "model/student.h"

int ds_student_shape_from_config(ds_student_shape *s, const ds_student_cfg *cfg, int vocab,
                                 int teacher_emb_dim, int n_classes, ds_err *err) {
  memset(s, 0, sizeof *s);
  s->arch = strcmp(cfg->arch, "static") == 0 ? DS_ARCH_STATIC : DS_ARCH_TRANSFORMER;
  const int encoder = s->arch != DS_ARCH_STATIC;
  /* A static student has no layers: layers, heads and ffn_dim are ignored, and its only pooling is the mean. */
  if (encoder && (cfg->layers < 1 || cfg->layers > DS_MAX_LAYERS))
    return ds_fail(err, "student: layers = %d is outside [1, %d]", cfg->layers, DS_MAX_LAYERS);
  if (encoder && (cfg->heads < 1 || cfg->dim % cfg->heads != 0))
    return ds_fail(err, "student: heads = %d does not divide dim = %d", cfg->heads, cfg->dim);
  if (!encoder && cfg->pooling == DS_POOL_CLS)
    return ds_fail(err, "student: pooling = cls needs arch = transformer; a static student (arch = static) has no "
                        "context in its first token and pools by the mean only");
  if (vocab < 1) return ds_fail(err, "student: vocabulary size %d must be positive", vocab);
  s->vocab = vocab;
  s->max_len = cfg->max_len;
  s->dim = cfg->dim;
  s->n_layers = encoder ? cfg->layers : 0;
  s->head_dim = encoder ? cfg->dim / cfg->heads : 0;
  for (int l = 0; l < s->n_layers; l++) {
    s->heads[l] = cfg->heads;
    s->ffn[l] = cfg->ffn_dim;
  }
  if (cfg->out_dim == DS_OUT_DIM_TEACHER) {
    /* A teacher without embeddings has nothing to project to: keep the pooled width. */
    s->out_dim = teacher_emb_dim > 0 ? teacher_emb_dim : 0;
  } else {
    s->out_dim = cfg->out_dim;
  }
  s->n_classes = n_classes;
  s->pooling = cfg->pooling;
  return 0;
}

int ds_student_emb_dim(const ds_student_shape *s) { return s->out_dim > 0 ? s->out_dim : s->dim; }

static void table_add(ds_param_table *t, const char *name, int rows, int cols) {
  ds_tensor_info *ti = &t->tensors[t->n_tensors++];
  snprintf(ti->name, sizeof ti->name, "%s", name);
  ti->ndim = cols > 0 ? 2 : 1;
  ti->shape[0] = rows;
  ti->shape[1] = cols > 0 ? cols : 0;
  ti->numel = (size_t)rows * (size_t)(cols > 0 ? cols : 1);
  ti->offset = t->n_params;
  t->n_params += ti->numel;
}

void ds_param_table_build(ds_param_table *t, const ds_student_shape *s) {
  memset(t, 0, sizeof *t);
  const int C = s->dim, E = ds_student_emb_dim(s);
  char name[64];
  const int encoder = s->arch != DS_ARCH_STATIC;
  table_add(t, "tok_emb.weight", s->vocab, C);
  if (encoder) table_add(t, "pos_emb.weight", s->max_len, C);
  for (int l = 0; l < s->n_layers; l++) {
    const int HD = s->heads[l] * s->head_dim, F = s->ffn[l];
#define LAYER_TENSOR(suffix, rows, cols)                        \
  snprintf(name, sizeof name, "layers.%d.%s", l, suffix);       \
  table_add(t, name, rows, cols)
    LAYER_TENSOR("ln1.weight", C, 0);
    LAYER_TENSOR("ln1.bias", C, 0);
    LAYER_TENSOR("attn.qkv.weight", 3 * HD, C);
    LAYER_TENSOR("attn.qkv.bias", 3 * HD, 0);
    LAYER_TENSOR("attn.out.weight", C, HD);
    LAYER_TENSOR("attn.out.bias", C, 0);
    LAYER_TENSOR("ln2.weight", C, 0);
    LAYER_TENSOR("ln2.bias", C, 0);
    LAYER_TENSOR("ffn.fc1.weight", F, C);
    LAYER_TENSOR("ffn.fc1.bias", F, 0);
    LAYER_TENSOR("ffn.fc2.weight", C, F);
    LAYER_TENSOR("ffn.fc2.bias", C, 0);
#undef LAYER_TENSOR
  }
  if (encoder) {
    table_add(t, "ln_f.weight", C, 0);
    table_add(t, "ln_f.bias", C, 0);
  }
  if (s->out_dim > 0) {
    table_add(t, "proj.weight", s->out_dim, C);
    table_add(t, "proj.bias", s->out_dim, 0);
  }
  if (s->n_classes > 0) {
    table_add(t, "classifier.weight", s->n_classes, E);
    table_add(t, "classifier.bias", s->n_classes, 0);
  }
}

int ds_param_table_index(const ds_param_table *t, const char *name) {
  for (int i = 0; i < t->n_tensors; i++)
    if (strcmp(t->tensors[i].name, name) == 0) return i;
  return -1;
}

const ds_tensor_info *ds_param_table_find(const ds_param_table *t, const char *name) {
  const int i = ds_param_table_index(t, name);
  return i >= 0 ? &t->tensors[i] : NULL;
}

void ds_params_view(const ds_param_table *t, const ds_student_shape *s, float *base, ds_params *p) {
  memset(p, 0, sizeof *p);
  /* The table is built in a fixed order; walk it in that same order. */
  int i = 0;
#define NEXT() (base + t->tensors[i++].offset)
  const int encoder = s->arch != DS_ARCH_STATIC;
  p->tok_emb = NEXT();
  if (encoder) p->pos_emb = NEXT();
  for (int l = 0; l < s->n_layers; l++) {
    ds_layer_params *L = &p->layer[l];
    L->ln1_w = NEXT();
    L->ln1_b = NEXT();
    L->qkv_w = NEXT();
    L->qkv_b = NEXT();
    L->attn_out_w = NEXT();
    L->attn_out_b = NEXT();
    L->ln2_w = NEXT();
    L->ln2_b = NEXT();
    L->fc1_w = NEXT();
    L->fc1_b = NEXT();
    L->fc2_w = NEXT();
    L->fc2_b = NEXT();
  }
  if (encoder) {
    p->lnf_w = NEXT();
    p->lnf_b = NEXT();
  }
  if (s->out_dim > 0) {
    p->proj_w = NEXT();
    p->proj_b = NEXT();
  }
  if (s->n_classes > 0) {
    p->cls_w = NEXT();
    p->cls_b = NEXT();
  }
#undef NEXT
}
