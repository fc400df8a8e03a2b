/* tests/test_modulate.c: AdaLN modulation and the gated residual against double
 * references and finite differences, with shift/scale/gate as slices of a wider
 * modulation tensor, per token or shared by tokens through a row map (the model's row
 * per distinct timestep), and 1 against 2 threads (the pattern of tests/test_linear.c). */
#include <string.h>

#include "gridlora/core.h"
#include "gridlora/nn.h"
#include "testutil.h"

/* The modulation tensor mod [U, mstride]; the slices start at these column offsets.
 * Token n reads row rows[n] (rows NULL: row n, and U = N). */
typedef struct mod_ctx {
    int64_t N, C, mstride;
    int64_t off_a, off_b; /* modulate: shift, scale; gated residual: gate, unused */
    int64_t U;
    const int32_t *rows;
} mod_ctx;

static int64_t row(const mod_ctx *c, int64_t n) { return c->rows ? c->rows[n] : n; }

/* in[0] = x [N,C], in[1] = mod [U,mstride]; out = x (1 + scale) + shift. */
static void ref_modulate(void *vctx, double *const *in, double *out) {
    const mod_ctx *c = vctx;
    for (int64_t n = 0; n < c->N; n++)
        for (int64_t i = 0; i < c->C; i++) {
            const double *m = in[1] + row(c, n) * c->mstride;
            out[n * c->C + i] = in[0][n * c->C + i] * (1.0 + m[c->off_b + i]) + m[c->off_a + i];
        }
}

/* in[0] = res [N,C], in[1] = y [N,C], in[2] = mod [U,mstride]; out = res + gate y. */
static void ref_gated(void *vctx, double *const *in, double *out) {
    const mod_ctx *c = vctx;
    for (int64_t n = 0; n < c->N; n++)
        for (int64_t i = 0; i < c->C; i++) {
            int64_t k = n * c->C + i;
            out[k] = in[0][k] + in[2][row(c, n) * c->mstride + c->off_a + i] * in[1][k];
        }
}

enum { WANT_A = 1, WANT_B = 2, WANT_C = 4, WANT_ALL = 7 };

/* ---- modulate -------------------------------------------------------------------- */

/* want: WANT_A dx, WANT_B dshift, WANT_C dscale (the others passed as NULL). */
static void run_modulate(const mod_ctx *c, int want, const float *x, const float *mod,
                         const float *g, float *y, float *dx, float *dmod) {
    gl_modulate_forward(y, x, mod + c->off_a, mod + c->off_b, c->rows, c->N, c->C, c->mstride);
    memset(dx, 0, (size_t)(c->N * c->C) * sizeof(float));
    memset(dmod, 0, (size_t)(c->U * c->mstride) * sizeof(float));
    gl_modulate_backward(want & WANT_A ? dx : NULL, want & WANT_B ? dmod + c->off_a : NULL,
                         want & WANT_C ? dmod + c->off_b : NULL, g, x, mod + c->off_b, c->rows, c->N,
                         c->C, c->mstride);
}

static void check_modulate_rows(int64_t N, int64_t C, int64_t mstride, int64_t off_shift, int64_t off_scale,
                                int want, uint64_t seed, int64_t U, const int32_t *rows) {
    mod_ctx c = {N, C, mstride, off_shift, off_scale, U, rows};
    int64_t NC = N * C, NM = U * mstride;
    tu_rng r;
    tu_seed(&r, seed);
    float *x = tu_falloc(NC), *mod = tu_falloc(NM), *g = tu_falloc(NC), *y = tu_falloc(NC);
    float *dx = tu_falloc(NC), *dmod = tu_falloc(NM);
    tu_fill(&r, x, NC, 1.0);
    tu_fill(&r, mod, NM, 0.5);
    tu_fill(&r, g, NC, 1.0);

    gl_set_threads(1);
    run_modulate(&c, want, x, mod, g, y, dx, dmod);

    double *in[2] = {tu_to_double(x, NC), tu_to_double(mod, NM)};
    double *G = tu_to_double(g, NC), *yref = tu_dalloc(NC);
    double *num = tu_dalloc(NC > NM ? NC : NM);
    ref_modulate(&c, in, yref);
    tu_check("modulate forward", y, yref, NC, TU_TOL);
    if (want & WANT_A) {
        tu_numgrad(ref_modulate, &c, in, 0, NC, NC, G, TU_EPS, num);
        tu_check("modulate dx", dx, num, NC, TU_TOL);
    } else {
        for (int64_t i = 0; i < NC; i++) assert_true(dx[i] == 0.0f);
    }
    /* The whole modulation gradient: the slices asked for against finite differences,
     * everything else (other slices, slices not asked for) still zero. */
    tu_numgrad(ref_modulate, &c, in, 1, NM, NC, G, TU_EPS, num);
    for (int64_t n = 0; n < U; n++)
        for (int64_t i = 0; i < C; i++) {
            if (!(want & WANT_B)) num[n * mstride + off_shift + i] = 0;
            if (!(want & WANT_C)) num[n * mstride + off_scale + i] = 0;
        }
    tu_check("modulate dshift/dscale", dmod, num, NM, TU_TOL);

    float *y2 = tu_falloc(NC), *dx2 = tu_falloc(NC), *dmod2 = tu_falloc(NM);
    gl_set_threads(2);
    run_modulate(&c, want, x, mod, g, y2, dx2, dmod2);
    tu_check_ff("modulate forward, 2 threads", y2, y, NC, TU_TOL_THREADS);
    tu_check_ff("modulate dx, 2 threads", dx2, dx, NC, TU_TOL_THREADS);
    tu_check_ff("modulate dmod, 2 threads", dmod2, dmod, NM, TU_TOL_THREADS);

    tu_free(in[0]); tu_free(in[1]);
    tu_free(G); tu_free(yref); tu_free(num);
    tu_free(x); tu_free(mod); tu_free(g); tu_free(y); tu_free(dx); tu_free(dmod);
    tu_free(y2); tu_free(dx2); tu_free(dmod2);
}

static void check_modulate(int64_t N, int64_t C, int64_t mstride, int64_t off_shift, int64_t off_scale,
                           int want, uint64_t seed) {
    check_modulate_rows(N, C, mstride, off_shift, off_scale, want, seed, N, NULL);
}

static void modulate_strided(void **s) {
    (void)s;
    check_modulate(5, 8, 24, 8, 16, WANT_ALL, 1);  /* [N,3C]: shift, scale the last two */
    check_modulate(3, 7, 21, 14, 0, WANT_ALL, 2);  /* scale before shift */
    check_modulate(1, 1, 3, 1, 2, WANT_ALL, 3);
    check_modulate(9, 1, 6, 0, 3, WANT_ALL, 4);
    check_modulate(4, 5, 5, 0, 0, WANT_ALL, 5);    /* mstride = C, shift and scale the same */
}

static void modulate_null_grads(void **s) {
    (void)s;
    check_modulate(4, 6, 18, 6, 12, WANT_A, 6);
    check_modulate(4, 6, 18, 6, 12, WANT_B | WANT_C, 7);
    check_modulate(4, 6, 18, 6, 12, WANT_C, 8);
    check_modulate(4, 6, 18, 6, 12, 0, 9);
}

/* ---- gated residual -------------------------------------------------------------- */

/* want: WANT_A dres, WANT_B dy, WANT_C dgate. */
static void run_gated(const mod_ctx *c, int want, const float *res, const float *yy,
                      const float *mod, const float *g, float *out, float *dres, float *dy,
                      float *dmod) {
    gl_gated_residual_forward(out, res, yy, mod + c->off_a, c->rows, c->N, c->C, c->mstride);
    memset(dres, 0, (size_t)(c->N * c->C) * sizeof(float));
    memset(dy, 0, (size_t)(c->N * c->C) * sizeof(float));
    memset(dmod, 0, (size_t)(c->U * c->mstride) * sizeof(float));
    gl_gated_residual_backward(want & WANT_A ? dres : NULL, want & WANT_B ? dy : NULL,
                               want & WANT_C ? dmod + c->off_a : NULL, g, yy, mod + c->off_a,
                               c->rows, c->N, c->C, c->mstride);
}

static void check_gated_rows(int64_t N, int64_t C, int64_t mstride, int64_t off_gate, int want, uint64_t seed,
                             int64_t U, const int32_t *rows) {
    mod_ctx c = {N, C, mstride, off_gate, 0, U, rows};
    int64_t NC = N * C, NM = U * mstride;
    tu_rng r;
    tu_seed(&r, seed);
    float *res = tu_falloc(NC), *yy = tu_falloc(NC), *mod = tu_falloc(NM), *g = tu_falloc(NC);
    float *out = tu_falloc(NC), *dres = tu_falloc(NC), *dy = tu_falloc(NC), *dmod = tu_falloc(NM);
    tu_fill(&r, res, NC, 1.0);
    tu_fill(&r, yy, NC, 1.0);
    tu_fill(&r, mod, NM, 0.5);
    tu_fill(&r, g, NC, 1.0);

    gl_set_threads(1);
    run_gated(&c, want, res, yy, mod, g, out, dres, dy, dmod);

    double *in[3] = {tu_to_double(res, NC), tu_to_double(yy, NC), tu_to_double(mod, NM)};
    double *G = tu_to_double(g, NC), *oref = tu_dalloc(NC);
    double *num = tu_dalloc(NC > NM ? NC : NM);
    ref_gated(&c, in, oref);
    tu_check("gated residual forward", out, oref, NC, TU_TOL);
    tu_numgrad(ref_gated, &c, in, 0, NC, NC, G, TU_EPS, num);
    if (!(want & WANT_A)) memset(num, 0, (size_t)NC * sizeof(double));
    tu_check("gated residual dres", dres, num, NC, TU_TOL);
    tu_numgrad(ref_gated, &c, in, 1, NC, NC, G, TU_EPS, num);
    if (!(want & WANT_B)) memset(num, 0, (size_t)NC * sizeof(double));
    tu_check("gated residual dy", dy, num, NC, TU_TOL);
    tu_numgrad(ref_gated, &c, in, 2, NM, NC, G, TU_EPS, num);
    if (!(want & WANT_C)) memset(num, 0, (size_t)NM * sizeof(double));
    tu_check("gated residual dgate", dmod, num, NM, TU_TOL); /* other columns stay 0 */

    /* In place: out == res gives the same result. */
    float *inplace = tu_falloc(NC);
    memcpy(inplace, res, (size_t)NC * sizeof(float));
    gl_gated_residual_forward(inplace, inplace, yy, mod + off_gate, rows, N, C, mstride);
    for (int64_t i = 0; i < NC; i++) assert_true(inplace[i] == out[i]);

    float *out2 = tu_falloc(NC), *dres2 = tu_falloc(NC), *dy2 = tu_falloc(NC),
          *dmod2 = tu_falloc(NM);
    gl_set_threads(2);
    run_gated(&c, want, res, yy, mod, g, out2, dres2, dy2, dmod2);
    tu_check_ff("gated residual forward, 2 threads", out2, out, NC, TU_TOL_THREADS);
    tu_check_ff("gated residual dres, 2 threads", dres2, dres, NC, TU_TOL_THREADS);
    tu_check_ff("gated residual dy, 2 threads", dy2, dy, NC, TU_TOL_THREADS);
    tu_check_ff("gated residual dgate, 2 threads", dmod2, dmod, NM, TU_TOL_THREADS);

    for (int i = 0; i < 3; i++) tu_free(in[i]);
    tu_free(G); tu_free(oref); tu_free(num); tu_free(inplace);
    tu_free(res); tu_free(yy); tu_free(mod); tu_free(g); tu_free(out); tu_free(dres);
    tu_free(dy); tu_free(dmod); tu_free(out2); tu_free(dres2); tu_free(dy2); tu_free(dmod2);
}

static void check_gated(int64_t N, int64_t C, int64_t mstride, int64_t off_gate, int want, uint64_t seed) {
    check_gated_rows(N, C, mstride, off_gate, want, seed, N, NULL);
}

static void gated_residual_strided(void **s) {
    (void)s;
    check_gated(5, 8, 24, 16, WANT_ALL, 11);
    check_gated(3, 7, 21, 7, WANT_ALL, 12);
    check_gated(1, 1, 3, 2, WANT_ALL, 13);
    check_gated(11, 3, 3, 0, WANT_ALL, 14); /* mstride = C */
}

static void gated_residual_null_grads(void **s) {
    (void)s;
    check_gated(4, 6, 18, 6, WANT_A, 15);  /* an in-place stream passes dres NULL instead */
    check_gated(4, 6, 18, 6, WANT_B | WANT_C, 16);
    check_gated(4, 6, 18, 6, WANT_C, 17);
    check_gated(4, 6, 18, 6, 0, 18);
}

/* Tokens sharing rows, as the model's tokens share their timestep's: 9 tokens on rows
 * 0-2 of 4 (row 3 read by none: its gradient stays 0), widths across the 16-column
 * blocks the backward splits over. */
static void shared_rows(void **s) {
    (void)s;
    static const int32_t rows[9] = {2, 0, 0, 1, 2, 2, 0, 1, 1};
    check_modulate_rows(9, 8, 24, 8, 16, WANT_ALL, 21, 4, rows);
    check_modulate_rows(9, 37, 74, 37, 0, WANT_ALL, 22, 4, rows); /* C = 37: three blocks */
    check_modulate_rows(9, 6, 18, 6, 12, WANT_C, 23, 4, rows);
    check_gated_rows(9, 8, 24, 16, WANT_ALL, 24, 4, rows);
    check_gated_rows(9, 37, 111, 74, WANT_ALL, 25, 4, rows);
    check_gated_rows(9, 6, 18, 6, WANT_B | WANT_C, 26, 4, rows);
}

/* Backward adds to what the gradient buffers hold. */
static void modulate_accumulates(void **s) {
    (void)s;
    enum { N = 3, C = 4, M = 3 * C };
    tu_rng r;
    tu_seed(&r, 19);
    float x[N * C], mod[N * M], g[N * C];
    float dx1[N * C] = {0}, dx2[N * C], dy1[N * C] = {0}, dy2[N * C];
    float dm1[N * M] = {0}, dm2[N * M];
    tu_fill(&r, x, N * C, 1);
    tu_fill(&r, mod, N * M, 1);
    tu_fill(&r, g, N * C, 1);

    gl_modulate_backward(dx1, dm1, dm1 + C, g, x, mod + C, NULL, N, C, M);
    for (int i = 0; i < N * C; i++) dx2[i] = 1.0f;
    for (int i = 0; i < N * M; i++) dm2[i] = -1.0f;
    gl_modulate_backward(dx2, dm2, dm2 + C, g, x, mod + C, NULL, N, C, M);
    for (int i = 0; i < N * C; i++) assert_float_equal(dx2[i], dx1[i] + 1.0f, 1e-5);
    for (int i = 0; i < N * M; i++) assert_float_equal(dm2[i], dm1[i] - 1.0f, 1e-5);

    memset(dx1, 0, sizeof dx1);
    memset(dm1, 0, sizeof dm1);
    gl_gated_residual_backward(dx1, dy1, dm1 + 2 * C, g, x, mod + 2 * C, NULL, N, C, M);
    for (int i = 0; i < N * C; i++) dx2[i] = dy2[i] = 0.5f;
    for (int i = 0; i < N * M; i++) dm2[i] = 2.0f;
    gl_gated_residual_backward(dx2, dy2, dm2 + 2 * C, g, x, mod + 2 * C, NULL, N, C, M);
    for (int i = 0; i < N * C; i++) assert_float_equal(dx2[i], dx1[i] + 0.5f, 1e-5);
    for (int i = 0; i < N * C; i++) assert_float_equal(dy2[i], dy1[i] + 0.5f, 1e-5);
    for (int i = 0; i < N * M; i++) assert_float_equal(dm2[i], dm1[i] + 2.0f, 1e-5);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(modulate_strided),
    cmocka_unit_test(modulate_null_grads),
    cmocka_unit_test(gated_residual_strided),
    cmocka_unit_test(gated_residual_null_grads),
    cmocka_unit_test(shared_rows),
    cmocka_unit_test(modulate_accumulates),
};
TU_MAIN("modulate", tests)
