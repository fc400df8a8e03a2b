/* gridlora/grids.h: grid training data (METHOD.md stages 2 and 3): canvases of four cell
 * videos made from a Multi-DC data set, written to a directory with their layouts and
 * prompts, and the batch source that trains the Grid LoRA and the Grid-Fill LoRA on them.
 *
 *     // 1. make the data: cells sampled from base + Multi-DC adapter (attached to m)
 *     gl_grids_params p = gl_grids_default_params();
 *     p.layout = "edit"; p.count = 64; p.model = m;   // p.render = 1: the renderer's truth
 *     gl_grids_write("grids", "data/train", &p, msg, sizeof msg);
 *     // 2. train on it
 *     gl_grid_data *g = NULL;
 *     gl_grid_data_dir(&g, "grids", m, NULL, NULL, msg, sizeof msg);
 *     gl_grid_data_set_fill(g, 1);                 // Grid-Fill: random clean cells
 *     opts.height = 2 * cfg->cell_h; opts.width = 2 * cfg->cell_w;   // whole canvases
 *     gl_train_run(m, &opts, gl_grid_data_next, g, &res, msg, sizeof msg);
 *     gl_grid_data_free(&g);
 *
 * Layout of GDIR (NNNN: the canvas's index, 4 digits or more):
 *   NNNN.mp4        the canvas: F x 2H x 2W, cell c placed as grid.h draws it
 *   NNNN.subject.mp4  rendered sets only: the share of each pixel the cell's subjects
 *                   cover (gl_render_scene's alpha summed, at most 1), grey, tiled alike
 *   manifest.jsonl  one JSON object per canvas, in index order:
 *     {"id": i, "layout": "edit", "source": "render" | "multidc", "file": "NNNN.mp4",
 *      "subject": "NNNN.subject.mp4" (rendered sets),
 *      "frames": F, "width": 2W, "height": 2H, "fps": fps,
 *      "global": "edit", "prompt": the joined prompt (gl_layout_prompt, token-free),
 *      "cells": [{"role": "input" | "output", "caption": "a red striped star ...",
 *                 "prompt": "a <c3> red striped star ...", "concept": k,
 *                 "variant": "plain" | "smoke" | ... | "bg" | "motion" | "bg+motion" |
 *                 "with", "partner": j (with only)} x 4]}
 *   "caption" is what the grid is trained with (no concept tokens: at inference the user's
 *   video has none); "prompt" is what the Multi-DC model was sampled with.
 *
 * What each layout's cells hold, for concepts A (and B, another concept of the set):
 *   edit:      A plain (input); A with three distinct effects drawn from smoke, lights,
 *              night, rain, shadow
 *   compose:   A plain, B plain (inputs); A with B behind it; B with A behind it
 *   character: A plain (input); A on another background; A on another path; both
 *   story:     A plain (input); A with an effect; on another background; on another path
 *
 * Ownership: a gl_grid_data is made by gl_grid_data_dir and released by
 * gl_grid_data_free; no pointer to the arguments is kept. One gl_grid_data_next at a
 * time per source. Every function returns 0 or a negative GL_E* with one line in msg.
 */
#ifndef GRIDLORA_GRIDS_H
#define GRIDLORA_GRIDS_H

#include <stddef.h>
#include <stdint.h>

#include "gridlora/grid.h"
#include "gridlora/model.h"
#include "gridlora/sample.h"
#include "gridlora/tokenizer.h"
#include "gridlora/train.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The layout's joined prompt (gl_layout_prompt) as tokens for a model of text length L:
 * ids[0..*n), *n <= L, starting with <grid> and holding all four cell markers. With m
 * (may be NULL) each word goes through gl_dit_expand_tokens, so that a concept token of
 * an attached multi-vector adapter becomes its ids, as a plain prompt's does. When the
 * whole does not fit, the longest parts lose words (a token with its ids) from their
 * FRONT until it does: the words that tell the cells of one grid apart (the effect, the
 * scene) end a caption. GL_EINVAL for L < 5 (the markers alone), an unknown word (msg
 * names it), a part over GL_PROMPT_MAX ids once expanded. */
int gl_layout_tokenize(const gl_layout *l, const gl_tokenizer *tk, const gl_dit *m, int64_t L, int32_t *ids,
                       int64_t *n, char *msg, size_t msglen);

/* ---- making grid data ------------------------------------------------------------ */

typedef struct gl_grids_params {
    const char *layout;      /* "edit" (default), "compose", "character", "story" */
    int64_t count;           /* canvases, 1..1000000 (default 16) */
    uint64_t seed;           /* which concepts and effects each canvas gets (default 0) */
    int render;              /* 1: cells rendered exactly (the renderer's truth); 0: sampled */
    int resume;              /* 1: a canvas whose file GDIR/NNNN.mp4 is there (and, rendered,
                                its NNNN.subject.mp4) is kept, not made again (each canvas
                                depends on (seed, i) alone, and files appear whole, by
                                rename): an interrupted run goes on */
    gl_dit *model;           /* sets the cell size; with render = 0 it samples the cells
                                (its Multi-DC adapter attached by the caller) */
    gl_sample_opts sample;   /* for render = 0; cell j of canvas i uses seed sample.seed +
                                4 i + j */
    int fps;                 /* of the written canvases (default 8) */
    void (*progress)(void *ctx, int64_t done, int64_t total);
    void *progress_ctx;
} gl_grids_params;

gl_grids_params gl_grids_default_params(void);

/* Reads the Multi-DC data set DATA_DIR (dataset.h: each concept's "token" and "concept"),
 * makes p->count canvases of p->layout and writes them with GDIR/manifest.jsonl (written
 * last, through a temporary name). GDIR is created when missing; an existing one must be
 * empty or hold a previous grid set (a manifest.jsonl), else GL_EEXIST. Errors: a
 * held-out concept (GL_EINVAL), compose with fewer than two concepts (GL_EINVAL), an
 * unknown layout (GL_ENOTFOUND), a model of other than 3 channels, GL_EIO, GL_ENOMEM. */
int gl_grids_write(const char *gdir, const char *data_dir, const gl_grids_params *p, char *msg,
                   size_t msglen);

/* ---- the batch source -------------------------------------------------------------- */

typedef struct gl_grid_data gl_grid_data;

/* Reads GDIR/manifest.jsonl and every canvas (gl_video_read at m's frames x 2 cell_h x
 * 2 cell_w, kept as 8 bits per value), each canvas's layout and its tokenized prompt
 * (gl_layout_tokenize with the domain tokenizer and m, so that a caption's concept token
 * of a multi-vector adapter attached to m becomes its ids: attach adapters before
 * reading). File names must be relative, without "..". progress as gl_data_dir's (may
 * be NULL). Starts in Grid mode (no fill). */
int gl_grid_data_dir(gl_grid_data **out, const char *gdir, const gl_dit *m,
                     void (*progress)(void *ctx, int64_t done, int64_t total), void *progress_ctx,
                     char *msg, size_t msglen);
/* The canvases of several grid sets as one source (e.g. an edit set and a compose set),
 * in the order given; each set as gl_grid_data_dir reads it, and one without canvases is
 * an error naming it. n_dirs >= 1. */
int gl_grid_data_dirs(gl_grid_data **out, const char *const *gdirs, int n_dirs, const gl_dit *m,
                      void (*progress)(void *ctx, int64_t done, int64_t total), void *progress_ctx, char *msg,
                      size_t msglen);
void gl_grid_data_free(gl_grid_data **d);

/* The loss weight of a canvas's pixels (gl_train_batch.weight): 1 + w x the share of the
 * pixel its subjects cover, from the set's coverage files, so that the subject, a few
 * percent of a frame, is not drowned by the background. layout names the canvases it is
 * for ("edit", "compose", "character", "story"; NULL: all), so that layouts whose outputs
 * put the subject somewhere new can be weighed less; a later call for a layout replaces
 * its weight. w = 0 (the default) weighs all alike. GL_EINVAL for an unknown layout, w
 * outside [0, GL_GRID_SUBJECT_WEIGHT_MAX], or w > 0 with a canvas of the layout that has no
 * coverage (cells sampled from a model: msg names its manifest line). */
#define GL_GRID_SUBJECT_WEIGHT_MAX 100.0f
int gl_grid_data_set_subject_weight(gl_grid_data *d, const char *layout, float w, char *msg, size_t msglen);

/* The std of the offset noise (gl_train_opts.offset_noise) of the canvases of a layout
 * ("edit", "compose", "character", "story"; NULL: all), in place of the trainer's, which
 * the layouts never set keep; a later call for a layout replaces its value. GL_EINVAL for
 * an unknown layout or g outside [0, GL_GRID_OFFSET_NOISE_MAX]. */
#define GL_GRID_OFFSET_NOISE_MAX 1.0
int gl_grid_data_set_offset_noise(gl_grid_data *d, const char *layout, double g, char *msg, size_t msglen);

/* fill = 0 (Grid LoRA): every cell noised, the attention masks of the canvas's layout.
 * fill = 1 (Grid-Fill LoRA): each sample gives a subset of cells clean (the batch's
 * `clean` tokens: t = 0, no loss): with probability 1/2 (gl_grid_data_set_input_share)
 * the layout's input cells, else a uniformly drawn non-empty proper subset; the clean
 * cells are the sample's inputs and the rest its outputs for the masks, as at inference. */
void gl_grid_data_set_fill(gl_grid_data *d, int fill);
/* Fill mode's share of samples whose clean cells are the layout's own input cells (the
 * apps' case; default 0.5); the others draw a non-empty proper subset. GL_EINVAL outside
 * [0, 1]. The random draws are the same whatever the share, so 0.5 replays runs made
 * before it could be set. */
int gl_grid_data_set_input_share(gl_grid_data *d, float share, char *msg, size_t msglen);

int64_t gl_grid_data_canvases(const gl_grid_data *d);

/* The gl_batch_fn (ctx is the gl_grid_data *): b->F, b->H, b->W must be the canvas
 * (cfg frames x 2 cell_h x 2 cell_w, else GL_EINVAL). Fills x0 in [-1, 1], text,
 * text_lens, clean (fill mode), weight (with a subject weight), offset_noise (where set
 * for the canvas's layout; the last canvas's when b->B > 1, but the trainer asks for one
 * at a time) and the per-item masks (source memory, valid until the next call; NULL for a
 * layout without masks). */
int gl_grid_data_next(void *ctx, int64_t step, gl_rng *rng, gl_train_batch *b, char *msg,
                      size_t msglen);

/* What sample i of the last batch was (NULL outside it), for inspection and tests. */
typedef struct gl_grid_item {
    int64_t canvas;     /* index in manifest order */
    unsigned clean;     /* cells given clean (GL_GRID_CELL bits; 0 in Grid mode) */
    gl_layout layout;   /* as used for the masks: roles = clean cells in fill mode */
} gl_grid_item;
const gl_grid_item *gl_grid_data_last(const gl_grid_data *d, int64_t i);

#ifdef __cplusplus
}
#endif
#endif
