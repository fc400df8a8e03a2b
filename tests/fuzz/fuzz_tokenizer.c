/* tests/fuzz/fuzz_tokenizer.c: libFuzzer target for the prompt tokenizer (gl_tokenize
 * with the domain's tokenizer, gl_domain_tokenizer, for the tiny and default models).
 * Every id produced must be in the table and name a token, one per word. */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gridlora/data.h"
#include "gridlora/model.h"
#include "gridlora/tokenizer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static gl_tokenizer *tk[2];
static gl_dit_config cfg[2];

static void setup(void) {
    const char *names[2] = {"tiny", "default"};
    char msg[256];
    for (int i = 0; i < 2; i++)
        if (gl_dit_config_preset(names[i], &cfg[i]) != GL_OK ||
            gl_domain_tokenizer(&cfg[i], &tk[i], msg, sizeof msg) != GL_OK)
            abort();
}

/* Words as gl_tokenize splits them: runs of bytes that are neither white space nor
 * ",.;:!?". */
static int64_t count_words(const char *p) {
    int64_t n = 0;
    while (*p) {
        while (*p && (isspace((unsigned char)*p) || strchr(",.;:!?", *p))) p++;
        if (!*p) break;
        n++;
        while (*p && !isspace((unsigned char)*p) && !strchr(",.;:!?", *p)) p++;
    }
    return n;
}

/* Calls that could only repeat an earlier one are skipped, as most random inputs fail on
 * their first unknown word and the "nearest known" search is the costly part:
 * - the bound text_len, when the prompt has no more words than that: the bound is never
 *   reached, so the call is the one with 256;
 * - the default model's call with 256 after the tiny model's failed, when no word can be a
 *   concept token ("<c..."): both tokenizers hold the same words, so it fails alike.
 * A successful call must give one id per word. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!tk[0]) setup();
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = 0;
    const int64_t words = count_words(text);
    int concept = 0;
    for (size_t i = 0; i + 1 < size && !concept; i++)
        concept = text[i] == '<' && (text[i + 1] == 'c' || text[i + 1] == 'C');
    int tiny_failed = 0;
    int32_t ids[300];
    char msg[256];
    for (int k = 0; k < 2; k++) {
        /* a longer bound than any prompt should need, and the model's text length */
        int64_t maxes[2] = {256, cfg[k].text_len};
        for (int m = 0; m < 2; m++) {
            if (m == 1 && words <= maxes[1]) continue;
            if (k == 1 && m == 0 && tiny_failed && !concept) continue;
            int64_t n = -1;
            msg[0] = 0;
            int rc = gl_tokenize(tk[k], text, ids, maxes[m], &n, msg, sizeof msg);
            if (rc != GL_OK) {
                if (!msg[0]) abort();
                if (k == 0 && m == 0) tiny_failed = 1;
                continue;
            }
            if (n != words || n > maxes[m]) abort();
            for (int64_t i = 0; i < n; i++) {
                const char *t = gl_token_text(tk[k], ids[i]);
                if (ids[i] < 0 || ids[i] >= cfg[k].text_vocab || !t) abort();
                if (gl_token_id(tk[k], t) != ids[i]) abort();
            }
        }
    }
    (void)gl_token_id(tk[0], text);
    free(text);
    return 0;
}
