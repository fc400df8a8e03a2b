/* tests/test_data.c: training data sources: the domain tokenizer's ids are pinned; the
 * procedural source is a function of its rng, draws train-split concepts only, every
 * variant, exactly rendered and captioned; the directory source yields the videos and
 * captions of a data set written by gl_dataset_write; bad manifests and missing videos
 * are errors naming the file; a checkpoint's EMA loads into a model. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gridlora/data.h"
#include "gridlora/dataset.h"
#include "gridlora/grid.h"
#include "gridlora/model.h"
#include "gridlora/render.h"
#include "gridlora/safetensors.h"
#include "gridlora/train.h"
#include "gridlora/video.h"
#include "testutil.h"

static gl_dit_config preset(const char *name) {
    gl_dit_config c;
    assert_int_equal(gl_dit_config_preset(name, &c), GL_OK);
    return c;
}

/* A batch as gl_train_run makes it, for the model's cell. */
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

static int64_t numel(const gl_train_batch *b) { return b->F * b->H * b->W * 3; }

static void fill(gl_data *d, batch *t, uint64_t seed) {
    gl_rng rng;
    gl_rng_seed(&rng, seed);
    char msg[512] = "";
    memset(t->b.text, 0, (size_t)(t->b.B * t->b.text_len) * sizeof(int32_t));
    int rc = gl_data_next(d, 0, &rng, &t->b, msg, sizeof msg);
    if (rc) fail_msg("gl_data_next: %s", msg);
}

/* ---- the domain tokenizer ------------------------------------------------------------ */

static void domain_vocab_ids_are_pinned(void **s) {
    (void)s;
    gl_dit_config c = preset("default");
    gl_tokenizer *tk = NULL;
    char msg[512];
    assert_int_equal(gl_domain_tokenizer(&c, &tk, msg, sizeof msg), GL_OK);
    /* shipped weights depend on these: change them only with new weights */
    assert_int_equal(gl_token_id(tk, "a"), 7);
    assert_int_equal(gl_token_id(tk, "red"), 17);
    assert_int_equal(gl_token_id(tk, "night"), 54);
    assert_int_equal(gl_token_id(tk, "edit"), 55);
    assert_int_equal(gl_token_id(tk, "compose"), 56);
    assert_int_equal(gl_token_id(tk, "character"), 57);
    assert_int_equal(gl_token_id(tk, "story"), 58);
    assert_int_equal(gl_token_id(tk, "<grid>"), GL_TOK_GRID);
    /* the caption words come first, in their order, and each once */
    const char *const *cw;
    int nc = gl_caption_vocab(&cw), n = gl_domain_vocab(NULL, 0);
    assert_true(nc >= GL_DOMAIN_CAPTION_WORDS && n >= nc + 4);
    const char **w = test_malloc((size_t)n * sizeof *w);
    assert_int_equal(gl_domain_vocab(w, n), n);
    for (int i = 0; i < GL_DOMAIN_CAPTION_WORDS; i++) assert_string_equal(w[i], cw[i]);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < i; j++) assert_string_not_equal(w[i], w[j]);
    test_free(w);
    /* the built-in layouts' joined prompts tokenize */
    gl_layout l;
    const char *concept = "a red striped star orbiting on sand";
    const char *effects[] = {"smoke", "lights", "night"};
    const char *scenes[] = {"a red striped star bouncing on snow"};
    char text[GL_LAYOUT_PROMPT_MAX];
    int32_t ids[256];
    int64_t k = 0;
    for (int kind = 0; kind < 4; kind++) {
        int rc = kind == 0   ? gl_layout_edit(&l, concept, effects, 3, msg, sizeof msg)
                 : kind == 1 ? gl_layout_compose(&l, concept, "a blue spotted ring on grass", NULL, 0, msg, sizeof msg)
                 : kind == 2 ? gl_layout_character(&l, concept, scenes, 1, msg, sizeof msg)
                             : gl_layout_story(&l, concept, scenes, 1, 0, msg, sizeof msg);
        assert_int_equal(rc, GL_OK);
        assert_int_equal(gl_layout_prompt(&l, text, sizeof text, msg, sizeof msg), GL_OK);
        if (gl_tokenize(tk, text, ids, 256, &k, msg, sizeof msg)) fail_msg("'%s': %s", text, msg);
        assert_int_equal(ids[0], GL_TOK_GRID);
        assert_int_equal(ids[1], gl_token_id(tk, gl_layout_kind_name(l.kind)));
    }
    /* unknown words are named */
    assert_int_equal(gl_tokenize(tk, "a rde star", ids, 256, &k, msg, sizeof msg), GL_EINVAL);
    assert_non_null(strstr(msg, "'rde'"));
    gl_tokenizer_free(&tk);
    /* the tiny preset's vocabulary holds the domain too */
    c = preset("tiny");
    assert_int_equal(gl_domain_tokenizer(&c, &tk, msg, sizeof msg), GL_OK);
    gl_tokenizer_free(&tk);
    c.text_vocab = 40;
    assert_int_equal(gl_domain_tokenizer(&c, &tk, msg, sizeof msg), GL_EINVAL);
    assert_null(tk);
}

/* ---- the procedural source ----------------------------------------------------------- */

static void procedural_is_deterministic_train_only(void **s) {
    (void)s;
    gl_dit_config c = preset("tiny");
    gl_data *d = NULL;
    char msg[512];
    assert_int_equal(gl_data_procedural(&d, &c, msg, sizeof msg), GL_OK);
    assert_int_equal(gl_data_videos(d), 0);
    gl_tokenizer *tk = NULL;
    assert_int_equal(gl_domain_tokenizer(&c, &tk, msg, sizeof msg), GL_OK);
    const int64_t B = 8;
    batch t1, t2;
    batch_new(&t1, &c, B);
    batch_new(&t2, &c, B);
    const int64_t n = numel(&t1.b);
    /* the same rng, the same batch, bit for bit; another rng, another batch */
    fill(d, &t1, 77);
    fill(d, &t2, 77);
    assert_memory_equal(t1.b.x0, t2.b.x0, (size_t)(B * n) * sizeof(float));
    assert_memory_equal(t1.b.text, t2.b.text, (size_t)(B * c.text_len) * sizeof(int32_t));
    assert_memory_equal(t1.b.text_lens, t2.b.text_lens, (size_t)B * sizeof(int32_t));
    fill(d, &t2, 78);
    assert_memory_not_equal(t1.b.x0, t2.b.x0, (size_t)(B * n) * sizeof(float));
    /* many samples: train split only, every variant, exactly the rendered video, its caption */
    int seen[GL_VARIANT_COUNT] = {0};
    for (uint64_t seed = 1; seed <= 25; seed++) {
        fill(d, &t1, seed);
        assert_null(gl_data_last(d, B));
        for (int64_t i = 0; i < B; i++) {
            const gl_data_item *it = gl_data_last(d, i);
            assert_non_null(it);
            assert_true(it->variant >= 0 && it->variant < GL_VARIANT_COUNT);
            seen[it->variant]++;
            gl_concept a, b;
            gl_concept_sample(&a, it->seed, GL_SPLIT_TRAIN);
            assert_int_equal(gl_concept_split(&a), GL_SPLIT_TRAIN);
            assert_int_equal(it->partner_seed != 0, it->variant == GL_VARIANT_WITH);
            if (it->variant == GL_VARIANT_WITH) {
                gl_concept_sample(&b, it->partner_seed, GL_SPLIT_TRAIN);
                assert_int_equal(gl_concept_split(&b), GL_SPLIT_TRAIN);
            }
            char cap[GL_CAPTION_MAX];
            assert_int_equal(gl_variant_caption(&a, &b, it->variant, NULL, cap, sizeof cap), GL_OK);
            assert_string_equal(cap, it->caption);
            assert_null(strstr(cap, "<c"));
            gl_render_opts o = gl_render_default_opts();
            o.frames = c.frames;
            o.height = c.cell_h;
            o.width = c.cell_w;
            gl_video v = {0};
            assert_int_equal(gl_render_variant(&a, &b, it->variant, &o, &v), GL_OK);
            const float *x = t1.b.x0 + i * n;
            for (int64_t j = 0; j < n; j++) {
                assert_true(x[j] >= -1.0f && x[j] <= 1.0f);
                assert_true(x[j] == 2.0f * v.rgb[j] - 1.0f);
            }
            gl_video_release(&v);
            /* tokens: the caption's, cut to the model's text length */
            int32_t ids[GL_CAPTION_MAX];
            int64_t k = 0;
            assert_int_equal(gl_tokenize(tk, cap, ids, GL_CAPTION_MAX, &k, msg, sizeof msg), GL_OK);
            int64_t want = k < c.text_len ? k : c.text_len;
            assert_int_equal(t1.b.text_lens[i], want);
            assert_memory_equal(t1.b.text + i * c.text_len, ids, (size_t)want * sizeof(int32_t));
            for (int64_t j = want; j < c.text_len; j++) assert_int_equal(t1.b.text[i * c.text_len + j], 0);
        }
    }
    for (int v = 0; v < GL_VARIANT_COUNT; v++)
        if (!seen[v]) fail_msg("variant '%s' never drawn in %lld samples", gl_variant_name(v), (long long)(25 * B));
    /* a batch of another size is refused */
    t1.b.H = c.cell_h * 2;
    gl_rng rng;
    gl_rng_seed(&rng, 1);
    assert_int_equal(gl_data_next(d, 0, &rng, &t1.b, msg, sizeof msg), GL_EINVAL);
    assert_non_null(strstr(msg, "cells of"));
    t1.b.H = c.cell_h;
    batch_free(&t1);
    batch_free(&t2);
    gl_tokenizer_free(&tk);
    gl_data_free(&d);
    assert_null(d);
    gl_data_free(&d); /* a no-op */
}

/* A procedural item rendered again from its seeds, as the source renders it (upright:
 * rotation and spin 0; scale: gl_concept_scale), with the subjects' alpha when alpha is
 * not NULL; returns the number of subjects. */
static int render_again_scaled(const gl_dit_config *c, const gl_data_item *it, int upright, double scale, gl_video *v,
                               float *alpha) {
    gl_concept a, b;
    gl_scene sc;
    gl_concept_sample(&a, it->seed, GL_SPLIT_TRAIN);
    gl_concept_sample(&b, it->partner_seed ? it->partner_seed : 1, GL_SPLIT_TRAIN);
    a.shape = (gl_shape)it->shape; /* a pool draws it anew; otherwise the concept's own */
    if (upright) a.angle = b.angle = a.spin = b.spin = 0.0;
    assert_int_equal(gl_concept_scale(&a, scale), GL_OK);
    assert_int_equal(gl_concept_scale(&b, scale), GL_OK);
    assert_int_equal(gl_scene_from_variant(&sc, &a, &b, it->variant), GL_OK);
    gl_render_opts o = gl_render_default_opts();
    o.frames = c->frames;
    o.height = c->cell_h;
    o.width = c->cell_w;
    assert_int_equal(gl_render_scene(&sc, &o, v, alpha), GL_OK);
    return sc.n_subjects;
}

static int render_again(const gl_dit_config *c, const gl_data_item *it, int upright, gl_video *v, float *alpha) {
    return render_again_scaled(c, it, upright, 1.0, v, alpha);
}

/* Whether sample i of t is the video v, bit for bit (the source maps [0,1] to [-1,1]). */
static int sample_is(const batch *t, int64_t i, const gl_video *v) {
    const int64_t n = v->frames * v->height * v->width * 3;
    int same = 1;
    for (int64_t j = 0; j < n; j++) same &= t->b.x0[i * n + j] == 2.0f * v->rgb[j] - 1.0f;
    return same;
}

/* Subject weighting: the videos and captions do not change; each pixel's weight is 1 +
 * w x the subjects' coverage there, rendered again here with the scene's alpha. */
static void procedural_subject_weight(void **s) {
    (void)s;
    gl_dit_config c = preset("tiny");
    gl_data *d = NULL;
    char msg[512];
    assert_int_equal(gl_data_procedural(&d, &c, msg, sizeof msg), GL_OK);
    const int64_t B = 8, npx = c.frames * c.cell_h * c.cell_w;
    batch plain, weighted;
    batch_new(&plain, &c, B);
    batch_new(&weighted, &c, B);
    const int64_t n = numel(&plain.b);
    float *wt = tu_falloc(B * npx);
    weighted.b.weight = wt;
    /* weight 0 (the default) leaves the caller's ones */
    for (int64_t j = 0; j < B * npx; j++) wt[j] = 1.0f;
    fill(d, &weighted, 5);
    for (int64_t j = 0; j < B * npx; j++) assert_true(wt[j] == 1.0f);
    assert_int_equal(gl_data_set_subject_weight(d, -1.0f), GL_EINVAL);
    assert_int_equal(gl_data_set_subject_weight(d, NAN), GL_EINVAL);
    assert_int_equal(gl_data_set_subject_weight(d, 4.0f), GL_OK);
    fill(d, &plain, 5); /* no weight buffer: nothing written there, no failure */
    fill(d, &weighted, 5);
    assert_memory_equal(plain.b.x0, weighted.b.x0, (size_t)(B * n) * sizeof(float));
    assert_memory_equal(plain.b.text, weighted.b.text, (size_t)(B * c.text_len) * sizeof(int32_t));
    int64_t raised = 0, full = 0;
    for (int64_t i = 0; i < B; i++) {
        gl_video v = {0};
        float *alpha = tu_falloc(GL_SCENE_MAX * npx);
        const int n_subjects = render_again(&c, gl_data_last(d, i), 0, &v, alpha);
        for (int64_t p = 0; p < npx; p++) {
            double cover = 0;
            for (int k = 0; k < n_subjects; k++) cover += alpha[k * npx + p];
            double want = 1.0 + 4.0 * (cover < 1.0 ? cover : 1.0), got = wt[i * npx + p];
            if (fabs(got - want) > 1e-5) fail_msg("sample %lld pixel %lld: weight %g, want %g", (long long)i, (long long)p, got, want);
            raised += got > 1.0f;
            full += got >= 4.99f;
        }
        tu_free(alpha);
        gl_video_release(&v);
    }
    /* the subjects are a small part of each frame, and wholly covered somewhere */
    assert_true(full > 0);
    assert_true(raised > B * npx / 200 && raised < B * npx / 2);
    tu_free(wt);
    batch_free(&plain);
    batch_free(&weighted);
    gl_data_free(&d);
    assert_int_equal(gl_data_set_subject_weight(NULL, 1.0f), GL_EINVAL);
}

/* Upright: each sample is its concept rendered with rotation and spin 0 (rendered again
 * here), no caption says "spinning", and without it some samples differ. */
static void procedural_upright(void **s) {
    (void)s;
    gl_dit_config c = preset("tiny");
    gl_data *d = NULL;
    char msg[512];
    assert_int_equal(gl_data_procedural(&d, &c, msg, sizeof msg), GL_OK);
    const int64_t B = 32;
    batch t;
    batch_new(&t, &c, B);
    int changed = 0;
    for (int on = 1; on >= 0; on--) {
        assert_int_equal(gl_data_set_upright(d, on), GL_OK);
        fill(d, &t, 9);
        for (int64_t i = 0; i < B; i++) {
            const gl_data_item *it = gl_data_last(d, i);
            if (on && strstr(it->caption, "spinning")) fail_msg("upright sample %lld: '%s'", (long long)i, it->caption);
            gl_video v = {0};
            render_again(&c, it, 1, &v, NULL);
            int same = sample_is(&t, i, &v);
            if (on && !same) fail_msg("upright sample %lld is not its concept rendered upright", (long long)i);
            changed += !on && !same;
            gl_video_release(&v);
        }
    }
    assert_true(changed > 0);
    assert_int_equal(gl_data_set_upright(d, 2), GL_EINVAL);
    assert_int_equal(gl_data_set_upright(NULL, 1), GL_EINVAL);
    batch_free(&t);
    gl_data_free(&d);
}

/* Subject scale: each sample is its concept grown by gl_concept_scale (rendered again
 * here), with the same caption; scale 1 is the domain itself; out of range is refused. */
static void procedural_subject_scale(void **s) {
    (void)s;
    gl_dit_config c = preset("tiny");
    gl_data *d = NULL;
    char msg[512];
    assert_int_equal(gl_data_procedural(&d, &c, msg, sizeof msg), GL_OK);
    const int64_t B = 16;
    batch t;
    batch_new(&t, &c, B);
    const double scales[] = {1.5, 1.0, 0.5};
    int changed = 0;
    for (int k = 0; k < 3; k++) {
        assert_int_equal(gl_data_set_subject_scale(d, scales[k]), GL_OK);
        fill(d, &t, 11);
        for (int64_t i = 0; i < B; i++) {
            const gl_data_item *it = gl_data_last(d, i);
            gl_video v = {0}, plain = {0};
            render_again_scaled(&c, it, 0, scales[k], &v, NULL);
            render_again(&c, it, 0, &plain, NULL);
            int same = sample_is(&t, i, &v), as_plain = sample_is(&t, i, &plain);
            if (!same) fail_msg("sample %lld at scale %g is not its concept grown by it", (long long)i, scales[k]);
            if (scales[k] == 1.0 && !as_plain) fail_msg("sample %lld at scale 1 differs from the domain's", (long long)i);
            changed += scales[k] != 1.0 && !as_plain;
            gl_video_release(&v);
            gl_video_release(&plain);
        }
    }
    assert_true(changed > B); /* the test has teeth: most scaled samples differ */
    assert_int_equal(gl_data_set_subject_scale(d, GL_DATA_SCALE_MAX * 1.01), GL_EINVAL);
    assert_int_equal(gl_data_set_subject_scale(d, GL_DATA_SCALE_MIN * 0.99), GL_EINVAL);
    assert_int_equal(gl_data_set_subject_scale(d, NAN), GL_EINVAL);
    assert_int_equal(gl_data_set_subject_scale(NULL, 1.0), GL_EINVAL);
    batch_free(&t);
    gl_data_free(&d);
}

/* A concept pool: every sample's concept (and partner) is one of the pool's seeds, in a
 * shape drawn per sample that keeps its appearance in the train split, rendered as its
 * concept with that shape (again here) and captioned with the shape's word; pool 0 draws
 * fresh concepts again; out of range is refused. */
static void procedural_concept_pool(void **s) {
    (void)s;
    gl_dit_config c = preset("tiny");
    gl_data *d = NULL;
    char msg[512];
    assert_int_equal(gl_data_procedural(&d, &c, msg, sizeof msg), GL_OK);
    const int64_t B = 48, n_pool = 3;
    uint64_t pool_seed = 776; /* on to a first concept with a held-out shape: the split check's teeth */
    for (int held = 0; !held;) {
        gl_concept k;
        gl_concept_sample(&k, ++pool_seed, GL_SPLIT_TRAIN);
        for (int sh = 0; sh < GL_SHAPE_COUNT; sh++) {
            k.shape = (gl_shape)sh;
            held |= gl_concept_split(&k) == GL_SPLIT_HELDOUT;
        }
    }
    batch t;
    batch_new(&t, &c, B);
    assert_int_equal(gl_data_set_concept_pool(d, n_pool, pool_seed), GL_OK);
    unsigned shapes_of[3] = {0, 0, 0}; /* bit k: concept seen in shape k */
    int partners = 0;
    for (int round = 0; round < 2; round++) {
        fill(d, &t, 13 + round);
        for (int64_t i = 0; i < B; i++) {
            const gl_data_item *it = gl_data_last(d, i);
            if (it->seed < pool_seed || it->seed >= pool_seed + n_pool)
                fail_msg("sample %lld: concept %llu outside the pool", (long long)i, (unsigned long long)it->seed);
            if (it->partner_seed && (it->partner_seed < pool_seed || it->partner_seed >= pool_seed + n_pool))
                fail_msg("sample %lld: partner %llu outside the pool", (long long)i, (unsigned long long)it->partner_seed);
            partners += it->partner_seed != 0;
            gl_concept a;
            gl_concept_sample(&a, it->seed, GL_SPLIT_TRAIN);
            a.shape = (gl_shape)it->shape;
            assert_int_equal(gl_concept_split(&a), GL_SPLIT_TRAIN);
            if (!strstr(it->caption, gl_shape_name(it->shape)))
                fail_msg("sample %lld: '%s' does not name its shape %s", (long long)i, it->caption, gl_shape_name(it->shape));
            shapes_of[it->seed - pool_seed] |= 1u << it->shape;
            gl_video v = {0};
            render_again(&c, it, 0, &v, NULL);
            if (!sample_is(&t, i, &v)) fail_msg("sample %lld is not its pool concept in its shape", (long long)i);
            gl_video_release(&v);
        }
    }
    assert_true(partners > 0);
    for (int k = 0; k < n_pool; k++) /* each concept in several shapes: the point of a pool */
        if (__builtin_popcount(shapes_of[k]) < 4) fail_msg("pool concept %d seen in shapes %#x only", k, shapes_of[k]);
    assert_int_equal(gl_data_set_concept_pool(d, 0, pool_seed), GL_OK);
    fill(d, &t, 13);
    int outside = 0;
    for (int64_t i = 0; i < B; i++) outside += gl_data_last(d, i)->seed >= pool_seed + n_pool;
    assert_true(outside > B / 2);
    assert_int_equal(gl_data_set_concept_pool(d, -1, 0), GL_EINVAL);
    assert_int_equal(gl_data_set_concept_pool(d, GL_DATA_POOL_MAX + 1, 0), GL_EINVAL);
    assert_int_equal(gl_data_set_concept_pool(NULL, 4, 0), GL_EINVAL);
    batch_free(&t);
    gl_data_free(&d);
}

/* A share under 1 mixes the pool with fresh concepts, each fresh one in its own shape;
 * a share of 1 is the whole pool, drawn as before shares were (runs replay). */
static void procedural_pool_share(void **s) {
    (void)s;
    gl_dit_config c = preset("tiny");
    gl_data *d = NULL;
    char msg[512];
    assert_int_equal(gl_data_procedural(&d, &c, msg, sizeof msg), GL_OK);
    const int64_t B = 64, n_pool = 4;
    const uint64_t pool_seed = 12345;
    batch t, whole;
    batch_new(&t, &c, B);
    batch_new(&whole, &c, B);
    assert_int_equal(gl_data_set_concept_pool(d, n_pool, pool_seed), GL_OK);
    fill(d, &whole, 21);
    assert_int_equal(gl_data_set_pool_share(d, 1.0), GL_OK);
    fill(d, &t, 21);
    const size_t cell = (size_t)(c.frames * c.cell_h * c.cell_w * 3) * sizeof(float);
    assert_memory_equal(t.b.x0, whole.b.x0, (size_t)B * cell);
    assert_int_equal(gl_data_set_pool_share(d, 0.5), GL_OK);
    fill(d, &t, 21);
    int64_t in_pool = 0;
    for (int64_t i = 0; i < B; i++) {
        const gl_data_item *it = gl_data_last(d, i);
        const int pooled = it->seed >= pool_seed && it->seed < pool_seed + n_pool;
        in_pool += pooled;
        gl_concept a;
        gl_concept_sample(&a, it->seed, GL_SPLIT_TRAIN);
        if (!pooled && it->shape != (int)a.shape)
            fail_msg("sample %lld: fresh concept %llu drawn in shape %d, not its own %d", (long long)i,
                     (unsigned long long)it->seed, it->shape, (int)a.shape);
        gl_video v = {0};
        render_again(&c, it, 0, &v, NULL);
        if (!sample_is(&t, i, &v)) fail_msg("sample %lld is not its concept in its shape", (long long)i);
        gl_video_release(&v);
    }
    if (in_pool < B / 4 || in_pool > 3 * B / 4)
        fail_msg("%lld of %lld samples from the pool at share 0.5", (long long)in_pool, (long long)B);
    assert_int_equal(gl_data_set_pool_share(d, 0.0), GL_EINVAL);
    assert_int_equal(gl_data_set_pool_share(d, 1.5), GL_EINVAL);
    assert_int_equal(gl_data_set_pool_share(d, NAN), GL_EINVAL);
    assert_int_equal(gl_data_set_pool_share(NULL, 0.5), GL_EINVAL);
    batch_free(&whole);
    batch_free(&t);
    gl_data_free(&d);
}

/* ---- the directory source ---------------------------------------------------------- */

static void write_set(const char *dir, const gl_dit_config *c, int64_t count) {
    gl_dataset_params p = gl_dataset_default_params();
    p.count = count;
    p.seed = 3;
    p.render.frames = c->frames;
    p.render.height = c->cell_h;
    p.render.width = c->cell_w;
    char msg[512];
    gl_video_set_verbose(0); /* x264's statistics would bury the test's lines */
    if (gl_dataset_write(dir, &p, msg, sizeof msg)) fail_msg("gl_dataset_write: %s", msg);
}

static void write_file(const char *dir, const char *name, const char *text) {
    char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void dir_yields_the_data_set(void **s) {
    (void)s;
    gl_dit_config c = preset("tiny");
    tu_tmpdir t;
    tu_tmp_make(&t, "data");
    write_set(t.path, &c, 2);
    gl_data *d = NULL;
    char msg[512];
    assert_int_equal(gl_data_dir(&d, t.path, &c, NULL, NULL, msg, sizeof msg), GL_OK);
    assert_int_equal(gl_data_concepts(d), 2);
    assert_int_equal(gl_data_videos(d), 2 * GL_VARIANT_COUNT);
    assert_int_equal(gl_data_set_subject_weight(d, 1.0f), GL_EINVAL); /* no coverage on disk */
    assert_int_equal(gl_data_set_upright(d, 1), GL_EINVAL);             /* rendered already */
    assert_int_equal(gl_data_set_concept_pool(d, 8, 1), GL_EINVAL);
    gl_tokenizer *tk = NULL;
    assert_int_equal(gl_domain_tokenizer(&c, &tk, msg, sizeof msg), GL_OK);
    batch bt, b2;
    const int64_t B = 6;
    batch_new(&bt, &c, B);
    batch_new(&b2, &c, B);
    const int64_t n = numel(&bt.b);
    int seen[2 * GL_VARIANT_COUNT] = {0};
    gl_video_read_opts ro = gl_video_read_default_opts();
    ro.frames = c.frames;
    ro.height = c.cell_h;
    ro.width = c.cell_w;
    for (uint64_t seed = 1; seed <= 8; seed++) {
        fill(d, &bt, seed);
        fill(d, &b2, seed);
        assert_memory_equal(bt.b.x0, b2.b.x0, (size_t)(B * n) * sizeof(float));
        for (int64_t i = 0; i < B; i++) {
            const gl_data_item *it = gl_data_last(d, i);
            assert_true(it->video >= 0 && it->video < 2 * GL_VARIANT_COUNT);
            seen[it->video]++;
            /* manifest order: concept k's plain video, then its variants in order */
            int64_t k = it->video / GL_VARIANT_COUNT;
            int var = (int)(it->video % GL_VARIANT_COUNT);
            assert_int_equal(it->variant, var);
            gl_concept a, b;
            gl_concept_sample(&a, gl_dataset_concept_seed(3, k), GL_SPLIT_TRAIN);
            gl_concept_sample(&b, gl_dataset_concept_seed(3, (k + 1) % 2), GL_SPLIT_TRAIN);
            char cap[GL_CAPTION_MAX], path[512];
            assert_int_equal(gl_variant_caption(&a, &b, var, NULL, cap, sizeof cap), GL_OK);
            assert_string_equal(it->caption, cap);
            if (var == GL_VARIANT_PLAIN) snprintf(path, sizeof path, "%s/%04lld.mp4", t.path, (long long)k);
            else snprintf(path, sizeof path, "%s/%04lld.%s.mp4", t.path, (long long)k, gl_variant_name(var));
            gl_video v = {0};
            assert_int_equal(gl_video_read(path, &ro, &v, NULL, msg, sizeof msg), GL_OK);
            /* kept at 8 bits: within half a step of 1/255 (2/255 in [-1,1]) */
            const float *x = bt.b.x0 + i * n;
            for (int64_t j = 0; j < n; j++) assert_true(fabsf(x[j] - (2.0f * v.rgb[j] - 1.0f)) <= 1.0f / 255 + 1e-6f);
            gl_video_release(&v);
            int32_t ids[GL_CAPTION_MAX];
            int64_t nk = 0;
            assert_int_equal(gl_tokenize(tk, cap, ids, GL_CAPTION_MAX, &nk, msg, sizeof msg), GL_OK);
            int64_t want = nk < c.text_len ? nk : c.text_len;
            assert_int_equal(bt.b.text_lens[i], want);
            assert_memory_equal(bt.b.text + i * c.text_len, ids, (size_t)want * sizeof(int32_t));
        }
    }
    int distinct = 0;
    for (int i = 0; i < 2 * GL_VARIANT_COUNT; i++) distinct += seen[i] > 0;
    assert_true(distinct >= 12); /* 48 uniform draws of 18 videos miss about one */
    batch_free(&bt);
    batch_free(&b2);
    gl_tokenizer_free(&tk);
    gl_data_free(&d);
    tu_tmp_remove(&t);
}

/* Loads a directory expected to fail; msg must contain each of the needles. */
static void expect_dir_error(const char *dir, const gl_dit_config *c, int code, const char *n1, const char *n2) {
    gl_data *d = NULL;
    char msg[512] = "";
    int rc = gl_data_dir(&d, dir, c, NULL, NULL, msg, sizeof msg);
    print_message("%s\n", msg);
    assert_int_equal(rc, code);
    assert_null(d);
    assert_null(strchr(msg, '\n'));
    if (n1 && !strstr(msg, n1)) fail_msg("message lacks '%s': %s", n1, msg);
    if (n2 && !strstr(msg, n2)) fail_msg("message lacks '%s': %s", n2, msg);
}

static void dir_errors_name_the_file(void **s) {
    (void)s;
    gl_dit_config c = preset("tiny");
    tu_tmpdir t;
    tu_tmp_make(&t, "data");
    /* no manifest */
    expect_dir_error(t.path, &c, GL_EIO, "manifest.jsonl: cannot open", NULL);
    /* a good set, then a video removed */
    write_set(t.path, &c, 2);
    char p[512];
    snprintf(p, sizeof p, "%s/0001.smoke.mp4", t.path);
    assert_int_equal(remove(p), 0);
    expect_dir_error(t.path, &c, GL_EIO, "0001.smoke.mp4", NULL);
    /* hand-made manifests */
    write_file(t.path, "manifest.jsonl", "{\"file\": \"0000.mp4\", \"caption\": \"a red star\"}\n{oops\n");
    expect_dir_error(t.path, &c, GL_EFORMAT, "manifest.jsonl: line 2", "not a JSON object");
    write_file(t.path, "manifest.jsonl", "{\"file\": \"0000.mp4\"}\n");
    expect_dir_error(t.path, &c, GL_EFORMAT, "manifest.jsonl: line 1", "'caption' missing");
    write_file(t.path, "manifest.jsonl", "\n{\"file\": \"0000.mp4\", \"caption\": \"a red strp star\"}\n");
    expect_dir_error(t.path, &c, GL_EFORMAT, "manifest.jsonl: line 2", "unknown word 'strp'");
    write_file(t.path, "manifest.jsonl", "{\"file\": \"../0000.mp4\", \"caption\": \"a red star\"}\n");
    expect_dir_error(t.path, &c, GL_EFORMAT, "manifest.jsonl: line 1", "'../0000.mp4'");
    write_file(t.path, "manifest.jsonl", "{\"file\": \"/etc/passwd\", \"caption\": \"a red star\"}\n");
    expect_dir_error(t.path, &c, GL_EFORMAT, "manifest.jsonl: line 1", "relative");
    write_file(t.path, "manifest.jsonl",
               "{\"split\": \"heldout\", \"file\": \"0000.mp4\", \"caption\": \"a red star\"}\n");
    expect_dir_error(t.path, &c, GL_EINVAL, "manifest.jsonl: line 1", "held-out");
    write_file(t.path, "manifest.jsonl",
               "{\"file\": \"0000.mp4\", \"caption\": \"a red star\", \"variants\": [{\"file\": 3}]}\n");
    expect_dir_error(t.path, &c, GL_EFORMAT, "line 1: variant 0: 'file'", NULL);
    write_file(t.path, "manifest.jsonl", "\n\n");
    expect_dir_error(t.path, &c, GL_EFORMAT, "lists no videos", NULL);
    write_file(t.path, "manifest.jsonl", "{\"file\": \"junk.mp4\", \"caption\": \"a red star\"}\n");
    write_file(t.path, "junk.mp4", "not a video\n");
    expect_dir_error(t.path, &c, GL_EFORMAT, "junk.mp4", NULL);
    /* a hand-made manifest of plain videos without variants or split works */
    write_file(t.path, "manifest.jsonl",
               "{\"file\": \"0000.mp4\", \"caption\": \"a red star\"}\n{\"file\": \"0001.mp4\", \"caption\": \"a blue ring\"}\n");
    gl_data *d = NULL;
    char msg[512];
    assert_int_equal(gl_data_dir(&d, t.path, &c, NULL, NULL, msg, sizeof msg), GL_OK);
    assert_int_equal(gl_data_videos(d), 2);
    gl_data_free(&d);
    tu_tmp_remove(&t);
}

/* ---- EMA of a checkpoint -------------------------------------------------------------- */

static void ema_loads_from_checkpoint(void **s) {
    (void)s;
    gl_dit_config c = preset("tiny");
    tu_tmpdir t;
    tu_tmp_make(&t, "data");
    char ckpt[256], msg[512];
    snprintf(ckpt, sizeof ckpt, "%s/run.safetensors", t.path);
    gl_dit *m = NULL;
    assert_int_equal(gl_dit_new(&m, &c, msg, sizeof msg), GL_OK);
    gl_dit_init_weights(m, 5);
    gl_data *d = NULL;
    assert_int_equal(gl_data_procedural(&d, &c, msg, sizeof msg), GL_OK);
    gl_train_opts o = gl_train_default_opts();
    o.steps = 4;
    o.batch = 2;
    o.warmup = 1;
    o.lr = 1e-2f;
    o.checkpoint = ckpt;
    gl_train_result r;
    /* without EMA there is none to load */
    assert_int_equal(gl_train_run(m, &o, gl_data_next, d, &r, msg, sizeof msg), GL_OK);
    assert_int_equal(r.steps_done, 4);
    assert_int_equal(gl_train_load_ema(gl_dit_params(m), ckpt, msg, sizeof msg), GL_ENOTFOUND);
    assert_non_null(strstr(msg, "ema."));
    gl_dit *fromckpt = NULL; /* and a model loaded from it gets the raw weights */
    assert_int_equal(gl_dit_load(&fromckpt, ckpt, msg, sizeof msg), GL_OK);
    assert_memory_equal(gl_params_data(gl_dit_params(fromckpt)), gl_params_data(gl_dit_params(m)),
                        (size_t)gl_params_numel(gl_dit_params(m)) * sizeof(float));
    gl_dit_free(&fromckpt);
    /* with EMA: the model ends with the raw weights, the checkpoint's EMA differs */
    gl_params *p = gl_dit_params(m);
    int64_t np = gl_params_numel(p);
    float *raw = tu_falloc(np);
    o.ema = 0.5f;
    assert_int_equal(gl_train_run(m, &o, gl_data_next, d, &r, msg, sizeof msg), GL_OK);
    memcpy(raw, gl_params_data(p), (size_t)np * sizeof(float));
    assert_int_equal(gl_train_load_ema(gl_dit_params(m), ckpt, msg, sizeof msg), GL_OK);
    const float *ema = gl_params_data(p);
    gl_st *st = NULL;
    assert_int_equal(gl_st_open(&st, ckpt, msg, sizeof msg), GL_OK);
    int differ = 0;
    for (int i = 0; i < gl_params_count(p); i++) {
        char name[300];
        snprintf(name, sizeof name, "ema.%s", gl_params_name(p, i));
        int k = gl_st_find(st, name);
        assert_true(k >= 0);
        gl_tensor tt = gl_params_tensor(p, i);
        int64_t nn = gl_tensor_numel(&tt);
        float *want = tu_falloc(nn);
        assert_int_equal(gl_st_read_f32(st, k, want, nn), GL_OK);
        assert_memory_equal(tt.data, want, (size_t)nn * sizeof(float));
        tu_free(want);
    }
    for (int64_t j = 0; j < np; j++) differ += ema[j] != raw[j];
    assert_true(differ > np / 4);
    gl_st_free(&st);
    /* a model loaded from the checkpoint is the EMA the run's OUT gets, not the raw weights */
    assert_int_equal(gl_dit_load(&fromckpt, ckpt, msg, sizeof msg), GL_OK);
    assert_memory_equal(gl_params_data(gl_dit_params(fromckpt)), ema, (size_t)np * sizeof(float));
    gl_dit_free(&fromckpt);
    /* a missing file is an error naming it */
    char missing[300];
    snprintf(missing, sizeof missing, "%s/none.safetensors", t.path);
    assert_true(gl_train_load_ema(gl_dit_params(m), missing, msg, sizeof msg) < 0);
    assert_non_null(strstr(msg, "none.safetensors"));
    tu_free(raw);
    gl_data_free(&d);
    gl_dit_free(&m);
    tu_tmp_remove(&t);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(domain_vocab_ids_are_pinned),
    cmocka_unit_test(procedural_is_deterministic_train_only),
    cmocka_unit_test(procedural_subject_weight),
    cmocka_unit_test(procedural_upright),
    cmocka_unit_test(procedural_subject_scale),
    cmocka_unit_test(procedural_concept_pool),
    cmocka_unit_test(procedural_pool_share),
    cmocka_unit_test(dir_yields_the_data_set),
    cmocka_unit_test(dir_errors_name_the_file),
    cmocka_unit_test(ema_loads_from_checkpoint),
};

TU_MAIN("data", tests)
