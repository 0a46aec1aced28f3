/* libFuzzer harness: the teacher-file validator (data/data.h ds_teacher_open) and everything that
 * trusts a file it accepted, on HDF5 files mutated at the dataset level (h5_mutate.h).
 *
 * Input: byte 0 picks the base file (tests/fuzz/bases/teacher*.h5, made by make_fuzz_bases), the rest is
 * the mutation program. The mutated file then goes through what `distill inspect` and a training run do
 * with a teacher: ds_ckpt_open + the /input_ids probe, ds_teacher_open, and on success the vocabulary (and
 * a tokenizer built from it), token_embeddings, token frequencies, a batch of the last rows with hidden
 * states, and the loader's first training and validation batches.
 * Oracles, besides the sanitizers: a refused file is named in the message; an accepted one is readable
 * throughout, with every id inside vocab_size, masks 0/1, labels inside the classes and every target
 * finite (what the validator promises); no HDF5 object is left open. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoints/ckpt.h"
#include "data/data.h"
#include "fuzz_util.h"
#include "h5_mutate.h"
#include "tokenizer/tokenizer.h"

static const char *const bases[] = {"teacher.h5", "teacher_rich.h5"};
#define N_BASES ((int)(sizeof bases / sizeof bases[0]))
static void *base_data[N_BASES];
static size_t base_size[N_BASES];

static const char *const datasets[] = {"/input_ids", "/attention_mask", "/logits",           "/embeddings",
                                       "/labels",    "/vocab",          "/token_embeddings", "/hidden_states"};
static const char *const attrs[] = {"vocab_size", "pad_id", "teacher"};
static const fz_h5_schema schema = {datasets, 8, attrs, 3};

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc, (void)argv;
  fz_single_thread();
  fz_read_bases(DISTILL_SOURCE_DIR, bases, N_BASES, base_data, base_size);
  return 0;
}

static void check_batch(const ds_teacher_info *in, const ds_batch *b) {
  for (int i = 0; i < b->n; i++) {
    int real = 0;
    for (int j = 0; j < b->len; j++) {
      const int32_t id = b->ids[i * b->len + j];
      FZ_REQUIRE(id >= 0 && id < in->vocab_size, "row %ld: id %d outside [0, %d)", b->rows[i], id, in->vocab_size);
      FZ_REQUIRE(b->mask[i * b->len + j] <= 1, "row %ld: mask %d", b->rows[i], b->mask[i * b->len + j]);
      real += b->mask[i * b->len + j];
    }
    (void)real; /* a row may lose its real tokens to truncation at max_len */
    for (int k = 0; b->logits && k < in->n_classes; k++)
      FZ_REQUIRE(isfinite(b->logits[(size_t)i * in->n_classes + k]), "row %ld: logit not finite", b->rows[i]);
    for (int k = 0; b->emb && k < in->emb_dim; k++)
      FZ_REQUIRE(isfinite(b->emb[(size_t)i * in->emb_dim + k]), "row %ld: embedding not finite", b->rows[i]);
    if (b->labels)
      FZ_REQUIRE(b->labels[i] >= 0 && (in->n_classes == 0 || b->labels[i] < in->n_classes), "row %ld: label %d",
                 b->rows[i], b->labels[i]);
  }
}

static void use_vocab(ds_teacher *t, const ds_teacher_info *in) {
  char **v = NULL;
  int n = 0;
  ds_err err = {{0}};
  FZ_REQUIRE(ds_teacher_load_vocab(t, &v, &n, &err) == 0, "validated vocab unreadable: %s", err.msg);
  FZ_REQUIRE(n == in->n_vocab, "%d vocabulary strings, info says %d", n, in->n_vocab);
  ds_tokenizer *tok = NULL;
  if (ds_tokenizer_init(&tok, v, n, &err) == 0) {
    int32_t ids[16];
    const int k = ds_tokenizer_encode(tok, "Hello, world [SEP] naïve", 16, ids, NULL);
    FZ_REQUIRE(k >= 2 && k <= 16, "%d tokens", k);
    ds_tokenizer_free(tok);
  }
  for (int i = 0; i < n; i++) free(v[i]);
  free(v);
}

static void use_teacher(ds_teacher *t) {
  const ds_teacher_info *in = ds_teacher_get_info(t);
  ds_err err = {{0}};
  FZ_REQUIRE(in->n_rows > 0 && in->seq_len > 0 && in->vocab_size > 0 && (in->n_classes > 0 || in->emb_dim > 0),
             "accepted with rows %ld, L %d, vocab %d, C %d, D %d", in->n_rows, in->seq_len, in->vocab_size,
             in->n_classes, in->emb_dim);
  if (in->n_vocab > 0) use_vocab(t, in);
  if (in->has_token_emb) {
    float *table = NULL;
    FZ_REQUIRE(ds_teacher_load_token_embeddings(t, &table, &err) == 0, "validated token_embeddings unreadable: %s",
               err.msg);
    for (size_t k = 0; k < (size_t)in->vocab_size * in->emb_dim; k++)
      FZ_REQUIRE(isfinite(table[k]), "token_embeddings value %zu not finite", k);
    free(table);
  }
  double *freq = calloc((size_t)in->vocab_size, sizeof *freq);
  if (freq) {
    FZ_REQUIRE(ds_teacher_token_freq(t, 0.25, freq, &err) == 0, "token frequencies: %s", err.msg);
    free(freq);
  }
  /* The last rows (the last, partly filled chunk), all tokens, with hidden states. */
  ds_batch b = {0};
  const int n = in->n_rows < 4 ? (int)in->n_rows : 4;
  FZ_REQUIRE(ds_batch_alloc(&b, in, 4, 0, &err) == 0, "batch: %s", err.msg);
  if (in->hidden_dim) FZ_REQUIRE(ds_batch_want_hidden(&b, in, &err) == 0, "hidden batch: %s", err.msg);
  FZ_REQUIRE(ds_teacher_read(t, in->n_rows - n, n, 0, &b, &err) == 0, "validated rows unreadable: %s", err.msg);
  check_batch(in, &b);
  if (in->hidden_dim) {
    FZ_REQUIRE(ds_teacher_read_hidden_for_batch(t, &b, &err) == 0, "validated hidden_states unreadable: %s",
               err.msg);
    for (size_t k = 0; k < (size_t)b.n * b.len * in->hidden_dim; k++)
      FZ_REQUIRE(isfinite(b.hidden[k]), "hidden state %zu not finite", k);
  }
  ds_batch_free(&b);
  /* The loader: a shuffled training batch and the first validation rows, truncated to 5 tokens. */
  ds_loader *l = NULL;
  if (ds_loader_init(&l, t, 0.25, 1, &err) == 0) {
    ds_batch lb = {0};
    FZ_REQUIRE(ds_batch_alloc(&lb, in, 3, 5, &err) == 0, "batch: %s", err.msg);
    if (ds_loader_n_train(l) > 0) {
      FZ_REQUIRE(ds_loader_next_train(l, 3, 5, &lb, &err) == 0, "training batch: %s", err.msg);
      check_batch(in, &lb);
    }
    if (ds_loader_n_val(l) > 0) {
      FZ_REQUIRE(ds_loader_read_val(l, 0, 1, 5, &lb, &err) == 0, "validation rows: %s", err.msg);
      check_batch(in, &lb);
    }
    ds_batch_free(&lb);
    ds_loader_free(l);
  } else {
    fz_check_err(&err);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  fz_reader r = {data + 1, size - 1, 0};
  const int base = data[0] % N_BASES;
  const char *path = fz_scratch_path("teacher.h5");
  if (fz_h5_mutate(base_data[base], base_size[base], path, &schema, &r)) return 0;

  /* `distill inspect` opens every HDF5 file as a checkpoint first. */
  ds_err err = {{0}};
  ds_ckpt_reader *cr = NULL;
  if (ds_ckpt_open(&cr, path, NULL, -1, &err) == 0) {
    (void)ds_ckpt_has(cr, "/input_ids");
    ds_ckpt_close(cr);
  } else {
    fz_check_err(&err);
  }

  ds_teacher *t = NULL;
  if (ds_teacher_open(&t, path, &err) == 0) {
    use_teacher(t);
    ds_teacher_close(t);
  } else {
    fz_check_err(&err);
    FZ_REQUIRE(t == NULL, "a refused teacher was returned");
    FZ_REQUIRE(strstr(err.msg, path) != NULL, "the message does not name the file: %s", err.msg);
  }
  FZ_REQUIRE(fz_h5_open_objects() == 0, "%ld HDF5 objects left open", fz_h5_open_objects());
  return 0;
}
