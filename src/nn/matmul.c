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
    int acc, bias;
    dnnl_primitive_t prim;
    dnnl_memory_t src, wei, dst, b;
} entry;

static struct {
    int precision;
    dnnl_engine_t eng;
    dnnl_stream_t stream;
    uint16_t *ws;       /* bf16 copies of A then B */
    size_t ws_len;      /* in uint16_t */
    entry cache[CACHE_MAX];
    int n_cache;
} S = {.precision = PRECISION_UNSET};

/* ---- float -> bf16, round to nearest even -------------------------------------------- */

static inline uint16_t to_bf16(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40); /* quiet NaN */
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

static void convert(uint16_t *dst, const float *src, int64_t n) {
    const int64_t chunk = 1 << 15, chunks = (n + chunk - 1) / chunk;
#pragma omp parallel for schedule(static) if (chunks > 1)
    for (int64_t c = 0; c < chunks; c++) {
        int64_t i = c * chunk, end = i + chunk < n ? i + chunk : n;
#if HAVE_CVT_BF16
        for (; i + 16 <= end; i += 16) {
            __m256bh h = _mm512_cvtneps_pbh(_mm512_loadu_ps(src + i));
            _mm256_storeu_si256((__m256i *)(dst + i), (__m256i)h);
        }
#endif
        for (; i < end; i++) dst[i] = to_bf16(src[i]);
    }
}

/* ---- oneDNN ----------------------------------------------------------------------------- */

static void release(void) {
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
                     int64_t ldc, int acc, int bias) {
    for (int i = 0; i < S.n_cache; i++) {
        entry *e = &S.cache[i];
        if (e->M == M && e->N == N && e->K == K && e->ars == ars && e->acs == acs && e->brs == brs &&
            e->bcs == bcs && e->ldc == ldc && e->acc == acc && e->bias == bias)
            return e;
    }
    if (engine_up()) return NULL;
    if (S.n_cache == CACHE_MAX) return NULL; /* more shapes than any model here has: fp32 */
    entry e = {M, N, K, ars, acs, brs, bcs, ldc, acc, bias, NULL, NULL, NULL, NULL, NULL};
    dnnl_memory_desc_t a_md, b_md, c_md, bias_md;
    dnnl_matmul_desc_t desc;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t po = NULL;
    dnnl_primitive_desc_t pd = NULL;
    int ok = !md2(&a_md, M, K, ars, acs, dnnl_bf16) && !md2(&b_md, K, N, brs, bcs, dnnl_bf16) &&
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

int gl__matmul_bf16(float *c, int64_t ldc, const float *a, int64_t ars, int64_t acs, const float *b,
                    int64_t brs, int64_t bcs, const float *bias, int64_t M, int64_t N, int64_t K, int acc) {
    GL_ASSERT(M > 0 && N > 0 && K > 0);
    /* A and B are dense (one of their strides is 1, the other the row length) */
    const int64_t na = M * K, nb = K * N;
    if ((size_t)(na + nb) > S.ws_len) {
        uint16_t *w = realloc(S.ws, (size_t)(na + nb) * sizeof(uint16_t));
        if (!w) return GL_ENOMEM;
        S.ws = w;
        S.ws_len = (size_t)(na + nb);
    }
    entry *e = lookup(M, N, K, ars, acs, brs, bcs, ldc, acc, bias != NULL);
    if (!e) return GL_EINVAL;
    convert(S.ws, a, na);
    convert(S.ws + na, b, nb);
    dnnl_memory_set_data_handle(e->src, S.ws);
    dnnl_memory_set_data_handle(e->wei, S.ws + na);
    dnnl_memory_set_data_handle(e->dst, c);
    dnnl_exec_arg_t args[4] = {{DNNL_ARG_SRC, e->src}, {DNNL_ARG_WEIGHTS, e->wei}, {DNNL_ARG_DST, e->dst},
                               {DNNL_ARG_BIAS, e->b}};
    if (bias) dnnl_memory_set_data_handle(e->b, (void *)bias);
    if (dnnl_primitive_execute(e->prim, S.stream, bias ? 4 : 3, args) != dnnl_success) return GL_EINVAL;
    dnnl_stream_wait(S.stream);
    return GL_OK;
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
