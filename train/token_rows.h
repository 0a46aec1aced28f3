/* Teacher token rows ([train] token_rows = n): each step also trains on n single-token sentences
 * `[CLS] tok [SEP]` whose targets are the teacher file's `token_embeddings`, with the embedding loss
 * alone. The file's sentences cover a few thousand of the vocabulary's tokens; these rows give the
 * student the teacher's meaning of every token, so rare and unseen tokens keep it while training fits
 * the sentences. Tokens are drawn uniformly (ids past the special tokens) with a generator seeded by
 * (seed, step), so a resumed run draws the same rows. */
#ifndef DS_TRAIN_TOKEN_ROWS_H
#define DS_TRAIN_TOKEN_ROWS_H

#include "train/trainer.h"

/* Loads the table and finds [CLS]/[SEP] in the vocabulary (errors name the file when it cannot). */
int ds_token_rows_open(ds_token_rows *r, ds_trainer *tr, ds_err *err);
/* Forward + embedding loss + backward of this step's rows, accumulating into the model's gradients;
 * returns the (weighted) loss through *loss. Call after the sentence batch's backward. */
int ds_token_rows_step(ds_token_rows *r, ds_trainer *tr, double *loss, ds_err *err);
void ds_token_rows_free(ds_token_rows *r);

#endif
