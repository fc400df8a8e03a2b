/* nn/embedding.c: table lookup, out[n] = table[ids[n]], and its scatter-add backward. */
#include <string.h>

#include "gridlora/core.h"
#include "gridlora/nn.h"

void gl_embedding_forward(float *out, const int32_t *ids, const float *table,
                          int64_t N, int64_t V, int64_t C) {
    GL_ASSERT(N >= 0 && V >= 0 && C >= 0);
#pragma omp parallel for schedule(static)
    for (int64_t n = 0; n < N; n++) {
        int64_t id = ids[n];
        GL_ASSERT(id >= 0 && id < V);
        memcpy(out + n * C, table + id * C, (size_t)C * sizeof(float));
    }
}

/* dtable[ids[n]] += dout[n]. Ids repeat, so splitting over n would race (or, with
 * atomics, add in a thread-dependent order). Split over column blocks instead: each
 * thread owns whole columns of the table and walks n in order, so every table entry
 * receives its terms in the same order for any thread count. */
void gl_embedding_backward(float *dtable, const float *dout, const int32_t *ids,
                           int64_t N, int64_t V, int64_t C) {
    GL_ASSERT(N >= 0 && V >= 0 && C >= 0);
    if (!dtable) return;
    for (int64_t n = 0; n < N; n++) GL_ASSERT(ids[n] >= 0 && ids[n] < V);
    enum { COLS = 64 };
    int64_t blocks = (C + COLS - 1) / COLS;
#pragma omp parallel for schedule(static)
    for (int64_t blk = 0; blk < blocks; blk++) {
        int64_t c0 = blk * COLS, c1 = c0 + COLS < C ? c0 + COLS : C;
        for (int64_t n = 0; n < N; n++) {
            const float *g = dout + n * C;
            float *d = dtable + (int64_t)ids[n] * C;
            for (int64_t c = c0; c < c1; c++) d[c] += g[c];
        }
    }
}
