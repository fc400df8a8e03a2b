/* gridlora/safetensors.h: read and write safetensors files; load and save a gl_params.
 *
 * The format (Hugging Face safetensors): an 8-byte little-endian u64 N, N bytes of JSON
 *     {"__metadata__": {"key": "value", ...},
 *      "name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}, ...}
 * then the data buffer; offsets count from its start, data is little-endian, row-major.
 * We support the float dtypes F32, F16 and BF16; values always reach the caller as fp32.
 *
 * Reading:
 *     gl_st *st = NULL;
 *     char msg[256];
 *     if (gl_st_open(&st, "lora.safetensors", msg, sizeof msg) < 0) { puts(msg); ... }
 *     int i = gl_st_find(st, "blk.0.attn.q.lora_a");     // or loop 0..gl_st_count(st)-1
 *     float *w = malloc(gl_st_numel(st, i) * sizeof *w);
 *     gl_st_read_f32(st, i, w, gl_st_numel(st, i));      // F16 / BF16 converted
 *     const char *arch = gl_st_meta_get(st, "gridlora.arch"); // NULL when absent
 *     gl_st_free(&st);
 *
 * Writing (file appears atomically: a temp file, fsync, rename, fsync of the directory):
 *     gl_st_writer *w = NULL;
 *     gl_st_writer_new(&w);
 *     gl_st_writer_add(w, "blk.0.q", GL_ST_F16, 2, (int64_t[]){192, 192}, q); // q kept!
 *     gl_st_writer_set_meta(w, "gridlora.arch", "dit-tiny");
 *     gl_st_writer_write(w, "out.safetensors", msg, sizeof msg);
 *     gl_st_writer_free(&w);
 *
 * Trust: gl_st_open treats the file as hostile. Every header field is checked before it
 * is used (see gl_st_open); a bad file gives GL_EFORMAT and one line in msg naming the
 * file and the problem, never a crash or a read out of bounds. One hazard is outside our
 * reach: the file is mapped, so if another process truncates it while it is open, reading
 * the lost pages raises SIGBUS. gl_st_open_memory reads from a private copy instead.
 *
 * Errors: 0 (or a count / index where stated) or a negative GL_E* code. msg, where taken,
 * receives one line "<path>: <problem>" on failure (msg may be NULL, msglen may be 0).
 * Thread safety: an open gl_st is read-only, so any number of threads may read from it;
 * a gl_st_writer is used by one caller at a time.
 */
#ifndef GRIDLORA_SAFETENSORS_H
#define GRIDLORA_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "gridlora/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Largest header we read (the reference implementation's limit), most dimensions a
 * tensor may have, deepest JSON nesting accepted (a valid header needs 3). */
#define GL_ST_MAX_HEADER 100000000u
#define GL_ST_MAX_DIMS 8
#define GL_ST_MAX_DEPTH 8

typedef enum gl_st_dtype {
    GL_ST_F32 = 0,
    GL_ST_F16 = 1,
    GL_ST_BF16 = 2,
} gl_st_dtype;

/* "F32", "F16", "BF16" (the file's spelling); "?" for anything else. */
const char *gl_st_dtype_name(gl_st_dtype d);
/* Bytes per element: 4 or 2; 0 for anything else. */
int gl_st_dtype_size(gl_st_dtype d);

/* ---- reading ---------------------------------------------------------------------- */

typedef struct gl_st gl_st;

/* Maps `path` read-only and validates it; on success *out owns the mapping (and the file
 * stays mapped until gl_st_free). On failure *out is NULL, msg says why, and:
 *   GL_EINVAL  NULL out or path;
 *   GL_EIO     cannot open / stat / map it, or it is not a regular file;
 *   GL_ENOMEM  out of memory;
 *   GL_EFORMAT anything wrong with the contents: shorter than 8 bytes; header length 0,
 *              past the end of the file or over GL_ST_MAX_HEADER; header not UTF-8,
 *              with raw control characters or \u0000 in a string, nesting deeper than
 *              GL_ST_MAX_DEPTH, not valid JSON, with bytes other than whitespace after
 *              the JSON, not an object; an entry not an object, with an unknown or
 *              repeated field; dtype missing, not a string or not F32/F16/BF16; shape
 *              missing, not an array, over GL_ST_MAX_DIMS dimensions, a dimension that
 *              is not a non-negative integer (or over 2^53); element count or byte size
 *              overflowing int64; data_offsets missing, not two non-negative integers,
 *              reversed, past the end of the data, not matching count * dtype size;
 *              tensors overlapping or leaving holes (they must tile the data buffer
 *              exactly, as in the reference implementation); a name appearing twice;
 *              __metadata__ not an object of strings, repeated, or with a key twice;
 *              any number written other than as a plain integer ("2.0", "1e3", "-0").
 * Tensors keep the header's order. */
int gl_st_open(gl_st **out, const char *path, char *msg, size_t msglen);

/* As gl_st_open, for a file already in memory: buf[0..len) is copied (the caller keeps
 * buf and may free it on return), and `name` (NULL: "(memory)") stands for the path in
 * messages and gl_st_path. Same checks and errors as gl_st_open (GL_EINVAL for NULL out,
 * or a NULL buf with len > 0), without the GL_EIO cases. */
int gl_st_open_memory(gl_st **out, const void *buf, size_t len, const char *name, char *msg,
                      size_t msglen);

/* Unmaps (or frees the copy) and frees; sets *st to NULL. NULL or *st NULL is a no-op. */
void gl_st_free(gl_st **st);

/* The path given to gl_st_open (a copy owned by st). */
const char *gl_st_path(const gl_st *st);

int gl_st_count(const gl_st *st);
/* Index of the tensor called `name`, or GL_ENOTFOUND (binary search). */
int gl_st_find(const gl_st *st, const char *name);

/* Per tensor, idx in [0, gl_st_count): a bad idx is our bug (GL_ASSERT). Strings and
 * the shape array are owned by st and live until gl_st_free. */
const char *gl_st_name(const gl_st *st, int idx);
gl_st_dtype gl_st_dtype_of(const gl_st *st, int idx);
int gl_st_ndim(const gl_st *st, int idx);              /* 0 for a scalar */
const int64_t *gl_st_shape(const gl_st *st, int idx);  /* ndim entries */
int64_t gl_st_numel(const gl_st *st, int idx);         /* 1 for a scalar; may be 0 */
/* The raw little-endian bytes, in the mapping (not necessarily aligned), and their count. */
const void *gl_st_data(const gl_st *st, int idx);
int64_t gl_st_nbytes(const gl_st *st, int idx);

/* Converts tensor idx to fp32 into dst[0..n). n must equal gl_st_numel (a guard against
 * the wrong buffer): else GL_EINVAL, as for a bad idx or a NULL dst with n > 0. */
int gl_st_read_f32(const gl_st *st, int idx, float *dst, int64_t n);

/* __metadata__, in the header's order. Strings owned by st. */
int gl_st_meta_count(const gl_st *st);
const char *gl_st_meta_key(const gl_st *st, int i);
const char *gl_st_meta_value(const gl_st *st, int i);
/* The value for `key`, or NULL. */
const char *gl_st_meta_get(const gl_st *st, const char *key);

/* ---- writing ---------------------------------------------------------------------- */

typedef struct gl_st_writer gl_st_writer;

int gl_st_writer_new(gl_st_writer **out);
void gl_st_writer_free(gl_st_writer **w);

/* Adds a tensor stored as `dtype`, converting from fp32 when the file is written
 * (rounding to nearest even for F16/BF16). The writer KEEPS the pointer `data`: it
 * must stay valid and unchanged until gl_st_writer_write returns. The name and shape are
 * copied. data may be NULL only for zero elements. ndim 0 is a scalar (shape may be
 * NULL). Returns 0, GL_EEXIST for a name already added, GL_EINVAL for a NULL or invalid
 * UTF-8 name, the name "__metadata__", a bad dtype, ndim outside 0..GL_ST_MAX_DIMS, a
 * negative dimension or one over 2^53, or a size overflowing int64; GL_ENOMEM. */
int gl_st_writer_add(gl_st_writer *w, const char *name, gl_st_dtype dtype, int ndim,
                     const int64_t *shape, const float *data);

/* Sets __metadata__[key] = value (copies both; a second call for a key replaces its
 * value). GL_EINVAL for NULL or invalid UTF-8, GL_ENOMEM. */
int gl_st_writer_set_meta(gl_st_writer *w, const char *key, const char *value);

/* Writes the file: compact header JSON (__metadata__ first, then the tensors in the
 * order added) padded with spaces to a multiple of 8 bytes, so the data buffer starts
 * 8-aligned; in the data buffer F32 tensors come first, then F16/BF16, each group in
 * the order added, so every tensor is aligned to its element size. The bytes go to
 * "<path>.tmp.<pid>", which is flushed, fsynced and renamed over `path`; then the
 * directory is fsynced. On failure the temp file is removed, any old file at `path` is
 * left as it was, and GL_EIO (GL_ENOMEM, GL_EINVAL) is returned with msg naming the path;
 * the one exception is a failed fsync of the directory after the rename: the new file is
 * then complete and in place, and msg says "written, but fsync of its directory failed".
 * A path that is a symlink is replaced by the file (the link's target is not written).
 * The writer is unchanged and may write again. */
int gl_st_writer_write(const gl_st_writer *w, const char *path, char *msg, size_t msglen);

/* ---- parameter stores ------------------------------------------------------------- */

/* Saves every parameter of p (allocated: else GL_ESTATE) by name, stored as dtype, with
 * metadata from `meta`: NULL, or key, value, key, value, ..., NULL. Errors as
 * gl_st_writer_add / _write, with msg naming the path (and the tensor where one is at
 * fault). */
int gl_st_save_params(const gl_params *p, const char *path, gl_st_dtype dtype,
                      const char *const *meta, char *msg, size_t msglen);

/* Fills p's parameters (allocated: else GL_ESTATE) from the tensors of the same name,
 * any stored dtype. A file tensor of the wrong shape is GL_EFORMAT ("<path>: tensor 'x'
 * is [3,4], expected [4,3]"); with strict, a parameter missing from the file is
 * GL_ENOTFOUND. Tensors of the file that p lacks are ignored. Everything is checked
 * before anything is copied, so on failure p's data is untouched. Returns the number of
 * parameters loaded (>= 0), or a gl_st_open error. */
int gl_st_load_params(gl_params *p, const char *path, int strict, char *msg, size_t msglen);
/* As gl_st_load_params, each parameter from the tensor named prefix + its name: a
 * checkpoint's companions of the weights ("ema.", "adam.m."). */
int gl_st_load_params_prefixed(gl_params *p, const char *path, const char *prefix, int strict, char *msg,
                               size_t msglen);

#ifdef __cplusplus
}
#endif
#endif
