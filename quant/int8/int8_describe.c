/* A text description of an int8 model (for `distill inspect`): sizes, every activation with its
 * quantization, every weight and the op sequence. Library code: returns the text, prints nothing. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>

#include "quant/int8/int8.h"
#include "common/common.h"

static const char *op_name(ds_i8_op_kind k) {
  static const char *names[] = {"EMBED",   "POS_EMBED", "ADD",         "LAYERNORM", "FC",       "ATT_SCORES",
                                "SOFTMAX", "ATT_CONTEXT", "GELU",      "POOL_MEAN", "POOL_CLS"};
  return (unsigned)k <= DS_I8_OP_POOL_CLS ? names[k] : "?";
}

int ds_i8_model_describe(const ds_i8_model *m, char **text, ds_err *err) {
  size_t len = 0;
  FILE *f = open_memstream(text, &len);
  if (!f) return ds_fail(err, "out of memory describing the int8 model");
  size_t weight_bytes = 0;
  for (int i = 0; i < m->n_weights; i++)
    weight_bytes += (size_t)m->weights[i].rows * (m->weights[i].cols + 4 + (m->weights[i].bias ? 4 : 0));
  fprintf(f, "int8 model (native format version %d)\n", DS_I8_FILE_VERSION);
  fprintf(f, "  token table %d rows, ids [0, %d)%s, max_len %d, dim %d, embedding %d, classes %d, %s pooling\n",
          m->vocab, m->n_ids, m->id_map ? " through an id map" : "", m->max_len, m->dim, m->emb_dim, m->n_classes,
          m->pooling ? "cls" : "mean");
  fprintf(f, "  %d weights (%zu bytes with scales and biases), %d activations, %d ops, %d vocabulary strings\n",
          m->n_weights, weight_bytes, m->n_acts, m->n_ops, m->n_vocab_strings);
  fprintf(f, "  weights:\n");
  for (int i = 0; i < m->n_weights; i++) {
    const ds_i8_weight *w = &m->weights[i];
    fprintf(f, "    %-32s int8 [%d, %d] per-row scales%s\n", w->name, w->rows, w->cols, w->bias ? ", int32 bias" : "");
  }
  fprintf(f, "  ops (output: scale, zero point, range):\n");
  for (int k = 0; k < m->n_ops; k++) {
    const ds_i8_op *op = &m->ops[k];
    const ds_i8_act *o = &m->acts[op->out];
    fprintf(f, "    %-11s %-22s <-", op_name(op->kind), o->name);
    for (int j = 0; j < 2; j++)
      if (op->in[j] >= 0) fprintf(f, " %s", m->acts[op->in[j]].name);
    if (op->weight >= 0) fprintf(f, " %s", m->weights[op->weight].name);
    fprintf(f, "   (%.6g, %d, [%d, %d])\n", (double)o->q.scale, o->q.zero_point, o->q.qmin, o->q.qmax);
  }
  if (fclose(f) != 0) return ds_fail(err, "out of memory describing the int8 model");
  return 0;
}
