/* The C WordPiece tokenizer against the teacher's reference tokenizer (Hugging Face
 * `tokenizers`), on 10,000 corpus texts and a few edge cases written by
 * experiments/teachers/make_tokenizer_sample.py; every text must give identical ids.
 * Optional arguments: another sample file and vocabulary (e.g. the all-code-points sample). */
#include <stdlib.h>
#include <string.h>

#include "../check.h"
#include "tokenizer/tokenizer.h"

#define FIXTURES DISTILL_SOURCE_DIR "/tests/tokenizer/fixtures/"
#define MAX_IDS 4096

static char *read_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *buf = malloc((size_t)n + 1);
  if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
    free(buf);
    buf = NULL;
  }
  if (buf) buf[n] = '\0';
  fclose(f);
  return buf;
}

/* Splits buf into its lines in place; returns how many. */
static int split_lines(char *buf, char ***lines) {
  int n = 0, cap = 1024;
  *lines = malloc((size_t)cap * sizeof(**lines));
  for (char *p = buf; *p;) {
    char *nl = strchr(p, '\n');
    if (nl) *nl = '\0';
    if (n == cap) *lines = realloc(*lines, (size_t)(cap *= 2) * sizeof(**lines));
    (*lines)[n++] = p;
    if (!nl) break;
    p = nl + 1;
  }
  return n;
}

static int encode_to(const ds_tokenizer *t, const char *text, int max_len, int32_t *ids) {
  return ds_tokenizer_encode(t, text, max_len, ids, NULL);
}

static int same_ids(const ds_tokenizer *t, const char *a, const char *b) {
  int32_t ia[64], ib[64];
  int na = encode_to(t, a, 64, ia), nb = encode_to(t, b, 64, ib);
  return na == nb && memcmp(ia, ib, sizeof(ia)) == 0;
}

/* Every sample line "ids<TAB>text": full encoding identical, and the teacher's 64-token form
 * (first 63 pieces, [SEP], padding) identical too. Returns the number of texts that differ. */
static int check_sample(const ds_tokenizer *t, char **lines, int n_lines, int *n_texts) {
  static int32_t want[MAX_IDS], got[MAX_IDS];
  int differ = 0;
  *n_texts = 0;
  for (int i = 0; i < n_lines; i++) {
    char *tab = strchr(lines[i], '\t');
    if (!tab) continue;
    *tab = '\0';
    const char *text = tab + 1;
    int n = 0;
    for (char *p = lines[i], *end; n < MAX_IDS; p = end) {
      long v = strtol(p, &end, 10);
      if (end == p) break;
      want[n++] = (int32_t)v;
    }
    (*n_texts)++;
    int got_n = encode_to(t, text, MAX_IDS, got);
    int ok = got_n == n && memcmp(got, want, (size_t)n * sizeof(*got)) == 0;
    int32_t got64[64], mask64[64];
    uint8_t mask[64];
    int n64 = ds_tokenizer_encode(t, text, 64, got64, mask);
    int real = n < 64 ? n : 64;
    for (int k = 0; k < 64; k++) {
      mask64[k] = k < real;
      int32_t w = k >= real ? ds_tokenizer_pad_id(t) : k == real - 1 ? want[n - 1] : want[k];
      ok = ok && got64[k] == w && mask[k] == mask64[k];
    }
    ok = ok && n64 == real;
    if (!ok && ++differ <= 5) {
      fprintf(stderr, "line %d differs: %s\n  want:", i + 1, text);
      for (int k = 0; k < n && k < 40; k++) fprintf(stderr, " %d", want[k]);
      fprintf(stderr, "\n  got: ");
      for (int k = 0; k < got_n && k < 40; k++) fprintf(stderr, " %d", got[k]);
      fprintf(stderr, "\n");
    }
  }
  return differ;
}

static void check_properties(const ds_tokenizer *t) {
  int32_t ids[8];
  uint8_t mask[8];
  CHECK(ds_tokenizer_encode(t, "hello world", 1, ids, mask) == -1);
  CHECK(ds_tokenizer_encode(t, NULL, 8, ids, mask) == -1);
  /* [CLS] [SEP] only, then padding */
  CHECK(ds_tokenizer_encode(t, "hello world", 2, ids, mask) == 2);
  CHECK(ids[0] == 101 && ids[1] == 102 && mask[0] == 1 && mask[1] == 1);
  CHECK(ds_tokenizer_encode(t, "   ", 8, ids, mask) == 2);
  CHECK(ids[2] == 0 && ids[7] == 0 && mask[2] == 0 && mask[7] == 0);
  CHECK(ds_tokenizer_encode(t, "hello world", 8, ids, mask) == 4);
  CHECK(ids[1] == 7592 && ids[2] == 2088 && ids[3] == 102 && ids[4] == 0 && mask[3] == 1);
  /* invalid UTF-8 is dropped, as the reference drops the U+FFFD it would decode to */
  CHECK(same_ids(t, "ab\xff" "c \xc3( x\xe4\xb8", "abc ( x"));
  CHECK(same_ids(t, "over\xc0\xaflong \xed\xa0\x80surrogate", "overlong surrogate"));
  CHECK(same_ids(t, "\xf4\x90\x80\x80" "big", "big"));
  CHECK(same_ids(t, "tab\there\nnew\rline\x0b" "vt", "tab here new linevt"));
  /* a word of more than 100 characters is one [UNK]; 100 are still split */
  char word[160];
  memset(word, 'a', 101);
  word[101] = '\0';
  CHECK(encode_to(t, word, 8, ids) == 3 && ids[1] == 100);
  word[100] = '\0';
  CHECK(encode_to(t, word, 8, ids) == 8 && ids[1] != 100 && ids[7] == 102);
  CHECK(ds_tokenizer_lookup(t, "[MASK]") == 103 && ds_tokenizer_lookup(t, "##ing") > 0);
  CHECK(ds_tokenizer_lookup(t, "no-such-token") == -1);
  CHECK(strcmp(ds_tokenizer_token(t, 7592), "hello") == 0 && ds_tokenizer_token(t, -1) == NULL);
}

/* Random bytes (valid UTF-8 or not, special-token fragments, long words) never crash and give
 * ids inside the vocabulary. */
static void check_random_bytes(const ds_tokenizer *t) {
  static const char *pieces[] = {"[SEP]", "[MAS", "\xc3\xa9", "\xe4\xb8\xad", "\xf0\x9f\x9a\x80",
                                 " ", "##", "\xff", "\xc3", "a", "Z", ".", "\xcc\x81"};
  uint32_t state = 12345;
  char text[600];
  int32_t ids[64];
  uint8_t mask[64];
  int bad = 0;
  for (int round = 0; round < 2000; round++) {
    int len = 0;
    while (len < 500) {
      state = state * 1664525u + 1013904223u;
      uint32_t r = state >> 8;
      if (r % 3 == 0) {
        text[len++] = (char)(1 + r % 255);
      } else {
        const char *p = pieces[r % (sizeof(pieces) / sizeof(pieces[0]))];
        size_t n = strlen(p);
        memcpy(text + len, p, n);
        len += (int)n;
      }
      if (r % 97 == 0) break;
    }
    text[len] = '\0';
    int n = ds_tokenizer_encode(t, text, 64, ids, mask);
    bad += n < 2 || n > 64 || ids[0] != 101 || ids[n - 1] != 102;
    for (int k = 0; k < 64; k++) bad += ids[k] < 0 || ids[k] >= ds_tokenizer_vocab_size(t);
  }
  CHECK(bad == 0);
}

static void check_init_errors(void) {
  char *small[] = {"[PAD]", "[UNK]", "[SEP]", "hello"};
  ds_tokenizer *t = (ds_tokenizer *)1;
  ds_err err = {{0}};
  CHECK(ds_tokenizer_init(&t, small, 4, &err) == -1 && t == NULL);
  CHECK_MSG(strstr(err.msg, "[CLS]") != NULL, "message: %s", err.msg);
  char *tiny[] = {"[UNK]", "[CLS]", "[SEP]", "hi", "##s", "hi"};
  CHECK(ds_tokenizer_init(&t, tiny, 6, &err) == 0);
  int32_t ids[6];
  uint8_t mask[6];
  CHECK(ds_tokenizer_encode(t, "HIS hi? x", 6, ids, mask) == 6);
  /* no [PAD] in this vocabulary: padding uses id 0; duplicate "hi" keeps id 3 */
  CHECK(ds_tokenizer_pad_id(t) == 0);
  CHECK(ids[0] == 1 && ids[1] == 3 && ids[2] == 4 && ids[3] == 3 && ids[4] == 0 && ids[5] == 2);
  ds_tokenizer_free(t);
  ds_tokenizer_free(NULL);
}

int main(int argc, char **argv) {
  const char *sample_path = argc > 1 ? argv[1] : FIXTURES "tokenizer_sample.txt";
  const char *vocab_path = argc > 2 ? argv[2] : FIXTURES "tokenizer_vocab.txt";
  char *vocab_buf = read_file(vocab_path), *sample_buf = read_file(sample_path);
  CHECK_MSG(vocab_buf && sample_buf, "cannot read %s or %s", vocab_path, sample_path);
  if (!vocab_buf || !sample_buf) return check_report();
  char **vocab, **lines;
  int n_vocab = split_lines(vocab_buf, &vocab);
  int n_lines = split_lines(sample_buf, &lines);
  CHECK(n_vocab == 30522);

  ds_tokenizer *t = NULL;
  ds_err err = {{0}};
  CHECK_MSG(ds_tokenizer_init(&t, vocab, n_vocab, &err) == 0, "%s", err.msg);
  if (t) {
    CHECK(ds_tokenizer_vocab_size(t) == n_vocab && ds_tokenizer_pad_id(t) == 0);
    int n_texts = 0;
    int differ = check_sample(t, lines, n_lines, &n_texts);
    printf("%s: %d texts, %d differ from the reference tokenizer\n", sample_path, n_texts, differ);
    CHECK(argc > 1 || n_texts >= 10000);
    CHECK(differ == 0);
    check_properties(t);
    check_random_bytes(t);
  }
  check_init_errors();
  ds_tokenizer_free(t);
  free(vocab);
  free(lines);
  free(vocab_buf);
  free(sample_buf);
  return check_report();
}
