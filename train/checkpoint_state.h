/* What a training checkpoint holds, on top of the generic file layer in checkpoints/:
 *   root attributes  format "distill-checkpoint", format_version, config (resolved text), step,
 *                    best_val_loss, best_step, wall_seconds, seed, form ("masked" | "compact"),
 *                    shape: arch ("transformer" | "static"; absent in older files: transformer), vocab,
 *                    max_len, dim, n_layers, head_dim, out_dim, n_classes, pooling
 *   /shape/heads, /shape/ffn      (n_layers) int32: per-layer head and FFN counts
 *   /params/<name>, /adam_m/<name>, /adam_v/<name>   one float32 dataset per tensor of the size table
 *   /masks/heads, /masks/ffn      float32 pruning masks (1 keep, 0 removed)
 *   /data/loader_state            int64 [epoch, cursor] of the training data order
 *   /vocab                        the teacher's vocabulary (when it has one)
 * Parameters alone are enough for eval/export; the rest makes --resume exact. */
#ifndef DS_TRAIN_CHECKPOINT_STATE_H
#define DS_TRAIN_CHECKPOINT_STATE_H

#include "train/trainer.h"

#define DS_CKPT_FORMAT "distill-checkpoint"
#define DS_CKPT_VERSION 1

/* Writes atomically (temporary file, then rename). */
int ds_trainer_save(const ds_trainer *tr, const char *path, ds_err *err);


#endif
