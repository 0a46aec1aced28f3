/* Vocabulary pruning: which token ids the training data uses. Ids that never occur in a training row
 * (within max_len, where the attention mask is 1) lose their embedding row; they map to the row of one
 * kept id, the teacher's "[UNK]" (or "<unk>") when its vocabulary has one, else pad_id. Both of those
 * ids always keep their rows. */
#ifndef DS_TRAIN_PRUNE_VOCAB_H
#define DS_TRAIN_PRUNE_VOCAB_H

#include "data/data.h"
#include "model/model.h"

/* The id dropped ids map to (see above). vocab may be NULL. */
int ds_prune_vocab_unk_id(const ds_teacher_info *info, const char *const *vocab, int n_vocab);

/* The masked-form map (rows index the full table) of the training split given by val_fraction and
 * seed (the trainer's): used ids keep row = id, the rest row = the unk id's. Reads every training
 * row once, O(batch) memory. *n_kept: ids that keep their own row. */
int ds_prune_vocab_map_build(ds_vocab_map **out, ds_teacher *t, double val_fraction, unsigned long seed,
                             int max_len, const char *const *vocab, int n_vocab, int *n_kept, ds_err *err);

#endif
