/* model/: the float student: size table, forward and backward, compaction, teacher-derived init, QAT hooks. */
#ifndef DS_MODEL_H
#define DS_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "common/common.h"
#include "model/config/config.h"
#include "kernels/kernels.h"

/* ==== shapes, the size table, parameter views =========================================================== */
/* The student: a pre-LN transformer encoder (token + learned position embeddings, N blocks of
 * multi-head self-attention and a GELU feed-forward, final LayerNorm), mean or CLS pooling, a
 * projection to the embedding size and a linear classifier over the teacher's classes.
 *
 * Parameters follow PyTorch's nn.Embedding / nn.Linear (weight (out, in) plus bias) /
 * nn.LayerNorm (weight, bias), so tensors compare one for one with a PyTorch model. Layers may
 * have different head and FFN counts (after structured pruning is compacted). */
#define DS_MAX_TENSORS (8 + 12 * DS_MAX_LAYERS)

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

/* ==== activations ======================================================================================= */
/* Every activation the forward pass stores for backward, as views into one flat buffer. The same
 * layout serves the activation gradients, so backward mirrors forward tensor for tensor. */
typedef struct {
  float *ln1, *ln1_mean, *ln1_rstd;  /* (rows,C), (rows), (rows) */
  float *qkv;                        /* (rows,3*H*hd) */
  float *att;                        /* (H * scores) attention probabilities: kernels/kernels.h says where */
  float *atto;                       /* (rows,H*hd) heads concatenated, before the output projection */
  float *attproj;                    /* (rows,C) */
  float *resid_mid;                  /* (rows,C) stream after attention */
  float *ln2, *ln2_mean, *ln2_rstd;  /* (rows,C), (rows), (rows) */
  float *fch;                        /* (rows,F) before GELU */
  float *fch_gelu;                   /* (rows,F) */
  float *fcproj;                     /* (rows,C) */
  float *resid_out;                  /* (rows,C) stream after the block */
} ds_layer_acts;

typedef struct {
  float *encoded;                    /* (rows,C) token + position embeddings (static: token rows only) */
  ds_layer_acts layer[DS_MAX_LAYERS];
  float *lnf, *lnf_mean, *lnf_rstd;  /* (rows,C), (rows), (rows); NULL in a static student */
  float *pooled;                     /* (B,C) */
  float *emb;                        /* (B,E): the sentence embedding (aliases pooled without projection) */
  float *logits;                     /* (B,K) or NULL */
} ds_acts;

/* Lays out the activations of B sequences at `base` (NULL: only count) and returns the number of floats
 * needed: `rows` token rows in all (B*T padded, fewer packed: kernels/kernels.h) and `scores` attention
 * scores per head (B*T*T padded). Token tensors hold their first `rows` rows, att H * scores floats. */
size_t ds_acts_layout(ds_acts *a, const ds_student_shape *s, int B, long rows, long scores, float *base);

/* ==== the vocabulary map of a pruned vocabulary ========================================================= */
/* The token-id map of a vocabulary-pruned student. Vocabulary pruning drops the embedding rows of
 * token ids the training data never uses; the model must still take the teacher's ids, so every
 * teacher id names an embedding row through this map. Ids that were dropped share the row of one
 * kept id (the teacher's [UNK] when its vocabulary has one, else pad_id; see train/prune_vocab.c).
 *
 * Masked form: rows index the full table (dropped rows are zero and never used).
 * Compact form: rows index the smaller table that compaction keeps (below). */
typedef struct {
  int n_ids;            /* ids accepted: [0, n_ids), the teacher's vocabulary */
  int32_t *row;         /* (n_ids) embedding row of each id */
  int32_t unk_id;       /* the teacher id whose row every dropped id shares */
  int32_t *mapped;      /* (mapped_cap) the mapped ids of the last call to apply: forward keeps them */
  long mapped_cap;
} ds_vocab_map;

/* An identity map of n_ids ids (row[i] = i), unk_id 0. */
int ds_vocab_map_init(ds_vocab_map **vm, int n_ids, ds_err *err);
/* A copy of src (without its scratch). */
int ds_vocab_map_clone(ds_vocab_map **vm, const ds_vocab_map *src, ds_err *err);
void ds_vocab_map_free(ds_vocab_map *vm); /* safe on NULL */

/* Maps ids (n) to embedding rows; *out points into the map's own buffer, valid until the next call.
 * Fails naming the first id outside [0, n_ids). */
int ds_vocab_map_apply(ds_vocab_map *vm, const int32_t *ids, long n, const int32_t **out, ds_err *err);

/* used (n_rows) = 1 for every row some id maps to, else 0; returns how many rows are used.
 * Rows outside [0, n_rows) are ignored. */
int ds_vocab_map_rows_used(const ds_vocab_map *vm, int n_rows, uint8_t *used);

/* ==== the student ======================================================================================= */
/* The student model at run time: parameters, gradients, pruning masks and activations, with the
 * forward and backward passes. Shapes, the size table and parameter views are in the section above. */
/* ---- The trainable model: parameters, gradients, masks and activations -------------------- */

typedef struct {
  ds_student_shape shape;
  ds_param_table table;
  float *params;             /* (table.n_params) */
  float *grads;              /* (table.n_params) */
  ds_params p, g;            /* views into params and grads */
  /* Structured-pruning masks, 1 keeps a unit and 0 removes it: head_mask[l] (H_l), ffn_mask[l] (F_l).
   * Views into one allocation, all ones unless pruning sets them. */
  float *mask_mem;
  float *head_mask[DS_MAX_LAYERS], *ffn_mask[DS_MAX_LAYERS];
  /* Vocabulary pruning (the vocabulary map above): teacher ids -> embedding rows; NULL = ids are rows. Owned. */
  ds_vocab_map *vocab_map;
  /* Quantization-aware training (quant/qat/qat.h): NULL = a float model. Owned; in its fake-quant mode the
   * forward pass runs the integer-exact simulation and backward its straight-through estimator, through qat_hooks
   * (the QAT hooks section below), which the attaching code sets with it. */
  struct ds_qat *qat;
  const struct ds_qat_hooks *qat_hooks;
  /* Activations of the last forward pass and their gradients: buffers sized for acts_B x acts_T padded
   * tokens, laid out each pass for the rows that pass computes (acts_used floats). */
  float *acts_mem, *dacts_mem;
  size_t acts_size, acts_used;
  ds_acts a, da;
  int acts_B, acts_T;
  /* The token rows of the last forward (kernels/kernels.h): padding dropped, unless keep_padding is set,
   * the reference kernels run (naive) or the QAT simulation or its observers run (they see every position). */
  ds_token_pack pack;
  int keep_padding;
  const int32_t *ids;        /* (B,T) of the last forward; the caller keeps them alive for backward */
  const uint8_t *mask;       /* (B,T) */
  int B, T;
  int naive;                 /* run the reference kernels instead of the fast ones (tests) */
  /* Set by a caller before backward (train/hidden_distill.h): a gradient wrt the final token states, the final
   * LayerNorm's output (rows of pack, C), added to what pooling passes back. NULL: none. Not owned. */
  const float *d_final_tokens;
} ds_student;

/* Allocates parameters, gradients and masks for `shape` (zeroed; masks all ones). */
int ds_student_init(ds_student *m, const ds_student_shape *shape, ds_err *err);
/* Initialises parameters as BERT does: N(0, 0.02) weights and embeddings, zero biases, unit LayerNorm. */
void ds_student_init_params(ds_student *m, unsigned long seed);
void ds_student_free(ds_student *m); /* safe on a zeroed or half-built model */
void ds_student_zero_grad(ds_student *m);
/* Runs the model on ids/mask (B,T), T <= max_len, ids in [0, vocab). Grows the activation buffers as needed.
 * Results: m->a.emb (B,E) and m->a.logits (B,K). */
int ds_student_forward(ds_student *m, const int32_t *ids, const uint8_t *mask, int B, int T, ds_err *err);
/* Backpropagates the loss gradients wrt the embedding d_emb (B,E) and the logits d_logits (B,K) (either may be
 * NULL) through the last forward pass, accumulating into m->grads. */
void ds_student_backward(ds_student *m, const float *d_emb, const float *d_logits);

/* Parameters that remain once masked heads and FFN neurons are cut out (what compaction would keep). */
size_t ds_student_live_params(const ds_student *m);

/* ==== quantization sites and QAT hooks ================================================================== */
/* The student's side of quantization-aware training: its quantization sites, numbered, and the hooks through
 * which a QAT state (quant/qat/, which sets them when it attaches one) runs the student's passes, so that
 * model/ does not link the simulation. */
/* Sites before the layers, per layer (site = DS_QS_HEAD + l * DS_QL_COUNT + k) and after them. A static
 * student keeps the same numbering with no layers; its pos, x0 and ln_f sites are unused. */
enum { DS_QS_TOK, DS_QS_POS, DS_QS_X0, DS_QS_HEAD };
enum {
  DS_QL_LN1, DS_QL_Q, DS_QL_K, DS_QL_V, DS_QL_SCORES, DS_QL_PROBS, DS_QL_CTX, DS_QL_ATTN_OUT, DS_QL_MID,
  DS_QL_LN2, DS_QL_FC1, DS_QL_GELU, DS_QL_FC2, DS_QL_OUT, DS_QL_COUNT
};
enum { DS_QF_LNF, DS_QF_POOLED, DS_QF_EMB, DS_QF_LOGITS, DS_QF_COUNT };
#define DS_QAT_MAX_SITES (DS_QS_HEAD + DS_QL_COUNT * DS_MAX_LAYERS + DS_QF_COUNT)

static inline int ds_qat_layer_site(int l, int k) { return DS_QS_HEAD + l * DS_QL_COUNT + k; }
static inline int ds_qat_final_site(int n_layers, int k) { return DS_QS_HEAD + n_layers * DS_QL_COUNT + k; }

/* What the next forward of a student with a QAT state runs. */
typedef enum {
  DS_QAT_PASS_FLOAT = 0,   /* the float forward, nothing observed */
  DS_QAT_PASS_OBSERVE = 1, /* the float forward on every position, its activations then fed to the observers */
  DS_QAT_PASS_FAKE = 2     /* the fake-quant forward (every position), and backward through the STE hooks */
} ds_qat_pass;

struct ds_compact_plan;

/* Set with m->qat (quant/qat/qat.h describes each). ds_student_backward calls the backward hooks (ste,
 * ste_copy, backward_weights, backward_end) only when pass() says the last forward was fake-quant. */
typedef struct ds_qat_hooks {
  ds_qat_pass (*pass)(const struct ds_qat *q);
  int (*forward)(ds_student *m, ds_err *err);
  void (*observe)(ds_student *m);
  void (*ste)(ds_student *m, int site, float *grad, long rows, int width, int ld, int col0);
  const float *(*ste_copy)(ds_student *m, int site, const float *grad, float *dst, long n);
  const ds_params *(*backward_weights)(const ds_student *m);
  void (*backward_end)(ds_student *m);
  /* A QAT state for dst, the compacted copy of the student that holds src (compaction, below). */
  int (*compact)(const struct ds_compact_plan *p, const struct ds_qat *src, ds_student *dst, ds_err *err);
  void (*free)(struct ds_qat *q);
} ds_qat_hooks;

/* ==== compaction ======================================================================================== */
/* Compaction: cutting pruned units out of a masked student, giving a smaller dense one whose outputs
 * are the masked model's (up to float summation order).
 *
 * Units: an attention head (its rows of Q, K and V with their biases, and its columns of the output
 * projection), an FFN neuron (a row of fc1 with its bias, and the column of fc2) and, when the model
 * has a vocabulary map, an embedding row no token id maps to. Everything else is copied unchanged.
 *
 * A plan lists what is kept; it converts any buffer laid out by the masked model's size table
 * (parameters, gradients, Adam moments) into the compact layout, and per-channel side arrays such as
 * quantization scales through the ds_compact_*_rows helpers, so those are cut with their channels. */
typedef struct ds_compact_plan {
  ds_student_shape from, to;
  int *heads[DS_MAX_LAYERS];  /* (to.heads[l]) kept heads of layer l, ascending indices into from */
  int *ffn[DS_MAX_LAYERS];    /* (to.ffn[l]) kept FFN neurons of layer l */
  int *rows;                  /* (to.vocab) kept embedding rows, ascending */
  int *mem;                   /* the one allocation behind the lists */
} ds_compact_plan;

/* What m's masks (and vocabulary map, if any) keep. At least one head must survive in every layer. */
int ds_compact_plan_make(ds_compact_plan *p, const ds_student *m, ds_err *err);
void ds_compact_plan_free(ds_compact_plan *p); /* safe on a zeroed plan */

/* src laid out by the table of p->from, dst by that of p->to (ds_param_table_build). */
void ds_compact_copy(const ds_compact_plan *p, const float *src, float *dst);
/* Replaces *buf (malloc'ed, p->from layout) by a new malloc'ed buffer in p->to layout. */
int ds_compact_buffer(const ds_compact_plan *p, float **buf, ds_err *err);
/* Replaces m by its compacted form: new shape, parameters (gradients zeroed), masks all ones, the
 * vocabulary map renumbered to the kept rows and, with QAT, a QAT state for the new shape that keeps the
 * old one's mode, activation observers and parameters, and its per-row weight scales (learned step sizes
 * with their Adam moments) cut with their rows. m is unchanged on failure. */
int ds_compact_student(const ds_compact_plan *p, ds_student *m, ds_err *err);
/* Both steps for a model alone (eval, export): plan from its masks, then compaction. */
int ds_student_compact(ds_student *m, ds_err *err);

/* Zeroes, in a buffer laid out by m's size table (parameters, Adam moments), every parameter compaction
 * would cut: those of masked heads and FFN neurons, and the embedding rows no id maps to. Training keeps
 * masked units exactly zero this way, so they hold no optimizer state and (with QAT) add nothing to any
 * activation range. */
void ds_compact_zero_masked(const ds_student *m, float *buf);

/* Per-output-channel arrays, `width` floats per channel (1 for a weight scale):
 * qkv rows of layer l (3 * H * hd channels), fc1 rows of layer l (F channels), embedding rows (V). */
void ds_compact_qkv_rows(const ds_compact_plan *p, int l, const float *src, float *dst, int width);
void ds_compact_ffn_rows(const ds_compact_plan *p, int l, const float *src, float *dst, int width);
void ds_compact_vocab_rows(const ds_compact_plan *p, const float *src, float *dst, int width);
/* One value per row of every 2-D tensor, tensors in size-table order (QAT's per-row weight scales and
 * their learned step sizes): the rows of p->from's weights in, those of p->to's out. */
void ds_compact_weight_rows(const ds_compact_plan *p, const float *src, float *dst);

/* The structure of m, for run logs: "heads 4,3 ffn 512,448 vocab 2000: 665802 params"; with live = 1
 * only the units its masks (and vocabulary map) keep, with live = 0 its full shape. Returns buf. */
char *ds_compact_describe(const ds_student *m, int live, char *buf, size_t n);
/* Parameters m keeps once compacted: ds_student_live_params less the embedding rows no id maps to. */
size_t ds_compact_live_params(const ds_student *m);

/* ==== teacher-derived initialisation ==================================================================== */
/* Teacher-derived initialization ([student] init = teacher): a student that starts as the teacher's
 * static model (Model2Vec's recipe) instead of from noise.
 *
 * Token table: row id = w_id * P (t_id - mu), with t_id the teacher's embedding of token id on its own
 * (the file's `token_embeddings`), mu their mean and P (C, D) the top C principal axes (model/pca.h).
 * Token weights w, normalised so that their mean over the training tokens is 1:
 *   none: 1;  zipf: log(1 + id) (Model2Vec: ids of a frequency-sorted vocabulary);
 *   sif: a / (a + p_id) with a = 1e-3 and p_id the share of id among the training tokens.
 * Projection (when it maps to the teacher's D): the inverse PCA, weight P^T and bias mu. A static
 * student is then exactly the static model: emb = mean_t(row of id_t) P + mu.
 * Transformer: no position signal (pos_emb 0), every residual branch closed (attention and FFN output
 * projections 0), so the stream is the token row; the final LayerNorm's gain is the table rows' RMS so
 * that it renormalises each token vector to a common length rather than blowing it up. Everything else
 * keeps the random initialization (ds_student_init_params). */
#define DS_SIF_A 1e-3

typedef struct {
  const float *token_emb;   /* (n_tokens, dim) */
  int n_tokens, dim;        /* n_tokens must equal the student's vocabulary */
  const double *token_freq; /* (n_tokens) share of each id among the training tokens; sums to 1 */
  ds_token_weights weights;
} ds_teacher_init;

/* Computes the weights of the table rows (n_tokens) as described above. */
void ds_token_weights_compute(ds_token_weights kind, const double *token_freq, int n_tokens, double *w);
/* Overwrites the parameters the teacher determines; call after ds_student_init_params. */
int ds_student_init_from_teacher(ds_student *m, const ds_teacher_init *ti, ds_err *err);

#endif
