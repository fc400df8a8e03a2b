/* tests/test_precision.c: the bf16 path (gridlora/precision.h): the setting, the linear
 * layer's three bf16 products against a double reference, and the whole DiT in bf16
 * against the same model in fp32 (itself proven against PyTorch to 1e-4 by test_dit).
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
 *    fixture: 4e-3 for the output and 2e-2 for the worst gradient tensor (see
 *    the printed figures); 5e-2 keeps a margin while a wrong product (a transpose, a
 *    missing accumulate) gives errors of order 1. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gridlora/core.h"
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
    double eo = tu_rel_err(d.out, want, d.n, 1e-6), eg = 0;
    tu_free(want);
    const char *worst = "";
    for (int i = 0; i < gl_params_count(p); i++) {
        gl_tensor t = gl_params_tensor(p, i);
        int64_t off = t.grad - gl_params_grads(p), len = gl_tensor_numel(&t);
        double *w = tu_to_double(g32 + off, len);
        double e = tu_rel_err(g16 + off, w, len, 1e-3);
        tu_free(w);
        if (e > eg) { eg = e; worst = gl_params_name(p, i); }
    }
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

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(precision_setting),
    cmocka_unit_test(linear_bf16),
    cmocka_unit_test(dit_bf16),
};
TU_MAIN("precision", tests)
