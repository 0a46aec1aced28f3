/* The .cfg parser's refusals: every error names its file:line (or file) and what is wrong, a failed parse
 * leaves the config as it was, and cross-key validation after files, flags and --set. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <string.h>

#include "model/config/config.h"
#include "tests/check.h"
#include "tests/model/config/config_fixture.h"

typedef struct {
  const char *text;
  int line;           /* 0: the message has no line, only "bad.cfg:" */
  const char *needle; /* a part of the message */
} error_case;

static const error_case error_cases[] = {
    {"[student]\n[bogus]\n", 2, "unknown section [bogus]"},
    {"[student]\n\n# c\nfoo = 1\n", 4, "unknown key 'foo' in [student]"},
    {"[train]\ndim = 64\n[student]\n", 2, "unknown key 'dim' in [train]"},
    {"dim = 3\n[student]\n", 1, "outside any section"},
    {"[student]\ndim 128\n", 2, "expected '[section]' or 'key = value'"},
    {"[student]\n= 128\n", 2, "key is missing"},
    {"[student\ndim = 1\n", 1, "expected ']'"},
    {"[student]\ndim = 64\nheads = 2\ndim = 32\n", 4, "duplicate key 'dim' in [student] (first set on line 2)"},
    {"[student]\ndim = 12x\n", 2, "[student] dim: expected an integer; got '12x'"},
    {"[student]\ndim = 1.5\n", 2, "expected an integer"},
    {"[student]\ndim =\n", 2, "expected an integer"},
    {"[student]\n[train]\nsteps = 99999999999999999999\n", 3, "out of range"},
    {"[student]\n[train]\nbatch_size = 3000000000\n", 3, "out of range: must be > 0 and fit in an int"},
    {"[student]\n[train]\nlr = abc\n", 3, "[train] lr: expected a finite number; got 'abc'"},
    {"[student]\n[train]\nlr = inf\n", 3, "finite number"},
    {"[student]\n[train]\nlr = nan\n", 3, "finite number"},
    {"[student]\n[train]\nlr = 1e-3x\n", 3, "finite number"},
    {"[student]\n[train]\nlr = 1e-3#x\n", 3, "finite number"},
    {"[student]\n[run]\nname =#x y\n", 3, "[run] name: value '#x y' starts with '#', which a written config"},
    {"[student]\n[run]\nname =;x\n", 3, "starts with ';'"},
    {"[student]\n[train]\nquiet = maybe\n", 3, "expected a boolean"},
    {"[student]\n[train]\nquiet = True\n", 3, "expected a boolean"},
    {"[student]\npooling = Mean\n", 2, "expected one of mean, cls; got 'Mean'"},
    {"[student]\n[train]\nschedule = step\n", 3, "expected one of cosine, linear, constant"},
    {"[student]\n[loss]\nemb_loss = l2\n", 3, "expected one of cosine, mse"},
    {"[student]\n[quant]\nobserver = max\n", 3, "expected one of ema, minmax"},
    {"[student]\n[prune]\nschedule = linear\n", 3, "expected one of cubic"},
    {"[student]\n[prune]\ncriterion = random\n", 3, "expected one of taylor, magnitude"},
    {"[student]\narch = lstm\n", 2, "expected one of transformer"},
    {"[student]\ndim = 0\n", 2, "[student] dim = 0 is out of range: must be in (0, 16384]"},
    {"[student]\ndim = 16385\n", 2, "must be in (0, 16384]"},
    {"[student]\nlayers = 33\n", 2, "[student] layers = 33 is out of range: must be in [1, 32]"},
    {"[student]\nlayers = 0\n", 2, "must be in [1, 32]"},
    {"[student]\nheads = -4\n", 2, "must be > 0"},
    {"[student]\nffn_dim = 0\n", 2, "ffn_dim = 0 is out of range"},
    {"[student]\nmax_len = 8193\n", 2, "must be in (0, 8192]"},
    {"[student]\nout_dim = -1\n", 2, "out_dim = -1 is out of range: must be >= 0"},
    {"[student]\nout_dim = big\n", 2, "expected 'teacher' or an integer >= 0"},
    {"[student]\n[train]\nsteps = 0\n", 3, "steps = 0 is out of range: must be > 0"},
    {"[student]\n[train]\nbatch_size = 0\n", 3, "must be > 0"},
    {"[student]\n[train]\nlr = 0\n", 3, "lr = 0 is out of range: must be > 0"},
    {"[student]\n[train]\nwarmup_steps = -1\n", 3, "must be >= 0"},
    {"[student]\n[train]\nweight_decay = -0.1\n", 3, "must be >= 0"},
    {"[student]\n[train]\ngrad_clip = -1\n", 3, "must be >= 0"},
    {"[student]\n[train]\nseed = -1\n", 3, "expected a non-negative integer"},
    {"[student]\n[train]\nseed = 99999999999999999999999\n", 3, "too large"},
    {"[student]\n[train]\nthreads = -2\n", 3, "must be >= 0"},
    {"[student]\n[train]\nval_fraction = 1\n", 3, "val_fraction = 1 is out of range: must be in [0, 1)"},
    {"[student]\n[train]\neval_every = -1\n", 3, "must be >= 0"},
    {"[student]\n[train]\nsave_every = -5\n", 3, "must be >= 0"},
    {"[student]\n[train]\nlog_every = 0\n", 3, "must be > 0"},
    {"[student]\n[loss]\ntemperature = 0\n", 3, "must be > 0"},
    {"[student]\n[loss]\nkd_weight = -1\n", 3, "must be >= 0"},
    {"[student]\n[loss]\nce_weight = -1\n", 3, "must be >= 0"},
    {"[student]\n[loss]\nemb_weight = -1\n", 3, "must be >= 0"},
    {"[student]\n[loss]\nsim_weight = -1\n", 3, "must be >= 0"},
    {"[student]\n[loss]\nsim_temperature = 0\n", 3, "must be > 0"},
    {"[student]\n[quant]\nweight_bits = 9\n", 3, "weight_bits = 9 is out of range: must be in [2, 8]"},
    {"[student]\n[quant]\nact_bits = 1\n", 3, "must be in [2, 8]"},
    {"[student]\n[quant]\nema_decay = 1\n", 3, "must be in (0, 1)"},
    {"[student]\n[quant]\nema_decay = 0\n", 3, "must be in (0, 1)"},
    {"[student]\n[quant]\nfreeze_step = -2\n", 3, "must be >= -1"},
    {"[student]\n[quant]\nstart_step = -1\n", 3, "must be >= 0"},
    {"[student]\n[prune]\nheads = 1.0\n", 3, "[prune] heads = 1.0 is out of range: must be in [0, 1)"},
    {"[student]\n[prune]\nffn = -0.1\n", 3, "must be in [0, 1)"},
    {"[student]\n[prune]\nevery = 0\n", 3, "must be > 0"},
    {"[student]\n[prune]\nend_step = -1\n", 3, "must be >= 0"},
    {"[run]\nname =\n[student]\n", 2, "must not be empty"},
    /* Cross-key checks point at the key's line. */
    {"[student]\ndim = 128\n# heads next\nheads = 3\n", 4, "[student] heads = 3 does not divide dim = 128"},
    {"[student]\n[prune]\nenabled = true\nstart_step = 100\nend_step = 50\n", 5,
     "[prune] end_step = 50 is before start_step = 100"},
    {"[student]\n[quant]\nenabled = true\nfreeze_step = 50\nstart_step = 100\n", 4,
     "[quant] freeze_step = 50 is before start_step = 100"},
    {"[train]\nsteps = 5\n", 0, "missing [student] section"},
    {"", 0, "missing [student] section"},
};

static void test_errors(void) {
  ds_config fresh;
  ds_config_default(&fresh);
  int n = (int)(sizeof error_cases / sizeof error_cases[0]);
  for (int i = 0; i < n; i++) {
    const error_case *e = &error_cases[i];
    ds_config c;
    ds_err err = {{0}};
    ds_config_default(&c);
    const char *path = file_write("bad.cfg", e->text);
    int rc = ds_config_parse_file(&c, path, &err);
    char where[64];
    if (e->line)
      snprintf(where, sizeof where, "bad.cfg:%d: ", e->line);
    else
      snprintf(where, sizeof where, "bad.cfg: ");
    CHECK_MSG(rc == -1, "case %d parsed: %s", i, e->text);
    CHECK_MSG(strstr(err.msg, where) != NULL, "case %d: want '%s' in: %s", i, where, err.msg);
    CHECK_MSG(strstr(err.msg, e->needle) != NULL, "case %d: want '%s' in: %s", i, e->needle, err.msg);
    /* A failed parse leaves the config as it was. */
    CHECK_MSG(memcmp(&c, &fresh, sizeof c) == 0, "case %d changed the config", i);
  }

  ds_config c;
  ds_err err = {{0}};
  ds_config_default(&c);
  char missing[2048];
  snprintf(missing, sizeof missing, "%s/nope.cfg", tmp_dir);
  CHECK(ds_config_parse_file(&c, missing, &err) == -1);
  CHECK_MSG(strstr(err.msg, "nope.cfg: cannot open") != NULL, "%s", err.msg);
  CHECK(ds_config_parse_file(&c, tmp_dir, &err) == -1); /* a directory */
  CHECK_MSG(strstr(err.msg, tmp_dir) != NULL, "%s", err.msg);

  /* A NULL error pointer is allowed. */
  CHECK(ds_config_parse_string(&c, "[nope]\n", "x.cfg", NULL) == -1);
}

static void test_validate(void) {
  ds_config c;
  ds_err err = {{0}};
  ds_config_default(&c);
  c.student.heads = 5;
  CHECK(ds_config_validate(&c, "flags", &err) == -1);
  CHECK_MSG(strstr(err.msg, "flags: [student] heads = 5 does not divide dim = 128") != NULL, "%s", err.msg);

  ds_config_default(&c);
  c.train.steps = 0; /* a field set directly, e.g. by a CLI flag */
  CHECK(ds_config_validate(&c, "--steps", &err) == -1);
  CHECK_MSG(strstr(err.msg, "--steps: [train] steps = 0 is out of range: must be > 0") != NULL, "%s", err.msg);

  ds_config_default(&c);
  c.student.heads = 0; /* must be refused before dim % heads is taken */
  CHECK(ds_config_validate(&c, "x", &err) == -1);
  CHECK_MSG(strstr(err.msg, "heads = 0 is out of range") != NULL, "%s", err.msg);

  ds_config_default(&c);
  c.student.pooling = (ds_pooling)7;
  CHECK(ds_config_validate(&c, "x", &err) == -1);
  CHECK_MSG(strstr(err.msg, "pooling") != NULL, "%s", err.msg);

  /* Prune and quant ordering only matter when enabled. */
  ds_config_default(&c);
  c.prune.start_step = 10;
  c.prune.end_step = 5;
  c.quant.start_step = 10;
  c.quant.freeze_step = 5;
  CHECK(ds_config_validate(&c, "x", &err) == 0);
  c.quant.enabled = 1;
  CHECK(ds_config_validate(&c, "x", &err) == -1);
  CHECK_MSG(strstr(err.msg, "x: [quant] freeze_step = 5 is before start_step = 10") != NULL, "%s", err.msg);
  c.quant.freeze_step = -1;
  CHECK(ds_config_validate(&c, "x", &err) == 0);
  c.prune.enabled = 1;
  CHECK(ds_config_validate(&c, "x", &err) == -1);
  CHECK_MSG(strstr(err.msg, "x: [prune] end_step = 5 is before start_step = 10") != NULL, "%s", err.msg);

  /* After a file, a key overridden by --set is no longer cited with the file's line. */
  ds_config_default(&c);
  CHECK(ds_config_parse_string(&c, "[student]\ndim = 128\nheads = 4\n", "f.cfg", &err) == 0);
  CHECK(ds_config_set(&c, "student.heads=3", "--set", &err) == 0);
  CHECK(ds_config_validate(&c, "--set", &err) == -1);
  CHECK_MSG(strstr(err.msg, "--set: [student] heads = 3") != NULL, "%s", err.msg);
  CHECK(strstr(err.msg, "f.cfg:3") == NULL);
}

int main(void) {
  if (tmp_dir_make("test_config_errors")) return 1;
  test_errors();
  test_validate();
  const char *names[] = {"bad.cfg"};
  tmp_dir_remove(names, 1);
  return check_report();
}
