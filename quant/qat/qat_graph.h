/* The student's quantized graph, written once: a list of ops over QAT sites that the int8 builder
 * (qat_build.c) emits as the int8 model's op list and the fake-quant forward (qat_forward.c) runs, so the
 * simulation and the model it exports cannot describe different graphs. */
#ifndef DS_QUANT_QAT_QAT_GRAPH_H
#define DS_QUANT_QAT_QAT_GRAPH_H

#include "quant/qat/qat.h"

typedef struct {
  ds_i8_op_kind kind;
  int in[2];  /* input sites; in[1] = -1 when unused, both -1 for the lookups */
  int out;    /* output site */
  int layer;  /* the encoder layer the op belongs to, -1 before and after the layers */
  int weight; /* EMBED, POS_EMBED, FC: size-table index of the weight (an FC's bias is the next tensor), else -1 */
  int part;   /* FC from the fused qkv weight: its rows [part * H * hd, (part + 1) * H * hd) (0 q, 1 k, 2 v), else -1 */
  int gamma;  /* LAYERNORM: size-table index of its weight (its bias is the next tensor), else -1 */
} ds_qat_node;

#define DS_QAT_MAX_NODES (3 + 14 * DS_MAX_LAYERS + 4)

/* The graph of a student of shape s (size table t) in execution order, into nodes; returns their number. */
int ds_qat_graph(const ds_student_shape *s, const ds_param_table *t, ds_qat_node *nodes);

#endif
