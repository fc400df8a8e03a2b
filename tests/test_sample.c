/* tests/test_sample.c: sampling: the schedule's ends, context cells kept exactly, guidance
 * by a negative prompt and by the context, a start below pure noise, and a model
 * overfitted on one video generates that video from noise. */
#include <math.h>
#include <string.h>

#include "gridlora/model.h"
#include "gridlora/sample.h"
#include "gridlora/train.h"
#include "testutil.h"

static void sample_schedule(void **s) {
    (void)s;
    gl_sample_opts o = gl_sample_default_opts();
    o.steps = 10;
    assert_float_equal(gl_sample_time(&o, 0), 1.0, 1e-12);
    assert_float_equal(gl_sample_time(&o, 10), 0.0, 1e-12);
    for (int i = 0; i < 10; i++) assert_true(gl_sample_time(&o, i + 1) < gl_sample_time(&o, i));
    /* shift 2 spends more of the schedule at high noise than a linear one */
    assert_true(gl_sample_time(&o, 5) > 0.5);
    /* a start below pure noise: the schedule begins at the strength and is the same
     * shifted curve, squeezed (its unshifted times scaled); strength 1 is the schedule
     * above to the bit */
    gl_sample_opts g = o;
    g.shift = 8.0f;
    g.strength = 0.6f;
    assert_float_equal(gl_sample_time(&g, 0), 0.6, 1e-6);
    assert_float_equal(gl_sample_time(&g, 10), 0.0, 1e-12);
    for (int i = 0; i < 10; i++) assert_true(gl_sample_time(&g, i + 1) < gl_sample_time(&g, i));
    const double top = 0.6 / (8.0 - 7.0 * 0.6), u = top * 0.7; /* step 3 of 10 */
    assert_float_equal(gl_sample_time(&g, 3), 8.0 * u / (1.0 + 7.0 * u), 1e-9);
    g.strength = 1.0f;
    gl_sample_opts eight = o;
    eight.shift = 8.0f;
    for (int i = 0; i <= 10; i++) assert_true(gl_sample_time(&g, i) == gl_sample_time(&eight, i));
}

static void pattern(float *x, int64_t F, int64_t H, int64_t W, double phase) {
    for (int64_t f = 0; f < F; f++)
        for (int64_t y = 0; y < H; y++)
            for (int64_t xx = 0; xx < W; xx++)
                for (int c = 0; c < 3; c++)
                    x[((f * H + y) * W + xx) * 3 + c] = (float)(0.8 * sin(phase + 0.7 * xx + 0.4 * y + 0.9 * f + 2.0 * c));
}

static int one_video(void *ctx, int64_t step, gl_rng *rng, gl_train_batch *b, char *msg, size_t msglen) {
    (void)ctx; (void)step; (void)rng; (void)msg; (void)msglen;
    for (int64_t i = 0; i < b->B; i++) {
        pattern(b->x0 + i * b->F * b->H * b->W * 3, b->F, b->H, b->W, 0.0);
        b->text_lens[i] = 2;
        b->text[i * b->text_len] = 7;
        b->text[i * b->text_len + 1] = 8;
    }
    return 0;
}

static gl_dit *tiny(void) {
    gl_dit_config c;
    char msg[256];
    gl_dit_config_preset("tiny", &c);
    gl_dit *m = NULL;
    assert_int_equal(gl_dit_new(&m, &c, msg, sizeof msg), GL_OK);
    gl_dit_init_weights(m, 3);
    return m;
}

/* The tiny model with random weights everywhere (AdaLN-zero closes every block at
 * initialisation): a model whose samples depend on their prompts and context. */
static gl_dit *tiny_busy(uint64_t seed) {
    gl_dit *m = tiny();
    gl_params *p = gl_dit_params(m);
    tu_rng r;
    tu_seed(&r, seed);
    tu_fill(&r, gl_params_data(p), gl_params_numel(p), 0.1);
    return m;
}

/* Trained on one video with fresh noise each step, the flow from any noise ends at that
 * video: the sample's error is far below the video's own spread. */
static void sample_reproduces_overfitted_video(void **s) {
    (void)s;
    gl_dit *m = tiny();
    gl_train_opts o = gl_train_default_opts();
    o.steps = 1500;
    o.batch = 4;
    o.lr = 5e-3f;
    o.warmup = 20;
    o.prompt_drop = 0;
    gl_train_result r;
    char msg[256];
    assert_int_equal(gl_train_run(m, &o, one_video, NULL, &r, msg, sizeof msg), GL_OK);
    const int64_t F = 2, H = 8, W = 8, n = F * H * W * 3;
    float *want = tu_falloc(n), *got = tu_falloc(n);
    pattern(want, F, H, W, 0.0);
    int32_t text[16] = {7, 8};
    gl_sample_opts so = gl_sample_default_opts();
    so.cfg = 1.0f;
    gl_sample_request req = {.F = F, .H = H, .W = W, .text = text, .text_len = 2};
    assert_int_equal(gl_sample(m, &so, &req, got, msg, sizeof msg), GL_OK);
    double err = 0, var = 0;
    for (int64_t i = 0; i < n; i++) {
        err += (got[i] - want[i]) * (got[i] - want[i]);
        var += want[i] * want[i];
    }
    print_message("training loss %.4f; sample MSE %.4f against the video's mean square %.4f\n",
                  r.mean_loss_last10, err / n, var / n);
    assert_true(err < 0.1 * var);
    tu_free(want);
    tu_free(got);
    gl_dit_free(&m);
}

/* The clean-token mask of a canvas of two cells side by side, T tokens in rows of gw: the
 * left cell given. Freed with test_free. */
static uint8_t *left_cell_clean(int64_t T, int64_t gw) {
    uint8_t *clean = test_calloc((size_t)T, 1);
    for (int64_t k = 0; k < T; k++) clean[k] = (k % gw) < gw / 2;
    return clean;
}

/* The first `cols` columns of each of `rows` rows of W pixels (the clean cell) came out as
 * the context, clamped to [-1, 1], bit for bit. */
static void expect_context_kept(const float *out, const float *ctx, int64_t rows, int64_t W, int64_t cols) {
    for (int64_t r = 0; r < rows; r++)
        for (int64_t x = 0; x < cols; x++)
            for (int c = 0; c < 3; c++) {
                int64_t i = (r * W + x) * 3 + c;
                float want = ctx[i] < -1 ? -1 : ctx[i] > 1 ? 1 : ctx[i];
                assert_true(out[i] == want);
            }
}

/* Clean context tokens come out exactly as given; guidance runs. */
static void sample_keeps_context(void **s) {
    (void)s;
    gl_dit *m = tiny_busy(1);
    const gl_dit_config *c = gl_dit_cfg(m);
    const int64_t F = 2, H = 8, W = 16, n = F * H * W * 3, gw = W / c->patch_w;
    const int64_t T = (F / c->patch_t) * (H / c->patch_h) * gw;
    float *ctx = tu_falloc(n), *out = tu_falloc(n);
    pattern(ctx, F, H, W, 1.0);
    uint8_t *clean = left_cell_clean(T, gw);
    int32_t text[16] = {7};
    gl_sample_opts so = gl_sample_default_opts();
    so.steps = 4;
    gl_sample_request req = {.F = F, .H = H, .W = W, .text = text, .text_len = 1, .context = ctx, .clean = clean};
    char msg[256];
    assert_int_equal(gl_sample(m, &so, &req, out, msg, sizeof msg), GL_OK);
    expect_context_kept(out, ctx, F * H, W, 8);
    so.steps = 0;
    assert_int_equal(gl_sample(m, &so, &req, out, msg, sizeof msg), GL_EINVAL);
    req.W = 9;
    so.steps = 2;
    assert_int_equal(gl_sample(m, &so, &req, out, msg, sizeof msg), GL_EINVAL);
    tu_free(ctx);
    tu_free(out);
    test_free(clean);
    gl_dit_free(&m);
}

/* A negative prompt: an empty one is the unconditional branch, bit for bit; the prompt
 * itself as its own negative cancels guidance (the unguided sample); another prompt
 * changes the sample; a bad length is refused. */
static void sample_negative_prompt(void **s) {
    (void)s;
    gl_dit *m = tiny_busy(2);
    const int64_t F = 2, H = 8, W = 8, n = F * H * W * 3;
    float *plain = tu_falloc(n), *got = tu_falloc(n), *unguided = tu_falloc(n);
    int32_t text[16] = {7, 8, 9}, neg[16] = {7, 8, 9}, empty[16] = {0}, other[16] = {10, 11};
    gl_sample_opts so = gl_sample_default_opts();
    so.steps = 4;
    so.cfg = 4.0f;
    char msg[256];
    gl_sample_request req = {.F = F, .H = H, .W = W, .text = text, .text_len = 3};
    assert_int_equal(gl_sample(m, &so, &req, plain, msg, sizeof msg), GL_OK);
    req.neg_text = empty;
    req.neg_text_len = 0;
    assert_int_equal(gl_sample(m, &so, &req, got, msg, sizeof msg), GL_OK);
    assert_memory_equal(plain, got, (size_t)n * sizeof(float));
    req.neg_text = neg;
    req.neg_text_len = 3;
    assert_int_equal(gl_sample(m, &so, &req, got, msg, sizeof msg), GL_OK);
    gl_sample_opts one = so;
    one.cfg = 1.0f;
    assert_int_equal(gl_sample(m, &one, &req, unguided, msg, sizeof msg), GL_OK);
    double diff = 0, moved = 0;
    for (int64_t i = 0; i < n; i++) {
        diff = fmax(diff, fabs(got[i] - unguided[i]));
        moved = fmax(moved, fabs(plain[i] - unguided[i]));
    }
    print_message("prompt as its own negative: max |guided - unguided| %.2e (empty negative: %.2e)\n", diff, moved);
    assert_true(diff < 1e-4);
    assert_true(moved > 1e-2); /* guidance against the empty prompt does move it */
    req.neg_text = other;
    req.neg_text_len = 2;
    assert_int_equal(gl_sample(m, &so, &req, got, msg, sizeof msg), GL_OK);
    double other_moved = 0;
    for (int64_t i = 0; i < n; i++) other_moved = fmax(other_moved, fabs(got[i] - plain[i]));
    assert_true(other_moved > 1e-3);
    req.neg_text_len = -1;
    assert_int_equal(gl_sample(m, &so, &req, got, msg, sizeof msg), GL_EINVAL);
    assert_non_null(strstr(msg, "negative prompt"));
    req.neg_text_len = (int32_t)gl_dit_cfg(m)->text_len + 1;
    assert_int_equal(gl_sample(m, &so, &req, got, msg, sizeof msg), GL_EINVAL);
    tu_free(plain);
    tu_free(got);
    tu_free(unguided);
    gl_dit_free(&m);
}

static double max_diff(const float *a, const float *b, int64_t n) {
    double d = 0;
    for (int64_t i = 0; i < n; i++) d = fmax(d, fabs((double)a[i] - b[i]));
    return d;
}

/* A start below pure noise (strength): at strength 1 the start is ignored, bit for bit;
 * near 0 the sample is the start, whatever the model says; in between it is neither the
 * start nor the sample from noise; clean context stays exact; a strength outside (0, 1],
 * one without a start and one beside context guidance are refused. */
static void sample_strength(void **s) {
    (void)s;
    gl_dit *m = tiny_busy(4);
    const gl_dit_config *c = gl_dit_cfg(m);
    const int64_t F = 2, H = 8, W = 16, n = F * H * W * 3, gw = W / c->patch_w;
    const int64_t T = (F / c->patch_t) * (H / c->patch_h) * gw;
    float *ctx = tu_falloc(n), *init = tu_falloc(n), *noise = tu_falloc(n), *got = tu_falloc(n);
    pattern(ctx, F, H, W, 1.0);
    pattern(init, F, H, W, 2.5);
    uint8_t *clean = left_cell_clean(T, gw);
    int32_t text[16] = {7, 8};
    gl_sample_opts so = gl_sample_default_opts();
    so.steps = 4;
    so.cfg = 1.0f;
    char msg[256];
    gl_sample_request req = {.F = F, .H = H, .W = W, .text = text, .text_len = 2, .context = ctx, .clean = clean};
    assert_int_equal(gl_sample(m, &so, &req, noise, msg, sizeof msg), GL_OK);
    req.init = init;
    assert_int_equal(gl_sample(m, &so, &req, got, msg, sizeof msg), GL_OK);
    assert_memory_equal(noise, got, (size_t)n * sizeof(float));

    so.strength = 1e-3f;
    assert_int_equal(gl_sample(m, &so, &req, got, msg, sizeof msg), GL_OK);
    expect_context_kept(got, ctx, F * H, W, 8);
    double near = 0;
    for (int64_t r = 0; r < F * H; r++)
        for (int64_t i = (r * W + 8) * 3; i < (r * W + W) * 3; i++) near = fmax(near, fabs((double)got[i] - init[i]));
    so.strength = 0.5f;
    assert_int_equal(gl_sample(m, &so, &req, got, msg, sizeof msg), GL_OK);
    expect_context_kept(got, ctx, F * H, W, 8);
    double mid_init = 0, mid_noise = max_diff(got, noise, n);
    for (int64_t r = 0; r < F * H; r++)
        for (int64_t i = (r * W + 8) * 3; i < (r * W + W) * 3; i++)
            mid_init = fmax(mid_init, fabs((double)got[i] - init[i]));
    print_message("strength 0.001: %.2e from the start; 0.5: %.2e from it, %.2e from the sample from noise\n", near,
                  mid_init, mid_noise);
    assert_true(near < 1e-2);
    assert_true(mid_init > 1e-2 && mid_noise > 1e-2);

    so.strength = 0.0f;
    assert_int_equal(gl_sample(m, &so, &req, got, msg, sizeof msg), GL_EINVAL);
    assert_non_null(strstr(msg, "strength"));
    so.strength = 1.5f;
    assert_int_equal(gl_sample(m, &so, &req, got, msg, sizeof msg), GL_EINVAL);
    so.strength = 0.5f;
    so.context_cfg = 2.0f;
    assert_int_equal(gl_sample(m, &so, &req, got, msg, sizeof msg), GL_EINVAL);
    assert_non_null(strstr(msg, "context"));
    so.context_cfg = 1.0f;
    req.init = NULL;
    assert_int_equal(gl_sample(m, &so, &req, got, msg, sizeof msg), GL_EINVAL);
    assert_non_null(strstr(msg, "start from"));
    tu_free(ctx);
    tu_free(init);
    tu_free(noise);
    tu_free(got);
    test_free(clean);
    gl_dit_free(&m);
}

/* Guidance by the context: at context_cfg 0 the sampled cells are the no-context branch's
 * alone, so they do not depend on what the context holds; at 2 they move, the context
 * stays exact; without clean tokens it changes nothing; beside prompt guidance whose
 * negative is the prompt itself it is the same as alone (each branch has its prompt);
 * negative or NaN scales are refused. */
static void sample_context_guidance(void **s) {
    (void)s;
    gl_dit *m = tiny_busy(3);
    const gl_dit_config *c = gl_dit_cfg(m);
    const int64_t F = 2, H = 8, W = 16, n = F * H * W * 3, gw = W / c->patch_w;
    const int64_t T = (F / c->patch_t) * (H / c->patch_h) * gw;
    float *ctx_a = tu_falloc(n), *ctx_b = tu_falloc(n), *a = tu_falloc(n), *b = tu_falloc(n), *plain = tu_falloc(n);
    pattern(ctx_a, F, H, W, 1.0);
    pattern(ctx_b, F, H, W, 2.5);
    uint8_t *clean = left_cell_clean(T, gw);
    int32_t text[16] = {7, 8};
    gl_sample_opts so = gl_sample_default_opts();
    so.steps = 4;
    so.cfg = 1.0f;
    char msg[256];
    gl_sample_request req = {.F = F, .H = H, .W = W, .text = text, .text_len = 2, .context = ctx_a, .clean = clean};
    /* the right cell's values: pixels with x >= 8 */
    float *ra = tu_falloc(n / 2), *rb = tu_falloc(n / 2);
#define RIGHT(dst, src)                                                                                              \
    for (int64_t r_ = 0; r_ < F * H; r_++) memcpy((dst) + r_ * 8 * 3, (src) + (r_ * W + 8) * 3, 8 * 3 * sizeof(float))

    assert_int_equal(gl_sample(m, &so, &req, plain, msg, sizeof msg), GL_OK);
    so.context_cfg = 0.0f;
    assert_int_equal(gl_sample(m, &so, &req, a, msg, sizeof msg), GL_OK);
    req.context = ctx_b;
    assert_int_equal(gl_sample(m, &so, &req, b, msg, sizeof msg), GL_OK);
    RIGHT(ra, a);
    RIGHT(rb, b);
    double unseen = max_diff(ra, rb, n / 2);
    RIGHT(rb, plain);
    double seen = max_diff(ra, rb, n / 2);
    print_message("context_cfg 0: two contexts' sampled cells differ by %.2e; from context_cfg 1's by %.2e\n", unseen,
                  seen);
    assert_true(unseen < 1e-5);
    assert_true(seen > 1e-3);

    req.context = ctx_a;
    so.context_cfg = 2.0f;
    assert_int_equal(gl_sample(m, &so, &req, a, msg, sizeof msg), GL_OK);
    assert_true(max_diff(a, plain, n) > 1e-3);
    expect_context_kept(a, ctx_a, F * H, W, 8);

    gl_sample_opts both = so;
    both.cfg = 4.0f;
    req.neg_text = text;
    req.neg_text_len = 2;
    assert_int_equal(gl_sample(m, &both, &req, b, msg, sizeof msg), GL_OK);
    print_message("with the prompt as its own negative: %.2e from context guidance alone\n", max_diff(a, b, n));
    assert_true(max_diff(a, b, n) < 1e-4);
    req.neg_text = NULL;
    req.neg_text_len = 0;

    req.clean = NULL;
    req.context = NULL;
    so.context_cfg = 1.0f;
    assert_int_equal(gl_sample(m, &so, &req, a, msg, sizeof msg), GL_OK);
    so.context_cfg = 3.0f;
    assert_int_equal(gl_sample(m, &so, &req, b, msg, sizeof msg), GL_OK);
    assert_memory_equal(a, b, (size_t)n * sizeof(float));

    so.context_cfg = -0.5f;
    assert_int_equal(gl_sample(m, &so, &req, a, msg, sizeof msg), GL_EINVAL);
    assert_non_null(strstr(msg, "context_cfg"));
    so.context_cfg = NAN;
    assert_int_equal(gl_sample(m, &so, &req, a, msg, sizeof msg), GL_EINVAL);
#undef RIGHT
    tu_free(ctx_a); tu_free(ctx_b); tu_free(a); tu_free(b); tu_free(plain); tu_free(ra); tu_free(rb);
    test_free(clean);
    gl_dit_free(&m);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(sample_schedule),
    cmocka_unit_test(sample_reproduces_overfitted_video),
    cmocka_unit_test(sample_keeps_context),
    cmocka_unit_test(sample_negative_prompt),
    cmocka_unit_test(sample_context_guidance),
    cmocka_unit_test(sample_strength),
};
TU_MAIN("sample", tests)
