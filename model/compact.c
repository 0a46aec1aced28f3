/* Cutting masked units out of the flat buffers: every tensor is copied through its parameter view, and
 * only the tensors a unit owns a slice of (qkv, attn out, fc1, fc2, token embedding) are gathered. */
#include "model/model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>


void ds_compact_plan_free(ds_compact_plan *p) {
  free(p->mem);
  memset(p, 0, sizeof *p);
}

int ds_compact_plan_make(ds_compact_plan *p, const ds_student *m, ds_err *err) {
  memset(p, 0, sizeof *p);
  const ds_student_shape *s = &m->shape;
  p->from = p->to = *s;
  size_t n = 0;
  for (int l = 0; l < s->n_layers; l++) n += (size_t)s->heads[l] + (size_t)s->ffn[l];
  uint8_t *used = NULL;
  if (m->vocab_map) {
    used = malloc((size_t)s->vocab);
    if (!used) return ds_fail(err, "out of memory planning the compaction");
    p->to.vocab = ds_vocab_map_rows_used(m->vocab_map, s->vocab, used);
    n += (size_t)p->to.vocab;
  }
  p->mem = malloc(sizeof(int) * (n + 1));
  if (!p->mem) {
    free(used);
    return ds_fail(err, "out of memory planning the compaction");
  }
  int *q = p->mem;
  for (int l = 0; l < s->n_layers; l++) {
    p->heads[l] = q;
    for (int h = 0; h < s->heads[l]; h++)
      if (m->head_mask[l][h] != 0.0f) *q++ = h;
    p->to.heads[l] = (int)(q - p->heads[l]);
    p->ffn[l] = q;
    for (int f = 0; f < s->ffn[l]; f++)
      if (m->ffn_mask[l][f] != 0.0f) *q++ = f;
    p->to.ffn[l] = (int)(q - p->ffn[l]);
    if (p->to.heads[l] == 0 || p->to.ffn[l] == 0) {
      free(used);
      ds_compact_plan_free(p);
      return ds_fail(err, "cannot compact: layer %d keeps no %s (at least one must stay)", l,
                     p->to.heads[l] == 0 ? "attention head" : "FFN neuron");
    }
  }
  if (used) {
    p->rows = q;
    for (int r = 0; r < s->vocab; r++)
      if (used[r]) *q++ = r;
    free(used);
    if (p->to.vocab == 0) {
      ds_compact_plan_free(p);
      return ds_fail(err, "cannot compact: the vocabulary map uses no embedding row");
    }
  }
  return 0;
}

/* Rows listed in keep (n_keep of them, each `width` floats) from src to consecutive rows of dst. */
static void gather_rows(float *dst, const float *src, const int *keep, int n_keep, int width) {
  for (int k = 0; k < n_keep; k++)
    memcpy(dst + (size_t)k * width, src + (size_t)keep[k] * width, sizeof(float) * (size_t)width);
}

void ds_compact_qkv_rows(const ds_compact_plan *p, int l, const float *src, float *dst, int width) {
  const int hd = p->from.head_dim, HDo = p->from.heads[l] * hd, HDn = p->to.heads[l] * hd;
  /* Q, K and V are three stacked blocks of H*hd rows: a head owns hd rows in each. */
  for (int part = 0; part < 3; part++)
    for (int k = 0; k < p->to.heads[l]; k++)
      memcpy(dst + ((size_t)part * HDn + (size_t)k * hd) * width,
             src + ((size_t)part * HDo + (size_t)p->heads[l][k] * hd) * width, sizeof(float) * (size_t)hd * width);
}

void ds_compact_ffn_rows(const ds_compact_plan *p, int l, const float *src, float *dst, int width) {
  gather_rows(dst, src, p->ffn[l], p->to.ffn[l], width);
}

void ds_compact_vocab_rows(const ds_compact_plan *p, const float *src, float *dst, int width) {
  if (p->rows)
    gather_rows(dst, src, p->rows, p->to.vocab, width);
  else
    memcpy(dst, src, sizeof(float) * (size_t)p->from.vocab * width);
}

/* Columns of a (rows, n_from * group) matrix: kept groups of `group` columns, in order. */
static void gather_cols(float *dst, const float *src, int rows, int n_from, const int *keep, int n_keep,
                        int group) {
  for (int r = 0; r < rows; r++)
    for (int k = 0; k < n_keep; k++)
      memcpy(dst + ((size_t)r * n_keep + k) * group, src + ((size_t)r * n_from + keep[k]) * group,
             sizeof(float) * (size_t)group);
}

void ds_compact_copy(const ds_compact_plan *p, const float *src, float *dst) {
  ds_param_table tf, tt;
  ds_param_table_build(&tf, &p->from);
  ds_param_table_build(&tt, &p->to);
  ds_params a, b;
  ds_params_view(&tf, &p->from, (float *)src, &a);
  ds_params_view(&tt, &p->to, dst, &b);
  const int C = p->from.dim, hd = p->from.head_dim;
  /* Tensors that lose nothing are copied whole; the gathers below overwrite the ones that do. */
  for (int i = 0; i < tt.n_tensors; i++)
    if (tt.tensors[i].numel == tf.tensors[i].numel)
      memcpy(dst + tt.tensors[i].offset, src + tf.tensors[i].offset, sizeof(float) * tt.tensors[i].numel);
  ds_compact_vocab_rows(p, a.tok_emb, b.tok_emb, C);
  for (int l = 0; l < p->from.n_layers; l++) {
    const ds_layer_params *A = &a.layer[l];
    ds_layer_params *B = &b.layer[l];
    ds_compact_qkv_rows(p, l, A->qkv_w, B->qkv_w, C);
    ds_compact_qkv_rows(p, l, A->qkv_b, B->qkv_b, 1);
    gather_cols(B->attn_out_w, A->attn_out_w, C, p->from.heads[l], p->heads[l], p->to.heads[l], hd);
    ds_compact_ffn_rows(p, l, A->fc1_w, B->fc1_w, C);
    ds_compact_ffn_rows(p, l, A->fc1_b, B->fc1_b, 1);
    gather_cols(B->fc2_w, A->fc2_w, C, p->from.ffn[l], p->ffn[l], p->to.ffn[l], 1);
  }
}

int ds_compact_buffer(const ds_compact_plan *p, float **buf, ds_err *err) {
  ds_param_table t;
  ds_param_table_build(&t, &p->to);
  float *out = malloc(sizeof(float) * (t.n_params + 1));
  if (!out) return ds_fail(err, "out of memory compacting a buffer of %zu floats", t.n_params);
  ds_compact_copy(p, *buf, out);
  free(*buf);
  *buf = out;
  return 0;
}

/* The map renumbered to the kept rows: an id's new row is the rank of its old row among the kept. */
static int vocab_map_compact(const ds_compact_plan *p, const ds_vocab_map *src, ds_vocab_map **out, ds_err *err) {
  int *rank = malloc(sizeof(int) * (size_t)p->from.vocab);
  if (!rank) return ds_fail(err, "out of memory compacting the vocabulary map");
  if (ds_vocab_map_clone(out, src, err)) {
    free(rank);
    return -1;
  }
  for (int r = 0; r < p->from.vocab; r++) rank[r] = -1;
  for (int k = 0; k < p->to.vocab; k++) rank[p->rows[k]] = k;
  for (int i = 0; i < src->n_ids; i++) (*out)->row[i] = rank[src->row[i]];
  free(rank);
  return 0;
}

void ds_compact_weight_rows(const ds_compact_plan *p, const float *src, float *dst) {
  ds_param_table tf, tt;
  ds_param_table_build(&tf, &p->from);
  ds_param_table_build(&tt, &p->to);
  char qkv[64], fc1[64];
  for (int i = 0; i < tf.n_tensors; i++) {
    const ds_tensor_info *a = &tf.tensors[i], *b = &tt.tensors[i];
    if (a->ndim != 2) continue;
    int l = -1;
    sscanf(a->name, "layers.%d.", &l);
    snprintf(qkv, sizeof qkv, "layers.%d.attn.qkv.weight", l);
    snprintf(fc1, sizeof fc1, "layers.%d.ffn.fc1.weight", l);
    if (strcmp(a->name, "tok_emb.weight") == 0)
      ds_compact_vocab_rows(p, src, dst, 1);
    else if (strcmp(a->name, qkv) == 0)
      ds_compact_qkv_rows(p, l, src, dst, 1);
    else if (strcmp(a->name, fc1) == 0)
      ds_compact_ffn_rows(p, l, src, dst, 1);
    else /* output rows of attn out, fc2, projections: none is cut */
      memcpy(dst, src, sizeof(float) * (size_t)a->shape[0]);
    src += a->shape[0];
    dst += b->shape[0];
  }
}

int ds_compact_student(const ds_compact_plan *p, ds_student *m, ds_err *err) {
  ds_student n;
  if (ds_student_init(&n, &p->to, err)) return -1;
  if ((m->vocab_map && p->rows && vocab_map_compact(p, m->vocab_map, &n.vocab_map, err)) ||
      (m->qat && m->qat_hooks->compact(p, m->qat, &n, err))) {
    ds_student_free(&n);
    return -1;
  }
  ds_compact_copy(p, m->params, n.params);
  n.naive = m->naive;
  n.keep_padding = m->keep_padding;
  ds_student_free(m);
  *m = n;
  return 0;
}

int ds_student_compact(ds_student *m, ds_err *err) {
  ds_compact_plan p;
  if (ds_compact_plan_make(&p, m, err)) return -1;
  const int rc = ds_compact_student(&p, m, err);
  ds_compact_plan_free(&p);
  return rc;
}

/* Embedding rows some id maps to (all rows without a vocabulary map). */
static int vocab_rows_kept(const ds_student *m) {
  if (!m->vocab_map) return m->shape.vocab;
  uint8_t *used = malloc((size_t)m->shape.vocab);
  if (!used) return m->shape.vocab;
  const int kept = ds_vocab_map_rows_used(m->vocab_map, m->shape.vocab, used);
  free(used);
  return kept;
}

size_t ds_compact_live_params(const ds_student *m) {
  return ds_student_live_params(m) - (size_t)(m->shape.vocab - vocab_rows_kept(m)) * (size_t)m->shape.dim;
}

char *ds_compact_describe(const ds_student *m, int live, char *buf, size_t n) {
  const ds_student_shape *s = &m->shape;
  size_t at = 0;
#define PUT(...) at += (size_t)snprintf(buf + (at < n ? at : n), at < n ? n - at : 0, __VA_ARGS__)
  if (s->arch == DS_ARCH_STATIC) { /* only the vocabulary can shrink */
    PUT("vocab %d: %zu params", live ? vocab_rows_kept(m) : s->vocab,
        live ? ds_compact_live_params(m) : m->table.n_params);
    return buf;
  }
  PUT("heads");
  for (int l = 0; l < s->n_layers; l++) {
    int h = 0;
    for (int u = 0; u < s->heads[l]; u++) h += !live || m->head_mask[l][u] != 0.0f;
    PUT("%s%d", l ? "," : " ", h);
  }
  PUT(" ffn");
  for (int l = 0; l < s->n_layers; l++) {
    int f = 0;
    for (int u = 0; u < s->ffn[l]; u++) f += !live || m->ffn_mask[l][u] != 0.0f;
    PUT("%s%d", l ? "," : " ", f);
  }
  PUT(" vocab %d: %zu params", live ? vocab_rows_kept(m) : s->vocab,
      live ? ds_compact_live_params(m) : m->table.n_params);
#undef PUT
  return buf;
}

void ds_compact_zero_masked(const ds_student *m, float *buf) {
  const ds_student_shape *s = &m->shape;
  const int C = s->dim, hd = s->head_dim;
  ds_params v;
  ds_params_view(&m->table, s, buf, &v);
  for (int l = 0; l < s->n_layers; l++) {
    const int H = s->heads[l], HD = H * hd, F = s->ffn[l];
    ds_layer_params *P = &v.layer[l];
    for (int h = 0; h < H; h++) {
      if (m->head_mask[l][h] != 0.0f) continue;
      for (int part = 0; part < 3; part++) {
        const long r0 = (long)part * HD + (long)h * hd;
        memset(P->qkv_w + r0 * C, 0, sizeof(float) * (size_t)hd * C);
        memset(P->qkv_b + r0, 0, sizeof(float) * (size_t)hd);
      }
      for (int c = 0; c < C; c++) memset(P->attn_out_w + (long)c * HD + (long)h * hd, 0, sizeof(float) * hd);
    }
    for (int f = 0; f < F; f++) {
      if (m->ffn_mask[l][f] != 0.0f) continue;
      memset(P->fc1_w + (long)f * C, 0, sizeof(float) * C);
      P->fc1_b[f] = 0.0f;
      for (int c = 0; c < C; c++) P->fc2_w[(long)c * F + f] = 0.0f;
    }
  }
  if (!m->vocab_map) return;
  uint8_t *used = malloc((size_t)s->vocab);
  if (!used) return; /* unused rows get no gradient, so they stay at the zero the pruning event gave them */
  ds_vocab_map_rows_used(m->vocab_map, s->vocab, used);
  for (int r = 0; r < s->vocab; r++)
    if (!used[r]) memset(v.tok_emb + (long)r * C, 0, sizeof(float) * C);
  free(used);
}
