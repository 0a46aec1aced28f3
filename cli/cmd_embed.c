/* `distill embed --model M --ids "101 7592 102" | --text "..."`: one sentence embedding, for checking.
 * M is a native int8 model (run by the integer-only runtime) or a training checkpoint (run as trained:
 * the float model, or the fake-quant forward of a QAT checkpoint, which gives the int8 model's
 * numbers exactly). Prints one JSON object: ids, embedding and (when the model has classes) logits. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "tokenizer/tokenizer.h"
#include "train/train.h"

static const char *embed_help =
    "usage: distill embed --model M (--ids \"101 7592 102\" | --text \"...\")\n"
    "\n"
    "Embeds one sequence with the model M: a native int8 model (distill export --format native) runs on the\n"
    "integer-only runtime; a checkpoint runs as trained (float, or fake-quant after QAT). --ids takes token ids\n"
    "separated by spaces or commas; --text tokenizes with the vocabulary stored in M. Prints one JSON object:\n"
    "{\"ids\": [...], \"embedding\": [...], \"logits\": [...]}.\n";

/* Parses up to cap ids; returns how many, or -1 with a message. */
static int parse_ids(const char *s, int32_t *ids, int cap) {
  int n = 0;
  while (*s) {
    while (*s == ' ' || *s == ',' || *s == '\t' || *s == '\n') s++;
    if (!*s) break;
    char *end;
    errno = 0;
    const long v = strtol(s, &end, 10);
    if (end == s || errno || v < 0 || v > INT32_MAX) return cli_error("--ids: '%s' is not a token id", s), -1;
    if (n == cap) return cli_error("--ids: more than %d ids (the model's max_len)", cap), -1;
    ids[n++] = (int32_t)v;
    s = end;
  }
  if (n == 0) return cli_error("--ids: no token id given"), -1;
  return n;
}

static void print_array(const char *key, const float *x, int n) {
  printf(", \"%s\": [", key);
  for (int i = 0; i < n; i++) printf("%s%.9g", i ? ", " : "", x[i]);
  printf("]");
}

/* ids (n) from --ids or from --text through the model's vocabulary. */
static int input_ids(const char *ids_arg, const char *text, char *const *vocab, int n_vocab, int max_len,
                     int32_t *ids) {
  if (ids_arg) return parse_ids(ids_arg, ids, max_len);
  if (!vocab) return cli_error("--text needs a vocabulary, and this model has none; give --ids"), -1;
  ds_err err = {{0}};
  ds_tokenizer *tok = NULL;
  if (ds_tokenizer_init(&tok, vocab, n_vocab, &err)) return cli_error("%s", err.msg), -1;
  const int n = ds_tokenizer_encode(tok, text, max_len, ids, NULL);
  ds_tokenizer_free(tok);
  if (n < 1) return cli_error("--text: cannot tokenize into at most %d tokens", max_len), -1;
  return n;
}

static int embed_native(const char *path, const char *ids_arg, const char *text) {
  ds_err err = {{0}};
  ds_i8_model im;
  if (ds_i8_model_load(&im, path, &err)) return cli_error("%s", err.msg);
  int32_t ids[65536];
  float *out = malloc(sizeof(float) * (size_t)(im.emb_dim + im.n_classes + 1));
  void *scratch = malloc(ds_i8_model_scratch_size(&im));
  int rc = 1;
  const int n = out && scratch ? input_ids(ids_arg, text, im.vocab_strings, im.n_vocab_strings,
                                           im.max_len < 65536 ? im.max_len : 65536, ids)
                               : cli_error("out of memory");
  if (n > 0) {
    if (ds_i8_model_run(&im, ids, NULL, n, scratch, out, out + im.emb_dim, &err)) {
      cli_error("%s: %s", path, err.msg);
    } else {
      printf("{\"ids\": [");
      for (int i = 0; i < n; i++) printf("%s%d", i ? ", " : "", ids[i]);
      printf("]");
      print_array("embedding", out, im.emb_dim);
      if (im.n_classes > 0) print_array("logits", out + im.emb_dim, im.n_classes);
      printf("}\n");
      rc = 0;
    }
  }
  free(out);
  free(scratch);
  ds_i8_model_free(&im);
  return rc;
}

static int embed_checkpoint(const char *path, const char *ids_arg, const char *text) {
  ds_err err = {{0}};
  ds_loaded_model lm;
  if (ds_model_load(&lm, path, &err)) return cli_error("%s", err.msg);
  const ds_student_shape *s = &lm.model.shape;
  int32_t ids[65536];
  uint8_t mask[65536];
  int rc = 1;
  const int n = input_ids(ids_arg, text, lm.vocab, lm.n_vocab, s->max_len < 65536 ? s->max_len : 65536, ids);
  if (n > 0) {
    memset(mask, 1, (size_t)n);
    if (ds_student_forward(&lm.model, ids, mask, 1, n, &err)) {
      cli_error("%s: %s", path, err.msg);
    } else {
      printf("{\"ids\": [");
      for (int i = 0; i < n; i++) printf("%s%d", i ? ", " : "", ids[i]);
      printf("]");
      print_array("embedding", lm.model.a.emb, ds_student_emb_dim(s));
      if (s->n_classes > 0) print_array("logits", lm.model.a.logits, s->n_classes);
      printf("}\n");
      rc = 0;
    }
  }
  ds_loaded_model_free(&lm);
  return rc;
}

int cli_embed(int argc, char **argv) {
  const char *model = NULL, *ids = NULL, *text = NULL;
  for (int i = 1; i < argc; i++) {
    if (cli_is_help(argv[i])) {
      fputs(embed_help, stdout);
      return 0;
    } else if (strcmp(argv[i], "--model") == 0 && i + 1 < argc) {
      model = argv[++i];
    } else if (strcmp(argv[i], "--ids") == 0 && i + 1 < argc) {
      ids = argv[++i];
    } else if (strcmp(argv[i], "--text") == 0 && i + 1 < argc) {
      text = argv[++i];
    } else {
      return cli_error("embed: unknown or incomplete option '%s' (see distill embed --help)", argv[i]);
    }
  }
  if (!model || (!ids == !text)) return cli_error("embed needs --model M and one of --ids \"...\" or --text \"...\"");
  return ds_i8_file_is_native(model) ? embed_native(model, ids, text) : embed_checkpoint(model, ids, text);
}
