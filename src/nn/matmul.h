/* nn/matmul.h: the bf16 matrix product behind GL_PRECISION_BF16 (nn/matmul.c). Private
 * to the library: callers go through gl_linear_*, which pick it by gl_get_precision(). */
#ifndef GL_NN_MATMUL_H
#define GL_NN_MATMUL_H

#include <stdint.h>

/* c[M,N] = (acc ? c : 0) + bf16(a) . bf16(b) (+ bias[N] broadcast over rows), float32
 * accumulation. a is M x K with element (m,k) at a[m*ars + k*acs], b is K x N with (k,n)
 * at b[k*brs + n*bcs]; each is dense (its strides are 1 and the other dimension). c has
 * row stride ldc. 0, GL_ENOMEM (workspace) or GL_EINVAL (oneDNN refused the product;
 * the caller then falls back to sgemm). Not thread-safe: one caller at a time. */
int gl__matmul_bf16(float *c, int64_t ldc, const float *a, int64_t ars, int64_t acs, const float *b,
                    int64_t brs, int64_t bcs, const float *bias, int64_t M, int64_t N, int64_t K, int acc);

#endif
