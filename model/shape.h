/* The student: a pre-LN transformer encoder (token + learned position embeddings, N blocks of
 * multi-head self-attention and a GELU feed-forward, final LayerNorm), mean or CLS pooling, a
 * projection to the embedding size and a linear classifier over the teacher's classes.
 *
 * Parameters follow PyTorch's nn.Embedding / nn.Linear (weight (out, in) plus bias) /
 * nn.LayerNorm (weight, bias), so tensors compare one for one with a PyTorch model. Layers may
 * have different head and FFN counts (after structured pruning is compacted). */
#ifndef DS_MODEL_SHAPE_H
#define DS_MODEL_SHAPE_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "model/config/config.h"

#define DS_MAX_TENSORS (8 + 12 * DS_MAX_LAYERS)
#define DS_LN_EPS 1e-5f

/* transformer: the encoder above. static: a Model2Vec-like student with no position table, no layers and
 * no final LayerNorm: the mean of the tokens' table rows, then the projection and classifier. */
typedef enum { DS_ARCH_TRANSFORMER = 0, DS_ARCH_STATIC = 1 } ds_arch;

typedef struct {
  ds_arch arch;
  int vocab;                 /* rows of the token embedding */
  int max_len;               /* longest sequence: rows of the position embedding (none in a static student) */
  int dim;                   /* C: width of the residual stream */
  int n_layers;
  int head_dim;              /* hd: dim / heads of the config; kept when heads are pruned; 0 when static */
  int heads[DS_MAX_LAYERS];  /* H_l: heads of layer l */
  int ffn[DS_MAX_LAYERS];    /* F_l: FFN neurons of layer l */
  int out_dim;               /* D: projection size; 0 = no projection, the embedding is the pooled C */
  int n_classes;             /* K: classifier outputs; 0 = no classifier */
  ds_pooling pooling;
} ds_student_shape;

/* Resolves a [student] config against the teacher's sizes (vocab, emb_dim, n_classes). */
int ds_student_shape_from_config(ds_student_shape *s, const ds_student_cfg *cfg, int vocab,
                                 int teacher_emb_dim, int n_classes, ds_err *err);
/* Size of the sentence embedding the model outputs: out_dim, or dim when there is no projection. */
int ds_student_emb_dim(const ds_student_shape *s);

/* One entry of the size table: the single source of truth for the flat parameter buffer. */
typedef struct {
  char name[64];             /* PyTorch-style, e.g. "layers.0.attn.qkv.weight" */
  int ndim;
  int shape[2];
  size_t offset, numel;      /* in floats, into the flat buffer */
} ds_tensor_info;

typedef struct {
  int n_tensors;
  ds_tensor_info tensors[DS_MAX_TENSORS];
  size_t n_params;
} ds_param_table;

/* Named slots of the size table, which ds_param_table_build fills in this order: the token table, the
 * position table (transformer only), then DS_LT_COUNT tensors per layer, then ln_f, proj, classifier. */
enum { DS_T_TOK_EMB = 0, DS_T_POS_EMB = 1, DS_T_LAYER0 = 2 };
enum {
  DS_LT_LN1_W, DS_LT_LN1_B, DS_LT_QKV_W, DS_LT_QKV_B, DS_LT_ATTN_OUT_W, DS_LT_ATTN_OUT_B,
  DS_LT_LN2_W, DS_LT_LN2_B, DS_LT_FC1_W, DS_LT_FC1_B, DS_LT_FC2_W, DS_LT_FC2_B, DS_LT_COUNT
};
/* Table index of slot k (DS_LT_*) of layer l of a transformer student. */
static inline int ds_layer_tensor(int l, int k) { return DS_T_LAYER0 + l * DS_LT_COUNT + k; }

void ds_param_table_build(ds_param_table *t, const ds_student_shape *s);
const ds_tensor_info *ds_param_table_find(const ds_param_table *t, const char *name);
/* Index of the tensor called `name` in the table, -1 if the student has none. */
int ds_param_table_index(const ds_param_table *t, const char *name);

/* Pointer views into one flat buffer laid out by the table (parameters, gradients, moments). */
typedef struct {
  float *ln1_w, *ln1_b;      /* (C) */
  float *qkv_w;              /* (3*H*hd, C): rows of Q for every head, then K, then V */
  float *qkv_b;              /* (3*H*hd) */
  float *attn_out_w;         /* (C, H*hd) */
  float *attn_out_b;         /* (C) */
  float *ln2_w, *ln2_b;      /* (C) */
  float *fc1_w;              /* (F, C) */
  float *fc1_b;              /* (F) */
  float *fc2_w;              /* (C, F) */
  float *fc2_b;              /* (C) */
} ds_layer_params;

typedef struct {
  float *tok_emb;            /* (V, C) */
  float *pos_emb;            /* (max_len, C); NULL in a static student */
  ds_layer_params layer[DS_MAX_LAYERS];
  float *lnf_w, *lnf_b;      /* (C); NULL in a static student */
  float *proj_w, *proj_b;    /* (D, C), (D); NULL without projection */
  float *cls_w, *cls_b;      /* (K, E), (K) with E the embedding size; NULL without classifier */
} ds_params;

void ds_params_view(const ds_param_table *t, const ds_student_shape *s, float *base, ds_params *p);

#endif
