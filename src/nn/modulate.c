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

/* The backward passes' column-block updates: d[c] += g[c], g[c] s[c], g[c] (1 + s[c]). */
static void add_cols(float *d, const float *g, int64_t c0, int64_t c1) {
#pragma omp simd
    for (int64_t c = c0; c < c1; c++) d[c] += g[c];
}

static void add_prod_cols(float *d, const float *g, const float *s, int64_t c0, int64_t c1) {
#pragma omp simd
    for (int64_t c = c0; c < c1; c++) d[c] += g[c] * s[c];
}

static void add_scaled_cols(float *d, const float *g, const float *s, int64_t c0, int64_t c1) {
#pragma omp simd
    for (int64_t c = c0; c < c1; c++) d[c] += g[c] * (1.0f + s[c]);
}

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
            if (dx) add_scaled_cols(dx + n * C, g, scale + r * mstride, c0, c1);
            if (dshift) add_cols(dshift + r * mstride, g, c0, c1);
            if (dscale) add_prod_cols(dscale + r * mstride, g, x + n * C, c0, c1);
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
            if (dres) add_cols(dres + n * C, g, c0, c1);
            if (dy) add_prod_cols(dy + n * C, g, gate + r * mstride, c0, c1);
            if (dgate) add_prod_cols(dgate + r * mstride, g, y + n * C, c0, c1);
        }
    }
}
