/* model/tokenizer.c: words to ids over a closed vocabulary, with stable ids (see
 * tokenizer.h) and errors that say which word is wrong and what was probably meant. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gridlora/core.h"
#include "gridlora/tokenizer.h"

#define WORD_MAX 63

static const char *const specials[GL_TOK_FIRST_WORD] = {"<pad>", "<v>", "<grid>", "<cell0>",
                                                        "<cell1>", "<cell2>", "<cell3>"};

struct gl_tokenizer {
    char (*words)[WORD_MAX + 1]; /* id -> text for ids below first_concept; "" unused */
    int64_t vocab, n_fixed, concepts;
    char concept_buf[32];
};

typedef struct word_at {
    const char *w;
    int at;
} word_at;

static int by_text_then_place(const void *a, const void *b) {
    const word_at *x = a, *y = b;
    int c = strcmp(x->w, y->w);
    return c ? c : (x->at > y->at) - (x->at < y->at);
}

int gl_tokenizer_new(gl_tokenizer **out, const char *const *words, int n_words, int64_t vocab_size,
                     int64_t concept_tokens, char *msg, size_t msglen) {
    *out = NULL;
    int64_t fixed = GL_TOK_FIRST_WORD + (int64_t)n_words;
    if (n_words < 0 || concept_tokens < 0 || fixed + concept_tokens > vocab_size) {
        snprintf(msg, msglen, "tokenizer: %d words, %d special and %lld concept tokens do not fit in a vocabulary of %lld",
                 n_words, GL_TOK_FIRST_WORD, (long long)concept_tokens, (long long)vocab_size);
        return GL_EINVAL;
    }
    gl_tokenizer *t = calloc(1, sizeof *t);
    /* repeat[i]: word i repeats an earlier one, found by sorting (not by comparing every
     * pair: the domain's tokenizer is built on every data-set load) */
    word_at *sorted = calloc((size_t)n_words + 1, sizeof *sorted);
    unsigned char *repeat = calloc((size_t)n_words + 1, 1);
    if (!t || !sorted || !repeat || !(t->words = calloc((size_t)fixed, sizeof *t->words))) {
        free(t);
        free(sorted);
        free(repeat);
        snprintf(msg, msglen, "tokenizer: out of memory");
        return GL_ENOMEM;
    }
    t->vocab = vocab_size;
    t->n_fixed = fixed;
    t->concepts = concept_tokens;
    for (int i = 0; i < GL_TOK_FIRST_WORD; i++) strcpy(t->words[i], specials[i]);
    for (int i = 0; i < n_words; i++) sorted[i] = (word_at){words[i], i};
    qsort(sorted, (size_t)n_words, sizeof *sorted, by_text_then_place);
    for (int k = 1; k < n_words; k++)
        if (!strcmp(sorted[k - 1].w, sorted[k].w)) repeat[sorted[k].at] = 1;
    free(sorted);
    for (int i = 0; i < n_words; i++) {
        const char *w = words[i];
        size_t len = strlen(w);
        int ok = len > 0 && len <= WORD_MAX;
        for (size_t k = 0; ok && k < len; k++)
            ok = !isspace((unsigned char)w[k]) && !isupper((unsigned char)w[k]) && !strchr(",.;:!?<>", w[k]);
        /* specials and concept tokens hold '<', which no word may */
        if (ok && repeat[i]) ok = 0;
        if (!ok) {
            snprintf(msg, msglen, "tokenizer: word %d '%s' is empty, too long, not lower case, holds "
                                  "white space or punctuation, or repeats", i, w);
            gl_tokenizer_free(&t);
            free(repeat);
            return GL_EINVAL;
        }
        strcpy(t->words[GL_TOK_FIRST_WORD + i], w);
    }
    free(repeat);
    *out = t;
    return GL_OK;
}

void gl_tokenizer_free(gl_tokenizer **t) {
    if (!t || !*t) return;
    free((*t)->words);
    free(*t);
    *t = NULL;
}

const char *gl_token_text(const gl_tokenizer *t, int32_t id) {
    if (id >= 0 && id < t->n_fixed) return t->words[id];
    int64_t first = t->vocab - t->concepts;
    if (id >= first && id < t->vocab) {
        snprintf(((gl_tokenizer *)t)->concept_buf, sizeof t->concept_buf, "<c%lld>", (long long)(id - first));
        return t->concept_buf;
    }
    return NULL;
}

int32_t gl_token_id(const gl_tokenizer *t, const char *w) {
    if (w[0] == '<' && w[1] == 'c' && isdigit((unsigned char)w[2])) {
        char *end = NULL;
        long k = strtol(w + 2, &end, 10);
        if (end && end[0] == '>' && end[1] == 0 && k >= 0 && k < t->concepts && !(w[2] == '0' && end - w > 3))
            return (int32_t)(t->vocab - t->concepts + k);
    }
    /* linear: a vocabulary of a few hundred words, prompts of a few dozen */
    for (int64_t i = 0; i < t->n_fixed; i++)
        if (t->words[i][0] && !strcmp(t->words[i], w)) return (int32_t)i;
    return GL_ENOTFOUND;
}

/* Levenshtein distance, for "did you mean". Words are short (<= WORD_MAX). */
static int edit_distance(const char *a, const char *b) {
    int la = (int)strlen(a), lb = (int)strlen(b);
    int row[WORD_MAX + 2];
    if (la > WORD_MAX || lb > WORD_MAX) return 1000;
    for (int j = 0; j <= lb; j++) row[j] = j;
    for (int i = 1; i <= la; i++) {
        int diag = row[0];
        row[0] = i;
        for (int j = 1; j <= lb; j++) {
            int up = row[j], best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best) best = up + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            diag = up;
            row[j] = best;
        }
    }
    return row[lb];
}

static void unknown_word(const gl_tokenizer *t, const char *w, char *msg, size_t msglen) {
    int best[3] = {-1, -1, -1}, dist[3] = {1 << 30, 1 << 30, 1 << 30};
    for (int64_t i = GL_TOK_FIRST_WORD; i < t->n_fixed; i++) {
        int d = edit_distance(w, t->words[i]);
        for (int k = 0; k < 3; k++)
            if (d < dist[k]) {
                for (int m = 2; m > k; m--) { dist[m] = dist[m - 1]; best[m] = best[m - 1]; }
                dist[k] = d;
                best[k] = (int)i;
                break;
            }
    }
    int n = snprintf(msg, msglen, "unknown word '%s' in the prompt", w);
    for (int k = 0; k < 3 && best[k] >= 0 && n >= 0 && (size_t)n < msglen; k++)
        n += snprintf(msg + n, msglen - (size_t)n, "%s%s", k ? ", " : "; nearest known: ", t->words[best[k]]);
}

int gl_tokenize(const gl_tokenizer *t, const char *text, int32_t *ids, int64_t max, int64_t *n, char *msg,
                size_t msglen) {
    *n = 0;
    const char *p = text;
    while (*p) {
        while (*p && (isspace((unsigned char)*p) || strchr(",.;:!?", *p))) p++;
        if (!*p) break;
        char w[WORD_MAX + 1];
        size_t len = 0;
        while (*p && !isspace((unsigned char)*p) && !strchr(",.;:!?", *p)) {
            if (len == WORD_MAX) {
                snprintf(msg, msglen, "a word of the prompt is longer than %d characters", WORD_MAX);
                return GL_EINVAL;
            }
            w[len++] = (char)tolower((unsigned char)*p++);
        }
        w[len] = 0;
        int32_t id = gl_token_id(t, w);
        if (id < 0 || id == GL_TOK_PAD) {
            if (w[0] == '<' && w[1] == 'c' && isdigit((unsigned char)w[2]))
                snprintf(msg, msglen, "concept token '%s' is beyond this model's %lld concept tokens", w,
                         (long long)t->concepts);
            else
                unknown_word(t, w, msg, msglen);
            return GL_EINVAL;
        }
        if (*n == max) {
            int64_t total = *n;
            for (const char *q = p; *q;) { /* count the rest, to say how long it is */
                while (*q && (isspace((unsigned char)*q) || strchr(",.;:!?", *q))) q++;
                if (!*q) break;
                total++;
                while (*q && !isspace((unsigned char)*q) && !strchr(",.;:!?", *q)) q++;
            }
            snprintf(msg, msglen, "the prompt has %lld tokens, the model takes at most %lld", (long long)total + 1,
                     (long long)max);
            return GL_EINVAL;
        }
        ids[(*n)++] = id;
    }
    return GL_OK;
}
