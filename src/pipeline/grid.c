/* pipeline/grid.c: 2x2 grid canvases, per-token cell ids, positions, masks and timesteps,
 * and the layouts with their joined prompt. It knows nothing of the model or the
 * tokenizer: it only says where each cell is and what each cell is asked for. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "gridlora/core.h"
#include "gridlora/grid.h"
#include "gridlora/nn.h"
#include "gridlora/render.h"
#include "gridlora/video.h"

/* Puts one line into msg (when there is room for it) and returns code. */
static int say(int code, char *msg, size_t msglen, const char *fmt, ...) {
    if (msg && msglen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, msglen, fmt, ap);
        va_end(ap);
    }
    return code;
}
#define FAIL(code, ...) return say((code), msg, msglen, __VA_ARGS__)

/* ---- canvases ------------------------------------------------------------------ */

/* Moves whole cell rows (W*C floats, contiguous on both sides) between the canvas
 * [F,2H,2W,C] and the cells [F,H,W,C]. to_canvas picks the direction. */
static void move_cells(float *canvas, float *const cells[GL_GRID_CELLS], int64_t F, int64_t H,
                       int64_t W, int64_t C, int to_canvas) {
    GL_ASSERT(F >= 0 && H >= 0 && W >= 0 && C >= 0);
    size_t run = (size_t)(W * C) * sizeof(float);
    if (run == 0) return;
    for (int64_t f = 0; f < F; f++)
        for (int64_t y = 0; y < 2 * H; y++)
            for (int64_t half = 0; half < 2; half++) {
                int c = (int)((y >= H ? 2 : 0) + half);
                float *cv = canvas + ((f * 2 * H + y) * 2 * W + half * W) * C;
                float *cl = cells[c] + ((f * H + y % H) * W) * C;
                if (to_canvas)
                    memcpy(cv, cl, run);
                else
                    memcpy(cl, cv, run);
            }
}

void gl_grid_tile_rgb(float *canvas, const float *const cells[GL_GRID_CELLS], int64_t F,
                      int64_t H, int64_t W, int64_t C) {
    /* move_cells only reads the cells in this direction; the cast keeps one routine. */
    float *cl[GL_GRID_CELLS];
    for (int c = 0; c < GL_GRID_CELLS; c++) cl[c] = (float *)cells[c];
    move_cells(canvas, cl, F, H, W, C, 1);
}

void gl_grid_split_rgb(float *const cells[GL_GRID_CELLS], const float *canvas, int64_t F,
                       int64_t H, int64_t W, int64_t C) {
    move_cells((float *)canvas, cells, F, H, W, C, 0);
}

static int video_ok(const gl_video *v) {
    return v && v->rgb && v->frames >= 1 && v->height >= 1 && v->width >= 1;
}

int gl_grid_tile(gl_video *canvas, const gl_video *const cells[GL_GRID_CELLS], char *msg,
                 size_t msglen) {
    if (!canvas) FAIL(GL_EINVAL, "grid: tile: no canvas to write");
    memset(canvas, 0, sizeof *canvas);
    if (!cells) FAIL(GL_EINVAL, "grid: tile: no cells");
    for (int c = 0; c < GL_GRID_CELLS; c++)
        if (!video_ok(cells[c])) FAIL(GL_EINVAL, "grid: tile: cell %d is missing or empty", c);
    const gl_video *a = cells[0];
    for (int c = 1; c < GL_GRID_CELLS; c++) {
        const gl_video *b = cells[c];
        if (b->frames != a->frames || b->height != a->height || b->width != a->width)
            FAIL(GL_EINVAL,
                 "grid: tile: cell %d is %lld frames of %lldx%lld, cell 0 %lld frames of "
                 "%lldx%lld: cells must match",
                 c, (long long)b->frames, (long long)b->width, (long long)b->height,
                 (long long)a->frames, (long long)a->width, (long long)a->height);
    }
    if (a->height > INT64_MAX / 2 || a->width > INT64_MAX / 2)
        FAIL(GL_EINVAL, "grid: tile: cells of %lldx%lld are too large for a canvas",
             (long long)a->width, (long long)a->height);
    int rc = gl_video_alloc(canvas, a->frames, 2 * a->height, 2 * a->width);
    if (rc) {
        memset(canvas, 0, sizeof *canvas);
        FAIL(rc, "grid: tile: canvas of %lld frames of %lldx%lld: %s", (long long)a->frames,
             (long long)(2 * a->width), (long long)(2 * a->height), gl_strerror(rc));
    }
    const float *src[GL_GRID_CELLS];
    for (int c = 0; c < GL_GRID_CELLS; c++) src[c] = cells[c]->rgb;
    gl_grid_tile_rgb(canvas->rgb, src, a->frames, a->height, a->width, 3);
    return GL_OK;
}

int gl_grid_split(gl_video cells[GL_GRID_CELLS], const gl_video *canvas, char *msg,
                  size_t msglen) {
    if (!cells) FAIL(GL_EINVAL, "grid: split: no cells to write");
    memset(cells, 0, GL_GRID_CELLS * sizeof cells[0]);
    if (!video_ok(canvas)) FAIL(GL_EINVAL, "grid: split: the canvas is missing or empty");
    if (canvas->height % 2 || canvas->width % 2)
        FAIL(GL_EINVAL, "grid: split: a canvas of %lldx%lld does not halve: width and height "
             "must be even", (long long)canvas->width, (long long)canvas->height);
    int64_t F = canvas->frames, H = canvas->height / 2, W = canvas->width / 2;
    float *dst[GL_GRID_CELLS];
    for (int c = 0; c < GL_GRID_CELLS; c++) {
        int rc = gl_video_alloc(&cells[c], F, H, W);
        if (rc) {
            for (int k = 0; k < GL_GRID_CELLS; k++) gl_video_release(&cells[k]);
            memset(cells, 0, GL_GRID_CELLS * sizeof cells[0]);
            FAIL(rc, "grid: split: cell of %lld frames of %lldx%lld: %s", (long long)F,
                 (long long)W, (long long)H, gl_strerror(rc));
        }
        dst[c] = cells[c].rgb;
    }
    gl_grid_split_rgb(dst, canvas->rgb, F, H, W, 3);
    return GL_OK;
}

/* ---- tokens of a canvas ------------------------------------------------------- */

int gl_grid_check(gl_patch_dims d, int64_t *T, char *msg, size_t msglen) {
    if (d.F < 1 || d.H < 1 || d.W < 1)
        FAIL(GL_EINVAL, "grid: canvas of %lld frames of %lldx%lld: sizes must be >= 1",
             (long long)d.F, (long long)d.W, (long long)d.H);
    if (d.H % 2 || d.W % 2)
        FAIL(GL_EINVAL, "grid: canvas of %lldx%lld does not halve into cells: width and "
             "height must be even", (long long)d.W, (long long)d.H);
    if (d.pt < 1 || d.ph < 1 || d.pw < 1)
        FAIL(GL_EINVAL, "grid: patch %lldx%lldx%lld: sizes must be >= 1", (long long)d.pt,
             (long long)d.ph, (long long)d.pw);
    if (d.F % d.pt)
        FAIL(GL_EINVAL, "grid: %lld frames are not a multiple of the patch's %lld",
             (long long)d.F, (long long)d.pt);
    if ((d.H / 2) % d.ph)
        FAIL(GL_EINVAL, "grid: patch height %lld straddles the cell border: cell height %lld "
             "is not a multiple of it", (long long)d.ph, (long long)(d.H / 2));
    if ((d.W / 2) % d.pw)
        FAIL(GL_EINVAL, "grid: patch width %lld straddles the cell border: cell width %lld "
             "is not a multiple of it", (long long)d.pw, (long long)(d.W / 2));
    int64_t n;
    if (gl_shape_numel(3, (int64_t[]){d.F, d.H, d.W}, &n))
        FAIL(GL_EINVAL, "grid: canvas of %lld frames of %lldx%lld is too large",
             (long long)d.F, (long long)d.W, (long long)d.H);
    if (T) *T = (d.F / d.pt) * (d.H / d.ph) * (d.W / d.pw);
    return GL_OK;
}

/* Walks the tokens in gl_patchify order, handing each one's (tf, ty, tx) and cell. */
typedef struct tok_walk {
    int64_t nt, nh, nw; /* tokens along frames, rows, columns of the canvas */
    int64_t ch, cw;     /* tokens along rows and columns of one cell */
} tok_walk;

static tok_walk walk_of(gl_patch_dims d) {
    tok_walk w = {d.F / d.pt, d.H / d.ph, d.W / d.pw, (d.H / 2) / d.ph, (d.W / 2) / d.pw};
    return w;
}

static int cell_of(const tok_walk *w, int64_t ty, int64_t tx) {
    return (ty >= w->ch ? 2 : 0) + (tx >= w->cw ? 1 : 0);
}

int gl_grid_token_cells(uint8_t *cell, gl_patch_dims d) {
    if (gl_grid_check(d, NULL, NULL, 0)) return GL_EINVAL;
    tok_walk w = walk_of(d);
    int64_t i = 0;
    for (int64_t tf = 0; tf < w.nt; tf++)
        for (int64_t ty = 0; ty < w.nh; ty++)
            for (int64_t tx = 0; tx < w.nw; tx++) cell[i++] = (uint8_t)cell_of(&w, ty, tx);
    return GL_OK;
}

int gl_grid_token_positions(int32_t *pos, gl_patch_dims d) {
    if (gl_grid_check(d, NULL, NULL, 0)) return GL_EINVAL;
    tok_walk w = walk_of(d);
    if (w.nt > INT32_MAX || w.nh > INT32_MAX || w.nw > INT32_MAX) return GL_EINVAL;
    int32_t *p = pos;
    for (int64_t tf = 0; tf < w.nt; tf++)
        for (int64_t ty = 0; ty < w.nh; ty++)
            for (int64_t tx = 0; tx < w.nw; tx++) {
                *p++ = (int32_t)tf;
                *p++ = (int32_t)ty;
                *p++ = (int32_t)tx;
            }
    return GL_OK;
}

int gl_grid_token_timesteps(float *t_tok, gl_patch_dims d, const float t_cell[GL_GRID_CELLS],
                            unsigned noised) {
    if (noised & ~GL_GRID_ALL || !t_cell) return GL_EINVAL;
    if (gl_grid_check(d, NULL, NULL, 0)) return GL_EINVAL;
    tok_walk w = walk_of(d);
    int64_t i = 0;
    for (int64_t tf = 0; tf < w.nt; tf++)
        for (int64_t ty = 0; ty < w.nh; ty++)
            for (int64_t tx = 0; tx < w.nw; tx++) {
                int c = cell_of(&w, ty, tx);
                t_tok[i++] = (noised & GL_GRID_CELL(c)) ? t_cell[c] : 0.0f;
            }
    return GL_OK;
}

int gl_grid_token_mask(float *mask, gl_patch_dims d, unsigned cells) {
    if (cells & ~GL_GRID_ALL || d.C < 1) return GL_EINVAL;
    if (gl_grid_check(d, NULL, NULL, 0)) return GL_EINVAL;
    int64_t n;
    if (gl_shape_numel(4, (int64_t[]){d.F, d.H, d.W, d.C}, &n)) return GL_EINVAL;
    tok_walk w = walk_of(d);
    int64_t P = d.pt * d.ph * d.pw * d.C;
    float *m = mask;
    for (int64_t tf = 0; tf < w.nt; tf++)
        for (int64_t ty = 0; ty < w.nh; ty++)
            for (int64_t tx = 0; tx < w.nw; tx++) {
                float v = (cells & GL_GRID_CELL(cell_of(&w, ty, tx))) ? 1.0f : 0.0f;
                for (int64_t k = 0; k < P; k++) *m++ = v;
            }
    return GL_OK;
}

int gl_grid_video_mask(float *mask, int64_t F, int64_t H, int64_t W, int64_t C,
                       unsigned cells) {
    if (cells & ~GL_GRID_ALL) return GL_EINVAL;
    if (F < 1 || H < 1 || W < 1 || C < 1 || H % 2 || W % 2) return GL_EINVAL;
    int64_t n;
    if (gl_shape_numel(4, (int64_t[]){F, H, W, C}, &n)) return GL_EINVAL;
    float *m = mask;
    for (int64_t f = 0; f < F; f++)
        for (int64_t y = 0; y < H; y++)
            for (int64_t half = 0; half < 2; half++) {
                int c = (y >= H / 2 ? 2 : 0) + (int)half;
                float v = (cells & GL_GRID_CELL(c)) ? 1.0f : 0.0f;
                for (int64_t k = 0; k < (W / 2) * C; k++) *m++ = v;
            }
    return GL_OK;
}

/* ---- layouts ------------------------------------------------------------------ */

static const char *const MARKERS[] = {"<grid>", "<cell0>", "<cell1>", "<cell2>", "<cell3>"};
enum { N_MARKERS = sizeof MARKERS / sizeof MARKERS[0] };

/* 0 when p fits a prompt field and holds no marker; `what` names it in msg. */
static int check_prompt(const char *p, const char *what, char *msg, size_t msglen) {
    size_t n = strlen(p);
    if (n >= GL_PROMPT_MAX)
        FAIL(GL_EINVAL, "layout: %s prompt is %zu bytes, at most %d allowed", what, n,
             GL_PROMPT_MAX - 1);
    for (int i = 0; i < N_MARKERS; i++)
        if (strstr(p, MARKERS[i]))
            FAIL(GL_EINVAL, "layout: %s prompt holds the marker '%s'", what, MARKERS[i]);
    return GL_OK;
}

void gl_layout_init(gl_layout *l) {
    GL_ASSERT(l);
    memset(l, 0, sizeof *l);
    l->kind = GL_LAYOUT_CUSTOM;
    for (int c = 0; c < GL_GRID_CELLS; c++) l->cell[c].role = GL_CELL_OUTPUT;
}

int gl_layout_set_global(gl_layout *l, const char *prompt, char *msg, size_t msglen) {
    if (!l) FAIL(GL_EINVAL, "layout: no layout");
    if (!prompt) prompt = "";
    int rc = check_prompt(prompt, "global", msg, msglen);
    if (rc) return rc;
    memcpy(l->global, prompt, strlen(prompt) + 1);
    return GL_OK;
}

int gl_layout_set_cell(gl_layout *l, int cell, gl_cell_role role, const char *prompt,
                       char *msg, size_t msglen) {
    if (!l) FAIL(GL_EINVAL, "layout: no layout");
    if (cell < 0 || cell >= GL_GRID_CELLS) FAIL(GL_EINVAL, "layout: no cell %d (0..3)", cell);
    if (role != GL_CELL_INPUT && role != GL_CELL_OUTPUT)
        FAIL(GL_EINVAL, "layout: cell %d: unknown role %d", cell, (int)role);
    if (!prompt) prompt = "";
    char what[16];
    snprintf(what, sizeof what, "cell %d", cell);
    int rc = check_prompt(prompt, what, msg, msglen);
    if (rc) return rc;
    l->cell[cell].role = role;
    memcpy(l->cell[cell].prompt, prompt, strlen(prompt) + 1);
    return GL_OK;
}

/* Sets cell `cell` to a + sep + b, refusing what does not fit. When a is "", sep loses
 * its leading spaces: ("", " with ", "smoke") gives "with smoke". */
static int set_cell_joined(gl_layout *l, int cell, gl_cell_role role, const char *a,
                           const char *sep, const char *b, char *msg, size_t msglen) {
    char buf[GL_PROMPT_MAX];
    if (!a[0]) sep += strspn(sep, " ");
    int n = snprintf(buf, sizeof buf, "%s%s%s", a, sep, b);
    if (n < 0 || n >= GL_PROMPT_MAX)
        FAIL(GL_EINVAL, "layout: cell %d prompt would be %d bytes, at most %d allowed", cell,
             n, GL_PROMPT_MAX - 1);
    return gl_layout_set_cell(l, cell, role, buf, msg, msglen);
}

/* Checks a caller's list of n prompts, n in [lo, hi], each non-NULL and non-empty. */
static int check_list(const char *const *list, int n, int lo, int hi, const char *what,
                      char *msg, size_t msglen) {
    if (n < lo || n > hi) {
        if (hi == lo) FAIL(GL_EINVAL, "layout: %d %s given, %d expected", n, what, lo);
        FAIL(GL_EINVAL, "layout: %d %s given, %d to %d expected", n, what, lo, hi);
    }
    if (n > 0 && !list) FAIL(GL_EINVAL, "layout: %d %s announced, none given", n, what);
    for (int i = 0; i < n; i++)
        if (!list[i] || !list[i][0]) FAIL(GL_EINVAL, "layout: %s %d is empty", what, i + 1);
    return GL_OK;
}

/* Starts a built-in: *l cleared to the kind, its global prompt its name. */
static void begin(gl_layout *l, gl_layout_kind kind) {
    gl_layout_init(l);
    l->kind = kind;
    snprintf(l->global, sizeof l->global, "%s", gl_layout_kind_name(kind));
}

/* Ends a built-in: on failure *l is left as gl_layout_init leaves it. */
static int finish(gl_layout *l, int rc) {
    if (rc) gl_layout_init(l);
    return rc;
}

int gl_layout_edit(gl_layout *l, const char *concept_prompt, const char *const *effects,
                   int n_effects, char *msg, size_t msglen) {
    if (!l) FAIL(GL_EINVAL, "layout: no layout");
    const char *cp = concept_prompt ? concept_prompt : "";
    begin(l, GL_LAYOUT_EDIT);
    int rc = check_list(effects, n_effects, 0, 3, "effects", msg, msglen);
    if (!rc) rc = gl_layout_set_cell(l, 0, GL_CELL_INPUT, cp, msg, msglen);
    for (int c = 1; c < GL_GRID_CELLS && !rc; c++)
        rc = c <= n_effects
                 ? set_cell_joined(l, c, GL_CELL_OUTPUT, cp, " with ", effects[c - 1], msg,
                                   msglen)
                 : gl_layout_set_cell(l, c, GL_CELL_OUTPUT, cp, msg, msglen);
    return finish(l, rc);
}

int gl_layout_compose(gl_layout *l, const char *concept_a, const char *concept_b,
                      const char *const *combos, int n_combos, char *msg, size_t msglen) {
    if (!l) FAIL(GL_EINVAL, "layout: no layout");
    const char *a = concept_a ? concept_a : "", *b = concept_b ? concept_b : "";
    begin(l, GL_LAYOUT_COMPOSE);
    int rc = check_list(combos, n_combos, 0, 2, "combinations", msg, msglen);
    if (!rc) rc = gl_layout_set_cell(l, 0, GL_CELL_INPUT, a, msg, msglen);
    if (!rc) rc = gl_layout_set_cell(l, 1, GL_CELL_INPUT, b, msg, msglen);
    for (int i = 0; i < 2 && !rc; i++) {
        char pair[GL_CAPTION_MAX];
        if (i < n_combos)
            rc = gl_layout_set_cell(l, 2 + i, GL_CELL_OUTPUT, combos[i], msg, msglen);
        else if (!gl_caption_pair(i ? b : a, i ? a : b, pair, sizeof pair))
            rc = gl_layout_set_cell(l, 2 + i, GL_CELL_OUTPUT, pair, msg, msglen);
        else if (!a[0] || !b[0]) /* "A and " would name a missing concept */
            rc = gl_layout_set_cell(l, 2 + i, GL_CELL_OUTPUT, i ? b : a, msg, msglen);
        else
            rc = set_cell_joined(l, 2 + i, GL_CELL_OUTPUT, i ? b : a, " and ", i ? a : b, msg,
                                 msglen);
    }
    return finish(l, rc);
}

int gl_layout_character(gl_layout *l, const char *concept_prompt, const char *const *scenes,
                        int n_scenes, char *msg, size_t msglen) {
    if (!l) FAIL(GL_EINVAL, "layout: no layout");
    begin(l, GL_LAYOUT_CHARACTER);
    int rc = check_list(scenes, n_scenes, 1, 3, "scenes", msg, msglen);
    if (!rc) rc = gl_layout_set_cell(l, 0, GL_CELL_INPUT, concept_prompt, msg, msglen);
    for (int c = 1; c < GL_GRID_CELLS && !rc; c++)
        rc = gl_layout_set_cell(l, c, GL_CELL_OUTPUT,
                                scenes[(c <= n_scenes ? c : n_scenes) - 1], msg, msglen);
    return finish(l, rc);
}

int gl_layout_story(gl_layout *l, const char *concept_prompt, const char *const *shots,
                    int n_shots, int shot, char *msg, size_t msglen) {
    if (!l) FAIL(GL_EINVAL, "layout: no layout");
    begin(l, GL_LAYOUT_STORY);
    int rc = n_shots < 1 ? say(GL_EINVAL, msg, msglen, "layout: a story needs a shot")
                         : check_list(shots, n_shots, 1, n_shots, "shots", msg, msglen);
    if (!rc && (shot < 0 || shot >= n_shots))
        rc = say(GL_EINVAL, msg, msglen, "layout: story shot %d of %d shots (0..%d)", shot,
                 n_shots, n_shots - 1);
    if (!rc)
        rc = gl_layout_set_cell(l, 0, GL_CELL_INPUT, shot ? shots[shot - 1] : concept_prompt,
                                msg, msglen);
    for (int c = 1; c < GL_GRID_CELLS && !rc; c++) {
        int k = shot + c - 1;
        rc = gl_layout_set_cell(l, c, GL_CELL_OUTPUT, shots[k < n_shots ? k : n_shots - 1],
                                msg, msglen);
    }
    return finish(l, rc);
}

int gl_layout_story_anchored(gl_layout *l, const char *concept_prompt,
                             const char *const *shots, int n_shots, int shot, char *msg,
                             size_t msglen) {
    int rc = gl_layout_story(l, concept_prompt, shots, n_shots, shot, msg, msglen);
    if (rc || shot == 0) return rc;
    int next = shot + 1 < n_shots ? shot + 1 : n_shots - 1;
    rc = gl_layout_set_cell(l, 0, GL_CELL_INPUT, concept_prompt, msg, msglen);
    if (!rc)
        rc = gl_layout_set_cell(l, GL_STORY_PREV_CELL, GL_CELL_INPUT, shots[shot - 1], msg,
                                msglen);
    if (!rc) rc = gl_layout_set_cell(l, 3, GL_CELL_OUTPUT, shots[next], msg, msglen);
    return finish(l, rc);
}

static const char *const KIND_NAMES[] = {
    [GL_LAYOUT_CUSTOM] = "custom",       [GL_LAYOUT_EDIT] = "edit",
    [GL_LAYOUT_COMPOSE] = "compose",     [GL_LAYOUT_CHARACTER] = "character",
    [GL_LAYOUT_STORY] = "story",
};

const char *gl_layout_kind_name(gl_layout_kind kind) {
    if ((int)kind < 0 || (size_t)kind >= sizeof KIND_NAMES / sizeof KIND_NAMES[0]) return NULL;
    return KIND_NAMES[kind];
}

int gl_layout_kind_from_name(const char *name) {
    for (int k = GL_LAYOUT_EDIT; k <= GL_LAYOUT_STORY && name; k++)
        if (!strcmp(name, KIND_NAMES[k])) return k;
    return -1;
}

int gl_layout_by_name(gl_layout *l, const char *name, const char *const *prompts,
                      int n_prompts, char *msg, size_t msglen) {
    if (!l) FAIL(GL_EINVAL, "layout: no layout");
    gl_layout_init(l);
    if (!name) name = "";
    if (n_prompts < 0 || (n_prompts > 0 && !prompts))
        FAIL(GL_EINVAL, "layout: %s: no prompts given", name);
    const char *const *rest = n_prompts > 0 ? prompts + 1 : NULL;
    if (!strcmp(name, "edit")) {
        if (n_prompts < 1 || n_prompts > 4)
            FAIL(GL_EINVAL, "layout: edit takes a concept and 0 to 3 effects (%d prompts "
                 "given)", n_prompts);
        return gl_layout_edit(l, prompts[0], rest, n_prompts - 1, msg, msglen);
    }
    if (!strcmp(name, "compose")) {
        if (n_prompts < 2 || n_prompts > 4)
            FAIL(GL_EINVAL, "layout: compose takes concepts A and B and 0 to 2 combinations "
                 "(%d prompts given)", n_prompts);
        return gl_layout_compose(l, prompts[0], prompts[1], prompts + 2, n_prompts - 2, msg,
                                 msglen);
    }
    if (!strcmp(name, "character")) {
        if (n_prompts < 2 || n_prompts > 4)
            FAIL(GL_EINVAL, "layout: character takes a concept and 1 to 3 scenes (%d prompts "
                 "given)", n_prompts);
        return gl_layout_character(l, prompts[0], rest, n_prompts - 1, msg, msglen);
    }
    if (!strcmp(name, "story")) {
        if (n_prompts < 2)
            FAIL(GL_EINVAL, "layout: story takes a concept and at least one shot (%d prompts "
                 "given)", n_prompts);
        return gl_layout_story(l, prompts[0], rest, n_prompts - 1, 0, msg, msglen);
    }
    FAIL(GL_ENOTFOUND, "layout: unknown layout '%s' (edit, compose, character, story)", name);
}

unsigned gl_layout_cells(const gl_layout *l, gl_cell_role role) {
    GL_ASSERT(l);
    unsigned set = 0;
    for (int c = 0; c < GL_GRID_CELLS; c++)
        if (l->cell[c].role == role) set |= GL_GRID_CELL(c);
    return set;
}

int gl_layout_start_cell(const gl_layout *l, int c) {
    GL_ASSERT(l);
    const unsigned in = gl_layout_cells(l, GL_CELL_INPUT);
    if (c < 0 || c >= GL_GRID_CELLS || (in & GL_GRID_CELL(c)) || !in) return -1;
    if (c >= 2 && (in & GL_GRID_CELL(c - 2))) return c - 2;
    for (int k = 0; k < GL_GRID_CELLS; k++)
        if (in & GL_GRID_CELL(k)) return k;
    return -1;
}

int gl_layout_prompt(const gl_layout *l, char *buf, size_t buflen, char *msg,
                     size_t msglen) {
    if (buf && buflen) buf[0] = '\0';
    if (!l) FAIL(GL_EINVAL, "layout: no layout");
    if (!buf && buflen) FAIL(GL_EINVAL, "layout: no buffer for the prompt");
    /* items in order: marker, prompt, marker, prompt, ... an empty prompt is skipped */
    const char *item[2 * (GL_GRID_CELLS + 1)];
    int n = 0;
    for (int i = 0; i <= GL_GRID_CELLS; i++) {
        const char *p = i ? l->cell[i - 1].prompt : l->global;
        /* a prompt field that is not terminated is our caller's bug, not a crash here */
        if (!memchr(p, '\0', GL_PROMPT_MAX))
            FAIL(GL_EINVAL, "layout: %s prompt is not terminated", i ? "a cell" : "the global");
        item[n++] = MARKERS[i];
        if (p[0]) item[n++] = p;
    }
    size_t need = 1; /* the NUL */
    for (int i = 0; i < n; i++) need += strlen(item[i]) + (i ? 1 : 0);
    if (need > buflen)
        FAIL(GL_EINVAL, "layout: the grid prompt needs %zu bytes, the buffer holds %zu", need,
             buflen);
    char *o = buf;
    for (int i = 0; i < n; i++) {
        if (i) *o++ = ' ';
        size_t k = strlen(item[i]);
        memcpy(o, item[i], k);
        o += k;
    }
    *o = '\0';
    return GL_OK;
}
