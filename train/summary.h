/* summary.json of a finished run: SPEC.md's keys (params, steps, wall_seconds, samples_per_sec, val_loss,
 * val_cos, val_top1, val_kl, int8_val_cos, int8_val_top1) plus val_mse, val_label_acc (argmax of the logits
 * against the teacher's labels), val_knn10 (kNN@10 overlap, train/knn.h), int8_val_loss, int8_val_kl,
 * int8_val_label_acc, int8_val_knn10, best_step, best_val_loss, n_train, n_val and teacher. Metrics the
 * teacher cannot give are left out rather than written as null. */
#ifndef DS_TRAIN_SUMMARY_H
#define DS_TRAIN_SUMMARY_H

#include "train/trainer.h"

int ds_summary_write(const ds_trainer *tr, const char *path, ds_err *err);
/* Writes s as a JSON string literal (quotes and escapes). */
void ds_json_string(FILE *f, const char *s);

#endif
