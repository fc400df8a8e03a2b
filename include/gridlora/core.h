/* gridlora/core.h: errors, threads, tensors, the activation arena and the parameter store.
 *
 * The core knows nothing of models. Usage, as a training step sees it:
 *
 *     gl_params *p = NULL;
 *     gl_params_new(&p);
 *     int w = gl_params_add(p, "blk.0.attn.q.weight", 2, (int64_t[]){192, 192}, 0);
 *     gl_params_alloc(p);                      // one block for data, one for grads
 *     gl_tensor W = gl_params_tensor(p, w);     // W.data, W.grad
 *     gl_arena *a = NULL;
 *     gl_arena_new(&a, 64u << 20);              // activations for one step
 *     for (step...) { gl_arena_reset(a); ...forward, backward...; gl_params_adamw_step(p, &opt, step); }
 *     gl_arena_free(&a); gl_params_free(&p);
 *
 * Errors: functions that can fail return 0 or a negative GL_E* code. GL_ASSERT guards
 * our own invariants (a layer called with inconsistent shapes), never bad input.
 * Thread safety: a gl_arena or gl_params is used by one caller at a time; kernels
 * parallelise internally with OpenMP.
 */
#ifndef GRIDLORA_CORE_H
#define GRIDLORA_CORE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum gl_status {
    GL_OK = 0,
    GL_ENOMEM = -1,   /* allocation failed or arena exhausted */
    GL_EINVAL = -2,   /* bad argument */
    GL_EFORMAT = -3,  /* malformed file or data */
    GL_EIO = -4,      /* read/write failure */
    GL_ENOTFOUND = -5,/* name not found */
    GL_EEXIST = -6,   /* name already present */
    GL_ESTATE = -7,   /* call not valid in the object's current state */
};

/* Short text for a GL_E* code ("out of memory", ...); never NULL. */
const char *gl_strerror(int err);

/* Reports file, line and expression on stderr, then aborts. For our own bugs only. */
void gl__assert_fail(const char *file, int line, const char *expr);
#define GL_ASSERT(x) ((x) ? (void)0 : gl__assert_fail(__FILE__, __LINE__, #x))

/* ---- threads ------------------------------------------------------------------ */

/* Sets the thread count of OpenMP loops and of OpenBLAS. n <= 0 means the default:
 * GRIDLORA_THREADS from the environment when set to a positive integer, else all
 * cores. Returns the count now in force. */
int gl_set_threads(int n);

/* The thread count in force (calls gl_set_threads(0) on first use). */
int gl_threads(void);

/* ---- random numbers ------------------------------------------------------------ */

/* A small, seedable generator (splitmix64): same seed, same stream, on every machine. */
typedef struct gl_rng {
    uint64_t state;
} gl_rng;

void gl_rng_seed(gl_rng *r, uint64_t seed);
uint64_t gl_rng_u64(gl_rng *r);
double gl_rng_uniform(gl_rng *r);  /* [0, 1) with 53 random bits */
double gl_rng_normal(gl_rng *r);   /* standard normal (Box-Muller) */

/* ---- tensors ------------------------------------------------------------------ */

#define GL_MAX_DIMS 5

/* A view of fp32 data: it owns nothing. grad is NULL where there is none. */
typedef struct gl_tensor {
    float *data;
    float *grad;
    int ndim;
    int64_t shape[GL_MAX_DIMS];
} gl_tensor;

/* Element count of a shape, checked: 0 and *out set, or GL_EINVAL for ndim outside
 * 0..GL_MAX_DIMS, a negative dimension or a product that overflows int64_t. */
int gl_shape_numel(int ndim, const int64_t *shape, int64_t *out);

/* Element count of a tensor (its shape was checked when it was made). */
int64_t gl_tensor_numel(const gl_tensor *t);

/* ---- arena: activations of one step ----------------------------------------- */

typedef struct gl_arena gl_arena;

/* Makes an arena of `capacity` bytes (one allocation, 64-byte aligned). */
int gl_arena_new(gl_arena **out, size_t capacity);

/* Frees the arena and sets *a to NULL; a NULL or *a NULL is a no-op. */
void gl_arena_free(gl_arena **a);

/* n floats, 64-byte aligned, uninitialised; NULL when the arena is exhausted, in which
 * case gl_arena_needed() tells how many bytes the failed request wanted in all. */
float *gl_arena_alloc(gl_arena *a, size_t n);

/* As gl_arena_alloc, shaped: fills *t (grad NULL). GL_ENOMEM or GL_EINVAL on failure. */
int gl_arena_tensor(gl_arena *a, gl_tensor *t, int ndim, const int64_t *shape);

/* Forgets every allocation (the memory is reused by the next step). */
void gl_arena_reset(gl_arena *a);

/* Bytes in use now; the position to rewind to with gl_arena_rewind. */
size_t gl_arena_used(const gl_arena *a);
void gl_arena_rewind(gl_arena *a, size_t mark);

/* Capacity in bytes; the most ever in use since creation; bytes a failed allocation
 * would have needed in all (0 if none failed). */
size_t gl_arena_capacity(const gl_arena *a);
size_t gl_arena_peak(const gl_arena *a);
size_t gl_arena_needed(const gl_arena *a);

/* ---- parameter store ---------------------------------------------------------- */

typedef struct gl_params gl_params;

enum gl_param_flags {
    GL_PARAM_FROZEN = 1 << 0,   /* not updated by the optimizer, no gradient needed */
    GL_PARAM_NO_DECAY = 1 << 1, /* excluded from weight decay (norms, biases, embeddings) */
};

typedef struct gl_adamw {
    float lr, beta1, beta2, eps, weight_decay;
} gl_adamw;

/* lr 1e-3, betas (0.9, 0.999), eps 1e-8, weight decay 0.0. */
gl_adamw gl_adamw_default(void);

int gl_params_new(gl_params **out);
void gl_params_free(gl_params **p);

/* Declares a parameter before gl_params_alloc. Returns its index (>= 0), GL_EEXIST for
 * a duplicate name, GL_EINVAL for a bad shape or a name over 255 bytes, GL_ESTATE after
 * allocation. */
int gl_params_add(gl_params *p, const char *name, int ndim, const int64_t *shape, int flags);

/* Allocates data and gradients (zeroed) for everything declared, each one block laid
 * out in declaration order. Optimizer moments are allocated on the first step. */
int gl_params_alloc(gl_params *p);

int gl_params_count(const gl_params *p);
/* Index of `name`, or GL_ENOTFOUND. */
int gl_params_find(const gl_params *p, const char *name);
const char *gl_params_name(const gl_params *p, int idx);
int gl_params_flags(const gl_params *p, int idx);
void gl_params_set_flags(gl_params *p, int idx, int flags);
/* Parameter idx learns at the optimizer's rate times `scale` (default 1; weight decay,
 * decoupled, scales with it): for tensors that see few gradients per step, as a
 * Multi-DC adapter's concept tokens do. GL_EINVAL unless scale is finite and > 0. */
int gl_params_set_lr_scale(gl_params *p, int idx, float scale);
float gl_params_lr_scale(const gl_params *p, int idx);
/* View of parameter idx: data, grad and shape. Only valid after gl_params_alloc. */
gl_tensor gl_params_tensor(const gl_params *p, int idx);

/* Total elements, and the whole data / gradient blocks (for checkpoints, all-reduce). */
int64_t gl_params_numel(const gl_params *p);
float *gl_params_data(gl_params *p);
float *gl_params_grads(gl_params *p);

void gl_params_zero_grad(gl_params *p);

/* One AdamW step (decoupled weight decay, bias-corrected; step counts from 1) on every
 * parameter not GL_PARAM_FROZEN. GL_ENOMEM if the moments cannot be allocated. */
int gl_params_adamw_step(gl_params *p, const gl_adamw *opt, int64_t step);

/* Allocates the AdamW moments (zeroed) if they are not there yet, e.g. to load them
 * from a checkpoint before the first step. */
int gl_params_alloc_moments(gl_params *p);

/* The first and second moments (NULL before the first step). */
float *gl_params_adam_m(gl_params *p);
float *gl_params_adam_v(gl_params *p);

#ifdef __cplusplus
}
#endif
#endif
