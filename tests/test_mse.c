/* tests/test_mse.c: the masked MSE loss against a double reference and finite
 * differences, for every kind of mask, the loss bit-identical across thread counts
 * (the pattern of tests/test_linear.c), and its sums split over shards as MPI ranks
 * split a batch; the squared error of masked cell means likewise. */
#include <math.h>
#include <string.h>

#include "gridlora/core.h"
#include "gridlora/nn.h"
#include "testutil.h"

typedef struct mse_ctx {
    int64_t n;
    const double *target, *mask; /* mask NULL: all ones */
} mse_ctx;

/* in[0] = pred [n]; out[0] = sum m (p - y)^2 / sum m, or 0 when sum m is 0. */
static void ref_mse(void *vctx, double *const *in, double *out) {
    const mse_ctx *c = vctx;
    double num = 0, den = 0;
    for (int64_t i = 0; i < c->n; i++) {
        double m = c->mask ? c->mask[i] : 1.0, d = in[0][i] - c->target[i];
        num += m * d * d;
        den += m;
    }
    out[0] = den > 0 ? num / den : 0.0;
}

enum mask_kind { MASK_NULL, MASK_BINARY, MASK_FRACTIONAL, MASK_ZERO };

static void fill_mask(tu_rng *r, float *m, int64_t n, enum mask_kind kind) {
    for (int64_t i = 0; i < n; i++) {
        switch (kind) {
        case MASK_BINARY: m[i] = tu_uniform(r) < 0.6 ? 1.0f : 0.0f; break;
        case MASK_FRACTIONAL: { /* zeros, ones and weights in (0, 2) */
            int64_t k = tu_int(r, 3);
            m[i] = k == 0 ? 0.0f : k == 1 ? 1.0f : (float)(2.0 * tu_uniform(r));
            break;
        }
        default: m[i] = 0.0f; break;
        }
    }
}

static void fail_if_far(const char *what, double got, double want, double tol) {
    double err = fabs(got - want) / fmax(fabs(want), 1e-300);
    if (!(err <= tol) && !(got == 0.0 && want == 0.0))
        fail_msg("%s: got %.17g, want %.17g (relative error %.3g > %.3g)", what, got, want, err, tol);
}

/* Loss against the reference in double (1e-12: only the summation order differs),
 * gradient against finite differences (n small enough) or against the closed form,
 * and both with 1, 2 and 3 threads: the loss bit for bit. */
static void check_mse(int64_t n, enum mask_kind kind, int numgrad, uint64_t seed) {
    tu_rng r;
    tu_seed(&r, seed);
    float *p = tu_falloc(n), *y = tu_falloc(n), *m = tu_falloc(n);
    float *dp = tu_falloc(n), *dp2 = tu_falloc(n);
    tu_fill(&r, p, n, 1.0);
    tu_fill(&r, y, n, 1.0);
    fill_mask(&r, m, n, kind);
    const float *mask = kind == MASK_NULL ? NULL : m;
    const float dloss = 0.7f;

    double *pd = tu_to_double(p, n), *yd = tu_to_double(y, n), *md = tu_to_double(m, n);
    mse_ctx c = {n, yd, mask ? md : NULL};
    double *in[1] = {pd}, want;
    ref_mse(&c, in, &want);

    gl_set_threads(1);
    double loss = gl_mse_forward(p, y, mask, n);
    gl_mse_backward(dp, p, y, mask, n, dloss);
    fail_if_far("mse loss", loss, want, 1e-12);

    double *gref = tu_dalloc(n);
    if (numgrad) {
        double G = dloss;
        tu_numgrad(ref_mse, &c, in, 0, n, 1, &G, TU_EPS, gref);
    } else {
        double den = 0;
        for (int64_t i = 0; i < n; i++) den += mask ? md[i] : 1.0;
        for (int64_t i = 0; i < n; i++)
            gref[i] = den > 0 ? dloss * 2.0 * (mask ? md[i] : 1.0) * (pd[i] - yd[i]) / den : 0.0;
    }
    tu_check("mse dpred", dp, gref, n, TU_TOL);

    for (int t = 2; t <= 3; t++) {
        gl_set_threads(t);
        double loss2 = gl_mse_forward(p, y, mask, n);
        memset(dp2, 0, (size_t)n * sizeof(float));
        gl_mse_backward(dp2, p, y, mask, n, dloss);
        if (memcmp(&loss2, &loss, sizeof loss) != 0)
            fail_msg("mse loss with %d threads: %.17g, with 1: %.17g", t, loss2, loss);
        tu_check_ff("mse dpred, more threads", dp2, dp, n, TU_TOL_THREADS);
    }
    gl_set_threads(2);

    tu_free(pd); tu_free(yd); tu_free(md); tu_free(gref);
    tu_free(p); tu_free(y); tu_free(m); tu_free(dp); tu_free(dp2);
}

static void mse_masks(void **s) {
    (void)s;
    check_mse(1, MASK_NULL, 1, 1);
    check_mse(37, MASK_NULL, 1, 2);
    check_mse(1, MASK_BINARY, 1, 3);
    check_mse(101, MASK_BINARY, 1, 4);
    check_mse(64, MASK_FRACTIONAL, 1, 5);
    check_mse(999, MASK_FRACTIONAL, 1, 6);
}

/* An all-zero mask: loss exactly 0 and the gradient untouched (no 0/0). */
static void mse_zero_mask(void **s) {
    (void)s;
    check_mse(50, MASK_ZERO, 1, 7);
    enum { N = 10 };
    float p[N], y[N], m[N] = {0}, dp[N];
    tu_rng r;
    tu_seed(&r, 8);
    tu_fill(&r, p, N, 1);
    tu_fill(&r, y, N, 1);
    for (int i = 0; i < N; i++) dp[i] = 1.5f;
    assert_true(gl_mse_forward(p, y, m, N) == 0.0);
    gl_mse_backward(dp, p, y, m, N, 1.0f);
    for (int i = 0; i < N; i++) assert_true(dp[i] == 1.5f);
    assert_true(gl_mse_forward(p, y, NULL, 0) == 0.0); /* no elements at all */
}

/* Many chunks of the fixed-order sum, ragged last chunk: the loss is bit-identical for
 * any thread count. */
static void mse_threads_bitwise(void **s) {
    (void)s;
    check_mse(100003, MASK_NULL, 0, 9);
    check_mse(100003, MASK_FRACTIONAL, 0, 10);
    check_mse(4096 * 3 + 1, MASK_BINARY, 0, 11);
}

/* Backward adds to what dpred holds. */
static void mse_accumulates(void **s) {
    (void)s;
    enum { N = 12 };
    tu_rng r;
    tu_seed(&r, 12);
    float p[N], y[N], m[N], d1[N] = {0}, d2[N];
    tu_fill(&r, p, N, 1);
    tu_fill(&r, y, N, 1);
    fill_mask(&r, m, N, MASK_FRACTIONAL);
    m[0] = 1.0f; /* a nonzero sum */
    gl_mse_backward(d1, p, y, m, N, 2.0f);
    for (int i = 0; i < N; i++) d2[i] = -1.0f;
    gl_mse_backward(d2, p, y, m, N, 2.0f);
    for (int i = 0; i < N; i++) assert_float_equal(d2[i], d1[i] - 1.0f, 1e-5);
}

/* The sums data-parallel ranks add: their quotient is the loss bit for bit, and the sums
 * of two shards (with different mask counts) add up to the whole's; the shards' scaled
 * gradients (dloss = their share of the mask) are the whole's. */
static void mse_sums_split(void **s) {
    (void)s;
    enum { N = 10000, CUT = 3001 };
    tu_rng r;
    tu_seed(&r, 13);
    float *p = tu_falloc(N), *y = tu_falloc(N), *m = tu_falloc(N), *dw = tu_falloc(N), *ds = tu_falloc(N);
    tu_fill(&r, p, N, 1);
    tu_fill(&r, y, N, 1);
    fill_mask(&r, m, N, MASK_BINARY);
    double sq, msum, sq1, m1, sq2, m2;
    gl_mse_sums(p, y, m, N, &sq, &msum);
    assert_true(sq / msum == gl_mse_forward(p, y, m, N));
    gl_mse_sums(p, y, m, CUT, &sq1, &m1);
    gl_mse_sums(p + CUT, y + CUT, m + CUT, N - CUT, &sq2, &m2);
    assert_true(m1 + m2 == msum); /* counts of a 0/1 mask: exact */
    fail_if_far("sum of the shards' squares", sq1 + sq2, sq, 1e-12);
    memset(dw, 0, N * sizeof(float));
    memset(ds, 0, N * sizeof(float));
    gl_mse_backward(dw, p, y, m, N, 1.0f);
    gl_mse_backward(ds, p, y, m, CUT, (float)(m1 / msum));
    gl_mse_backward(ds + CUT, p + CUT, y + CUT, m + CUT, N - CUT, (float)(m2 / msum));
    for (int i = 0; i < N; i++) fail_if_far("shard gradient", ds[i], dw[i], 1e-6);
    tu_free(p);
    tu_free(y);
    tu_free(m);
    tu_free(dw);
    tu_free(ds);
}

typedef struct cm_ctx {
    int64_t frames, H, W, C, ch, cw;
    const double *target, *mask; /* mask [frames, H, W, C] or NULL */
} cm_ctx;

/* in[0] = pred; out[0] = sum over (frame, cell, channel) with sum m > 0 of D^2, D the
 * cell's masked mean of p - y: written from the definition, pixel by pixel. */
static void ref_cellmean(void *vctx, double *const *in, double *out) {
    const cm_ctx *c = vctx;
    double s = 0;
    for (int64_t f = 0; f < c->frames; f++)
        for (int64_t cy = 0; cy < c->H / c->ch; cy++)
            for (int64_t cx = 0; cx < c->W / c->cw; cx++)
                for (int64_t k = 0; k < c->C; k++) {
                    double num = 0, den = 0;
                    for (int64_t y = 0; y < c->H; y++)
                        for (int64_t x = 0; x < c->W; x++) {
                            if (y / c->ch != cy || x / c->cw != cx) continue;
                            int64_t px = (f * c->H + y) * c->W + x;
                            double m = c->mask ? c->mask[px * c->C + k] : 1.0;
                            num += m * (in[0][px * c->C + k] - c->target[px * c->C + k]);
                            den += m;
                        }
                    if (den > 0) s += (num / den) * (num / den);
                }
    out[0] = s;
}

/* The cell means' error against the reference and its gradient against finite
 * differences, without a mask and with one whose first cell counts nothing (no group, no
 * gradient there); the same with 1, 2 and 3 threads; backward adds to dpred. */
static void cellmean_loss(void **s) {
    (void)s;
    enum { FR = 2, H = 4, W = 6, C = 3, CH = 2, CW = 3, N = FR * H * W * C };
    tu_rng r;
    tu_seed(&r, 14);
    float *p = tu_falloc(N), *y = tu_falloc(N), *m = tu_falloc(N), *dp = tu_falloc(N), *dp2 = tu_falloc(N);
    tu_fill(&r, p, N, 1.0);
    tu_fill(&r, y, N, 1.0);
    fill_mask(&r, m, N, MASK_FRACTIONAL); /* channels of a pixel weighed apart */
    for (int y0 = 0; y0 < CH; y0++)
        for (int x0 = 0; x0 < CW; x0++)
            for (int k = 0; k < C; k++) m[(y0 * W + x0) * C + k] = 0.0f; /* frame 0, cell 0 */
    for (int k = 0; k < C; k++) m[CH * W * C + k] = 1.0f; /* frame 0, cell 2 counts */
    double *pd = tu_to_double(p, N), *yd = tu_to_double(y, N), *md = tu_to_double(m, N), *g = tu_dalloc(N);
    for (int masked = 0; masked < 2; masked++) {
        const float *mask = masked ? m : NULL;
        cm_ctx c = {FR, H, W, C, CH, CW, yd, masked ? md : NULL};
        double *in[1] = {pd}, want, G = 0.7;
        ref_cellmean(&c, in, &want);
        gl_set_threads(1);
        double sq;
        int64_t groups;
        gl_cellmean_sums(p, y, mask, FR, H, W, C, CH, CW, &sq, &groups);
        fail_if_far("cell means' squared error", sq, want, 1e-12);
        assert_int_equal(groups, FR * (H / CH) * (W / CW) * C - (masked ? C : 0));
        memset(dp, 0, N * sizeof(float));
        gl_cellmean_backward(dp, p, y, mask, FR, H, W, C, CH, CW, (float)G);
        tu_numgrad(ref_cellmean, &c, in, 0, N, 1, &G, TU_EPS, g);
        tu_check("cell means dpred", dp, g, N, TU_TOL);
        if (masked)
            for (int k = 0; k < C; k++) assert_true(dp[k] == 0.0f); /* frame 0, pixel (0, 0): cell 0 */
        for (int t = 2; t <= 3; t++) {
            gl_set_threads(t);
            double sq2;
            int64_t groups2;
            gl_cellmean_sums(p, y, mask, FR, H, W, C, CH, CW, &sq2, &groups2);
            assert_true(memcmp(&sq2, &sq, sizeof sq) == 0 && groups2 == groups);
            for (int i = 0; i < N; i++) dp2[i] = 1.0f;
            gl_cellmean_backward(dp2, p, y, mask, FR, H, W, C, CH, CW, (float)G);
            for (int i = 0; i < N; i++) dp2[i] -= 1.0f;
            tu_check_ff("cell means dpred, more threads, added", dp2, dp, N, TU_TOL_THREADS);
        }
        gl_set_threads(2);
    }
    tu_free(pd); tu_free(yd); tu_free(md); tu_free(g);
    tu_free(p); tu_free(y); tu_free(m); tu_free(dp); tu_free(dp2);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(mse_masks),
    cmocka_unit_test(mse_zero_mask),
    cmocka_unit_test(mse_threads_bitwise),
    cmocka_unit_test(mse_accumulates),
    cmocka_unit_test(mse_sums_split),
    cmocka_unit_test(cellmean_loss),
};
TU_MAIN("mse", tests)
