/* nn/modulate.c: per-token AdaLN, the modulation x (1 + scale) + shift and the gated
 * residual res + gate y. shift, scale and gate are slices of one [N, 6C] modulation
 * tensor, so their rows lie mstride floats apart; every token has its own row, so no
 * gradient sums over tokens and all loops split over rows. */
#include "gridlora/core.h"
#include "gridlora/nn.h"

void gl_modulate_forward(float *out, const float *x, const float *shift, const float *scale,
                         int64_t N, int64_t C, int64_t mstride) {
    GL_ASSERT(N >= 0 && C >= 0 && mstride >= C);
#pragma omp parallel for schedule(static)
    for (int64_t n = 0; n < N; n++) {
        const float *xr = x + n * C, *sh = shift + n * mstride, *sc = scale + n * mstride;
        float *o = out + n * C;
        for (int64_t c = 0; c < C; c++) o[c] = xr[c] * (1.0f + sc[c]) + sh[c];
    }
}

void gl_modulate_backward(float *dx, float *dshift, float *dscale, const float *dout,
                          const float *x, const float *scale, int64_t N, int64_t C,
                          int64_t mstride) {
    GL_ASSERT(N >= 0 && C >= 0 && mstride >= C);
#pragma omp parallel for schedule(static)
    for (int64_t n = 0; n < N; n++) {
        const float *g = dout + n * C;
        if (dx) {
            const float *sc = scale + n * mstride;
            float *d = dx + n * C;
            for (int64_t c = 0; c < C; c++) d[c] += g[c] * (1.0f + sc[c]);
        }
        if (dshift) {
            float *d = dshift + n * mstride;
            for (int64_t c = 0; c < C; c++) d[c] += g[c];
        }
        if (dscale) {
            const float *xr = x + n * C;
            float *d = dscale + n * mstride;
            for (int64_t c = 0; c < C; c++) d[c] += g[c] * xr[c];
        }
    }
}

/* Each element is read before it is written, so out may be res (the residual stream
 * updated in place). */
void gl_gated_residual_forward(float *out, const float *res, const float *y,
                               const float *gate, int64_t N, int64_t C, int64_t mstride) {
    GL_ASSERT(N >= 0 && C >= 0 && mstride >= C);
#pragma omp parallel for schedule(static)
    for (int64_t n = 0; n < N; n++) {
        const float *r = res + n * C, *yr = y + n * C, *gt = gate + n * mstride;
        float *o = out + n * C;
        for (int64_t c = 0; c < C; c++) o[c] = r[c] + gt[c] * yr[c];
    }
}

/* dres += dout; dy += dout * gate; dgate += dout * y. For a residual stream updated in
 * place, d(res) is d(out) itself: pass dres NULL rather than dout, which would add dout
 * to itself (asserted against). */
void gl_gated_residual_backward(float *dres, float *dy, float *dgate, const float *dout,
                                const float *y, const float *gate, int64_t N, int64_t C,
                                int64_t mstride) {
    GL_ASSERT(N >= 0 && C >= 0 && mstride >= C);
    GL_ASSERT(dres == NULL || dres != dout);
#pragma omp parallel for schedule(static)
    for (int64_t n = 0; n < N; n++) {
        const float *g = dout + n * C;
        if (dres) {
            float *d = dres + n * C;
            for (int64_t c = 0; c < C; c++) d[c] += g[c];
        }
        if (dy) {
            const float *gt = gate + n * mstride;
            float *d = dy + n * C;
            for (int64_t c = 0; c < C; c++) d[c] += g[c] * gt[c];
        }
        if (dgate) {
            const float *yr = y + n * C;
            float *d = dgate + n * mstride;
            for (int64_t c = 0; c < C; c++) d[c] += g[c] * yr[c];
        }
    }
}
