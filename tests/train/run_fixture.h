/* Helpers shared by the training-run tests (test_static_run, test_prune_run): a tiny teacher whose training
 * rows use only ids 2..39 of a 64-id vocabulary, a file copy, and scratch-directory removal. */
#ifndef DS_TESTS_TRAIN_RUN_FIXTURE_H
#define DS_TESTS_TRAIN_RUN_FIXTURE_H

#include <stdint.h>
#include <stdio.h>

#include "../check.h"
#include "../data/fixture.h"
#include "model/config/config.h"
#include "data/data.h"

enum { N = 400, L = 8, V = 64, K = 4, D = 8 };

static inline void write_teacher(const char *path) {
  char names[V][16];
  const char *vocab[V];
  for (int i = 0; i < V; i++) {
    snprintf(names[i], sizeof names[i], i == 0 ? "[PAD]" : i == 1 ? "[UNK]" : "tok%d", i);
    vocab[i] = names[i];
  }
  ds_teacher_writer_params wp = ds_teacher_writer_default_params();
  wp.n_rows = N;
  wp.seq_len = L;
  wp.n_classes = K;
  wp.emb_dim = D;
  wp.has_mask = 1;
  wp.vocab_size = V;
  wp.vocab = vocab;
  wp.n_vocab = V;
  static int32_t ids[N * L];
  static uint8_t mask[N * L];
  static float logits[N * K], emb[N * D];
  for (int r = 0; r < N; r++) {
    const int len = 3 + r % (L - 2);
    for (int t = 0; t < L; t++) {
      ids[r * L + t] = t < len ? 2 + (r * 5 + t * 11 + t * t) % 38 : 0; /* ids 2..39 only */
      mask[r * L + t] = t < len;
    }
    for (int k = 0; k < K; k++) logits[r * K + k] = (float)((ids[r * L] * (k + 1)) % 7) - 3.0f;
    for (int d = 0; d < D; d++) emb[r * D + d] = (float)((ids[r * L + 1] + 3 * d) % 5) - 2.0f + 0.1f * d;
  }
  ds_teacher_writer *w;
  ds_err err;
  CHECK(ds_teacher_writer_create(&w, path, &wp, &err) == 0);
  CHECK(ds_teacher_writer_append(w, N, ids, mask, logits, emb, NULL, &err) == 0);
  CHECK(ds_teacher_writer_close(w, &err) == 0);
}

/* Copies a file byte for byte: 0, or -1 on failure. */
static inline int copy_file(const char *from, const char *to) {
  FILE *a = fopen(from, "rb"), *b = fopen(to, "wb");
  char buf[65536];
  size_t k;
  int ok = a && b;
  while (ok && (k = fread(buf, 1, sizeof buf, a)) > 0) ok = fwrite(buf, 1, k, b) == k;
  if (a) fclose(a);
  if (b) fclose(b);
  return ok ? 0 : -1;
}


/* The settings both runs share: the default config on `teacher`, a 16-wide student over L tokens, 40 steps of
 * 16 rows (warmup 2, one thread), evaluation every 20, checkpoints every 10, logs every 10, quiet. */
static inline void run_config_base(ds_config *c, const char *teacher) {
  ds_config_default(c);
  snprintf(c->teacher.path, sizeof c->teacher.path, "%s", teacher);
  c->has_student = 1;
  c->student.dim = 16;
  c->student.max_len = L;
  c->train.steps = 40;
  c->train.batch_size = 16;
  c->train.warmup_steps = 2;
  c->train.threads = 1;
  c->train.eval_every = 20;
  c->train.save_every = 10;
  c->train.log_every = 10;
  c->train.quiet = 1;
}

#endif
