/* BERT WordPiece tokenizer. Text is decoded, normalized and split one code point at a time and
 * each finished word is cut into pieces at once, so nothing is allocated per call and a long
 * text stops costing work as soon as max_len tokens are out. */
#include "tokenizer/tokenizer.h"

#include <stdlib.h>
#include <string.h>

#include "tokenizer/tokenizer_tables.h"

#define N_OF(a) ((int)(sizeof(a) / sizeof((a)[0])))
#define WORD_BYTES (4 * DS_TOKENIZER_MAX_WORD_CHARS)

static const char *const special_names[] = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};
enum { SP_PAD, SP_UNK, SP_CLS, SP_SEP, SP_MASK, SP_COUNT };

struct ds_tokenizer {
  int n;
  char **tokens;    /* (n) views into pool */
  char *pool;       /* every token, NUL-terminated */
  int32_t *slots;   /* (mask + 1) open-addressing table of ids, -1 = empty */
  uint32_t mask;
  int special[SP_COUNT]; /* id of each special token, -1 if absent */
};

/* ---------------------------------------------------------------- vocabulary hash table */

static uint32_t hash_bytes(const char *s, size_t len) {
  uint32_t h = 2166136261u; /* FNV-1a */
  for (size_t i = 0; i < len; i++) h = (h ^ (unsigned char)s[i]) * 16777619u;
  return h;
}

static int vocab_find(const ds_tokenizer *t, const char *s, size_t len) {
  for (uint32_t i = hash_bytes(s, len) & t->mask;; i = (i + 1) & t->mask) {
    int32_t id = t->slots[i];
    if (id < 0) return -1;
    if (strncmp(t->tokens[id], s, len) == 0 && t->tokens[id][len] == '\0') return id;
  }
}

int ds_tokenizer_init(ds_tokenizer **out, char *const *vocab, int n, ds_err *err) {
  *out = NULL;
  if (!vocab || n <= 0) return ds_fail(err, "tokenizer: empty vocabulary");
  ds_tokenizer *t = calloc(1, sizeof(*t));
  if (!t) return ds_fail(err, "tokenizer: out of memory");
  size_t pool_len = 0;
  for (int i = 0; i < n; i++) {
    if (!vocab[i]) {
      ds_tokenizer_free(t);
      return ds_fail(err, "tokenizer: vocabulary entry %d is NULL", i);
    }
    pool_len += strlen(vocab[i]) + 1;
  }
  uint32_t cap = 16;
  while (cap < 2u * (uint32_t)n) cap *= 2;
  t->n = n;
  t->mask = cap - 1;
  t->tokens = malloc((size_t)n * sizeof(*t->tokens));
  t->pool = malloc(pool_len);
  t->slots = malloc(cap * sizeof(*t->slots));
  if (!t->tokens || !t->pool || !t->slots) {
    ds_tokenizer_free(t);
    return ds_fail(err, "tokenizer: out of memory for %d tokens", n);
  }
  memset(t->slots, 0xff, cap * sizeof(*t->slots));
  char *p = t->pool;
  for (int i = 0; i < n; i++) {
    size_t len = strlen(vocab[i]);
    memcpy(p, vocab[i], len + 1);
    t->tokens[i] = p;
    p += len + 1;
    uint32_t j = hash_bytes(t->tokens[i], len) & t->mask;
    int dup = 0;
    for (; t->slots[j] >= 0; j = (j + 1) & t->mask)
      if (strcmp(t->tokens[t->slots[j]], t->tokens[i]) == 0) dup = 1;
    if (!dup) t->slots[j] = i;
  }
  for (int s = 0; s < SP_COUNT; s++)
    t->special[s] = vocab_find(t, special_names[s], strlen(special_names[s]));
  const int required[] = {SP_CLS, SP_SEP, SP_UNK};
  for (int r = 0; r < N_OF(required); r++)
    if (t->special[required[r]] < 0) {
      const char *name = special_names[required[r]];
      ds_tokenizer_free(t);
      return ds_fail(err, "tokenizer: vocabulary of %d tokens has no %s token", n, name);
    }
  *out = t;
  return 0;
}

void ds_tokenizer_free(ds_tokenizer *t) {
  if (!t) return;
  free(t->tokens);
  free(t->pool);
  free(t->slots);
  free(t);
}

int ds_tokenizer_vocab_size(const ds_tokenizer *t) { return t->n; }

int ds_tokenizer_pad_id(const ds_tokenizer *t) {
  return t->special[SP_PAD] >= 0 ? t->special[SP_PAD] : 0;
}

const char *ds_tokenizer_token(const ds_tokenizer *t, int id) {
  return id >= 0 && id < t->n ? t->tokens[id] : NULL;
}

int ds_tokenizer_lookup(const ds_tokenizer *t, const char *token) {
  return vocab_find(t, token, strlen(token));
}

/* ---------------------------------------------------------------- Unicode */

/* Decodes one code point; invalid or truncated sequences consume one byte and give U+FFFD. */
static uint32_t utf8_next(const unsigned char **s) {
  const unsigned char *p = *s;
  uint32_t c = p[0];
  int extra = c < 0x80 ? 0 : c >= 0xC2 && c < 0xE0 ? 1 : c >= 0xE0 && c < 0xF0 ? 2
            : c >= 0xF0 && c < 0xF5 ? 3 : -1;
  if (extra < 0) {
    *s = p + 1;
    return 0xFFFD;
  }
  c &= extra == 0 ? 0x7F : extra == 1 ? 0x1F : extra == 2 ? 0x0F : 0x07;
  for (int i = 1; i <= extra; i++) {
    if ((p[i] & 0xC0) != 0x80) {
      *s = p + 1;
      return 0xFFFD;
    }
    c = (c << 6) | (p[i] & 0x3F);
  }
  static const uint32_t min_by_len[] = {0, 0x80, 0x800, 0x10000};
  if (c < min_by_len[extra] || c > 0x10FFFF || (c >= 0xD800 && c < 0xE000)) {
    *s = p + 1;
    return 0xFFFD;
  }
  *s = p + 1 + extra;
  return c;
}

static int utf8_put(uint32_t c, char *out) {
  if (c < 0x80) {
    out[0] = (char)c;
    return 1;
  }
  if (c < 0x800) {
    out[0] = (char)(0xC0 | (c >> 6));
    out[1] = (char)(0x80 | (c & 0x3F));
    return 2;
  }
  if (c < 0x10000) {
    out[0] = (char)(0xE0 | (c >> 12));
    out[1] = (char)(0x80 | ((c >> 6) & 0x3F));
    out[2] = (char)(0x80 | (c & 0x3F));
    return 3;
  }
  out[0] = (char)(0xF0 | (c >> 18));
  out[1] = (char)(0x80 | ((c >> 12) & 0x3F));
  out[2] = (char)(0x80 | ((c >> 6) & 0x3F));
  out[3] = (char)(0x80 | (c & 0x3F));
  return 4;
}

static int in_spans(const ds_span *sp, int n, uint32_t c) {
  int lo = 0, hi = n - 1;
  while (lo <= hi) {
    int mid = (lo + hi) / 2;
    if (c < sp[mid].lo) hi = mid - 1;
    else if (c > sp[mid].hi) lo = mid + 1;
    else return 1;
  }
  return 0;
}

static uint32_t to_lower(uint32_t c) {
  int lo = 0, hi = N_OF(ds_lower) - 1, at = -1;
  while (lo <= hi) { /* last run starting at or before c */
    int mid = (lo + hi) / 2;
    if (ds_lower[mid].first <= c) at = mid, lo = mid + 1;
    else hi = mid - 1;
  }
  if (at < 0) return c;
  const ds_case_run *r = &ds_lower[at];
  uint32_t k = (c - r->first) / r->stride;
  if (k < r->count && (c - r->first) % r->stride == 0) return (uint32_t)((int32_t)c + r->delta);
  return c;
}

static uint32_t strip_accents(uint32_t c) {
  for (int i = 0; i < N_OF(ds_decomp); i++) {
    const ds_decomp_block *b = &ds_decomp[i];
    if (c >= b->first && c < b->first + b->count) {
      uint32_t base = b->bases[c - b->first];
      return base == '.' ? c : base;
    }
  }
  return c;
}

static const ds_norm_exception *find_exception(uint32_t c) {
  int lo = 0, hi = N_OF(ds_norm_extra) - 1;
  while (lo <= hi) {
    int mid = (lo + hi) / 2;
    if (c < ds_norm_extra[mid].cp) hi = mid - 1;
    else if (c > ds_norm_extra[mid].cp) lo = mid + 1;
    else return &ds_norm_extra[mid];
  }
  return NULL;
}

/* BERT normalization of one code point (clean, pad CJK, NFD minus marks, lower case):
 * writes 0 to 3 code points to out and returns how many. */
static int normalize(uint32_t c, uint32_t out[3]) {
  if (c == ' ') {
    out[0] = c;
    return 1;
  }
  if (in_spans(ds_removed, N_OF(ds_removed), c)) return 0;
  for (int i = 0; i < N_OF(ds_spaces); i++)
    if (c == ds_spaces[i]) {
      out[0] = ' ';
      return 1;
    }
  if (in_spans(ds_padded, N_OF(ds_padded), c)) { /* compatibility ideographs decompose */
    out[0] = ' ', out[1] = strip_accents(c), out[2] = ' ';
    return 3;
  }
  const ds_norm_exception *e = find_exception(c);
  if (e) {
    memcpy(out, e->out, sizeof(e->out));
    return e->n;
  }
  if (c >= 0xAC00 && c <= 0xD7A3) { /* Hangul syllable: leading, vowel and optional trailing jamo */
    uint32_t s = c - 0xAC00;
    out[0] = 0x1100 + s / (21 * 28);
    out[1] = 0x1161 + (s % (21 * 28)) / 28;
    out[2] = 0x11A7 + s % 28;
    return s % 28 ? 3 : 2;
  }
  out[0] = to_lower(strip_accents(c));
  return 1;
}

/* ---------------------------------------------------------------- encoding */

typedef struct {
  const ds_tokenizer *t;
  int32_t *ids;
  int n, cap;                 /* ids written (after [CLS]); last index usable for a piece */
  char word[WORD_BYTES];      /* UTF-8 of the word's first DS_TOKENIZER_MAX_WORD_CHARS chars */
  int start[DS_TOKENIZER_MAX_WORD_CHARS + 1]; /* byte offset of each char in word */
  int bytes, chars;           /* chars keeps counting past the stored ones */
} encoder;

static int encoder_full(const encoder *e) { return e->n >= e->cap; }

static void encoder_emit(encoder *e, int id) {
  if (!encoder_full(e)) e->ids[e->n++] = id;
}

/* Greedy longest-match-first WordPiece; a word with an unmatched remainder is one [UNK]. */
static void encoder_flush_word(encoder *e) {
  int chars = e->chars, bytes = e->bytes;
  e->chars = e->bytes = 0;
  if (chars == 0) return;
  const ds_tokenizer *t = e->t;
  if (chars > DS_TOKENIZER_MAX_WORD_CHARS) {
    encoder_emit(e, t->special[SP_UNK]);
    return;
  }
  e->start[chars] = bytes;
  int pieces[DS_TOKENIZER_MAX_WORD_CHARS], n_pieces = 0;
  char buf[2 + WORD_BYTES];
  buf[0] = buf[1] = '#';
  for (int from = 0; from < chars;) {
    int id = -1, to = chars;
    for (; to > from; to--) {
      int len = e->start[to] - e->start[from];
      if (from == 0) {
        id = vocab_find(t, e->word, (size_t)len);
      } else {
        memcpy(buf + 2, e->word + e->start[from], (size_t)len);
        id = vocab_find(t, buf, (size_t)len + 2);
      }
      if (id >= 0) break;
    }
    if (id < 0) {
      encoder_emit(e, t->special[SP_UNK]);
      return;
    }
    pieces[n_pieces++] = id;
    from = to;
  }
  for (int i = 0; i < n_pieces; i++) encoder_emit(e, pieces[i]);
}

static void encoder_push(encoder *e, uint32_t c) {
  if (e->chars < DS_TOKENIZER_MAX_WORD_CHARS) {
    e->start[e->chars] = e->bytes;
    e->bytes += utf8_put(c, e->word + e->bytes);
  }
  e->chars++;
}

/* The special token spelled at s, or -1. */
static int match_special(const ds_tokenizer *t, const char *s, size_t *len) {
  for (int i = 0; i < SP_COUNT; i++) {
    size_t l = strlen(special_names[i]);
    if (t->special[i] >= 0 && strncmp(s, special_names[i], l) == 0) {
      *len = l;
      return t->special[i];
    }
  }
  return -1;
}

int ds_tokenizer_encode(const ds_tokenizer *t, const char *text, int max_len, int32_t *ids,
                        uint8_t *mask) {
  if (!t || !text || !ids || max_len < 2) return -1;
  encoder *e = &(encoder){.t = t, .ids = ids, .n = 1, .cap = max_len - 1};
  ids[0] = t->special[SP_CLS];
  const unsigned char *s = (const unsigned char *)text;
  while (*s && !encoder_full(e)) {
    size_t len;
    int special = *s == '[' ? match_special(t, (const char *)s, &len) : -1;
    if (special >= 0) {
      encoder_flush_word(e);
      encoder_emit(e, special);
      s += len;
      continue;
    }
    uint32_t norm[3];
    int k = normalize(utf8_next(&s), norm);
    for (int i = 0; i < k; i++) {
      if (norm[i] == ' ') {
        encoder_flush_word(e);
      } else if (in_spans(ds_punct, N_OF(ds_punct), norm[i])) {
        encoder_flush_word(e);
        encoder_push(e, norm[i]);
        encoder_flush_word(e);
      } else {
        encoder_push(e, norm[i]);
      }
    }
  }
  encoder_flush_word(e);
  int n = e->n;
  ids[n++] = t->special[SP_SEP];
  int pad = ds_tokenizer_pad_id(t);
  for (int i = n; i < max_len; i++) ids[i] = pad;
  if (mask)
    for (int i = 0; i < max_len; i++) mask[i] = i < n;
  return n;
}
