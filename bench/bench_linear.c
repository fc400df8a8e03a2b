/* bench/bench_linear.c: GFLOP/s of the engine's linear layer (forward + backward)
 * next to raw cblas_sgemm doing the same three products, in the same run, at the matrix
 * shapes of a transformer block; then attention forward + backward in fp32 and in bf16
 * side by side. Run through `make bench` (guard variables unset); `bench_linear
 * attention` runs only the attention part. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cblas.h>

#include "gridlora/gridlora.h"
#include "gridlora/precision.h"

static double now(void) {
    struct timespec ts;
    timespec_get(&ts, TIME_UTC);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static float *randbuf(int64_t n, gl_rng *r) {
    float *p = malloc((size_t)n * sizeof(float));
    if (!p) { fprintf(stderr, "bench_linear: out of memory\n"); exit(1); }
    for (int64_t i = 0; i < n; i++) p[i] = (float)(gl_rng_uniform(r) - 0.5);
    return p;
}

typedef struct shape { const char *name; int64_t in_mult, out_mult; } shape;

/* One repetition of what gl_linear_* does, as plain sgemm calls. */
static void raw_sgemm(float *y, float *dx, float *dw, const float *x, const float *w,
                      const float *g, int N, int IC, int OC) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, OC, IC, 1, x, IC, w, IC, 0, y, OC);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, IC, OC, 1, g, OC, w, IC, 1, dx, IC);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, OC, IC, N, 1, g, OC, x, IC, 1, dw, IC);
}

/* Best of `reps` timed rounds, each long enough (>= 50 ms) to swamp timer noise. */
static double gflops(int engine, int64_t N, int64_t IC, int64_t OC, int reps) {
    gl_rng r;
    gl_rng_seed(&r, 42);
    float *x = randbuf(N * IC, &r), *w = randbuf(OC * IC, &r), *b = randbuf(OC, &r);
    float *g = randbuf(N * OC, &r), *y = randbuf(N * OC, &r), *dx = randbuf(N * IC, &r);
    float *dw = randbuf(OC * IC, &r), *db = randbuf(OC, &r);
    double flop = 6.0 * (double)N * (double)IC * (double)OC, best = 1e30;
    for (int rep = 0; rep < reps; rep++) {
        int iters = 0;
        double t0 = now(), t;
        do {
            if (engine) {
                gl_linear_forward(y, x, w, b, N, IC, OC);
                gl_linear_backward(dx, dw, db, g, x, w, N, IC, OC);
            } else {
                raw_sgemm(y, dx, dw, x, w, g, (int)N, (int)IC, (int)OC);
            }
            iters++;
        } while ((t = now() - t0) < 0.05);
        if (t / iters < best) best = t / iters;
    }
    free(x); free(w); free(b); free(g); free(y); free(dx); free(dw); free(db);
    return flop / best * 1e-9;
}

/* Seconds of one attention forward + backward (all three gradients) at the precision in
 * force, best of `reps` rounds of >= 0.2 s each. */
static double attn_seconds(gl_attn_dims d, int reps) {
    gl_rng r;
    gl_rng_seed(&r, 7);
    const int64_t nq = d.B * d.Tq * d.H * d.D, nk = d.B * d.Tk * d.H * d.D;
    float *q = randbuf(nq, &r), *k = randbuf(nk, &r), *v = randbuf(nk, &r), *g = randbuf(nq, &r);
    float *out = randbuf(nq, &r), *dq = randbuf(nq, &r), *dk = randbuf(nk, &r), *dv = randbuf(nk, &r);
    float *lse = randbuf(d.B * d.H * d.Tq, &r);
    float *scratch = randbuf((int64_t)gl_attention_scratch_floats(d, gl_threads()), &r);
    /* q and k of unit-scale entries give softmax rows as peaked as a trained model's */
    for (int64_t i = 0; i < nq; i++) q[i] *= 4.0f;
    for (int64_t i = 0; i < nk; i++) k[i] *= 4.0f;
    double best = 1e30;
    for (int rep = 0; rep < reps; rep++) {
        int iters = 0;
        double t0 = now(), t;
        do {
            gl_attention_forward(out, lse, scratch, q, k, v, NULL, 0, d);
            gl_attention_backward(dq, dk, dv, scratch, g, out, lse, q, k, v, NULL, 0, d);
            iters++;
        } while ((t = now() - t0) < 0.2);
        if (t / iters < best) best = t / iters;
    }
    free(q); free(k); free(v); free(g); free(out); free(dq); free(dk); free(dv); free(lse); free(scratch);
    return best;
}

/* Attention at the default preset's 2x2-canvas step (T = 1024 tokens, 4 heads of 48),
 * batch 2: fp32 against bf16 tile products, interleaved as above. */
static void bench_attention(void) {
    const gl_attn_dims d = {2, 1024, 1024, 4, 48};
    printf("attention forward+backward, B=%lld T=%lld H=%lld D=%lld (seconds, best of 3 rounds x 3)\n",
           (long long)d.B, (long long)d.Tq, (long long)d.H, (long long)d.D);
    if (gl_set_precision(GL_PRECISION_BF16) != GL_OK) {
        printf("no bf16 matrix products on this CPU: attention bf16 not measured\n");
        return;
    }
    double s32 = 1e30, s16 = 1e30;
    for (int k = 0; k < 3; k++) {
        gl_set_precision(GL_PRECISION_FP32);
        double a = attn_seconds(d, 1);
        gl_set_precision(GL_PRECISION_BF16);
        double b = attn_seconds(d, 1);
        if (a < s32) s32 = a;
        if (b < s16) s16 = b;
    }
    gl_set_precision(GL_PRECISION_FP32);
    printf("%-10s %12s %12s %8s\n", "", "fp32 s", "bf16 s", "ratio");
    printf("%-10s %12.4f %12.4f %8.2f\n", "attention", s32, s16, s32 / s16);
}

int main(int argc, char **argv) {
    const int attention_only = argc > 1 && !strcmp(argv[1], "attention");
    const char *ct = getenv("OPENBLAS_CORETYPE"), *l2 = getenv("OPENBLAS_L2_SIZE");
    printf("bench_linear: gridlora %s, %d threads, OpenBLAS %s, kernel %s\n", GL_VERSION,
           gl_threads(), openblas_get_config(), openblas_get_corename());
    printf("OPENBLAS_CORETYPE=%s OPENBLAS_L2_SIZE=%s\n", ct ? ct : "(unset)", l2 ? l2 : "(unset)");
    if (attention_only) {
        bench_attention();
        return 0;
    }
    printf("linear forward+backward (3 sgemm: y, dx, dw; engine adds bias and its gradient)\n");
    printf("%-6s %-6s %-10s %-12s %12s %12s %8s\n", "width", "tokens", "layer", "IC x OC",
           "engine GF/s", "sgemm GF/s", "ratio");
    const shape shapes[] = {{"qkv", 1, 3}, {"proj", 1, 1}, {"mlp.fc1", 1, 4}, {"mlp.fc2", 4, 1},
                            {"adaln", 1, 6}};
    const int64_t widths[] = {192, 256}, tokens[] = {256, 1024};
    for (int wi = 0; wi < 2; wi++)
        for (int ti = 0; ti < 2; ti++)
            for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
                int64_t C = widths[wi], N = tokens[ti];
                int64_t IC = C * shapes[si].in_mult, OC = C * shapes[si].out_mult;
                /* interleaved so drifts in machine load hit both alike */
                double e = 0, s = 0;
                for (int k = 0; k < 3; k++) {
                    double ek = gflops(1, N, IC, OC, 1), sk = gflops(0, N, IC, OC, 1);
                    if (ek > e) e = ek;
                    if (sk > s) s = sk;
                }
                char dims[32];
                snprintf(dims, sizeof dims, "%lldx%lld", (long long)IC, (long long)OC);
                printf("%-6lld %-6lld %-10s %-12s %12.1f %12.1f %8.2f\n", (long long)C,
                       (long long)N, shapes[si].name, dims, e, s, e / s);
                fflush(stdout);
            }
    bench_attention();
    return 0;
}
