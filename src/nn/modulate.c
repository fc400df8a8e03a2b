/* nn/modulate.c: AdaLN, the modulation x (1 + scale) + shift and the gated residual
 * res + gate y. shift, scale and gate are slices of one modulation tensor of 6C columns,
 * so their rows lie mstride floats apart. Token n reads row rows[n] of it (rows NULL:
 * row n): the model computes one row per distinct timestep, not per token, and the
 * gradients of a row sum over the tokens reading it.
 * The backward passes split over blocks of columns, each summing over every token in
 * token order, so a row's gradient is the same for any thread count and no two threads
 * write one element. The column loops are marked omp simd: each element is read and
 * written at one index only (out may be x or res), which the compiler cannot prove. */
#include "gridlora/core.h"
#include "gridlora/nn.h"

enum { COLS = 16 }; /* one AVX-512 vector, one 64-byte line of a row */

static int64_t row_of(const int32_t *rows, int64_t n) { return rows ? (int64_t)rows[n] : n; }

void gl_modulate_forward(float *out, const float *x, const float *shift, const float *scale, const int32_t *rows,
                         int64_t N, int64_t C, int64_t mstride) {
    GL_ASSERT(N >= 0 && C >= 0 && mstride >= C);
#pragma omp parallel for schedule(static)
    for (int64_t n = 0; n < N; n++) {
        const int64_t r = row_of(rows, n);
        const float *xr = x + n * C, *sh = shift + r * mstride, *sc = scale + r * mstride;
        float *o = out + n * C;
#pragma omp simd
        for (int64_t c = 0; c < C; c++) o[c] = xr[c] * (1.0f + sc[c]) + sh[c];
    }
}

void gl_modulate_backward(float *dx, float *dshift, float *dscale, const float *dout, const float *x,
                          const float *scale, const int32_t *rows, int64_t N, int64_t C, int64_t mstride) {
    GL_ASSERT(N >= 0 && C >= 0 && mstride >= C);
    const int64_t blocks = (C + COLS - 1) / COLS;
#pragma omp parallel for schedule(static)
    for (int64_t blk = 0; blk < blocks; blk++) {
        const int64_t c0 = blk * COLS, c1 = c0 + COLS < C ? c0 + COLS : C;
        for (int64_t n = 0; n < N; n++) {
            const int64_t r = row_of(rows, n);
            const float *g = dout + n * C;
            if (dx) {
                const float *sc = scale + r * mstride;
                float *d = dx + n * C;
#pragma omp simd
                for (int64_t c = c0; c < c1; c++) d[c] += g[c] * (1.0f + sc[c]);
            }
            if (dshift) {
                float *d = dshift + r * mstride;
#pragma omp simd
                for (int64_t c = c0; c < c1; c++) d[c] += g[c];
            }
            if (dscale) {
                const float *xr = x + n * C;
                float *d = dscale + r * mstride;
#pragma omp simd
                for (int64_t c = c0; c < c1; c++) d[c] += g[c] * xr[c];
            }
        }
    }
}

/* Each element is read before it is written, so out may be res (the residual stream
 * updated in place). */
void gl_gated_residual_forward(float *out, const float *res, const float *y, const float *gate,
                               const int32_t *rows, int64_t N, int64_t C, int64_t mstride) {
    GL_ASSERT(N >= 0 && C >= 0 && mstride >= C);
#pragma omp parallel for schedule(static)
    for (int64_t n = 0; n < N; n++) {
        const float *r = res + n * C, *yr = y + n * C, *gt = gate + row_of(rows, n) * mstride;
        float *o = out + n * C;
#pragma omp simd
        for (int64_t c = 0; c < C; c++) o[c] = r[c] + gt[c] * yr[c];
    }
}

/* dres += dout; dy += dout * gate; dgate += dout * y. For a residual stream updated in
 * place, d(res) is d(out) itself: pass dres NULL rather than dout, which would add dout
 * to itself (asserted against). */
void gl_gated_residual_backward(float *dres, float *dy, float *dgate, const float *dout, const float *y,
                                const float *gate, const int32_t *rows, int64_t N, int64_t C, int64_t mstride) {
    GL_ASSERT(N >= 0 && C >= 0 && mstride >= C);
    GL_ASSERT(dres == NULL || dres != dout);
    const int64_t blocks = (C + COLS - 1) / COLS;
#pragma omp parallel for schedule(static)
    for (int64_t blk = 0; blk < blocks; blk++) {
        const int64_t c0 = blk * COLS, c1 = c0 + COLS < C ? c0 + COLS : C;
        for (int64_t n = 0; n < N; n++) {
            const int64_t r = row_of(rows, n);
            const float *g = dout + n * C;
            if (dres) {
                float *d = dres + n * C;
#pragma omp simd
                for (int64_t c = c0; c < c1; c++) d[c] += g[c];
            }
            if (dy) {
                const float *gt = gate + r * mstride;
                float *d = dy + n * C;
#pragma omp simd
                for (int64_t c = c0; c < c1; c++) d[c] += g[c] * gt[c];
            }
            if (dgate) {
                const float *yr = y + n * C;
                float *d = dgate + r * mstride;
#pragma omp simd
                for (int64_t c = c0; c < c1; c++) d[c] += g[c] * yr[c];
            }
        }
    }
}
