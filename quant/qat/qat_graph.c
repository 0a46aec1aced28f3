/* The student's quantized graph as one op list (quant/qat/qat_graph.h). */
#include "quant/qat/qat_graph.h"

typedef struct {
  ds_qat_node *nodes;
  int n, layer;
} graph;

static ds_qat_node *op(graph *g, ds_i8_op_kind kind, int in0, int in1, int out) {
  ds_qat_node *d = &g->nodes[g->n++];
  *d = (ds_qat_node){.kind = kind, .in = {in0, in1}, .out = out, .layer = g->layer, .weight = -1, .part = -1,
                     .gamma = -1};
  return d;
}

int ds_qat_graph(const ds_student_shape *s, const ds_param_table *t, ds_qat_node *nodes) {
  graph g = {nodes, 0, -1};
  const int f0 = ds_qat_final_site(s->n_layers, 0);
  op(&g, DS_I8_OP_EMBED, -1, -1, DS_QS_TOK)->weight = DS_T_TOK_EMB;
  int x = DS_QS_TOK; /* a static student pools the token rows */
  if (s->arch != DS_ARCH_STATIC) {
    op(&g, DS_I8_OP_POS_EMBED, -1, -1, DS_QS_POS)->weight = DS_T_POS_EMB;
    op(&g, DS_I8_OP_ADD, DS_QS_TOK, DS_QS_POS, DS_QS_X0);
    x = DS_QS_X0;
    for (int l = 0; l < s->n_layers; l++) {
      g.layer = l;
#define S(k) ds_qat_layer_site(l, k)
      op(&g, DS_I8_OP_LAYERNORM, x, -1, S(DS_QL_LN1))->gamma = ds_layer_tensor(l, DS_LT_LN1_W);
      for (int k = 0; k < 3; k++) {
        ds_qat_node *fc = op(&g, DS_I8_OP_FC, S(DS_QL_LN1), -1, S(DS_QL_Q + k));
        fc->weight = ds_layer_tensor(l, DS_LT_QKV_W);
        fc->part = k;
      }
      op(&g, DS_I8_OP_ATT_SCORES, S(DS_QL_Q), S(DS_QL_K), S(DS_QL_SCORES));
      op(&g, DS_I8_OP_SOFTMAX, S(DS_QL_SCORES), -1, S(DS_QL_PROBS));
      op(&g, DS_I8_OP_ATT_CONTEXT, S(DS_QL_PROBS), S(DS_QL_V), S(DS_QL_CTX));
      op(&g, DS_I8_OP_FC, S(DS_QL_CTX), -1, S(DS_QL_ATTN_OUT))->weight = ds_layer_tensor(l, DS_LT_ATTN_OUT_W);
      op(&g, DS_I8_OP_ADD, x, S(DS_QL_ATTN_OUT), S(DS_QL_MID));
      op(&g, DS_I8_OP_LAYERNORM, S(DS_QL_MID), -1, S(DS_QL_LN2))->gamma = ds_layer_tensor(l, DS_LT_LN2_W);
      op(&g, DS_I8_OP_FC, S(DS_QL_LN2), -1, S(DS_QL_FC1))->weight = ds_layer_tensor(l, DS_LT_FC1_W);
      op(&g, DS_I8_OP_GELU, S(DS_QL_FC1), -1, S(DS_QL_GELU));
      op(&g, DS_I8_OP_FC, S(DS_QL_GELU), -1, S(DS_QL_FC2))->weight = ds_layer_tensor(l, DS_LT_FC2_W);
      op(&g, DS_I8_OP_ADD, S(DS_QL_MID), S(DS_QL_FC2), S(DS_QL_OUT));
      x = S(DS_QL_OUT);
#undef S
    }
    g.layer = -1;
    op(&g, DS_I8_OP_LAYERNORM, x, -1, f0 + DS_QF_LNF)->gamma = ds_param_table_index(t, "ln_f.weight");
    x = f0 + DS_QF_LNF;
  }
  op(&g, s->pooling == DS_POOL_CLS ? DS_I8_OP_POOL_CLS : DS_I8_OP_POOL_MEAN, x, -1, f0 + DS_QF_POOLED);
  int emb = f0 + DS_QF_POOLED;
  if (s->out_dim > 0) {
    op(&g, DS_I8_OP_FC, emb, -1, f0 + DS_QF_EMB)->weight = ds_param_table_index(t, "proj.weight");
    emb = f0 + DS_QF_EMB;
  }
  if (s->n_classes > 0)
    op(&g, DS_I8_OP_FC, emb, -1, f0 + DS_QF_LOGITS)->weight = ds_param_table_index(t, "classifier.weight");
  return g.n;
}
