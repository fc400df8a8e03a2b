/* core/params.c: the parameter store: name -> tensor, gradient and AdamW moments.
 * Data, gradients and each moment are one allocation each, laid out in declaration
 * order (llm.c's malloc_and_point_parameters), so checkpoints and all-reduce see one
 * flat buffer and the optimizer is one loop per tensor. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gridlora/core.h"

#define NAME_MAX_BYTES 255

typedef struct param_entry {
    char name[NAME_MAX_BYTES + 1];
    int ndim, flags;
    int64_t shape[GL_MAX_DIMS];
    int64_t offset, numel;
    float lr_scale; /* its learning rate is the optimizer's times this (default 1) */
} param_entry;

struct gl_params {
    param_entry *e;
    int count, cap;
    int64_t total;
    float *data, *grad, *m, *v;
    int allocated;
};

gl_adamw gl_adamw_default(void) {
    return (gl_adamw){.lr = 1e-3f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f,
                      .weight_decay = 0.0f};
}

int gl_params_new(gl_params **out) {
    *out = calloc(1, sizeof **out);
    return *out ? GL_OK : GL_ENOMEM;
}

void gl_params_free(gl_params **p) {
    if (!p || !*p) return;
    gl_params *q = *p;
    free(q->e);
    free(q->data);
    free(q->grad);
    free(q->m);
    free(q->v);
    free(q);
    *p = NULL;
}

int gl_params_find(const gl_params *p, const char *name) {
    /* Linear: a model has hundreds of tensors and lookups happen at load time only. */
    for (int i = 0; i < p->count; i++)
        if (strcmp(p->e[i].name, name) == 0) return i;
    return GL_ENOTFOUND;
}

int gl_params_add(gl_params *p, const char *name, int ndim, const int64_t *shape, int flags) {
    if (p->allocated) return GL_ESTATE;
    if (!name || !*name || strlen(name) > NAME_MAX_BYTES) return GL_EINVAL;
    int64_t n = 0;
    if (gl_shape_numel(ndim, shape, &n) != GL_OK) return GL_EINVAL;
    if (gl_params_find(p, name) >= 0) return GL_EEXIST;
    if (n > INT64_MAX - p->total) return GL_EINVAL;
    if (p->count == p->cap) {
        int cap = p->cap ? p->cap * 2 : 32;
        param_entry *e = realloc(p->e, (size_t)cap * sizeof *e);
        if (!e) return GL_ENOMEM;
        p->e = e;
        p->cap = cap;
    }
    param_entry *e = &p->e[p->count];
    memset(e, 0, sizeof *e);
    strcpy(e->name, name);
    e->ndim = ndim;
    e->flags = flags;
    e->lr_scale = 1.0f;
    for (int i = 0; i < ndim; i++) e->shape[i] = shape[i];
    e->offset = p->total;
    e->numel = n;
    p->total += n;
    return p->count++;
}

static float *alloc_floats(int64_t n) {
    if ((uint64_t)n > SIZE_MAX / sizeof(float)) return NULL;
    /* calloc(0) may return NULL; keep one element so a NULL always means failure */
    return calloc(n ? (size_t)n : 1, sizeof(float));
}

int gl_params_alloc(gl_params *p) {
    if (p->allocated) return GL_ESTATE;
    p->data = alloc_floats(p->total);
    p->grad = alloc_floats(p->total);
    if (!p->data || !p->grad) {
        free(p->data);
        free(p->grad);
        p->data = p->grad = NULL;
        return GL_ENOMEM;
    }
    p->allocated = 1;
    return GL_OK;
}

int gl_params_count(const gl_params *p) { return p->count; }

const char *gl_params_name(const gl_params *p, int idx) {
    GL_ASSERT(idx >= 0 && idx < p->count);
    return p->e[idx].name;
}

int gl_params_flags(const gl_params *p, int idx) {
    GL_ASSERT(idx >= 0 && idx < p->count);
    return p->e[idx].flags;
}

void gl_params_set_flags(gl_params *p, int idx, int flags) {
    GL_ASSERT(idx >= 0 && idx < p->count);
    p->e[idx].flags = flags;
}

int gl_params_set_lr_scale(gl_params *p, int idx, float scale) {
    GL_ASSERT(idx >= 0 && idx < p->count);
    if (!(scale > 0.0f) || !isfinite(scale)) return GL_EINVAL;
    p->e[idx].lr_scale = scale;
    return GL_OK;
}

float gl_params_lr_scale(const gl_params *p, int idx) {
    GL_ASSERT(idx >= 0 && idx < p->count);
    return p->e[idx].lr_scale;
}

gl_tensor gl_params_tensor(const gl_params *p, int idx) {
    GL_ASSERT(idx >= 0 && idx < p->count && p->allocated);
    const param_entry *e = &p->e[idx];
    gl_tensor t = {.data = p->data + e->offset, .grad = p->grad + e->offset, .ndim = e->ndim};
    for (int i = 0; i < e->ndim; i++) t.shape[i] = e->shape[i];
    return t;
}

int64_t gl_params_numel(const gl_params *p) { return p->total; }
float *gl_params_data(gl_params *p) { return p->data; }
float *gl_params_grads(gl_params *p) { return p->grad; }
float *gl_params_adam_m(gl_params *p) { return p->m; }
float *gl_params_adam_v(gl_params *p) { return p->v; }

void gl_params_zero_grad(gl_params *p) {
    if (p->grad) memset(p->grad, 0, (size_t)p->total * sizeof(float));
}

int gl_params_alloc_moments(gl_params *p) {
    if (!p->allocated) return GL_ESTATE;
    if (p->m) return GL_OK;
    p->m = alloc_floats(p->total);
    p->v = alloc_floats(p->total);
    if (!p->m || !p->v) {
        free(p->m);
        free(p->v);
        p->m = p->v = NULL;
        return GL_ENOMEM;
    }
    return GL_OK;
}

int gl_params_adamw_step(gl_params *p, const gl_adamw *opt, int64_t step) {
    if (!p->allocated || step < 1) return GL_ESTATE;
    int rc = gl_params_alloc_moments(p);
    if (rc) return rc;
    const float b1 = opt->beta1, b2 = opt->beta2;
    const float c1 = 1.0f - powf(b1, (float)step), c2 = 1.0f - powf(b2, (float)step);
    for (int i = 0; i < p->count; i++) {
        const param_entry *e = &p->e[i];
        if (e->flags & GL_PARAM_FROZEN) continue;
        const float wd = (e->flags & GL_PARAM_NO_DECAY) ? 0.0f : opt->weight_decay, lr = opt->lr * e->lr_scale;
        float *w = p->data + e->offset, *g = p->grad + e->offset;
        float *m = p->m + e->offset, *v = p->v + e->offset;
#pragma omp parallel for schedule(static) if (e->numel > 16384)
        for (int64_t j = 0; j < e->numel; j++) {
            m[j] = b1 * m[j] + (1.0f - b1) * g[j];
            v[j] = b2 * v[j] + (1.0f - b2) * g[j] * g[j];
            float mhat = m[j] / c1, vhat = v[j] / c2;
            w[j] -= lr * (mhat / (sqrtf(vhat) + opt->eps) + wd * w[j]);
        }
    }
    return GL_OK;
}
