/* gridlora/probe.h: how well a model denoises, per noise level, on rendered concepts of
 * the held-out split: the figure that says whether a base model has learned the domain
 * (sampling starts at t = 1, so the high-noise end matters most).
 *
 *     double mse[5];
 *     const double t[5] = {0.05, 0.2, 0.5, 0.8, 0.95};
 *     gl_probe_denoise(model, t, 5, 8, 1, 1.0, mse, NULL, NULL, msg, sizeof msg);
 */
#ifndef GRIDLORA_PROBE_H
#define GRIDLORA_PROBE_H

#include <stddef.h>
#include <stdint.h>

#include "gridlora/model.h"
#include "gridlora/sample.h"

#ifdef __cplusplus
extern "C" {
#endif

/* For each t[k]: the mean squared error of the model's clean estimate
 * x0_hat = x_t - t v_hat against the truth, over n_concepts held-out concepts (seeds from
 * seed; their subjects grown by scale, gl_concept_scale: 1 = the domain) rendered at the
 * model's cell size with their token-free captions, one fixed noise draw each; mse_xt
 * (may be NULL) gets the error of x_t itself for comparison; mse_fg (may be NULL) the
 * model's error over the subject's pixels only (those it covers at least half of), where
 * a caption's colour and shape live and which are a small part of the frame. Values in the model's [-1, 1] range. 0, or a negative GL_E* with msg. */
int gl_probe_denoise(gl_dit *m, const double *t, int n_t, int n_concepts, uint64_t seed, double scale, double *mse,
                     double *mse_xt, double *mse_fg, char *msg, size_t msglen);

/* Whether samples follow their captions: for each of n_concepts held-out concepts (seeds
 * from seed, subjects grown by scale as above), one video sampled with so from its
 * token-free caption and the concept's rendered video, both measured alike on the
 * foreground gl_eval_foreground finds:
 *   colour_share: the share of foreground pixels whose nearest colour of the domain's
 *     palette is the caption's colour (the subject's first colour; its texture's other
 *     colours are unnamed, so the truth's own share is below 1);
 *   present: the share of frames holding at least 4 foreground pixels;
 *   travel: the length of the foreground centroid's path over the frames, pixels;
 *   area: the share of the frames' pixels that are foreground (a subject drawn too big
 *     or too small shows here);
 *   shape_hit, shape_iou: gl_eval_shape_figures of the foreground against the caption's
 *     shape: the share of frames whose outline matches it best of the domain's shapes,
 *     and the mean intersection over union with it (the truth's own figures are the
 *     ceiling: at 32 x 32 pixels some shapes are hard to tell apart).
 * rows (may be NULL) gets one per concept, means the averages. 0, or a negative GL_E*
 * with msg. */
typedef struct gl_probe_caption_row {
    char caption[256];
    double colour_share, colour_share_truth;
    double present, present_truth;
    double travel, travel_truth;
    double area, area_truth;
    double shape_hit, shape_hit_truth;
    double shape_iou, shape_iou_truth;
} gl_probe_caption_row;

int gl_probe_captions(gl_dit *m, int n_concepts, uint64_t seed, double scale, const gl_sample_opts *so,
                      gl_probe_caption_row *rows, gl_probe_caption_row *means, char *msg, size_t msglen);

#ifdef __cplusplus
}
#endif
#endif
