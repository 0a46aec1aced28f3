#include "train/schedule.h"

#include <math.h>

#define DS_PI 3.14159265358979323846

double ds_lr_at(const ds_train_cfg *c, long step) {
  if (step < c->warmup_steps) return c->lr * (double)(step + 1) / (double)c->warmup_steps;
  long warm = c->warmup_steps > 0 ? c->warmup_steps : 0;
  long span = c->steps - warm > 1 ? c->steps - warm : 1;
  double p = (double)(step - warm) / (double)span;
  /* past the last step the rate stays at its final value instead of climbing back up the cosine */
  p = p < 0.0 ? 0.0 : p > 1.0 ? 1.0 : p;
  switch (c->schedule) {
    case DS_SCHED_COSINE: return c->lr * 0.5 * (1.0 + cos(DS_PI * p));
    case DS_SCHED_LINEAR: return c->lr * (1.0 - p);
    case DS_SCHED_CONSTANT: break;
  }
  return c->lr;
}
