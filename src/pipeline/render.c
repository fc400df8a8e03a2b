/* pipeline/render.c: draws scenes of concepts (shapes, textures, paths, backgrounds,
 * effects) into videos, supersampled, bit-exact on every machine. It must not call libm's
 * transcendentals (sin, cos, atan2, exp, pow: their last bits differ between libm builds);
 * it uses + - * / sqrt floor fabs, which IEEE 754 rounds exactly, and its own polynomials.
 * Concept sampling and captions are concept.c's job. */

/* A fused multiply-add rounds once where a*b+c rounds twice, so letting the compiler
 * contract would make the bits depend on the target (-march=native with FMA or not).
 * GCC already keeps contraction off under -std=c11 (ISO mode); clang contracts within an
 * expression by default. Both are told here, so the file stands on its own. */
#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

#include <math.h> /* floor, fabs, sqrt only */
#include <stdlib.h>
#include <string.h>

#include "gridlora/core.h"
#include "gridlora/render.h"

/* ---- exact-everywhere maths ----------------------------------------------------------- */

#define TWO_PI 6.283185307179586
#define HALF_PI 1.5707963267948966
#define PI 3.141592653589793

/* sin and cos of 2 pi x (x in turns): x minus its nearest quarter turn (exact), scaled to
 * |r| <= pi/4, then Taylor series to degree 15 and 16 (truncation < 1e-16 there). */
static void sincos_turns(double x, double *s, double *c) {
    double q = floor(4.0 * x + 0.5);
    double r = (x - 0.25 * q) * TWO_PI, r2 = r * r;
    double sn = r * (1.0 + r2 * (-1.0 / 6 + r2 * (1.0 / 120 + r2 * (-1.0 / 5040 + r2 * (1.0 / 362880 +
                r2 * (-1.0 / 39916800 + r2 * (1.0 / 6227020800.0 + r2 * (-1.0 / 1307674368000.0))))))));
    double cs = 1.0 + r2 * (-0.5 + r2 * (1.0 / 24 + r2 * (-1.0 / 720 + r2 * (1.0 / 40320 +
                r2 * (-1.0 / 3628800 + r2 * (1.0 / 479001600.0 + r2 * (-1.0 / 87178291200.0 +
                r2 * (1.0 / 20922789888000.0))))))));
    int64_t qi = (int64_t)q % 4;
    if (qi < 0) qi += 4;
    switch (qi) {
    case 0: *s = sn; *c = cs; break;
    case 1: *s = cs; *c = -sn; break;
    case 2: *s = -sn; *c = -cs; break;
    default: *s = -cs; *c = sn; break;
    }
}

static double sin_turns(double x) {
    double s, c;
    sincos_turns(x, &s, &c);
    return s;
}

/* atan(z) for z in [0, 1]: two half-angle steps, atan(z) = 2 atan(z / (1 + sqrt(1 + z^2))),
 * bring z under tan(pi/16) = 0.199, where Taylor to degree 21 errs by < 1e-17. */
static double atan_unit(double z) {
    z = z / (1.0 + sqrt(1.0 + z * z));
    z = z / (1.0 + sqrt(1.0 + z * z));
    double z2 = z * z;
    double a = z * (1.0 + z2 * (-1.0 / 3 + z2 * (1.0 / 5 + z2 * (-1.0 / 7 + z2 * (1.0 / 9 + z2 * (-1.0 / 11 +
               z2 * (1.0 / 13 + z2 * (-1.0 / 15 + z2 * (1.0 / 17 + z2 * (-1.0 / 19 + z2 * (1.0 / 21)))))))))));
    return 4.0 * a;
}

/* The angle of (x, y) in turns, in [-1/2, 1/2]; 0 at the origin. */
static double atan2_turns(double y, double x) {
    double ax = fabs(x), ay = fabs(y);
    if (ax == 0.0 && ay == 0.0) return 0.0;
    double a = ay <= ax ? atan_unit(ay / ax) : HALF_PI - atan_unit(ax / ay);
    if (x < 0) a = PI - a;
    if (y < 0) a = -a;
    return a / TWO_PI;
}

static uint64_t mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static uint64_t hash2(int64_t a, int64_t b, uint64_t seed) {
    return mix64((uint64_t)a * 0x9E3779B97F4A7C15ull ^ mix64((uint64_t)b + 0xC2B2AE3D27D4EB4Full) ^ seed);
}

static double unit_of(uint64_t h) { return (double)(h >> 11) * 0x1.0p-53; }

static double clamp01(double x) { return x < 0.0 ? 0.0 : x > 1.0 ? 1.0 : x; }

/* x reflected into [lo, hi] as a ball bounces between walls; the middle if hi <= lo. */
static double fold(double x, double lo, double hi) {
    if (hi <= lo) return 0.5 * (lo + hi);
    double L = hi - lo, u = (x - lo) / (2.0 * L);
    u = 2.0 * (u - floor(u));
    if (u > 1.0) u = 2.0 - u;
    return lo + L * u;
}

/* Triangle wave of period 1: 1 at integers, -1 halfway between. */
static double tri(double u) { return 4.0 * fabs(u - floor(u) - 0.5) - 1.0; }

/* A smooth bump of squared radius u2 = (d/R)^2: (1 - u2)^2 inside, exactly 0 outside. */
static double bump(double u2) { return u2 < 1.0 ? (1.0 - u2) * (1.0 - u2) : 0.0; }

/* Smooth value noise in [0, 1] on the integer lattice. */
static double vnoise(double x, double y, uint64_t seed) {
    double fx = floor(x), fy = floor(y), tx = x - fx, ty = y - fy;
    int64_t ix = (int64_t)fx, iy = (int64_t)fy;
    tx = tx * tx * (3.0 - 2.0 * tx);
    ty = ty * ty * (3.0 - 2.0 * ty);
    double v00 = unit_of(hash2(ix, iy, seed)), v10 = unit_of(hash2(ix + 1, iy, seed));
    double v01 = unit_of(hash2(ix, iy + 1, seed)), v11 = unit_of(hash2(ix + 1, iy + 1, seed));
    double a = v00 + (v10 - v00) * tx, b = v01 + (v11 - v01) * tx;
    return a + (b - a) * ty;
}

/* ---- the scene's constants --------------------------------------------------------------- */

/* Effects. Lengths in shorter-side units, times in clips; gl_effect_reach (concept.c)
 * states the reaches that follow from these and must change with them. */
#define SMOKE_MAX_AGE 0.6    /* a puff lives 0.6 clip, fading linearly */
#define SMOKE_RISE 0.25      /* and rises this far per clip */
#define SMOKE_R0 0.8         /* its radius grows from 0.8 size to 2.5 size */
#define SMOKE_R1 1.7
#define SMOKE_ALPHA 0.8
#define GLOW_RADIUS 3.0      /* lights and the night's pool: radius in scales */
#define GLOW_GAIN 0.8
#define GLOW_TINT 0.3     /* and it warms what it lights: blue dims most */
#define NIGHT_POOL 0.6
#define SHADOW_DX 0.35       /* shadow offset in scales: |offset| = 0.61 scale */
#define SHADOW_DY 0.5
#define SHADOW_KEEP 0.55     /* a shadowed background keeps 55% of its light */
#define RAIN_DIM 0.85
#define RAIN_ALPHA 0.55
#define RAIN_LANE 0.07       /* streak lanes, slanted by RAIN_SLANT */
#define RAIN_SLANT 0.25
#define RAIN_HALF_WIDTH 0.012
#define RAIN_PERIOD 0.45     /* streaks per lane repeat this often, RAIN_LENGTH of it lit */
#define RAIN_LENGTH 0.35
#define RAIN_FALL (2.0 * RAIN_PERIOD) /* per clip: the pattern loops */

static const double smoke_rgb[3] = {0.60, 0.60, 0.62};
static const double warm_rgb[3] = {0.95, 0.70, 0.35};
static const double night_rgb[3] = {0.20, 0.24, 0.42};
static const double rain_rgb[3] = {0.80, 0.85, 0.95};

/* The lights' flicker: one fixed pattern of clip time, in [0.2, 1]. */
static double flicker(double t) {
    return 0.6 + 0.25 * sin_turns(3.0 * t) + 0.15 * sin_turns(5.0 * t + 0.3);
}

/* One subject at one frame. */
typedef struct pose {
    double cx, cy;     /* centre, shorter-side units from the top-left corner */
    double scale, inv; /* radius of the enclosing circle and its inverse */
    double cr, sr;     /* cos and sin of the rotation */
} pose;

typedef struct subj {
    const gl_concept *c;
    double col[3][3]; /* texture colours */
    double tc, ts;    /* texture direction */
    double star_nx, star_ny;
} subj;

typedef struct rctx {
    const gl_scene *s;
    int64_t F, H, W;
    int ss;
    double m;          /* pixels per unit: the shorter side */
    subj sub[GL_SCENE_MAX];
    pose *poses;       /* [n_subjects][F] */
    double *flick;     /* [F] */
    double bg0[3], bg1[3], gc, gs, aw, ah; /* background colours, gradient direction, extent */
} rctx;

/* ---- paths ------------------------------------------------------------------------------ */

/* The centre at clip time t, frame units; reach: the shape's radius at its largest. */
static void path_at(const gl_path *p, double reach, double t, double aw, double ah, double *x, double *y) {
    double mx = reach / aw, my = reach / ah, s, c;
    switch (p->kind) {
    case GL_MOTION_DRIFT:
        *x = p->x;
        *y = p->y;
        for (int k = 0; k < 2; k++) {
            *x += p->amp_x[k] * sin_turns(p->cycles_x[k] * t + p->phase_x[k]);
            *y += p->amp_y[k] * sin_turns(p->cycles_y[k] * t + p->phase_y[k]);
        }
        break;
    case GL_MOTION_BOUNCE:
        *x = fold(p->x + p->vx * t, mx, 1.0 - mx);
        *y = fold(p->y + p->vy * t, my, 1.0 - my);
        break;
    case GL_MOTION_ORBIT:
        sincos_turns(p->turns * t + p->phase, &s, &c);
        *x = p->x + p->radius * c;
        *y = p->y + p->ratio * p->radius * s;
        break;
    default: { /* zigzag */
        double L = sqrt(p->vx * p->vx + p->vy * p->vy);
        double nx = L > 0 ? -p->vy / L : 0.0, ny = L > 0 ? p->vx / L : 1.0;
        double w = p->zig_amp * tri(p->zigs * t);
        *x = fold(p->x + p->vx * t + nx * w, mx, 1.0 - mx);
        *y = fold(p->y + p->vy * t + ny * w, my, 1.0 - my);
        break;
    }
    }
}

static void pose_at(const gl_concept *c, double t, double aw, double ah, pose *p) {
    double x, y, s, co;
    path_at(&c->path, c->size * (1.0 + c->pulse), t, aw, ah, &x, &y);
    double scale = c->size;
    if (c->pulse != 0) scale *= 1.0 + c->pulse * sin_turns(c->pulse_cycles * t);
    sincos_turns(c->angle + c->spin * t, &s, &co);
    p->cx = x * aw;
    p->cy = y * ah;
    p->scale = scale;
    p->inv = 1.0 / scale;
    p->cr = co;
    p->sr = s;
}

/* ---- shapes and textures ------------------------------------------------------------------ */

/* (U, V) in the subject's own frame (radius 1); 0 when outside its enclosing circle. */
static int to_local(const pose *p, double U, double V, double *x, double *y) {
    double dx = (U - p->cx) * p->inv, dy = (V - p->cy) * p->inv;
    if (dx * dx + dy * dy > 1.0) return 0;
    *x = dx * p->cr + dy * p->sr;
    *y = dy * p->cr - dx * p->sr;
    return 1;
}

/* Inside the shape at local (x, y), already within the unit circle. Every shape fits in
 * it, so the margins computed from `size` keep it in frame. */
static int inside(const subj *sb, double x, double y) {
    const gl_concept *c = sb->c;
    double ax = fabs(x), ay = fabs(y), r2 = x * x + y * y;
    switch (c->shape) {
    case GL_SHAPE_CIRCLE: return 1;
    case GL_SHAPE_SQUARE: return ax <= 0.7071 && ay <= 0.7071;
    case GL_SHAPE_TRIANGLE: /* circumradius 1, apex up, inradius 0.5 */
        return y <= 0.5 && 0.8660254037844386 * x - 0.5 * y <= 0.5 && -0.8660254037844386 * x - 0.5 * y <= 0.5;
    case GL_SHAPE_STAR: { /* five points, inner radius 0.45: fold into one half-point */
        double a = atan2_turns(y, x), f = fabs(a - 0.2 * floor(a * 5.0 + 0.5)), s, co, r = sqrt(r2);
        sincos_turns(f, &s, &co);
        return (r * co - 1.0) * sb->star_nx + r * s * sb->star_ny >= 0.0;
    }
    case GL_SHAPE_RING: return r2 >= 0.55 * 0.55;
    case GL_SHAPE_BLOB: {
        double a = atan2_turns(y, x), rad = 1.0;
        for (int k = 0; k < 3; k++) {
            double s, co;
            sincos_turns((k + 2) * a + c->blob_phase[k], &s, &co);
            rad += c->blob_amp[k] * co;
        }
        rad *= 0.78; /* 0.78 * (1 + 0.28) <= 1 */
        return r2 <= rad * rad;
    }
    case GL_SHAPE_DIAMOND: return 1.25 * ax + ay <= 1.0;
    default: /* cross */ return (ax <= 0.3 && ay <= 0.95) || (ay <= 0.3 && ax <= 0.95);
    }
}

static int64_t imod(double v, int n) {
    int64_t k = (int64_t)v % n;
    return k < 0 ? k + n : k;
}

/* The texture's colour at local (x, y): patterns are fixed to the shape, so they turn
 * and scale with it. */
static void texture_at(const subj *sb, double x, double y, double out[3]) {
    const gl_concept *c = sb->c;
    int n = c->n_colours;
    double w = x * sb->tc + y * sb->ts, w2 = y * sb->tc - x * sb->ts;
    int64_t k = 0;
    switch (c->texture) {
    case GL_TEX_STRIPES: /* tex_freq cycles of n bands across the diameter of 2 */
        k = imod(floor(w * c->tex_freq * n * 0.5), n);
        break;
    case GL_TEX_CHECKS: {
        double g = c->tex_freq * n * 0.5;
        k = imod(floor(w * g) + floor(w2 * g), n);
        break;
    }
    case GL_TEX_SPOTS: { /* one spot of radius 0.3 per lattice cell of side 1/tex_freq */
        double gx = w * c->tex_freq, gy = w2 * c->tex_freq, fx = floor(gx), fy = floor(gy);
        uint64_t h = hash2((int64_t)fx, (int64_t)fy, c->tex_seed);
        double dx = gx - fx - (0.3 + 0.4 * unit_of(h)), dy = gy - fy - (0.3 + 0.4 * unit_of(mix64(h)));
        if (dx * dx + dy * dy < 0.09) k = n == 3 && (h & 1) ? 2 : 1;
        break;
    }
    default: { /* gradient across the shape along tex_angle */
        double s = clamp01(0.5 * (w + 1.0));
        int i0 = 0;
        if (n == 3) {
            s *= 2.0;
            if (s > 1.0) {
                s -= 1.0;
                i0 = 1;
            }
        }
        for (int ch = 0; ch < 3; ch++) out[ch] = sb->col[i0][ch] + (sb->col[i0 + 1][ch] - sb->col[i0][ch]) * s;
        return;
    }
    }
    for (int ch = 0; ch < 3; ch++) out[ch] = sb->col[k][ch];
}

/* ---- one sample ----------------------------------------------------------------------------- */

static void background_at(const rctx *r, double U, double V, double out[3]) {
    const gl_background *b = &r->s->bg;
    double s = 0.0;
    if (b->style == GL_BGSTYLE_GRADIENT)
        s = clamp01(0.5 + (U / r->aw - 0.5) * r->gc + (V / r->ah - 0.5) * r->gs);
    else if (b->style == GL_BGSTYLE_NOISE)
        s = 0.65 * vnoise(U * b->scale, V * b->scale, b->noise_seed) +
            0.35 * vnoise(2.0 * U * b->scale + 17.0, 2.0 * V * b->scale + 5.0, (uint64_t)b->noise_seed ^ 0x5bd1e995ull);
    for (int ch = 0; ch < 3; ch++) out[ch] = r->bg0[ch] + (r->bg1[ch] - r->bg0[ch]) * s;
}

/* The largest bump of radius GLOW_RADIUS scales around any subject. */
static double glow_at(const rctx *r, int64_t f, double U, double V) {
    double g = 0.0;
    for (int i = 0; i < r->s->n_subjects; i++) {
        const pose *p = &r->poses[i * r->F + f];
        double dx = U - p->cx, dy = V - p->cy, R = GLOW_RADIUS * p->scale;
        double b = bump((dx * dx + dy * dy) / (R * R));
        if (b > g) g = b;
    }
    return g;
}

/* Falling streaks: one fixed pattern of (U, V, t), the same for every scene. */
static int streak_at(double U, double V, double t) {
    double u = U + RAIN_SLANT * V, lane = floor(u / RAIN_LANE);
    uint64_t h = hash2((int64_t)lane, 0x7261696eLL, 0x9E3779B97F4A7C15ull);
    double centre = (lane + 0.2 + 0.6 * unit_of(h)) * RAIN_LANE;
    if (fabs(u - centre) > RAIN_HALF_WIDTH) return 0;
    double v = (V - RAIN_FALL * t) / RAIN_PERIOD + unit_of(mix64(h));
    return v - floor(v) < RAIN_LENGTH;
}

/* The colour at (U, V) of frame f; returns the index of the subject seen, or -1. */
static int sample_at(const rctx *r, int64_t f, double U, double V, double col[3]) {
    const gl_scene *s = r->s;
    unsigned fx = s->effects;
    int n = s->n_subjects, hit = -1;
    double t = (double)f / (double)r->F, x, y;
    for (int i = 0; i < n && hit < 0; i++)
        if (to_local(&r->poses[i * r->F + f], U, V, &x, &y) && inside(&r->sub[i], x, y)) {
            hit = i;
            texture_at(&r->sub[i], x, y, col);
        }
    if (hit < 0) {
        background_at(r, U, V, col);
        if (fx & GL_FX_SHADOW) /* the silhouettes, shifted down and right */
            for (int i = 0; i < n; i++) {
                const pose *p = &r->poses[i * r->F + f];
                if (to_local(p, U - SHADOW_DX * p->scale, V - SHADOW_DY * p->scale, &x, &y) && inside(&r->sub[i], x, y)) {
                    for (int ch = 0; ch < 3; ch++) col[ch] *= SHADOW_KEEP;
                    break;
                }
            }
        if (fx & GL_FX_SMOKE) /* a puff left at every visible position, oldest first */
            for (int i = 0; i < n; i++) {
                const gl_concept *c = r->sub[i].c;
                for (int64_t j = 0; j <= f; j++) {
                    double age = (double)(f - j) / (double)r->F;
                    if (age >= SMOKE_MAX_AGE) continue;
                    const pose *p = &r->poses[i * r->F + j];
                    double life = age / SMOKE_MAX_AGE, R = c->size * (SMOKE_R0 + SMOKE_R1 * life);
                    double dx = U - p->cx, dy = V - (p->cy - SMOKE_RISE * age);
                    double a = SMOKE_ALPHA * (1.0 - life) * bump((dx * dx + dy * dy) / (R * R));
                    if (a > 0.0)
                        for (int ch = 0; ch < 3; ch++) col[ch] += (smoke_rgb[ch] - col[ch]) * a;
                }
            }
        if (fx & GL_FX_NIGHT) { /* dark and blue, but for a pool of light around the subjects */
            double pool = NIGHT_POOL * glow_at(r, f, U, V);
            for (int ch = 0; ch < 3; ch++) col[ch] *= night_rgb[ch] + (1.0 - night_rgb[ch]) * pool;
        }
    }
    if (fx & GL_FX_LIGHTS) { /* a warm tint, then a screen-blended warm glow */
        double g = GLOW_GAIN * r->flick[f] * glow_at(r, f, U, V);
        if (g > 0.0)
            for (int ch = 0; ch < 3; ch++) {
                double c = col[ch] * (1.0 - GLOW_TINT * g * (1.0 - warm_rgb[ch]));
                col[ch] = 1.0 - (1.0 - c) * (1.0 - g * warm_rgb[ch]);
            }
    }
    if (fx & GL_FX_RAIN) {
        int st = streak_at(U, V, t);
        for (int ch = 0; ch < 3; ch++) {
            col[ch] *= RAIN_DIM;
            if (st) col[ch] += (rain_rgb[ch] - col[ch]) * RAIN_ALPHA;
        }
    }
    return hit;
}

/* ---- the public calls ---------------------------------------------------------------------- */

gl_render_opts gl_render_default_opts(void) {
    return (gl_render_opts){.frames = 8, .width = 32, .height = 32, .supersample = 4};
}

static int check_opts(const gl_render_opts *o) {
    if (!o || o->frames < 1 || o->frames > 4096 || o->width < 1 || o->width > 4096 || o->height < 1 ||
        o->height > 4096 || o->supersample < 1 || o->supersample > 16)
        return GL_EINVAL;
    if (o->frames * o->width * o->height > ((int64_t)1 << 28)) return GL_EINVAL;
    return GL_OK;
}

static int check_scene(const gl_scene *s) {
    if (!s || s->n_subjects < 1 || s->n_subjects > GL_SCENE_MAX || (s->effects & ~(unsigned)GL_FX_ALL))
        return GL_EINVAL;
    for (int i = 0; i < s->n_subjects; i++)
        if (gl_concept_check(&s->subjects[i], NULL, 0)) return GL_EINVAL;
    const gl_background *b = &s->bg;
    if ((unsigned)b->kind >= GL_BG_COUNT || (unsigned)b->style >= GL_BGSTYLE_COUNT ||
        !(b->angle >= -1e6 && b->angle <= 1e6) || !(b->scale > 0 && b->scale <= 64))
        return GL_EINVAL;
    return GL_OK;
}

int gl_render_scene(const gl_scene *s, const gl_render_opts *o, gl_video *out, float *alpha) {
    if (!out || check_opts(o) || check_scene(s)) return GL_EINVAL;
    rctx r;
    memset(&r, 0, sizeof r);
    r.s = s;
    r.F = o->frames;
    r.H = o->height;
    r.W = o->width;
    r.ss = o->supersample;
    r.m = (double)(r.W < r.H ? r.W : r.H);
    r.aw = (double)r.W / r.m;
    r.ah = (double)r.H / r.m;
    int n = s->n_subjects, err = GL_ENOMEM;
    r.poses = malloc((size_t)(n * r.F) * sizeof *r.poses);
    r.flick = malloc((size_t)r.F * sizeof *r.flick);
    if (!r.poses || !r.flick) goto end;
    if ((err = gl_video_alloc(out, r.F, r.H, r.W))) goto end;

    float bg[6];
    gl_bg_rgb(s->bg.kind, bg);
    for (int ch = 0; ch < 3; ch++) {
        r.bg0[ch] = bg[ch];
        r.bg1[ch] = s->bg.style == GL_BGSTYLE_SOLID ? bg[ch] : bg[3 + ch];
    }
    sincos_turns(s->bg.angle, &r.gs, &r.gc);
    /* the inward normal of the star's edge from the tip (1, 0) to the inner corner at
     * radius 0.45, a tenth of a turn round */
    double ex = 0.45 * 0.8090169943749475 - 1.0, ey = 0.45 * 0.5877852522924731;
    for (int i = 0; i < n; i++) {
        subj *sb = &r.sub[i];
        sb->c = &s->subjects[i];
        for (int k = 0; k < 3; k++) {
            float rgb[3];
            gl_colour_rgb(sb->c->colours[k < sb->c->n_colours ? k : 0], rgb);
            for (int ch = 0; ch < 3; ch++) sb->col[k][ch] = rgb[ch];
        }
        sincos_turns(sb->c->tex_angle, &sb->ts, &sb->tc);
        sb->star_nx = -ey;
        sb->star_ny = ex;
        for (int64_t f = 0; f < r.F; f++) pose_at(sb->c, (double)f / (double)r.F, r.aw, r.ah, &r.poses[i * r.F + f]);
    }
    for (int64_t f = 0; f < r.F; f++) r.flick[f] = flicker((double)f / (double)r.F);

    gl_threads(); /* applies GRIDLORA_THREADS on first use */
    const int ss = r.ss;
    const double inv_n = 1.0 / (double)(ss * ss);
    /* Each pixel is its own: any thread count gives the same bits. */
#pragma omp parallel for schedule(static)
    for (int64_t row = 0; row < r.F * r.H; row++) {
        int64_t f = row / r.H, py = row % r.H;
        for (int64_t px = 0; px < r.W; px++) {
            double acc[3] = {0, 0, 0}, col[3];
            int cnt[GL_SCENE_MAX] = {0};
            for (int sy = 0; sy < ss; sy++)
                for (int sx = 0; sx < ss; sx++) {
                    double U = ((double)px + (sx + 0.5) / ss) / r.m, V = ((double)py + (sy + 0.5) / ss) / r.m;
                    int hit = sample_at(&r, f, U, V, col);
                    if (hit >= 0) cnt[hit]++;
                    for (int ch = 0; ch < 3; ch++) acc[ch] += col[ch];
                }
            float *o3 = out->rgb + (row * r.W + px) * 3;
            for (int ch = 0; ch < 3; ch++) o3[ch] = (float)clamp01(acc[ch] * inv_n);
            if (alpha)
                for (int i = 0; i < n; i++) alpha[((i * r.F + f) * r.H + py) * r.W + px] = (float)(cnt[i] * inv_n);
        }
    }
    err = GL_OK;
end:
    free(r.poses);
    free(r.flick);
    return err;
}

int gl_render_concept(const gl_concept *c, const gl_render_opts *o, gl_video *out) {
    return gl_render_variant(c, NULL, GL_VARIANT_PLAIN, o, out);
}

int gl_render_variant(const gl_concept *a, const gl_concept *b, int variant, const gl_render_opts *o,
                      gl_video *out) {
    gl_scene s;
    int err = gl_scene_from_variant(&s, a, b, variant);
    return err ? err : gl_render_scene(&s, o, out, NULL);
}
