/* LR schedule at step 0, the last warmup step, the first step after it, the middle and the last. */
#include "tests/check.h"
#include "train/schedule.h"

static ds_train_cfg cfg(ds_schedule s, long steps, long warmup) {
  ds_train_cfg c = {0};
  c.lr = 1e-3;
  c.steps = steps;
  c.warmup_steps = warmup;
  c.schedule = s;
  return c;
}

int main(void) {
  const double pi = 3.14159265358979323846;
  ds_schedule all[3] = {DS_SCHED_COSINE, DS_SCHED_LINEAR, DS_SCHED_CONSTANT};
  for (int i = 0; i < 3; i++) {
    ds_train_cfg c = cfg(all[i], 1000, 100);
    CHECK_CLOSE(ds_lr_at(&c, 0), 1e-5, 0, 1e-12);  /* lr * 1/100 */
    CHECK_CLOSE(ds_lr_at(&c, 49), 5e-4, 0, 1e-12); /* lr * 50/100 */
    CHECK_CLOSE(ds_lr_at(&c, 99), 1e-3, 0, 1e-12); /* warmup ends at the full rate */
    CHECK_CLOSE(ds_lr_at(&c, 100), 1e-3, 0, 1e-12); /* p = 0 for every decay */
  }
  /* p = (step - 100) / 900: middle step 550 is p = 1/2, last step 999 is p = 899/900 */
  ds_train_cfg cos_c = cfg(DS_SCHED_COSINE, 1000, 100);
  CHECK_CLOSE(ds_lr_at(&cos_c, 550), 5e-4, 0, 1e-12);
  CHECK_CLOSE(ds_lr_at(&cos_c, 325), 1e-3 * (0.5 + 0.5 * sqrt(0.5)), 0, 1e-12); /* p = 1/4 */
  /* 0.5 (1 + cos(pi (1 - 1/900))) = sin^2(pi / 1800) */
  CHECK_CLOSE(ds_lr_at(&cos_c, 999), 1e-3 * pow(sin(pi / 1800), 2), 0, 1e-9);
  CHECK(ds_lr_at(&cos_c, 999) > 0.0);
  CHECK_CLOSE(ds_lr_at(&cos_c, 1000), 0.0, 1e-18, 0);
  CHECK_CLOSE(ds_lr_at(&cos_c, 5000), 0.0, 1e-18, 0); /* past the end: stays at the bottom */

  ds_train_cfg lin = cfg(DS_SCHED_LINEAR, 1000, 100);
  CHECK_CLOSE(ds_lr_at(&lin, 550), 5e-4, 0, 1e-12);
  CHECK_CLOSE(ds_lr_at(&lin, 775), 2.5e-4, 0, 1e-12);
  CHECK_CLOSE(ds_lr_at(&lin, 999), 1e-3 / 900, 0, 1e-12);
  CHECK_CLOSE(ds_lr_at(&lin, 5000), 0.0, 1e-18, 0);

  ds_train_cfg con = cfg(DS_SCHED_CONSTANT, 1000, 100);
  CHECK_CLOSE(ds_lr_at(&con, 550), 1e-3, 0, 0);
  CHECK_CLOSE(ds_lr_at(&con, 999), 1e-3, 0, 0);

  /* no warmup: step 0 is p = 0 */
  ds_train_cfg nw = cfg(DS_SCHED_LINEAR, 10, 0);
  CHECK_CLOSE(ds_lr_at(&nw, 0), 1e-3, 0, 1e-12);
  CHECK_CLOSE(ds_lr_at(&nw, 5), 5e-4, 0, 1e-12);
  CHECK_CLOSE(ds_lr_at(&nw, 9), 1e-4, 0, 1e-12);
  /* warmup covering every step: max(1, steps - warmup) keeps the division finite */
  ds_train_cfg all_warm = cfg(DS_SCHED_COSINE, 10, 10);
  CHECK_CLOSE(ds_lr_at(&all_warm, 9), 1e-3, 0, 1e-12);
  CHECK(isfinite(ds_lr_at(&all_warm, 10)));
  return check_report();
}
