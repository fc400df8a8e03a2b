/* gridlora/render.h: the procedural dynamic-concepts domain: concepts (an appearance, a
 * motion, a background), their exact rendering, their effects and re-stagings, captions.
 *
 * A concept is a shape with a procedural texture in 2-3 named colours, moving along a
 * path (sums of sinusoids, bounces, an orbit, a zigzag) with optional spin or pulse, over
 * a named background. Every parameter is explicit in gl_concept; gl_concept_sample draws
 * one from a seed. Usage:
 *
 *     gl_concept c;
 *     gl_concept_sample(&c, 42, GL_SPLIT_TRAIN);
 *     gl_render_opts o = gl_render_default_opts();        // 8 frames of 32x32, 4x4 samples
 *     gl_video v = {0};
 *     gl_render_variant(&c, NULL, GL_VARIANT_SMOKE, &o, &v); // the concept with smoke
 *     char cap[GL_CAPTION_MAX];
 *     gl_variant_caption(&c, NULL, GL_VARIANT_SMOKE, NULL, cap, sizeof cap);
 *     // "a red striped star orbiting on sand with smoke"
 *     gl_video_release(&v);
 *
 * Coordinates. Positions are in frame units: x in [0,1] across the width, y in [0,1]
 * down the height. Lengths (sizes, radii, effect reaches) are fractions of the frame's
 * shorter side, so shapes stay round on any aspect. Time t = f / F for frame f of F: a
 * path is a function of clip time, rendering at 16 frames samples it twice as densely.
 * Angles are in turns (1 = 360 degrees).
 *
 * Determinism. The same concept renders to the same bits on every machine and with any
 * thread count: the render path uses only + - * / sqrt floor and integer hashes (its own
 * polynomial sin/cos/atan2, no libm transcendentals, whose last bits differ between
 * libm versions), with floating-point contraction off (see render.c).
 *
 * Effects are exact, deterministic functions of what the plain video shows (no fresh
 * randomness): smoke is puffs emitted at the subject's visible positions, drifting up and
 * fading with age; lights a warm glow around the subject whose flicker is one fixed
 * pattern of clip time; night darkens everything but the subject, with a pool of light
 * around it; rain is one fixed pattern of falling streaks over a dimmed scene; shadow is
 * the subject's own silhouette, offset down and right, darkening the background.
 *
 * Held-out split. The space of discrete appearances (shape, texture, first and second
 * colour) is split by a fixed hash: about 12.5% of the combinations are held out, and a
 * concept sampled for GL_SPLIT_TRAIN can never have a held-out combination, for any seed.
 *
 * Thread safety: every function is reentrant; rendering parallelises over rows with
 * OpenMP. Nothing keeps a pointer to its arguments.
 */
#ifndef GRIDLORA_RENDER_H
#define GRIDLORA_RENDER_H

#include <stddef.h>
#include <stdint.h>

#include "gridlora/video.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- the discrete vocabulary of the domain ------------------------------------ */

typedef enum gl_shape {
    GL_SHAPE_CIRCLE, GL_SHAPE_SQUARE, GL_SHAPE_TRIANGLE, GL_SHAPE_STAR, GL_SHAPE_RING,
    GL_SHAPE_BLOB, GL_SHAPE_DIAMOND, GL_SHAPE_CROSS, GL_SHAPE_COUNT
} gl_shape;

typedef enum gl_texture {
    GL_TEX_STRIPES, GL_TEX_CHECKS, GL_TEX_SPOTS, GL_TEX_GRADIENT, GL_TEX_COUNT
} gl_texture;

typedef enum gl_colour {
    GL_RED, GL_ORANGE, GL_YELLOW, GL_GREEN, GL_TEAL, GL_BLUE, GL_PURPLE, GL_PINK, GL_WHITE,
    GL_BLACK, GL_COLOUR_COUNT
} gl_colour;

typedef enum gl_motion {
    GL_MOTION_DRIFT,  /* "drifting": a sum of two sinusoids per axis */
    GL_MOTION_BOUNCE, /* "bouncing": straight lines reflected at the walls */
    GL_MOTION_ORBIT,  /* "orbiting": an ellipse around a centre */
    GL_MOTION_ZIGZAG, /* "zigzagging": a drift with a triangle wave across it, reflected */
    GL_MOTION_COUNT
} gl_motion;

typedef enum gl_bg_kind {
    GL_BG_SAND, GL_BG_GRASS, GL_BG_SKY, GL_BG_STONE, GL_BG_WATER, GL_BG_SNOW, GL_BG_WOOD,
    GL_BG_COUNT
} gl_bg_kind;

typedef enum gl_bg_style {
    GL_BGSTYLE_SOLID,    /* the kind's first colour */
    GL_BGSTYLE_GRADIENT, /* its two colours blended along `angle` */
    GL_BGSTYLE_NOISE,    /* its two colours mixed by smooth value noise */
    GL_BGSTYLE_COUNT
} gl_bg_style;

/* Names used in manifests ("star", "stripes", "orbit", "red", "sand", "noise") and the
 * words used in captions ("striped", "orbiting"); NULL for a value out of range. */
const char *gl_shape_name(int shape);
const char *gl_texture_name(int texture);
const char *gl_texture_word(int texture);
const char *gl_colour_name(int colour);
const char *gl_motion_name(int motion);
const char *gl_motion_word(int motion);
const char *gl_bg_name(int kind);
const char *gl_bg_style_name(int style);

/* The sRGB value in [0,1] of a palette colour, and the two colours of a background kind
 * (rgb[0..2] the first, rgb[3..5] the second). Out of range: black. */
void gl_colour_rgb(int colour, float rgb[3]);
void gl_bg_rgb(int kind, float rgb[6]);

/* ---- a concept ----------------------------------------------------------------- */

/* The path of a concept's centre; which fields count depends on kind. */
typedef struct gl_path {
    gl_motion kind;
    /* drift and orbit: the centre; bounce and zigzag: the position at t = 0 */
    double x, y;
    /* drift: x(t) = x + sum_k amp_x[k] * sin(2 pi (cycles_x[k] t + phase_x[k])), same in y */
    double amp_x[2], amp_y[2], phase_x[2], phase_y[2];
    int cycles_x[2], cycles_y[2];
    /* bounce and zigzag: velocity in frame units per clip; positions are reflected into
     * the frame less the shape's reach, so the shape never leaves it */
    double vx, vy;
    /* orbit: x = x + radius cos(2 pi (turns t + phase)), y = y + ratio radius sin(...);
     * turns < 0 runs clockwise */
    double radius, ratio, turns, phase;
    /* zigzag: a triangle wave of `zigs` periods per clip and this amplitude (frame
     * units), perpendicular to (vx, vy) */
    double zig_amp;
    int zigs;
} gl_path;

typedef struct gl_background {
    gl_bg_kind kind;   /* names the background in captions and picks its colours */
    gl_bg_style style;
    double angle;      /* gradient: direction of the blend, turns */
    double scale;      /* noise: lattice cells per shorter side (2..12) */
    uint32_t noise_seed;
} gl_background;

typedef struct gl_concept {
    uint64_t seed;      /* the seed it was drawn from; re-stagings derive theirs from it */
    /* appearance, in the shape's own frame: radius 1 is `size` */
    gl_shape shape;
    gl_texture texture;
    int n_colours;      /* 2 or 3 */
    gl_colour colours[3]; /* distinct; colours[0] names the concept in captions */
    double tex_freq;    /* texture cycles across the shape's diameter (not for gradient) */
    double tex_angle;   /* direction of stripes, checks, gradient, turns */
    uint32_t tex_seed;  /* jitter of the spots */
    double size;        /* radius of the shape's enclosing circle, shorter-side units */
    double angle;       /* rotation at t = 0, turns */
    double blob_amp[3], blob_phase[3]; /* blob outline: harmonics 2, 3, 4 (sum of amps <= 0.28) */
    /* motion */
    gl_path path;
    double spin;        /* turns per clip (0: none) */
    double pulse;       /* relative size swing, 0..0.5 (0: none) */
    int pulse_cycles;   /* pulses per clip */
    gl_background bg;
} gl_concept;

enum gl_split { GL_SPLIT_TRAIN = 0, GL_SPLIT_HELDOUT = 1 };

/* Draws a concept from `seed` within `split`: every parameter from one gl_rng stream,
 * drawing again (deterministically) until the appearance lands in the split and the
 * subject's colours stand out from the background. 0, or GL_EINVAL for a bad split. */
int gl_concept_sample(gl_concept *c, uint64_t seed, int split);

/* The largest reach (radius at its largest pulse, shorter-side units) gl_concept_scale
 * allows: beyond it a path has almost no room left to move in. */
#define GL_CONCEPT_MAX_REACH 0.45

/* Grows (k > 1) or shrinks the concept's subject by k and draws its path again, from its
 * seed, so that the bigger subject stays in frame; k = 1 changes nothing. The domain's
 * subjects span about 8 to 14 pixels of a 32-pixel cell, where most shapes differ by a
 * pixel or two; a training option (gl_data_set_subject_scale) draws them bigger.
 * GL_EINVAL when k <= 0 or the subject's reach would pass GL_CONCEPT_MAX_REACH. */
int gl_concept_scale(gl_concept *c, double k);

/* The split of the concept's (shape, texture, colours[0], colours[1]); -1 if out of range. */
int gl_concept_split(const gl_concept *c);

/* 0 when every field is in range (enums, 2-3 distinct colours, size in (0, 0.5], finite
 * numbers, blob and pulse bounds); else GL_EINVAL with the field named in msg. */
int gl_concept_check(const gl_concept *c, char *msg, size_t msglen);

/* ---- scenes, effects, variants --------------------------------------------------- */

enum gl_effect {
    GL_FX_SMOKE = 1 << 0,  /* "with smoke" */
    GL_FX_LIGHTS = 1 << 1, /* "with lights" */
    GL_FX_SHADOW = 1 << 2, /* "with a shadow" */
    GL_FX_RAIN = 1 << 3,   /* "in the rain" */
    GL_FX_NIGHT = 1 << 4,  /* "at night" */
    GL_FX_ALL = (1 << 5) - 1
};
/* "smoke", "lights", "shadow", "rain", "night" for one GL_FX_* bit; NULL otherwise. And
 * the phrase a caption appends for it: "with smoke", "with lights", "with a shadow",
 * "in the rain", "at night". */
const char *gl_effect_name(unsigned effect);
const char *gl_effect_phrase(unsigned effect);

/* How far an effect reaches from any visible position of a subject of this concept, in
 * shorter-side units: beyond it the effect leaves the plain video's pixels bit for bit
 * unchanged. Smoke: 2.5 size + 0.15; lights: 3 (1 + pulse) size; shadow: the shape's
 * reach plus its offset, 1.62 (1 + pulse) size. Rain and night change every pixel
 * (+inf); night keeps the subject's own pixels. Several bits: the largest. */
double gl_effect_reach(const gl_concept *c, unsigned effect);

#define GL_SCENE_MAX 4

/* Subjects over one background with effects. subjects[0] is in front; the subjects'
 * own backgrounds are ignored. */
typedef struct gl_scene {
    int n_subjects; /* 1..GL_SCENE_MAX */
    gl_concept subjects[GL_SCENE_MAX];
    gl_background bg;
    unsigned effects; /* GL_FX_* bits */
} gl_scene;

/* What a data set renders for each concept. Files: DIR/NNNN.mp4 is PLAIN, every other
 * variant DIR/NNNN.<name>.mp4 (see gridlora/dataset.h). */
typedef enum gl_variant {
    GL_VARIANT_PLAIN,      /* "plain":  the concept as drawn */
    GL_VARIANT_SMOKE,      /* "smoke" */
    GL_VARIANT_LIGHTS,     /* "lights" */
    GL_VARIANT_NIGHT,      /* "night" */
    GL_VARIANT_RAIN,       /* "rain" */
    GL_VARIANT_SHADOW,     /* "shadow" */
    GL_VARIANT_BACKGROUND, /* "bg":     the same subject and motion on another background */
    GL_VARIANT_MOTION,     /* "motion": the same appearance, spin and pulse on another path */
    GL_VARIANT_WITH,       /* "with":   composed with a second concept b (b behind a) on a's
                              background */
    GL_VARIANT_COUNT
} gl_variant;

const char *gl_variant_name(int variant); /* NULL out of range */
int gl_variant_from_name(const char *name); /* the variant, or GL_EINVAL */

/* The re-staged concept of a BACKGROUND or MOTION variant, derived from c->seed: another
 * background kind (with contrast) and style, or another kind of path (the appearance,
 * spin and pulse kept). For every other variant a copy of c. 0 or GL_EINVAL. */
int gl_concept_restage(const gl_concept *c, int variant, gl_concept *out);

/* The scene of a variant. b is needed by GL_VARIANT_WITH only (GL_EINVAL without it). */
int gl_scene_from_variant(gl_scene *s, const gl_concept *a, const gl_concept *b, int variant);

/* ---- rendering ---------------------------------------------------------------------- */

typedef struct gl_render_opts {
    int64_t frames, width, height; /* default 8, 32, 32; each 1..4096, F*H*W <= 2^28 */
    int supersample;               /* samples per pixel along each axis, 1..16 (default 4) */
} gl_render_opts;

gl_render_opts gl_render_default_opts(void);

/* Renders a scene into out, allocated here (out must be zeroed or released). alpha:
 * NULL, or n_subjects*F*H*W floats the caller owns, filled with the visible coverage of
 * subject i (after occlusion by those in front) at alpha[((i*F + f)*H + y)*W + x].
 * 0, GL_EINVAL (bad options or an invalid concept), GL_ENOMEM. */
int gl_render_scene(const gl_scene *s, const gl_render_opts *o, gl_video *out, float *alpha);

/* The plain concept: gl_render_scene of it alone on its background, no effects. */
int gl_render_concept(const gl_concept *c, const gl_render_opts *o, gl_video *out);

/* A variant of concept a (b: the partner of GL_VARIANT_WITH, else ignored). */
int gl_render_variant(const gl_concept *a, const gl_concept *b, int variant,
                      const gl_render_opts *o, gl_video *out);

/* ---- captions ------------------------------------------------------------------- */

#define GL_CAPTION_MAX 256

/* The caption of a scene, from the fixed vocabulary:
 *   one subject:  "a red striped star orbiting on sand", "a spinning blue spotted ring
 *                 bouncing in the sky with smoke at night"
 *   several:      "a red striped star and a blue spotted ring on grass" (no motion words)
 * Effects follow the background in the order smoke, lights, shadow, rain, night.
 * tokens: NULL, or one concept index per subject (< 0: none): "<cK>" then stands after
 * the subject's article ("a <c3> red striped star ..."). 0, or GL_EINVAL when it does not
 * fit in len bytes (buf then holds "") or the scene is invalid. */
int gl_scene_caption(const gl_scene *s, const int64_t *tokens, char *buf, size_t len);

/* The caption of a variant: gl_scene_caption of gl_scene_from_variant. tokens as above
 * (two entries for GL_VARIANT_WITH). */
int gl_variant_caption(const gl_concept *a, const gl_concept *b, int variant,
                       const int64_t *tokens, char *buf, size_t len);

/* The caption of A with B, "a red striped star and a blue spotted ring on sand", from
 * their one-subject captions ("a red striped star orbiting on sand", "a blue spotted ring
 * drifting on snow", concept tokens and effects allowed): both subjects, then A's scene
 * (background and effects) with the motion words dropped, as gl_variant_caption gives
 * GL_VARIANT_WITH. 0, or GL_EINVAL when a caption lacks the form (article, ..., shape,
 * motion, background) or the result does not fit in len bytes (buf then holds ""). */
int gl_caption_pair(const char *a, const char *b, char *buf, size_t len);

/* Every word a caption can use, for the tokenizer: *words points at a static array,
 * the count is returned. Concept tokens ("<c0>", "<c1>", ...) are not in it. */
int gl_caption_vocab(const char *const **words);

#ifdef __cplusplus
}
#endif
#endif
