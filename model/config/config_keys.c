/* The table of every .cfg key (section, name, type, place in ds_config, allowed range or words), the
 * defaults, and the conversions of one value between text and its field: the parser, --set, validation
 * and the writer (model/config/config.c) all walk this table, so a key added here needs no further edits. */
#include "model/config/config_keys.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
const cfg_key ds_cfg_keys[] = {
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
    NUM(KIND_DOUBLE, train, token_dropout, 0, SHUT, 1, OPEN),
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
const int ds_cfg_n_keys = (int)(sizeof ds_cfg_keys / sizeof ds_cfg_keys[0]);
_Static_assert(sizeof ds_cfg_keys / sizeof ds_cfg_keys[0] <= DS_CONFIG_MAX_KEYS, "raise DS_CONFIG_MAX_KEYS");
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

int ds_cfg_section_known(const char *section) {
  for (int i = 0; i < ds_cfg_n_keys; i++)
    if (strcmp(ds_cfg_keys[i].section, section) == 0) return 1;
  return 0;
}

int ds_cfg_key_find(const char *section, const char *name) {
  for (int i = 0; i < ds_cfg_n_keys; i++)
    if (strcmp(ds_cfg_keys[i].section, section) == 0 && strcmp(ds_cfg_keys[i].name, name) == 0) return i;
  return -1;
}

static void *key_ptr(const cfg_key *k, ds_config *c) { return (char *)c + k->offset; }
const void *ds_cfg_key_cptr(const cfg_key *k, const ds_config *c) { return (const char *)c + k->offset; }

void ds_cfg_words_join(const char *const *words, char *buf, size_t n) {
  buf[0] = '\0';
  for (int i = 0; words[i]; i++) {
    size_t used = strlen(buf);
    snprintf(buf + used, n - used, "%s%s", i ? ", " : "", words[i]);
  }
}

void ds_cfg_sections_join(char *buf, size_t n) {
  buf[0] = '\0';
  for (int i = 0; i < ds_cfg_n_keys; i++) {
    if (i > 0 && strcmp(ds_cfg_keys[i].section, ds_cfg_keys[i - 1].section) == 0) continue;
    size_t used = strlen(buf);
    snprintf(buf + used, n - used, "%s%s", i ? ", " : "", ds_cfg_keys[i].section);
  }
}

void ds_cfg_range_text(const cfg_key *k, char *buf, size_t n) {
  if (isinf(k->hi))
    snprintf(buf, n, "must be %s %g", k->lo_open ? ">" : ">=", k->lo);
  else
    snprintf(buf, n, "must be in %c%g, %g%c", k->lo_open ? '(' : '[', k->lo, k->hi, k->hi_open ? ')' : ']');
}

int ds_cfg_in_range(const cfg_key *k, double v) {
  if (k->lo_open ? !(v > k->lo) : !(v >= k->lo)) return 0;
  if (k->hi_open ? !(v < k->hi) : !(v <= k->hi)) return 0;
  return 1;
}

int ds_cfg_word_index(const char *const *words, const char *s) {
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
int ds_cfg_key_assign(const cfg_key *k, ds_config *c, const char *v, const char *where, ds_err *err) {
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
    if (k->words && ds_cfg_word_index(k->words, v) < 0) {
      ds_cfg_words_join(k->words, text, sizeof text);
      return ds_fail(err, "%s: [%s] %s: expected one of %s; got '%s'", where, k->section, k->name, text, v);
    }
    memcpy(dst, v, strlen(v) + 1);
    return 0;
  case KIND_ENUM: {
    int i = ds_cfg_word_index(k->words, v);
    if (i < 0) {
      ds_cfg_words_join(k->words, text, sizeof text);
      return ds_fail(err, "%s: [%s] %s: expected one of %s; got '%s'", where, k->section, k->name, text, v);
    }
    *(int *)dst = i;
    return 0;
  }
  case KIND_BOOL:
    if (ds_cfg_word_index(bool_true, v) >= 0) {
      *(int *)dst = 1;
    } else if (ds_cfg_word_index(bool_false, v) >= 0) {
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
    if (!ds_cfg_in_range(k, d)) {
      ds_cfg_range_text(k, text, sizeof text);
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
  ds_cfg_range_text(k, text, sizeof text);
  if (overflow || ll < tmin || ll > tmax)
    return ds_fail(err, "%s: [%s] %s = %s is out of range: %s and fit in a%s", where, k->section, k->name, v, text,
                   k->kind == KIND_LONG ? " long" : "n int");
  if (!ds_cfg_in_range(k, (double)ll))
    return ds_fail(err, "%s: [%s] %s = %s is out of range: %s", where, k->section, k->name, v, text);
  if (k->kind == KIND_LONG)
    *(long *)dst = (long)ll;
  else
    *(int *)dst = (int)ll;
  return 0;
}

/* The value as a number, for range checks; NAN for non-numeric kinds. */
double ds_cfg_key_number(const cfg_key *k, const ds_config *c) {
  const void *p = ds_cfg_key_cptr(k, c);
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

void ds_cfg_key_format(const cfg_key *k, const ds_config *c, char *buf, size_t n) {
  const void *p = ds_cfg_key_cptr(k, c);
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
