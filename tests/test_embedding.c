/* tests/test_embedding.c: the embedding lookup against a double reference and finite
 * differences, with repeated ids, and 1 against 2 threads (the pattern of
 * tests/test_linear.c). */
#include <string.h>

#include "gridlora/core.h"
#include "gridlora/nn.h"
#include "testutil.h"

typedef struct emb_ctx {
    int64_t N, V, C;
    const int32_t *ids;
} emb_ctx;

/* in[0] = table [V,C]; out[n,c] = table[ids[n], c]. */
static void ref_embedding(void *vctx, double *const *in, double *out) {
    const emb_ctx *c = vctx;
    for (int64_t n = 0; n < c->N; n++)
        for (int64_t i = 0; i < c->C; i++) out[n * c->C + i] = in[0][c->ids[n] * c->C + i];
}

static void run_embedding(const emb_ctx *c, const float *table, const float *g, float *out,
                          float *dtable) {
    gl_embedding_forward(out, c->ids, table, c->N, c->V, c->C);
    memset(dtable, 0, (size_t)(c->V * c->C) * sizeof(float));
    gl_embedding_backward(dtable, g, c->ids, c->N, c->V, c->C);
}

/* ids drawn from [0, used) with used <= V: rows at or past `used` get no gradient. */
static void check_embedding(int64_t N, int64_t V, int64_t C, int64_t used, uint64_t seed) {
    tu_rng r;
    tu_seed(&r, seed);
    int32_t *ids = test_calloc((size_t)N, sizeof(int32_t));
    assert_non_null(ids);
    for (int64_t n = 0; n < N; n++) ids[n] = (int32_t)tu_int(&r, used);
    emb_ctx c = {N, V, C, ids};
    int64_t NC = N * C, VC = V * C;
    float *table = tu_falloc(VC), *g = tu_falloc(NC), *out = tu_falloc(NC), *dt = tu_falloc(VC);
    tu_fill(&r, table, VC, 1.0);
    tu_fill(&r, g, NC, 1.0);

    gl_set_threads(1);
    run_embedding(&c, table, g, out, dt);

    double *in[1] = {tu_to_double(table, VC)};
    double *G = tu_to_double(g, NC), *oref = tu_dalloc(NC), *num = tu_dalloc(VC);
    ref_embedding(&c, in, oref);
    tu_check("embedding forward", out, oref, NC, TU_TOL);
    for (int64_t i = 0; i < NC; i++) assert_true(out[i] == (float)oref[i]); /* a copy */
    tu_numgrad(ref_embedding, &c, in, 0, VC, NC, G, TU_EPS, num);
    tu_check("embedding dtable", dt, num, VC, TU_TOL);
    for (int64_t i = used * C; i < VC; i++) assert_true(dt[i] == 0.0f);

    float *out2 = tu_falloc(NC), *dt2 = tu_falloc(VC);
    gl_set_threads(2);
    run_embedding(&c, table, g, out2, dt2);
    tu_check_ff("embedding forward, 2 threads", out2, out, NC, TU_TOL_THREADS);
    tu_check_ff("embedding dtable, 2 threads", dt2, dt, VC, TU_TOL_THREADS);
    /* Stronger than the tolerance: each entry sums its rows in the same order. */
    assert_memory_equal(dt2, dt, (size_t)VC * sizeof(float));

    tu_free(in[0]);
    tu_free(G); tu_free(oref); tu_free(num);
    tu_free(table); tu_free(g); tu_free(out); tu_free(dt); tu_free(out2); tu_free(dt2);
    test_free(ids);
}

static void embedding_repeated_ids(void **s) {
    (void)s;
    check_embedding(20, 3, 5, 3, 1);   /* every id repeated several times */
    check_embedding(1, 1, 1, 1, 2);
    check_embedding(17, 1, 9, 1, 3);   /* one id for every row */
    check_embedding(9, 50, 3, 50, 4);  /* most rows of the table unused */
    check_embedding(12, 10, 7, 4, 5);  /* rows 4.. never looked up */
}

/* C over several 64-column blocks, so two threads share the backward. */
static void embedding_wide(void **s) {
    (void)s;
    check_embedding(40, 7, 130, 7, 6);
    check_embedding(33, 4, 257, 3, 7);
}

/* Backward adds to what dtable holds; NULL dtable is skipped. */
static void embedding_accumulates(void **s) {
    (void)s;
    enum { N = 6, V = 3, C = 5 };
    const int32_t ids[N] = {2, 0, 2, 2, 1, 0};
    tu_rng r;
    tu_seed(&r, 8);
    float g[N * C], d1[V * C] = {0}, d2[V * C];
    tu_fill(&r, g, N * C, 1);
    gl_embedding_backward(d1, g, ids, N, V, C);
    for (int i = 0; i < V * C; i++) d2[i] = 3.0f;
    gl_embedding_backward(d2, g, ids, N, V, C);
    for (int i = 0; i < V * C; i++) assert_float_equal(d2[i], d1[i] + 3.0f, 1e-5);
    gl_embedding_backward(NULL, g, ids, N, V, C);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(embedding_repeated_ids),
    cmocka_unit_test(embedding_wide),
    cmocka_unit_test(embedding_accumulates),
};
TU_MAIN("embedding", tests)
