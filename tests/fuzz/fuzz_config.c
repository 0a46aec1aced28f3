/* libFuzzer harness: the strict .cfg parser and the `--set section.key=value` overrides (model/config/config.h).
 *
 * Input: the .cfg text up to the first NUL byte; every further NUL-separated piece is one override, applied
 * in order as the CLI does (`distill run X.cfg --set a.b=c ...`), then the config is validated. The whole
 * input is also parsed from a file (ds_config_parse_file refuses embedded NULs).
 * Oracle, besides the sanitizers: a config that is accepted is written out (ds_config_write) and that text
 * must parse again to a config that writes out the same text, as `distill run runs/NAME/config.cfg` needs. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/config/config.h"
#include "fuzz_util.h"

static char *config_text(const ds_config *c) {
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  FZ_REQUIRE(f != NULL, "open_memstream");
  FZ_REQUIRE(ds_config_write(c, f) == 0, "ds_config_write failed");
  fclose(f);
  return text;
}

static void check_round_trip(const ds_config *c) {
  char *once = config_text(c);
  ds_config back;
  ds_config_default(&back);
  ds_err err = {{0}};
  const int rc = ds_config_parse_string(&back, once, "written.cfg", &err);
  FZ_REQUIRE(rc == 0, "the written config does not parse: %s\n--- written ---\n%s", err.msg, once);
  char *twice = config_text(&back);
  FZ_REQUIRE(strcmp(once, twice) == 0, "write -> parse -> write differs\n--- first ---\n%s--- second ---\n%s", once,
             twice);
  free(once);
  free(twice);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc, (void)argv;
  fz_single_thread();
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *buf = malloc(size + 1);
  if (!buf) return 0;
  memcpy(buf, data, size);
  buf[size] = '\0';

  /* From a file: the raw bytes, NULs and all. */
  const char *path = fz_scratch_path("config.cfg");
  fz_write_file(path, data, size);
  ds_config from_file;
  ds_config_default(&from_file);
  ds_err err = {{0}};
  if (ds_config_parse_file(&from_file, path, &err) == 0) check_round_trip(&from_file);
  else fz_check_err(&err);

  /* From memory, then the overrides. */
  ds_config c;
  ds_config_default(&c);
  if (ds_config_parse_string(&c, buf, "fuzz.cfg", &err) == 0) {
    check_round_trip(&c);
    for (size_t at = strlen(buf) + 1; at < size + 1; at += strlen(buf + at) + 1) {
      ds_config before;
      memcpy(&before, &c, sizeof c);
      if (ds_config_set(&c, buf + at, "--set", &err)) {
        fz_check_err(&err);
        FZ_REQUIRE(memcmp(&before, &c, sizeof c) == 0, "a refused override changed the config");
      }
    }
    if (ds_config_validate(&c, NULL, &err) == 0) check_round_trip(&c);
    else fz_check_err(&err);
  } else {
    fz_check_err(&err);
  }
  free(buf);
  return 0;
}
