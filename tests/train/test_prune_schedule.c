/* The cubic pruning schedule s_t = s_f (1 - (1 - (t - t0)/(t1 - t0))^3), its event steps and the
 * per-layer unit counts it turns into, at chosen steps against values worked out by hand. */
#include "../check.h"
#include "train/prune.h"

int main(void) {
  ds_prune_cfg c = {.enabled = 1, .heads = 0.5, .ffn = 0.8, .start_step = 100, .end_step = 1100, .every = 100};
  /* (step, s_t / s_f): x = 1 - (t - 100)/1000, s = 1 - x^3 */
  const struct {
    long t;
    double frac;
  } at[] = {{0, 0.0},         {99, 0.0},      {100, 0.0},          {200, 0.271},      {350, 0.578125},
            {600, 0.875},     {850, 0.984375}, {1000, 0.999},      {1100, 1.0},       {5000, 1.0}};
  for (size_t i = 0; i < sizeof at / sizeof *at; i++) {
    CHECK_CLOSE(ds_prune_sparsity_at(&c, c.heads, at[i].t), 0.5 * at[i].frac, 1e-12, 0);
    CHECK_CLOSE(ds_prune_sparsity_at(&c, c.ffn, at[i].t), 0.8 * at[i].frac, 1e-12, 0);
  }
  /* Monotone, and exactly the final fraction from end_step on. */
  for (long t = 1; t <= 1200; t++)
    CHECK(ds_prune_sparsity_at(&c, 0.5, t) >= ds_prune_sparsity_at(&c, 0.5, t - 1));
  CHECK(ds_prune_sparsity_at(&c, 0.5, 1100) == 0.5);

  /* Events: every 100 steps from start_step through end_step, nothing outside. */
  int events = 0;
  for (long t = 0; t <= 2000; t++) events += ds_prune_is_event(&c, t);
  CHECK(events == 11);
  CHECK(ds_prune_is_event(&c, 100) && ds_prune_is_event(&c, 600) && ds_prune_is_event(&c, 1100));
  CHECK(!ds_prune_is_event(&c, 99) && !ds_prune_is_event(&c, 150) && !ds_prune_is_event(&c, 1200));
  /* end_step off the grid still gets its event, so the final sparsity is always reached. */
  c.end_step = 1050;
  CHECK(ds_prune_is_event(&c, 1050) && ds_prune_is_event(&c, 1000) && !ds_prune_is_event(&c, 1100));
  /* One-shot pruning: start_step = end_step. */
  c.start_step = c.end_step = 300;
  CHECK(ds_prune_sparsity_at(&c, 0.5, 299) == 0.0 && ds_prune_sparsity_at(&c, 0.5, 300) == 0.5);
  CHECK(ds_prune_is_event(&c, 300) && !ds_prune_is_event(&c, 200) && !ds_prune_is_event(&c, 400));

  /* Units removed per layer: nearest count, one always left. */
  CHECK(ds_prune_target_count(0.5, 4) == 2);
  CHECK(ds_prune_target_count(0.271 * 0.5, 4) == 1);   /* 0.54 heads */
  CHECK(ds_prune_target_count(0.1, 4) == 0);           /* 0.4 heads */
  CHECK(ds_prune_target_count(0.99, 4) == 3);          /* 3.96 rounds to 4, but one head stays */
  CHECK(ds_prune_target_count(0.5, 512) == 256);
  CHECK(ds_prune_target_count(0.4375, 512) == 224);
  CHECK(ds_prune_target_count(0.0, 1) == 0 && ds_prune_target_count(0.9, 1) == 0);
  return check_report();
}
