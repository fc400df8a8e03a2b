/* pipeline/eval_multidc.c: issue 6's check of a Multi-DC LoRA (eval.h, "Multi-DC
 * regeneration"): each concept of the data set the adapter was trained on, sampled from its
 * token alone, from its full prompt and, without the adapter, from its words alone, scored
 * against the concept's own video with eval.c's metrics. Writes no files and prints
 * nothing: the CLI does (cli/cmd_eval.c), through the callbacks. */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "gridlora/core.h"
#include "gridlora/data.h"
#include "gridlora/dataset.h"
#include "gridlora/eval.h"
#include "gridlora/multidc.h"
#include "gridlora/tokenizer.h"
#include "pipeline/eval_common.h"
#include "pipeline/manifest.h"

static const char *const METHOD_NAMES[GL_EVAL_MDC_METHODS] = {"token", "prompt", "caption"};

const char *gl_eval_multidc_method_name(int method) {
    return method >= 0 && method < GL_EVAL_MDC_METHODS ? METHOD_NAMES[method] : NULL;
}

gl_eval_multidc_params gl_eval_multidc_default_params(void) {
    return (gl_eval_multidc_params){.so = gl_sample_default_opts(), .lora_weight = 1.0f};
}

static double now_seconds(void) {
    struct timespec ts;
    timespec_get(&ts, TIME_UTC);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---- the data set ---------------------------------------------------------------------- */

typedef struct mdc_entry {
    char token[32];
    int32_t token_id;
    char caption[GL_CAPTION_MAX], prompt[GL_CAPTION_MAX];
    char *path;                    /* DIR/FILE */
    gl_concept concept;
    int64_t frames, width, height; /* as the data set rendered it */
} mdc_entry;

struct gl_eval_multidc_data {
    gl_dit_config cfg;
    gl_tokenizer *tk;
    mdc_entry *e;
    int64_t n, cap;
    const char *dir; /* while reading only */
};

void gl_eval_multidc_free(gl_eval_multidc_data **dp) {
    if (!dp || !*dp) return;
    gl_eval_multidc_data *d = *dp;
    for (int64_t i = 0; i < d->n; i++) free(d->e[i].path);
    free(d->e);
    gl_tokenizer_free(&d->tk);
    free(d);
    *dp = NULL;
}

int64_t gl_eval_multidc_count(const gl_eval_multidc_data *d) { return d ? d->n : 0; }

/* obj[key] as a string that fits in len bytes, copied into out. */
static int get_str(const cJSON *o, const char *key, char *out, size_t len, const char *manifest, int64_t line,
                   char *msg, size_t msglen) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsString(v) || strlen(v->valuestring) >= len) {
        snprintf(msg, msglen, "%s: line %lld: '%s' %s", manifest, (long long)line, key,
                 cJSON_IsString(v) ? "is too long" : "missing or not a string");
        return GL_EFORMAT;
    }
    memcpy(out, v->valuestring, strlen(v->valuestring) + 1);
    return GL_OK;
}

/* obj[key], an integer in [1, 4096] (the renderer's bound), or dflt when absent. */
static int get_side(const cJSON *o, const char *key, int64_t dflt, int64_t *out, const char *manifest, int64_t line,
                    char *msg, size_t msglen) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v) {
        *out = dflt;
        return GL_OK;
    }
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= 1 && v->valuedouble <= 4096) ||
        v->valuedouble != floor(v->valuedouble)) {
        snprintf(msg, msglen, "%s: line %lld: '%s' is not an integer in [1, 4096]", manifest, (long long)line, key);
        return GL_EFORMAT;
    }
    *out = (int64_t)v->valuedouble;
    return GL_OK;
}

/* 1 when the text's tokens, cut to the model's text length as sampling cuts them, hold id. */
static int holds_token(const gl_eval_multidc_data *d, const char *text, int32_t id) {
    int32_t ids[GL_CAPTION_MAX];
    int64_t n = 0;
    char why[256];
    if (gl_tokenize(d->tk, text, ids, GL_CAPTION_MAX, &n, why, sizeof why)) return 0;
    for (int64_t i = 0; i < n && i < d->cfg.text_len; i++)
        if (ids[i] == id) return 1;
    return 0;
}

static int parse_line(void *ctx, const cJSON *o, const char *manifest, int64_t line, char *msg, size_t msglen) {
    gl_eval_multidc_data *d = ctx;
    const cJSON *split = cJSON_GetObjectItemCaseSensitive(o, "split");
    if (cJSON_IsString(split) && !strcmp(split->valuestring, "heldout")) {
        snprintf(msg, msglen, "%s: line %lld: a held-out concept: a Multi-DC adapter is trained on a train split; "
                 "give the data set it was trained on", manifest, (long long)line);
        return GL_EINVAL;
    }
    if (d->n == d->cap) {
        int64_t nc = d->cap ? 2 * d->cap : 16;
        mdc_entry *e = realloc(d->e, (size_t)nc * sizeof *e);
        if (!e) {
            snprintf(msg, msglen, "%s: out of memory", manifest);
            return GL_ENOMEM;
        }
        d->e = e;
        d->cap = nc;
    }
    mdc_entry *e = &d->e[d->n];
    memset(e, 0, sizeof *e);
    char file[1024], why[512];
    int rc = get_str(o, "token", e->token, sizeof e->token, manifest, line, msg, msglen);
    if (!rc) rc = get_str(o, "caption", e->caption, sizeof e->caption, manifest, line, msg, msglen);
    if (!rc) rc = get_str(o, "prompt", e->prompt, sizeof e->prompt, manifest, line, msg, msglen);
    if (!rc) rc = get_str(o, "file", file, sizeof file, manifest, line, msg, msglen);
    if (!rc) rc = get_side(o, "frames", d->cfg.frames, &e->frames, manifest, line, msg, msglen);
    if (!rc) rc = get_side(o, "width", d->cfg.cell_w, &e->width, manifest, line, msg, msglen);
    if (!rc) rc = get_side(o, "height", d->cfg.cell_h, &e->height, manifest, line, msg, msglen);
    if (rc) return rc;
    if (e->frames * e->width * e->height > ((int64_t)1 << 28)) {
        snprintf(msg, msglen, "%s: line %lld: %lld frames of %lldx%lld are more than the renderer draws (2^28 pixels)",
                 manifest, (long long)line, (long long)e->frames, (long long)e->width, (long long)e->height);
        return GL_EFORMAT;
    }
    if (!gl__manifest_safe_name(file)) {
        snprintf(msg, msglen, "%s: line %lld: file '%s' must be a relative name without '..'", manifest,
                 (long long)line, file);
        return GL_EFORMAT;
    }
    const cJSON *cj = cJSON_GetObjectItemCaseSensitive(o, "concept");
    if (!cj) {
        snprintf(msg, msglen, "%s: line %lld: 'concept' missing (the concept's JSON, to render its subject)", manifest,
                 (long long)line);
        return GL_EFORMAT;
    }
    if (gl_concept_from_json(cj, &e->concept, why, sizeof why)) {
        snprintf(msg, msglen, "%s: line %lld: concept: %s", manifest, (long long)line, why);
        return GL_EFORMAT;
    }
    const int64_t first = d->cfg.text_vocab - d->cfg.concept_tokens;
    e->token_id = gl_token_id(d->tk, e->token);
    if (e->token_id < first || e->token_id >= d->cfg.text_vocab) {
        snprintf(msg, msglen, "%s: line %lld: token '%s' is not one of the model's %lld concept tokens (<c0>..<c%lld>)",
                 manifest, (long long)line, e->token, (long long)d->cfg.concept_tokens,
                 (long long)d->cfg.concept_tokens - 1);
        return GL_EINVAL;
    }
    for (int64_t k = 0; k < d->n; k++)
        if (d->e[k].token_id == e->token_id) {
            snprintf(msg, msglen, "%s: line %lld: token '%s' is already concept %lld's", manifest, (long long)line,
                     e->token, (long long)k);
            return GL_EINVAL;
        }
    /* the words must be the model's now, not after minutes of sampling the concepts before */
    const char *texts[2] = {e->caption, e->prompt};
    for (int k = 0; k < 2; k++) {
        int32_t ids[GL_CAPTION_MAX];
        int64_t n = 0;
        if ((rc = gl_tokenize(d->tk, texts[k], ids, GL_CAPTION_MAX, &n, why, sizeof why))) {
            snprintf(msg, msglen, "%s: line %lld: %s '%s': %s", manifest, (long long)line, k ? "prompt" : "caption",
                     texts[k], why);
            return rc == GL_ENOMEM ? rc : GL_EFORMAT;
        }
    }
    if (!holds_token(d, e->prompt, e->token_id)) {
        snprintf(msg, msglen, "%s: line %lld: prompt '%s' lacks the concept's token %s within the model's text length",
                 manifest, (long long)line, e->prompt, e->token);
        return GL_EFORMAT;
    }
    if (!(e->path = gl__manifest_path(d->dir, file))) {
        snprintf(msg, msglen, "%s: out of memory", manifest);
        return GL_ENOMEM;
    }
    d->n++;
    return GL_OK;
}

int gl_eval_multidc_open(gl_eval_multidc_data **out, const char *dir, const gl_dit_config *cfg, char *msg,
                         size_t msglen) {
    *out = NULL;
    int rc = gl_dit_config_validate(cfg, msg, msglen);
    if (rc) return rc;
    if (cfg->channels != 3) {
        snprintf(msg, msglen, "eval: a model of %lld colour channels; videos have 3", (long long)cfg->channels);
        return GL_EINVAL;
    }
    gl_eval_multidc_data *d = calloc(1, sizeof *d);
    if (!d) {
        snprintf(msg, msglen, "eval: out of memory");
        return GL_ENOMEM;
    }
    d->cfg = *cfg;
    d->dir = dir;
    if (!(rc = gl_domain_tokenizer(cfg, &d->tk, msg, msglen)))
        rc = gl__manifest_each(dir, parse_line, d, NULL, msg, msglen);
    if (!rc && d->n == 0) {
        snprintf(msg, msglen, "%s/manifest.jsonl: lists no concepts", dir);
        rc = GL_EFORMAT;
    }
    d->dir = NULL;
    if (rc) gl_eval_multidc_free(&d);
    *out = d;
    return rc;
}

static int lora_has(const gl_lora *l, int32_t id) {
    const int32_t *ids = NULL;
    for (int k = 0, n = l ? gl_lora_tokens(l, &ids) : 0; k < n; k++)
        if (ids[k] == id) return 1;
    return 0;
}

int gl_eval_multidc_check_lora(const gl_eval_multidc_data *d, const gl_lora *l, char *msg, size_t msglen) {
    for (int64_t i = 0; i < d->n; i++) {
        if (!lora_has(l, d->e[i].token_id)) {
            snprintf(msg, msglen, "the adapter carries no embedding for %s (concept %lld): it was not trained on "
                     "this data set", d->e[i].token, (long long)i);
            return GL_EINVAL;
        }
    }
    return GL_OK;
}

/* ---- the truth ------------------------------------------------------------------------ */

/* src [Fs,Hs,Ws,C] into dst [F,H,W,C] as gl_video_read reduces a file (io/video.c): frame i
 * is source frame (2i + 1) Fs / (2F), the centre crop has the output's aspect, and each
 * output pixel is the mean of the source area it covers, partial pixels weighing by their
 * overlap. With equal sizes it copies. */
static void reduce(const float *src, int64_t Fs, int64_t Hs, int64_t Ws, float *dst, int64_t F, int64_t H, int64_t W,
                   int C) {
    const double want = (double)W / (double)H;
    int64_t cw = Ws, ch = Hs;
    if ((double)Ws / (double)Hs > want) cw = (int64_t)((double)Hs * want + 0.5);
    else ch = (int64_t)((double)Ws / want + 0.5);
    cw = cw < 1 ? 1 : cw > Ws ? Ws : cw;
    ch = ch < 1 ? 1 : ch > Hs ? Hs : ch;
    const int64_t x0 = (Ws - cw) / 2, y0 = (Hs - ch) / 2;
    const double sx = (double)cw / (double)W, sy = (double)ch / (double)H;
    for (int64_t f = 0; f < F; f++) {
        const float *s = src + (size_t)((2 * f + 1) * Fs / (2 * F)) * (size_t)(Hs * Ws * C);
        for (int64_t y = 0; y < H; y++) {
            const double ya = y * sy, yb = (y + 1) * sy;
            for (int64_t x = 0; x < W; x++) {
                const double xa = x * sx, xb = (x + 1) * sx;
                double acc[4] = {0, 0, 0, 0}, wsum = 0;
                for (int64_t v = (int64_t)floor(ya); v < ch && (double)v < yb; v++) {
                    double wy = fmin(yb, (double)v + 1) - fmax(ya, (double)v);
                    for (int64_t u = (int64_t)floor(xa); u < cw && (double)u < xb; u++) {
                        double w = wy * (fmin(xb, (double)u + 1) - fmax(xa, (double)u));
                        if (!(w > 0)) continue;
                        const float *p = s + ((y0 + v) * Ws + x0 + u) * C;
                        for (int c = 0; c < C; c++) acc[c] += w * p[c];
                        wsum += w;
                    }
                }
                float *o = dst + ((f * H + y) * W + x) * C;
                for (int c = 0; c < C; c++) o[c] = (float)(acc[c] / wsum);
            }
        }
    }
}

int gl_eval_multidc_truth(const gl_eval_multidc_data *d, int64_t i, gl_video *truth, float *alpha,
                          double *render_psnr, char *msg, size_t msglen) {
    memset(truth, 0, sizeof *truth);
    if (i < 0 || i >= d->n) {
        snprintf(msg, msglen, "concept %lld of %lld", (long long)i, (long long)d->n);
        return GL_EINVAL;
    }
    const mdc_entry *e = &d->e[i];
    const gl_dit_config *c = &d->cfg;
    gl_video_read_opts ro = gl_video_read_default_opts();
    ro.frames = c->frames;
    ro.height = c->cell_h;
    ro.width = c->cell_w;
    int rc = gl_video_read(e->path, &ro, truth, NULL, msg, msglen);
    if (rc) return rc;
    gl_render_opts o = gl_render_default_opts(); /* the data set's supersampling: not in the manifest */
    o.frames = e->frames;
    o.height = e->height;
    o.width = e->width;
    gl_scene s;
    gl_video full = {0}, re = {0};
    float *full_alpha = malloc((size_t)(e->frames * e->height * e->width) * sizeof *full_alpha);
    double db = 0;
    if (!full_alpha || gl_video_alloc(&re, c->frames, c->cell_h, c->cell_w)) {
        snprintf(msg, msglen, "out of memory");
        rc = GL_ENOMEM;
    } else if ((rc = gl_scene_from_variant(&s, &e->concept, NULL, GL_VARIANT_PLAIN)) ||
               (rc = gl_render_scene(&s, &o, &full, full_alpha))) {
        snprintf(msg, msglen, "cannot render concept %lld from its JSON at %lld frames of %lldx%lld: %s",
                 (long long)i, (long long)e->frames, (long long)e->width, (long long)e->height, gl_strerror(rc));
    } else {
        reduce(full.rgb, e->frames, e->height, e->width, re.rgb, c->frames, c->cell_h, c->cell_w, 3);
        reduce(full_alpha, e->frames, e->height, e->width, alpha, c->frames, c->cell_h, c->cell_w, 1);
        rc = gl_eval_psnr(&re, truth, &db);
        if (render_psnr) *render_psnr = db;
        if (!rc && db < GL_EVAL_RENDER_PSNR_MIN) {
            snprintf(msg, msglen, "%s is not its manifest's concept re-rendered (PSNR %.1f dB, below %.0f): the "
                     "data set does not match its manifest", e->path, db, GL_EVAL_RENDER_PSNR_MIN);
            rc = GL_EFORMAT;
        }
    }
    free(full_alpha);
    gl_video_release(&full);
    gl_video_release(&re);
    if (rc) gl_video_release(truth);
    return rc;
}

/* ---- scores ---------------------------------------------------------------------------- */

/* A metric's value, NaN where it cannot be measured (an empty mask); other errors stop. */
static int measured(int rc, double *v) {
    if (rc == GL_EINVAL) {
        *v = NAN;
        return GL_OK;
    }
    return rc;
}

int gl_eval_multidc_score(const gl_video *x, const gl_video *truth, const float *alpha,
                          gl_eval_multidc_scores *s) {
    int rc = gl_eval_psnr(x, truth, &s->psnr);
    if (!rc) rc = measured(gl_eval_identity(x, truth, alpha, &s->identity), &s->identity);
    if (!rc) rc = gl_eval_motion(x, truth, &s->motion);
    if (!rc) rc = measured(gl_eval_motion_path(x, alpha, &s->motion_path), &s->motion_path);
    return rc;
}

/* ---- one concept ------------------------------------------------------------------------ */

int gl_eval_multidc_run(gl_dit *m, const gl_eval_multidc_data *d, const gl_eval_multidc_params *p, int64_t i,
                        gl_eval_multidc_concept *res, char *msg, size_t msglen) {
    memset(res, 0, sizeof *res);
    res->index = i;
    gl_dit_detach_loras(m);
    if (i < 0 || i >= d->n) {
        snprintf(msg, msglen, "eval: concept %lld of %lld", (long long)i, (long long)d->n);
        return GL_EINVAL;
    }
    const mdc_entry *e = &d->e[i];
    const gl_dit_config *cfg = gl_dit_cfg(m);
    res->seed = e->concept.seed;
    snprintf(res->token, sizeof res->token, "%s", e->token);
    gl_multidc_token_prompt(e->token, res->prompts[GL_EVAL_MDC_TOKEN], sizeof res->prompts[0]);
    snprintf(res->prompts[GL_EVAL_MDC_PROMPT], sizeof res->prompts[0], "%s", e->prompt);
    snprintf(res->prompts[GL_EVAL_MDC_CAPTION], sizeof res->prompts[0], "%s", e->caption);
    gl_video truth = {0}, out[GL_EVAL_MDC_METHODS] = {{0}};
    float *alpha = NULL;
    char why[1024] = "";
    const char *step = "the adapter";
    int rc = GL_OK;
    if (cfg->frames != d->cfg.frames || cfg->cell_h != d->cfg.cell_h || cfg->cell_w != d->cfg.cell_w ||
        cfg->text_vocab != d->cfg.text_vocab || cfg->concept_tokens != d->cfg.concept_tokens ||
        cfg->text_len != d->cfg.text_len) {
        /* the truth's size and the token ids were fixed by the configuration it was opened for */
        snprintf(why, sizeof why, "the data set was opened for another model's configuration");
        rc = GL_EINVAL;
    } else if (!p->lora) {
        snprintf(why, sizeof why, "no Multi-DC adapter given");
        rc = GL_EINVAL;
    } else if (!lora_has(p->lora, e->token_id)) {
        snprintf(why, sizeof why, "the adapter carries no embedding for %s: it was not trained on this data set",
                 e->token);
        rc = GL_EINVAL;
    }
    const int64_t P = cfg->frames * cfg->cell_h * cfg->cell_w;
    if (!rc) {
        step = "the truth";
        if (!(alpha = malloc((size_t)P * sizeof *alpha))) rc = GL_ENOMEM;
        else rc = gl_eval_multidc_truth(d, i, &truth, alpha, &res->render_psnr, why, sizeof why);
    }
    if (!rc && p->on_status) {
        char line[512];
        snprintf(line, sizeof line, "concept %lld/%lld (%s, \"%s\"): 3 samplings", (long long)i + 1, (long long)d->n,
                 e->token, e->caption);
        p->on_status(p->ctx, line);
    }
    for (int k = 0; k < GL_EVAL_MDC_METHODS && !rc; k++) {
        step = METHOD_NAMES[k];
        gl_dit_detach_loras(m);
        if (k != GL_EVAL_MDC_CAPTION && (rc = gl_dit_attach_lora(m, p->lora, p->lora_weight, why, sizeof why))) break;
        double t0 = now_seconds();
        rc = gl__eval_generate(m, d->tk, &p->so, res->prompts[k], &out[k], why, sizeof why);
        res->seconds[k] = now_seconds() - t0;
    }
    gl_dit_detach_loras(m);
    if (!rc) {
        step = "scoring";
        rc = measured(gl_eval_motion_path(&truth, alpha, &res->motion_floor), &res->motion_floor);
        for (int k = 0; k < GL_EVAL_MDC_METHODS && !rc; k++) rc = gl_eval_multidc_score(&out[k], &truth, alpha, &res->s[k]);
    }
    if (!rc && p->on_concept) {
        const gl_video *rows[1 + GL_EVAL_MDC_METHODS] = {&truth, &out[0], &out[1], &out[2]};
        step = "writing";
        if ((rc = p->on_concept(p->ctx, i, rows, 1 + GL_EVAL_MDC_METHODS)) < 0) snprintf(why, sizeof why, "stopped");
        else rc = GL_OK;
    }
    if (rc)
        snprintf(msg, msglen, "eval: concept %lld (%s): %s: %s", (long long)i, e->token, step,
                 why[0] ? why : gl_strerror(rc));
    free(alpha);
    gl_video_release(&truth);
    for (int k = 0; k < GL_EVAL_MDC_METHODS; k++) gl_video_release(&out[k]);
    return rc;
}

/* ---- summaries -------------------------------------------------------------------------- */

gl_eval_multidc_scores gl_eval_multidc_mean(const gl_eval_multidc_concept *c, int64_t n, int method) {
    enum { N = 4 };
    double sum[N] = {0}, cnt[N] = {0};
    for (int64_t i = 0; i < n; i++) {
        const gl_eval_multidc_scores *s = &c[i].s[method];
        const double v[N] = {s->psnr, s->identity, s->motion, s->motion_path};
        for (int k = 0; k < N; k++)
            if (isfinite(v[k])) {
                sum[k] += v[k];
                cnt[k]++;
            }
    }
    double m[N];
    for (int k = 0; k < N; k++) m[k] = cnt[k] > 0 ? sum[k] / cnt[k] : NAN;
    return (gl_eval_multidc_scores){.psnr = m[0], .identity = m[1], .motion = m[2], .motion_path = m[3]};
}

/* ---- JSON -------------------------------------------------------------------------------- */


static void add_str(cJSON *o, const char *key, const char *v, int *ok) {
    *ok &= cJSON_AddStringToObject(o, key, v) != NULL;
}

/* obj[key] = item, taking it (cJSON frees a NULL item as nothing; ok notes the failure). */
static cJSON *put(cJSON *obj, const char *key, cJSON *item, int *ok) {
    if (!item || !cJSON_AddItemToObject(obj, key, item)) {
        cJSON_Delete(item);
        *ok = 0;
        return NULL;
    }
    return item;
}

static cJSON *scores_json(const gl_eval_multidc_scores *s, int *ok) {
    cJSON *o = cJSON_CreateObject();
    if (!o) {
        *ok = 0;
        return NULL;
    }
    gl__eval_json_num(o, "psnr", s->psnr, ok);
    gl__eval_json_num(o, "identity", s->identity, ok);
    gl__eval_json_num(o, "motion", s->motion, ok);
    gl__eval_json_num(o, "motion_path", s->motion_path, ok);
    return o;
}

/* The mean of one double field over concepts (NaN left out), or its minimum. */
static double over(const gl_eval_multidc_concept *c, int64_t n, size_t offset, int minimum) {
    double acc = minimum ? INFINITY : 0;
    int64_t cnt = 0;
    for (int64_t i = 0; i < n; i++) {
        double v;
        memcpy(&v, (const char *)&c[i] + offset, sizeof v);
        if (!isfinite(v)) continue;
        acc = minimum ? fmin(acc, v) : acc + v;
        cnt++;
    }
    return cnt == 0 ? NAN : minimum ? acc : acc / (double)cnt;
}

cJSON *gl_eval_multidc_json(const gl_eval_multidc_params *p, const gl_dit *m, const gl_eval_multidc_concept *c,
                            int64_t n) {
    const gl_dit_config *cfg = gl_dit_cfg(m);
    int ok = 1;
    char seed[32];
    cJSON *root = cJSON_CreateObject();
    if (!root) return NULL;
    add_str(root, "mode", "multidc", &ok);
    gl__eval_json_num(root, "concepts_count", (double)n, &ok);
    gl__eval_json_num(root, "frames", (double)cfg->frames, &ok);
    gl__eval_json_num(root, "height", (double)cfg->cell_h, &ok);
    gl__eval_json_num(root, "width", (double)cfg->cell_w, &ok);
    cJSON *so = put(root, "sampling", cJSON_CreateObject(), &ok);
    if (so) {
        gl__eval_json_num(so, "steps", p->so.steps, &ok);
        gl__eval_json_num(so, "cfg", p->so.cfg, &ok);
        gl__eval_json_num(so, "shift", p->so.shift, &ok);
        gl__eval_json_num(so, "seed", (double)p->so.seed, &ok);
    }
    gl__eval_json_num(root, "lora_weight", p->lora_weight, &ok);
    cJSON *names = put(root, "methods", cJSON_CreateArray(), &ok);
    for (int k = 0; k < GL_EVAL_MDC_METHODS && names; k++)
        ok &= cJSON_AddItemToArray(names, cJSON_CreateString(METHOD_NAMES[k]));
    cJSON *sum = put(root, "summary", cJSON_CreateObject(), &ok);
    for (int k = 0; k < GL_EVAL_MDC_METHODS && sum; k++) {
        gl_eval_multidc_scores s = gl_eval_multidc_mean(c, n, k);
        put(sum, METHOD_NAMES[k], scores_json(&s, &ok), &ok);
    }
    gl__eval_json_num(root, "motion_floor", over(c, n, offsetof(gl_eval_multidc_concept, motion_floor), 0), &ok);
    gl__eval_json_num(root, "render_psnr_min", over(c, n, offsetof(gl_eval_multidc_concept, render_psnr), 1), &ok);
    cJSON *secs = put(root, "seconds", cJSON_CreateObject(), &ok);
    for (int k = 0; k < GL_EVAL_MDC_METHODS && secs; k++)
        gl__eval_json_num(secs, METHOD_NAMES[k],
                over(c, n, offsetof(gl_eval_multidc_concept, seconds) + (size_t)k * sizeof(double), 0), &ok);
    cJSON *arr = put(root, "concepts", cJSON_CreateArray(), &ok);
    for (int64_t i = 0; i < n && arr; i++) {
        cJSON *o = cJSON_CreateObject();
        if (!o || !cJSON_AddItemToArray(arr, o)) {
            cJSON_Delete(o);
            ok = 0;
            break;
        }
        gl__eval_json_num(o, "index", (double)c[i].index, &ok);
        add_str(o, "token", c[i].token, &ok);
        snprintf(seed, sizeof seed, "%llu", (unsigned long long)c[i].seed);
        add_str(o, "seed", seed, &ok);
        add_str(o, "caption", c[i].prompts[GL_EVAL_MDC_CAPTION], &ok);
        add_str(o, "prompt", c[i].prompts[GL_EVAL_MDC_PROMPT], &ok);
        gl__eval_json_num(o, "render_psnr", c[i].render_psnr, &ok);
        gl__eval_json_num(o, "motion_floor", c[i].motion_floor, &ok);
        cJSON *pr = put(o, "prompts", cJSON_CreateObject(), &ok);
        cJSON *sc = put(o, "scores", cJSON_CreateObject(), &ok);
        cJSON *cs = put(o, "seconds", cJSON_CreateObject(), &ok);
        for (int k = 0; k < GL_EVAL_MDC_METHODS && pr && sc && cs; k++) {
            add_str(pr, METHOD_NAMES[k], c[i].prompts[k], &ok);
            put(sc, METHOD_NAMES[k], scores_json(&c[i].s[k], &ok), &ok);
            gl__eval_json_num(cs, METHOD_NAMES[k], c[i].seconds[k], &ok);
        }
    }
    if (!ok) {
        cJSON_Delete(root);
        return NULL;
    }
    return root;
}
