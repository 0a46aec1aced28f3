/* Shared by the .cfg parser's tests (test_config.c, test_config_errors.c): a scratch folder in the build
 * tree and files written into it. */
#ifndef DS_TESTS_MODEL_CONFIG_CONFIG_FIXTURE_H
#define DS_TESTS_MODEL_CONFIG_CONFIG_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model/config/config.h"

static char tmp_dir[1024];

/* Writes text to tmp_dir/name and returns the path (in a static buffer per call site's needs). */
static inline const char *file_write(const char *name, const char *text) {
  static char path[2048];
  snprintf(path, sizeof path, "%s/%s", tmp_dir, name);
  FILE *f = fopen(path, "wb");
  if (!f) return NULL;
  fputs(text, f);
  fclose(f);
  return path;
}

static inline int sections_equal(const ds_config *a, const ds_config *b) {
  return memcmp(&a->run, &b->run, sizeof a->run) == 0 && memcmp(&a->teacher, &b->teacher, sizeof a->teacher) == 0 &&
         memcmp(&a->student, &b->student, sizeof a->student) == 0 &&
         memcmp(&a->train, &b->train, sizeof a->train) == 0 && memcmp(&a->loss, &b->loss, sizeof a->loss) == 0 &&
         memcmp(&a->quant, &b->quant, sizeof a->quant) == 0 && memcmp(&a->prune, &b->prune, sizeof a->prune) == 0;
}

/* Makes tmp_dir = DISTILL_BINARY_DIR/NAME_XXXXXX; 0 on success. */
static inline int tmp_dir_make(const char *name) {
  snprintf(tmp_dir, sizeof tmp_dir, "%s/%s_XXXXXX", DISTILL_BINARY_DIR, name);
  if (mkdtemp(tmp_dir)) return 0;
  perror(tmp_dir);
  return 1;
}

/* Removes the n files a test wrote into tmp_dir, then the folder. */
static inline void tmp_dir_remove(const char *const *names, int n) {
  char path[2048];
  for (int i = 0; i < n; i++) {
    snprintf(path, sizeof path, "%s/%s", tmp_dir, names[i]);
    remove(path);
  }
  rmdir(tmp_dir);
}

#endif
