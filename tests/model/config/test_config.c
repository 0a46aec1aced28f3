/* The .cfg parser: SPEC defaults, a file with every section, comments, overlays, write -> parse round
 * trips and --set overrides (errors and cross-key validation: test_config_errors.c). */
#define _POSIX_C_SOURCE 200809L
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model/config/config.h"
#include "tests/check.h"
#include "tests/model/config/config_fixture.h"

static void test_defaults(void) {
  ds_config c;
  ds_config_default(&c);
  CHECK(strcmp(c.run.name, "default") == 0);
  CHECK(c.run.out[0] == '\0');
  CHECK(c.teacher.path[0] == '\0');
  CHECK(strcmp(c.student.arch, "transformer") == 0);
  CHECK(c.student.dim == 128 && c.student.layers == 2 && c.student.heads == 4);
  CHECK(c.student.ffn_dim == 512 && c.student.max_len == 64);
  CHECK(c.student.pooling == DS_POOL_MEAN && c.student.out_dim == DS_OUT_DIM_TEACHER);
  CHECK(c.train.steps == 2000 && c.train.batch_size == 64 && c.train.lr == 1e-3);
  CHECK(c.train.warmup_steps == 100 && c.train.schedule == DS_SCHED_COSINE);
  CHECK(c.train.weight_decay == 0.01 && c.train.grad_clip == 1.0 && c.train.seed == 1);
  CHECK(c.train.threads == 0 && c.train.val_fraction == 0.1);
  CHECK(c.train.eval_every == 200 && c.train.save_every == 500);
  CHECK(c.train.log_every == 10 && c.train.quiet == 0 && c.train.token_dropout == 0.0);
  CHECK(c.loss.kd_weight == 1.0 && c.loss.temperature == 2.0 && c.loss.ce_weight == 0.0);
  CHECK(c.loss.emb_weight == 1.0 && c.loss.emb_loss == DS_EMB_COSINE);
  CHECK(c.loss.sim_weight == 0.0 && c.loss.sim_temperature == 0.05);
  CHECK(c.quant.enabled == 0 && c.quant.start_step == 0 && c.quant.weight_bits == 8 && c.quant.act_bits == 8);
  CHECK(c.quant.observer == DS_OBS_EMA && c.quant.ema_decay == 0.99);
  CHECK(c.quant.freeze_step == -1 && c.quant.learn_scales == 0);
  CHECK(c.prune.enabled == 0 && c.prune.heads == 0.0 && c.prune.ffn == 0.0 && c.prune.vocab == 0);
  CHECK(c.prune.start_step == 0 && c.prune.end_step == 0 && c.prune.every == 100);
  CHECK(c.prune.schedule == DS_PRUNE_CUBIC && c.prune.criterion == DS_CRIT_TAYLOR);
  CHECK(c.has_student == 0);
  ds_err err = {{0}};
  CHECK(ds_config_validate(&c, "defaults", &err) == 0);
}

/* Every key of every section, none at its default. */
static const char full_cfg[] =
    "[run]\n"
    "name = exp-7\n"
    "out = /tmp/out dir\n"
    "[teacher]\n"
    "path = experiments/data/teacher.h5\n"
    "[student]\n"
    "arch = transformer\n"
    "dim = 96\n"
    "layers = 3\n"
    "heads = 6\n"
    "ffn_dim = 384\n"
    "max_len = 128\n"
    "pooling = cls\n"
    "out_dim = 384\n"
    "[train]\n"
    "steps = 123456\n"
    "batch_size = 32\n"
    "lr = 3e-4\n"
    "warmup_steps = 0\n"
    "schedule = linear\n"
    "weight_decay = 0.1\n"
    "grad_clip = 0\n"
    "seed = 18446744073709551615\n"
    "threads = 4\n"
    "val_fraction = 0.25\n"
    "eval_every = 0\n"
    "save_every = 1000\n"
    "log_every = 5\n"
    "quiet = yes\n"
    "token_dropout = 0.15\n"
    "[loss]\n"
    "kd_weight = 0.5\n"
    "temperature = 4\n"
    "ce_weight = 0.25\n"
    "emb_weight = 2.5\n"
    "emb_loss = mse\n"
    "sim_weight = 0.1\n"
    "sim_temperature = 0.07\n"
    "[quant]\n"
    "enabled = on\n"
    "start_step = 500\n"
    "weight_bits = 4\n"
    "act_bits = 6\n"
    "observer = minmax\n"
    "ema_decay = 0.9\n"
    "freeze_step = 1500\n"
    "learn_scales = 1\n"
    "[prune]\n"
    "enabled = true\n"
    "heads = 0.5\n"
    "ffn = 0.75\n"
    "vocab = true\n"
    "start_step = 100\n"
    "end_step = 900\n"
    "every = 50\n"
    "schedule = cubic\n"
    "criterion = magnitude\n";

static void check_full(const ds_config *c) {
  CHECK(strcmp(c->run.name, "exp-7") == 0);
  CHECK(strcmp(c->run.out, "/tmp/out dir") == 0);
  CHECK(strcmp(c->teacher.path, "experiments/data/teacher.h5") == 0);
  CHECK(c->student.dim == 96 && c->student.layers == 3 && c->student.heads == 6);
  CHECK(c->student.ffn_dim == 384 && c->student.max_len == 128);
  CHECK(c->student.pooling == DS_POOL_CLS && c->student.out_dim == 384);
  CHECK(c->train.steps == 123456 && c->train.batch_size == 32 && c->train.lr == 3e-4);
  CHECK(c->train.warmup_steps == 0 && c->train.schedule == DS_SCHED_LINEAR);
  CHECK(c->train.weight_decay == 0.1 && c->train.grad_clip == 0.0);
  CHECK(c->train.seed == ULONG_MAX && c->train.threads == 4 && c->train.val_fraction == 0.25);
  CHECK(c->train.eval_every == 0 && c->train.save_every == 1000 && c->train.log_every == 5);
  CHECK(c->train.quiet == 1 && c->train.token_dropout == 0.15);
  CHECK(c->loss.kd_weight == 0.5 && c->loss.temperature == 4.0 && c->loss.ce_weight == 0.25);
  CHECK(c->loss.emb_weight == 2.5 && c->loss.emb_loss == DS_EMB_MSE);
  CHECK(c->loss.sim_weight == 0.1 && c->loss.sim_temperature == 0.07);
  CHECK(c->quant.enabled == 1 && c->quant.start_step == 500 && c->quant.weight_bits == 4);
  CHECK(c->quant.act_bits == 6 && c->quant.observer == DS_OBS_MINMAX && c->quant.ema_decay == 0.9);
  CHECK(c->quant.freeze_step == 1500 && c->quant.learn_scales == 1);
  CHECK(c->prune.enabled == 1 && c->prune.heads == 0.5 && c->prune.ffn == 0.75 && c->prune.vocab == 1);
  CHECK(c->prune.start_step == 100 && c->prune.end_step == 900 && c->prune.every == 50);
  CHECK(c->prune.schedule == DS_PRUNE_CUBIC && c->prune.criterion == DS_CRIT_MAGNITUDE);
  CHECK(c->has_student == 1);
}

static void test_full_file(void) {
  ds_config c;
  ds_err err = {{0}};
  ds_config_default(&c);
  const char *path = file_write("full.cfg", full_cfg);
  int rc = ds_config_parse_file(&c, path, &err);
  CHECK_MSG(rc == 0, "%s", err.msg);
  check_full(&c);
  CHECK(strcmp(c.source, path) == 0);

  /* The same text from memory gives the same config. */
  ds_config d;
  ds_config_default(&d);
  CHECK(ds_config_parse_string(&d, full_cfg, "inline", &err) == 0);
  CHECK(sections_equal(&c, &d));
}

static void test_comments(void) {
  const char *text =
      "# a whole-line comment\n"
      "; another one\n"
      "\n"
      "   \t\n"
      "  [student]   # trailing comment after a section\r\n"
      "dim=64\n"
      "\theads   =   8  ; trailing\n"
      "  layers = 4# not a comment: part of the value would fail, so it is not here\n";
  ds_config c;
  ds_err err = {{0}};
  ds_config_default(&c);
  /* Line 8 has '#' glued to the value: that is not a comment, so the value is "4#..." and wrong. */
  CHECK(ds_config_parse_string(&c, text, "comments.cfg", &err) == -1);
  CHECK_MSG(strstr(err.msg, "comments.cfg:8:") && strstr(err.msg, "expected an integer"), "%s", err.msg);

  const char *good =
      "# a whole-line comment\n"
      "; another one\n"
      "\n"
      "   \t\n"
      "  [student]   # trailing comment after a section\r\n"
      "dim=64\r\n"
      "\theads   =   8  ; trailing\n"
      "[teacher]\n"
      "path = a#b;c   # only the part after whitespace is a comment\n"
      "[run]\n"
      "name = x # y\n"
      "[train]\n"
      "lr = 5e-4\t# note";  /* no final newline */
  ds_config_default(&c);
  int rc = ds_config_parse_string(&c, good, "comments.cfg", &err);
  CHECK_MSG(rc == 0, "%s", err.msg);
  CHECK(c.student.dim == 64 && c.student.heads == 8);
  CHECK(strcmp(c.teacher.path, "a#b;c") == 0);
  CHECK(strcmp(c.run.name, "x") == 0);
  CHECK(c.train.lr == 5e-4);
  CHECK(c.student.layers == 2); /* untouched keys keep their values */
  CHECK(c.key_line[0] == 11);   /* [run] name is the table's first key */
}

static void test_overlay(void) {
  ds_config c;
  ds_err err = {{0}};
  ds_config_default(&c);
  CHECK(ds_config_parse_string(&c, "[student]\ndim = 256\nheads = 8\n", "a.cfg", &err) == 0);
  /* A second file needs no [student] once one was seen, and keeps what it does not set. */
  int rc = ds_config_parse_string(&c, "[train]\nsteps = 10\n", "b.cfg", &err);
  CHECK_MSG(rc == 0, "%s", err.msg);
  CHECK(c.student.dim == 256 && c.student.heads == 8 && c.train.steps == 10);
  CHECK(strcmp(c.source, "b.cfg") == 0);
  /* Lines from a.cfg are forgotten: they would be cited under b.cfg's name. */
  CHECK(c.key_line[4] == 0);

  ds_config_default(&c);
  c.has_student = 1;
  CHECK(ds_config_parse_string(&c, "[teacher]\npath = t.h5\n", "exp.cfg", &err) == 0);
  CHECK(strcmp(c.teacher.path, "t.h5") == 0);
}

/* Writes c to a file, parses it into a fresh config and checks the two agree field by field. */
static void roundtrip_check(const ds_config *c, const char *name) {
  char path[2048];
  snprintf(path, sizeof path, "%s/%s", tmp_dir, name);
  FILE *f = fopen(path, "w");
  CHECK(f != NULL);
  if (!f) return;
  CHECK(ds_config_write(c, f) == 0);
  fclose(f);
  ds_config back;
  ds_err err = {{0}};
  ds_config_default(&back);
  /* Start from values unlike c's so that a key the writer forgot would show. */
  back.train.steps = 7;
  back.loss.temperature = 9;
  int rc = ds_config_parse_file(&back, path, &err);
  CHECK_MSG(rc == 0, "%s: %s", name, err.msg);
  CHECK_MSG(sections_equal(c, &back), "%s: round trip differs", name);
}

static void test_roundtrip(void) {
  ds_config c;
  ds_err err = {{0}};
  ds_config_default(&c);
  roundtrip_check(&c, "defaults_out.cfg");

  ds_config_default(&c);
  CHECK(ds_config_parse_string(&c, full_cfg, "full.cfg", &err) == 0);
  roundtrip_check(&c, "full_out.cfg");

  /* Doubles that need all 17 digits, and the other out_dim forms. */
  ds_config_default(&c);
  c.train.lr = 0.1 + 0.2;
  c.train.weight_decay = 1.0 / 3.0;
  c.loss.sim_temperature = 1e-300;
  c.loss.kd_weight = 1.7976931348623157e308;
  c.quant.ema_decay = 0.9999999999999999;
  c.student.out_dim = 0;
  c.train.seed = 0;
  roundtrip_check(&c, "digits_out.cfg");

  /* The written text itself: every section, out_dim as a word, short doubles. */
  ds_config_default(&c);
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  CHECK(ds_config_write(&c, f) == 0);
  fclose(f);
  const char *want[] = {"[run]\n",     "[teacher]\n",        "[student]\n",     "[train]\n",
                        "[loss]\n",    "[quant]\n",          "[prune]\n",       "out_dim = teacher\n",
                        "lr = 0.001\n", "val_fraction = 0.1\n", "quiet = false\n", "freeze_step = -1\n",
                        "name = default\n", "path =\n",      "criterion = taylor\n"};
  for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
    CHECK_MSG(strstr(text, want[i]) != NULL, "missing '%s' in:\n%s", want[i], text);
  /* SPEC order: [teacher] before [student] before [train] ... before [prune]. */
  CHECK(strstr(text, "[teacher]") < strstr(text, "[student]"));
  CHECK(strstr(text, "[student]") < strstr(text, "[train]"));
  CHECK(strstr(text, "[quant]") < strstr(text, "[prune]"));
  free(text);
}

static void test_set(void) {
  ds_config c, before;
  ds_err err = {{0}};
  ds_config_default(&c);
  CHECK(ds_config_set(&c, "train.lr=5e-4", "--set", &err) == 0);
  CHECK(c.train.lr == 5e-4);
  CHECK(ds_config_set(&c, "  student.dim = 256 ", "--set", &err) == 0);
  CHECK(c.student.dim == 256);
  CHECK(ds_config_set(&c, "run.name=exp1", "--set", &err) == 0);
  CHECK(strcmp(c.run.name, "exp1") == 0);
  CHECK(ds_config_set(&c, "teacher.path=data/x=1.h5", "--set", &err) == 0);
  CHECK(strcmp(c.teacher.path, "data/x=1.h5") == 0);
  CHECK(ds_config_set(&c, "student.out_dim=teacher", "--set", &err) == 0);
  CHECK(c.student.out_dim == DS_OUT_DIM_TEACHER);
  CHECK(ds_config_set(&c, "quant.enabled=true", NULL, &err) == 0);
  CHECK(c.quant.enabled == 1);
  CHECK(ds_config_set(&c, "train.quiet=off", "--quiet", &err) == 0);
  CHECK(c.train.quiet == 0);

  /* An override wins over the file it follows. */
  ds_config_default(&c);
  CHECK(ds_config_parse_string(&c, "[student]\n[train]\nsteps = 100\n", "f.cfg", &err) == 0);
  CHECK(ds_config_set(&c, "train.steps=42", "--steps", &err) == 0);
  CHECK(c.train.steps == 42);

  struct {
    const char *assignment, *origin, *needle;
  } bad[] = {
      {"train.foo=1", "--set", "--set: unknown key 'foo' in [train]"},
      {"bogus.x=1", "--set", "--set: unknown section [bogus]"},
      {"lr=1", "--set", "--set: expected 'section.key=value'; got 'lr=1'"},
      {"train.lr", "--set", "expected 'section.key=value'"},
      {"train.lr=-1", "--lr", "--lr: [train] lr = -1 is out of range: must be > 0"},
      {"train.lr=fast", "--lr", "--lr: [train] lr: expected a finite number; got 'fast'"},
      {"train.steps=12abc", "--steps", "--steps: [train] steps: expected an integer"},
      {"student.layers=40", "--set", "--set: [student] layers = 40 is out of range: must be in [1, 32]"},
      {"student.pooling=max", "--set", "expected one of mean, cls"},
      {"quant.enabled=maybe", "--set", "expected a boolean"},
      {"run.name=a #b", "--set", "comment"},
      {"run.name=a\nb", "--set", "line break"},
      {"run.name=", "--set", "must not be empty"},
      {"student.arch=rnn", NULL, "--set: [student] arch: expected one of transformer"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    ds_config_default(&c);
    memcpy(&before, &c, sizeof c);
    err.msg[0] = '\0';
    CHECK_MSG(ds_config_set(&c, bad[i].assignment, bad[i].origin, &err) == -1, "%s", bad[i].assignment);
    CHECK_MSG(strstr(err.msg, bad[i].needle) != NULL, "want '%s' in: %s", bad[i].needle, err.msg);
    CHECK_MSG(memcmp(&c, &before, sizeof c) == 0, "%s changed the config", bad[i].assignment);
  }

  /* A string longer than its field is refused, not cut. */
  char long_name[400] = "run.name=";
  memset(long_name + 9, 'a', 300);
  long_name[309] = '\0';
  ds_config_default(&c);
  CHECK(ds_config_set(&c, long_name, "--set", &err) == -1);
  CHECK_MSG(strstr(err.msg, "too long") != NULL, "%s", err.msg);
}

int main(void) {
  if (tmp_dir_make("test_config")) return 1;
  test_defaults();
  test_full_file();
  test_comments();
  test_overlay();
  test_roundtrip();
  test_set();

  const char *names[] = {"full.cfg", "defaults_out.cfg", "full_out.cfg", "digits_out.cfg"};
  tmp_dir_remove(names, (int)(sizeof names / sizeof names[0]));
  return check_report();
}
