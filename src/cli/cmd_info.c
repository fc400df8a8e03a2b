/* cli/cmd_info.c: `gridlora info [--json] FILE`: list a safetensors file's tensors and
 * metadata. Reads the validated header only: no tensor value is converted or printed.
 * Names and values come from the file, so the table shows control characters escaped
 * (a hostile name cannot drive the terminal); --json leaves escaping to cJSON. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "gridlora/safetensors.h"

static void usage(FILE *f) {
    fprintf(f, "usage: gridlora info [--json] FILE\n"
               "Lists the tensors (name, dtype, shape) and the metadata of a safetensors file,\n"
               "after checking its header. --json prints one line:\n"
               "  {\"tensors\":[{\"name\":..,\"dtype\":..,\"shape\":[..]}],\"metadata\":{..}}\n");
}

/* s with \n, \t and other control bytes made visible; returns the bytes printed */
static size_t put_visible(const char *s) {
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '\n') n += (size_t)printf("\\n");
        else if (*p == '\t') n += (size_t)printf("\\t");
        else if (*p < 0x20 || *p == 0x7f) n += (size_t)printf("\\x%02x", *p);
        else {
            putchar(*p);
            /* count code points, not bytes, so UTF-8 names keep the columns straight */
            if ((*p & 0xc0) != 0x80) n++;
        }
    }
    return n;
}

static void pad(size_t have, size_t want) {
    for (size_t i = have; i < want; i++) putchar(' ');
}

/* width of s as put_visible prints it */
static size_t visible_width(const char *s) {
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '\n' || *p == '\t') n += 2;
        else if (*p < 0x20 || *p == 0x7f) n += 4;
        else if ((*p & 0xc0) != 0x80) n++;
    }
    return n;
}

static void shape_text(const gl_st *st, int i, char *buf, size_t len) {
    size_t k = (size_t)snprintf(buf, len, "[");
    for (int d = 0; d < gl_st_ndim(st, i) && k < len; d++)
        k += (size_t)snprintf(buf + k, len - k, d ? ",%" PRId64 : "%" PRId64, gl_st_shape(st, i)[d]);
    if (k < len) snprintf(buf + k, len - k, "]");
}

static void print_table(const gl_st *st) {
    const int n = gl_st_count(st), m = gl_st_meta_count(st);
    int64_t values = 0, bytes = 0;
    size_t wname = 4, wshape = 5; /* "name", "shape" */
    char shape[8 * 21 + 3];
    for (int i = 0; i < n; i++) {
        values += gl_st_numel(st, i); /* cannot overflow: the data fit in the file */
        bytes += gl_st_nbytes(st, i);
        size_t w = visible_width(gl_st_name(st, i));
        if (w > wname) wname = w;
        shape_text(st, i, shape, sizeof shape);
        if (strlen(shape) > wshape) wshape = strlen(shape);
    }
    if (wname > 60) wname = 60; /* a longer name just pushes its own row */
    printf("file:     ");
    put_visible(gl_st_path(st));
    printf("\ntensors:  %d (%" PRId64 " values, %" PRId64 " bytes of data)\n", n, values, bytes);
    printf("metadata: %d %s\n", m, m == 1 ? "entry" : "entries");
    if (n) {
        printf("\n  %-*s  %-5s  %-*s  %s\n", (int)wname, "name", "dtype", (int)wshape, "shape",
               "bytes");
        for (int i = 0; i < n; i++) {
            printf("  ");
            pad(put_visible(gl_st_name(st, i)), wname);
            shape_text(st, i, shape, sizeof shape);
            printf("  %-5s  %-*s  %" PRId64 "\n", gl_st_dtype_name(gl_st_dtype_of(st, i)),
                   (int)wshape, shape, gl_st_nbytes(st, i));
        }
    }
    if (m) {
        size_t wkey = 3;
        for (int i = 0; i < m; i++) {
            size_t w = visible_width(gl_st_meta_key(st, i));
            if (w > wkey) wkey = w;
        }
        if (wkey > 40) wkey = 40;
        printf("\n  %-*s  %s\n", (int)wkey, "key", "value");
        for (int i = 0; i < m; i++) {
            printf("  ");
            pad(put_visible(gl_st_meta_key(st, i)), wkey);
            printf("  ");
            put_visible(gl_st_meta_value(st, i));
            putchar('\n');
        }
    }
}

/* {"tensors":[{"name":..,"dtype":..,"shape":[..]}],"metadata":{..}}; NULL when out of memory */
static char *json_text(const gl_st *st) {
    cJSON *root = cJSON_CreateObject();
    cJSON *tensors = root ? cJSON_AddArrayToObject(root, "tensors") : NULL;
    int ok = tensors != NULL;
    for (int i = 0; ok && i < gl_st_count(st); i++) {
        cJSON *t = cJSON_CreateObject();
        ok = t && cJSON_AddItemToArray(tensors, t);
        ok = ok && cJSON_AddStringToObject(t, "name", gl_st_name(st, i));
        ok = ok && cJSON_AddStringToObject(t, "dtype", gl_st_dtype_name(gl_st_dtype_of(st, i)));
        cJSON *shape = ok ? cJSON_AddArrayToObject(t, "shape") : NULL;
        ok = shape != NULL;
        for (int d = 0; ok && d < gl_st_ndim(st, i); d++) {
            /* raw text: cJSON would print a dimension >= 1e15 with an exponent */
            char num[24];
            snprintf(num, sizeof num, "%" PRId64, gl_st_shape(st, i)[d]);
            cJSON *x = cJSON_CreateRaw(num);
            ok = x && cJSON_AddItemToArray(shape, x);
        }
    }
    cJSON *meta = ok ? cJSON_AddObjectToObject(root, "metadata") : NULL;
    ok = meta != NULL;
    for (int i = 0; ok && i < gl_st_meta_count(st); i++)
        ok = cJSON_AddStringToObject(meta, gl_st_meta_key(st, i), gl_st_meta_value(st, i)) != NULL;
    char *s = ok ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    return s;
}

int cmd_info(int argc, char **argv) {
    const char *file = NULL;
    int json = 0, opts = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (opts && (!strcmp(a, "--help") || !strcmp(a, "-h"))) {
            usage(stdout);
            return CLI_OK;
        }
        if (opts && !strcmp(a, "--json")) {
            json = 1;
        } else if (opts && !strcmp(a, "--")) {
            opts = 0;
        } else if (opts && a[0] == '-' && a[1]) {
            cli_error("info: unknown option '%s' (try --help)", a);
            return CLI_USAGE;
        } else if (file) {
            cli_error("info: takes one FILE, got '%s' and '%s'", file, a);
            return CLI_USAGE;
        } else {
            file = a;
        }
    }
    if (!file) {
        cli_error("info: missing FILE (try --help)");
        return CLI_USAGE;
    }
    gl_st *st = NULL;
    char msg[4608];
    if (gl_st_open(&st, file, msg, sizeof msg) < 0) {
        cli_error("info: %s", msg); /* msg is "FILE: problem" */
        return CLI_FAIL;
    }
    int rc = CLI_OK;
    if (json) {
        char *s = json_text(st);
        if (!s) {
            cli_error("info: %s: out of memory", file);
            rc = CLI_FAIL;
        } else {
            puts(s);
            cJSON_free(s);
        }
    } else {
        print_table(st);
    }
    gl_st_free(&st);
    if (rc == CLI_OK && (fflush(stdout) != 0 || ferror(stdout))) {
        cli_error("info: %s: writing the listing failed: %s", file, strerror(errno));
        rc = CLI_FAIL;
    }
    return rc;
}
