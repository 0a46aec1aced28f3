/* The size table: every parameter tensor's name, shape and offset in the flat buffer. All other
 * code finds parameters through it, so per-layer sizes (after pruning) need no special cases. */
#include <stdio.h>
#include <string.h>

#include "model/model.h"

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
  static const char *const suffix[DS_LT_COUNT] = {
      [DS_LT_LN1_W] = "ln1.weight",           [DS_LT_LN1_B] = "ln1.bias",
      [DS_LT_QKV_W] = "attn.qkv.weight",      [DS_LT_QKV_B] = "attn.qkv.bias",
      [DS_LT_ATTN_OUT_W] = "attn.out.weight", [DS_LT_ATTN_OUT_B] = "attn.out.bias",
      [DS_LT_LN2_W] = "ln2.weight",           [DS_LT_LN2_B] = "ln2.bias",
      [DS_LT_FC1_W] = "ffn.fc1.weight",       [DS_LT_FC1_B] = "ffn.fc1.bias",
      [DS_LT_FC2_W] = "ffn.fc2.weight",       [DS_LT_FC2_B] = "ffn.fc2.bias"};
  for (int l = 0; l < s->n_layers; l++) {
    const int HD = s->heads[l] * s->head_dim, F = s->ffn[l];
    /* Rows and columns of each slot; 0 columns: a 1-D tensor. */
    const int rows[DS_LT_COUNT] = {[DS_LT_LN1_W] = C,      [DS_LT_LN1_B] = C,      [DS_LT_QKV_W] = 3 * HD,
                                   [DS_LT_QKV_B] = 3 * HD, [DS_LT_ATTN_OUT_W] = C, [DS_LT_ATTN_OUT_B] = C,
                                   [DS_LT_LN2_W] = C,      [DS_LT_LN2_B] = C,      [DS_LT_FC1_W] = F,
                                   [DS_LT_FC1_B] = F,      [DS_LT_FC2_W] = C,      [DS_LT_FC2_B] = C};
    const int cols[DS_LT_COUNT] = {[DS_LT_QKV_W] = C, [DS_LT_ATTN_OUT_W] = HD, [DS_LT_FC1_W] = C, [DS_LT_FC2_W] = F};
    for (int k = 0; k < DS_LT_COUNT; k++) {
      snprintf(name, sizeof name, "layers.%d.%s", l, suffix[k]);
      table_add(t, name, rows[k], cols[k]);
    }
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
  /* The table is built in a fixed order (the slots of model/model.h); walk it in that same order. */
  const int encoder = s->arch != DS_ARCH_STATIC;
#define AT(i) (base + t->tensors[(i)].offset)
  p->tok_emb = AT(DS_T_TOK_EMB);
  if (encoder) p->pos_emb = AT(DS_T_POS_EMB);
  for (int l = 0; l < s->n_layers; l++) {
    ds_layer_params *L = &p->layer[l];
    float **slot[DS_LT_COUNT] = {[DS_LT_LN1_W] = &L->ln1_w,           [DS_LT_LN1_B] = &L->ln1_b,
                                 [DS_LT_QKV_W] = &L->qkv_w,           [DS_LT_QKV_B] = &L->qkv_b,
                                 [DS_LT_ATTN_OUT_W] = &L->attn_out_w, [DS_LT_ATTN_OUT_B] = &L->attn_out_b,
                                 [DS_LT_LN2_W] = &L->ln2_w,           [DS_LT_LN2_B] = &L->ln2_b,
                                 [DS_LT_FC1_W] = &L->fc1_w,           [DS_LT_FC1_B] = &L->fc1_b,
                                 [DS_LT_FC2_W] = &L->fc2_w,           [DS_LT_FC2_B] = &L->fc2_b};
    for (int k = 0; k < DS_LT_COUNT; k++) *slot[k] = AT(ds_layer_tensor(l, k));
  }
  /* What follows the layers: the token table (static) or the last layer's last slot, plus one. */
  int i = encoder ? ds_layer_tensor(s->n_layers, 0) : DS_T_TOK_EMB + 1;
#define NEXT() AT(i++)
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
#undef AT
}
