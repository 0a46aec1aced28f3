/* The strict .cfg parser. One table lists every key with its type, place in ds_config and
 * allowed range; parsing, --set overrides, validation and writing all walk that table, so a key
 * added there is parsed, checked and written back without further edits. */
#include "model/config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "model/student.h"

typedef enum { KIND_INT, KIND_LONG, KIND_ULONG, KIND_DOUBLE, KIND_BOOL, KIND_ENUM, KIND_STR, KIND_OUT_DIM } key_kind;

typedef struct {
  const char *section, *name;
  key_kind kind;
  size_t offset, size;      /* of the field in ds_config; size bounds strings */
  /* Numbers: allowed interval, each end open or closed. Strings: lo is the minimum length. */
  double lo, hi;
  int lo_open, hi_open;
  const char *const *words; /* enum words (value = index), or the only strings allowed */
} cfg_key;

static const char *const pooling_words[] = {"mean", "cls", NULL};
static const char *const schedule_words[] = {"cosine", "linear", "constant", NULL};
static const char *const emb_loss_words[] = {"cosine", "mse", NULL};
static const char *const observer_words[] = {"ema", "minmax", NULL};
static const char *const prune_schedule_words[] = {"cubic", NULL};
static const char *const criterion_words[] = {"taylor", "magnitude", NULL};
static const char *const arch_words[] = {"transformer", "static", NULL};
static const char *const init_words[] = {"teacher", "random", NULL};
static const char *const token_weights_words[] = {"none", "zipf", "sif", NULL};
static const char *const hidden_loss_words[] = {"mse", "cosine", NULL};

#define FIELD(sec, f) offsetof(ds_config, sec.f), sizeof(((ds_config *)0)->sec.f)
#define NUM(kind, sec, f, lo, lo_open, hi, hi_open) {#sec, #f, kind, FIELD(sec, f), lo, hi, lo_open, hi_open, NULL}
#define ENUM(sec, f, words) {#sec, #f, KIND_ENUM, FIELD(sec, f), 0, 0, 0, 0, words}
#define BOOL(sec, f) {#sec, #f, KIND_BOOL, FIELD(sec, f), 0, 1, 0, 0, NULL}
#define STR(sec, f, min_len, words) {#sec, #f, KIND_STR, FIELD(sec, f), min_len, 0, 0, 0, words}
#define OPEN 1
#define SHUT 0
#define INF INFINITY

/* SPEC.md order: ds_config_write() prints the keys in this order. */
static const cfg_key keys[] = {
    STR(run, name, 1, NULL),
    STR(run, out, 0, NULL),
    STR(teacher, path, 0, NULL),
    STR(student, arch, 1, arch_words),
    NUM(KIND_INT, student, dim, 0, OPEN, DS_MAX_DIM, SHUT),
    NUM(KIND_INT, student, layers, 1, SHUT, DS_MAX_LAYERS, SHUT),
    NUM(KIND_INT, student, heads, 0, OPEN, INF, OPEN),
    NUM(KIND_INT, student, ffn_dim, 0, OPEN, DS_MAX_FFN, SHUT),
    NUM(KIND_INT, student, max_len, 0, OPEN, DS_MAX_SEQ_LEN, SHUT),
    ENUM(student, pooling, pooling_words),
    NUM(KIND_OUT_DIM, student, out_dim, 0, SHUT, INF, OPEN),
    ENUM(student, init, init_words),
    ENUM(student, token_weights, token_weights_words),
    NUM(KIND_LONG, train, steps, 0, OPEN, INF, OPEN),
    NUM(KIND_INT, train, batch_size, 0, OPEN, INF, OPEN),
    NUM(KIND_DOUBLE, train, lr, 0, OPEN, INF, OPEN),
    NUM(KIND_LONG, train, warmup_steps, 0, SHUT, INF, OPEN),
    ENUM(train, schedule, schedule_words),
    NUM(KIND_DOUBLE, train, weight_decay, 0, SHUT, INF, OPEN),
    NUM(KIND_DOUBLE, train, grad_clip, 0, SHUT, INF, OPEN),
    NUM(KIND_ULONG, train, seed, 0, SHUT, INF, OPEN),
    NUM(KIND_INT, train, threads, 0, SHUT, INF, OPEN),
    NUM(KIND_DOUBLE, train, val_fraction, 0, SHUT, 1, OPEN),
    NUM(KIND_LONG, train, eval_every, 0, SHUT, INF, OPEN),
    NUM(KIND_LONG, train, save_every, 0, SHUT, INF, OPEN),
    NUM(KIND_LONG, train, log_every, 0, OPEN, INF, OPEN),
    BOOL(train, quiet),
    NUM(KIND_INT, train, token_rows, 0, SHUT, 1 << 16, SHUT),
    NUM(KIND_DOUBLE, loss, kd_weight, 0, SHUT, INF, OPEN),
    NUM(KIND_DOUBLE, loss, temperature, 0, OPEN, INF, OPEN),
    NUM(KIND_DOUBLE, loss, ce_weight, 0, SHUT, INF, OPEN),
    NUM(KIND_DOUBLE, loss, emb_weight, 0, SHUT, INF, OPEN),
    ENUM(loss, emb_loss, emb_loss_words),
    NUM(KIND_DOUBLE, loss, sim_weight, 0, SHUT, INF, OPEN),
    NUM(KIND_DOUBLE, loss, sim_temperature, 0, OPEN, INF, OPEN),
    NUM(KIND_DOUBLE, loss, hidden_weight, 0, SHUT, INF, OPEN),
    ENUM(loss, hidden_loss, hidden_loss_words),
    BOOL(quant, enabled),
    NUM(KIND_LONG, quant, start_step, 0, SHUT, INF, OPEN),
    NUM(KIND_INT, quant, weight_bits, 2, SHUT, 8, SHUT),
    NUM(KIND_INT, quant, act_bits, 2, SHUT, 8, SHUT),
    ENUM(quant, observer, observer_words),
    NUM(KIND_DOUBLE, quant, ema_decay, 0, OPEN, 1, OPEN),
    NUM(KIND_LONG, quant, freeze_step, -1, SHUT, INF, OPEN),
    BOOL(quant, learn_scales),
    BOOL(prune, enabled),
    NUM(KIND_DOUBLE, prune, heads, 0, SHUT, 1, OPEN),
    NUM(KIND_DOUBLE, prune, ffn, 0, SHUT, 1, OPEN),
    BOOL(prune, vocab),
    NUM(KIND_LONG, prune, start_step, 0, SHUT, INF, OPEN),
    NUM(KIND_LONG, prune, end_step, 0, SHUT, INF, OPEN),
    NUM(KIND_LONG, prune, every, 0, OPEN, INF, OPEN),
    ENUM(prune, schedule, prune_schedule_words),
    ENUM(prune, criterion, criterion_words),
};
#define N_KEYS ((int)(sizeof keys / sizeof keys[0]))
_Static_assert(sizeof keys / sizeof keys[0] <= DS_CONFIG_MAX_KEYS, "raise DS_CONFIG_MAX_KEYS");
/* Enum fields are read and written through int pointers. */
_Static_assert(sizeof(ds_pooling) == sizeof(int) && sizeof(ds_schedule) == sizeof(int) &&
                   sizeof(ds_emb_loss) == sizeof(int) && sizeof(ds_observer) == sizeof(int) &&
                   sizeof(ds_prune_schedule) == sizeof(int) && sizeof(ds_prune_criterion) == sizeof(int) &&
                   sizeof(ds_init_kind) == sizeof(int) && sizeof(ds_token_weights) == sizeof(int) &&
                   sizeof(ds_hidden_loss) == sizeof(int),
               "enums must be int-sized");

static const char *const bool_true[] = {"true", "yes", "on", "1", NULL};
static const char *const bool_false[] = {"false", "no", "off", "0", NULL};

void ds_config_default(ds_config *c) {
  memset(c, 0, sizeof *c);
  strcpy(c->run.name, "default");
  c->student = (ds_student_cfg){.dim = 128, .layers = 2, .heads = 4, .ffn_dim = 512, .max_len = 64,
                                .pooling = DS_POOL_MEAN, .out_dim = DS_OUT_DIM_TEACHER,
                                .init = DS_INIT_TEACHER, .token_weights = DS_TOKW_NONE};
  strcpy(c->student.arch, "transformer");
  c->train = (ds_train_cfg){.steps = 2000, .batch_size = 64, .lr = 1e-3, .warmup_steps = 100,
                            .schedule = DS_SCHED_COSINE, .weight_decay = 0.01, .grad_clip = 1.0, .seed = 1,
                            .threads = 0, .val_fraction = 0.1, .eval_every = 200, .save_every = 500,
                            .log_every = 10, .quiet = 0};
  c->loss = (ds_loss_cfg){.kd_weight = 1.0, .temperature = 2.0, .ce_weight = 0.0, .emb_weight = 1.0,
                          .emb_loss = DS_EMB_COSINE, .sim_weight = 0.0, .sim_temperature = 0.05,
                          .hidden_weight = 0.0, .hidden_loss = DS_HIDDEN_MSE};
  c->quant = (ds_quant_cfg){.enabled = 0, .start_step = 0, .weight_bits = 8, .act_bits = 8,
                            .observer = DS_OBS_EMA, .ema_decay = 0.99, .freeze_step = -1, .learn_scales = 0};
  c->prune = (ds_prune_cfg){.enabled = 0, .heads = 0.0, .ffn = 0.0, .vocab = 0, .start_step = 0,
                            .end_step = 0, .every = 100, .schedule = DS_PRUNE_CUBIC,
                            .criterion = DS_CRIT_TAYLOR};
}

/* ---- the table ---- */

static int section_known(const char *section) {
  for (int i = 0; i < N_KEYS; i++)
    if (strcmp(keys[i].section, section) == 0) return 1;
  return 0;
}

static int key_find(const char *section, const char *name) {
  for (int i = 0; i < N_KEYS; i++)
    if (strcmp(keys[i].section, section) == 0 && strcmp(keys[i].name, name) == 0) return i;
  return -1;
}

static void *key_ptr(const cfg_key *k, ds_config *c) { return (char *)c + k->offset; }
static const void *key_cptr(const cfg_key *k, const ds_config *c) { return (const char *)c + k->offset; }

static void words_join(const char *const *words, char *buf, size_t n) {
  buf[0] = '\0';
  for (int i = 0; words[i]; i++) {
    size_t used = strlen(buf);
    snprintf(buf + used, n - used, "%s%s", i ? ", " : "", words[i]);
  }
}

static void sections_join(char *buf, size_t n) {
  buf[0] = '\0';
  for (int i = 0; i < N_KEYS; i++) {
    if (i > 0 && strcmp(keys[i].section, keys[i - 1].section) == 0) continue;
    size_t used = strlen(buf);
    snprintf(buf + used, n - used, "%s%s", i ? ", " : "", keys[i].section);
  }
}

static void range_text(const cfg_key *k, char *buf, size_t n) {
  if (isinf(k->hi))
    snprintf(buf, n, "must be %s %g", k->lo_open ? ">" : ">=", k->lo);
  else
    snprintf(buf, n, "must be in %c%g, %g%c", k->lo_open ? '(' : '[', k->lo, k->hi, k->hi_open ? ')' : ']');
}

static int in_range(const cfg_key *k, double v) {
  if (k->lo_open ? !(v > k->lo) : !(v >= k->lo)) return 0;
  if (k->hi_open ? !(v < k->hi) : !(v <= k->hi)) return 0;
  return 1;
}

static int word_index(const char *const *words, const char *s) {
  for (int i = 0; words[i]; i++)
    if (strcmp(words[i], s) == 0) return i;
  return -1;
}

/* ---- values ---- */

/* Whole-string integer: no trailing junk, no overflow. */
static int parse_ll(const char *s, long long *out) {
  char *end;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (end == s || *end != '\0' || isspace((unsigned char)*s)) return -1;
  if (errno == ERANGE) return -2;
  *out = v;
  return 0;
}

static int parse_ull(const char *s, unsigned long long *out) {
  char *end;
  if (*s == '-' || isspace((unsigned char)*s)) return -1;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (end == s || *end != '\0') return -1;
  if (errno == ERANGE) return -2;
  *out = v;
  return 0;
}

/* Parses v as key k and stores it into c; nothing is stored on failure. `where` prefixes errors. */
static int key_assign(const cfg_key *k, ds_config *c, const char *v, const char *where, ds_err *err) {
  void *dst = key_ptr(k, c);
  char text[256];
  long long ll = 0;
  int rc, overflow = 0;
  switch (k->kind) {
  case KIND_STR:
    if (strlen(v) >= k->size)
      return ds_fail(err, "%s: [%s] %s: value is too long (at most %zu characters)", where, k->section, k->name,
                     k->size - 1);
    if (strlen(v) < (size_t)k->lo) return ds_fail(err, "%s: [%s] %s: value must not be empty", where, k->section, k->name);
    if (k->words && word_index(k->words, v) < 0) {
      words_join(k->words, text, sizeof text);
      return ds_fail(err, "%s: [%s] %s: expected one of %s; got '%s'", where, k->section, k->name, text, v);
    }
    memcpy(dst, v, strlen(v) + 1);
    return 0;
  case KIND_ENUM: {
    int i = word_index(k->words, v);
    if (i < 0) {
      words_join(k->words, text, sizeof text);
      return ds_fail(err, "%s: [%s] %s: expected one of %s; got '%s'", where, k->section, k->name, text, v);
    }
    *(int *)dst = i;
    return 0;
  }
  case KIND_BOOL:
    if (word_index(bool_true, v) >= 0) {
      *(int *)dst = 1;
    } else if (word_index(bool_false, v) >= 0) {
      *(int *)dst = 0;
    } else {
      return ds_fail(err, "%s: [%s] %s: expected a boolean (true, false, yes, no, on, off, 1, 0); got '%s'", where,
                     k->section, k->name, v);
    }
    return 0;
  case KIND_DOUBLE: {
    char *end;
    double d = strtod(v, &end);
    if (end == v || *end != '\0' || isspace((unsigned char)*v) || !isfinite(d))
      return ds_fail(err, "%s: [%s] %s: expected a finite number; got '%s'", where, k->section, k->name, v);
    if (!in_range(k, d)) {
      range_text(k, text, sizeof text);
      return ds_fail(err, "%s: [%s] %s = %s is out of range: %s", where, k->section, k->name, v, text);
    }
    *(double *)dst = d;
    return 0;
  }
  case KIND_ULONG: {
    unsigned long long u;
    rc = parse_ull(v, &u);
    if (rc == -1)
      return ds_fail(err, "%s: [%s] %s: expected a non-negative integer; got '%s'", where, k->section, k->name, v);
    if (rc == -2 || u > ULONG_MAX)
      return ds_fail(err, "%s: [%s] %s = %s is too large (at most %lu)", where, k->section, k->name, v, ULONG_MAX);
    *(unsigned long *)dst = (unsigned long)u;
    return 0;
  }
  case KIND_OUT_DIM:
    if (strcmp(v, "teacher") == 0) {
      *(int *)dst = DS_OUT_DIM_TEACHER;
      return 0;
    }
    rc = parse_ll(v, &ll);
    if (rc == -1)
      return ds_fail(err, "%s: [%s] %s: expected 'teacher' or an integer >= 0; got '%s'", where, k->section,
                     k->name, v);
    overflow = rc == -2;
    break;
  case KIND_INT:
  case KIND_LONG:
    rc = parse_ll(v, &ll);
    if (rc == -1)
      return ds_fail(err, "%s: [%s] %s: expected an integer; got '%s'", where, k->section, k->name, v);
    overflow = rc == -2;
    break;
  }
  /* Integer kinds: fit the field's type, then the key's range. */
  long long tmin = k->kind == KIND_LONG ? LONG_MIN : INT_MIN;
  long long tmax = k->kind == KIND_LONG ? LONG_MAX : INT_MAX;
  range_text(k, text, sizeof text);
  if (overflow || ll < tmin || ll > tmax)
    return ds_fail(err, "%s: [%s] %s = %s is out of range: %s and fit in a%s", where, k->section, k->name, v, text,
                   k->kind == KIND_LONG ? " long" : "n int");
  if (!in_range(k, (double)ll))
    return ds_fail(err, "%s: [%s] %s = %s is out of range: %s", where, k->section, k->name, v, text);
  if (k->kind == KIND_LONG)
    *(long *)dst = (long)ll;
  else
    *(int *)dst = (int)ll;
  return 0;
}

/* The value as a number, for range checks; NAN for non-numeric kinds. */
static double key_number(const cfg_key *k, const ds_config *c) {
  const void *p = key_cptr(k, c);
  switch (k->kind) {
  case KIND_INT:
  case KIND_OUT_DIM: return *(const int *)p;
  case KIND_LONG: return (double)*(const long *)p;
  case KIND_ULONG: return (double)*(const unsigned long *)p;
  case KIND_DOUBLE: return *(const double *)p;
  default: return NAN;
  }
}

/* Shortest %g form that reads back as the same double (at most %.17g). */
static void double_format(double d, char *buf, size_t n) {
  for (int prec = 15; prec <= 17; prec++) {
    snprintf(buf, n, "%.*g", prec, d);
    if (strtod(buf, NULL) == d) return;
  }
}

static void key_format(const cfg_key *k, const ds_config *c, char *buf, size_t n) {
  const void *p = key_cptr(k, c);
  int i;
  switch (k->kind) {
  case KIND_INT: snprintf(buf, n, "%d", *(const int *)p); break;
  case KIND_LONG: snprintf(buf, n, "%ld", *(const long *)p); break;
  case KIND_ULONG: snprintf(buf, n, "%lu", *(const unsigned long *)p); break;
  case KIND_DOUBLE: double_format(*(const double *)p, buf, n); break;
  case KIND_BOOL: snprintf(buf, n, "%s", *(const int *)p ? "true" : "false"); break;
  case KIND_STR: snprintf(buf, n, "%s", (const char *)p); break;
  case KIND_OUT_DIM:
    i = *(const int *)p;
    if (i == DS_OUT_DIM_TEACHER)
      snprintf(buf, n, "teacher");
    else
      snprintf(buf, n, "%d", i);
    break;
  case KIND_ENUM:
    i = *(const int *)p;
    for (int w = 0; k->words[w]; w++)
      if (w == i) {
        snprintf(buf, n, "%s", k->words[w]);
        return;
      }
    snprintf(buf, n, "<invalid %d>", i);
    break;
  }
}

/* ---- lines ---- */

static char *trim(char *s) {
  while (isspace((unsigned char)*s)) s++;
  size_t n = strlen(s);
  while (n > 0 && isspace((unsigned char)s[n - 1])) s[--n] = '\0';
  return s;
}

/* A comment starts at '#' or ';' at the start of the text or after whitespace, so values such as
 * "a#b" stay intact and "lr = 1e-3  # note" loses its note. Returns its position or NULL. */
static char *comment_find(char *s) {
  for (char *p = s; *p; p++)
    if ((*p == '#' || *p == ';') && (p == s || isspace((unsigned char)p[-1]))) return p;
  return NULL;
}

static char *text_copy(const char *s) {
  size_t n = strlen(s) + 1;
  char *d = malloc(n);
  if (d) memcpy(d, s, n);
  return d;
}

/* One line of a file (already cut at its newline). `section` is the current section or NULL. */
static int line_parse(ds_config *c, char *line, int lineno, const char **section, int *first_line,
                      const char *origin, ds_err *err) {
  char where[DS_PATH_MAX + 32];
  snprintf(where, sizeof where, "%s:%d", origin, lineno);
  char *cut = comment_find(line);
  if (cut) *cut = '\0';
  char *s = trim(line);
  if (*s == '\0') return 0;

  if (*s == '[') {
    size_t n = strlen(s);
    if (s[n - 1] != ']') return ds_fail(err, "%s: expected ']' to close the section name in '%s'", where, s);
    s[n - 1] = '\0';
    char *name = trim(s + 1);
    if (!section_known(name)) {
      char known[256];
      sections_join(known, sizeof known);
      return ds_fail(err, "%s: unknown section [%s] (known: %s)", where, name, known);
    }
    int i = 0;
    while (strcmp(keys[i].section, name) != 0) i++;
    *section = keys[i].section;
    if (strcmp(name, "student") == 0) c->has_student = 1;
    return 0;
  }

  char *eq = strchr(s, '=');
  if (!eq) return ds_fail(err, "%s: expected '[section]' or 'key = value'; got '%s'", where, s);
  *eq = '\0';
  char *key = trim(s), *value = trim(eq + 1);
  if (*key == '\0') return ds_fail(err, "%s: expected 'key = value'; the key is missing", where);
  if (!*section) return ds_fail(err, "%s: key '%s' is outside any section", where, key);
  int i = key_find(*section, key);
  if (i < 0) return ds_fail(err, "%s: unknown key '%s' in [%s]", where, key, *section);
  if (first_line[i])
    return ds_fail(err, "%s: duplicate key '%s' in [%s] (first set on line %d)", where, key, *section,
                   first_line[i]);
  if (key_assign(&keys[i], c, value, where, err)) return -1;
  first_line[i] = lineno;
  c->key_line[i] = lineno;
  return 0;
}

int ds_config_parse_string(ds_config *c, const char *text, const char *origin, ds_err *err) {
  if (!origin) origin = "config";
  /* Work on a copy so that a failed parse leaves *c untouched. */
  ds_config tmp;
  memcpy(&tmp, c, sizeof tmp);
  if (strcmp(tmp.source, origin) != 0) memset(tmp.key_line, 0, sizeof tmp.key_line);
  snprintf(tmp.source, sizeof tmp.source, "%s", origin);

  char *buf = text_copy(text);
  if (!buf) return ds_fail(err, "%s: out of memory", origin);
  int first_line[N_KEYS] = {0};
  const char *section = NULL;
  int lineno = 0, rc = 0;
  for (char *line = buf; line && rc == 0; lineno++) {
    char *next = strchr(line, '\n');
    if (next) *next++ = '\0';
    rc = line_parse(&tmp, line, lineno + 1, &section, first_line, origin, err);
    line = next;
  }
  free(buf);
  if (rc) return -1;
  if (!tmp.has_student) return ds_fail(err, "%s: missing [student] section", origin);
  if (ds_config_validate(&tmp, origin, err)) return -1;
  memcpy(c, &tmp, sizeof tmp);
  return 0;
}

int ds_config_parse_file(ds_config *c, const char *path, ds_err *err) {
  FILE *f = fopen(path, "rb");
  if (!f) return ds_fail(err, "%s: cannot open: %s", path, strerror(errno));
  size_t cap = 4096, len = 0;
  char *buf = malloc(cap);
  while (buf) {
    len += fread(buf + len, 1, cap - len - 1, f);
    if (len < cap - 1) break;
    char *bigger = realloc(buf, cap * 2);
    if (!bigger) {
      free(buf);
      buf = NULL;
      break;
    }
    buf = bigger;
    cap *= 2;
  }
  int bad_read = ferror(f);
  int read_errno = errno;
  fclose(f);
  if (!buf) return ds_fail(err, "%s: out of memory", path);
  if (bad_read) {
    free(buf);
    return ds_fail(err, "%s: cannot read: %s", path, strerror(read_errno));
  }
  buf[len] = '\0';
  if (strlen(buf) != len) {
    free(buf);
    return ds_fail(err, "%s: contains a NUL byte; not a text file", path);
  }
  int rc = ds_config_parse_string(c, buf, path, err);
  free(buf);
  return rc;
}

int ds_config_set(ds_config *c, const char *assignment, const char *origin, ds_err *err) {
  if (!origin) origin = "--set";
  char *buf = text_copy(assignment);
  if (!buf) return ds_fail(err, "%s: out of memory", origin);
  int rc = -1;
  char *eq = strchr(buf, '='), *dot = eq ? memchr(buf, '.', (size_t)(eq - buf)) : NULL;
  if (!eq || !dot) {
    ds_fail(err, "%s: expected 'section.key=value'; got '%s'", origin, assignment);
    goto done;
  }
  *eq = '\0';
  *dot = '\0';
  char *section = trim(buf), *key = trim(dot + 1), *value = trim(eq + 1);
  if (!section_known(section)) {
    char known[256];
    sections_join(known, sizeof known);
    ds_fail(err, "%s: unknown section [%s] (known: %s)", origin, section, known);
    goto done;
  }
  int i = key_find(section, key);
  if (i < 0) {
    ds_fail(err, "%s: unknown key '%s' in [%s]", origin, key, section);
    goto done;
  }
  /* Whatever ds_config_write() prints must read back the same. */
  if (strpbrk(value, "\r\n") || comment_find(value)) {
    ds_fail(err, "%s: [%s] %s: value '%s' has a line break or a '#'/';' that a .cfg file would read as a comment",
            origin, section, key, value);
    goto done;
  }
  if (key_assign(&keys[i], c, value, origin, err) == 0) {
    c->key_line[i] = 0;
    rc = 0;
  }
done:
  free(buf);
  return rc;
}

/* "file:line" of key i when it came from the file, else the caller's origin. */
static void key_where(const ds_config *c, int i, const char *origin, char *buf, size_t n) {
  if (i >= 0 && c->key_line[i] > 0 && c->source[0])
    snprintf(buf, n, "%s:%d", c->source, c->key_line[i]);
  else
    snprintf(buf, n, "%s", origin);
}

int ds_config_validate(const ds_config *c, const char *origin, ds_err *err) {
  if (!origin) origin = c->source[0] ? c->source : "config";
  char where[DS_PATH_MAX + 32], value[64], text[256];
  /* Fields may have been assigned directly (CLI flags), so every range is checked again. */
  for (int i = 0; i < N_KEYS; i++) {
    const cfg_key *k = &keys[i];
    key_where(c, i, origin, where, sizeof where);
    if (k->kind == KIND_STR) {
      const char *s = key_cptr(k, c);
      if (memchr(s, '\0', k->size) == NULL)
        return ds_fail(err, "%s: [%s] %s is not terminated", where, k->section, k->name);
      if (strlen(s) < (size_t)k->lo) return ds_fail(err, "%s: [%s] %s must not be empty", where, k->section, k->name);
      if (k->words && word_index(k->words, s) < 0) {
        words_join(k->words, text, sizeof text);
        return ds_fail(err, "%s: [%s] %s must be one of %s; got '%s'", where, k->section, k->name, text, s);
      }
    } else if (k->kind == KIND_ENUM || k->kind == KIND_BOOL) {
      int v = *(const int *)key_cptr(k, c);
      int n = 0;
      if (k->kind == KIND_BOOL)
        n = 2;
      else
        while (k->words[n]) n++;
      if (v < 0 || v >= n) return ds_fail(err, "%s: [%s] %s has invalid value %d", where, k->section, k->name, v);
    } else if (!(k->kind == KIND_OUT_DIM && *(const int *)key_cptr(k, c) == DS_OUT_DIM_TEACHER) &&
               !in_range(k, key_number(k, c))) {
      key_format(k, c, value, sizeof value);
      range_text(k, text, sizeof text);
      return ds_fail(err, "%s: [%s] %s = %s is out of range: %s", where, k->section, k->name, value, text);
    }
  }

  const ds_student_cfg *s = &c->student;
  if (strcmp(s->arch, "static") != 0 && s->dim % s->heads != 0) { /* a static student has no heads */
    key_where(c, key_find("student", "heads"), origin, where, sizeof where);
    return ds_fail(err, "%s: [student] heads = %d does not divide dim = %d", where, s->heads, s->dim);
  }
  const ds_prune_cfg *p = &c->prune;
  if (p->enabled && p->end_step < p->start_step) {
    key_where(c, key_find("prune", "end_step"), origin, where, sizeof where);
    return ds_fail(err, "%s: [prune] end_step = %ld is before start_step = %ld", where, p->end_step, p->start_step);
  }
  const ds_quant_cfg *q = &c->quant;
  if (q->enabled && q->freeze_step != -1 && q->freeze_step < q->start_step) {
    key_where(c, key_find("quant", "freeze_step"), origin, where, sizeof where);
    return ds_fail(err, "%s: [quant] freeze_step = %ld is before start_step = %ld (use -1 to never freeze)", where,
                   q->freeze_step, q->start_step);
  }
  return 0;
}

int ds_config_write(const ds_config *c, FILE *f) {
  char value[DS_PATH_MAX + 32];
  fprintf(f, "# distill config: every key, defaults included\n");
  for (int i = 0; i < N_KEYS; i++) {
    const cfg_key *k = &keys[i];
    if (i == 0 || strcmp(k->section, keys[i - 1].section) != 0) fprintf(f, "%s[%s]\n", i ? "\n" : "", k->section);
    key_format(k, c, value, sizeof value);
    fprintf(f, "%s =%s%s\n", k->name, value[0] ? " " : "", value); /* no trailing blank */
  }
  return ferror(f) ? -1 : 0;
}
