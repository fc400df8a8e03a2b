/* tests/test_render.c: the procedural concept domain: determinism (bit-exact, pinned by a
 * checksum), every part in range, each effect present where it should be and absent
 * where it should not, re-stagings and compositions keeping what they must, the held-out
 * split, captions within the vocabulary, concepts through JSON. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "gridlora/core.h"
#include "gridlora/dataset.h"
#include "gridlora/render.h"
#include "gridlora/video.h"
#include "testutil.h"

/* FNV-1a over the bit patterns of the floats (as integers: the same on any endianness) of
 * every variant of concept gl_concept_sample(42, train), 8 frames of 32x32, 4x4 samples,
 * partner gl_concept_sample(43, train). Computed once with this code; a change in the
 * render maths, in the sampling, or a platform that rounds differently changes them. */
#define CHECKSUM_PLAIN 0x507819a9fd63d65dull
#define CHECKSUM_ALL 0x6e4fbda1e7fea8e3ull

static uint64_t fnv_floats(uint64_t h, const float *x, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &x[i], 4);
        for (int b = 0; b < 4; b++) {
            h ^= (u >> (8 * b)) & 0xff;
            h *= 0x100000001b3ull;
        }
    }
    return h;
}

/* The concept as JSON text: equal texts mean equal fields, bit for bit (cJSON prints
 * doubles so that they read back exactly), without comparing struct padding. */
static char *json_text(const gl_concept *c) {
    cJSON *j = gl_concept_to_json(c);
    assert_non_null(j);
    char *t = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    assert_non_null(t);
    return t;
}

static void assert_same_concept(const gl_concept *a, const gl_concept *b) {
    char *ta = json_text(a), *tb = json_text(b);
    if (strcmp(ta, tb)) fail_msg("concepts differ:\n%s\n%s", ta, tb);
    cJSON_free(ta);
    cJSON_free(tb);
}

static int64_t numel(const gl_video *v) { return v->frames * v->height * v->width * 3; }

static void render_ok(const gl_scene *s, const gl_render_opts *o, gl_video *v, float *alpha) {
    memset(v, 0, sizeof *v);
    assert_int_equal(gl_render_scene(s, o, v, alpha), GL_OK);
}

static gl_scene scene_of(const gl_concept *c, unsigned fx) {
    gl_scene s;
    memset(&s, 0, sizeof s);
    s.n_subjects = 1;
    s.subjects[0] = *c;
    s.bg = c->bg;
    s.effects = fx;
    return s;
}

/* A small subject orbiting in the top-left quarter, on a dark solid background, so that
 * effects have room to be absent. */
static gl_concept corner_concept(void) {
    gl_concept c;
    gl_concept_sample(&c, 5, GL_SPLIT_TRAIN);
    c.shape = GL_SHAPE_CIRCLE;
    c.texture = GL_TEX_STRIPES;
    c.n_colours = 2;
    c.colours[0] = GL_YELLOW;
    c.colours[1] = GL_WHITE;
    c.colours[2] = GL_YELLOW;
    c.size = 0.09;
    c.spin = 0.0;
    c.pulse = 0.0;
    c.path.kind = GL_MOTION_ORBIT;
    c.path.x = 0.25;
    c.path.y = 0.3;
    c.path.radius = 0.08;
    c.path.ratio = 1.0;
    c.path.turns = 1.0;
    c.path.phase = 0.1;
    c.bg.kind = GL_BG_GRASS;
    c.bg.style = GL_BGSTYLE_SOLID;
    return c;
}

/* The orbit's centre at frame f, in pixels, from libm (an independent reference). */
static void orbit_px(const gl_concept *c, int64_t f, int64_t F, int64_t S, double *x, double *y) {
    double a = 6.283185307179586 * (c->path.turns * (double)f / (double)F + c->path.phase);
    *x = (c->path.x + c->path.radius * cos(a)) * (double)S;
    *y = (c->path.y + c->path.ratio * c->path.radius * sin(a)) * (double)S;
}

/* Distance in pixels from pixel (x, y)'s centre to the nearest orbit position of any frame. */
static double dist_to_path(const gl_concept *c, int64_t F, int64_t S, int64_t x, int64_t y) {
    double best = 1e9;
    for (int64_t f = 0; f < F; f++) {
        double cx, cy;
        orbit_px(c, f, F, S, &cx, &cy);
        double d = hypot(x + 0.5 - cx, y + 0.5 - cy);
        if (d < best) best = d;
    }
    return best;
}

static double luma(const float *p) { return (p[0] + p[1] + p[2]) / 3.0; }

/* ---- determinism ------------------------------------------------------------------------ */

static void render_is_deterministic(void **st) {
    (void)st;
    gl_concept a, b;
    assert_int_equal(gl_concept_sample(&a, 42, GL_SPLIT_TRAIN), GL_OK);
    assert_int_equal(gl_concept_sample(&b, 43, GL_SPLIT_TRAIN), GL_OK);
    gl_render_opts o = gl_render_default_opts();
    uint64_t h_all = 0xcbf29ce484222325ull, h_plain = 0;
    for (int var = 0; var < GL_VARIANT_COUNT; var++) {
        gl_video v1 = {0}, v2 = {0};
        gl_set_threads(1);
        assert_int_equal(gl_render_variant(&a, &b, var, &o, &v1), GL_OK);
        gl_set_threads(2);
        assert_int_equal(gl_render_variant(&a, &b, var, &o, &v2), GL_OK);
        assert_int_equal(v1.frames, 8);
        assert_int_equal(v1.height, 32);
        assert_int_equal(v1.width, 32);
        assert_memory_equal(v1.rgb, v2.rgb, (size_t)numel(&v1) * sizeof(float));
        if (var == GL_VARIANT_PLAIN) h_plain = fnv_floats(0xcbf29ce484222325ull, v1.rgb, numel(&v1));
        h_all = fnv_floats(h_all, v1.rgb, numel(&v1));
        gl_video_release(&v1);
        gl_video_release(&v2);
    }
    gl_set_threads(0);
    if (h_plain != CHECKSUM_PLAIN || h_all != CHECKSUM_ALL)
        fail_msg("checksums 0x%016llxull (plain), 0x%016llxull (all), expected 0x%016llxull, 0x%016llxull",
                 (unsigned long long)h_plain, (unsigned long long)h_all, (unsigned long long)CHECKSUM_PLAIN,
                 (unsigned long long)CHECKSUM_ALL);
}

static void sample_is_deterministic_and_valid(void **st) {
    (void)st;
    for (uint64_t seed = 0; seed < 300; seed++)
        for (int split = 0; split < 2; split++) {
            gl_concept c1, c2;
            assert_int_equal(gl_concept_sample(&c1, seed, split), GL_OK);
            assert_int_equal(gl_concept_sample(&c2, seed, split), GL_OK);
            assert_same_concept(&c1, &c2);
            char msg[128] = "";
            if (gl_concept_check(&c1, msg, sizeof msg)) fail_msg("seed %llu: %s", (unsigned long long)seed, msg);
            assert_int_equal(gl_concept_split(&c1), split);
            assert_int_equal(c1.seed, seed);
        }
}

/* ---- every part in range --------------------------------------------------------------- */

static void check_range(const gl_video *v, const float *alpha, int64_t n_alpha) {
    for (int64_t i = 0; i < numel(v); i++)
        if (!(v->rgb[i] >= 0.0f && v->rgb[i] <= 1.0f)) fail_msg("pixel value %g at %lld", v->rgb[i], (long long)i);
    for (int64_t i = 0; alpha && i < n_alpha; i++)
        if (!(alpha[i] >= 0.0f && alpha[i] <= 1.0f)) fail_msg("alpha %g at %lld", alpha[i], (long long)i);
}

static void every_part_renders_in_range(void **st) {
    (void)st;
    gl_render_opts o = gl_render_default_opts();
    o.frames = 4;
    o.width = 24;
    o.height = 20; /* not square: lengths follow the shorter side */
    o.supersample = 2;
    int64_t per = o.frames * o.width * o.height;
    float *alpha = tu_falloc(per * 2);
    int n = 0;
    for (int shape = 0; shape < GL_SHAPE_COUNT; shape++)
        for (int tex = 0; tex < GL_TEX_COUNT; tex++) {
            gl_concept c;
            gl_concept_sample(&c, (uint64_t)(100 + n), GL_SPLIT_TRAIN);
            c.shape = (gl_shape)shape;
            c.texture = (gl_texture)tex;
            c.n_colours = 2 + n % 2;
            c.colours[0] = (gl_colour)(n % GL_COLOUR_COUNT);
            c.colours[1] = (gl_colour)((n + 3) % GL_COLOUR_COUNT);
            c.colours[2] = (gl_colour)((n + 6) % GL_COLOUR_COUNT);
            gl_concept_restage(&c, GL_VARIANT_MOTION, &c); /* some other motion */
            c.path.kind = (gl_motion)(n % GL_MOTION_COUNT);
            c.bg.kind = (gl_bg_kind)(n % GL_BG_COUNT);
            c.bg.style = (gl_bg_style)(n % GL_BGSTYLE_COUNT);
            c.spin = n % 3 == 1 ? 0.7 : 0.0;
            c.pulse = n % 3 == 2 ? 0.3 : 0.0;
            c.pulse_cycles = 2;
            c.size = 0.25; /* large enough to be seen whole at 20 pixels */
            assert_int_equal(gl_concept_check(&c, NULL, 0), GL_OK);
            gl_concept b;
            gl_concept_sample(&b, (uint64_t)(900 + n), GL_SPLIT_HELDOUT);
            gl_scene s = scene_of(&c, n % 2 ? GL_FX_ALL : (unsigned)(1 << (n % 5)));
            s.subjects[1] = b;
            s.n_subjects = 2;
            gl_video v;
            render_ok(&s, &o, &v, alpha);
            check_range(&v, alpha, per * 2);
            double cover = 0;
            for (int64_t i = 0; i < per; i++) cover += alpha[i];
            if (cover < 4.0) fail_msg("shape %d texture %d: subject barely visible (%g pixels)", shape, tex, cover);
            gl_video_release(&v);
            n++;
        }
    tu_free(alpha);
}

static void orbit_matches_reference_path(void **st) {
    (void)st; /* the own sin/cos against libm: centroids of a disc on an orbit */
    gl_concept c = corner_concept();
    c.size = 0.15;
    c.path.x = 0.5;
    c.path.y = 0.5;
    c.path.radius = 0.25;
    c.path.ratio = 0.7;
    c.path.turns = -0.85;
    gl_scene s = scene_of(&c, 0);
    gl_render_opts o = gl_render_default_opts();
    o.width = o.height = 64;
    o.frames = 12;
    float *alpha = tu_falloc(o.frames * 64 * 64);
    gl_video v;
    render_ok(&s, &o, &v, alpha);
    for (int64_t f = 0; f < o.frames; f++) {
        double sx = 0, sy = 0, sw = 0, rx, ry;
        for (int64_t y = 0; y < 64; y++)
            for (int64_t x = 0; x < 64; x++) {
                double a = alpha[(f * 64 + y) * 64 + x];
                sx += a * (x + 0.5);
                sy += a * (y + 0.5);
                sw += a;
            }
        orbit_px(&c, f, o.frames, 64, &rx, &ry);
        /* the disc's area: pi (0.15 * 64)^2 = 289.5 pixels */
        assert_true(fabs(sw - 289.5) < 3.0);
        if (hypot(sx / sw - rx, sy / sw - ry) > 0.05)
            fail_msg("frame %lld: centroid (%g, %g), path (%g, %g)", (long long)f, sx / sw, sy / sw, rx, ry);
    }
    gl_video_release(&v);
    tu_free(alpha);
}

/* ---- effects ----------------------------------------------------------------------------- */

typedef struct pair {
    gl_video plain, fx;
    float *alpha;
    int64_t F, S;
} pair;

static void render_pair(pair *p, const gl_concept *c, unsigned fx) {
    gl_render_opts o = gl_render_default_opts();
    p->F = o.frames;
    p->S = o.width;
    p->alpha = tu_falloc(p->F * p->S * p->S);
    gl_scene s0 = scene_of(c, 0), s1 = scene_of(c, fx);
    render_ok(&s0, &o, &p->plain, p->alpha);
    render_ok(&s1, &o, &p->fx, NULL);
}

static void free_pair(pair *p) {
    gl_video_release(&p->plain);
    gl_video_release(&p->fx);
    tu_free(p->alpha);
}

/* Pixels beyond `reach` (shorter-side units) of every position are bit-identical; pixels
 * fully covered by the subject too (effects behind it). Returns how many pixels changed. */
static int64_t check_local(pair *p, const gl_concept *c, double reach, int subject_kept) {
    int64_t changed = 0, far = 0, S = p->S;
    for (int64_t f = 0; f < p->F; f++)
        for (int64_t y = 0; y < S; y++)
            for (int64_t x = 0; x < S; x++) {
                int64_t i = (f * S + y) * S + x;
                int same = !memcmp(&p->plain.rgb[i * 3], &p->fx.rgb[i * 3], 3 * sizeof(float));
                changed += !same;
                /* 0.71: a sample may lie half a pixel diagonal from the centre */
                if (dist_to_path(c, p->F, S, x, y) - 0.71 > reach * (double)S) {
                    far++;
                    if (!same) fail_msg("pixel (%lld, %lld) of frame %lld changed beyond the reach", (long long)x,
                                        (long long)y, (long long)f);
                }
                if (subject_kept && p->alpha[i] == 1.0f && !same)
                    fail_msg("subject pixel (%lld, %lld) of frame %lld changed", (long long)x, (long long)y, (long long)f);
            }
    assert_true(far > p->F * S * S / 4); /* the test has teeth */
    return changed;
}

static void smoke_only_near_path(void **st) {
    (void)st;
    gl_concept c = corner_concept();
    pair p;
    render_pair(&p, &c, GL_FX_SMOKE);
    double reach = gl_effect_reach(&c, GL_FX_SMOKE);
    assert_true(fabs(reach - (2.5 * c.size + 0.15)) < 1e-12);
    int64_t changed = check_local(&p, &c, reach, 1);
    assert_true(changed > 100);
    /* the first frame has no trail yet: only the puff under the subject, so few changes;
     * later frames trail a visible plume (grey over dark grass: brighter) */
    double gain = 0;
    int64_t S = p.S;
    for (int64_t i = (p.F - 1) * S * S; i < p.F * S * S; i++) gain += luma(&p.fx.rgb[i * 3]) - luma(&p.plain.rgb[i * 3]);
    if (!(gain > 3.0)) fail_msg("smoke adds %g (luma summed over the last frame; 5.4 when written)", gain);
    free_pair(&p);
}

static void shadow_only_near_subject(void **st) {
    (void)st;
    gl_concept c = corner_concept();
    pair p;
    render_pair(&p, &c, GL_FX_SHADOW);
    int64_t changed = check_local(&p, &c, gl_effect_reach(&c, GL_FX_SHADOW), 1);
    assert_true(changed > 50);
    for (int64_t i = 0; i < p.F * p.S * p.S; i++) /* a shadow only darkens */
        for (int ch = 0; ch < 3; ch++) assert_true(p.fx.rgb[i * 3 + ch] <= p.plain.rgb[i * 3 + ch] + 1e-6f);
    free_pair(&p);
}

static void night_darkens_scene_keeps_subject(void **st) {
    (void)st;
    for (int k = 0; k < 2; k++) {
        gl_concept c = corner_concept();
        if (k) gl_concept_sample(&c, 77, GL_SPLIT_TRAIN);
        pair p;
        render_pair(&p, &c, GL_FX_NIGHT);
        int64_t N = p.F * p.S * p.S, subj = 0;
        double mp = 0, mf = 0, sp = 0, sf = 0;
        for (int64_t i = 0; i < N; i++) {
            mp += luma(&p.plain.rgb[i * 3]);
            mf += luma(&p.fx.rgb[i * 3]);
            if (p.alpha[i] == 1.0f) {
                subj++;
                sp += luma(&p.plain.rgb[i * 3]);
                sf += luma(&p.fx.rgb[i * 3]);
                assert_memory_equal(&p.plain.rgb[i * 3], &p.fx.rgb[i * 3], 3 * sizeof(float));
            }
        }
        assert_true(subj > 20);
        assert_true(mf < 0.6 * mp);      /* the scene is much darker */
        assert_true(fabs(sf - sp) < 1e-9); /* the subject keeps its brightness */
        free_pair(&p);
    }
}

static void lights_warm_near_subject_and_flicker(void **st) {
    (void)st;
    gl_concept c = corner_concept();
    c.bg.kind = GL_BG_WATER; /* dark: the glow shows as brightness */
    pair p;
    render_pair(&p, &c, GL_FX_LIGHTS);
    double reach = gl_effect_reach(&c, GL_FX_LIGHTS);
    check_local(&p, &c, reach, 0);
    double lo = 1e9, hi = -1e9;
    int64_t S = p.S;
    for (int64_t f = 0; f < p.F; f++) {
        double cx, cy, dr = 0, db = 0, dl = 0;
        int64_t n = 0;
        orbit_px(&c, f, p.F, S, &cx, &cy);
        for (int64_t y = 0; y < S; y++)
            for (int64_t x = 0; x < S; x++) {
                if (hypot(x + 0.5 - cx, y + 0.5 - cy) > 2.0 * c.size * S) continue;
                int64_t i = ((f * S + y) * S + x) * 3;
                dr += p.fx.rgb[i] - p.plain.rgb[i];
                db += p.fx.rgb[i + 2] - p.plain.rgb[i + 2];
                dl += luma(&p.fx.rgb[i]) - luma(&p.plain.rgb[i]);
                n++;
            }
        dr /= n;
        db /= n;
        dl /= n;
        assert_true(dl > 0.02);   /* brighter near the subject */
        assert_true(dr > db + 0.02); /* and warm: red gains more than blue */
        if (dl < lo) lo = dl;
        if (dl > hi) hi = dl;
    }
    assert_true(hi - lo > 0.03); /* it flickers */
    free_pair(&p);
}

static void rain_is_a_fixed_falling_pattern(void **st) {
    (void)st;
    gl_concept c1 = corner_concept(), c2;
    gl_concept_sample(&c2, 1234, GL_SPLIT_TRAIN);
    pair p1, p2;
    render_pair(&p1, &c1, GL_FX_RAIN);
    render_pair(&p2, &c2, GL_FX_RAIN);
    int64_t S = p1.S, N = p1.F * S * S, agree = 0, lit = 0, moved = 0;
    unsigned char *m1 = malloc((size_t)N), *m2 = malloc((size_t)N);
    assert_non_null(m1);
    assert_non_null(m2);
    for (int k = 0; k < 2; k++) {
        pair *p = k ? &p2 : &p1;
        unsigned char *m = k ? m2 : m1;
        for (int64_t i = 0; i < N; i++) {
            double d = 0;
            for (int ch = 0; ch < 3; ch++) {
                double e = fabs((double)p->fx.rgb[i * 3 + ch] - 0.85 * p->plain.rgb[i * 3 + ch]);
                if (e > d) d = e;
            }
            assert_true(d < 1e-5 || d > 2e-3); /* a streak pixel, or the dimmed scene */
            m[i] = d > 2e-3;
        }
    }
    for (int64_t i = 0; i < N; i++) {
        agree += m1[i] == m2[i];
        lit += m1[i];
        if (i < (p1.F - 1) * S * S) moved += m1[i] != m1[i + S * S];
    }
    assert_true(lit > N / 50 && lit < N / 3); /* streaks, not a wash */
    assert_true(agree > N * 99 / 100);         /* the same pattern over any scene */
    assert_true(moved > lit / 4);              /* and it falls */
    free(m1);
    free(m2);
    free_pair(&p1);
    free_pair(&p2);
}

/* ---- variants ------------------------------------------------------------------------------ */

/* Mean colour of fully covered pixels, and the centroid path. */
static void fg_stats(const gl_video *v, const float *alpha, double mean[3], double *cx, double *cy) {
    int64_t S = v->width, F = v->frames, n = 0;
    mean[0] = mean[1] = mean[2] = 0;
    for (int64_t f = 0; f < F; f++) {
        double sx = 0, sy = 0, sw = 0;
        for (int64_t y = 0; y < S; y++)
            for (int64_t x = 0; x < S; x++) {
                int64_t i = (f * S + y) * S + x;
                sx += alpha[i] * x;
                sy += alpha[i] * y;
                sw += alpha[i];
                if (alpha[i] == 1.0f) {
                    for (int ch = 0; ch < 3; ch++) mean[ch] += v->rgb[i * 3 + ch];
                    n++;
                }
            }
        cx[f] = sx / sw;
        cy[f] = sy / sw;
    }
    for (int ch = 0; ch < 3; ch++) mean[ch] /= n;
}

/* gl_concept_scale: k = 1 changes nothing; k = 1.5 grows the subject's area by k^2 in
 * every frame (so nothing of it is cut off by the frame's edge: its path was drawn again),
 * changes nothing else of its appearance, and keeps the concept valid; growing the
 * subject on its old path would cut some off (the test has teeth). */
static void scaled_subject_stays_in_frame(void **st) {
    (void)st;
    gl_render_opts o = gl_render_default_opts();
    o.width = o.height = 64;
    o.frames = 8;
    const int64_t S = 64, F = 8, N = F * S * S;
    const double k = 1.5;
    float *a0 = tu_falloc(N), *a1 = tu_falloc(N), *a2 = tu_falloc(N);
    int cut_on_old_path = 0;
    char msg[256];
    for (uint64_t seed = 0; seed < 120; seed++) {
        gl_concept c, same, big, old_path;
        gl_concept_sample(&c, seed, seed % 2 ? GL_SPLIT_HELDOUT : GL_SPLIT_TRAIN);
        same = big = c;
        assert_int_equal(gl_concept_scale(&same, 1.0), GL_OK);
        assert_same_concept(&same, &c);
        assert_int_equal(gl_concept_scale(&big, k), GL_OK);
        assert_int_equal(gl_concept_check(&big, msg, sizeof msg), GL_OK);
        assert_true(big.size == c.size * k);
        assert_int_equal(big.path.kind, c.path.kind);
        gl_concept back = big;
        back.size = c.size;
        back.path = c.path;
        assert_same_concept(&back, &c); /* only the size and the path changed */
        old_path = c;
        old_path.size = big.size;
        gl_scene s0 = scene_of(&c, 0), s1 = scene_of(&big, 0), s2 = scene_of(&old_path, 0);
        gl_video v0, v1, v2;
        render_ok(&s0, &o, &v0, a0);
        render_ok(&s1, &o, &v1, a1);
        render_ok(&s2, &o, &v2, a2);
        for (int64_t f = 0; f < F; f++) {
            double m0 = 0, m1 = 0, m2 = 0;
            for (int64_t i = f * S * S; i < (f + 1) * S * S; i++) {
                m0 += a0[i];
                m1 += a1[i];
                m2 += a2[i];
            }
            /* measured: within 1% (pixel edges); on the old path, down to 0.86 */
            if (!(m1 > 0.97 * k * k * m0 && m1 < 1.03 * k * k * m0))
                fail_msg("seed %llu, frame %lld: area %g grown to %g", (unsigned long long)seed, (long long)f, m0, m1);
            cut_on_old_path |= m2 < 0.97 * k * k * m0;
        }
        gl_video_release(&v0);
        gl_video_release(&v1);
        gl_video_release(&v2);
    }
    assert_true(cut_on_old_path);
    gl_concept c;
    gl_concept_sample(&c, 7, GL_SPLIT_TRAIN);
    assert_int_equal(gl_concept_scale(&c, 0.0), GL_EINVAL);
    assert_int_equal(gl_concept_scale(&c, NAN), GL_EINVAL);
    assert_int_equal(gl_concept_scale(&c, GL_CONCEPT_MAX_REACH / (c.size * (1.0 + c.pulse)) * 1.001), GL_EINVAL);
    assert_int_equal(gl_concept_scale(NULL, 1.0), GL_EINVAL);
    tu_free(a0);
    tu_free(a1);
    tu_free(a2);
}

static void other_motion_keeps_appearance(void **st) {
    (void)st;
    gl_render_opts o = gl_render_default_opts();
    o.width = o.height = 40;
    o.frames = 8;
    int64_t N = o.frames * 40 * 40;
    float *a0 = tu_falloc(N), *a1 = tu_falloc(N);
    for (uint64_t seed = 0; seed < 5; seed++) {
        gl_concept c, m;
        gl_concept_sample(&c, seed, GL_SPLIT_TRAIN);
        assert_int_equal(gl_concept_restage(&c, GL_VARIANT_MOTION, &m), GL_OK);
        assert_int_not_equal(m.path.kind, c.path.kind);
        gl_concept back = m;
        back.path = c.path;
        assert_same_concept(&back, &c); /* only the path changed */
        gl_scene s0 = scene_of(&c, 0), s1;
        assert_int_equal(gl_scene_from_variant(&s1, &c, NULL, GL_VARIANT_MOTION), GL_OK);
        gl_video v0, v1;
        render_ok(&s0, &o, &v0, a0);
        render_ok(&s1, &o, &v1, a1);
        double m0[3], m1[3], x0[8], y0[8], x1[8], y1[8], moved = 0;
        fg_stats(&v0, a0, m0, x0, y0);
        fg_stats(&v1, a1, m1, x1, y1);
        for (int ch = 0; ch < 3; ch++)
            if (fabs(m0[ch] - m1[ch]) > 0.06)
                fail_msg("seed %llu: foreground colour %g against %g", (unsigned long long)seed, m1[ch], m0[ch]);
        for (int f = 0; f < 8; f++) moved = fmax(moved, hypot(x0[f] - x1[f], y0[f] - y1[f]));
        assert_true(moved > 3.0); /* pixels: another path */
        gl_video_release(&v0);
        gl_video_release(&v1);
    }
    tu_free(a0);
    tu_free(a1);
}

static void other_background_keeps_subject(void **st) {
    (void)st;
    gl_render_opts o = gl_render_default_opts();
    int64_t N = o.frames * o.width * o.height;
    float *a0 = tu_falloc(N), *a1 = tu_falloc(N);
    for (uint64_t seed = 0; seed < 6; seed++) {
        gl_concept c;
        gl_concept_sample(&c, seed, GL_SPLIT_HELDOUT);
        gl_scene s0 = scene_of(&c, 0), s1;
        assert_int_equal(gl_scene_from_variant(&s1, &c, NULL, GL_VARIANT_BACKGROUND), GL_OK);
        assert_int_not_equal(s1.bg.kind, c.bg.kind);
        gl_video v0, v1;
        render_ok(&s0, &o, &v0, a0);
        render_ok(&s1, &o, &v1, a1);
        assert_memory_equal(a0, a1, (size_t)N * sizeof(float)); /* same subject, same place */
        double diff = 0;
        int64_t nbg = 0;
        for (int64_t i = 0; i < N; i++) {
            if (a0[i] == 1.0f) assert_memory_equal(&v0.rgb[i * 3], &v1.rgb[i * 3], 3 * sizeof(float));
            if (a0[i] == 0.0f) {
                for (int ch = 0; ch < 3; ch++) diff += fabs(v0.rgb[i * 3 + ch] - v1.rgb[i * 3 + ch]);
                nbg++;
            }
        }
        assert_true(diff / (3.0 * nbg) > 0.05);
        gl_video_release(&v0);
        gl_video_release(&v1);
    }
    tu_free(a0);
    tu_free(a1);
}

static void composition_contains_both(void **st) {
    (void)st;
    gl_render_opts o = gl_render_default_opts();
    int64_t N = o.frames * o.width * o.height;
    float *aw = tu_falloc(2 * N), *aa = tu_falloc(N), *ab = tu_falloc(N);
    for (uint64_t seed = 0; seed < 6; seed++) {
        gl_concept a, b;
        gl_concept_sample(&a, 2 * seed, GL_SPLIT_TRAIN);
        gl_concept_sample(&b, 2 * seed + 1, GL_SPLIT_TRAIN);
        gl_scene sw, sa = scene_of(&a, 0), sb = scene_of(&b, 0);
        sb.bg = a.bg; /* the composition is on a's background */
        assert_int_equal(gl_scene_from_variant(&sw, &a, &b, GL_VARIANT_WITH), GL_OK);
        assert_int_equal(sw.n_subjects, 2);
        gl_video vw, va, vb;
        render_ok(&sw, &o, &vw, aw);
        render_ok(&sa, &o, &va, aa);
        render_ok(&sb, &o, &vb, ab);
        assert_memory_equal(aw, aa, (size_t)N * sizeof(float)); /* a is in front, whole */
        int64_t full[2] = {0, 0};
        for (int64_t i = 0; i < N; i++)
            for (int k = 0; k < 2; k++)
                if (aw[k * N + i] == 1.0f) {
                    full[k]++;
                    assert_memory_equal(&vw.rgb[i * 3], k ? &vb.rgb[i * 3] : &va.rgb[i * 3], 3 * sizeof(float));
                }
        if (full[0] < 20 || full[1] < 10)
            fail_msg("seed %llu: visible pixels %lld and %lld", (unsigned long long)seed, (long long)full[0],
                     (long long)full[1]);
        gl_video_release(&vw);
        gl_video_release(&va);
        gl_video_release(&vb);
    }
    tu_free(aw);
    tu_free(aa);
    tu_free(ab);
}

/* ---- split and captions ------------------------------------------------------------------- */

static void heldout_never_in_train(void **st) {
    (void)st;
    enum { K = GL_SHAPE_COUNT * GL_TEX_COUNT * GL_COLOUR_COUNT * GL_COLOUR_COUNT };
    static unsigned char seen[2][K];
    memset(seen, 0, sizeof seen);
    for (int split = 0; split < 2; split++)
        for (uint64_t seed = 0; seed < 2000; seed++) {
            gl_concept c;
            gl_concept_sample(&c, seed * 7919 + 13, split);
            int key = ((c.shape * GL_TEX_COUNT + c.texture) * GL_COLOUR_COUNT + c.colours[0]) * GL_COLOUR_COUNT +
                      c.colours[1];
            seen[split][key] = 1;
        }
    int both = 0, held = 0, combos = 0, n_train = 0, n_held = 0;
    for (int k = 0; k < K; k++) {
        both += seen[0][k] && seen[1][k];
        n_train += seen[0][k];
        n_held += seen[1][k];
    }
    assert_int_equal(both, 0);
    assert_true(n_held > 100 && n_train > 1000); /* the samples cover the space */
    for (int s = 0; s < GL_SHAPE_COUNT; s++)
        for (int t = 0; t < GL_TEX_COUNT; t++)
            for (int c0 = 0; c0 < GL_COLOUR_COUNT; c0++)
                for (int c1 = 0; c1 < GL_COLOUR_COUNT; c1++) {
                    if (c0 == c1) continue;
                    gl_concept c;
                    memset(&c, 0, sizeof c);
                    c.shape = (gl_shape)s;
                    c.texture = (gl_texture)t;
                    c.colours[0] = (gl_colour)c0;
                    c.colours[1] = (gl_colour)c1;
                    held += gl_concept_split(&c) == GL_SPLIT_HELDOUT;
                    combos++;
                }
    double frac = (double)held / combos;
    if (frac < 0.10 || frac > 0.15) fail_msg("held-out fraction %g", frac);
}

static int in_vocab(const char *w) {
    const char *const *words;
    int n = gl_caption_vocab(&words);
    for (int i = 0; i < n; i++)
        if (!strcmp(w, words[i])) return 1;
    return 0;
}

static int is_token(const char *w) {
    if (strncmp(w, "<c", 2)) return 0;
    const char *p = w + 2;
    if (!*p) return 0;
    while (*p >= '0' && *p <= '9') p++;
    return p[0] == '>' && p[1] == '\0' && p > w + 2;
}

static void check_words(const char *cap, int tokens_allowed) {
    char buf[GL_CAPTION_MAX];
    snprintf(buf, sizeof buf, "%s", cap);
    int n = 0;
    for (char *w = strtok(buf, " "); w; w = strtok(NULL, " "), n++)
        if (!in_vocab(w) && !(tokens_allowed && is_token(w))) fail_msg("'%s' in \"%s\"", w, cap);
    assert_true(n >= 5);
}

static void captions_use_only_vocabulary(void **st) {
    (void)st;
    char cap[GL_CAPTION_MAX], prompt[GL_CAPTION_MAX];
    for (uint64_t seed = 0; seed < 300; seed++) {
        gl_concept a, b;
        gl_concept_sample(&a, seed, (int)(seed % 2));
        gl_concept_sample(&b, seed + 1000, (int)(seed % 2));
        int64_t tok[2] = {(int64_t)seed, (int64_t)seed + 1};
        for (int var = 0; var < GL_VARIANT_COUNT; var++) {
            assert_int_equal(gl_variant_caption(&a, &b, var, NULL, cap, sizeof cap), GL_OK);
            assert_int_equal(gl_variant_caption(&a, &b, var, tok, prompt, sizeof prompt), GL_OK);
            check_words(cap, 0);
            check_words(prompt, 1);
            assert_non_null(strstr(cap, gl_colour_name(a.colours[0])));
            assert_non_null(strstr(cap, gl_shape_name(a.shape)));
            assert_non_null(strstr(cap, gl_texture_word(a.texture)));
            char want[32];
            snprintf(want, sizeof want, "<c%llu>", (unsigned long long)seed);
            assert_non_null(strstr(prompt, want));
        }
    }
    /* the brief's forms */
    gl_concept c = corner_concept();
    c.colours[0] = GL_RED;
    c.texture = GL_TEX_STRIPES;
    c.shape = GL_SHAPE_STAR;
    c.bg.kind = GL_BG_SAND;
    gl_concept d = c;
    d.colours[0] = GL_BLUE;
    d.colours[1] = GL_WHITE;
    d.texture = GL_TEX_SPOTS;
    d.shape = GL_SHAPE_RING;
    assert_int_equal(gl_variant_caption(&c, NULL, GL_VARIANT_PLAIN, NULL, cap, sizeof cap), GL_OK);
    assert_string_equal(cap, "a red striped star orbiting on sand");
    assert_int_equal(gl_variant_caption(&c, NULL, GL_VARIANT_SMOKE, NULL, cap, sizeof cap), GL_OK);
    assert_string_equal(cap, "a red striped star orbiting on sand with smoke");
    assert_int_equal(gl_variant_caption(&c, NULL, GL_VARIANT_NIGHT, NULL, cap, sizeof cap), GL_OK);
    assert_string_equal(cap, "a red striped star orbiting on sand at night");
    int64_t tok[2] = {3, 12};
    assert_int_equal(gl_variant_caption(&c, &d, GL_VARIANT_WITH, tok, cap, sizeof cap), GL_OK);
    assert_string_equal(cap, "a <c3> red striped star and a <c12> blue spotted ring on sand");
    c.colours[0] = GL_ORANGE;
    c.spin = 0.5;
    gl_scene s = scene_of(&c, GL_FX_ALL);
    assert_int_equal(gl_scene_caption(&s, NULL, cap, sizeof cap), GL_OK);
    assert_string_equal(cap, "a spinning orange striped star orbiting on sand with smoke with lights with a shadow "
                             "in the rain at night");
    c.spin = 0;
    s = scene_of(&c, 0);
    assert_int_equal(gl_scene_caption(&s, NULL, cap, sizeof cap), GL_OK);
    assert_string_equal(cap, "an orange striped star orbiting on sand");
    assert_int_equal(gl_scene_caption(&s, NULL, cap, 10), GL_EINVAL); /* does not fit */
    assert_string_equal(cap, "");
    /* every vocabulary word is distinct and a phrase word */
    const char *const *words;
    int n = gl_caption_vocab(&words);
    assert_true(n > 40);
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++) assert_string_not_equal(words[i], words[j]);
}

/* A pair's caption built from the two concepts' own captions is the renderer's caption
 * of the pair (what `gridlora compose` prompts its bottom cells with by default). */
static void pair_caption_from_captions(void **st) {
    (void)st;
    char ca[GL_CAPTION_MAX], cb[GL_CAPTION_MAX], want[GL_CAPTION_MAX], got[GL_CAPTION_MAX];
    for (uint64_t seed = 0; seed < 300; seed++) {
        gl_concept a, b;
        gl_concept_sample(&a, seed, (int)(seed % 2));
        gl_concept_sample(&b, seed + 1000, (int)((seed / 2) % 2));
        int64_t tok[2] = {(int64_t)seed, (int64_t)seed + 1};
        for (int with_tok = 0; with_tok < 2; with_tok++) {
            const int64_t *t = with_tok ? tok : NULL;
            assert_int_equal(gl_variant_caption(&a, NULL, GL_VARIANT_PLAIN, t, ca, sizeof ca), GL_OK);
            assert_int_equal(gl_variant_caption(&b, NULL, GL_VARIANT_PLAIN, t ? t + 1 : NULL, cb, sizeof cb), GL_OK);
            assert_int_equal(gl_variant_caption(&a, &b, GL_VARIANT_WITH, t, want, sizeof want), GL_OK);
            assert_int_equal(gl_caption_pair(ca, cb, got, sizeof got), GL_OK);
            assert_string_equal(got, want);
        }
    }
    /* A's effects stay with its scene; B's scene goes */
    assert_int_equal(gl_caption_pair("a red striped star orbiting on sand with smoke at night",
                                     "an orange spotted ring drifting in the sky in the rain", got, sizeof got),
                     GL_OK);
    assert_string_equal(got, "a red striped star and an orange spotted ring on sand with smoke at night");
    const char *bad[] = {"", "a", "a red star", "a red star orbiting", "a red star orbiting on mars",
                         "a red star orbiting on sandy", "red star orbiting on sand", "a red star on sand",
                         "a red star and a blue ring on sand", "a red star orbitting on sand"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(gl_caption_pair(bad[i], "a blue ring drifting on snow", got, sizeof got), GL_EINVAL);
        assert_string_equal(got, "");
        assert_int_equal(gl_caption_pair("a blue ring drifting on snow", bad[i], got, sizeof got), GL_EINVAL);
    }
    assert_int_equal(gl_caption_pair(NULL, "a blue ring drifting on snow", got, sizeof got), GL_EINVAL);
    assert_int_equal(gl_caption_pair("a red star orbiting on sand", "a blue ring drifting on snow", got, 20),
                     GL_EINVAL); /* does not fit */
    assert_string_equal(got, "");
}

/* ---- JSON and bad input ---------------------------------------------------------------------- */

static void concept_json_round_trip(void **st) {
    (void)st;
    gl_render_opts o = gl_render_default_opts();
    o.frames = 3;
    o.width = o.height = 16;
    for (uint64_t seed = 0; seed < 20; seed++) {
        gl_concept c, back;
        gl_concept_sample(&c, seed * 0x9E3779B97F4A7C15ull, (int)(seed % 2)); /* 64-bit seeds */
        cJSON *j = gl_concept_to_json(&c);
        assert_non_null(j);
        char *text = cJSON_PrintUnformatted(j);
        cJSON *parsed = cJSON_Parse(text);
        char msg[256] = "";
        if (gl_concept_from_json(parsed, &back, msg, sizeof msg)) fail_msg("seed %llu: %s", (unsigned long long)seed, msg);
        assert_same_concept(&c, &back);
        assert_int_equal(c.seed, back.seed);
        gl_video v1 = {0}, v2 = {0};
        assert_int_equal(gl_render_concept(&c, &o, &v1), GL_OK);
        assert_int_equal(gl_render_concept(&back, &o, &v2), GL_OK);
        assert_memory_equal(v1.rgb, v2.rgb, (size_t)numel(&v1) * sizeof(float));
        gl_video_release(&v1);
        gl_video_release(&v2);
        cJSON_Delete(parsed);
        cJSON_free(text);
        cJSON_Delete(j);
    }
    /* damaged fields are named */
    gl_concept c, back;
    gl_concept_sample(&c, 1, GL_SPLIT_TRAIN);
    const char *bad[][2] = {{"shape", "\"hexagon\""}, {"size", "\"big\""}, {"size", "7"},
                            {"colours", "[\"red\"]"}, {"colours", "[\"red\",\"red\"]"}, {"seed", "-3"},
                            {"path", "{}"}, {"pulse_cycles", "1.5"}};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        cJSON *j = gl_concept_to_json(&c);
        cJSON_ReplaceItemInObjectCaseSensitive(j, bad[k][0], cJSON_Parse(bad[k][1]));
        char msg[256] = "";
        assert_int_equal(gl_concept_from_json(j, &back, msg, sizeof msg), GL_EFORMAT);
        assert_non_null(strstr(msg, bad[k][0]));
        cJSON_Delete(j);
    }
    assert_int_equal(gl_concept_from_json(NULL, &back, NULL, 0), GL_EFORMAT);
}

static void rejects_bad_input(void **st) {
    (void)st;
    gl_concept c, out;
    gl_render_opts o = gl_render_default_opts();
    gl_video v = {0};
    assert_int_equal(gl_concept_sample(&c, 1, 2), GL_EINVAL);
    assert_int_equal(gl_concept_sample(&c, 1, GL_SPLIT_TRAIN), GL_OK);
    assert_int_equal(gl_render_variant(&c, NULL, GL_VARIANT_WITH, &o, &v), GL_EINVAL);
    assert_int_equal(gl_render_variant(&c, NULL, GL_VARIANT_COUNT, &o, &v), GL_EINVAL);
    assert_int_equal(gl_concept_restage(&c, -1, &out), GL_EINVAL);
    assert_null(v.rgb);
    const int64_t bad_opts[][4] = {{0, 32, 32, 4}, {8, 0, 32, 4}, {8, 32, 5000, 4}, {8, 32, 32, 0}, {8, 32, 32, 17},
                                   {4096, 4096, 4096, 1}};
    for (size_t k = 0; k < sizeof bad_opts / sizeof bad_opts[0]; k++) {
        gl_render_opts b = {bad_opts[k][0], bad_opts[k][1], bad_opts[k][2], (int)bad_opts[k][3]};
        assert_int_equal(gl_render_concept(&c, &b, &v), GL_EINVAL);
    }
    gl_concept bad = c;
    bad.size = NAN;
    char msg[128] = "";
    assert_int_equal(gl_concept_check(&bad, msg, sizeof msg), GL_EINVAL);
    assert_non_null(strstr(msg, "size"));
    assert_int_equal(gl_render_concept(&bad, &o, &v), GL_EINVAL);
    bad = c;
    bad.shape = (gl_shape)99;
    assert_int_equal(gl_render_concept(&bad, &o, &v), GL_EINVAL);
    assert_int_equal(gl_concept_split(&bad), -1);
    bad = c;
    bad.colours[1] = bad.colours[0];
    assert_int_equal(gl_render_concept(&bad, &o, &v), GL_EINVAL);
    gl_scene s = scene_of(&c, 1u << 7);
    assert_int_equal(gl_render_scene(&s, &o, &v, NULL), GL_EINVAL);
    s = scene_of(&c, 0);
    s.n_subjects = GL_SCENE_MAX + 1;
    assert_int_equal(gl_render_scene(&s, &o, &v, NULL), GL_EINVAL);
    assert_null(v.rgb);
    assert_int_equal(gl_variant_from_name("smoke"), GL_VARIANT_SMOKE);
    assert_int_equal(gl_variant_from_name("fog"), GL_EINVAL);
    assert_null(gl_shape_name(GL_SHAPE_COUNT));
    assert_null(gl_effect_name(GL_FX_SMOKE | GL_FX_RAIN));
    assert_string_equal(gl_effect_phrase(GL_FX_NIGHT), "at night");
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(render_is_deterministic),
    cmocka_unit_test(sample_is_deterministic_and_valid),
    cmocka_unit_test(every_part_renders_in_range),
    cmocka_unit_test(orbit_matches_reference_path),
    cmocka_unit_test(smoke_only_near_path),
    cmocka_unit_test(shadow_only_near_subject),
    cmocka_unit_test(night_darkens_scene_keeps_subject),
    cmocka_unit_test(lights_warm_near_subject_and_flicker),
    cmocka_unit_test(rain_is_a_fixed_falling_pattern),
    cmocka_unit_test(scaled_subject_stays_in_frame),
    cmocka_unit_test(other_motion_keeps_appearance),
    cmocka_unit_test(other_background_keeps_subject),
    cmocka_unit_test(composition_contains_both),
    cmocka_unit_test(heldout_never_in_train),
    cmocka_unit_test(captions_use_only_vocabulary),
    cmocka_unit_test(pair_caption_from_captions),
    cmocka_unit_test(concept_json_round_trip),
    cmocka_unit_test(rejects_bad_input),
};

TU_MAIN("render", tests)
