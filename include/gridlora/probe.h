/* gridlora/probe.h: how well a model denoises, per noise level, on rendered concepts of
 * the held-out split: the figure that says whether a base model has learned the domain
 * (sampling starts at t = 1, so the high-noise end matters most).
 *
 *     double mse[5];
 *     const double t[5] = {0.05, 0.2, 0.5, 0.8, 0.95};
 *     gl_probe_denoise(model, t, 5, 8, 1, mse, NULL, NULL, msg, sizeof msg);
 */
#ifndef GRIDLORA_PROBE_H
#define GRIDLORA_PROBE_H

#include <stddef.h>
#include <stdint.h>

#include "gridlora/model.h"

#ifdef __cplusplus
extern "C" {
#endif

/* For each t[k]: the mean squared error of the model's clean estimate
 * x0_hat = x_t - t v_hat against the truth, over n_concepts held-out concepts (seeds from
 * seed) rendered at the model's cell size with their token-free captions, one fixed
 * noise draw each; mse_xt (may be NULL) gets the error of x_t itself for comparison;
 * mse_fg (may be NULL) the model's error over the subject's pixels only (those it covers
 * at least half of), where a caption's colour and shape live and which are a small part
 * of the frame. Values in the model's [-1, 1] range. 0, or a negative GL_E* with msg. */
int gl_probe_denoise(gl_dit *m, const double *t, int n_t, int n_concepts, uint64_t seed, double *mse,
                     double *mse_xt, double *mse_fg, char *msg, size_t msglen);

#ifdef __cplusplus
}
#endif
#endif
