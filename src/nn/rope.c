/* nn/rope.c: 3D rotary position embedding: each head's pairs turned by an angle set by
 * the token's frame, row or column position, from cos/sin tables built once per shape. */
#include <math.h>

#include "gridlora/core.h"
#include "gridlora/nn.h"

void gl_rope_default_split(int64_t D, int64_t split[3]) {
    GL_ASSERT(D >= 0 && D % 2 == 0);
    /* Wan's split: rows and columns get an even 2*floor(D/6) each, so both stay pairs;
     * frames take what is left, which is even because D is. */
    int64_t rc = 2 * (D / 6);
    split[0] = D - 2 * rc;
    split[1] = rc;
    split[2] = rc;
}

void gl_rope_tables(float *cos_t, float *sin_t, const int32_t *pos, int64_t T, int64_t D,
                    const int64_t split[3], float theta) {
    GL_ASSERT(T >= 0 && D >= 0 && D % 2 == 0);
    GL_ASSERT(split[0] >= 0 && split[1] >= 0 && split[2] >= 0);
    GL_ASSERT(split[0] % 2 == 0 && split[1] % 2 == 0 && split[2] % 2 == 0);
    GL_ASSERT(split[0] + split[1] + split[2] == D);
    GL_ASSERT(theta > 0.0f);
    int64_t half = D / 2;
    /* pow is called per entry rather than kept in a frequency buffer: nn/ never
     * allocates, and a table is built once per shape. Angles in double: a position
     * times a frequency can reach the hundreds, where float would lose the low bits
     * that cos and sin depend on. */
#pragma omp parallel for schedule(static)
    for (int64_t t = 0; t < T; t++) {
        float *c = cos_t + t * half, *s = sin_t + t * half;
        int64_t i = 0;
        for (int a = 0; a < 3; a++) {
            double p = (double)pos[t * 3 + a], d = (double)split[a];
            for (int64_t j = 0; j < split[a] / 2; j++, i++) {
                double ang = p * pow((double)theta, -2.0 * (double)j / d);
                c[i] = (float)cos(ang);
                s[i] = (float)sin(ang);
            }
        }
    }
}

void gl_rope_forward(float *out, const float *inp, const float *cos_t, const float *sin_t,
                     int64_t B, int64_t T, int64_t H, int64_t D) {
    GL_ASSERT(B >= 0 && T >= 0 && H >= 0 && D >= 0 && D % 2 == 0);
    int64_t half = D / 2;
    /* Rows are (b, t): each reads one table row and writes only its own H*D floats.
     * Both members of a pair are read before either is written, so out may be inp. */
#pragma omp parallel for schedule(static)
    for (int64_t bt = 0; bt < B * T; bt++) {
        int64_t t = bt % T;
        const float *c = cos_t + t * half, *s = sin_t + t * half;
        for (int64_t h = 0; h < H; h++) {
            const float *x = inp + (bt * H + h) * D;
            float *y = out + (bt * H + h) * D;
            for (int64_t i = 0; i < half; i++) {
                float a = x[2 * i], b = x[2 * i + 1];
                y[2 * i] = a * c[i] - b * s[i];
                y[2 * i + 1] = a * s[i] + b * c[i];
            }
        }
    }
}

void gl_rope_backward(float *dinp, const float *dout, const float *cos_t, const float *sin_t,
                      int64_t B, int64_t T, int64_t H, int64_t D) {
    GL_ASSERT(B >= 0 && T >= 0 && H >= 0 && D >= 0 && D % 2 == 0);
    int64_t half = D / 2;
    /* The rotation is orthogonal, so its transpose is the rotation by -angle. */
#pragma omp parallel for schedule(static)
    for (int64_t bt = 0; bt < B * T; bt++) {
        int64_t t = bt % T;
        const float *c = cos_t + t * half, *s = sin_t + t * half;
        for (int64_t h = 0; h < H; h++) {
            const float *g = dout + (bt * H + h) * D;
            float *dx = dinp + (bt * H + h) * D;
            for (int64_t i = 0; i < half; i++) {
                float ga = g[2 * i], gb = g[2 * i + 1];
                dx[2 * i] += ga * c[i] + gb * s[i];
                dx[2 * i + 1] += -ga * s[i] + gb * c[i];
            }
        }
    }
}
