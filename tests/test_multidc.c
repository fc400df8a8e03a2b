/* tests/test_multidc.c: the Multi-DC LoRA's data and stages: SET samples are one frame of
 * a concept's clip held still, SEQUENCE samples the clip in order (both equal to the
 * data set's files within 8-bit rounding); captions carry the sample's own concept
 * token, only the chosen variants occur; more concepts than the model's tokens, a token
 * the model has not got, and prompts without their token are errors; one video makes a
 * one-concept source; with a token-only rate, plain clips are captioned "a <cK>" and
 * nothing else changes; token rows can start from their captions' words; the Set stage trains A, B and the tokens and leaves B2 at zero,
 * the Sequence stage trains B2 alone. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gridlora/data.h"
#include "gridlora/dataset.h"
#include "gridlora/lora.h"
#include "gridlora/model.h"
#include "gridlora/multidc.h"
#include "gridlora/render.h"
#include "gridlora/tokenizer.h"
#include "gridlora/train.h"
#include "gridlora/video.h"
#include "testutil.h"

static gl_dit *frozen_base(const gl_dit_config *c);

/* The tiny preset with 4 frames of 16x16, so order and stillness are visible. */
static gl_dit_config config(void) {
    gl_dit_config c;
    assert_int_equal(gl_dit_config_preset("tiny", &c), GL_OK);
    c.frames = 4;
    c.cell_h = c.cell_w = 16;
    char msg[256];
    assert_int_equal(gl_dit_config_validate(&c, msg, sizeof msg), GL_OK);
    return c;
}

static void write_set(const char *dir, const gl_dit_config *c, int64_t count) {
    gl_dataset_params p = gl_dataset_default_params();
    p.count = count;
    p.seed = 5;
    p.render.frames = c->frames;
    p.render.height = c->cell_h;
    p.render.width = c->cell_w;
    char msg[512];
    gl_video_set_verbose(0);
    if (gl_dataset_write(dir, &p, msg, sizeof msg)) fail_msg("gl_dataset_write: %s", msg);
}

/* The prompt write_set's manifest gives concept k's variant (of two concepts, seed 5). */
static void manifest_caption(int64_t k, int variant, char cap[GL_CAPTION_MAX]) {
    gl_concept a, b;
    gl_concept_sample(&a, gl_dataset_concept_seed(5, k), GL_SPLIT_TRAIN);
    gl_concept_sample(&b, gl_dataset_concept_seed(5, 1 - k), GL_SPLIT_TRAIN);
    int64_t toks[2] = {k, 1 - k};
    assert_int_equal(gl_variant_caption(&a, &b, variant, toks, cap, GL_CAPTION_MAX), GL_OK);
}

typedef struct batch {
    gl_train_batch b;
} batch;

static void batch_new(batch *t, const gl_dit_config *c, int64_t B) {
    gl_train_batch *b = &t->b;
    memset(b, 0, sizeof *b);
    b->B = B;
    b->F = c->frames;
    b->H = c->cell_h;
    b->W = c->cell_w;
    b->T = (b->F / c->patch_t) * (b->H / c->patch_h) * (b->W / c->patch_w);
    b->text_len = c->text_len;
    b->x0 = tu_falloc(B * b->F * b->H * b->W * 3);
    b->text = test_calloc((size_t)(B * b->text_len), sizeof(int32_t));
    b->text_lens = test_calloc((size_t)B, sizeof(int32_t));
    b->clean = test_calloc((size_t)(B * b->T), 1);
}

static void batch_free(batch *t) {
    tu_free(t->b.x0);
    test_free(t->b.text);
    test_free(t->b.text_lens);
    test_free(t->b.clean);
}

static void fill(gl_multidc *d, batch *t, uint64_t seed) {
    gl_rng rng;
    gl_rng_seed(&rng, seed);
    char msg[256];
    assert_int_equal(gl_multidc_next(d, 0, &rng, &t->b, msg, sizeof msg), GL_OK);
}

/* A two-concept data set in a new directory t, read twice: the source under test and
 * an untouched reference drawing the same batches. */
static void two_sources(const gl_dit_config *c, tu_tmpdir *t, gl_multidc **d, gl_multidc **ref) {
    char msg[512];
    tu_tmp_make(t, "multidc");
    write_set(t->path, c, 2);
    assert_int_equal(gl_multidc_dir(d, t->path, c, NULL, NULL, msg, sizeof msg), GL_OK);
    assert_int_equal(gl_multidc_dir(ref, t->path, c, NULL, NULL, msg, sizeof msg), GL_OK);
}

/* The file of concept k's variant, read as the source reads it. */
static void read_variant(const char *dir, const gl_dit_config *c, int64_t k, int var, gl_video *v) {
    char path[512], msg[512];
    if (var == GL_VARIANT_PLAIN) snprintf(path, sizeof path, "%s/%04lld.mp4", dir, (long long)k);
    else snprintf(path, sizeof path, "%s/%04lld.%s.mp4", dir, (long long)k, gl_variant_name(var));
    gl_video_read_opts ro = gl_video_read_default_opts();
    ro.frames = c->frames;
    ro.height = c->cell_h;
    ro.width = c->cell_w;
    if (gl_video_read(path, &ro, v, NULL, msg, sizeof msg)) fail_msg("%s", msg);
}

static void clips_are_static_or_ordered_with_their_tokens(void **s) {
    (void)s;
    gl_dit_config c = config();
    tu_tmpdir t;
    tu_tmp_make(&t, "multidc");
    write_set(t.path, &c, 2);
    gl_multidc *d = NULL;
    char msg[512];
    assert_int_equal(gl_multidc_dir(&d, t.path, &c, NULL, NULL, msg, sizeof msg), GL_OK);
    assert_int_equal(gl_multidc_concepts(d), 2);
    assert_int_equal(gl_multidc_videos(d), 2 * 7); /* plain, 5 effects, bg */
    const int32_t *ids;
    assert_int_equal(gl_multidc_tokens(d, &ids), 2);
    gl_tokenizer *tk = NULL;
    assert_int_equal(gl_domain_tokenizer(&c, &tk, msg, sizeof msg), GL_OK);
    assert_int_equal(ids[0], gl_token_id(tk, "<c0>"));
    assert_int_equal(ids[1], gl_token_id(tk, "<c1>"));
    const int64_t B = 8, per_frame = c.cell_h * c.cell_w * 3, n = c.frames * per_frame;
    batch bt, b2;
    batch_new(&bt, &c, B);
    batch_new(&b2, &c, B);
    int plain = 0, effects = 0, moving = 0;
    for (int mode = GL_MULTIDC_SET; mode <= GL_MULTIDC_SEQUENCE; mode++) {
        gl_multidc_set_mode(d, mode);
        for (uint64_t seed = 1; seed <= 6; seed++) {
            fill(d, &bt, seed);
            fill(d, &b2, seed); /* a function of the rng */
            assert_memory_equal(bt.b.x0, b2.b.x0, (size_t)(B * n) * sizeof(float));
            for (int64_t i = 0; i < B; i++) {
                const gl_multidc_item *it = gl_multidc_last(d, i);
                assert_non_null(it);
                assert_true(it->concept == 0 || it->concept == 1);
                assert_true(it->variant == GL_VARIANT_PLAIN || it->variant == GL_VARIANT_SMOKE ||
                            it->variant == GL_VARIANT_LIGHTS || it->variant == GL_VARIANT_NIGHT ||
                            it->variant == GL_VARIANT_RAIN || it->variant == GL_VARIANT_SHADOW ||
                            it->variant == GL_VARIANT_BACKGROUND);
                plain += it->variant == GL_VARIANT_PLAIN;
                effects += it->variant != GL_VARIANT_PLAIN;
                /* the caption is the manifest's prompt: the concept's own token, in the text */
                char want[16];
                snprintf(want, sizeof want, "<c%lld>", (long long)it->concept);
                if (!strstr(it->caption, want)) fail_msg("caption '%s' lacks %s", it->caption, want);
                const int32_t *text = bt.b.text + i * c.text_len;
                int has = 0;
                for (int32_t j = 0; j < bt.b.text_lens[i]; j++) has |= text[j] == ids[it->concept];
                assert_true(has);
                char cap[GL_CAPTION_MAX];
                manifest_caption(it->concept, it->variant, cap);
                assert_string_equal(it->caption, cap);
                /* pixels: the file's frames in order, or its frame it->frame held still */
                gl_video v = {0};
                read_variant(t.path, &c, it->concept, it->variant, &v);
                const float *x = bt.b.x0 + i * n;
                if (mode == GL_MULTIDC_SET) assert_true(it->frame >= 0 && it->frame < c.frames);
                else assert_int_equal(it->frame, -1);
                for (int64_t f = 0; f < c.frames; f++) {
                    int64_t sf = mode == GL_MULTIDC_SET ? it->frame : f;
                    for (int64_t j = 0; j < per_frame; j++)
                        assert_true(fabsf(x[f * per_frame + j] - (2.0f * v.rgb[sf * per_frame + j] - 1.0f)) <=
                                    1.0f / 255 + 1e-6f);
                    if (mode == GL_MULTIDC_SET && f > 0) /* static: every frame the same */
                        assert_memory_equal(x + f * per_frame, x, (size_t)per_frame * sizeof(float));
                }
                if (mode == GL_MULTIDC_SEQUENCE)
                    moving += memcmp(x, x + (c.frames - 1) * per_frame, (size_t)per_frame * sizeof(float)) != 0;
                gl_video_release(&v);
            }
        }
    }
    print_message("plain %d, variants %d, moving sequence clips %d of %lld\n", plain, effects, moving,
                  (long long)(6 * B));
    assert_true(plain > 20 && effects > 20); /* half and half of 96 */
    assert_true(moving > 40);                /* the concepts move */
    batch_free(&bt);
    batch_free(&b2);
    gl_tokenizer_free(&tk);
    gl_multidc_free(&d);
    assert_null(d);
    gl_multidc_free(&d);
    tu_tmp_remove(&t);
}

/* Rate 1: every plain clip is captioned with its token alone, the variants keep their
 * prompts and the pixels are those of rate 0 (only the caption changes). Rate 0 draws
 * nothing more: its batches equal a source never set. Rates outside [0, 1] fail. */
static void token_only_captions_plain_clips_with_their_token(void **s) {
    (void)s;
    gl_dit_config c = config();
    tu_tmpdir t;
    gl_multidc *d = NULL, *ref = NULL;
    char msg[512];
    two_sources(&c, &t, &d, &ref);
    const int32_t *ids;
    gl_multidc_tokens(d, &ids);
    gl_tokenizer *tk = NULL;
    assert_int_equal(gl_domain_tokenizer(&c, &tk, msg, sizeof msg), GL_OK);
    const int32_t a = gl_token_id(tk, "a");
    assert_true(a >= 0);
    assert_int_equal(gl_multidc_set_token_only(d, 1.5f, msg, sizeof msg), GL_EINVAL);
    assert_non_null(strstr(msg, "1.5"));
    assert_int_equal(gl_multidc_set_token_only(d, NAN, msg, sizeof msg), GL_EINVAL);
    assert_int_equal(gl_multidc_set_token_only(d, -0.1f, msg, sizeof msg), GL_EINVAL);

    const int64_t B = 8, n = c.frames * c.cell_h * c.cell_w * 3;
    batch bt, br;
    batch_new(&bt, &c, B);
    batch_new(&br, &c, B);
    assert_int_equal(gl_multidc_set_token_only(d, 0.0f, msg, sizeof msg), GL_OK);
    for (uint64_t seed = 1; seed <= 3; seed++) {
        fill(d, &bt, seed);
        fill(ref, &br, seed);
        assert_memory_equal(bt.b.x0, br.b.x0, (size_t)(B * n) * sizeof(float));
        assert_memory_equal(bt.b.text, br.b.text, (size_t)(B * c.text_len) * sizeof(int32_t));
    }
    assert_int_equal(gl_multidc_set_token_only(d, 1.0f, msg, sizeof msg), GL_OK);
    int alone = 0, kept = 0;
    for (uint64_t seed = 1; seed <= 6; seed++) {
        fill(d, &bt, seed);
        for (int64_t i = 0; i < B; i++) {
            const gl_multidc_item *it = gl_multidc_last(d, i);
            const int32_t *text = bt.b.text + i * c.text_len;
            if (it->variant == GL_VARIANT_PLAIN) {
                char want[32];
                snprintf(want, sizeof want, "a <c%lld>", (long long)it->concept);
                assert_string_equal(it->caption, want);
                assert_int_equal(bt.b.text_lens[i], 2);
                assert_int_equal(text[0], a);
                assert_int_equal(text[1], ids[it->concept]);
                alone++;
            } else {
                assert_true(bt.b.text_lens[i] > 2);
                kept++;
            }
        }
    }
    assert_true(alone > 0 && kept > 0);
    char buf[16];
    gl_multidc_token_prompt("<c7>", buf, sizeof buf);
    assert_string_equal(buf, "a <c7>");
    batch_free(&bt);
    batch_free(&br);
    gl_tokenizer_free(&tk);
    gl_multidc_free(&d);
    gl_multidc_free(&ref);
    tu_tmp_remove(&t);
}

/* --token-vectors: each concept token becomes V ids, its own then the model's free
 * concept ids bank by bank; the token list the adapter is made with follows; every
 * prompt, the token-alone one too, carries the expansion; a second call, and more
 * vectors than the model has free concept tokens for, fail. */
static void token_vectors_expand_every_prompt(void **s) {
    (void)s;
    gl_dit_config c = config();
    tu_tmpdir t;
    gl_multidc *d = NULL, *ref = NULL;
    char msg[512];
    two_sources(&c, &t, &d, &ref);
    assert_int_equal(gl_multidc_token_vectors(d), 1);
    assert_int_equal(gl_multidc_set_token_vectors(d, 0, msg, sizeof msg), GL_EINVAL);
    assert_int_equal(gl_multidc_set_token_vectors(d, GL_LORA_MAX_TOKEN_VECTORS + 1, msg, sizeof msg), GL_EINVAL);
    /* the tiny preset's concept tokens: 2 named, the rest free for the extras */
    const int64_t first = c.text_vocab - c.concept_tokens, V = c.concept_tokens / 2;
    assert_true(V >= 2);
    assert_int_equal(gl_multidc_set_token_vectors(d, (int)V + 1, msg, sizeof msg), GL_EINVAL);
    assert_non_null(strstr(msg, "concept tokens"));
    assert_int_equal(gl_multidc_set_token_vectors(d, (int)V, msg, sizeof msg), GL_OK);
    assert_int_equal(gl_multidc_set_token_vectors(d, 2, msg, sizeof msg), GL_EINVAL); /* once */
    assert_int_equal(gl_multidc_token_vectors(d), (int)V);
    const int32_t *ids, *own;
    assert_int_equal(gl_multidc_tokens(d, &ids), (int)(2 * V));
    assert_int_equal(gl_multidc_tokens(ref, &own), 2);
    assert_int_equal(ids[0], own[0]);
    assert_int_equal(ids[1], own[1]);
    for (int64_t k = 2, want = first; k < 2 * V; k++, want++) { /* the free ids in order */
        while (want == own[0] || want == own[1]) want++;
        assert_int_equal(ids[k], want);
    }
    assert_int_equal(gl_multidc_set_token_only(d, 0.5f, msg, sizeof msg), GL_OK);
    assert_int_equal(gl_multidc_set_token_only(ref, 0.5f, msg, sizeof msg), GL_OK);
    const int64_t B = 8;
    batch bt, br;
    batch_new(&bt, &c, B);
    batch_new(&br, &c, B);
    int alone = 0;
    for (uint64_t seed = 1; seed <= 4; seed++) {
        fill(d, &bt, seed);
        fill(ref, &br, seed);
        for (int64_t i = 0; i < B; i++) { /* the same draws; each named token followed by its extras */
            const gl_multidc_item *it = gl_multidc_last(d, i);
            assert_string_equal(it->caption, gl_multidc_last(ref, i)->caption);
            const int32_t *x = bt.b.text + i * c.text_len, *r = br.b.text + i * c.text_len;
            const int64_t xn = bt.b.text_lens[i]; /* both cut to the text length */
            int64_t o = 0;
            for (int64_t j = 0; j < br.b.text_lens[i] && o < xn; j++) {
                assert_int_equal(x[o++], r[j]);
                const int64_t k = r[j] == own[0] ? 0 : r[j] == own[1] ? 1 : -1;
                for (int64_t v = 1; k >= 0 && v < V && o < xn; v++) assert_int_equal(x[o++], ids[k + 2 * v]);
            }
            assert_int_equal(o, xn);
            assert_true(xn > br.b.text_lens[i] || xn == c.text_len); /* the extras are there */
            alone += !strncmp(it->caption, "a <c", 4);
        }
    }
    assert_true(alone > 0);
    batch_free(&bt);
    batch_free(&br);
    gl_multidc_free(&d);
    gl_multidc_free(&ref);
    tu_tmp_remove(&t);
}

/* --token-init words: each token row is the mean of the base's embeddings of its plain
 * prompt's words (the manifest's caption, tokenized here), its own token left out; an
 * adapter whose tokens are not the data set's is refused. */
static void token_rows_start_from_their_captions_words(void **s) {
    (void)s;
    gl_dit_config c = config();
    tu_tmpdir t;
    tu_tmp_make(&t, "multidc");
    write_set(t.path, &c, 2);
    char msg[512];
    gl_multidc *d = NULL;
    assert_int_equal(gl_multidc_dir(&d, t.path, &c, NULL, NULL, msg, sizeof msg), GL_OK);
    gl_dit *m = frozen_base(&c);
    gl_lora_spec sp = gl_lora_default_spec();
    sp.rank = 2;
    sp.n_tokens = gl_multidc_tokens(d, &sp.tokens);
    gl_lora *l = NULL;
    assert_int_equal(gl_lora_new(&l, m, &sp, 3, msg, sizeof msg), GL_OK);
    assert_int_equal(gl_multidc_init_token_rows(d, l, m, msg, sizeof msg), GL_OK);
    gl_tokenizer *tk = NULL;
    assert_int_equal(gl_domain_tokenizer(&c, &tk, msg, sizeof msg), GL_OK);
    gl_params *mp = gl_dit_params(m), *lp = gl_lora_params(l);
    const float *table = gl_params_tensor(mp, gl_params_find(mp, "text.token_embed.weight")).data;
    const float *rows = gl_params_tensor(lp, gl_lora_token_rows(l)).data;
    for (int64_t k = 0; k < 2; k++) {
        char cap[GL_CAPTION_MAX];
        manifest_caption(k, GL_VARIANT_PLAIN, cap);
        int32_t ids[GL_CAPTION_MAX];
        int64_t n = 0;
        assert_int_equal(gl_tokenize(tk, cap, ids, GL_CAPTION_MAX, &n, msg, sizeof msg), GL_OK);
        int64_t words = 0;
        for (int64_t j = 0; j < n; j++) words += ids[j] != sp.tokens[k];
        assert_int_equal(words, n - 1); /* the token once, and the words */
        for (int64_t e = 0; e < c.text_width; e++) {
            double want = 0;
            for (int64_t j = 0; j < n; j++)
                if (ids[j] != sp.tokens[k]) want += table[(int64_t)ids[j] * c.text_width + e];
            want /= (double)words;
            assert_true(fabs(rows[k * c.text_width + e] - want) <= 1e-6 + 1e-5 * fabs(want));
        }
    }
    /* an adapter made for other tokens */
    gl_lora *other = NULL;
    const int32_t wrong[1] = {gl_token_id(tk, "<c1>") + 1};
    gl_lora_spec so = sp;
    so.tokens = wrong;
    so.n_tokens = 1;
    assert_int_equal(gl_lora_new(&other, m, &so, 3, msg, sizeof msg), GL_OK);
    assert_int_equal(gl_multidc_init_token_rows(d, other, m, msg, sizeof msg), GL_EINVAL);
    assert_non_null(strstr(msg, "none of the data set's concepts"));
    gl_lora_free(&other);
    gl_lora_free(&l);
    gl_dit_free(&m);
    gl_tokenizer_free(&tk);
    gl_multidc_free(&d);
    tu_tmp_remove(&t);
}

/* Loads a directory expected to fail; msg must contain the needle. */
static void expect_error(const char *dir, const gl_dit_config *c, int code, const char *needle) {
    gl_multidc *d = NULL;
    char msg[512] = "";
    int rc = gl_multidc_dir(&d, dir, c, NULL, NULL, msg, sizeof msg);
    print_message("%s\n", msg);
    assert_int_equal(rc, code);
    assert_null(d);
    assert_null(strchr(msg, '\n'));
    if (!strstr(msg, needle)) fail_msg("message lacks '%s': %s", needle, msg);
}

static void too_many_concepts_and_bad_tokens_fail(void **s) {
    (void)s;
    gl_dit_config c = config();
    tu_tmpdir t;
    tu_tmp_make(&t, "multidc");
    write_set(t.path, &c, 2);
    gl_dit_config one = c;
    one.concept_tokens = 1;
    expect_error(t.path, &one, GL_EINVAL, "2 concepts, but the model has 1 concept tokens (<c0>..<c0>)");
    /* a hand-made manifest: a token beyond the model's, a prompt without its token, no token */
    char p[512];
    snprintf(p, sizeof p, "%s/manifest.jsonl", t.path);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs("{\"token\": \"<c7>\", \"file\": \"0000.mp4\", \"prompt\": \"a <c7> red star\"}\n", f);
    fclose(f);
    expect_error(t.path, &c, GL_EINVAL, "line 1: token '<c7>' is not one of the model's 4 concept tokens");
    f = fopen(p, "w");
    fputs("{\"token\": \"<c1>\", \"file\": \"0000.mp4\", \"prompt\": \"a <c0> red star\"}\n", f);
    fclose(f);
    expect_error(t.path, &c, GL_EINVAL, "prompt 'a <c0> red star' lacks the concept's token <c1>");
    f = fopen(p, "w");
    fputs("{\"file\": \"0000.mp4\", \"caption\": \"a red star\"}\n", f);
    fclose(f);
    expect_error(t.path, &c, GL_EFORMAT, "'token' missing");
    f = fopen(p, "w");
    fputs("{\"token\": \"<c0>\", \"file\": \"0000.mp4\", \"prompt\": \"a <c0>\"}\n"
          "{\"token\": \"<c0>\", \"file\": \"0001.mp4\", \"prompt\": \"a <c0>\"}\n", f);
    fclose(f);
    expect_error(t.path, &c, GL_EFORMAT, "line 2: token '<c0>' is already concept 0's");
    f = fopen(p, "w");
    fputs("{\"token\": \"<c0>\", \"file\": \"none.mp4\", \"prompt\": \"a <c0>\"}\n", f);
    fclose(f);
    expect_error(t.path, &c, GL_EIO, "none.mp4");
    tu_tmp_remove(&t);
    expect_error("/nonexistent", &c, GL_EIO, "manifest.jsonl: cannot open");
}

static void one_video_is_one_concept(void **s) {
    (void)s;
    gl_dit_config c = config();
    tu_tmpdir t;
    tu_tmp_make(&t, "multidc");
    write_set(t.path, &c, 1);
    char path[512], msg[512] = "";
    snprintf(path, sizeof path, "%s/0000.mp4", t.path);
    gl_multidc *d = NULL;
    assert_int_equal(gl_multidc_video(&d, path, "<v>", "a <v>", &c, msg, sizeof msg), GL_OK);
    const int32_t *ids;
    assert_int_equal(gl_multidc_tokens(d, &ids), 1);
    assert_int_equal(ids[0], GL_TOK_FREE);
    batch bt;
    batch_new(&bt, &c, 3);
    gl_multidc_set_mode(d, GL_MULTIDC_SEQUENCE);
    fill(d, &bt, 9);
    for (int64_t i = 0; i < 3; i++) {
        assert_int_equal(gl_multidc_last(d, i)->video, 0);
        assert_string_equal(gl_multidc_last(d, i)->caption, "a <v>");
        assert_int_equal(bt.b.text_lens[i], 2);
        assert_int_equal(bt.b.text[i * c.text_len + 1], GL_TOK_FREE);
    }
    batch_free(&bt);
    gl_multidc_free(&d);
    assert_int_equal(gl_multidc_video(&d, path, "<c3>", "<c3> with smoke", &c, msg, sizeof msg), GL_OK);
    gl_multidc_free(&d);
    assert_int_equal(gl_multidc_video(&d, path, "<v>", "a red star", &c, msg, sizeof msg), GL_EINVAL);
    assert_non_null(strstr(msg, "lacks the concept's token <v>"));
    assert_int_equal(gl_multidc_video(&d, path, "red", "a red star", &c, msg, sizeof msg), GL_EINVAL);
    assert_non_null(strstr(msg, "neither the free token <v> nor"));
    assert_int_equal(gl_multidc_video(&d, path, "<c4>", "a <c4>", &c, msg, sizeof msg), GL_EINVAL);
    assert_null(d);
    tu_tmp_remove(&t);
}

/* A tiny model, its weights random and frozen (a trained base is not AdaLN-zero). */
static gl_dit *frozen_base(const gl_dit_config *c) {
    gl_dit *m = NULL;
    char msg[256];
    assert_int_equal(gl_dit_new(&m, c, msg, sizeof msg), GL_OK);
    gl_params *mp = gl_dit_params(m);
    tu_rng r;
    tu_seed(&r, 8);
    tu_fill(&r, gl_params_data(mp), gl_params_numel(mp), 0.2);
    for (int i = 0; i < gl_params_count(mp); i++) gl_params_set_flags(mp, i, GL_PARAM_FROZEN);
    return m;
}

/* Copies of the adapter's tensors whose names end with suffix, concatenated. */
static float *gather(gl_lora *l, const char *suffix, int64_t *n) {
    gl_params *p = gl_lora_params(l);
    float *out = tu_falloc(gl_params_numel(p));
    *n = 0;
    for (int i = 0; i < gl_params_count(p); i++) {
        const char *name = gl_params_name(p, i);
        size_t a = strlen(name), b = strlen(suffix);
        if (a < b || strcmp(name + a - b, suffix)) continue;
        gl_tensor t = gl_params_tensor(p, i);
        memcpy(out + *n, t.data, (size_t)gl_tensor_numel(&t) * sizeof(float));
        *n += gl_tensor_numel(&t);
    }
    return out;
}

static int all_zero(const float *x, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        if (x[i] != 0) return 0;
    return 1;
}

static void stages_train_their_own_tensors(void **s) {
    (void)s;
    gl_dit_config c = config();
    tu_tmpdir t;
    tu_tmp_make(&t, "multidc");
    write_set(t.path, &c, 2);
    char msg[512];
    gl_multidc *d = NULL;
    assert_int_equal(gl_multidc_dir(&d, t.path, &c, NULL, NULL, msg, sizeof msg), GL_OK);
    gl_dit *m = frozen_base(&c);
    gl_lora_spec sp = gl_lora_default_spec();
    sp.rank = 2;
    sp.motion = 1;
    sp.n_tokens = gl_multidc_tokens(d, &sp.tokens);
    gl_lora *l = NULL, *plain = NULL;
    assert_int_equal(gl_lora_new(&l, m, &sp, 3, msg, sizeof msg), GL_OK);
    gl_lora_spec sp0 = sp;
    sp0.motion = 0;
    assert_int_equal(gl_lora_new(&plain, m, &sp0, 3, msg, sizeof msg), GL_OK);
    assert_int_equal(gl_lora_set_stage(plain, GL_MULTIDC_SET), GL_EINVAL); /* no B2 */
    assert_int_equal(gl_lora_set_stage(l, 7), GL_EINVAL);
    assert_int_equal(gl_dit_attach_lora(m, l, 1.0f, msg, sizeof msg), GL_OK);
    int64_t na, nb, nb2, nr;
    float *a0 = gather(l, ".lora_A.weight", &na), *r0 = gather(l, ".lora_rows", &nr);
    gl_train_opts o = gl_train_default_opts();
    o.params = gl_lora_params(l);
    o.steps = 3;
    o.batch = 2;
    o.warmup = 0;
    o.lr = 1e-2f;
    gl_train_result res;
    /* Set: A, B, rows move; B2 stays zero */
    gl_multidc_set_mode(d, GL_MULTIDC_SET);
    assert_int_equal(gl_lora_set_stage(l, GL_MULTIDC_SET), GL_OK);
    assert_int_equal(gl_train_run(m, &o, gl_multidc_next, d, &res, msg, sizeof msg), GL_OK);
    float *a1 = gather(l, ".lora_A.weight", &na), *b1 = gather(l, ".lora_B.weight", &nb);
    float *b21 = gather(l, ".lora_B2.weight", &nb2), *r1 = gather(l, ".lora_rows", &nr);
    assert_int_equal(nr, 2 * c.text_width);
    assert_true(memcmp(a0, a1, (size_t)na * sizeof(float)) != 0);
    assert_false(all_zero(b1, nb));
    assert_true(memcmp(r0, r1, (size_t)nr * sizeof(float)) != 0);
    assert_true(all_zero(b21, nb2));
    /* Sequence: only B2 moves */
    gl_multidc_set_mode(d, GL_MULTIDC_SEQUENCE);
    assert_int_equal(gl_lora_set_stage(l, GL_MULTIDC_SEQUENCE), GL_OK);
    assert_int_equal(gl_train_run(m, &o, gl_multidc_next, d, &res, msg, sizeof msg), GL_OK);
    float *a2 = gather(l, ".lora_A.weight", &na), *b2 = gather(l, ".lora_B.weight", &nb);
    float *b22 = gather(l, ".lora_B2.weight", &nb2), *r2 = gather(l, ".lora_rows", &nr);
    assert_memory_equal(a1, a2, (size_t)na * sizeof(float));
    assert_memory_equal(b1, b2, (size_t)nb * sizeof(float));
    assert_memory_equal(r1, r2, (size_t)nr * sizeof(float));
    assert_false(all_zero(b22, nb2));
    float *bufs[] = {a0, r0, a1, b1, b21, r1, a2, b2, b22, r2};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) tu_free(bufs[i]);
    gl_dit_detach_loras(m);
    gl_lora_free(&l);
    gl_lora_free(&plain);
    gl_dit_free(&m);
    gl_multidc_free(&d);
    tu_tmp_remove(&t);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(clips_are_static_or_ordered_with_their_tokens),
    cmocka_unit_test(token_only_captions_plain_clips_with_their_token),
    cmocka_unit_test(token_vectors_expand_every_prompt),
    cmocka_unit_test(token_rows_start_from_their_captions_words),
    cmocka_unit_test(too_many_concepts_and_bad_tokens_fail),
    cmocka_unit_test(one_video_is_one_concept),
    cmocka_unit_test(stages_train_their_own_tensors),
};
TU_MAIN("multidc", tests)
