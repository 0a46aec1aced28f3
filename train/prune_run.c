#include "train/prune_run.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/model.h"
#include "quant/qat/qat.h"
#include "train/prune.h"
#include "train/prune_vocab.h"

int ds_prune_open(ds_trainer *tr, ds_err *err) {
  const ds_config *c = &tr->cfg;
  const char *src = c->source[0] ? c->source : "config";
  /* A static student has no heads or FFN neurons to remove: only its vocabulary can be pruned. */
  if (tr->model.shape.arch == DS_ARCH_STATIC && (c->prune.heads > 0 || c->prune.ffn > 0))
    return ds_fail(err, "%s: [prune] %s = %g: a static student (arch = static) has no attention heads or FFN "
                        "neurons; set heads = 0 and ffn = 0 (vocab = true prunes its token table)", src,
                   c->prune.heads > 0 ? "heads" : "ffn", c->prune.heads > 0 ? c->prune.heads : c->prune.ffn);
  if (c->prune.end_step > c->train.steps)
    return ds_fail(err, "%s: [prune] end_step = %ld is after the last step (%ld): the schedule would not reach "
                        "its final sparsity", src, c->prune.end_step, c->train.steps);
  return ds_prune_state_init(&tr->prune, &tr->model.shape, err);
}

int ds_prune_settled(const ds_prune_cfg *c, long step) { return !c->enabled || step >= c->end_step; }

void ds_prune_after_backward(ds_trainer *tr) {
  const ds_prune_cfg *c = &tr->cfg.prune;
  /* Scores count from one interval before the first event (a one-shot schedule has only that one) until the
   * last event; tr->step + 1 is the step being taken. */
  const long t = tr->step + 1;
  if (c->enabled && c->criterion == DS_CRIT_TAYLOR && !tr->prune.compacted && t > c->start_step - c->every &&
      t <= c->end_step)
    ds_prune_accumulate(&tr->prune, &tr->model);
}

static void zero_masked_everywhere(ds_trainer *tr) {
  ds_compact_zero_masked(&tr->model, tr->model.params);
  ds_compact_zero_masked(&tr->model, tr->adam_m);
  ds_compact_zero_masked(&tr->model, tr->adam_v);
}

static int vocab_prune(ds_trainer *tr, char *log, size_t n, ds_err *err) {
  ds_vocab_map *vm = NULL;
  int kept = 0;
  if (ds_prune_vocab_map_build(&vm, tr->teacher, tr->cfg.train.val_fraction, tr->cfg.train.seed,
                               tr->model.shape.max_len, (const char *const *)tr->vocab, tr->n_vocab, &kept, err))
    return -1;
  tr->model.vocab_map = vm;
  snprintf(log, n, "pruning: vocabulary: %d of %d embedding rows kept (ids in the training rows, pad id %d, "
                   "unk id %d); the other %d ids now read the row of id %d\n", kept, vm->n_ids,
           ds_teacher_get_info(tr->teacher)->pad_id, vm->unk_id, vm->n_ids - kept, vm->unk_id);
  return 0;
}

int ds_prune_compact(ds_trainer *tr, ds_err *err) {
  ds_compact_plan p;
  if (ds_compact_plan_make(&p, &tr->model, err)) return -1;
  int rc = -1;
  if (ds_compact_buffer(&p, &tr->adam_m, err) || ds_compact_buffer(&p, &tr->adam_v, err) ||
      ds_compact_student(&p, &tr->model, err))
    goto done;
  ds_prune_state_free(&tr->prune);
  if (ds_prune_state_init(&tr->prune, &tr->model.shape, err)) goto done;
  tr->prune.compacted = 1;
  rc = 0;
done:
  ds_compact_plan_free(&p);
  return rc;
}

int ds_prune_after_step(ds_trainer *tr, char *log, size_t n, ds_err *err) {
  const ds_prune_cfg *c = &tr->cfg.prune;
  log[0] = '\0';
  if (!c->enabled || tr->prune.compacted) return 0;
  ds_student *m = &tr->model;
  size_t at = 0;
  char desc[512];
  if (ds_prune_is_event(c, tr->step)) {
    if (c->vocab && !m->vocab_map && vocab_prune(tr, log, n, err)) return -1;
    at = strlen(log);
    if (ds_prune_event(&tr->prune, m, c, tr->step, err) < 0) return -1;
    if (m->shape.arch == DS_ARCH_STATIC) /* only the vocabulary */
      snprintf(log + at, n - at, "pruning at step %ld: %s\n", tr->step, ds_compact_describe(m, 1, desc, sizeof desc));
    else
      snprintf(log + at, n - at, "pruning at step %ld: %.3f of heads, %.3f of FFN neurons removed: %s\n", tr->step,
               ds_prune_sparsity_at(c, c->heads, tr->step), ds_prune_sparsity_at(c, c->ffn, tr->step),
               ds_compact_describe(m, 1, desc, sizeof desc));
    at = strlen(log);
  }
  zero_masked_everywhere(tr);
  if (tr->step == tr->cfg.train.steps) {
    snprintf(log + at, n - at, "pruning: structure before: %s\n", ds_compact_describe(m, 0, desc, sizeof desc));
    at = strlen(log);
    if (ds_prune_compact(tr, err)) return -1;
    snprintf(log + at, n - at, "pruning: structure after compaction: %s\n",
             ds_compact_describe(&tr->model, 1, desc, sizeof desc));
  }
  /* One line per entry; the caller adds the final newline. */
  at = strlen(log);
  if (at > 0 && log[at - 1] == '\n') log[at - 1] = '\0';
  return 0;
}

const char *ds_prune_form(const ds_trainer *tr) { return tr->prune.compacted ? "compact" : "masked"; }

int ds_prune_ckpt_write(const ds_trainer *tr, ds_ckpt_writer *w, ds_err *err) {
  const ds_vocab_map *vm = tr->model.vocab_map;
  if (vm) {
    const int64_t n = vm->n_ids;
    if (ds_ckpt_write_i32(w, "/vocab_map", 1, &n, vm->row, err) ||
        ds_ckpt_write_attr_i64(w, "vocab_unk_id", vm->unk_id, err))
      return -1;
  }
  if (tr->prune.mem && !tr->prune.compacted) {
    const int64_t n = (int64_t)tr->prune.n;
    if (ds_ckpt_write_f32(w, "/prune/scores", 1, &n, tr->prune.mem, err)) return -1;
  }
  return 0;
}

static int form_is_compact(ds_ckpt_reader *r, int *compact, ds_err *err) {
  *compact = 0;
  if (!ds_ckpt_has_attr(r, "form")) return 0;
  char *form = NULL;
  if (ds_ckpt_read_attr_str(r, "form", &form, err)) return -1;
  *compact = strcmp(form, "compact") == 0;
  const int known = *compact || strcmp(form, "masked") == 0;
  free(form);
  return known ? 0 : ds_fail(err, "%s: unknown checkpoint form (neither masked nor compact)", ds_ckpt_path(r));
}

/* A compaction of `full` keeps every size but the per-layer head and FFN counts and the vocabulary,
 * which may only shrink. */
static int is_compaction_of(const ds_student_shape *s, const ds_student_shape *full) {
  ds_student_shape t = *s;
  for (int l = 0; l < s->n_layers && l < DS_MAX_LAYERS; l++) {
    if (s->heads[l] < 1 || s->heads[l] > full->heads[l] || s->ffn[l] < 1 || s->ffn[l] > full->ffn[l]) return 0;
    t.heads[l] = full->heads[l];
    t.ffn[l] = full->ffn[l];
  }
  if (s->vocab < 1 || s->vocab > full->vocab) return 0;
  t.vocab = full->vocab;
  return memcmp(&t, full, sizeof t) == 0;
}

int ds_prune_ckpt_adopt_shape(ds_trainer *tr, ds_ckpt_reader *r, const ds_student_shape *s, ds_err *err) {
  int compact;
  if (form_is_compact(r, &compact, err)) return -1;
  if (!compact) return 0;
  if (!is_compaction_of(s, &tr->model.shape))
    return ds_fail(err, "%s: the compacted student in this checkpoint is not a compaction of this run's [student]",
                   ds_ckpt_path(r));
  ds_student m;
  if (ds_student_init(&m, s, err)) return -1;
  m.naive = tr->model.naive;
  m.keep_padding = tr->model.keep_padding;
  /* A QAT run's model carries a QAT state: give the compact one its own, for the checkpoint to fill. */
  if (tr->model.qat && ds_student_qat_attach(&m, &tr->model.qat->cfg, err)) {
    ds_student_free(&m);
    return -1;
  }
  float *am = calloc(m.table.n_params, sizeof(float)), *av = calloc(m.table.n_params, sizeof(float));
  if (!am || !av) {
    free(am);
    free(av);
    ds_student_free(&m);
    return ds_fail(err, "out of memory for the optimizer state of the compacted student");
  }
  ds_student_free(&tr->model);
  tr->model = m;
  free(tr->adam_m);
  free(tr->adam_v);
  tr->adam_m = am;
  tr->adam_v = av;
  ds_prune_state_free(&tr->prune);
  if (ds_prune_state_init(&tr->prune, s, err)) return -1;
  tr->prune.compacted = 1;
  return 0;
}

int ds_prune_ckpt_read_vocab_map(ds_ckpt_reader *r, ds_student *m, ds_err *err) {
  if (!ds_ckpt_has(r, "/vocab_map")) return 0;
  int ndim;
  int64_t shape[DS_CKPT_MAX_DIMS], unk = 0;
  if (ds_ckpt_shape(r, "/vocab_map", &ndim, shape, NULL, err)) return -1;
  if (ndim != 1 || shape[0] < 1 || shape[0] > INT32_MAX)
    return ds_fail(err, "%s: /vocab_map must be one-dimensional and non-empty", ds_ckpt_path(r));
  ds_vocab_map *vm = NULL;
  if (ds_vocab_map_init(&vm, (int)shape[0], err)) return -1;
  if (ds_ckpt_read_i32(r, "/vocab_map", 1, shape, vm->row, err) ||
      (ds_ckpt_has_attr(r, "vocab_unk_id") && ds_ckpt_read_attr_i64(r, "vocab_unk_id", &unk, err))) {
    ds_vocab_map_free(vm);
    return -1;
  }
  vm->unk_id = (int32_t)unk;
  for (int i = 0; i < vm->n_ids; i++)
    if (vm->row[i] < 0 || vm->row[i] >= m->shape.vocab) {
      const int32_t bad = vm->row[i];
      ds_vocab_map_free(vm);
      return ds_fail(err, "%s: /vocab_map maps id %d to row %d, outside the embedding table [0, %d)",
                     ds_ckpt_path(r), i, bad, m->shape.vocab);
    }
  ds_vocab_map_free(m->vocab_map);
  m->vocab_map = vm;
  return 0;
}

int ds_prune_ckpt_read(ds_trainer *tr, ds_ckpt_reader *r, ds_err *err) {
  if (ds_prune_ckpt_read_vocab_map(r, &tr->model, err)) return -1;
  if (tr->prune.mem && !tr->prune.compacted && ds_ckpt_has(r, "/prune/scores")) {
    const int64_t n = (int64_t)tr->prune.n;
    if (ds_ckpt_read_f32(r, "/prune/scores", 1, &n, tr->prune.mem, err)) return -1;
  }
  return 0;
}
