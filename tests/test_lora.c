/* tests/test_lora.c: the LoRA adapter op against a double reference and finite
 * differences (pattern of tests/test_linear.c). */
#include <string.h>

#include "gridlora/core.h"
#include "gridlora/nn.h"
#include "testutil.h"

typedef struct lora_ctx {
    int64_t N, IC, OC, r;
    double scale;
} lora_ctx;

/* in[0] = inp [N,IC], in[1] = A [r,IC], in[2] = B [OC,r]; out = scale * inp A^T B^T */
static void ref_lora(void *vctx, double *const *in, double *out) {
    const lora_ctx *c = vctx;
    for (int64_t n = 0; n < c->N; n++)
        for (int64_t o = 0; o < c->OC; o++) {
            double s = 0;
            for (int64_t k = 0; k < c->r; k++) {
                double h = 0;
                for (int64_t i = 0; i < c->IC; i++) h += in[0][n * c->IC + i] * in[1][k * c->IC + i];
                s += h * in[2][o * c->r + k];
            }
            out[n * c->OC + o] = c->scale * s;
        }
}

static void run(const lora_ctx *c, const float *x, const float *A, const float *B, const float *g, float *y,
                float *h, float *dx, float *dA, float *dB, float *dh) {
    memset(y, 0, (size_t)(c->N * c->OC) * sizeof(float));
    gl_lora_forward(y, h, x, A, B, c->N, c->IC, c->OC, c->r, (float)c->scale);
    memset(dx, 0, (size_t)(c->N * c->IC) * sizeof(float));
    memset(dA, 0, (size_t)(c->r * c->IC) * sizeof(float));
    memset(dB, 0, (size_t)(c->OC * c->r) * sizeof(float));
    gl_lora_backward(dx, dA, dB, dh, g, x, h, A, B, c->N, c->IC, c->OC, c->r, (float)c->scale);
}

static void check(int64_t N, int64_t IC, int64_t OC, int64_t r, double scale, uint64_t seed) {
    lora_ctx c = {N, IC, OC, r, scale};
    tu_rng rng;
    tu_seed(&rng, seed);
    float *x = tu_falloc(N * IC), *A = tu_falloc(r * IC), *B = tu_falloc(OC * r), *g = tu_falloc(N * OC);
    float *y = tu_falloc(N * OC), *h = tu_falloc(N * r), *dx = tu_falloc(N * IC), *dA = tu_falloc(r * IC);
    float *dB = tu_falloc(OC * r), *dh = tu_falloc(N * r);
    tu_fill(&rng, x, N * IC, 1.0);
    tu_fill(&rng, A, r * IC, 0.5);
    tu_fill(&rng, B, OC * r, 0.5);
    tu_fill(&rng, g, N * OC, 1.0);
    gl_set_threads(1);
    run(&c, x, A, B, g, y, h, dx, dA, dB, dh);
    double *in[3] = {tu_to_double(x, N * IC), tu_to_double(A, r * IC), tu_to_double(B, OC * r)};
    double *G = tu_to_double(g, N * OC), *yref = tu_dalloc(N * OC);
    ref_lora(&c, in, yref);
    tu_check("lora forward", y, yref, N * OC, TU_TOL);
    int64_t big = N * IC > r * IC ? N * IC : r * IC;
    double *num = tu_dalloc(big > OC * r ? big : OC * r);
    tu_numgrad(ref_lora, &c, in, 0, N * IC, N * OC, G, TU_EPS, num);
    tu_check("lora dinp", dx, num, N * IC, TU_TOL);
    tu_numgrad(ref_lora, &c, in, 1, r * IC, N * OC, G, TU_EPS, num);
    tu_check("lora dA", dA, num, r * IC, TU_TOL);
    tu_numgrad(ref_lora, &c, in, 2, OC * r, N * OC, G, TU_EPS, num);
    tu_check("lora dB", dB, num, OC * r, TU_TOL);
    float *y2 = tu_falloc(N * OC), *dx2 = tu_falloc(N * IC), *dA2 = tu_falloc(r * IC), *dB2 = tu_falloc(OC * r);
    gl_set_threads(2);
    run(&c, x, A, B, g, y2, h, dx2, dA2, dB2, dh);
    tu_check_ff("lora forward, 2 threads", y2, y, N * OC, TU_TOL_THREADS);
    tu_check_ff("lora dinp, 2 threads", dx2, dx, N * IC, TU_TOL_THREADS);
    tu_check_ff("lora dA, 2 threads", dA2, dA, r * IC, TU_TOL_THREADS);
    tu_check_ff("lora dB, 2 threads", dB2, dB, OC * r, TU_TOL_THREADS);
    for (int i = 0; i < 3; i++) tu_free(in[i]);
    tu_free(G); tu_free(yref); tu_free(num); tu_free(y2); tu_free(dx2); tu_free(dA2); tu_free(dB2);
    tu_free(x); tu_free(A); tu_free(B); tu_free(g); tu_free(y); tu_free(h); tu_free(dx); tu_free(dA);
    tu_free(dB); tu_free(dh);
}

static void lora_shapes(void **s) {
    (void)s;
    check(7, 13, 5, 2, 0.5, 1);
    check(1, 1, 1, 1, 2.0, 2);
    check(9, 16, 24, 4, 1.0, 3);
    check(3, 5, 8, 8, 0.25, 4); /* rank above the input width */
}

/* The adapter adds to the base output, its frozen input gradient path and a NULL dA
 * (the Sequence stage trains only B) work; a zero B (the start) changes nothing. */
static void lora_adds_and_nulls(void **s) {
    (void)s;
    enum { N = 4, IC = 6, OC = 5, R = 2 };
    tu_rng r;
    tu_seed(&r, 9);
    float x[N * IC], A[R * IC], B[OC * R] = {0}, y[N * OC], h[N * R], g[N * OC], dh[N * R];
    tu_fill(&r, x, N * IC, 1);
    tu_fill(&r, A, R * IC, 1);
    tu_fill(&r, y, N * OC, 1);
    tu_fill(&r, g, N * OC, 1);
    float y0[N * OC];
    memcpy(y0, y, sizeof y);
    gl_lora_forward(y, h, x, A, B, N, IC, OC, R, 1.0f);
    assert_memory_equal(y, y0, sizeof y);
    float dB[OC * R] = {0};
    gl_lora_backward(NULL, NULL, dB, dh, g, x, h, A, B, N, IC, OC, R, 1.0f);
    int nonzero = 0;
    for (int i = 0; i < OC * R; i++) nonzero += dB[i] != 0.0f;
    assert_true(nonzero > 0); /* B learns first, from A's random projection */
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(lora_shapes),
    cmocka_unit_test(lora_adds_and_nulls),
};
TU_MAIN("lora", tests)
