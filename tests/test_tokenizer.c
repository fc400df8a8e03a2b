/* tests/test_tokenizer.c: prompts to ids: stable ids, concept tokens, errors that name
 * the word, and every caption the renderer can write. */
#include <string.h>

#include "gridlora/core.h"
#include "gridlora/render.h"
#include "gridlora/tokenizer.h"
#include "testutil.h"

static const char *const words[] = {"a", "red", "blue", "black", "star", "with", "smoke"};

static void tokenizer_ids_stable(void **s) {
    (void)s;
    gl_tokenizer *t = NULL;
    char msg[256];
    assert_int_equal(gl_tokenizer_new(&t, words, 7, 64, 10, msg, sizeof msg), GL_OK);
    int32_t ids[16];
    int64_t n = 0;
    assert_int_equal(gl_tokenize(t, "<grid> A <c3> Red star, with smoke. <cell2> <v> <c9>", ids, 16, &n, msg, sizeof msg), GL_OK);
    int32_t want[] = {GL_TOK_GRID, 7, 64 - 10 + 3, 8, 11, 12, 13, GL_TOK_CELL0 + 2, GL_TOK_FREE, 63};
    assert_int_equal(n, 10);
    assert_memory_equal(ids, want, sizeof want);
    assert_string_equal(gl_token_text(t, 57), "<c3>");
    assert_string_equal(gl_token_text(t, 8), "red");
    assert_null(gl_token_text(t, 20)); /* between the words and the concepts: unused */
    assert_int_equal(gl_token_id(t, "smoke"), 13);
    assert_int_equal(gl_token_id(t, "<c10>"), GL_ENOTFOUND);
    assert_int_equal(gl_token_id(t, "<c03>"), GL_ENOTFOUND);
    assert_int_equal(gl_tokenize(t, "   ", ids, 16, &n, msg, sizeof msg), GL_OK);
    assert_int_equal(n, 0);
    gl_tokenizer_free(&t);
    assert_null(t);
}

static void tokenizer_errors(void **s) {
    (void)s;
    gl_tokenizer *t = NULL;
    char msg[256];
    int32_t ids[4];
    int64_t n;
    assert_int_equal(gl_tokenizer_new(&t, words, 7, 64, 10, msg, sizeof msg), GL_OK);
    assert_int_equal(gl_tokenize(t, "a blu star", ids, 4, &n, msg, sizeof msg), GL_EINVAL);
    assert_string_equal(msg, "unknown word 'blu' in the prompt; nearest known: blue, a, red");
    assert_int_equal(gl_tokenize(t, "a <c10> star", ids, 4, &n, msg, sizeof msg), GL_EINVAL);
    assert_non_null(strstr(msg, "beyond this model's 10 concept tokens"));
    assert_int_equal(gl_tokenize(t, "a red star with smoke a", ids, 4, &n, msg, sizeof msg), GL_EINVAL);
    assert_string_equal(msg, "the prompt has 6 tokens, the model takes at most 4");
    assert_int_equal(gl_tokenize(t, "<pad>", ids, 4, &n, msg, sizeof msg), GL_EINVAL);
    gl_tokenizer_free(&t);
    assert_int_equal(gl_tokenizer_new(&t, words, 7, 20, 10, msg, sizeof msg), GL_EINVAL);
    assert_non_null(strstr(msg, "do not fit"));
    const char *bad[] = {"a", "Red"};
    assert_int_equal(gl_tokenizer_new(&t, bad, 2, 64, 1, msg, sizeof msg), GL_EINVAL);
    const char *dup[] = {"a", "a"};
    assert_int_equal(gl_tokenizer_new(&t, dup, 2, 64, 1, msg, sizeof msg), GL_EINVAL);
    assert_null(t);
}

/* Every caption of every variant of many concepts tokenizes with the renderer's own
 * vocabulary: the two lists cannot drift apart unnoticed. */
static void tokenizer_covers_captions(void **s) {
    (void)s;
    const char *const *vocab;
    int nv = gl_caption_vocab(&vocab);
    assert_true(nv > 20);
    gl_tokenizer *t = NULL;
    char msg[256], cap[GL_CAPTION_MAX];
    assert_int_equal(gl_tokenizer_new(&t, vocab, nv, 1024, 512, msg, sizeof msg), GL_OK);
    for (uint64_t seed = 0; seed < 200; seed++) {
        gl_concept a, b;
        gl_concept_sample(&a, seed, seed % 2 ? GL_SPLIT_TRAIN : GL_SPLIT_HELDOUT);
        gl_concept_sample(&b, seed + 1000, GL_SPLIT_TRAIN);
        for (int v = 0; gl_variant_name(v); v++) {
            int64_t toks[2] = {(int64_t)(seed % 512), 7};
            if (gl_variant_caption(&a, &b, v, toks, cap, sizeof cap)) continue;
            int32_t ids[64];
            int64_t n;
            if (gl_tokenize(t, cap, ids, 64, &n, msg, sizeof msg)) fail_msg("caption '%s': %s", cap, msg);
        }
    }
    gl_tokenizer_free(&t);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(tokenizer_ids_stable),
    cmocka_unit_test(tokenizer_errors),
    cmocka_unit_test(tokenizer_covers_captions),
};
TU_MAIN("tokenizer", tests)
