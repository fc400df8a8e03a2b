/* nn/dropout.c: inverted dropout whose mask is a pure function of (seed, element index),
 * as counter-based generators give it (Philox in cuDNN): the backward draws the same mask
 * again instead of storing it, so dropout costs no activation memory, and an element's
 * fate does not depend on the thread count or on how a batch is split. */
#include <math.h>
#include <stdint.h>

#include "gridlora/core.h"
#include "gridlora/nn.h"

/* splitmix64's output function: a bijection of 64 bits with full avalanche, so
 * consecutive counters give independent-looking words. */
static uint64_t mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Elements whose 32 random bits fall below this are dropped: P(drop) = thr / 2^32,
 * within 2^-33 of p. */
static uint64_t threshold(float p) {
    double t = ldexp((double)p, 32);
    return t >= 4294967295.0 ? 4294967295u : (uint64_t)llround(t);
}

/* Element g keeps when its half of word g / 2 is at least thr: two elements per word. */
static int keep(uint64_t key, int64_t g, uint64_t thr) {
    uint64_t w = mix64(key + (uint64_t)(g >> 1) * 0x9E3779B97F4A7C15ull);
    uint64_t bits = (g & 1) ? w >> 32 : w & 0xFFFFFFFFu;
    return bits >= thr;
}

void gl_dropout_forward(float *out, const float *x, int64_t n, float p, uint64_t seed,
                        int64_t offset) {
    GL_ASSERT(n >= 0 && offset >= 0 && p >= 0.0f && p < 1.0f);
    const uint64_t key = mix64(seed), thr = threshold(p);
    const float s = 1.0f / (1.0f - p);
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++) out[i] = keep(key, offset + i, thr) ? x[i] * s : 0.0f;
}

void gl_dropout_backward(float *dx, const float *dout, int64_t n, float p, uint64_t seed,
                         int64_t offset) {
    GL_ASSERT(n >= 0 && offset >= 0 && p >= 0.0f && p < 1.0f);
    const uint64_t key = mix64(seed), thr = threshold(p);
    const float s = 1.0f / (1.0f - p);
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++)
        if (keep(key, offset + i, thr)) dx[i] += dout[i] * s;
}
