/* nn/linear.c: the linear layer, out = inp . w^T + b, through oneDNN's f32 matmul (or
 * OpenBLAS sgemm when oneDNN refuses, or with GRIDLORA_F32_MATMUL=openblas), or in
 * GL_PRECISION_BF16 through oneDNN's bf16 matmul (nn/matmul.c), float32 accumulation.
 * The batch of every call is folded into the rows (N = B*T), so one product serves it. */
#include <limits.h>
#include <string.h>

#include <cblas.h>

#include "gridlora/core.h"
#include "gridlora/nn.h"
#include "gridlora/precision.h"
#include "matmul.h"

static int blas_dim(int64_t n) {
    GL_ASSERT(n >= 0 && n <= INT_MAX); /* OpenBLAS's blasint is 32-bit in Debian's build */
    return (int)n;
}

typedef int (*mm_fn)(float *c, int64_t ldc, const float *a, int64_t ars, int64_t acs, const float *b,
                     int64_t brs, int64_t bcs, const float *bias, int64_t M, int64_t N, int64_t K, int acc);

/* The engine of a layer's products: oneDNN bf16, oneDNN f32, or NULL for sgemm. */
static mm_fn engine(int64_t IC) {
    if (IC == 0) return NULL;
    if (gl_get_precision() == GL_PRECISION_BF16) return gl__matmul_bf16;
    return gl__f32_matmul_onednn() ? gl__matmul_f32 : NULL;
}

void gl_linear_forward(float *out, const float *inp, const float *w, const float *b,
                       int64_t N, int64_t IC, int64_t OC) {
    if (N == 0 || OC == 0) return;
    /* out = inp . w^T: w [OC,IC] read as [IC,OC] through strides (1, IC) */
    mm_fn mm = engine(IC);
    if (mm && mm(out, OC, inp, IC, 1, w, 1, IC, b, N, OC, IC, 0) == GL_OK) return;
    float beta = 0.0f;
    if (b) {
#pragma omp parallel for schedule(static)
        for (int64_t n = 0; n < N; n++) memcpy(out + n * OC, b, (size_t)OC * sizeof(float));
        beta = 1.0f;
    } else if (IC == 0) {
        memset(out, 0, (size_t)(N * OC) * sizeof(float));
        return;
    }
    if (IC == 0) return;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, blas_dim(N), blas_dim(OC), blas_dim(IC),
                1.0f, inp, blas_dim(IC), w, blas_dim(IC), beta, out, blas_dim(OC));
}

/* db[OC] += column sums of dout[N,OC]. Split over columns, each summed over rows in
 * order, so the result is the same for any thread count. */
static void bias_backward(float *db, const float *dout, int64_t N, int64_t OC) {
    enum { COLS = 64 };
    int64_t blocks = (OC + COLS - 1) / COLS;
#pragma omp parallel for schedule(static)
    for (int64_t blk = 0; blk < blocks; blk++) {
        int64_t c0 = blk * COLS, c1 = c0 + COLS < OC ? c0 + COLS : OC;
        float acc[COLS] = {0};
        for (int64_t n = 0; n < N; n++) {
            const float *row = dout + n * OC;
            for (int64_t c = c0; c < c1; c++) acc[c - c0] += row[c];
        }
        for (int64_t c = c0; c < c1; c++) db[c] += acc[c - c0];
    }
}

void gl_linear_forward_rounded(float *out, const float *inp, uint16_t *inp16, int inp16_ready, const float *w,
                               const float *b, int64_t N, int64_t IC, int64_t OC) {
    if (!inp16 || N == 0 || engine(IC) != gl__matmul_bf16) {
        gl_linear_forward(out, inp, w, b, N, IC, OC);
        return;
    }
    if (!inp16_ready) gl__bf16_convert(inp16, inp, N * IC, 1.0f);
    if (OC == 0) return;
    uint16_t *w16 = gl__bf16_operands(IC * OC);
    if (w16) {
        gl__bf16_convert(w16, w, IC * OC, 1.0f);
        if (gl__matmul_bf16_rounded(out, OC, inp16, IC, 1, w16, 1, IC, b, N, OC, IC, 0) == GL_OK) return;
    }
    gl_linear_forward(out, inp, w, b, N, IC, OC); /* out of memory, or oneDNN refused: sgemm */
}

/* The bf16 backward: dout feeds both products, so it is rounded once, not once per
 * product as gl__matmul_bf16 would; the input's rounding comes from inp16 when the
 * forward kept it. Clears *dinp / *dw for each product done; a product oneDNN refuses
 * is left for sgemm. */
static void backward_bf16(float **dinp, int dinp_acc, float **dw, const float *dout, const float *inp,
                          const uint16_t *inp16, const float *w, int64_t N, int64_t IC, int64_t OC) {
    uint16_t *d16 = gl__bf16_operands(N * OC + (*dinp ? IC * OC : 0) + (*dw && !inp16 ? N * IC : 0));
    if (!d16) return;
    gl__bf16_convert(d16, dout, N * OC, 1.0f);
    uint16_t *o16 = d16 + N * OC;
    if (*dinp) {
        gl__bf16_convert(o16, w, IC * OC, 1.0f);
        if (gl__matmul_bf16_rounded(*dinp, IC, d16, OC, 1, o16, IC, 1, NULL, N, IC, OC, dinp_acc) == GL_OK)
            *dinp = NULL;
        o16 += IC * OC;
    }
    if (*dw) {
        if (!inp16) {
            gl__bf16_convert(o16, inp, N * IC, 1.0f);
            inp16 = o16;
        }
        if (gl__matmul_bf16_rounded(*dw, IC, d16, 1, OC, inp16, IC, 1, NULL, OC, IC, N, 1) == GL_OK) *dw = NULL;
    }
}

void gl_linear_backward(float *dinp, float *dw, float *db, const float *dout,
                        const float *inp, const float *w, int64_t N, int64_t IC, int64_t OC) {
    gl_linear_backward_rounded(dinp, 1, dw, db, dout, inp, NULL, w, N, IC, OC);
}

void gl_linear_backward_rounded(float *dinp, int dinp_acc, float *dw, float *db, const float *dout, const float *inp,
                                const uint16_t *inp16, const float *w, int64_t N, int64_t IC, int64_t OC) {
    if (N > 0 && OC == 0 && dinp && !dinp_acc) memset(dinp, 0, (size_t)(N * IC) * sizeof(float));
    if (N == 0 || OC == 0) return;
    mm_fn mm = engine(IC); /* NULL, or a product it refused: sgemm below */
    if (mm == gl__matmul_bf16 && (dinp || dw)) {
        backward_bf16(&dinp, dinp_acc, &dw, dout, inp, inp16, w, N, IC, OC);
        mm = NULL;
    }
    /* dinp += dout . w;  dw += dout^T . inp (dout [N,OC] read as [OC,N] through strides) */
    if (mm && dinp && mm(dinp, IC, dout, OC, 1, w, IC, 1, NULL, N, IC, OC, dinp_acc) == GL_OK) dinp = NULL;
    if (mm && dw && mm(dw, IC, dout, 1, OC, inp, IC, 1, NULL, OC, IC, N, 1) == GL_OK) dw = NULL;
    if (dinp && IC > 0)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, blas_dim(N), blas_dim(IC),
                    blas_dim(OC), 1.0f, dout, blas_dim(OC), w, blas_dim(IC), dinp_acc ? 1.0f : 0.0f, dinp,
                    blas_dim(IC));
    if (dw && IC > 0)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, blas_dim(OC), blas_dim(IC),
                    blas_dim(N), 1.0f, dout, blas_dim(OC), inp, blas_dim(IC), 1.0f, dw,
                    blas_dim(IC));
    if (db) bias_backward(db, dout, N, OC);
}
