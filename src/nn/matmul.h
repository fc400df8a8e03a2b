/* nn/matmul.h: the bf16 matrix product behind GL_PRECISION_BF16 (nn/matmul.c). Private
 * to the library: callers go through gl_linear_*, which pick it by gl_get_precision(). */
#ifndef GL_NN_MATMUL_H
#define GL_NN_MATMUL_H

#include <stddef.h>
#include <stdint.h>

/* c[M,N] = (acc ? c : 0) + bf16(a) . bf16(b) (+ bias[N] broadcast over rows), float32
 * accumulation. a is M x K with element (m,k) at a[m*ars + k*acs], b is K x N with (k,n)
 * at b[k*brs + n*bcs]; each is dense (its strides are 1 and the other dimension). c has
 * row stride ldc. 0, GL_ENOMEM (workspace) or GL_EINVAL (oneDNN refused the product;
 * the caller then falls back to sgemm). Not thread-safe: one caller at a time. */
int gl__matmul_bf16(float *c, int64_t ldc, const float *a, int64_t ars, int64_t acs, const float *b,
                    int64_t brs, int64_t bcs, const float *bias, int64_t M, int64_t N, int64_t K, int acc);

/* The same product on operands the caller has already rounded (gl__bf16_convert), so
 * that one operand serving two products is rounded once (the linear layer's backward
 * reads its output gradient twice). Same returns. gl__bf16_operands: room for n bf16
 * values, owned by this file and reused; it is the buffer gl__matmul_bf16 converts into,
 * so nothing in it survives a gl__matmul_bf16 call. NULL when out of memory. */
int gl__matmul_bf16_rounded(float *c, int64_t ldc, const uint16_t *a, int64_t ars, int64_t acs, const uint16_t *b,
                            int64_t brs, int64_t bcs, const float *bias, int64_t M, int64_t N, int64_t K, int acc);
uint16_t *gl__bf16_operands(int64_t n);

/* The same product on float32 operands, read in place (no copies), through oneDNN's f32
 * matmul: as fast as OpenBLAS's sgemm at the model's shapes on an idle machine, and
 * unaffected by OpenBLAS's kernel choice (bench/RESULTS.md, entry 4). Same returns;
 * GL_EINVAL: the caller takes sgemm. */
int gl__matmul_f32(float *c, int64_t ldc, const float *a, int64_t ars, int64_t acs, const float *b,
                   int64_t brs, int64_t bcs, const float *bias, int64_t M, int64_t N, int64_t K, int acc);

/* Whether fp32 linear products go through gl__matmul_f32 (1, the default) or straight to
 * sgemm (0: GRIDLORA_F32_MATMUL=openblas, read once), for comparing the two. */
int gl__f32_matmul_onednn(void);

/* dst[i] = bf16(src[i] * scale), round to nearest even, n elements. gl__bf16_convert
 * splits long arrays over the OpenMP threads; the _serial one is for inside a parallel
 * region, where a nested region would only add its overhead. */
void gl__bf16_convert(uint16_t *dst, const float *src, int64_t n, float scale);
void gl__bf16_convert_serial(uint16_t *dst, const float *src, int64_t n, float scale);

/* Products for tiles computed inside OpenMP parallel regions (nn/attention.c), where
 * gl__matmul_bf16 cannot go: operands are already bf16, and each thread runs the
 * shared cached primitive with its own handles, stream and oneDNN scratchpad.
 * gl__mm_get (serial, outside any parallel region, after GL_PRECISION_BF16 is set):
 * the cached product c[M,N] = (acc ? c : 0) + a . b, a and b bf16 with the strides of
 * gl__matmul_bf16, made ready for threads 0..nt-1; NULL if oneDNN refuses it or memory
 * runs out (the caller then takes its fp32 path). A pointer stays valid until the
 * precision is set to fp32. gl__mm_run: thread tid's execution (oneDNN runs it on the
 * calling thread alone inside a parallel region); 0 or GL_EINVAL. */
typedef struct gl__mm gl__mm;
const gl__mm *gl__mm_get(int64_t M, int64_t N, int64_t K, int64_t ars, int64_t acs, int64_t brs, int64_t bcs,
                         int64_t ldc, int acc, int nt);
int gl__mm_run(const gl__mm *p, int tid, float *c, const uint16_t *a, const uint16_t *b);

/* A 64-byte aligned buffer of at least `bytes`, owned by nn/matmul.c and reused from
 * call to call (its contents are not kept when it grows); serial callers only, one user
 * at a time (nn/attention.c). NULL when out of memory. Freed with the primitives when
 * the precision is set to fp32. */
void *gl__bf16_workspace(size_t bytes);

#endif
