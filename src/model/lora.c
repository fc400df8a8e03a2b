/* model/lora.c: LoRA adapters as objects: which modules they target, their parameters,
 * their files (PEFT-style names) and merging them into base weights. Applying them in
 * forward and backward is the model's job (dit.c, gl_dit_attach_lora). */
#define _POSIX_C_SOURCE 200809L /* fnmatch */
#include <fnmatch.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "gridlora/lora.h"
#include "gridlora/safetensors.h"

#define MODULE_MAX 200

typedef struct lora_module {
    char name[MODULE_MAX];
    int base_w;        /* index of "<name>.weight" in the model */
    int a, b, b2;      /* indices in the adapter's params */
    int64_t in, out;
} lora_module;

/* A norm's gain the adapter shifts: the model uses w + weight * delta (gl_lora.h). */
typedef struct gain_module {
    char name[MODULE_MAX];
    int base_w; /* index of "<name>.weight" in the model */
    int delta;  /* index of "<name>.lora_gain" in the adapter's params */
} gain_module;

struct gl_lora {
    gl_dit_config cfg; /* of the model it was made for */
    gl_params *p;
    lora_module *mod;
    gain_module *gain;
    int n_mod, n_gain, rank, motion;
    float alpha, dropout;
    char *targets;
    int32_t *tokens;
    int n_tokens, rows; /* rows: index of the token rows tensor, -1 if none */
    int token_vectors;  /* n_tokens = named tokens x token_vectors (gl_lora_spec) */
};

gl_lora_spec gl_lora_default_spec(void) {
    return (gl_lora_spec){.rank = 8, .alpha = 8.0f, .targets = GL_LORA_DEFAULT_TARGETS, .token_vectors = 1};
}

void gl_lora_free(gl_lora **pl) {
    if (!pl || !*pl) return;
    gl_lora *l = *pl;
    gl_params_free(&l->p);
    free(l->mod);
    free(l->gain);
    free(l->targets);
    free(l->tokens);
    free(l);
    *pl = NULL;
}

/* Does a module name match one of the comma-separated patterns? */
static int matches(const char *targets, const char *name) {
    const char *p = targets;
    while (*p) {
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        char pat[256];
        if (n > 0 && n < sizeof pat) {
            memcpy(pat, p, n);
            pat[n] = 0;
            if (fnmatch(pat, name, 0) == 0) return 1;
        }
        if (!e) break;
        p = e + 1;
    }
    return 0;
}

/* The model's linear modules: 2-D "*.weight" parameters that are not lookup tables. */
static int is_linear(const gl_params *mp, int i) {
    const char *n = gl_params_name(mp, i);
    size_t len = strlen(n);
    return gl_params_tensor(mp, i).ndim == 2 && len > 7 && !strcmp(n + len - 7, ".weight") &&
           strcmp(n, "text.token_embed.weight") != 0 && strcmp(n, "text.pos_embed.weight") != 0 &&
           len - 7 < MODULE_MAX;
}

/* The model's norm gains: 1-D "*.weight" parameters of modules named "norm*" (the
 * attention's QK RMS norms; the layer norms carry no weights). */
static int is_gain(const gl_params *mp, int i) {
    const char *n = gl_params_name(mp, i);
    size_t len = strlen(n);
    if (gl_params_tensor(mp, i).ndim != 1 || len <= 7 || strcmp(n + len - 7, ".weight") || len - 7 >= MODULE_MAX)
        return 0;
    const char *end = n + len - 7, *start = end; /* the module name's last component */
    while (start > n && start[-1] != '.') start--;
    return end - start >= 4 && !strncmp(start, "norm", 4);
}

/* Declares the adapter's tensors for spec over model m (allocated, zeroed). */
static int build(gl_lora *l, const gl_dit *m, const char *targets, char *msg, size_t msglen) {
    gl_params *mp = gl_dit_params((gl_dit *)m);
    int n = gl_params_count(mp), rc = gl_params_new(&l->p);
    if (rc) return rc;
    l->mod = calloc((size_t)n, sizeof *l->mod);
    l->gain = calloc((size_t)n, sizeof *l->gain);
    if (!l->mod || !l->gain) return GL_ENOMEM;
    for (int i = 0; i < n && rc >= 0; i++) {
        if (is_gain(mp, i)) {
            const char *wn = gl_params_name(mp, i);
            gain_module *gm = &l->gain[l->n_gain];
            memcpy(gm->name, wn, strlen(wn) - 7);
            gm->name[strlen(wn) - 7] = 0;
            if (!matches(targets, gm->name)) continue;
            char name[MODULE_MAX + 32];
            snprintf(name, sizeof name, "%s.lora_gain", gm->name);
            const int64_t d = gl_params_tensor(mp, i).shape[0];
            gm->base_w = i;
            rc = gm->delta = gl_params_add(l->p, name, 1, &d, GL_PARAM_NO_DECAY);
            l->n_gain++;
            continue;
        }
        if (!is_linear(mp, i)) continue;
        const char *wn = gl_params_name(mp, i);
        lora_module *md = &l->mod[l->n_mod];
        memcpy(md->name, wn, strlen(wn) - 7);
        md->name[strlen(wn) - 7] = 0;
        if (!matches(targets, md->name)) continue;
        gl_tensor w = gl_params_tensor(mp, i);
        md->base_w = i;
        md->out = w.shape[0];
        md->in = w.shape[1];
        char name[MODULE_MAX + 32];
        snprintf(name, sizeof name, "%s.lora_A.weight", md->name);
        rc = md->a = gl_params_add(l->p, name, 2, (int64_t[]){l->rank, md->in}, 0);
        snprintf(name, sizeof name, "%s.lora_B.weight", md->name);
        if (rc >= 0) rc = md->b = gl_params_add(l->p, name, 2, (int64_t[]){md->out, l->rank}, 0);
        md->b2 = -1;
        if (rc >= 0 && l->motion) {
            snprintf(name, sizeof name, "%s.lora_B2.weight", md->name);
            rc = md->b2 = gl_params_add(l->p, name, 2, (int64_t[]){md->out, l->rank}, 0);
        }
        l->n_mod++;
    }
    if (rc < 0) return rc;
    if (l->n_mod == 0 && l->n_gain == 0) {
        snprintf(msg, msglen, "lora: targets '%s' match no linear module or norm gain of the model", targets);
        return GL_EINVAL;
    }
    l->rows = -1;
    if (l->n_tokens > 0) {
        rc = l->rows = gl_params_add(l->p, "text.token_embed.lora_rows", 2,
                                     (int64_t[]){l->n_tokens, l->cfg.text_width}, GL_PARAM_NO_DECAY);
        if (rc < 0) return rc;
    }
    return gl_params_alloc(l->p);
}

static int init_common(gl_lora **out, const gl_dit *m, int rank, float alpha, int motion, const char *targets,
                       const int32_t *tokens, int n_tokens, int vectors, char *msg, size_t msglen) {
    *out = NULL;
    const gl_dit_config *c = gl_dit_cfg(m);
    if (rank < 1 || rank > 4096 || !(alpha > 0) || !targets || !*targets || n_tokens < 0 ||
        n_tokens > c->text_vocab) {
        snprintf(msg, msglen, "lora: rank must be in [1, 4096], alpha > 0, targets non-empty (got rank %d)", rank);
        return GL_EINVAL;
    }
    if (vectors < 1 || vectors > GL_LORA_MAX_TOKEN_VECTORS || n_tokens % vectors) {
        snprintf(msg, msglen, "lora: %d token vectors for %d token ids (1 to %d, dividing the ids)", vectors, n_tokens,
                 GL_LORA_MAX_TOKEN_VECTORS);
        return GL_EINVAL;
    }
    for (int i = 0; i < n_tokens; i++)
        if (tokens[i] <= 0 || tokens[i] >= c->text_vocab) {
            snprintf(msg, msglen, "lora: token id %d is outside the model's vocabulary of %lld", tokens[i],
                     (long long)c->text_vocab);
            return GL_EINVAL;
        }
    gl_lora *l = calloc(1, sizeof *l);
    if (!l) return GL_ENOMEM;
    l->cfg = *c;
    l->rank = rank;
    l->alpha = alpha;
    l->motion = motion;
    l->n_tokens = n_tokens;
    l->token_vectors = vectors;
    l->targets = malloc(strlen(targets) + 1);
    l->tokens = malloc((size_t)(n_tokens > 0 ? n_tokens : 1) * sizeof(int32_t));
    int rc = l->targets && l->tokens ? GL_OK : GL_ENOMEM;
    if (rc == GL_OK) {
        strcpy(l->targets, targets);
        if (n_tokens) memcpy(l->tokens, tokens, (size_t)n_tokens * sizeof(int32_t));
        rc = build(l, m, targets, msg, msglen);
    }
    if (rc) {
        if (rc == GL_ENOMEM) snprintf(msg, msglen, "lora: out of memory");
        else if (rc != GL_EINVAL) snprintf(msg, msglen, "lora: cannot make the adapter: %s", gl_strerror(rc));
        gl_lora_free(&l);
        return rc;
    }
    *out = l;
    return GL_OK;
}

int gl_lora_new(gl_lora **out, const gl_dit *m, const gl_lora_spec *s, uint64_t seed, char *msg, size_t msglen) {
    int rc = init_common(out, m, s->rank, s->alpha, s->motion, s->targets, s->tokens, s->n_tokens,
                         s->token_vectors > 0 ? s->token_vectors : 1, msg, msglen);
    if (rc) return rc;
    gl_lora *l = *out;
    gl_rng r;
    gl_rng_seed(&r, seed);
    for (int i = 0; i < l->n_mod; i++) {
        gl_tensor a = gl_params_tensor(l->p, l->mod[i].a);
        double sd = 1.0 / sqrt((double)l->mod[i].in);
        for (int64_t j = 0; j < gl_tensor_numel(&a); j++) a.data[j] = (float)(sd * gl_rng_normal(&r));
    }
    if (l->rows >= 0) {
        gl_tensor rows = gl_params_tensor(l->p, l->rows);
        gl_tensor table = gl_params_tensor(gl_dit_params((gl_dit *)m), gl_params_find(gl_dit_params((gl_dit *)m), "text.token_embed.weight"));
        for (int i = 0; i < l->n_tokens; i++)
            memcpy(rows.data + i * l->cfg.text_width, table.data + (int64_t)l->tokens[i] * l->cfg.text_width,
                   (size_t)l->cfg.text_width * sizeof(float));
    }
    return GL_OK;
}

int gl_lora_retarget(gl_lora **out, const gl_dit *m, const gl_lora *from, const char *targets, uint64_t seed,
                     char *msg, size_t msglen) {
    gl_lora_spec s = {.rank = from->rank, .alpha = from->alpha, .targets = targets, .motion = from->motion,
                      .tokens = from->tokens, .n_tokens = from->n_tokens, .token_vectors = from->token_vectors};
    int rc = gl_lora_new(out, m, &s, seed, msg, msglen);
    if (rc) return rc;
    gl_params *dst = (*out)->p;
    for (int i = 0; i < gl_params_count(from->p); i++) {
        const char *name = gl_params_name(from->p, i);
        int j = gl_params_find(dst, name);
        if (j < 0) {
            snprintf(msg, msglen, "lora: the adapter's tensor '%s' is outside the targets '%s'", name, targets);
            gl_lora_free(out);
            return GL_EINVAL;
        }
        gl_tensor a = gl_params_tensor(from->p, i), b = gl_params_tensor(dst, j);
        memcpy(b.data, a.data, (size_t)gl_tensor_numel(&a) * sizeof(float));
    }
    return GL_OK;
}

gl_params *gl_lora_params(gl_lora *l) { return l->p; }
const gl_dit_config *gl_lora_cfg(const gl_lora *l) { return &l->cfg; }
int gl_lora_rank(const gl_lora *l) { return l->rank; }
float gl_lora_scale(const gl_lora *l) { return l->alpha / (float)l->rank; }
int gl_lora_has_motion(const gl_lora *l) { return l->motion; }
float gl_lora_dropout(const gl_lora *l) { return l->dropout; }

int gl_lora_set_dropout(gl_lora *l, float p) {
    if (!(p >= 0.0f && p < 1.0f)) return GL_EINVAL; /* NaN too */
    l->dropout = p;
    return GL_OK;
}
int gl_lora_module_count(const gl_lora *l) { return l->n_mod; }
const char *gl_lora_module_name(const gl_lora *l, int i) { return l->mod[i].name; }
void gl_lora_module_params(const gl_lora *l, int i, int *a, int *b, int *b2) {
    *a = l->mod[i].a;
    *b = l->mod[i].b;
    *b2 = l->mod[i].b2;
}
int gl_lora_gain_count(const gl_lora *l) { return l->n_gain; }
const char *gl_lora_gain_name(const gl_lora *l, int i) { return l->gain[i].name; }
int gl_lora_gain_param(const gl_lora *l, int i) { return l->gain[i].delta; }
int gl_lora_tokens(const gl_lora *l, const int32_t **ids) {
    *ids = l->tokens;
    return l->n_tokens;
}
int gl_lora_token_rows(const gl_lora *l) { return l->rows; }
int gl_lora_token_vectors(const gl_lora *l) { return l->token_vectors; }

int gl_tokens_expand(const int32_t *groups, int named, int V, int32_t *ids, int64_t *n, int64_t max) {
    if (V <= 1 || named <= 0 || *n <= 0) return GL_OK;
    int64_t total = 0;
    for (int64_t i = 0; i < *n; i++) {
        int hit = 0;
        for (int k = 0; k < named && !hit; k++) hit = ids[i] == groups[k];
        total += hit ? V : 1;
    }
    if (total > max) return GL_EINVAL;
    /* from the back, so that each id moves once and nothing unread is overwritten */
    for (int64_t i = *n - 1, o = total; i >= 0; i--) {
        int k = 0;
        while (k < named && ids[i] != groups[k]) k++;
        if (k == named) {
            ids[--o] = ids[i];
            continue;
        }
        o -= V;
        ids[o] = groups[k];
        for (int j = 1; j < V; j++) ids[o + j] = groups[k + j * named];
    }
    *n = total;
    return GL_OK;
}

int gl_lora_expand_tokens(const gl_lora *l, int32_t *ids, int64_t *n, int64_t max) {
    return gl_tokens_expand(l->tokens, l->n_tokens / l->token_vectors, l->token_vectors, ids, n, max);
}

int gl_lora_save(const gl_lora *l, const char *path, int dtype, char *msg, size_t msglen) {
    char rank[16], alpha[32], motion[4], vectors[16], *cfg = gl_dit_config_to_json(&l->cfg);
    size_t tlen = (size_t)l->n_tokens * 12 + 1;
    char *toks = malloc(tlen);
    if (!cfg || !toks) {
        free(cfg);
        free(toks);
        snprintf(msg, msglen, "%s: out of memory", path);
        return GL_ENOMEM;
    }
    snprintf(rank, sizeof rank, "%d", l->rank);
    snprintf(alpha, sizeof alpha, "%.9g", (double)l->alpha);
    snprintf(motion, sizeof motion, "%d", l->motion);
    toks[0] = 0;
    for (int i = 0, n = 0; i < l->n_tokens; i++)
        n += snprintf(toks + n, tlen - (size_t)n, "%s%d", i ? "," : "", l->tokens[i]);
    snprintf(vectors, sizeof vectors, "%d", l->token_vectors);
    /* the key only where it says something, so that single-vector files stay as they were */
    const char *meta[] = {"format", "gridlora-lora", "lora.rank", rank, "lora.alpha", alpha, "lora.targets",
                          l->targets, "lora.motion", motion, "lora.tokens", toks, GL_DIT_CONFIG_KEY, cfg,
                          l->token_vectors > 1 ? "lora.token_vectors" : NULL, vectors, NULL};
    int rc = gl_st_save_params(l->p, path, (gl_st_dtype)dtype, meta, msg, msglen);
    free(cfg);
    free(toks);
    return rc;
}

int gl_lora_load(gl_lora **out, const gl_dit *m, const char *path, char *msg, size_t msglen) {
    *out = NULL;
    gl_st *st = NULL;
    int rc = gl_st_open(&st, path, msg, msglen);
    if (rc) return rc;
    const char *fmt = gl_st_meta_get(st, "format"), *srank = gl_st_meta_get(st, "lora.rank");
    const char *salpha = gl_st_meta_get(st, "lora.alpha"), *targets = gl_st_meta_get(st, "lora.targets");
    const char *smotion = gl_st_meta_get(st, "lora.motion"), *stoks = gl_st_meta_get(st, "lora.tokens");
    const char *cfg = gl_st_meta_get(st, GL_DIT_CONFIG_KEY), *svec = gl_st_meta_get(st, "lora.token_vectors");
    char *mine = gl_dit_config_to_json(gl_dit_cfg(m));
    int32_t *toks = NULL;
    int n_toks = 0;
    if (!fmt || strcmp(fmt, "gridlora-lora") || !srank || !salpha || !targets || !smotion || !stoks || !cfg) {
        snprintf(msg, msglen, "%s: not a gridlora LoRA adapter (metadata missing)", path);
        rc = GL_EFORMAT;
    } else {
        size_t cap = strlen(stoks) / 2 + 2;
        toks = malloc(cap * sizeof(int32_t));
        for (const char *p = stoks; toks && *p && (size_t)n_toks < cap;) {
            char *end = NULL;
            long v = strtol(p, &end, 10);
            if (end == p || v < INT32_MIN || v > INT32_MAX) break;
            toks[n_toks++] = (int32_t)v;
            p = *end == ',' ? end + 1 : end;
        }
        /* built for this model, so a file for another model fails on the first tensor
         * whose shape does not fit, and the message names it */
        rc = toks ? init_common(out, m, atoi(srank), (float)atof(salpha), atoi(smotion), targets, toks, n_toks,
                                svec ? atoi(svec) : 1, msg, msglen)
                  : GL_ENOMEM;
        if (rc == GL_OK) {
            rc = gl_st_load_params(gl_lora_params(*out), path, 1, msg, msglen);
            if (rc >= 0) rc = GL_OK;
        }
        if (rc == GL_OK && (!mine || strcmp(cfg, mine) != 0)) {
            snprintf(msg, msglen, "%s: the adapter's tensors fit, but it was made for another model "
                                  "configuration than the one loaded", path);
            rc = GL_EFORMAT;
        }
        if (rc) gl_lora_free(out);
    }
    free(toks);
    free(mine);
    gl_st_free(&st);
    return rc;
}

int gl_lora_merge(gl_dit *m, const gl_lora *l, float weight, char *msg, size_t msglen) {
    gl_params *mp = gl_dit_params(m);
    if (memcmp(&l->cfg, gl_dit_cfg(m), sizeof l->cfg) != 0) {
        snprintf(msg, msglen, "lora: merge: the adapter was made for another model configuration");
        return GL_EINVAL;
    }
    if (l->token_vectors > 1) {
        snprintf(msg, msglen, "lora: merge: the adapter gives each of its tokens %d embeddings, which a merged "
                              "model's prompts would not expand to; apply it with --lora instead", l->token_vectors);
        return GL_EINVAL;
    }
    const float s = weight * gl_lora_scale(l);
    for (int i = 0; i < l->n_mod; i++) {
        const lora_module *md = &l->mod[i];
        gl_tensor w = gl_params_tensor(mp, md->base_w);
        const float *A = gl_params_tensor(l->p, md->a).data;
        /* W[out,in] += s * B[out,r] A[r,in], and the same for B2 */
        int ups[2] = {md->b, md->b2};
        for (int k = 0; k < 2; k++) {
            if (ups[k] < 0) continue;
            const float *B = gl_params_tensor(l->p, ups[k]).data;
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)md->out, (int)md->in, l->rank, s, B,
                        l->rank, A, (int)md->in, 1.0f, w.data, (int)md->in);
        }
    }
    for (int i = 0; i < l->n_gain; i++) {
        gl_tensor w = gl_params_tensor(mp, l->gain[i].base_w);
        const float *d = gl_params_tensor(l->p, l->gain[i].delta).data;
        for (int64_t j = 0; j < gl_tensor_numel(&w); j++) w.data[j] += weight * d[j];
    }
    if (l->rows >= 0) {
        gl_tensor table = gl_params_tensor(mp, gl_params_find(mp, "text.token_embed.weight"));
        const float *rows = gl_params_tensor(l->p, l->rows).data;
        for (int i = 0; i < l->n_tokens; i++)
            memcpy(table.data + (int64_t)l->tokens[i] * l->cfg.text_width, rows + i * l->cfg.text_width,
                   (size_t)l->cfg.text_width * sizeof(float));
    }
    return GL_OK;
}
