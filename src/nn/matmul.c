/* nn/matmul.c: the precision setting (gridlora/precision.h) and the bf16 matrix product
 * behind it: C[M,N] (+)= bf16(A)[M,K] bf16(B)[K,N] (+ bias) with float32 accumulation,
 * through oneDNN's matmul (its AVX512-BF16 kernels). Operands arrive as float32; they are
 * rounded to bf16 into a workspace this file owns (the one allocation in src/nn: a
 * conversion buffer has no natural owner among the callers, whose APIs predate bf16),
 * and oneDNN reads transposes through strides, so no operand is copied twice.
 * One oneDNN primitive per shape, cached (the model uses a few dozen shapes). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <oneapi/dnnl/dnnl.h>
#include <omp.h>

#include "gridlora/core.h"
#include "gridlora/precision.h"
#include "matmul.h"

#if defined(__AVX512BF16__) && defined(__AVX512F__)
#include <immintrin.h>
#define HAVE_CVT_BF16 1
#else
#define HAVE_CVT_BF16 0
#endif

enum { PRECISION_UNSET = -1, CACHE_MAX = 128 };

typedef struct entry {
    int64_t M, N, K, ars, acs, brs, bcs, ldc;
    int acc, bias, f32; /* f32: float32 operands (gl__matmul_f32), else bf16 */
    dnnl_primitive_t prim;
    dnnl_memory_t src, wei, dst, b;
} entry;

static struct {
    int precision;
    int f32_engine;     /* gl__f32_matmul_onednn: -1 until read */
    dnnl_engine_t eng;
    dnnl_stream_t stream;
    uint16_t *ws;       /* bf16 copies of A then B */
    size_t ws_len;      /* in uint16_t */
    entry cache[CACHE_MAX];
    int n_cache;
    /* products run from inside OpenMP regions (gl__mm_*): each allocated on its own, so
     * a pointer a caller holds outlives growth of the table */
    gl__mm **mm;
    int n_mm, cap_mm;
    dnnl_stream_t *streams; /* one per thread */
    int n_streams;
    unsigned char *sp;      /* oneDNN scratchpads, one per thread, sp_stride bytes apart */
    size_t sp_stride;
    int sp_threads;
    void *cws;              /* gl__bf16_workspace */
    size_t cws_len;
} S = {.precision = PRECISION_UNSET, .f32_engine = -1};

struct gl__mm {
    int64_t M, N, K, ars, acs, brs, bcs, ldc;
    int acc;
    dnnl_primitive_t prim;
    dnnl_memory_desc_t a_md, b_md, c_md, sp_md;
    size_t sp_bytes;
    int nt;             /* threads that have handles */
    dnnl_memory_t *mem; /* per thread: a, b, c, scratchpad (NULL when sp_bytes is 0) */
};

/* ---- float -> bf16, round to nearest even -------------------------------------------- */

static inline uint16_t to_bf16(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40); /* quiet NaN */
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

void gl__bf16_convert_serial(uint16_t *dst, const float *src, int64_t n, float scale) {
    int64_t i = 0;
#if HAVE_CVT_BF16
    const __m512 vs = _mm512_set1_ps(scale);
    if (scale == 1.0f)
        for (; i + 16 <= n; i += 16) {
            __m256bh h = _mm512_cvtneps_pbh(_mm512_loadu_ps(src + i));
            _mm256_storeu_si256((__m256i *)(dst + i), (__m256i)h);
        }
    else
        for (; i + 16 <= n; i += 16) {
            __m256bh h = _mm512_cvtneps_pbh(_mm512_mul_ps(_mm512_loadu_ps(src + i), vs));
            _mm256_storeu_si256((__m256i *)(dst + i), (__m256i)h);
        }
#endif
    if (scale == 1.0f)
        for (; i < n; i++) dst[i] = to_bf16(src[i]);
    else
        for (; i < n; i++) dst[i] = to_bf16(src[i] * scale);
}

void gl__bf16_convert(uint16_t *dst, const float *src, int64_t n, float scale) {
    const int64_t chunk = 1 << 15, chunks = (n + chunk - 1) / chunk;
#pragma omp parallel for schedule(static) if (chunks > 1)
    for (int64_t c = 0; c < chunks; c++) {
        int64_t i = c * chunk, end = i + chunk < n ? i + chunk : n;
        gl__bf16_convert_serial(dst + i, src + i, end - i, scale);
    }
}

static void convert(uint16_t *dst, const float *src, int64_t n) { gl__bf16_convert(dst, src, n, 1.0f); }

/* ---- oneDNN ----------------------------------------------------------------------------- */

static void mm_destroy(gl__mm *p) {
    if (!p) return;
    for (int i = 0; i < 4 * p->nt; i++)
        if (p->mem[i]) dnnl_memory_destroy(p->mem[i]);
    free(p->mem);
    if (p->prim) dnnl_primitive_destroy(p->prim);
    free(p);
}

static void release(void) {
    for (int i = 0; i < S.n_mm; i++) mm_destroy(S.mm[i]);
    free(S.mm);
    S.mm = NULL;
    S.n_mm = S.cap_mm = 0;
    for (int i = 0; i < S.n_streams; i++) dnnl_stream_destroy(S.streams[i]);
    free(S.streams);
    S.streams = NULL;
    S.n_streams = 0;
    free(S.sp);
    S.sp = NULL;
    S.sp_stride = 0;
    S.sp_threads = 0;
    free(S.cws);
    S.cws = NULL;
    S.cws_len = 0;
    for (int i = 0; i < S.n_cache; i++) {
        entry *e = &S.cache[i];
        dnnl_primitive_destroy(e->prim);
        dnnl_memory_destroy(e->src);
        dnnl_memory_destroy(e->wei);
        dnnl_memory_destroy(e->dst);
        if (e->b) dnnl_memory_destroy(e->b);
    }
    S.n_cache = 0;
    free(S.ws);
    S.ws = NULL;
    S.ws_len = 0;
    if (S.stream) dnnl_stream_destroy(S.stream);
    if (S.eng) dnnl_engine_destroy(S.eng);
    S.stream = NULL;
    S.eng = NULL;
}

static int engine_up(void) {
    if (S.eng) return 0;
    if (dnnl_engine_create(&S.eng, dnnl_cpu, 0) != dnnl_success) return -1;
    if (dnnl_stream_create(&S.stream, S.eng, dnnl_stream_default_flags) != dnnl_success) {
        dnnl_engine_destroy(S.eng);
        S.eng = NULL;
        return -1;
    }
    return 0;
}

static int md2(dnnl_memory_desc_t *md, int64_t r, int64_t c, int64_t rs, int64_t cs, dnnl_data_type_t t) {
    dnnl_dims_t dims = {r, c}, strides = {rs, cs};
    return dnnl_memory_desc_init_by_strides(md, 2, dims, t, strides) == dnnl_success ? 0 : -1;
}

/* The cached primitive for this product, made on first use; NULL if oneDNN refuses. */
static entry *lookup(int64_t M, int64_t N, int64_t K, int64_t ars, int64_t acs, int64_t brs, int64_t bcs,
                     int64_t ldc, int acc, int bias, int f32) {
    for (int i = 0; i < S.n_cache; i++) {
        entry *e = &S.cache[i];
        if (e->M == M && e->N == N && e->K == K && e->ars == ars && e->acs == acs && e->brs == brs &&
            e->bcs == bcs && e->ldc == ldc && e->acc == acc && e->bias == bias && e->f32 == f32)
            return e;
    }
    if (engine_up()) return NULL;
    if (S.n_cache == CACHE_MAX) return NULL; /* more shapes than any model here has: sgemm */
    entry e = {M, N, K, ars, acs, brs, bcs, ldc, acc, bias, f32, NULL, NULL, NULL, NULL, NULL};
    const dnnl_data_type_t t = f32 ? dnnl_f32 : dnnl_bf16;
    dnnl_memory_desc_t a_md, b_md, c_md, bias_md;
    dnnl_matmul_desc_t desc;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t po = NULL;
    dnnl_primitive_desc_t pd = NULL;
    int ok = !md2(&a_md, M, K, ars, acs, t) && !md2(&b_md, K, N, brs, bcs, t) &&
             !md2(&c_md, M, N, ldc, 1, dnnl_f32) && !md2(&bias_md, 1, N, N, 1, dnnl_f32);
    ok = ok && dnnl_matmul_desc_init(&desc, &a_md, &b_md, bias ? &bias_md : NULL, &c_md) == dnnl_success;
    ok = ok && dnnl_primitive_attr_create(&attr) == dnnl_success;
    if (ok && acc) {
        /* C += product: oneDNN's sum post-op reads the destination before writing it */
        ok = dnnl_post_ops_create(&po) == dnnl_success && dnnl_post_ops_append_sum(po, 1.0f) == dnnl_success &&
             dnnl_primitive_attr_set_post_ops(attr, po) == dnnl_success;
    }
    ok = ok && dnnl_primitive_desc_create(&pd, &desc, attr, S.eng, NULL) == dnnl_success;
    ok = ok && dnnl_primitive_create(&e.prim, pd) == dnnl_success;
    ok = ok && dnnl_memory_create(&e.src, &a_md, S.eng, DNNL_MEMORY_NONE) == dnnl_success;
    ok = ok && dnnl_memory_create(&e.wei, &b_md, S.eng, DNNL_MEMORY_NONE) == dnnl_success;
    ok = ok && dnnl_memory_create(&e.dst, &c_md, S.eng, DNNL_MEMORY_NONE) == dnnl_success;
    ok = ok && (!bias || dnnl_memory_create(&e.b, &bias_md, S.eng, DNNL_MEMORY_NONE) == dnnl_success);
    if (pd) dnnl_primitive_desc_destroy(pd);
    if (po) dnnl_post_ops_destroy(po);
    if (attr) dnnl_primitive_attr_destroy(attr);
    if (!ok) {
        if (e.prim) dnnl_primitive_destroy(e.prim);
        if (e.src) dnnl_memory_destroy(e.src);
        if (e.wei) dnnl_memory_destroy(e.wei);
        if (e.dst) dnnl_memory_destroy(e.dst);
        if (e.b) dnnl_memory_destroy(e.b);
        return NULL;
    }
    S.cache[S.n_cache] = e;
    return &S.cache[S.n_cache++];
}

/* Runs a cached product on the caller's operands (bf16 or float32, as e was made). */
static int execute(entry *e, float *c, const void *a, const void *b, const float *bias) {
    dnnl_memory_set_data_handle(e->src, (void *)a);
    dnnl_memory_set_data_handle(e->wei, (void *)b);
    dnnl_memory_set_data_handle(e->dst, c);
    dnnl_exec_arg_t args[4] = {{DNNL_ARG_SRC, e->src}, {DNNL_ARG_WEIGHTS, e->wei}, {DNNL_ARG_DST, e->dst},
                               {DNNL_ARG_BIAS, e->b}};
    if (bias) dnnl_memory_set_data_handle(e->b, (void *)bias);
    if (dnnl_primitive_execute(e->prim, S.stream, bias ? 4 : 3, args) != dnnl_success) return GL_EINVAL;
    dnnl_stream_wait(S.stream);
    return GL_OK;
}

uint16_t *gl__bf16_operands(int64_t n) {
    GL_ASSERT(n >= 0);
    if ((size_t)n > S.ws_len) {
        uint16_t *w = realloc(S.ws, (size_t)n * sizeof(uint16_t));
        if (!w) return NULL;
        S.ws = w;
        S.ws_len = (size_t)n;
    }
    return S.ws;
}

int gl__matmul_bf16_rounded(float *c, int64_t ldc, const uint16_t *a, int64_t ars, int64_t acs, const uint16_t *b,
                            int64_t brs, int64_t bcs, const float *bias, int64_t M, int64_t N, int64_t K, int acc) {
    GL_ASSERT(M > 0 && N > 0 && K > 0);
    entry *e = lookup(M, N, K, ars, acs, brs, bcs, ldc, acc, bias != NULL, 0);
    return e ? execute(e, c, a, b, bias) : GL_EINVAL;
}

int gl__matmul_bf16(float *c, int64_t ldc, const float *a, int64_t ars, int64_t acs, const float *b,
                    int64_t brs, int64_t bcs, const float *bias, int64_t M, int64_t N, int64_t K, int acc) {
    GL_ASSERT(M > 0 && N > 0 && K > 0);
    /* A and B are dense (one of their strides is 1, the other the row length) */
    const int64_t na = M * K, nb = K * N;
    uint16_t *ws = gl__bf16_operands(na + nb);
    if (!ws) return GL_ENOMEM;
    convert(ws, a, na);
    convert(ws + na, b, nb);
    return gl__matmul_bf16_rounded(c, ldc, ws, ars, acs, ws + na, brs, bcs, bias, M, N, K, acc);
}

int gl__matmul_f32(float *c, int64_t ldc, const float *a, int64_t ars, int64_t acs, const float *b,
                   int64_t brs, int64_t bcs, const float *bias, int64_t M, int64_t N, int64_t K, int acc) {
    GL_ASSERT(M > 0 && N > 0 && K > 0);
    entry *e = lookup(M, N, K, ars, acs, brs, bcs, ldc, acc, bias != NULL, 1);
    return e ? execute(e, c, a, b, bias) : GL_EINVAL;
}

int gl__f32_matmul_onednn(void) {
    if (S.f32_engine < 0) {
        const char *s = getenv("GRIDLORA_F32_MATMUL");
        S.f32_engine = !(s && !strcmp(s, "openblas"));
    }
    return S.f32_engine;
}

/* ---- products run concurrently from OpenMP threads -------------------------------------- */

/* A primitive is shared by the threads (oneDNN may execute one primitive concurrently)
 * but nothing mutable is: each thread has its own memory handles (their data pointers
 * are set per call), its own stream, and its own scratchpad. The scratchpad is why the
 * primitives are made in user scratchpad mode: Debian builds oneDNN without
 * DNNL_ENABLE_CONCURRENT_EXEC, so the library's scratchpad belongs to the thread that
 * made the primitive and two threads executing it would share one. */
static gl__mm *mm_create(int64_t M, int64_t N, int64_t K, int64_t ars, int64_t acs, int64_t brs, int64_t bcs,
                         int64_t ldc, int acc) {
    gl__mm *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    *p = (gl__mm){.M = M, .N = N, .K = K, .ars = ars, .acs = acs, .brs = brs, .bcs = bcs, .ldc = ldc, .acc = acc};
    dnnl_matmul_desc_t desc;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t po = NULL;
    dnnl_primitive_desc_t pd = NULL;
    int ok = !md2(&p->a_md, M, K, ars, acs, dnnl_bf16) && !md2(&p->b_md, K, N, brs, bcs, dnnl_bf16) &&
             !md2(&p->c_md, M, N, ldc, 1, dnnl_f32);
    ok = ok && dnnl_matmul_desc_init(&desc, &p->a_md, &p->b_md, NULL, &p->c_md) == dnnl_success;
    ok = ok && dnnl_primitive_attr_create(&attr) == dnnl_success;
    ok = ok && dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user) == dnnl_success;
    if (ok && acc)
        ok = dnnl_post_ops_create(&po) == dnnl_success && dnnl_post_ops_append_sum(po, 1.0f) == dnnl_success &&
             dnnl_primitive_attr_set_post_ops(attr, po) == dnnl_success;
    ok = ok && dnnl_primitive_desc_create(&pd, &desc, attr, S.eng, NULL) == dnnl_success;
    ok = ok && dnnl_primitive_create(&p->prim, pd) == dnnl_success;
    if (ok) {
        const dnnl_memory_desc_t *sp = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
        if (sp) p->sp_md = *sp;
        p->sp_bytes = sp ? dnnl_memory_desc_get_size(sp) : 0;
    }
    if (pd) dnnl_primitive_desc_destroy(pd);
    if (po) dnnl_post_ops_destroy(po);
    if (attr) dnnl_primitive_attr_destroy(attr);
    if (!ok) {
        mm_destroy(p);
        return NULL;
    }
    return p;
}

/* Memory handles for threads up to nt. */
static int mm_threads(gl__mm *p, int nt) {
    if (p->nt >= nt) return 0;
    dnnl_memory_t *m = realloc(p->mem, (size_t)nt * 4 * sizeof *m);
    if (!m) return -1;
    p->mem = m;
    for (; p->nt < nt; p->nt++) {
        dnnl_memory_t *t = m + 4 * p->nt;
        t[0] = t[1] = t[2] = t[3] = NULL;
        int ok = dnnl_memory_create(&t[0], &p->a_md, S.eng, DNNL_MEMORY_NONE) == dnnl_success &&
                 dnnl_memory_create(&t[1], &p->b_md, S.eng, DNNL_MEMORY_NONE) == dnnl_success &&
                 dnnl_memory_create(&t[2], &p->c_md, S.eng, DNNL_MEMORY_NONE) == dnnl_success &&
                 (!p->sp_bytes || dnnl_memory_create(&t[3], &p->sp_md, S.eng, DNNL_MEMORY_NONE) == dnnl_success);
        if (!ok) {
            for (int i = 0; i < 4; i++)
                if (t[i]) dnnl_memory_destroy(t[i]);
            return -1;
        }
    }
    return 0;
}

/* Streams and scratchpads for threads up to nt, each scratchpad at least bytes. */
static int thread_state(int nt, size_t bytes) {
    if (S.n_streams < nt) {
        dnnl_stream_t *st = realloc(S.streams, (size_t)nt * sizeof *st);
        if (!st) return -1;
        S.streams = st;
        for (; S.n_streams < nt; S.n_streams++)
            if (dnnl_stream_create(&st[S.n_streams], S.eng, dnnl_stream_default_flags) != dnnl_success) return -1;
    }
    bytes = (bytes + 63) / 64 * 64;
    if (bytes > S.sp_stride || nt > S.sp_threads) {
        size_t stride = bytes > S.sp_stride ? bytes : S.sp_stride;
        int threads = nt > S.sp_threads ? nt : S.sp_threads;
        if (stride && stride > SIZE_MAX / (size_t)threads) return -1;
        /* the kernels' own buffers are 64-byte aligned; so are these (aligned_alloc's
         * size must then be a multiple of 64, which stride is) */
        unsigned char *sp = stride ? aligned_alloc(64, stride * (size_t)threads) : NULL;
        if (stride && !sp) return -1;
        free(S.sp);
        S.sp = sp;
        S.sp_stride = stride;
        S.sp_threads = threads;
    }
    return 0;
}

const gl__mm *gl__mm_get(int64_t M, int64_t N, int64_t K, int64_t ars, int64_t acs, int64_t brs, int64_t bcs,
                         int64_t ldc, int acc, int nt) {
    GL_ASSERT(M > 0 && N > 0 && K > 0 && nt > 0);
    if (engine_up()) return NULL;
    gl__mm *p = NULL;
    for (int i = 0; i < S.n_mm && !p; i++) {
        gl__mm *e = S.mm[i];
        if (e->M == M && e->N == N && e->K == K && e->ars == ars && e->acs == acs && e->brs == brs &&
            e->bcs == bcs && e->ldc == ldc && e->acc == acc)
            p = e;
    }
    if (!p) {
        if (S.n_mm == S.cap_mm) {
            int cap = S.cap_mm ? 2 * S.cap_mm : 32;
            gl__mm **t = realloc(S.mm, (size_t)cap * sizeof *t);
            if (!t) return NULL;
            S.mm = t;
            S.cap_mm = cap;
        }
        p = mm_create(M, N, K, ars, acs, brs, bcs, ldc, acc);
        if (!p) return NULL;
        S.mm[S.n_mm++] = p;
    }
    if (mm_threads(p, nt) || thread_state(nt, p->sp_bytes)) return NULL;
    return p;
}

int gl__mm_run(const gl__mm *p, int tid, float *c, const uint16_t *a, const uint16_t *b) {
    GL_ASSERT(tid >= 0 && tid < p->nt && tid < S.n_streams && tid < S.sp_threads);
    dnnl_memory_t *m = p->mem + 4 * tid;
    dnnl_memory_set_data_handle(m[0], (void *)a);
    dnnl_memory_set_data_handle(m[1], (void *)b);
    dnnl_memory_set_data_handle(m[2], c);
    dnnl_exec_arg_t args[4] = {{DNNL_ARG_SRC, m[0]}, {DNNL_ARG_WEIGHTS, m[1]}, {DNNL_ARG_DST, m[2]},
                               {DNNL_ARG_SCRATCHPAD, m[3]}};
    if (p->sp_bytes) dnnl_memory_set_data_handle(m[3], S.sp + (size_t)tid * S.sp_stride);
    if (dnnl_primitive_execute(p->prim, S.streams[tid], p->sp_bytes ? 4 : 3, args) != dnnl_success)
        return GL_EINVAL;
    dnnl_stream_wait(S.streams[tid]);
    return GL_OK;
}

void *gl__bf16_workspace(size_t bytes) {
    if (bytes > S.cws_len) {
        bytes = (bytes + 63) / 64 * 64;
        void *w = aligned_alloc(64, bytes);
        if (!w) return NULL;
        free(S.cws);
        S.cws = w;
        S.cws_len = bytes;
    }
    return S.cws;
}

/* ---- the setting ------------------------------------------------------------------------ */

/* Can oneDNN run a bf16 product here at native speed? Its CPU dispatcher must report
 * AVX512-BF16 (or AMX); below that it would emulate bf16 slower than fp32 runs. */
static int bf16_supported(void) {
    return dnnl_get_effective_cpu_isa() >= dnnl_cpu_isa_avx512_core_bf16;
}

int gl_set_precision(gl_precision p) {
    if (p != GL_PRECISION_FP32 && p != GL_PRECISION_BF16) return GL_EINVAL;
    if (p == GL_PRECISION_BF16) {
        if (!bf16_supported()) return GL_EINVAL;
        float a[4] = {1, 2, 3, 4}, b[4] = {1, 0, 0, 1}, c[4];
        if (gl__matmul_bf16(c, 2, a, 2, 1, b, 2, 1, NULL, 2, 2, 2, 0) || c[0] != 1 || c[3] != 4) return GL_EINVAL;
    } else {
        release();
    }
    S.precision = p;
    return GL_OK;
}

gl_precision gl_get_precision(void) {
    if (S.precision == PRECISION_UNSET) {
        const char *s = getenv("GRIDLORA_PRECISION");
        S.precision = GL_PRECISION_FP32;
        if (s && !strcmp(s, "bf16")) gl_set_precision(GL_PRECISION_BF16);
    }
    return (gl_precision)S.precision;
}

const char *gl_precision_name(gl_precision p) { return p == GL_PRECISION_BF16 ? "bf16" : "fp32"; }
