/* core/tensor.c: shape arithmetic with overflow checks; tensors themselves are views. */
#include "gridlora/core.h"

int gl_shape_numel(int ndim, const int64_t *shape, int64_t *out) {
    *out = 0;
    if (ndim < 0 || ndim > GL_MAX_DIMS) return GL_EINVAL;
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0) return GL_EINVAL;
        if (shape[i] != 0 && n > INT64_MAX / shape[i]) return GL_EINVAL;
        n *= shape[i];
    }
    *out = n;
    return GL_OK;
}

int64_t gl_tensor_numel(const gl_tensor *t) {
    int64_t n = 0;
    int rc = gl_shape_numel(t->ndim, t->shape, &n);
    GL_ASSERT(rc == GL_OK);
    return n;
}
