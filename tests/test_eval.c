/* tests/test_eval.c: the evaluation's metrics (pipeline/eval.c) against values worked out
 * by hand on tiny synthetic videos (flat backgrounds, squares moving by whole pixels), and
 * the run's summaries and JSON (pipeline/eval_run.c) on made-up scores. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "gridlora/core.h"
#include "gridlora/dataset.h"
#include "gridlora/eval.h"
#include "gridlora/model.h"
#include "gridlora/render.h"
#include "gridlora/video.h"
#include "testutil.h"

static gl_video flat(int64_t F, int64_t H, int64_t W, float r, float g, float b) {
    gl_video v = {0};
    assert_int_equal(gl_video_alloc(&v, F, H, W), GL_OK);
    for (int64_t p = 0; p < F * H * W; p++) {
        v.rgb[p * 3] = r;
        v.rgb[p * 3 + 1] = g;
        v.rgb[p * 3 + 2] = b;
    }
    return v;
}

static float *px(gl_video *v, int64_t f, int64_t y, int64_t x) {
    return &v->rgb[((f * v->height + y) * v->width + x) * 3];
}

/* A side x side square with its top-left corner at (x0 + dx f, y0) in frame f, painted
 * into v (colour rgb) and into alpha (1 inside) when given. */
static void square(gl_video *v, float *alpha, int64_t x0, int64_t y0, int64_t dx, int64_t side, const float rgb[3]) {
    for (int64_t f = 0; f < v->frames; f++)
        for (int64_t y = y0; y < y0 + side; y++)
            for (int64_t x = x0 + dx * f; x < x0 + dx * f + side; x++) {
                memcpy(px(v, f, y, x), rgb, 3 * sizeof(float));
                if (alpha) alpha[(f * v->height + y) * v->width + x] = 1.0f;
            }
}

static float *zeros(int64_t n) {
    float *a = tu_falloc(n);
    memset(a, 0, (size_t)n * sizeof *a);
    return a;
}

/* ---- PSNR ----------------------------------------------------------------------------- */

static void psnr_known_values(void **st) {
    (void)st;
    gl_video t = flat(2, 3, 4, 0.5f, 0.5f, 0.5f), x = flat(2, 3, 4, 0.6f, 0.6f, 0.6f);
    double db = 0;
    assert_int_equal(gl_eval_psnr(&t, &t, &db), GL_OK);
    assert_true(db == GL_EVAL_PSNR_MAX); /* identical: infinite, reported capped */
    assert_int_equal(gl_eval_psnr(&x, &t, &db), GL_OK);
    assert_float_equal(db, 20.0, 1e-5); /* offset 0.1 everywhere: MSE 0.01 */
    for (int64_t i = 0; i < 2 * 3 * 4 * 3; i++) x.rgb[i] = 0.5f + (i % 2 ? 0.2f : 0.0f);
    assert_int_equal(gl_eval_psnr(&x, &t, &db), GL_OK);
    assert_float_equal(db, 10.0 * log10(50.0), 1e-5); /* half the values off by 0.2: MSE 0.02 */
    gl_video small = flat(2, 3, 3, 0.5f, 0.5f, 0.5f);
    assert_int_equal(gl_eval_psnr(&small, &t, &db), GL_EINVAL);
    gl_video_release(&t);
    gl_video_release(&x);
    gl_video_release(&small);
}

/* ---- identity ------------------------------------------------------------------------ */

static void fg_stats_weighted(void **st) {
    (void)st;
    gl_video v = flat(1, 1, 2, 0, 0, 0);
    const float a[3] = {0.2f, 0.4f, 0.6f}, b[3] = {0.6f, 0.8f, 1.0f};
    memcpy(px(&v, 0, 0, 0), a, sizeof a);
    memcpy(px(&v, 0, 0, 1), b, sizeof b);
    double mean[3], sd[3];
    assert_int_equal(gl_eval_fg_stats(&v, (const float[2]){1, 1}, mean, sd), GL_OK);
    for (int k = 0; k < 3; k++) {
        assert_float_equal(mean[k], 0.4 + 0.2 * k, 1e-6);
        assert_float_equal(sd[k], 0.2, 1e-6);
    }
    /* weights 3:1: mean 0.3, variance (3 * 0.1^2 + 0.3^2) / 4 = 0.03 */
    assert_int_equal(gl_eval_fg_stats(&v, (const float[2]){3, 1}, mean, sd), GL_OK);
    assert_float_equal(mean[0], 0.3, 1e-6);
    assert_float_equal(sd[0], sqrt(0.03), 1e-6);
    assert_int_equal(gl_eval_fg_stats(&v, (const float[2]){0, 0}, mean, sd), GL_EINVAL);
    gl_video_release(&v);
}

static void identity_ignores_background(void **st) {
    (void)st;
    enum { F = 3, H = 8, W = 10 };
    const float red[3] = {0.9f, 0.1f, 0.1f}, redder[3] = {1.0f, 0.1f, 0.1f};
    float *alpha = zeros(F * H * W);
    gl_video t = flat(F, H, W, 0.2f, 0.6f, 0.2f), x = flat(F, H, W, 0.1f, 0.1f, 0.8f);
    square(&t, alpha, 1, 2, 2, 3, red);
    square(&x, NULL, 1, 2, 2, 3, red);
    double d = -1;
    assert_int_equal(gl_eval_identity(&t, &t, alpha, &d), GL_OK);
    assert_true(d == 0.0);
    assert_int_equal(gl_eval_identity(&x, &t, alpha, &d), GL_OK); /* another background: the same */
    assert_float_equal(d, 0.0, 1e-9);
    square(&x, NULL, 1, 2, 2, 3, redder); /* red 0.1 brighter, spread unchanged: 0.1 / 3 */
    assert_int_equal(gl_eval_identity(&x, &t, alpha, &d), GL_OK);
    assert_float_equal(d, 0.1 / 3.0, 1e-6);
    memset(alpha, 0, F * H * W * sizeof *alpha);
    assert_int_equal(gl_eval_identity(&x, &t, alpha, &d), GL_EINVAL);
    tu_free(alpha);
    gl_video_release(&t);
    gl_video_release(&x);
}

/* ---- foreground and motion --------------------------------------------------------- */

/* A striped subject against its flat average: the colours' means agree, so all of
 * identity is spread; shifting the stripes' colour moves the colour part alone. */
static void identity_parts_split(void **st) {
    (void)st;
    enum { F = 2, H = 4, W = 4 };
    float *alpha = zeros(F * H * W);
    gl_video t = flat(F, H, W, 0.5f, 0.5f, 0.5f), x = flat(F, H, W, 0.5f, 0.5f, 0.5f);
    for (int64_t f = 0; f < F; f++)
        for (int64_t y = 0; y < H; y++)
            for (int64_t c = 0; c < W; c++) {
                alpha[(f * H + y) * W + c] = 1;
                const float v = c % 2 ? 0.7f : 0.3f; /* mean 0.5, std 0.2 */
                for (int k = 0; k < 3; k++) px(&t, f, y, c)[k] = v;
            }
    double colour = -1, spread = -1, id = -1;
    assert_int_equal(gl_eval_identity_parts(&x, &t, alpha, &colour, &spread), GL_OK);
    assert_float_equal(colour, 0.0, 1e-6);
    assert_float_equal(spread, 0.2, 1e-6);
    assert_int_equal(gl_eval_identity(&x, &t, alpha, &id), GL_OK);
    assert_true(id == colour + spread);
    for (int64_t p = 0; p < F * H * W; p++) x.rgb[p * 3] = 0.56f; /* red's mean 0.06 off */
    assert_int_equal(gl_eval_identity_parts(&x, &t, alpha, &colour, &spread), GL_OK);
    assert_float_equal(colour, 0.06 / 3.0, 1e-6);
    assert_float_equal(spread, 0.2, 1e-6);
    memset(alpha, 0, F * H * W * sizeof *alpha);
    assert_int_equal(gl_eval_identity_parts(&x, &t, alpha, &colour, &spread), GL_EINVAL);
    tu_free(alpha);
    gl_video_release(&t);
    gl_video_release(&x);
}

static void centroid_of_square(void **st) {
    (void)st;
    enum { F = 2, H = 12, W = 10 };
    float *w = zeros(F * H * W);
    for (int64_t y = 3; y < 7; y++) /* columns 2..5, rows 3..6 of frame 0; frame 1 empty */
        for (int64_t x = 2; x < 6; x++) w[y * W + x] = 1.0f;
    double cx[F], cy[F];
    assert_int_equal(gl_eval_centroids(w, F, H, W, cx, cy), GL_OK);
    assert_float_equal(cx[0], 4.0, 1e-12); /* pixel centres 2.5 .. 5.5 */
    assert_float_equal(cy[0], 5.0, 1e-12);
    assert_float_equal(cx[1], 5.0, 1e-12); /* nothing there: the frame's centre */
    assert_float_equal(cy[1], 6.0, 1e-12);
    assert_int_equal(gl_eval_centroids(w, 0, H, W, cx, cy), GL_EINVAL);
    tu_free(w);
}

/* 8 frames, a 5x5 square moving 2 pixels a frame: each pixel is covered in at most 3
 * frames, so the temporal median is the background and the mask is the square exactly. */
static void foreground_is_the_moving_square(void **st) {
    (void)st;
    enum { F = 8, H = 12, W = 24 };
    const float red[3] = {0.9f, 0.1f, 0.1f};
    float *alpha = zeros(F * H * W), *mask = tu_falloc(F * H * W);
    gl_video v = flat(F, H, W, 0.3f, 0.5f, 0.3f);
    square(&v, alpha, 1, 4, 2, 5, red);
    /* a rain-like streak one pixel wide in frame 3: thinner than the opening keeps */
    for (int64_t y = 0; y < H; y++) memcpy(px(&v, 3, y, 20), (const float[3]){0.9f, 0.9f, 1.0f}, 3 * sizeof(float));
    assert_int_equal(gl_eval_foreground(&v, mask), GL_OK);
    assert_memory_equal(mask, alpha, F * H * W * sizeof *mask);
    /* a subject too small to survive the opening keeps its raw mask */
    gl_video dot = flat(F, H, W, 0.3f, 0.5f, 0.3f);
    memset(alpha, 0, F * H * W * sizeof *alpha);
    square(&dot, alpha, 1, 4, 2, 1, red);
    assert_int_equal(gl_eval_foreground(&dot, mask), GL_OK);
    assert_memory_equal(mask, alpha, F * H * W * sizeof *mask);
    tu_free(alpha);
    tu_free(mask);
    gl_video_release(&v);
    gl_video_release(&dot);
}

/* A red square of side 5 moving 2 px a frame over a flat background, then with its two
 * left columns blue: the caption figures are known exactly. */
static void caption_figures_of_square(void **st) {
    (void)st;
    enum { F = 8, H = 12, W = 24 };
    float red[3], blue[3], *fg = tu_falloc(F * H * W);
    gl_colour_rgb(GL_RED, red);
    gl_colour_rgb(GL_BLUE, blue);
    gl_video v = flat(F, H, W, 0.3f, 0.5f, 0.3f);
    square(&v, NULL, 1, 4, 2, 5, red);
    double share, present, travel, area;
    assert_int_equal(gl_eval_caption_figures(&v, GL_RED, fg, &share, &present, &travel, &area), GL_OK);
    assert_float_equal(share, 1.0, 1e-12);
    assert_float_equal(present, 1.0, 1e-12);
    assert_float_equal(travel, 2.0 * (F - 1), 1e-9);
    assert_float_equal(area, 25.0 / (H * W), 1e-12);
    assert_int_equal(gl_eval_caption_figures(&v, GL_BLUE, fg, &share, &present, &travel, &area), GL_OK);
    assert_float_equal(share, 0.0, 1e-12);
    for (int64_t f = 0; f < F; f++)
        for (int64_t y = 4; y < 9; y++)
            for (int64_t x = 1 + 2 * f; x < 3 + 2 * f; x++) memcpy(px(&v, f, y, x), blue, sizeof blue);
    assert_int_equal(gl_eval_caption_figures(&v, GL_RED, fg, &share, &present, &travel, &area), GL_OK);
    assert_float_equal(share, 15.0 / 25.0, 1e-12);
    /* nothing moves: no subject anywhere */
    gl_video still = flat(F, H, W, 0.3f, 0.5f, 0.3f);
    assert_int_equal(gl_eval_caption_figures(&still, GL_RED, fg, &share, &present, &travel, &area), GL_OK);
    assert_true(share == 0.0 && present == 0.0 && travel == 0.0 && area == 0.0);
    assert_int_equal(gl_eval_caption_figures(&still, GL_COLOUR_COUNT, fg, &share, &present, &travel, &area),
                     GL_EINVAL);
    tu_free(fg);
    gl_video_release(&v);
    gl_video_release(&still);
}

/* The renderer's own subjects, through the foreground estimate, are recognised as their
 * shapes at the default cell size and the domain's largest subject size (at the smallest,
 * radius 4 pixels, the shapes' masks hardly differ; square, diamond and blob are told
 * apart in 3 to 6 frames of 8 at the largest, so they are not asserted); an empty mask
 * measures nothing. */
static void shape_figures_of_rendered_subjects(void **st) {
    (void)st;
    gl_render_opts o = gl_render_default_opts();
    const int64_t F = o.frames, H = o.height, W = o.width;
    float *fg = tu_falloc(F * H * W);
    const int shapes[] = {GL_SHAPE_TRIANGLE, GL_SHAPE_STAR, GL_SHAPE_RING, GL_SHAPE_CROSS};
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        gl_concept c;
        gl_concept_sample(&c, 7 + i, GL_SPLIT_TRAIN);
        c.shape = (gl_shape)shapes[i];
        c.size = 0.22;
        c.pulse = 0;
        gl_video v = {0};
        assert_int_equal(gl_render_concept(&c, &o, &v), GL_OK);
        assert_int_equal(gl_eval_foreground(&v, fg), GL_OK);
        double hit = -1, q = -1, hit_other = -1, q_other = -1;
        int64_t n = 0, n_other = 0;
        assert_int_equal(gl_eval_shape_figures(fg, F, H, W, shapes[i], &hit, &q, &n), GL_OK);
        assert_int_equal(gl_eval_shape_figures(fg, F, H, W, GL_SHAPE_CIRCLE, &hit_other, &q_other, &n_other),
                         GL_OK);
        assert_true(n >= F / 2 && n_other == n);
        assert_true(hit >= 0.5);
        assert_true(q > q_other);
        assert_true(hit_other <= 1.0 - hit);
        gl_video_release(&v);
    }
    memset(fg, 0, (size_t)(F * H * W) * sizeof *fg);
    double hit = -1, q = -1;
    int64_t n = -1;
    assert_int_equal(gl_eval_shape_figures(fg, F, H, W, GL_SHAPE_STAR, &hit, &q, &n), GL_OK);
    assert_true(n == 0 && hit == 0.0 && q == 0.0);
    assert_int_equal(gl_eval_shape_figures(fg, F, H, W, GL_SHAPE_COUNT, &hit, &q, &n), GL_EINVAL);
    tu_free(fg);
}

static void motion_shift_is_the_error(void **st) {
    (void)st;
    enum { F = 8, H = 14, W = 26 };
    const float red[3] = {0.9f, 0.1f, 0.1f};
    float *alpha = zeros(F * H * W);
    gl_video t = flat(F, H, W, 0.3f, 0.5f, 0.3f), x = flat(F, H, W, 0.3f, 0.5f, 0.3f);
    square(&t, alpha, 1, 4, 2, 5, red);
    square(&x, NULL, 3, 5, 2, 5, red); /* the same path, 2 right and 1 down */
    double e = -1;
    assert_int_equal(gl_eval_motion(&t, &t, &e), GL_OK);
    assert_true(e == 0.0);
    assert_int_equal(gl_eval_motion(&x, &t, &e), GL_OK);
    assert_float_equal(e, sqrt(5.0), 1e-9);
    assert_int_equal(gl_eval_motion_path(&t, alpha, &e), GL_OK); /* the estimate is exact here */
    assert_float_equal(e, 0.0, 1e-9);
    assert_int_equal(gl_eval_motion_path(&x, alpha, &e), GL_OK);
    assert_float_equal(e, sqrt(5.0), 1e-9);
    gl_video still = flat(F, H, W, 0.3f, 0.5f, 0.3f); /* nothing moves: centred centroids */
    assert_int_equal(gl_eval_motion_path(&still, alpha, &e), GL_OK);
    double want = 0;
    for (int f = 0; f < F; f++) want += hypot(3.5 + 2.0 * f - W / 2.0, 6.5 - H / 2.0);
    assert_float_equal(e, want / F, 1e-9);
    gl_video small = flat(F, H, W - 2, 0.3f, 0.5f, 0.3f);
    assert_int_equal(gl_eval_motion(&small, &t, &e), GL_EINVAL);
    tu_free(alpha);
    gl_video_release(&t);
    gl_video_release(&x);
    gl_video_release(&still);
    gl_video_release(&small);
}

/* ---- temporal consistency -------------------------------------------------------------- */

static void temporal_mean_change(void **st) {
    (void)st;
    gl_video v = flat(3, 2, 2, 0, 0, 0);
    const float level[3] = {0.1f, 0.4f, 0.2f}; /* changes 0.3, then 0.2 */
    for (int64_t f = 0; f < 3; f++)
        for (int64_t i = 0; i < 12; i++) v.rgb[f * 12 + i] = level[f];
    double mad = -1;
    assert_int_equal(gl_eval_temporal(&v, &mad), GL_OK);
    assert_float_equal(mad, 0.25, 1e-6);
    gl_video one = flat(1, 2, 2, 0.5f, 0.5f, 0.5f);
    assert_int_equal(gl_eval_temporal(&one, &mad), GL_OK);
    assert_true(mad == 0.0);
    gl_video_release(&v);
    gl_video_release(&one);
}

/* ---- effect presence ------------------------------------------------------------------ */

static void effect_stats_known_values(void **st) {
    (void)st;
    enum { F = 4, H = 6, W = 8, N = F * H * W };
    const float red[3] = {0.9f, 0.1f, 0.1f};
    float *alpha = zeros(N);
    gl_video plain = flat(F, H, W, 0.5f, 0.5f, 0.5f);
    square(&plain, alpha, 0, 1, 1, 2, red);
    const unsigned fx[5] = {GL_FX_SMOKE, GL_FX_LIGHTS, GL_FX_NIGHT, GL_FX_RAIN, GL_FX_SHADOW};
    double s = -1;
    for (int k = 0; k < 5; k++) { /* the plain video shows no effect */
        assert_int_equal(gl_eval_effect_stat(&plain, &plain, alpha, fx[k], &s), GL_OK);
        assert_float_equal(s, 0.0, 1e-12);
    }
    assert_int_equal(gl_eval_effect_stat(&plain, &plain, alpha, GL_FX_SMOKE | GL_FX_RAIN, &s), GL_EINVAL);

    gl_video v = flat(F, H, W, 0, 0, 0);
    /* night: the background at 40% of its light, the subject kept */
    for (int64_t p = 0; p < N; p++)
        for (int c = 0; c < 3; c++) v.rgb[p * 3 + c] = alpha[p] > 0 ? plain.rgb[p * 3 + c] : 0.4f * plain.rgb[p * 3 + c];
    assert_int_equal(gl_eval_effect_stat(&v, &plain, alpha, GL_FX_NIGHT, &s), GL_OK);
    assert_float_equal(s, 0.6, 1e-6);
    /* lights: red up 0.1, blue down 0.05 everywhere: warmer by 0.15 */
    for (int64_t p = 0; p < N; p++) {
        memcpy(&v.rgb[p * 3], &plain.rgb[p * 3], 3 * sizeof(float));
        v.rgb[p * 3] += 0.1f;
        v.rgb[p * 3 + 2] -= 0.05f;
    }
    assert_int_equal(gl_eval_effect_stat(&v, &plain, alpha, GL_FX_LIGHTS, &s), GL_OK);
    assert_float_equal(s, 0.15, 1e-6);
    /* shadow: a quarter of the background 0.2 darker (luma), the rest 0.1 brighter (not counted) */
    int64_t away = 0, dark = 0;
    for (int64_t p = 0; p < N; p++) {
        memcpy(&v.rgb[p * 3], &plain.rgb[p * 3], 3 * sizeof(float));
        if (alpha[p] > 0) continue;
        float d = away++ % 4 == 0 ? -0.2f : 0.1f;
        dark += d < 0;
        for (int c = 0; c < 3; c++) v.rgb[p * 3 + c] += d;
    }
    assert_int_equal(gl_eval_effect_stat(&v, &plain, alpha, GL_FX_SHADOW, &s), GL_OK);
    assert_float_equal(s, 0.2 * (double)dark / (double)away, 1e-6);
    /* smoke: a black background turned into the smoke grey; the subject untouched */
    gl_video black = flat(F, H, W, 0, 0, 0);
    square(&black, NULL, 0, 1, 1, 2, red);
    for (int64_t p = 0; p < N; p++) {
        const float grey[3] = {0.60f, 0.60f, 0.62f};
        memcpy(&v.rgb[p * 3], alpha[p] > 0 ? &black.rgb[p * 3] : grey, 3 * sizeof(float));
    }
    assert_int_equal(gl_eval_effect_stat(&v, &black, alpha, GL_FX_SMOKE, &s), GL_OK);
    assert_float_equal(s, sqrt(0.6 * 0.6 + 0.6 * 0.6 + 0.62 * 0.62), 1e-6);
    /* rain: the background flickers by 0.1 from frame to frame; the plain one is still */
    for (int64_t p = 0; p < N; p++)
        for (int c = 0; c < 3; c++)
            v.rgb[p * 3 + c] = plain.rgb[p * 3 + c] + (alpha[p] > 0 ? 0.0f : 0.1f * (float)((p / (H * W)) % 2));
    assert_int_equal(gl_eval_effect_stat(&v, &plain, alpha, GL_FX_RAIN, &s), GL_OK);
    assert_float_equal(s, 0.1, 1e-6);
    /* nothing away from the subject: no statistic */
    for (int64_t p = 0; p < N; p++) alpha[p] = 1.0f;
    assert_int_equal(gl_eval_effect_stat(&v, &plain, alpha, GL_FX_NIGHT, &s), GL_EINVAL);
    tu_free(alpha);
    gl_video_release(&plain);
    gl_video_release(&black);
    gl_video_release(&v);
}

static void partner_stat_known_value(void **st) {
    (void)st;
    enum { F = 2, H = 4, W = 4, N = F * H * W };
    gl_video plain = flat(F, H, W, 0.2f, 0.2f, 0.2f), v = flat(F, H, W, 0.2f, 0.2f, 0.2f);
    float *alpha_b = zeros(N);
    const float blue[3] = {0.5f, 0.6f, 0.2f}; /* (0.3, 0.4, 0) away from the plain: 0.5 */
    square(&v, alpha_b, 1, 1, 0, 2, blue);
    double s = -1;
    assert_int_equal(gl_eval_partner_stat(&plain, &plain, alpha_b, &s), GL_OK);
    assert_true(s == 0.0);
    assert_int_equal(gl_eval_partner_stat(&v, &plain, alpha_b, &s), GL_OK);
    assert_float_equal(s, 0.5, 1e-6);
    memset(alpha_b, 0, N * sizeof *alpha_b);
    assert_int_equal(gl_eval_partner_stat(&v, &plain, alpha_b, &s), GL_EINVAL);
    tu_free(alpha_b);
    gl_video_release(&plain);
    gl_video_release(&v);
}

/* ---- names, summaries, JSON -------------------------------------------------------- */

static void names_and_items(void **st) {
    (void)st;
    const char *m[GL_EVAL_METHODS] = {"zeroshot", "ttft", "copy", "base"};
    for (int k = 0; k < GL_EVAL_METHODS; k++) assert_string_equal(gl_eval_method_name(k), m[k]);
    assert_null(gl_eval_method_name(GL_EVAL_METHODS));
    for (int k = 0; k < GL_EVAL_FX; k++) assert_string_equal(gl_eval_item_name(k), gl_effect_name(gl_eval_item_effect(k)));
    assert_string_equal(gl_eval_item_name(GL_EVAL_COMPOSE), "compose");
    assert_int_equal(gl_eval_item_effect(GL_EVAL_COMPOSE), 0);
    assert_string_equal(gl_eval_item_name(GL_EVAL_SAME), "same");
    assert_int_equal(gl_eval_item_effect(GL_EVAL_SAME), 0);
    assert_string_equal(gl_eval_item_name(GL_EVAL_SCENE), "scene");
    assert_string_equal(gl_eval_item_name(GL_EVAL_PATH), "path");
    assert_string_equal(gl_eval_item_name(GL_EVAL_BOTH), "both");
    assert_int_equal(gl_eval_item_effect(GL_EVAL_SCENE) | gl_eval_item_effect(GL_EVAL_PATH) |
                         gl_eval_item_effect(GL_EVAL_BOTH),
                     0);
    assert_null(gl_eval_item_name(GL_EVAL_ITEMS));
    assert_null(gl_eval_item_name(-1));
}

static void mean_skips_nan_and_json_holds_all(void **st) {
    (void)st;
    gl_eval_concept c[2];
    memset(c, 0, sizeof c);
    for (int i = 0; i < 2; i++) {
        c[i].index = i;
        c[i].seed = 12345678901234567890ull - (uint64_t)i;
        c[i].ran[GL_EVAL_ZEROSHOT] = c[i].ran[GL_EVAL_COPY] = c[i].ran[GL_EVAL_BASE] = 1;
        for (int k = 0; k < GL_EVAL_ITEMS; k++) {
            c[i].motion_floor[k] = 1.0;
            for (int mth = 0; mth < GL_EVAL_METHODS; mth++)
                c[i].s[k][mth] = (gl_eval_scores){.psnr = 10.0 * (i + 1), .identity = i ? NAN : 0.25, .motion = 1,
                                                  .identity_spread = 0.125 * (i + 1), .motion_path = 2,
                                                  .presence = 0.5, .presence_truth = 0.75,
                                                  .temporal = 0.1, .temporal_truth = 0.1};
        }
        c[i].seconds[GL_EVAL_ZEROSHOT] = 1.0 + i;
    }
    gl_eval_scores s = gl_eval_mean(c, 2, GL_EVAL_COMPOSE, GL_EVAL_BASE);
    assert_float_equal(s.psnr, 15.0, 1e-12);
    assert_float_equal(s.identity, 0.25, 1e-12); /* the NaN left out */
    assert_float_equal(s.identity_spread, 0.1875, 1e-12);
    s = gl_eval_mean(c, 2, 0, GL_EVAL_TTFT);
    assert_true(isnan(s.psnr) && isnan(s.motion));

    gl_dit_config cfg;
    gl_dit *m = NULL;
    char msg[256];
    assert_int_equal(gl_dit_config_preset("tiny", &cfg), GL_OK);
    assert_int_equal(gl_dit_new(&m, &cfg, msg, sizeof msg), GL_OK);
    gl_eval_params p = gl_eval_default_params();
    p.heldout = 2;
    p.ttft = 0;
    cJSON *j = gl_eval_json(&p, m, c, 2);
    assert_non_null(j);
    const cJSON *methods = cJSON_GetObjectItemCaseSensitive(j, "methods");
    assert_int_equal(cJSON_GetArraySize(methods), 3); /* no ttft when it did not run */
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(j, "ttft")));
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "items")), GL_EVAL_ITEMS);
    const cJSON *sum = cJSON_GetObjectItemCaseSensitive(j, "summary");
    for (int k = 0; k < GL_EVAL_ITEMS; k++) {
        const cJSON *it = cJSON_GetObjectItemCaseSensitive(sum, gl_eval_item_name(k));
        assert_non_null(it);
        assert_null(cJSON_GetObjectItemCaseSensitive(it, "ttft"));
        const cJSON *b = cJSON_GetObjectItemCaseSensitive(it, "base");
        assert_float_equal(cJSON_GetObjectItemCaseSensitive(b, "presence_error")->valuedouble, 0.25, 1e-12);
        assert_float_equal(cJSON_GetObjectItemCaseSensitive(b, "psnr")->valuedouble, 15.0, 1e-12);
        assert_float_equal(cJSON_GetObjectItemCaseSensitive(b, "identity_spread")->valuedouble, 0.1875, 1e-12);
    }
    const cJSON *concepts = cJSON_GetObjectItemCaseSensitive(j, "concepts");
    assert_int_equal(cJSON_GetArraySize(concepts), 2);
    const cJSON *c1 = cJSON_GetArrayItem(concepts, 1);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(c1, "seed")->valuestring, "12345678901234567889");
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(c1, "scores"),
                                                                          "smoke"), "copy"), "identity");
    assert_true(cJSON_IsNull(id)); /* NaN */
    const cJSON *secs = cJSON_GetObjectItemCaseSensitive(j, "seconds");
    assert_float_equal(cJSON_GetObjectItemCaseSensitive(secs, "zeroshot")->valuedouble, 1.5, 1e-12);
    cJSON_Delete(j);
    gl_dit_free(&m);
}

/* ---- one concept's run ------------------------------------------------------------- */

typedef struct seen {
    gl_video rows[GL_EVAL_ITEMS][2 + GL_EVAL_METHODS];
    int present[GL_EVAL_ITEMS][2 + GL_EVAL_METHODS];
    int calls, statuses;
} seen;

static int keep_rows(void *ctx, int64_t concept, int item, const gl_video *const *rows, int n) {
    seen *s = ctx;
    assert_int_equal(concept, 1);
    assert_int_equal(n, 2 + GL_EVAL_METHODS);
    s->calls++;
    for (int k = 0; k < n; k++) {
        if (!(s->present[item][k] = rows[k] != NULL)) continue;
        gl_video *v = &s->rows[item][k];
        gl_video_release(v); /* the run before's */
        assert_int_equal(gl_video_alloc(v, rows[k]->frames, rows[k]->height, rows[k]->width), GL_OK);
        memcpy(v->rgb, rows[k]->rgb, (size_t)(v->frames * v->height * v->width * 3) * sizeof *v->rgb);
    }
    return 0;
}

static void count_status(void *ctx, const char *line) {
    seen *s = ctx;
    assert_non_null(strstr(line, "concept 2/3"));
    s->statuses++;
}

/* The run's copy scores are the metrics of the renderer's own input against its own
 * truth, computed here independently; the rows it hands out are those videos. */
static void concept_run_copy_is_input_vs_truth(void **st) {
    (void)st;
    gl_dit_config cfg;
    gl_dit *m = NULL;
    char msg[1024];
    assert_int_equal(gl_dit_config_preset("tiny", &cfg), GL_OK);
    assert_int_equal(gl_dit_new(&m, &cfg, msg, sizeof msg), GL_OK);
    gl_dit_init_weights(m, 1);
    seen sn;
    memset(&sn, 0, sizeof sn);
    gl_eval_params p = gl_eval_default_params();
    p.heldout = 3;
    p.seed = 7;
    p.ttft = 0;
    p.so.steps = 1;
    p.on_item = keep_rows;
    p.on_status = count_status;
    p.ctx = &sn;
    gl_eval_concept res;
    if (gl_eval_concept_run(m, &p, 1, &res, msg, sizeof msg)) fail_msg("gl_eval_concept_run: %s", msg);
    assert_int_equal(gl_eval_concept_run(m, &p, 3, &res, msg, sizeof msg), GL_EINVAL);
    if (gl_eval_concept_run(m, &p, 1, &res, msg, sizeof msg)) fail_msg("gl_eval_concept_run: %s", msg);
    assert_int_equal(sn.calls, 2 * GL_EVAL_ITEMS);
    assert_int_equal(sn.statuses, 2 * 2); /* zeroshot and base; copy is instant, no ttft */
    assert_true(res.ran[GL_EVAL_ZEROSHOT] && res.ran[GL_EVAL_COPY] && res.ran[GL_EVAL_BASE] && !res.ran[GL_EVAL_TTFT]);

    gl_concept a, b;
    assert_int_equal(res.seed, gl_dataset_concept_seed(7, 1));
    assert_int_equal(res.partner_seed, gl_dataset_concept_seed(7, 2));
    assert_int_equal(gl_concept_sample(&a, res.seed, GL_SPLIT_HELDOUT), GL_OK);
    assert_int_equal(gl_concept_sample(&b, res.partner_seed, GL_SPLIT_HELDOUT), GL_OK);
    char cap[GL_CAPTION_MAX];
    assert_int_equal(gl_variant_caption(&a, NULL, GL_VARIANT_PLAIN, NULL, cap, sizeof cap), GL_OK);
    assert_string_equal(res.caption, cap);
    gl_render_opts o = {.frames = cfg.frames, .height = cfg.cell_h, .width = cfg.cell_w, .supersample = 4};
    const int64_t P = cfg.frames * cfg.cell_h * cfg.cell_w;
    gl_video plain = {0};
    assert_int_equal(gl_render_concept(&a, &o, &plain), GL_OK);
    static const int variant[GL_EVAL_ITEMS] = {GL_VARIANT_SMOKE, GL_VARIANT_LIGHTS, GL_VARIANT_NIGHT, GL_VARIANT_RAIN,
                                               GL_VARIANT_SHADOW, GL_VARIANT_WITH, GL_VARIANT_PLAIN,
                                               GL_VARIANT_BACKGROUND, GL_VARIANT_MOTION, GL_VARIANT_PLAIN};
    /* "both" is the plain video of A re-staged on the scene's background, then along the
     * path's kind of path */
    gl_concept scene, twice;
    assert_int_equal(gl_concept_restage(&a, GL_VARIANT_BACKGROUND, &scene), GL_OK);
    assert_int_equal(gl_concept_restage(&scene, GL_VARIANT_MOTION, &twice), GL_OK);
    float *alpha = tu_falloc(2 * P), *both = tu_falloc(P);
    for (int k = 0; k < GL_EVAL_ITEMS; k++) {
        gl_scene sc;
        gl_video truth = {0};
        assert_int_equal(gl_scene_from_variant(&sc, k == GL_EVAL_BOTH ? &twice : &a, &b, variant[k]), GL_OK);
        assert_int_equal(gl_render_scene(&sc, &o, &truth, alpha), GL_OK);
        const size_t bytes = (size_t)(P * 3) * sizeof(float);
        assert_memory_equal(sn.rows[k][0].rgb, plain.rgb, bytes);
        assert_memory_equal(sn.rows[k][1].rgb, truth.rgb, bytes);
        assert_memory_equal(sn.rows[k][2 + GL_EVAL_COPY].rgb, plain.rgb, bytes);
        assert_false(sn.present[k][2 + GL_EVAL_TTFT]);
        assert_true(sn.present[k][2 + GL_EVAL_ZEROSHOT] && sn.present[k][2 + GL_EVAL_BASE]);
        for (int64_t i = 0; i < P; i++) both[i] = k == GL_EVAL_COMPOSE ? fminf(1.0f, alpha[i] + alpha[P + i]) : alpha[i];
        double db, id, mo, mp, pr, prt, te, tt, floor;
        assert_int_equal(gl_eval_psnr(&plain, &truth, &db), GL_OK);
        assert_int_equal(gl_eval_identity(&plain, &truth, alpha, &id), GL_OK);
        assert_int_equal(gl_eval_motion(&plain, &truth, &mo), GL_OK);
        assert_int_equal(gl_eval_motion_path(&plain, both, &mp), GL_OK);
        assert_int_equal(gl_eval_motion_path(&truth, both, &floor), GL_OK);
        if (k == GL_EVAL_COMPOSE) {
            assert_int_equal(gl_eval_partner_stat(&plain, &plain, alpha + P, &pr), GL_OK);
            assert_int_equal(gl_eval_partner_stat(&truth, &plain, alpha + P, &prt), GL_OK);
        } else if (!gl_eval_item_effect(k)) { /* same, scene, path: no effect to be present */
            pr = prt = NAN;
        } else {
            assert_int_equal(gl_eval_effect_stat(&plain, &plain, alpha, gl_eval_item_effect(k), &pr), GL_OK);
            assert_int_equal(gl_eval_effect_stat(&truth, &plain, alpha, gl_eval_item_effect(k), &prt), GL_OK);
        }
        assert_int_equal(gl_eval_temporal(&plain, &te), GL_OK);
        assert_int_equal(gl_eval_temporal(&truth, &tt), GL_OK);
        const gl_eval_scores *c = &res.s[k][GL_EVAL_COPY];
        assert_true(c->psnr == db && c->identity == id && c->motion == mo && c->motion_path == mp);
        assert_true(isnan(pr) ? isnan(c->presence) && isnan(c->presence_truth)
                              : c->presence == pr && c->presence_truth == prt);
        assert_true(c->temporal == te && c->temporal_truth == tt);
        assert_true(res.motion_floor[k] == floor);
        if (k == GL_EVAL_SAME) /* the truth is the input: copying is perfect */
            assert_true(db == GL_EVAL_PSNR_MAX && id == 0.0 && mo == 0.0);
        else if (isnan(pr)) /* re-staged: the truth moved or changed scene */
            assert_true(db < GL_EVAL_PSNR_MAX && (k == GL_EVAL_SCENE || mo > 0.0));
        else /* the edit shows; copying shows none of it */
            assert_true(pr == 0.0 && db < GL_EVAL_PSNR_MAX);
        assert_true(isnan(res.s[k][GL_EVAL_TTFT].psnr));
        gl_video_release(&truth);
    }
    /* "both" changed background and path: its truth is neither the scene's nor the path's */
    const size_t bytes = (size_t)(P * 3) * sizeof(float);
    assert_memory_not_equal(sn.rows[GL_EVAL_BOTH][1].rgb, sn.rows[GL_EVAL_SCENE][1].rgb, bytes);
    assert_memory_not_equal(sn.rows[GL_EVAL_BOTH][1].rgb, sn.rows[GL_EVAL_PATH][1].rgb, bytes);
    for (int k = 0; k < GL_EVAL_ITEMS; k++)
        for (int r = 0; r < 2 + GL_EVAL_METHODS; r++) gl_video_release(&sn.rows[k][r]);
    tu_free(alpha);
    tu_free(both);
    gl_video_release(&plain);
    gl_dit_free(&m);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(psnr_known_values),
    cmocka_unit_test(fg_stats_weighted),
    cmocka_unit_test(identity_ignores_background),
    cmocka_unit_test(identity_parts_split),
    cmocka_unit_test(centroid_of_square),
    cmocka_unit_test(foreground_is_the_moving_square),
    cmocka_unit_test(caption_figures_of_square),
    cmocka_unit_test(shape_figures_of_rendered_subjects),
    cmocka_unit_test(motion_shift_is_the_error),
    cmocka_unit_test(temporal_mean_change),
    cmocka_unit_test(effect_stats_known_values),
    cmocka_unit_test(partner_stat_known_value),
    cmocka_unit_test(names_and_items),
    cmocka_unit_test(mean_skips_nan_and_json_holds_all),
    cmocka_unit_test(concept_run_copy_is_input_vs_truth),
};
TU_MAIN("eval", tests)
