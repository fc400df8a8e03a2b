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
 * A third part scores a Multi-DC LoRA's regeneration of the concepts it was trained on
 * (gl_eval_multidc_*, at the end: issue 6's check, `gridlora eval --multidc`).
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

/* gl_eval_identity's two parts, which sum to it: the mean over channels of |mean_x -
 * mean_truth| (colour) and of |std_x - std_truth| (spread: a blurred texture loses it). */
int gl_eval_identity_parts(const gl_video *x, const gl_video *truth, const float *alpha, double *colour,
                           double *spread);

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

/* How a video follows a caption naming `colour` (a gl_colour), all on its foreground
 * (gl_eval_foreground, written into fg [F*H*W]): share, of the foreground pixels whose
 * nearest colour of the domain's palette (gl_colour_rgb) is `colour`; present, of the
 * frames holding at least 4 foreground pixels; travel, the length in pixels of the
 * foreground centroid's path (gl_eval_fg_path) over the frames; area, the share of all
 * pixels that are foreground. GL_EINVAL for an empty video or a colour out of range,
 * GL_ENOMEM. */
int gl_eval_caption_figures(const gl_video *v, int colour, float *fg, double *share, double *present,
                            double *travel, double *area);

/* How far a foreground mask fg [F*H*W] (0/1, gl_eval_foreground) has the outline of
 * `shape` (a gl_shape): each frame with at least GL_EVAL_SHAPE_MIN_PX foreground pixels
 * is matched against the silhouette of every shape of the domain (gl_render_scene),
 * centred on the frame's foreground centroid, scaled to its foreground area (x 0.9, 1,
 * 1.1) and turned to each of GL_EVAL_SHAPE_ANGLES angles, by intersection over union.
 * hit: the share of those frames whose best-matching shape is `shape`; iou: their mean
 * best IoU with `shape`; *frames: how many were matched (0: hit and iou are 0). The blob
 * template is the circle with a fixed wobble, so circle and blob are told apart only by
 * it; the truth's own figures (its rendered video through the same estimator) are the
 * ceiling to read a model's against. GL_EINVAL for sizes < 1 or a shape out of range,
 * GL_ENOMEM. */
#define GL_EVAL_SHAPE_MIN_PX 8
#define GL_EVAL_SHAPE_ANGLES 16
int gl_eval_shape_figures(const float *fg, int64_t F, int64_t H, int64_t W, int shape, double *hit,
                          double *iou, int64_t *frames);

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
/* What each concept is edited into: the five effects, composition with a partner,
 * "same", the concept regenerated unchanged (its truth is the input: copy scores perfectly,
 * and TTFT's "<v>" against base's caption alone says how much the fine-tuning kept), and
 * the concept re-staged as `gridlora character` does it: "scene", on another background,
 * "path", along another kind of path (the renderer's "bg" and "motion" variants), and
 * "both", the two at once (the path variant's path on the scene variant's background:
 * gl_concept_restage twice, the third cell of character's grid). */
enum {
    GL_EVAL_FX = 5,
    GL_EVAL_COMPOSE = GL_EVAL_FX,
    GL_EVAL_SAME,
    GL_EVAL_SCENE,
    GL_EVAL_PATH,
    GL_EVAL_BOTH,
    GL_EVAL_ITEMS
};

const char *gl_eval_method_name(int method); /* NULL out of range */
const char *gl_eval_item_name(int item);     /* "smoke", ..., "compose", "same", "scene", "path", "both"; NULL */
unsigned gl_eval_item_effect(int item);      /* its GL_FX_* bit; 0 for compose and same */

typedef struct gl_eval_params {
    int64_t heldout;  /* concepts: concept i is gl_concept_sample(gl_dataset_concept_seed(
                         seed, i), split), its partner j = (i + 1) mod heldout
                         (1 for a single concept): `gridlora dataset --split heldout` */
    uint64_t seed;
    int split;        /* GL_SPLIT_HELDOUT (default); GL_SPLIT_TRAIN scores concepts of the
                         training split instead, e.g. those a stage was trained on (the same
                         --seed as its `gridlora dataset`), to tell memory from generalisation */
    gl_sample_opts so;              /* every method's sampling (same noise seed) */
    int zeroshot_steps;             /* but zero-shot's Euler steps (as the grid apps:
                                       GL_GRID_DEFAULT_STEPS) */
    float zeroshot_cfg;             /* zero-shot's guidance scale (as the grid apps:
                                       GL_GRID_DEFAULT_CFG, none) */
    float zeroshot_shift;           /* and zero-shot's timestep shift (as the grid apps:
                                       GL_GRID_DEFAULT_SHIFT) */
    float zeroshot_strength;        /* the noise level zero-shot's output cells start from,
                                       each from its input cell (gl_sample_opts.strength; as
                                       the grid apps: 1, pure noise) */
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

/* heldout 4, seed 0, gl_sample_default_opts, zero-shot's steps GL_GRID_DEFAULT_STEPS,
 * zero-shot's guidance GL_GRID_DEFAULT_CFG,
 * zero-shot's shift GL_GRID_DEFAULT_SHIFT, zero-shot's strength 1 (from pure noise),
 * TTFT on with gl_ttft_default_opts and "<v>", supersample 4; no adapters, no callbacks. */
gl_eval_params gl_eval_default_params(void);

typedef struct gl_eval_scores {
    double psnr;                      /* dB against the truth (GL_EVAL_PSNR_MAX at most) */
    double identity;                  /* gl_eval_identity (compose: concept A) */
    double identity_spread;           /* its spread part (gl_eval_identity_parts) */
    double motion;                    /* gl_eval_motion against the truth, pixels */
    double motion_path;               /* gl_eval_motion_path: against the renderer's path
                                         (compose: of both subjects) */
    double presence, presence_truth;  /* the item's statistic of the output, of the truth
                                         (same: none, NaN) */
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
 * item. Zero-shot: the edit layout twice (smoke, lights, night; rain, shadow and, in the
 * free cell, the caption alone: same) and the compose layout once, with the caption words as `gridlora edit/compose --caption` give
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

/* ---- Multi-DC regeneration ------------------------------------------------------------ */

/* Issue 6's check of a Multi-DC LoRA (multidc.h): does the adapter regenerate each concept
 * of the data set it was trained on, scored against that concept's own video? The truth is
 * the data set's file as training read it (gl_video_read at the model's cell size), the
 * subject's coverage a re-render of the manifest's concept JSON reduced the same way.
 *
 *     gl_eval_multidc_data *d = NULL;
 *     gl_eval_multidc_open(&d, "data/train", gl_dit_cfg(m), msg, sizeof msg);
 *     gl_eval_multidc_params p = gl_eval_multidc_default_params();
 *     p.lora = adapter;                                   // gl_lora_load'ed, not attached
 *     gl_eval_multidc_concept *res = calloc(gl_eval_multidc_count(d), sizeof *res);
 *     for (int64_t i = 0; i < gl_eval_multidc_count(d); i++)
 *         gl_eval_multidc_run(m, d, &p, i, &res[i], msg, sizeof msg);
 *     cJSON *j = gl_eval_multidc_json(&p, m, res, gl_eval_multidc_count(d));
 */

/* What each concept is sampled from, in report order. */
enum {
    GL_EVAL_MDC_TOKEN,   /* "token":   "a <cK>", the adapter attached: the token alone */
    GL_EVAL_MDC_PROMPT,  /* "prompt":  the manifest's prompt ("a <cK> red striped star ..."),
                            the adapter attached */
    GL_EVAL_MDC_CAPTION, /* "caption": the manifest's caption without the token, the base
                            model alone: what the words give without the concept */
    GL_EVAL_MDC_METHODS
};
const char *gl_eval_multidc_method_name(int method); /* NULL out of range */

/* The re-render of a concept must match the data set's file at least this well (the
 * codec's error is far smaller; a lower PSNR means the manifest does not describe the
 * file, or the file was not rendered by this renderer). */
#define GL_EVAL_RENDER_PSNR_MIN 25.0

/* A data set's manifest (dataset.h), read once: each concept's token, caption, prompt,
 * file and concept JSON. */
typedef struct gl_eval_multidc_data gl_eval_multidc_data;

/* Reads DIR/manifest.jsonl for a model of configuration cfg (the videos are read by
 * gl_eval_multidc_truth). Errors name the manifest and line: GL_EIO (no manifest),
 * GL_EFORMAT (a field missing or malformed, an unsafe file name, no concepts), GL_EINVAL
 * (a held-out concept: no Multi-DC adapter trains on one; a token the model has not got;
 * two concepts with one token; a model without 3 colour channels), GL_ENOMEM. */
int gl_eval_multidc_open(gl_eval_multidc_data **out, const char *dir, const gl_dit_config *cfg, char *msg,
                         size_t msglen);
void gl_eval_multidc_free(gl_eval_multidc_data **d);
int64_t gl_eval_multidc_count(const gl_eval_multidc_data *d);

/* GL_OK when the adapter carries an embedding for every concept's token (it was trained
 * on this data set, or on one with the same tokens); else GL_EINVAL naming the first
 * token it lacks. */
int gl_eval_multidc_check_lora(const gl_eval_multidc_data *d, const gl_lora *l, char *msg, size_t msglen);

/* Concept i's truth: its file read at the model's cell size into truth (allocated here),
 * and alpha [frames * cell_h * cell_w] (the caller's) the subject's visible coverage: the
 * concept rendered from its JSON at the data set's own size (the manifest's frames, width,
 * height; the model's cell when absent), then reduced to the cell as the reader reduces
 * the file (evenly picked frames, centre crop, area average). *render_psnr (may be NULL)
 * gets the PSNR of that reduced re-render against the file: below GL_EVAL_RENDER_PSNR_MIN
 * is GL_EFORMAT, the file not being what the manifest says. Errors: the reader's (msg names
 * the file), GL_EINVAL for an index out of range, GL_ENOMEM. */
int gl_eval_multidc_truth(const gl_eval_multidc_data *d, int64_t i, gl_video *truth, float *alpha,
                          double *render_psnr, char *msg, size_t msglen);

typedef struct gl_eval_multidc_scores {
    double psnr;        /* dB against the truth (GL_EVAL_PSNR_MAX at most) */
    double identity;    /* gl_eval_identity with the subject's coverage (0: the same colours) */
    double motion;      /* gl_eval_motion against the truth, pixels (0: the same path) */
    double motion_path; /* gl_eval_motion_path against the coverage's own path, pixels */
} gl_eval_multidc_scores;
/* A score that cannot be measured (an empty coverage) is NaN. */

/* Scores x against truth with the subject's coverage alpha [F*H*W], as the run scores each
 * sample: a sample equal to the truth gets GL_EVAL_PSNR_MAX, identity 0 and motion 0.
 * GL_EINVAL for sizes that differ, GL_ENOMEM. */
int gl_eval_multidc_score(const gl_video *x, const gl_video *truth, const float *alpha,
                          gl_eval_multidc_scores *s);

typedef struct gl_eval_multidc_params {
    gl_sample_opts so;    /* every sampling (the three share its noise seed) */
    gl_lora *lora;        /* the Multi-DC adapter, for the token and prompt methods */
    float lora_weight;    /* default 1 */
    /* Optional, with ctx: a status line before each concept's samplings, and each
     * concept's videos once it is scored: rows[0] the truth, rows[1 + k] method k's sample,
     * n = 1 + GL_EVAL_MDC_METHODS; a negative return stops the run with that code. */
    void (*on_status)(void *ctx, const char *line);
    int (*on_concept)(void *ctx, int64_t concept, const gl_video *const *rows, int n);
    void *ctx;
} gl_eval_multidc_params;

/* gl_sample_default_opts, weight 1; no adapter, no callbacks. */
gl_eval_multidc_params gl_eval_multidc_default_params(void);

typedef struct gl_eval_multidc_concept {
    int64_t index;                                /* in manifest order */
    uint64_t seed;                                /* the concept's (its JSON's) */
    char token[32];                               /* "<cK>" */
    char prompts[GL_EVAL_MDC_METHODS][GL_CAPTION_MAX]; /* what each method was given */
    double render_psnr;                           /* gl_eval_multidc_truth's check */
    double motion_floor;                          /* gl_eval_motion_path of the truth itself */
    gl_eval_multidc_scores s[GL_EVAL_MDC_METHODS];
    double seconds[GL_EVAL_MDC_METHODS];          /* wall time of each sampling */
} gl_eval_multidc_concept;

/* Concept i: its truth (gl_eval_multidc_truth), then three samplings with p->so, scored
 * with gl_eval_multidc_score. Any adapter attached to m is detached first; p->lora is
 * attached for the token and prompt methods only, and on return m has none. d must have
 * been opened for m's configuration. Errors: p->lora missing or without the concept's
 * token, another configuration (GL_EINVAL), the truth's, the model's
 * (a prompt with a word it lacks), GL_ENOMEM, on_concept's; msg says which concept and
 * step. */
int gl_eval_multidc_run(gl_dit *m, const gl_eval_multidc_data *d, const gl_eval_multidc_params *p, int64_t i,
                        gl_eval_multidc_concept *out, char *msg, size_t msglen);

/* Means over concepts of one method's scores (NaN scores left out; NaN when none). */
gl_eval_multidc_scores gl_eval_multidc_mean(const gl_eval_multidc_concept *c, int64_t n, int method);

/* Everything as one JSON object: "mode" ("multidc"), the cell size, "sampling",
 * "lora_weight", "methods" (names in order), "summary" (method -> mean scores),
 * "motion_floor" and "render_psnr_min" over the concepts, "seconds" (method -> mean), and
 * "concepts" (each one's index, token, seed, caption, prompt, "prompts" (method -> text),
 * render_psnr, motion_floor, "scores" (method -> scores) and "seconds"). NaN becomes
 * null. NULL when out of memory; free with cJSON_Delete. */
cJSON *gl_eval_multidc_json(const gl_eval_multidc_params *p, const gl_dit *m, const gl_eval_multidc_concept *c,
                            int64_t n);

#ifdef __cplusplus
}
#endif
#endif
