/* tests/test_dit.c: the DiT's configuration and its composed forward/backward.
 * Each layer is proven alone in its own test; here the chain is checked: every
 * parameter tensor's gradient against central differences of the whole model's float
 * forward (random weights, AdaLN not zero, masks on), plus shapes and errors.
 * The PyTorch parity test (tools/reference_dit.py) checks values to 1e-4. */
#define _POSIX_C_SOURCE 200809L /* mkdtemp */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gridlora/grid.h"
#include "gridlora/model.h"
#include "gridlora/safetensors.h"
#include "testutil.h"

static void config_presets_and_json(void **s) {
    (void)s;
    char msg[256];
    const char *names[] = {"tiny", "default"};
    for (int i = 0; i < 2; i++) {
        gl_dit_config c, d;
        assert_int_equal(gl_dit_config_preset(names[i], &c), GL_OK);
        assert_int_equal(gl_dit_config_validate(&c, msg, sizeof msg), GL_OK);
        char *js = gl_dit_config_to_json(&c);
        assert_non_null(js);
        assert_int_equal(gl_dit_config_from_json(js, &d, msg, sizeof msg), GL_OK);
        assert_memory_equal(&c, &d, sizeof c);
        free(js);
    }
    gl_dit_config c;
    assert_int_equal(gl_dit_config_preset("huge", &c), GL_ENOTFOUND);
    /* files written before rope_per_cell existed lack the key: canvas-wide positions */
    gl_dit_config_preset("tiny", &c);
    char *js = gl_dit_config_to_json(&c), *at = strstr(js, ",\"rope_per_cell\":1");
    assert_non_null(at);
    memmove(at, at + strlen(",\"rope_per_cell\":1"), strlen(at + strlen(",\"rope_per_cell\":1")) + 1);
    gl_dit_config old;
    assert_int_equal(gl_dit_config_from_json(js, &old, msg, sizeof msg), GL_OK);
    assert_int_equal(old.rope_per_cell, 0);
    assert_int_equal(old.predict_x0, 0); /* nor predict_x0: v-predicting */
    free(js);
    /* an x-predicting, caption-pooling model with absolute positions says so, and reads back so */
    c.predict_x0 = 1;
    c.text_pool = 1;
    c.abs_pos = 1;
    js = gl_dit_config_to_json(&c);
    assert_non_null(strstr(js, "\"predict_x0\":1"));
    assert_non_null(strstr(js, "\"text_pool\":1"));
    assert_non_null(strstr(js, "\"abs_pos\":1"));
    assert_int_equal(gl_dit_config_from_json(js, &old, msg, sizeof msg), GL_OK);
    assert_memory_equal(&c, &old, sizeof c);
    free(js);
}

static void config_rejects(void **s) {
    (void)s;
    char msg[256];
    gl_dit_config c;
    gl_dit_config_preset("tiny", &c);
    char *js = gl_dit_config_to_json(&c);
    struct { const char *from, *to, *expect; } cases[] = {
        {"\"width\":16", "\"width\":15", "width 15 is not divisible"},
        {"\"width\":16", "\"width\":16.5", "'width' is missing or not an integer"},
        {"\"width\":16", "\"wdth\":16", "unknown key 'wdth'"},
        {"\"heads\":2", "\"heads\":0", "heads is 0"},
        {"\"cell_h\":8", "\"cell_h\":9", "not divisible by patch"},
        {"\"width\":16", "\"width\":\"16\"", "'width' is missing or not an integer"},
        {"\"rope_per_cell\":1", "\"rope_per_cell\":2", "'rope_per_cell' must be 0 or 1"},
        {"\"rope_per_cell\":1", "\"rope_per_cell\":true", "'rope_per_cell' must be 0 or 1"},
        {"\"rope_per_cell\":1", "\"rope_per_cell\":1,\"predict_x0\":2", "'predict_x0' must be 0 or 1"},
        {"\"rope_per_cell\":1", "\"rope_per_cell\":1,\"text_pool\":-1", "'text_pool' must be 0 or 1"},
        {"\"rope_per_cell\":1", "\"rope_per_cell\":1,\"abs_pos\":0.5", "'abs_pos' must be 0 or 1"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char buf[2048];
        const char *at = strstr(js, cases[i].from);
        assert_non_null(at);
        snprintf(buf, sizeof buf, "%.*s%s%s", (int)(at - js), js, cases[i].to, at + strlen(cases[i].from));
        assert_int_equal(gl_dit_config_from_json(buf, &c, msg, sizeof msg), GL_EINVAL);
        if (!strstr(msg, cases[i].expect)) fail_msg("case %zu: message '%s' lacks '%s'", i, msg, cases[i].expect);
    }
    assert_int_equal(gl_dit_config_from_json("[1,2]", &c, msg, sizeof msg), GL_EINVAL);
    assert_int_equal(gl_dit_config_from_json("{\"width\":", &c, msg, sizeof msg), GL_EINVAL);
    free(js);
}

typedef struct fixture {
    gl_dit *m;
    gl_arena *arena;
    gl_dit_batch b;
    float *x, *t, *out, *G;
    int32_t *text, *lens;
    uint8_t *smask, *cmask;
    int64_t n, T;
} fixture;

/* A batch of two 2x8x16 canvases (two cells side by side), random weights everywhere
 * (so no gradient is zero by AdaLN-zero), a prompt of 5 tokens and an empty one; RoPE
 * positions per cell (rope_per_cell 1, the presets') or over the canvas (0). */
/* per_video_t: one timestep per video (the left cell of video 0 clean, at 0), as
 * training batches have, so the model's timestep path runs on 3 distinct rows; else
 * one per token (97 distinct: the path runs per token). */
/* flags: X0, the model's last layer predicts x0 (cfg predict_x0), turned into v; POOL,
 * the pooled caption conditions AdaLN (cfg text_pool); ABS, absolute positions added to
 * the patch embedding (cfg abs_pos). */
enum { X0 = 1, POOL = 2, ABS = 4 };
static void setup_full(fixture *f, int masks, int rope_per_cell, int per_video_t, int flags) {
    memset(f, 0, sizeof *f);
    gl_dit_config cfg;
    char msg[256];
    gl_dit_config_preset("tiny", &cfg);
    cfg.rope_per_cell = rope_per_cell;
    cfg.predict_x0 = (flags & X0) != 0;
    cfg.text_pool = (flags & POOL) != 0;
    cfg.abs_pos = (flags & ABS) != 0;
    assert_int_equal(gl_dit_new(&f->m, &cfg, msg, sizeof msg), GL_OK);
    tu_rng r;
    tu_seed(&r, 5);
    gl_params *p = gl_dit_params(f->m);
    for (int i = 0; i < gl_params_count(p); i++) {
        gl_tensor t = gl_params_tensor(p, i);
        double sd = t.ndim == 2 ? 1.0 / sqrt((double)t.shape[1]) : 0.3;
        tu_fill(&r, t.data, gl_tensor_numel(&t), sd);
        if (strstr(gl_params_name(p, i), "norm_"))
            for (int64_t j = 0; j < gl_tensor_numel(&t); j++) t.data[j] += 1.0f;
    }
    /* tokens in (frame, row, column) order; gw per row, the left cell the first gw/2 */
    const int64_t B = 2, F = 2, H = 8, W = 16, L = cfg.text_len, gw = W / cfg.patch_w;
    const int64_t T = (F / cfg.patch_t) * (H / cfg.patch_h) * gw;
    f->T = T;
    f->n = B * F * H * W * 3;
    f->x = tu_falloc(f->n); f->out = tu_falloc(f->n); f->G = tu_falloc(f->n);
    f->t = tu_falloc(B * T);
    f->text = test_calloc((size_t)(B * L), sizeof(int32_t));
    f->lens = test_calloc((size_t)B, sizeof(int32_t));
    tu_fill(&r, f->x, f->n, 1.0);
    tu_fill(&r, f->G, f->n, 1.0);
    for (int64_t i = 0; i < B * T; i++) f->t[i] = (float)tu_uniform(&r);
    if (per_video_t)
        for (int64_t i = 0; i < B * T; i++) f->t[i] = f->t[i / T * T];
    for (int64_t i = 0; i < T; i++) f->t[i] = (i % gw) < gw / 2 ? 0.0f : f->t[i]; /* a clean cell */
    f->lens[0] = 5;
    f->lens[1] = 0;
    for (int64_t i = 0; i < 5; i++) f->text[i] = (int32_t)(1 + tu_int(&r, cfg.text_vocab - 1));
    f->b = (gl_dit_batch){.B = B, .F = F, .H = H, .W = W, .x = f->x, .t = f->t, .text = f->text,
                          .text_lens = f->lens};
    if (masks) {
        /* left cell's queries see only the left cell; right cell's see all; cross: the
         * left cell reads only the first 3 prompt tokens */
        f->smask = test_calloc((size_t)(T * T), 1);
        f->cmask = test_calloc((size_t)(T * L), 1);
        for (int64_t i = 0; i < T; i++) {
            int left_i = (i % gw) < gw / 2;
            for (int64_t j = 0; j < T; j++) f->smask[i * T + j] = !left_i || (j % gw) < gw / 2;
            for (int64_t j = 0; j < L; j++) f->cmask[i * L + j] = !left_i || j < 3;
        }
        f->b.self_mask = f->smask;
        f->b.cross_mask = f->cmask;
    }
    size_t bytes = gl_dit_arena_bytes(f->m, B, F, H, W);
    assert_true(bytes > 0);
    assert_int_equal(gl_arena_new(&f->arena, bytes), GL_OK);
}

static void setup_rope(fixture *f, int masks, int rope_per_cell) { setup_full(f, masks, rope_per_cell, 0, 0); }
static void setup(fixture *f, int masks) { setup_rope(f, masks, 1); }
static void setup_flags(fixture *f, int masks, int flags) { setup_full(f, masks, 1, 0, flags); }

static void teardown(fixture *f) {
    gl_dit_free(&f->m);
    gl_arena_free(&f->arena);
    tu_free(f->x); tu_free(f->out); tu_free(f->G); tu_free(f->t);
    test_free(f->text); test_free(f->lens);
    if (f->smask) test_free(f->smask);
    if (f->cmask) test_free(f->cmask);
}

static double loss_of(fixture *f) {
    char msg[256];
    gl_arena_reset(f->arena);
    assert_int_equal(gl_dit_forward(f->m, f->arena, &f->b, f->out, msg, sizeof msg), GL_OK);
    double l = 0;
    for (int64_t i = 0; i < f->n; i++) l += (double)f->out[i] * f->G[i];
    return l;
}

/* Every tensor's largest gradient entry against a central difference of the float
 * forward. The loss is a sum of ~1500 float outputs: its rounding noise is ~1e-6 of
 * it, over h ~ 1e-2 a few 1e-4 of the gradient; a wrong term errs by far more than the
 * 2e-2 allowed. */
static void check_gradients(int masks, int per_video_t, int flags) {
    fixture f;
    setup_full(&f, masks, 1, per_video_t, flags);
    gl_params *p = gl_dit_params(f.m);
    loss_of(&f);
    gl_params_zero_grad(p);
    assert_int_equal(gl_dit_backward(f.m, f.arena, f.G), GL_OK);
    int checked = 0;
    double worst = 0;
    const char *worst_name = "";
    for (int i = 0; i < gl_params_count(p); i++) {
        gl_tensor t = gl_params_tensor(p, i);
        int64_t n = gl_tensor_numel(&t), best = 0;
        for (int64_t j = 1; j < n; j++)
            if (fabsf(t.grad[j]) > fabsf(t.grad[best])) best = j;
        double an = t.grad[best];
        if (fabs(an) < 1e-4) {
            /* only the padding row of the token table may have no gradient at all */
            if (!strstr(gl_params_name(p, i), "token_embed")) fail_msg("%s has no gradient", gl_params_name(p, i));
            continue;
        }
        float saved = t.data[best], h = 1e-2f * fmaxf(fabsf(saved), 0.3f);
        t.data[best] = saved + h;
        double lp = loss_of(&f);
        t.data[best] = saved - h;
        double lm = loss_of(&f);
        t.data[best] = saved;
        double fd = (lp - lm) / (2.0 * (double)h), err = fabs(fd - an) / fabs(an);
        if (err > worst) { worst = err; worst_name = gl_params_name(p, i); }
        checked++;
    }
    print_message("checked %d tensors, worst relative error %.2e (%s)\n", checked, worst, worst_name);
    assert_true(checked >= gl_params_count(p) - 1);
    if (worst > 2e-2) fail_msg("gradient of %s off by %.3g relative", worst_name, worst);
    teardown(&f);
}

static void dit_gradients(void **s) { (void)s; check_gradients(0, 0, 0); }
static void dit_gradients_masked(void **s) { (void)s; check_gradients(1, 0, 0); }
static void dit_gradients_per_video_t(void **s) { (void)s; check_gradients(1, 1, 0); }
/* x-prediction: the clean cell (t = 0) and tokens below the floor divide by it */
static void dit_gradients_predict_x0(void **s) { (void)s; check_gradients(1, 1, X0); }
/* the pooled caption: per token (97 timesteps), and grouped by timestep and mask row */
static void dit_gradients_text_pool(void **s) { (void)s; check_gradients(1, 0, POOL); check_gradients(1, 1, POOL); }
/* absolute positions, alone and with everything else on */
static void dit_gradients_abs_pos(void **s) { (void)s; check_gradients(1, 0, ABS); check_gradients(1, 1, ABS | POOL | X0); }

/* Masks do what they say: with the left cell's queries confined to the left cell,
 * changing the right cell's input leaves the left cell's output unchanged. */
static void mask_isolates_cell(int flags) {
    fixture f;
    setup_flags(&f, 1, flags);
    loss_of(&f);
    float *before = tu_falloc(f.n);
    memcpy(before, f.out, (size_t)f.n * sizeof(float));
    /* perturb the right half (x >= 8) of item 0 */
    for (int64_t fr = 0; fr < 2; fr++)
        for (int64_t y = 0; y < 8; y++)
            for (int64_t x = 8; x < 16; x++)
                for (int c = 0; c < 3; c++) f.x[((fr * 8 + y) * 16 + x) * 3 + c] += 1.0f;
    loss_of(&f);
    double left = 0, right = 0;
    for (int64_t fr = 0; fr < 2; fr++)
        for (int64_t y = 0; y < 8; y++)
            for (int64_t x = 0; x < 16; x++)
                for (int c = 0; c < 3; c++) {
                    int64_t i = ((fr * 8 + y) * 16 + x) * 3 + c;
                    double d = fabs((double)f.out[i] - before[i]);
                    if (x < 8) left += d; else right += d;
                }
    assert_true(left == 0.0);
    assert_true(right > 1e-3);
    tu_free(before);
    teardown(&f);
}

/* rope_per_cell: a lone cell is computed exactly as with canvas-wide positions; on a
 * canvas of two cells, with no masks and one timestep everywhere, positions restarting
 * in each cell make the model blind to which cell is where, so swapping the cells' videos
 * swaps the outputs (up to the order of sums); canvas-wide positions break that. */
static void swap_cells(float *x, int64_t B, int64_t F, int64_t H, int64_t W) {
    for (int64_t i = 0; i < B * F * H; i++)
        for (int64_t xx = 0; xx < W / 2; xx++)
            for (int c = 0; c < 3; c++) {
                float *a = x + (i * W + xx) * 3 + c, *b = x + (i * W + xx + W / 2) * 3 + c, tmp = *a;
                *a = *b;
                *b = tmp;
            }
}

static double swap_error(int rope_per_cell) {
    fixture f;
    setup_rope(&f, 0, rope_per_cell);
    for (int64_t i = 0; i < f.b.B * f.T; i++) f.t[i] = 0.4f;
    loss_of(&f);
    float *swapped = tu_falloc(f.n);
    memcpy(swapped, f.out, (size_t)f.n * sizeof(float));
    swap_cells(swapped, f.b.B, f.b.F, f.b.H, f.b.W);
    swap_cells(f.x, f.b.B, f.b.F, f.b.H, f.b.W);
    loss_of(&f);
    double worst = 0;
    for (int64_t i = 0; i < f.n; i++) worst = fmax(worst, fabs((double)f.out[i] - swapped[i]));
    tu_free(swapped);
    teardown(&f);
    return worst;
}

static void dit_rope_per_cell(void **s) {
    (void)s;
    char msg[256];
    /* one 2x8x8 cell, both ways: bit-identical */
    float *out[2];
    for (int rope = 0; rope < 2; rope++) {
        fixture f;
        setup_rope(&f, 0, rope);
        f.b.W = 8; /* the left cell of each canvas row: only the first n/2 values are read */
        float *cell = tu_falloc(f.n / 2);
        for (int64_t i = 0; i < f.b.B * f.b.F * f.b.H; i++) memcpy(cell + i * 24, f.x + i * 48, 24 * sizeof(float));
        f.b.x = cell;
        out[rope] = tu_falloc(f.n / 2);
        gl_arena_reset(f.arena);
        assert_int_equal(gl_dit_forward(f.m, f.arena, &f.b, out[rope], msg, sizeof msg), GL_OK);
        tu_free(cell);
        teardown(&f);
    }
    assert_memory_equal(out[0], out[1], 2 * 2 * 8 * 8 * 3 * sizeof(float));
    tu_free(out[0]);
    tu_free(out[1]);
    double per_cell = swap_error(1), canvas = swap_error(0);
    if (!(per_cell < 1e-5)) fail_msg("rope_per_cell 1: swapping the cells changed the outputs by %g", per_cell);
    if (!(canvas > 1e-3)) fail_msg("rope_per_cell 0: swapping the cells left the outputs (%g): positions unused?", canvas);
}

/* AdaLN-zero: a freshly initialised model outputs exactly 0, and the arena it was
 * sized for is enough. Bad shapes and token ids are refused with a message. */
/* The text encoder's mask keeps a grid's prompts apart: with the left cell reading only
 * the global prompt and its own (cross mask) and each prompt token reading only the
 * global prompt and its own segment (text mask), a word of the right cell's prompt no
 * longer reaches the left cell; without the text mask it does, through the encoder. */
static void text_mask_isolates_prompt(int flags) {
    fixture f;
    setup_flags(&f, 1, flags);
    const int64_t L = gl_dit_cfg(f.m)->text_len, T = f.T, gw = 8;
    /* "<grid> g <cell0> a <cell1> b": segments global 0..1, cell 0 2..3, cell 1 4..5 */
    int32_t text[6] = {2, 10, 3, 11, 4, 12};
    memcpy(f.text, text, sizeof text);
    f.lens[0] = 6;
    uint8_t *tm = test_calloc((size_t)(L * L), 1);
    assert_int_equal(gl_layout_text_mask(text, 6, L, 2, tm), 0);
    for (int64_t i = 0; i < T; i++)
        for (int64_t j = 0; j < L; j++) f.cmask[i * L + j] = (i % gw) >= gw / 2 || j < 4;
    float *before = tu_falloc(f.n);
    double left_change[2];
    for (int with_mask = 0; with_mask < 2; with_mask++) {
        f.b.text_mask = with_mask ? tm : NULL;
        f.text[5] = 12;
        loss_of(&f);
        memcpy(before, f.out, (size_t)f.n * sizeof(float));
        f.text[5] = 13; /* the right cell's word changes */
        loss_of(&f);
        double left = 0;
        for (int64_t fr = 0; fr < 2; fr++)
            for (int64_t y = 0; y < 8; y++)
                for (int64_t x = 0; x < 8; x++)
                    for (int c = 0; c < 3; c++) {
                        int64_t i = ((fr * 8 + y) * 16 + x) * 3 + c;
                        left += fabs((double)f.out[i] - before[i]);
                    }
        left_change[with_mask] = left;
    }
    assert_true(left_change[0] > 1e-4); /* the leak the text mask closes */
    assert_true(left_change[1] == 0.0);
    tu_free(before);
    test_free(tm);
    teardown(&f);
}

static void dit_mask_isolates_cell(void **s) { (void)s; mask_isolates_cell(0); }
static void dit_text_mask_isolates_prompt(void **s) { (void)s; text_mask_isolates_prompt(0); }
/* absolute positions restart in each cell like RoPE's: the isolation holds with them */
static void dit_masks_isolate_with_abs_pos(void **s) {
    (void)s;
    mask_isolates_cell(ABS);
    text_mask_isolates_prompt(ABS);
}
/* the pooled caption keeps to each token's mask row: the isolation holds with it */
static void dit_masks_isolate_with_text_pool(void **s) {
    (void)s;
    mask_isolates_cell(POOL);
    text_mask_isolates_prompt(POOL);
}

static void dit_init_and_errors(void **s) {
    (void)s;
    fixture f;
    setup(&f, 0);
    char msg[256];
    gl_dit_init_weights(f.m, 1);
    loss_of(&f);
    for (int64_t i = 0; i < f.n; i++) assert_true(f.out[i] == 0.0f);
    gl_dit_batch b = f.b;
    b.W = 9; /* not a multiple of the patch */
    assert_int_equal(gl_dit_forward(f.m, f.arena, &b, f.out, msg, sizeof msg), GL_EINVAL);
    assert_non_null(strstr(msg, "patches"));
    b = f.b;
    f.text[0] = (int32_t)gl_dit_cfg(f.m)->text_vocab; /* one past the table */
    assert_int_equal(gl_dit_forward(f.m, f.arena, &b, f.out, msg, sizeof msg), GL_EINVAL);
    assert_non_null(strstr(msg, "vocabulary"));
    f.text[0] = 1;
    gl_arena *small = NULL;
    gl_arena_new(&small, 1024);
    assert_int_equal(gl_dit_forward(f.m, small, &f.b, f.out, msg, sizeof msg), GL_ENOMEM);
    assert_non_null(strstr(msg, "needs"));
    gl_arena_free(&small);
    teardown(&f);
}

/* Frozen parameters get no gradient and the others the same as unfrozen. */
static void dit_frozen(void **s) {
    (void)s;
    fixture f;
    setup(&f, 0);
    gl_params *p = gl_dit_params(f.m);
    loss_of(&f);
    gl_params_zero_grad(p);
    gl_dit_backward(f.m, f.arena, f.G);
    int64_t n = gl_params_numel(p);
    float *full = tu_falloc(n);
    memcpy(full, gl_params_grads(p), (size_t)n * sizeof(float));
    int q = gl_params_find(p, "blocks.0.attn.q.weight");
    assert_true(q >= 0);
    gl_params_set_flags(p, q, GL_PARAM_FROZEN);
    loss_of(&f);
    gl_params_zero_grad(p);
    gl_dit_backward(f.m, f.arena, f.G);
    gl_tensor tq = gl_params_tensor(p, q);
    for (int64_t j = 0; j < gl_tensor_numel(&tq); j++) assert_true(tq.grad[j] == 0.0f);
    int64_t off = tq.grad - gl_params_grads(p), len = gl_tensor_numel(&tq);
    for (int64_t j = 0; j < n; j++)
        if (j < off || j >= off + len) assert_true(gl_params_grads(p)[j] == full[j]);
    tu_free(full);
    teardown(&f);
}

/* 1 and 2 threads agree within 1e-6 relative, forward and gradients. */
static void dit_threads(void **s) {
    (void)s;
    fixture f;
    setup(&f, 1);
    gl_params *p = gl_dit_params(f.m);
    int64_t n = gl_params_numel(p);
    float *out1 = tu_falloc(f.n), *g1 = tu_falloc(n);
    gl_set_threads(1);
    gl_arena_free(&f.arena);
    gl_arena_new(&f.arena, gl_dit_arena_bytes(f.m, 2, 2, 8, 16));
    loss_of(&f);
    gl_params_zero_grad(p);
    gl_dit_backward(f.m, f.arena, f.G);
    memcpy(out1, f.out, (size_t)f.n * sizeof(float));
    memcpy(g1, gl_params_grads(p), (size_t)n * sizeof(float));
    gl_set_threads(2);
    gl_arena_free(&f.arena);
    gl_arena_new(&f.arena, gl_dit_arena_bytes(f.m, 2, 2, 8, 16));
    loss_of(&f);
    gl_params_zero_grad(p);
    gl_dit_backward(f.m, f.arena, f.G);
    tu_check_ff("dit output, 2 threads", f.out, out1, f.n, TU_TOL_THREADS);
    tu_check_ff("dit gradients, 2 threads", gl_params_grads(p), g1, n, TU_TOL_THREADS);
    tu_free(out1); tu_free(g1);
    teardown(&f);
}

/* Writes the model and one forward/backward (inputs, output, every gradient) for
 * tools/reference_dit.py, which recomputes them in float64 PyTorch. */
static void write_case(fixture *f, const char *dir, char *wpath, char *cpath) {
    char msg[512];
    gl_params *p = gl_dit_params(f->m);
    loss_of(f);
    gl_params_zero_grad(p);
    assert_int_equal(gl_dit_backward(f->m, f->arena, f->G), GL_OK);
    snprintf(wpath, 512, "%s/weights.safetensors", dir);
    snprintf(cpath, 512, "%s/case.safetensors", dir);
    if (gl_dit_save(f->m, wpath, GL_ST_F32, msg, sizeof msg)) fail_msg("%s", msg);
    const int64_t B = f->b.B, T = f->T, L = gl_dit_cfg(f->m)->text_len;
    float *text = tu_falloc(B * L), *lens = tu_falloc(B), *sm = tu_falloc(T * T), *cm = tu_falloc(T * L);
    for (int64_t i = 0; i < B * L; i++) text[i] = (float)f->text[i];
    for (int64_t i = 0; i < B; i++) lens[i] = (float)f->lens[i];
    gl_st_writer *w = NULL;
    assert_int_equal(gl_st_writer_new(&w), GL_OK);
    gl_st_writer_add(w, "x", GL_ST_F32, 5, (int64_t[]){B, f->b.F, f->b.H, f->b.W, 3}, f->x);
    gl_st_writer_add(w, "t", GL_ST_F32, 2, (int64_t[]){B, T}, f->t);
    gl_st_writer_add(w, "text", GL_ST_F32, 2, (int64_t[]){B, L}, text);
    gl_st_writer_add(w, "text_lens", GL_ST_F32, 1, (int64_t[]){B}, lens);
    gl_st_writer_add(w, "G", GL_ST_F32, 5, (int64_t[]){B, f->b.F, f->b.H, f->b.W, 3}, f->G);
    gl_st_writer_add(w, "out", GL_ST_F32, 5, (int64_t[]){B, f->b.F, f->b.H, f->b.W, 3}, f->out);
    if (f->smask) {
        for (int64_t i = 0; i < T * T; i++) sm[i] = f->smask[i];
        for (int64_t i = 0; i < T * L; i++) cm[i] = f->cmask[i];
        gl_st_writer_add(w, "self_mask", GL_ST_F32, 2, (int64_t[]){T, T}, sm);
        gl_st_writer_add(w, "cross_mask", GL_ST_F32, 2, (int64_t[]){T, L}, cm);
    }
    char names[200][300];
    assert_true(gl_params_count(p) <= 200);
    for (int i = 0; i < gl_params_count(p); i++) {
        gl_tensor t = gl_params_tensor(p, i);
        snprintf(names[i], sizeof names[i], "grad.%s", gl_params_name(p, i));
        assert_int_equal(gl_st_writer_add(w, names[i], GL_ST_F32, t.ndim, t.shape, t.grad), GL_OK);
    }
    if (gl_st_writer_write(w, cpath, msg, sizeof msg)) fail_msg("%s", msg);
    gl_st_writer_free(&w);
    tu_free(text); tu_free(lens); tu_free(sm); tu_free(cm);
}

static void run_reference(int masks, int rope_per_cell, int per_video_t, int flags, const char *mode) {
    fixture f;
    setup_full(&f, masks, rope_per_cell, per_video_t, flags);
    char dir[] = "/tmp/gl_dit_parity_XXXXXX", wpath[512], cpath[512], cmd[2048];
    assert_non_null(mkdtemp(dir));
    write_case(&f, dir, wpath, cpath);
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s/tools/reference_dit.py %s %s %s", GL_SOURCE_DIR, mode, wpath, cpath);
    int rc = system(cmd);
    remove(wpath);
    remove(cpath);
    rmdir(dir);
    teardown(&f);
    if (rc != 0)
        fail_msg("'%s' failed (exit %d): the C model disagrees with the PyTorch reference, or "
                 "python3-torch is missing (scripts/install-deps.sh installs it)", cmd, rc);
}

/* The C model in float32 against the reference in float64: output and every
 * parameter's gradient within 1e-4 relative (tools/reference_dit.py check). */
static void dit_matches_pytorch(void **s) { (void)s; run_reference(0, 1, 0, 0, "check"); }
static void dit_matches_pytorch_masked(void **s) { (void)s; run_reference(1, 1, 0, 0, "check"); }
static void dit_matches_pytorch_canvas_rope(void **s) { (void)s; run_reference(1, 0, 0, 0, "check"); }
static void dit_matches_pytorch_per_video_t(void **s) { (void)s; run_reference(1, 1, 1, 0, "check"); }
static void dit_matches_pytorch_predict_x0(void **s) { (void)s; run_reference(1, 1, 0, X0, "check"); }
/* absolute positions per cell and over the canvas; with the pooled caption */
static void dit_matches_pytorch_abs_pos(void **s) {
    (void)s;
    run_reference(1, 1, 0, ABS, "check");
    run_reference(1, 0, 0, ABS, "check");
    run_reference(1, 1, 1, ABS | POOL, "check");
}
static void dit_matches_pytorch_text_pool(void **s) {
    (void)s;
    run_reference(1, 1, 0, POOL, "check");
    run_reference(1, 1, 1, POOL, "check");
    run_reference(0, 1, 1, POOL, "check");
}
/* The reference itself against central differences in float64 (torch gradcheck). */
static void reference_gradcheck(void **s) { (void)s; run_reference(1, 1, 0, 0, "gradcheck"); }

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(config_presets_and_json),
    cmocka_unit_test(config_rejects),
    cmocka_unit_test(dit_gradients),
    cmocka_unit_test(dit_gradients_masked),
    cmocka_unit_test(dit_gradients_per_video_t),
    cmocka_unit_test(dit_gradients_predict_x0),
    cmocka_unit_test(dit_gradients_text_pool),
    cmocka_unit_test(dit_gradients_abs_pos),
    cmocka_unit_test(dit_masks_isolate_with_text_pool),
    cmocka_unit_test(dit_masks_isolate_with_abs_pos),
    cmocka_unit_test(dit_mask_isolates_cell),
    cmocka_unit_test(dit_text_mask_isolates_prompt),
    cmocka_unit_test(dit_init_and_errors),
    cmocka_unit_test(dit_frozen),
    cmocka_unit_test(dit_threads),
    cmocka_unit_test(dit_matches_pytorch),
    cmocka_unit_test(dit_matches_pytorch_masked),
    cmocka_unit_test(dit_matches_pytorch_canvas_rope),
    cmocka_unit_test(dit_matches_pytorch_per_video_t),
    cmocka_unit_test(dit_matches_pytorch_predict_x0),
    cmocka_unit_test(dit_matches_pytorch_text_pool),
    cmocka_unit_test(dit_matches_pytorch_abs_pos),
    cmocka_unit_test(dit_rope_per_cell),
    cmocka_unit_test(reference_gradcheck),
};
TU_MAIN("dit", tests)
