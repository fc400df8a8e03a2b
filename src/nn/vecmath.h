/* nn/vecmath.h: exp for the kernels' inner loops (attention's softmax, GELU, SiLU):
 * 16 lanes at a time with AVX-512, one at a time otherwise. Private to src/nn.
 *
 * gl__exp16 is Cephes' expf (range reduction by ln 2 in two parts, degree-6
 * polynomial): within 2 ulp of expf over [-87, 88]; arguments are clamped to
 * [-103, 88.7], so exp(-inf) gives 0 and exp(+inf) a finite 3.4e38 (callers that need
 * an exact 0 for masked entries zero them themselves). It must not see NaN. */
#ifndef GL_NN_VECMATH_H
#define GL_NN_VECMATH_H

#include <math.h>

#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__)
#include <immintrin.h>
#define GL_HAVE_AVX512 1

static inline __m512 gl__exp16(__m512 x) {
    x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-103.0f)), _mm512_set1_ps(88.7f));
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
    p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
    return _mm512_scalef_ps(p, n); /* p 2^n, gradual underflow to 0 */
}

/* The first n (<= 16) lanes. */
static inline __mmask16 gl__tail16(long n) { return (__mmask16)((1u << n) - 1u); }

/* The first lanes t of v stored, or all 16 loaded, with plain instructions when t is
 * full: a masked store costs more than a plain one on Zen 4 (one of them held 13% of
 * attention's backward row time in a perf profile), and a row's vectors are all full
 * but its last. */
static inline void gl__store16(float *dst, __m512 v, __mmask16 t) {
    if (t == 0xffff)
        _mm512_storeu_ps(dst, v);
    else
        _mm512_mask_storeu_ps(dst, t, v);
}

static inline __m512 gl__load16(const float *src, __mmask16 t) {
    return t == 0xffff ? _mm512_loadu_ps(src) : _mm512_maskz_loadu_ps(t, src);
}

/* n (<= 16) mask bytes (nonzero = allowed) as a lane mask; reads only those n bytes. */
static inline __mmask16 gl__mask16(const unsigned char *m, long n) {
    return _mm_test_epi8_mask(_mm_maskz_loadu_epi8(gl__tail16(n), m), _mm_set1_epi8((char)0xff));
}
#else
#define GL_HAVE_AVX512 0
#endif

/* The scalar twin, used for the tails of rows without AVX-512 (same clamp). */
static inline float gl__expf(float x) {
    if (x < -103.0f) return 0.0f;
    return expf(x > 88.7f ? 88.7f : x);
}

#endif
