/* bench/bench_model.c: seconds and GFLOP/s of the DiT at the default preset: training
 * steps (forward + MSE + backward + AdamW), a frozen-base step, a sampling step, a
 * 20-step guided 2x2 grid fill, and raw matrix products at the model's shapes.
 * Prints one JSON line per phase; bench/report.py joins them with the PyTorch peer's
 * (tools/bench_reference.py) into the table and the final line. Run through
 * `make bench`, which unsets the OpenBLAS guard variables.
 *
 * Usage: bench_model save WEIGHTS        the benchmark's weights (for the peer)
 *        bench_model sgemm               matrix products at the model's shapes
 *        bench_model train B F H W REPS  training step (GRIDLORA_PRECISION picks fp32/bf16)
 *        bench_model frozen B F H W REPS frozen-base step: no weight gradients, no AdamW
 *        bench_model adapter B F H W REPS the Grid-Fill stage's step: base and a rank-8
 *                                        adapter frozen, a rank-32 adapter trained (AdamW)
 *        bench_model sample B F H W REPS one forward (a sampling step's model call)
 *        bench_model grid STEPS          gl_sample of a 2x2 canvas with guidance
 *
 * FLOPs are counted from the shapes of the matrix products only (bench_flops_forward):
 * 2 m n k per product; a training step is 3x its forward (each product's backward is
 * two products of the same size), a frozen-base step 2x (input gradients only); an
 * adapter step is counted as a frozen-base step (its adapters' products, about a quarter
 * more at these ranks, are not counted: compare its seconds). */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <cblas.h>
#include <oneapi/dnnl/dnnl.h>

#include "gridlora/gridlora.h"
#include "gridlora/nn.h"
#include "gridlora/precision.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double peak_rss_mb(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_maxrss / 1024.0; /* Linux: kilobytes */
}

static void die(const char *what) {
    fprintf(stderr, "bench_model: %s\n", what);
    exit(1);
}

static void *xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) die("out of memory");
    return p;
}

/* Forward FLOPs of the model's matrix products for B videos of T tokens carrying U
 * distinct timesteps (the model runs its timestep path once per distinct timestep):
 *   video tokens N = B T, per token 2 (Pf C + depth (4C^2 q,k,v,o + 2C^2 cross q,o
 *     + 2 C M mlp) + C Pf)
 *   timestep rows U: 2 (time_dim C + C^2 [time embedding] + depth 6C^2 [adaln]
 *     + 2C^2 [final adaln] + C^2 [pooled caption, with text_pool])
 *   text tokens Nt = B L: 2 (layers (4 Ct^2 + 2 Ct Mt) + Ct C + depth 2 C^2 [cross k,v])
 *   attention per block: 4 B T T C (q k^T and p v) + 4 B T L C (cross),
 *   per text layer 4 B L L Ct.
 * Until bench/RESULTS.md entry 5 the timestep path was counted per token (U = N), as
 * the model then computed it. With text_pool a row is a (timestep, caption pattern) pair:
 * a masked canvas has up to one per cell, counted here as one per video (under 0.2% of
 * the total at the default preset). */
static double bench_flops_forward(const gl_dit_config *c, int64_t B, int64_t T, int64_t U) {
    const double C = (double)c->width, M = (double)(c->mlp_ratio * c->width), Ct = (double)c->text_width;
    const double Mt = (double)(c->mlp_ratio * c->text_width), L = (double)c->text_len;
    const double Pf = (double)(c->patch_t * c->patch_h * c->patch_w * c->channels);
    const double N = (double)(B * T), Nt = (double)B * L, dep = (double)c->depth, tl = (double)c->text_layers;
    double f = 2 * N * (Pf * C + dep * (4 * C * C + 2 * C * C + 2 * C * M) + C * Pf);
    f += 2 * (double)U * ((double)c->time_dim * C + C * C + dep * 6 * C * C + 2 * C * C + (c->text_pool ? C * C : 0));
    f += 2 * Nt * (tl * (4 * Ct * Ct + 2 * Ct * Mt) + Ct * C + dep * 2 * C * C);
    f += dep * (4.0 * (double)B * (double)T * (double)T * C + 4.0 * (double)B * (double)T * L * C);
    f += tl * 4.0 * (double)B * L * L * Ct;
    return f;
}

static gl_dit *make_model(void) {
    gl_dit_config cfg;
    char msg[256];
    if (gl_dit_config_preset("default", &cfg)) die("no default preset");
    gl_dit *m = NULL;
    if (gl_dit_new(&m, &cfg, msg, sizeof msg)) die(msg);
    gl_dit_init_weights(m, 1234);
    /* AdaLN-zero starts every block as the identity; give the zeroed weights small values
     * so that every path carries signal (the work is the same either way) */
    gl_params *p = gl_dit_params(m);
    gl_rng r;
    gl_rng_seed(&r, 99);
    for (int i = 0; i < gl_params_count(p); i++) {
        const char *name = gl_params_name(p, i);
        if (!strstr(name, "adaln.weight") && strcmp(name, "final.linear.weight")) continue;
        gl_tensor t = gl_params_tensor(p, i);
        for (int64_t j = 0; j < gl_tensor_numel(&t); j++) t.data[j] = (float)(0.02 * gl_rng_normal(&r));
    }
    return m;
}

/* A batch of B videos F x H x W with random content, timesteps and full prompts. */
typedef struct bench_batch {
    gl_dit_batch b;
    float *x, *t, *target, *pred, *dpred;
    int32_t *text, *lens;
    int64_t n, T;
} bench_batch;

static void batch_make(bench_batch *bb, const gl_dit *m, int64_t B, int64_t F, int64_t H, int64_t W) {
    const gl_dit_config *c = gl_dit_cfg(m);
    memset(bb, 0, sizeof *bb);
    bb->T = (F / c->patch_t) * (H / c->patch_h) * (W / c->patch_w);
    bb->n = B * F * H * W * c->channels;
    bb->x = xmalloc((size_t)bb->n * sizeof(float));
    bb->target = xmalloc((size_t)bb->n * sizeof(float));
    bb->pred = xmalloc((size_t)bb->n * sizeof(float));
    bb->dpred = xmalloc((size_t)bb->n * sizeof(float));
    bb->t = xmalloc((size_t)(B * bb->T) * sizeof(float));
    bb->text = xmalloc((size_t)(B * c->text_len) * sizeof(int32_t));
    bb->lens = xmalloc((size_t)B * sizeof(int32_t));
    gl_rng r;
    gl_rng_seed(&r, 7);
    for (int64_t i = 0; i < bb->n; i++) bb->x[i] = (float)gl_rng_normal(&r);
    for (int64_t i = 0; i < bb->n; i++) bb->target[i] = (float)gl_rng_normal(&r);
    for (int64_t i = 0; i < B; i++) {
        float t = (float)gl_rng_uniform(&r);
        for (int64_t k = 0; k < bb->T; k++) bb->t[i * bb->T + k] = t;
    }
    for (int64_t i = 0; i < B * c->text_len; i++)
        bb->text[i] = 1 + (int32_t)(gl_rng_u64(&r) % (uint64_t)(c->text_vocab - 1));
    for (int64_t i = 0; i < B; i++) bb->lens[i] = (int32_t)c->text_len;
    bb->b = (gl_dit_batch){.B = B, .F = F, .H = H, .W = W, .x = bb->x, .t = bb->t, .text = bb->text,
                           .text_lens = bb->lens};
}

static void batch_free(bench_batch *bb) {
    free(bb->x); free(bb->target); free(bb->pred); free(bb->dpred); free(bb->t); free(bb->text); free(bb->lens);
}

enum { MODE_TRAIN, MODE_FROZEN, MODE_SAMPLE, MODE_ADAPTER };

/* A LoRA of rank r on every default target of m, attached; random B so that it acts. */
static gl_lora *attach_adapter(gl_dit *m, int r, uint64_t seed, int frozen) {
    gl_lora_spec sp = gl_lora_default_spec();
    sp.rank = r;
    sp.alpha = (float)r;
    gl_lora *l = NULL;
    char msg[512];
    if (gl_lora_new(&l, m, &sp, seed, msg, sizeof msg) || gl_dit_attach_lora(m, l, 1.0f, msg, sizeof msg)) die(msg);
    gl_params *lp = gl_lora_params(l);
    gl_rng g;
    gl_rng_seed(&g, seed);
    for (int i = 0; i < gl_params_count(lp); i++) {
        gl_tensor t = gl_params_tensor(lp, i);
        if (strstr(gl_params_name(lp, i), "lora_B"))
            for (int64_t j = 0; j < gl_tensor_numel(&t); j++) t.data[j] = (float)(0.01 * gl_rng_normal(&g));
        if (frozen) gl_params_set_flags(lp, i, gl_params_flags(lp, i) | GL_PARAM_FROZEN);
    }
    return l;
}

static void run_model(int mode, int64_t B, int64_t F, int64_t H, int64_t W, int reps) {
    gl_dit *m = make_model();
    gl_params *p = gl_dit_params(m);
    char msg[512];
    if (mode == MODE_FROZEN || mode == MODE_ADAPTER)
        for (int i = 0; i < gl_params_count(p); i++)
            gl_params_set_flags(p, i, gl_params_flags(p, i) | GL_PARAM_FROZEN);
    gl_lora *under = NULL, *trained = NULL; /* as train gridfill: the Grid LoRA, the new one */
    if (mode == MODE_ADAPTER) {
        under = attach_adapter(m, 8, 5, 1);
        trained = attach_adapter(m, 32, 6, 0);
        p = gl_lora_params(trained);
    }
    bench_batch bb;
    batch_make(&bb, m, B, F, H, W);
    gl_arena *arena = NULL;
    size_t bytes = gl_dit_arena_bytes(m, B, F, H, W);
    if (gl_arena_new(&arena, bytes)) die("arena");
    gl_adamw opt = gl_adamw_default();
    double best = 1e30, total = 0, loss = 0;
    for (int rep = -1; rep < reps; rep++) { /* rep -1: warm-up, untimed */
        double t0 = now();
        gl_arena_reset(arena);
        if (gl_dit_forward(m, arena, &bb.b, bb.pred, msg, sizeof msg)) die(msg);
        if (mode != MODE_SAMPLE) {
            loss = gl_mse_forward(bb.pred, bb.target, NULL, bb.n);
            memset(bb.dpred, 0, (size_t)bb.n * sizeof(float));
            gl_mse_backward(bb.dpred, bb.pred, bb.target, NULL, bb.n, 1.0f);
            if (mode == MODE_TRAIN || mode == MODE_ADAPTER) gl_params_zero_grad(p);
            if (gl_dit_backward(m, arena, bb.dpred)) die("backward");
            if ((mode == MODE_TRAIN || mode == MODE_ADAPTER) && gl_params_adamw_step(p, &opt, rep + 2))
                die("adamw");
        }
        double dt = now() - t0;
        if (rep >= 0) {
            total += dt;
            if (dt < best) best = dt;
        }
    }
    const double fwd = bench_flops_forward(gl_dit_cfg(m), B, bb.T, B); /* a timestep per video */
    const double flops = fwd * (mode == MODE_TRAIN ? 3.0 : mode == MODE_SAMPLE ? 1.0 : 2.0);
    const char *names[] = {"train", "frozen", "sample", "adapter"};
    const char *prec = gl_precision_name(gl_get_precision());
    printf("{\"impl\": \"c\", \"precision\": \"%s\", \"phase\": \"%s\", \"B\": %lld, \"F\": %lld, \"H\": %lld, "
           "\"W\": %lld, \"T\": %lld, \"reps\": %d, \"best_s\": %.5f, \"mean_s\": %.5f, \"gflop\": %.3f, "
           "\"gflops\": %.2f, \"loss\": %.6f, \"arena_mb\": %.1f, \"peak_rss_mb\": %.1f, \"threads\": %d}\n",
           prec, names[mode], (long long)B, (long long)F, (long long)H, (long long)W,
           (long long)bb.T, reps, best, total / reps, flops * 1e-9, flops / best * 1e-9, loss,
           (double)bytes / 1048576.0, peak_rss_mb(), gl_threads());
    gl_arena_free(&arena);
    batch_free(&bb);
    gl_dit_detach_loras(m);
    gl_lora_free(&under);
    gl_lora_free(&trained);
    gl_dit_free(&m);
}

/* A zero-shot 2x2 grid fill: cell 0 given clean, the other three generated; cell 0's
 * queries see only cell 0 (the layout masks of an input cell), guidance 3, 20 steps. */
static void run_grid(int steps) {
    gl_dit *m = make_model();
    const gl_dit_config *c = gl_dit_cfg(m);
    const int64_t F = c->frames, H = 2 * c->cell_h, W = 2 * c->cell_w;
    const int64_t gh = H / c->patch_h, gw = W / c->patch_w, T = (F / c->patch_t) * gh * gw;
    const int64_t L = c->text_len, n = F * H * W * c->channels;
    float *ctx = xmalloc((size_t)n * sizeof(float)), *out = xmalloc((size_t)n * sizeof(float));
    uint8_t *clean = xmalloc((size_t)T), *sm = xmalloc((size_t)(T * T)), *cm = xmalloc((size_t)(T * L));
    int32_t *text = xmalloc((size_t)L * sizeof(int32_t));
    gl_rng r;
    gl_rng_seed(&r, 3);
    for (int64_t i = 0; i < n; i++) ctx[i] = (float)(gl_rng_uniform(&r) * 2 - 1);
    for (int64_t k = 0; k < T; k++) {
        int64_t row = k / gw % gh, col = k % gw;
        clean[k] = row < gh / 2 && col < gw / 2;
    }
    for (int64_t i = 0; i < T; i++)
        for (int64_t j = 0; j < T; j++) sm[i * T + j] = !clean[i] || clean[j];
    memset(cm, 1, (size_t)(T * L));
    for (int64_t i = 0; i < L; i++) text[i] = i < 40 ? 1 + (int32_t)(gl_rng_u64(&r) % 1000) : 0;
    gl_sample_opts so = gl_sample_default_opts();
    so.steps = steps;
    gl_sample_request req = {.F = F, .H = H, .W = W, .text = text, .text_len = 40, .context = ctx,
                             .clean = clean, .self_mask = sm, .cross_mask = cm};
    char msg[512];
    double t0 = now();
    if (gl_sample(m, &so, &req, out, msg, sizeof msg)) die(msg);
    double dt = now() - t0;
    /* the guided pair shares its timesteps: the step's and the clean cells' 0 */
    const double flops = bench_flops_forward(c, 2, T, 2) * steps;
    const char *prec = gl_precision_name(gl_get_precision());
    printf("{\"impl\": \"c\", \"precision\": \"%s\", \"phase\": \"grid\", \"steps\": %d, \"T\": %lld, "
           "\"seconds\": %.3f, \"gflops\": %.2f, \"arena_mb\": %.1f, \"peak_rss_mb\": %.1f, \"threads\": %d}\n",
           prec, steps, (long long)T, dt, flops / dt * 1e-9,
           (double)gl_dit_arena_bytes(m, 2, F, H, W) / 1048576.0, peak_rss_mb(), gl_threads());
    free(ctx); free(out); free(clean); free(sm); free(cm); free(text);
    gl_dit_free(&m);
}

static float *randbuf(int64_t n, gl_rng *r) {
    float *p = xmalloc((size_t)n * sizeof(float));
    for (int64_t i = 0; i < n; i++) p[i] = (float)(gl_rng_uniform(r) - 0.5);
    return p;
}

/* Best GFLOP/s of y[N,OC] = x[N,IC] w[OC,IC]^T (the forward product), of the two
 * backward products, and of all three, each the best of 3 rounds of >= 50 ms. */
static double sgemm_rate(int64_t N, int64_t IC, int64_t OC, int which) {
    gl_rng r;
    gl_rng_seed(&r, 42);
    float *x = randbuf(N * IC, &r), *w = randbuf(OC * IC, &r), *g = randbuf(N * OC, &r);
    float *y = randbuf(N * OC, &r), *dx = randbuf(N * IC, &r), *dw = randbuf(OC * IC, &r);
    const int n = (int)N, ic = (int)IC, oc = (int)OC;
    double best = 1e30, flop = 2.0 * (double)N * (double)IC * (double)OC * (which == 3 ? 3 : 1);
    for (int rep = 0; rep < 4; rep++) {
        int iters = 0;
        double t0 = now(), t;
        do {
            if (which == 0 || which == 3)
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, oc, ic, 1, x, ic, w, ic, 0, y, oc);
            if (which == 1 || which == 3)
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, ic, oc, 1, g, oc, w, ic, 1, dx, ic);
            if (which == 2 || which == 3)
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, oc, ic, n, 1, g, oc, x, ic, 1, dw, ic);
            iters++;
        } while ((t = now() - t0) < 0.05);
        if (rep > 0 && t / iters < best) best = t / iters; /* round 0 warms up */
    }
    free(x); free(w); free(g); free(y); free(dx); free(dw);
    return flop / best * 1e-9;
}

/* Best GFLOP/s of oneDNN's fp32 matmul for the forward product y = x w^T (w read through
 * strides, as the engine would), same rounds as sgemm_rate. */
static double dnnl_f32_rate(int64_t N, int64_t IC, int64_t OC) {
    gl_rng r;
    gl_rng_seed(&r, 42);
    float *x = randbuf(N * IC, &r), *w = randbuf(OC * IC, &r), *y = randbuf(N * OC, &r);
    dnnl_engine_t eng;
    dnnl_stream_t st;
    dnnl_memory_desc_t a, b, c;
    dnnl_matmul_desc_t desc;
    dnnl_primitive_desc_t pd;
    dnnl_primitive_t prim;
    dnnl_memory_t ma, mb, mc;
    dnnl_dims_t da = {N, IC}, sa = {IC, 1}, db = {IC, OC}, sb = {1, IC}, dc = {N, OC}, sc = {OC, 1};
    if (dnnl_engine_create(&eng, dnnl_cpu, 0) || dnnl_stream_create(&st, eng, dnnl_stream_default_flags) ||
        dnnl_memory_desc_init_by_strides(&a, 2, da, dnnl_f32, sa) ||
        dnnl_memory_desc_init_by_strides(&b, 2, db, dnnl_f32, sb) ||
        dnnl_memory_desc_init_by_strides(&c, 2, dc, dnnl_f32, sc) || dnnl_matmul_desc_init(&desc, &a, &b, NULL, &c) ||
        dnnl_primitive_desc_create(&pd, &desc, NULL, eng, NULL) || dnnl_primitive_create(&prim, pd) ||
        dnnl_memory_create(&ma, &a, eng, x) || dnnl_memory_create(&mb, &b, eng, w) || dnnl_memory_create(&mc, &c, eng, y))
        die("oneDNN fp32 matmul");
    dnnl_exec_arg_t args[3] = {{DNNL_ARG_SRC, ma}, {DNNL_ARG_WEIGHTS, mb}, {DNNL_ARG_DST, mc}};
    double best = 1e30, flop = 2.0 * (double)N * (double)IC * (double)OC;
    for (int rep = 0; rep < 4; rep++) {
        int iters = 0;
        double t0 = now(), t;
        do {
            dnnl_primitive_execute(prim, st, 3, args);
            dnnl_stream_wait(st);
            iters++;
        } while ((t = now() - t0) < 0.05);
        if (rep > 0 && t / iters < best) best = t / iters;
    }
    dnnl_memory_destroy(ma); dnnl_memory_destroy(mb); dnnl_memory_destroy(mc);
    dnnl_primitive_destroy(prim); dnnl_primitive_desc_destroy(pd);
    dnnl_stream_destroy(st); dnnl_engine_destroy(eng);
    free(x); free(w); free(y);
    return flop / best * 1e-9;
}

/* Best GFLOP/s of the engine's linear layer, forward + backward (three products, with
 * the bf16 conversions) in the precision in force. */
static double engine_rate(int64_t N, int64_t IC, int64_t OC) {
    gl_rng r;
    gl_rng_seed(&r, 42);
    float *x = randbuf(N * IC, &r), *w = randbuf(OC * IC, &r), *b = randbuf(OC, &r), *g = randbuf(N * OC, &r);
    float *y = randbuf(N * OC, &r), *dx = randbuf(N * IC, &r), *dw = randbuf(OC * IC, &r), *db = randbuf(OC, &r);
    double best = 1e30, flop = 6.0 * (double)N * (double)IC * (double)OC;
    for (int rep = 0; rep < 4; rep++) {
        int iters = 0;
        double t0 = now(), t;
        do {
            gl_linear_forward(y, x, w, b, N, IC, OC);
            gl_linear_backward(dx, dw, db, g, x, w, N, IC, OC);
            iters++;
        } while ((t = now() - t0) < 0.05);
        if (rep > 0 && t / iters < best) best = t / iters;
    }
    free(x); free(w); free(b); free(g); free(y); free(dx); free(dw); free(db);
    return flop / best * 1e-9;
}

static void run_sgemm(void) {
    gl_dit_config c;
    gl_dit_config_preset("default", &c);
    const int64_t C = c.width, M = c.mlp_ratio * C;
    /* tokens of a batch of two 2x2 canvases and of four cells */
    const int64_t tokens[] = {2048, 1024};
    struct { const char *name; int64_t ic, oc; } sh[] = {
        {"adaln", C, 6 * C}, {"qkvo", C, C}, {"fc1", C, M}, {"fc2", M, C}, {"square", 2048, 2048}};
    double peak = 0;
    const char *peak_at = "";
    static char where[64];
    for (size_t ti = 0; ti < 2; ti++)
        for (size_t si = 0; si < sizeof sh / sizeof sh[0]; si++) {
            int64_t N = sh[si].ic == 2048 ? 2048 : tokens[ti];
            if (sh[si].ic == 2048 && ti) continue;
            double rf = sgemm_rate(N, sh[si].ic, sh[si].oc, 0), r3 = sgemm_rate(N, sh[si].ic, sh[si].oc, 3);
            double df = dnnl_f32_rate(N, sh[si].ic, sh[si].oc), eb = 0;
            if (gl_set_precision(GL_PRECISION_BF16) == GL_OK) {
                eb = engine_rate(N, sh[si].ic, sh[si].oc);
                gl_set_precision(GL_PRECISION_FP32);
            }
            printf("{\"impl\": \"openblas\", \"phase\": \"sgemm\", \"shape\": \"%s\", \"N\": %lld, \"IC\": %lld, "
                   "\"OC\": %lld, \"fwd_gflops\": %.2f, \"fwd_bwd_gflops\": %.2f, \"dnnl_f32_fwd_gflops\": %.2f, "
                   "\"engine_bf16_fwd_bwd_gflops\": %.2f}\n",
                   sh[si].name, (long long)N, (long long)sh[si].ic, (long long)sh[si].oc, rf, r3, df, eb);
            double best = rf > r3 ? rf : r3;
            const char *lib = "OpenBLAS";
            if (df > best) {
                best = df;
                lib = "oneDNN";
            }
            if (best > peak && sh[si].ic != 2048) {
                peak = best;
                snprintf(where, sizeof where, "%s, %s N=%lld", lib, sh[si].name, (long long)N);
                peak_at = where;
            }
        }
    printf("{\"impl\": \"openblas\", \"phase\": \"sgemm_peak\", \"gflops\": %.2f, \"at\": \"%s\", \"kernel\": \"%s\", "
           "\"config\": \"%s\", \"threads\": %d}\n",
           peak, peak_at, openblas_get_corename(), openblas_get_config(), gl_threads());
}

int main(int argc, char **argv) {
    gl_threads();
    if (argc >= 3 && !strcmp(argv[1], "save")) {
        gl_dit *m = make_model();
        char msg[512];
        if (gl_dit_save(m, argv[2], 0, msg, sizeof msg)) die(msg);
        gl_dit_free(&m);
        return 0;
    }
    if (argc >= 2 && !strcmp(argv[1], "sgemm")) {
        run_sgemm();
        return 0;
    }
    if (argc >= 3 && !strcmp(argv[1], "grid")) {
        run_grid(atoi(argv[2]));
        return 0;
    }
    if (argc >= 7) {
        int mode = !strcmp(argv[1], "train") ? MODE_TRAIN : !strcmp(argv[1], "frozen") ? MODE_FROZEN
                 : !strcmp(argv[1], "sample") ? MODE_SAMPLE : !strcmp(argv[1], "adapter") ? MODE_ADAPTER : -1;
        if (mode >= 0) {
            run_model(mode, atoll(argv[2]), atoll(argv[3]), atoll(argv[4]), atoll(argv[5]), atoi(argv[6]));
            return 0;
        }
    }
    fprintf(stderr, "usage: bench_model save PATH | sgemm | grid STEPS | train|frozen|sample|adapter B F H W REPS\n");
    return 2;
}
