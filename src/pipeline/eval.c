/* pipeline/eval.c: the evaluation's metrics, pure functions over videos and masks: PSNR,
 * subject colour statistics, the foreground estimate and its centroid path, temporal
 * change, the effects' statistics. Knows nothing of models or methods (eval_run.c). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gridlora/core.h"
#include "gridlora/eval.h"

static int64_t pixels(const gl_video *v) { return v->frames * v->height * v->width; }

static int usable(const gl_video *v) {
    return v && v->rgb && v->frames > 0 && v->height > 0 && v->width > 0;
}

static int same_size(const gl_video *a, const gl_video *b) {
    return usable(a) && usable(b) && a->frames == b->frames && a->height == b->height && a->width == b->width;
}

static double luma(const float *p) { return ((double)p[0] + p[1] + p[2]) / 3.0; }

static double rgb_dist(const float *a, const float *b) {
    double d = 0;
    for (int k = 0; k < 3; k++) d += ((double)a[k] - b[k]) * ((double)a[k] - b[k]);
    return sqrt(d);
}

int gl_eval_psnr(const gl_video *x, const gl_video *truth, double *db) {
    if (!same_size(x, truth)) return GL_EINVAL;
    const int64_t n = pixels(x) * 3;
    double se = 0;
    for (int64_t i = 0; i < n; i++) {
        double d = (double)x->rgb[i] - truth->rgb[i];
        se += d * d;
    }
    double mse = se / (double)n;
    *db = mse > 0 ? fmin(GL_EVAL_PSNR_MAX, -10.0 * log10(mse)) : GL_EVAL_PSNR_MAX;
    return GL_OK;
}

int gl_eval_fg_stats(const gl_video *v, const float *weight, double mean[3], double std[3]) {
    if (!usable(v) || !weight) return GL_EINVAL;
    const int64_t n = pixels(v);
    double sw = 0, s[3] = {0, 0, 0};
    for (int64_t p = 0; p < n; p++) {
        sw += weight[p];
        for (int k = 0; k < 3; k++) s[k] += weight[p] * (double)v->rgb[p * 3 + k];
    }
    if (!(sw > 0)) return GL_EINVAL;
    for (int k = 0; k < 3; k++) mean[k] = s[k] / sw;
    /* two passes: the variance of a nearly flat subject would drown in E[x^2] - E[x]^2 */
    double q[3] = {0, 0, 0};
    for (int64_t p = 0; p < n; p++)
        for (int k = 0; k < 3; k++) {
            double d = (double)v->rgb[p * 3 + k] - mean[k];
            q[k] += weight[p] * d * d;
        }
    for (int k = 0; k < 3; k++) std[k] = sqrt(q[k] / sw);
    return GL_OK;
}

int gl_eval_identity_parts(const gl_video *x, const gl_video *truth, const float *alpha, double *colour,
                           double *spread) {
    if (!same_size(x, truth)) return GL_EINVAL;
    double mx[3], sx[3], mt[3], st[3];
    int rc = gl_eval_fg_stats(x, alpha, mx, sx);
    if (!rc) rc = gl_eval_fg_stats(truth, alpha, mt, st);
    if (rc) return rc;
    double c = 0, s = 0;
    for (int k = 0; k < 3; k++) {
        c += fabs(mx[k] - mt[k]);
        s += fabs(sx[k] - st[k]);
    }
    *colour = c / 3.0;
    *spread = s / 3.0;
    return GL_OK;
}

int gl_eval_identity(const gl_video *x, const gl_video *truth, const float *alpha, double *dist) {
    double c, s;
    int rc = gl_eval_identity_parts(x, truth, alpha, &c, &s);
    if (!rc) *dist = c + s;
    return rc;
}

/* The median of n values (n >= 1), sorting them in place: the mean of the middle two for
 * even n, so that a pixel covered in fewer than half the frames gets its background. */
static float median(float *a, int64_t n) {
    for (int64_t i = 1; i < n; i++) {
        float t = a[i];
        int64_t j = i;
        for (; j > 0 && a[j - 1] > t; j--) a[j] = a[j - 1];
        a[j] = t;
    }
    return n % 2 ? a[n / 2] : 0.5f * (a[n / 2 - 1] + a[n / 2]);
}

/* 3x3 erosion (a pixel stays set when its whole neighbourhood is) or dilation (a pixel
 * is set when any neighbour is) of in into out, both [H*W]. Outside the frame counts as
 * set for erosion, so that a subject at the border keeps its edge. Returns how many
 * pixels of out are set. */
static int64_t morph(const uint8_t *in, uint8_t *out, int64_t H, int64_t W, int erode) {
    int64_t set = 0;
    for (int64_t y = 0; y < H; y++)
        for (int64_t x = 0; x < W; x++) {
            int v = erode;
            for (int64_t yy = y - 1; yy <= y + 1; yy++)
                for (int64_t xx = x - 1; xx <= x + 1; xx++) {
                    if (yy < 0 || yy >= H || xx < 0 || xx >= W) continue;
                    if (erode && !in[yy * W + xx]) v = 0;
                    if (!erode && in[yy * W + xx]) v = 1;
                }
            out[y * W + x] = (uint8_t)v;
            set += v;
        }
    return set;
}

int gl_eval_foreground(const gl_video *v, float *mask) {
    if (!usable(v) || !mask) return GL_EINVAL;
    const int64_t F = v->frames, H = v->height, W = v->width, P = H * W;
    float *bg = malloc((size_t)P * 3 * sizeof *bg), *col = malloc((size_t)F * sizeof *col);
    uint8_t *raw = malloc((size_t)P * 3), *ero = raw + P, *open = raw + 2 * P;
    if (!bg || !col || !raw) {
        free(bg);
        free(col);
        free(raw);
        return GL_ENOMEM;
    }
    for (int64_t p = 0; p < P; p++)
        for (int k = 0; k < 3; k++) {
            for (int64_t f = 0; f < F; f++) col[f] = v->rgb[(f * P + p) * 3 + k];
            bg[p * 3 + k] = median(col, F);
        }
    for (int64_t f = 0; f < F; f++) {
        int64_t n_raw = 0;
        for (int64_t p = 0; p < P; p++) {
            raw[p] = rgb_dist(&v->rgb[(f * P + p) * 3], &bg[p * 3]) > GL_EVAL_FG_THRESHOLD;
            n_raw += raw[p];
        }
        morph(raw, ero, H, W, 1);
        /* a subject too small to survive the opening keeps its raw mask */
        const uint8_t *keep = morph(ero, open, H, W, 0) > 0 || n_raw == 0 ? open : raw;
        for (int64_t p = 0; p < P; p++) mask[f * P + p] = keep[p] ? 1.0f : 0.0f;
    }
    free(bg);
    free(col);
    free(raw);
    return GL_OK;
}

int gl_eval_centroids(const float *w, int64_t F, int64_t H, int64_t W, double *cx, double *cy) {
    if (!w || F < 1 || H < 1 || W < 1) return GL_EINVAL;
    for (int64_t f = 0; f < F; f++) {
        double sw = 0, sx = 0, sy = 0;
        for (int64_t y = 0; y < H; y++)
            for (int64_t x = 0; x < W; x++) {
                double a = w[(f * H + y) * W + x];
                sw += a;
                sx += a * ((double)x + 0.5);
                sy += a * ((double)y + 0.5);
            }
        cx[f] = sw > 0 ? sx / sw : 0.5 * (double)W;
        cy[f] = sw > 0 ? sy / sw : 0.5 * (double)H;
    }
    return GL_OK;
}

int gl_eval_fg_path(const gl_video *v, double *cx, double *cy) {
    if (!usable(v)) return GL_EINVAL;
    float *mask = malloc((size_t)pixels(v) * sizeof *mask);
    if (!mask) return GL_ENOMEM;
    int rc = gl_eval_foreground(v, mask);
    if (!rc) rc = gl_eval_centroids(mask, v->frames, v->height, v->width, cx, cy);
    free(mask);
    return rc;
}

static double path_distance(const double *c, int64_t F) {
    double e = 0;
    for (int64_t f = 0; f < F; f++) e += hypot(c[f] - c[2 * F + f], c[F + f] - c[3 * F + f]);
    return e / (double)F;
}

int gl_eval_motion(const gl_video *x, const gl_video *truth, double *err_px) {
    if (!same_size(x, truth)) return GL_EINVAL;
    const int64_t F = x->frames;
    double *c = malloc((size_t)F * 4 * sizeof *c); /* x's cx, cy, then the truth's */
    if (!c) return GL_ENOMEM;
    int rc = gl_eval_fg_path(x, c, c + F);
    if (!rc) rc = gl_eval_fg_path(truth, c + 2 * F, c + 3 * F);
    if (!rc) *err_px = path_distance(c, F);
    free(c);
    return rc;
}

int gl_eval_motion_path(const gl_video *x, const float *alpha, double *err_px) {
    if (!usable(x) || !alpha) return GL_EINVAL;
    const int64_t F = x->frames;
    double *c = malloc((size_t)F * 4 * sizeof *c);
    if (!c) return GL_ENOMEM;
    int rc = gl_eval_fg_path(x, c, c + F);
    if (!rc) rc = gl_eval_centroids(alpha, F, x->height, x->width, c + 2 * F, c + 3 * F);
    if (!rc) *err_px = path_distance(c, F);
    free(c);
    return rc;
}

int gl_eval_temporal(const gl_video *v, double *mad) {
    if (!usable(v)) return GL_EINVAL;
    const int64_t per = v->height * v->width * 3;
    double s = 0;
    for (int64_t f = 0; f + 1 < v->frames; f++)
        for (int64_t i = 0; i < per; i++) s += fabs((double)v->rgb[(f + 1) * per + i] - v->rgb[f * per + i]);
    *mad = v->frames > 1 ? s / (double)((v->frames - 1) * per) : 0.0;
    return GL_OK;
}

/* The mean absolute frame-to-frame change where neither frame shows the subject. */
static int still_change(const gl_video *v, const float *alpha, double *out) {
    const int64_t F = v->frames, P = v->height * v->width;
    if (F < 2) {
        *out = 0;
        return GL_OK;
    }
    double s = 0, sw = 0;
    for (int64_t f = 0; f + 1 < F; f++)
        for (int64_t p = 0; p < P; p++) {
            double w = (1.0 - alpha[f * P + p]) * (1.0 - alpha[(f + 1) * P + p]);
            const float *a = &v->rgb[(f * P + p) * 3], *b = &v->rgb[((f + 1) * P + p) * 3];
            sw += w;
            s += w * (fabs((double)b[0] - a[0]) + fabs((double)b[1] - a[1]) + fabs((double)b[2] - a[2])) / 3.0;
        }
    if (!(sw > 0)) return GL_EINVAL;
    *out = s / sw;
    return GL_OK;
}

int gl_eval_effect_stat(const gl_video *v, const gl_video *plain, const float *alpha, unsigned effect,
                        double *stat) {
    /* render.c's smoke colour: the grey its puffs blend towards */
    static const float smoke[3] = {0.60f, 0.60f, 0.62f};
    if (!same_size(v, plain) || !alpha || !gl_effect_name(effect)) return GL_EINVAL;
    const int64_t n = pixels(v);
    if (effect == GL_FX_RAIN) {
        double cv, cp;
        int rc = still_change(v, alpha, &cv);
        if (!rc) rc = still_change(plain, alpha, &cp);
        if (!rc) *stat = cv - cp;
        return rc;
    }
    double s = 0, sw = 0, lv = 0, lp = 0;
    for (int64_t p = 0; p < n; p++) {
        const float *a = &v->rgb[p * 3], *b = &plain->rgb[p * 3];
        double away = 1.0 - alpha[p];
        switch (effect) {
        case GL_FX_SMOKE:
            s += away * (rgb_dist(b, smoke) - rgb_dist(a, smoke));
            sw += away;
            break;
        case GL_FX_LIGHTS:
            s += ((double)a[0] - a[2]) - ((double)b[0] - b[2]);
            sw += 1;
            break;
        case GL_FX_NIGHT:
            lv += away * luma(a);
            lp += away * luma(b);
            sw += away;
            break;
        default: /* GL_FX_SHADOW */
            s += away * fmax(0.0, luma(b) - luma(a));
            sw += away;
            break;
        }
    }
    if (!(sw > 0)) return GL_EINVAL;
    if (effect == GL_FX_NIGHT) {
        *stat = lp > 0 ? 1.0 - lv / lp : 0.0;
        return GL_OK;
    }
    *stat = s / sw;
    return GL_OK;
}

int gl_eval_partner_stat(const gl_video *v, const gl_video *plain, const float *alpha_b, double *stat) {
    if (!same_size(v, plain) || !alpha_b) return GL_EINVAL;
    const int64_t n = pixels(v);
    double s = 0, sw = 0;
    for (int64_t p = 0; p < n; p++) {
        sw += alpha_b[p];
        s += alpha_b[p] * rgb_dist(&v->rgb[p * 3], &plain->rgb[p * 3]);
    }
    if (!(sw > 0)) return GL_EINVAL;
    *stat = s / sw;
    return GL_OK;
}

int gl_eval_caption_figures(const gl_video *v, int colour, float *fg, double *share, double *present,
                            double *travel, double *area) {
    if (!usable(v) || !fg || colour < 0 || colour >= GL_COLOUR_COUNT) return GL_EINVAL;
    const int64_t F = v->frames, P = v->height * v->width;
    double *cx = malloc((size_t)(2 * F) * sizeof(double)), *cy = cx + F;
    int rc = cx ? gl_eval_foreground(v, fg) : GL_ENOMEM;
    if (!rc) rc = gl_eval_fg_path(v, cx, cy);
    if (rc) {
        free(cx);
        return rc;
    }
    float pal[GL_COLOUR_COUNT][3];
    for (int k = 0; k < GL_COLOUR_COUNT; k++) gl_colour_rgb(k, pal[k]);
    int64_t n_fg = 0, hits = 0, frames_with = 0;
    for (int64_t f = 0; f < F; f++) {
        int64_t in_frame = 0;
        for (int64_t p = 0; p < P; p++) {
            if (fg[f * P + p] < 0.5f) continue;
            const float *c = v->rgb + (f * P + p) * 3;
            int best = 0;
            double bd = INFINITY;
            for (int k = 0; k < GL_COLOUR_COUNT; k++) {
                double d = 0;
                for (int ch = 0; ch < 3; ch++) d += ((double)c[ch] - pal[k][ch]) * ((double)c[ch] - pal[k][ch]);
                if (d < bd) {
                    bd = d;
                    best = k;
                }
            }
            hits += best == colour;
            in_frame++;
        }
        n_fg += in_frame;
        frames_with += in_frame >= 4;
    }
    *share = n_fg ? (double)hits / (double)n_fg : 0.0;
    *present = (double)frames_with / (double)F;
    *area = (double)n_fg / (double)(F * P);
    *travel = 0;
    for (int64_t f = 1; f < F; f++) *travel += hypot(cx[f] - cx[f - 1], cy[f] - cy[f - 1]);
    free(cx);
    return GL_OK;
}

/* ---- shape ------------------------------------------------------------------------- */

/* The silhouette of `shape` centred at (x, y) (frame units), of enclosing radius `size`
 * (shorter-side units) turned by `angle` turns, as the foreground estimate would see it:
 * coverage >= 0.5, then the same 3x3 opening (kept raw when the opening empties it).
 * mask [H*W] and scratch [2*H*W]; *area gets the coverage's sum before thresholding.
 * Returns the mask's pixel count, or a negative GL_E*. */
static int64_t shape_silhouette(int shape, double x, double y, double size, double angle, int64_t H,
                                int64_t W, uint8_t *mask, uint8_t *scratch, double *area) {
    gl_scene s;
    memset(&s, 0, sizeof s);
    gl_concept *c = &s.subjects[0];
    s.n_subjects = 1;
    c->shape = (gl_shape)shape;
    c->texture = GL_TEX_GRADIENT;
    c->n_colours = 2;
    c->colours[0] = c->colours[2] = GL_RED;
    c->colours[1] = GL_BLUE;
    c->tex_freq = 1.0;
    c->size = size;
    c->angle = angle;
    for (int k = 0; k < 3; k++) c->blob_amp[k] = 0.06; /* a fixed, visible wobble */
    c->path.kind = GL_MOTION_DRIFT;                   /* with no amplitude: it stays put */
    c->path.x = x;
    c->path.y = y;
    c->bg.kind = GL_BG_SAND;
    c->bg.style = GL_BGSTYLE_SOLID;
    c->bg.scale = 4;
    s.bg = c->bg;
    gl_render_opts o = {.frames = 1, .height = H, .width = W, .supersample = 2};
    gl_video v = {0};
    float *alpha = malloc((size_t)(H * W) * sizeof *alpha);
    int rc = alpha ? gl_render_scene(&s, &o, &v, alpha) : GL_ENOMEM;
    gl_video_release(&v);
    if (rc) {
        free(alpha);
        return rc < 0 ? rc : GL_EINVAL;
    }
    int64_t n_raw = 0;
    *area = 0;
    for (int64_t p = 0; p < H * W; p++) {
        *area += alpha[p];
        scratch[p] = alpha[p] >= 0.5f;
        n_raw += scratch[p];
    }
    free(alpha);
    morph(scratch, scratch + H * W, H, W, 1);
    int64_t n = morph(scratch + H * W, mask, H, W, 0);
    if (n == 0 && n_raw > 0) {
        memcpy(mask, scratch, (size_t)(H * W));
        n = n_raw;
    }
    return n;
}

static double iou(const uint8_t *a, const float *b, int64_t n) {
    int64_t both = 0, either = 0;
    for (int64_t p = 0; p < n; p++) {
        int bb = b[p] >= 0.5f;
        both += a[p] && bb;
        either += a[p] || bb;
    }
    return either ? (double)both / (double)either : 0.0;
}

int gl_eval_shape_figures(const float *fg, int64_t F, int64_t H, int64_t W, int shape, double *hit,
                          double *iou_out, int64_t *frames) {
    if (!fg || F < 1 || H < 1 || W < 1 || shape < 0 || shape >= GL_SHAPE_COUNT) return GL_EINVAL;
    const int64_t P = H * W;
    const double scales[3] = {0.9, 1.0, 1.1};
    uint8_t *mask = malloc((size_t)P * 3), *scratch = mask ? mask + P : NULL;
    double *cx = malloc((size_t)(2 * F) * sizeof *cx), *cy = cx ? cx + F : NULL;
    int rc = mask && cx ? gl_eval_centroids(fg, F, H, W, cx, cy) : GL_ENOMEM;
    /* each shape's coverage at a reference size, to scale it to a frame's area */
    const double ref = 0.2;
    double ref_area[GL_SHAPE_COUNT];
    for (int s = 0; !rc && s < GL_SHAPE_COUNT; s++) {
        int64_t n = shape_silhouette(s, 0.5, 0.5, ref, 0.0, H, W, mask, scratch, &ref_area[s]);
        if (n < 0) rc = (int)n;
        else if (!(ref_area[s] > 0)) rc = GL_EINVAL; /* a frame too small to draw it */
    }
    int64_t n_frames = 0, hits = 0;
    double iou_sum = 0;
    for (int64_t f = 0; !rc && f < F; f++) {
        const float *m = fg + f * P;
        int64_t n_fg = 0;
        for (int64_t p = 0; p < P; p++) n_fg += m[p] >= 0.5f;
        if (n_fg < GL_EVAL_SHAPE_MIN_PX) continue;
        double best_any = -1, best_own = 0;
        int best_shape = -1;
        for (int s = 0; !rc && s < GL_SHAPE_COUNT; s++) {
            double best_s = 0;
            for (int k = 0; !rc && k < 3; k++) {
                double size = ref * sqrt((double)n_fg / ref_area[s]) * scales[k];
                if (size > 0.5) size = 0.5;
                for (int a = 0; a < GL_EVAL_SHAPE_ANGLES; a++) {
                    double area;
                    int64_t n = shape_silhouette(s, cx[f] / (double)W, cy[f] / (double)H, size,
                                                 (double)a / GL_EVAL_SHAPE_ANGLES, H, W, mask, scratch, &area);
                    if (n < 0) {
                        rc = (int)n;
                        break;
                    }
                    double q = iou(mask, m, P);
                    if (q > best_s) best_s = q;
                }
            }
            if (best_s > best_any) {
                best_any = best_s;
                best_shape = s;
            }
            if (s == shape) best_own = best_s;
        }
        n_frames++;
        hits += best_shape == shape;
        iou_sum += best_own;
    }
    free(mask);
    free(cx);
    if (rc) return rc;
    *hit = n_frames ? (double)hits / (double)n_frames : 0.0;
    *iou_out = n_frames ? iou_sum / (double)n_frames : 0.0;
    *frames = n_frames;
    return GL_OK;
}
