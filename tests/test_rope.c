/* tests/test_rope.c: 3D rotary embedding against a double reference that computes its
 * own angles, finite differences, and the properties RoPE exists for (norms kept, dot
 * products depending only on position differences). */
#include <math.h>
#include <string.h>

#include "gridlora/core.h"
#include "gridlora/nn.h"
#include "testutil.h"

typedef struct rope_ctx {
    int64_t B, T, H, D;
    int64_t split[3];
    const int32_t *pos; /* [T,3] */
    double theta;
} rope_ctx;

/* Angle of pair i of a head at token t, from the definition in nn.h: the axis whose
 * part holds the pair, its index j there, frequency theta^(-2j/d) written as
 * exp(-(2j/d) ln theta) so it is not the same expression as src/nn/rope.c's pow. */
static double ref_angle(const rope_ctx *c, int64_t t, int64_t i) {
    int64_t start = 0; /* first pair of the axis part */
    for (int a = 0; a < 3; a++) {
        int64_t npairs = c->split[a] / 2;
        if (i < start + npairs) {
            double j = (double)(i - start), d = (double)c->split[a];
            return (double)c->pos[t * 3 + a] * exp(-(2.0 * j / d) * log(c->theta));
        }
        start += npairs;
    }
    fail_msg("pair %lld outside the split", (long long)i);
    return 0;
}

/* in[0] = x [B,T,H,D]; out = rotated x */
static void ref_rope(void *vctx, double *const *in, double *out) {
    const rope_ctx *c = vctx;
    for (int64_t b = 0; b < c->B; b++)
        for (int64_t t = 0; t < c->T; t++)
            for (int64_t h = 0; h < c->H; h++) {
                int64_t base = ((b * c->T + t) * c->H + h) * c->D;
                for (int64_t i = 0; i < c->D / 2; i++) {
                    double ang = ref_angle(c, t, i);
                    double x0 = in[0][base + 2 * i], x1 = in[0][base + 2 * i + 1];
                    out[base + 2 * i] = x0 * cos(ang) - x1 * sin(ang);
                    out[base + 2 * i + 1] = x0 * sin(ang) + x1 * cos(ang);
                }
            }
}

static int32_t *random_pos(tu_rng *r, int64_t T, int32_t maxpos) {
    int32_t *pos = test_calloc((size_t)(T ? T * 3 : 1), sizeof(int32_t));
    assert_non_null(pos);
    for (int64_t i = 0; i < T * 3; i++) pos[i] = (int32_t)tu_int(r, maxpos);
    return pos;
}

/* Tables, forward (out of place and in place), backward, with the current threads. */
static void run_rope(const rope_ctx *c, const float *x, const float *g, float *ct, float *st,
                     float *y, float *yin, float *dx) {
    int64_t n = c->B * c->T * c->H * c->D;
    gl_rope_tables(ct, st, c->pos, c->T, c->D, c->split, (float)c->theta);
    gl_rope_forward(y, x, ct, st, c->B, c->T, c->H, c->D);
    memcpy(yin, x, (size_t)n * sizeof(float));
    gl_rope_forward(yin, yin, ct, st, c->B, c->T, c->H, c->D);
    memset(dx, 0, (size_t)n * sizeof(float));
    gl_rope_backward(dx, g, ct, st, c->B, c->T, c->H, c->D);
}

static void check_rope(int64_t B, int64_t T, int64_t H, int64_t D, const int64_t *split,
                       double theta, int32_t maxpos, uint64_t seed) {
    rope_ctx c = {B, T, H, D, {0, 0, 0}, NULL, theta};
    if (split) memcpy(c.split, split, sizeof(c.split));
    else gl_rope_default_split(D, c.split);
    tu_rng r;
    tu_seed(&r, seed);
    int32_t *pos = random_pos(&r, T, maxpos);
    c.pos = pos;
    int64_t n = B * T * H * D, nt = T * D / 2;
    float *x = tu_falloc(n), *g = tu_falloc(n), *y = tu_falloc(n), *yin = tu_falloc(n),
          *dx = tu_falloc(n), *ct = tu_falloc(nt), *st = tu_falloc(nt);
    tu_fill(&r, x, n, 1.0);
    tu_fill(&r, g, n, 1.0);

    gl_set_threads(1);
    run_rope(&c, x, g, ct, st, y, yin, dx);

    double *in[1] = {tu_to_double(x, n)};
    double *G = tu_to_double(g, n), *yref = tu_dalloc(n), *num = tu_dalloc(n);
    ref_rope(&c, in, yref);
    tu_check("rope forward", y, yref, n, TU_TOL);
    for (int64_t i = 0; i < n; i++) assert_true(yin[i] == y[i]); /* in place: same floats */
    tu_numgrad(ref_rope, &c, in, 0, n, n, G, TU_EPS, num);
    tu_check("rope dinp", dx, num, n, TU_TOL);

    float *ct2 = tu_falloc(nt), *st2 = tu_falloc(nt), *y2 = tu_falloc(n), *yin2 = tu_falloc(n),
          *dx2 = tu_falloc(n);
    gl_set_threads(2);
    run_rope(&c, x, g, ct2, st2, y2, yin2, dx2);
    tu_check_ff("rope cos, 2 threads", ct2, ct, nt, TU_TOL_THREADS);
    tu_check_ff("rope sin, 2 threads", st2, st, nt, TU_TOL_THREADS);
    tu_check_ff("rope forward, 2 threads", y2, y, n, TU_TOL_THREADS);
    tu_check_ff("rope in place, 2 threads", yin2, y, n, TU_TOL_THREADS);
    tu_check_ff("rope dinp, 2 threads", dx2, dx, n, TU_TOL_THREADS);

    tu_free(in[0]); tu_free(G); tu_free(yref); tu_free(num);
    tu_free(x); tu_free(g); tu_free(y); tu_free(yin); tu_free(dx); tu_free(ct); tu_free(st);
    tu_free(ct2); tu_free(st2); tu_free(y2); tu_free(yin2); tu_free(dx2);
    test_free(pos);
}

static void rope_default_split(void **s) {
    (void)s;
    static const int64_t cases[][4] = {
        /* D, frames, rows, columns */
        {48, 16, 16, 16}, {64, 24, 20, 20}, {2, 2, 0, 0}, {0, 0, 0, 0},
        {12, 4, 4, 4},    {128, 44, 42, 42}, {6, 2, 2, 2}, {8, 4, 2, 2},
    };
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        int64_t sp[3] = {-1, -1, -1};
        gl_rope_default_split(cases[k][0], sp);
        assert_int_equal(sp[0], cases[k][1]);
        assert_int_equal(sp[1], cases[k][2]);
        assert_int_equal(sp[2], cases[k][3]);
    }
}

/* Tables against the reference angles. The entries are doubles rounded to float once,
 * so they may differ by half a float ulp of 1 (6e-8); 1e-6 is the bound, tighter than
 * TU_TOL because no arithmetic happens in float. */
static void rope_tables(void **s) {
    (void)s;
    /* Literal case: with two pairs per axis, the first pair of each axis turns by the
     * position itself (frequency theta^0 = 1), the second by pos / theta^(1/2). */
    {
        int32_t pos[3] = {1, 2, 3};
        int64_t split[3] = {4, 4, 4};
        float ct[6], st[6];
        gl_rope_tables(ct, st, pos, 1, 12, split, 100.0f);
        const double want[6] = {1.0, 0.1, 2.0, 0.2, 3.0, 0.3};
        for (int i = 0; i < 6; i++) {
            assert_float_equal(ct[i], cos(want[i]), 1e-7);
            assert_float_equal(st[i], sin(want[i]), 1e-7);
        }
    }
    static const struct { int64_t T, D, split[3]; double theta; int32_t maxpos; } cases[] = {
        {5, 48, {16, 16, 16}, 10000.0, 40},
        {3, 64, {24, 20, 20}, 10000.0, 1000}, /* large positions: angles in the hundreds */
        {7, 10, {2, 6, 2}, 500.0, 9},
        {4, 12, {0, 6, 6}, 10000.0, 17},      /* an empty axis part */
        {1, 2, {2, 0, 0}, 10000.0, 5},
    };
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        tu_rng r;
        tu_seed(&r, 100 + k);
        rope_ctx c = {1, cases[k].T, 1, cases[k].D, {cases[k].split[0], cases[k].split[1],
                      cases[k].split[2]}, NULL, cases[k].theta};
        int32_t *pos = random_pos(&r, c.T, cases[k].maxpos);
        c.pos = pos;
        int64_t nt = c.T * c.D / 2;
        float *ct = tu_falloc(nt), *st = tu_falloc(nt);
        double *wc = tu_dalloc(nt), *ws = tu_dalloc(nt);
        for (int64_t t = 0; t < c.T; t++)
            for (int64_t i = 0; i < c.D / 2; i++) {
                double ang = ref_angle(&c, t, i);
                wc[t * c.D / 2 + i] = cos(ang);
                ws[t * c.D / 2 + i] = sin(ang);
            }
        gl_rope_tables(ct, st, pos, c.T, c.D, c.split, (float)c.theta);
        tu_check("rope cos table", ct, wc, nt, 1e-6);
        tu_check("rope sin table", st, ws, nt, 1e-6);
        tu_free(ct); tu_free(st); tu_free(wc); tu_free(ws);
        test_free(pos);
    }
}

static void rope_forward_backward(void **s) {
    (void)s;
    check_rope(2, 5, 3, 12, NULL, 10000.0, 16, 1);
    check_rope(1, 1, 1, 2, NULL, 10000.0, 8, 2);       /* one pair, frames only */
    check_rope(1, 7, 1, 16, NULL, 10000.0, 30, 3);     /* B=1, H=1, odd T */
    check_rope(2, 3, 2, 64, NULL, 10000.0, 100, 4);
    const int64_t uneven[3] = {2, 6, 2};
    check_rope(3, 5, 2, 10, uneven, 500.0, 12, 5);
    const int64_t no_frames[3] = {0, 4, 4};
    check_rope(2, 9, 1, 8, no_frames, 10000.0, 20, 6);
}

/* A rotation keeps each pair's length, hence each head's norm. */
static void rope_preserves_norm(void **s) {
    (void)s;
    enum { B = 2, T = 6, H = 3, D = 24 };
    tu_rng r;
    tu_seed(&r, 11);
    int32_t *pos = random_pos(&r, T, 50);
    int64_t split[3];
    gl_rope_default_split(D, split);
    float *x = tu_falloc(B * T * H * D), *y = tu_falloc(B * T * H * D);
    float *ct = tu_falloc(T * D / 2), *st = tu_falloc(T * D / 2);
    tu_fill(&r, x, B * T * H * D, 1.0);
    gl_rope_tables(ct, st, pos, T, D, split, 10000.0f);
    gl_rope_forward(y, x, ct, st, B, T, H, D);
    for (int64_t row = 0; row < B * T * H; row++) {
        double nx = 0, ny = 0;
        for (int64_t i = 0; i < D; i++) {
            nx += (double)x[row * D + i] * x[row * D + i];
            ny += (double)y[row * D + i] * y[row * D + i];
        }
        assert_true(fabs(sqrt(ny) - sqrt(nx)) <= 1e-6 * sqrt(nx));
    }
    tu_free(x); tu_free(y); tu_free(ct); tu_free(st);
    test_free(pos);
}

/* q.k after RoPE depends only on the difference of the two tokens' positions: moving
 * every token by the same (frame, row, column) offset leaves all the dot products. */
static void rope_relative(void **s) {
    (void)s;
    enum { T = 7, H = 2, D = 48 };
    tu_rng r;
    tu_seed(&r, 12);
    int32_t *pos = random_pos(&r, T, 20);
    int32_t *shifted = test_calloc(T * 3, sizeof(int32_t));
    assert_non_null(shifted);
    for (int64_t t = 0; t < T; t++) {
        shifted[t * 3 + 0] = pos[t * 3 + 0] + 5;
        shifted[t * 3 + 1] = pos[t * 3 + 1] + 13;
        shifted[t * 3 + 2] = pos[t * 3 + 2] + 2;
    }
    int64_t split[3];
    gl_rope_default_split(D, split);
    int64_t n = T * H * D;
    float *q = tu_falloc(n), *k = tu_falloc(n), *ct = tu_falloc(T * D / 2),
          *st = tu_falloc(T * D / 2);
    float *q1 = tu_falloc(n), *k1 = tu_falloc(n), *q2 = tu_falloc(n), *k2 = tu_falloc(n);
    tu_fill(&r, q, n, 1.0);
    tu_fill(&r, k, n, 1.0);
    gl_rope_tables(ct, st, pos, T, D, split, 10000.0f);
    gl_rope_forward(q1, q, ct, st, 1, T, H, D);
    gl_rope_forward(k1, k, ct, st, 1, T, H, D);
    gl_rope_tables(ct, st, shifted, T, D, split, 10000.0f);
    gl_rope_forward(q2, q, ct, st, 1, T, H, D);
    gl_rope_forward(k2, k, ct, st, 1, T, H, D);

    double *d1 = tu_dalloc(T * T * H), *d2 = tu_dalloc(T * T * H);
    double maxd = 0;
    for (int64_t h = 0; h < H; h++)
        for (int64_t i = 0; i < T; i++)
            for (int64_t j = 0; j < T; j++) {
                double a = 0, b = 0;
                for (int64_t e = 0; e < D; e++) {
                    a += (double)q1[(i * H + h) * D + e] * k1[(j * H + h) * D + e];
                    b += (double)q2[(i * H + h) * D + e] * k2[(j * H + h) * D + e];
                }
                d1[(h * T + i) * T + j] = a;
                d2[(h * T + i) * T + j] = b;
                if (fabs(a) > maxd) maxd = fabs(a);
            }
    /* The rotations are not the identity, so the check has teeth: the raw dot products
     * differ from the rotated ones by far more than the tolerance. */
    double moved = 0;
    for (int64_t h = 0; h < H; h++)
        for (int64_t i = 0; i < T; i++)
            for (int64_t j = 0; j < T; j++) {
                double raw = 0;
                for (int64_t e = 0; e < D; e++)
                    raw += (double)q[(i * H + h) * D + e] * k[(j * H + h) * D + e];
                double diff = fabs(raw - d1[(h * T + i) * T + j]);
                if (diff > moved) moved = diff;
            }
    assert_true(moved > 1e-2 * maxd);
    for (int64_t e = 0; e < T * T * H; e++) assert_true(fabs(d1[e] - d2[e]) <= 1e-5 * maxd);

    tu_free(q); tu_free(k); tu_free(ct); tu_free(st);
    tu_free(q1); tu_free(k1); tu_free(q2); tu_free(k2); tu_free(d1); tu_free(d2);
    test_free(pos); test_free(shifted);
}

/* Backward adds to what dinp holds. */
static void rope_accumulates(void **s) {
    (void)s;
    enum { B = 2, T = 3, H = 2, D = 12 };
    int64_t n = B * T * H * D;
    tu_rng r;
    tu_seed(&r, 13);
    int32_t *pos = random_pos(&r, T, 10);
    int64_t split[3];
    gl_rope_default_split(D, split);
    float g[B * T * H * D], dx1[B * T * H * D] = {0}, dx2[B * T * H * D], ct[T * D / 2],
          st[T * D / 2];
    tu_fill(&r, g, n, 1.0);
    gl_rope_tables(ct, st, pos, T, D, split, 10000.0f);
    gl_rope_backward(dx1, g, ct, st, B, T, H, D);
    for (int64_t i = 0; i < n; i++) dx2[i] = 1.5f;
    gl_rope_backward(dx2, g, ct, st, B, T, H, D);
    for (int64_t i = 0; i < n; i++) assert_float_equal(dx2[i], dx1[i] + 1.5f, 1e-5);
    test_free(pos);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(rope_default_split),
    cmocka_unit_test(rope_tables),
    cmocka_unit_test(rope_forward_backward),
    cmocka_unit_test(rope_preserves_norm),
    cmocka_unit_test(rope_relative),
    cmocka_unit_test(rope_accumulates),
};
TU_MAIN("rope", tests)
