/* pipeline/multidc.c: the Multi-DC LoRA's data (concepts with their tokens, in Set or
 * Sequence mode, from a data set or one video) and its stage switch (which adapter
 * parameters train). The loop is train.c's; decoding io/'s; nothing here trains. */
#define _POSIX_C_SOURCE 200809L /* getline */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "gridlora/core.h"
#include "gridlora/data.h"
#include "gridlora/lora.h"
#include "gridlora/multidc.h"
#include "gridlora/tokenizer.h"
#include "gridlora/video.h"
#include "pipeline/manifest.h"

/* One clip: 8-bit values (value = byte / 255) and its prompt's tokens. */
typedef struct mdc_video {
    char *path;      /* until it is read */
    uint8_t *px;     /* [F,H,W,3] */
    int32_t tokens[GL_CAPTION_MAX];
    int64_t n_tokens;
    int variant;
    char caption[GL_CAPTION_MAX];
} mdc_video;

/* A concept: its token and its videos, first the plain clip. */
typedef struct mdc_concept {
    int32_t token;
    int64_t first, count; /* videos [first, first + count) */
    int32_t alone[1 + GL_LORA_MAX_TOKEN_VECTORS]; /* the token-alone prompt's ids (gl_multidc_token_prompt) */
    int64_t n_alone;      /* 0 until gl_multidc_set_token_only asks for it */
} mdc_concept;

struct gl_multidc {
    gl_dit_config cfg;
    gl_tokenizer *tok;
    int mode;
    float token_only; /* probability that a plain clip is captioned with its token alone */
    mdc_video *videos;
    int64_t n_videos, cap_videos;
    mdc_concept *concepts;
    int32_t *ids; /* token per concept, then each bank of extras, for gl_multidc_tokens */
    int vectors;  /* embeddings per concept token (gl_multidc_set_token_vectors) */
    int64_t n_concepts, cap_concepts;
    gl_multidc_item *last;
    int64_t n_last, cap_last;
};

void gl_multidc_free(gl_multidc **dp) {
    if (!dp || !*dp) return;
    gl_multidc *d = *dp;
    for (int64_t i = 0; i < d->n_videos; i++) {
        free(d->videos[i].path);
        free(d->videos[i].px);
    }
    free(d->videos);
    free(d->concepts);
    free(d->ids);
    free(d->last);
    gl_tokenizer_free(&d->tok);
    free(d);
    *dp = NULL;
}

static int mdc_new(gl_multidc **out, const gl_dit_config *cfg, char *msg, size_t msglen) {
    *out = NULL;
    int rc = gl_dit_config_validate(cfg, msg, msglen);
    if (rc) return rc;
    if (cfg->channels != 3) {
        snprintf(msg, msglen, "multidc: a model of %lld colour channels; videos have 3", (long long)cfg->channels);
        return GL_EINVAL;
    }
    gl_multidc *d = calloc(1, sizeof *d);
    if (!d) {
        snprintf(msg, msglen, "multidc: out of memory");
        return GL_ENOMEM;
    }
    d->cfg = *cfg;
    d->mode = GL_MULTIDC_SET;
    d->vectors = 1;
    if ((rc = gl_domain_tokenizer(cfg, &d->tok, msg, msglen))) {
        free(d);
        return rc;
    }
    *out = d;
    return GL_OK;
}

void gl_multidc_set_mode(gl_multidc *d, int mode) {
    GL_ASSERT(mode == GL_MULTIDC_SET || mode == GL_MULTIDC_SEQUENCE);
    d->mode = mode;
}

int gl_multidc_tokens(const gl_multidc *d, const int32_t **ids) {
    *ids = d->ids;
    return (int)d->n_concepts * d->vectors;
}
int64_t gl_multidc_concepts(const gl_multidc *d) { return d->n_concepts; }
int64_t gl_multidc_videos(const gl_multidc *d) { return d->n_videos; }

const gl_multidc_item *gl_multidc_last(const gl_multidc *d, int64_t i) {
    return i >= 0 && i < d->n_last ? &d->last[i] : NULL;
}

/* A new concept with token id tok (no videos yet). */
static int add_concept(gl_multidc *d, int32_t tok) {
    if (d->n_concepts == d->cap_concepts) {
        int64_t nc = d->cap_concepts ? 2 * d->cap_concepts : 16;
        mdc_concept *c = realloc(d->concepts, (size_t)nc * sizeof *c);
        if (!c) return GL_ENOMEM;
        d->concepts = c;
        int32_t *ids = realloc(d->ids, (size_t)nc * sizeof *ids);
        if (!ids) return GL_ENOMEM;
        d->ids = ids;
        d->cap_concepts = nc;
    }
    d->concepts[d->n_concepts] = (mdc_concept){.token = tok, .first = d->n_videos, .count = 0};
    d->ids[d->n_concepts] = tok;
    d->n_concepts++;
    return GL_OK;
}

/* Appends a video of the last concept: path (copied) and its prompt, which must hold the
 * concept's token. Errors go into why (the caller adds where). */
static int add_video(gl_multidc *d, const char *path, const char *prompt, int variant, char *why, size_t wlen) {
    mdc_concept *c = &d->concepts[d->n_concepts - 1];
    if (d->n_videos == d->cap_videos) {
        int64_t nc = d->cap_videos ? 2 * d->cap_videos : 64;
        mdc_video *v = realloc(d->videos, (size_t)nc * sizeof *v);
        if (!v) goto oom;
        d->videos = v;
        d->cap_videos = nc;
    }
    mdc_video *v = &d->videos[d->n_videos];
    memset(v, 0, sizeof *v);
    d->n_videos++;
    c->count++;
    v->variant = variant;
    if (strlen(prompt) >= sizeof v->caption) {
        snprintf(why, wlen, "prompt longer than %d bytes", GL_CAPTION_MAX - 1);
        return GL_EFORMAT;
    }
    strcpy(v->caption, prompt);
    if (!(v->path = malloc(strlen(path) + 1))) goto oom;
    strcpy(v->path, path);
    char tmsg[256];
    int rc = gl_tokenize(d->tok, prompt, v->tokens, GL_CAPTION_MAX, &v->n_tokens, tmsg, sizeof tmsg);
    if (rc) {
        snprintf(why, wlen, "prompt '%s': %s", prompt, tmsg);
        return rc == GL_ENOMEM ? rc : GL_EFORMAT;
    }
    /* the token must survive the cut to the model's text length */
    int has = 0;
    for (int64_t i = 0; i < v->n_tokens && i < d->cfg.text_len; i++) has |= v->tokens[i] == c->token;
    if (!has) {
        snprintf(why, wlen, "prompt '%s' lacks the concept's token %s%s", prompt, gl_token_text(d->tok, c->token),
                 d->cfg.text_len < v->n_tokens ? " within the model's text length" : "");
        return GL_EINVAL;
    }
    return GL_OK;
oom:
    snprintf(why, wlen, "out of memory");
    return GL_ENOMEM;
}

/* Reads every video at the model's cell size into 8 bits per value. */
static int read_videos(gl_multidc *d, void (*progress)(void *, int64_t, int64_t), void *pctx, char *msg,
                       size_t msglen) {
    for (int64_t i = 0; i < d->n_videos; i++) {
        mdc_video *v = &d->videos[i];
        int rc = gl__video_read_u8(v->path, &d->cfg, &v->px, msg, msglen);
        if (rc) return rc;
        free(v->path);
        v->path = NULL;
        if (progress) progress(pctx, i + 1, d->n_videos);
    }
    return GL_OK;
}

/* ---- a data set ------------------------------------------------------------------- */

/* Variants used besides the plain clip (see multidc.h for why). */
static int variant_used(int var) {
    return var == GL_VARIANT_SMOKE || var == GL_VARIANT_LIGHTS || var == GL_VARIANT_NIGHT || var == GL_VARIANT_RAIN ||
           var == GL_VARIANT_SHADOW || var == GL_VARIANT_BACKGROUND;
}

typedef struct loader {
    gl_multidc *d;
    const char *dir, *manifest;
    int64_t line;
    char *msg;
    size_t msglen;
} loader;

/* One entry (the concept's top level or a variant) holding "file" and "prompt". */
static int load_entry(loader *L, const cJSON *o, const char *what, int variant) {
    const cJSON *file = cJSON_GetObjectItemCaseSensitive(o, "file");
    const cJSON *prompt = cJSON_GetObjectItemCaseSensitive(o, "prompt");
    if (!cJSON_IsString(file) || !cJSON_IsString(prompt)) {
        snprintf(L->msg, L->msglen, "%s: line %lld: %s: '%s' missing or not a string", L->manifest,
                 (long long)L->line, what, !cJSON_IsString(file) ? "file" : "prompt");
        return GL_EFORMAT;
    }
    if (!gl__manifest_safe_name(file->valuestring)) {
        snprintf(L->msg, L->msglen, "%s: line %lld: %s: file '%s' must be a relative name without '..'", L->manifest,
                 (long long)L->line, what, file->valuestring);
        return GL_EFORMAT;
    }
    char *path = gl__manifest_path(L->dir, file->valuestring), why[512];
    if (!path) {
        snprintf(L->msg, L->msglen, "%s: out of memory", L->manifest);
        return GL_ENOMEM;
    }
    int rc = add_video(L->d, path, prompt->valuestring, variant, why, sizeof why);
    free(path);
    if (rc) snprintf(L->msg, L->msglen, "%s: line %lld: %s: %s", L->manifest, (long long)L->line, what, why);
    return rc;
}

static int parse_obj(void *ctx, const cJSON *o, const char *manifest, int64_t line, char *msg, size_t msglen) {
    loader *L = ctx;
    gl_multidc *d = L->d;
    L->manifest = manifest;
    L->line = line;
    int rc = gl__manifest_check_split(o, manifest, line, msg, msglen);
    if (rc) return rc;
    const cJSON *tok = cJSON_GetObjectItemCaseSensitive(o, "token");
    if (!cJSON_IsString(tok)) {
        snprintf(L->msg, L->msglen, "%s: line %lld: 'token' missing or not a string (a Multi-DC LoRA needs each "
                 "concept's token)", L->manifest, (long long)L->line);
        rc = GL_EFORMAT;
        goto end;
    }
    int32_t id = gl_token_id(d->tok, tok->valuestring);
    int64_t K = d->cfg.concept_tokens, first = d->cfg.text_vocab - K;
    if (id < first || id >= d->cfg.text_vocab) {
        snprintf(L->msg, L->msglen, "%s: line %lld: token '%s' is not one of the model's %lld concept tokens "
                 "(<c0>..<c%lld>)", L->manifest, (long long)L->line, tok->valuestring, (long long)K,
                 (long long)K - 1);
        rc = GL_EINVAL;
        goto end;
    }
    for (int64_t i = 0; i < d->n_concepts; i++)
        if (d->concepts[i].token == id) {
            snprintf(L->msg, L->msglen, "%s: line %lld: token '%s' is already concept %lld's", L->manifest,
                     (long long)L->line, tok->valuestring, (long long)i);
            rc = GL_EFORMAT;
            goto end;
        }
    if ((rc = add_concept(d, id))) {
        snprintf(L->msg, L->msglen, "%s: out of memory", L->manifest);
        goto end;
    }
    if ((rc = load_entry(L, o, "concept", GL_VARIANT_PLAIN))) goto end;
    const cJSON *vars = cJSON_GetObjectItemCaseSensitive(o, "variants");
    if (vars && !cJSON_IsArray(vars)) {
        snprintf(L->msg, L->msglen, "%s: line %lld: 'variants' is not an array", L->manifest, (long long)L->line);
        rc = GL_EFORMAT;
        goto end;
    }
    int k = 0;
    for (const cJSON *e = vars ? vars->child : NULL; e; e = e->next, k++) {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(e, "name");
        int var = cJSON_IsString(name) ? gl_variant_from_name(name->valuestring) : -1;
        if (var < 0 || !variant_used(var)) continue;
        char what[64];
        snprintf(what, sizeof what, "variant %d (%s)", k, name->valuestring);
        if ((rc = load_entry(L, e, what, var))) goto end;
    }
end:
    return rc;
}

int gl_multidc_dir(gl_multidc **out, const char *dir, const gl_dit_config *cfg,
                   void (*progress)(void *ctx, int64_t done, int64_t total), void *progress_ctx, char *msg,
                   size_t msglen) {
    int rc = mdc_new(out, cfg, msg, msglen);
    if (rc) return rc;
    gl_multidc *d = *out;
    loader L = {.d = d, .dir = dir, .msg = msg, .msglen = msglen};
    /* count the concepts first: too many for the model is the clearest error there is */
    int64_t lines = 0;
    if ((rc = gl__manifest_each(dir, NULL, NULL, &lines, msg, msglen))) goto end;
    if (lines > cfg->concept_tokens) {
        snprintf(msg, msglen, "%s/manifest.jsonl: %lld concepts, but the model has %lld concept tokens (<c0>..<c%lld>); "
                 "train on a data set of at most %lld", dir, (long long)lines, (long long)cfg->concept_tokens,
                 (long long)cfg->concept_tokens - 1, (long long)cfg->concept_tokens);
        rc = GL_EINVAL;
        goto end;
    }
    if ((rc = gl__manifest_each(dir, parse_obj, &L, NULL, msg, msglen))) goto end;
    if (d->n_concepts == 0) {
        snprintf(msg, msglen, "%s/manifest.jsonl: lists no concepts", dir);
        rc = GL_EFORMAT;
        goto end;
    }
    rc = read_videos(d, progress, progress_ctx, msg, msglen);
end:
    if (rc) gl_multidc_free(out);
    return rc;
}

/* ---- one video -------------------------------------------------------------------- */

/* The one concept of fine-tuning, its video still unread (path names it in messages). */
static int one_concept(gl_multidc **out, const char *path, const char *token, const char *prompt,
                       const gl_dit_config *cfg, char *msg, size_t msglen) {
    int rc = mdc_new(out, cfg, msg, msglen);
    if (rc) return rc;
    gl_multidc *d = *out;
    int32_t id = gl_token_id(d->tok, token);
    int64_t first = cfg->text_vocab - cfg->concept_tokens;
    char why[512];
    if (id != GL_TOK_FREE && (id < first || id >= cfg->text_vocab)) {
        snprintf(msg, msglen, "token '%s' is neither the free token <v> nor one of the model's %lld concept tokens "
                 "(<c0>..<c%lld>)", token, (long long)cfg->concept_tokens, (long long)cfg->concept_tokens - 1);
        rc = GL_EINVAL;
    } else if ((rc = add_concept(d, id))) {
        snprintf(msg, msglen, "multidc: out of memory");
    } else if ((rc = add_video(d, path, prompt, GL_VARIANT_PLAIN, why, sizeof why))) {
        snprintf(msg, msglen, "%s", why);
    }
    if (rc) gl_multidc_free(out);
    return rc;
}

int gl_multidc_video(gl_multidc **out, const char *path, const char *token, const char *prompt,
                     const gl_dit_config *cfg, char *msg, size_t msglen) {
    int rc = one_concept(out, path, token, prompt, cfg, msg, msglen);
    if (!rc && (rc = read_videos(*out, NULL, NULL, msg, msglen))) gl_multidc_free(out);
    return rc;
}

int gl_multidc_clip(gl_multidc **out, const gl_video *v, const char *token, const char *prompt,
                    const gl_dit_config *cfg, char *msg, size_t msglen) {
    *out = NULL;
    if (!v || !v->rgb || v->frames != cfg->frames || v->height != cfg->cell_h || v->width != cfg->cell_w) {
        snprintf(msg, msglen, "multidc: the clip is not the model's cell of %lld frames of %lldx%lld",
                 (long long)cfg->frames, (long long)cfg->cell_w, (long long)cfg->cell_h);
        return GL_EINVAL;
    }
    int rc = one_concept(out, "(memory)", token, prompt, cfg, msg, msglen);
    if (rc) return rc;
    mdc_video *mv = &(*out)->videos[0];
    const int64_t n = v->frames * v->height * v->width * 3;
    if (!(mv->px = malloc((size_t)n))) {
        gl_multidc_free(out);
        snprintf(msg, msglen, "multidc: out of memory");
        return GL_ENOMEM;
    }
    /* 8 bits, rounded as a decoded file's frames are (manifest.c), so that a clip and the
     * same clip read from a lossless file train alike */
    for (int64_t j = 0; j < n; j++) {
        float x = v->rgb[j];
        mv->px[j] = (uint8_t)lrintf(x <= 0.0f ? 0.0f : x >= 1.0f ? 255.0f : 255.0f * x);
    }
    free(mv->path);
    mv->path = NULL;
    return GL_OK;
}

/* ---- batches ---------------------------------------------------------------------- */

int gl_multidc_next(void *ctx, int64_t step, gl_rng *rng, gl_train_batch *b, char *msg, size_t msglen) {
    (void)step;
    gl_multidc *d = ctx;
    const gl_dit_config *c = &d->cfg;
    if (b->F != c->frames || b->H != c->cell_h || b->W != c->cell_w) {
        snprintf(msg, msglen, "multidc: batch of %lldx%lldx%lld asked; the source gives the model's cells of "
                 "%lldx%lldx%lld", (long long)b->F, (long long)b->H, (long long)b->W, (long long)c->frames,
                 (long long)c->cell_h, (long long)c->cell_w);
        return GL_EINVAL;
    }
    if (b->B > d->cap_last) {
        gl_multidc_item *p = realloc(d->last, (size_t)b->B * sizeof *p);
        if (!p) {
            snprintf(msg, msglen, "multidc: out of memory");
            return GL_ENOMEM;
        }
        d->last = p;
        d->cap_last = b->B;
    }
    d->n_last = 0;
    const int64_t per_frame = b->H * b->W * 3, n = b->F * per_frame;
    for (int64_t i = 0; i < b->B; i++) {
        /* always four draws per sample, whatever the mode */
        const mdc_concept *cc = &d->concepts[gl_rng_u64(rng) % (uint64_t)d->n_concepts];
        int plain = gl_rng_uniform(rng) < 0.5 || cc->count == 1;
        uint64_t pick = gl_rng_u64(rng), fpick = gl_rng_u64(rng);
        int64_t k = cc->first + (plain ? 0 : 1 + (int64_t)(pick % (uint64_t)(cc->count - 1)));
        const mdc_video *v = &d->videos[k];
        gl_multidc_item *it = &d->last[i];
        memset(it, 0, sizeof *it);
        it->concept = cc - d->concepts;
        it->video = k;
        it->variant = v->variant;
        it->frame = d->mode == GL_MULTIDC_SET ? (int64_t)(fpick % (uint64_t)b->F) : -1;
        snprintf(it->caption, sizeof it->caption, "%s", v->caption);
        float *x = b->x0 + i * n;
        for (int64_t f = 0; f < b->F; f++) {
            const uint8_t *src = v->px + (it->frame >= 0 ? it->frame : f) * per_frame;
            for (int64_t j = 0; j < per_frame; j++) x[f * per_frame + j] = (float)src[j] * (2.0f / 255.0f) - 1.0f;
        }
        const int32_t *tokens = v->tokens;
        int64_t n_tokens = v->n_tokens;
        /* a fifth draw only when asked for, so that runs without it keep their batches */
        if (d->token_only > 0 && gl_rng_uniform(rng) < d->token_only && v->variant == GL_VARIANT_PLAIN) {
            tokens = cc->alone;
            n_tokens = cc->n_alone;
            gl_multidc_token_prompt(gl_token_text(d->tok, cc->token), it->caption, sizeof it->caption);
        }
        int64_t len = n_tokens < b->text_len ? n_tokens : b->text_len;
        memcpy(b->text + i * b->text_len, tokens, (size_t)len * sizeof(int32_t));
        b->text_lens[i] = (int32_t)len;
        d->n_last = i + 1;
    }
    return GL_OK;
}

void gl_multidc_token_prompt(const char *token, char *buf, size_t n) { snprintf(buf, n, "a %s", token); }

int gl_multidc_set_token_only(gl_multidc *d, float p, char *msg, size_t msglen) {
    if (!(p >= 0.0f && p <= 1.0f)) {
        snprintf(msg, msglen, "multidc: token-only rate %g is not in [0, 1]", (double)p);
        return GL_EINVAL;
    }
    for (int64_t k = 0; k < d->n_concepts && p > 0; k++) {
        mdc_concept *c = &d->concepts[k];
        char text[64], tmsg[256];
        gl_multidc_token_prompt(gl_token_text(d->tok, c->token), text, sizeof text);
        int rc = gl_tokenize(d->tok, text, c->alone, 2, &c->n_alone, tmsg, sizeof tmsg);
        if (!rc && gl_tokens_expand(d->ids, (int)d->n_concepts, d->vectors, c->alone, &c->n_alone,
                                    (int64_t)(sizeof c->alone / sizeof c->alone[0]))) {
            snprintf(tmsg, sizeof tmsg, "too many token vectors");
            rc = GL_EINVAL;
        }
        if (rc) {
            snprintf(msg, msglen, "multidc: prompt '%s': %s", text, tmsg);
            return rc;
        }
    }
    d->token_only = p;
    return GL_OK;
}

int gl_multidc_token_vectors(const gl_multidc *d) { return d->vectors; }

int gl_multidc_set_token_vectors(gl_multidc *d, int V, char *msg, size_t msglen) {
    if (V < 1 || V > GL_LORA_MAX_TOKEN_VECTORS || d->vectors != 1) {
        snprintf(msg, msglen, "multidc: %d token vectors (1 to %d, set once)", V, GL_LORA_MAX_TOKEN_VECTORS);
        return GL_EINVAL;
    }
    if (V == 1) return GL_OK;
    const int64_t n = d->n_concepts, first = d->cfg.text_vocab - d->cfg.concept_tokens;
    int32_t *ids = malloc((size_t)(n * V > 0 ? n * V : 1) * sizeof *ids);
    if (!ids) {
        snprintf(msg, msglen, "multidc: out of memory");
        return GL_ENOMEM;
    }
    memcpy(ids, d->ids, (size_t)n * sizeof *ids);
    int32_t next = (int32_t)first;
    for (int64_t k = n; k < n * V; k++) { /* the next concept token no concept names */
        for (int named = 1; named && next < d->cfg.text_vocab;) {
            named = 0;
            for (int64_t i = 0; i < n && !named; i++) named = d->ids[i] == next;
            if (named) next++;
        }
        if (next >= d->cfg.text_vocab) {
            snprintf(msg, msglen, "multidc: %lld concepts with %d token vectors each need %lld concept tokens; the "
                     "model has %lld", (long long)n, V, (long long)(n * V), (long long)d->cfg.concept_tokens);
            free(ids);
            return GL_EINVAL;
        }
        ids[k] = next++;
    }
    for (int64_t i = 0; i < d->n_videos; i++) {
        mdc_video *v = &d->videos[i];
        if (gl_tokens_expand(ids, (int)n, V, v->tokens, &v->n_tokens, GL_CAPTION_MAX)) {
            snprintf(msg, msglen, "multidc: prompt '%s' has more than %d tokens with %d token vectors", v->caption,
                     GL_CAPTION_MAX, V);
            free(ids);
            return GL_EINVAL;
        }
    }
    for (int64_t i = 0; i < n; i++) /* the token-alone prompts made before, if any */
        gl_tokens_expand(ids, (int)n, V, d->concepts[i].alone, &d->concepts[i].n_alone,
                         (int64_t)(sizeof d->concepts[i].alone / sizeof d->concepts[i].alone[0]));
    free(d->ids);
    d->ids = ids;
    d->vectors = V;
    return GL_OK;
}

int gl_multidc_init_token_rows(const gl_multidc *d, gl_lora *l, gl_dit *m, char *msg, size_t msglen) {
    const int32_t *ids;
    const int n = gl_lora_tokens(l, &ids), rows = gl_lora_token_rows(l);
    gl_params *mp = gl_dit_params(m);
    const int ti = gl_params_find(mp, "text.token_embed.weight");
    if (rows < 0 || ti < 0) {
        snprintf(msg, msglen, "multidc: the adapter has no token rows, or the model no token table");
        return GL_EINVAL;
    }
    const gl_tensor table = gl_params_tensor(mp, ti), R = gl_params_tensor(gl_lora_params(l), rows);
    const int64_t w = d->cfg.text_width;
    const int64_t all = d->n_concepts * d->vectors;
    for (int i = 0; i < n; i++) {
        const mdc_concept *cc = NULL; /* an extra vector's concept is its place modulo the concepts */
        for (int64_t k = 0; k < all && !cc; k++)
            if (d->ids[k] == ids[i]) cc = &d->concepts[k % d->n_concepts];
        if (!cc) {
            snprintf(msg, msglen, "multidc: the adapter's token %s is none of the data set's concepts",
                     gl_token_text(d->tok, ids[i]));
            return GL_EINVAL;
        }
        const mdc_video *v = &d->videos[cc->first]; /* the plain clip: the caption's words */
        float *row = R.data + (int64_t)i * w;
        int64_t words = 0;
        memset(row, 0, (size_t)w * sizeof(float));
        for (int64_t j = 0; j < v->n_tokens; j++) {
            int token = 0; /* the concept's token and its extras are not words */
            for (int64_t k = 0; k < all && !token; k++) token = v->tokens[j] == d->ids[k];
            if (token) continue;
            const float *e = table.data + (int64_t)v->tokens[j] * w;
            for (int64_t c = 0; c < w; c++) row[c] += e[c];
            words++;
        }
        for (int64_t c = 0; c < w && words > 0; c++) row[c] /= (float)words;
    }
    return GL_OK;
}

/* ---- stages ----------------------------------------------------------------------- */

int gl_lora_set_stage(gl_lora *l, int stage) {
    if (!gl_lora_has_motion(l) || (stage != GL_MULTIDC_SET && stage != GL_MULTIDC_SEQUENCE)) return GL_EINVAL;
    gl_params *p = gl_lora_params(l);
    const int set = stage == GL_MULTIDC_SET;
    /* every tensor of the Set stage (A, B, token rows) one way, B2 the other */
    for (int i = 0; i < gl_params_count(p); i++) gl_params_set_flags(p, i, gl_params_flags(p, i) | GL_PARAM_FROZEN);
    for (int i = 0; i < gl_lora_module_count(l); i++) {
        int a, b, b2;
        gl_lora_module_params(l, i, &a, &b, &b2);
        int train[3] = {set ? a : b2, set ? b : -1, -1};
        for (int k = 0; k < 3; k++)
            if (train[k] >= 0) gl_params_set_flags(p, train[k], gl_params_flags(p, train[k]) & ~GL_PARAM_FROZEN);
    }
    int rows = gl_lora_token_rows(l);
    if (set && rows >= 0) gl_params_set_flags(p, rows, gl_params_flags(p, rows) & ~GL_PARAM_FROZEN);
    return GL_OK;
}
