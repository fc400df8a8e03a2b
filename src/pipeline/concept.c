/* pipeline/concept.c: the concept space: names and palettes, sampling from a seed, the
 * held-out split, re-stagings, scenes of variants and captions. No pixels here (that is
 * render.c), and no libm: a concept must be drawn identically on every machine. */
#include <math.h> /* INFINITY only: no libm calls here */
#include <stdio.h>
#include <string.h>

#include "gridlora/core.h"
#include "gridlora/render.h"

/* ---- names, words and palettes ---------------------------------------------------- */

static const char *const shape_names[GL_SHAPE_COUNT] = {
    "circle", "square", "triangle", "star", "ring", "blob", "diamond", "cross"};
static const char *const texture_names[GL_TEX_COUNT] = {"stripes", "checks", "spots", "gradient"};
static const char *const texture_words[GL_TEX_COUNT] = {"striped", "checkered", "spotted", "gradient"};
static const char *const colour_names[GL_COLOUR_COUNT] = {
    "red", "orange", "yellow", "green", "teal", "blue", "purple", "pink", "white", "black"};
static const char *const motion_names[GL_MOTION_COUNT] = {"drift", "bounce", "orbit", "zigzag"};
static const char *const motion_words[GL_MOTION_COUNT] = {"drifting", "bouncing", "orbiting",
                                                          "zigzagging"};
static const char *const bg_names[GL_BG_COUNT] = {"sand", "grass", "sky", "stone", "water", "snow",
                                                  "wood"};
/* How each background is said after the subject. */
static const char *const bg_phrases[GL_BG_COUNT] = {"on sand", "on grass", "in the sky", "on stone",
                                                    "on water", "on snow", "on wood"};
static const char *const bg_style_names[GL_BGSTYLE_COUNT] = {"solid", "gradient", "noise"};
static const char *const variant_names[GL_VARIANT_COUNT] = {
    "plain", "smoke", "lights", "night", "rain", "shadow", "bg", "motion", "with"};
/* Effect bits in caption order, and their phrases. */
static const unsigned effect_bits[] = {GL_FX_SMOKE, GL_FX_LIGHTS, GL_FX_SHADOW, GL_FX_RAIN, GL_FX_NIGHT};
static const char *const effect_names[] = {"smoke", "lights", "shadow", "rain", "night"};
static const char *const effect_phrases[] = {"with smoke", "with lights", "with a shadow",
                                             "in the rain", "at night"};
enum { N_EFFECTS = sizeof effect_bits / sizeof effect_bits[0] };

/* Saturated subject colours; muted backgrounds, so that most pairs contrast. */
static const float colour_rgb[GL_COLOUR_COUNT][3] = {
    {0.86f, 0.12f, 0.12f}, {0.96f, 0.52f, 0.08f}, {0.98f, 0.86f, 0.12f}, {0.16f, 0.66f, 0.20f},
    {0.05f, 0.60f, 0.58f}, {0.14f, 0.30f, 0.90f}, {0.52f, 0.20f, 0.72f}, {0.98f, 0.48f, 0.70f},
    {0.96f, 0.96f, 0.96f}, {0.08f, 0.08f, 0.08f}};
static const float bg_rgb[GL_BG_COUNT][6] = {
    {0.86f, 0.76f, 0.55f, 0.74f, 0.62f, 0.40f}, /* sand */
    {0.32f, 0.56f, 0.22f, 0.18f, 0.40f, 0.13f}, /* grass */
    {0.52f, 0.72f, 0.94f, 0.84f, 0.91f, 0.99f}, /* sky */
    {0.56f, 0.56f, 0.55f, 0.38f, 0.38f, 0.40f}, /* stone */
    {0.16f, 0.42f, 0.62f, 0.08f, 0.26f, 0.46f}, /* water */
    {0.93f, 0.95f, 0.98f, 0.78f, 0.83f, 0.90f}, /* snow */
    {0.56f, 0.37f, 0.20f, 0.40f, 0.25f, 0.13f}, /* wood */
};

#define NAME_AT(tab, n, i) ((i) >= 0 && (i) < (n) ? (tab)[i] : NULL)
const char *gl_shape_name(int v) { return NAME_AT(shape_names, GL_SHAPE_COUNT, v); }
const char *gl_texture_name(int v) { return NAME_AT(texture_names, GL_TEX_COUNT, v); }
const char *gl_texture_word(int v) { return NAME_AT(texture_words, GL_TEX_COUNT, v); }
const char *gl_colour_name(int v) { return NAME_AT(colour_names, GL_COLOUR_COUNT, v); }
const char *gl_motion_name(int v) { return NAME_AT(motion_names, GL_MOTION_COUNT, v); }
const char *gl_motion_word(int v) { return NAME_AT(motion_words, GL_MOTION_COUNT, v); }
const char *gl_bg_name(int v) { return NAME_AT(bg_names, GL_BG_COUNT, v); }
const char *gl_bg_style_name(int v) { return NAME_AT(bg_style_names, GL_BGSTYLE_COUNT, v); }
const char *gl_variant_name(int v) { return NAME_AT(variant_names, GL_VARIANT_COUNT, v); }

const char *gl_effect_name(unsigned effect) {
    for (int i = 0; i < N_EFFECTS; i++)
        if (effect == effect_bits[i]) return effect_names[i];
    return NULL;
}

const char *gl_effect_phrase(unsigned effect) {
    for (int i = 0; i < N_EFFECTS; i++)
        if (effect == effect_bits[i]) return effect_phrases[i];
    return NULL;
}

int gl_variant_from_name(const char *name) {
    for (int i = 0; name && i < GL_VARIANT_COUNT; i++)
        if (!strcmp(name, variant_names[i])) return i;
    return GL_EINVAL;
}

void gl_colour_rgb(int colour, float rgb[3]) {
    for (int k = 0; k < 3; k++) rgb[k] = colour >= 0 && colour < GL_COLOUR_COUNT ? colour_rgb[colour][k] : 0.0f;
}

void gl_bg_rgb(int kind, float rgb[6]) {
    for (int k = 0; k < 6; k++) rgb[k] = kind >= 0 && kind < GL_BG_COUNT ? bg_rgb[kind][k] : 0.0f;
}

/* ---- the vocabulary --------------------------------------------------------------- */

/* Every word the caption code below can emit; test_render checks captions against it. */
static const char *const vocab[] = {
    "a", "an", "and", "with", "at", "on", "in", "the", "spinning", "pulsing",
    "red", "orange", "yellow", "green", "teal", "blue", "purple", "pink", "white", "black",
    "striped", "checkered", "spotted", "gradient",
    "circle", "square", "triangle", "star", "ring", "blob", "diamond", "cross",
    "drifting", "bouncing", "orbiting", "zigzagging",
    "sand", "grass", "sky", "stone", "water", "snow", "wood",
    "smoke", "lights", "shadow", "rain", "night"};

int gl_caption_vocab(const char *const **words) {
    if (words) *words = vocab;
    return (int)(sizeof vocab / sizeof vocab[0]);
}

/* ---- the held-out split ------------------------------------------------------------ */

static uint64_t mix64(uint64_t z) { /* splitmix64's finaliser */
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* 125 of every 1000 hash values: about 12.5% of the 8*4*10*9 = 2880 combinations. */
#define HELDOUT_PER_MILLE 125

static int split_of(int shape, int texture, int c0, int c1) {
    uint64_t key = (((uint64_t)shape * 16 + (uint64_t)texture) * 16 + (uint64_t)c0) * 16 + (uint64_t)c1;
    return mix64(key ^ 0x6A09E667F3BCC909ull) % 1000 < HELDOUT_PER_MILLE ? GL_SPLIT_HELDOUT
                                                                         : GL_SPLIT_TRAIN;
}

int gl_concept_split(const gl_concept *c) {
    if ((unsigned)c->shape >= GL_SHAPE_COUNT || (unsigned)c->texture >= GL_TEX_COUNT ||
        (unsigned)c->colours[0] >= GL_COLOUR_COUNT || (unsigned)c->colours[1] >= GL_COLOUR_COUNT)
        return -1;
    return split_of(c->shape, c->texture, c->colours[0], c->colours[1]);
}

/* ---- sampling ------------------------------------------------------------------------ */

static double unif(gl_rng *r, double lo, double hi) { return lo + (hi - lo) * gl_rng_uniform(r); }
static int pick(gl_rng *r, int n) { return (int)(gl_rng_u64(r) % (uint64_t)n); }
static double sign(gl_rng *r) { return gl_rng_u64(r) & 1 ? -1.0 : 1.0; }

/* Euclidean distance of two colours, and of a colour from a background's mean colour. */
static double cdist(const float *a, const float *b) {
    double d = 0;
    for (int k = 0; k < 3; k++) d += ((double)a[k] - b[k]) * ((double)a[k] - b[k]);
    return d; /* squared: compared with squared thresholds, no sqrt needed */
}

static int contrasts(const gl_concept *c, int bg_kind, int bg_style) {
    float mean[3];
    for (int k = 0; k < 3; k++)
        mean[k] = bg_style == GL_BGSTYLE_SOLID ? bg_rgb[bg_kind][k]
                                               : 0.5f * (bg_rgb[bg_kind][k] + bg_rgb[bg_kind][3 + k]);
    /* the naming colour must stand out clearly, the others visibly */
    if (cdist(colour_rgb[c->colours[0]], mean) < 0.40 * 0.40) return 0;
    for (int i = 1; i < c->n_colours; i++)
        if (cdist(colour_rgb[c->colours[i]], mean) < 0.25 * 0.25) return 0;
    return 1;
}

/* The path of `kind` for a shape of reach m (frame units), so that it stays in frame. */
static void sample_path(gl_path *p, gl_rng *r, int kind, double m) {
    memset(p, 0, sizeof *p);
    p->kind = (gl_motion)kind;
    double room = 0.5 - m; /* >= 0.17 for the domain (size <= 0.22, pulse <= 0.3); >= 0.05 scaled */
    switch (kind) {
    case GL_MOTION_DRIFT: {
        double ax = unif(r, 0.35, 1.0) * room, ay = unif(r, 0.35, 1.0) * room;
        p->amp_x[0] = ax * unif(r, 0.55, 0.9);
        p->amp_x[1] = ax - p->amp_x[0];
        p->amp_y[0] = ay * unif(r, 0.55, 0.9);
        p->amp_y[1] = ay - p->amp_y[0];
        p->cycles_x[0] = 1;
        p->cycles_y[0] = 1 + pick(r, 2);
        p->cycles_x[1] = 2 + pick(r, 2);
        p->cycles_y[1] = 2 + pick(r, 2);
        for (int k = 0; k < 2; k++) {
            p->phase_x[k] = gl_rng_uniform(r);
            p->phase_y[k] = gl_rng_uniform(r);
        }
        p->x = unif(r, m + ax, 1.0 - m - ax);
        p->y = unif(r, m + ay, 1.0 - m - ay);
        break;
    }
    case GL_MOTION_BOUNCE:
        p->x = unif(r, m, 1.0 - m);
        p->y = unif(r, m, 1.0 - m);
        p->vx = sign(r) * unif(r, 0.4, 1.1);
        p->vy = sign(r) * unif(r, 0.4, 1.1);
        break;
    case GL_MOTION_ORBIT:
        /* a subject grown by gl_concept_scale can leave less room than 0.15 */
        p->radius = unif(r, room < 0.15 ? 0.5 * room : 0.15, room);
        p->ratio = unif(r, 0.55, 1.0);
        p->turns = sign(r) * unif(r, 0.6, 1.1);
        p->phase = gl_rng_uniform(r);
        p->x = unif(r, m + p->radius, 1.0 - m - p->radius);
        p->y = unif(r, m + p->ratio * p->radius, 1.0 - m - p->ratio * p->radius);
        break;
    default: /* zigzag */
        p->x = unif(r, m, 1.0 - m);
        p->y = unif(r, m, 1.0 - m);
        p->vx = sign(r) * unif(r, 0.3, 0.8);
        p->vy = sign(r) * unif(r, 0.3, 0.8);
        p->zig_amp = unif(r, 0.06, 0.14);
        p->zigs = 1 + pick(r, 3);
        break;
    }
}

static void sample_bg(gl_background *b, gl_rng *r, int kind, int style) {
    b->kind = (gl_bg_kind)kind;
    b->style = (gl_bg_style)style;
    b->angle = gl_rng_uniform(r);
    b->scale = unif(r, 2.0, 8.0);
    b->noise_seed = (uint32_t)(gl_rng_u64(r) >> 32);
}

int gl_concept_sample(gl_concept *c, uint64_t seed, int split) {
    if (split != GL_SPLIT_TRAIN && split != GL_SPLIT_HELDOUT) return GL_EINVAL;
    gl_rng r;
    gl_rng_seed(&r, seed);
    memset(c, 0, sizeof *c);
    c->seed = seed;
    int bg_kind, bg_style;
    /* Discrete appearance first; drawn again until it lands in the split (about 8 draws
     * for the held-out split) and contrasts with the background. */
    for (;;) {
        c->shape = (gl_shape)pick(&r, GL_SHAPE_COUNT);
        c->texture = (gl_texture)pick(&r, GL_TEX_COUNT);
        c->n_colours = gl_rng_uniform(&r) < 0.3 ? 3 : 2;
        c->colours[0] = (gl_colour)pick(&r, GL_COLOUR_COUNT);
        c->colours[1] = (gl_colour)((c->colours[0] + 1 + pick(&r, GL_COLOUR_COUNT - 1)) % GL_COLOUR_COUNT);
        do c->colours[2] = (gl_colour)pick(&r, GL_COLOUR_COUNT);
        while (c->colours[2] == c->colours[0] || c->colours[2] == c->colours[1]);
        bg_kind = pick(&r, GL_BG_COUNT);
        bg_style = pick(&r, GL_BGSTYLE_COUNT);
        if (split_of(c->shape, c->texture, c->colours[0], c->colours[1]) == split &&
            contrasts(c, bg_kind, bg_style))
            break;
    }
    if (c->n_colours == 2) c->colours[2] = c->colours[0]; /* unused; keep it a valid colour */
    switch (c->texture) {
    case GL_TEX_STRIPES: c->tex_freq = unif(&r, 0.8, 2.0); break;
    case GL_TEX_CHECKS: c->tex_freq = unif(&r, 1.0, 2.0); break;
    case GL_TEX_SPOTS: c->tex_freq = unif(&r, 1.0, 1.8); break;
    default: c->tex_freq = 1.0; break;
    }
    c->tex_angle = gl_rng_uniform(&r);
    c->tex_seed = (uint32_t)(gl_rng_u64(&r) >> 32);
    c->size = unif(&r, 0.12, 0.22);
    c->angle = gl_rng_uniform(&r);
    for (int k = 0; k < 3; k++) {
        c->blob_amp[k] = unif(&r, 0.0, 0.09);
        c->blob_phase[k] = gl_rng_uniform(&r);
    }
    double u = gl_rng_uniform(&r);
    if (u >= 0.5 && u < 0.8) {
        c->spin = sign(&r) * unif(&r, 0.25, 1.0);
    } else if (u >= 0.8) {
        c->pulse = unif(&r, 0.15, 0.3);
        c->pulse_cycles = 1 + pick(&r, 2);
    }
    sample_path(&c->path, &r, pick(&r, GL_MOTION_COUNT), c->size * (1.0 + c->pulse));
    sample_bg(&c->bg, &r, bg_kind, bg_style);
    return GL_OK;
}

int gl_concept_scale(gl_concept *c, double k) {
    if (!c || !(k > 0) || !(c->size * k * (1.0 + c->pulse) <= GL_CONCEPT_MAX_REACH)) return GL_EINVAL;
    if (k == 1.0) return GL_OK;
    c->size *= k;
    /* drift and orbit keep their centres within the reach they were drawn for, so the
     * path is drawn again for the new reach, from the concept's own seed */
    gl_rng r;
    gl_rng_seed(&r, c->seed ^ 0x9e3779b97f4a7c15ull);
    sample_path(&c->path, &r, c->path.kind, c->size * (1.0 + c->pulse));
    return GL_OK;
}

/* ---- validity ---------------------------------------------------------------------- */

/* finite and within +-lim (NaN fails both comparisons) */
static int fin(double x, double lim) { return x >= -lim && x <= lim; }

int gl_concept_check(const gl_concept *c, char *msg, size_t msglen) {
    const char *bad = NULL;
    const gl_path *p = &c->path;
    if ((unsigned)c->shape >= GL_SHAPE_COUNT) bad = "shape";
    else if ((unsigned)c->texture >= GL_TEX_COUNT) bad = "texture";
    else if (c->n_colours < 2 || c->n_colours > 3) bad = "n_colours";
    else if ((unsigned)c->colours[0] >= GL_COLOUR_COUNT || (unsigned)c->colours[1] >= GL_COLOUR_COUNT ||
             (unsigned)c->colours[2] >= GL_COLOUR_COUNT || c->colours[0] == c->colours[1] ||
             (c->n_colours == 3 && (c->colours[2] == c->colours[0] || c->colours[2] == c->colours[1])))
        bad = "colours";
    else if (!(c->tex_freq > 0 && c->tex_freq <= 16)) bad = "tex_freq";
    else if (!fin(c->tex_angle, 1e6)) bad = "tex_angle";
    else if (!(c->size > 0 && c->size <= 0.5)) bad = "size";
    else if (!fin(c->angle, 1e6)) bad = "angle";
    else if (!(c->blob_amp[0] >= 0 && c->blob_amp[1] >= 0 && c->blob_amp[2] >= 0 &&
               c->blob_amp[0] + c->blob_amp[1] + c->blob_amp[2] <= 0.28))
        bad = "blob_amp";
    else if (!fin(c->blob_phase[0], 1e6) || !fin(c->blob_phase[1], 1e6) || !fin(c->blob_phase[2], 1e6))
        bad = "blob_phase";
    else if (!fin(c->spin, 1e3)) bad = "spin";
    else if (!(c->pulse >= 0 && c->pulse <= 0.5)) bad = "pulse";
    else if (c->pulse_cycles < 0 || c->pulse_cycles > 64) bad = "pulse_cycles";
    else if ((unsigned)p->kind >= GL_MOTION_COUNT) bad = "path.kind";
    else if (!fin(p->x, 1e3) || !fin(p->y, 1e3)) bad = "path.x/y";
    else if (!fin(p->amp_x[0], 1e3) || !fin(p->amp_x[1], 1e3) || !fin(p->amp_y[0], 1e3) ||
             !fin(p->amp_y[1], 1e3))
        bad = "path.amp";
    else if (!fin(p->phase_x[0], 1e6) || !fin(p->phase_x[1], 1e6) || !fin(p->phase_y[0], 1e6) ||
             !fin(p->phase_y[1], 1e6))
        bad = "path.phase";
    else if (p->cycles_x[0] < -64 || p->cycles_x[0] > 64 || p->cycles_x[1] < -64 || p->cycles_x[1] > 64 ||
             p->cycles_y[0] < -64 || p->cycles_y[0] > 64 || p->cycles_y[1] < -64 || p->cycles_y[1] > 64)
        bad = "path.cycles";
    else if (!fin(p->vx, 1e3) || !fin(p->vy, 1e3)) bad = "path.vx/vy";
    else if (!fin(p->radius, 1e3) || !fin(p->ratio, 1e3) || !fin(p->turns, 1e3) || !fin(p->phase, 1e6))
        bad = "path.orbit";
    else if (!fin(p->zig_amp, 1e3) || p->zigs < 0 || p->zigs > 64) bad = "path.zigzag";
    else if ((unsigned)c->bg.kind >= GL_BG_COUNT) bad = "bg.kind";
    else if ((unsigned)c->bg.style >= GL_BGSTYLE_COUNT) bad = "bg.style";
    else if (!fin(c->bg.angle, 1e6)) bad = "bg.angle";
    else if (!(c->bg.scale > 0 && c->bg.scale <= 64)) bad = "bg.scale";
    if (!bad) return GL_OK;
    if (msg && msglen) snprintf(msg, msglen, "concept: %s is out of range", bad);
    return GL_EINVAL;
}

double gl_effect_reach(const gl_concept *c, unsigned effect) {
    double r = 0, s = c->size, m = (1.0 + c->pulse) * s;
    if (effect & (GL_FX_RAIN | GL_FX_NIGHT)) return INFINITY;
    if (effect & GL_FX_SMOKE && 2.5 * s + 0.15 > r) r = 2.5 * s + 0.15;
    if (effect & GL_FX_LIGHTS && 3.0 * m > r) r = 3.0 * m;
    if (effect & GL_FX_SHADOW && 1.62 * m > r) r = 1.62 * m; /* 1 + |(0.35, 0.5)| */
    return r;
}

/* ---- re-staging and variants ------------------------------------------------------- */

int gl_concept_restage(const gl_concept *c, int variant, gl_concept *out) {
    if (variant < 0 || variant >= GL_VARIANT_COUNT) return GL_EINVAL;
    if ((unsigned)c->bg.kind >= GL_BG_COUNT || (unsigned)c->path.kind >= GL_MOTION_COUNT ||
        gl_concept_split(c) < 0 || c->n_colours < 2 || c->n_colours > 3)
        return GL_EINVAL;
    *out = *c;
    gl_rng r;
    if (variant == GL_VARIANT_BACKGROUND) {
        gl_rng_seed(&r, c->seed ^ 0x3C6EF372FE94F82Bull);
        int style = pick(&r, GL_BGSTYLE_COUNT), start = pick(&r, GL_BG_COUNT - 1), kind = -1;
        /* the first other kind, from a random start, that the subject stands out on */
        for (int i = 0; i < GL_BG_COUNT - 1 && kind < 0; i++) {
            int k = (c->bg.kind + 1 + (start + i) % (GL_BG_COUNT - 1)) % GL_BG_COUNT;
            if (contrasts(c, k, style)) kind = k;
        }
        if (kind < 0) kind = (c->bg.kind + 1 + start) % GL_BG_COUNT;
        sample_bg(&out->bg, &r, kind, style);
    } else if (variant == GL_VARIANT_MOTION) {
        gl_rng_seed(&r, c->seed ^ 0xA54FF53A5F1D36F1ull);
        int kind = (c->path.kind + 1 + pick(&r, GL_MOTION_COUNT - 1)) % GL_MOTION_COUNT;
        sample_path(&out->path, &r, kind, c->size * (1.0 + c->pulse));
    }
    return GL_OK;
}

static const unsigned variant_effect[GL_VARIANT_COUNT] = {
    [GL_VARIANT_SMOKE] = GL_FX_SMOKE, [GL_VARIANT_LIGHTS] = GL_FX_LIGHTS,
    [GL_VARIANT_NIGHT] = GL_FX_NIGHT, [GL_VARIANT_RAIN] = GL_FX_RAIN,
    [GL_VARIANT_SHADOW] = GL_FX_SHADOW};

int gl_scene_from_variant(gl_scene *s, const gl_concept *a, const gl_concept *b, int variant) {
    if (variant < 0 || variant >= GL_VARIANT_COUNT || (variant == GL_VARIANT_WITH && !b)) return GL_EINVAL;
    memset(s, 0, sizeof *s);
    s->n_subjects = 1;
    int err = gl_concept_restage(a, variant, &s->subjects[0]);
    if (err) return err;
    s->bg = s->subjects[0].bg;
    s->effects = variant_effect[variant];
    if (variant == GL_VARIANT_WITH) {
        s->subjects[1] = *b;
        s->n_subjects = 2;
    }
    return GL_OK;
}

/* ---- captions ------------------------------------------------------------------------ */

typedef struct sbuf {
    char *p;
    size_t len, n;
    int overflow;
} sbuf;

static void put(sbuf *b, const char *word) { /* appends word, after a space unless first */
    size_t w = strlen(word), sep = b->n ? 1 : 0;
    if (b->overflow || b->n + sep + w + 1 > b->len) {
        b->overflow = 1;
        return;
    }
    if (sep) b->p[b->n++] = ' ';
    memcpy(b->p + b->n, word, w + 1);
    b->n += w;
}

static void put_subject(sbuf *b, const gl_concept *c, int64_t token, int with_motion) {
    const char *first = c->spin != 0 ? "spinning" : c->pulse != 0 ? "pulsing" : colour_names[c->colours[0]];
    put(b, first[0] == 'a' || first[0] == 'e' || first[0] == 'i' || first[0] == 'o' || first[0] == 'u'
               ? "an" : "a");
    if (token >= 0) {
        char tok[32];
        snprintf(tok, sizeof tok, "<c%lld>", (long long)token);
        put(b, tok);
    }
    if (c->spin != 0) put(b, "spinning");
    else if (c->pulse != 0) put(b, "pulsing");
    put(b, colour_names[c->colours[0]]);
    put(b, texture_words[c->texture]);
    put(b, shape_names[c->shape]);
    if (with_motion) put(b, motion_words[c->path.kind]);
}

int gl_scene_caption(const gl_scene *s, const int64_t *tokens, char *buf, size_t len) {
    if (!buf || !len) return GL_EINVAL;
    buf[0] = '\0';
    if (s->n_subjects < 1 || s->n_subjects > GL_SCENE_MAX || (unsigned)s->bg.kind >= GL_BG_COUNT)
        return GL_EINVAL;
    for (int i = 0; i < s->n_subjects; i++) {
        const gl_concept *c = &s->subjects[i];
        if (gl_concept_split(c) < 0 || (unsigned)c->path.kind >= GL_MOTION_COUNT) return GL_EINVAL;
    }
    sbuf b = {buf, len, 0, 0};
    for (int i = 0; i < s->n_subjects; i++) {
        if (i) put(&b, "and");
        put_subject(&b, &s->subjects[i], tokens ? tokens[i] : -1, s->n_subjects == 1);
    }
    put(&b, bg_phrases[s->bg.kind]);
    for (int i = 0; i < N_EFFECTS; i++)
        if (s->effects & effect_bits[i]) put(&b, effect_phrases[i]);
    if (b.overflow) {
        buf[0] = '\0';
        return GL_EINVAL;
    }
    return GL_OK;
}

int gl_variant_caption(const gl_concept *a, const gl_concept *b, int variant, const int64_t *tokens,
                       char *buf, size_t len) {
    gl_scene s;
    int err = gl_scene_from_variant(&s, a, b, variant);
    if (err) {
        if (buf && len) buf[0] = '\0';
        return err;
    }
    return gl_scene_caption(&s, tokens, buf, len);
}

/* ---- a pair's caption from two captions ------------------------------------------- */

static int word_is(const char *w, size_t n, const char *const *words, int count) {
    for (int i = 0; i < count; i++)
        if (strlen(words[i]) == n && !memcmp(w, words[i], n)) return 1;
    return 0;
}

/* A one-subject caption's parts: the subject phrase (article to shape word, a concept
 * token kept) is cap[0, *subject); *scene is what follows the motion word, from the space
 * before the background phrase. 0, or GL_EINVAL when cap does not have that form. */
static int caption_parts(const char *cap, size_t *subject, const char **scene) {
    if (strncmp(cap, "a ", 2) && strncmp(cap, "an ", 3)) return GL_EINVAL;
    for (const char *w = cap; *w;) {
        size_t n = strcspn(w, " ");
        if (word_is(w, n, shape_names, GL_SHAPE_COUNT)) {
            const char *m = w + n;
            if (*m != ' ') return GL_EINVAL;
            size_t mn = strcspn(m + 1, " ");
            if (!word_is(m + 1, mn, motion_words, GL_MOTION_COUNT)) return GL_EINVAL;
            const char *rest = m + 1 + mn;
            for (int b = 0; b < GL_BG_COUNT; b++) {
                size_t bn = strlen(bg_phrases[b]);
                if (rest[0] == ' ' && !strncmp(rest + 1, bg_phrases[b], bn) &&
                    (rest[1 + bn] == '\0' || rest[1 + bn] == ' ')) {
                    *subject = (size_t)(w + n - cap);
                    *scene = rest;
                    return GL_OK;
                }
            }
            return GL_EINVAL;
        }
        w += n;
        while (*w == ' ') w++;
    }
    return GL_EINVAL;
}

int gl_caption_pair(const char *a, const char *b, char *buf, size_t len) {
    if (!buf || !len) return GL_EINVAL;
    buf[0] = '\0';
    size_t sa, sb;
    const char *scene, *unused;
    if (!a || !b || caption_parts(a, &sa, &scene) || caption_parts(b, &sb, &unused)) return GL_EINVAL;
    int n = snprintf(buf, len, "%.*s and %.*s%s", (int)sa, a, (int)sb, b, scene);
    if (n < 0 || (size_t)n >= len) {
        buf[0] = '\0';
        return GL_EINVAL;
    }
    return GL_OK;
}
