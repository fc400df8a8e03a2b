/* gridlora/selfcheck.h: the engine self-check: a one-block video transformer trained on
 * a toy denoising task, with its composed backward checked by finite differences.
 *
 *     gl_selfcheck_params sp = gl_selfcheck_default_params();
 *     gl_selfcheck_result res;
 *     char msg[256];
 *     if (gl_selfcheck_run(&sp, &res, msg, sizeof msg) != 0) fprintf(stderr, "%s\n", msg);
 *
 * It exercises every layer of gridlora/nn.h that a DiT block uses (patchify, linear,
 * layer norm, QK RMS-norm, 3D RoPE, attention, GELU, masked MSE, unpatchify) and the
 * core's arena, parameter store and AdamW: it is what `gridlora selfcheck` runs until
 * the real model exists, not a model of its own.
 */
#ifndef GRIDLORA_SELFCHECK_H
#define GRIDLORA_SELFCHECK_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct gl_selfcheck_params {
    int steps;      /* training steps (default 600) */
    int width;      /* transformer width, a multiple of 2 * heads (default 32) */
    int heads;      /* attention heads (default 2) */
    uint64_t seed;  /* weights and data (default 1) */
    float lr;       /* AdamW learning rate (default 3e-3) */
    /* called every `progress_every` steps (and at the last) when not NULL */
    void (*progress)(void *ctx, int step, int steps, double loss);
    void *progress_ctx;
    int progress_every;
} gl_selfcheck_params;

typedef struct gl_selfcheck_result {
    double loss_first, loss_last; /* mean loss of the first and the last 10% of steps */
    double grad_max_rel_err;      /* composed backward against float finite differences */
    int grad_checked;             /* parameter entries checked */
    double seconds;               /* training wall time */
    int64_t n_params;
    size_t arena_bytes;           /* activation memory of one step */
} gl_selfcheck_result;

gl_selfcheck_params gl_selfcheck_default_params(void);

/* Trains and checks. 0 on success; a negative GL_E* with a one-line reason in msg when
 * the parameters are bad or memory runs out. The caller judges the result's figures. */
int gl_selfcheck_run(const gl_selfcheck_params *p, gl_selfcheck_result *res, char *msg,
                     size_t msglen);

#ifdef __cplusplus
}
#endif
#endif
