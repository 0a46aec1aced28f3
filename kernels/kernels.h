/* kernels/: the float layer kernels (forward/backward pairs, naive twins, the GEMM), their token pack, threads. */
#ifndef DS_KERNELS_H
#define DS_KERNELS_H

#include <stdint.h>

#include "common/common.h"

/* LayerNorm epsilon, the same in every kernel, the int8 builder and the exporters. */
#define DS_LN_EPS 1e-5f

/* ==== thread counts (the caller sets them) ============================================================== */
/* Thread counts are the caller's: the library never changes them. A program (the CLI, a test, a
 * benchmark) calls ds_threads_set once before it trains or runs a model. distill's kernels split each
 * matmul across OpenMP threads themselves, so OpenBLAS runs single-threaded: its own pool would spin
 * against OpenMP's on the same cores. */
/* OpenMP threads = n (n <= 0: OpenMP's default, one per core) and OpenBLAS single-threaded. */
void ds_threads_set(int n);

/* ==== the token pack ==================================================================================== */
/* Which token rows a forward pass computes, and where each sequence's rows and attention scores sit.
 *
 * Padding positions change nothing the model outputs: no token attends to them (the key mask) and pooling
 * skips them. So the fast path drops them and packs the remaining rows of all sequences end to end; every
 * linear layer, LayerNorm and GELU then runs on n_rows rows instead of B*T, and attention runs per sequence on
 * its own length. The same struct describes the plain padded layout (every position kept), which the
 * reference kernels and the QAT simulation use, so one set of kernels serves both. */
typedef struct {
  int B, T;          /* the padded batch (B, T) the pack was built from */
  int n_rows;        /* rows kept */
  int *row;          /* (n_rows) padded index b*T + t of each kept row: sequence by sequence, t ascending */
  int *seq_start;    /* (B+1) sequence b owns kept rows [seq_start[b], seq_start[b+1]) */
  long *score_start; /* (B+1) sum of n^2 over the sequences before b (n = its kept rows): sequence b's scores
                      * for head h of H start at H * score_start[b] + h * n_b * n_b */
  uint8_t *key_ok;   /* (n_rows) the row's attention mask: 1 = other rows may attend to it */
  int cap_rows, cap_seqs;
} ds_token_pack;

/* The padded layout (every position kept) or the packed one (padding dropped). */
typedef enum { DS_PACK_PADDED = 0, DS_PACK_VALID = 1 } ds_pack_mode;

/* Fills p from mask (B, T). DS_PACK_VALID keeps the positions with mask != 0 and, when keep_first, position 0
 * of every sequence too (CLS pooling reads it even where it is padding). Grows the arrays as needed. */
int ds_token_pack_build(ds_token_pack *p, const uint8_t *mask, int B, int T, ds_pack_mode mode, int keep_first,
                        ds_err *err);
/* Attention score floats per head for the whole batch (sum over sequences of n^2). */
static inline long ds_token_pack_scores(const ds_token_pack *p) { return p->score_start[p->B]; }
void ds_token_pack_free(ds_token_pack *p); /* safe on a zeroed pack */

/* ==== the layer kernels ================================================================================= */
/* Forward/backward pairs of every layer of the student, on raw pointers with shapes in comments.
 * Backward functions ACCUMULATE (+=) into parameter and input gradients, so a tensor used twice
 * (the residual stream) just receives two contributions. Each fast kernel has a `_naive` twin
 * computing the same thing with plain loops: the reference the tests compare against. */
/* C (M, N) = alpha * op(A) op(B) + beta * C, row-major, op(X) = X or X^T as trans_x says: op(A) is (M, K)
 * (A stored (M, K) with row stride lda, or (K, M) when transposed), op(B) is (K, N). beta == 0: C is not
 * read. Single-threaded; callers split the rows across their threads. An AVX-512 kernel where the CPU has
 * it, else OpenBLAS (kernels/ops_gemm.c says why). */
void ds_sgemm(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A, int lda, const float *B,
              int ldb, float beta, float *C, int ldc);
void ds_sgemm_naive(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A, int lda,
                    const float *B, int ldb, float beta, float *C, int ldc);

/* out = inp @ w^T + bias.  out (N, OC), inp (N, IC), w (OC, IC), bias (OC) or NULL */
void ds_linear_forward(float *out, const float *inp, const float *w, const float *bias, int N, int IC, int OC);
void ds_linear_forward_naive(float *out, const float *inp, const float *w, const float *bias, int N, int IC,
                             int OC);
/* dinp (N, IC) += dout @ w; dw (OC, IC) += dout^T @ inp; dbias (OC) += column sums of dout.
 * dinp may be NULL (the input needs no gradient), dbias may be NULL (no bias). */
void ds_linear_backward(float *dinp, float *dw, float *dbias, const float *dout, const float *inp, const float *w,
                        int N, int IC, int OC);
void ds_linear_backward_naive(float *dinp, float *dw, float *dbias, const float *dout, const float *inp,
                              const float *w, int N, int IC, int OC);

/* LayerNorm over the last axis, eps DS_LN_EPS.  out, inp (N, C); mean, rstd (N) saved for backward. */
void ds_layernorm_forward(float *out, float *mean, float *rstd, const float *inp, const float *w, const float *b,
                          int N, int C);
void ds_layernorm_backward(float *dinp, float *dw, float *db, const float *dout, const float *inp,
                           const float *w, const float *mean, const float *rstd, int N, int C);

/* Multi-head self-attention core, each sequence of the token pack p (above) over its own rows.
 * qkv (rows, 3*H*hd): Q of head h at columns [h*hd, (h+1)*hd), then K, then V. Rows with key_ok 0 get no
 * attention. probs (H * scores) saved for backward: sequence b's (n_b, n_b) block of head h at
 * H * score_start[b] + h * n_b^2. out (rows, H*hd): heads concatenated in order. */
void ds_attention_forward(float *out, float *probs, const float *qkv, const ds_token_pack *p, int H, int hd);
void ds_attention_forward_naive(float *out, float *probs, const float *qkv, const ds_token_pack *p, int H,
                                int hd);
/* dqkv (rows, 3*H*hd) += ...; scratch (H * scores) is overwritten. */
void ds_attention_backward(float *dqkv, float *scratch, const float *dout, const float *qkv, const float *probs,
                           const ds_token_pack *p, int H, int hd);
void ds_attention_backward_naive(float *dqkv, float *scratch, const float *dout, const float *qkv,
                                 const float *probs, const ds_token_pack *p, int H, int hd);

/* GELU, tanh form: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).  (n) */
void ds_gelu_forward(float *out, const float *inp, long n);
/* dinp += dout * gelu'(inp) */
void ds_gelu_backward(float *dinp, const float *inp, const float *dout, long n);
void ds_gelu_forward_naive(float *out, const float *inp, long n);
void ds_gelu_backward_naive(float *dinp, const float *inp, const float *dout, long n);

/* out (rows, C) = tok[ids] + pos[t] for each kept row of p (padded index b*T + t).  ids (B, T); tok (V, C);
 * pos (max_len, C), or NULL for no position table (a static student). Backward adds into the rows of dtok and
 * dpos (either NULL: none), in row order. */
void ds_embedding_forward(float *out, const int32_t *ids, const float *tok, const float *pos, const ds_token_pack *p,
                          int C);
void ds_embedding_backward(float *dtok, float *dpos, const float *dout, const int32_t *ids, const ds_token_pack *p,
                           int C);

/* out (B, C): per sequence of p, the mean of its rows with key_ok over inp (rows, C), or its first row (t = 0,
 * which the pack keeps for CLS pooling). A sequence with no valid row pools to zeros. */
void ds_pool_forward(float *out, const float *inp, const ds_token_pack *p, int cls, int C);
void ds_pool_backward(float *dinp, const float *dout, const ds_token_pack *p, int cls, int C);

/* out = a + b (n); the backward of a residual add is just accumulating dout into both inputs. */
void ds_residual_forward(float *out, const float *a, const float *b, long n);
/* y[i] += x[i] */
void ds_accumulate(float *y, const float *x, long n);

/* Structured-pruning masks: multiply each unit's slice by its mask value.
 * x (N, U*width): unit u occupies columns [u*width, (u+1)*width). */
void ds_unit_mask_apply(float *x, const float *unit_mask, int N, int U, int width);

#endif
