/* nn/norm.c: layer norm (no affine) and RMS norm (with weight), forward and backward.
 * Rows are independent, so every loop over rows runs in parallel; the one reduction over
 * rows (RMS norm's dw) is split over columns instead, so results do not depend on the
 * thread count. The sums along a row are vector reductions (omp simd): a sum kept in
 * one register waits on its own previous add at every element, and these rows are short
 * (a width, a head) and many. Their order is fixed by the build, not by the threads. */
#include <math.h>

#include "gridlora/core.h"
#include "gridlora/nn.h"

/* ---- layer norm ------------------------------------------------------------------ */

void gl_layernorm_forward(float *out, float *mean, float *rstd, const float *inp,
                          int64_t N, int64_t C, float eps) {
    GL_ASSERT(N >= 0 && C > 0);
#pragma omp parallel for schedule(static)
    for (int64_t n = 0; n < N; n++) {
        const float *x = inp + n * C;
        float *o = out + n * C;
        /* Two passes in double: one pass (E[x^2] - E[x]^2) cancels catastrophically when
         * the mean is large against the spread, as it is for raw latents. */
        double s = 0.0;
#pragma omp simd reduction(+ : s)
        for (int64_t c = 0; c < C; c++) s += x[c];
        double m = s / (double)C;
        double v = 0.0;
#pragma omp simd reduction(+ : v)
        for (int64_t c = 0; c < C; c++) {
            double d = x[c] - m;
            v += d * d;
        }
        double r = 1.0 / sqrt(v / (double)C + (double)eps);
        float mf = (float)m, rf = (float)r;
        for (int64_t c = 0; c < C; c++) o[c] = (x[c] - mf) * rf;
        mean[n] = mf;
        rstd[n] = rf;
    }
}

/* With xhat = (x - mean) * rstd and g = dout:
 * dx = rstd * (g - mean(g) - xhat * mean(g * xhat)). */
void gl_layernorm_backward(float *dinp, const float *dout, const float *inp,
                           const float *mean, const float *rstd, int64_t N, int64_t C) {
    GL_ASSERT(N >= 0 && C > 0);
    if (!dinp) return;
#pragma omp parallel for schedule(static)
    for (int64_t n = 0; n < N; n++) {
        const float *x = inp + n * C, *g = dout + n * C;
        float *dx = dinp + n * C;
        float m = mean[n], r = rstd[n];
        float sg = 0.0f, sgx = 0.0f;
#pragma omp simd reduction(+ : sg, sgx)
        for (int64_t c = 0; c < C; c++) {
            float xhat = (x[c] - m) * r;
            sg += g[c];
            sgx += g[c] * xhat;
        }
        sg /= (float)C;
        sgx /= (float)C;
        for (int64_t c = 0; c < C; c++) {
            float xhat = (x[c] - m) * r;
            dx[c] += r * (g[c] - sg - xhat * sgx);
        }
    }
}

/* ---- RMS norm -------------------------------------------------------------------- */

void gl_rmsnorm_forward(float *out, float *rstd, const float *inp, const float *w,
                        int64_t N, int64_t C, float eps) {
    GL_ASSERT(N >= 0 && C > 0);
#pragma omp parallel for schedule(static)
    for (int64_t n = 0; n < N; n++) {
        const float *x = inp + n * C;
        float *o = out + n * C;
        double ss = 0.0; /* no cancellation here, but a long row of large values loses bits */
#pragma omp simd reduction(+ : ss)
        for (int64_t c = 0; c < C; c++) ss += (double)x[c] * x[c];
        float r = (float)(1.0 / sqrt(ss / (double)C + (double)eps));
        for (int64_t c = 0; c < C; c++) o[c] = x[c] * r * w[c];
        rstd[n] = r;
    }
}

/* dw[C] += sum_n dout * x * rstd. Split over column blocks, each summed over rows in
 * order, as linear.c's bias_backward: the same result for any thread count. */
static void rmsnorm_dw(float *dw, const float *dout, const float *inp, const float *rstd,
                       int64_t N, int64_t C) {
    enum { COLS = 64 };
    int64_t blocks = (C + COLS - 1) / COLS;
#pragma omp parallel for schedule(static)
    for (int64_t blk = 0; blk < blocks; blk++) {
        int64_t c0 = blk * COLS, c1 = c0 + COLS < C ? c0 + COLS : C;
        float acc[COLS] = {0};
        for (int64_t n = 0; n < N; n++) {
            const float *g = dout + n * C, *x = inp + n * C;
            float r = rstd[n];
            for (int64_t c = c0; c < c1; c++) acc[c - c0] += g[c] * x[c] * r;
        }
        for (int64_t c = c0; c < c1; c++) dw[c] += acc[c - c0];
    }
}

/* out_c = x_c r w_c with r = (mean(x^2) + eps)^(-1/2), so dr/dx_j = -r^3 x_j / C and
 * dx_j = r (g_j w_j - x_j r^2 mean_c(g_c w_c x_c)). */
void gl_rmsnorm_backward(float *dinp, float *dw, const float *dout, const float *inp,
                         const float *w, const float *rstd, int64_t N, int64_t C) {
    GL_ASSERT(N >= 0 && C > 0);
    if (dinp) {
#pragma omp parallel for schedule(static)
        for (int64_t n = 0; n < N; n++) {
            const float *x = inp + n * C, *g = dout + n * C;
            float *dx = dinp + n * C;
            float r = rstd[n];
            float s = 0.0f;
#pragma omp simd reduction(+ : s)
            for (int64_t c = 0; c < C; c++) s += g[c] * w[c] * x[c];
            float k = r * r * s / (float)C;
            for (int64_t c = 0; c < C; c++) dx[c] += r * (g[c] * w[c] - x[c] * k);
        }
    }
    if (dw) rmsnorm_dw(dw, dout, inp, rstd, N, C);
}
