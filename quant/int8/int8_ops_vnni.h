/* AVX-512 / VNNI kernels of the int8 runtime (vpdpbusd: 64 int8 products per instruction), chosen at run time:
 * on a CPU without AVX512-VNNI each is the portable kernel it replaces. Same contracts and the same output, bit
 * for bit (tests/quant/int8/test_int8_vnni.c checks every one on random inputs of every edge size). */
#ifndef DS_QUANT_INT8_INT8_OPS_VNNI_H
#define DS_QUANT_INT8_INT8_OPS_VNNI_H

#include <stdint.h>

#include "quant/int8/int8_ops.h"

/* As ds_i8_fc_fast (quant/int8/int8_model.h): x (batch, in), w (out, in), bias (out) or NULL, multiplier/shift
 * (out), wsum (out) the row sums of w (ds_i8_row_sums), y (batch, out). Needs no scratch from the caller
 * (it packs 16 weight rows at a time on its stack). Returns 0, or -1 on bad arguments. */
int ds_i8_fc_vnni(const ds_i8_fc_params *p, const ds_i8_fc_dims *d, const int32_t *multiplier,
                  const int32_t *shift, const int8_t *x, const int8_t *w, const int32_t *bias,
                  const int32_t *wsum, int8_t *y);

/* ds_i8_add (TFLite ADD) on AVX-512 where available; same checks, same bytes. */
int ds_i8_add_vnni(const ds_i8_add_params *p, const int8_t *x1, const int8_t *x2, size_t n, int8_t *y);

/* One head of ATT_SCORES / ATT_CONTEXT, as ds_i8_att_scores / ds_i8_att_context (quant/int8/int8_model.h), bit for
 * bit; their scratch (ksum, acc) is used only on the fallback path. */
void ds_i8_att_scores_vnni(const ds_i8_matmul_params *p, int T, int hd, int ld, const int8_t *q, const int8_t *k,
                           int32_t *ksum, int8_t *y);
void ds_i8_att_context_vnni(const ds_i8_matmul_params *p, int T, int hd, int ld, const int8_t *probs,
                            const int8_t *v, int32_t *acc, int8_t *y);

/* ds_i8_layernorm: the same float operations in the same order (so the same codes, which the fake-quant
 * forward pass relies on), vectorised where the order allows; scratch as ds_i8_layernorm's. */
int ds_i8_layernorm_vnni(const ds_qparams *in, const ds_qparams *out, const float *gamma, const float *beta,
                         float eps, const int8_t *x, int rows, int cols, void *scratch, int8_t *y);

/* ds_i8_embedding_lookup, the same bytes (and the same refusal of out-of-range ids). */
int ds_i8_embedding_lookup_vnni(const ds_i8_embedding_params *p, const ds_i8_embedding_dims *d,
                                const int32_t *multiplier, const int32_t *shift, const int8_t *table,
                                const int32_t *ids, int n, int8_t *y);

/* ds_i8_requant_cols (quant/int8/int8_model.h), the same bytes. */
void ds_i8_requant_cols_vnni(const int32_t *acc, int rows, int cols, const int32_t *mult, const int32_t *shift,
                             int32_t zp, int32_t lo, int32_t hi, int8_t *out);

/* 1 if the functions above run their AVX-512 / VNNI kernels on this CPU, 0 if they fall back. */
int ds_i8_vnni_available(void);

#endif
