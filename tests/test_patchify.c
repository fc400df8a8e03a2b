/* tests/test_patchify.c: 3D patches. Literal tiny cases, a double reference that walks
 * the video rather than the tokens, finite differences, and the exact round trip. */
#include <string.h>

#include "gridlora/core.h"
#include "gridlora/nn.h"
#include "testutil.h"

static int64_t video_numel(gl_patch_dims d) { return d.B * d.F * d.H * d.W * d.C; }

/* For video element (b,f,y,x,c): the index of the token element that holds it, found
 * from the definition in nn.h by walking the video (src/nn goes by tokens). */
static int64_t ref_token_index(gl_patch_dims d, int64_t b, int64_t f, int64_t y, int64_t x,
                               int64_t c) {
    int64_t nh = d.H / d.ph, nw = d.W / d.pw, ntok = (d.F / d.pt) * nh * nw;
    int64_t tok = ((f / d.pt) * nh + y / d.ph) * nw + x / d.pw;
    int64_t off = (((f % d.pt) * d.ph + y % d.ph) * d.pw + x % d.pw) * d.C + c;
    return (b * ntok + tok) * (d.pt * d.ph * d.pw * d.C) + off;
}

/* in[0] = video; out = tokens */
static void ref_patchify(void *vctx, double *const *in, double *out) {
    const gl_patch_dims *d = vctx;
    int64_t v = 0;
    for (int64_t b = 0; b < d->B; b++)
        for (int64_t f = 0; f < d->F; f++)
            for (int64_t y = 0; y < d->H; y++)
                for (int64_t x = 0; x < d->W; x++)
                    for (int64_t c = 0; c < d->C; c++, v++)
                        out[ref_token_index(*d, b, f, y, x, c)] = in[0][v];
}

/* in[0] = tokens; out = video */
static void ref_unpatchify(void *vctx, double *const *in, double *out) {
    const gl_patch_dims *d = vctx;
    int64_t v = 0;
    for (int64_t b = 0; b < d->B; b++)
        for (int64_t f = 0; f < d->F; f++)
            for (int64_t y = 0; y < d->H; y++)
                for (int64_t x = 0; x < d->W; x++)
                    for (int64_t c = 0; c < d->C; c++, v++)
                        out[v] = in[0][ref_token_index(*d, b, f, y, x, c)];
}

/* All four functions with the current thread count: tokens and video from the
 * forwards, and the backwards of patchify (dvideo, from gt) and unpatchify (dtok,
 * from gv), into zeroed buffers. */
static void run_patch(gl_patch_dims d, const float *video, const float *tokens,
                      const float *gt, const float *gv, float *tok_out, float *vid_out,
                      float *dvideo, float *dtok) {
    int64_t nv = video_numel(d), ntk = d.B * gl_patch_tokens(d) * gl_patch_size(d);
    gl_patchify_forward(tok_out, video, d);
    gl_unpatchify_forward(vid_out, tokens, d);
    memset(dvideo, 0, (size_t)nv * sizeof(float));
    memset(dtok, 0, (size_t)ntk * sizeof(float));
    gl_patchify_backward(dvideo, gt, d);
    gl_unpatchify_backward(dtok, gv, d);
}

static void check_patch(gl_patch_dims d, uint64_t seed) {
    int64_t nv = video_numel(d), ntk = d.B * gl_patch_tokens(d) * gl_patch_size(d);
    assert_int_equal(nv, ntk);
    tu_rng r;
    tu_seed(&r, seed);
    float *video = tu_falloc(nv), *tokens = tu_falloc(ntk), *gt = tu_falloc(ntk),
          *gv = tu_falloc(nv);
    float *tok_out = tu_falloc(ntk), *vid_out = tu_falloc(nv), *dvideo = tu_falloc(nv),
          *dtok = tu_falloc(ntk);
    tu_fill(&r, video, nv, 1.0);
    tu_fill(&r, tokens, ntk, 1.0);
    tu_fill(&r, gt, ntk, 1.0);
    tu_fill(&r, gv, nv, 1.0);

    gl_set_threads(1);
    run_patch(d, video, tokens, gt, gv, tok_out, vid_out, dvideo, dtok);

    /* A pure permutation: the reference values are the inputs, so the match is exact
     * (tolerance 0), and so is the finite-difference gradient up to its rounding. */
    double *vin[1] = {tu_to_double(video, nv)}, *tin[1] = {tu_to_double(tokens, ntk)};
    double *want_tok = tu_dalloc(ntk), *want_vid = tu_dalloc(nv);
    ref_patchify(&d, vin, want_tok);
    tu_check("patchify forward", tok_out, want_tok, ntk, 0.0);
    ref_unpatchify(&d, tin, want_vid);
    tu_check("unpatchify forward", vid_out, want_vid, nv, 0.0);

    double *Gt = tu_to_double(gt, ntk), *Gv = tu_to_double(gv, nv), *num = tu_dalloc(nv);
    tu_numgrad(ref_patchify, &d, vin, 0, nv, ntk, Gt, TU_EPS, num);
    tu_check("patchify dvideo", dvideo, num, nv, TU_TOL);
    tu_numgrad(ref_unpatchify, &d, tin, 0, ntk, nv, Gv, TU_EPS, num);
    tu_check("unpatchify dtokens", dtok, num, ntk, TU_TOL);

    /* unpatchify(patchify(x)) == x and patchify(unpatchify(t)) == t, bit for bit */
    float *back = tu_falloc(nv), *back_t = tu_falloc(ntk);
    gl_unpatchify_forward(back, tok_out, d);
    assert_memory_equal(back, video, (size_t)nv * sizeof(float));
    gl_patchify_forward(back_t, vid_out, d);
    assert_memory_equal(back_t, tokens, (size_t)ntk * sizeof(float));

    float *tok2 = tu_falloc(ntk), *vid2 = tu_falloc(nv), *dvideo2 = tu_falloc(nv),
          *dtok2 = tu_falloc(ntk);
    gl_set_threads(2);
    run_patch(d, video, tokens, gt, gv, tok2, vid2, dvideo2, dtok2);
    tu_check_ff("patchify forward, 2 threads", tok2, tok_out, ntk, TU_TOL_THREADS);
    tu_check_ff("unpatchify forward, 2 threads", vid2, vid_out, nv, TU_TOL_THREADS);
    tu_check_ff("patchify dvideo, 2 threads", dvideo2, dvideo, nv, TU_TOL_THREADS);
    tu_check_ff("unpatchify dtokens, 2 threads", dtok2, dtok, ntk, TU_TOL_THREADS);

    tu_free(vin[0]); tu_free(tin[0]); tu_free(want_tok); tu_free(want_vid);
    tu_free(Gt); tu_free(Gv); tu_free(num); tu_free(back); tu_free(back_t);
    tu_free(video); tu_free(tokens); tu_free(gt); tu_free(gv);
    tu_free(tok_out); tu_free(vid_out); tu_free(dvideo); tu_free(dtok);
    tu_free(tok2); tu_free(vid2); tu_free(dvideo2); tu_free(dtok2);
}

static void patchify_sizes(void **s) {
    (void)s;
    gl_patch_dims a = {1, 2, 2, 4, 1, 1, 2, 2};
    assert_int_equal(gl_patch_tokens(a), 4);
    assert_int_equal(gl_patch_size(a), 4);
    gl_patch_dims b = {3, 6, 12, 20, 3, 2, 4, 4}; /* 3 x 3 x 5 patches of 2x4x4x3 */
    assert_int_equal(gl_patch_tokens(b), 45);
    assert_int_equal(gl_patch_size(b), 96);
    gl_patch_dims c = {2, 1, 1, 1, 16, 1, 1, 1};  /* every pixel its own token */
    assert_int_equal(gl_patch_tokens(c), 1);
    assert_int_equal(gl_patch_size(c), 16);
}

/* Tiny cases checked by hand. */
static void patchify_literal(void **s) {
    (void)s;
    /* B=1, F=2, H=2, W=4, C=1; patch 1x2x2. video[f][y][x] = 8f + 4y + x. Tokens go
     * (frame, row, column), each vector (dy, dx): 2 frames x 1 row x 2 columns. */
    {
        gl_patch_dims d = {1, 2, 2, 4, 1, 1, 2, 2};
        float video[16], tokens[16], back[16];
        for (int i = 0; i < 16; i++) video[i] = (float)i;
        const float want[16] = {
            0, 1, 4, 5,      /* frame 0, column 0 */
            2, 3, 6, 7,      /* frame 0, column 1 */
            8, 9, 12, 13,    /* frame 1, column 0 */
            10, 11, 14, 15,  /* frame 1, column 1 */
        };
        gl_patchify_forward(tokens, video, d);
        assert_memory_equal(tokens, want, sizeof(want));
        gl_unpatchify_forward(back, tokens, d);
        assert_memory_equal(back, video, sizeof(video));
    }
    /* Channel and time order: B=1, F=2, H=1, W=2, C=2; patch 2x1x1.
     * video[f][x][c] = 4f + 2x + c; each token is (dt, channel). */
    {
        gl_patch_dims d = {1, 2, 1, 2, 2, 2, 1, 1};
        float video[8], tokens[8];
        for (int i = 0; i < 8; i++) video[i] = (float)i;
        const float want[8] = {
            0, 1, 4, 5,  /* column 0: frame 0 (c0, c1), frame 1 (c0, c1) */
            2, 3, 6, 7,  /* column 1 */
        };
        gl_patchify_forward(tokens, video, d);
        assert_memory_equal(tokens, want, sizeof(want));
    }
    /* Batch items stay apart: B=2, F=1, H=2, W=2, C=1; patch 1x1x2. */
    {
        gl_patch_dims d = {2, 1, 2, 2, 1, 1, 1, 2};
        float video[8], tokens[8];
        for (int i = 0; i < 8; i++) video[i] = (float)i;
        const float want[8] = {0, 1, 2, 3, 4, 5, 6, 7}; /* rows are already the patches */
        gl_patchify_forward(tokens, video, d);
        assert_memory_equal(tokens, want, sizeof(want));
    }
}

static void patchify_reference(void **s) {
    (void)s;
    check_patch((gl_patch_dims){1, 2, 2, 4, 1, 1, 2, 2}, 1);
    check_patch((gl_patch_dims){1, 6, 12, 4, 3, 2, 4, 4}, 2);  /* 2x4x4, C=3: 3x3x1 patches */
    check_patch((gl_patch_dims){1, 2, 4, 20, 3, 2, 4, 4}, 3);  /* 1x1x5 patches */
    check_patch((gl_patch_dims){2, 3, 5, 7, 2, 1, 1, 1}, 4);   /* patch of one pixel */
    check_patch((gl_patch_dims){1, 1, 3, 3, 1, 1, 3, 3}, 5);   /* one token */
    check_patch((gl_patch_dims){1, 5, 6, 9, 2, 5, 2, 3}, 6);   /* 1x3x3 patches of 5x2x3 */
}

/* Both backwards add to what their gradient buffer holds. */
static void patchify_accumulates(void **s) {
    (void)s;
    gl_patch_dims d = {2, 2, 4, 4, 3, 1, 2, 2};
    enum { N = 2 * 2 * 4 * 4 * 3 };
    assert_int_equal(d.B * gl_patch_tokens(d) * gl_patch_size(d), N);
    tu_rng r;
    tu_seed(&r, 9);
    float gt[N], gv[N], dv1[N] = {0}, dv2[N], dt1[N] = {0}, dt2[N];
    tu_fill(&r, gt, N, 1.0);
    tu_fill(&r, gv, N, 1.0);
    gl_patchify_backward(dv1, gt, d);
    gl_unpatchify_backward(dt1, gv, d);
    for (int i = 0; i < N; i++) { dv2[i] = 0.5f * (float)i; dt2[i] = -1.0f; }
    gl_patchify_backward(dv2, gt, d);
    gl_unpatchify_backward(dt2, gv, d);
    for (int i = 0; i < N; i++) {
        assert_float_equal(dv2[i], dv1[i] + 0.5f * (float)i, 1e-5);
        assert_float_equal(dt2[i], dt1[i] - 1.0f, 1e-5);
    }
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(patchify_sizes),
    cmocka_unit_test(patchify_literal),
    cmocka_unit_test(patchify_reference),
    cmocka_unit_test(patchify_accumulates),
};
TU_MAIN("patchify", tests)
