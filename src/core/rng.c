/* core/rng.c: the seeded random stream behind initialisation, noise and data.
 * splitmix64: tiny state, passes BigCrush, identical on every platform. */
#include <math.h>

#include "gridlora/core.h"

void gl_rng_seed(gl_rng *r, uint64_t seed) { r->state = seed ^ 0x5DEECE66Dull; }

uint64_t gl_rng_u64(gl_rng *r) {
    uint64_t z = (r->state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

double gl_rng_uniform(gl_rng *r) { return (double)(gl_rng_u64(r) >> 11) * 0x1.0p-53; }

double gl_rng_normal(gl_rng *r) {
    double u1 = gl_rng_uniform(r), u2 = gl_rng_uniform(r);
    if (u1 < 1e-300) u1 = 1e-300; /* log(0) */
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}
