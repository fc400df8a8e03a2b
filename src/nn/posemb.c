/* nn/posemb.c: the fixed sinusoidal absolute position embedding of video tokens (as in
 * DiT), added to the patch embedding. RoPE tells attention only how far apart two
 * tokens are; at high noise, where the input holds nothing to find one's place by, a
 * token also needs where it is to draw its part of a subject on a path. No parameters,
 * so the backward is the identity. */
#include <math.h>

#include "gridlora/core.h"
#include "gridlora/nn.h"

void gl_abs_pos_add(float *x, const int32_t *pos, int64_t B, int64_t T, int64_t C, double theta) {
    GL_ASSERT(B >= 0 && T >= 0 && C >= 0 && theta > 1.0);
    const int64_t nf = C / 6; /* frequencies an axis; 2 * nf channels each */
    /* A thread owns a channel pair: no two threads write one float. The frequency is
     * taken once per pair, the angle in double (position times frequency). */
#pragma omp parallel for schedule(static)
    for (int64_t q = 0; q < 3 * nf; q++) {
        const int64_t ax = q / nf, k = q % nf;
        const double w = pow(theta, -(double)k / (double)nf);
        float *xs = x + ax * 2 * nf + k, *xc = xs + nf;
        for (int64_t t = 0; t < T; t++) {
            const double ang = (double)pos[3 * t + ax] * w;
            const float s = (float)sin(ang), c = (float)cos(ang);
            for (int64_t b = 0; b < B; b++) {
                xs[(b * T + t) * C] += s;
                xc[(b * T + t) * C] += c;
            }
        }
    }
}
