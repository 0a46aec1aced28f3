/* The data-parallel parts of a training step (train/dist.h has the collectives).
 *
 * Every process holds the whole model and walks the same global batches; process r runs the forward and
 * backward passes of rows [lo, hi) of each batch only (the loader reads just those rows). The loss is not split:
 * each process gathers the batch's student outputs and teacher targets (a few floats per row) and computes the
 * loss and its gradient wrt the outputs of the WHOLE batch, exactly as one process would (the in-batch
 * similarity term couples every row with every other), then backpropagates its own rows. Summing the
 * processes' parameter gradients therefore gives the one-process gradient up to the order of the additions.
 * The sum is one all-reduce of one flat buffer: every gradient, of the token table only the rows some process
 * touched (the others are zero everywhere), the LSQ step-size gradients and the hidden-state head's. After it
 * clipping, AdamW, pruning scores and events run on identical numbers on every process, so the parameters stay
 * identical without ever being sent. QAT observers see the whole batch's range through a per-site min/max
 * reduction (ds_dist_range_hook). In a world of one none of this runs. */
#ifndef DS_TRAIN_DIST_STEP_H
#define DS_TRAIN_DIST_STEP_H

#include "train/trainer.h"

/* Makes tr one of d's processes: its share of every batch and of the token rows, the loader's share, the
 * scratch. Fails when the batch has fewer rows than there are processes. A world of one changes nothing. */
int ds_dist_step_open(ds_trainer *tr, const ds_dist *d, ds_err *err);
void ds_dist_step_free(ds_dist_state *s);

/* The loss of the whole global batch from this process's forward pass (m->a.logits, m->a.emb: rows [lo, hi))
 * and batch (its rows' targets): fills tr->d_logits (B, K) and tr->d_emb (B, E) for every row of the batch. */
int ds_dist_batch_loss(ds_trainer *tr, ds_loss_terms *terms, double *loss, ds_err *err);
/* Sums every gradient of the step over the processes, in place. */
int ds_dist_reduce_grads(ds_trainer *tr, ds_err *err);
/* Fails when the processes' parameters, LSQ step sizes or hidden head differ (they never should). */
int ds_dist_check_same(ds_trainer *tr, ds_err *err);
/* ds_qat.range_reduce: ctx is the trainer. */
void ds_dist_range_hook(void *ctx, float *lo, float *hi);
/* Seconds since an arbitrary start (for the communication share). */
double ds_dist_now(void);

#endif
