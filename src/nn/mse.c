/* nn/mse.c: the masked mean squared error loss and its gradient; and the squared error of
 * masked means over cells of a frame (each cell's mean colour against the target's).
 *
 * The loss is summed in double over fixed chunks of CHUNK elements, and the chunks'
 * partial sums are added in chunk order. Which thread sums a chunk then changes nothing,
 * so the loss is bit-identical for any thread count. nn/ never allocates, so the partial
 * sums live in a stack array of ROUND chunks, filled in parallel and folded in order,
 * one round at a time. */
#include "gridlora/core.h"
#include "gridlora/nn.h"

enum { CHUNK = 4096, ROUND = 256 };

/* Sum of m (p - y)^2 (when pred is not NULL) and sum of m over [0, n), fixed order. */
static void masked_sums(const float *pred, const float *target, const float *mask, int64_t n,
                        double *sq_out, double *msum_out) {
    double sq = 0.0, msum = 0.0;
    int64_t chunks = (n + CHUNK - 1) / CHUNK;
    for (int64_t r0 = 0; r0 < chunks; r0 += ROUND) {
        int64_t r1 = r0 + ROUND < chunks ? r0 + ROUND : chunks;
        double psq[ROUND], pm[ROUND];
#pragma omp parallel for schedule(static)
        for (int64_t k = r0; k < r1; k++) {
            int64_t i0 = k * CHUNK, i1 = i0 + CHUNK < n ? i0 + CHUNK : n;
            double s = 0.0, m = 0.0;
            if (pred) {
                for (int64_t i = i0; i < i1; i++) {
                    double d = (double)pred[i] - (double)target[i];
                    double w = mask ? (double)mask[i] : 1.0;
                    s += w * d * d;
                    m += w;
                }
            } else if (mask) {
                for (int64_t i = i0; i < i1; i++) m += mask[i];
            } else {
                m = (double)(i1 - i0);
            }
            psq[k - r0] = s;
            pm[k - r0] = m;
        }
        for (int64_t k = r0; k < r1; k++) {
            sq += psq[k - r0];
            msum += pm[k - r0];
        }
    }
    *sq_out = sq;
    *msum_out = msum;
}

double gl_mse_forward(const float *pred, const float *target, const float *mask, int64_t n) {
    GL_ASSERT(n >= 0);
    double sq, msum;
    masked_sums(pred, target, mask, n, &sq, &msum);
    if (msum == 0.0) return 0.0; /* nothing to learn from: no loss, no NaN */
    return sq / msum;
}

void gl_mse_sums(const float *pred, const float *target, const float *mask, int64_t n, double *sq,
                 double *msum) {
    GL_ASSERT(n >= 0);
    masked_sums(pred, target, mask, n, sq, msum);
}

void gl_mse_backward(float *dpred, const float *pred, const float *target, const float *mask,
                     int64_t n, float dloss) {
    GL_ASSERT(n >= 0);
    if (!dpred) return;
    double sq, msum;
    if (mask) {
        masked_sums(NULL, target, mask, n, &sq, &msum);
    } else {
        msum = (double)n;
    }
    if (msum == 0.0) return;
    float coef = (float)(2.0 * (double)dloss / msum);
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++) {
        float w = mask ? mask[i] : 1.0f;
        dpred[i] += coef * w * (pred[i] - target[i]);
    }
}

/* ---- the squared error of masked cell means ------------------------------------------ */

/* Cell (f, cy, cx) channel c's sums of m (p - y) and of m, in a fixed order. */
static void cell_sums(const float *pred, const float *target, const float *mask, int64_t f, int64_t cy,
                      int64_t cx, int64_t c, int64_t H, int64_t W, int64_t C, int64_t ch, int64_t cw,
                      double *dsum, double *msum) {
    double d = 0.0, m = 0.0;
    for (int64_t y = cy * ch; y < (cy + 1) * ch; y++)
        for (int64_t x = cx * cw; x < (cx + 1) * cw; x++) {
            int64_t e = ((f * H + y) * W + x) * C + c;
            double w = mask ? (double)mask[e] : 1.0;
            d += w * ((double)pred[e] - (double)target[e]);
            m += w;
        }
    *dsum = d;
    *msum = m;
}

static void check_cells(int64_t frames, int64_t H, int64_t W, int64_t C, int64_t ch, int64_t cw) {
    GL_ASSERT(frames >= 0 && H >= 1 && W >= 1 && C >= 1 && ch >= 1 && cw >= 1);
    GL_ASSERT(H % ch == 0 && W % cw == 0);
}

void gl_cellmean_sums(const float *pred, const float *target, const float *mask, int64_t frames, int64_t H,
                      int64_t W, int64_t C, int64_t cell_h, int64_t cell_w, double *sq, int64_t *groups) {
    check_cells(frames, H, W, C, cell_h, cell_w);
    double s = 0.0;
    int64_t g = 0;
    /* one pass over n elements, a small share of a training step: kept serial, so the
     * order of the sums is fixed without a buffer */
    for (int64_t f = 0; f < frames; f++)
        for (int64_t cy = 0; cy < H / cell_h; cy++)
            for (int64_t cx = 0; cx < W / cell_w; cx++)
                for (int64_t c = 0; c < C; c++) {
                    double d, m;
                    cell_sums(pred, target, mask, f, cy, cx, c, H, W, C, cell_h, cell_w, &d, &m);
                    if (m == 0.0) continue; /* nothing of the cell counts */
                    s += (d / m) * (d / m);
                    g++;
                }
    *sq = s;
    *groups = g;
}

void gl_cellmean_backward(float *dpred, const float *pred, const float *target, const float *mask, int64_t frames,
                          int64_t H, int64_t W, int64_t C, int64_t cell_h, int64_t cell_w, float dloss) {
    check_cells(frames, H, W, C, cell_h, cell_w);
    if (!dpred) return;
#pragma omp parallel for collapse(2) schedule(static)
    for (int64_t f = 0; f < frames; f++)
        for (int64_t cy = 0; cy < H / cell_h; cy++)
            for (int64_t cx = 0; cx < W / cell_w; cx++)
                for (int64_t c = 0; c < C; c++) {
                    double d, m;
                    cell_sums(pred, target, mask, f, cy, cx, c, H, W, C, cell_h, cell_w, &d, &m);
                    if (m == 0.0) continue;
                    const float coef = (float)(2.0 * (double)dloss * d / (m * m));
                    for (int64_t y = cy * cell_h; y < (cy + 1) * cell_h; y++)
                        for (int64_t x = cx * cell_w; x < (cx + 1) * cell_w; x++) {
                            int64_t e = ((f * H + y) * W + x) * C + c;
                            dpred[e] += coef * (mask ? mask[e] : 1.0f);
                        }
                }
}
