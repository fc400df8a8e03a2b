/* gridlora/half.h: fp32 <-> fp16 (IEEE binary16) and fp32 <-> bf16 (bfloat16) conversion.
 *
 * Storage formats only: we compute in fp32 and keep 16-bit values as raw uint16_t bits,
 * so no compiler extension (_Float16, __bf16) and no FPU mode is involved.
 *
 *     uint16_t h = gl_f32_to_f16(x);          // round to nearest, ties to even
 *     float y = gl_f16_to_f32(h);             // exact: every fp16 value is a float
 *     gl_f32_to_bf16_array(dst, src, n);      // dst uint16_t[n], src float[n]
 *
 * Semantics, for both formats:
 *  - 16 -> 32 is exact for every one of the 65536 bit patterns, subnormals included;
 *    a NaN keeps its sign and payload (shifted up), so 16 -> 32 -> 16 gives back the
 *    same bits for all 65536 patterns, signalling NaNs included.
 *  - 32 -> 16 rounds to nearest, ties to even; values past the largest finite one
 *    (by at least half an ulp) become +-Inf; tiny values become subnormals or +-0 with
 *    the sign kept. A NaN stays a NaN with its sign and the top payload bits; when those
 *    bits are all zero the quiet bit is set, so a NaN never turns into Inf.
 *  - fp16 max is 65504 (>= 65520 rounds to Inf), smallest subnormal 2^-24.
 *    bf16 has fp32's exponent range, 8 bits of precision.
 * The array forms take dst first (as memcpy), any n >= 0, and dst must not overlap src.
 * All functions are pure and thread-safe.
 */
#ifndef GRIDLORA_HALF_H
#define GRIDLORA_HALF_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

uint16_t gl_f32_to_f16(float f);
float gl_f16_to_f32(uint16_t h);
uint16_t gl_f32_to_bf16(float f);
float gl_bf16_to_f32(uint16_t h);

void gl_f32_to_f16_array(uint16_t *dst, const float *src, size_t n);
void gl_f16_to_f32_array(float *dst, const uint16_t *src, size_t n);
void gl_f32_to_bf16_array(uint16_t *dst, const float *src, size_t n);
void gl_bf16_to_f32_array(float *dst, const uint16_t *src, size_t n);

#ifdef __cplusplus
}
#endif
#endif
