/* pipeline/sample.c: Euler sampling of the rectified flow with classifier-free guidance by
 * the prompt and by the clean context; the conditional branch and the guidance branches
 * (empty or negative prompt; no context) run as one batch. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gridlora/sample.h"

gl_sample_opts gl_sample_default_opts(void) {
    return (gl_sample_opts){.steps = 20, .cfg = 3.0f, .shift = 2.0f, .context_cfg = 1.0f, .strength = 1.0f,
                            .seed = 1};
}

double gl_sample_time(const gl_sample_opts *o, int i) {
    const double s = o->shift, g = o->strength;
    /* the unshifted time the strength shifts to; exactly 1 at strength 1, so that the
     * schedule without a start is the one it always was, to the last bit */
    const double top = g >= 1.0 ? 1.0 : g / (s - (s - 1.0) * g);
    double t = top * (1.0 - (double)i / (double)o->steps);
    return s * t / (1.0 + (s - 1.0) * t);
}

int gl_sample(gl_dit *m, const gl_sample_opts *o, const gl_sample_request *r, float *out, char *msg,
              size_t msglen) {
    const gl_dit_config *c = gl_dit_cfg(m);
    if (o->steps < 1 || o->steps > 10000 || !(o->cfg >= 0) || !(o->shift > 0) || !(o->context_cfg >= 0) ||
        !isfinite(o->cfg) || !isfinite(o->context_cfg)) {
        snprintf(msg, msglen, "sample: steps must be in [1, 10000], cfg and context_cfg finite and >= 0, shift > 0");
        return GL_EINVAL;
    }
    if (!(o->strength > 0.0f && o->strength <= 1.0f)) {
        snprintf(msg, msglen, "sample: strength %g is not in (0, 1]", (double)o->strength);
        return GL_EINVAL;
    }
    if (r->F < 1 || r->H < 1 || r->W < 1 || r->F % c->patch_t || r->H % c->patch_h || r->W % c->patch_w) {
        snprintf(msg, msglen, "sample: %lldx%lldx%lld does not divide into the model's %lldx%lldx%lld patches",
                 (long long)r->F, (long long)r->H, (long long)r->W, (long long)c->patch_t, (long long)c->patch_h,
                 (long long)c->patch_w);
        return GL_EINVAL;
    }
    const int64_t gh = r->H / c->patch_h, gw = r->W / c->patch_w;
    const int64_t T = (r->F / c->patch_t) * gh * gw, n = r->F * r->H * r->W * c->channels;
    int any_clean = 0;
    for (int64_t k = 0; r->clean && k < T && !any_clean; k++) any_clean = r->clean[k] != 0;
    /* the batch: [0] the prompt, [ng] the empty or negative prompt, [nc] the prompt
     * without the context; a branch not wanted is absent */
    const int guided = o->cfg != 1.0f, ctx_guided = o->context_cfg != 1.0f && any_clean;
    const int from_init = o->strength < 1.0f;
    if (from_init && !r->init) {
        snprintf(msg, msglen, "sample: strength %g needs a video to start from", (double)o->strength);
        return GL_EINVAL;
    }
    if (from_init && ctx_guided) {
        /* the no-context branch would have no start of its own at that noise level */
        snprintf(msg, msglen, "sample: strength below 1 and guidance by the context (context_cfg) do not combine");
        return GL_EINVAL;
    }
    const int64_t ng = guided ? 1 : 0, nc = ctx_guided ? 1 + ng : 0, B = 1 + ng + (ctx_guided ? 1 : 0);
    const int64_t L = c->text_len, C = c->channels;
    float *x = malloc((size_t)(B * n) * sizeof(float)), *v = malloc((size_t)(B * n) * sizeof(float));
    float *t = malloc((size_t)(B * T) * sizeof(float));
    int32_t *text = calloc((size_t)(B * L), sizeof(int32_t));
    int32_t lens[3] = {r->text_len, r->text_len, r->text_len};
    uint8_t *tokclean = calloc((size_t)(r->F * r->H * r->W), 1); /* per pixel: from a clean token */
    gl_arena *arena = NULL;
    int rc = gl_arena_new(&arena, gl_dit_arena_bytes(m, B, r->F, r->H, r->W));
    if (rc || !x || !v || !t || !text || !tokclean) {
        snprintf(msg, msglen, "sample: out of memory");
        rc = GL_ENOMEM;
        goto end;
    }
    const int bad_text = r->text_len < 0 || r->text_len > L;
    if (bad_text || (r->neg_text && (r->neg_text_len < 0 || r->neg_text_len > L))) {
        snprintf(msg, msglen, "sample: %sprompt of %d tokens; the model takes at most %lld", bad_text ? "" : "negative ",
                 bad_text ? r->text_len : r->neg_text_len, (long long)L);
        rc = GL_EINVAL;
        goto end;
    }
    memcpy(text, r->text, (size_t)L * sizeof(int32_t));
    if (guided) lens[ng] = r->neg_text ? r->neg_text_len : 0;
    if (guided && r->neg_text) memcpy(text + ng * L, r->neg_text, (size_t)L * sizeof(int32_t));
    if (ctx_guided) memcpy(text + nc * L, r->text, (size_t)L * sizeof(int32_t));
    if (r->clean)
        for (int64_t f = 0; f < r->F; f++)
            for (int64_t y = 0; y < r->H; y++)
                for (int64_t xx = 0; xx < r->W; xx++)
                    tokclean[(f * r->H + y) * r->W + xx] =
                        r->clean[((f / c->patch_t) * gh + y / c->patch_h) * gw + xx / c->patch_w];
    gl_rng rng;
    gl_rng_seed(&rng, o->seed);
    for (int64_t i = 0; i < n; i++) x[i] = (float)gl_rng_normal(&rng);
    if (from_init) {
        const float t0 = (float)gl_sample_time(o, 0);
        for (int64_t i = 0; i < n; i++) x[i] = (1.0f - t0) * r->init[i] + t0 * x[i];
    }
    /* drawn after the canvas's noise, so that the other branches' draws do not change */
    if (ctx_guided)
        for (int64_t i = 0; i < n; i++) x[nc * n + i] = (float)gl_rng_normal(&rng);
    gl_dit_batch db = {.B = B, .F = r->F, .H = r->H, .W = r->W, .x = x, .t = t, .text = text, .text_lens = lens,
                       .self_mask = r->self_mask, .cross_mask = r->cross_mask, .text_mask = r->text_mask};
    for (int s = 0; s < o->steps; s++) {
        double tc = gl_sample_time(o, s), tn = gl_sample_time(o, s + 1);
        /* clean context: given values, t = 0, in the prompt branches; the no-context
         * branch shares the sampled tokens and keeps its own path where the context is */
        for (int64_t i = 0; i < n; i++)
            if (tokclean[i / C]) x[i] = r->context[i];
        if (guided) memcpy(x + ng * n, x, (size_t)n * sizeof(float));
        if (ctx_guided)
            for (int64_t i = 0; i < n; i++)
                if (!tokclean[i / C]) x[nc * n + i] = x[i];
        for (int64_t b = 0; b < B; b++)
            for (int64_t k = 0; k < T; k++)
                t[b * T + k] = r->clean && r->clean[k] && !(ctx_guided && b == nc) ? 0.0f : (float)tc;
        gl_arena_reset(arena);
        if ((rc = gl_dit_forward(m, arena, &db, v, msg, msglen))) goto end;
        const float dt = (float)(tn - tc), cg = o->context_cfg - 1.0f;
        for (int64_t i = 0; i < n; i++) {
            float vi = guided ? v[ng * n + i] + o->cfg * (v[i] - v[ng * n + i]) : v[i];
            if (ctx_guided) {
                vi += cg * (v[i] - v[nc * n + i]);
                if (tokclean[i / C]) x[nc * n + i] += dt * v[nc * n + i];
            }
            x[i] += dt * vi;
        }
    }
    for (int64_t i = 0; i < n; i++) {
        float xi = tokclean[i / C] ? r->context[i] : x[i];
        out[i] = xi < -1.0f ? -1.0f : xi > 1.0f ? 1.0f : xi;
        if (!isfinite(x[i])) {
            snprintf(msg, msglen, "sample: the model produced non-finite values (broken weights?)");
            rc = GL_EFORMAT;
            goto end;
        }
    }
end:
    free(x); free(v); free(t); free(text); free(tokclean);
    gl_arena_free(&arena);
    return rc;
}
