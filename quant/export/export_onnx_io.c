/* The ONNX graph's inputs and outputs (export_onnx_writer.h): input_ids and attention_mask, the mask
 * bias and pooling weights derived from the mask, and the "emb" / "logits" outputs. */
#include <string.h>

#include "quant/export/export_common.h"
#include "quant/export/export_onnx_writer.h"

void ox_write_inputs(writer *w) {
  const int64_t in_dims[] = {1, w->L}, ids_shape[] = {w->L};
  ds_onnx_value_info(&w->pb, ONNX_GRAPH_INPUT, "input_ids", ONNX_INT32, 2, in_dims);
  const int mask_type = !w->qdq ? ONNX_FLOAT : w->p.uint8_acts ? ONNX_UINT8 : ONNX_INT8;
  ds_onnx_value_info(&w->pb, ONNX_GRAPH_INPUT, "attention_mask", mask_type, 2, in_dims);
  ox_reshape(w, "input_ids", ids_shape, 1, "ids");
  const float D = w->mask_depth, s_mask = D / 255.0f, s_pool = 1.0f / 65536.0f;
  grid pool = ox_make_grid(w, 16, s_pool, -32768, -32768, 32767);
  if (w->qdq) {
    /* The mask read on the grid (scale D, zero point 1) is D * (mask - 1): the bias itself. It is
     * copied exactly onto a 16-bit grid (-D is code -32768), the width of both ops reading it. */
    ox_init_scalar_f(w, "mask_in/scale", D);
    const int8_t one = 1;
    ds_onnx_tensor(&w->pb, ONNX_GRAPH_INITIALIZER, "mask_in/zp", mask_type, 0, NULL, &one);
    ox_qdq_node(w, "DequantizeLinear", "attention_mask", "mask_in", "mask_in");
    const grid bias16 = ox_make_grid(w, 16, D / 32768.0f, 0, -32768, 32767);
    ox_init_grid(w, "mask_bias", &bias16);
    ox_requant(w, "mask_in", "mask_bias", "mask_bias");
    ox_init_grid(w, "pool_weights", &pool);
    ox_node(w, "Softmax", (const char *[]){"mask_bias"}, 1, "pool_weights/pre");
    ds_onnx_attr_int(&w->pb, "axis", -1);
    ds_onnx_node_end(&w->pb);
    ox_qdq_node(w, "QuantizeLinear", "pool_weights/pre", "pool_weights", "pool_weights/q");
    ox_qdq_node(w, "DequantizeLinear", "pool_weights/q", "pool_weights", "pool_weights");
  } else {
    const float one = 1.0f, s_one = 1.0f / 255.0f;
    ox_init_scalar_f(w, "mask_one", one);
    ox_init_scalar_f(w, "mask_depth", D);
    ox_node2(w, "Sub", "attention_mask", "mask_one", "mask_bias/sub");
    ox_node2(w, "Mul", "mask_bias/sub", "mask_depth", "mask_bias");
    ox_node(w, "Softmax", (const char *[]){"mask_bias"}, 1, "pool_weights");
    ds_onnx_attr_int(&w->pb, "axis", -1);
    ds_onnx_node_end(&w->pb);
    ox_report(w, "attention_mask", 0, 8, 0, 1, &s_one, -128);
    ox_report(w, "mask_one", 1, 8, 0, 1, &s_one, -128);
    ox_report(w, "mask_depth", 1, 8, 0, 1, &s_mask, -128);
    ox_report(w, "mask_bias/sub", 0, 8, 0, 1, &s_one, 127);
    ox_report(w, "mask_bias", 0, 8, 0, 1, &s_mask, 127);
    ox_report_grid(w, "pool_weights", 0, &pool);
  }
}

/* Graph outputs are always "emb" and "logits", whatever the activation is called (no projection:
 * the embedding is "pooled"). */
void ox_write_output(writer *w, int a, const char *name) {
  const int64_t dims[] = {1, w->m->acts[a].width};
  if (strcmp(ox_act_name(w, a), name) != 0) {
    ox_node1(w, "Identity", ox_act_name(w, a), name);
    if (!w->qdq) {
      const grid g = ox_act_grid(w, a);
      ox_report_grid(w, name, 0, &g);
    }
  }
  ds_onnx_value_info(&w->pb, ONNX_GRAPH_OUTPUT, name, ONNX_FLOAT, 2, dims);
}
