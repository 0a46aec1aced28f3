/* Token dropout (train/token_dropout.h): only inner real tokens are dropped (never the first or the last real
 * token of a row, never padding), at the asked rate, the same for the same (seed, step, teacher row) whatever
 * the row's place in the batch (so data-parallel shares and resumed runs agree), differently at another step;
 * p = 0 changes nothing. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tests/check.h"
#include "train/token_dropout.h"

enum { ROWS = 64, LEN = 40 };

/* A batch of ROWS rows: row i has 2 + (i % 37) real tokens from position (i % 3), padding around them. */
static void fill(ds_batch *b, uint8_t *mask, int32_t *ids, long *rows) {
  memset(mask, 0, (size_t)ROWS * LEN);
  for (int i = 0; i < ROWS; i++) {
    const int start = i % 3, real = 2 + i % 37;
    for (int j = start; j < start + real && j < LEN; j++) mask[i * LEN + j] = 1;
    for (int j = 0; j < LEN; j++) ids[i * LEN + j] = mask[i * LEN + j] ? 100 + j : 0;
    rows[i] = 1000 + 7L * i;
  }
  *b = (ds_batch){.n = ROWS, .len = LEN, .cap_rows = ROWS, .cap_len = LEN, .ids = ids, .mask = mask, .rows = rows};
}

static int first_real(const uint8_t *m) {
  for (int j = 0; j < LEN; j++)
    if (m[j]) return j;
  return -1;
}

static int last_real(const uint8_t *m) {
  for (int j = LEN - 1; j >= 0; j--)
    if (m[j]) return j;
  return -1;
}

int main(void) {
  static uint8_t mask[ROWS * LEN], orig[ROWS * LEN], again[ROWS * LEN];
  static int32_t ids[ROWS * LEN];
  static long rows[ROWS];
  ds_batch b;

  fill(&b, mask, ids, rows);
  memcpy(orig, mask, sizeof mask);
  CHECK(ds_token_dropout_apply(&b, ROWS, 0.0, 1, 5) == 0);
  CHECK(memcmp(mask, orig, sizeof mask) == 0);

  /* p = 0.3 over many steps: only inner real tokens go, at about the rate asked. */
  long inner = 0, dropped = 0;
  int bad_edges = 0, bad_padding = 0, count_mismatch = 0;
  for (long step = 0; step < 50; step++) {
    fill(&b, mask, ids, rows);
    const long n = ds_token_dropout_apply(&b, ROWS, 0.3, 42, step);
    long seen = 0;
    for (int i = 0; i < ROWS; i++) {
      const uint8_t *o = orig + i * LEN, *m = mask + i * LEN;
      const int f = first_real(o), l = last_real(o);
      bad_edges += !m[f] || !m[l];
      for (int j = 0; j < LEN; j++) {
        bad_padding += !o[j] && m[j];
        if (o[j] && j > f && j < l) {
          inner++;
          seen += !m[j];
        }
      }
    }
    dropped += seen;
    count_mismatch += seen != n;
  }
  CHECK_MSG(bad_edges == 0, "%d rows lost their first or last real token", bad_edges);
  CHECK_MSG(bad_padding == 0, "%d padding positions became real", bad_padding);
  CHECK_MSG(count_mismatch == 0, "the returned count differs from the mask at %d steps", count_mismatch);
  const double rate = (double)dropped / (double)inner;
  /* ~57,000 inner tokens: the binomial standard deviation of the rate is 0.002. */
  CHECK_MSG(rate > 0.29 && rate < 0.31, "dropped %.4f of %ld inner tokens, want 0.3", rate, inner);

  /* The same (seed, step) gives the same mask; a row's mask follows its teacher row, not its place. */
  fill(&b, mask, ids, rows);
  ds_token_dropout_apply(&b, ROWS, 0.3, 42, 7);
  memcpy(again, mask, sizeof mask);
  fill(&b, mask, ids, rows);
  ds_token_dropout_apply(&b, ROWS, 0.3, 42, 7);
  CHECK(memcmp(mask, again, sizeof mask) == 0);
  /* Rows 10..19 of the batch alone, as a second process of a data-parallel run would hold them. */
  ds_batch share = b;
  fill(&b, mask, ids, rows);
  share.mask = mask + 10 * LEN;
  share.ids = ids + 10 * LEN;
  share.rows = rows + 10;
  share.n = 10;
  ds_token_dropout_apply(&share, 10, 0.3, 42, 7);
  CHECK(memcmp(mask + 10 * LEN, again + 10 * LEN, 10 * LEN) == 0);
  CHECK(memcmp(mask, orig, 10 * LEN) == 0); /* rows outside the share untouched */
  /* Another step or another seed draws other tokens. */
  fill(&b, mask, ids, rows);
  ds_token_dropout_apply(&b, ROWS, 0.3, 42, 8);
  CHECK(memcmp(mask, again, sizeof mask) != 0);
  fill(&b, mask, ids, rows);
  ds_token_dropout_apply(&b, ROWS, 0.3, 43, 7);
  CHECK(memcmp(mask, again, sizeof mask) != 0);
  /* Ids are never touched: the mask alone carries the dropout. */
  static int32_t ids_before[ROWS * LEN];
  fill(&b, mask, ids, rows);
  memcpy(ids_before, ids, sizeof ids);
  ds_token_dropout_apply(&b, ROWS, 0.9, 1, 1);
  CHECK(memcmp(ids, ids_before, sizeof ids) == 0);
  return check_report();
}
