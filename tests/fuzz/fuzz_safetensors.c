/* tests/fuzz/fuzz_safetensors.c: libFuzzer target for the safetensors reader
 * (gl_st_open_memory: the same checks as gl_st_open on a file). The input is the whole
 * file; whatever opens is then read through every accessor, so a header that passes
 * validation but describes data outside the file shows up as an ASan report. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gridlora/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    gl_st *st = NULL;
    char msg[256];
    if (gl_st_open_memory(&st, data, size, "fuzz.safetensors", msg, sizeof msg) != GL_OK) {
        if (!memchr(msg, 0, sizeof msg) || !msg[0]) abort(); /* a failure always says why */
        return 0;
    }
    int n = gl_st_count(st);
    for (int i = 0; i < n; i++) {
        const char *name = gl_st_name(st, i);
        if (gl_st_find(st, name) != i) abort(); /* names are unique */
        int64_t numel = gl_st_numel(st, i), nbytes = gl_st_nbytes(st, i);
        if (nbytes != numel * gl_st_dtype_size(gl_st_dtype_of(st, i))) abort();
        const int64_t *shape = gl_st_shape(st, i);
        for (int d = 0; d < gl_st_ndim(st, i); d++)
            if (shape[d] < 0) abort();
        /* the tensors tile the data, which lies in the input: numel * 2 <= size */
        float *w = malloc((size_t)(numel ? numel : 1) * sizeof *w);
        if (!w) continue;
        if (gl_st_read_f32(st, i, w, numel) != GL_OK) abort();
        free(w);
    }
    for (int i = 0; i < gl_st_meta_count(st); i++)
        if (gl_st_meta_get(st, gl_st_meta_key(st, i)) == NULL) abort();
    (void)gl_st_find(st, "blk.0.attn.q");
    gl_st_free(&st);
    if (st) abort();
    return 0;
}
