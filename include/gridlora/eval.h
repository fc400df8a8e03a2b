/* gridlora/eval.h: the paper's comparison on our domain (METHOD.md, "What must be
 * shown"): zero-shot Grid-Fill against test-time fine-tuning (TTFT), copying the input and
 * the base model prompted with words, each output scored against the renderer's exact
 * truth.
 *
 * Two halves. The metrics are pure functions over gl_video (values in [0, 1], F x H x W):
 *
 *     double db, id, px;
 *     gl_eval_psnr(&out, &truth, &db);                 // PSNR, dB
 *     gl_eval_identity(&out, &truth, alpha, &id);      // subject colour statistics
 *     gl_eval_motion(&out, &truth, &px);               // centroid path error, pixels
 *
 * where alpha [F*H*W] is the subject's visible coverage as gl_render_scene gives it. The
 * run renders held-out concepts, runs the four methods on each and scores them:
 *
 *     gl_eval_params p = gl_eval_default_params();
 *     p.heldout = 8; p.loras = grid_and_fill; p.lora_weights = w; p.n_loras = 2;
 *     gl_eval_concept *res = calloc(p.heldout, sizeof *res);
 *     for (int64_t i = 0; i < p.heldout; i++) gl_eval_concept_run(m, &p, i, &res[i], msg, sizeof msg);
 *     cJSON *j = gl_eval_json(&p, m, res, p.heldout);
 *
 * Errors: 0 or a negative GL_E*; msg takes one line. Nothing keeps a pointer to its
 * arguments. The metrics are reentrant; the run uses the model (one run per model).
 */
#ifndef GRIDLORA_EVAL_H
#define GRIDLORA_EVAL_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "gridlora/lora.h"
#include "gridlora/model.h"
#include "gridlora/render.h"
#include "gridlora/sample.h"
#include "gridlora/ttft.h"
#include "gridlora/video.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- metrics ------------------------------------------------------------------------ */

/* PSNRs above this (identical videos: infinite) are reported as it. */
#define GL_EVAL_PSNR_MAX 100.0

/* PSNR of x against truth over every value, peak 1: 10 log10(1 / MSE), at most
 * GL_EVAL_PSNR_MAX. GL_EINVAL for videos of different sizes or without pixels. */
int gl_eval_psnr(const gl_video *x, const gl_video *truth, double *db);

/* The weighted mean and standard deviation of each colour channel over every frame,
 * pixel p weighing weight[p] (weight [F*H*W] >= 0, e.g. a subject's coverage). GL_EINVAL
 * when the weights sum to 0 (nothing to measure). */
int gl_eval_fg_stats(const gl_video *v, const float *weight, double mean[3], double std[3]);

/* Identity: how far x's colours on the subject are from the truth's, both measured where
 * the renderer put the subject (alpha, the truth's coverage): the mean over channels of
 * |mean_x - mean_truth| + |std_x - std_truth| (gl_eval_fg_stats), 0 for the same
 * colours; background pixels do not count. GL_EINVAL for size mismatches or an empty
 * alpha. */
int gl_eval_identity(const gl_video *x, const gl_video *truth, const float *alpha, double *dist);

/* Background subtraction: a pixel is foreground in a frame when its colour is farther
 * than GL_EVAL_FG_THRESHOLD (RGB Euclidean) from the video's own per-pixel temporal
 * median (the static background our scenes have), then a 3x3 opening removes what is
 * thinner than 3 pixels (rain streaks, noise) unless that would empty the frame. Needs no
 * truth, so any method's output is measured alike. mask [F*H*W] gets 0 or 1.
 * GL_EINVAL for an empty video. */
#define GL_EVAL_FG_THRESHOLD 0.15
int gl_eval_foreground(const gl_video *v, float *mask);

/* The weighted centroid of each frame of w [F*H*W], in pixels, pixel (x, y) at (x + 0.5,
 * y + 0.5): cx[f], cy[f]. A frame without weight has the frame's centre (W/2, H/2).
 * GL_EINVAL for sizes < 1. */
int gl_eval_centroids(const float *w, int64_t F, int64_t H, int64_t W, double *cx, double *cy);

/* The centroid path of v's estimated foreground (gl_eval_foreground): cx[f], cy[f] in
 * pixels as gl_eval_centroids. GL_EINVAL for an empty video, GL_ENOMEM. */
int gl_eval_fg_path(const gl_video *v, double *cx, double *cy);

/* Motion: the mean over frames of the distance in pixels between the foreground centroid
 * paths (gl_eval_fg_path) of x and of the truth, 0 for an output that moves as the truth
 * does. Both are estimated alike on purpose: effects move with the subject (a smoke
 * trail, a shadow, a pool of light), so any estimate of the truth's foreground leans
 * towards them, and a perfect output must score 0. GL_EINVAL for videos of different
 * sizes, GL_ENOMEM. */
int gl_eval_motion(const gl_video *x, const gl_video *truth, double *err_px);

/* The same distance against the renderer's own path, alpha's centroids (the subject's
 * coverage; the union for several subjects): of the truth itself it is the estimator's
 * error (a floor), of a plain video the subject's alone. GL_EINVAL, GL_ENOMEM. */
int gl_eval_motion_path(const gl_video *x, const float *alpha, double *err_px);

/* Temporal consistency: the mean absolute difference between consecutive frames over
 * every value (0 for a still video or a single frame). Compared with the truth's. */
int gl_eval_temporal(const gl_video *v, double *mad);

/* Effect presence: one statistic per effect, measured against the plain input video
 * (0 when v is the plain video), alpha the subject's coverage; "away from the subject"
 * weighs each pixel by 1 - alpha:
 *   smoke   greying: how much closer to the smoke grey (0.60, 0.60, 0.62) v is than the
 *           plain video, RGB Euclidean, mean away from the subject;
 *   lights  warming: the mean gain of red minus blue over the whole frame;
 *   night   darkening: 1 - mean luma of v / mean luma of plain, away from the subject;
 *   rain    falling streaks: the mean absolute frame-to-frame change away from the
 *           subject (in both frames), minus the plain video's;
 *   shadow  shading: the mean luma lost (never gained) away from the subject.
 * Luma is the channel mean. GL_EINVAL for another effect (one GL_FX_* bit), sizes that
 * differ or nothing away from the subject. */
int gl_eval_effect_stat(const gl_video *v, const gl_video *plain, const float *alpha,
                        unsigned effect, double *stat);

/* Composition's presence: the mean RGB distance between v and the plain video of
 * concept A where the partner B is visible in the truth (weights alpha_b): 0 when v shows
 * no partner. GL_EINVAL for sizes that differ or an empty alpha_b. */
int gl_eval_partner_stat(const gl_video *v, const gl_video *plain, const float *alpha_b,
                         double *stat);

/* ---- the comparison ------------------------------------------------------------------ */

/* The methods compared, in report order. */
enum {
    GL_EVAL_ZEROSHOT, /* "zeroshot": one Grid-Fill sampling run per layout (gl_app_run) */
    GL_EVAL_TTFT,     /* "ttft": a LoRA fine-tuned on the input, then prompted */
    GL_EVAL_COPY,     /* "copy": the input unchanged */
    GL_EVAL_BASE,     /* "base": the base model prompted with the caption and the edit */
    GL_EVAL_METHODS
};
/* What each concept is edited into: the five effects, then composition with a partner. */
enum { GL_EVAL_FX = 5, GL_EVAL_COMPOSE = GL_EVAL_FX, GL_EVAL_ITEMS };

const char *gl_eval_method_name(int method); /* NULL out of range */
const char *gl_eval_item_name(int item);     /* "smoke", ..., "shadow", "compose"; NULL */
unsigned gl_eval_item_effect(int item);      /* its GL_FX_* bit; 0 for compose */

typedef struct gl_eval_params {
    int64_t heldout;  /* concepts: concept i is gl_concept_sample(gl_dataset_concept_seed(
                         seed, i), GL_SPLIT_HELDOUT), its partner j = (i + 1) mod heldout
                         (1 for a single concept): `gridlora dataset --split heldout` */
    uint64_t seed;
    gl_sample_opts so;              /* every method's sampling (same noise seed) */
    gl_lora *const *loras;          /* zero-shot's adapters (Grid LoRA, Grid-Fill LoRA) */
    const float *lora_weights;
    int n_loras;
    int ttft;                       /* 0: TTFT not run (reported absent) */
    gl_ttft_opts ttft_opts;
    const char *ttft_token;         /* "<v>" */
    int supersample;                /* of the renderer (default 4) */
    /* Optional, all with ctx: a status line before each long step ("concept 1/8: ttft"),
     * and each item's videos once the concept is scored: rows[0] the input (concept A),
     * rows[1] the truth, rows[2 + k] method k's output (NULL when not run), n = 2 +
     * GL_EVAL_METHODS; a negative return stops the run with that code. */
    void (*on_status)(void *ctx, const char *line);
    int (*on_item)(void *ctx, int64_t concept, int item, const gl_video *const *rows, int n);
    void *ctx;
} gl_eval_params;

/* heldout 4, seed 0, gl_sample_default_opts, TTFT on with gl_ttft_default_opts and
 * "<v>", supersample 4; no adapters, no callbacks. */
gl_eval_params gl_eval_default_params(void);

typedef struct gl_eval_scores {
    double psnr;                      /* dB against the truth (GL_EVAL_PSNR_MAX at most) */
    double identity;                  /* gl_eval_identity (compose: concept A) */
    double motion;                    /* gl_eval_motion against the truth, pixels */
    double motion_path;               /* gl_eval_motion_path: against the renderer's path
                                         (compose: of both subjects) */
    double presence, presence_truth;  /* the item's statistic of the output, of the truth */
    double temporal, temporal_truth;  /* gl_eval_temporal of the output, of the truth */
} gl_eval_scores;
/* A score that cannot be measured (an empty mask) is NaN. */

typedef struct gl_eval_concept {
    int64_t index;
    uint64_t seed, partner_seed;
    char caption[GL_CAPTION_MAX], partner_caption[GL_CAPTION_MAX];
    char ttft_prompt[GL_CAPTION_MAX];        /* what TTFT trained with */
    int ran[GL_EVAL_METHODS];                /* 1 where the method ran */
    gl_eval_scores s[GL_EVAL_ITEMS][GL_EVAL_METHODS];
    double motion_floor[GL_EVAL_ITEMS];      /* gl_eval_motion_path of the truth itself:
                                                the estimator's own error on the path */
    double seconds[GL_EVAL_METHODS];         /* wall time for the concept, every item */
    double ttft_train_seconds;               /* of seconds[GL_EVAL_TTFT] */
} gl_eval_concept;

/* Runs the four methods on concept `index` (0 <= index < p->heldout) and scores every
 * item. Zero-shot: the edit layout twice (smoke, lights, night; rain, shadow) and the
 * compose layout once, with the caption words as `gridlora edit/compose --caption` give
 * them, p->loras attached. TTFT (when p->ttft): gl_ttft_train on the input with the
 * caption holding the token ("a <v> red striped star orbiting on sand"), then sampling
 * the caption of each variant with the token. Base: no adapter, the variant's caption.
 * Copy: the input. Every output is one cell of the model (cfg frames x cell_h x cell_w).
 * On return m has no adapter attached. Errors: the model's, GL_EINVAL for a bad index or
 * a model that does not take videos, GL_ENOMEM, on_item's; msg says which step. */
int gl_eval_concept_run(gl_dit *m, const gl_eval_params *p, int64_t index, gl_eval_concept *out,
                        char *msg, size_t msglen);

/* Means over concepts (NaN scores left out) of one item's and method's scores; a method
 * that never ran gives NaN everywhere. */
gl_eval_scores gl_eval_mean(const gl_eval_concept *c, int64_t n, int item, int method);

/* Everything as one JSON object: the settings, "methods" and "items" (names in order),
 * "summary" (item -> method -> mean scores, and item -> "motion_floor"), "seconds"
 * (method -> mean per concept), and "concepts" (each concept's seeds, captions, scores
 * and seconds). NaN becomes null. NULL when out of memory; free with cJSON_Delete. */
cJSON *gl_eval_json(const gl_eval_params *p, const gl_dit *m, const gl_eval_concept *c, int64_t n);

#ifdef __cplusplus
}
#endif
#endif
