/* nn/attention.c: multi-head scaled dot-product attention with an optional mask,
 * forward and backward, flash-style: scores are made one tile of BQ queries x BK keys
 * at a time (sgemm into per-thread scratch), the softmax is computed online across key
 * tiles, and only each query row's log-sum-exp is kept for backward, which recomputes
 * the tiles. No [Tq,Tk] matrix is ever in memory; masks are applied inside the tiles and
 * a tile the mask forbids entirely is skipped.
 * Heads sit side by side in each row of q, k, v, so a head's slice is a strided matrix
 * (leading dimension H*D) that sgemm reads in place, without copies.
 * Determinism: the forward splits over (batch item, head, query tile) and the backward
 * over (batch item, head); each task's arithmetic is fixed by the shapes alone, so the
 * result is bit for bit the same for any thread count. */
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include <cblas.h>
#include <omp.h>

#include "gridlora/core.h"
#include "gridlora/nn.h"
#include "vecmath.h"

/* Tile sizes: a score tile of BQ x BK floats (64 KiB) and its gradient stay in the L2
 * cache with the query, key and value tiles. Measured on Zen 4 with D = 48 and 32:
 * larger tiles gain nothing, smaller ones pay sgemm's per-call packing. */
enum { BQ = 64, BK = 256 };

static int blas_dim(int64_t n) {
    GL_ASSERT(n >= 0 && n <= INT_MAX); /* OpenBLAS's blasint is 32-bit in Debian's build */
    return (int)n;
}

static void check_dims(gl_attn_dims d) {
    GL_ASSERT(d.B >= 0 && d.Tq >= 0 && d.Tk >= 0 && d.H >= 0 && d.D >= 0);
    GL_ASSERT(d.D == 0 || d.H <= INT64_MAX / d.D);
    GL_ASSERT(d.Tq <= INT_MAX && d.Tk <= INT_MAX);
}

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

/* Floats of one thread's scratch: forward S [bq,bk], O [bq,D], m and l [bq]; backward
 * P [bq,bk], dP [bq,bk], Dvec [Tq]; rounded to 64 bytes. */
static size_t per_thread(gl_attn_dims d) {
    const int64_t bq = min64(BQ, d.Tq), bk = min64(BK, d.Tk);
    int64_t fwd = bq * bk + bq * d.D + 2 * bq, bwd = 2 * bq * bk + d.Tq;
    int64_t n = fwd > bwd ? fwd : bwd;
    return (size_t)((n + 15) / 16 * 16);
}

size_t gl_attention_scratch_floats(gl_attn_dims d, int threads) {
    check_dims(d);
    if (threads < 1) threads = 1;
    if (d.B == 0 || d.Tq == 0 || d.Tk == 0 || d.H == 0 || d.D == 0) return 0;
    size_t per = per_thread(d);
    GL_ASSERT(per <= SIZE_MAX / (size_t)threads);
    return per * (size_t)threads;
}

/* Does the mask allow anything in rows [i0, i0+bq) x columns [j0, j0+bk)? */
static int tile_any(const uint8_t *m, int64_t Tk, int64_t i0, int64_t bq, int64_t j0, int64_t bk) {
    for (int64_t r = 0; r < bq; r++) {
        const uint8_t *row = m + (i0 + r) * Tk + j0;
        unsigned acc = 0;
        for (int64_t j = 0; j < bk; j++) acc |= row[j];
        if (acc) return 1;
    }
    return 0;
}

/* Masked entries of a score row become -inf; returns the row's max (-inf: none allowed). */
static float row_mask_max(float *s, const uint8_t *m, int64_t n) {
    int64_t j = 0;
    float mx = -INFINITY;
#if GL_HAVE_AVX512
    __m512 vm = _mm512_set1_ps(-INFINITY);
    for (; j < n; j += 16) {
        long w = n - j < 16 ? (long)(n - j) : 16;
        __mmask16 t = gl__tail16(w), a = m ? gl__mask16(m + j, w) & t : t;
        __m512 x = _mm512_maskz_loadu_ps(t, s + j);
        if (m) {
            x = _mm512_mask_mov_ps(_mm512_set1_ps(-INFINITY), a, x);
            _mm512_mask_storeu_ps(s + j, t, x);
        }
        vm = _mm512_mask_max_ps(vm, a, vm, x);
    }
    mx = _mm512_reduce_max_ps(vm);
#endif
    for (; j < n; j++) {
        if (m && !m[j]) s[j] = -INFINITY;
        else if (s[j] > mx) mx = s[j];
    }
    return mx;
}

/* s = exp(s - sub) for allowed entries, 0 for masked ones (exactly); returns the sum.
 * sub must be finite. */
static float row_exp(float *s, const uint8_t *m, int64_t n, float sub) {
    int64_t j = 0;
    float sum = 0.0f;
#if GL_HAVE_AVX512
    __m512 vs = _mm512_setzero_ps(), vsub = _mm512_set1_ps(sub);
    for (; j < n; j += 16) {
        long w = n - j < 16 ? (long)(n - j) : 16;
        __mmask16 t = gl__tail16(w), a = m ? gl__mask16(m + j, w) & t : t;
        __m512 p = gl__exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(t, s + j), vsub));
        p = _mm512_maskz_mov_ps(a, p);
        _mm512_mask_storeu_ps(s + j, t, p);
        vs = _mm512_add_ps(vs, p);
    }
    sum = _mm512_reduce_add_ps(vs);
#endif
    for (; j < n; j++) {
        s[j] = (!m || m[j]) ? gl__expf(s[j] - sub) : 0.0f;
        sum += s[j];
    }
    return sum;
}

/* ds = p * (ds - dvec), elementwise over a row (p = 0 where masked, so those stay 0). */
static void row_dsoftmax(float *ds, const float *p, int64_t n, float dvec) {
    for (int64_t j = 0; j < n; j++) ds[j] = p[j] * (ds[j] - dvec);
}

/* Head size 0: every score is 0, so an allowed row's softmax is uniform over its allowed
 * keys and its log-sum-exp is log(count); out has no elements. */
static void lse_of_empty_heads(float *lse, const uint8_t *mask, int64_t mask_bstride, gl_attn_dims d) {
    for (int64_t b = 0; b < d.B; b++)
        for (int64_t i = 0; i < d.Tq; i++) {
            int64_t cnt = d.Tk;
            if (mask) {
                cnt = 0;
                for (int64_t j = 0; j < d.Tk; j++) cnt += mask[b * mask_bstride + i * d.Tk + j] != 0;
            }
            for (int64_t h = 0; h < d.H; h++)
                lse[(b * d.H + h) * d.Tq + i] = cnt ? logf((float)cnt) : -INFINITY;
        }
}

void gl_attention_forward(float *out, float *lse, float *scratch, const float *q, const float *k,
                          const float *v, const uint8_t *mask, int64_t mask_bstride, gl_attn_dims d) {
    check_dims(d);
    const int64_t B = d.B, Tq = d.Tq, Tk = d.Tk, H = d.H, D = d.D, C = H * D;
    if (B == 0 || Tq == 0 || H == 0) return; /* out and lse are empty */
    if (Tk == 0) {
        /* Nothing to attend to: every query row is fully masked, its output 0. */
        if (C > 0) memset(out, 0, (size_t)(B * Tq * C) * sizeof(float));
        for (int64_t i = 0; i < B * H * Tq; i++) lse[i] = -INFINITY;
        return;
    }
    if (D == 0) {
        lse_of_empty_heads(lse, mask, mask_bstride, d);
        return;
    }
    GL_ASSERT(scratch);
    const int id = blas_dim(D), ldx = blas_dim(C);
    const float scale = 1.0f / sqrtf((float)D);
    const int64_t nqt = (Tq + BQ - 1) / BQ, tasks = B * H * nqt;
    const size_t per = per_thread(d);
    const int nt = gl_threads();
    /* Inside the parallel region OpenBLAS runs single-threaded (its OpenMP build). */
#pragma omp parallel for schedule(dynamic, 1) num_threads(nt) if (tasks > 1)
    for (int64_t task = 0; task < tasks; task++) {
        const int64_t bh = task / nqt, qt = task % nqt, b = bh / H, h = bh % H;
        const int64_t i0 = qt * BQ, bq = min64(BQ, Tq - i0);
        const int tid = omp_get_thread_num();
        GL_ASSERT(tid < nt);
        float *S = scratch + (size_t)tid * per, *O = S + min64(BQ, Tq) * min64(BK, Tk);
        float *mrow = O + min64(BQ, Tq) * D, *lrow = mrow + min64(BQ, Tq);
        const float *qb = q + (b * Tq + i0) * C + h * D;
        const float *kb = k + b * Tk * C + h * D, *vb = v + b * Tk * C + h * D;
        const uint8_t *mb = mask ? mask + b * mask_bstride : NULL;
        memset(O, 0, (size_t)(bq * D) * sizeof(float));
        for (int64_t r = 0; r < bq; r++) {
            mrow[r] = -INFINITY;
            lrow[r] = 0.0f;
        }
        for (int64_t j0 = 0; j0 < Tk; j0 += BK) {
            const int64_t bk = min64(BK, Tk - j0);
            if (mb && !tile_any(mb, Tk, i0, bq, j0, bk)) continue;
            /* S = q_tile k_tile^T / sqrt(D) */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)bq, (int)bk, id, scale, qb, ldx,
                        kb + j0 * C, ldx, 0.0f, S, (int)bk);
            for (int64_t r = 0; r < bq; r++) {
                float *s = S + r * bk;
                const uint8_t *mr = mb ? mb + (i0 + r) * Tk + j0 : NULL;
                float mnew = row_mask_max(s, mr, bk);
                if (mrow[r] > mnew) mnew = mrow[r];
                if (mnew == -INFINITY) { /* nothing allowed yet: the row adds nothing */
                    memset(s, 0, (size_t)bk * sizeof(float));
                    continue;
                }
                /* Online softmax: rescale what earlier tiles summed to the new max. */
                float alpha = mrow[r] == -INFINITY ? 0.0f : expf(mrow[r] - mnew);
                float sum = row_exp(s, mr, bk, mnew);
                lrow[r] = lrow[r] * alpha + sum;
                mrow[r] = mnew;
                if (alpha != 1.0f)
                    for (int64_t e = 0; e < D; e++) O[r * D + e] *= alpha;
            }
            /* O += P v_tile */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)bq, id, (int)bk, 1.0f, S, (int)bk,
                        vb + j0 * C, ldx, 1.0f, O, id);
        }
        float *ob = out + (b * Tq + i0) * C + h * D, *lb = lse + bh * Tq + i0;
        for (int64_t r = 0; r < bq; r++) {
            /* l >= 1 for a row that allowed anything (its max entry gave exp(0) = 1) */
            if (lrow[r] == 0.0f) {
                memset(ob + r * C, 0, (size_t)D * sizeof(float));
                lb[r] = -INFINITY;
                continue;
            }
            float inv = 1.0f / lrow[r];
            for (int64_t e = 0; e < D; e++) ob[r * C + e] = O[r * D + e] * inv;
            lb[r] = mrow[r] + logf(lrow[r]);
        }
    }
}

void gl_attention_backward(float *dq, float *dk, float *dv, float *scratch, const float *dout,
                           const float *out, const float *lse, const float *q, const float *k,
                           const float *v, const uint8_t *mask, int64_t mask_bstride,
                           gl_attn_dims d) {
    check_dims(d);
    const int64_t B = d.B, Tq = d.Tq, Tk = d.Tk, H = d.H, D = d.D, C = H * D;
    if (!dq && !dk && !dv) return;
    /* With any of these 0 every gradient is empty or receives nothing (Tk == 0: no
     * query attends to anything, so dq gets no contribution). */
    if (B == 0 || Tq == 0 || Tk == 0 || H == 0 || D == 0) return;
    GL_ASSERT(scratch);
    const int id = blas_dim(D), ldx = blas_dim(C);
    const float scale = 1.0f / sqrtf((float)D);
    const int64_t pairs = B * H;
    const size_t per = per_thread(d);
    const int nt = gl_threads();
    const int need_ds = dq || dk;
#pragma omp parallel for schedule(dynamic, 1) num_threads(nt) if (pairs > 1)
    for (int64_t bh = 0; bh < pairs; bh++) {
        const int64_t b = bh / H, h = bh % H;
        const int tid = omp_get_thread_num();
        GL_ASSERT(tid < nt);
        const int64_t bq0 = min64(BQ, Tq), bk0 = min64(BK, Tk);
        float *P = scratch + (size_t)tid * per, *dS = P + bq0 * bk0, *Dvec = dS + bq0 * bk0;
        const int64_t qoff = b * Tq * C + h * D, koff = b * Tk * C + h * D;
        const float *lb = lse + bh * Tq;
        const uint8_t *mb = mask ? mask + b * mask_bstride : NULL;
        /* Dvec_i = dout_i . out_i = sum_j P_ij dP_ij: the softmax backward's row term.
         * When all keys fit one tile it is summed from the tile itself instead (below):
         * the same value, rounded as the textbook softmax backward rounds it, so that a
         * row with a single key gets exactly P = 1 and dS = 0. */
        const int one_tile = Tk <= BK;
        if (need_ds && !one_tile)
            for (int64_t i = 0; i < Tq; i++) {
                const float *g = dout + qoff + i * C, *o = out + qoff + i * C;
                float acc = 0.0f;
                for (int64_t e = 0; e < D; e++) acc += g[e] * o[e];
                Dvec[i] = acc;
            }
        /* Keys outer, so dk and dv of a key tile collect every query tile while hot. */
        for (int64_t j0 = 0; j0 < Tk; j0 += BK) {
            const int64_t bk = min64(BK, Tk - j0);
            for (int64_t i0 = 0; i0 < Tq; i0 += BQ) {
                const int64_t bq = min64(BQ, Tq - i0);
                if (mb && !tile_any(mb, Tk, i0, bq, j0, bk)) continue;
                const float *qi = q + qoff + i0 * C, *gi = dout + qoff + i0 * C;
                const float *kj = k + koff + j0 * C, *vj = v + koff + j0 * C;
                /* P = exp(q k^T / sqrt(D) - lse), recomputed; 0 where masked */
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)bq, (int)bk, id, scale, qi, ldx, kj,
                            ldx, 0.0f, P, (int)bk);
                for (int64_t r = 0; r < bq; r++) {
                    float *p = P + r * bk;
                    const float l = lb[i0 + r];
                    if (l == -INFINITY) { /* a row that attends nothing passes nothing */
                        memset(p, 0, (size_t)bk * sizeof(float));
                        continue;
                    }
                    row_exp(p, mb ? mb + (i0 + r) * Tk + j0 : NULL, bk, l);
                }
                /* dv_tile += P^T dout_tile */
                if (dv)
                    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)bk, id, (int)bq, 1.0f, P, (int)bk,
                                gi, ldx, 1.0f, dv + koff + j0 * C, ldx);
                if (!need_ds) continue;
                /* dP = dout_tile v_tile^T; dS = P o (dP - Dvec) */
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)bq, (int)bk, id, 1.0f, gi, ldx, vj,
                            ldx, 0.0f, dS, (int)bk);
                for (int64_t r = 0; r < bq; r++) {
                    const float *p = P + r * bk;
                    float dot = 0.0f;
                    if (one_tile)
                        for (int64_t j = 0; j < bk; j++) dot += p[j] * dS[r * bk + j];
                    row_dsoftmax(dS + r * bk, p, bk, one_tile ? dot : Dvec[i0 + r]);
                }
                /* dq_tile += scale dS k_tile;  dk_tile += scale dS^T q_tile */
                if (dq)
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)bq, id, (int)bk, scale, dS,
                                (int)bk, kj, ldx, 1.0f, dq + qoff + i0 * C, ldx);
                if (dk)
                    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)bk, id, (int)bq, scale, dS, (int)bk,
                                qi, ldx, 1.0f, dk + koff + j0 * C, ldx);
            }
        }
    }
}
