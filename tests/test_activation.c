/* tests/test_activation.c: GELU, SiLU and softmax against double references and finite
 * differences, and 1 against 2 threads (the pattern of tests/test_linear.c). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "gridlora/core.h"
#include "gridlora/nn.h"
#include "testutil.h"

typedef struct act_ctx {
    int64_t N, C; /* elementwise ops: N*C elements */
} act_ctx;

/* in[0] = x; GELU, tanh form, written from the formula in double. */
static void ref_gelu(void *vctx, double *const *in, double *out) {
    const act_ctx *c = vctx;
    const double k = sqrt(2.0 / 3.14159265358979323846);
    for (int64_t i = 0; i < c->N * c->C; i++) {
        double x = in[0][i];
        out[i] = 0.5 * x * (1.0 + tanh(k * (x + 0.044715 * x * x * x)));
    }
}

static void ref_silu(void *vctx, double *const *in, double *out) {
    const act_ctx *c = vctx;
    for (int64_t i = 0; i < c->N * c->C; i++) out[i] = in[0][i] / (1.0 + exp(-in[0][i]));
}

/* Row-wise softmax; in double exp overflows past 709, so the reference subtracts the
 * row maximum too (the property under test is that the float kernel does). */
static void ref_softmax(void *vctx, double *const *in, double *out) {
    const act_ctx *c = vctx;
    for (int64_t n = 0; n < c->N; n++) {
        const double *x = in[0] + n * c->C;
        double mx = -INFINITY, s = 0;
        for (int64_t i = 0; i < c->C; i++) mx = fmax(mx, x[i]);
        for (int64_t i = 0; i < c->C; i++) s += exp(x[i] - mx);
        for (int64_t i = 0; i < c->C; i++) out[n * c->C + i] = exp(x[i] - mx) / s;
    }
}

enum op { GELU, SILU, SOFTMAX };
static const char *op_name[] = {"gelu", "silu", "softmax"};

static void run_op(enum op op, const act_ctx *c, const float *x, const float *g, float *y,
                   float *dx) {
    int64_t n = c->N * c->C;
    memset(dx, 0, (size_t)n * sizeof(float));
    switch (op) {
    case GELU:
        gl_gelu_forward(y, x, n);
        gl_gelu_backward(dx, g, x, n);
        break;
    case SILU:
        gl_silu_forward(y, x, n);
        gl_silu_backward(dx, g, x, n);
        break;
    case SOFTMAX:
        gl_softmax_forward(y, x, c->N, c->C);
        gl_softmax_backward(dx, g, y, c->N, c->C);
        break;
    }
}

/* x = offset + normal * scale; when far > 0, every fifth element is set to +-far. */
static void check_op(enum op op, int64_t N, int64_t C, double offset, double scale, double far,
                     uint64_t seed) {
    static const tu_fn refs[] = {ref_gelu, ref_silu, ref_softmax};
    act_ctx c = {N, C};
    int64_t n = N * C;
    char what[96];
    tu_rng r;
    tu_seed(&r, seed);
    float *x = tu_falloc(n), *g = tu_falloc(n), *y = tu_falloc(n), *dx = tu_falloc(n);
    tu_fill(&r, x, n, scale);
    for (int64_t i = 0; i < n; i++) x[i] += (float)offset;
    if (far > 0) /* a few elements far out in both tails */
        for (int64_t i = 0; i < n; i += 5) x[i] = (float)(i % 2 ? far : -far);
    tu_fill(&r, g, n, 1.0);

    gl_set_threads(1);
    run_op(op, &c, x, g, y, dx);
    for (int64_t i = 0; i < n; i++) assert_true(isfinite(y[i]) && isfinite(dx[i]));

    double *in[1] = {tu_to_double(x, n)};
    double *G = tu_to_double(g, n), *yref = tu_dalloc(n), *num = tu_dalloc(n);
    refs[op](&c, in, yref);
    snprintf(what, sizeof what, "%s forward", op_name[op]);
    tu_check(what, y, yref, n, TU_TOL);
    tu_numgrad(refs[op], &c, in, 0, n, n, G, TU_EPS, num);
    snprintf(what, sizeof what, "%s dinp", op_name[op]);
    tu_check(what, dx, num, n, TU_TOL);

    float *y2 = tu_falloc(n), *dx2 = tu_falloc(n);
    gl_set_threads(2);
    run_op(op, &c, x, g, y2, dx2);
    snprintf(what, sizeof what, "%s forward, 2 threads", op_name[op]);
    tu_check_ff(what, y2, y, n, TU_TOL_THREADS);
    snprintf(what, sizeof what, "%s dinp, 2 threads", op_name[op]);
    tu_check_ff(what, dx2, dx, n, TU_TOL_THREADS);

    tu_free(in[0]);
    tu_free(G); tu_free(yref); tu_free(num);
    tu_free(x); tu_free(g); tu_free(y); tu_free(dx); tu_free(y2); tu_free(dx2);
}

static void gelu_values(void **s) {
    (void)s;
    check_op(GELU, 1, 1, 0.0, 1.0, 0, 1);
    check_op(GELU, 1, 257, 0.0, 2.0, 0, 2);
    check_op(GELU, 3, 333, 0.0, 1.0, 30.0, 3); /* tails: tanh saturates, no NaN */
}

static void silu_values(void **s) {
    (void)s;
    check_op(SILU, 1, 1, 0.0, 1.0, 0, 4);
    check_op(SILU, 1, 257, 0.0, 3.0, 0, 5);
    check_op(SILU, 3, 333, 0.0, 1.0, 100.0, 6); /* expf(100) overflows to inf: s = 0 */
}

static void softmax_shapes(void **s) {
    (void)s;
    check_op(SOFTMAX, 1, 1, 0.0, 1.0, 0, 7); /* one column: output 1, gradient 0 */
    check_op(SOFTMAX, 7, 13, 0.0, 2.0, 0, 8);
    check_op(SOFTMAX, 1, 64, 0.0, 1.0, 0, 9);
    check_op(SOFTMAX, 31, 1, 0.0, 1.0, 0, 10);
    check_op(SOFTMAX, 5, 100, 0.0, 4.0, 0, 11);
}

/* Inputs around 1000 (expf overflows past 88) and rows mixing +-1000. */
static void softmax_large_inputs(void **s) {
    (void)s;
    check_op(SOFTMAX, 4, 17, 1000.0, 1.0, 0, 12);
    check_op(SOFTMAX, 4, 17, -1000.0, 1.0, 0, 13);
    check_op(SOFTMAX, 6, 11, 0.0, 1.0, 1000.0, 14);
}

/* Backward adds to what the gradient buffers hold. */
static void activation_accumulates(void **s) {
    (void)s;
    enum { N = 3, C = 8, NC = N * C };
    tu_rng r;
    tu_seed(&r, 15);
    float x[NC], g[NC], y[NC], d1[NC], d2[NC];
    tu_fill(&r, x, NC, 1);
    tu_fill(&r, g, NC, 1);
    for (int op = GELU; op <= SOFTMAX; op++) {
        memset(d1, 0, sizeof d1);
        for (int i = 0; i < NC; i++) d2[i] = 2.0f;
        if (op == GELU) {
            gl_gelu_backward(d1, g, x, NC);
            gl_gelu_backward(d2, g, x, NC);
        } else if (op == SILU) {
            gl_silu_backward(d1, g, x, NC);
            gl_silu_backward(d2, g, x, NC);
        } else {
            gl_softmax_forward(y, x, N, C);
            gl_softmax_backward(d1, g, y, N, C);
            gl_softmax_backward(d2, g, y, N, C);
        }
        for (int i = 0; i < NC; i++) assert_float_equal(d2[i], d1[i] + 2.0f, 1e-5);
    }
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(gelu_values),
    cmocka_unit_test(silu_values),
    cmocka_unit_test(softmax_shapes),
    cmocka_unit_test(softmax_large_inputs),
    cmocka_unit_test(activation_accumulates),
};
TU_MAIN("activation", tests)
