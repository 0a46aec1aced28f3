/* libFuzzer harness: the checkpoint readers (checkpoints/ckpt.h and ds_model_load of train/train.h) on HDF5 files
 * mutated at the dataset level (h5_mutate.h).
 *
 * Input: byte 0 picks the base checkpoint (the .ckpt files of tests/fuzz/bases, written by `distill` itself: a float
 * transformer, a QAT transformer with learned scales and a vocabulary, a static QAT student with a pruned
 * vocabulary), the rest is the mutation program. The mutated file then goes through
 *   - `distill inspect`: ds_ckpt_open of any format, the shape attributes, ds_ckpt_list, the config text;
 *   - `distill eval` / `embed`: ds_model_load (shape, config, parameters, masks, vocabulary map, QAT state)
 *     and, on success, a forward pass and a tokenizer over the checkpoint's vocabulary;
 *   - `distill export` / `eval --int8`: for a checkpoint that loaded with a QAT state, ds_int8_model_open
 *     (the int8 model built from that state), then a run and its description.
 * Oracles, besides the sanitizers: load errors name the file; an int8 model built from a checkpoint runs; no HDF5
 * object stays open. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoints/ckpt.h"
#include "fuzz_util.h"
#include "h5_mutate.h"
#include "quant/int8/int8.h"
#include "tokenizer/tokenizer.h"
#include "train/checkpoint_state.h"
#include "train/qat_train.h"

static const char *const bases[] = {"float.ckpt", "qat.ckpt", "static_qat.ckpt"};
#define N_BASES ((int)(sizeof bases / sizeof bases[0]))
static void *base_data[N_BASES];
static size_t base_size[N_BASES];

static const char *const datasets[] = {
    "/shape/heads", "/shape/ffn", "/masks/heads", "/masks/ffn", "/params/tok_emb.weight", "/params/pos_emb.weight",
    "/params/layers.0.attn.qkv.weight", "/params/layers.0.ffn.fc1.weight", "/params/ln_f.weight",
    "/params/proj.weight", "/params/classifier.weight", "/params/classifier.bias", "/vocab", "/vocab_map",
    "/quant/site_names", "/quant/scale", "/quant/zero_point", "/quant/qmin", "/quant/qmax", "/quant/obs_min",
    "/quant/obs_max", "/quant/obs_seen", "/quant/state", "/quant/lsq", "/data/loader_state", "/hidden_head/params",
    "/prune/scores"};
static const char *const attrs[] = {"format", "format_version", "config", "step", "best_step", "best_val_loss",
                                    "wall_seconds", "seed", "form", "arch", "vocab", "max_len", "dim", "n_layers",
                                    "head_dim", "out_dim", "n_classes", "pooling", "vocab_unk_id"};
static const fz_h5_schema schema = {datasets, (int)(sizeof datasets / sizeof *datasets), attrs,
                                    (int)(sizeof attrs / sizeof *attrs)};

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc, (void)argv;
  fz_single_thread();
  fz_read_bases(DISTILL_SOURCE_DIR, bases, N_BASES, base_data, base_size);
  return 0;
}

/* What `distill inspect` prints of a checkpoint. */
static void inspect(const char *path) {
  ds_err err = {{0}};
  ds_ckpt_reader *r = NULL;
  if (ds_ckpt_open(&r, path, NULL, -1, &err)) {
    fz_check_err(&err);
    FZ_REQUIRE(strstr(err.msg, path) != NULL, "the message does not name the file: %s", err.msg);
    return;
  }
  FZ_REQUIRE(memchr(ds_ckpt_format(r), '\0', 128) != NULL, "format not terminated");
  static const char *const ints[] = {"step", "best_step", "vocab", "max_len", "dim", "n_layers", "head_dim",
                                     "out_dim", "n_classes"};
  for (size_t k = 0; k < sizeof ints / sizeof *ints; k++) {
    int64_t v;
    if (ds_ckpt_has_attr(r, ints[k]) && ds_ckpt_read_attr_i64(r, ints[k], &v, &err)) fz_check_err(&err);
  }
  static const char *const strs[] = {"arch", "config", "pooling", "form"};
  for (size_t k = 0; k < sizeof strs / sizeof *strs; k++) {
    char *s = NULL;
    if (ds_ckpt_has_attr(r, strs[k]) && ds_ckpt_read_attr_str(r, strs[k], &s, &err) == 0) free(s);
  }
  ds_ckpt_entry *e = NULL;
  int n = 0;
  if (ds_ckpt_list(r, "/", &e, &n, &err) == 0) {
    for (int k = 0; k < n; k++) {
      FZ_REQUIRE(e[k].ndim >= 0 && e[k].ndim <= DS_CKPT_MAX_DIMS, "%s: %d dims", e[k].name, e[k].ndim);
      FZ_REQUIRE(memchr(e[k].name, '\0', sizeof e[k].name) != NULL, "name not terminated");
    }
    free(e);
  } else {
    fz_check_err(&err);
  }
  ds_ckpt_close(r);
}

static void use_model(ds_loaded_model *lm) {
  ds_student *m = &lm->model;
  const ds_student_shape *s = &m->shape;
  const int T = s->max_len < 5 ? s->max_len : 5;
  const int n_ids = m->vocab_map ? m->vocab_map->n_ids : s->vocab;
  int32_t ids[5];
  uint8_t mask[5];
  for (int t = 0; t < T; t++) ids[t] = (int32_t)((3 * t + 1) % n_ids), mask[t] = t < 3;
  ds_err err = {{0}};
  /* It may refuse to run (the QAT forward refuses NaN parameters, which a diverged run may save), with a message. */
  if (ds_student_forward(m, ids, mask, 1, T, &err)) fz_check_err(&err);
  if (lm->vocab) {
    ds_tokenizer *tok = NULL;
    if (ds_tokenizer_init(&tok, lm->vocab, lm->n_vocab, &err) == 0) {
      int32_t out[8];
      FZ_REQUIRE(ds_tokenizer_encode(tok, "a checkpoint's vocabulary", 8, out, NULL) >= 2, "encode");
      ds_tokenizer_free(tok);
    }
  }
}

static void use_int8(const ds_i8_model *m) {
  const size_t need = ds_i8_model_scratch_size(m);
  if (need > (64u << 20)) return;
  void *scratch = malloc(need);
  float *emb = malloc(sizeof(float) * (size_t)m->emb_dim);
  float *logits = malloc(sizeof(float) * (size_t)(m->n_classes + 1));
  FZ_REQUIRE(scratch && emb && logits, "out of memory");
  const int T = m->max_len < 5 ? m->max_len : 5;
  int32_t ids[5];
  for (int t = 0; t < T; t++) ids[t] = (int32_t)((3 * t + 1) % m->n_ids);
  ds_err err = {{0}};
  FZ_REQUIRE(ds_i8_model_run(m, ids, NULL, T, scratch, emb, logits, &err) == 0, "int8 run: %s", err.msg);
  char *text = NULL;
  FZ_REQUIRE(ds_i8_model_describe(m, &text, &err) == 0, "describe: %s", err.msg);
  free(text);
  free(scratch);
  free(emb);
  free(logits);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  fz_reader r = {data + 1, size - 1, 0};
  const int base = data[0] % N_BASES;
  const char *path = fz_scratch_path("model.ckpt");
  if (fz_h5_mutate(base_data[base], base_size[base], path, &schema, &r)) return 0;

  inspect(path);

  ds_err err = {{0}};
  ds_loaded_model lm;
  int quantized = 0;
  if (ds_model_load(&lm, path, &err) == 0) {
    quantized = lm.model.qat != NULL;
    use_model(&lm);
    ds_loaded_model_free(&lm);
  } else {
    fz_check_err(&err);
    FZ_REQUIRE(strstr(err.msg, path) != NULL, "the message does not name the file: %s", err.msg);
  }

  /* ds_int8_model_open loads the checkpoint again: only worth it when there is a QAT state to build from. */
  ds_i8_model im;
  if (quantized && ds_int8_model_open(path, &im, &err) == 0) {
    use_int8(&im);
    ds_i8_model_free(&im);
  } else if (quantized) {
    fz_check_err(&err);
    FZ_REQUIRE(strstr(err.msg, path) != NULL, "the message does not name the file: %s", err.msg);
  }
  FZ_REQUIRE(fz_h5_open_objects() == 0, "%ld HDF5 objects left open", fz_h5_open_objects());
  return 0;
}
