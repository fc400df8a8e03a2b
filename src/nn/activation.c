/* nn/activation.c: the elementwise activations (GELU, SiLU) and row-wise softmax.
 * Elementwise loops and softmax rows are independent, so they split over threads freely
 * and give the same result for any thread count. */
#include <math.h>

#include "gridlora/core.h"
#include "gridlora/nn.h"
#include "vecmath.h"

/* sqrt(2/pi); C11 without extensions has no M_PI. */
#define GELU_K 0.7978845608028654f
#define GELU_A 0.044715f

/* ---- GELU (tanh form) ------------------------------------------------------------ */

/* Elements per parallel chunk: below a few of these, a parallel region costs more than
 * it saves. Chunks are whole multiples of 16, so vector lanes never straddle threads. */
enum { CHUNK = 4096 };

/* 0.5 (1 + tanh(u)) = sigmoid(2u) = 1 / (1 + e^(-2u)): one exp, no tanh, and for
 * u -> +-inf it tends to 1 and 0 without overflow trouble (e^(88.7) is the clamp). */
void gl_gelu_forward(float *out, const float *inp, int64_t n) {
    GL_ASSERT(n >= 0);
    const int64_t chunks = (n + CHUNK - 1) / CHUNK;
#pragma omp parallel for schedule(static) if (chunks > 1)
    for (int64_t ch = 0; ch < chunks; ch++) {
        int64_t i = ch * CHUNK, end = i + CHUNK < n ? i + CHUNK : n;
#if GL_HAVE_AVX512
        const __m512 k2 = _mm512_set1_ps(-2.0f * GELU_K), a = _mm512_set1_ps(GELU_A), one = _mm512_set1_ps(1.0f);
        for (; i + 16 <= end; i += 16) {
            __m512 x = _mm512_loadu_ps(inp + i);
            __m512 x3 = _mm512_mul_ps(_mm512_mul_ps(x, x), x);
            __m512 e = gl__exp16(_mm512_mul_ps(k2, _mm512_fmadd_ps(a, x3, x)));
            _mm512_storeu_ps(out + i, _mm512_div_ps(x, _mm512_add_ps(one, e)));
        }
#endif
        for (; i < end; i++) {
            float x = inp[i];
            float u = GELU_K * (x + GELU_A * x * x * x);
            out[i] = x / (1.0f + gl__expf(-2.0f * u));
        }
    }
}

/* d/dx = 0.5 (1 + t) + 0.5 x (1 - t^2) K (1 + 3 A x^2), t = tanh(u). Written with
 * 1 - t^2 rather than 1 / cosh^2(u), whose coshf overflows to inf for |u| > 89. */
/* With s = sigmoid(2u) = 0.5 (1 + t): 0.5 (1 + t) = s and 0.5 (1 - t^2) = 2 s (1 - s), so
 * d/dx = s + 2 x s (1 - s) du, free of cosh as well. */
void gl_gelu_backward(float *dinp, const float *dout, const float *inp, int64_t n) {
    GL_ASSERT(n >= 0);
    if (!dinp) return;
    const int64_t chunks = (n + CHUNK - 1) / CHUNK;
#pragma omp parallel for schedule(static) if (chunks > 1)
    for (int64_t ch = 0; ch < chunks; ch++) {
        int64_t i = ch * CHUNK, end = i + CHUNK < n ? i + CHUNK : n;
#if GL_HAVE_AVX512
        const __m512 k2 = _mm512_set1_ps(-2.0f * GELU_K), a = _mm512_set1_ps(GELU_A), one = _mm512_set1_ps(1.0f);
        const __m512 k = _mm512_set1_ps(GELU_K), a3 = _mm512_set1_ps(3.0f * GELU_A), two = _mm512_set1_ps(2.0f);
        for (; i + 16 <= end; i += 16) {
            __m512 x = _mm512_loadu_ps(inp + i), xx = _mm512_mul_ps(x, x);
            __m512 e = gl__exp16(_mm512_mul_ps(k2, _mm512_fmadd_ps(a, _mm512_mul_ps(xx, x), x)));
            __m512 s = _mm512_div_ps(one, _mm512_add_ps(one, e));
            __m512 du = _mm512_mul_ps(k, _mm512_fmadd_ps(a3, xx, one));
            __m512 d = _mm512_fmadd_ps(_mm512_mul_ps(_mm512_mul_ps(two, x), _mm512_mul_ps(s, _mm512_sub_ps(one, s))), du, s);
            _mm512_storeu_ps(dinp + i, _mm512_fmadd_ps(d, _mm512_loadu_ps(dout + i), _mm512_loadu_ps(dinp + i)));
        }
#endif
        for (; i < end; i++) {
            float x = inp[i];
            float u = GELU_K * (x + GELU_A * x * x * x);
            float s = 1.0f / (1.0f + gl__expf(-2.0f * u));
            float du = GELU_K * (1.0f + 3.0f * GELU_A * x * x);
            float d = s + 2.0f * x * s * (1.0f - s) * du;
            dinp[i] += d * dout[i];
        }
    }
}

/* ---- SiLU ------------------------------------------------------------------------ */

/* 1 / (1 + e^-x): for x < -88 expf overflows to inf and the result is the correct 0. */
static inline float sigmoidf(float x) { return 1.0f / (1.0f + expf(-x)); }

void gl_silu_forward(float *out, const float *inp, int64_t n) {
    GL_ASSERT(n >= 0);
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++) out[i] = inp[i] * sigmoidf(inp[i]);
}

/* d/dx x s(x) = s (1 + x (1 - s)). */
void gl_silu_backward(float *dinp, const float *dout, const float *inp, int64_t n) {
    GL_ASSERT(n >= 0);
    if (!dinp) return;
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++) {
        float x = inp[i], s = sigmoidf(x);
        dinp[i] += dout[i] * s * (1.0f + x * (1.0f - s));
    }
}

/* ---- softmax --------------------------------------------------------------------- */

/* The row maximum is subtracted first, so expf sees arguments <= 0 and never overflows;
 * the largest term is 1, so the sum is >= 1 and the division is safe. */
void gl_softmax_forward(float *out, const float *inp, int64_t N, int64_t C) {
    GL_ASSERT(N >= 0 && C >= 0);
    if (C == 0) return;
#pragma omp parallel for schedule(static)
    for (int64_t n = 0; n < N; n++) {
        const float *x = inp + n * C;
        float *y = out + n * C;
        float mx = x[0];
        for (int64_t c = 1; c < C; c++) mx = x[c] > mx ? x[c] : mx;
        float s = 0.0f;
        for (int64_t c = 0; c < C; c++) {
            y[c] = expf(x[c] - mx);
            s += y[c];
        }
        float inv = 1.0f / s;
        for (int64_t c = 0; c < C; c++) y[c] *= inv;
    }
}

/* dx_i = y_i (g_i - sum_j y_j g_j): needs only the output y. */
void gl_softmax_backward(float *dinp, const float *dout, const float *out, int64_t N, int64_t C) {
    GL_ASSERT(N >= 0 && C >= 0);
    if (!dinp) return;
#pragma omp parallel for schedule(static)
    for (int64_t n = 0; n < N; n++) {
        const float *y = out + n * C, *g = dout + n * C;
        float *dx = dinp + n * C;
        float dot = 0.0f;
        for (int64_t c = 0; c < C; c++) dot += y[c] * g[c];
        for (int64_t c = 0; c < C; c++) dx[c] += y[c] * (g[c] - dot);
    }
}
