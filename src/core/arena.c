/* core/arena.c: a bump allocator for one training step's activations.
 * One aligned block, allocations carved from it, reset between steps: no malloc per op.
 * Exhaustion returns NULL and records what was needed, so the caller can say by how much. */
#include <stdlib.h>
#include <string.h>

#include "gridlora/core.h"

#define ARENA_ALIGN 64  /* a cache line, and the width of an AVX-512 register */

struct gl_arena {
    unsigned char *base;
    size_t capacity, used, peak, needed;
};

int gl_arena_new(gl_arena **out, size_t capacity) {
    *out = NULL;
    gl_arena *a = calloc(1, sizeof *a);
    if (!a) return GL_ENOMEM;
    capacity = (capacity + ARENA_ALIGN - 1) / ARENA_ALIGN * ARENA_ALIGN;
    if (capacity) {
        a->base = aligned_alloc(ARENA_ALIGN, capacity);
        if (!a->base) { free(a); return GL_ENOMEM; }
    }
    a->capacity = capacity;
    *out = a;
    return GL_OK;
}

void gl_arena_free(gl_arena **a) {
    if (!a || !*a) return;
    free((*a)->base);
    free(*a);
    *a = NULL;
}

float *gl_arena_alloc(gl_arena *a, size_t n) {
    if (n > (SIZE_MAX - ARENA_ALIGN) / sizeof(float)) { a->needed = SIZE_MAX; return NULL; }
    size_t bytes = (n * sizeof(float) + ARENA_ALIGN - 1) / ARENA_ALIGN * ARENA_ALIGN;
    if (bytes > a->capacity - a->used) {
        size_t want = a->used + bytes < a->used ? SIZE_MAX : a->used + bytes;
        if (want > a->needed) a->needed = want;
        return NULL;
    }
    float *p = (float *)(a->base + a->used);
    a->used += bytes;
    if (a->used > a->peak) a->peak = a->used;
    return p;
}

int gl_arena_tensor(gl_arena *a, gl_tensor *t, int ndim, const int64_t *shape) {
    memset(t, 0, sizeof *t);
    int64_t n = 0;
    int rc = gl_shape_numel(ndim, shape, &n);
    if (rc) return rc;
    if ((uint64_t)n > SIZE_MAX / sizeof(float)) return GL_ENOMEM;
    float *p = gl_arena_alloc(a, (size_t)n);
    if (!p) return GL_ENOMEM;
    t->data = p;
    t->ndim = ndim;
    for (int i = 0; i < ndim; i++) t->shape[i] = shape[i];
    return GL_OK;
}

void gl_arena_reset(gl_arena *a) { a->used = 0; }
size_t gl_arena_used(const gl_arena *a) { return a->used; }
void gl_arena_rewind(gl_arena *a, size_t mark) {
    GL_ASSERT(mark <= a->used);
    a->used = mark;
}
size_t gl_arena_capacity(const gl_arena *a) { return a->capacity; }
size_t gl_arena_peak(const gl_arena *a) { return a->peak; }
size_t gl_arena_needed(const gl_arena *a) { return a->needed; }
