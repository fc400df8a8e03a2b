/* io/safetensors.c: read/write safetensors files; trusts no header field.
 * The reader maps the file, copies the header out (so cJSON never sees an unterminated
 * buffer), pre-scans it for things cJSON does not refuse (nesting depth, bad UTF-8, raw
 * control characters, non-integer spellings of numbers), then checks every field before
 * using it, with overflow-safe arithmetic throughout. Only F32/F16/BF16 are known.
 * The writer never leaves a half-written file behind. */
#define _POSIX_C_SOURCE 200809L /* mmap, fsync, fdopen, O_CLOEXEC */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "gridlora/half.h"
#include "gridlora/safetensors.h"

/* Integers beyond 2^53 do not survive cJSON's double; no real file comes near it. */
#define ST_MAX_INT 9007199254740992.0
#define ST_MAX_INT_I ((int64_t)1 << 53)

typedef struct st_tensor {
    char *name;
    gl_st_dtype dtype;
    int ndim;
    int64_t shape[GL_ST_MAX_DIMS];
    int64_t numel, begin, end; /* begin/end: offsets into the data buffer */
} st_tensor;

struct gl_st {
    char *path;
    unsigned char *map; /* whole file: mapped, or a malloc'd copy (gl_st_open_memory) */
    size_t map_len;
    int mapped;         /* map came from mmap (else from malloc) */
    const unsigned char *data; /* map + 8 + N */
    int64_t data_len;
    st_tensor *t;
    int count;
    int *by_name; /* tensor indices sorted by name, for gl_st_find */
    char **mkey, **mval;
    int mcount;
};

const char *gl_st_dtype_name(gl_st_dtype d) {
    switch (d) {
    case GL_ST_F32: return "F32";
    case GL_ST_F16: return "F16";
    case GL_ST_BF16: return "BF16";
    }
    return "?";
}

int gl_st_dtype_size(gl_st_dtype d) {
    switch (d) {
    case GL_ST_F32: return 4;
    case GL_ST_F16:
    case GL_ST_BF16: return 2;
    }
    return 0;
}

/* ---- small helpers ------------------------------------------------------------------ */

/* "<path>: <problem>" into msg; returns code. */
static int fail(char *msg, size_t msglen, int code, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static int fail(char *msg, size_t msglen, int code, const char *path, const char *fmt, ...) {
    if (msg && msglen) {
        int k = snprintf(msg, msglen, "%s: ", path ? path : "(null)");
        if (k >= 0 && (size_t)k < msglen) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(msg + k, msglen - (size_t)k, fmt, ap);
            va_end(ap);
        }
    }
    return code;
}

/* A name from the file, fit to print in a message: control bytes become '?', and a long
 * one is cut (at a UTF-8 boundary) with "...". */
typedef struct shown {
    char s[72];
} shown;

static shown show(const char *name) {
    shown o;
    size_t n = strlen(name), max = 60, k = n <= max ? n : max;
    if (n > max)
        while (k > 0 && ((unsigned char)name[k] & 0xc0) == 0x80) k--;
    for (size_t i = 0; i < k; i++) {
        unsigned char c = (unsigned char)name[i];
        o.s[i] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
    }
    if (n > max) memcpy(o.s + k, "...", 4);
    else o.s[k] = 0;
    return o;
}

/* "[3,4]" */
typedef struct shape_str {
    char s[GL_ST_MAX_DIMS * 21 + 3];
} shape_str;

static shape_str fmt_shape(int ndim, const int64_t *shape) {
    shape_str o;
    size_t k = 0;
    o.s[k++] = '[';
    for (int i = 0; i < ndim && i < GL_ST_MAX_DIMS; i++)
        k += (size_t)snprintf(o.s + k, sizeof o.s - k, i ? ",%lld" : "%lld", (long long)shape[i]);
    snprintf(o.s + k, sizeof o.s - k, "]");
    return o;
}

static char *dup_str(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

static int host_is_le(void) {
    const uint16_t one = 1;
    unsigned char b;
    memcpy(&b, &one, 1);
    return b == 1;
}

/* Length of the valid UTF-8 sequence at s[0..n), or 0 if it is not one (overlongs,
 * surrogates and code points past U+10FFFF are not). */
static size_t utf8_len(const unsigned char *s, size_t n) {
    unsigned c = s[0];
    size_t len;
    unsigned min;
    if (c < 0x80) return 1;
    if (c >= 0xc2 && c <= 0xdf) len = 2, min = 0x80;
    else if (c >= 0xe0 && c <= 0xef) len = 3, min = 0x800;
    else if (c >= 0xf0 && c <= 0xf4) len = 4, min = 0x10000;
    else return 0;
    if (n < len) return 0;
    unsigned cp = c & (0x3fu >> (len - 1));
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80) return 0;
        cp = (cp << 6) | (s[i] & 0x3fu);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
    return len;
}

static int utf8_valid(const char *s) {
    size_t n = strlen(s);
    for (size_t i = 0; i < n;) {
        size_t k = utf8_len((const unsigned char *)s + i, n - i);
        if (!k) return 0;
        i += k;
    }
    return 1;
}

/* ---- reading ------------------------------------------------------------------------ */

/* What cJSON would accept but we must not: nesting past GL_ST_MAX_DEPTH (checked before
 * cJSON recurses), invalid UTF-8 and raw control characters in strings, \u0000 (a C
 * string cannot hold it: "a\u0000b" would pass for "a"). Numbers that are not plain
 * unsigned integers are only noted (first one in *bad_num), since their position is
 * better reported against the field they sit in. Everything else is cJSON's job.
 * Returns 0, or GL_EFORMAT with msg set. */
static int prescan(const char *h, size_t n, const char *path, char *msg, size_t msglen,
                   size_t *bad_num, size_t *bad_len) {
    const unsigned char *s = (const unsigned char *)h;
    int depth = 0, in_str = 0;
    *bad_num = SIZE_MAX;
    *bad_len = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned c = s[i];
        if (in_str) {
            if (c == '"') {
                in_str = 0;
            } else if (c == '\\') {
                if (i + 1 >= n) break; /* cJSON reports the unterminated string */
                if (s[i + 1] == 'u' && i + 5 < n && !memcmp(s + i + 2, "0000", 4))
                    return fail(msg, msglen, GL_EFORMAT, path,
                                "header has a \\u0000 in a string at byte %zu", i);
                i++;
            } else if (c < 0x20) {
                return fail(msg, msglen, GL_EFORMAT, path,
                            "header has a raw control character 0x%02x in a string at byte %zu",
                            c, i);
            } else if (c >= 0x80) {
                size_t k = utf8_len(s + i, n - i);
                if (!k)
                    return fail(msg, msglen, GL_EFORMAT, path,
                                "header is not valid UTF-8 (byte %zu)", i);
                i += k - 1;
            }
        } else if (c == '"') {
            in_str = 1;
        } else if (c == '{' || c == '[') {
            if (++depth > GL_ST_MAX_DEPTH)
                return fail(msg, msglen, GL_EFORMAT, path,
                            "header JSON nests deeper than %d levels (byte %zu)",
                            GL_ST_MAX_DEPTH, i);
        } else if (c == '}' || c == ']') {
            if (depth > 0) depth--;
        } else if (c == '-' || (c >= '0' && c <= '9')) {
            size_t j = i;
            int plain = 1;
            while (j < n && s[j] && strchr("0123456789+-.eE", s[j])) {
                if (s[j] < '0' || s[j] > '9') plain = 0;
                j++;
            }
            if (s[i] == '0' && j - i > 1) plain = 0; /* leading zero */
            if (!plain && *bad_num == SIZE_MAX) {
                *bad_num = i;
                *bad_len = j - i;
            }
            i = j - 1;
        }
    }
    return GL_OK;
}

/* A JSON number that is an integer in [0, 2^53]: 0 and *v, or a word for what it is not. */
static const char *json_uint(const cJSON *x, int64_t *v) {
    if (!cJSON_IsNumber(x)) return "not a number";
    double d = x->valuedouble;
    if (d < 0) return "negative";
    if (d > ST_MAX_INT) return "too large";
    if (d != (double)(int64_t)d) return "not an integer";
    *v = (int64_t)d;
    return NULL;
}

/* (name, index) pairs: qsort has no context argument to reach the tensor table. */
typedef struct name_idx {
    const char *name;
    int idx;
} name_idx;

static int cmp_name_idx(const void *a, const void *b) {
    const name_idx *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x->idx > y->idx) - (x->idx < y->idx);
}

typedef struct span {
    int64_t begin, end;
    int idx;
} span;

static int cmp_span(const void *a, const void *b) {
    const span *x = a, *y = b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    return (x->idx > y->idx) - (x->idx < y->idx);
}

/* Checks one tensor entry `e` (key already known not to be __metadata__) into *t. */
static int parse_entry(const cJSON *e, st_tensor *t, int64_t data_len, const char *path,
                       char *msg, size_t msglen) {
    const char *name = e->string;
    shown nm = show(name);
    if (!cJSON_IsObject(e))
        return fail(msg, msglen, GL_EFORMAT, path, "tensor '%s': entry is not an object", nm.s);
    const cJSON *dtype = NULL, *shape = NULL, *offs = NULL;
    for (const cJSON *f = e->child; f; f = f->next) {
        const cJSON **slot = !strcmp(f->string, "dtype")          ? &dtype
                             : !strcmp(f->string, "shape")        ? &shape
                             : !strcmp(f->string, "data_offsets") ? &offs
                                                                  : NULL;
        if (!slot)
            return fail(msg, msglen, GL_EFORMAT, path, "tensor '%s': unknown field '%s'", nm.s,
                        show(f->string).s);
        if (*slot)
            return fail(msg, msglen, GL_EFORMAT, path, "tensor '%s': field '%s' appears twice",
                        nm.s, f->string);
        *slot = f;
    }
    /* dtype */
    if (!dtype) return fail(msg, msglen, GL_EFORMAT, path, "tensor '%s': missing dtype", nm.s);
    if (!cJSON_IsString(dtype))
        return fail(msg, msglen, GL_EFORMAT, path, "tensor '%s': dtype is not a string", nm.s);
    const char *ds = dtype->valuestring;
    if (!strcmp(ds, "F32")) t->dtype = GL_ST_F32;
    else if (!strcmp(ds, "F16")) t->dtype = GL_ST_F16;
    else if (!strcmp(ds, "BF16")) t->dtype = GL_ST_BF16;
    else
        return fail(msg, msglen, GL_EFORMAT, path,
                    "tensor '%s': unknown dtype '%s' (supported: F32, F16, BF16)", nm.s,
                    show(ds).s);
    /* shape */
    if (!shape) return fail(msg, msglen, GL_EFORMAT, path, "tensor '%s': missing shape", nm.s);
    if (!cJSON_IsArray(shape))
        return fail(msg, msglen, GL_EFORMAT, path, "tensor '%s': shape is not an array", nm.s);
    int ndim = cJSON_GetArraySize(shape);
    if (ndim > GL_ST_MAX_DIMS)
        return fail(msg, msglen, GL_EFORMAT, path,
                    "tensor '%s': shape has %d dimensions, more than %d", nm.s, ndim,
                    GL_ST_MAX_DIMS);
    t->ndim = ndim;
    int64_t numel = 1;
    int overflow = 0, k = 0;
    for (const cJSON *d = shape->child; d; d = d->next, k++) {
        const char *why = json_uint(d, &t->shape[k]);
        if (why)
            return fail(msg, msglen, GL_EFORMAT, path,
                        "tensor '%s': shape dimension %d is %s", nm.s, k, why);
        /* keep multiplying after an overflow would be UB; remember it, and a later 0
         * does not make the count valid: no sane file spells it that way */
        if (t->shape[k] != 0 && numel > INT64_MAX / t->shape[k]) overflow = 1;
        else numel *= t->shape[k];
    }
    shape_str ss = fmt_shape(t->ndim, t->shape);
    const int esize = gl_st_dtype_size(t->dtype);
    if (overflow || numel > INT64_MAX / esize)
        return fail(msg, msglen, GL_EFORMAT, path,
                    "tensor '%s': shape %s: element count overflows int64", nm.s, ss.s);
    t->numel = numel;
    /* data_offsets */
    if (!offs)
        return fail(msg, msglen, GL_EFORMAT, path, "tensor '%s': missing data_offsets", nm.s);
    if (!cJSON_IsArray(offs) || cJSON_GetArraySize(offs) != 2)
        return fail(msg, msglen, GL_EFORMAT, path,
                    "tensor '%s': data_offsets is not an array of two integers", nm.s);
    const char *why = json_uint(offs->child, &t->begin);
    if (!why) why = json_uint(offs->child->next, &t->end);
    if (why)
        return fail(msg, msglen, GL_EFORMAT, path, "tensor '%s': a data_offsets value is %s",
                    nm.s, why);
    if (t->begin > t->end)
        return fail(msg, msglen, GL_EFORMAT, path,
                    "tensor '%s': data_offsets [%lld,%lld] are reversed", nm.s,
                    (long long)t->begin, (long long)t->end);
    if (t->end > data_len)
        return fail(msg, msglen, GL_EFORMAT, path,
                    "tensor '%s': data_offsets [%lld,%lld] run past the end of the data "
                    "(%lld bytes): file truncated?",
                    nm.s, (long long)t->begin, (long long)t->end, (long long)data_len);
    if (t->end - t->begin != numel * esize)
        return fail(msg, msglen, GL_EFORMAT, path,
                    "tensor '%s': data_offsets [%lld,%lld] span %lld bytes but %s %s needs %lld",
                    nm.s, (long long)t->begin, (long long)t->end,
                    (long long)(t->end - t->begin), ds, ss.s, (long long)(numel * esize));
    return GL_OK;
}

static int parse_metadata(gl_st *st, const cJSON *m, const char *path, char *msg,
                          size_t msglen) {
    if (!cJSON_IsObject(m))
        return fail(msg, msglen, GL_EFORMAT, path, "__metadata__ is not an object");
    int n = cJSON_GetArraySize(m);
    st->mkey = calloc(n ? (size_t)n : 1, sizeof *st->mkey);
    st->mval = calloc(n ? (size_t)n : 1, sizeof *st->mval);
    if (!st->mkey || !st->mval) return fail(msg, msglen, GL_ENOMEM, path, "out of memory");
    for (const cJSON *kv = m->child; kv; kv = kv->next) {
        if (!cJSON_IsString(kv))
            return fail(msg, msglen, GL_EFORMAT, path, "__metadata__ value of '%s' is not a string",
                        show(kv->string).s);
        char *k = dup_str(kv->string), *v = dup_str(kv->valuestring);
        if (!k || !v) {
            free(k);
            free(v);
            return fail(msg, msglen, GL_ENOMEM, path, "out of memory");
        }
        st->mkey[st->mcount] = k;
        st->mval[st->mcount] = v;
        st->mcount++;
    }
    /* duplicate keys: cJSON keeps both */
    name_idx *ni = malloc((n ? (size_t)n : 1) * sizeof *ni);
    if (!ni) return fail(msg, msglen, GL_ENOMEM, path, "out of memory");
    for (int i = 0; i < n; i++) ni[i] = (name_idx){st->mkey[i], i};
    qsort(ni, (size_t)n, sizeof *ni, cmp_name_idx);
    for (int i = 1; i < n; i++)
        if (!strcmp(ni[i].name, ni[i - 1].name)) {
            int rc = fail(msg, msglen, GL_EFORMAT, path, "__metadata__ key '%s' appears twice",
                          show(ni[i].name).s);
            free(ni);
            return rc;
        }
    free(ni);
    return GL_OK;
}

/* Everything after the mapping: header JSON -> st's tables, all checks. */
static int parse_header(gl_st *st, const char *hdr, size_t n, const char *path, char *msg,
                        size_t msglen) {
    size_t bad_num, bad_len;
    /* as the reference implementation: no BOM, no leading whitespace */
    if (hdr[0] != '{')
        return fail(msg, msglen, GL_EFORMAT, path,
                    "header is not a JSON object (does not start with '{')");
    int rc = prescan(hdr, n, path, msg, msglen, &bad_num, &bad_len);
    if (rc) return rc;
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(hdr, n, &end, 0);
    if (!root) {
        size_t at = end && end >= hdr && end <= hdr + n ? (size_t)(end - hdr) : 0;
        return fail(msg, msglen, GL_EFORMAT, path, "header is not valid JSON (near byte %zu)", at);
    }
    for (const char *p = end; p < hdr + n; p++)
        if (!*p || !strchr(" \t\r\n", *p)) {
            rc = fail(msg, msglen, GL_EFORMAT, path,
                      "header has bytes other than whitespace after its JSON (byte %zu)",
                      (size_t)(p - hdr));
            goto end;
        }
    if (!cJSON_IsObject(root)) {
        rc = fail(msg, msglen, GL_EFORMAT, path, "header is not a JSON object");
        goto end;
    }
    int n_items = cJSON_GetArraySize(root), seen_meta = 0;
    st->t = calloc(n_items ? (size_t)n_items : 1, sizeof *st->t);
    if (!st->t) {
        rc = fail(msg, msglen, GL_ENOMEM, path, "out of memory");
        goto end;
    }
    for (const cJSON *e = root->child; e; e = e->next) {
        if (!strcmp(e->string, "__metadata__")) {
            if (seen_meta++) {
                rc = fail(msg, msglen, GL_EFORMAT, path, "__metadata__ appears twice");
                goto end;
            }
            if ((rc = parse_metadata(st, e, path, msg, msglen))) goto end;
            continue;
        }
        st_tensor *t = &st->t[st->count];
        if ((rc = parse_entry(e, t, st->data_len, path, msg, msglen))) goto end;
        if (!(t->name = dup_str(e->string))) {
            rc = fail(msg, msglen, GL_ENOMEM, path, "out of memory");
            goto end;
        }
        st->count++;
    }
    /* names: sorted index (for gl_st_find), which also shows duplicates */
    const int nt = st->count;
    name_idx *ni = malloc((nt ? (size_t)nt : 1) * sizeof *ni);
    st->by_name = malloc((nt ? (size_t)nt : 1) * sizeof *st->by_name);
    span *sp = malloc((nt ? (size_t)nt : 1) * sizeof *sp);
    if (!ni || !st->by_name || !sp) {
        rc = fail(msg, msglen, GL_ENOMEM, path, "out of memory");
        goto end_sort;
    }
    for (int i = 0; i < nt; i++) ni[i] = (name_idx){st->t[i].name, i};
    qsort(ni, (size_t)nt, sizeof *ni, cmp_name_idx);
    for (int i = 0; i < nt; i++) {
        if (i && !strcmp(ni[i].name, ni[i - 1].name)) {
            rc = fail(msg, msglen, GL_EFORMAT, path, "tensor '%s' appears twice",
                      show(ni[i].name).s);
            goto end_sort;
        }
        st->by_name[i] = ni[i].idx;
    }
    /* the tensors must tile [0, data_len) exactly: no overlap, no hole, nothing after */
    for (int i = 0; i < nt; i++) sp[i] = (span){st->t[i].begin, st->t[i].end, i};
    qsort(sp, (size_t)nt, sizeof *sp, cmp_span);
    int64_t pos = 0;
    int prev = -1;
    for (int i = 0; i < nt; i++) {
        const st_tensor *t = &st->t[sp[i].idx];
        if (t->begin < pos) {
            const st_tensor *q = &st->t[prev];
            rc = fail(msg, msglen, GL_EFORMAT, path,
                      "tensor '%s' at [%lld,%lld] overlaps tensor '%s' at [%lld,%lld]",
                      show(t->name).s, (long long)t->begin, (long long)t->end, show(q->name).s,
                      (long long)q->begin, (long long)q->end);
            goto end_sort;
        }
        if (t->begin > pos) {
            rc = fail(msg, msglen, GL_EFORMAT, path,
                      "bytes [%lld,%lld) of the data buffer belong to no tensor (a hole before "
                      "tensor '%s')",
                      (long long)pos, (long long)t->begin, show(t->name).s);
            goto end_sort;
        }
        pos = t->end;
        prev = sp[i].idx;
    }
    if (pos != st->data_len) {
        rc = fail(msg, msglen, GL_EFORMAT, path,
                  "bytes [%lld,%lld) at the end of the data buffer belong to no tensor",
                  (long long)pos, (long long)st->data_len);
        goto end_sort;
    }
    if (bad_num != SIZE_MAX) {
        int len = bad_len > 24 ? 24 : (int)bad_len;
        rc = fail(msg, msglen, GL_EFORMAT, path,
                  "header number '%.*s%s' (byte %zu) is not written as a plain unsigned integer",
                  len, hdr + bad_num, bad_len > 24 ? "..." : "", bad_num);
        goto end_sort;
    }
end_sort:
    free(ni);
    free(sp);
end:
    cJSON_Delete(root);
    return rc;
}

static int open_bytes(gl_st *st, const char *path, char *msg, size_t msglen);

int gl_st_open(gl_st **out, const char *path, char *msg, size_t msglen) {
    if (msg && msglen) msg[0] = 0;
    if (!out || !path) return fail(msg, msglen, GL_EINVAL, path, "NULL argument");
    *out = NULL;
    int rc = GL_OK;
    gl_st *st = calloc(1, sizeof *st);
    if (!st || !(st->path = dup_str(path))) {
        rc = fail(msg, msglen, GL_ENOMEM, path, "out of memory");
        goto end;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        rc = fail(msg, msglen, GL_EIO, path, "cannot open: %s", strerror(errno));
        goto end;
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        rc = fail(msg, msglen, GL_EIO, path, "cannot stat: %s", strerror(errno));
        close(fd);
        goto end;
    }
    if (!S_ISREG(sb.st_mode)) {
        rc = fail(msg, msglen, GL_EIO, path, "%s",
                  S_ISDIR(sb.st_mode) ? "is a directory" : "is not a regular file");
        close(fd);
        goto end;
    }
    if (sb.st_size < 8) {
        rc = fail(msg, msglen, GL_EFORMAT, path,
                  "file is %lld bytes, too short for the 8-byte header length",
                  (long long)sb.st_size);
        close(fd);
        goto end;
    }
    if ((uint64_t)sb.st_size > SIZE_MAX) {
        rc = fail(msg, msglen, GL_EIO, path, "file too large to map");
        close(fd);
        goto end;
    }
    st->map_len = (size_t)sb.st_size;
    void *map = mmap(NULL, st->map_len, PROT_READ, MAP_PRIVATE, fd, 0);
    int map_errno = errno;
    close(fd); /* the mapping keeps the file */
    if (map == MAP_FAILED) {
        rc = fail(msg, msglen, GL_EIO, path, "cannot map: %s", strerror(map_errno));
        goto end;
    }
    st->map = map;
    st->mapped = 1;
    rc = open_bytes(st, path, msg, msglen);
end:
    if (rc) gl_st_free(&st);
    else {
        if (msg && msglen) msg[0] = 0;
        *out = st;
    }
    return rc;
}

int gl_st_open_memory(gl_st **out, const void *buf, size_t len, const char *name, char *msg,
                      size_t msglen) {
    if (msg && msglen) msg[0] = 0;
    if (!name) name = "(memory)";
    if (!out || (!buf && len)) return fail(msg, msglen, GL_EINVAL, name, "NULL argument");
    *out = NULL;
    int rc = GL_OK;
    gl_st *st = calloc(1, sizeof *st);
    if (!st || !(st->path = dup_str(name))) {
        rc = fail(msg, msglen, GL_ENOMEM, name, "out of memory");
        goto end;
    }
    if (len < 8) {
        rc = fail(msg, msglen, GL_EFORMAT, name,
                  "file is %zu bytes, too short for the 8-byte header length", len);
        goto end;
    }
    /* a copy, so st owns its bytes exactly as a mapping would */
    if (!(st->map = malloc(len))) {
        rc = fail(msg, msglen, GL_ENOMEM, name, "out of memory for %zu bytes", len);
        goto end;
    }
    memcpy(st->map, buf, len);
    st->map_len = len;
    rc = open_bytes(st, name, msg, msglen);
end:
    if (rc) gl_st_free(&st);
    else {
        if (msg && msglen) msg[0] = 0;
        *out = st;
    }
    return rc;
}

/* Validates st->map[0..map_len) (at least 8 bytes) and fills st from its header. */
static int open_bytes(gl_st *st, const char *path, char *msg, size_t msglen) {
    int rc = GL_OK;
    char *hdr = NULL;
    /* N, little-endian, byte by byte: independent of the host's order */
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) n = (n << 8) | st->map[i];
    const uint64_t room = (uint64_t)st->map_len - 8;
    if (n == 0) {
        rc = fail(msg, msglen, GL_EFORMAT, path, "header length is 0");
        goto end;
    }
    if (n > GL_ST_MAX_HEADER) {
        rc = fail(msg, msglen, GL_EFORMAT, path,
                  "header length %llu is over the limit of %u bytes (corrupt or hostile file)",
                  (unsigned long long)n, GL_ST_MAX_HEADER);
        goto end;
    }
    if (n > room) {
        rc = fail(msg, msglen, GL_EFORMAT, path,
                  "header length %llu runs past the end of the file (%llu bytes): truncated?",
                  (unsigned long long)n, (unsigned long long)st->map_len);
        goto end;
    }
    st->data = st->map + 8 + n;
    st->data_len = (int64_t)(room - n);
    /* a NUL-terminated copy: cJSON then cannot run off the mapping whatever it does */
    if (!(hdr = malloc((size_t)n + 1))) {
        rc = fail(msg, msglen, GL_ENOMEM, path, "out of memory for a %llu-byte header",
                  (unsigned long long)n);
        goto end;
    }
    memcpy(hdr, st->map + 8, (size_t)n);
    hdr[n] = 0;
    rc = parse_header(st, hdr, (size_t)n, path, msg, msglen);
end:
    free(hdr);
    return rc;
}

void gl_st_free(gl_st **pst) {
    if (!pst || !*pst) return;
    gl_st *st = *pst;
    if (st->map && st->mapped) munmap(st->map, st->map_len);
    else free(st->map);
    if (st->t)
        for (int i = 0; i < st->count; i++) free(st->t[i].name);
    free(st->t);
    free(st->by_name);
    for (int i = 0; i < st->mcount; i++) {
        free(st->mkey[i]);
        free(st->mval[i]);
    }
    free(st->mkey);
    free(st->mval);
    free(st->path);
    free(st);
    *pst = NULL;
}

const char *gl_st_path(const gl_st *st) { return st->path; }
int gl_st_count(const gl_st *st) { return st->count; }

int gl_st_find(const gl_st *st, const char *name) {
    if (!name) return GL_ENOTFOUND;
    int lo = 0, hi = st->count - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2, i = st->by_name[mid];
        int c = strcmp(name, st->t[i].name);
        if (!c) return i;
        if (c < 0) hi = mid - 1;
        else lo = mid + 1;
    }
    return GL_ENOTFOUND;
}

static const st_tensor *tensor(const gl_st *st, int idx) {
    GL_ASSERT(idx >= 0 && idx < st->count);
    return &st->t[idx];
}

const char *gl_st_name(const gl_st *st, int idx) { return tensor(st, idx)->name; }
gl_st_dtype gl_st_dtype_of(const gl_st *st, int idx) { return tensor(st, idx)->dtype; }
int gl_st_ndim(const gl_st *st, int idx) { return tensor(st, idx)->ndim; }
const int64_t *gl_st_shape(const gl_st *st, int idx) { return tensor(st, idx)->shape; }
int64_t gl_st_numel(const gl_st *st, int idx) { return tensor(st, idx)->numel; }
const void *gl_st_data(const gl_st *st, int idx) { return st->data + tensor(st, idx)->begin; }
int64_t gl_st_nbytes(const gl_st *st, int idx) {
    const st_tensor *t = tensor(st, idx);
    return t->end - t->begin;
}

int gl_st_read_f32(const gl_st *st, int idx, float *dst, int64_t n) {
    if (!st || idx < 0 || idx >= st->count) return GL_EINVAL;
    const st_tensor *t = &st->t[idx];
    if (n != t->numel || (n > 0 && !dst)) return GL_EINVAL;
    const unsigned char *p = st->data + t->begin; /* bounds checked at open */
    if (t->dtype == GL_ST_F32) {
        if (host_is_le()) {
            memcpy(dst, p, (size_t)n * 4);
        } else {
            for (int64_t i = 0; i < n; i++) {
                uint32_t u = (uint32_t)p[4 * i] | (uint32_t)p[4 * i + 1] << 8 |
                             (uint32_t)p[4 * i + 2] << 16 | (uint32_t)p[4 * i + 3] << 24;
                memcpy(&dst[i], &u, 4);
            }
        }
    } else {
        float (*cvt)(uint16_t) = t->dtype == GL_ST_F16 ? gl_f16_to_f32 : gl_bf16_to_f32;
        for (int64_t i = 0; i < n; i++)
            dst[i] = cvt((uint16_t)(p[2 * i] | p[2 * i + 1] << 8));
    }
    return GL_OK;
}

int gl_st_meta_count(const gl_st *st) { return st->mcount; }

const char *gl_st_meta_key(const gl_st *st, int i) {
    GL_ASSERT(i >= 0 && i < st->mcount);
    return st->mkey[i];
}

const char *gl_st_meta_value(const gl_st *st, int i) {
    GL_ASSERT(i >= 0 && i < st->mcount);
    return st->mval[i];
}

const char *gl_st_meta_get(const gl_st *st, const char *key) {
    if (!key) return NULL;
    for (int i = 0; i < st->mcount; i++)
        if (!strcmp(st->mkey[i], key)) return st->mval[i];
    return NULL;
}

/* ---- writing ------------------------------------------------------------------------ */

typedef struct wt_tensor {
    char *name;
    gl_st_dtype dtype;
    int ndim;
    int64_t shape[GL_ST_MAX_DIMS];
    int64_t numel, nbytes;
    const float *data; /* the caller's, kept until write */
} wt_tensor;

struct gl_st_writer {
    wt_tensor *t;
    int count, cap;
    char **mkey, **mval;
    int mcount, mcap;
};

int gl_st_writer_new(gl_st_writer **out) {
    if (!out) return GL_EINVAL;
    *out = calloc(1, sizeof **out);
    return *out ? GL_OK : GL_ENOMEM;
}

void gl_st_writer_free(gl_st_writer **pw) {
    if (!pw || !*pw) return;
    gl_st_writer *w = *pw;
    for (int i = 0; i < w->count; i++) free(w->t[i].name);
    for (int i = 0; i < w->mcount; i++) {
        free(w->mkey[i]);
        free(w->mval[i]);
    }
    free(w->t);
    free(w->mkey);
    free(w->mval);
    free(w);
    *pw = NULL;
}

int gl_st_writer_add(gl_st_writer *w, const char *name, gl_st_dtype dtype, int ndim,
                     const int64_t *shape, const float *data) {
    if (!w || !name || !utf8_valid(name) || !strcmp(name, "__metadata__")) return GL_EINVAL;
    const int esize = gl_st_dtype_size(dtype);
    if (!esize || ndim < 0 || ndim > GL_ST_MAX_DIMS || (ndim > 0 && !shape)) return GL_EINVAL;
    int64_t numel = 1;
    for (int i = 0; i < ndim; i++) {
        /* the reader refuses dimensions past 2^53, so we never write one */
        if (shape[i] < 0 || shape[i] > ST_MAX_INT_I) return GL_EINVAL;
        if (shape[i] != 0 && numel > INT64_MAX / shape[i]) return GL_EINVAL;
        numel *= shape[i];
    }
    if (numel > ST_MAX_INT_I / esize) return GL_EINVAL;
    if (numel > 0 && !data) return GL_EINVAL;
    for (int i = 0; i < w->count; i++)
        if (!strcmp(w->t[i].name, name)) return GL_EEXIST;
    if (w->count == w->cap) {
        int cap = w->cap ? 2 * w->cap : 16;
        wt_tensor *t = realloc(w->t, (size_t)cap * sizeof *t);
        if (!t) return GL_ENOMEM;
        w->t = t;
        w->cap = cap;
    }
    wt_tensor *t = &w->t[w->count];
    memset(t, 0, sizeof *t);
    if (!(t->name = dup_str(name))) return GL_ENOMEM;
    t->dtype = dtype;
    t->ndim = ndim;
    for (int i = 0; i < ndim; i++) t->shape[i] = shape[i];
    t->numel = numel;
    t->nbytes = numel * esize;
    t->data = data;
    w->count++;
    return GL_OK;
}

int gl_st_writer_set_meta(gl_st_writer *w, const char *key, const char *value) {
    if (!w || !key || !value || !utf8_valid(key) || !utf8_valid(value)) return GL_EINVAL;
    char *v = dup_str(value);
    if (!v) return GL_ENOMEM;
    for (int i = 0; i < w->mcount; i++)
        if (!strcmp(w->mkey[i], key)) {
            free(w->mval[i]);
            w->mval[i] = v;
            return GL_OK;
        }
    if (w->mcount == w->mcap) {
        int cap = w->mcap ? 2 * w->mcap : 8;
        char **k = realloc(w->mkey, (size_t)cap * sizeof *k);
        if (k) w->mkey = k;
        char **vv = k ? realloc(w->mval, (size_t)cap * sizeof *vv) : NULL;
        if (vv) w->mval = vv;
        if (!k || !vv) {
            free(v);
            return GL_ENOMEM;
        }
        w->mcap = cap;
    }
    char *k = dup_str(key);
    if (!k) {
        free(v);
        return GL_ENOMEM;
    }
    w->mkey[w->mcount] = k;
    w->mval[w->mcount] = v;
    w->mcount++;
    return GL_OK;
}

static cJSON *raw_int(int64_t v) {
    /* cJSON prints numbers from a double and switches to exponents at 1e15; raw text keeps
     * every integer exact and plain */
    char buf[24];
    snprintf(buf, sizeof buf, "%lld", (long long)v);
    return cJSON_CreateRaw(buf);
}

/* The header JSON, compact; begin[i] is tensor i's data offset. NULL when out of memory. */
static char *build_header(const gl_st_writer *w, const int64_t *begin) {
    cJSON *root = cJSON_CreateObject();
    if (!root) return NULL;
    int ok = 1;
    if (w->mcount) {
        cJSON *m = cJSON_AddObjectToObject(root, "__metadata__");
        ok = m != NULL;
        for (int i = 0; ok && i < w->mcount; i++)
            ok = cJSON_AddStringToObject(m, w->mkey[i], w->mval[i]) != NULL;
    }
    for (int i = 0; ok && i < w->count; i++) {
        const wt_tensor *t = &w->t[i];
        cJSON *e = cJSON_AddObjectToObject(root, t->name);
        cJSON *shape = e && cJSON_AddStringToObject(e, "dtype", gl_st_dtype_name(t->dtype))
                           ? cJSON_AddArrayToObject(e, "shape")
                           : NULL;
        cJSON *offs = shape ? cJSON_AddArrayToObject(e, "data_offsets") : NULL;
        ok = offs != NULL;
        for (int d = 0; ok && d < t->ndim; d++) {
            cJSON *x = raw_int(t->shape[d]);
            ok = x && cJSON_AddItemToArray(shape, x);
        }
        for (int k = 0; ok && k < 2; k++) {
            cJSON *x = raw_int(k ? begin[i] + t->nbytes : begin[i]);
            ok = x && cJSON_AddItemToArray(offs, x);
        }
    }
    char *s = ok ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    return s;
}

/* Converts and writes one tensor's data, in chunks. */
static int write_tensor(FILE *f, const wt_tensor *t) {
    enum { CHUNK = 4096 };
    unsigned char buf[CHUNK * 4];
    const int le = host_is_le();
    for (int64_t i0 = 0; i0 < t->numel; i0 += CHUNK) {
        const int64_t m = t->numel - i0 < CHUNK ? t->numel - i0 : CHUNK;
        const float *src = t->data + i0;
        size_t nb;
        if (t->dtype == GL_ST_F32) {
            nb = (size_t)m * 4;
            if (le) {
                memcpy(buf, src, nb);
            } else {
                for (int64_t i = 0; i < m; i++) {
                    uint32_t u;
                    memcpy(&u, &src[i], 4);
                    for (int b = 0; b < 4; b++) buf[4 * i + b] = (unsigned char)(u >> (8 * b));
                }
            }
        } else {
            nb = (size_t)m * 2;
            uint16_t (*cvt)(float) = t->dtype == GL_ST_F16 ? gl_f32_to_f16 : gl_f32_to_bf16;
            for (int64_t i = 0; i < m; i++) {
                uint16_t h = cvt(src[i]);
                buf[2 * i] = (unsigned char)h;
                buf[2 * i + 1] = (unsigned char)(h >> 8);
            }
        }
        if (fwrite(buf, 1, nb, f) != nb) return -1;
    }
    return 0;
}

/* fsync of the directory holding path, so the rename itself survives a crash. Filesystems
 * that cannot fsync a directory (EINVAL, ENOTSUP) are not an error: nothing more can be
 * done there. Returns 0 or an errno. */
static int sync_dir(const char *path) {
    size_t n = strlen(path);
    char *dir = malloc(n + 2);
    if (!dir) return ENOMEM;
    memcpy(dir, path, n + 1);
    char *slash = strrchr(dir, '/');
    if (!slash) strcpy(dir, ".");
    else if (slash == dir) dir[1] = 0;
    else *slash = 0;
    int err = 0;
    int fd = open(dir, O_RDONLY | O_CLOEXEC);
    if (fd < 0) err = errno;
    else {
        if (fsync(fd) != 0 && errno != EINVAL && errno != ENOTSUP) err = errno;
        close(fd);
    }
    free(dir);
    return err;
}

int gl_st_writer_write(const gl_st_writer *w, const char *path, char *msg, size_t msglen) {
    if (msg && msglen) msg[0] = 0;
    if (!w || !path || !*path) return fail(msg, msglen, GL_EINVAL, path, "NULL or empty path");
    int rc = GL_OK;
    int64_t *begin = NULL;
    char *hdr = NULL, *tmp = NULL;
    FILE *f = NULL;
    int tmp_made = 0;
    struct stat sb;
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        rc = fail(msg, msglen, GL_EIO, path, "cannot write: is a directory");
        goto end;
    }
    /* layout: F32 first, then the 16-bit dtypes, each in the order added, so with the
     * 8-aligned data buffer every tensor sits at a multiple of its element size */
    begin = malloc((w->count ? (size_t)w->count : 1) * sizeof *begin);
    if (!begin) {
        rc = fail(msg, msglen, GL_ENOMEM, path, "out of memory");
        goto end;
    }
    int64_t pos = 0;
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < w->count; i++) {
            if ((w->t[i].dtype == GL_ST_F32) != (pass == 0)) continue;
            if (w->t[i].nbytes > ST_MAX_INT_I - pos) {
                rc = fail(msg, msglen, GL_EINVAL, path, "tensors total over 2^53 bytes");
                goto end;
            }
            begin[i] = pos;
            pos += w->t[i].nbytes;
        }
    if (!(hdr = build_header(w, begin))) {
        rc = fail(msg, msglen, GL_ENOMEM, path, "out of memory building the header");
        goto end;
    }
    const size_t hlen = strlen(hdr), padded = (hlen + 7) & ~(size_t)7;
    if (padded > GL_ST_MAX_HEADER) {
        rc = fail(msg, msglen, GL_EINVAL, path, "header would be %zu bytes, over the limit of %u",
                  padded, GL_ST_MAX_HEADER);
        goto end;
    }
    /* "<path>.tmp.<pid>": same directory, so the rename is atomic */
    size_t tlen = strlen(path) + 32;
    if (!(tmp = malloc(tlen))) {
        rc = fail(msg, msglen, GL_ENOMEM, path, "out of memory");
        goto end;
    }
    snprintf(tmp, tlen, "%s.tmp.%ld", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0 && errno == EEXIST) { /* left by a crashed run that had our pid */
        unlink(tmp);
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    }
    if (fd < 0) {
        rc = fail(msg, msglen, GL_EIO, path, "cannot create %s: %s", tmp, strerror(errno));
        goto end;
    }
    tmp_made = 1;
    if (!(f = fdopen(fd, "wb"))) {
        rc = fail(msg, msglen, GL_EIO, path, "cannot write %s: %s", tmp, strerror(errno));
        close(fd);
        goto end;
    }
    unsigned char len8[8];
    for (int i = 0; i < 8; i++) len8[i] = (unsigned char)((uint64_t)padded >> (8 * i));
    int ok = fwrite(len8, 1, 8, f) == 8 && fwrite(hdr, 1, hlen, f) == hlen;
    for (size_t i = hlen; ok && i < padded; i++) ok = fputc(' ', f) != EOF;
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; ok && i < w->count; i++)
            if ((w->t[i].dtype == GL_ST_F32) == (pass == 0)) ok = write_tensor(f, &w->t[i]) == 0;
    if (!ok || fflush(f) != 0 || fsync(fileno(f)) != 0) {
        rc = fail(msg, msglen, GL_EIO, path, "cannot write %s: %s", tmp, strerror(errno));
        goto end;
    }
    int closed = fclose(f);
    f = NULL;
    if (closed != 0) {
        rc = fail(msg, msglen, GL_EIO, path, "cannot write %s: %s", tmp, strerror(errno));
        goto end;
    }
    if (rename(tmp, path) != 0) {
        rc = fail(msg, msglen, GL_EIO, path, "cannot rename %s to it: %s", tmp, strerror(errno));
        goto end;
    }
    tmp_made = 0;
    int err = sync_dir(path);
    if (err) /* the file is complete and in place; only its durability is in doubt */
        rc = fail(msg, msglen, GL_EIO, path, "written, but fsync of its directory failed: %s",
                  strerror(err));
end:
    if (f) fclose(f);
    if (tmp_made) unlink(tmp);
    free(tmp);
    free(hdr);
    free(begin);
    return rc;
}

/* ---- parameter stores --------------------------------------------------------------- */

int gl_st_save_params(const gl_params *p, const char *path, gl_st_dtype dtype,
                      const char *const *meta, char *msg, size_t msglen) {
    if (msg && msglen) msg[0] = 0;
    if (!p || !path) return fail(msg, msglen, GL_EINVAL, path, "NULL argument");
    /* gl_params_data only reads p; it takes a non-const pointer for callers that write */
    if (!gl_params_data((gl_params *)p))
        return fail(msg, msglen, GL_ESTATE, path, "parameters are not allocated");
    gl_st_writer *w = NULL;
    int rc = gl_st_writer_new(&w);
    if (rc) return fail(msg, msglen, rc, path, "out of memory");
    for (int i = 0; i < gl_params_count(p); i++) {
        gl_tensor t = gl_params_tensor(p, i);
        rc = gl_st_writer_add(w, gl_params_name(p, i), dtype, t.ndim, t.shape, t.data);
        if (rc) {
            rc = fail(msg, msglen, rc, path, "cannot store tensor '%s': %s",
                      show(gl_params_name(p, i)).s, gl_strerror(rc));
            goto end;
        }
    }
    for (size_t i = 0; meta && meta[i]; i += 2) {
        if (!meta[i + 1]) {
            rc = fail(msg, msglen, GL_EINVAL, path, "metadata key '%s' has no value",
                      show(meta[i]).s);
            goto end;
        }
        if ((rc = gl_st_writer_set_meta(w, meta[i], meta[i + 1]))) {
            rc = fail(msg, msglen, rc, path, "metadata '%s': %s", show(meta[i]).s,
                      gl_strerror(rc));
            goto end;
        }
    }
    rc = gl_st_writer_write(w, path, msg, msglen);
end:
    gl_st_writer_free(&w);
    return rc;
}

int gl_st_load_params(gl_params *p, const char *path, int strict, char *msg, size_t msglen) {
    return gl_st_load_params_prefixed(p, path, "", strict, msg, msglen);
}

int gl_st_load_params_prefixed(gl_params *p, const char *path, const char *prefix, int strict, char *msg,
                               size_t msglen) {
    if (msg && msglen) msg[0] = 0;
    if (!p || !path || !prefix) return fail(msg, msglen, GL_EINVAL, path, "NULL argument");
    if (!gl_params_data(p))
        return fail(msg, msglen, GL_ESTATE, path, "parameters are not allocated");
    gl_st *st = NULL;
    int rc = gl_st_open(&st, path, msg, msglen);
    if (rc) return rc;
    const int np = gl_params_count(p);
    int loaded = 0;
    char name[512]; /* a parameter name is at most 255 bytes; the prefix is ours */
    /* check everything first, so a bad file leaves p untouched */
    for (int i = 0; i < np; i++) {
        if ((size_t)snprintf(name, sizeof name, "%s%s", prefix, gl_params_name(p, i)) >= sizeof name) {
            rc = fail(msg, msglen, GL_EINVAL, path, "name '%s%s' too long", prefix, gl_params_name(p, i));
            goto end;
        }
        int j = gl_st_find(st, name);
        if (j < 0) {
            if (strict) {
                rc = fail(msg, msglen, GL_ENOTFOUND, path, "tensor '%s' is missing",
                          show(name).s);
                goto end;
            }
            continue;
        }
        gl_tensor t = gl_params_tensor(p, i);
        int same = gl_st_ndim(st, j) == t.ndim;
        for (int d = 0; same && d < t.ndim; d++) same = gl_st_shape(st, j)[d] == t.shape[d];
        if (!same) {
            rc = fail(msg, msglen, GL_EFORMAT, path, "tensor '%s' is %s, expected %s",
                      show(name).s, fmt_shape(gl_st_ndim(st, j), gl_st_shape(st, j)).s,
                      fmt_shape(t.ndim, t.shape).s);
            goto end;
        }
    }
    for (int i = 0; i < np; i++) {
        snprintf(name, sizeof name, "%s%s", prefix, gl_params_name(p, i));
        int j = gl_st_find(st, name);
        if (j < 0) continue;
        gl_tensor t = gl_params_tensor(p, i);
        rc = gl_st_read_f32(st, j, t.data, gl_st_numel(st, j));
        GL_ASSERT(rc == GL_OK); /* shapes were matched above */
        loaded++;
    }
    rc = loaded;
end:
    gl_st_free(&st);
    return rc;
}
