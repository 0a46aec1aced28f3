/* The contract's own config (the `.cfg` block of docs/SPEC.md, "Student config") is accepted by the strict
 * parser as it stands, and every value it shows is distill's default: a key renamed, dropped or given another
 * default in model/config/config_keys.c fails here. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/config/config.h"
#include "tests/check.h"
#include "tests/model/config/config_fixture.h"

/* The text between the first ``` fence pair after `heading`, or NULL. Caller frees. */
static char *spec_block(const char *path, const char *heading) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  static char text[1 << 16];
  const size_t n = fread(text, 1, sizeof text - 1, f);
  fclose(f);
  text[n] = '\0';
  const char *h = strstr(text, heading);
  const char *open = h ? strstr(h, "```\n") : NULL;
  const char *close = open ? strstr(open + 4, "```") : NULL;
  if (!close) return NULL;
  const size_t len = (size_t)(close - (open + 4));
  char *block = malloc(len + 1);
  if (!block) return NULL;
  memcpy(block, open + 4, len);
  block[len] = '\0';
  return block;
}

int main(void) {
  const char *path = DISTILL_SOURCE_DIR "/docs/SPEC.md";
  char *block = spec_block(path, "## Student config (`.cfg`)");
  CHECK_MSG(block != NULL, "%s: no ``` block under \"## Student config\"", path);
  if (!block) return check_report();
  /* Every section of the contract is in the block. */
  const char *sections[] = {"[teacher]", "[student]", "[train]", "[loss]", "[quant]", "[prune]"};
  for (size_t i = 0; i < sizeof sections / sizeof sections[0]; i++)
    CHECK_MSG(strstr(block, sections[i]) != NULL, "SPEC block lacks %s", sections[i]);

  ds_config spec, def;
  ds_err err = {{0}};
  ds_config_default(&spec);
  ds_config_default(&def);
  const int rc = ds_config_parse_string(&spec, block, "docs/SPEC.md", &err);
  CHECK_MSG(rc == 0, "the contract's config is refused: %s", err.msg);
  CHECK(ds_config_validate(&spec, "docs/SPEC.md", &err) == 0);
  CHECK_MSG(strcmp(spec.teacher.path, "experiments/data/teacher.h5") == 0, "[teacher] path = %s", spec.teacher.path);
  /* Apart from the teacher path (no default), the block restates the defaults. */
  spec.teacher = def.teacher;
  CHECK_MSG(sections_equal(&spec, &def), "a value in SPEC.md's config differs from ds_config_default()");
  free(block);
  return check_report();
}
