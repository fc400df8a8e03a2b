/* pipeline/manifest.h (internal): reading a data set's manifest.jsonl and its videos,
 * shared by the training sources (data.c, multidc.c, ...). What the lines mean is each
 * source's business; this only walks them and reads files safely. */
#ifndef GL_PIPELINE_MANIFEST_H
#define GL_PIPELINE_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "gridlora/model.h"

/* Called with each non-blank line's JSON object (line numbers from 1); a nonzero return
 * stops the walk and is passed on (the callback wrote msg). */
typedef int (*gl__manifest_fn)(void *ctx, const cJSON *obj, const char *manifest, int64_t line, char *msg,
                               size_t msglen);

/* Walks DIR/manifest.jsonl (fn may be NULL: only count). *lines (may be NULL): the
 * non-blank lines seen. Errors name the manifest and the line: cannot open, a NUL byte,
 * not a JSON object, a read error. */
int gl__manifest_each(const char *dir, gl__manifest_fn fn, void *ctx, int64_t *lines, char *msg, size_t msglen);

/* A concept's "split": absent, "train" or "heldout"; held-out concepts are refused
 * (they are for evaluation only). 0, or GL_EFORMAT / GL_EINVAL with msg. */
int gl__manifest_check_split(const cJSON *obj, const char *manifest, int64_t line, char *msg, size_t msglen);

/* A manifest's file name is relative and has no ".." component: 1 if so. */
int gl__manifest_safe_name(const char *name);

/* "DIR/FILE", malloc'd; NULL when out of memory. */
char *gl__manifest_path(const char *dir, const char *file);

/* A video read at the model's cell size (frames x cell_h x cell_w), kept as bytes
 * (value = byte / 255): *px malloc'd [F,H,W,3]. 0, or gl_video_read's error / GL_ENOMEM;
 * GL_EFORMAT for a .png (a data set's .png is a contact sheet, not a video). */
int gl__video_read_u8(const char *path, const gl_dit_config *cfg, uint8_t **px, char *msg, size_t msglen);

#endif
