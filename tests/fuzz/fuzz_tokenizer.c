/* libFuzzer harness: the WordPiece tokenizer (tokenizer/tokenizer.h) on arbitrary bytes.
 *
 * Input: byte 0 = flags, bytes 1-2 = max_len (2..1025), then the text (cut at its first NUL, as a C string).
 *   flags & 1: the vocabulary is the input's own: the text up to its first "\n\n" is one token per line, the
 *              rest is the text (teacher files and checkpoints carry their vocabulary: outside bytes too);
 *              otherwise the teacher's real vocabulary, tests/tokenizer/fixtures/tokenizer_vocab.txt.
 *   flags & 2: with flags & 1, [CLS], [SEP] and [UNK] are appended so that the vocabulary is usable.
 *   flags & 4: the text is repeated up to 16 KiB, or up to 1 MiB when flags & 0x3c are all set (long texts,
 *              long words, truncation; rarely, since a long text is slow to encode under the sanitizers).
 * Oracle: the encoding is [CLS] ... [SEP] then padding, n in [2, max_len], every id in the vocabulary, the
 * mask 1 exactly on the n real tokens, and the same result when encoded again. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "tokenizer/tokenizer.h"

#define MAX_TOKENS 1025
#define LONG_TEXT (16u << 10)
#define HUGE_TEXT (1u << 20)

static ds_tokenizer *teacher_tok;

static void split_lines(char *buf, char ***lines, int *n) {
  int cap = 64;
  *n = 0;
  *lines = malloc(sizeof **lines * (size_t)cap);
  for (char *p = buf; *lines && *p;) {
    char *nl = strchr(p, '\n');
    if (nl) *nl = '\0';
    if (*n == cap) {
      char **grown = realloc(*lines, sizeof **lines * (size_t)(cap *= 2));
      if (!grown) break;
      *lines = grown;
    }
    (*lines)[(*n)++] = p;
    if (!nl) break;
    p = nl + 1;
  }
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc, (void)argv;
  fz_single_thread();
  const char *path = DISTILL_SOURCE_DIR "/tests/tokenizer/fixtures/tokenizer_vocab.txt";
  FILE *f = fopen(path, "rb");
  FZ_REQUIRE(f != NULL, "cannot open %s", path);
  fseek(f, 0, SEEK_END);
  const long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *buf = malloc((size_t)n + 1);
  FZ_REQUIRE(buf && fread(buf, 1, (size_t)n, f) == (size_t)n, "cannot read %s", path);
  buf[n] = '\0';
  fclose(f);
  char **lines;
  int n_lines;
  split_lines(buf, &lines, &n_lines);
  ds_err err = {{0}};
  FZ_REQUIRE(ds_tokenizer_init(&teacher_tok, lines, n_lines, &err) == 0, "%s", err.msg);
  free(lines);
  free(buf);
  return 0;
}

static void check_encoding(const ds_tokenizer *t, const char *text, int max_len) {
  static int32_t ids[MAX_TOKENS], again[MAX_TOKENS];
  static uint8_t mask[MAX_TOKENS];
  const int n = ds_tokenizer_encode(t, text, max_len, ids, mask);
  FZ_REQUIRE(n >= 2 && n <= max_len, "%d tokens for max_len %d", n, max_len);
  const int V = ds_tokenizer_vocab_size(t);
  FZ_REQUIRE(ids[0] == ds_tokenizer_lookup(t, "[CLS]"), "first id %d is not [CLS]", ids[0]);
  FZ_REQUIRE(ids[n - 1] == ds_tokenizer_lookup(t, "[SEP]"), "last real id %d is not [SEP]", ids[n - 1]);
  for (int i = 0; i < max_len; i++) {
    FZ_REQUIRE(ids[i] >= 0 && ids[i] < V && ds_tokenizer_token(t, ids[i]), "id %d at %d outside [0, %d)", ids[i],
               i, V);
    FZ_REQUIRE(mask[i] == (i < n), "mask[%d] = %d with %d real tokens", i, mask[i], n);
    if (i >= n) FZ_REQUIRE(ids[i] == ds_tokenizer_pad_id(t), "padding id %d at %d", ids[i], i);
  }
  FZ_REQUIRE(ds_tokenizer_encode(t, text, max_len, again, NULL) == n &&
                 memcmp(ids, again, sizeof *ids * (size_t)max_len) == 0,
             "encoding the same text twice differs");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 3) return 0;
  const int flags = data[0], max_len = 2 + (data[1] | data[2] << 8) % (MAX_TOKENS - 1);
  char *buf = malloc(size - 3 + 1);
  if (!buf) return 0;
  memcpy(buf, data + 3, size - 3);
  buf[size - 3] = '\0';
  char *text = buf;
  ds_tokenizer *own = NULL;
  if (flags & 1) {
    char *cut = strstr(buf, "\n\n");
    text = cut ? cut + 2 : buf + strlen(buf);
    if (cut) *cut = '\0';
    char **lines;
    int n;
    split_lines(buf, &lines, &n);
    if (lines && (flags & 2)) {
      char **grown = realloc(lines, sizeof *lines * (size_t)(n + 3));
      if (grown) {
        lines = grown;
        lines[n++] = "[CLS]", lines[n++] = "[SEP]", lines[n++] = "[UNK]";
      }
    }
    ds_err err = {{0}};
    if (lines && ds_tokenizer_init(&own, lines, n, &err) != 0) {
      fz_check_err(&err);
      FZ_REQUIRE(own == NULL, "a failed init left a tokenizer");
    }
    free(lines);
    if (!own) {
      free(buf);
      return 0;
    }
  }
  const ds_tokenizer *t = own ? own : teacher_tok;
  const size_t len = strlen(text);
  if ((flags & 4) && len > 0) {
    const size_t total = (flags & 0x3c) == 0x3c ? HUGE_TEXT : LONG_TEXT;
    char *big = malloc(total + 1);
    if (big) {
      size_t at = 0;
      while (at + len <= total) memcpy(big + at, text, len), at += len;
      big[at] = '\0';
      check_encoding(t, big, max_len);
      free(big);
    }
  } else {
    check_encoding(t, text, max_len);
  }
  ds_tokenizer_free(own);
  free(buf);
  return 0;
}
