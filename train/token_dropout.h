/* Token dropout ([train] token_dropout = p): before each training forward, every real token of a sentence
 * except its first ([CLS]) and its last real one ([SEP]) is dropped with probability p, by clearing its
 * attention-mask entry, so the student neither attends to it nor pools it, while the target stays the
 * teacher's embedding of the whole sentence. A regularizer for small teacher files: the student cannot lean
 * on any one token. Each decision is a hash of (seed, step, the row's index in the teacher file, position),
 * so a resumed run and every process of a data-parallel run drop exactly the same tokens. */
#ifndef DS_TRAIN_TOKEN_DROPOUT_H
#define DS_TRAIN_TOKEN_DROPOUT_H

#include "data/data.h"

/* Clears mask entries of the first n rows of b as above; returns how many tokens it dropped. p = 0 changes
 * nothing. */
long ds_token_dropout_apply(ds_batch *b, int n, double p, unsigned long seed, long step);

#endif
