/* gridlora/tokenizer.h: prompts to token ids over a closed word vocabulary.
 *
 * Ids are stable as the vocabulary grows, so shipped weights keep their meaning:
 *   0 "<pad>", 1 "<v>" (the free token of fine-tuning), 2 "<grid>", 3..6 "<cell0>".."<cell3>",
 *   7.. the domain's words in the order given, and the K concept tokens "<c0>".."<cK-1>"
 *   at the top of the table, ids [vocab_size - K, vocab_size).
 * A prompt is lower-cased and split at white space and at ",.;:!?" (which are dropped).
 * An unknown word is an error naming it and the nearest known words.
 *
 *     gl_tokenizer *tk = NULL;
 *     const char *const *words;
 *     int n = gl_caption_vocab(&words);              // the domain's words (render.h)
 *     gl_tokenizer_new(&tk, words, n, cfg.text_vocab, cfg.concept_tokens, msg, sizeof msg);
 *     gl_tokenize(tk, "a <c3> red striped star", ids, cfg.text_len, &len, msg, sizeof msg);
 */
#ifndef GRIDLORA_TOKENIZER_H
#define GRIDLORA_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum { GL_TOK_PAD = 0, GL_TOK_FREE = 1, GL_TOK_GRID = 2, GL_TOK_CELL0 = 3, GL_TOK_FIRST_WORD = 7 };

typedef struct gl_tokenizer gl_tokenizer;

/* Builds the table (copies the words). GL_EINVAL, with the reason in msg, when the
 * words and concept tokens do not fit in vocab_size, a word is empty, has upper case,
 * white space or punctuation, or appears twice. */
int gl_tokenizer_new(gl_tokenizer **out, const char *const *words, int n_words, int64_t vocab_size,
                     int64_t concept_tokens, char *msg, size_t msglen);
void gl_tokenizer_free(gl_tokenizer **t);

/* Tokenizes text into ids[0..*n), at most max ids; the rest of ids is left alone.
 * GL_EINVAL with msg for an unknown word ("unknown word 'blu'; nearest known: blue,
 * black"), a concept token beyond the table, or more than max tokens. */
int gl_tokenize(const gl_tokenizer *t, const char *text, int32_t *ids, int64_t max, int64_t *n,
                char *msg, size_t msglen);

/* The text of an id ("red", "<c3>"), or NULL for an id outside the table or unused. */
const char *gl_token_text(const gl_tokenizer *t, int32_t id);

/* The id of one token's text, or GL_ENOTFOUND. */
int32_t gl_token_id(const gl_tokenizer *t, const char *word);

#ifdef __cplusplus
}
#endif
#endif
