/* tests/test_story.c: gl_app_story on the tiny preset: each grid's context is exactly the
 * previous shot's output, the story's frames are the shots' in order, the input cells are
 * kept bit for bit, every grid is the gl_app_run it documents, and bad arguments fail
 * before any sampling, leaving nothing allocated. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "gridlora/apps.h"
#include "gridlora/core.h"
#include "gridlora/grid.h"
#include "gridlora/model.h"
#include "gridlora/video.h"
#include "testutil.h"

static const char *const SHOTS[] = {"a star on snow", "a star bouncing", "a star at night"};
#define N_SHOTS 3

/* The tiny preset with weights off their AdaLN-zero start, so every output cell is the
 * model's own work and differs from its neighbours. */
static gl_dit *tiny_model(void) {
    gl_dit_config c;
    char msg[256];
    assert_int_equal(gl_dit_config_preset("tiny", &c), GL_OK);
    gl_dit *m = NULL;
    if (gl_dit_new(&m, &c, msg, sizeof msg)) fail_msg("%s", msg);
    gl_dit_init_weights(m, 3);
    tu_rng r;
    tu_seed(&r, 3);
    float *w = gl_params_data(gl_dit_params(m));
    for (int64_t i = 0; i < gl_params_numel(gl_dit_params(m)); i++) w[i] += (float)(0.05 * tu_normal(&r));
    return m;
}

static void random_video(gl_video *v, const gl_dit_config *c, uint64_t seed) {
    assert_int_equal(gl_video_alloc(v, c->frames, c->cell_h, c->cell_w), GL_OK);
    tu_rng r;
    tu_seed(&r, seed);
    for (int64_t i = 0; i < c->frames * c->cell_h * c->cell_w * 3; i++) v->rgb[i] = (float)tu_uniform(&r);
}

/* Cell `cell` of grid k of a chain of grids (F x 2H x 2W each) equals frames k F ..
 * of `video` (F x H x W each, shot j of it when given), bit for bit. */
static void same_cell(const gl_video *grids, int k, int cell, const float *want, const char *what) {
    const int64_t H = grids->height / 2, W = grids->width / 2, F = grids->frames / N_SHOTS;
    const int64_t y0 = (cell / 2) * H, x0 = (cell % 2) * W;
    for (int64_t f = 0; f < F; f++)
        for (int64_t y = 0; y < H; y++) {
            const float *g = grids->rgb + (((k * F + f) * 2 * H + y0 + y) * 2 * W + x0) * 3;
            const float *v = want + (f * H + y) * W * 3;
            if (memcmp(g, v, (size_t)(W * 3) * sizeof(float)))
                fail_msg("grid %d, cell %d, frame %lld, row %lld: not %s", k, cell, (long long)f, (long long)y, what);
        }
}

/* The chain as documented, anchored and not: grid k's cells against the input, the
 * story's shots and the previous shot; the story's frames the shot cells in order. */
static void story_chain(void **s) {
    (void)s;
    gl_dit *m = tiny_model();
    const gl_dit_config *c = gl_dit_cfg(m);
    const int64_t F = c->frames, shot_n = F * c->cell_h * c->cell_w * 3;
    gl_video in = {0};
    random_video(&in, c, 4);
    gl_sample_opts so = gl_sample_default_opts();
    so.steps = 2;
    char msg[1024];
    for (int anchored = 1; anchored >= 0; anchored--) {
        gl_video story = {0}, grids = {0};
        gl_app_timing tm;
        if (gl_app_story(m, &in, "a red star", SHOTS, N_SHOTS, anchored, &so, &story, &grids, &tm, msg, sizeof msg))
            fail_msg("%s", msg);
        assert_int_equal(story.frames, N_SHOTS * F);
        assert_int_equal(story.height, c->cell_h);
        assert_int_equal(story.width, c->cell_w);
        assert_int_equal(grids.frames, N_SHOTS * F);
        assert_int_equal(grids.height, 2 * c->cell_h);
        assert_int_equal(grids.width, 2 * c->cell_w);
        assert_true(tm.sample > 0 && tm.prepare >= 0);
        for (int k = 0; k < N_SHOTS; k++) {
            const float *shot = story.rgb + k * shot_n, *prev = story.rgb + (k - 1 < 0 ? 0 : k - 1) * shot_n;
            same_cell(&grids, k, GL_STORY_SHOT_CELL, shot, "the story's shot");
            if (k == 0 || anchored) same_cell(&grids, k, 0, in.rgb, "the input");
            if (k > 0) same_cell(&grids, k, anchored ? GL_STORY_PREV_CELL : 0, prev, "the previous shot");
            /* the shot is the model's: values in [0, 1], not a copy of its context */
            for (int64_t i = 0; i < shot_n; i++) assert_true(isfinite(shot[i]) && shot[i] >= 0 && shot[i] <= 1);
            assert_true(memcmp(shot, in.rgb, (size_t)shot_n * sizeof(float)) != 0);
            if (k > 0) assert_true(memcmp(shot, prev, (size_t)shot_n * sizeof(float)) != 0);
        }
        /* grid 1 is the one gl_app_run gives for its layout, inputs and seed + 1 */
        gl_layout l;
        assert_int_equal(anchored ? gl_layout_story_anchored(&l, "a red star", SHOTS, N_SHOTS, 1, msg, sizeof msg)
                                  : gl_layout_story(&l, "a red star", SHOTS, N_SHOTS, 1, msg, sizeof msg),
                         GL_OK);
        gl_video prev = {F, c->cell_h, c->cell_w, story.rgb};
        const gl_video *cells[4] = {anchored ? &in : &prev, NULL, anchored ? &prev : NULL, NULL};
        gl_sample_opts s1 = so;
        s1.seed = so.seed + 1;
        gl_video canvas = {0};
        if (gl_app_run(m, &l, cells, &s1, &canvas, NULL, msg, sizeof msg)) fail_msg("%s", msg);
        assert_memory_equal(canvas.rgb, grids.rgb + 4 * shot_n, (size_t)(4 * shot_n) * sizeof(float));
        gl_video_release(&canvas);
        /* grids may be left out; the story is the same */
        gl_video again = {0};
        if (gl_app_story(m, &in, "a red star", SHOTS, N_SHOTS, anchored, &so, &again, NULL, NULL, msg, sizeof msg))
            fail_msg("%s", msg);
        assert_memory_equal(again.rgb, story.rgb, (size_t)(N_SHOTS * shot_n) * sizeof(float));
        gl_video_release(&again);
        gl_video_release(&story);
        gl_video_release(&grids);
    }
    gl_video_release(&in);
    gl_dit_free(&m);
}

/* Failures: a message, both outputs zeroed, nothing sampled for a bad word anywhere. */
static void story_rejects(void **s) {
    (void)s;
    gl_dit *m = tiny_model();
    const gl_dit_config *c = gl_dit_cfg(m);
    gl_video in = {0}, small = {0}, story = {0}, grids = {0};
    random_video(&in, c, 5);
    assert_int_equal(gl_video_alloc(&small, c->frames, c->cell_h / 2, c->cell_w), GL_OK);
    gl_sample_opts so = gl_sample_default_opts();
    so.steps = 1;
    char msg[1024] = "";
    const char *bad_word[] = {"a star", "a star on snow", "a dragon"};
    const char *empty[] = {"a star", ""};
    const char *marker[] = {"a star", "a <cell2> star"};
    struct {
        const gl_video *input;
        const char *const *shots;
        int n;
        const char *says;
    } cases[] = {
        {&in, SHOTS, 0, "0 shots"},
        {&in, SHOTS, GL_STORY_MAX_SHOTS + 1, "1 to"},
        {&in, NULL, 2, "shot 1 has no prompt"},
        {&in, empty, 2, "shot 2 has no prompt"},
        {NULL, SHOTS, 1, "no input"},
        {&small, SHOTS, 1, "the model's cell"},
        {&in, bad_word, 3, "shot 3: "},
        {&in, marker, 2, "<cell2>"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        story.frames = grids.frames = 99; /* zeroed on failure, whatever they held */
        int rc = gl_app_story(m, cases[i].input, "", cases[i].shots, cases[i].n, 1, &so, &story, &grids, NULL, msg,
                              sizeof msg);
        if (rc != GL_EINVAL) fail_msg("case %zu: rc %d (%s)", i, rc, msg);
        if (!strstr(msg, cases[i].says)) fail_msg("case %zu: '%s' lacks '%s'", i, msg, cases[i].says);
        assert_true(strncmp(msg, "story: ", 7) == 0);
        assert_null(story.rgb);
        assert_null(grids.rgb);
        assert_int_equal(story.frames, 0);
        assert_int_equal(grids.frames, 0);
    }
    assert_non_null(strstr(msg, "marker"));
    gl_video_release(&in);
    gl_video_release(&small);
    gl_dit_free(&m);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(story_chain),
    cmocka_unit_test(story_rejects),
};
TU_MAIN("story", tests)
