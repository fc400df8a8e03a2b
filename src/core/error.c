/* core/error.c: error texts and the assertion handler; nothing else. */
#include <stdio.h>
#include <stdlib.h>

#include "gridlora/core.h"

const char *gl_strerror(int err) {
    switch (err) {
    case GL_OK: return "success";
    case GL_ENOMEM: return "out of memory";
    case GL_EINVAL: return "invalid argument";
    case GL_EFORMAT: return "malformed data";
    case GL_EIO: return "input/output error";
    case GL_ENOTFOUND: return "not found";
    case GL_EEXIST: return "already exists";
    case GL_ESTATE: return "not valid in this state";
    default: return "unknown error";
    }
}

void gl__assert_fail(const char *file, int line, const char *expr) {
    fprintf(stderr, "gridlora: internal error: %s:%d: assertion failed: %s\n", file, line, expr);
    fflush(stderr);
    abort();
}
