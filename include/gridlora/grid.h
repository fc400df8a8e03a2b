/* gridlora/grid.h: the 2x2 grid: canvases, the cell of each canvas token, and layouts.
 *
 * A grid is four cell videos of the same size F x H x W tiled into one canvas video of
 * F x 2H x 2W (METHOD.md, stages 2 and 3):
 *
 *     +--------+--------+
 *     | cell 0 | cell 1 |      cell c sits at canvas rows    (c / 2) * H ... + H - 1
 *     +--------+--------+                     canvas columns (c % 2) * W ... + W - 1
 *     | cell 2 | cell 3 |
 *     +--------+--------+
 *
 * Usage, as Grid-Fill training and inference see it:
 *
 *     const gl_video *cells[4] = {&a, &b, &c, &d};
 *     gl_video canvas = {0};
 *     char msg[256];
 *     if (gl_grid_tile(&canvas, cells, msg, sizeof msg)) { puts(msg); ... }
 *     gl_patch_dims pd = {1, canvas.frames, canvas.height, canvas.width, 3, 2, 4, 4};
 *     int64_t T;
 *     if (gl_grid_check(pd, &T, msg, sizeof msg)) { puts(msg); ... } // fits cells
 *     gl_grid_token_cells(cell, pd);          // uint8 [T]: 0..3
 *     gl_grid_token_positions(pos, pd);       // int32 [T,3] for gl_rope_tables
 *     gl_grid_token_timesteps(t, pd, (float[4]){0, tn, tn, tn}, GL_GRID_CELL(1) |
 *                             GL_GRID_CELL(2) | GL_GRID_CELL(3));   // clean cell 0: t = 0
 *     gl_grid_video_mask(m, canvas.frames, canvas.height, canvas.width, 3, noised);
 *     ...
 *     gl_video out[4];
 *     gl_grid_split(out, &canvas, msg, sizeof msg);  // four cells, each to release
 *     for (int i = 0; i < 4; i++) gl_video_release(&out[i]);
 *     gl_video_release(&canvas);
 *
 *     gl_layout l;
 *     gl_layout_edit(&l, "<c17> a red striped star orbiting on sand",
 *                    (const char *[]){"smoke", "lights", "night"}, 3, msg, sizeof msg);
 *     char prompt[GL_LAYOUT_PROMPT_MAX];
 *     gl_layout_prompt(&l, prompt, sizeof prompt, msg, sizeof msg);
 *
 * Sets of cells are bitmasks: bit c (GL_GRID_CELL(c)) is cell c; GL_GRID_ALL is all four.
 * Every function that can fail returns 0 or a negative GL_E* code; those that take msg
 * put one line saying why into it (msg may be NULL when msglen is 0). Nothing here
 * keeps a pointer to its arguments. Functions are reentrant: no global state.
 */
#ifndef GRIDLORA_GRID_H
#define GRIDLORA_GRID_H

#include <stddef.h>
#include <stdint.h>

#include "gridlora/nn.h"
#include "gridlora/video.h"

#ifdef __cplusplus
extern "C" {
#endif

#define GL_GRID_CELLS 4
#define GL_GRID_CELL(c) (1u << (c))
#define GL_GRID_ALL 0xFu

/* ---- canvases ------------------------------------------------------------------ */

/* Tiles four cells (same frames, height and width, each >= 1) into *canvas, allocated
 * here with gl_video_alloc: F x 2H x 2W, cell c placed as drawn above. *canvas is
 * overwritten without being released first; the caller releases it with
 * gl_video_release. On failure *canvas is zeroed. GL_EINVAL: a NULL cell, a cell
 * without pixels, cells of different sizes, a canvas size that overflows;
 * GL_ENOMEM. */
int gl_grid_tile(gl_video *canvas, const gl_video *const cells[GL_GRID_CELLS], char *msg,
                 size_t msglen);

/* Splits a canvas of F x 2H x 2W back into four cells of F x H x W, each allocated here
 * (released by the caller, one gl_video_release each). cells[] is overwritten; on
 * failure all four are zeroed and nothing is left allocated. GL_EINVAL: a NULL or empty
 * canvas, an odd height or width; GL_ENOMEM. */
int gl_grid_split(gl_video cells[GL_GRID_CELLS], const gl_video *canvas, char *msg,
                  size_t msglen);

/* The same two moves on raw buffers the caller owns (batch items in an arena):
 * canvas [F, 2H, 2W, C], cells[c] [F, H, W, C]. Sizes must be >= 0 (asserted). */
void gl_grid_tile_rgb(float *canvas, const float *const cells[GL_GRID_CELLS], int64_t F,
                      int64_t H, int64_t W, int64_t C);
void gl_grid_split_rgb(float *const cells[GL_GRID_CELLS], const float *canvas, int64_t F,
                       int64_t H, int64_t W, int64_t C);

/* ---- tokens of a canvas ------------------------------------------------------- */

/* The functions below take the gl_patch_dims that gl_patchify_forward gets for the
 * canvas: d.F, d.H, d.W are the CANVAS's frames, height and width (2H x 2W of a cell),
 * d.pt, d.ph, d.pw the patch. They describe one batch item: d.B is ignored, T is
 * gl_patch_tokens(d) and every output covers the T tokens of one canvas in gl_patchify
 * order (frame, row, column). d.C is used only by gl_grid_token_mask.
 *
 * A grid is valid when F, H, W >= 1, H and W are even, and each patch lies inside one
 * cell: F % pt == 0, (H/2) % ph == 0, (W/2) % pw == 0. Each function returns GL_EINVAL
 * for an invalid grid without writing; gl_grid_check says why. */

/* 0 for a valid grid, with *T (may be NULL) the tokens per canvas; else GL_EINVAL and
 * one line in msg (e.g. "grid: patch height 4 straddles the cell border: cell height
 * 6 is not a multiple of it"). */
int gl_grid_check(gl_patch_dims d, int64_t *T, char *msg, size_t msglen);

/* cell[T]: the cell (0..3) each token lies in. */
int gl_grid_token_cells(uint8_t *cell, gl_patch_dims d);

/* pos[T,3]: (frame, row, column) of each token in PATCH units over the whole canvas,
 * the positions gl_rope_tables takes: token (tf, ty, tx) of the patch grid has
 * (tf, ty, tx), so cell 1's columns continue where cell 0's end and cell 2's rows
 * where cell 0's end: the cells sit side by side in one coordinate system. (This is a
 * model of rope_per_cell 0; with rope_per_cell 1 the model restarts them in each cell.)
 * GL_EINVAL also when a coordinate would not fit int32. */
int gl_grid_token_positions(int32_t *pos, gl_patch_dims d);

/* t_tok[T]: t_cell[c] for the tokens of a cell c in `noised`, 0 for the others (clean
 * context cells carry t = 0, METHOD.md "The model"). GL_EINVAL also for bits outside
 * GL_GRID_ALL. */
int gl_grid_token_timesteps(float *t_tok, gl_patch_dims d,
                            const float t_cell[GL_GRID_CELLS], unsigned noised);

/* mask[T, pt*ph*pw*C]: 1 for every element of a token whose cell is in `cells`, else 0:
 * the Grid-Fill loss mask on tokens (it is exactly the patchified gl_grid_video_mask).
 * GL_EINVAL also for d.C < 1 or bits outside GL_GRID_ALL. */
int gl_grid_token_mask(float *mask, gl_patch_dims d, unsigned cells);

/* mask[F, H, W, C] for a canvas of F x H x W (H, W the canvas's, both even, C >= 1):
 * 1 for every element inside a cell of `cells`, else 0: the Grid-Fill loss counts only
 * the noised cells. No patch is involved. GL_EINVAL for sizes < 1, an odd H or W, bits
 * outside GL_GRID_ALL or an element count that overflows. */
int gl_grid_video_mask(float *mask, int64_t F, int64_t H, int64_t W, int64_t C,
                       unsigned cells);

/* ---- layouts ------------------------------------------------------------------ */

/* A layout: a global prompt and four cells, each with a role and a prompt.
 *
 * Input cells hold given videos (clean, t = 0, the user's video at inference); output
 * cells are generated. Under the Grid LoRA attention masks (METHOD.md stage 2) an
 * input cell's queries read only the global prompt, its own prompt and its own video
 * tokens; an output cell's read every cell's video tokens, the global prompt and its own
 * prompt (so that each output cell follows its own prompt). no_masks = 1 is the
 * consistency mode: no masks at all, every cell reads every cell (for grids generated as
 * one consistent set); the built-ins set it to 0.
 *
 * Ownership: a gl_layout is a plain value. Its prompts are fixed-size arrays inside the
 * struct (at most GL_PROMPT_MAX - 1 bytes each, NUL-terminated); nothing is allocated,
 * there is nothing to free, and a copy by assignment is a full copy. Setters refuse
 * (GL_EINVAL) a prompt that is too long rather than cutting it, and one that contains a
 * marker of the joined prompt ("<grid>", "<cell0>".."<cell3>").
 */
#define GL_PROMPT_MAX 256

typedef enum gl_cell_role {
    GL_CELL_INPUT = 0,  /* a given video: clean, context */
    GL_CELL_OUTPUT = 1, /* generated: noised in training, sampled at inference */
} gl_cell_role;

typedef enum gl_layout_kind {
    GL_LAYOUT_CUSTOM = 0, /* built by gl_layout_init and the setters */
    GL_LAYOUT_EDIT,
    GL_LAYOUT_COMPOSE,
    GL_LAYOUT_CHARACTER,
    GL_LAYOUT_STORY,
} gl_layout_kind;

typedef struct gl_layout_cell {
    gl_cell_role role;
    char prompt[GL_PROMPT_MAX];
} gl_layout_cell;

typedef struct gl_layout {
    gl_layout_kind kind;
    char global[GL_PROMPT_MAX];           /* the global prompt */
    gl_layout_cell cell[GL_GRID_CELLS];
    int no_masks;                         /* 1: consistency mode, no attention masks */
} gl_layout;

/* A CUSTOM layout: empty prompts, every cell an output, masks on. Never fails. */
void gl_layout_init(gl_layout *l);

/* Set one prompt (NULL means ""), or a cell's role and prompt. GL_EINVAL for a prompt
 * of GL_PROMPT_MAX bytes or more, one holding a marker, a cell outside 0..3 or an
 * unknown role; the layout is unchanged then. */
int gl_layout_set_global(gl_layout *l, const char *prompt, char *msg, size_t msglen);
int gl_layout_set_cell(gl_layout *l, int cell, gl_cell_role role, const char *prompt,
                       char *msg, size_t msglen);

/* The built-ins (METHOD.md, "Layouts"). Each overwrites *l completely; its global prompt
 * is the layout's name ("edit", "compose", "character", "story"), which the caller may
 * replace with gl_layout_set_global. Prompt arguments may be "" unless said otherwise;
 * a NULL prompt is "". On failure (GL_EINVAL, with msg) *l is a CUSTOM layout as
 * gl_layout_init leaves it.
 *
 * edit: cell 0 INPUT, `concept_prompt`; cells 1..3 OUTPUT, the same concept with
 * effect i: "<concept_prompt> with <effects[i-1]>" (e.g. "a red star orbiting on sand
 * with smoke"), or "with <effect>" when concept_prompt is "". n_effects is 0..3, each
 * effect non-empty; the cells beyond n_effects hold the plain concept (a
 * reconstruction of the input). */
int gl_layout_edit(gl_layout *l, const char *concept_prompt, const char *const *effects,
                   int n_effects, char *msg, size_t msglen);

/* compose: cells 0 and 1 INPUT, concepts A and B on top; cells 2 and 3 OUTPUT, their
 * combinations below: combos[0] and combos[1] when given (n_combos 0..2, each
 * non-empty); else, when A and B are captions of the domain, the pair's caption with one
 * background (gl_caption_pair: A's for cell 2, B's for cell 3), as the grid stages are
 * trained; else "<A> and <B>" for cell 2 and "<B> and <A>" for cell 3. */
int gl_layout_compose(gl_layout *l, const char *concept_a, const char *concept_b,
                      const char *const *combos, int n_combos, char *msg, size_t msglen);

/* character: cell 0 INPUT, `concept_prompt`; cells 1..3 OUTPUT, the same concept in
 * new scenes or motions, scenes[i-1] verbatim (full prompts, e.g. "a red star bouncing
 * on snow"). n_scenes is 1..3, each non-empty; cells beyond n_scenes repeat the last. */
int gl_layout_character(gl_layout *l, const char *concept_prompt, const char *const *scenes,
                        int n_scenes, char *msg, size_t msglen);

/* story: grid `shot` (0 <= shot < n_shots, n_shots >= 1) of a chain of grids, one shot
 * per grid. A story of n_shots shots is n_shots grids, sampled in order:
 *   cell 0 INPUT: the context: for shot 0 the user's concept video with prompt
 *     `concept_prompt`; for shot k > 0 the video generated in cell GL_STORY_SHOT_CELL
 *     of grid k - 1 (split it out with gl_grid_split), prompt shots[k-1];
 *   cell 1 OUTPUT (GL_STORY_SHOT_CELL): shot k, prompt shots[k]: the video kept;
 *   cells 2, 3 OUTPUT: look-ahead, shots[k+1] and shots[k+2] (the last shot repeated
 *     past the end): they let shot k be generated knowing where the story goes, and are
 *     discarded (the next grid regenerates shot k+1 from shot k).
 * Each shot's output feeds the next as context, so identity and motion carry through
 * the chain. shots[0..n_shots-1] must be non-empty. */
#define GL_STORY_SHOT_CELL 1
int gl_layout_story(gl_layout *l, const char *concept_prompt, const char *const *shots,
                    int n_shots, int shot, char *msg, size_t msglen);

/* story, anchored: the same chain, but the user's video stays in every grid as identity
 * context, so a long story does not drift away from the concept one shot at a time.
 * Grid 0 is gl_layout_story's grid 0. Grid k > 0:
 *   cell 0 INPUT: the user's concept video, `concept_prompt`;
 *   cell 1 OUTPUT (GL_STORY_SHOT_CELL): shot k, shots[k]: the video kept;
 *   cell 2 INPUT (GL_STORY_PREV_CELL): the video generated in cell GL_STORY_SHOT_CELL of
 *     grid k - 1, shots[k-1];
 *   cell 3 OUTPUT: look-ahead, shots[k+1] (the last shot repeated past the end),
 *     discarded.
 * Arguments and failures as gl_layout_story. */
#define GL_STORY_PREV_CELL 2
int gl_layout_story_anchored(gl_layout *l, const char *concept_prompt,
                             const char *const *shots, int n_shots, int shot, char *msg,
                             size_t msglen);

/* The built-in named `name` ("edit", "compose", "character", "story"), its prompts taken
 * in order from prompts[0..n_prompts-1]:
 *   edit:      concept, effect 1..3           (1 to 4 prompts)
 *   compose:   A, B, combination 1..2         (2 to 4 prompts)
 *   character: concept, scene 1..3            (2 to 4 prompts)
 *   story:     concept, shot 0..              (2 or more; builds grid 0: use
 *                                              gl_layout_story for the next grids)
 * GL_ENOTFOUND for an unknown name (msg lists the names), GL_EINVAL as the builders. */
int gl_layout_by_name(gl_layout *l, const char *name, const char *const *prompts,
                      int n_prompts, char *msg, size_t msglen);

/* "edit", "compose", "character", "story", "custom"; NULL for an unknown kind. */
const char *gl_layout_kind_name(gl_layout_kind kind);
/* The built-in kind named "edit", "compose", "character" or "story"; -1 for any other
 * name (NULL included: "custom" is no built-in layout). */
int gl_layout_kind_from_name(const char *name);

/* The set of cells with the given role (a bitmask, see GL_GRID_CELL): the outputs are
 * the cells to noise, the inputs the cells to keep clean. */
unsigned gl_layout_cells(const gl_layout *l, gl_cell_role role);

/* The input cell whose video output cell c starts from when sampling begins below pure
 * noise (gl_sample_opts.strength < 1): the input cell above c when there is one (compose:
 * cell 2 from A, cell 3 from B, as their backgrounds), else the first input cell (edit,
 * character, story: the user's video). -1 when c is not an output cell, is outside 0..3,
 * or the layout has no input cell. */
int gl_layout_start_cell(const gl_layout *l, int c);

/* The grid's text: the global prompt and the four cell prompts joined with markers,
 *     "<grid> GLOBAL <cell0> P0 <cell1> P1 <cell2> P2 <cell3> P3"
 * one space between items, an empty prompt leaving only its marker ("<grid> <cell0> a"
 * when the global prompt is ""). The markers are single tokens of the tokenizer's
 * vocabulary: the text tokens from "<grid>" to "<cell0>" are the global prompt, those
 * from "<cellc>" to the next marker (or the end) are cell c's, which is what the
 * cross-attention mask needs. Roles are not written: they are carried by the attention
 * masks and the per-token timesteps.
 * Writes into buf[buflen] and returns 0; GL_EINVAL when the text does not fit (msg says
 * how many bytes it needs), buf then holding "" (when buflen >= 1). A buffer of
 * GL_LAYOUT_PROMPT_MAX bytes always suffices. */
#define GL_LAYOUT_PROMPT_MAX (5 * GL_PROMPT_MAX + 64)
int gl_layout_prompt(const gl_layout *l, char *buf, size_t buflen, char *msg,
                     size_t msglen);

/* ---- attention masks of a layout (METHOD.md stage 2) ---------------------------- */

/* The layout's masks for one canvas of patch dims d (as gl_patchify_forward's) and its
 * tokenized joined prompt text[0..text_len) (gl_layout_prompt through the tokenizer:
 * the markers <grid>, <cell0>..<cell3> are the ids grid_id and grid_id+1..grid_id+4):
 *   self_mask[T,T]:  an input cell's queries see only their own cell's tokens; an
 *                    output cell's see every token;
 *   cross_mask[T,L]: every cell's queries, input or output, see the global prompt and
 *                    their own cell's prompt (markers included), nothing of the others'.
 * L is the model's text length (columns past text_len are 0: they are padding anyway).
 * Returns 1 when the layout has no masks (no_masks: the consistency mode), writing
 * nothing: pass NULL masks to the model then, which costs nothing. 0 when written.
 * GL_EINVAL for an invalid grid, text_len > L, or text that does not start with the
 * <grid> marker. */
int gl_layout_masks(const gl_layout *l, gl_patch_dims d, const int32_t *text, int64_t text_len,
                    int64_t L, int32_t grid_id, uint8_t *self_mask, uint8_t *cross_mask);

/* The text encoder's mask [L,L] for the same tokenized joined prompt: a token of the
 * global prompt reads the global prompt; a token of cell c's prompt reads the global
 * prompt and cell c's. So what an input cell reads through cross-attention depends on
 * no other cell's prompt. Written even in the consistency mode (prompts stay apart
 * there too). GL_EINVAL as gl_layout_masks. */
int gl_layout_text_mask(const int32_t *text, int64_t text_len, int64_t L, int32_t grid_id,
                        uint8_t *text_mask);

#ifdef __cplusplus
}
#endif
#endif
