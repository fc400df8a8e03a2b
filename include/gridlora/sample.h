/* gridlora/sample.h: generating videos from a DiT: Euler steps of the rectified flow
 * from noise (t = 1) to data (t = 0) on a shifted schedule, with classifier-free
 * guidance (against the empty prompt, or a negative prompt), and optional clean context
 * tokens (the grid cells a user supplies), which keep their given values and t = 0
 * throughout, and optional guidance by that context (context_cfg).
 *
 *     gl_sample_opts so = gl_sample_default_opts();
 *     gl_sample(model, &so, &req, out_video_rgb, msg, sizeof msg);
 */
#ifndef GRIDLORA_SAMPLE_H
#define GRIDLORA_SAMPLE_H

#include <stddef.h>
#include <stdint.h>

#include "gridlora/model.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct gl_sample_opts {
    int steps;      /* Euler steps (default 20) */
    float cfg;      /* guidance scale; 1 = no guidance, one model call per step (default 3) */
    float shift;    /* schedule shift: t' = s t / (1 + (s - 1) t); > 1 spends steps at high noise (default 2) */
    /* guidance by the clean context (default 1: none). Not 1, with clean tokens given,
     * one more branch sees the prompt but not the context: its context tokens follow
     * their own path from noise at the step's t, as if nothing were given there, and
     * (context_cfg - 1) (v(text) - v(text, no context)) is added to the velocity on top
     * of the prompt's guidance: what the given cells say is amplified. One model call
     * more a step; without clean tokens it changes nothing. */
    float context_cfg;
    /* the noise level the sampled tokens start from (default 1: pure noise). Below 1
     * (SDEdit, Meng et al. 2021) they start from the request's init video noised to
     * that level, x = (1 - strength) init + strength e, and the schedule's steps all lie
     * below it: the start's broad colours and layout survive, its detail is redrawn.
     * Needs init; does not combine with context guidance. */
    float strength;
    uint64_t seed;  /* the initial noise */
} gl_sample_opts;

gl_sample_opts gl_sample_default_opts(void);

/* What to generate: one video (canvas) of F x H x W and its prompt. */
typedef struct gl_sample_request {
    int64_t F, H, W;
    const int32_t *text;            /* [text_len of the model], 0-padded */
    int32_t text_len;               /* tokens in use */
    /* optional [text_len of the model], 0-padded: guidance pushes away from this prompt
     * instead of the empty one (a negative prompt): v = v(neg) + cfg (v(text) - v(neg)),
     * so what text says and neg does not is amplified. NULL: the empty prompt. No
     * effect at cfg 1. Masks (below) apply to both prompts' positions alike. */
    const int32_t *neg_text;
    int32_t neg_text_len;
    const float *context;           /* optional [F,H,W,channels] in [-1,1]: values of clean tokens */
    const float *init;              /* [F,H,W,channels] in [-1,1]: the start under strength < 1
                                       (read where tokens are sampled); else unused, may be NULL */
    const uint8_t *clean;           /* optional [T]: 1 = token given by context */
    const uint8_t *self_mask;       /* optional [T,T] */
    const uint8_t *cross_mask;      /* optional [T,text_len] */
    const uint8_t *text_mask;       /* optional [text_len,text_len] (model.h) */
} gl_sample_request;

/* Writes out [F,H,W,channels] in [-1,1] (clamped). 0 or a negative GL_E* with msg. */
int gl_sample(gl_dit *m, const gl_sample_opts *o, const gl_sample_request *r, float *out,
              char *msg, size_t msglen);

/* The schedule's timestep i of n (i = 0 gives o->strength, 1 by default; i = n gives 0):
 * the shifted schedule from 1 to 0, squeezed below the strength in its unshifted time. */
double gl_sample_time(const gl_sample_opts *o, int i);

#ifdef __cplusplus
}
#endif
#endif
