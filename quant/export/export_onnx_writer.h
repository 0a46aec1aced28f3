/* The ONNX graph writer's state and the helpers every op writer uses (export_onnx.c): tensor names,
 * the grid each activation is exported on, node and initializer emission, the Q -> DQ pairs of the
 * QDQ graph, and the rule that each op reads and writes activations of one width. Internal to the
 * ONNX exporter. */
#ifndef DS_QUANT_EXPORT_EXPORT_ONNX_WRITER_H
#define DS_QUANT_EXPORT_EXPORT_ONNX_WRITER_H

#include <stdint.h>

#include "quant/export/export_onnx.h"
#include "quant/export/export_onnx_graph.h"
#include "quant/export/export_onnx_proto.h"

#define NAME_LEN 128
#define N_NAMES 16

typedef struct {
  ds_pb pb;
  const ds_i8_model *m;
  ds_onnx_export_params p;
  int qdq, L;
  float mask_depth;
  ds_onnx_grid_fn on_tensor;
  void *ctx;
  char names[N_NAMES][NAME_LEN]; /* rotating scratch for formatted names */
  int next_name;
  int n_nodes;
  unsigned char *fine_grid_written; /* per activation: its "A/16" grid initializers exist */
  char (*widened)[NAME_LEN];        /* tensors that already have a 16-bit copy "name/16" */
  int n_widened, cap_widened;
  int out_of_memory;                /* sticky: the export fails at the end */
} writer;

/* The grid a tensor is exported on: real = scale * (q - zp_signed), q in [qmin, qmax] (signed
 * convention); zp in the exported type, shifted by 128 / 32768 for uint8 / uint16. */
typedef struct {
  int bits, onnx_type;
  float scale;
  int32_t zp;   /* in the exported type (shifted for unsigned types) */
  int32_t zp_signed, qmin, qmax;
} grid;

/* ---- names ---- */
/* A formatted name in rotating scratch (valid for the next N_NAMES calls). */
const char *ox_nm(writer *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* dst = a + b, cut to NAME_LEN. */
void ox_join(char *dst, const char *a, const char *b);
const char *ox_act_name(writer *w, int a);

/* ---- grids ---- */
/* The input of the CLS pooling that writes a, or -1 (CLS pooling keeps its input's codes and grid). */
int ox_cls_source(writer *w, int a);
grid ox_make_grid(writer *w, int bits, float scale, int32_t zp_signed, int32_t qmin, int32_t qmax);
/* The grid activation a is exported on (16-bit under w8a16 for LayerNorm/Softmax tensors). */
grid ox_act_grid(writer *w, int a);
int ox_act_bits(writer *w, int a);

/* ---- emission ---- */
/* The float graph's report of a tensor's grid (encodings). */
void ox_report(writer *w, const char *name, int is_param, int bits, int symmetric, int n, const float *scale,
               int32_t zp);
void ox_report_grid(writer *w, const char *name, int is_param, const grid *g);
void ox_init_scalar_f(writer *w, const char *name, float v);
void ox_init_i64(writer *w, const char *name, const int64_t *v, int n);
/* Scale and zero point initializers "<base>/scale", "<base>/zp" of a grid. */
void ox_init_grid(writer *w, const char *base, const grid *g);
/* Begins a node (add attributes, then ds_onnx_node_end); node1/node2 also end it. */
void ox_node(writer *w, const char *op, const char *const *in, int n_in, const char *out);
void ox_node1(writer *w, const char *op, const char *in, const char *out);
void ox_node2(writer *w, const char *op, const char *a, const char *b, const char *out);
/* QuantizeLinear / DequantizeLinear with the grid initializers of `base`. */
void ox_qdq_node(writer *w, const char *op, const char *in, const char *base, const char *out);
void ox_reshape(writer *w, const char *in, const int64_t *shape, int n, const char *out);
void ox_transpose(writer *w, const char *in, const int64_t *perm, int n, const char *out);

/* ---- activations ---- */
/* Where an op writes activation a: "A/pre" in the QDQ graph, "A" in the float graph. */
const char *ox_out_name(writer *w, int a);
/* After the op: Q -> DQ on a's grid (QDQ), or the grid's report (float). */
void ox_finish_act(writer *w, int a);
/* Q then DQ of float tensor `pre` on the grid of `base`: tensors "out/q" and "out". */
void ox_requant(writer *w, const char *pre, const char *base, const char *out);

/* ---- one width per op (QDQ graph; see export_onnx_writer.c) ---- */
/* The width of an op reading activations in[0..n) and writing out. */
int ox_op_width(writer *w, const int *in, int n, int out);
/* Tensor `name`, on activation a's grid, as an input of a `bits`-wide op: itself or its exact 16-bit copy. */
const char *ox_widen(writer *w, const char *name, int a, int bits);
/* An op of width `bits` wrote `pre`, a value of activation a: tensor `out` on a's grid. */
void ox_finish_at(writer *w, const char *pre, int a, const char *out, int bits);
/* ox_finish_act for an op of width `bits`. */
void ox_finish_act_at(writer *w, int a, int bits);

/* The graph inputs (input_ids, attention_mask) and what is derived from the mask: the attention bias
 * "mask_bias" and the pooling weights "pool_weights" (export_onnx_io.c). */
void ox_write_inputs(writer *w);
/* Graph output `name` ("emb" or "logits") from activation a, through an Identity when named otherwise. */
void ox_write_output(writer *w, int a, const char *name);

#endif
