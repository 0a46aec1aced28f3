/* The key table of the .cfg format (model/config/config_keys.c) and the value conversions that walk it, shared
 * by the parser, --set, validation and the writer (model/config/config.c). Not part of the public API. */
#ifndef DS_MODEL_CONFIG_CONFIG_KEYS_H
#define DS_MODEL_CONFIG_CONFIG_KEYS_H

#include <stddef.h>

#include "model/config/config.h"

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

/* Every key in SPEC.md order (ds_config_write() prints them so), and how many. */
extern const cfg_key ds_cfg_keys[];
extern const int ds_cfg_n_keys;

/* 1 if some key lives in [section]. */
int ds_cfg_section_known(const char *section);
/* Index of section.name in ds_cfg_keys, or -1. */
int ds_cfg_key_find(const char *section, const char *name);
/* The field of k inside c. */
const void *ds_cfg_key_cptr(const cfg_key *k, const ds_config *c);
/* "a, b, c" of a NULL-terminated word list / of every section, into buf. */
void ds_cfg_words_join(const char *const *words, char *buf, size_t n);
void ds_cfg_sections_join(char *buf, size_t n);
/* The allowed interval of a number key as a sentence ("must be in (0, 1]"), and whether v is in it. */
void ds_cfg_range_text(const cfg_key *k, char *buf, size_t n);
int ds_cfg_in_range(const cfg_key *k, double v);
/* Index of s in a NULL-terminated word list, or -1. */
int ds_cfg_word_index(const char *const *words, const char *s);
/* Parses text v into k's field of c; on error fills err naming `where` and returns -1. */
int ds_cfg_key_assign(const cfg_key *k, ds_config *c, const char *v, const char *where, ds_err *err);
/* A number key's value as a double (for cross-key checks). */
double ds_cfg_key_number(const cfg_key *k, const ds_config *c);
/* k's value as the text the parser reads back to the same value. */
void ds_cfg_key_format(const cfg_key *k, const ds_config *c, char *buf, size_t n);

#endif
