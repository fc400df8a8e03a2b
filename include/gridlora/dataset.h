/* gridlora/dataset.h: data sets of procedural dynamic concepts on disk, and concepts as
 * JSON (the manifest's form), so a reader can re-render any video exactly.
 *
 *     gl_dataset_params p = gl_dataset_default_params();  // 8 frames of 32x32, mp4
 *     p.count = 100;
 *     p.seed = 7;
 *     char msg[512];
 *     if (gl_dataset_write("data/train", &p, msg, sizeof msg)) fprintf(stderr, "%s\n", msg);
 *
 * Layout of DIR (NNNN: the concept's index, zero-padded to 4 digits or more):
 *   NNNN.mp4         the concept as drawn (GL_VARIANT_PLAIN)
 *   NNNN.smoke.mp4   with smoke         NNNN.lights.mp4  with lights
 *   NNNN.night.mp4   at night           NNNN.rain.mp4    in the rain
 *   NNNN.shadow.mp4  with a shadow
 *   NNNN.bg.mp4      on another background (gl_concept_restage)
 *   NNNN.motion.mp4  on another path (gl_concept_restage)
 *   NNNN.with.mp4    composed with concept (i + 1) mod count, which stands behind it (for
 *                    a data set of one: the concept the same seed gives for index 1)
 *   manifest.jsonl   one JSON object per concept, in index order:
 *     {"id": i, "token": "<ci>", "split": "train", "seed": "<decimal u64>",
 *      "frames": F, "width": W, "height": H, "fps": fps,
 *      "file": "NNNN.mp4", "caption": "a red striped star orbiting on sand",
 *      "prompt": "a <ci> red striped star orbiting on sand",
 *      "concept": {every parameter, see gl_concept_to_json},
 *      "variants": [{"name": "smoke", "file": "NNNN.smoke.mp4", "caption": ..., "prompt": ...,
 *                    "effects": ["smoke"]}, ...
 *                   {"name": "bg", ..., "background": {...}},
 *                   {"name": "motion", ..., "path": {...}},
 *                   {"name": "with", ..., "partner": j, "partner_concept": {...}}]}
 *     ("plain" is the top-level file and caption; the "with" prompt carries the partner's
 *     token only when the partner is in the data set.)
 * Concept i is gl_concept_sample(gl_dataset_concept_seed(seed, i), split): a data set of
 * N concepts is the first N of a larger one with the same seed and split.
 * Tokens are indices within one data set: "<c0>" of a held-out set is not "<c0>" of the
 * train set a model learned. Prompt held-out concepts with "caption" (no token), or
 * renumber their tokens past the train set's count.
 *
 * DIR is created when missing (its parent must exist). An existing DIR is used when it is
 * empty or holds a previous data set (a manifest.jsonl); its files are overwritten, and
 * files of a larger previous set beyond the new count are left (the manifest lists what
 * belongs). Anything else is refused (GL_EEXIST): a file, or a directory holding other
 * things. The manifest is written to manifest.jsonl.tmp and renamed at the end, so a
 * failed run leaves no manifest that lists missing videos.
 */
#ifndef GRIDLORA_DATASET_H
#define GRIDLORA_DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "gridlora/render.h"

#ifdef __cplusplus
extern "C" {
#endif

struct cJSON;

typedef struct gl_dataset_params {
    int64_t count;          /* concepts, 1..1000000 (default 16) */
    uint64_t seed;          /* default 0 */
    int split;              /* GL_SPLIT_TRAIN (default) or GL_SPLIT_HELDOUT */
    gl_render_opts render;  /* default gl_render_default_opts() */
    int fps;                /* of the written videos, 1..240 (default 8) */
    const char *ext;        /* "mp4" (default), "gif" or "png" (a contact sheet per video) */
    /* called after each concept when not NULL */
    void (*progress)(void *ctx, int64_t done, int64_t total);
    void *progress_ctx;
} gl_dataset_params;

gl_dataset_params gl_dataset_default_params(void);

/* The seed of concept `index` in a data set drawn from `seed`. */
uint64_t gl_dataset_concept_seed(uint64_t seed, int64_t index);

/* Renders and writes the data set. 0, or a negative GL_E* with one line in msg naming the
 * path and the problem: GL_EINVAL (bad parameters), GL_EEXIST (DIR is a file or holds
 * something else), GL_EIO, GL_ENOMEM. */
int gl_dataset_write(const char *dir, const gl_dataset_params *p, char *msg, size_t msglen);

/* The concept as a JSON object: enums by name ("star", "stripes", "red", "orbit", "sand",
 * "noise"), the seed as a decimal string, numbers exactly (cJSON prints doubles so that
 * they read back to the same bits). NULL when out of memory; free with cJSON_Delete. */
struct cJSON *gl_concept_to_json(const gl_concept *c);
struct cJSON *gl_path_to_json(const gl_path *p);
struct cJSON *gl_background_to_json(const gl_background *b);

/* Reads what gl_concept_to_json wrote, checking every field (gl_concept_check). 0, or
 * GL_EFORMAT with the field named in msg. */
int gl_concept_from_json(const struct cJSON *j, gl_concept *c, char *msg, size_t msglen);

#ifdef __cplusplus
}
#endif
#endif
