/* pipeline/apps.c: one zero-shot sampling run over a grid: input cells clean (t = 0,
 * re-imposed at every step by gl_sample), the layout's masks, output cells sampled. Reads
 * and writes no files: the CLI does (cli/app_common.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gridlora/apps.h"
#include "gridlora/core.h"
#include "gridlora/data.h"
#include "gridlora/grids.h"
#include "gridlora/tokenizer.h"

#define SAY(rc, ...) (snprintf(msg, msglen, __VA_ARGS__), (rc))

static double now_seconds(void) {
    struct timespec ts;
    timespec_get(&ts, TIME_UTC);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int gl_app_run(gl_dit *m, const gl_layout *l, const gl_video *const inputs[GL_GRID_CELLS],
               const gl_sample_opts *so, gl_video *canvas, gl_app_timing *timing, char *msg,
               size_t msglen) {
    memset(canvas, 0, sizeof *canvas);
    const gl_dit_config *c = gl_dit_cfg(m);
    const int64_t F = c->frames, H = c->cell_h, W = c->cell_w, L = c->text_len;
    const unsigned in = gl_layout_cells(l, GL_CELL_INPUT);
    if (c->channels != 3) return SAY(GL_EINVAL, "app: a model of %lld channels; videos have 3", (long long)c->channels);
    if (in == 0 || in == GL_GRID_ALL) return SAY(GL_EINVAL, "app: the layout needs input and output cells");
    for (int k = 0; k < GL_GRID_CELLS; k++) {
        const gl_video *v = inputs[k];
        if (!(in & GL_GRID_CELL(k))) {
            if (v) return SAY(GL_EINVAL, "app: cell %d is an output cell; no video goes there", k);
            continue;
        }
        if (!v || !v->rgb) return SAY(GL_EINVAL, "app: input cell %d has no video", k);
        if (v->frames != F || v->height != H || v->width != W)
            return SAY(GL_EINVAL, "app: input cell %d is %lld frames of %lldx%lld; the model's cell is %lld of %lldx%lld",
                       k, (long long)v->frames, (long long)v->width, (long long)v->height, (long long)F,
                       (long long)W, (long long)H);
    }
    double t0 = now_seconds();
    gl_patch_dims pd = {1, F, 2 * H, 2 * W, 3, c->patch_t, c->patch_h, c->patch_w};
    int64_t T = 0;
    char why[256];
    int rc = gl_grid_check(pd, &T, why, sizeof why);
    if (rc) return SAY(rc, "app: the model's canvas: %s", why);
    gl_video blank = {0};
    gl_tokenizer *tk = NULL;
    const int64_t n = F * 2 * H * 2 * W * 3;
    float *ctx = malloc((size_t)n * sizeof *ctx), *out = malloc((size_t)n * sizeof *out);
    float *init = so->strength < 1.0f ? malloc((size_t)n * sizeof *init) : NULL;
    int32_t *text = calloc((size_t)L, sizeof *text);
    uint8_t *cell = malloc((size_t)T), *clean = malloc((size_t)T);
    uint8_t *self = malloc((size_t)(T * T)), *cross = malloc((size_t)(T * L)), *tmask = malloc((size_t)(L * L));
    if (!ctx || !out || !text || !cell || !clean || !self || !cross || !tmask || (so->strength < 1.0f && !init) ||
        gl_video_alloc(&blank, F, H, W)) {
        rc = SAY(GL_ENOMEM, "app: out of memory");
        goto end;
    }
    const gl_video *tiles[GL_GRID_CELLS];
    if (init) { /* each output cell starts from its start cell's video (inputs checked above) */
        const float *from[GL_GRID_CELLS];
        for (int k = 0; k < GL_GRID_CELLS; k++) from[k] = (inputs[k] ? inputs[k] : inputs[gl_layout_start_cell(l, k)])->rgb;
        gl_grid_tile_rgb(init, from, F, H, W, 3);
        for (int64_t i = 0; i < n; i++) init[i] = 2.0f * init[i] - 1.0f;
    }
    for (int k = 0; k < GL_GRID_CELLS; k++) tiles[k] = inputs[k] ? inputs[k] : &blank;
    if ((rc = gl_grid_tile(canvas, tiles, msg, msglen))) goto end;
    for (int64_t i = 0; i < n; i++) ctx[i] = 2.0f * canvas->rgb[i] - 1.0f;
    gl_grid_token_cells(cell, pd);
    for (int64_t t = 0; t < T; t++) clean[t] = (in >> cell[t]) & 1u;
    int64_t len = 0;
    if ((rc = gl_domain_tokenizer(c, &tk, msg, msglen)) ||
        (rc = gl_layout_tokenize(l, tk, m, L, text, &len, msg, msglen)))
        goto end;
    rc = gl_layout_masks(l, pd, text, len, L, GL_TOK_GRID, self, cross);
    if (rc >= 0 && gl_layout_text_mask(text, len, L, GL_TOK_GRID, tmask) < 0) rc = GL_EINVAL;
    if (rc < 0) {
        rc = SAY(rc, "app: cannot build the layout's masks");
        goto end;
    }
    gl_sample_request r = {.F = F, .H = 2 * H, .W = 2 * W, .text = text, .text_len = (int32_t)len,
                           .context = ctx, .init = init, .clean = clean, .self_mask = rc == 1 ? NULL : self,
                           .cross_mask = rc == 1 ? NULL : cross, .text_mask = tmask};
    double t1 = now_seconds();
    if ((rc = gl_sample(m, so, &r, out, msg, msglen))) goto end;
    double t2 = now_seconds();
    /* outputs from the model; inputs stay the user's values exactly (no [-1,1] round trip) */
    const int64_t per_px = 3, px = F * 2 * H * 2 * W;
    for (int64_t p = 0; p < px; p++) {
        int64_t y = p / (2 * W) % (2 * H), x = p % (2 * W);
        int k = (y >= H ? 2 : 0) + (x >= W ? 1 : 0);
        if (in & GL_GRID_CELL(k)) continue;
        for (int64_t ch = 0; ch < per_px; ch++) canvas->rgb[p * 3 + ch] = 0.5f * (out[p * 3 + ch] + 1.0f);
    }
    if (timing) {
        timing->prepare = t1 - t0;
        timing->sample = t2 - t1;
    }
end:
    if (rc) gl_video_release(canvas);
    gl_video_release(&blank);
    gl_tokenizer_free(&tk);
    free(ctx); free(out); free(init); free(text); free(cell); free(clean); free(self); free(cross); free(tmask);
    return rc;
}
