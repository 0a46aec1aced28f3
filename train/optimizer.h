/* AdamW over flat float arrays (parameters, gradients and both moments share one layout) and
 * gradient clipping by global L2 norm. Both are OpenMP-parallel and give bit-identical results at
 * any thread count, which --resume reproducibility relies on. */
#ifndef DS_TRAIN_OPTIMIZER_H
#define DS_TRAIN_OPTIMIZER_H

#include <stddef.h>

typedef struct {
  double lr;
  double beta1, beta2;
  double eps;
  double weight_decay;
} ds_adamw_params;

/* torch.optim.AdamW's defaults: lr 1e-3, betas (0.9, 0.999), eps 1e-8, weight_decay 0.01. */
ds_adamw_params ds_adamw_default_params(void);

/* One step of torch.optim.AdamW: p *= 1 - lr*wd (decoupled decay, before the Adam update), then
 * m, v are updated with g and p -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps).
 * t is the 1-based step count after this update. m and v start as zeros. */
void ds_adamw_step(float *p, const float *g, float *m, float *v, size_t n,
                   const ds_adamw_params *hp, long t);
/* The same step on the gradient g * grad_scale (each product rounded to float, exactly as if g had been
 * scaled in place first): gradient clipping folded into the update, one pass over memory fewer. */
void ds_adamw_step_scaled(float *p, const float *g, float *m, float *v, size_t n, const ds_adamw_params *hp, long t,
                          float grad_scale);

/* Global L2 norm of g, summed in double over a fixed chunking so the result ignores threads. */
double ds_grad_norm(const float *g, size_t n);

/* Scales g by max_norm / (norm + 1e-6) when that is below 1 (torch's clip_grad_norm_) and
 * returns the pre-clip norm. max_norm <= 0 only measures. A non-finite norm leaves g untouched. */
double ds_grad_clip(float *g, size_t n, double max_norm);
/* What ds_grad_clip would multiply g by (1 when it would leave g alone), without touching g; returns the norm. */
double ds_grad_clip_scale(const float *g, size_t n, double max_norm, float *scale);

#endif
