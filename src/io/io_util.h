/* io/io_util.h (internal): what the io files share: one-line messages that name the
 * file, FFmpeg's error text, 8-bit quantisation, and temporary names for atomic writes. */
#ifndef GL_IO_UTIL_H
#define GL_IO_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include <libavutil/error.h>

/* "path: <fmt>" into msg (may be NULL when msglen is 0); returns code. */
int gl__io_fail(char *msg, size_t msglen, int code, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* FFmpeg's text for an AVERROR code, by value so it can sit inside a printf call. */
typedef struct gl__averr_text {
    char s[AV_ERROR_MAX_STRING_SIZE];
} gl__averr_text;
gl__averr_text gl__averr(int e);

/* [0, 1] float to 8 bits, rounded; NaN becomes 0. */
uint8_t gl__q8(float x);

/* "<path>.tmp.<pid><ext>": beside the target (same file system, so rename is atomic),
 * keeping the extension of path's last component for anything that looks at it.
 * malloc'd; NULL if out of memory. */
char *gl__tmp_name(const char *path);

#endif
