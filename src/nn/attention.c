/* nn/attention.c: multi-head scaled dot-product attention with an optional mask,
 * forward and backward, one (batch item, head) pair at a time through sgemm.
 * Heads sit side by side in each row of q, k, v, so a pair's slice is a strided
 * matrix (leading dimension H*D) that sgemm reads in place, without copies. */
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include <cblas.h>
#include <omp.h>

#include "gridlora/core.h"
#include "gridlora/nn.h"

static int blas_dim(int64_t n) {
    GL_ASSERT(n >= 0 && n <= INT_MAX); /* OpenBLAS's blasint is 32-bit in Debian's build */
    return (int)n;
}

static void check_dims(gl_attn_dims d) {
    GL_ASSERT(d.B >= 0 && d.Tq >= 0 && d.Tk >= 0 && d.H >= 0 && d.D >= 0);
    GL_ASSERT(d.D == 0 || d.H <= INT64_MAX / d.D);
}

size_t gl_attention_scratch_floats(gl_attn_dims d, int threads) {
    check_dims(d);
    if (threads < 1) threads = 1;
    if (d.Tq == 0 || d.Tk == 0) return 0;
    GL_ASSERT(d.Tq <= INT64_MAX / d.Tk);
    uint64_t per = (uint64_t)(d.Tq * d.Tk);
    GL_ASSERT(per <= SIZE_MAX / (size_t)threads);
    return (size_t)per * (size_t)threads; /* one dP matrix [Tq,Tk] per thread */
}

/* Softmax in place over the allowed entries of one row of scores (m NULL: all
 * allowed); masked entries become 0. Returns 0 when nothing is allowed, the row then
 * all 0. The max is taken over allowed entries only, so a masked score, however large,
 * cannot underflow the allowed ones to 0; the max entry gives exp(0) = 1, so the sum is
 * at least 1 and the division is safe. */
static int masked_softmax_row(float *p, const uint8_t *m, int64_t n) {
    float mx = -INFINITY;
    int any = 0;
    for (int64_t j = 0; j < n; j++)
        if (!m || m[j]) {
            if (!any || p[j] > mx) mx = p[j];
            any = 1;
        }
    if (!any) {
        memset(p, 0, (size_t)n * sizeof(float));
        return 0;
    }
    float sum = 0.0f;
    for (int64_t j = 0; j < n; j++) {
        if (!m || m[j]) {
            p[j] = expf(p[j] - mx);
            sum += p[j];
        } else {
            p[j] = 0.0f;
        }
    }
    float inv = 1.0f / sum;
    for (int64_t j = 0; j < n; j++) p[j] *= inv;
    return 1;
}

void gl_attention_forward(float *out, float *probs, const float *q, const float *k,
                          const float *v, const uint8_t *mask, int64_t mask_bstride,
                          gl_attn_dims d) {
    check_dims(d);
    const int64_t B = d.B, Tq = d.Tq, Tk = d.Tk, H = d.H, D = d.D, C = H * D;
    if (B == 0 || Tq == 0 || H == 0) return; /* out and probs are empty */
    if (Tk == 0) {
        /* Nothing to attend to: every query row is fully masked, its output 0. */
        if (C > 0) memset(out, 0, (size_t)(B * Tq * C) * sizeof(float));
        return;
    }
    GL_ASSERT(Tq <= INT64_MAX / Tk);
    const int itq = blas_dim(Tq), itk = blas_dim(Tk);
    const int id = blas_dim(D), ldx = blas_dim(C > 0 ? C : 1);
    const float scale = D > 0 ? 1.0f / sqrtf((float)D) : 0.0f;
    const int64_t pairs = B * H;
    /* Each pair writes its own slices of out and probs, so the result does not depend
     * on the thread count; inside the parallel region OpenBLAS runs single-threaded.
     * With one pair the region is skipped so that OpenBLAS may use the threads itself. */
#pragma omp parallel for schedule(static) if (pairs > 1)
    for (int64_t bh = 0; bh < pairs; bh++) {
        const int64_t b = bh / H, h = bh % H;
        const float *qb = q + b * Tq * C + h * D;
        const float *kb = k + b * Tk * C + h * D;
        const float *vb = v + b * Tk * C + h * D;
        float *ob = out + b * Tq * C + h * D;
        float *pb = probs + bh * Tq * Tk;
        const uint8_t *mb = mask ? mask + b * mask_bstride : NULL;
        /* S = q_bh k_bh^T * scale, written straight into probs and normalised there. */
        if (D > 0)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, itq, itk, id, scale, qb, ldx,
                        kb, ldx, 0.0f, pb, itk);
        else
            memset(pb, 0, (size_t)(Tq * Tk) * sizeof(float)); /* empty dot products */
        for (int64_t i = 0; i < Tq; i++)
            masked_softmax_row(pb + i * Tk, mb ? mb + i * Tk : NULL, Tk);
        /* out_bh = P v_bh; a fully masked row of P is 0, so its output row is 0. */
        if (D > 0)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, itq, id, itk, 1.0f, pb, itk,
                        vb, ldx, 0.0f, ob, ldx);
    }
}

void gl_attention_backward(float *dq, float *dk, float *dv, float *scratch,
                           const float *dout, const float *probs, const float *q,
                           const float *k, const float *v, gl_attn_dims d) {
    check_dims(d);
    const int64_t B = d.B, Tq = d.Tq, Tk = d.Tk, H = d.H, D = d.D, C = H * D;
    if (!dq && !dk && !dv) return;
    /* With any of these 0 every gradient is empty or receives nothing (Tk == 0: no
     * query attends to anything, so dq gets no contribution). */
    if (B == 0 || Tq == 0 || Tk == 0 || H == 0 || D == 0) return;
    GL_ASSERT(Tq <= INT64_MAX / Tk);
    const int itq = blas_dim(Tq), itk = blas_dim(Tk), id = blas_dim(D), ldx = blas_dim(C);
    const float scale = 1.0f / sqrtf((float)D);
    const int64_t pairs = B * H, per = Tq * Tk;
    /* The caller sized scratch for gl_threads() threads; num_threads holds the team to
     * that even if someone changed OpenMP's own setting behind our back. */
    const int nt = gl_threads();
    const int need_ds = dq || dk;
    GL_ASSERT(!need_ds || scratch);
#pragma omp parallel for schedule(static) num_threads(nt) if (pairs > 1)
    for (int64_t bh = 0; bh < pairs; bh++) {
        const int64_t b = bh / H, h = bh % H;
        const int64_t qoff = b * Tq * C + h * D, koff = b * Tk * C + h * D;
        const float *pb = probs + bh * per;
        const float *gb = dout + qoff;
        /* dv_bh += P^T dout_bh */
        if (dv)
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, itk, id, itq, 1.0f, pb, itk, gb,
                        ldx, 1.0f, dv + koff, ldx);
        if (!need_ds) continue;
        const int tid = omp_get_thread_num();
        GL_ASSERT(tid < nt);
        float *ds = scratch + (int64_t)tid * per;
        /* dP = dout_bh v_bh^T */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, itq, itk, id, 1.0f, gb, ldx,
                    v + koff, ldx, 0.0f, ds, itk);
        /* Softmax backward, in place: dS = P o (dP - rowsum(dP o P)). Masked entries and
         * fully masked rows have P = 0, so they pass no gradient. */
        for (int64_t i = 0; i < Tq; i++) {
            const float *pr = pb + i * Tk;
            float *dr = ds + i * Tk;
            float dot = 0.0f;
            for (int64_t j = 0; j < Tk; j++) dot += dr[j] * pr[j];
            for (int64_t j = 0; j < Tk; j++) dr[j] = pr[j] * (dr[j] - dot);
        }
        /* dq_bh += scale dS k_bh;  dk_bh += scale dS^T q_bh */
        if (dq)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, itq, id, itk, scale, ds, itk,
                        k + koff, ldx, 1.0f, dq + qoff, ldx);
        if (dk)
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, itk, id, itq, scale, ds, itk,
                        q + qoff, ldx, 1.0f, dk + koff, ldx);
    }
}
