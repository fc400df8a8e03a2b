/* pipeline/data.c: training data sources (procedural concepts, data sets on disk), the
 * domain's tokenizer, and loading a checkpoint's EMA weights. Rendering is render.c's,
 * decoding io/'s; nothing here trains. */
#define _POSIX_C_SOURCE 200809L /* getline */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "gridlora/core.h"
#include "gridlora/data.h"
#include "gridlora/safetensors.h"
#include "gridlora/video.h"
#include "pipeline/manifest.h"

/* ---- the domain's vocabulary ------------------------------------------------------ */

/* Words of prompts that captions do not produce. Append only (see data.h). */
static const char *const extra_words[] = {"edit", "compose", "character", "story"};
enum { N_EXTRA = sizeof extra_words / sizeof extra_words[0] };

typedef struct vocab_word {
    const char *w;
    int at; /* place in the candidate order */
} vocab_word;

static int by_text_then_place(const void *a, const void *b) {
    const vocab_word *x = a, *y = b;
    int c = strcmp(x->w, y->w);
    return c ? c : (x->at > y->at) - (x->at < y->at);
}

int gl_domain_vocab(const char **words, int cap) {
    const char *const *cap_words;
    int nc = gl_caption_vocab(&cap_words), n = 0, m = 0;
    /* order of groups: first captions, extras, later captions (ids never move); a word
     * already listed is skipped. Repeats are found by sorting, not by comparing every
     * pair: data sets build this tokenizer on every load (and the fuzzer on every input). */
    int first = nc < GL_DOMAIN_CAPTION_WORDS ? nc : GL_DOMAIN_CAPTION_WORDS;
    enum { CAND_MAX = 1024 };
    vocab_word cand[CAND_MAX], sorted[CAND_MAX];
    GL_ASSERT(nc + N_EXTRA <= CAND_MAX); /* grow CAND_MAX when the vocabulary does */
    for (int i = 0; i < nc + N_EXTRA; i++, m++) {
        cand[m].at = m;
        cand[m].w = i < first ? cap_words[i] : i < first + N_EXTRA ? extra_words[i - first]
                                                                   : cap_words[i - N_EXTRA];
    }
    memcpy(sorted, cand, (size_t)m * sizeof *cand);
    qsort(sorted, (size_t)m, sizeof *sorted, by_text_then_place);
    unsigned char repeat[CAND_MAX] = {0};
    for (int k = 1; k < m; k++)
        if (!strcmp(sorted[k - 1].w, sorted[k].w)) repeat[sorted[k].at] = 1;
    for (int i = 0; i < m; i++) {
        if (repeat[i]) continue;
        if (n < cap) words[n] = cand[i].w;
        n++;
    }
    GL_ASSERT(n < 512); /* the tokenizer's words, far above the model's vocabulary */
    return n;
}

int gl_domain_tokenizer(const gl_dit_config *cfg, gl_tokenizer **out, char *msg, size_t msglen) {
    *out = NULL;
    int n = gl_domain_vocab(NULL, 0);
    const char **words = malloc((size_t)n * sizeof *words);
    if (!words) {
        snprintf(msg, msglen, "tokenizer: out of memory");
        return GL_ENOMEM;
    }
    gl_domain_vocab(words, n);
    int rc = gl_tokenizer_new(out, words, n, cfg->text_vocab, cfg->concept_tokens, msg, msglen);
    free(words);
    return rc;
}

/* ---- sources ---------------------------------------------------------------------- */

/* One video of a directory source: 8-bit values (value = byte / 255) and its tokens. */
typedef struct dir_video {
    char *path;       /* until it is read */
    uint8_t *px;      /* [F,H,W,3] */
    int32_t *tokens;  /* [n_tokens] */
    int64_t n_tokens;
    int variant;
    char *caption;
} dir_video;

struct gl_data {
    gl_dit_config cfg;
    gl_tokenizer *tok;
    int procedural;
    float subject_weight; /* gl_data_set_subject_weight */
    int upright;          /* gl_data_set_upright */
    double subject_scale; /* gl_data_set_subject_scale; 1 for procedural sources */
    int64_t pool;         /* gl_data_set_concept_pool: 0 for fresh concepts */
    uint64_t pool_seed;
    double pool_share; /* gl_data_set_pool_share; 1 unless set */
    /* directory */
    dir_video *videos;
    int64_t n_videos, n_concepts;
    /* the last batch, for gl_data_last */
    gl_data_item *last;
    int64_t n_last, cap_last;
};

static int data_new(gl_data **out, const gl_dit_config *cfg, char *msg, size_t msglen) {
    *out = NULL;
    int rc = gl_dit_config_validate(cfg, msg, msglen);
    if (rc) return rc;
    gl_data *d = calloc(1, sizeof *d);
    if (!d) {
        snprintf(msg, msglen, "data: out of memory");
        return GL_ENOMEM;
    }
    d->cfg = *cfg;
    if ((rc = gl_domain_tokenizer(cfg, &d->tok, msg, msglen))) {
        free(d);
        return rc;
    }
    *out = d;
    return GL_OK;
}

void gl_data_free(gl_data **dp) {
    if (!dp || !*dp) return;
    gl_data *d = *dp;
    for (int64_t i = 0; i < d->n_videos; i++) {
        free(d->videos[i].path);
        free(d->videos[i].px);
        free(d->videos[i].tokens);
        free(d->videos[i].caption);
    }
    free(d->videos);
    free(d->last);
    gl_tokenizer_free(&d->tok);
    free(d);
    *dp = NULL;
}

int64_t gl_data_videos(const gl_data *d) { return d->n_videos; }
int64_t gl_data_concepts(const gl_data *d) { return d->n_concepts; }

const gl_data_item *gl_data_last(const gl_data *d, int64_t i) {
    return i >= 0 && i < d->n_last ? &d->last[i] : NULL;
}

/* Tokens of a caption, cut to max (see data.h). */
static int tokenize_cut(const gl_tokenizer *t, const char *caption, int32_t *ids, int64_t max, int64_t *n,
                        char *msg, size_t msglen) {
    int32_t all[GL_CAPTION_MAX];
    int64_t k = 0;
    int rc = gl_tokenize(t, caption, all, GL_CAPTION_MAX, &k, msg, msglen);
    if (rc) return rc;
    *n = k < max ? k : max;
    memcpy(ids, all, (size_t)*n * sizeof *ids);
    return GL_OK;
}

int gl_data_procedural(gl_data **out, const gl_dit_config *cfg, char *msg, size_t msglen) {
    int rc = data_new(out, cfg, msg, msglen);
    if (rc == GL_OK) {
        (*out)->procedural = 1;
        (*out)->subject_scale = 1.0;
        (*out)->pool_share = 1.0;
    }
    return rc;
}

int gl_data_set_subject_weight(gl_data *d, float w) {
    if (!d || !d->procedural || !(w >= 0.0f && w <= 1000.0f)) return GL_EINVAL;
    d->subject_weight = w;
    return GL_OK;
}

int gl_data_set_upright(gl_data *d, int on) {
    if (!d || !d->procedural || (on != 0 && on != 1)) return GL_EINVAL;
    d->upright = on;
    return GL_OK;
}

int gl_data_set_subject_scale(gl_data *d, double k) {
    if (!d || !d->procedural || !(k >= GL_DATA_SCALE_MIN && k <= GL_DATA_SCALE_MAX)) return GL_EINVAL;
    d->subject_scale = k;
    return GL_OK;
}

int gl_data_set_concept_pool(gl_data *d, int64_t n, uint64_t pool_seed) {
    if (!d || !d->procedural || n < 0 || n > GL_DATA_POOL_MAX) return GL_EINVAL;
    d->pool = n;
    d->pool_seed = pool_seed;
    return GL_OK;
}

int gl_data_set_pool_share(gl_data *d, double share) {
    if (!d || !d->procedural || !(share > 0.0 && share <= 1.0)) return GL_EINVAL;
    d->pool_share = share;
    return GL_OK;
}

/* One procedural sample of d's options into x [F,H,W,3] in [-1,1] and its caption into
 * item; with weight (may be NULL) and a subject weight, the pixels' loss weights [F,H,W]. */
static int procedural_sample(const gl_data *d, gl_rng *rng, int64_t F, int64_t H, int64_t W, float *x,
                             float *weight, gl_data_item *item, char *msg, size_t msglen) {
    const float subject_weight = d->subject_weight;
    const double scale = d->subject_scale;
    /* three draws per sample whatever the variant, a fourth with a pool, one more before
     * it with a share under 1 (so a whole pool replays the runs made before shares) */
    item->seed = gl_rng_u64(rng);
    item->variant = (int)(gl_rng_u64(rng) % GL_VARIANT_COUNT);
    uint64_t partner = gl_rng_u64(rng);
    int shape = -1;
    if (d->pool > 0 && (d->pool_share >= 1.0 || gl_rng_uniform(rng) < d->pool_share)) {
        item->seed = d->pool_seed + item->seed % (uint64_t)d->pool;
        partner = d->pool_seed + partner % (uint64_t)d->pool;
        shape = (int)(gl_rng_u64(rng) % GL_SHAPE_COUNT);
    }
    item->partner_seed = item->variant == GL_VARIANT_WITH ? partner : 0;
    item->video = -1;
    gl_concept a, b;
    gl_concept_sample(&a, item->seed, GL_SPLIT_TRAIN);
    gl_concept_sample(&b, partner, GL_SPLIT_TRAIN);
    /* the drawn shape, or the next one that keeps the appearance in the train split
     * (the concept's own shape does) */
    if (shape >= 0)
        for (int k = 0; k < GL_SHAPE_COUNT; k++) {
            a.shape = (gl_shape)((shape + k) % GL_SHAPE_COUNT);
            if (gl_concept_split(&a) == GL_SPLIT_TRAIN) break;
        }
    item->shape = (int)a.shape;
    if (d->upright) { /* before the caption is made: it names the spin */
        a.angle = b.angle = 0.0;
        a.spin = b.spin = 0.0;
    }
    if (gl_concept_scale(&a, scale) || gl_concept_scale(&b, scale)) { /* 1 changes nothing */
        snprintf(msg, msglen, "data: concept %llu: subject scale %g leaves it no room", (unsigned long long)item->seed,
                 scale);
        return GL_EINVAL;
    }
    gl_render_opts o = gl_render_default_opts();
    o.frames = F;
    o.height = H;
    o.width = W;
    gl_video v = {0};
    gl_scene s;
    const int64_t npx = F * H * W;
    float *alpha = NULL;
    int rc = gl_scene_from_variant(&s, &a, &b, item->variant);
    if (rc == GL_OK && weight && subject_weight > 0.0f &&
        !(alpha = malloc((size_t)(s.n_subjects * npx) * sizeof(float))))
        rc = GL_ENOMEM;
    if (rc == GL_OK) rc = gl_render_scene(&s, &o, &v, alpha);
    if (rc == GL_OK) rc = gl_variant_caption(&a, &b, item->variant, NULL, item->caption, sizeof item->caption);
    if (rc) {
        snprintf(msg, msglen, "data: concept %llu, variant '%s': %s", (unsigned long long)item->seed,
                 gl_variant_name(item->variant), gl_strerror(rc));
        gl_video_release(&v);
        free(alpha);
        return rc;
    }
    if (alpha)
        for (int64_t p = 0; p < npx; p++) {
            float cover = 0.0f;
            for (int k = 0; k < s.n_subjects; k++) cover += alpha[k * npx + p];
            weight[p] = 1.0f + subject_weight * (cover < 1.0f ? cover : 1.0f);
        }
    free(alpha);
    int64_t n = F * H * W * 3;
    for (int64_t i = 0; i < n; i++) x[i] = 2.0f * v.rgb[i] - 1.0f;
    gl_video_release(&v);
    return GL_OK;
}

int gl_data_next(void *ctx, int64_t step, gl_rng *rng, gl_train_batch *b, char *msg, size_t msglen) {
    (void)step;
    gl_data *d = ctx;
    const gl_dit_config *c = &d->cfg;
    if (b->F != c->frames || b->H != c->cell_h || b->W != c->cell_w || c->channels != 3) {
        snprintf(msg, msglen, "data: batch of %lldx%lldx%lld asked; the source gives the model's cells of %lldx%lldx%lld",
                 (long long)b->F, (long long)b->H, (long long)b->W, (long long)c->frames, (long long)c->cell_h,
                 (long long)c->cell_w);
        return GL_EINVAL;
    }
    if (b->B > d->cap_last) {
        gl_data_item *p = realloc(d->last, (size_t)b->B * sizeof *p);
        if (!p) {
            snprintf(msg, msglen, "data: out of memory");
            return GL_ENOMEM;
        }
        d->last = p;
        d->cap_last = b->B;
    }
    d->n_last = 0;
    const int64_t n = b->F * b->H * b->W * 3;
    for (int64_t i = 0; i < b->B; i++) {
        gl_data_item *it = &d->last[i];
        float *x = b->x0 + i * n;
        int32_t *text = b->text + i * b->text_len;
        int64_t len = 0;
        int rc;
        memset(it, 0, sizeof *it);
        if (d->procedural) {
            float *w = b->weight ? b->weight + i * b->F * b->H * b->W : NULL;
            if ((rc = procedural_sample(d, rng, b->F, b->H, b->W, x, w, it, msg, msglen))) return rc;
            char why[256];
            if ((rc = tokenize_cut(d->tok, it->caption, text, b->text_len, &len, why, sizeof why))) {
                snprintf(msg, msglen, "data: caption '%s': %s", it->caption, why);
                return rc;
            }
        } else {
            if (d->n_videos < 1) {
                snprintf(msg, msglen, "data: the source holds no videos");
                return GL_EINVAL;
            }
            int64_t k = (int64_t)(gl_rng_u64(rng) % (uint64_t)d->n_videos);
            const dir_video *v = &d->videos[k];
            for (int64_t j = 0; j < n; j++) x[j] = (float)v->px[j] * (2.0f / 255.0f) - 1.0f;
            len = v->n_tokens < b->text_len ? v->n_tokens : b->text_len;
            memcpy(text, v->tokens, (size_t)len * sizeof *text);
            it->video = k;
            it->variant = v->variant;
            snprintf(it->caption, sizeof it->caption, "%s", v->caption);
        }
        b->text_lens[i] = (int32_t)len;
        d->n_last = i + 1;
    }
    return GL_OK;
}

/* ---- data sets on disk ------------------------------------------------------------ */

typedef struct loader {
    gl_data *d;
    const char *dir, *manifest; /* manifest, line: of the line being read */
    int64_t line;
    int64_t cap;
    char *msg;
    size_t msglen;
} loader;

/* Appends one video entry (not loaded yet) from a manifest object holding file, caption. */
static int add_entry(loader *L, const cJSON *o, const char *what, int variant) {
    gl_data *d = L->d;
    const cJSON *file = cJSON_GetObjectItemCaseSensitive(o, "file");
    const cJSON *cap = cJSON_GetObjectItemCaseSensitive(o, "caption");
    if (!cJSON_IsString(file) || !cJSON_IsString(cap)) {
        snprintf(L->msg, L->msglen, "%s: line %lld: %s: '%s' missing or not a string", L->manifest, (long long)L->line,
                 what, !cJSON_IsString(file) ? "file" : "caption");
        return GL_EFORMAT;
    }
    if (!gl__manifest_safe_name(file->valuestring)) {
        snprintf(L->msg, L->msglen, "%s: line %lld: %s: file '%s' must be a relative name without '..'", L->manifest,
                 (long long)L->line, what, file->valuestring);
        return GL_EFORMAT;
    }
    if (d->n_videos == L->cap) {
        int64_t nc = L->cap ? 2 * L->cap : 64;
        dir_video *p = realloc(d->videos, (size_t)nc * sizeof *p);
        if (!p) goto oom;
        d->videos = p;
        L->cap = nc;
    }
    dir_video *v = &d->videos[d->n_videos];
    memset(v, 0, sizeof *v);
    d->n_videos++;
    v->variant = variant;
    int32_t ids[GL_CAPTION_MAX];
    char why[256];
    if (!(v->caption = malloc(strlen(cap->valuestring) + 1)) || !(v->path = gl__manifest_path(L->dir, file->valuestring)))
        goto oom;
    strcpy(v->caption, cap->valuestring);
    int rc = tokenize_cut(d->tok, v->caption, ids, GL_CAPTION_MAX, &v->n_tokens, why, sizeof why);
    if (rc) {
        snprintf(L->msg, L->msglen, "%s: line %lld: %s: caption '%s': %s", L->manifest, (long long)L->line, what,
                 v->caption, why);
        return GL_EFORMAT;
    }
    if (!(v->tokens = malloc((size_t)(v->n_tokens ? v->n_tokens : 1) * sizeof *v->tokens))) goto oom;
    memcpy(v->tokens, ids, (size_t)v->n_tokens * sizeof *ids);
    return GL_OK;
oom:
    snprintf(L->msg, L->msglen, "%s: out of memory", L->manifest);
    return GL_ENOMEM;
}

/* One manifest line: a concept with its plain video and variants. */
static int parse_obj(void *ctx, const cJSON *o, const char *manifest, int64_t line, char *msg, size_t msglen) {
    loader *L = ctx;
    L->manifest = manifest;
    L->line = line;
    int rc = gl__manifest_check_split(o, manifest, line, msg, msglen);
    if (rc) return rc;
    if ((rc = add_entry(L, o, "concept", GL_VARIANT_PLAIN))) goto end;
    const cJSON *vars = cJSON_GetObjectItemCaseSensitive(o, "variants");
    if (vars && !cJSON_IsArray(vars)) {
        snprintf(L->msg, L->msglen, "%s: line %lld: 'variants' is not an array", L->manifest, (long long)L->line);
        rc = GL_EFORMAT;
        goto end;
    }
    int k = 0;
    for (const cJSON *e = vars ? vars->child : NULL; e; e = e->next, k++) {
        char what[64];
        snprintf(what, sizeof what, "variant %d", k);
        if (!cJSON_IsObject(e)) {
            snprintf(L->msg, L->msglen, "%s: line %lld: %s is not an object", L->manifest, (long long)L->line, what);
            rc = GL_EFORMAT;
            goto end;
        }
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(e, "name");
        int var = cJSON_IsString(name) ? gl_variant_from_name(name->valuestring) : -1;
        if ((rc = add_entry(L, e, what, var < 0 ? -1 : var))) goto end;
    }
    L->d->n_concepts++;
end:
    return rc;
}

int gl_data_dir(gl_data **out, const char *dir, const gl_dit_config *cfg,
                void (*progress)(void *ctx, int64_t done, int64_t total), void *progress_ctx, char *msg,
                size_t msglen) {
    int rc = data_new(out, cfg, msg, msglen);
    if (rc) return rc;
    gl_data *d = *out;
    loader L = {.d = d, .dir = dir, .msg = msg, .msglen = msglen};
    if ((rc = gl__manifest_each(dir, parse_obj, &L, NULL, msg, msglen))) goto end;
    if (d->n_videos == 0) {
        snprintf(msg, msglen, "%s/manifest.jsonl: lists no videos", dir);
        rc = GL_EFORMAT;
        goto end;
    }
    /* the videos, at the model's cell size, 8 bits per value */
    for (int64_t i = 0; i < d->n_videos; i++) {
        dir_video *v = &d->videos[i];
        if ((rc = gl__video_read_u8(v->path, cfg, &v->px, msg, msglen))) goto end;
        free(v->path);
        v->path = NULL;
        if (progress) progress(progress_ctx, i + 1, d->n_videos);
    }
end:
    if (rc) gl_data_free(out);
    return rc;
}

/* ---- finishing a run -------------------------------------------------------------- */

int gl_train_load_ema(gl_params *p, const char *checkpoint, char *msg, size_t msglen) {
    int rc = gl_st_load_params_prefixed(p, checkpoint, "ema.", 1, msg, msglen);
    return rc < 0 ? rc : GL_OK;
}
