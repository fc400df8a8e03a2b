/* tests/test_precision.c: the bf16 path (gridlora/precision.h): the setting, the linear
 * layer's three bf16 products against a double reference, and the whole DiT in bf16
 * against the same model in fp32 (itself proven against PyTorch to 1e-4 by test_dit), and
 * an adapter's five products (gl_lora_*_rounded) against double.
 *
 * Tolerances, and why:
 *  - Exactness (TU_TOL, 1e-4): with inputs that are already bf16 values the rounding to
 *    bf16 loses nothing, so what remains is float32 accumulation: any layout, transpose,
 *    bias or accumulate mistake errs by far more.
 *  - Rounding (BF16_TOL, 1e-2): each factor is rounded to 8 significant bits, relative
 *    error <= 2^-9 = 0.2%, so each term x w errs by <= 2^-8 |x w|; over K terms of random
 *    sign the error grows as sqrt(K) like the output itself, about 2^-8 of the output's
 *    scale; 1e-2 leaves a margin of ~2.5 over that. The path must also differ from fp32
 *    by more than float rounding (> 1e-6), proving bf16 really ran.
 *  - Model (DIT_TOL, 5e-2): a dozen bf16 layers in sequence (text encoder, adaLN, q/k/v,
 *    attention output, MLP, final), each adding ~2^-9..2^-8 relative; the errors add
 *    roughly in quadrature, and gradients go through the chain twice. Measured on this
 *    fixture: 4e-3 for the output and 2e-2 for the worst gradient tensor, 3e-2 for the
 *    worst of an attached adapter's (see the printed figures); 5e-2 keeps a margin while
 *    a wrong product (a transpose, a missing accumulate) gives errors of order 1. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gridlora/core.h"
#include "gridlora/lora.h"
#include "gridlora/model.h"
#include "gridlora/nn.h"
#include "gridlora/precision.h"
#include "testutil.h"

#define BF16_TOL 1e-2
#define DIT_TOL 5e-2

static int have_bf16(void) {
    if (gl_set_precision(GL_PRECISION_BF16) == GL_OK) return 1;
    print_message("this CPU has no bf16 matrix products in oneDNN: bf16 checks skipped\n");
    return 0;
}

static void precision_setting(void **s) {
    (void)s;
    assert_int_equal(gl_get_precision(), GL_PRECISION_FP32); /* GRIDLORA_PRECISION unset */
    assert_string_equal(gl_precision_name(GL_PRECISION_FP32), "fp32");
    assert_string_equal(gl_precision_name(GL_PRECISION_BF16), "bf16");
    assert_int_equal(gl_set_precision((gl_precision)7), GL_EINVAL);
    assert_int_equal(gl_get_precision(), GL_PRECISION_FP32);
    if (have_bf16()) assert_int_equal(gl_get_precision(), GL_PRECISION_BF16);
    assert_int_equal(gl_set_precision(GL_PRECISION_FP32), GL_OK);
    assert_int_equal(gl_get_precision(), GL_PRECISION_FP32);
}

/* Rounds to the nearest bf16 value (ties to even), as the conversion does. */
static float bf16_round(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    u += 0x7fffu + ((u >> 16) & 1u);
    u &= 0xffff0000u;
    memcpy(&f, &u, 4);
    return f;
}

/* Forward (with bias) and backward (accumulating onto nonzero gradients) of one linear
 * layer in bf16 against double; returns the worst relative error of the four results. */
static double linear_case(int64_t N, int64_t IC, int64_t OC, int pre_round, uint64_t seed) {
    tu_rng r;
    tu_seed(&r, seed);
    float *x = tu_falloc(N * IC), *w = tu_falloc(OC * IC), *b = tu_falloc(OC), *g = tu_falloc(N * OC);
    float *y = tu_falloc(N * OC), *dx = tu_falloc(N * IC), *dw = tu_falloc(OC * IC), *db = tu_falloc(OC);
    tu_fill(&r, x, N * IC, 1.0);
    tu_fill(&r, w, OC * IC, 1.0);
    tu_fill(&r, b, OC, 1.0);
    tu_fill(&r, g, N * OC, 1.0);
    if (pre_round) {
        for (int64_t i = 0; i < N * IC; i++) x[i] = bf16_round(x[i]);
        for (int64_t i = 0; i < OC * IC; i++) w[i] = bf16_round(w[i]);
        for (int64_t i = 0; i < N * OC; i++) g[i] = bf16_round(g[i]);
    }
    for (int64_t i = 0; i < N * IC; i++) dx[i] = 0.5f;
    for (int64_t i = 0; i < OC * IC; i++) dw[i] = -1.0f;
    memset(db, 0, (size_t)OC * sizeof(float));
    gl_linear_forward(y, x, w, b, N, IC, OC);
    gl_linear_backward(dx, dw, db, g, x, w, N, IC, OC);
    double *ry = tu_dalloc(N * OC), *rdx = tu_dalloc(N * IC), *rdw = tu_dalloc(OC * IC);
    for (int64_t n = 0; n < N; n++)
        for (int64_t o = 0; o < OC; o++) {
            double acc = b[o];
            for (int64_t i = 0; i < IC; i++) acc += (double)x[n * IC + i] * w[o * IC + i];
            ry[n * OC + o] = acc;
        }
    for (int64_t n = 0; n < N; n++)
        for (int64_t i = 0; i < IC; i++) {
            double acc = 0.5;
            for (int64_t o = 0; o < OC; o++) acc += (double)g[n * OC + o] * w[o * IC + i];
            rdx[n * IC + i] = acc;
        }
    for (int64_t o = 0; o < OC; o++)
        for (int64_t i = 0; i < IC; i++) {
            double acc = 0;
            for (int64_t n = 0; n < N; n++) acc += (double)g[n * OC + o] * x[n * IC + i];
            rdw[o * IC + i] = acc; /* compared after removing the -1 it accumulated onto */
        }
    for (int64_t i = 0; i < OC * IC; i++) dw[i] += 1.0f;
    double e = tu_rel_err(y, ry, N * OC, 1e-6), e2 = tu_rel_err(dx, rdx, N * IC, 1e-6);
    double e3 = tu_rel_err(dw, rdw, OC * IC, 1e-6);
    if (e2 > e) e = e2;
    if (e3 > e) e = e3;
    tu_free(x); tu_free(w); tu_free(b); tu_free(g); tu_free(y); tu_free(dx); tu_free(dw); tu_free(db);
    tu_free(ry); tu_free(rdx); tu_free(rdw);
    return e;
}

static void linear_bf16(void **s) {
    (void)s;
    if (!have_bf16()) return;
    const int64_t shapes[][3] = {{1, 1, 1}, {7, 5, 3}, {64, 48, 96}, {33, 130, 17}, {256, 64, 192}};
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        const int64_t N = shapes[i][0], IC = shapes[i][1], OC = shapes[i][2];
        double exact = linear_case(N, IC, OC, 1, 100 + i);
        double rounded = linear_case(N, IC, OC, 0, 200 + i);
        print_message("bf16 linear %lldx%lldx%lld: %.2e with bf16 inputs, %.2e with fp32 inputs\n",
                      (long long)N, (long long)IC, (long long)OC, exact, rounded);
        if (exact > TU_TOL) fail_msg("bf16 linear %zu: %.3g with exact bf16 inputs", i, exact);
        if (rounded > BF16_TOL) fail_msg("bf16 linear %zu: %.3g beyond the bf16 tolerance", i, rounded);
        if (IC > 4 && rounded < 1e-6) fail_msg("bf16 linear %zu: %.3g, as exact as fp32: bf16 did not run", i, rounded);
    }
    gl_set_precision(GL_PRECISION_FP32);
}

/* An adapter's forward (accumulating onto a nonzero output) and backward (accumulating
 * onto nonzero gradients) in bf16 against double, the input's rounding given (inp16, as
 * the model passes the base layer's) or made by the call; the worst relative error. Two
 * products in a chain, each intermediate rounded: up to twice a linear layer's error
 * (measured 3.6e-3 to 5.4e-3), inside BF16_TOL. motion: a second up-projection B2 on the
 * same h (Multi-DC's motion branch), its gradient accumulating onto nonzero too. */
static double lora_case(int64_t N, int64_t IC, int64_t OC, int64_t R, int give16, int motion, uint64_t seed) {
    tu_rng g;
    tu_seed(&g, seed);
    const float scale = 0.75f;
    float *x = tu_falloc(N * IC), *A = tu_falloc(R * IC), *B = tu_falloc(OC * R), *go = tu_falloc(N * OC);
    float *y = tu_falloc(N * OC), *h = tu_falloc(N * R), *dh = tu_falloc(N * R), *dx = tu_falloc(N * IC);
    float *dA = tu_falloc(R * IC), *dB = tu_falloc(OC * R), *B2 = tu_falloc(OC * R), *dB2 = tu_falloc(OC * R);
    tu_fill(&g, x, N * IC, 1.0);
    tu_fill(&g, A, R * IC, 1.0);
    tu_fill(&g, B, OC * R, 1.0);
    tu_fill(&g, go, N * OC, 1.0);
    tu_fill(&g, B2, OC * R, 1.0);
    for (int64_t i = 0; i < OC * R; i++) dB2[i] = 3.0f;
    /* the up-projection the reference applies: B, or B + B2 */
    double *up = tu_dalloc(OC * R);
    for (int64_t i = 0; i < OC * R; i++) up[i] = (double)B[i] + (motion ? (double)B2[i] : 0.0);
    for (int64_t i = 0; i < N * OC; i++) y[i] = 0.25f;
    for (int64_t i = 0; i < N * IC; i++) dx[i] = 0.5f;
    for (int64_t i = 0; i < R * IC; i++) dA[i] = -1.0f;
    for (int64_t i = 0; i < OC * R; i++) dB[i] = 2.0f;
    uint16_t *x16 = NULL;
    if (give16) {
        x16 = malloc((size_t)(N * IC) * sizeof *x16);
        assert_non_null(x16);
        for (int64_t i = 0; i < N * IC; i++) {
            float f = bf16_round(x[i]);
            uint32_t u;
            memcpy(&u, &f, 4);
            x16[i] = (uint16_t)(u >> 16);
        }
    }
    gl_lora_forward_rounded(y, h, x, x16, A, B, motion ? B2 : NULL, N, IC, OC, R, scale);
    gl_lora_backward_rounded(dx, dA, dB, motion ? dB2 : NULL, dh, go, x, x16, h, A, B, motion ? B2 : NULL, N, IC, OC, R,
                             scale);
    double *rh = tu_dalloc(N * R), *rdh = tu_dalloc(N * R), *ry = tu_dalloc(N * OC), *rdx = tu_dalloc(N * IC);
    double *rdA = tu_dalloc(R * IC), *rdB = tu_dalloc(OC * R);
    for (int64_t n = 0; n < N; n++)
        for (int64_t j = 0; j < R; j++) {
            double acc = 0, d = 0;
            for (int64_t i = 0; i < IC; i++) acc += (double)x[n * IC + i] * A[j * IC + i];
            for (int64_t o = 0; o < OC; o++) d += (double)scale * go[n * OC + o] * up[o * R + j];
            rh[n * R + j] = acc;
            rdh[n * R + j] = d;
        }
    for (int64_t n = 0; n < N; n++)
        for (int64_t o = 0; o < OC; o++) {
            double acc = 0; /* compared after removing the 0.25 it accumulated onto */
            for (int64_t j = 0; j < R; j++) acc += (double)scale * rh[n * R + j] * up[o * R + j];
            ry[n * OC + o] = acc;
        }
    for (int64_t n = 0; n < N; n++)
        for (int64_t i = 0; i < IC; i++) {
            double acc = 0; /* likewise the 0.5 */
            for (int64_t j = 0; j < R; j++) acc += rdh[n * R + j] * A[j * IC + i];
            rdx[n * IC + i] = acc;
        }
    for (int64_t j = 0; j < R; j++)
        for (int64_t i = 0; i < IC; i++) {
            double acc = 0;
            for (int64_t n = 0; n < N; n++) acc += rdh[n * R + j] * x[n * IC + i];
            rdA[j * IC + i] = acc; /* compared after removing the -1 it accumulated onto */
        }
    for (int64_t o = 0; o < OC; o++)
        for (int64_t j = 0; j < R; j++) {
            double acc = 0;
            for (int64_t n = 0; n < N; n++) acc += (double)scale * go[n * OC + o] * rh[n * R + j];
            rdB[o * R + j] = acc; /* likewise the 2 */
        }
    for (int64_t i = 0; i < N * OC; i++) y[i] -= 0.25f;
    for (int64_t i = 0; i < N * IC; i++) dx[i] -= 0.5f;
    for (int64_t i = 0; i < R * IC; i++) dA[i] += 1.0f;
    for (int64_t i = 0; i < OC * R; i++) dB[i] -= 2.0f;
    for (int64_t i = 0; i < OC * R; i++) dB2[i] -= 3.0f; /* B2's gradient is B's product again */
    double e = 0, es[7] = {tu_rel_err(y, ry, N * OC, 1e-6),  tu_rel_err(h, rh, N * R, 1e-6),
                           tu_rel_err(dh, rdh, N * R, 1e-6), tu_rel_err(dx, rdx, N * IC, 1e-6),
                           tu_rel_err(dA, rdA, R * IC, 1e-6), tu_rel_err(dB, rdB, OC * R, 1e-6),
                           motion ? tu_rel_err(dB2, rdB, OC * R, 1e-6) : 0.0};
    for (int k = 0; k < 7; k++) e = es[k] > e ? es[k] : e;
    free(x16);
    tu_free(x); tu_free(A); tu_free(B); tu_free(go); tu_free(y); tu_free(h); tu_free(dh); tu_free(dx);
    tu_free(dA); tu_free(dB); tu_free(B2); tu_free(dB2); tu_free(up);
    tu_free(rh); tu_free(rdh); tu_free(ry); tu_free(rdx); tu_free(rdA); tu_free(rdB);
    return e;
}

static void lora_bf16(void **s) {
    (void)s;
    if (!have_bf16()) return;
    const int64_t shapes[][4] = {{1, 1, 1, 1}, {7, 5, 3, 2}, {64, 48, 96, 8}, {33, 130, 17, 4}, {512, 192, 768, 32}};
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        const int64_t N = shapes[i][0], IC = shapes[i][1], OC = shapes[i][2], R = shapes[i][3];
        double own = lora_case(N, IC, OC, R, 0, 0, 300 + i), given = lora_case(N, IC, OC, R, 1, 0, 300 + i);
        double motion = lora_case(N, IC, OC, R, 1, 1, 300 + i);
        print_message("bf16 adapter %lldx%lldx%lld rank %lld: %.2e rounding its input, %.2e given it, %.2e with B2\n",
                      (long long)N, (long long)IC, (long long)OC, (long long)R, own, given, motion);
        if (own > BF16_TOL || given > BF16_TOL || motion > BF16_TOL)
            fail_msg("bf16 adapter %zu: %.3g / %.3g / %.3g beyond the bf16 tolerance", i, own, given, motion);
        if (IC > 4 && own < 1e-6) fail_msg("bf16 adapter %zu: %.3g, as exact as fp32: bf16 did not run", i, own);
        /* the given rounding is the one the call would make: the same numbers */
        if (own != given) fail_msg("bf16 adapter %zu: %.17g rounding its input, %.17g given it", i, own, given);
    }
    gl_set_precision(GL_PRECISION_FP32);
    /* outside bf16 the products are float32 whatever inp16 holds */
    double f32 = lora_case(64, 48, 96, 8, 0, 0, 400), f32m = lora_case(64, 48, 96, 8, 0, 1, 401);
    if (f32 > 1e-5 || f32m > 1e-5) fail_msg("fp32 adapter: %.3g, %.3g with B2", f32, f32m);
}

/* A tiny DiT on a batch of two 2x8x16 canvases with masks, random weights everywhere
 * (as test_dit's fixture): forward and backward, output and gradients returned. */
typedef struct dit_run {
    gl_dit *m;
    float *x, *t, *G, *out;
    int32_t *text, lens[2];
    uint8_t *smask;
    int64_t n, T;
} dit_run;

static void dit_setup(dit_run *d) {
    memset(d, 0, sizeof *d);
    gl_dit_config cfg;
    char msg[256];
    gl_dit_config_preset("tiny", &cfg);
    assert_int_equal(gl_dit_new(&d->m, &cfg, msg, sizeof msg), GL_OK);
    tu_rng r;
    tu_seed(&r, 5);
    gl_params *p = gl_dit_params(d->m);
    for (int i = 0; i < gl_params_count(p); i++) {
        gl_tensor t = gl_params_tensor(p, i);
        double sd = t.ndim == 2 ? 1.0 / sqrt((double)t.shape[1]) : 0.3;
        tu_fill(&r, t.data, gl_tensor_numel(&t), sd);
        if (strstr(gl_params_name(p, i), "norm_"))
            for (int64_t j = 0; j < gl_tensor_numel(&t); j++) t.data[j] += 1.0f;
    }
    const int64_t B = 2, F = 2, H = 8, W = 16, gw = W / cfg.patch_w;
    d->T = (F / cfg.patch_t) * (H / cfg.patch_h) * gw;
    d->n = B * F * H * W * 3;
    d->x = tu_falloc(d->n); d->G = tu_falloc(d->n); d->out = tu_falloc(d->n); d->t = tu_falloc(B * d->T);
    tu_fill(&r, d->x, d->n, 1.0);
    tu_fill(&r, d->G, d->n, 1.0);
    for (int64_t i = 0; i < B * d->T; i++) d->t[i] = (float)tu_uniform(&r);
    d->text = test_calloc((size_t)(B * cfg.text_len), sizeof(int32_t));
    d->lens[0] = 5;
    d->lens[1] = 0;
    for (int i = 0; i < 5; i++) d->text[i] = 1 + (int32_t)tu_int(&r, cfg.text_vocab - 1);
    d->smask = test_calloc((size_t)(d->T * d->T), 1);
    for (int64_t i = 0; i < d->T; i++)
        for (int64_t j = 0; j < d->T; j++) d->smask[i * d->T + j] = (i % gw) >= gw / 2 || (j % gw) < gw / 2;
}

/* A forward and backward in an arena of `bytes` (0: what gl_dit_arena_bytes asks now). */
static void dit_step_in(dit_run *d, float *grads, size_t bytes) {
    char msg[256];
    gl_dit_batch b = {.B = 2, .F = 2, .H = 8, .W = 16, .x = d->x, .t = d->t, .text = d->text,
                      .text_lens = d->lens, .self_mask = d->smask};
    gl_arena *a = NULL;
    assert_int_equal(gl_arena_new(&a, bytes ? bytes : gl_dit_arena_bytes(d->m, 2, 2, 8, 16)), GL_OK);
    if (gl_dit_forward(d->m, a, &b, d->out, msg, sizeof msg)) fail_msg("%s", msg);
    gl_params *p = gl_dit_params(d->m);
    gl_params_zero_grad(p);
    assert_int_equal(gl_dit_backward(d->m, a, d->G), GL_OK);
    memcpy(grads, gl_params_grads(p), (size_t)gl_params_numel(p) * sizeof(float));
    gl_arena_free(&a);
}

static void dit_step(dit_run *d, float *grads) { dit_step_in(d, grads, 0); }

static void dit_teardown(dit_run *d) {
    gl_dit_free(&d->m);
    tu_free(d->x); tu_free(d->G); tu_free(d->out); tu_free(d->t);
    test_free(d->smask);
    test_free(d->text);
}

/* The worst relative error of gradients got against want (both laid out as p's
 * gradients), tensor by tensor, each relative to that tensor's largest want entry (floor
 * 1e-3); *name: the tensor where it is. */
static double worst_gradient(gl_params *p, const float *got, const float *want, const char **name) {
    double worst = 0;
    for (int i = 0; i < gl_params_count(p); i++) {
        gl_tensor t = gl_params_tensor(p, i);
        int64_t off = t.grad - gl_params_grads(p), len = gl_tensor_numel(&t);
        double *w = tu_to_double(want + off, len);
        double e = tu_rel_err(got + off, w, len, 1e-3);
        tu_free(w);
        if (e > worst) {
            worst = e;
            *name = gl_params_name(p, i);
        }
    }
    return worst;
}

/* bf16 against fp32: the output and each parameter tensor's gradient, relative to that
 * tensor's largest fp32 entry; then 1 against 2 threads in bf16. */
static void dit_bf16(void **s) {
    (void)s;
    if (!have_bf16()) return;
    dit_run d;
    dit_setup(&d);
    gl_params *p = gl_dit_params(d.m);
    const int64_t np = gl_params_numel(p);
    float *g32 = tu_falloc(np), *g16 = tu_falloc(np), *o32 = tu_falloc(d.n);
    gl_set_precision(GL_PRECISION_FP32);
    dit_step(&d, g32);
    memcpy(o32, d.out, (size_t)d.n * sizeof(float));
    gl_set_precision(GL_PRECISION_BF16);
    dit_step(&d, g16);
    double *want = tu_to_double(o32, d.n);
    double eo = tu_rel_err(d.out, want, d.n, 1e-6);
    tu_free(want);
    const char *worst = "";
    const double eg = worst_gradient(p, g16, g32, &worst);
    print_message("bf16 against fp32: output %.2e, worst gradient %.2e (%s)\n", eo, eg, worst);
    if (eo > DIT_TOL || eg > DIT_TOL) fail_msg("bf16 model off: output %.3g, gradient %.3g (%s)", eo, eg, worst);
    if (eo < 1e-6) fail_msg("bf16 model output equals fp32's: bf16 did not run");
    /* threads: oneDNN may split the products differently, float32 accumulation in another
     * order; within 1e-5 (the bf16 rounding is the same for any split) */
    float *o2 = tu_falloc(d.n), *g2 = tu_falloc(np);
    gl_set_threads(1);
    dit_step(&d, g2);
    memcpy(o2, d.out, (size_t)d.n * sizeof(float));
    gl_set_threads(2);
    dit_step(&d, g16);
    tu_check_ff("bf16 dit output, 2 threads", d.out, o2, d.n, 1e-5);
    tu_check_ff("bf16 dit gradients, 2 threads", g16, g2, np, 1e-5);
    /* an arena sized before bf16 was set has no room for the bf16 copies of the layers'
     * inputs (gl_linear_forward_rounded), so the layers round as they go: the same
     * roundings and products, the same numbers */
    gl_set_precision(GL_PRECISION_FP32);
    const size_t fp32_bytes = gl_dit_arena_bytes(d.m, 2, 2, 8, 16);
    gl_set_precision(GL_PRECISION_BF16);
    assert_true(gl_dit_arena_bytes(d.m, 2, 2, 8, 16) > fp32_bytes);
    memcpy(o2, d.out, (size_t)d.n * sizeof(float));
    dit_step_in(&d, g2, fp32_bytes);
    tu_check_ff("bf16 dit output, arena without the copies", d.out, o2, d.n, 0);
    tu_check_ff("bf16 dit gradients, arena without the copies", g2, g16, np, 0);
    gl_set_precision(GL_PRECISION_FP32);
    tu_free(g32); tu_free(g16); tu_free(o32); tu_free(o2); tu_free(g2);
    dit_teardown(&d);
}

/* A forward and backward of the fixture with adapter l attached; l's gradients into
 * grads. bytes: the arena's size (0: what gl_dit_arena_bytes asks now). */
static void adapter_step(dit_run *d, gl_lora *l, float *grads, size_t bytes) {
    gl_params *lp = gl_lora_params(l);
    gl_params_zero_grad(lp);
    float *model_grads = tu_falloc(gl_params_numel(gl_dit_params(d->m)));
    dit_step_in(d, model_grads, bytes);
    tu_free(model_grads);
    memcpy(grads, gl_params_grads(lp), (size_t)gl_params_numel(lp) * sizeof(float));
}

/* With an adapter attached (random A and B, so that it shows): its gradients in bf16
 * against fp32 within DIT_TOL, and the same numbers whether its inputs' roundings come
 * from the base layers' copies in the arena or are made by the adapter's own calls. */
static void dit_adapter_bf16(void **s) {
    (void)s;
    if (!have_bf16()) return;
    dit_run d;
    dit_setup(&d);
    gl_set_precision(GL_PRECISION_FP32);
    gl_lora_spec sp = gl_lora_default_spec();
    sp.rank = 4;
    gl_lora *l = NULL;
    char msg[256];
    assert_int_equal(gl_lora_new(&l, d.m, &sp, 3, msg, sizeof msg), GL_OK);
    gl_params *lp = gl_lora_params(l);
    tu_rng r;
    tu_seed(&r, 9);
    tu_fill(&r, gl_params_data(lp), gl_params_numel(lp), 0.3);
    assert_int_equal(gl_dit_attach_lora(d.m, l, 1.0f, msg, sizeof msg), GL_OK);
    const int64_t np = gl_params_numel(lp);
    float *g32 = tu_falloc(np), *g16 = tu_falloc(np), *g2 = tu_falloc(np);
    adapter_step(&d, l, g32, 0);
    const size_t fp32_bytes = gl_dit_arena_bytes(d.m, 2, 2, 8, 16);
    gl_set_precision(GL_PRECISION_BF16);
    adapter_step(&d, l, g16, 0);
    const char *worst = "";
    const double eg = worst_gradient(lp, g16, g32, &worst);
    print_message("bf16 against fp32, the adapter's gradients: worst %.2e (%s)\n", eg, worst);
    if (eg > DIT_TOL) fail_msg("bf16 adapter gradient off: %.3g (%s)", eg, worst);
    if (eg < 1e-6) fail_msg("bf16 adapter gradients equal fp32's: bf16 did not run");
    adapter_step(&d, l, g2, fp32_bytes);
    tu_check_ff("bf16 adapter gradients, arena without the copies", g2, g16, np, 0);
    gl_set_precision(GL_PRECISION_FP32);
    gl_dit_detach_loras(d.m);
    gl_lora_free(&l);
    tu_free(g32); tu_free(g16); tu_free(g2);
    dit_teardown(&d);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(precision_setting),
    cmocka_unit_test(linear_bf16),
    cmocka_unit_test(lora_bf16),
    cmocka_unit_test(dit_bf16),
    cmocka_unit_test(dit_adapter_bf16),
};
TU_MAIN("precision", tests)
