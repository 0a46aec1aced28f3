/* tokenizer/: text to the teacher's token ids (WordPiece), from generated tables, never pasted ones. */
/* BERT WordPiece tokenizer (uncased), giving exactly the ids of the teacher's own tokenizer
 * (Hugging Face `tokenizers`: BertNormalizer with lower-casing and accent stripping,
 * BertPreTokenizer, WordPiece with "##" continuations, [CLS] ... [SEP]).
 *
 * The vocabulary is the teacher file's `vocab` dataset (strings in id order). [CLS], [SEP] and
 * [UNK] must be in it; [PAD] sets the padding id (0 without it). The special tokens written
 * literally in a text ("[SEP]", "[MASK]", ...) are kept as those tokens, as the reference does.
 * Invalid UTF-8 bytes are dropped (the reference replaces them by U+FFFD, which it deletes).
 * The Unicode tables are generated from the reference itself
 * (experiments/teachers/gen_tokenizer_tables.py), so they follow its Unicode version. */
#ifndef DS_TOKENIZER_TOKENIZER_H
#define DS_TOKENIZER_TOKENIZER_H

#include <stdint.h>

#include "common/common.h"

#define DS_TOKENIZER_MAX_WORD_CHARS 100 /* longer words become [UNK], as in BERT */

typedef struct ds_tokenizer ds_tokenizer;

/* Copies the n strings of vocab (id = index). Fails, naming the token, when [CLS], [SEP] or
 * [UNK] is missing. Duplicate strings keep their first id. */
int ds_tokenizer_init(ds_tokenizer **t, char *const *vocab, int n, ds_err *err);

/* Tokenizes text (UTF-8, NUL-terminated) into ids[max_len] and mask[max_len] (mask may be NULL):
 * [CLS] word pieces [SEP], truncated to max_len tokens with [SEP] kept last, then padded with
 * the pad id (mask 1 on real tokens, 0 on padding). Returns the number of real tokens, or -1
 * when max_len < 2 or an argument is NULL. */
int ds_tokenizer_encode(const ds_tokenizer *t, const char *text, int max_len, int32_t *ids,
                        uint8_t *mask);

int ds_tokenizer_vocab_size(const ds_tokenizer *t);
int ds_tokenizer_pad_id(const ds_tokenizer *t);
/* The string of an id, or NULL outside the vocabulary. */
const char *ds_tokenizer_token(const ds_tokenizer *t, int id);
/* The id of a token string, or -1. */
int ds_tokenizer_lookup(const ds_tokenizer *t, const char *token);

void ds_tokenizer_free(ds_tokenizer *t);

#endif
