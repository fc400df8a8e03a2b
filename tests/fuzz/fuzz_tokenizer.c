/* tests/fuzz/fuzz_tokenizer.c: libFuzzer target for the prompt tokenizer (gl_tokenize
 * with the domain's tokenizer, gl_domain_tokenizer, for the tiny and default models).
 * Every id produced must be in the table and name a token. */
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!tk[0]) setup();
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = 0;
    int32_t ids[300];
    char msg[256];
    for (int k = 0; k < 2; k++) {
        /* the model's text length, and a longer bound than any prompt should need */
        int64_t maxes[2] = {cfg[k].text_len, 256};
        for (int m = 0; m < 2; m++) {
            int64_t n = -1;
            msg[0] = 0;
            int rc = gl_tokenize(tk[k], text, ids, maxes[m], &n, msg, sizeof msg);
            if (rc != GL_OK) {
                if (!msg[0]) abort();
                continue;
            }
            if (n < 0 || n > maxes[m]) abort();
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
