/* tests/test_ttft.c: test-time fine-tuning as the library runs it (pipeline/ttft.c) on a
 * clip in memory (gl_multidc_clip): the clip's batches are its own 8-bit values; the two
 * stages train what they should (a skipped Set stage leaves B at zero while B2 learns); the
 * model comes back with its flags and no adapter. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gridlora/core.h"
#include "gridlora/lora.h"
#include "gridlora/model.h"
#include "gridlora/multidc.h"
#include "gridlora/render.h"
#include "gridlora/sample.h"
#include "gridlora/tokenizer.h"
#include "gridlora/ttft.h"
#include "testutil.h"

typedef struct fixture {
    gl_dit_config cfg;
    gl_dit *m;
    gl_video clip;
} fixture;

static void setup_fixture(fixture *fx) {
    char msg[256];
    memset(fx, 0, sizeof *fx);
    assert_int_equal(gl_dit_config_preset("tiny", &fx->cfg), GL_OK);
    assert_int_equal(gl_dit_new(&fx->m, &fx->cfg, msg, sizeof msg), GL_OK);
    gl_dit_init_weights(fx->m, 3);
    /* AdaLN-zero starts every block as the identity and the output projection at zero: no
     * gradient would reach a frozen model's adapters. Noise opens the paths. */
    gl_params *p = gl_dit_params(fx->m);
    tu_rng r;
    tu_seed(&r, 4);
    for (int i = 0; i < gl_params_count(p); i++) {
        gl_tensor t = gl_params_tensor(p, i);
        for (int64_t k = 0; k < gl_tensor_numel(&t); k++) t.data[k] += (float)(0.05 * tu_normal(&r));
    }
    gl_concept c;
    assert_int_equal(gl_concept_sample(&c, 9, GL_SPLIT_HELDOUT), GL_OK);
    gl_render_opts o = gl_render_default_opts();
    o.frames = fx->cfg.frames;
    o.height = fx->cfg.cell_h;
    o.width = fx->cfg.cell_w;
    assert_int_equal(gl_render_concept(&c, &o, &fx->clip), GL_OK);
}

static void free_fixture(fixture *fx) {
    gl_video_release(&fx->clip);
    gl_dit_free(&fx->m);
}

static void clip_batches_are_the_clip(void **st) {
    (void)st;
    fixture fx;
    setup_fixture(&fx);
    char msg[256];
    gl_multidc *d = NULL;
    gl_video wrong = {0};
    assert_int_equal(gl_video_alloc(&wrong, fx.cfg.frames, fx.cfg.cell_h, fx.cfg.cell_w + 2), GL_OK);
    assert_int_equal(gl_multidc_clip(&d, &wrong, "<v>", "a <v>", &fx.cfg, msg, sizeof msg), GL_EINVAL);
    assert_null(d);
    assert_int_equal(gl_multidc_clip(&d, &fx.clip, "<v>", "a red star", &fx.cfg, msg, sizeof msg), GL_EINVAL);
    assert_non_null(strstr(msg, "lacks")); /* the prompt must hold the token */
    assert_int_equal(gl_multidc_clip(&d, &fx.clip, "<v>", "a <v> star", &fx.cfg, msg, sizeof msg), GL_OK);
    assert_int_equal(gl_multidc_concepts(d), 1);
    const int32_t *ids;
    assert_int_equal(gl_multidc_tokens(d, &ids), 1);
    assert_int_equal(ids[0], GL_TOK_FREE);
    gl_multidc_set_mode(d, GL_MULTIDC_SEQUENCE);
    const int64_t n = fx.cfg.frames * fx.cfg.cell_h * fx.cfg.cell_w * 3, T = fx.cfg.frames * 16;
    gl_train_batch b = {.B = 1, .F = fx.cfg.frames, .H = fx.cfg.cell_h, .W = fx.cfg.cell_w, .T = T,
                        .text_len = fx.cfg.text_len};
    b.x0 = tu_falloc(n);
    b.text = test_calloc((size_t)b.text_len, sizeof(int32_t));
    b.text_lens = test_calloc(1, sizeof(int32_t));
    b.clean = test_calloc((size_t)T, 1);
    gl_rng rng;
    gl_rng_seed(&rng, 1);
    assert_int_equal(gl_multidc_next(d, 0, &rng, &b, msg, sizeof msg), GL_OK);
    for (int64_t i = 0; i < n; i++) { /* 8 bits, rounded, in the model's range */
        double want = 2.0 * (double)lrintf(255.0f * fx.clip.rgb[i]) / 255.0 - 1.0;
        if (fabs(b.x0[i] - want) > 1e-6) fail_msg("value %lld: %g, want %g", (long long)i, b.x0[i], want);
    }
    assert_int_equal(b.text_lens[0], 3);
    tu_free(b.x0);
    test_free(b.text);
    test_free(b.text_lens);
    test_free(b.clean);
    gl_multidc_free(&d);
    gl_video_release(&wrong);
    free_fixture(&fx);
}

typedef struct hooks {
    int calls[2], skip_set, done[2];
    int64_t steps[2];
} hooks;

static int before(void *ctx, int stage, const gl_lora *l, gl_train_opts *o, char *msg, size_t msglen) {
    (void)l, (void)msg, (void)msglen;
    hooks *h = ctx;
    h->calls[stage]++;
    h->steps[stage] = o->steps;
    return stage == GL_MULTIDC_SET && h->skip_set;
}

static void after(void *ctx, int stage, const gl_train_result *res) {
    hooks *h = ctx;
    h->done[stage] += (int)res->steps_done;
}

/* max |x| over every tensor of the adapter whose name ends with suffix */
static double max_abs(gl_lora *l, const char *suffix) {
    gl_params *p = gl_lora_params(l);
    double m = 0;
    for (int i = 0; i < gl_params_count(p); i++) {
        const char *name = gl_params_name(p, i);
        size_t a = strlen(name), b = strlen(suffix);
        if (a < b || strcmp(name + a - b, suffix)) continue;
        gl_tensor t = gl_params_tensor(p, i);
        for (int64_t k = 0; k < gl_tensor_numel(&t); k++) m = fmax(m, fabs(t.data[k]));
    }
    return m;
}

/* One sampling step of the free token's prompt: what any adapter left attached, or a
 * token row left behind, would change. */
static void sample_v(fixture *fx, float *out) {
    char msg[256];
    int32_t text[64] = {GL_TOK_FREE}; /* >= the tiny text length */
    gl_sample_opts so = gl_sample_default_opts();
    so.steps = 1;
    gl_sample_request r = {.F = fx->cfg.frames, .H = fx->cfg.cell_h, .W = fx->cfg.cell_w, .text = text, .text_len = 1};
    if (gl_sample(fx->m, &so, &r, out, msg, sizeof msg)) fail_msg("gl_sample: %s", msg);
}

static void stages_train_and_model_is_restored(void **st) {
    (void)st;
    fixture fx;
    setup_fixture(&fx);
    char msg[512];
    gl_params *mp = gl_dit_params(fx.m);
    const int np = gl_params_count(mp);
    int *flags = test_malloc((size_t)np * sizeof *flags);
    for (int i = 0; i < np; i++) flags[i] = gl_params_flags(mp, i);
    const int64_t n = fx.cfg.frames * fx.cfg.cell_h * fx.cfg.cell_w * 3;
    float *before_x = tu_falloc(n), *after_x = tu_falloc(n);
    sample_v(&fx, before_x);
    gl_multidc *d = NULL;
    assert_int_equal(gl_multidc_clip(&d, &fx.clip, "<v>", "a <v>", &fx.cfg, msg, sizeof msg), GL_OK);
    for (int skip = 0; skip < 2; skip++) {
        gl_ttft_opts o = gl_ttft_default_opts();
        assert_int_equal(o.set_steps, 200); /* `gridlora finetune`'s default */
        o.set_steps = 3;
        o.seq_steps = 2;
        o.train.batch = 1;
        o.spec.rank = 2;
        hooks h = {.skip_set = skip};
        o.before_stage = before;
        o.after_stage = after;
        o.hook_ctx = &h;
        gl_lora *l = NULL;
        double secs = -1;
        if (gl_ttft_train(fx.m, d, &o, &l, &secs, msg, sizeof msg)) fail_msg("gl_ttft_train: %s", msg);
        assert_non_null(l);
        assert_true(secs >= 0);
        assert_true(gl_lora_has_motion(l));
        assert_int_equal(h.calls[GL_MULTIDC_SET], 1);
        assert_int_equal(h.calls[GL_MULTIDC_SEQUENCE], 1);
        assert_int_equal(h.steps[GL_MULTIDC_SET], 3);
        assert_int_equal(h.done[GL_MULTIDC_SET], skip ? 0 : 3);
        assert_int_equal(h.done[GL_MULTIDC_SEQUENCE], 2);
        /* B starts at zero and only the Set stage trains it; B2 only the Sequence stage */
        if (skip) assert_true(max_abs(l, ".lora_B.weight") == 0.0);
        else assert_true(max_abs(l, ".lora_B.weight") > 0.0);
        assert_true(max_abs(l, ".lora_B2.weight") > 0.0);
        for (int i = 0; i < np; i++) assert_int_equal(gl_params_flags(mp, i), flags[i]);
        sample_v(&fx, after_x); /* nothing left attached */
        assert_memory_equal(after_x, before_x, (size_t)n * sizeof *after_x);
        assert_int_equal(gl_dit_attach_lora(fx.m, l, 1.0f, msg, sizeof msg), GL_OK);
        sample_v(&fx, after_x); /* and the adapter does change it */
        assert_true(memcmp(after_x, before_x, (size_t)n * sizeof *after_x) != 0);
        gl_dit_detach_loras(fx.m);
        gl_lora_free(&l);
    }
    tu_free(before_x);
    tu_free(after_x);
    gl_multidc_free(&d);
    test_free(flags);
    free_fixture(&fx);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(clip_batches_are_the_clip),
    cmocka_unit_test(stages_train_and_model_is_restored),
};
TU_MAIN("ttft", tests)
