/* nn/patchify.c: cutting a video [B,F,H,W,C] into patch tokens and putting them back.
 * Every video element belongs to exactly one token element, so all four directions are
 * one gather/scatter over (batch item, token), and threads never write the same float. */
#include <string.h>

#include "gridlora/core.h"
#include "gridlora/nn.h"

static void check_dims(gl_patch_dims d) {
    GL_ASSERT(d.B >= 0 && d.F >= 0 && d.H >= 0 && d.W >= 0 && d.C >= 0);
    GL_ASSERT(d.pt > 0 && d.ph > 0 && d.pw > 0);
    GL_ASSERT(d.F % d.pt == 0 && d.H % d.ph == 0 && d.W % d.pw == 0);
}

int64_t gl_patch_tokens(gl_patch_dims d) {
    check_dims(d);
    return (d.F / d.pt) * (d.H / d.ph) * (d.W / d.pw);
}

int64_t gl_patch_size(gl_patch_dims d) {
    check_dims(d);
    return d.pt * d.ph * d.pw * d.C;
}

/* Moves floats between tokens and video. to_tokens: src is the video, dst the tokens;
 * else the other way. add: dst += src (backward), else dst = src. A patch's (dx,
 * channel) run is contiguous on both sides, pw*C floats, so the copy goes by runs. */
static void move_patches(float *dst, const float *src, gl_patch_dims d, int to_tokens, int add) {
    int64_t nt = d.F / d.pt, nh = d.H / d.ph, nw = d.W / d.pw;
    int64_t ntok = nt * nh * nw, P = gl_patch_size(d), run = d.pw * d.C;
    if (run == 0) return;
#pragma omp parallel for schedule(static)
    for (int64_t bt = 0; bt < d.B * ntok; bt++) {
        int64_t b = bt / ntok, tok = bt % ntok;
        int64_t tf = tok / (nh * nw), ty = (tok / nw) % nh, tx = tok % nw;
        for (int64_t dt = 0; dt < d.pt; dt++)
            for (int64_t dy = 0; dy < d.ph; dy++) {
                int64_t f = tf * d.pt + dt, y = ty * d.ph + dy;
                int64_t voff = (((b * d.F + f) * d.H + y) * d.W + tx * d.pw) * d.C;
                int64_t toff = bt * P + (dt * d.ph + dy) * run;
                const float *s = src + (to_tokens ? voff : toff);
                float *o = dst + (to_tokens ? toff : voff);
                if (add)
                    for (int64_t k = 0; k < run; k++) o[k] += s[k];
                else
                    memcpy(o, s, (size_t)run * sizeof(float));
            }
    }
}

void gl_patchify_forward(float *tokens, const float *video, gl_patch_dims d) {
    check_dims(d);
    move_patches(tokens, video, d, 1, 0);
}

void gl_patchify_backward(float *dvideo, const float *dtokens, gl_patch_dims d) {
    check_dims(d);
    move_patches(dvideo, dtokens, d, 0, 1);
}

void gl_unpatchify_forward(float *video, const float *tokens, gl_patch_dims d) {
    check_dims(d);
    move_patches(video, tokens, d, 0, 0);
}

void gl_unpatchify_backward(float *dtokens, const float *dvideo, gl_patch_dims d) {
    check_dims(d);
    move_patches(dtokens, dvideo, d, 1, 1);
}
