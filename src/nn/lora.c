/* nn/lora.c: a low-rank adapter on a linear layer: out += scale * (inp A^T) B^T, with
 * A [r, IC] the down-projection and B [OC, r] the up-projection; the frozen base layer
 * is gl_linear's business. The rank-r intermediate is kept for backward. */
#include <limits.h>

#include <cblas.h>

#include "gridlora/core.h"
#include "gridlora/nn.h"

static int blas_dim(int64_t n) {
    GL_ASSERT(n >= 0 && n <= INT_MAX);
    return (int)n;
}

void gl_lora_forward(float *out, float *h, const float *inp, const float *A, const float *B, int64_t N,
                     int64_t IC, int64_t OC, int64_t r, float scale) {
    if (N == 0 || OC == 0 || r == 0) return;
    if (IC == 0) {
        for (int64_t i = 0; i < N * r; i++) h[i] = 0.0f;
        return;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, blas_dim(N), blas_dim(r), blas_dim(IC), 1.0f, inp,
                blas_dim(IC), A, blas_dim(IC), 0.0f, h, blas_dim(r));
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, blas_dim(N), blas_dim(OC), blas_dim(r), scale, h,
                blas_dim(r), B, blas_dim(r), 1.0f, out, blas_dim(OC));
}

void gl_lora_backward(float *dinp, float *dA, float *dB, float *dh, const float *dout, const float *inp,
                      const float *h, const float *A, const float *B, int64_t N, int64_t IC, int64_t OC,
                      int64_t r, float scale) {
    if (N == 0 || OC == 0 || r == 0) return;
    if (dB)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, blas_dim(OC), blas_dim(r), blas_dim(N), scale, dout,
                    blas_dim(OC), h, blas_dim(r), 1.0f, dB, blas_dim(r));
    if (!dinp && !dA) return;
    /* dh = scale * dout B: the gradient at the rank-r bottleneck */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, blas_dim(N), blas_dim(r), blas_dim(OC), scale, dout,
                blas_dim(OC), B, blas_dim(r), 0.0f, dh, blas_dim(r));
    if (IC == 0) return;
    if (dA)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, blas_dim(r), blas_dim(IC), blas_dim(N), 1.0f, dh,
                    blas_dim(r), inp, blas_dim(IC), 1.0f, dA, blas_dim(IC));
    if (dinp)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, blas_dim(N), blas_dim(IC), blas_dim(r), 1.0f, dh,
                    blas_dim(r), A, blas_dim(IC), 1.0f, dinp, blas_dim(IC));
}
