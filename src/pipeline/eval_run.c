/* pipeline/eval_run.c: the comparison of eval.h: renders a held-out concept's input and
 * exact truths, runs the four methods (zero-shot Grid-Fill, TTFT, copy, base), scores each
 * output with eval.c's metrics and serialises the results. Writes no files and prints
 * nothing: the CLI does (cli/cmd_eval.c), through the callbacks. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gridlora/apps.h"
#include "gridlora/core.h"
#include "gridlora/data.h"
#include "gridlora/dataset.h"
#include "gridlora/eval.h"
#include "gridlora/grid.h"
#include "gridlora/lora.h"
#include "gridlora/multidc.h"
#include "gridlora/tokenizer.h"
#include "pipeline/eval_common.h"

static const char *const METHOD_NAMES[GL_EVAL_METHODS] = {"zeroshot", "ttft", "copy", "base"};
static const char *const ITEM_NAMES[GL_EVAL_ITEMS] = {"smoke", "lights", "night", "rain", "shadow",
                                                      "compose", "same", "scene", "path", "both"};
static const unsigned ITEM_FX[GL_EVAL_ITEMS] = {GL_FX_SMOKE, GL_FX_LIGHTS, GL_FX_NIGHT, GL_FX_RAIN, GL_FX_SHADOW,
                                                0, 0, 0, 0, 0};
/* the renderer's variant of each item's truth; "both" is no variant of A but the plain
 * video of A re-staged twice (ev_run.both) */
static const int ITEM_VARIANT[GL_EVAL_ITEMS] = {GL_VARIANT_SMOKE, GL_VARIANT_LIGHTS,     GL_VARIANT_NIGHT,
                                               GL_VARIANT_RAIN,  GL_VARIANT_SHADOW,     GL_VARIANT_WITH,
                                               GL_VARIANT_PLAIN, GL_VARIANT_BACKGROUND, GL_VARIANT_MOTION,
                                               GL_VARIANT_PLAIN};

const char *gl_eval_method_name(int method) {
    return method >= 0 && method < GL_EVAL_METHODS ? METHOD_NAMES[method] : NULL;
}
const char *gl_eval_item_name(int item) { return item >= 0 && item < GL_EVAL_ITEMS ? ITEM_NAMES[item] : NULL; }
unsigned gl_eval_item_effect(int item) { return item >= 0 && item < GL_EVAL_ITEMS ? ITEM_FX[item] : 0; }

gl_eval_params gl_eval_default_params(void) {
    return (gl_eval_params){.heldout = 4, .split = GL_SPLIT_HELDOUT, .so = gl_sample_default_opts(),
                            .zeroshot_cfg = GL_GRID_DEFAULT_CFG, .zeroshot_steps = GL_GRID_DEFAULT_STEPS,
                            .zeroshot_shift = GL_GRID_DEFAULT_SHIFT, .zeroshot_strength = 1.0f,
                            .ttft = 1, .ttft_opts = gl_ttft_default_opts(), .ttft_token = "<v>", .supersample = 4};
}

static double now_seconds(void) {
    struct timespec ts;
    timespec_get(&ts, TIME_UTC);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Everything one concept's run holds. */
typedef struct ev_run {
    gl_dit *m;
    const gl_eval_params *p;
    const gl_dit_config *cfg;
    gl_tokenizer *tk;
    gl_concept a, b;
    gl_concept both;                                    /* A on the scene's background and the path's path */
    gl_video plain, partner;                            /* the inputs: A, and B for compose */
    gl_video truth[GL_EVAL_ITEMS];
    float *alpha[GL_EVAL_ITEMS];                        /* [subjects, F, H, W] of each truth */
    gl_video out[GL_EVAL_ITEMS][GL_EVAL_METHODS];
    char cap_b[GL_CAPTION_MAX];
    char *msg;
    size_t msglen;
} ev_run;

static void status(const ev_run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void status(const ev_run *r, const char *fmt, ...) {
    if (!r->p->on_status) return;
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    r->p->on_status(r->p->ctx, line);
}

/* ---- the concept's videos ---------------------------------------------------------- */

static int render(ev_run *r) {
    const gl_dit_config *c = r->cfg;
    gl_render_opts o = {.frames = c->frames, .width = c->cell_w, .height = c->cell_h,
                        .supersample = r->p->supersample};
    const int64_t P = c->frames * c->cell_h * c->cell_w;
    gl_concept scene;
    int rc = gl_render_variant(&r->a, NULL, GL_VARIANT_PLAIN, &o, &r->plain);
    if (!rc) rc = gl_render_variant(&r->b, NULL, GL_VARIANT_PLAIN, &o, &r->partner);
    if (!rc) rc = gl_concept_restage(&r->a, GL_VARIANT_BACKGROUND, &scene);
    if (!rc) rc = gl_concept_restage(&scene, GL_VARIANT_MOTION, &r->both);
    for (int k = 0; k < GL_EVAL_ITEMS && !rc; k++) {
        gl_scene s;
        const gl_concept *of = k == GL_EVAL_BOTH ? &r->both : &r->a;
        if ((rc = gl_scene_from_variant(&s, of, &r->b, ITEM_VARIANT[k]))) break;
        if (!(r->alpha[k] = malloc((size_t)(s.n_subjects * P) * sizeof(float)))) {
            rc = GL_ENOMEM;
            break;
        }
        rc = gl_render_scene(&s, &o, &r->truth[k], r->alpha[k]);
    }
    if (rc) snprintf(r->msg, r->msglen, "cannot render the concept: %s", gl_strerror(rc));
    return rc;
}

/* cap with every "<c0>" (the caption's token for concept A) replaced by token. */
static int with_token(const char *cap, const char *token, char *out, size_t len) {
    size_t o = 0;
    for (const char *s = cap; *s;) {
        const char *piece = s;
        size_t n = 1;
        if (!strncmp(s, "<c0>", 4)) {
            piece = token;
            n = strlen(token);
            s += 4;
        } else {
            s++;
        }
        if (o + n >= len) return GL_EINVAL;
        memcpy(out + o, piece, n);
        o += n;
    }
    out[o] = '\0';
    return GL_OK;
}

/* The caption of item k's truth, with A's token when token is set. */
static int item_caption(const ev_run *r, int k, const char *token, char *out, size_t len) {
    const int64_t tokens[2] = {0, -1};
    char cap[GL_CAPTION_MAX];
    int rc = gl_variant_caption(k == GL_EVAL_BOTH ? &r->both : &r->a, &r->b, k < 0 ? GL_VARIANT_PLAIN : ITEM_VARIANT[k],
                                token ? tokens : NULL, cap, sizeof cap);
    if (!rc) rc = token ? with_token(cap, token, out, len) : (snprintf(out, len, "%s", cap) >= (int)len);
    return rc ? GL_EINVAL : GL_OK;
}

/* ---- the methods ---------------------------------------------------------------------- */

int gl__eval_generate(gl_dit *m, const gl_tokenizer *tk, const gl_sample_opts *so, const char *prompt,
                      gl_video *out, char *msg, size_t msglen) {
    const gl_dit_config *c = gl_dit_cfg(m);
    int32_t ids[GL_CAPTION_MAX];
    int64_t n = 0;
    char why[512];
    int rc = gl_tokenize(tk, prompt, ids, GL_CAPTION_MAX, &n, why, sizeof why);
    if (!rc && (rc = gl_dit_expand_tokens(m, ids, &n, GL_CAPTION_MAX)))
        snprintf(why, sizeof why, "too many tokens once the adapters' multi-vector tokens are expanded");
    if (rc) {
        snprintf(msg, msglen, "prompt '%s': %s", prompt, why);
        return rc;
    }
    if (n > c->text_len) n = c->text_len;
    int32_t *text = calloc((size_t)c->text_len, sizeof *text);
    float *x = malloc((size_t)(c->frames * c->cell_h * c->cell_w * 3) * sizeof *x);
    if (!text || !x || gl_video_alloc(out, c->frames, c->cell_h, c->cell_w)) {
        free(text);
        free(x);
        snprintf(msg, msglen, "out of memory");
        return GL_ENOMEM;
    }
    memcpy(text, ids, (size_t)n * sizeof *text);
    gl_sample_request req = {.F = c->frames, .H = c->cell_h, .W = c->cell_w, .text = text, .text_len = (int32_t)n};
    if ((rc = gl_sample(m, so, &req, x, why, sizeof why))) {
        snprintf(msg, msglen, "sampling '%s': %s", prompt, why);
        gl_video_release(out);
    } else {
        for (int64_t i = 0; i < out->frames * out->height * out->width * 3; i++) out->rgb[i] = 0.5f * (x[i] + 1.0f);
    }
    free(text);
    free(x);
    return rc;
}

static int generate(ev_run *r, const char *prompt, gl_video *out) {
    return gl__eval_generate(r->m, r->tk, &r->p->so, prompt, out, r->msg, r->msglen);
}

/* One zero-shot run of layout l, sampled as the grid apps sample (zero-shot's guidance and
 * shift); cell `cells[j]` of the canvas becomes item items[j]. */
static int app_run(ev_run *r, const gl_layout *l, const gl_video *const inputs[GL_GRID_CELLS], const int *items,
                   const int *cells, int n) {
    gl_video canvas = {0}, split[GL_GRID_CELLS];
    char why[768];
    gl_sample_opts so = r->p->so;
    so.steps = r->p->zeroshot_steps;
    so.cfg = r->p->zeroshot_cfg;
    so.shift = r->p->zeroshot_shift;
    so.strength = r->p->zeroshot_strength;
    int rc = gl_app_run(r->m, l, inputs, &so, &canvas, NULL, why, sizeof why);
    if (!rc) rc = gl_grid_split(split, &canvas, why, sizeof why);
    gl_video_release(&canvas);
    if (rc) {
        snprintf(r->msg, r->msglen, "%s", why);
        return rc;
    }
    for (int j = 0; j < n; j++) { /* the cells taken move into out; the rest are released */
        r->out[items[j]][GL_EVAL_ZEROSHOT] = split[cells[j]];
        memset(&split[cells[j]], 0, sizeof split[cells[j]]);
    }
    for (int k = 0; k < GL_GRID_CELLS; k++) gl_video_release(&split[k]);
    return GL_OK;
}

/* The edit layout as `gridlora edit --caption CAP --effect ...` builds it (cli/cmd_edit.c):
 * each output cell's prompt is the caption and the effect's phrase. */
static int edit_layout(gl_layout *l, const char *cap, const int *items, int n, char *msg, size_t msglen) {
    const char *names[3];
    for (int j = 0; j < n; j++) names[j] = ITEM_NAMES[items[j]];
    int rc = gl_layout_edit(l, cap, names, n, msg, msglen);
    for (int j = 0; j < n && !rc; j++) {
        char prompt[GL_PROMPT_MAX];
        const char *phrase = gl_effect_phrase(ITEM_FX[items[j]]);
        if (snprintf(prompt, sizeof prompt, "%s%s%s", cap, cap[0] ? " " : "", phrase) >= (int)sizeof prompt)
            rc = GL_EINVAL;
        else
            rc = gl_layout_set_cell(l, j + 1, GL_CELL_OUTPUT, prompt, msg, msglen);
    }
    return rc;
}

/* As `gridlora character --caption A --prompt S --prompt P --prompt SP`: cells 1, 2 and 3
 * the scene, path and both items (their truths' captions), as the grid sets' character
 * canvases have them. */
static int run_character(ev_run *r, const char *cap_a) {
    static const int items[3] = {GL_EVAL_SCENE, GL_EVAL_PATH, GL_EVAL_BOTH}, cells[3] = {1, 2, 3};
    char prompts[3][GL_CAPTION_MAX];
    int rc = GL_OK;
    for (int j = 0; j < 3 && !rc; j++) rc = item_caption(r, items[j], NULL, prompts[j], sizeof prompts[j]);
    if (rc) {
        snprintf(r->msg, r->msglen, "the re-staged captions: %s", gl_strerror(rc));
        return rc;
    }
    const char *scenes[3] = {prompts[0], prompts[1], prompts[2]};
    const gl_video *in[GL_GRID_CELLS] = {&r->plain, NULL, NULL, NULL};
    gl_layout l;
    rc = gl_layout_character(&l, cap_a, scenes, 3, r->msg, r->msglen);
    return rc ? rc : app_run(r, &l, in, items, cells, 3);
}

static int run_zeroshot(ev_run *r, const char *cap_a) {
    const gl_eval_params *p = r->p;
    char why[256];
    gl_dit_detach_loras(r->m);
    for (int i = 0; i < p->n_loras; i++)
        if (gl_dit_attach_lora(r->m, p->loras[i], p->lora_weights ? p->lora_weights[i] : 1.0f, why, sizeof why)) {
            snprintf(r->msg, r->msglen, "adapter %d: %s", i + 1, why);
            return GL_EINVAL;
        }
    /* three output cells a grid: the five effects take two edit runs; the second run's
     * free cell holds the caption alone (gl_layout_edit), the concept regenerated: same */
    static const int first[3] = {0, 1, 2}, second[3] = {3, 4, GL_EVAL_SAME}, cells[3] = {1, 2, 3};
    const gl_video *in[GL_GRID_CELLS] = {&r->plain, NULL, NULL, NULL};
    gl_layout l;
    int rc = edit_layout(&l, cap_a, first, 3, r->msg, r->msglen);
    if (!rc) rc = app_run(r, &l, in, first, cells, 3);
    if (!rc) rc = edit_layout(&l, cap_a, second, 2, r->msg, r->msglen);
    if (!rc) rc = app_run(r, &l, in, second, cells, 3);
    if (!rc) { /* as `gridlora compose --caption A --caption B`: A and B on top; each bottom
                * cell prompted with the pair's caption, one background named, as its truth
                * has it (gl_layout_compose's default for the domain's captions) */
        const gl_video *in2[GL_GRID_CELLS] = {&r->plain, &r->partner, NULL, NULL};
        static const int item[1] = {GL_EVAL_COMPOSE}, cell[1] = {2}; /* A with B behind it */
        rc = gl_layout_compose(&l, cap_a, r->cap_b, NULL, 0, r->msg, r->msglen);
        if (!rc) rc = app_run(r, &l, in2, item, cell, 1);
    }
    if (!rc) rc = run_character(r, cap_a);
    gl_dit_detach_loras(r->m);
    return rc;
}

static int run_ttft(ev_run *r, gl_eval_concept *res) {
    const gl_eval_params *p = r->p;
    gl_multidc *d = NULL;
    gl_lora *l = NULL;
    char why[768];
    int rc = item_caption(r, -1, p->ttft_token, res->ttft_prompt, sizeof res->ttft_prompt);
    if (rc) {
        snprintf(r->msg, r->msglen, "the caption with %s is too long", p->ttft_token);
        return rc;
    }
    gl_dit_detach_loras(r->m);
    if ((rc = gl_multidc_clip(&d, &r->plain, p->ttft_token, res->ttft_prompt, r->cfg, why, sizeof why)) ||
        (rc = gl_ttft_train(r->m, d, &p->ttft_opts, &l, &res->ttft_train_seconds, why, sizeof why)) ||
        (rc = gl_dit_attach_lora(r->m, l, 1.0f, why, sizeof why))) {
        snprintf(r->msg, r->msglen, "%s", why);
        goto end;
    }
    for (int k = 0; k < GL_EVAL_ITEMS && !rc; k++) {
        char prompt[GL_CAPTION_MAX];
        if ((rc = item_caption(r, k, p->ttft_token, prompt, sizeof prompt)))
            snprintf(r->msg, r->msglen, "the caption of %s with %s is too long", ITEM_NAMES[k], p->ttft_token);
        else
            rc = generate(r, prompt, &r->out[k][GL_EVAL_TTFT]);
    }
end:
    gl_dit_detach_loras(r->m);
    gl_lora_free(&l);
    gl_multidc_free(&d);
    return rc;
}

static int run_base(ev_run *r) {
    gl_dit_detach_loras(r->m);
    int rc = GL_OK;
    for (int k = 0; k < GL_EVAL_ITEMS && !rc; k++) {
        char prompt[GL_CAPTION_MAX];
        if ((rc = item_caption(r, k, NULL, prompt, sizeof prompt)))
            snprintf(r->msg, r->msglen, "the caption of %s is too long", ITEM_NAMES[k]);
        else
            rc = generate(r, prompt, &r->out[k][GL_EVAL_BASE]);
    }
    return rc;
}

static int run_copy(ev_run *r) {
    const int64_t n = r->plain.frames * r->plain.height * r->plain.width * 3;
    for (int k = 0; k < GL_EVAL_ITEMS; k++) {
        gl_video *v = &r->out[k][GL_EVAL_COPY];
        if (gl_video_alloc(v, r->plain.frames, r->plain.height, r->plain.width)) {
            snprintf(r->msg, r->msglen, "out of memory");
            return GL_ENOMEM;
        }
        memcpy(v->rgb, r->plain.rgb, (size_t)n * sizeof *v->rgb);
    }
    return GL_OK;
}

/* ---- scores ------------------------------------------------------------------------ */

/* A metric's value, NaN where it cannot be measured (an empty mask); other errors stop. */
static int measured(int rc, double *v) {
    if (rc == GL_EINVAL) {
        *v = NAN;
        return GL_OK;
    }
    return rc;
}

/* Item k's statistic of x: the partner's pixels for compose, the effect's for an effect;
 * "same" has none (GL_EINVAL, so NaN). */
static int presence(const ev_run *r, int k, const gl_video *x, const float *alpha, double *v) {
    const int64_t P = r->cfg->frames * r->cfg->cell_h * r->cfg->cell_w;
    if (k == GL_EVAL_COMPOSE) return gl_eval_partner_stat(x, &r->plain, alpha + P, v);
    if (!ITEM_FX[k]) return GL_EINVAL;
    return gl_eval_effect_stat(x, &r->plain, alpha, ITEM_FX[k], v);
}

static int score(ev_run *r, gl_eval_concept *res) {
    const int64_t P = r->cfg->frames * r->cfg->cell_h * r->cfg->cell_w;
    float *both = malloc((size_t)P * sizeof *both);
    if (!both) return GL_ENOMEM;
    int rc = GL_OK;
    for (int k = 0; k < GL_EVAL_ITEMS && !rc; k++) {
        const gl_video *t = &r->truth[k];
        const float *alpha = r->alpha[k], *subjects = alpha;
        if (k == GL_EVAL_COMPOSE) { /* coverage is split after occlusion: the sum is the union */
            for (int64_t i = 0; i < P; i++) both[i] = fminf(1.0f, alpha[i] + alpha[P + i]);
            subjects = both;
        }
        rc = measured(gl_eval_motion_path(t, subjects, &res->motion_floor[k]), &res->motion_floor[k]);
        double pt = NAN, tt = NAN;
        if (!rc) rc = measured(presence(r, k, t, alpha, &pt), &pt);
        if (!rc) rc = gl_eval_temporal(t, &tt);
        for (int mth = 0; mth < GL_EVAL_METHODS && !rc; mth++) {
            const gl_video *x = &r->out[k][mth];
            gl_eval_scores *s = &res->s[k][mth];
            s->presence_truth = pt;
            s->temporal_truth = tt;
            if (!res->ran[mth]) {
                s->psnr = s->identity = s->identity_spread = s->motion = s->motion_path = s->presence =
                    s->temporal = NAN;
                continue;
            }
            rc = gl_eval_psnr(x, t, &s->psnr);
            double colour = NAN, spread = NAN; /* both NaN when there is no subject to measure */
            if (!rc) rc = measured(gl_eval_identity_parts(x, t, alpha, &colour, &spread), &colour);
            s->identity = colour + spread;
            s->identity_spread = spread;
            if (!rc) rc = gl_eval_motion(x, t, &s->motion);
            if (!rc) rc = measured(gl_eval_motion_path(x, subjects, &s->motion_path), &s->motion_path);
            if (!rc) rc = measured(presence(r, k, x, alpha, &s->presence), &s->presence);
            if (!rc) rc = gl_eval_temporal(x, &s->temporal);
        }
    }
    free(both);
    if (rc) snprintf(r->msg, r->msglen, "%s", gl_strerror(rc));
    return rc;
}

/* ---- one concept ---------------------------------------------------------------------- */

int gl_eval_concept_run(gl_dit *m, const gl_eval_params *p, int64_t index, gl_eval_concept *res, char *msg,
                        size_t msglen) {
    memset(res, 0, sizeof *res);
    res->index = index;
    const gl_dit_config *cfg = gl_dit_cfg(m);
    if (index < 0 || index >= p->heldout) {
        snprintf(msg, msglen, "eval: concept %lld of %lld", (long long)index, (long long)p->heldout);
        return GL_EINVAL;
    }
    if (cfg->channels != 3) {
        snprintf(msg, msglen, "eval: a model of %lld colour channels; videos have 3", (long long)cfg->channels);
        return GL_EINVAL;
    }
    ev_run r = {.m = m, .p = p, .cfg = cfg};
    char why[1024] = "", cap_a[GL_CAPTION_MAX];
    r.msg = why;
    r.msglen = sizeof why;
    const char *step = "rendering";
    /* the concepts `gridlora dataset --split heldout|train --count N --seed S` writes */
    const int64_t j = p->heldout > 1 ? (index + 1) % p->heldout : 1;
    res->seed = gl_dataset_concept_seed(p->seed, index);
    res->partner_seed = gl_dataset_concept_seed(p->seed, j);
    int rc = gl_concept_sample(&r.a, res->seed, p->split);
    if (!rc) rc = gl_concept_sample(&r.b, res->partner_seed, p->split);
    if (!rc) rc = render(&r);
    if (!rc) rc = gl_variant_caption(&r.a, NULL, GL_VARIANT_PLAIN, NULL, cap_a, sizeof cap_a);
    if (!rc) rc = gl_variant_caption(&r.b, NULL, GL_VARIANT_PLAIN, NULL, r.cap_b, sizeof r.cap_b);
    if (!rc) {
        snprintf(res->caption, sizeof res->caption, "%s", cap_a);
        snprintf(res->partner_caption, sizeof res->partner_caption, "%s", r.cap_b);
        step = "tokenizer";
        rc = gl_domain_tokenizer(cfg, &r.tk, why, sizeof why);
    }
    const long long at = (long long)index + 1, of = (long long)p->heldout;
    for (int mth = 0; mth < GL_EVAL_METHODS && !rc; mth++) {
        if (mth == GL_EVAL_TTFT && !p->ttft) continue;
        step = METHOD_NAMES[mth];
        if (mth == GL_EVAL_ZEROSHOT)
            status(&r, "concept %lld/%lld: zeroshot: 4 Grid-Fill sampling runs (edit twice, compose, character)", at, of);
        else if (mth == GL_EVAL_TTFT)
            status(&r, "concept %lld/%lld: ttft: fine-tuning on \"%s\" (%lld + %lld steps), then %d samplings", at, of,
                   cap_a, (long long)p->ttft_opts.set_steps, (long long)p->ttft_opts.seq_steps, GL_EVAL_ITEMS);
        else if (mth == GL_EVAL_BASE)
            status(&r, "concept %lld/%lld: base: %d samplings from the captions", at, of, GL_EVAL_ITEMS);
        double t0 = now_seconds();
        rc = mth == GL_EVAL_ZEROSHOT ? run_zeroshot(&r, cap_a)
             : mth == GL_EVAL_TTFT   ? run_ttft(&r, res)
             : mth == GL_EVAL_COPY   ? run_copy(&r)
                                     : run_base(&r);
        res->seconds[mth] = now_seconds() - t0;
        res->ran[mth] = !rc;
    }
    if (!rc) {
        step = "scoring";
        rc = score(&r, res);
    }
    for (int k = 0; k < GL_EVAL_ITEMS && !rc && p->on_item; k++) {
        const gl_video *rows[2 + GL_EVAL_METHODS] = {&r.plain, &r.truth[k]};
        for (int mth = 0; mth < GL_EVAL_METHODS; mth++) rows[2 + mth] = res->ran[mth] ? &r.out[k][mth] : NULL;
        step = "writing";
        if ((rc = p->on_item(p->ctx, index, k, rows, 2 + GL_EVAL_METHODS)) < 0) snprintf(why, sizeof why, "stopped");
    }
    if (rc)
        snprintf(msg, msglen, "eval: concept %lld (seed %llu): %s: %s", (long long)index,
                 (unsigned long long)res->seed, step, why[0] ? why : gl_strerror(rc));
    gl_dit_detach_loras(m);
    gl_tokenizer_free(&r.tk);
    gl_video_release(&r.plain);
    gl_video_release(&r.partner);
    for (int k = 0; k < GL_EVAL_ITEMS; k++) {
        gl_video_release(&r.truth[k]);
        free(r.alpha[k]);
        for (int mth = 0; mth < GL_EVAL_METHODS; mth++) gl_video_release(&r.out[k][mth]);
    }
    return rc;
}

/* ---- summaries -------------------------------------------------------------------- */

gl_eval_scores gl_eval_mean(const gl_eval_concept *c, int64_t n, int item, int method) {
    enum { N = 9 };
    double sum[N] = {0}, cnt[N] = {0};
    for (int64_t i = 0; i < n; i++) {
        if (!c[i].ran[method]) continue;
        const gl_eval_scores *s = &c[i].s[item][method];
        const double v[N] = {s->psnr, s->identity, s->motion, s->motion_path, s->presence, s->presence_truth,
                             s->temporal, s->temporal_truth, s->identity_spread};
        for (int k = 0; k < N; k++)
            if (isfinite(v[k])) {
                sum[k] += v[k];
                cnt[k]++;
            }
    }
    double m[N];
    for (int k = 0; k < N; k++) m[k] = cnt[k] > 0 ? sum[k] / cnt[k] : NAN;
    return (gl_eval_scores){.psnr = m[0], .identity = m[1], .motion = m[2], .motion_path = m[3],
                            .presence = m[4], .presence_truth = m[5], .temporal = m[6], .temporal_truth = m[7],
                            .identity_spread = m[8]};
}

/* ---- JSON ------------------------------------------------------------------------------ */


static cJSON *scores_json(const gl_eval_scores *s, int *ok) {
    cJSON *o = cJSON_CreateObject();
    if (!o) {
        *ok = 0;
        return NULL;
    }
    gl__eval_json_num(o, "psnr", s->psnr, ok);
    gl__eval_json_num(o, "identity", s->identity, ok);
    gl__eval_json_num(o, "identity_spread", s->identity_spread, ok);
    gl__eval_json_num(o, "motion", s->motion, ok);
    gl__eval_json_num(o, "motion_path", s->motion_path, ok);
    gl__eval_json_num(o, "presence", s->presence, ok);
    gl__eval_json_num(o, "presence_truth", s->presence_truth, ok);
    gl__eval_json_num(o, "presence_error", fabs(s->presence - s->presence_truth), ok);
    gl__eval_json_num(o, "temporal", s->temporal, ok);
    gl__eval_json_num(o, "temporal_truth", s->temporal_truth, ok);
    gl__eval_json_num(o, "temporal_error", fabs(s->temporal - s->temporal_truth), ok);
    return o;
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

static cJSON *names_json(const gl_eval_params *p, int methods, int *ok) {
    cJSON *a = cJSON_CreateArray();
    int n = methods ? GL_EVAL_METHODS : GL_EVAL_ITEMS;
    for (int k = 0; a && k < n; k++) {
        if (methods && k == GL_EVAL_TTFT && !p->ttft) continue;
        *ok &= cJSON_AddItemToArray(a, cJSON_CreateString(methods ? METHOD_NAMES[k] : ITEM_NAMES[k]));
    }
    if (!a) *ok = 0;
    return a;
}

cJSON *gl_eval_json(const gl_eval_params *p, const gl_dit *m, const gl_eval_concept *c, int64_t n) {
    const gl_dit_config *cfg = gl_dit_cfg(m);
    int ok = 1;
    char seed[32];
    cJSON *root = cJSON_CreateObject();
    if (!root) return NULL;
    gl__eval_json_num(root, "heldout", (double)n, &ok);
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)p->seed);
    ok &= cJSON_AddStringToObject(root, "seed", seed) != NULL;
    ok &= cJSON_AddStringToObject(root, "split", p->split == GL_SPLIT_TRAIN ? "train" : "heldout") != NULL;
    gl__eval_json_num(root, "frames", (double)cfg->frames, &ok);
    gl__eval_json_num(root, "height", (double)cfg->cell_h, &ok);
    gl__eval_json_num(root, "width", (double)cfg->cell_w, &ok);
    cJSON *so = put(root, "sampling", cJSON_CreateObject(), &ok);
    if (so) {
        gl__eval_json_num(so, "steps", p->so.steps, &ok);
        gl__eval_json_num(so, "zeroshot_steps", p->zeroshot_steps, &ok);
        gl__eval_json_num(so, "cfg", p->so.cfg, &ok);
        gl__eval_json_num(so, "zeroshot_cfg", p->zeroshot_cfg, &ok);
        gl__eval_json_num(so, "zeroshot_context_cfg", p->so.context_cfg, &ok);
        gl__eval_json_num(so, "shift", p->so.shift, &ok);
        gl__eval_json_num(so, "zeroshot_shift", p->zeroshot_shift, &ok);
        gl__eval_json_num(so, "zeroshot_strength", p->zeroshot_strength, &ok);
        gl__eval_json_num(so, "seed", (double)p->so.seed, &ok);
    }
    if (p->ttft) {
        cJSON *t = put(root, "ttft", cJSON_CreateObject(), &ok);
        if (t) {
            ok &= cJSON_AddStringToObject(t, "token", p->ttft_token) != NULL;
            gl__eval_json_num(t, "set_steps", (double)p->ttft_opts.set_steps, &ok);
            gl__eval_json_num(t, "seq_steps", (double)p->ttft_opts.seq_steps, &ok);
            gl__eval_json_num(t, "rank", p->ttft_opts.spec.rank, &ok);
            gl__eval_json_num(t, "alpha", p->ttft_opts.spec.alpha, &ok);
            gl__eval_json_num(t, "batch", (double)p->ttft_opts.train.batch, &ok);
            gl__eval_json_num(t, "lr", p->ttft_opts.train.lr, &ok);
        }
    } else {
        ok &= cJSON_AddNullToObject(root, "ttft") != NULL;
    }
    put(root, "methods", names_json(p, 1, &ok), &ok);
    put(root, "items", names_json(p, 0, &ok), &ok);
    cJSON *sum = put(root, "summary", cJSON_CreateObject(), &ok);
    cJSON *floor = put(root, "motion_floor", cJSON_CreateObject(), &ok);
    for (int k = 0; k < GL_EVAL_ITEMS && sum && floor; k++) {
        cJSON *it = put(sum, ITEM_NAMES[k], cJSON_CreateObject(), &ok);
        for (int mth = 0; mth < GL_EVAL_METHODS && it; mth++) {
            if (mth == GL_EVAL_TTFT && !p->ttft) continue;
            gl_eval_scores s = gl_eval_mean(c, n, k, mth);
            put(it, METHOD_NAMES[mth], scores_json(&s, &ok), &ok);
        }
        double f = 0;
        int64_t cnt = 0;
        for (int64_t i = 0; i < n; i++)
            if (isfinite(c[i].motion_floor[k])) {
                f += c[i].motion_floor[k];
                cnt++;
            }
        gl__eval_json_num(floor, ITEM_NAMES[k], cnt ? f / (double)cnt : NAN, &ok);
    }
    cJSON *secs = put(root, "seconds", cJSON_CreateObject(), &ok);
    for (int mth = 0; mth < GL_EVAL_METHODS && secs; mth++) {
        if (mth == GL_EVAL_TTFT && !p->ttft) continue;
        double s = 0;
        for (int64_t i = 0; i < n; i++) s += c[i].seconds[mth];
        gl__eval_json_num(secs, METHOD_NAMES[mth], n ? s / (double)n : NAN, &ok);
    }
    cJSON *arr = put(root, "concepts", cJSON_CreateArray(), &ok);
    for (int64_t i = 0; i < n && arr; i++) {
        cJSON *o = cJSON_CreateObject();
        if (!o || !cJSON_AddItemToArray(arr, o)) {
            cJSON_Delete(o);
            ok = 0;
            break;
        }
        gl__eval_json_num(o, "index", (double)c[i].index, &ok);
        snprintf(seed, sizeof seed, "%llu", (unsigned long long)c[i].seed);
        ok &= cJSON_AddStringToObject(o, "seed", seed) != NULL;
        snprintf(seed, sizeof seed, "%llu", (unsigned long long)c[i].partner_seed);
        ok &= cJSON_AddStringToObject(o, "partner_seed", seed) != NULL;
        ok &= cJSON_AddStringToObject(o, "caption", c[i].caption) != NULL;
        ok &= cJSON_AddStringToObject(o, "partner_caption", c[i].partner_caption) != NULL;
        if (p->ttft) ok &= cJSON_AddStringToObject(o, "ttft_prompt", c[i].ttft_prompt) != NULL;
        cJSON *cs = put(o, "seconds", cJSON_CreateObject(), &ok);
        for (int mth = 0; mth < GL_EVAL_METHODS && cs; mth++)
            if (c[i].ran[mth]) gl__eval_json_num(cs, METHOD_NAMES[mth], c[i].seconds[mth], &ok);
        if (p->ttft) gl__eval_json_num(o, "ttft_train_seconds", c[i].ttft_train_seconds, &ok);
        cJSON *sc = put(o, "scores", cJSON_CreateObject(), &ok);
        cJSON *fl = put(o, "motion_floor", cJSON_CreateObject(), &ok);
        for (int k = 0; k < GL_EVAL_ITEMS && sc && fl; k++) {
            cJSON *it = put(sc, ITEM_NAMES[k], cJSON_CreateObject(), &ok);
            for (int mth = 0; mth < GL_EVAL_METHODS && it; mth++)
                if (c[i].ran[mth]) put(it, METHOD_NAMES[mth], scores_json(&c[i].s[k][mth], &ok), &ok);
            gl__eval_json_num(fl, ITEM_NAMES[k], c[i].motion_floor[k], &ok);
        }
    }
    if (!ok) {
        cJSON_Delete(root);
        return NULL;
    }
    return root;
}
