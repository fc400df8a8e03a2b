/* core/half.c: fp32 <-> fp16 / bf16 conversion on raw bits; no FPU modes, no extensions.
 * Works in the integer domain so the result does not depend on -march (F16C quietens
 * signalling NaNs, which would break the exact 16 -> 32 -> 16 round trip) or on
 * flush-to-zero settings. */
#include <string.h>

#include "gridlora/half.h"

static uint32_t f32_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static float bits_f32(uint32_t u) {
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

uint16_t gl_f32_to_f16(float f) {
    const uint32_t x = f32_bits(f);
    const uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
    const uint32_t ax = x & 0x7fffffffu;
    if (ax >= 0x7f800000u) { /* Inf or NaN */
        if (ax == 0x7f800000u) return sign | 0x7c00u;
        uint32_t m = (ax >> 13) & 0x3ffu;
        if (!m) m = 0x200u; /* payload lived in the dropped bits: keep it a NaN */
        return (uint16_t)(sign | 0x7c00u | m);
    }
    /* 65520 = 65504 + half an ulp; 65504's mantissa is odd, so the tie goes up to Inf */
    if (ax >= 0x477ff000u) return sign | 0x7c00u;
    if (ax >= 0x38800000u) { /* >= 2^-14: a normal half */
        /* rebias the exponent (127 -> 15) and keep the top 10 mantissa bits; a carry
         * out of the mantissa correctly bumps the exponent */
        uint32_t h = (ax >> 13) - ((uint32_t)(127 - 15) << 10);
        const uint32_t rem = ax & 0x1fffu;
        if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) h++;
        return (uint16_t)(sign | h);
    }
    /* 2^-25 is exactly half the smallest subnormal 2^-24: ties to even, i.e. to 0 */
    if (ax <= 0x33000000u) return sign;
    /* subnormal half: value / 2^-24 = m * 2^(e - 126) with m the 24-bit significand;
     * e is 102..112 here, so the shift is 14..24 */
    const uint32_t e = ax >> 23;
    const uint32_t m = (ax & 0x7fffffu) | 0x800000u;
    const uint32_t shift = 126u - e;
    uint32_t h = m >> shift;
    const uint32_t rem = m & ((1u << shift) - 1u), halfway = 1u << (shift - 1u);
    if (rem > halfway || (rem == halfway && (h & 1u))) h++; /* 0x3ff + 1 = smallest normal */
    return (uint16_t)(sign | h);
}

float gl_f16_to_f32(uint16_t h) {
    const uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    const uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t mant = h & 0x3ffu;
    if (exp == 0x1fu) return bits_f32(sign | 0x7f800000u | (mant << 13)); /* Inf, NaN */
    if (exp != 0) return bits_f32(sign | ((exp + 112u) << 23) | (mant << 13));
    if (mant == 0) return bits_f32(sign);
    /* subnormal: normalise; 113 is the biased fp32 exponent of 2^-14 */
    uint32_t e = 113;
    while (!(mant & 0x400u)) {
        mant <<= 1;
        e--;
    }
    return bits_f32(sign | (e << 23) | ((mant & 0x3ffu) << 13));
}

uint16_t gl_f32_to_bf16(float f) {
    const uint32_t x = f32_bits(f);
    if ((x & 0x7fffffffu) > 0x7f800000u) { /* NaN: truncate, never round into Inf */
        uint16_t b = (uint16_t)(x >> 16);
        if (!(b & 0x7fu)) b |= 0x40u;
        return b;
    }
    /* ties to even on the dropped 16 bits; a carry walks into the exponent and, from
     * the largest finite value, into Inf, which is what RNE asks for */
    return (uint16_t)((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);
}

float gl_bf16_to_f32(uint16_t h) { return bits_f32((uint32_t)h << 16); }

void gl_f32_to_f16_array(uint16_t *dst, const float *src, size_t n) {
    for (size_t i = 0; i < n; i++) dst[i] = gl_f32_to_f16(src[i]);
}

void gl_f16_to_f32_array(float *dst, const uint16_t *src, size_t n) {
    for (size_t i = 0; i < n; i++) dst[i] = gl_f16_to_f32(src[i]);
}

void gl_f32_to_bf16_array(uint16_t *dst, const float *src, size_t n) {
    for (size_t i = 0; i < n; i++) dst[i] = gl_f32_to_bf16(src[i]);
}

void gl_bf16_to_f32_array(float *dst, const uint16_t *src, size_t n) {
    for (size_t i = 0; i < n; i++) dst[i] = gl_bf16_to_f32(src[i]);
}
