/* io/io_util.c: the helpers io_util.h declares, shared by the io files. */
#define _POSIX_C_SOURCE 200809L /* getpid */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/io_util.h"

int gl__io_fail(char *msg, size_t msglen, int code, const char *path, const char *fmt, ...) {
    if (msg && msglen) {
        int n = snprintf(msg, msglen, "%s: ", path);
        if (n >= 0 && (size_t)n < msglen) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(msg + n, msglen - (size_t)n, fmt, ap);
            va_end(ap);
        }
    }
    return code;
}

gl__averr_text gl__averr(int e) {
    gl__averr_text t;
    if (av_strerror(e, t.s, sizeof t.s) < 0) snprintf(t.s, sizeof t.s, "error %d", e);
    return t;
}

uint8_t gl__q8(float x) {
    if (!(x > 0.0f)) return 0;
    if (x >= 1.0f) return 255;
    return (uint8_t)(x * 255.0f + 0.5f);
}

char *gl__tmp_name(const char *path) {
    const char *slash = strrchr(path, '/'), *base = slash ? slash + 1 : path;
    const char *dot = strrchr(base, '.'), *ext = dot && dot != base ? dot : "";
    long pid = (long)getpid();
    int n = snprintf(NULL, 0, "%s.tmp.%ld%s", path, pid, ext);
    char *s = n > 0 ? malloc((size_t)n + 1) : NULL;
    if (s) snprintf(s, (size_t)n + 1, "%s.tmp.%ld%s", path, pid, ext);
    return s;
}
