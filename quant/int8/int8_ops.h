/* Int8 kernels of the integer-only runtime, in the manner of CMSIS-NN / TFLite reference kernels:
 * const params structs carry zero points, multipliers and shifts explicitly; the library never
 * allocates (a kernel that needs scratch says how much through *_buffer_size()); every kernel
 * returns 0, or -1 for NULL pointers, bad sizes or out-of-range ids. Naive loops, kept clear:
 * they are the reference a faster kernel is checked against.
 *
 * Two kinds of kernels live here:
 *  - integer kernels (int8_ops.c): fully connected, matmul of two activations, residual add and
 *    embedding lookup. Products accumulate exactly in int32 and are requantized with
 *    ds_quant_multiply (quant/int8/int8.h), so they are bit-exact with TFLite's reference kernels;
 *    against real arithmetic they are off by at most one step of the output.
 *  - float-internal kernels (int8_float_ops.c): LayerNorm and softmax have no cheap exact
 *    integer form that the fake-quant forward pass could also simulate, so they dequantize the
 *    input exactly, compute in float and quantize with the same rounding as qparams.h. They
 *    therefore agree with the fake-quant forward to within one output step (float summation
 *    order). GELU is elementwise on 256 possible inputs, so it is a lookup table built once in
 *    double precision: exact, by construction, against a double reference. */
#ifndef DS_QUANT_INT8_INT8_OPS_H
#define DS_QUANT_INT8_INT8_OPS_H

#include <stddef.h>
#include <stdint.h>

#include "quant/int8/qparams.h"

/* Per-channel requantization multipliers of a linear layer: real[i] = (s_in * s_w[i]) / s_out,
 * the product in float and the quotient in double, as TFLite computes them. */
int ds_i8_multipliers_make(float s_in, const float *s_w, int n, float s_out, int32_t *multiplier,
                           int32_t *shift);

/* ---- fully connected: y = requant(sum_i (x - input_zp) * w + bias) + output_zp ---- */
typedef struct {
  int32_t input_zp;         /* zero point of x; weights are symmetric (zero point 0) */
  int32_t output_zp;
  int32_t act_min, act_max; /* output clamp: -128, 127 for 8-bit activations */
} ds_i8_fc_params;

typedef struct {
  int batch, in, out;
} ds_i8_fc_dims;

/* x (batch, in), w (out, in), bias (out) int32 at s_in * s_w[o] or NULL, multiplier/shift (out)
 * from ds_i8_multipliers_make, y (batch, out). */
int ds_i8_fc(const ds_i8_fc_params *p, const ds_i8_fc_dims *d, const int32_t *multiplier,
             const int32_t *shift, const int8_t *x, const int8_t *w, const int32_t *bias, int8_t *y);

/* ---- matmul of two int8 activations (attention Q K^T and P V) ---- */
typedef struct {
  int32_t a_zp, b_zp, output_zp;
  int32_t multiplier, shift; /* real = s_a * s_b * alpha / s_out; alpha = 1/sqrt(hd) for scores */
  int32_t act_min, act_max;
} ds_i8_matmul_params;

typedef struct {
  int m, k, n;
  int lda, ldb, ldy;         /* row strides, so one head can be read out of a packed QKV row */
  int b_transposed;          /* 1: b is stored (n, k), y = a b^T;  0: b is stored (k, n), y = a b */
} ds_i8_matmul_dims;

/* a (m, k) stride lda, b as dims->b_transposed says, y (m, n) stride ldy. */
int ds_i8_matmul(const ds_i8_matmul_params *p, const ds_i8_matmul_dims *d, const int8_t *a,
                 const int8_t *b, int8_t *y);

/* ---- residual add of two int8 tensors with their own scales (TFLite's ADD) ---- */
/* Both inputs are shifted left by `left_shift` (20) bits, rescaled to twice the larger input
 * scale (multipliers < 1), summed, and the sum is rescaled to the output. */
typedef struct {
  int32_t in1_zp, in2_zp, output_zp;
  int32_t left_shift;
  int32_t in1_multiplier, in1_shift;
  int32_t in2_multiplier, in2_shift;
  int32_t out_multiplier, out_shift;
  int32_t act_min, act_max;
} ds_i8_add_params;

/* Fills every field from the three tensors' parameters (act range [-128, 127]). */
int ds_i8_add_params_make(float s1, int32_t zp1, float s2, int32_t zp2, float s_out, int32_t zp_out,
                          ds_i8_add_params *p);
int ds_i8_add(const ds_i8_add_params *p, const int8_t *x1, const int8_t *x2, size_t n, int8_t *y);

/* ---- embedding lookup of a per-row symmetric int8 table ---- */
typedef struct {
  int32_t output_zp;
  int32_t act_min, act_max;
} ds_i8_embedding_params;

typedef struct {
  int vocab, dim;
} ds_i8_embedding_dims;

/* table (vocab, dim) with row scales s_row; multiplier/shift (vocab) from
 * ds_i8_multipliers_make(1, s_row, vocab, s_out, ...); ids (n); y (n, dim). Fails on an id
 * outside [0, vocab). */
int ds_i8_embedding_lookup(const ds_i8_embedding_params *p, const ds_i8_embedding_dims *d,
                           const int32_t *multiplier, const int32_t *shift, const int8_t *table,
                           const int32_t *ids, int n, int8_t *y);

/* ---- float-internal kernels ---- */

/* LayerNorm over the last axis: x (rows, cols) with parameters `in`, gamma/beta (cols) in float,
 * y (rows, cols) with parameters `out`. scratch: ds_i8_layernorm_buffer_size(cols) bytes. */
size_t ds_i8_layernorm_buffer_size(int cols);
int ds_i8_layernorm(const ds_qparams *in, const ds_qparams *out, const float *gamma,
                    const float *beta, float eps, const int8_t *x, int rows, int cols,
                    void *scratch, int8_t *y);

/* Softmax over the last axis. The output is fixed as TFLite fixes it: scale 1/256, zero
 * point -128, so probability p is stored as roundf(256 p) - 128 clamped to 127. key_mask (cols)
 * or NULL: columns with key_mask 0 (padding keys) get probability 0. A row with no valid
 * column is all zero probabilities. scratch: ds_i8_softmax_buffer_size(cols) bytes. */
#define DS_I8_SOFTMAX_SCALE (1.0f / 256.0f)
#define DS_I8_SOFTMAX_ZP (-128)
size_t ds_i8_softmax_buffer_size(int cols);
int ds_i8_softmax(const ds_qparams *in, const int8_t *x, const uint8_t *key_mask, int rows,
                  int cols, void *scratch, int8_t *y);

/* Elementwise ops as a 256-entry table indexed by (uint8_t)q: lut[q] = quantize(f(dequantize(q)))
 * with the dequantization, f and the division by the output scale in double, rounding half away
 * from zero. */
int ds_i8_lut_build(int8_t lut[256], const ds_qparams *in, const ds_qparams *out,
                    double (*f)(double));
/* GELU, tanh form: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))). */
double ds_gelu_tanh(double x);
int ds_i8_gelu_lut_build(int8_t lut[256], const ds_qparams *in, const ds_qparams *out);
void ds_i8_lut_apply(const int8_t lut[256], const int8_t *x, size_t n, int8_t *y);

#endif
