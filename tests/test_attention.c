/* tests/test_attention.c: multi-head attention (self, cross, masked) against a double
 * reference and finite differences, following tests/test_linear.c's pattern. The kernel
 * is flash-style (tiles of 256 queries x 256 keys, online softmax): shapes beyond one
 * tile, and masks that forbid whole tiles, are checked too.
 * The bf16 path (GL_PRECISION_BF16: tile products through oneDNN's bf16 matmul) is
 * checked against the fp32 path within BF16_TOL, normwise: ||bf16 - fp32|| / ||fp32||
 * (2-norms over a whole tensor). Why 1e-2: each operand of a tile product is rounded to
 * bf16's 8 significant bits (relative error <= 2^-9), so a product term errs by up to
 * 2^-8 of its size; over K terms of random sign the error grows as sqrt(K), as the sum
 * itself does, so a product errs by about 2^-8 (4e-3) of its norm, less in the 2-norm
 * where errors average. The forward chains two products (scores, then P v; an error in
 * a score is a relative error in its probability), the backward three (P, dP, then dS k
 * or dS^T q), errors adding roughly in quadrature: a few 1e-3 (the measured figures are
 * printed). 1e-2 keeps a margin over that, while a wrong tile product (a transpose, a
 * lost accumulation, a wrong edge tile) errs by order 1. bf16 must also differ from fp32
 * by more than float rounding (> 1e-6), proving the bf16 products ran. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "gridlora/core.h"
#include "gridlora/nn.h"
#include "gridlora/precision.h"
#include "testutil.h"

#define BF16_TOL 1e-2

enum { GRAD_Q = 1, GRAD_K = 2, GRAD_V = 4, GRAD_ALL = 7 };

typedef struct attn_ctx {
    gl_attn_dims d;
    const uint8_t *mask; /* NULL: all allowed */
    int64_t bstride;
    double *lse;         /* [B,H,Tq], written by the reference when not NULL (-inf: empty row) */
    double *s;           /* [Tk] work row */
} attn_ctx;

static int allowed(const attn_ctx *c, int64_t b, int64_t i, int64_t j) {
    return !c->mask || c->mask[b * c->bstride + i * c->d.Tk + j] != 0;
}

/* in[0] = q [B,Tq,H*D], in[1] = k [B,Tk,H*D], in[2] = v [B,Tk,H*D]; out [B,Tq,H*D].
 * Written from the definition, loop by loop: softmax over the allowed keys only, a
 * query with none allowed gives 0. */
static void ref_attention(void *vctx, double *const *in, double *out) {
    const attn_ctx *c = vctx;
    const int64_t B = c->d.B, Tq = c->d.Tq, Tk = c->d.Tk, H = c->d.H, D = c->d.D, C = H * D;
    const double scale = 1.0 / sqrt((double)D);
    const double *q = in[0], *k = in[1], *v = in[2];
    for (int64_t b = 0; b < B; b++)
        for (int64_t h = 0; h < H; h++)
            for (int64_t i = 0; i < Tq; i++) {
                double mx = -INFINITY;
                int any = 0;
                for (int64_t j = 0; j < Tk; j++) {
                    if (!allowed(c, b, i, j)) continue;
                    double s = 0;
                    for (int64_t e = 0; e < D; e++)
                        s += q[(b * Tq + i) * C + h * D + e] * k[(b * Tk + j) * C + h * D + e];
                    c->s[j] = s * scale;
                    if (c->s[j] > mx) mx = c->s[j];
                    any = 1;
                }
                double sum = 0;
                for (int64_t j = 0; j < Tk; j++)
                    if (allowed(c, b, i, j)) sum += exp(c->s[j] - mx);
                if (c->lse) c->lse[(b * H + h) * Tq + i] = any ? mx + log(sum) : -INFINITY;
                for (int64_t j = 0; j < Tk; j++) {
                    double p = any && allowed(c, b, i, j) ? exp(c->s[j] - mx) / sum : 0.0;
                    c->s[j] = p;
                }
                for (int64_t e = 0; e < D; e++) {
                    double o = 0;
                    for (int64_t j = 0; j < Tk; j++) o += c->s[j] * v[(b * Tk + j) * C + h * D + e];
                    out[(b * Tq + i) * C + h * D + e] = o;
                }
            }
}

/* The analytic backward in double, from the definition (for shapes too large for finite
 * differences): dP_ij = g_i . v_j, dS = P o (dP - sum_j P_ij dP_ij), dq_i = scale
 * sum_j dS_ij k_j, dk_j = scale sum_i dS_ij q_i, dv_j = sum_i P_ij g_i. */
static void ref_attention_backward(const attn_ctx *c, double *const *in, const double *g,
                                   double *dq, double *dk, double *dv) {
    const int64_t B = c->d.B, Tq = c->d.Tq, Tk = c->d.Tk, H = c->d.H, D = c->d.D, C = H * D;
    const double scale = 1.0 / sqrt((double)D);
    const double *q = in[0], *k = in[1], *v = in[2];
    double *p = tu_dalloc(Tk), *dp = tu_dalloc(Tk);
    memset(dq, 0, (size_t)(B * Tq * C) * sizeof(double));
    memset(dk, 0, (size_t)(B * Tk * C) * sizeof(double));
    memset(dv, 0, (size_t)(B * Tk * C) * sizeof(double));
    for (int64_t b = 0; b < B; b++)
        for (int64_t h = 0; h < H; h++)
            for (int64_t i = 0; i < Tq; i++) {
                const double *qi = q + (b * Tq + i) * C + h * D, *gi = g + (b * Tq + i) * C + h * D;
                double mx = -INFINITY, sum = 0, dot = 0;
                for (int64_t j = 0; j < Tk; j++) {
                    p[j] = -INFINITY;
                    if (!allowed(c, b, i, j)) continue;
                    double s = 0;
                    for (int64_t e = 0; e < D; e++) s += qi[e] * k[(b * Tk + j) * C + h * D + e];
                    p[j] = s * scale;
                    if (p[j] > mx) mx = p[j];
                }
                if (mx == -INFINITY) continue;
                for (int64_t j = 0; j < Tk; j++) sum += p[j] == -INFINITY ? 0 : exp(p[j] - mx);
                for (int64_t j = 0; j < Tk; j++) {
                    p[j] = p[j] == -INFINITY ? 0 : exp(p[j] - mx) / sum;
                    double s = 0;
                    for (int64_t e = 0; e < D; e++) s += gi[e] * v[(b * Tk + j) * C + h * D + e];
                    dp[j] = s;
                    dot += p[j] * s;
                }
                for (int64_t j = 0; j < Tk; j++) {
                    double ds = p[j] * (dp[j] - dot) * scale;
                    for (int64_t e = 0; e < D; e++) {
                        int64_t kj = (b * Tk + j) * C + h * D + e;
                        dq[(b * Tq + i) * C + h * D + e] += ds * k[kj];
                        dk[kj] += ds * qi[e];
                        dv[kj] += p[j] * gi[e];
                    }
                }
            }
    tu_free(p);
    tu_free(dp);
}

/* Forward, then backward into zeroed gradients (NULL where not wanted), with the
 * current thread count and scratch of exactly the documented size. */
static void run_attn(const attn_ctx *c, const float *q, const float *k, const float *v,
                     const float *g, float *out, float *lse, float *dq, float *dk, float *dv) {
    const gl_attn_dims d = c->d;
    const int64_t nq = d.B * d.Tq * d.H * d.D, nk = d.B * d.Tk * d.H * d.D;
    float *scratch = tu_falloc((int64_t)gl_attention_scratch_floats(d, gl_threads()) + 1);
    gl_attention_forward(out, lse, scratch, q, k, v, c->mask, c->bstride, d);
    if (dq) memset(dq, 0, (size_t)nq * sizeof(float));
    if (dk) memset(dk, 0, (size_t)nk * sizeof(float));
    if (dv) memset(dv, 0, (size_t)nk * sizeof(float));
    gl_attention_backward(dq, dk, dv, scratch, g, out, lse, q, k, v, c->mask, c->bstride, d);
    tu_free(scratch);
}

/* lse against the reference: -inf exactly where the reference has -inf (rows that may
 * attend nothing), the finite rest within tol. */
static void check_lse(const char *what, const float *got, const double *want, int64_t n, double tol) {
    float *g = tu_falloc(n);
    double *w = tu_dalloc(n);
    for (int64_t i = 0; i < n; i++) {
        if (isinf(want[i]) != isinf(got[i]) || (isinf(want[i]) && (want[i] > 0 || got[i] > 0)))
            fail_msg("%s: row %lld is %g, expected %g", what, (long long)i, (double)got[i], want[i]);
        g[i] = isinf(got[i]) ? 0.0f : got[i];
        w[i] = isinf(want[i]) ? 0.0 : want[i];
    }
    tu_check(what, g, w, n, tol);
    tu_free(g);
    tu_free(w);
}

/* Two lse results (1 thread against 2): the same rows -inf, the rest within tol. */
static void check_lse_ff(const char *what, const float *got, const float *want, int64_t n, double tol) {
    double *w = tu_dalloc(n);
    for (int64_t i = 0; i < n; i++) w[i] = want[i];
    check_lse(what, got, w, n, tol);
    tu_free(w);
}

static void assert_finite(const char *what, const float *x, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        if (!isfinite(x[i])) fail_msg("%s: element %lld is %g", what, (long long)i, (double)x[i]);
}

static void assert_same(const char *what, const float *got, const float *want, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        if (got[i] != want[i])
            fail_msg("%s: element %lld differs: %.9g vs %.9g", what, (long long)i,
                     (double)got[i], (double)want[i]);
}

/* The whole proof for one shape, mask and choice of gradients. */
static void check_attention(int64_t B, int64_t Tq, int64_t Tk, int64_t H, int64_t D,
                            const uint8_t *mask, int64_t bstride, int grads, uint64_t seed) {
    const gl_attn_dims d = {B, Tq, Tk, H, D};
    const int64_t C = H * D, nq = B * Tq * C, nk = B * Tk * C, np = B * H * Tq;
    attn_ctx c = {d, mask, bstride, NULL, tu_dalloc(Tk)};
    tu_rng r;
    tu_seed(&r, seed);
    float *q = tu_falloc(nq), *k = tu_falloc(nk), *v = tu_falloc(nk), *g = tu_falloc(nq);
    float *out = tu_falloc(nq), *lse = tu_falloc(np);
    float *dq = tu_falloc(nq), *dk = tu_falloc(nk), *dv = tu_falloc(nk);
    float *wq = grads & GRAD_Q ? dq : NULL, *wk = grads & GRAD_K ? dk : NULL,
          *wv = grads & GRAD_V ? dv : NULL;
    tu_fill(&r, q, nq, 1.0);
    tu_fill(&r, k, nk, 1.0);
    tu_fill(&r, v, nk, 1.0);
    tu_fill(&r, g, nq, 1.0);

    gl_set_threads(1);
    run_attn(&c, q, k, v, g, out, lse, wq, wk, wv);
    assert_finite("attention out", out, nq);
    assert_finite("attention dq", dq, nq);
    assert_finite("attention dk", dk, nk);
    assert_finite("attention dv", dv, nk);

    double *in[3] = {tu_to_double(q, nq), tu_to_double(k, nk), tu_to_double(v, nk)};
    double *G = tu_to_double(g, nq), *oref = tu_dalloc(nq), *pref = tu_dalloc(np);
    c.lse = pref;
    ref_attention(&c, in, oref);
    c.lse = NULL;
    tu_check("attention forward", out, oref, nq, TU_TOL);
    check_lse("attention lse", lse, pref, np, TU_TOL);

    /* Fully masked query rows: output exactly 0, lse -inf (checked above), and such a
     * row's query receives exactly no gradient. */
    for (int64_t b = 0; b < B; b++)
        for (int64_t i = 0; i < Tq; i++) {
            int any = 0;
            for (int64_t j = 0; j < Tk; j++)
                if (allowed(&c, b, i, j)) any = 1;
            if (any) continue;
            for (int64_t e = 0; e < C; e++) {
                assert_true(out[(b * Tq + i) * C + e] == 0.0f);
                assert_true(dq[(b * Tq + i) * C + e] == 0.0f);
            }
        }

    double *num = tu_dalloc(nq > nk ? nq : nk);
    if (wq) {
        tu_numgrad(ref_attention, &c, in, 0, nq, nq, G, TU_EPS, num);
        tu_check("attention dq", dq, num, nq, TU_TOL);
    }
    if (wk) {
        tu_numgrad(ref_attention, &c, in, 1, nk, nq, G, TU_EPS, num);
        tu_check("attention dk", dk, num, nk, TU_TOL);
    }
    if (wv) {
        tu_numgrad(ref_attention, &c, in, 2, nk, nq, G, TU_EPS, num);
        tu_check("attention dv", dv, num, nk, TU_TOL);
    }

    /* A gradient left out changes nothing in the others (same thread count, so the
     * same sgemm calls on the same data: bit for bit). */
    float *out2 = tu_falloc(nq), *lse2 = tu_falloc(np), *dq2 = tu_falloc(nq),
          *dk2 = tu_falloc(nk), *dv2 = tu_falloc(nk);
    if (grads != GRAD_ALL) {
        run_attn(&c, q, k, v, g, out2, lse2, dq2, dk2, dv2);
        if (wq) assert_same("attention dq, others NULL", dq, dq2, nq);
        if (wk) assert_same("attention dk, others NULL", dk, dk2, nk);
        if (wv) assert_same("attention dv, others NULL", dv, dv2, nk);
    }

    /* 2 threads against 1 */
    gl_set_threads(2);
    run_attn(&c, q, k, v, g, out2, lse2, wq ? dq2 : NULL, wk ? dk2 : NULL, wv ? dv2 : NULL);
    tu_check_ff("attention forward, 2 threads", out2, out, nq, TU_TOL_THREADS);
    check_lse_ff("attention lse, 2 threads", lse2, lse, np, TU_TOL_THREADS);
    if (wq) tu_check_ff("attention dq, 2 threads", dq2, dq, nq, TU_TOL_THREADS);
    if (wk) tu_check_ff("attention dk, 2 threads", dk2, dk, nk, TU_TOL_THREADS);
    if (wv) tu_check_ff("attention dv, 2 threads", dv2, dv, nk, TU_TOL_THREADS);

    for (int i = 0; i < 3; i++) tu_free(in[i]);
    tu_free(G); tu_free(oref); tu_free(pref); tu_free(num); tu_free(c.s);
    tu_free(q); tu_free(k); tu_free(v); tu_free(g); tu_free(out); tu_free(lse);
    tu_free(dq); tu_free(dk); tu_free(dv);
    tu_free(out2); tu_free(lse2); tu_free(dq2); tu_free(dk2); tu_free(dv2);
}

/* A random mask [n] with about `keep` of its entries allowed. */
static uint8_t *random_mask(tu_rng *r, int64_t n, double keep) {
    uint8_t *m = test_calloc(n ? (size_t)n : 1, 1);
    assert_non_null(m);
    for (int64_t i = 0; i < n; i++) m[i] = tu_uniform(r) < keep;
    return m;
}

static void attention_self(void **s) {
    (void)s;
    check_attention(2, 4, 4, 2, 3, NULL, 0, GRAD_ALL, 11);
    check_attention(1, 6, 6, 3, 4, NULL, 0, GRAD_ALL, 12);
    check_attention(3, 3, 3, 1, 8, NULL, 0, GRAD_ALL, 13);
    check_attention(2, 5, 5, 4, 2, NULL, 0, GRAD_ALL, 14);
}

static void attention_cross(void **s) {
    (void)s;
    check_attention(2, 5, 9, 2, 3, NULL, 0, GRAD_ALL, 21);
    check_attention(1, 7, 2, 3, 5, NULL, 0, GRAD_ALL, 22);
    check_attention(2, 1, 6, 2, 2, NULL, 0, GRAD_ALL, 23);
    check_attention(1, 9, 5, 1, 4, NULL, 0, GRAD_ALL, 24);
}

static void attention_odd_sizes(void **s) {
    (void)s;
    check_attention(1, 1, 1, 1, 1, NULL, 0, GRAD_ALL, 31);
    check_attention(1, 3, 1, 1, 1, NULL, 0, GRAD_ALL, 32); /* Tk = 1: P is all ones */
    check_attention(1, 1, 4, 1, 1, NULL, 0, GRAD_ALL, 33);
    check_attention(2, 3, 1, 2, 3, NULL, 0, GRAD_ALL, 34);
    check_attention(3, 2, 5, 3, 1, NULL, 0, GRAD_ALL, 35);
    check_attention(1, 5, 7, 1, 3, NULL, 0, GRAD_ALL, 36);
}

/* One mask per batch item (bstride Tq*Tk), with fully masked query rows, a fully
 * masked batch item and a fully masked key column. */
static void attention_masked(void **s) {
    (void)s;
    tu_rng r;
    tu_seed(&r, 41);
    {
        enum { B = 3, Tq = 5, Tk = 6 };
        uint8_t *m = random_mask(&r, B * Tq * Tk, 0.5);
        for (int j = 0; j < Tk; j++) {
            m[(0 * Tq + 1) * Tk + j] = 0;      /* batch 0, query 1: nothing allowed */
            m[(0 * Tq + 2) * Tk + j] = j == 3; /* batch 0, query 2: only key 3 */
            m[(2 * Tq + 4) * Tk + j] = 0;      /* batch 2, query 4: nothing */
        }
        for (int i = 0; i < Tq; i++) m[(2 * Tq + i) * Tk + 0] = 0; /* batch 2, key 0: never */
        for (int i = 0; i < Tq * Tk; i++) m[1 * Tq * Tk + i] = 0;  /* batch 1: all masked */
        check_attention(B, Tq, Tk, 2, 3, m, Tq * Tk, GRAD_ALL, 42);
        test_free(m);
    }
    {
        /* Self-attention, a different causal window per batch item, one empty row. */
        enum { B = 2, T = 4 };
        uint8_t *m = random_mask(&r, B * T * T, 0.0);
        for (int b = 0; b < B; b++)
            for (int i = 0; i < T; i++)
                for (int j = 0; j < T; j++) m[(b * T + i) * T + j] = j <= i && i - j <= b + 1;
        for (int j = 0; j < T; j++) m[(1 * T + 2) * T + j] = 0;
        check_attention(B, T, T, 3, 2, m, T * T, GRAD_ALL, 43);
        test_free(m);
    }
    {
        /* Tk = 1: each query sees its one key or nothing. */
        enum { B = 2, Tq = 3, Tk = 1 };
        uint8_t m[B * Tq * Tk] = {1, 0, 1, 0, 0, 1};
        check_attention(B, Tq, Tk, 2, 2, m, Tq * Tk, GRAD_ALL, 44);
    }
    {
        /* A masked key with a huge score (1e4) must not count in the row max: if it
         * did, exp of every allowed score would underflow to 0 and the row be 0/0. */
        enum { Tq = 2, Tk = 3, D = 4 };
        float q[Tq * D], k[Tk * D], v[Tk * D], out[Tq * D], lse[Tq];
        tu_fill(&r, q, Tq * D, 1);
        tu_fill(&r, v, Tk * D, 1);
        for (int i = 0; i < Tq * D; i++) q[i] = 50.0f;
        for (int i = 0; i < Tk * D; i++) k[i] = i < D ? 100.0f : (float)(tu_normal(&r) * 0.1);
        const uint8_t m[Tq * Tk] = {0, 1, 1, 0, 0, 1};
        gl_attn_dims d1 = {1, Tq, Tk, 1, D};
        float *scratch = tu_falloc((int64_t)gl_attention_scratch_floats(d1, gl_threads()));
        gl_attention_forward(out, lse, scratch, q, k, v, m, 0, d1);
        tu_free(scratch);
        attn_ctx c = {{1, Tq, Tk, 1, D}, m, 0, NULL, tu_dalloc(Tk)};
        double *in[3] = {tu_to_double(q, Tq * D), tu_to_double(k, Tk * D),
                         tu_to_double(v, Tk * D)};
        double *oref = tu_dalloc(Tq * D);
        ref_attention(&c, in, oref);
        assert_finite("attention out, huge masked score", out, Tq * D);
        tu_check("attention out, huge masked score", out, oref, Tq * D, TU_TOL);
        for (int i = 0; i < 3; i++) tu_free(in[i]);
        tu_free(oref); tu_free(c.s);
    }
}

/* One mask for the whole batch (bstride 0). */
static void attention_shared_mask(void **s) {
    (void)s;
    tu_rng r;
    tu_seed(&r, 51);
    {
        enum { T = 5 };
        uint8_t m[T * T];
        for (int i = 0; i < T; i++)
            for (int j = 0; j < T; j++) m[i * T + j] = j <= i; /* causal */
        check_attention(2, T, T, 2, 3, m, 0, GRAD_ALL, 52);
    }
    {
        enum { Tq = 4, Tk = 7 };
        uint8_t *m = random_mask(&r, Tq * Tk, 0.6);
        for (int j = 0; j < Tk; j++) m[2 * Tk + j] = 0; /* query 2: nothing, in every item */
        check_attention(3, Tq, Tk, 2, 2, m, 0, GRAD_ALL, 53);
        test_free(m);
    }
    {
        /* A mask of all ones is the same as no mask, bit for bit. */
        enum { B = 2, Tq = 3, Tk = 5, H = 2, D = 4, C = H * D };
        uint8_t m[Tq * Tk];
        memset(m, 1, sizeof(m));
        float q[B * Tq * C], k[B * Tk * C], v[B * Tk * C], o1[B * Tq * C], o2[B * Tq * C],
            p1[B * H * Tq], p2[B * H * Tq];
        tu_fill(&r, q, B * Tq * C, 1);
        tu_fill(&r, k, B * Tk * C, 1);
        tu_fill(&r, v, B * Tk * C, 1);
        gl_attn_dims d = {B, Tq, Tk, H, D};
        float *scratch = tu_falloc((int64_t)gl_attention_scratch_floats(d, gl_threads()));
        gl_attention_forward(o1, p1, scratch, q, k, v, NULL, 0, d);
        gl_attention_forward(o2, p2, scratch, q, k, v, m, 0, d);
        tu_free(scratch);
        assert_same("all-ones mask out", o2, o1, B * Tq * C);
        assert_same("all-ones mask lse", p2, p1, B * H * Tq);
    }
}

/* Gradients given as NULL are skipped; the others come out as with all three. */
static void attention_null_grads(void **s) {
    (void)s;
    tu_rng r;
    tu_seed(&r, 61);
    enum { B = 2, Tq = 4, Tk = 5 };
    uint8_t *m = random_mask(&r, B * Tq * Tk, 0.7);
    for (int j = 0; j < Tk; j++) m[(1 * Tq + 0) * Tk + j] = 0;
    check_attention(B, Tq, Tk, 2, 3, NULL, 0, GRAD_Q, 62);
    check_attention(B, Tq, Tk, 2, 3, NULL, 0, GRAD_K, 63);
    check_attention(B, Tq, Tk, 2, 3, NULL, 0, GRAD_V, 64);
    check_attention(B, Tq, Tk, 2, 3, m, Tq * Tk, GRAD_Q | GRAD_V, 65);
    check_attention(B, Tq, Tk, 2, 3, m, Tq * Tk, GRAD_K | GRAD_V, 66);
    check_attention(B, Tq, Tk, 2, 3, m, Tq * Tk, 0, 67); /* backward does nothing */
    test_free(m);
    /* With no gradient wanted, backward needs no scratch at all. */
    gl_attn_dims d = {1, 2, 2, 1, 1};
    float x[2] = {1, 2}, l[2] = {0.5f, 0.5f};
    gl_attention_backward(NULL, NULL, NULL, NULL, x, x, l, x, x, x, NULL, 0, d);
}

/* Backward adds to what the gradient buffers hold. */
static void attention_accumulates(void **s) {
    (void)s;
    enum { B = 2, Tq = 3, Tk = 4, H = 2, D = 3, C = H * D };
    tu_rng r;
    tu_seed(&r, 71);
    float q[B * Tq * C], k[B * Tk * C], v[B * Tk * C], g[B * Tq * C], o[B * Tq * C],
        p[B * H * Tq];
    float dq1[B * Tq * C] = {0}, dk1[B * Tk * C] = {0}, dv1[B * Tk * C] = {0};
    float dq2[B * Tq * C], dk2[B * Tk * C], dv2[B * Tk * C];
    tu_fill(&r, q, B * Tq * C, 1);
    tu_fill(&r, k, B * Tk * C, 1);
    tu_fill(&r, v, B * Tk * C, 1);
    tu_fill(&r, g, B * Tq * C, 1);
    gl_attn_dims d = {B, Tq, Tk, H, D};
    float *scratch = tu_falloc((int64_t)gl_attention_scratch_floats(d, gl_threads()));
    gl_attention_forward(o, p, scratch, q, k, v, NULL, 0, d);
    gl_attention_backward(dq1, dk1, dv1, scratch, g, o, p, q, k, v, NULL, 0, d);
    for (int i = 0; i < B * Tq * C; i++) dq2[i] = 1.0f;
    for (int i = 0; i < B * Tk * C; i++) dk2[i] = -2.0f;
    for (int i = 0; i < B * Tk * C; i++) dv2[i] = 0.5f;
    gl_attention_backward(dq2, dk2, dv2, scratch, g, o, p, q, k, v, NULL, 0, d);
    for (int i = 0; i < B * Tq * C; i++) assert_float_equal(dq2[i], dq1[i] + 1.0f, 1e-5);
    for (int i = 0; i < B * Tk * C; i++) assert_float_equal(dk2[i], dk1[i] - 2.0f, 1e-5);
    for (int i = 0; i < B * Tk * C; i++) assert_float_equal(dv2[i], dv1[i] + 0.5f, 1e-5);
    tu_free(scratch);
}

/* Larger shapes, too big for finite differences: the forward against the reference,
 * every result with 1 thread against 2, including a single (batch, head) pair (where
 * OpenBLAS, not our loop, has the threads) and pairs that do not divide among them. */
static void check_threads(int64_t B, int64_t Tq, int64_t Tk, int64_t H, int64_t D,
                          const uint8_t *mask, int64_t bstride, uint64_t seed) {
    const gl_attn_dims d = {B, Tq, Tk, H, D};
    const int64_t C = H * D, nq = B * Tq * C, nk = B * Tk * C, np = B * H * Tq;
    attn_ctx c = {d, mask, bstride, NULL, tu_dalloc(Tk)};
    tu_rng r;
    tu_seed(&r, seed);
    float *x = tu_falloc(2 * nq + 2 * nk), *q = x, *k = q + nq, *v = k + nk, *g = v + nk;
    tu_fill(&r, x, 2 * nq + 2 * nk, 1.0);
    float *res[2][5];
    for (int t = 0; t < 2; t++) {
        res[t][0] = tu_falloc(nq); res[t][1] = tu_falloc(np); res[t][2] = tu_falloc(nq);
        res[t][3] = tu_falloc(nk); res[t][4] = tu_falloc(nk);
        gl_set_threads(t + 1);
        run_attn(&c, q, k, v, g, res[t][0], res[t][1], res[t][2], res[t][3], res[t][4]);
        assert_finite("attention out", res[t][0], nq);
        assert_finite("attention dq", res[t][2], nq);
        assert_finite("attention dk", res[t][3], nk);
        assert_finite("attention dv", res[t][4], nk);
    }
    double *in[3] = {tu_to_double(q, nq), tu_to_double(k, nk), tu_to_double(v, nk)};
    double *oref = tu_dalloc(nq), *lref = tu_dalloc(np), *G = tu_to_double(g, nq);
    double *dqr = tu_dalloc(nq), *dkr = tu_dalloc(nk), *dvr = tu_dalloc(nk);
    c.lse = lref;
    ref_attention(&c, in, oref);
    c.lse = NULL;
    ref_attention_backward(&c, in, G, dqr, dkr, dvr);
    tu_check("attention forward (large)", res[0][0], oref, nq, TU_TOL);
    check_lse("attention lse (large)", res[0][1], lref, np, TU_TOL);
    tu_check("attention dq (large)", res[0][2], dqr, nq, TU_TOL);
    tu_check("attention dk (large)", res[0][3], dkr, nk, TU_TOL);
    tu_check("attention dv (large)", res[0][4], dvr, nk, TU_TOL);
    tu_free(lref); tu_free(G); tu_free(dqr); tu_free(dkr); tu_free(dvr);
    tu_check_ff("attention forward, 2 threads", res[1][0], res[0][0], nq, TU_TOL_THREADS);
    check_lse_ff("attention lse, 2 threads", res[1][1], res[0][1], np, TU_TOL_THREADS);
    tu_check_ff("attention dq, 2 threads", res[1][2], res[0][2], nq, TU_TOL_THREADS);
    tu_check_ff("attention dk, 2 threads", res[1][3], res[0][3], nk, TU_TOL_THREADS);
    tu_check_ff("attention dv, 2 threads", res[1][4], res[0][4], nk, TU_TOL_THREADS);
    for (int t = 0; t < 2; t++)
        for (int i = 0; i < 5; i++) tu_free(res[t][i]);
    for (int i = 0; i < 3; i++) tu_free(in[i]);
    tu_free(oref); tu_free(x); tu_free(c.s);
}

static void attention_threads(void **s) {
    (void)s;
    tu_rng r;
    tu_seed(&r, 81);
    check_threads(2, 33, 33, 3, 16, NULL, 0, 82);
    check_threads(1, 64, 64, 1, 32, NULL, 0, 83); /* one pair */
    check_threads(1, 17, 40, 5, 8, NULL, 0, 84);  /* 5 pairs on 2 threads */
    uint8_t *m = random_mask(&r, 3 * 20 * 24, 0.3);
    for (int j = 0; j < 24; j++) m[(2 * 20 + 7) * 24 + j] = 0;
    check_threads(3, 20, 24, 3, 8, m, 20 * 24, 85);
    test_free(m);
}

/* Shapes of several tiles (256 queries x 256 keys): the online softmax across key tiles,
 * partial tiles at both ends, and masks that forbid whole tiles (which are skipped) next
 * to tiles with single allowed entries. Finite differences on a thin shape, the analytic
 * double backward on the larger ones. */
static void attention_tiles(void **s) {
    (void)s;
    tu_rng r;
    tu_seed(&r, 91);
    {
        /* 2 query tiles x 2 key tiles of 256 (both precisions' tiles, nn/attention.c);
         * queries < 256 see keys < 256 only (tile (0,1) is skipped), query 257 sees
         * only key 259, query 258 nothing */
        enum { Tq = 262, Tk = 260 };
        uint8_t *m = random_mask(&r, Tq * Tk, 0.8);
        for (int i = 0; i < Tq; i++)
            for (int j = 0; j < Tk; j++) {
                if (i < 256 && j >= 256) m[i * Tk + j] = 0;
                if (i == 257) m[i * Tk + j] = j == 259;
                if (i == 258) m[i * Tk + j] = 0;
            }
        check_attention(1, Tq, Tk, 1, 2, m, 0, GRAD_ALL, 92);
        check_attention(1, Tq, Tk, 1, 2, NULL, 0, GRAD_ALL, 93);
        test_free(m);
    }
    /* the grid layout's pattern: the first quarter of the tokens (an input cell) see only
     * themselves, the rest see everything; scores spread wide so that later tiles raise
     * the row max and earlier partial sums must be rescaled */
    enum { T = 300 };
    uint8_t *m = random_mask(&r, 2 * T * T, 1.0);
    for (int b = 0; b < 2; b++)
        for (int i = 0; i < T; i++)
            for (int j = 0; j < T; j++) m[(b * T + i) * T + j] = i >= T / 4 || (j < T / 4 && b == 0) || j == i;
    check_threads(2, T, T, 2, 8, m, T * T, 94);
    check_threads(2, T, T, 3, 4, NULL, 0, 95);
    check_threads(1, 130, 80, 2, 16, NULL, 0, 96); /* cross-attention to a prompt */
    test_free(m);
}

/* Empty dimensions are no-ops, except Tk = 0: no query may attend, so out is 0. */
static void attention_zero_sizes(void **s) {
    (void)s;
    enum { N = 64 };
    float q[N], k[N], v[N], g[N], out[N], lse[N], dq[N], dk[N], dv[N];
    for (int i = 0; i < N; i++) {
        q[i] = k[i] = v[i] = g[i] = 1.0f;
        out[i] = lse[i] = dq[i] = dk[i] = dv[i] = 7.0f;
    }
    const gl_attn_dims dims[] = {
        {0, 3, 4, 2, 2}, {2, 0, 4, 2, 2}, {2, 3, 0, 2, 2}, {2, 3, 4, 0, 2}, {2, 3, 4, 2, 0},
    };
    for (size_t t = 0; t < sizeof(dims) / sizeof(dims[0]); t++) {
        gl_attn_dims d = dims[t];
        int64_t nq = d.B * d.Tq * d.H * d.D, np = d.B * d.H * d.Tq;
        assert_true(gl_attention_scratch_floats(d, 2) == 0); /* no scratch needed */
        gl_attention_forward(out, lse, NULL, q, k, v, NULL, 0, d);
        for (int64_t i = 0; i < nq; i++) assert_true(out[i] == 0.0f); /* only Tk = 0 */
        if (d.D == 0) /* empty dot products: P uniform, lse = log(Tk) */
            for (int64_t i = 0; i < np; i++) assert_float_equal(lse[i], log((double)d.Tk), 1e-6);
        if (d.Tk == 0) /* nothing to attend to */
            for (int64_t i = 0; i < np; i++) assert_true(isinf(lse[i]) && lse[i] < 0);
        for (int i = 0; i < N; i++) out[i] = lse[i] = 7.0f;
        gl_attention_backward(dq, dk, dv, NULL, g, out, lse, q, k, v, NULL, 0, d);
        for (int i = 0; i < N; i++) assert_true(dq[i] == 7.0f && dk[i] == 7.0f && dv[i] == 7.0f);
    }
    /* a few tiles per thread, never Tq x Tk */
    gl_attn_dims d = {1, 5, 9, 2, 3};
    size_t one = gl_attention_scratch_floats(d, 1);
    assert_true(one >= 2 * 5 * 9);
    assert_true(gl_attention_scratch_floats(d, 2) == 2 * one);
    assert_true(gl_attention_scratch_floats(d, 0) == one); /* treated as 1 thread */
    gl_attn_dims big = {2, 4096, 4096, 4, 48};
    assert_true(gl_attention_scratch_floats(big, 1) < (size_t)(256 * 256 * 3 + 4096 + 256 * 48 + 256));
}

/* ---- the bf16 path ------------------------------------------------------------------- */

static int have_bf16(void) {
    if (gl_set_precision(GL_PRECISION_BF16) == GL_OK) return 1;
    print_message("this CPU has no bf16 matrix products in oneDNN: bf16 checks skipped\n");
    return 0;
}

/* ||got - want|| / ||want|| over the finite entries of want (lse's -inf rows must be
 * -inf in both, checked by the caller). */
static double norm_rel_err(const float *got, const float *want, int64_t n) {
    double e = 0, w = 0;
    for (int64_t i = 0; i < n; i++) {
        if (isinf(want[i])) continue;
        double d = (double)got[i] - want[i];
        e += d * d;
        w += (double)want[i] * want[i];
    }
    return w > 0 ? sqrt(e / w) : sqrt(e);
}

enum { R_OUT, R_LSE, R_DQ, R_DK, R_DV, R_N };

/* One forward + backward at the precision and thread count in force. */
static void bf16_run(const attn_ctx *c, const float *q, const float *k, const float *v, const float *g,
                     float *const *res, int grads) {
    run_attn(c, q, k, v, g, res[R_OUT], res[R_LSE], grads & GRAD_Q ? res[R_DQ] : NULL,
             grads & GRAD_K ? res[R_DK] : NULL, grads & GRAD_V ? res[R_DV] : NULL);
}

/* bf16 against fp32 for one shape: within BF16_TOL, yet not equal; the same -inf rows
 * and exact zeros for queries that may attend nothing; bit for bit the same when run
 * again, and with 2 threads as with 1; and fp32 after bf16 bit for bit what it was. */
static void check_bf16(int64_t B, int64_t Tq, int64_t Tk, int64_t H, int64_t D, const uint8_t *mask,
                       int64_t bstride, int grads, uint64_t seed) {
    const gl_attn_dims d = {B, Tq, Tk, H, D};
    const int64_t C = H * D, nq = B * Tq * C, nk = B * Tk * C, np = B * H * Tq;
    static const char *names[R_N] = {"out", "lse", "dq", "dk", "dv"};
    attn_ctx c = {d, mask, bstride, NULL, NULL};
    tu_rng r;
    tu_seed(&r, seed);
    float *x = tu_falloc(2 * nq + 2 * nk), *q = x, *k = q + nq, *v = k + nk, *g = v + nk;
    tu_fill(&r, x, 2 * nq + 2 * nk, 1.0);
    float *f32[R_N], *b16[R_N], *again[R_N];
    int64_t n[R_N] = {nq, np, nq, nk, nk};
    for (int i = R_DQ; i < R_N; i++)
        if (!(grads & (1 << (i - R_DQ)))) n[i] = 0; /* not asked for: nothing to compare */
    for (int i = 0; i < R_N; i++) {
        f32[i] = tu_falloc(n[i]);
        b16[i] = tu_falloc(n[i]);
        again[i] = tu_falloc(n[i]);
    }
    gl_set_threads(2);
    gl_set_precision(GL_PRECISION_FP32);
    bf16_run(&c, q, k, v, g, f32, grads);
    assert_int_equal(gl_set_precision(GL_PRECISION_BF16), GL_OK);
    bf16_run(&c, q, k, v, g, b16, grads);
    char line[160];
    int len = snprintf(line, sizeof line, "bf16 attention B%lld Tq%lld Tk%lld H%lld D%lld%s:", (long long)B,
                       (long long)Tq, (long long)Tk, (long long)H, (long long)D, mask ? " masked" : "");
    for (int i = 0; i < R_N; i++) {
        if (!n[i]) continue;
        if (i != R_LSE) assert_finite(names[i], b16[i], n[i]);
        if (i == R_LSE)
            for (int64_t j = 0; j < np; j++)
                if (isinf(f32[i][j]) != isinf(b16[i][j]) || (!isinf(b16[i][j]) && !isfinite(b16[i][j])))
                    fail_msg("bf16 lse row %lld: %g, fp32 %g", (long long)j, (double)b16[i][j], (double)f32[i][j]);
        double e = norm_rel_err(b16[i], f32[i], n[i]);
        len += snprintf(line + len, sizeof line - (size_t)len, " %s %.1e", names[i], e);
        if (!(e <= BF16_TOL)) fail_msg("bf16 attention %s: %.3g beyond %.3g", names[i], e, BF16_TOL);
        if (i == R_OUT && e < 1e-6) fail_msg("bf16 attention out: %.3g, as exact as fp32: bf16 did not run", e);
    }
    print_message("%s\n", line);
    /* queries that may attend nothing: exactly 0 out and exactly no gradient */
    for (int64_t b = 0; b < B; b++)
        for (int64_t i = 0; i < Tq; i++) {
            int any = 0;
            for (int64_t j = 0; j < Tk && !any; j++) any = allowed(&c, b, i, j);
            for (int64_t e = 0; e < C && !any; e++) {
                assert_true(b16[R_OUT][(b * Tq + i) * C + e] == 0.0f);
                if (grads & GRAD_Q) assert_true(b16[R_DQ][(b * Tq + i) * C + e] == 0.0f);
            }
        }
    bf16_run(&c, q, k, v, g, again, grads);
    for (int i = 0; i < R_N; i++) assert_same(names[i], again[i], b16[i], n[i]);
    gl_set_threads(1);
    bf16_run(&c, q, k, v, g, again, grads);
    for (int i = 0; i < R_N; i++) assert_same(names[i], again[i], b16[i], n[i]);
    gl_set_threads(2);
    gl_set_precision(GL_PRECISION_FP32);
    bf16_run(&c, q, k, v, g, again, grads);
    for (int i = 0; i < R_N; i++) assert_same(names[i], again[i], f32[i], n[i]);
    for (int i = 0; i < R_N; i++) {
        tu_free(f32[i]);
        tu_free(b16[i]);
        tu_free(again[i]);
    }
    tu_free(x);
}

/* Shapes with full and partial tiles along both axes (256 queries x 256 keys), self and
 * cross-attention, masks that skip whole tiles and leave rows empty, some gradients
 * left out, odd head sizes. */
static void attention_bf16(void **s) {
    (void)s;
    if (!have_bf16()) return;
    tu_rng r;
    tu_seed(&r, 101);
    check_bf16(2, 300, 300, 2, 16, NULL, 0, GRAD_ALL, 102); /* 2 x 2 tiles, both partial */
    check_bf16(1, 256, 256, 3, 48, NULL, 0, GRAD_ALL, 103); /* exactly one tile */
    check_bf16(2, 262, 260, 3, 8, NULL, 0, GRAD_ALL, 104);  /* cross: 2 x 2 tiles */
    check_bf16(2, 130, 20, 2, 16, NULL, 0, GRAD_ALL, 105);  /* cross to a prompt */
    check_bf16(1, 5, 7, 3, 5, NULL, 0, GRAD_ALL, 106);      /* smaller than a tile, odd D */
    check_bf16(2, 40, 1, 2, 8, NULL, 0, GRAD_ALL, 107);     /* one key: P = 1, dS = 0 */
    check_bf16(1, 100, 280, 2, 12, NULL, 0, GRAD_Q | GRAD_V, 108);
    check_bf16(1, 100, 280, 2, 12, NULL, 0, GRAD_V, 109);   /* no dS at all */
    enum { T = 300, Tq = 262, Tk = 260 };
    /* the grid layout's pattern (see attention_tiles), one mask per batch item */
    uint8_t *m = random_mask(&r, 2 * T * T, 1.0);
    for (int b = 0; b < 2; b++)
        for (int i = 0; i < T; i++)
            for (int j = 0; j < T; j++) m[(b * T + i) * T + j] = i >= T / 4 || (j < T / 4 && b == 0) || j == i;
    check_bf16(2, T, T, 2, 16, m, T * T, GRAD_ALL, 110);
    test_free(m);
    /* a shared random mask: tile (0,1) skipped, a row with one key, a row with none */
    m = random_mask(&r, Tq * Tk, 0.7);
    for (int i = 0; i < Tq; i++)
        for (int j = 0; j < Tk; j++) {
            if (i < 256 && j >= 256) m[i * Tk + j] = 0;
            if (i == 257) m[i * Tk + j] = j == 259;
            if (i == 258) m[i * Tk + j] = 0;
        }
    check_bf16(3, Tq, Tk, 2, 8, m, 0, GRAD_ALL, 111);
    check_bf16(3, Tq, Tk, 2, 8, m, 0, GRAD_K, 112);
    test_free(m);
    gl_set_precision(GL_PRECISION_FP32);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(attention_self),        cmocka_unit_test(attention_cross),
    cmocka_unit_test(attention_odd_sizes),   cmocka_unit_test(attention_masked),
    cmocka_unit_test(attention_shared_mask), cmocka_unit_test(attention_null_grads),
    cmocka_unit_test(attention_accumulates), cmocka_unit_test(attention_threads),
    cmocka_unit_test(attention_zero_sizes),  cmocka_unit_test(attention_tiles),
    cmocka_unit_test(attention_bf16),
};
TU_MAIN("attention", tests)
