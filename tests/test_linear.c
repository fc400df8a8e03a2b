/* tests/test_linear.c: the linear layer against a double reference and finite
 * differences; the pattern every op test follows (see testutil.h). */
#include <math.h>
#include <string.h>

#include "gridlora/core.h"
#include "gridlora/nn.h"
#include "gridlora/precision.h"
#include "testutil.h"

typedef struct lin_ctx {
    int64_t N, IC, OC;
    int has_bias;
} lin_ctx;

/* in[0] = inp [N,IC], in[1] = w [OC,IC], in[2] = b [OC] */
static void ref_linear(void *vctx, double *const *in, double *out) {
    const lin_ctx *c = vctx;
    for (int64_t n = 0; n < c->N; n++)
        for (int64_t o = 0; o < c->OC; o++) {
            double s = c->has_bias ? in[2][o] : 0.0;
            for (int64_t i = 0; i < c->IC; i++) s += in[0][n * c->IC + i] * in[1][o * c->IC + i];
            out[n * c->OC + o] = s;
        }
}

/* Runs forward and backward in float with the current thread count. */
static void run_linear(const lin_ctx *c, const float *x, const float *w, const float *b,
                       const float *g, float *y, float *dx, float *dw, float *db) {
    gl_linear_forward(y, x, w, c->has_bias ? b : NULL, c->N, c->IC, c->OC);
    memset(dx, 0, (size_t)(c->N * c->IC) * sizeof(float));
    if (dw) memset(dw, 0, (size_t)(c->OC * c->IC) * sizeof(float));
    memset(db, 0, (size_t)c->OC * sizeof(float));
    gl_linear_backward(dx, dw, c->has_bias ? db : NULL, g, x, w, c->N, c->IC, c->OC);
}

static void check_linear(int64_t N, int64_t IC, int64_t OC, int has_bias, int frozen, uint64_t seed) {
    lin_ctx c = {N, IC, OC, has_bias};
    tu_rng r;
    tu_seed(&r, seed);
    float *x = tu_falloc(N * IC), *w = tu_falloc(OC * IC), *b = tu_falloc(OC);
    float *g = tu_falloc(N * OC), *y = tu_falloc(N * OC);
    float *dx = tu_falloc(N * IC), *dw = tu_falloc(OC * IC), *db = tu_falloc(OC);
    tu_fill(&r, x, N * IC, 1.0);
    tu_fill(&r, w, OC * IC, 0.5);
    tu_fill(&r, b, OC, 1.0);
    tu_fill(&r, g, N * OC, 1.0);

    gl_set_threads(1);
    run_linear(&c, x, w, b, g, y, dx, frozen ? NULL : dw, db);

    double *in[3] = {tu_to_double(x, N * IC), tu_to_double(w, OC * IC), tu_to_double(b, OC)};
    double *G = tu_to_double(g, N * OC), *yref = tu_dalloc(N * OC);
    ref_linear(&c, in, yref);
    tu_check("linear forward", y, yref, N * OC, TU_TOL);

    double *num = tu_dalloc(N * IC > OC * IC ? N * IC : OC * IC);
    tu_numgrad(ref_linear, &c, in, 0, N * IC, N * OC, G, TU_EPS, num);
    tu_check("linear dinp", dx, num, N * IC, TU_TOL);
    if (!frozen) {
        tu_numgrad(ref_linear, &c, in, 1, OC * IC, N * OC, G, TU_EPS, num);
        tu_check("linear dw", dw, num, OC * IC, TU_TOL);
    } else {
        for (int64_t i = 0; i < OC * IC; i++) assert_true(dw[i] == 0.0f); /* untouched */
    }
    if (has_bias) {
        tu_numgrad(ref_linear, &c, in, 2, OC, N * OC, G, TU_EPS, num);
        tu_check("linear db", db, num, OC, TU_TOL);
    }

    /* 2 threads against 1 */
    float *y2 = tu_falloc(N * OC), *dx2 = tu_falloc(N * IC), *dw2 = tu_falloc(OC * IC),
          *db2 = tu_falloc(OC);
    gl_set_threads(2);
    run_linear(&c, x, w, b, g, y2, dx2, frozen ? NULL : dw2, db2);
    tu_check_ff("linear forward, 2 threads", y2, y, N * OC, TU_TOL_THREADS);
    tu_check_ff("linear dinp, 2 threads", dx2, dx, N * IC, TU_TOL_THREADS);
    tu_check_ff("linear dw, 2 threads", dw2, dw, OC * IC, TU_TOL_THREADS);
    tu_check_ff("linear db, 2 threads", db2, db, OC, TU_TOL_THREADS);

    for (int i = 0; i < 3; i++) tu_free(in[i]);
    tu_free(G); tu_free(yref); tu_free(num);
    tu_free(x); tu_free(w); tu_free(b); tu_free(g); tu_free(y);
    tu_free(dx); tu_free(dw); tu_free(db); tu_free(y2); tu_free(dx2); tu_free(dw2); tu_free(db2);
}

static void linear_bias(void **s) {
    (void)s;
    check_linear(7, 13, 5, 1, 0, 1);
    check_linear(1, 1, 1, 1, 0, 2);
    check_linear(33, 16, 70, 1, 0, 3); /* OC over one 64-column block of the bias sum */
}

static void linear_no_bias(void **s) {
    (void)s;
    check_linear(9, 5, 11, 0, 0, 4);
    check_linear(2, 31, 1, 0, 0, 5);
}

static void linear_frozen_weight(void **s) {
    (void)s;
    check_linear(6, 10, 4, 1, 1, 6);
}

/* Backward adds to what the gradient buffers hold (a tensor used twice collects both). */
static void linear_accumulates(void **s) {
    (void)s;
    enum { N = 4, IC = 3, OC = 5 };
    tu_rng r;
    tu_seed(&r, 7);
    float x[N * IC], w[OC * IC], g[N * OC], dx1[N * IC] = {0}, dx2[N * IC], dw1[OC * IC] = {0},
          dw2[OC * IC];
    tu_fill(&r, x, N * IC, 1);
    tu_fill(&r, w, OC * IC, 1);
    tu_fill(&r, g, N * OC, 1);
    gl_linear_backward(dx1, dw1, NULL, g, x, w, N, IC, OC);
    for (int i = 0; i < N * IC; i++) dx2[i] = 1.0f;
    for (int i = 0; i < OC * IC; i++) dw2[i] = -2.0f;
    gl_linear_backward(dx2, dw2, NULL, g, x, w, N, IC, OC);
    for (int i = 0; i < N * IC; i++) assert_float_equal(dx2[i], dx1[i] + 1.0f, 1e-5);
    for (int i = 0; i < OC * IC; i++) assert_float_equal(dw2[i], dw1[i] - 2.0f, 1e-5);
}

/* dinp_acc 0 overwrites dinp (whatever it held: NaN here) with what accumulating into
 * zeros gives, bit for bit, in fp32 and (where the CPU has it) bf16; with OC = 0 the
 * product is zero. */
static void linear_overwrites(void **s) {
    (void)s;
    enum { N = 64, IC = 48, OC = 40 };
    tu_rng r;
    tu_seed(&r, 8);
    float *x = tu_falloc(N * IC), *w = tu_falloc(OC * IC), *g = tu_falloc(N * OC);
    float *acc = tu_falloc(N * IC), *set = tu_falloc(N * IC);
    tu_fill(&r, x, N * IC, 1);
    tu_fill(&r, w, OC * IC, 1);
    tu_fill(&r, g, N * OC, 1);
    const gl_precision was = gl_get_precision();
    for (int prec = 0; prec < 2; prec++) {
        if (gl_set_precision(prec ? GL_PRECISION_BF16 : GL_PRECISION_FP32) != GL_OK) continue;
        memset(acc, 0, N * IC * sizeof(float));
        for (int i = 0; i < N * IC; i++) set[i] = NAN;
        gl_linear_backward_rounded(acc, 1, NULL, NULL, g, x, NULL, w, N, IC, OC);
        gl_linear_backward_rounded(set, 0, NULL, NULL, g, x, NULL, w, N, IC, OC);
        for (int i = 0; i < N * IC; i++)
            if (!(set[i] == acc[i])) fail_msg("%s: element %d overwritten as %g, accumulated %g", prec ? "bf16" : "fp32", i, set[i], acc[i]);
        for (int i = 0; i < N * IC; i++) set[i] = NAN;
        gl_linear_backward_rounded(set, 0, NULL, NULL, g, x, NULL, w, N, IC, 0);
        for (int i = 0; i < N * IC; i++) assert_true(set[i] == 0.0f);
    }
    gl_set_precision(was);
    tu_free(x); tu_free(w); tu_free(g); tu_free(acc); tu_free(set);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(linear_bias),
    cmocka_unit_test(linear_no_bias),
    cmocka_unit_test(linear_frozen_weight),
    cmocka_unit_test(linear_accumulates),
    cmocka_unit_test(linear_overwrites),
};
TU_MAIN("linear", tests)
