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
 * result is bit for bit the same for any thread count.
 * Under GL_PRECISION_BF16 the six tile products (q k^T and P v forward; q k^T, P^T dout,
 * dout v^T, dS k and dS^T q backward) run through oneDNN's bf16 matmul (nn/matmul.h,
 * float32 accumulation and output) on bf16 copies of q, k, v and dout made once per
 * call, head by head ([B,H,T,D]), and into dense float tiles: oneDNN runs a product of
 * dense operands through its brgemm kernels and a strided one through its older gemm,
 * which packs both operands on every call (1.2-1.5x slower per product at these tile
 * shapes, one product run in a loop, oneDNN 2.6 on Zen 4; the whole attention gained
 * about 5%). The backward therefore collects dq, dk and dv in per-thread dense tiles
 * and adds them to the strided gradients once per tile. P and dS are rounded to bf16
 * row by row as they are made (row_exp, row_dsoftmax_bf16), not in passes of their own.
 * Softmax, its statistics and every output stay float32, and the fp32 path is the same
 * code with sgemm as before. */
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include <cblas.h>
#include <omp.h>

#include "gridlora/core.h"
#include "gridlora/nn.h"
#include "gridlora/precision.h"
#include "matmul.h"
#include "vecmath.h"

/* Tile sizes: a score tile of BQ x BK floats (256 KiB) and its gradient stay in the L2
 * cache with the query, key and value tiles. Measured with D = 48 at T = 1024: on Zen 4
 * (1 MiB L2 a core) tiles larger than 64 x 256 gained nothing and smaller ones paid
 * sgemm's per-call packing; on a Xeon with AMX (2 MiB L2 a core), 256 x 256 took the
 * canvas training step from 0.433-0.438 s to 0.418 s in fp32 (`bench_model train 2 8
 * 64 64`, interleaved runs, 2026-12-03): fewer sgemm calls, each packing once. */
enum { BQ = 256, BK = 256 };
/* The bf16 path's tiles, separate so they can differ. On Zen 4 (AVX512-BF16) 64 x 256,
 * 128 x 256, 64 x 512, 128 x 512 and 256 x 256 changed the attention step by 3% at
 * most; on the Xeon above, whose oneDNN runs the products on AMX, each product is so
 * short that oneDNN's per-call cost shows: 256 x 256 took the canvas training step from
 * 0.250-0.255 s to 0.235-0.236 s (128 x 256: 0.238-0.242). */
enum { BQ16 = 256, BK16 = 256 };

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

/* Floats of one thread's scratch with tiles of tq x tk: forward S [bq,bk], O [bq,D], m
 * and l [bq]; backward P [bq,bk], dP [bq,bk], Dvec [Tq]; rounded to 64 bytes. */
static size_t tile_floats(gl_attn_dims d, int64_t tq, int64_t tk) {
    const int64_t bq = min64(tq, d.Tq), bk = min64(tk, d.Tk);
    int64_t fwd = bq * bk + bq * d.D + 2 * bq, bwd = 2 * bq * bk + d.Tq;
    int64_t n = fwd > bwd ? fwd : bwd;
    return (size_t)((n + 15) / 16 * 16);
}

static size_t per_thread(gl_attn_dims d) { return tile_floats(d, BQ, BK); }

size_t gl_attention_scratch_floats(gl_attn_dims d, int threads) {
    check_dims(d);
    if (threads < 1) threads = 1;
    if (d.B == 0 || d.Tq == 0 || d.Tk == 0 || d.H == 0 || d.D == 0) return 0;
    size_t per = per_thread(d);
    GL_ASSERT(per <= SIZE_MAX / (size_t)threads);
    return per * (size_t)threads;
}

/* ---- the bf16 tile products ------------------------------------------------------------ */

enum { MM_QK, MM_PV, MM_DV, MM_DP, MM_DQ, MM_DK, MM_N };

/* What a bf16 call sets up before its parallel region (oneDNN objects cannot be made
 * safely inside it): the products for each tile shape, a tile being full or the last,
 * shorter one along queries and keys; bf16 copies of the operands, head by head
 * ([B,H,T,D], so that a tile is a dense matrix), with 1/sqrt(D) folded into
 * ks = k / sqrt(D) and qs = q / sqrt(D) (the products then need no output scale, and
 * bf16(k s) is as close to k s as bf16(k) is to k); and per-thread tiles. The float
 * tiles live here too, not in the caller's scratch, which is sized for the fp32 tiles:
 * the backward's per thread are P and dS [tq,tk], Dvec [Tq], and the dense gradient
 * tiles dq [Tq,D], dk and dv [tk,D]. */
typedef struct bf16_plan {
    const gl__mm *mm[MM_N][2][2]; /* [product][last query tile][last key tile] */
    int64_t tq, tk;               /* full tile sizes, min(BQ16, Tq) and min(BK16, Tk) */
    const uint16_t *q, *ks, *v, *g, *qs;
    float *tiles;                 /* per thread: `per` floats */
    uint16_t *pb;                 /* per thread: P, then dS, as bf16 [tq,tk] each */
    size_t per, per16;
} bf16_plan;

/* Every operand and result of a tile product is dense: bf16 tiles of the head-major
 * copies (row stride D), P and dS (row stride bk), float tiles (row stride bk or D). */
static const gl__mm *tile_product(int which, int64_t bq, int64_t bk, int64_t D, int nt) {
    switch (which) {
    case MM_QK: /* S [bq,bk] = q [bq,D] ks^T; also dP = dout v^T */
    case MM_DP: return gl__mm_get(bq, bk, D, D, 1, 1, D, bk, 0, nt);
    case MM_PV:                                                        /* O += P v */
    case MM_DQ: return gl__mm_get(bq, D, bk, bk, 1, D, 1, D, 1, nt);   /* dq += dS ks */
    default: return gl__mm_get(bk, D, bq, 1, bk, D, 1, D, 1, nt);      /* dv += P^T dout, dk += dS^T qs */
    }
}

/* dst [B,H,T,D] = bf16(src [B,T,H*D] * scale). */
static void convert_heads(uint16_t *dst, const float *src, int64_t B, int64_t T, int64_t H, int64_t D,
                          float scale) {
    const int64_t rows = B * T;
#pragma omp parallel for schedule(static) if (rows * H * D > 65536)
    for (int64_t row = 0; row < rows; row++) {
        const int64_t b = row / T, t = row % T;
        for (int64_t h = 0; h < H; h++)
            gl__bf16_convert_serial(dst + ((b * H + h) * T + t) * D, src + row * H * D + h * D, D, scale);
    }
}

/* The dense float tile src [n,D] added to the rows of dst at row stride C. */
static void add_tile(float *dst, int64_t C, const float *src, int64_t n, int64_t D) {
    for (int64_t r = 0; r < n; r++)
        for (int64_t e = 0; e < D; e++) dst[r * C + e] += src[r * D + e];
}

static size_t align64(size_t n) { return (n + 63) / 64 * 64; }

/* 0 with the plan made, or -1: not bf16, or oneDNN or memory said no (fp32 then). g is
 * dout for the backward, NULL for the forward. */
static int bf16_setup(bf16_plan *pl, gl_attn_dims d, int nt, const float *q, const float *k, const float *v,
                      const float *g) {
    if (gl_get_precision() != GL_PRECISION_BF16) return -1;
    const int64_t nq = d.B * d.Tq * d.H * d.D, nk = d.B * d.Tk * d.H * d.D;
    const float scale = 1.0f / sqrtf((float)d.D);
    pl->tq = min64(BQ16, d.Tq);
    pl->tk = min64(BK16, d.Tk);
    const int64_t eq = d.Tq % pl->tq ? d.Tq % pl->tq : pl->tq, ek = d.Tk % pl->tk ? d.Tk % pl->tk : pl->tk;
    for (int w = 0; w < MM_N; w++) {
        if (!g && w != MM_QK && w != MM_PV) continue;
        for (int a = 0; a < 2; a++)
            for (int b = 0; b < 2; b++) {
                pl->mm[w][a][b] = tile_product(w, a ? eq : pl->tq, b ? ek : pl->tk, d.D, nt);
                if (!pl->mm[w][a][b]) return -1;
            }
    }
    pl->per = tile_floats(d, BQ16, BK16);
    if (g) pl->per += (size_t)((d.Tq + 2 * pl->tk) * d.D + 15) / 16 * 16;
    pl->per16 = align64((size_t)(2 * pl->tq * pl->tk) * sizeof(uint16_t)) / sizeof(uint16_t);
    const size_t sq = align64((size_t)nq * sizeof(uint16_t)), sk = align64((size_t)nk * sizeof(uint16_t));
    const size_t tiles = (size_t)nt * (pl->per * sizeof(float) + pl->per16 * sizeof(uint16_t));
    const size_t copies = g ? 3 * sq + 2 * sk : sq + 2 * sk;
    unsigned char *w = gl__bf16_workspace(tiles + copies);
    if (!w) return -1;
    pl->tiles = (float *)w;
    pl->pb = (uint16_t *)(w + (size_t)nt * pl->per * sizeof(float));
    uint16_t *c = (uint16_t *)(w + tiles);
    convert_heads(c, q, d.B, d.Tq, d.H, d.D, 1.0f);
    pl->q = c;
    c += sq / sizeof(uint16_t);
    convert_heads(c, k, d.B, d.Tk, d.H, d.D, scale);
    pl->ks = c;
    c += sk / sizeof(uint16_t);
    convert_heads(c, v, d.B, d.Tk, d.H, d.D, 1.0f);
    pl->v = c;
    c += sk / sizeof(uint16_t);
    pl->g = pl->qs = NULL;
    if (g) {
        convert_heads(c, g, d.B, d.Tq, d.H, d.D, 1.0f);
        pl->g = c;
        c += sq / sizeof(uint16_t);
        convert_heads(c, q, d.B, d.Tq, d.H, d.D, scale);
        pl->qs = c;
    }
    return 0;
}

static float bf16_float(uint16_t h) {
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* Thread tid's product `which` for a bq x bk tile. */
static void tile_run(const bf16_plan *pl, int which, int64_t bq, int64_t bk, int tid, float *c, const uint16_t *a,
                     const uint16_t *b) {
    int rc = gl__mm_run(pl->mm[which][bq != pl->tq][bk != pl->tk], tid, c, a, b);
    /* The primitive and every handle were made before the region; a CPU matmul refuses
     * to run only on arguments that do not match its descriptors: a bug here. */
    GL_ASSERT(rc == GL_OK);
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
        __m512 x = gl__load16(s + j, t);
        if (m) {
            x = _mm512_mask_mov_ps(_mm512_set1_ps(-INFINITY), a, x);
            gl__store16(s + j, x, t);
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

#if GL_HAVE_AVX512 && defined(__AVX512BF16__)
#define FUSED_BF16 1
/* The first `t` lanes of v rounded to bf16 (nearest even, as gl__bf16_convert); a plain
 * store when t is full (gl__store16). */
static inline void store_bf16(uint16_t *dst, __m512 v, __mmask16 t) {
    __m256i h = (__m256i)_mm512_cvtneps_pbh(v);
    if (t == 0xffff)
        _mm256_storeu_si256((__m256i *)dst, h);
    else
        _mm256_mask_storeu_epi16(dst, t, h);
}
#else
#define FUSED_BF16 0
#endif

/* s = exp(s - sub) for allowed entries, 0 for masked ones (exactly); returns the sum.
 * sub must be finite. pb, when not NULL, also receives the row in bf16 (the bf16 path's
 * P, rounded here while the row is in registers rather than in a pass of its own);
 * with keep_f32 0 the float row is then not written back (the forward needs only the
 * sum and the bf16 row). */
static float row_exp(float *s, uint16_t *pb, int keep_f32, const uint8_t *m, int64_t n, float sub) {
    int64_t j = 0;
    float sum = 0.0f;
#if GL_HAVE_AVX512
    __m512 vs = _mm512_setzero_ps(), vsub = _mm512_set1_ps(sub);
    for (; j < n; j += 16) {
        long w = n - j < 16 ? (long)(n - j) : 16;
        __mmask16 t = gl__tail16(w), a = m ? gl__mask16(m + j, w) & t : t;
        __m512 p = gl__exp16(_mm512_sub_ps(gl__load16(s + j, t), vsub));
        p = _mm512_maskz_mov_ps(a, p);
#if FUSED_BF16
        if (pb) store_bf16(pb + j, p, t);
        if (keep_f32 || !pb)
#endif
            gl__store16(s + j, p, t);
        vs = _mm512_add_ps(vs, p);
    }
    sum = _mm512_reduce_add_ps(vs);
#endif
    for (; j < n; j++) {
        s[j] = (!m || m[j]) ? gl__expf(s[j] - sub) : 0.0f;
        sum += s[j];
    }
#if !FUSED_BF16
    if (pb) gl__bf16_convert_serial(pb, s, n, 1.0f);
#endif
    (void)keep_f32;
    return sum;
}

/* ds = p * (ds - dvec), elementwise over a row (p = 0 where masked, so those stay 0). */
static void row_dsoftmax(float *ds, const float *p, int64_t n, float dvec) {
    for (int64_t j = 0; j < n; j++) ds[j] = p[j] * (ds[j] - dvec);
}

/* The same, written only as bf16 to dsb (the bf16 path's dS: its products read nothing
 * else). dp is left as it was. */
static void row_dsoftmax_bf16(uint16_t *dsb, float *dp, const float *p, int64_t n, float dvec) {
#if FUSED_BF16
    const __m512 vd = _mm512_set1_ps(dvec);
    for (int64_t j = 0; j < n; j += 16) {
        __mmask16 t = gl__tail16(n - j < 16 ? (long)(n - j) : 16);
        __m512 x = _mm512_mul_ps(gl__load16(p + j, t), _mm512_sub_ps(gl__load16(dp + j, t), vd));
        store_bf16(dsb + j, x, t);
    }
#else
    row_dsoftmax(dp, p, n, dvec);
    gl__bf16_convert_serial(dsb, dp, n, 1.0f);
#endif
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
    const int nt = gl_threads();
    bf16_plan pl;
    const int bf = !bf16_setup(&pl, d, nt, q, k, v, NULL);
    const int64_t TQ = bf ? BQ16 : BQ, TK = bf ? BK16 : BK;
    const int64_t nqt = (Tq + TQ - 1) / TQ, tasks = B * H * nqt;
    const size_t per = bf ? pl.per : per_thread(d);
    float *const tiles = bf ? pl.tiles : scratch;
    /* Inside the parallel region OpenBLAS and oneDNN run single-threaded (their OpenMP
     * builds). */
#pragma omp parallel for schedule(dynamic, 1) num_threads(nt) if (tasks > 1)
    for (int64_t task = 0; task < tasks; task++) {
        const int64_t bh = task / nqt, qt = task % nqt, b = bh / H, h = bh % H;
        const int64_t i0 = qt * TQ, bq = min64(TQ, Tq - i0);
        const int tid = omp_get_thread_num();
        GL_ASSERT(tid < nt);
        float *S = tiles + (size_t)tid * per, *O = S + min64(TQ, Tq) * min64(TK, Tk);
        float *mrow = O + min64(TQ, Tq) * D, *lrow = mrow + min64(TQ, Tq);
        const float *qb = q + (b * Tq + i0) * C + h * D;
        const float *kb = k + b * Tk * C + h * D, *vb = v + b * Tk * C + h * D;
        const uint8_t *mb = mask ? mask + b * mask_bstride : NULL;
        memset(O, 0, (size_t)(bq * D) * sizeof(float));
        for (int64_t r = 0; r < bq; r++) {
            mrow[r] = -INFINITY;
            lrow[r] = 0.0f;
        }
        for (int64_t j0 = 0; j0 < Tk; j0 += TK) {
            const int64_t bk = min64(TK, Tk - j0);
            if (mb && !tile_any(mb, Tk, i0, bq, j0, bk)) continue;
            /* S = q_tile k_tile^T / sqrt(D) */
            if (bf)
                tile_run(&pl, MM_QK, bq, bk, tid, S, pl.q + (bh * Tq + i0) * D, pl.ks + (bh * Tk + j0) * D);
            else
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)bq, (int)bk, id, scale, qb, ldx,
                            kb + j0 * C, ldx, 0.0f, S, (int)bk);
            for (int64_t r = 0; r < bq; r++) {
                float *s = S + r * bk;
                const uint8_t *mr = mb ? mb + (i0 + r) * Tk + j0 : NULL;
                float mnew = row_mask_max(s, mr, bk);
                if (mrow[r] > mnew) mnew = mrow[r];
                uint16_t *pr = bf ? pl.pb + (size_t)tid * pl.per16 + r * bk : NULL;
                if (mnew == -INFINITY) { /* nothing allowed yet: the row adds nothing */
                    memset(s, 0, (size_t)bk * sizeof(float));
                    if (pr) memset(pr, 0, (size_t)bk * sizeof(uint16_t));
                    continue;
                }
                /* Online softmax: rescale what earlier tiles summed to the new max. */
                float alpha = mrow[r] == -INFINITY ? 0.0f : expf(mrow[r] - mnew);
                float sum = row_exp(s, pr, 0, mr, bk, mnew);
                lrow[r] = lrow[r] * alpha + sum;
                mrow[r] = mnew;
                if (alpha != 1.0f)
                    for (int64_t e = 0; e < D; e++) O[r * D + e] *= alpha;
            }
            /* O += P v_tile */
            if (bf) { /* P was rounded to bf16 by row_exp */
                tile_run(&pl, MM_PV, bq, bk, tid, O, pl.pb + (size_t)tid * pl.per16, pl.v + (bh * Tk + j0) * D);
            } else {
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)bq, id, (int)bk, 1.0f, S, (int)bk,
                            vb + j0 * C, ldx, 1.0f, O, id);
            }
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
    const int nt = gl_threads();
    bf16_plan pl;
    const int bf = !bf16_setup(&pl, d, nt, q, k, v, dout);
    const int64_t TQ = bf ? BQ16 : BQ, TK = bf ? BK16 : BK;
    const size_t per = bf ? pl.per : per_thread(d);
    float *const tiles = bf ? pl.tiles : scratch;
    const int need_ds = dq || dk;
#pragma omp parallel for schedule(dynamic, 1) num_threads(nt) if (pairs > 1)
    for (int64_t bh = 0; bh < pairs; bh++) {
        const int64_t b = bh / H, h = bh % H;
        const int tid = omp_get_thread_num();
        GL_ASSERT(tid < nt);
        const int64_t bq0 = min64(TQ, Tq), bk0 = min64(TK, Tk);
        float *P = tiles + (size_t)tid * per, *dS = P + bq0 * bk0, *Dvec = dS + bq0 * bk0;
        /* bf16: the dense gradient tiles (bf16_plan), added to dq, dk, dv as they finish */
        float *dqt = bf ? Dvec + Tq : NULL, *dkt = bf ? dqt + Tq * D : NULL, *dvt = bf ? dkt + bk0 * D : NULL;
        uint16_t *Pb = bf ? pl.pb + (size_t)tid * pl.per16 : NULL, *dSb = bf ? Pb + bq0 * bk0 : NULL;
        const int64_t qoff = b * Tq * C + h * D, koff = b * Tk * C + h * D;
        const float *lb = lse + bh * Tq;
        const uint8_t *mb = mask ? mask + b * mask_bstride : NULL;
        /* Dvec_i = dout_i . out_i = sum_j P_ij dP_ij: the softmax backward's row term.
         * When all keys fit one tile it is summed from the tile itself instead (below):
         * the same value, rounded as the textbook softmax backward rounds it, so that a
         * row with a single key gets exactly P = 1 and dS = 0. */
        const int one_tile = Tk <= TK;
        if (need_ds && !one_tile)
            for (int64_t i = 0; i < Tq; i++) {
                const float *g = dout + qoff + i * C, *o = out + qoff + i * C;
                float acc = 0.0f;
                if (bf) {
                    /* dP is made from bf16(dout), so Dvec is too: dP - Dvec then cancels
                     * as it should where it should (a row with one key: exactly) */
                    const uint16_t *gb = pl.g + (bh * Tq + i) * D;
#pragma omp simd reduction(+ : acc)
                    for (int64_t e = 0; e < D; e++) acc += bf16_float(gb[e]) * o[e];
                } else {
#pragma omp simd reduction(+ : acc)
                    for (int64_t e = 0; e < D; e++) acc += g[e] * o[e];
                }
                Dvec[i] = acc;
            }
        if (bf && dq) memset(dqt, 0, (size_t)(Tq * D) * sizeof(float));
        /* Keys outer, so dk and dv of a key tile collect every query tile while hot. */
        for (int64_t j0 = 0; j0 < Tk; j0 += TK) {
            const int64_t bk = min64(TK, Tk - j0);
            if (bf && dk) memset(dkt, 0, (size_t)(bk * D) * sizeof(float));
            if (bf && dv) memset(dvt, 0, (size_t)(bk * D) * sizeof(float));
            for (int64_t i0 = 0; i0 < Tq; i0 += TQ) {
                const int64_t bq = min64(TQ, Tq - i0);
                if (mb && !tile_any(mb, Tk, i0, bq, j0, bk)) continue;
                const float *qi = q + qoff + i0 * C, *gi = dout + qoff + i0 * C;
                const float *kj = k + koff + j0 * C, *vj = v + koff + j0 * C;
                const int64_t qo = (bh * Tq + i0) * D, ko = (bh * Tk + j0) * D; /* in the bf16 copies */
                /* P = exp(q k^T / sqrt(D) - lse), recomputed; 0 where masked */
                if (bf)
                    tile_run(&pl, MM_QK, bq, bk, tid, P, pl.q + qo, pl.ks + ko);
                else
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)bq, (int)bk, id, scale, qi, ldx, kj,
                                ldx, 0.0f, P, (int)bk);
                for (int64_t r = 0; r < bq; r++) {
                    float *p = P + r * bk;
                    const float l = lb[i0 + r];
                    uint16_t *pr = bf ? Pb + r * bk : NULL;
                    if (l == -INFINITY) { /* a row that attends nothing passes nothing */
                        memset(p, 0, (size_t)bk * sizeof(float));
                        if (pr) memset(pr, 0, (size_t)bk * sizeof(uint16_t));
                        continue;
                    }
                    row_exp(p, pr, 1, mb ? mb + (i0 + r) * Tk + j0 : NULL, bk, l);
                }
                /* dv_tile += P^T dout_tile (P rounded to bf16 by row_exp) */
                if (dv && bf) {
                    tile_run(&pl, MM_DV, bq, bk, tid, dvt, Pb, pl.g + qo);
                } else if (dv) {
                    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)bk, id, (int)bq, 1.0f, P, (int)bk,
                                gi, ldx, 1.0f, dv + koff + j0 * C, ldx);
                }
                if (!need_ds) continue;
                /* dP = dout_tile v_tile^T; dS = P o (dP - Dvec) */
                if (bf)
                    tile_run(&pl, MM_DP, bq, bk, tid, dS, pl.g + qo, pl.v + ko);
                else
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)bq, (int)bk, id, 1.0f, gi, ldx, vj,
                                ldx, 0.0f, dS, (int)bk);
                for (int64_t r = 0; r < bq; r++) {
                    const float *p = P + r * bk;
                    float dot = 0.0f;
                    if (one_tile) {
#pragma omp simd reduction(+ : dot)
                        for (int64_t j = 0; j < bk; j++) dot += p[j] * dS[r * bk + j];
                    }
                    if (bf)
                        row_dsoftmax_bf16(dSb + r * bk, dS + r * bk, p, bk, one_tile ? dot : Dvec[i0 + r]);
                    else
                        row_dsoftmax(dS + r * bk, p, bk, one_tile ? dot : Dvec[i0 + r]);
                }
                /* dq_tile += scale dS k_tile;  dk_tile += scale dS^T q_tile */
                if (bf) {
                    if (dq) tile_run(&pl, MM_DQ, bq, bk, tid, dqt + i0 * D, dSb, pl.ks + ko);
                    if (dk) tile_run(&pl, MM_DK, bq, bk, tid, dkt, dSb, pl.qs + qo);
                    continue;
                }
                if (dq)
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)bq, id, (int)bk, scale, dS,
                                (int)bk, kj, ldx, 1.0f, dq + qoff + i0 * C, ldx);
                if (dk)
                    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)bk, id, (int)bq, scale, dS, (int)bk,
                                qi, ldx, 1.0f, dk + koff + j0 * C, ldx);
            }
            if (bf && dk) add_tile(dk + koff + j0 * C, C, dkt, bk, D);
            if (bf && dv) add_tile(dv + koff + j0 * C, C, dvt, bk, D);
        }
        if (bf && dq) add_tile(dq + qoff, C, dqt, Tq, D);
    }
}
