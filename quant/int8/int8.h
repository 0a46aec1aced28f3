/* quant/int8/: the integer-only runtime (libc, libm): kernels, requantization, the int8 model, its native file. */
#ifndef DS_QUANT_INT8_H
#define DS_QUANT_INT8_H

#include <stddef.h>
#include <stdint.h>

#include "common/common.h"
#include "quant/int8/int8_ops.h"
#include "quant/int8/qparams.h"

/* ==== the int8 model ==================================================================================== */
/* The int8 model: an integer-only description of a trained student, and the runtime that runs it.
 *
 * This is what `distill export --format native` writes (docs/int8_format.md), what `distill embed`
 * and `distill eval --int8` run, and what the ONNX / TFLite / QNN exporters translate. It is built
 * from a QAT checkpoint by quant/qat/qat_build.c with the very scales, zero points, rounding and
 * requantization that the fake-quant forward pass (quant/qat/qat_forward.c) used, so the runtime below
 * reproduces the training simulation bit for bit (tests/train/test_qat_exact.c).
 *
 * Conventions (quant/int8/qparams.h): real = scale * (q - zero_point). Rounding is half away from zero.
 *  - Activations: int8, asymmetric, one (scale, zero_point, qmin, qmax) per tensor. qmin/qmax are
 *    [-128, 127] for act_bits = 8 (narrower for fewer bits; codes are still stored in int8).
 *  - Weights: int8 symmetric per row (= per output channel of a linear layer, per token/position of
 *    an embedding table), zero point 0, codes in [-(2^(b-1)-1), 2^(b-1)-1] ([-127, 127] at 8 bits).
 *  - Biases: int32 at scale s_in * s_w[row] (the product computed in float), zero point 0.
 *  - Requantization: an int32 accumulator is scaled by a real multiplier r, stored as int32
 *    multiplier M (Q31) and shift (requantization, below: TFLite's MultiplyByQuantizedMultiplier), then
 *    the output zero point is added and the result clamped to [qmin, qmax] of the output tensor.
 *    M/shift are derived from the float scales when a model is built or loaded
 *    (ds_i8_model_prepare): exporters need only the float scales.
 *
 * Tensor layouts, per sequence of T tokens (1 <= T <= max_len), row-major:
 *  - DS_I8_ACT_TOKENS  (T, width)     one row per token
 *  - DS_I8_ACT_SCORES  (heads, T, T)  attention scores / probabilities, [head][query][key]
 *  - DS_I8_ACT_VECTOR  (width)        pooled, embedding, logits
 * Padding tokens (mask 0) still flow through the per-token ops; they are excluded only where it
 * matters: as attention keys (softmax) and in mean pooling. So outputs depend on the real tokens
 * only, and a sequence may be run with or without its padding.
 *
 * The graph is a list of ops in execution order (each reads earlier tensors only). For the current
 * student (pre-LN transformer) it is, with [C] the model width, per layer l ("layers.l."):
 *   tok      = EMBED(tok_emb, ids)            pos = POS_EMBED(pos_emb, 0..T-1)
 *   x0       = ADD(tok, pos)
 *   ln1      = LAYERNORM(x)                   q/k/v = FC(ln1, wq/wk/wv)    (three separate FCs)
 *   scores   = ATT_SCORES(q, k)               probs = SOFTMAX(scores, key mask)
 *   ctx      = ATT_CONTEXT(probs, v)          attn_out = FC(ctx, attn.out)
 *   mid      = ADD(x, attn_out)               ln2 = LAYERNORM(mid)
 *   fc1      = FC(ln2, ffn.fc1)               gelu = GELU(fc1)
 *   fc2      = FC(gelu, ffn.fc2)              out = ADD(mid, fc2)        -> x of the next layer
 *   ln_f     = LAYERNORM(x)                   pooled = POOL_MEAN(ln_f) or POOL_CLS(ln_f)
 *   emb      = FC(pooled, proj)   (absent when the student has no projection: emb is pooled)
 *   logits   = FC(emb, classifier) (absent without classes)
 * Pruned heads and FFN neurons are cut out (heads/ffn widths are the live counts): a removed unit
 * contributes exactly zero in the fake-quant forward, so cutting it changes no accumulator.
 * A static student (arch = static: no positions, layers or ln_f) is the shortest graph:
 *   tok      = EMBED(tok_emb, ids)            pooled = POOL_MEAN(tok)  (keeps tok's scale and zero point)
 *   emb      = FC(pooled, proj)   (absent without projection)          logits = FC(emb, classifier) */
#define DS_I8_NAME_MAX 48

typedef enum { DS_I8_ACT_TOKENS = 0, DS_I8_ACT_SCORES = 1, DS_I8_ACT_VECTOR = 2 } ds_i8_act_kind;

/* An activation tensor. Names are stable and shared with the QAT state, e.g. "tok", "pos", "x0",
 * "layers.0.ln1", "layers.0.q", "layers.0.scores", "layers.0.probs", "layers.0.ctx",
 * "layers.0.attn_out", "layers.0.mid", "layers.0.ln2", "layers.0.fc1", "layers.0.gelu",
 * "layers.0.fc2", "layers.0.out", "ln_f", "pooled", "emb", "logits". */
typedef struct {
  char name[DS_I8_NAME_MAX];
  ds_i8_act_kind kind;
  int width;        /* TOKENS/VECTOR: columns; SCORES: number of heads */
  ds_qparams q;     /* scale, zero_point, qmin, qmax. SOFTMAX outputs are always 1/256, -128. */
} ds_i8_act;

/* A constant int8 tensor: a linear layer's weight (rows = out, cols = in, y = x w^T) or an
 * embedding table (rows = vocab or max_len, cols = dim). */
typedef struct {
  char name[DS_I8_NAME_MAX]; /* the float parameter it comes from, e.g. "layers.0.ffn.fc1.weight";
                              * q/k/v: "layers.0.attn.q.weight" (rows of attn.qkv.weight) */
  int rows, cols;
  int8_t *data;      /* (rows, cols), symmetric codes, zero point 0 */
  float *scale;      /* (rows) per-row scale: real w[r][c] = scale[r] * data[r][c] */
  int32_t *bias;     /* (rows) int32 at scale s_in * scale[r] (float product), or NULL (tables) */
} ds_i8_weight;

typedef enum {
  /* out[t][c] = clamp(zp_out + MBQM(table[r][c], M[r], shift[r])), r = row of ids[t] (id_map),
   * M/shift of the real multiplier scale[r] / s_out. Since the result depends only on (r, c), an
   * exporter may requantize the whole table to s_out once and emit a plain int8 GATHER: bit exact. */
  DS_I8_OP_EMBED = 0,
  /* Same with r = t (the position), rows 0..T-1 of the table. */
  DS_I8_OP_POS_EMBED = 1,
  /* TFLite ADD, bit for bit (ds_i8_add): out = in[0] + in[1], each with its own scale. */
  DS_I8_OP_ADD = 2,
  /* LayerNorm over the last axis (eps, gamma, beta float). Computed in float inside
   * (ds_i8_layernorm): dequantize, mean, variance, normalize, affine, quantize to out. */
  DS_I8_OP_LAYERNORM = 3,
  /* out[t][o] = clamp(zp_out + MBQM(bias[o] + sum_i (x[t][i] - zp_in) * w[o][i], M[o], shift[o]))
   * with M/shift of s_in * scale[o] / s_out (ds_i8_fc). Inputs of kind VECTOR are one row. */
  DS_I8_OP_FC = 4,
  /* in[0] = q, in[1] = k (TOKENS, width heads*head_dim, head h at columns [h*hd, (h+1)*hd)).
   * scores[h][i][j] = clamp(zp_out + MBQM(sum_d (q[i][h*hd+d] - zp_q) (k[j][h*hd+d] - zp_k),
   * M, shift)), real multiplier s_q * s_k * alpha / s_out, alpha = 1/sqrt(head_dim) (ds_i8_matmul). */
  DS_I8_OP_ATT_SCORES = 5,
  /* Softmax over keys of each scores row (ds_i8_softmax, float inside). Keys with mask 0 get
   * probability 0 exactly (code -128). Output fixed: scale 1/256, zero point -128. */
  DS_I8_OP_SOFTMAX = 6,
  /* in[0] = probs (SCORES), in[1] = v (TOKENS). ctx[i][h*hd+d] = clamp(zp_out + MBQM(
   * sum_j (p[h][i][j] + 128) (v[j][h*hd+d] - zp_v), M, shift)), real s_v / 256 / s_out. */
  DS_I8_OP_ATT_CONTEXT = 7,
  /* Elementwise lookup: out = lut[(uint8_t)in]. lut[q] = quantize_out(gelu_tanh(dequantize_in(q)))
   * computed in double once (ds_i8_gelu_lut_build) and stored in the model. */
  DS_I8_OP_GELU = 8,
  /* Masked mean over tokens, all in integer, same scale and zero point as the input:
   * out[c] = zp + round_half_away(sum_{t: mask[t]} (x[t][c] - zp) / n), n = real tokens
   * (all padding: out = zp). Needs no requantization since the mean stays inside the grid. */
  DS_I8_OP_POOL_MEAN = 9,
  /* out[c] = x[0][c] (the first token), same scale and zero point. */
  DS_I8_OP_POOL_CLS = 10
} ds_i8_op_kind;

typedef struct {
  ds_i8_op_kind kind;
  int in[2];         /* activation indices; in[1] = -1 when unused */
  int out;           /* activation index */
  int weight;        /* weight index (EMBED, POS_EMBED, FC), else -1 */
  int heads, head_dim;  /* ATT_SCORES, ATT_CONTEXT */
  float eps;         /* LAYERNORM */
  float *gamma, *beta;  /* LAYERNORM (width), owned by the model */
  int8_t lut[256];   /* GELU, indexed by (uint8_t)code */
  /* Derived by ds_i8_model_prepare from the scales (never stored in files): */
  int32_t *multiplier, *shift;  /* FC, EMBED, POS_EMBED: (weight rows) */
  int32_t mult1, shift1;        /* ATT_SCORES, ATT_CONTEXT */
  ds_i8_add_params add;         /* ADD */
  int32_t *wsum;                /* FC: (weight rows) sums of each weight row, for ds_i8_fc_fast */
} ds_i8_op;

typedef struct {
  int vocab, max_len, dim;      /* vocab: rows of the token table; sequences up to max_len tokens */
  int n_ids;                    /* input token ids are in [0, n_ids) (the teacher's vocabulary) */
  int32_t *id_map;              /* (n_ids) token-table row of each id (a vocabulary-pruned student);
                                 * NULL: the id is the row (n_ids == vocab). EMBED reads row id_map[id]. */
  int emb_dim, n_classes;       /* sizes of the outputs (n_classes 0: no logits) */
  int pooling;                  /* 0 mean, 1 cls (informational; the op says it too) */
  int pad_id;                   /* padding id of the vocabulary (for --text) */
  int n_acts, n_weights, n_ops;
  ds_i8_act *acts;
  ds_i8_weight *weights;
  ds_i8_op *ops;
  int emb_act, logits_act;      /* output activations (logits_act -1 without classes) */
  char **vocab_strings;         /* tokenizer vocabulary or NULL; one allocation, as from ckpt */
  int n_vocab_strings;
} ds_i8_model;

/* Finds an activation / weight by name, -1 if absent. */
int ds_i8_model_find_act(const ds_i8_model *m, const char *name);
int ds_i8_model_find_weight(const ds_i8_model *m, const char *name);

/* Checks every index, size and parameter and derives multipliers/shifts and ADD parameters.
 * Must be called once after building or loading (ds_i8_model_load does it). */
int ds_i8_model_prepare(ds_i8_model *m, ds_err *err);
/* Frees everything the model owns (every pointer in it) and zeroes it; safe on a half-built one. */
void ds_i8_model_free(ds_i8_model *m);

/* Bytes of scratch ds_i8_model_run needs (every activation for max_len tokens plus kernel
 * scratch); the runtime never allocates. */
size_t ds_i8_model_scratch_size(const ds_i8_model *m);
/* Runs one sequence: ids/mask (T), mask may be NULL (all real). Writes the dequantized outputs
 * emb (emb_dim) and logits (n_classes) when non-NULL. Fails on T outside [1, max_len] or an id
 * outside [0, n_ids). */
int ds_i8_model_run(const ds_i8_model *m, const int32_t *ids, const uint8_t *mask, int T,
                    void *scratch, float *emb, float *logits, ds_err *err);
/* After a run: the int8 codes of activation `act` in scratch, laid out as its kind says for the
 * T of that run. */
const int8_t *ds_i8_model_act_data(const ds_i8_model *m, const void *scratch, int act);

/* Shared with the fake-quant forward pass so that both derive the same numbers. */
/* Real multiplier of ATT_SCORES: s_q * s_k / sqrt(head_dim) / s_out, in double. */
int ds_i8_scores_multiplier(float s_q, float s_k, int head_dim, float s_out, int32_t *mult,
                            int32_t *shift);
/* Real multiplier of ATT_CONTEXT: s_v * (1/256) / s_out, in double. */
int ds_i8_context_multiplier(float s_v, float s_out, int32_t *mult, int32_t *shift);
/* ADD parameters of out = a + b (ds_i8_add_params_make with the output's clamp range). */
int ds_i8_add_prepare(const ds_qparams *a, const ds_qparams *b, const ds_qparams *out, ds_i8_add_params *p);
/* The integer mean of POOL_MEAN over rows (T, width) with mask (T) or NULL. */
void ds_i8_pool_mean(const int8_t *x, const uint8_t *mask, int T, int width, int32_t zp,
                     int8_t *out);
/* Requantizes int32 accumulators (rows, cols) with per-column multipliers (FC semantics: column
 * o uses mult[o], shift[o]) to out (rows, cols): clamp(zp + MBQM(acc, M, shift), lo, hi). */
void ds_i8_requant_cols(const int32_t *acc, int rows, int cols, const int32_t *mult,
                        const int32_t *shift, int32_t zp, int32_t lo, int32_t hi, int8_t *out);

/* ds_i8_fc with the product sum in int32 and the input zero point folded in through the weight-row
 * sums wsum (ds_i8_row_sums); the same results, faster. Falls back to ds_i8_fc for wider inputs. */
#define DS_I8_FC_FAST_MAX_IN 100000
void ds_i8_row_sums(const int8_t *w, int rows, int cols, int32_t *sums);
int ds_i8_fc_fast(const ds_i8_fc_params *p, const ds_i8_fc_dims *d, const int32_t *multiplier,
                  const int32_t *shift, const int8_t *x, const int8_t *w, const int32_t *bias,
                  const int32_t *wsum, int8_t *y);

/* One head of ATT_SCORES / ATT_CONTEXT: exactly ds_i8_matmul's results (p as for ds_i8_matmul; for
 * the context p->a_zp is the softmax zero point -128), faster. q, k, v, and the context y have row
 * stride ld (heads packed side by side); scores and probs are (T, T). Scratch: ksum (T), acc (hd). */
void ds_i8_att_scores(const ds_i8_matmul_params *p, int T, int hd, int ld, const int8_t *q, const int8_t *k,
                      int32_t *ksum, int8_t *y);
void ds_i8_att_context(const ds_i8_matmul_params *p, int T, int hd, int ld, const int8_t *probs, const int8_t *v,
                       int32_t *acc, int8_t *y);

/* ---- the native file (docs/int8_format.md) ---- */
#define DS_I8_FILE_MAGIC "DSTLINT8"   /* 8 bytes */
#define DS_I8_FILE_VERSION 1
/* Writes m to path (whole file to path.tmp, then rename). */
int ds_i8_model_save(const ds_i8_model *m, const char *path, ds_err *err);
/* Reads and validates a native file (magic, version, sizes, checksum) and prepares it. */
int ds_i8_model_load(ds_i8_model *m, const char *path, ds_err *err);
/* A text description (sizes, weights, the op sequence with every output's quantization) for
 * `distill inspect`; *text is allocated (free it). */
int ds_i8_model_describe(const ds_i8_model *m, char **text, ds_err *err);
/* 1 if the file at path starts with DS_I8_FILE_MAGIC. */
int ds_i8_file_is_native(const char *path);

/* ==== requantization ==================================================================================== */
/* Fixed-point requantization, TFLite/gemmlowp's scheme: a positive real multiplier r is stored as
 * an int32 M in Q31 (M in [2^30, 2^31)) and an exponent `shift`, with r ~= M * 2^(shift - 31).
 * Positive shifts are left shifts applied to the input before the multiply (so no precision is
 * lost), negative shifts are rounding right shifts applied after it. The two roundings (in the
 * high multiply, then in the right shift) are kept exactly as TFLite's reference kernels do them,
 * so our int8 outputs match theirs bit for bit.
 *
 * Functions return 0 on success and -1 on bad input. */
#define DS_QUANT_SHIFT_MIN (-31) /* right shifts up to 31 bits */
#define DS_QUANT_SHIFT_MAX 30    /* left shifts up to 30 bits */

/* Splits real >= 0 into (multiplier, shift). real == 0 gives (0, 0). Multipliers below
 * 2^-62 lose mantissa bits (shift is pinned at -31) and may become 0. Fails (-1) for negative,
 * NaN or infinite values and for real >= 2^30, which no shift can represent. */
int ds_quant_multiplier_make(double real, int32_t *multiplier, int *shift);

/* The real number (multiplier, shift) stands for; for tests and diagnostics. */
double ds_quant_multiplier_value(int32_t multiplier, int shift);

/* The three below are inline and branch-free (selects, no jumps): they run once per output of every int8
 * layer (the runtime and the QAT simulation), where a call each cost more than the arithmetic and kept the
 * loops from vectorising. */

/* floor(v / 2^bits) without relying on how >> treats negative numbers. */
static inline int64_t ds_quant_floor_shift(int64_t v, int bits) { return v >= 0 ? v >> bits : ~(~v >> bits); }

/* High 32 bits of 2*a*b, rounded half up; the only overflow, INT32_MIN * INT32_MIN,
 * saturates to INT32_MAX. Same as gemmlowp's SaturatingRoundingDoublingHighMul / SQRDMULH. */
static inline int32_t ds_quant_high_mul(int32_t a, int32_t b) {
  /* (2ab) / 2^32 = ab / 2^31, rounded half up; in range for every other input pair. */
  const int64_t hi = ds_quant_floor_shift((int64_t)a * b + ((int64_t)1 << 30), 31);
  return a == INT32_MIN && b == INT32_MIN ? INT32_MAX : (int32_t)hi;
}

/* x / 2^exponent rounded half away from zero; exponent in [0, 31] (gemmlowp's
 * RoundingDivideByPOT). Exponents outside that range are clamped to it. Computed as gemmlowp does: the floor,
 * plus one where the remainder passes half (just past it for negative x). */
static inline int32_t ds_quant_shift_round(int32_t x, int exponent) {
  exponent = exponent < 0 ? 0 : exponent > 31 ? 31 : exponent;
  const int32_t mask = (int32_t)(((int64_t)1 << exponent) - 1);
  const int32_t remainder = x & mask, threshold = (mask >> 1) + (x < 0);
  return (int32_t)ds_quant_floor_shift(x, exponent) + (remainder > threshold);
}

/* x * multiplier * 2^(shift - 31), TFLite's MultiplyByQuantizedMultiplier. For shift > 0 the
 * input is shifted left first; where TFLite would overflow there (undefined behaviour in C),
 * the shifted value saturates to the int32 range instead. shift is clamped to
 * [DS_QUANT_SHIFT_MIN, DS_QUANT_SHIFT_MAX]. */
static inline int32_t ds_quant_multiply(int32_t x, int32_t multiplier, int shift) {
  shift = shift > DS_QUANT_SHIFT_MAX ? DS_QUANT_SHIFT_MAX : shift < DS_QUANT_SHIFT_MIN ? DS_QUANT_SHIFT_MIN : shift;
  int64_t v = (int64_t)x * ((int64_t)1 << (shift > 0 ? shift : 0)); /* |v| < 2^61 */
  v = v > INT32_MAX ? INT32_MAX : v < INT32_MIN ? INT32_MIN : v;
  return ds_quant_shift_round(ds_quant_high_mul((int32_t)v, multiplier), shift > 0 ? 0 : -shift);
}

/* Clamps to [lo, hi] (lo <= hi, both within int8) and narrows. */
int8_t ds_quant_clamp_i8(int32_t x, int32_t lo, int32_t hi);

/* Clamps to [-128, 127]. */
int8_t ds_quant_sat_i8(int32_t x);

/* ==== AVX-512 / VNNI kernels ============================================================================ */
/* AVX-512 / VNNI kernels of the int8 runtime (vpdpbusd: 64 int8 products per instruction), chosen at run time:
 * on a CPU without AVX512-VNNI each is the portable kernel it replaces. Same contracts and the same output, bit
 * for bit (tests/quant/int8/test_int8_vnni.c checks every one on random inputs of every edge size). */
/* As ds_i8_fc_fast (above): x (batch, in), w (out, in), bias (out) or NULL, multiplier/shift
 * (out), wsum (out) the row sums of w (ds_i8_row_sums), y (batch, out). Needs no scratch from the caller
 * (it packs 16 weight rows at a time on its stack). Returns 0, or -1 on bad arguments. */
int ds_i8_fc_vnni(const ds_i8_fc_params *p, const ds_i8_fc_dims *d, const int32_t *multiplier,
                  const int32_t *shift, const int8_t *x, const int8_t *w, const int32_t *bias,
                  const int32_t *wsum, int8_t *y);

/* ds_i8_add (TFLite ADD) on AVX-512 where available; same checks, same bytes. */
int ds_i8_add_vnni(const ds_i8_add_params *p, const int8_t *x1, const int8_t *x2, size_t n, int8_t *y);

/* One head of ATT_SCORES / ATT_CONTEXT, as ds_i8_att_scores / ds_i8_att_context (above), bit for
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

/* ds_i8_requant_cols (above), the same bytes. */
void ds_i8_requant_cols_vnni(const int32_t *acc, int rows, int cols, const int32_t *mult, const int32_t *shift,
                             int32_t zp, int32_t lo, int32_t hi, int8_t *out);

/* 1 if the functions above run their AVX-512 / VNNI kernels on this CPU, 0 if they fall back. */
int ds_i8_vnni_available(void);

#endif
