/* tests/test_safetensors.c: the safetensors reader against crafted bad files (each refused
 * with GL_EFORMAT/GL_EIO and a message naming the file and the problem), truncation and
 * byte-flip fuzzing (never a crash: run under ASan/UBSan), writer round trips, the
 * parameter store, a writer that fails midway, and an independent Python reader/writer
 * (tests/st_reader.py) on files from both sides. */
#define _POSIX_C_SOURCE 200809L /* mkstemp, mkdtemp, popen, setrlimit */
#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "gridlora/half.h"
#include "gridlora/safetensors.h"
#include "testutil.h"

#ifndef GL_ST_READER_PY
#error "GL_ST_READER_PY (path of tests/st_reader.py) is set by tests/test_safetensors.cmake"
#endif
#ifndef GL_PYTHON
#define GL_PYTHON "/usr/bin/python3"
#endif

/* ---- helpers ------------------------------------------------------------------------ */

typedef struct tmpf {
    char path[64];
} tmpf;

static tmpf tmp_file(void) {
    tmpf t;
    strcpy(t.path, "/tmp/gl_st_test_XXXXXX");
    int fd = mkstemp(t.path);
    assert_true(fd >= 0);
    close(fd);
    return t;
}

static void put_bytes(const char *path, const void *p, size_t n) {
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

static unsigned char *get_bytes(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *p = malloc((size_t)len + 1);
    assert_non_null(p);
    assert_int_equal(fread(p, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    *n = (size_t)len;
    return p;
}

/* 8-byte length (hlen, or strlen(header) when hlen is -1), header, data */
static void craft_raw(const char *path, int64_t hlen, const char *header, size_t header_bytes,
                      const void *data, size_t ndata) {
    size_t n = 8 + header_bytes + ndata;
    unsigned char *buf = malloc(n);
    assert_non_null(buf);
    uint64_t h = hlen < 0 ? header_bytes : (uint64_t)hlen;
    for (int i = 0; i < 8; i++) buf[i] = (unsigned char)(h >> (8 * i));
    memcpy(buf + 8, header, header_bytes);
    if (ndata) memcpy(buf + 8 + header_bytes, data, ndata);
    put_bytes(path, buf, n);
    free(buf);
}

static void craft(const char *path, const char *header, const void *data, size_t ndata) {
    craft_raw(path, -1, header, strlen(header), data, ndata);
}

static const unsigned char zeros[256];

/* The file must be refused with `code`, *out left NULL, and a message that names the file
 * and contains `needle`. */
static void expect_open_fails(const char *path, int code, const char *needle) {
    gl_st *st = (gl_st *)(uintptr_t)1; /* must come back NULL */
    char msg[512] = "";
    int rc = gl_st_open(&st, path, msg, sizeof msg);
    if (rc != code || !strstr(msg, needle) || strncmp(msg, path, strlen(path)) != 0 ||
        strchr(msg, '\n'))
        fail_msg("open: rc %d (want %d), msg '%s' (want '%s: ...%s...')", rc, code, msg, path,
                 needle);
    assert_null(st);
}

/* header + ndata zero bytes of data: refused with GL_EFORMAT and `needle` */
static void reject(const char *header, size_t ndata, const char *needle) {
    tmpf t = tmp_file();
    craft(t.path, header, zeros, ndata);
    expect_open_fails(t.path, GL_EFORMAT, needle);
    unlink(t.path);
}

static gl_st *open_ok(const char *path) {
    gl_st *st = NULL;
    char msg[512] = "";
    int rc = gl_st_open(&st, path, msg, sizeof msg);
    if (rc != GL_OK) fail_msg("open %s: rc %d: %s", path, rc, msg);
    assert_non_null(st);
    return st;
}

/* accepted: a header and data, then checked by the caller */
static gl_st *accept(const char *header, const void *data, size_t ndata, tmpf *t) {
    *t = tmp_file();
    craft(t->path, header, data, ndata);
    return open_ok(t->path);
}

static uint32_t fbits(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

#define ONE_F32(offs) "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":" offs "}}"

/* ---- rejections --------------------------------------------------------------------- */

static void reject_short_files(void **s) {
    (void)s;
    tmpf t = tmp_file();
    expect_open_fails(t.path, GL_EFORMAT, "0 bytes, too short for the 8-byte header length");
    put_bytes(t.path, "\x02\0\0\0\0\0\0", 7);
    expect_open_fails(t.path, GL_EFORMAT, "7 bytes, too short");
    unlink(t.path);
    expect_open_fails(t.path, GL_EIO, "cannot open: No such file or directory");
    expect_open_fails("/tmp", GL_EIO, "is a directory");
    char msg[64];
    gl_st *st = NULL;
    assert_int_equal(gl_st_open(&st, NULL, msg, sizeof msg), GL_EINVAL);
    assert_int_equal(gl_st_open(NULL, t.path, NULL, 0), GL_EINVAL);
}

static void reject_header_length(void **s) {
    (void)s;
    tmpf t = tmp_file();
    craft_raw(t.path, 0, "", 0, NULL, 0);
    expect_open_fails(t.path, GL_EFORMAT, "header length is 0");
    craft_raw(t.path, 100, "{}", 2, NULL, 0);
    expect_open_fails(t.path, GL_EFORMAT, "header length 100 runs past the end of the file (10 bytes)");
    craft_raw(t.path, 100000001, "{}", 2, NULL, 0);
    expect_open_fails(t.path, GL_EFORMAT, "header length 100000001 is over the limit of 100000000");
    craft_raw(t.path, INT64_MAX, "{}", 2, NULL, 0);
    expect_open_fails(t.path, GL_EFORMAT, "is over the limit");
    unsigned char all_ff[16];
    memset(all_ff, 0xff, sizeof all_ff); /* 2^64 - 1: no signed/unsigned confusion */
    put_bytes(t.path, all_ff, sizeof all_ff);
    expect_open_fails(t.path, GL_EFORMAT, "header length 18446744073709551615 is over the limit");
    unlink(t.path);
}

static void reject_bad_json(void **s) {
    (void)s;
    reject("{\"a\":", 0, "header is not valid JSON");
    reject("{\"a\" 1}", 0, "header is not valid JSON");
    reject("{\"a\":{\"dtype\":\"F32\",}}", 0, "header is not valid JSON");
    reject("{\"a\":tru}", 0, "header is not valid JSON");
    reject("{\"\\ud800\":1}", 0, "header is not valid JSON"); /* lone surrogate */
    reject("{} x", 0, "bytes other than whitespace after its JSON");
    reject("{}}", 0, "bytes other than whitespace after its JSON");
    tmpf t = tmp_file(); /* NUL padding is not whitespace */
    craft_raw(t.path, -1, "{}\0\0\0\0\0\0", 8, NULL, 0);
    expect_open_fails(t.path, GL_EFORMAT, "bytes other than whitespace after its JSON (byte 2)");
    unlink(t.path);
    /* not an object */
    reject("[]", 0, "header is not a JSON object");
    reject("\"x\"", 0, "header is not a JSON object");
    reject("17", 0, "header is not a JSON object");
    reject(" {}", 0, "header is not a JSON object"); /* as the reference: '{' first */
    reject("\xef\xbb\xbf{}", 0, "header is not a JSON object"); /* no BOM either */
    /* strings cJSON would take but a C string or a terminal should not */
    reject("{\"a\\u0000b\":{}}", 0, "\\u0000 in a string at byte 3");
    reject("{\"a\x01\":{}}", 0, "raw control character 0x01 in a string");
    reject("{\"\xc3\x28\":{}}", 0, "not valid UTF-8 (byte 2)");
    reject("{\"\xed\xa0\x80\":{}}", 0, "not valid UTF-8");     /* encoded surrogate */
    reject("{\"\xc0\xaf\":{}}", 0, "not valid UTF-8");         /* overlong '/' */
    reject("{\"\xf4\x90\x80\x80\":{}}", 0, "not valid UTF-8"); /* past U+10FFFF */
    reject("{\"\xe2\x82\":{}}", 0, "not valid UTF-8");         /* cut short */
}

static void reject_deep_nesting(void **s) {
    (void)s;
    reject("{\"a\":[[[[[[[[1]]]]]]]]}", 0, "nests deeper than 8 levels");
    /* far past cJSON's own limit of 1000: refused before cJSON recurses */
    enum { DEEP = 100000 };
    char *h = malloc(2 * DEEP + 8);
    assert_non_null(h);
    size_t k = 0;
    h[k++] = '{';
    h[k++] = '"';
    h[k++] = 'a';
    h[k++] = '"';
    h[k++] = ':';
    for (int i = 0; i < DEEP; i++) h[k++] = '[';
    h[k] = 0;
    reject(h, 0, "nests deeper than 8 levels (byte 12)");
    free(h);
    /* brackets inside strings are not nesting */
    tmpf t;
    gl_st *st = accept("{\"__metadata__\":{\"[[[[[[[[[[\":\"{{{{{{{{{{{{{\"}}", NULL, 0, &t);
    assert_string_equal(gl_st_meta_get(st, "[[[[[[[[[["), "{{{{{{{{{{{{{");
    gl_st_free(&st);
    unlink(t.path);
}

static void reject_bad_entries(void **s) {
    (void)s;
    reject("{\"a\":1}", 0, "tensor 'a': entry is not an object");
    reject("{\"a\":\"F32\"}", 0, "tensor 'a': entry is not an object");
    reject("{\"a\":[1]}", 0, "tensor 'a': entry is not an object");
    reject("{\"a\":null}", 0, "tensor 'a': entry is not an object");
    reject("{\"a\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4],\"extra\":1}}", 4,
           "tensor 'a': unknown field 'extra'");
    reject("{\"a\":{\"dtype\":\"F32\",\"dtype\":\"F16\",\"shape\":[],\"data_offsets\":[0,4]}}", 4,
           "tensor 'a': field 'dtype' appears twice");
    /* dtype */
    reject("{\"a\":{\"shape\":[],\"data_offsets\":[0,4]}}", 4, "tensor 'a': missing dtype");
    reject("{\"a\":{\"dtype\":4,\"shape\":[],\"data_offsets\":[0,4]}}", 4,
           "tensor 'a': dtype is not a string");
    reject("{\"a\":{\"dtype\":null,\"shape\":[],\"data_offsets\":[0,4]}}", 4,
           "tensor 'a': dtype is not a string");
    reject("{\"a\":{\"dtype\":\"I8\",\"shape\":[4],\"data_offsets\":[0,4]}}", 4,
           "tensor 'a': unknown dtype 'I8' (supported: F32, F16, BF16)");
    reject("{\"a\":{\"dtype\":\"f32\",\"shape\":[],\"data_offsets\":[0,4]}}", 4,
           "unknown dtype 'f32'");
    reject("{\"a\":{\"dtype\":\"F64\",\"shape\":[],\"data_offsets\":[0,8]}}", 8,
           "unknown dtype 'F64'");
}

static void reject_bad_shapes(void **s) {
    (void)s;
#define E(shape, offs) "{\"w\":{\"dtype\":\"F32\",\"shape\":" shape ",\"data_offsets\":" offs "}}"
    reject("{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4, "tensor 'w': missing shape");
    reject(E("3", "[0,12]"), 12, "tensor 'w': shape is not an array");
    reject(E("{}", "[0,4]"), 4, "tensor 'w': shape is not an array");
    reject(E("[2,-1]", "[0,4]"), 4, "tensor 'w': shape dimension 1 is negative");
    reject(E("[1.5]", "[0,4]"), 4, "tensor 'w': shape dimension 0 is not an integer");
    reject(E("[\"2\"]", "[0,8]"), 8, "tensor 'w': shape dimension 0 is not a number");
    reject(E("[[2]]", "[0,8]"), 8, "tensor 'w': shape dimension 0 is not a number");
    reject(E("[true]", "[0,4]"), 4, "shape dimension 0 is not a number");
    reject(E("[1,1,1,1,1,1,1,1,1]", "[0,4]"), 4, "tensor 'w': shape has 9 dimensions, more than 8");
    reject(E("[18014398509481984]", "[0,4]"), 4, "shape dimension 0 is too large"); /* 2^54 */
    reject(E("[1e300]", "[0,4]"), 4, "shape dimension 0 is too large");
    /* element count and byte size */
    reject(E("[4294967296,4294967296]", "[0,4]"), 4,
           "tensor 'w': shape [4294967296,4294967296]: element count overflows int64");
    reject(E("[2147483648,2147483648,2]", "[0,4]"), 4, "element count overflows int64"); /* x4 bytes */
    reject(E("[9007199254740992,9007199254740992,0]", "[0,0]"), 0, "overflows int64");
    reject(E("[2,3]", "[0,20]"), 20,
           "tensor 'w': data_offsets [0,20] span 20 bytes but F32 [2,3] needs 24");
    reject("{\"h\":{\"dtype\":\"BF16\",\"shape\":[3],\"data_offsets\":[0,12]}}", 12,
           "span 12 bytes but BF16 [3] needs 6");
    /* numbers must be spelled as plain unsigned integers, like the reference's serde */
    reject(E("[2.0]", "[0,8]"), 8, "header number '2.0' (byte 29) is not written as a plain unsigned integer");
    reject(E("[1e1]", "[0,40]"), 40, "number '1e1'");
    reject(E("[-0]", "[0,0]"), 0, "number '-0'");
    reject(E("[02]", "[0,8]"), 8, "number '02'");
#undef E
}

static void reject_bad_offsets(void **s) {
    (void)s;
    reject("{\"a\":{\"dtype\":\"F32\",\"shape\":[2]}}", 8, "tensor 'a': missing data_offsets");
    reject(ONE_F32("8"), 8, "tensor 'a': data_offsets is not an array of two integers");
    reject(ONE_F32("[8]"), 8, "data_offsets is not an array of two integers");
    reject(ONE_F32("[0,4,8]"), 8, "data_offsets is not an array of two integers");
    reject(ONE_F32("{\"a\":0,\"b\":8}"), 8, "data_offsets is not an array of two integers");
    reject(ONE_F32("[0,8.5]"), 8, "tensor 'a': a data_offsets value is not an integer");
    reject(ONE_F32("[-8,0]"), 8, "a data_offsets value is negative");
    reject(ONE_F32("[\"0\",8]"), 8, "a data_offsets value is not a number");
    reject(ONE_F32("[0,18014398509481984]"), 8, "a data_offsets value is too large");
    reject(ONE_F32("[8,0]"), 8, "tensor 'a': data_offsets [8,0] are reversed");
    reject(ONE_F32("[0,8]"), 4,
           "tensor 'a': data_offsets [0,8] run past the end of the data (4 bytes): file truncated?");
    reject(ONE_F32("[4,12]"), 8, "run past the end of the data (8 bytes)");
}

static void reject_overlaps_and_holes(void **s) {
    (void)s;
#define T(n, b, e) "\"" n "\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[" #b "," #e "]}"
    reject("{" T("a", 0, 8) "," T("b", 4, 12) "}", 12,
           "tensor 'b' at [4,12] overlaps tensor 'a' at [0,8]");
    reject("{" T("a", 0, 8) "," T("b", 0, 8) "}", 8, "overlaps");
    reject("{" T("a", 0, 8) "," T("b", 12, 20) "}", 20,
           "bytes [8,12) of the data buffer belong to no tensor (a hole before tensor 'b')");
    reject("{" T("b", 4, 12) "}", 12, "bytes [0,4) of the data buffer belong to no tensor");
    reject("{" T("a", 0, 8) "}", 9, "bytes [8,9) at the end of the data buffer belong to no tensor");
    reject("{}", 3, "bytes [0,3) at the end of the data buffer belong to no tensor");
    /* a zero-size tensor inside another one is an overlap too */
    reject("{" T("a", 0, 8) ",\"z\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,4]}}", 8,
           "tensor 'z' at [4,4] overlaps tensor 'a' at [0,8]");
    /* names: cJSON keeps duplicates */
    reject("{" T("a", 0, 8) "," T("a", 8, 16) "}", 16, "tensor 'a' appears twice");
    reject("{" T("x", 0, 8) "," T("a", 8, 16) "," T("y", 16, 24) "," T("a", 24, 32) "}", 32,
           "tensor 'a' appears twice");
#undef T
}

static void reject_bad_metadata(void **s) {
    (void)s;
    reject("{\"__metadata__\":\"x\"}", 0, "__metadata__ is not an object");
    reject("{\"__metadata__\":[\"a\",\"b\"]}", 0, "__metadata__ is not an object");
    reject("{\"__metadata__\":null}", 0, "__metadata__ is not an object");
    reject("{\"__metadata__\":{\"k\":1}}", 0, "__metadata__ value of 'k' is not a string");
    reject("{\"__metadata__\":{\"k\":null}}", 0, "__metadata__ value of 'k' is not a string");
    reject("{\"__metadata__\":{\"a\":\"1\",\"k\":{\"x\":\"y\"}}}", 0, "value of 'k' is not a string");
    reject("{\"__metadata__\":{\"k\":\"1\",\"k\":\"2\"}}", 0, "__metadata__ key 'k' appears twice");
    reject("{\"__metadata__\":{},\"__metadata__\":{}}", 0, "__metadata__ appears twice");
}

/* Hostile names stay one printable line in the message. */
static void reject_messages_are_one_line(void **s) {
    (void)s;
    char h[600];
    snprintf(h, sizeof h, "{\"bad\\nname\\u001b[31m%0300d\":1}", 0);
    tmpf t = tmp_file();
    craft(t.path, h, NULL, 0);
    gl_st *st = NULL;
    char msg[512] = "";
    assert_int_equal(gl_st_open(&st, t.path, msg, sizeof msg), GL_EFORMAT);
    assert_non_null(strstr(msg, "tensor 'bad?name?[31m000"));
    assert_non_null(strstr(msg, "...': entry is not an object"));
    for (const char *p = msg; *p; p++) assert_true((unsigned char)*p >= 0x20);
    /* a tiny or absent msg buffer is fine */
    char tiny[5];
    assert_int_equal(gl_st_open(&st, t.path, tiny, sizeof tiny), GL_EFORMAT);
    assert_int_equal(strlen(tiny), 4);
    assert_int_equal(gl_st_open(&st, t.path, NULL, 0), GL_EFORMAT);
    unlink(t.path);
}

/* ---- a good file, then every truncation and many corruptions of it ------------------- */

static void write_sample(const char *path) {
    static const float a[6] = {1, 2, 3, 4, 5, 6}, b[3] = {-1, 0.5f, 7}, c = 3;
    gl_st_writer *w = NULL;
    char msg[256];
    assert_int_equal(gl_st_writer_new(&w), GL_OK);
    assert_int_equal(gl_st_writer_add(w, "a", GL_ST_F32, 2, (int64_t[]){2, 3}, a), GL_OK);
    assert_int_equal(gl_st_writer_add(w, "b", GL_ST_F16, 1, (int64_t[]){3}, b), GL_OK);
    assert_int_equal(gl_st_writer_add(w, "c", GL_ST_BF16, 0, NULL, &c), GL_OK);
    assert_int_equal(gl_st_writer_set_meta(w, "k", "v"), GL_OK);
    if (gl_st_writer_write(w, path, msg, sizeof msg)) fail_msg("%s", msg);
    gl_st_writer_free(&w);
}

static void reject_every_truncation(void **s) {
    (void)s;
    tmpf t = tmp_file(), u = tmp_file();
    write_sample(t.path);
    size_t n;
    unsigned char *full = get_bytes(t.path, &n);
    for (size_t len = 0; len < n; len++) {
        put_bytes(u.path, full, len);
        gl_st *st = NULL;
        char msg[512];
        int rc = gl_st_open(&st, u.path, msg, sizeof msg);
        if (rc != GL_EFORMAT) fail_msg("truncated to %zu of %zu bytes: rc %d", len, n, rc);
        assert_null(st);
        /* the message tells the cut from the cause */
        if (len >= 8 && len < 8 + 96) assert_non_null(strstr(msg, "truncated?"));
    }
    /* trailing bytes are a hole at the end */
    unsigned char *longer = malloc(n + 1);
    assert_non_null(longer);
    memcpy(longer, full, n);
    longer[n] = 0;
    put_bytes(u.path, longer, n + 1);
    expect_open_fails(u.path, GL_EFORMAT, "at the end of the data buffer belong to no tensor");
    free(longer);
    free(full);
    unlink(t.path);
    unlink(u.path);
}

/* Every byte of a good file set to values that matter to a parser: the result is either
 * a clean refusal or a file that opens and reads (a flip inside the data, a name or a
 * value); never a crash or an out-of-bounds read (ASan watches). */
static void fuzz_never_crashes(void **s) {
    (void)s;
    tmpf t = tmp_file(), u = tmp_file();
    write_sample(t.path);
    size_t n;
    unsigned char *full = get_bytes(t.path, &n);
    static const unsigned char vals[] = {0x00, 0xff, '"', '{', '}', '[', ']', ',', ':', '9',
                                         '-', '.', '\\', ' ', 0x80, 'e', 0x01};
    put_bytes(u.path, full, n);
    int fd = open(u.path, O_WRONLY); /* one byte changed and restored in place: fast */
    assert_true(fd >= 0);
    int accepted = 0, refused = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t v = 0; v < sizeof vals; v++) {
            if (full[i] == vals[v]) continue;
            assert_int_equal(pwrite(fd, &vals[v], 1, (off_t)i), 1);
            gl_st *st = NULL;
            char msg[512];
            int rc = gl_st_open(&st, u.path, msg, sizeof msg);
            if (rc == GL_OK) {
                accepted++;
                for (int k = 0; k < gl_st_count(st); k++) {
                    float buf[16];
                    assert_true(gl_st_numel(st, k) <= 16);
                    assert_int_equal(gl_st_read_f32(st, k, buf, gl_st_numel(st, k)), GL_OK);
                }
                gl_st_free(&st);
            } else {
                assert_int_equal(rc, GL_EFORMAT);
                assert_null(st);
                refused++;
            }
            assert_int_equal(pwrite(fd, &full[i], 1, (off_t)i), 1);
        }
    close(fd);
    assert_true(refused > 0 && accepted > 0);
    free(full);
    unlink(t.path);
    unlink(u.path);
}

/* ---- what must be accepted ---------------------------------------------------------- */

static void accept_edge_cases(void **s) {
    (void)s;
    tmpf t;
    /* no tensors, no data */
    gl_st *st = accept("{}", NULL, 0, &t);
    assert_int_equal(gl_st_count(st), 0);
    assert_int_equal(gl_st_meta_count(st), 0);
    assert_int_equal(gl_st_find(st, "a"), GL_ENOTFOUND);
    assert_null(gl_st_meta_get(st, "a"));
    assert_string_equal(gl_st_path(st), t.path);
    gl_st_free(&st);
    assert_null(st);
    gl_st_free(&st);
    gl_st_free(NULL);
    unlink(t.path);
    /* zero-element tensors (also at the very end, and sharing an offset), a 0-dim scalar,
     * header order different from data order, whitespace, an unaligned data buffer (odd
     * header length), F16/BF16 decoded from known bytes */
    const char *h = "{ \"z\" : {\"dtype\":\"F16\",\"shape\":[0,3],\"data_offsets\":[4,4]},\n"
                    "\"h\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[4,8]},"
                    "\"s\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]},"
                    "\"e\":{\"dtype\":\"BF16\",\"shape\":[5,0],\"data_offsets\":[10,10]},"
                    "\"b\":{\"dtype\":\"BF16\",\"shape\":[1],\"data_offsets\":[8,10]} }   \t\r\n";
    assert_int_equal(strlen(h) % 2, 1); /* the F32 scalar sits at an odd address */
    const unsigned char data[10] = {0x00, 0x00, 0x28, 0x42, /* 42.0f */
                                    0x00, 0x3c, 0x01, 0x80, /* f16 1.0, -2^-24 */
                                    0x49, 0x40};            /* bf16 3.140625 */
    st = accept(h, data, sizeof data, &t);
    assert_int_equal(gl_st_count(st), 5);
    const char *names[] = {"z", "h", "s", "e", "b"};
    for (int i = 0; i < 5; i++) {
        assert_string_equal(gl_st_name(st, i), names[i]);
        assert_int_equal(gl_st_find(st, names[i]), i);
    }
    assert_int_equal(gl_st_find(st, "q"), GL_ENOTFOUND);
    assert_int_equal(gl_st_find(st, NULL), GL_ENOTFOUND);
    assert_int_equal(gl_st_dtype_of(st, 0), GL_ST_F16);
    assert_int_equal(gl_st_ndim(st, 0), 2);
    assert_int_equal(gl_st_shape(st, 0)[1], 3);
    assert_int_equal(gl_st_numel(st, 0), 0);
    assert_int_equal(gl_st_ndim(st, 2), 0);
    assert_int_equal(gl_st_numel(st, 2), 1);
    assert_int_equal(gl_st_nbytes(st, 1), 4);
    assert_memory_equal(gl_st_data(st, 4), data + 8, 2);
    float v[2] = {0};
    assert_int_equal(gl_st_read_f32(st, 2, v, 1), GL_OK);
    assert_true(v[0] == 42.0f);
    assert_int_equal(gl_st_read_f32(st, 1, v, 2), GL_OK);
    assert_true(v[0] == 1.0f && v[1] == -0x1p-24f);
    assert_int_equal(gl_st_read_f32(st, 4, v, 1), GL_OK);
    assert_true(v[0] == 3.140625f);
    assert_int_equal(gl_st_read_f32(st, 0, NULL, 0), GL_OK);
    assert_int_equal(gl_st_read_f32(st, 3, v, 0), GL_OK);
    /* the count guard and bad indices */
    assert_int_equal(gl_st_read_f32(st, 1, v, 1), GL_EINVAL);
    assert_int_equal(gl_st_read_f32(st, 1, NULL, 2), GL_EINVAL);
    assert_int_equal(gl_st_read_f32(st, 5, v, 1), GL_EINVAL);
    assert_int_equal(gl_st_read_f32(st, -1, v, 1), GL_EINVAL);
    gl_st_free(&st);
    unlink(t.path);
    /* metadata only; unicode and escapes in names and values */
    st = accept("{\"__metadata__\":{\"caf\\u00e9\":\"\\\"x\\\"\\n\xe2\x82\xac\",\"\":\"\"}}", NULL, 0, &t);
    assert_int_equal(gl_st_count(st), 0);
    assert_int_equal(gl_st_meta_count(st), 2);
    assert_string_equal(gl_st_meta_key(st, 0), "caf\xc3\xa9");
    assert_string_equal(gl_st_meta_value(st, 0), "\"x\"\n\xe2\x82\xac");
    assert_string_equal(gl_st_meta_get(st, ""), "");
    gl_st_free(&st);
    unlink(t.path);
}

/* ---- writer round trips ----------------------------------------------------------- */

static void roundtrip_f32_exact(void **s) {
    (void)s;
    tu_rng r;
    tu_seed(&r, 3);
    float a[2 * 3 * 4], special[8] = {0.0f, -0.0f, INFINITY, -INFINITY, NAN, 0x1p-149f,
                                      3.4028235e38f, -1.1754942e-38f};
    tu_fill(&r, a, 24, 10.0);
    float one = 7.25f, deep[2 * 1 * 2 * 1 * 1 * 2 * 1 * 2];
    tu_fill(&r, deep, 16, 1.0);
    gl_st_writer *w = NULL;
    assert_int_equal(gl_st_writer_new(&w), GL_OK);
    assert_int_equal(gl_st_writer_add(w, "blk.0.w", GL_ST_F32, 3, (int64_t[]){2, 3, 4}, a), GL_OK);
    assert_int_equal(gl_st_writer_add(w, "special", GL_ST_F32, 1, (int64_t[]){8}, special), GL_OK);
    assert_int_equal(gl_st_writer_add(w, "scalar", GL_ST_F32, 0, NULL, &one), GL_OK);
    assert_int_equal(gl_st_writer_add(w, "empty", GL_ST_F32, 2, (int64_t[]){0, 4}, NULL), GL_OK);
    assert_int_equal(gl_st_writer_add(w, "deep8", GL_ST_F32, 8, (int64_t[]){2, 1, 2, 1, 1, 2, 1, 2},
                                      deep), GL_OK);
    tmpf t = tmp_file();
    char msg[256];
    assert_int_equal(gl_st_writer_write(w, t.path, msg, sizeof msg), GL_OK);
    assert_string_equal(msg, "");
    gl_st_writer_free(&w);
    assert_null(w);
    gl_st_writer_free(&w);
    /* the layout we promise: N a multiple of 8, compact header, space padding */
    size_t n;
    unsigned char *raw = get_bytes(t.path, &n);
    uint64_t hl = 0;
    for (int i = 7; i >= 0; i--) hl = (hl << 8) | raw[i];
    assert_int_equal(hl % 8, 0);
    assert_int_equal(n, 8 + hl + 4 * (24 + 8 + 1 + 0 + 16));
    const char *first = "{\"blk.0.w\":{\"dtype\":\"F32\",\"shape\":[2,3,4],\"data_offsets\":[0,96]},";
    assert_memory_equal(raw + 8, first, strlen(first));
    size_t end = 8 + hl;
    while (raw[end - 1] == ' ') end--;
    assert_int_equal(raw[end - 1], '}');
    assert_true(8 + hl - end < 8);
    free(raw);
    /* values, shapes, order */
    gl_st *st = open_ok(t.path);
    assert_int_equal(gl_st_count(st), 5);
    assert_string_equal(gl_st_name(st, 4), "deep8");
    assert_int_equal(gl_st_ndim(st, 4), 8);
    assert_int_equal(gl_st_shape(st, 4)[7], 2);
    float back[24];
    assert_int_equal(gl_st_read_f32(st, 0, back, 24), GL_OK);
    assert_memory_equal(back, a, sizeof a);
    assert_int_equal(gl_st_read_f32(st, 1, back, 8), GL_OK);
    for (int i = 0; i < 8; i++) assert_int_equal(fbits(back[i]), fbits(special[i]));
    assert_int_equal(gl_st_read_f32(st, 2, back, 1), GL_OK);
    assert_true(back[0] == 7.25f);
    assert_int_equal(gl_st_numel(st, 3), 0);
    assert_int_equal(gl_st_read_f32(st, 4, back, 16), GL_OK);
    assert_memory_equal(back, deep, sizeof deep);
    gl_st_free(&st);
    unlink(t.path);
}

static void roundtrip_f16_bf16_rounded(void **s) {
    (void)s;
    enum { N = 4096 };
    float *x = tu_falloc(N), *exact = tu_falloc(N), *back = tu_falloc(N);
    tu_rng r;
    tu_seed(&r, 5);
    tu_fill(&r, x, N, 3.0);
    /* 8-bit integers times powers of two in [2^-8, 2^7]: exact in F16 and in BF16 */
    for (int i = 0; i < N; i++) exact[i] = ldexpf((float)(i % 256 - 128), i / 256 - 8);
    gl_st_writer *w = NULL;
    assert_int_equal(gl_st_writer_new(&w), GL_OK);
    assert_int_equal(gl_st_writer_add(w, "x16", GL_ST_F16, 2, (int64_t[]){64, 64}, x), GL_OK);
    assert_int_equal(gl_st_writer_add(w, "xb16", GL_ST_BF16, 2, (int64_t[]){64, 64}, x), GL_OK);
    assert_int_equal(gl_st_writer_add(w, "e16", GL_ST_F16, 1, (int64_t[]){N}, exact), GL_OK);
    assert_int_equal(gl_st_writer_add(w, "eb16", GL_ST_BF16, 1, (int64_t[]){N}, exact), GL_OK);
    /* an odd count of 16-bit values before an F32: the F32 still lands 4-aligned */
    assert_int_equal(gl_st_writer_add(w, "odd", GL_ST_F16, 1, (int64_t[]){3}, x), GL_OK);
    assert_int_equal(gl_st_writer_add(w, "f", GL_ST_F32, 1, (int64_t[]){5}, x), GL_OK);
    tmpf t = tmp_file();
    char msg[256];
    assert_int_equal(gl_st_writer_write(w, t.path, msg, sizeof msg), GL_OK);
    gl_st_writer_free(&w);
    gl_st *st = open_ok(t.path);
    assert_int_equal(gl_st_dtype_of(st, 0), GL_ST_F16);
    assert_int_equal(gl_st_dtype_of(st, 1), GL_ST_BF16);
    assert_int_equal(gl_st_read_f32(st, 0, back, N), GL_OK);
    for (int i = 0; i < N; i++) {
        assert_true(back[i] == gl_f16_to_f32(gl_f32_to_f16(x[i])));
        assert_true(fabsf(back[i] - x[i]) <= fabsf(x[i]) * 0x1p-11f + 0x1p-25f); /* half ulp */
    }
    assert_int_equal(gl_st_read_f32(st, 1, back, N), GL_OK);
    for (int i = 0; i < N; i++) {
        assert_true(back[i] == gl_bf16_to_f32(gl_f32_to_bf16(x[i])));
        assert_true(fabsf(back[i] - x[i]) <= fabsf(x[i]) * 0x1p-8f);
    }
    assert_int_equal(gl_st_read_f32(st, 2, back, N), GL_OK);
    assert_memory_equal(back, exact, N * sizeof(float));
    assert_int_equal(gl_st_read_f32(st, 3, back, N), GL_OK);
    assert_memory_equal(back, exact, N * sizeof(float));
    assert_int_equal((uintptr_t)gl_st_data(st, 5) % 4, 0); /* F32 data first: aligned */
    assert_int_equal(gl_st_read_f32(st, 5, back, 5), GL_OK);
    assert_memory_equal(back, x, 5 * sizeof(float));
    gl_st_free(&st);
    unlink(t.path);
    tu_free(x);
    tu_free(exact);
    tu_free(back);
}

static void roundtrip_metadata(void **s) {
    (void)s;
    gl_st_writer *w = NULL;
    assert_int_equal(gl_st_writer_new(&w), GL_OK);
    assert_int_equal(gl_st_writer_set_meta(w, "format", "pt"), GL_OK);
    assert_int_equal(gl_st_writer_set_meta(w, "gridlora.arch", "first"), GL_OK);
    assert_int_equal(gl_st_writer_set_meta(w, "gridlora.arch", "dit \"tiny\"\\\n\t\x01 \xc3\xbc"), GL_OK);
    assert_int_equal(gl_st_writer_set_meta(w, "", ""), GL_OK);
    char key[16];
    for (int i = 0; i < 20; i++) { /* past the first growth */
        snprintf(key, sizeof key, "k%02d", i);
        assert_int_equal(gl_st_writer_set_meta(w, key, key + 1), GL_OK);
    }
    assert_int_equal(gl_st_writer_set_meta(w, "bad", "\xff"), GL_EINVAL);
    assert_int_equal(gl_st_writer_set_meta(w, "\xc3", "x"), GL_EINVAL);
    assert_int_equal(gl_st_writer_set_meta(w, NULL, "x"), GL_EINVAL);
    assert_int_equal(gl_st_writer_set_meta(w, "x", NULL), GL_EINVAL);
    tmpf t = tmp_file();
    assert_int_equal(gl_st_writer_write(w, t.path, NULL, 0), GL_OK);
    gl_st_writer_free(&w);
    gl_st *st = open_ok(t.path);
    assert_int_equal(gl_st_count(st), 0);
    assert_int_equal(gl_st_meta_count(st), 23);
    assert_string_equal(gl_st_meta_key(st, 0), "format");
    assert_string_equal(gl_st_meta_key(st, 1), "gridlora.arch");
    assert_string_equal(gl_st_meta_value(st, 1), "dit \"tiny\"\\\n\t\x01 \xc3\xbc");
    assert_string_equal(gl_st_meta_get(st, ""), "");
    assert_string_equal(gl_st_meta_get(st, "k19"), "19");
    assert_null(gl_st_meta_get(st, "k20"));
    assert_null(gl_st_meta_get(st, NULL));
    gl_st_free(&st);
    unlink(t.path);
}

static void writer_rejects_bad_input(void **s) {
    (void)s;
    float x[4] = {0};
    gl_st_writer *w = NULL;
    assert_int_equal(gl_st_writer_new(NULL), GL_EINVAL);
    assert_int_equal(gl_st_writer_new(&w), GL_OK);
    assert_int_equal(gl_st_writer_add(w, "a", GL_ST_F32, 1, (int64_t[]){4}, x), GL_OK);
    assert_int_equal(gl_st_writer_add(w, "a", GL_ST_F16, 1, (int64_t[]){4}, x), GL_EEXIST);
    assert_int_equal(gl_st_writer_add(w, "__metadata__", GL_ST_F32, 1, (int64_t[]){4}, x), GL_EINVAL);
    assert_int_equal(gl_st_writer_add(w, NULL, GL_ST_F32, 1, (int64_t[]){4}, x), GL_EINVAL);
    assert_int_equal(gl_st_writer_add(w, "bad\xff", GL_ST_F32, 1, (int64_t[]){4}, x), GL_EINVAL);
    assert_int_equal(gl_st_writer_add(w, "b", (gl_st_dtype)7, 1, (int64_t[]){4}, x), GL_EINVAL);
    assert_int_equal(gl_st_writer_add(w, "b", GL_ST_F32, 9, (int64_t[]){1, 1, 1, 1, 1, 1, 1, 1, 1}, x),
                     GL_EINVAL);
    assert_int_equal(gl_st_writer_add(w, "b", GL_ST_F32, -1, NULL, x), GL_EINVAL);
    assert_int_equal(gl_st_writer_add(w, "b", GL_ST_F32, 1, NULL, x), GL_EINVAL);
    assert_int_equal(gl_st_writer_add(w, "b", GL_ST_F32, 1, (int64_t[]){-4}, x), GL_EINVAL);
    assert_int_equal(gl_st_writer_add(w, "b", GL_ST_F32, 1, (int64_t[]){4}, NULL), GL_EINVAL);
    assert_int_equal(gl_st_writer_add(w, "b", GL_ST_F32, 2, (int64_t[]){1ll << 40, 1ll << 40}, x),
                     GL_EINVAL);
    assert_int_equal(gl_st_writer_add(w, "b", GL_ST_F32, 1, (int64_t[]){1ll << 52}, x), GL_EINVAL);
    assert_int_equal(gl_st_writer_add(w, "b", GL_ST_F32, 1, (int64_t[]){(1ll << 53) + 1}, x),
                     GL_EINVAL);
    char msg[256];
    assert_int_equal(gl_st_writer_write(w, NULL, msg, sizeof msg), GL_EINVAL);
    assert_int_equal(gl_st_writer_write(w, "", msg, sizeof msg), GL_EINVAL);
    gl_st_writer_free(&w);
}

static int count_entries(const char *dir) {
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    closedir(d);
    return n;
}

static void writer_failure_leaves_no_file(void **s) {
    (void)s;
    char dir[] = "/tmp/gl_st_dir_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[128], msg[512];
    float big[1024] = {0};
    gl_st_writer *w = NULL;
    assert_int_equal(gl_st_writer_new(&w), GL_OK);
    assert_int_equal(gl_st_writer_add(w, "big", GL_ST_F32, 1, (int64_t[]){1024}, big), GL_OK);
    /* a directory that does not exist */
    snprintf(path, sizeof path, "%s/nope/out.safetensors", dir);
    assert_int_equal(gl_st_writer_write(w, path, msg, sizeof msg), GL_EIO);
    assert_non_null(strstr(msg, path));
    assert_non_null(strstr(msg, "No such file or directory"));
    /* the path is a directory */
    assert_int_equal(gl_st_writer_write(w, dir, msg, sizeof msg), GL_EIO);
    assert_non_null(strstr(msg, "is a directory"));
    assert_int_equal(count_entries(dir), 0);
    /* a write that fails midway (file size limit: EFBIG): the temp file goes, and the
     * old file at the path is left as it was */
    snprintf(path, sizeof path, "%s/out.safetensors", dir);
    put_bytes(path, "old", 3);
    struct rlimit old_lim, lim;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old_lim), 0);
    lim = old_lim;
    lim.rlim_cur = 1000; /* the file needs 4096 + header */
    void (*old_sig)(int) = signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    int rc = gl_st_writer_write(w, path, msg, sizeof msg);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old_lim), 0);
    signal(SIGXFSZ, old_sig);
    assert_int_equal(rc, GL_EIO);
    assert_non_null(strstr(msg, "cannot write"));
    assert_int_equal(count_entries(dir), 1);
    size_t n;
    unsigned char *b = get_bytes(path, &n);
    assert_int_equal(n, 3);
    assert_memory_equal(b, "old", 3);
    free(b);
    /* and then the same writer succeeds, replacing it */
    assert_int_equal(gl_st_writer_write(w, path, msg, sizeof msg), GL_OK);
    assert_int_equal(count_entries(dir), 1);
    gl_st *st = open_ok(path);
    assert_int_equal(gl_st_numel(st, 0), 1024);
    gl_st_free(&st);
    gl_st_writer_free(&w);
    unlink(path);
    assert_int_equal(rmdir(dir), 0);
}

/* ---- parameter stores ------------------------------------------------------------- */

static gl_params *make_params(int transposed, int with_b) {
    gl_params *p = NULL;
    assert_int_equal(gl_params_new(&p), GL_OK);
    assert_true(gl_params_add(p, "blk.0.w", 2, transposed ? (int64_t[]){4, 3} : (int64_t[]){3, 4}, 0) >= 0);
    if (with_b) assert_true(gl_params_add(p, "blk.0.b", 1, (int64_t[]){3}, GL_PARAM_NO_DECAY) >= 0);
    assert_true(gl_params_add(p, "gain", 0, NULL, 0) >= 0);
    assert_int_equal(gl_params_alloc(p), GL_OK);
    return p;
}

static void params_roundtrip(void **s) {
    (void)s;
    gl_params *p = make_params(0, 1), *q = make_params(0, 1);
    tu_rng r;
    tu_seed(&r, 9);
    tu_fill(&r, gl_params_data(p), gl_params_numel(p), 1.0);
    tmpf t = tmp_file();
    char msg[512];
    const char *meta[] = {"gridlora.stage", "lora", "step", "100", NULL};
    assert_int_equal(gl_st_save_params(p, t.path, GL_ST_F32, meta, msg, sizeof msg), GL_OK);
    assert_int_equal(gl_st_load_params(q, t.path, 1, msg, sizeof msg), 3);
    assert_memory_equal(gl_params_data(q), gl_params_data(p), gl_params_numel(p) * sizeof(float));
    gl_st *st = open_ok(t.path);
    assert_string_equal(gl_st_meta_get(st, "step"), "100");
    assert_string_equal(gl_st_name(st, 1), "blk.0.b");
    assert_int_equal(gl_st_ndim(st, 2), 0);
    gl_st_free(&st);
    /* stored as BF16: loads within bf16 rounding */
    assert_int_equal(gl_st_save_params(p, t.path, GL_ST_BF16, NULL, msg, sizeof msg), GL_OK);
    assert_int_equal(gl_st_load_params(q, t.path, 1, msg, sizeof msg), 3);
    for (int64_t i = 0; i < gl_params_numel(p); i++)
        assert_true(gl_params_data(q)[i] == gl_bf16_to_f32(gl_f32_to_bf16(gl_params_data(p)[i])));
    /* a key without a value */
    const char *odd[] = {"k", NULL};
    assert_int_equal(gl_st_save_params(p, t.path, GL_ST_F32, odd, msg, sizeof msg), GL_EINVAL);
    assert_non_null(strstr(msg, "metadata key 'k' has no value"));
    gl_params_free(&p);
    gl_params_free(&q);
    unlink(t.path);
}

static void params_mismatch_errors(void **s) {
    (void)s;
    gl_params *p = make_params(0, 1);
    tu_rng r;
    tu_seed(&r, 10);
    tu_fill(&r, gl_params_data(p), gl_params_numel(p), 1.0);
    tmpf t = tmp_file();
    char msg[512];
    assert_int_equal(gl_st_save_params(p, t.path, GL_ST_F16, NULL, msg, sizeof msg), GL_OK);
    /* shape mismatch: error names the tensor and both shapes; nothing is copied */
    gl_params *q = make_params(1, 1);
    assert_int_equal(gl_st_load_params(q, t.path, 1, msg, sizeof msg), GL_EFORMAT);
    assert_non_null(strstr(msg, t.path));
    assert_non_null(strstr(msg, "tensor 'blk.0.w' is [3,4], expected [4,3]"));
    for (int64_t i = 0; i < gl_params_numel(q); i++) assert_true(gl_params_data(q)[i] == 0.0f);
    gl_params_free(&q);
    /* rank mismatch */
    assert_int_equal(gl_params_new(&q), GL_OK);
    assert_true(gl_params_add(q, "blk.0.w", 1, (int64_t[]){12}, 0) >= 0);
    assert_int_equal(gl_params_alloc(q), GL_OK);
    assert_int_equal(gl_st_load_params(q, t.path, 0, msg, sizeof msg), GL_EFORMAT);
    assert_non_null(strstr(msg, "tensor 'blk.0.w' is [3,4], expected [12]"));
    gl_params_free(&q);
    /* a parameter the file lacks: strict refuses, lenient loads the rest */
    assert_int_equal(gl_params_new(&q), GL_OK);
    assert_true(gl_params_add(q, "blk.0.w", 2, (int64_t[]){3, 4}, 0) >= 0);
    assert_true(gl_params_add(q, "blk.0.extra", 1, (int64_t[]){2}, 0) >= 0);
    assert_int_equal(gl_params_alloc(q), GL_OK);
    assert_int_equal(gl_st_load_params(q, t.path, 1, msg, sizeof msg), GL_ENOTFOUND);
    assert_non_null(strstr(msg, "tensor 'blk.0.extra' is missing"));
    assert_true(gl_params_data(q)[0] == 0.0f);
    assert_int_equal(gl_st_load_params(q, t.path, 0, msg, sizeof msg), 1);
    assert_true(gl_params_data(q)[0] == gl_f16_to_f32(gl_f32_to_f16(gl_params_data(p)[0])));
    gl_params_free(&q);
    /* unallocated store; a missing or bad file */
    assert_int_equal(gl_params_new(&q), GL_OK);
    assert_int_equal(gl_st_load_params(q, t.path, 1, msg, sizeof msg), GL_ESTATE);
    assert_int_equal(gl_st_save_params(q, t.path, GL_ST_F32, NULL, msg, sizeof msg), GL_ESTATE);
    gl_params_free(&q);
    unlink(t.path);
    assert_int_equal(gl_st_load_params(p, t.path, 1, msg, sizeof msg), GL_EIO);
    assert_non_null(strstr(msg, "cannot open"));
    craft(t.path, "{\"blk.0.w\":1}", NULL, 0);
    assert_int_equal(gl_st_load_params(p, t.path, 1, msg, sizeof msg), GL_EFORMAT);
    assert_non_null(strstr(msg, "entry is not an object"));
    unlink(t.path);
    gl_params_free(&p);
}

/* ---- the independent Python reader and writer ------------------------------------- */

/* st_reader.py's output for path, parsed; fails the test when the script refuses the file */
static cJSON *python_read(const char *path) {
    char cmd[512];
    snprintf(cmd, sizeof cmd, "'%s' '%s' '%s'", GL_PYTHON, GL_ST_READER_PY, path);
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    size_t cap = 1 << 20, n = 0;
    char *out = malloc(cap);
    assert_non_null(out);
    for (size_t k; (k = fread(out + n, 1, cap - 1 - n, f)) > 0;) n += k;
    out[n] = 0;
    int status = pclose(f);
    if (status != 0) fail_msg("%s exited with status %d", cmd, status);
    cJSON *j = cJSON_Parse(out);
    if (!j) fail_msg("st_reader.py printed unparsable output: %.200s", out);
    free(out);
    return j;
}

static void python_reader_agrees(void **s) {
    (void)s;
    enum { N = 300 };
    tu_rng r;
    tu_seed(&r, 21);
    float a[N], tiny[4] = {0x1p-24f, -0x1p-20f, 65504.0f, 1e-10f};
    tu_fill(&r, a, N, 2.0);
    a[0] = INFINITY;
    a[1] = -0.0f;
    const struct {
        const char *name;
        gl_st_dtype dt;
        int ndim;
        int64_t shape[3];
        const float *data;
        int64_t n;
    } T[] = {
        {"blk.0.attn.q", GL_ST_F32, 2, {10, 30}, a, N},
        {"h16", GL_ST_F16, 3, {3, 10, 10}, a, N},
        {"h16.tiny", GL_ST_F16, 1, {4}, tiny, 4},
        {"bf", GL_ST_BF16, 1, {N}, a, N},
        {"scalar", GL_ST_F32, 0, {0}, a + 5, 1},
        {"none", GL_ST_BF16, 2, {0, 7}, NULL, 0},
        {"odd", GL_ST_F16, 1, {1}, a + 7, 1},
    };
    const int NT = (int)(sizeof T / sizeof T[0]);
    gl_st_writer *w = NULL;
    assert_int_equal(gl_st_writer_new(&w), GL_OK);
    for (int i = 0; i < NT; i++)
        assert_int_equal(gl_st_writer_add(w, T[i].name, T[i].dt, T[i].ndim, T[i].shape, T[i].data),
                         GL_OK);
    assert_int_equal(gl_st_writer_set_meta(w, "caf\xc3\xa9", "\"quoted\" \\ line\nbreak"), GL_OK);
    tmpf t = tmp_file();
    char msg[256];
    assert_int_equal(gl_st_writer_write(w, t.path, msg, sizeof msg), GL_OK);
    gl_st_writer_free(&w);
    cJSON *j = python_read(t.path);
    cJSON *tensors = cJSON_GetObjectItemCaseSensitive(j, "tensors");
    assert_int_equal(cJSON_GetArraySize(tensors), NT);
    int i = 0;
    for (cJSON *e = tensors->child; e; e = e->next, i++) {
        assert_string_equal(cJSON_GetObjectItemCaseSensitive(e, "name")->valuestring, T[i].name);
        assert_string_equal(cJSON_GetObjectItemCaseSensitive(e, "dtype")->valuestring,
                            gl_st_dtype_name(T[i].dt));
        cJSON *shape = cJSON_GetObjectItemCaseSensitive(e, "shape");
        assert_int_equal(cJSON_GetArraySize(shape), T[i].ndim);
        for (int d = 0; d < T[i].ndim; d++)
            assert_true(cJSON_GetArrayItem(shape, d)->valuedouble == (double)T[i].shape[d]);
        cJSON *bits = cJSON_GetObjectItemCaseSensitive(e, "bits");
        assert_int_equal(cJSON_GetArraySize(bits), T[i].n);
        int64_t k = 0;
        for (cJSON *b = bits->child; b; b = b->next, k++) {
            float want = T[i].data[k];
            if (T[i].dt == GL_ST_F16) want = gl_f16_to_f32(gl_f32_to_f16(want));
            if (T[i].dt == GL_ST_BF16) want = gl_bf16_to_f32(gl_f32_to_bf16(want));
            if ((double)fbits(want) != b->valuedouble)
                fail_msg("%s[%lld]: python decodes %08llx, we wrote %08x (%g)", T[i].name,
                         (long long)k, (unsigned long long)b->valuedouble, fbits(want), want);
        }
    }
    cJSON *meta = cJSON_GetObjectItemCaseSensitive(j, "metadata");
    assert_int_equal(cJSON_GetArraySize(meta), 1);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(meta, "caf\xc3\xa9")->valuestring,
                        "\"quoted\" \\ line\nbreak");
    cJSON_Delete(j);
    /* the check can fail: a file our reader also refuses is refused by the script */
    craft(t.path, ONE_F32("[0,8]"), zeros, 9);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "'%s' '%s' '%s' 2>/dev/null >/dev/null", GL_PYTHON, GL_ST_READER_PY,
             t.path);
    assert_int_not_equal(system(cmd), 0);
    unlink(t.path);
}

static void python_writer_agrees(void **s) {
    (void)s;
    tmpf t = tmp_file();
    char cmd[512];
    snprintf(cmd, sizeof cmd, "'%s' '%s' --write '%s'", GL_PYTHON, GL_ST_READER_PY, t.path);
    assert_int_equal(system(cmd), 0);
    /* the table REFERENCE of st_reader.py */
    gl_st *st = open_ok(t.path);
    assert_int_equal(gl_st_count(st), 5);
    const char *names[] = {"b.f32", "a.f16", "c.bf16", "scalar", "empty"};
    const gl_st_dtype dts[] = {GL_ST_F32, GL_ST_F16, GL_ST_BF16, GL_ST_F32, GL_ST_F16};
    const float want[][6] = {{-1.0f, -0.5f, 0.0f, 0.5f, 1.0f, 1.5f},
                             {1.0f, -2.5f, 65504.0f, 0x1p-24f},
                             {1.0f, -1.0f, 3.140625f, 0.5f},
                             {42.0f},
                             {0}};
    const int64_t counts[] = {6, 4, 4, 1, 0};
    for (int i = 0; i < 5; i++) {
        assert_string_equal(gl_st_name(st, i), names[i]);
        assert_int_equal(gl_st_dtype_of(st, i), dts[i]);
        assert_int_equal(gl_st_numel(st, i), counts[i]);
        float got[6];
        assert_int_equal(gl_st_read_f32(st, i, got, counts[i]), GL_OK);
        for (int k = 0; k < counts[i]; k++) assert_true(got[k] == want[i][k]);
    }
    assert_int_equal(gl_st_ndim(st, 3), 0);
    assert_int_equal(gl_st_shape(st, 4)[1], 5);
    assert_string_equal(gl_st_meta_get(st, "source"), "st_reader.py");
    assert_string_equal(gl_st_meta_get(st, "quote \"q\""), "caf\xc3\xa9 \\ \xc3\xbc" "ber\nline");
    gl_st_free(&st);
    unlink(t.path);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(reject_short_files),
    cmocka_unit_test(reject_header_length),
    cmocka_unit_test(reject_bad_json),
    cmocka_unit_test(reject_deep_nesting),
    cmocka_unit_test(reject_bad_entries),
    cmocka_unit_test(reject_bad_shapes),
    cmocka_unit_test(reject_bad_offsets),
    cmocka_unit_test(reject_overlaps_and_holes),
    cmocka_unit_test(reject_bad_metadata),
    cmocka_unit_test(reject_messages_are_one_line),
    cmocka_unit_test(reject_every_truncation),
    cmocka_unit_test(fuzz_never_crashes),
    cmocka_unit_test(accept_edge_cases),
    cmocka_unit_test(roundtrip_f32_exact),
    cmocka_unit_test(roundtrip_f16_bf16_rounded),
    cmocka_unit_test(roundtrip_metadata),
    cmocka_unit_test(writer_rejects_bad_input),
    cmocka_unit_test(writer_failure_leaves_no_file),
    cmocka_unit_test(params_roundtrip),
    cmocka_unit_test(params_mismatch_errors),
    cmocka_unit_test(python_reader_agrees),
    cmocka_unit_test(python_writer_agrees),
};
TU_MAIN("safetensors", tests)
