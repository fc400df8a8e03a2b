/* pipeline/story.c: a story as a chain of zero-shot grids (apps.c's gl_app_run), each
 * shot's output cell fed to the next grid as context. Reads and writes no files: the CLI
 * does (cli/cmd_story.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gridlora/apps.h"
#include "gridlora/core.h"
#include "gridlora/data.h"
#include "gridlora/grids.h"
#include "gridlora/tokenizer.h"

#define SAY(rc, ...) (snprintf(msg, msglen, __VA_ARGS__), (rc))

static int story_layout(gl_layout *l, int anchored, const char *concept, const char *const *shots,
                        int n, int k, char *msg, size_t msglen) {
    return anchored ? gl_layout_story_anchored(l, concept, shots, n, k, msg, msglen)
                    : gl_layout_story(l, concept, shots, n, k, msg, msglen);
}

/* Every grid's layout and prompt, checked before the first sampling run: an unknown word
 * in the last shot should not cost the sampling of all the others first. */
static int check_chain(const gl_dit *m, int anchored, const char *concept, const char *const *shots, int n,
                       char *msg, size_t msglen) {
    const gl_dit_config *c = gl_dit_cfg(m);
    gl_tokenizer *tk = NULL;
    int32_t *ids = malloc((size_t)c->text_len * sizeof *ids);
    char why[512];
    int rc = ids ? gl_domain_tokenizer(c, &tk, why, sizeof why) : GL_ENOMEM;
    if (rc) {
        free(ids);
        return rc == GL_ENOMEM ? SAY(rc, "story: out of memory") : SAY(rc, "story: %s", why);
    }
    /* each prompt alone first, since grid k also holds shots k+1 and k+2 (look-ahead):
     * a bad word is blamed on its own shot */
    for (int k = -1; k < n && !rc; k++) {
        gl_layout l;
        int64_t len = 0;
        gl_layout_init(&l);
        rc = gl_layout_set_cell(&l, 0, GL_CELL_INPUT, k < 0 ? concept : shots[k], why, sizeof why);
        if (!rc) rc = gl_layout_tokenize(&l, tk, m, c->text_len, ids, &len, why, sizeof why);
        if (rc && k < 0) rc = SAY(rc, "story: the input's caption: %s", why);
        else if (rc) rc = SAY(rc, "story: shot %d: %s", k + 1, why);
    }
    for (int k = 0; k < n && !rc; k++) {
        gl_layout l;
        int64_t len = 0;
        rc = story_layout(&l, anchored, concept, shots, n, k, why, sizeof why);
        if (!rc) rc = gl_layout_tokenize(&l, tk, m, c->text_len, ids, &len, why, sizeof why);
        if (rc) rc = SAY(rc, "story: grid %d: %s", k + 1, why);
    }
    gl_tokenizer_free(&tk);
    free(ids);
    return rc;
}

/* Copies cell `cell` of a canvas [F, 2H, 2W, 3] into dst [F, H, W, 3]. */
static void take_cell(float *dst, const float *canvas, int64_t F, int64_t H, int64_t W, int cell) {
    const int64_t y0 = (cell / 2) * H, x0 = (cell % 2) * W, row = W * 3;
    for (int64_t f = 0; f < F; f++)
        for (int64_t y = 0; y < H; y++)
            memcpy(dst + (f * H + y) * row, canvas + ((f * 2 * H + y0 + y) * 2 * W + x0) * 3,
                   (size_t)row * sizeof(float));
}

int gl_app_story(gl_dit *m, const gl_video *input, const char *concept_prompt,
                 const char *const *shots, int n_shots, int anchored, const gl_sample_opts *so,
                 gl_video *story, gl_video *grids, gl_app_timing *timing, char *msg,
                 size_t msglen) {
    memset(story, 0, sizeof *story);
    if (grids) memset(grids, 0, sizeof *grids);
    if (timing) memset(timing, 0, sizeof *timing);
    const gl_dit_config *c = gl_dit_cfg(m);
    const int64_t F = c->frames, H = c->cell_h, W = c->cell_w;
    const char *concept = concept_prompt ? concept_prompt : "";
    if (n_shots < 1 || n_shots > GL_STORY_MAX_SHOTS)
        return SAY(GL_EINVAL, "story: %d shots; a story has 1 to %d", n_shots, GL_STORY_MAX_SHOTS);
    for (int k = 0; k < n_shots; k++)
        if (!shots || !shots[k] || !shots[k][0]) return SAY(GL_EINVAL, "story: shot %d has no prompt", k + 1);
    if (!input || !input->rgb)
        return SAY(GL_EINVAL, "story: no input video");
    if (input->frames != F || input->height != H || input->width != W)
        return SAY(GL_EINVAL, "story: the input is %lld frames of %lldx%lld; the model's cell is %lld of %lldx%lld",
                   (long long)input->frames, (long long)input->width, (long long)input->height,
                   (long long)F, (long long)W, (long long)H);
    int rc = check_chain(m, anchored, concept, shots, n_shots, msg, msglen);
    if (rc) return rc;
    if (gl_video_alloc(story, (int64_t)n_shots * F, H, W) ||
        (grids && gl_video_alloc(grids, (int64_t)n_shots * F, 2 * H, 2 * W))) {
        rc = SAY(GL_ENOMEM, "story: out of memory for %d shots", n_shots);
        goto end;
    }
    const int64_t shot_n = F * H * W * 3, grid_n = 4 * shot_n;
    for (int k = 0; k < n_shots; k++) {
        gl_layout l;
        char why[1024];
        if ((rc = story_layout(&l, anchored, concept, shots, n_shots, k, why, sizeof why))) {
            rc = SAY(rc, "story: shot %d: %s", k + 1, why);
            goto end;
        }
        /* the previous shot as the story holds it, not a copy: the context is its output
         * bit for bit */
        gl_video prev = {F, H, W, k ? story->rgb + (k - 1) * shot_n : NULL};
        const gl_video *in[GL_GRID_CELLS] = {input, NULL, NULL, NULL};
        if (k > 0) in[anchored ? GL_STORY_PREV_CELL : 0] = &prev;
        gl_sample_opts sk = *so;
        sk.seed = so->seed + (uint64_t)k;
        gl_video canvas = {0};
        gl_app_timing t;
        if ((rc = gl_app_run(m, &l, in, &sk, &canvas, &t, why, sizeof why))) {
            rc = SAY(rc, "story: shot %d: %s", k + 1, why);
            goto end;
        }
        take_cell(story->rgb + k * shot_n, canvas.rgb, F, H, W, GL_STORY_SHOT_CELL);
        if (grids) memcpy(grids->rgb + k * grid_n, canvas.rgb, (size_t)grid_n * sizeof(float));
        gl_video_release(&canvas);
        if (timing) {
            timing->prepare += t.prepare;
            timing->sample += t.sample;
        }
    }
end:
    if (rc) {
        gl_video_release(story);
        if (grids) gl_video_release(grids);
    }
    return rc;
}
