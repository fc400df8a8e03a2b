/* tests/test_norm.c: layer norm and RMS norm against double references and finite
 * differences, and 1 against 2 threads (the pattern of tests/test_linear.c). */
#include <math.h>
#include <string.h>

#include "gridlora/core.h"
#include "gridlora/nn.h"
#include "testutil.h"

typedef struct norm_ctx {
    int64_t N, C;
    double eps;
} norm_ctx;

/* in[0] = x [N,C]; out = (x - mean) / sqrt(var + eps), biased variance. */
static void ref_layernorm(void *vctx, double *const *in, double *out) {
    const norm_ctx *c = vctx;
    for (int64_t n = 0; n < c->N; n++) {
        const double *x = in[0] + n * c->C;
        double m = 0, v = 0;
        for (int64_t i = 0; i < c->C; i++) m += x[i];
        m /= (double)c->C;
        for (int64_t i = 0; i < c->C; i++) v += (x[i] - m) * (x[i] - m);
        v /= (double)c->C;
        for (int64_t i = 0; i < c->C; i++) out[n * c->C + i] = (x[i] - m) / sqrt(v + c->eps);
    }
}

/* in[0] = x [N,C], in[1] = w [C]; out = x w / sqrt(mean(x^2) + eps). */
static void ref_rmsnorm(void *vctx, double *const *in, double *out) {
    const norm_ctx *c = vctx;
    for (int64_t n = 0; n < c->N; n++) {
        const double *x = in[0] + n * c->C;
        double ms = 0;
        for (int64_t i = 0; i < c->C; i++) ms += x[i] * x[i];
        ms /= (double)c->C;
        for (int64_t i = 0; i < c->C; i++) out[n * c->C + i] = x[i] * in[1][i] / sqrt(ms + c->eps);
    }
}

/* ---- layer norm ------------------------------------------------------------------ */

static void run_layernorm(const norm_ctx *c, const float *x, const float *g, float *y,
                          float *mean, float *rstd, float *dx) {
    gl_layernorm_forward(y, mean, rstd, x, c->N, c->C, (float)c->eps);
    memset(dx, 0, (size_t)(c->N * c->C) * sizeof(float));
    gl_layernorm_backward(dx, g, x, mean, rstd, c->N, c->C);
}

/* x = offset + normal * scale: a large offset against the spread tests the two-pass
 * variance (one pass would lose every bit of it). */
static void check_layernorm(int64_t N, int64_t C, double offset, double scale, double eps,
                            uint64_t seed) {
    norm_ctx c = {N, C, eps};
    int64_t NC = N * C;
    tu_rng r;
    tu_seed(&r, seed);
    float *x = tu_falloc(NC), *g = tu_falloc(NC), *y = tu_falloc(NC), *dx = tu_falloc(NC);
    float *mean = tu_falloc(N), *rstd = tu_falloc(N);
    tu_fill(&r, x, NC, scale);
    for (int64_t i = 0; i < NC; i++) x[i] += (float)offset;
    tu_fill(&r, g, NC, 1.0);

    gl_set_threads(1);
    run_layernorm(&c, x, g, y, mean, rstd, dx);

    double *in[1] = {tu_to_double(x, NC)};
    double *G = tu_to_double(g, NC), *yref = tu_dalloc(NC), *num = tu_dalloc(NC);
    double *mref = tu_dalloc(N), *rref = tu_dalloc(N);
    ref_layernorm(&c, in, yref);
    tu_check("layernorm forward", y, yref, NC, TU_TOL);
    for (int64_t n = 0; n < N; n++) {
        double m = 0, v = 0;
        for (int64_t i = 0; i < C; i++) m += in[0][n * C + i];
        m /= (double)C;
        for (int64_t i = 0; i < C; i++) v += (in[0][n * C + i] - m) * (in[0][n * C + i] - m);
        mref[n] = m;
        rref[n] = 1.0 / sqrt(v / (double)C + c.eps);
    }
    tu_check("layernorm mean", mean, mref, N, TU_TOL);
    tu_check("layernorm rstd", rstd, rref, N, TU_TOL);
    if (offset == 0.0) { /* differences of x near a large offset are not representable */
        tu_numgrad(ref_layernorm, &c, in, 0, NC, NC, G, TU_EPS, num);
        tu_check("layernorm dinp", dx, num, NC, TU_TOL);
    }

    float *y2 = tu_falloc(NC), *dx2 = tu_falloc(NC), *mean2 = tu_falloc(N), *rstd2 = tu_falloc(N);
    gl_set_threads(2);
    run_layernorm(&c, x, g, y2, mean2, rstd2, dx2);
    tu_check_ff("layernorm forward, 2 threads", y2, y, NC, TU_TOL_THREADS);
    tu_check_ff("layernorm mean, 2 threads", mean2, mean, N, TU_TOL_THREADS);
    tu_check_ff("layernorm rstd, 2 threads", rstd2, rstd, N, TU_TOL_THREADS);
    tu_check_ff("layernorm dinp, 2 threads", dx2, dx, NC, TU_TOL_THREADS);

    tu_free(in[0]);
    tu_free(G); tu_free(yref); tu_free(num); tu_free(mref); tu_free(rref);
    tu_free(x); tu_free(g); tu_free(y); tu_free(dx); tu_free(mean); tu_free(rstd);
    tu_free(y2); tu_free(dx2); tu_free(mean2); tu_free(rstd2);
}

static void layernorm_shapes(void **s) {
    (void)s;
    check_layernorm(5, 16, 0.0, 1.0, 1e-5, 1);
    check_layernorm(1, 1, 0.0, 1.0, 1e-5, 2);   /* one element: output 0, gradient 0 */
    check_layernorm(1, 7, 0.0, 3.0, 1e-5, 3);
    check_layernorm(13, 33, 0.0, 0.2, 1e-5, 4);
    /* Two elements: the outputs are +-sqrt(v / (v + eps)), so the gradient is of order
     * eps / v and, with a small eps, below the float rounding of the terms it is the
     * difference of (in any fp32 kernel). A large eps keeps the check meaningful. */
    check_layernorm(3, 2, 0.0, 1.0, 0.5, 5);
}

static void layernorm_large_mean(void **s) {
    (void)s;
    check_layernorm(4, 64, 1000.0, 1.0, 1e-5, 6);
    check_layernorm(3, 129, -300.0, 0.5, 1e-5, 7);
}

/* ---- RMS norm -------------------------------------------------------------------- */

static void run_rmsnorm(const norm_ctx *c, const float *x, const float *w, const float *g,
                        float *y, float *rstd, float *dx, float *dw) {
    gl_rmsnorm_forward(y, rstd, x, w, c->N, c->C, (float)c->eps);
    if (dx) memset(dx, 0, (size_t)(c->N * c->C) * sizeof(float));
    if (dw) memset(dw, 0, (size_t)c->C * sizeof(float));
    gl_rmsnorm_backward(dx, dw, g, x, w, rstd, c->N, c->C);
}

/* with_dx, with_dw: whether those gradients are asked for (NULL otherwise). */
static void check_rmsnorm(int64_t N, int64_t C, int with_dx, int with_dw, double eps,
                          uint64_t seed) {
    norm_ctx c = {N, C, eps};
    int64_t NC = N * C;
    tu_rng r;
    tu_seed(&r, seed);
    float *x = tu_falloc(NC), *w = tu_falloc(C), *g = tu_falloc(NC), *y = tu_falloc(NC);
    float *rstd = tu_falloc(N), *dx = tu_falloc(NC), *dw = tu_falloc(C);
    tu_fill(&r, x, NC, 1.5);
    tu_fill(&r, w, C, 1.0);
    tu_fill(&r, g, NC, 1.0);

    gl_set_threads(1);
    run_rmsnorm(&c, x, w, g, y, rstd, with_dx ? dx : NULL, with_dw ? dw : NULL);

    double *in[2] = {tu_to_double(x, NC), tu_to_double(w, C)};
    double *G = tu_to_double(g, NC), *yref = tu_dalloc(NC), *num = tu_dalloc(NC);
    ref_rmsnorm(&c, in, yref);
    tu_check("rmsnorm forward", y, yref, NC, TU_TOL);
    if (with_dx) {
        tu_numgrad(ref_rmsnorm, &c, in, 0, NC, NC, G, TU_EPS, num);
        tu_check("rmsnorm dinp", dx, num, NC, TU_TOL);
    } else {
        for (int64_t i = 0; i < NC; i++) assert_true(dx[i] == 0.0f); /* untouched */
    }
    if (with_dw) {
        tu_numgrad(ref_rmsnorm, &c, in, 1, C, NC, G, TU_EPS, num);
        tu_check("rmsnorm dw", dw, num, C, TU_TOL);
    } else {
        for (int64_t i = 0; i < C; i++) assert_true(dw[i] == 0.0f);
    }

    float *y2 = tu_falloc(NC), *rstd2 = tu_falloc(N), *dx2 = tu_falloc(NC), *dw2 = tu_falloc(C);
    gl_set_threads(2);
    run_rmsnorm(&c, x, w, g, y2, rstd2, with_dx ? dx2 : NULL, with_dw ? dw2 : NULL);
    tu_check_ff("rmsnorm forward, 2 threads", y2, y, NC, TU_TOL_THREADS);
    tu_check_ff("rmsnorm rstd, 2 threads", rstd2, rstd, N, TU_TOL_THREADS);
    tu_check_ff("rmsnorm dinp, 2 threads", dx2, dx, NC, TU_TOL_THREADS);
    tu_check_ff("rmsnorm dw, 2 threads", dw2, dw, C, TU_TOL_THREADS);

    tu_free(in[0]); tu_free(in[1]);
    tu_free(G); tu_free(yref); tu_free(num);
    tu_free(x); tu_free(w); tu_free(g); tu_free(y); tu_free(rstd); tu_free(dx); tu_free(dw);
    tu_free(y2); tu_free(rstd2); tu_free(dx2); tu_free(dw2);
}

static void rmsnorm_shapes(void **s) {
    (void)s;
    check_rmsnorm(6, 16, 1, 1, 1e-6, 11);
    /* One column: out = w x / sqrt(x^2 + eps), nearly w sign(x), so dx is of order eps
     * (as layernorm with two columns, below fp32 rounding); a large eps tests it. */
    check_rmsnorm(1, 1, 1, 1, 0.5, 12);
    check_rmsnorm(9, 1, 1, 1, 0.5, 13);
    check_rmsnorm(1, 23, 1, 1, 1e-6, 14);
    check_rmsnorm(7, 130, 1, 1, 1e-6, 15); /* dw over three 64-column blocks */
}

static void rmsnorm_null_grads(void **s) {
    (void)s;
    check_rmsnorm(5, 12, 1, 0, 1e-6, 16); /* frozen weight */
    check_rmsnorm(5, 12, 0, 1, 1e-6, 17); /* only the weight */
    check_rmsnorm(3, 70, 0, 0, 1e-6, 18); /* nothing: forward only */
}

/* Backward adds to what the gradient buffers hold. */
static void norm_accumulates(void **s) {
    (void)s;
    enum { N = 4, C = 9 };
    tu_rng r;
    tu_seed(&r, 19);
    float x[N * C], w[C], g[N * C], y[N * C], mean[N], rstd[N];
    float dx1[N * C] = {0}, dx2[N * C], dw1[C] = {0}, dw2[C];
    tu_fill(&r, x, N * C, 1);
    tu_fill(&r, w, C, 1);
    tu_fill(&r, g, N * C, 1);

    gl_layernorm_forward(y, mean, rstd, x, N, C, 1e-5f);
    gl_layernorm_backward(dx1, g, x, mean, rstd, N, C);
    for (int i = 0; i < N * C; i++) dx2[i] = 1.0f;
    gl_layernorm_backward(dx2, g, x, mean, rstd, N, C);
    for (int i = 0; i < N * C; i++) assert_float_equal(dx2[i], dx1[i] + 1.0f, 1e-5);

    memset(dx1, 0, sizeof dx1);
    gl_rmsnorm_forward(y, rstd, x, w, N, C, 1e-6f);
    gl_rmsnorm_backward(dx1, dw1, g, x, w, rstd, N, C);
    for (int i = 0; i < N * C; i++) dx2[i] = -3.0f;
    for (int i = 0; i < C; i++) dw2[i] = 0.5f;
    gl_rmsnorm_backward(dx2, dw2, g, x, w, rstd, N, C);
    for (int i = 0; i < N * C; i++) assert_float_equal(dx2[i], dx1[i] - 3.0f, 1e-5);
    for (int i = 0; i < C; i++) assert_float_equal(dw2[i], dw1[i] + 0.5f, 1e-5);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(layernorm_shapes),
    cmocka_unit_test(layernorm_large_mean),
    cmocka_unit_test(rmsnorm_shapes),
    cmocka_unit_test(rmsnorm_null_grads),
    cmocka_unit_test(norm_accumulates),
};
TU_MAIN("norm", tests)
