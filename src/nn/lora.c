/* nn/lora.c: a low-rank adapter on a linear layer: out += scale * (inp A^T) B^T, with
 * A [r, IC] the down-projection and B [OC, r] the up-projection; the frozen base layer
 * is gl_linear's business. The rank-r intermediate is kept for backward.
 * Under GL_PRECISION_BF16 the products run through oneDNN's bf16 matmul (nn/matmul.h),
 * as the base layer's do: at rank 32 the adapter's thin float32 sgemm calls (with their
 * packing) had become the largest share of a bf16 Grid-Fill step. Each operand is rounded
 * once per call (the input not at all when the base layer's rounding is passed in), the
 * rank-r intermediates h and dh stay float32 and are rounded, the scale folded in, where
 * a product reads them. A product oneDNN refuses falls back to sgemm on its own.
 * Multi-DC's motion branch is a second up-projection B2 on the same h: one call serves
 * both, so that h, dA and dinp are not made twice. */
#include <limits.h>
#include <string.h>

#include <cblas.h>

#include "gridlora/core.h"
#include "gridlora/nn.h"
#include "gridlora/precision.h"
#include "matmul.h"

static int blas_dim(int64_t n) {
    GL_ASSERT(n >= 0 && n <= INT_MAX);
    return (int)n;
}

/* Room for the bf16 operands of one call, or NULL: fp32 (sgemm) for every product. */
static uint16_t *bf16_room(int64_t n) {
    return gl_get_precision() == GL_PRECISION_BF16 ? gl__bf16_operands(n) : NULL;
}

/* The bf16 rounding of src[n] * scale at *room, which moves past it. */
static const uint16_t *rounded(uint16_t **room, const float *src, int64_t n, float scale) {
    uint16_t *dst = *room;
    gl__bf16_convert(dst, src, n, scale);
    *room += n;
    return dst;
}

void gl_lora_forward(float *out, float *h, const float *inp, const float *A, const float *B, int64_t N,
                     int64_t IC, int64_t OC, int64_t r, float scale) {
    gl_lora_forward_rounded(out, h, inp, NULL, A, B, NULL, N, IC, OC, r, scale);
}

/* out += scale * h B^T, in bf16 from hs16 (h's rounding, the scale folded in) when given */
static void up(float *out, const float *h, const uint16_t *hs16, uint16_t **room, const float *B, int64_t N,
               int64_t OC, int64_t r, float scale) {
    if (hs16 && gl__matmul_bf16_rounded(out, OC, hs16, r, 1, rounded(room, B, OC * r, 1.0f), 1, r, NULL, N, OC, r,
                                        1) == GL_OK)
        return;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, blas_dim(N), blas_dim(OC), blas_dim(r), scale, h,
                blas_dim(r), B, blas_dim(r), 1.0f, out, blas_dim(OC));
}

void gl_lora_forward_rounded(float *out, float *h, const float *inp, const uint16_t *inp16, const float *A,
                             const float *B, const float *B2, int64_t N, int64_t IC, int64_t OC, int64_t r,
                             float scale) {
    if (N == 0 || OC == 0 || r == 0) return;
    if (IC == 0) {
        for (int64_t i = 0; i < N * r; i++) h[i] = 0.0f;
        return;
    }
    uint16_t *room = bf16_room((inp16 ? 0 : N * IC) + r * IC + N * r + (B2 ? 2 : 1) * OC * r);
    const uint16_t *hs16 = NULL;
    if (room) {
        const uint16_t *x16 = inp16 ? inp16 : rounded(&room, inp, N * IC, 1.0f);
        const uint16_t *a16 = rounded(&room, A, r * IC, 1.0f);
        if (gl__matmul_bf16_rounded(h, r, x16, IC, 1, a16, 1, IC, NULL, N, r, IC, 0) != GL_OK)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, blas_dim(N), blas_dim(r), blas_dim(IC), 1.0f, inp,
                        blas_dim(IC), A, blas_dim(IC), 0.0f, h, blas_dim(r));
        hs16 = rounded(&room, h, N * r, scale);
    } else {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, blas_dim(N), blas_dim(r), blas_dim(IC), 1.0f, inp,
                    blas_dim(IC), A, blas_dim(IC), 0.0f, h, blas_dim(r));
    }
    up(out, h, hs16, &room, B, N, OC, r, scale);
    if (B2) up(out, h, hs16, &room, B2, N, OC, r, scale);
}

void gl_lora_backward(float *dinp, float *dA, float *dB, float *dh, const float *dout, const float *inp,
                      const float *h, const float *A, const float *B, int64_t N, int64_t IC, int64_t OC,
                      int64_t r, float scale) {
    gl_lora_backward_rounded(dinp, dA, dB, NULL, dh, dout, inp, NULL, h, A, B, NULL, N, IC, OC, r, scale);
}

/* dB[OC,r] += scale * dout^T h, in bf16 from ds16 and h16 when given */
static void up_grad(float *dB, const uint16_t *ds16, const uint16_t *h16, const float *dout, const float *h,
                    int64_t N, int64_t OC, int64_t r, float scale) {
    if (ds16 && gl__matmul_bf16_rounded(dB, r, ds16, 1, OC, h16, r, 1, NULL, OC, r, N, 1) == GL_OK) return;
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, blas_dim(OC), blas_dim(r), blas_dim(N), scale, dout,
                blas_dim(OC), h, blas_dim(r), 1.0f, dB, blas_dim(r));
}

/* dh[N,r] (+)= scale * dout B: the gradient at the rank-r bottleneck; acc 0 overwrites */
static void down_grad(float *dh, const uint16_t *ds16, uint16_t **room, const float *dout, const float *B, int64_t N,
                      int64_t OC, int64_t r, float scale, int acc) {
    if (ds16 && gl__matmul_bf16_rounded(dh, r, ds16, OC, 1, rounded(room, B, OC * r, 1.0f), r, 1, NULL, N, r, OC,
                                        acc) == GL_OK)
        return;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, blas_dim(N), blas_dim(r), blas_dim(OC), scale, dout,
                blas_dim(OC), B, blas_dim(r), acc ? 1.0f : 0.0f, dh, blas_dim(r));
}

void gl_lora_backward_rounded(float *dinp, float *dA, float *dB, float *dB2, float *dh, const float *dout,
                              const float *inp, const uint16_t *inp16, const float *h, const float *A, const float *B,
                              const float *B2, int64_t N, int64_t IC, int64_t OC, int64_t r, float scale) {
    if (N == 0 || OC == 0 || r == 0) return;
    const int need_dh = dinp || dA;
    const int n_up = B2 ? 2 : 1;
    uint16_t *room = bf16_room(N * OC + (dB || dB2 ? N * r : 0) +
                               (need_dh ? n_up * OC * r + N * r + r * IC + (dA && !inp16 ? N * IC : 0) : 0));
    /* the output gradient with the scale folded in: both of its products carry it */
    const uint16_t *ds16 = room ? rounded(&room, dout, N * OC, scale) : NULL;
    const uint16_t *h16 = ds16 && (dB || (B2 && dB2)) ? rounded(&room, h, N * r, 1.0f) : NULL;
    /* B and B2 read the same h: their gradients are the same product */
    if (dB) up_grad(dB, ds16, h16, dout, h, N, OC, r, scale);
    if (B2 && dB2) up_grad(dB2, ds16, h16, dout, h, N, OC, r, scale);
    if (!need_dh) return;
    down_grad(dh, ds16, &room, dout, B, N, OC, r, scale, 0);
    if (B2) down_grad(dh, ds16, &room, dout, B2, N, OC, r, scale, 1);
    if (IC == 0) return;
    const uint16_t *dh16 = room ? rounded(&room, dh, N * r, 1.0f) : NULL;
    if (dA) {
        const uint16_t *x16 = !room ? NULL : inp16 ? inp16 : rounded(&room, inp, N * IC, 1.0f);
        if (!(dh16 && gl__matmul_bf16_rounded(dA, IC, dh16, 1, r, x16, IC, 1, NULL, r, IC, N, 1) == GL_OK))
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, blas_dim(r), blas_dim(IC), blas_dim(N), 1.0f, dh,
                        blas_dim(r), inp, blas_dim(IC), 1.0f, dA, blas_dim(IC));
    }
    if (dinp && !(dh16 && gl__matmul_bf16_rounded(dinp, IC, dh16, r, 1, rounded(&room, A, r * IC, 1.0f), IC, 1, NULL,
                                                  N, IC, r, 1) == GL_OK))
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, blas_dim(N), blas_dim(IC), blas_dim(r), 1.0f, dh,
                    blas_dim(r), A, blas_dim(IC), 1.0f, dinp, blas_dim(IC));
}
