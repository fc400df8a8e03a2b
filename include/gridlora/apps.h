/* gridlora/apps.h: the zero-shot applications (METHOD.md stage 3): the user's video(s)
 * fill a grid's input cells as clean context, the layout's attention masks are on, and
 * one sampling run fills the output cells. No per-video training.
 *
 *     gl_layout l;
 *     gl_layout_edit(&l, "", NULL, 0, msg, sizeof msg);   // then set the output prompts
 *     const gl_video *in[4] = {&user_video, NULL, NULL, NULL}; // one per input cell
 *     gl_video canvas = {0};
 *     gl_app_run(m, &l, in, &sample_opts, &canvas, NULL, msg, sizeof msg);
 *     gl_video cells[4];
 *     gl_grid_split(cells, &canvas, msg, sizeof msg);
 *
 * A story chains such runs, each shot's output the next grid's context:
 *
 *     gl_video story = {0};
 *     gl_app_story(m, &user_video, "a red star", (const char *[]){"a red star on snow",
 *                  "a red star bouncing"}, 2, 1, &sample_opts, &story, NULL, NULL, msg,
 *                  sizeof msg);
 *
 * Thread safety: one run at a time per model. Nothing keeps a pointer to the arguments.
 */
#ifndef GRIDLORA_APPS_H
#define GRIDLORA_APPS_H

#include <stddef.h>
#include <stdint.h>

#include "gridlora/grid.h"
#include "gridlora/model.h"
#include "gridlora/sample.h"
#include "gridlora/video.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The guidance scale the grid apps (edit, compose, character, story) sample with by
 * default: none (1), where `generate` keeps 3. The clean input cells steer the canvas;
 * guidance on top overdrew every effect and redrew the scene with patch seams (edits
 * 1.6-7.4 dB below no guidance at shift 2), and at shift 8 it cost composition 3.7-4.2 dB
 * and `character`'s new backgrounds 8-9 dB on held-out concepts (models/default/TRAINING.md,
 * "Guidance in the grid" and "Guidance at shift 8"). Story, a chain of grids like
 * character's, follows unmeasured. */
#define GL_GRID_DEFAULT_CFG 1.0f

/* The timestep shift the grid apps (edit, compose, character, story) sample with by
 * default: 8 (more of the steps at high noise), where `generate` keeps 2. Held-out edits,
 * `same` and compose gained 0.4-0.8 dB from shift 2 to 8 on two concept sets, 4 in
 * between, 1 below, 16 level with 8 (models/default/TRAINING.md, "The grid's timestep
 * shift"). Measured on the edit and compose layouts; character and story follow them
 * unmeasured. */
#define GL_GRID_DEFAULT_SHIFT 8.0f

/* The Euler steps the grid apps (edit, compose, character, story) sample with by default:
 * 10, where `generate` keeps 20. With the clean input cells steering the canvas, the
 * shipped Grid-Fill adapter's held-out edits, compose and same gained 0.2-0.6 dB from 20
 * steps to 10 on both concept sets, identity level or better, motion level or better but
 * for shadow on one set; 40 steps lost 0.3-0.8 dB against 20, 6 and 8 were level with 10,
 * 4 below; the outputs are a little smoother, and their frame-to-frame change strays a
 * little further from the truth's on three effects (models/default/TRAINING.md, "Sampling
 * steps in the grid"). Half the time, too. Measured on the edit, compose and character
 * layouts; story follows unmeasured. */
#define GL_GRID_DEFAULT_STEPS 10

/* Timings of one run, in seconds. */
typedef struct gl_app_timing {
    double prepare, sample; /* tiling, tokens and masks; the sampling run */
} gl_app_timing;

/* Fills the output cells of layout l. inputs[c] is the video of input cell c (NULL for
 * output cells), each of the model's cell size (cfg frames x cell_h x cell_w, values in
 * [0, 1]); at least one cell must be an input and one an output. The prompt is the
 * layout's (gl_layout_tokenize with the domain tokenizer), the masks gl_layout_masks'
 * (none in the consistency mode). *canvas (F x 2 cell_h x 2 cell_w, in [0, 1]) is
 * allocated here and released by the caller with gl_video_release; its input cells are
 * the inputs bit for bit. timing may be NULL. GL_EINVAL (msg says why) for a missing or
 * misfit input, an input given for an output cell, a layout without inputs or outputs;
 * the model's and the tokenizer's errors; GL_ENOMEM. On failure *canvas is zeroed. */
int gl_app_run(gl_dit *m, const gl_layout *l, const gl_video *const inputs[GL_GRID_CELLS],
               const gl_sample_opts *so, gl_video *canvas, gl_app_timing *timing, char *msg,
               size_t msglen);

/* A story (METHOD.md, "Layouts"): a chain of n_shots grids, one gl_app_run each, in
 * order. Grid k is gl_layout_story_anchored's (anchored = 1: the input stays in cell 0
 * of every grid) or gl_layout_story's (anchored = 0: only the previous shot is
 * context); its shot cell (GL_STORY_SHOT_CELL) becomes, bit for bit, the previous-shot
 * input cell of grid k + 1, so each shot carries the identity and motion of the one
 * before. Grid k samples with seed so->seed + k: every shot gets its own noise.
 * `input` is the user's video at the model's cell size (F x H x W, in [0, 1]);
 * concept_prompt describes it ("" or NULL for none); shots[0..n_shots-1] are the shots'
 * prompts, 1 <= n_shots <= GL_STORY_MAX_SHOTS.
 * *story (n_shots F x H x W) is the shots one after another: frames k F .. k F + F - 1
 * are shot k. *grids (n_shots F x 2H x 2W; NULL when not wanted) is the grids one after
 * another in the same way. Both are allocated here and released by the caller with
 * gl_video_release. timing (may be NULL) sums the grids'. GL_EINVAL (msg says why, with
 * the shot for a failure inside the chain) for a bad shot count or prompt, a misfit
 * input; gl_app_run's errors; GL_ENOMEM. On failure both are zeroed. */
#define GL_STORY_MAX_SHOTS 64
int gl_app_story(gl_dit *m, const gl_video *input, const char *concept_prompt,
                 const char *const *shots, int n_shots, int anchored, const gl_sample_opts *so,
                 gl_video *story, gl_video *grids, gl_app_timing *timing, char *msg,
                 size_t msglen);

#ifdef __cplusplus
}
#endif
#endif
