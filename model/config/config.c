/* The strict .cfg parser: lines, sections and comments of a file or string, --set overrides, cross-key
 * validation and writing a config back out. What each key is (type, field, range) is the table of
 * model/config/config_keys.c, which every step here walks. */
#include "model/config/config.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "model/config/config_keys.h"

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

/* Whatever ds_config_write() prints must read back the same: refuses a value with a line break or a '#'/';' that
 * a .cfg file would read as a comment. In a file line only a leading one can remain ("key =#x" keeps "#x", since
 * '#' right after '=' starts no comment), which config.cfg would write as "key = #x" (found by fuzz_config). */
static int value_check(const char *where, const char *section, const char *key, char *value, ds_err *err) {
  const char *c = comment_find(value);
  if (c == value)
    return ds_fail(err, "%s: [%s] %s: value '%s' starts with '%c', which a written config would read as a comment",
                   where, section, key, value, *value);
  if (c || strpbrk(value, "\r\n"))
    return ds_fail(err, "%s: [%s] %s: value '%s' has a line break or a '#'/';' that a .cfg file would read as a "
                   "comment", where, section, key, value);
  return 0;
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
    if (!ds_cfg_section_known(name)) {
      char known[256];
      ds_cfg_sections_join(known, sizeof known);
      return ds_fail(err, "%s: unknown section [%s] (known: %s)", where, name, known);
    }
    int i = 0;
    while (strcmp(ds_cfg_keys[i].section, name) != 0) i++;
    *section = ds_cfg_keys[i].section;
    if (strcmp(name, "student") == 0) c->has_student = 1;
    return 0;
  }

  char *eq = strchr(s, '=');
  if (!eq) return ds_fail(err, "%s: expected '[section]' or 'key = value'; got '%s'", where, s);
  *eq = '\0';
  char *key = trim(s), *value = trim(eq + 1);
  if (*key == '\0') return ds_fail(err, "%s: expected 'key = value'; the key is missing", where);
  if (!*section) return ds_fail(err, "%s: key '%s' is outside any section", where, key);
  int i = ds_cfg_key_find(*section, key);
  if (i < 0) return ds_fail(err, "%s: unknown key '%s' in [%s]", where, key, *section);
  if (first_line[i])
    return ds_fail(err, "%s: duplicate key '%s' in [%s] (first set on line %d)", where, key, *section,
                   first_line[i]);
  if (value_check(where, *section, key, value, err)) return -1;
  if (ds_cfg_key_assign(&ds_cfg_keys[i], c, value, where, err)) return -1;
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
  int first_line[DS_CONFIG_MAX_KEYS] = {0}; /* indexed like ds_cfg_keys */
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
  if (!ds_cfg_section_known(section)) {
    char known[256];
    ds_cfg_sections_join(known, sizeof known);
    ds_fail(err, "%s: unknown section [%s] (known: %s)", origin, section, known);
    goto done;
  }
  int i = ds_cfg_key_find(section, key);
  if (i < 0) {
    ds_fail(err, "%s: unknown key '%s' in [%s]", origin, key, section);
    goto done;
  }
  if (value_check(origin, section, key, value, err)) goto done;
  if (ds_cfg_key_assign(&ds_cfg_keys[i], c, value, origin, err) == 0) {
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
  for (int i = 0; i < ds_cfg_n_keys; i++) {
    const cfg_key *k = &ds_cfg_keys[i];
    key_where(c, i, origin, where, sizeof where);
    if (k->kind == KIND_STR) {
      const char *s = ds_cfg_key_cptr(k, c);
      if (memchr(s, '\0', k->size) == NULL)
        return ds_fail(err, "%s: [%s] %s is not terminated", where, k->section, k->name);
      if (strlen(s) < (size_t)k->lo) return ds_fail(err, "%s: [%s] %s must not be empty", where, k->section, k->name);
      if (k->words && ds_cfg_word_index(k->words, s) < 0) {
        ds_cfg_words_join(k->words, text, sizeof text);
        return ds_fail(err, "%s: [%s] %s must be one of %s; got '%s'", where, k->section, k->name, text, s);
      }
    } else if (k->kind == KIND_ENUM || k->kind == KIND_BOOL) {
      int v = *(const int *)ds_cfg_key_cptr(k, c);
      int n = 0;
      if (k->kind == KIND_BOOL)
        n = 2;
      else
        while (k->words[n]) n++;
      if (v < 0 || v >= n) return ds_fail(err, "%s: [%s] %s has invalid value %d", where, k->section, k->name, v);
    } else if (!(k->kind == KIND_OUT_DIM && *(const int *)ds_cfg_key_cptr(k, c) == DS_OUT_DIM_TEACHER) &&
               !ds_cfg_in_range(k, ds_cfg_key_number(k, c))) {
      ds_cfg_key_format(k, c, value, sizeof value);
      ds_cfg_range_text(k, text, sizeof text);
      return ds_fail(err, "%s: [%s] %s = %s is out of range: %s", where, k->section, k->name, value, text);
    }
  }

  const ds_student_cfg *s = &c->student;
  if (strcmp(s->arch, "static") != 0 && s->dim % s->heads != 0) { /* a static student has no heads */
    key_where(c, ds_cfg_key_find("student", "heads"), origin, where, sizeof where);
    return ds_fail(err, "%s: [student] heads = %d does not divide dim = %d", where, s->heads, s->dim);
  }
  const ds_prune_cfg *p = &c->prune;
  if (p->enabled && p->end_step < p->start_step) {
    key_where(c, ds_cfg_key_find("prune", "end_step"), origin, where, sizeof where);
    return ds_fail(err, "%s: [prune] end_step = %ld is before start_step = %ld", where, p->end_step, p->start_step);
  }
  const ds_quant_cfg *q = &c->quant;
  if (q->enabled && q->freeze_step != -1 && q->freeze_step < q->start_step) {
    key_where(c, ds_cfg_key_find("quant", "freeze_step"), origin, where, sizeof where);
    return ds_fail(err, "%s: [quant] freeze_step = %ld is before start_step = %ld (use -1 to never freeze)", where,
                   q->freeze_step, q->start_step);
  }
  return 0;
}

int ds_config_write(const ds_config *c, FILE *f) {
  char value[DS_PATH_MAX + 32];
  fprintf(f, "# distill config: every key, defaults included\n");
  for (int i = 0; i < ds_cfg_n_keys; i++) {
    const cfg_key *k = &ds_cfg_keys[i];
    if (i == 0 || strcmp(k->section, ds_cfg_keys[i - 1].section) != 0) fprintf(f, "%s[%s]\n", i ? "\n" : "", k->section);
    ds_cfg_key_format(k, c, value, sizeof value);
    fprintf(f, "%s =%s%s\n", k->name, value[0] ? " " : "", value); /* no trailing blank */
  }
  return ferror(f) ? -1 : 0;
}
