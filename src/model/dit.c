/* model/dit.c: the video DiT: parameters, forward and backward, block by block.
 * Each piece's forward sits beside its backward (block_forward / block_backward, ...)
 * as in llm.c; every activation lives in the caller's arena, planned in one place
 * (plan_acts) so that sizing the arena and carving it cannot disagree.
 * The text encoder is part of the model (it trains with it) and lives here too. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gridlora/lora.h"
#include "gridlora/model.h"
#include "gridlora/nn.h"
#include "gridlora/precision.h"

#define NORM_EPS 1e-6f

typedef struct lin { int w, b; } lin; /* parameter indices; b < 0: no bias */

typedef struct block_p {
    lin ada;                 /* st -> 6C: shift, scale, gate (attn), shift, scale, gate (mlp) */
    lin q, k, v, o;
    int qn, kn;              /* QK RMS-norm weights [D] */
    lin cq, ck, cv, co;      /* cross-attention: queries from x, keys/values from text */
    int cqn, ckn;
    lin fc1, fc2;
} block_p;

typedef struct text_block_p { lin q, k, v, o, fc1, fc2; } text_block_p;

/* Activations of one self/cross/MLP block; x_in is the block's input. */
typedef struct block_a {
    float *x_in, *mod;
    float *ln1, *mean1, *rstd1, *x1m, *q, *k, *v, *qn, *kn, *rq, *rk, *qr, *kr, *lse, *att, *o, *xa;
    float *c1, *cmean, *crstd, *cq, *cqn, *rcq, *ck, *cv, *ckn, *rck, *clse, *ca, *co, *xc;
    float *ln2, *mean2, *rstd2, *x2m, *h1, *hg, *mo;
    /* bf16 roundings of the video linear layers' inputs (gl_linear_forward_rounded),
     * made once in the forward for every layer reading them and for the backward;
     * NULL outside bf16 (or when the arena was sized without them) */
    uint16_t *x1m16, *att16, *c1_16, *ca16, *x2m16, *hg16;
} block_a;

typedef struct text_a {
    float *h_in, *l1, *m1, *r1, *q, *k, *v, *lse, *att, *o, *h_mid, *l2, *m2, *r2, *f1, *g, *f2;
} text_a;

/* Gradient buffers: reused by every block in turn. */
typedef struct grad_a {
    float *dx, *dmod, *dst, *dctx, *dtemb, *dte1s, *dte1, *dfout, *dfm, *dfln, *dfmod;
    float *dmo, *dhg, *dh1, *dx2m, *dln2, *dca, *dcqn, *dckn, *dcv, *dcq, *dck, *dc1;
    float *do_, *datt, *dqr, *dkr, *dv, *dqn, *dkn, *dq, *dk, *dx1m, *dln1;
    float *dth, *dtl, *dtg, *dtf1, *dtatt, *dtq, *dtk, *dtv, *dtln;
    float *dpool;
    float *scratch;
} grad_a;

typedef struct acts {
    int64_t B, F, H, W, T, N, L, Nt;
    float *tok, *tfeat, *te1, *te1s, *temb, *st, *rcos, *rsin;
    int32_t *pos;
    uint8_t *tmask, *cmask;
    float *temb_in, *tfin, *tln, *tm, *tr, *ctx;
    float *x_final, *fmod, *fln, *fmean, *frstd, *fm, *fout;
    /* The timestep path (features, MLP, SiLU, every modulation's linear layer) runs once
     * per distinct timestep, not per token: U rows, token n's being grp[n] (time_groups);
     * tu [U] holds the timesteps. The modulations (mod, fmod) and their gradients have
     * U rows, which the modulation layers index by grp (rows: NULL when U = N). */
    int64_t U;
    int32_t *grp, *rows;
    float *tu;
    /* text_pool: pat [N] names each token's pooled text (its item and cross-attention
     * mask row; pattern_of), the timestep groups split by it too, rep [U] is a token of
     * each group, pool [U,C] its pooled text, ptemb [U,C] that text's share of temb */
    int32_t *pat, *rep;
    float *pool, *ptemb;
    block_a *blk;   /* [depth], owned by the model */
    text_a *tblk;   /* [text_layers], owned by the model */
    grad_a g;
} acts;

/* An adapter applied in forward and backward (gl_dit_attach_lora). */
typedef struct attached {
    gl_lora *l;
    float weight;
    int *mod_of;       /* [model params]: the adapter's module on that weight, or -1 */
    int *gain_of;      /* [model params]: the adapter's norm gain on that weight, or -1 */
    float **h;         /* [modules]: rank-r intermediates (B2 reads B's), in the arena */
} attached;

struct gl_dit {
    gl_dit_config cfg;
    gl_params *p;
    attached *att;
    int n_att;
    float *lora_dh;    /* rank-r gradient scratch, in the arena */
    /* norm gains shifted by attached adapters: the forward's gains base + sum of weight
     * delta, gain_off[param] floats into gain_eff (-1: the base's own, or all when
     * gain_off is NULL), and a gradient scratch as long as the longest */
    float *gain_eff, *gain_dw;
    int64_t *gain_off;
    /* adapter dropout: the current forward's (and so its backward's) switch, seed and
     * first item; an adapter module's dropped input [rows, in] and its gradient, in the
     * arena when an attached adapter has a dropout */
    int drop_train;
    uint64_t drop_seed;
    int64_t drop_first;
    float *drop_x, *drop_dx;
    lin patch, t1, t2, tproj, fin_ada, fin;
    lin tpool; /* text_pool's projection (no bias); w = -1 without it */
    int tok_emb, pos_emb;
    block_p *blk;
    text_block_p *tblk;
    acts a;
    int have_forward;
    gl_dit_batch batch; /* the last forward's: its arrays must outlive the backward */
};

/* ---- parameters ---------------------------------------------------------------- */

static float *P(const gl_dit *m, int idx) { return gl_params_tensor(m->p, idx).data; }

/* The gradient of a parameter, or NULL when it is frozen: frozen weights cost nothing. */
static float *G(const gl_dit *m, int idx) {
    if (idx < 0 || (gl_params_flags(m->p, idx) & GL_PARAM_FROZEN)) return NULL;
    return gl_params_tensor(m->p, idx).grad;
}

static float *lora_G(const gl_params *p, int idx) {
    if (idx < 0 || (gl_params_flags(p, idx) & GL_PARAM_FROZEN)) return NULL;
    return gl_params_tensor(p, idx).grad;
}

/* A norm's gain as the forward uses it: the base's, or shifted by adapters. */
static const float *NW(const gl_dit *m, int idx) {
    return m->gain_off && m->gain_off[idx] >= 0 ? m->gain_eff + m->gain_off[idx] : P(m, idx);
}

/* The shifted gains from the base's and the adapters' current values (every forward:
 * an optimizer step changes either). */
static void gains_refresh(gl_dit *m) {
    if (!m->gain_off) return;
    for (int i = 0; i < gl_params_count(m->p); i++) {
        if (m->gain_off[i] < 0) continue;
        gl_tensor w = gl_params_tensor(m->p, i);
        float *e = m->gain_eff + m->gain_off[i];
        const int64_t n = gl_tensor_numel(&w);
        memcpy(e, w.data, (size_t)n * sizeof(float));
        for (int k = 0; k < m->n_att; k++) {
            const attached *t = &m->att[k];
            if (t->gain_of[i] < 0) continue;
            const float *d = gl_params_tensor(gl_lora_params(t->l), gl_lora_gain_param(t->l, t->gain_of[i])).data;
            for (int64_t j = 0; j < n; j++) e[j] += t->weight * d[j];
        }
    }
}

/* RMS norm's backward over rows of D with the gain of parameter idx: its gradient goes
 * to the base's (when trained) and to each adapter's delta that shifts it, times the
 * adapter's weight. */
static void norm_bwd(const gl_dit *m, int idx, float *dinp, const float *dout, const float *inp, const float *rstd,
                     int64_t N, int64_t D) {
    if (!m->gain_off || m->gain_off[idx] < 0) {
        gl_rmsnorm_backward(dinp, G(m, idx), dout, inp, P(m, idx), rstd, N, D);
        return;
    }
    float *dw = m->gain_dw, *gb = G(m, idx);
    memset(dw, 0, (size_t)D * sizeof(float));
    gl_rmsnorm_backward(dinp, dw, dout, inp, NW(m, idx), rstd, N, D);
    if (gb)
        for (int64_t j = 0; j < D; j++) gb[j] += dw[j];
    for (int k = 0; k < m->n_att; k++) {
        const attached *t = &m->att[k];
        if (t->gain_of[idx] < 0) continue;
        float *gd = lora_G(gl_lora_params(t->l), gl_lora_gain_param(t->l, t->gain_of[idx]));
        if (gd)
            for (int64_t j = 0; j < D; j++) gd[j] += t->weight * dw[j];
    }
}

/* Adapter k's dropout in this forward: its rate in a training forward, else 0. */
static float drop_rate(const gl_dit *m, int k) {
    return m->drop_train ? gl_lora_dropout(m->att[k].l) : 0.0f;
}

/* The mask seed of adapter k's module i: every module draws its own mask, as each has its
 * own dropout layer in PEFT. */
static uint64_t drop_key(const gl_dit *m, int k, int i) {
    return m->drop_seed ^ ((uint64_t)k << 32 | (uint64_t)(i + 1)) * 0xD1B54A32D192ED03ull;
}

/* Index of the first element of an [N, IC] input in the whole split batch: its rows are
 * a->B items of N / B rows (video or text tokens). */
static int64_t drop_offset(const gl_dit *m, int64_t N, int64_t IC) {
    return m->drop_first * (N / m->a.B) * IC;
}

/* in16, ready: the input's bf16 rounding (gl_linear_forward_rounded); NULL, 0 for none */
static void lin_fwd_r(const gl_dit *m, lin l, float *out, const float *in, uint16_t *in16, int ready, int64_t N,
                      int64_t IC, int64_t OC) {
    gl_linear_forward_rounded(out, in, in16, ready, P(m, l.w), l.b >= 0 ? P(m, l.b) : NULL, N, IC, OC);
    for (int k = 0; k < m->n_att; k++) {
        const attached *t = &m->att[k];
        int i = t->mod_of[l.w], a, b, b2;
        if (i < 0) continue;
        gl_lora_module_params(t->l, i, &a, &b, &b2);
        gl_params *lp = gl_lora_params(t->l);
        float s = t->weight * gl_lora_scale(t->l), p = drop_rate(m, k);
        int r = gl_lora_rank(t->l);
        const float *x = in;
        if (p > 0) { /* one dropped input for B and B2: one dropout layer per module */
            gl_dropout_forward(m->drop_x, in, N * IC, p, drop_key(m, k, i), drop_offset(m, N, IC));
            x = m->drop_x;
        }
        const uint16_t *x16 = p > 0 ? NULL : in16; /* the base layer's rounding of the same input */
        gl_lora_forward_rounded(out, t->h[i], x, x16, gl_params_tensor(lp, a).data, gl_params_tensor(lp, b).data,
                                b2 >= 0 ? gl_params_tensor(lp, b2).data : NULL, N, IC, OC, r, s);
    }
}

/* din_acc 0: the layer is din's first writer (no zeroing before); 1: it adds. */
static void lin_bwd_to(const gl_dit *m, lin l, float *din, int din_acc, const float *dout, const float *in,
                       const uint16_t *in16, int64_t N, int64_t IC, int64_t OC) {
    gl_linear_backward_rounded(din, din_acc, G(m, l.w), G(m, l.b), dout, in, in16, P(m, l.w), N, IC, OC);
    for (int k = 0; k < m->n_att; k++) {
        const attached *t = &m->att[k];
        int i = t->mod_of[l.w], a, b, b2;
        if (i < 0) continue;
        gl_lora_module_params(t->l, i, &a, &b, &b2);
        gl_params *lp = gl_lora_params(t->l);
        float s = t->weight * gl_lora_scale(t->l), p = drop_rate(m, k);
        int r = gl_lora_rank(t->l);
        const float *A = gl_params_tensor(lp, a).data, *x = in;
        float *dx = din, *dA = lora_G(lp, a);
        const uint64_t key = drop_key(m, k, i);
        const int64_t off = drop_offset(m, N, IC);
        if (p > 0) { /* the forward's mask, drawn again: dA needs the dropped input */
            if (dA) gl_dropout_forward(m->drop_x, in, N * IC, p, key, off);
            x = m->drop_x;
            if (din) memset(dx = m->drop_dx, 0, (size_t)(N * IC) * sizeof(float));
        }
        const uint16_t *x16 = p > 0 ? NULL : in16;
        gl_lora_backward_rounded(dx, dA, lora_G(lp, b), b2 >= 0 ? lora_G(lp, b2) : NULL, m->lora_dh, dout, x, x16,
                                 t->h[i], A, gl_params_tensor(lp, b).data,
                                 b2 >= 0 ? gl_params_tensor(lp, b2).data : NULL, N, IC, OC, r, s);
        if (p > 0 && din) gl_dropout_backward(din, m->drop_dx, N * IC, p, key, off);
    }
}

static void lin_bwd_r(const gl_dit *m, lin l, float *din, const float *dout, const float *in, const uint16_t *in16,
                      int64_t N, int64_t IC, int64_t OC) {
    lin_bwd_to(m, l, din, 1, dout, in, in16, N, IC, OC);
}

static void lin_fwd(const gl_dit *m, lin l, float *out, const float *in, int64_t N, int64_t IC, int64_t OC) {
    lin_fwd_r(m, l, out, in, NULL, 0, N, IC, OC);
}

static void lin_bwd(const gl_dit *m, lin l, float *din, const float *dout, const float *in, int64_t N,
                    int64_t IC, int64_t OC) {
    lin_bwd_r(m, l, din, dout, in, NULL, N, IC, OC);
}

static int add_param(gl_params *p, const char *name, int ndim, int64_t d0, int64_t d1, int flags, int *rc) {
    if (*rc < 0) return -1;
    int64_t shape[2] = {d0, d1};
    int idx = gl_params_add(p, name, ndim, shape, flags);
    if (idx < 0) *rc = idx;
    return idx;
}

static lin add_lin(gl_params *p, const char *prefix, int64_t out, int64_t in, int bias, int *rc) {
    char name[512]; /* names over 255 bytes are refused by gl_params_add */
    lin l;
    snprintf(name, sizeof name, "%s.weight", prefix);
    l.w = add_param(p, name, 2, out, in, 0, rc);
    l.b = -1;
    if (bias) {
        snprintf(name, sizeof name, "%s.bias", prefix);
        l.b = add_param(p, name, 1, out, 0, GL_PARAM_NO_DECAY, rc);
    }
    return l;
}

static int declare_params(gl_dit *m) {
    const gl_dit_config *c = &m->cfg;
    const int64_t C = c->width, Ct = c->text_width, D = C / c->heads, M = c->mlp_ratio * C;
    const int64_t Mt = c->mlp_ratio * Ct, Pf = c->patch_t * c->patch_h * c->patch_w * c->channels;
    gl_params *p = m->p;
    int rc = 0;
    char n[256];
    m->patch = add_lin(p, "patch_embed", C, Pf, 1, &rc);
    m->t1 = add_lin(p, "time_embed.0", C, c->time_dim, 1, &rc);
    m->t2 = add_lin(p, "time_embed.2", C, C, 1, &rc);
    m->tpool = (lin){-1, -1};
    if (c->text_pool) m->tpool = add_lin(p, "time_embed.text", C, C, 0, &rc);
    m->tok_emb = add_param(p, "text.token_embed.weight", 2, c->text_vocab, Ct, GL_PARAM_NO_DECAY, &rc);
    m->pos_emb = add_param(p, "text.pos_embed.weight", 2, c->text_len, Ct, GL_PARAM_NO_DECAY, &rc);
    for (int64_t i = 0; i < c->text_layers; i++) {
        text_block_p *b = &m->tblk[i];
        const char *part[4] = {"q", "k", "v", "o"};
        lin *dst[4] = {&b->q, &b->k, &b->v, &b->o};
        for (int j = 0; j < 4; j++) {
            snprintf(n, sizeof n, "text.blocks.%lld.attn.%s", (long long)i, part[j]);
            /* no key bias: softmax ignores a shift shared by all keys, so it could never
             * learn (the video blocks' keys are RMS-normed, where a bias does matter) */
            *dst[j] = add_lin(p, n, Ct, Ct, j != 1, &rc);
        }
        snprintf(n, sizeof n, "text.blocks.%lld.mlp.fc1", (long long)i);
        b->fc1 = add_lin(p, n, Mt, Ct, 1, &rc);
        snprintf(n, sizeof n, "text.blocks.%lld.mlp.fc2", (long long)i);
        b->fc2 = add_lin(p, n, Ct, Mt, 1, &rc);
    }
    m->tproj = add_lin(p, "text.proj", C, Ct, 1, &rc);
    for (int64_t i = 0; i < c->depth; i++) {
        block_p *b = &m->blk[i];
        snprintf(n, sizeof n, "blocks.%lld.adaln", (long long)i);
        b->ada = add_lin(p, n, 6 * C, C, 1, &rc);
        const char *kind[2] = {"attn", "cross"};
        lin *dst[2][4] = {{&b->q, &b->k, &b->v, &b->o}, {&b->cq, &b->ck, &b->cv, &b->co}};
        int *norms[2][2] = {{&b->qn, &b->kn}, {&b->cqn, &b->ckn}};
        for (int s = 0; s < 2; s++) {
            const char *part[4] = {"q", "k", "v", "o"};
            for (int j = 0; j < 4; j++) {
                snprintf(n, sizeof n, "blocks.%lld.%s.%s", (long long)i, kind[s], part[j]);
                *dst[s][j] = add_lin(p, n, C, C, 1, &rc);
            }
            snprintf(n, sizeof n, "blocks.%lld.%s.norm_q.weight", (long long)i, kind[s]);
            *norms[s][0] = add_param(p, n, 1, D, 0, GL_PARAM_NO_DECAY, &rc);
            snprintf(n, sizeof n, "blocks.%lld.%s.norm_k.weight", (long long)i, kind[s]);
            *norms[s][1] = add_param(p, n, 1, D, 0, GL_PARAM_NO_DECAY, &rc);
        }
        snprintf(n, sizeof n, "blocks.%lld.mlp.fc1", (long long)i);
        b->fc1 = add_lin(p, n, M, C, 1, &rc);
        snprintf(n, sizeof n, "blocks.%lld.mlp.fc2", (long long)i);
        b->fc2 = add_lin(p, n, C, M, 1, &rc);
    }
    m->fin_ada = add_lin(p, "final.adaln", 2 * C, C, 1, &rc);
    m->fin = add_lin(p, "final.linear", Pf, C, 1, &rc);
    return rc;
}

int gl_dit_new(gl_dit **out, const gl_dit_config *cfg, char *msg, size_t msglen) {
    *out = NULL;
    int rc = gl_dit_config_validate(cfg, msg, msglen);
    if (rc) return rc;
    gl_dit *m = calloc(1, sizeof *m);
    if (!m) goto nomem;
    m->cfg = *cfg;
    m->blk = calloc((size_t)cfg->depth, sizeof *m->blk);
    m->tblk = calloc((size_t)cfg->text_layers, sizeof *m->tblk);
    m->a.blk = calloc((size_t)cfg->depth, sizeof *m->a.blk);
    m->a.tblk = calloc((size_t)cfg->text_layers, sizeof *m->a.tblk);
    if (!m->blk || !m->tblk || !m->a.blk || !m->a.tblk) goto nomem;
    if ((rc = gl_params_new(&m->p)) || (rc = declare_params(m)) || (rc = gl_params_alloc(m->p))) {
        snprintf(msg, msglen, "model: cannot make parameters: %s", gl_strerror(rc));
        gl_dit_free(&m);
        return rc;
    }
    *out = m;
    return GL_OK;
nomem:
    snprintf(msg, msglen, "model: out of memory");
    gl_dit_free(&m);
    return GL_ENOMEM;
}

void gl_dit_free(gl_dit **pm) {
    if (!pm || !*pm) return;
    gl_dit *m = *pm;
    gl_params_free(&m->p);
    free(m->blk);
    free(m->tblk);
    free(m->a.blk);
    free(m->a.tblk);
    gl_dit_detach_loras(m);
    free(m);
    *pm = NULL;
}

const gl_dit_config *gl_dit_cfg(const gl_dit *m) { return &m->cfg; }
gl_params *gl_dit_params(gl_dit *m) { return m->p; }

void gl_dit_init_weights(gl_dit *m, uint64_t seed) {
    gl_rng r;
    gl_rng_seed(&r, seed);
    int n = gl_params_count(m->p);
    for (int i = 0; i < n; i++) {
        gl_tensor t = gl_params_tensor(m->p, i);
        const char *name = gl_params_name(m->p, i);
        int64_t numel = gl_tensor_numel(&t);
        size_t len = strlen(name);
        int is_bias = len > 5 && !strcmp(name + len - 5, ".bias");
        int is_norm = strstr(name, ".norm_") != NULL;
        int is_embed = strstr(name, "_embed.weight") != NULL && strncmp(name, "patch", 5) != 0;
        /* AdaLN-zero: modulations and the output projection start at zero, so every block
         * starts as the identity and the model's first output is 0 */
        int zero = strstr(name, "adaln") != NULL || !strncmp(name, "final.linear", 12) ||
                   !strncmp(name, "time_embed.text", 15); /* the caption's AdaLN path starts silent */
        double sd = 0.0;
        float fill = 0.0f;
        if (is_norm) fill = 1.0f;
        else if (is_embed) sd = 0.02;
        else if (!is_bias && !zero && t.ndim == 2) sd = 1.0 / sqrt((double)t.shape[1]);
        for (int64_t j = 0; j < numel; j++) t.data[j] = sd > 0 ? (float)(sd * gl_rng_normal(&r)) : fill;
    }
}

/* ---- activation plan ----------------------------------------------------------- */

typedef struct plan {
    gl_arena *arena; /* NULL: only count bytes */
    size_t bytes;
    int failed;
    int no16;        /* take16 ran out of room: the bf16 copies are all left out */
} plan;

static float *take(plan *pl, int64_t n) {
    size_t b = ((size_t)n * sizeof(float) + 63) / 64 * 64;
    pl->bytes += b;
    if (!pl->arena) return NULL;
    float *p = gl_arena_alloc(pl->arena, (size_t)n);
    if (!p) pl->failed = 1;
    return p;
}

/* n bf16 values that the model can do without: an arena sized before the precision
 * was set to bf16 has no room for them, and the layers then round as they go. */
static uint16_t *take16(plan *pl, int64_t n) {
    const int64_t floats = (n + 1) / 2;
    pl->bytes += ((size_t)floats * sizeof(float) + 63) / 64 * 64;
    if (!pl->arena || pl->no16) return NULL;
    uint16_t *p = (uint16_t *)gl_arena_alloc(pl->arena, (size_t)floats);
    if (!p) pl->no16 = 1;
    return p;
}

/* Every buffer of a forward and backward of shape (B,F,H,W), in one place. */
static void plan_acts(const gl_dit *mc, acts *a, plan *pl) {
    const gl_dit_config *c = &mc->cfg;
    const int64_t C = c->width, Ct = c->text_width, M = c->mlp_ratio * C, Mt = c->mlp_ratio * Ct;
    const int64_t Hh = c->heads, Ht = c->text_heads, D = C / Hh;
    const int64_t Pf = c->patch_t * c->patch_h * c->patch_w * c->channels;
    const int64_t B = a->B, T = a->T, N = a->N, L = a->L, Nt = a->Nt;
    a->tok = take(pl, N * Pf);
    a->tfeat = take(pl, N * c->time_dim);
    a->te1 = take(pl, N * C);
    a->te1s = take(pl, N * C);
    a->temb = take(pl, N * C);
    a->st = take(pl, N * C);
    a->grp = (int32_t *)take(pl, N); /* int32 and float share a size */
    a->tu = take(pl, N);
    a->pat = a->rep = NULL;
    a->pool = a->ptemb = a->g.dpool = NULL;
    if (c->text_pool) {
        a->pat = (int32_t *)take(pl, N);
        a->rep = (int32_t *)take(pl, N);
        a->pool = take(pl, N * C);
        a->ptemb = take(pl, N * C);
        a->g.dpool = take(pl, N * C);
    }
    a->rcos = take(pl, T * D / 2);
    a->rsin = take(pl, T * D / 2);
    a->pos = (int32_t *)take(pl, T * 3);            /* int32 and float share a size */
    a->tmask = (uint8_t *)take(pl, (B * L * L + 3) / 4);
    a->cmask = (uint8_t *)take(pl, (B * T * L + 3) / 4);
    a->temb_in = take(pl, Nt * Ct);
    for (int64_t i = 0; i < c->text_layers; i++) {
        text_a *t = &a->tblk[i];
        t->h_in = i == 0 ? a->temb_in : take(pl, Nt * Ct); /* the previous block's output */
        t->l1 = take(pl, Nt * Ct); t->m1 = take(pl, Nt); t->r1 = take(pl, Nt);
        t->q = take(pl, Nt * Ct); t->k = take(pl, Nt * Ct); t->v = take(pl, Nt * Ct);
        t->lse = take(pl, B * Ht * L); t->att = take(pl, Nt * Ct); t->o = take(pl, Nt * Ct);
        t->h_mid = take(pl, Nt * Ct); t->l2 = take(pl, Nt * Ct); t->m2 = take(pl, Nt); t->r2 = take(pl, Nt);
        t->f1 = take(pl, Nt * Mt); t->g = take(pl, Nt * Mt); t->f2 = take(pl, Nt * Ct);
    }
    a->tfin = take(pl, Nt * Ct);
    a->tln = take(pl, Nt * Ct); a->tm = take(pl, Nt); a->tr = take(pl, Nt);
    a->ctx = take(pl, Nt * C);
    for (int64_t i = 0; i < c->depth; i++) {
        block_a *b = &a->blk[i];
        b->x_in = take(pl, N * C); b->mod = take(pl, N * 6 * C);
        b->ln1 = take(pl, N * C); b->mean1 = take(pl, N); b->rstd1 = take(pl, N);
        b->x1m = take(pl, N * C); b->q = take(pl, N * C); b->k = take(pl, N * C); b->v = take(pl, N * C);
        b->qn = take(pl, N * C); b->kn = take(pl, N * C); b->rq = take(pl, N * Hh); b->rk = take(pl, N * Hh);
        b->qr = take(pl, N * C); b->kr = take(pl, N * C); b->lse = take(pl, B * Hh * T);
        b->att = take(pl, N * C); b->o = take(pl, N * C); b->xa = take(pl, N * C);
        b->c1 = take(pl, N * C); b->cmean = take(pl, N); b->crstd = take(pl, N);
        b->cq = take(pl, N * C); b->cqn = take(pl, N * C); b->rcq = take(pl, N * Hh);
        b->ck = take(pl, Nt * C); b->cv = take(pl, Nt * C); b->ckn = take(pl, Nt * C); b->rck = take(pl, Nt * Hh);
        b->clse = take(pl, B * Hh * T); b->ca = take(pl, N * C); b->co = take(pl, N * C); b->xc = take(pl, N * C);
        b->ln2 = take(pl, N * C); b->mean2 = take(pl, N); b->rstd2 = take(pl, N);
        b->x2m = take(pl, N * C); b->h1 = take(pl, N * M); b->hg = take(pl, N * M); b->mo = take(pl, N * C);
    }
    a->x_final = take(pl, N * C);
    a->fmod = take(pl, N * 2 * C); a->fln = take(pl, N * C); a->fmean = take(pl, N); a->frstd = take(pl, N);
    a->fm = take(pl, N * C); a->fout = take(pl, N * Pf);
    grad_a *g = &a->g;
    float **nc[] = {&g->dx, &g->dst, &g->dtemb, &g->dte1s, &g->dte1, &g->dfm, &g->dfln, &g->dmo,
                    &g->dx2m, &g->dln2, &g->dca, &g->dcqn, &g->dcq, &g->dc1, &g->do_, &g->datt,
                    &g->dqr, &g->dkr, &g->dv, &g->dqn, &g->dkn, &g->dq, &g->dk, &g->dx1m, &g->dln1};
    for (size_t i = 0; i < sizeof nc / sizeof nc[0]; i++) *nc[i] = take(pl, N * C);
    g->dmod = take(pl, N * 6 * C); g->dfmod = take(pl, N * 2 * C); g->dfout = take(pl, N * Pf);
    g->dhg = take(pl, N * M); g->dh1 = take(pl, N * M);
    g->dctx = take(pl, Nt * C); g->dckn = take(pl, Nt * C); g->dcv = take(pl, Nt * C); g->dck = take(pl, Nt * C);
    float **tc[] = {&g->dth, &g->dtl, &g->dtatt, &g->dtq, &g->dtk, &g->dtv, &g->dtln};
    for (size_t i = 0; i < sizeof tc / sizeof tc[0]; i++) *tc[i] = take(pl, Nt * Ct);
    g->dtg = take(pl, Nt * Mt); g->dtf1 = take(pl, Nt * Mt);
    int threads = gl_threads();
    size_t s1 = gl_attention_scratch_floats((gl_attn_dims){B, T, T, Hh, D}, threads);
    size_t s2 = gl_attention_scratch_floats((gl_attn_dims){B, T, L, Hh, D}, threads);
    size_t s3 = gl_attention_scratch_floats((gl_attn_dims){B, L, L, Ht, Ct / Ht}, threads);
    size_t s = s1 > s2 ? s1 : s2;
    g->scratch = take(pl, (int64_t)(s > s3 ? s : s3));
    /* adapters: a rank-r intermediate per module and up-projection, rows enough for
     * video tokens or text tokens, whichever the module sees */
    int64_t rows = N > Nt ? N : Nt, max_r = 0;
    for (int k = 0; k < mc->n_att; k++) {
        const attached *t = &mc->att[k];
        int64_t r = gl_lora_rank(t->l);
        if (r > max_r) max_r = r;
        for (int i = 0; i < gl_lora_module_count(t->l); i++) {
            float *h = take(pl, rows * r); /* the motion branch's B2 reads the same h */
            if (pl->arena) t->h[i] = h; /* a counting plan must not clear the live pointers */
        }
    }
    float *dh = max_r ? take(pl, rows * max_r) : NULL;
    if (pl->arena) ((gl_dit *)mc)->lora_dh = dh;
    /* adapter dropout: the widest module input an adapter with a dropout sees */
    int64_t drop_in = 0;
    for (int k = 0; k < mc->n_att; k++) {
        const attached *t = &mc->att[k];
        if (!(gl_lora_dropout(t->l) > 0)) continue;
        for (int i = 0; i < gl_lora_module_count(t->l); i++) {
            int ia, ib, ib2;
            gl_lora_module_params(t->l, i, &ia, &ib, &ib2);
            int64_t in = gl_params_tensor(gl_lora_params(t->l), ia).shape[1];
            if (in > drop_in) drop_in = in;
        }
    }
    float *dx = drop_in ? take(pl, rows * drop_in) : NULL, *ddx = drop_in ? take(pl, rows * drop_in) : NULL;
    if (pl->arena) {
        ((gl_dit *)mc)->drop_x = dx;
        ((gl_dit *)mc)->drop_dx = ddx;
    }
    /* last, so that leaving them out leaves everything above in place */
    const int bf16 = gl_get_precision() == GL_PRECISION_BF16;
    for (int64_t i = 0; i < c->depth; i++) {
        block_a *b = &a->blk[i];
        b->x1m16 = b->att16 = b->c1_16 = b->ca16 = b->x2m16 = b->hg16 = NULL;
        if (!bf16) continue;
        b->x1m16 = take16(pl, N * C); b->att16 = take16(pl, N * C); b->c1_16 = take16(pl, N * C);
        b->ca16 = take16(pl, N * C); b->x2m16 = take16(pl, N * C); b->hg16 = take16(pl, N * M);
    }
    if (pl->no16) { /* all or none: a half-made set would only complicate the reader */
        for (int64_t i = 0; i < c->depth; i++) {
            block_a *b = &a->blk[i];
            b->x1m16 = b->att16 = b->c1_16 = b->ca16 = b->x2m16 = b->hg16 = NULL;
        }
    }
}

static int batch_dims(const gl_dit *m, acts *a, int64_t B, int64_t F, int64_t H, int64_t W, char *msg, size_t msglen) {
    const gl_dit_config *c = &m->cfg;
    if (B < 1 || F < 1 || H < 1 || W < 1 || F % c->patch_t || H % c->patch_h || W % c->patch_w) {
        snprintf(msg, msglen, "model: a batch of %lld videos of %lldx%lldx%lld does not divide into %lldx%lldx%lld patches",
                 (long long)B, (long long)F, (long long)H, (long long)W, (long long)c->patch_t,
                 (long long)c->patch_h, (long long)c->patch_w);
        return GL_EINVAL;
    }
    int64_t T = (F / c->patch_t) * (H / c->patch_h) * (W / c->patch_w);
    if (T > (1 << 20) || B > (1 << 16) || B * T > (1 << 24)) {
        snprintf(msg, msglen, "model: %lld videos of %lld tokens is beyond what one step can hold", (long long)B, (long long)T);
        return GL_EINVAL;
    }
    a->B = B; a->F = F; a->H = H; a->W = W; a->T = T; a->N = B * T;
    a->L = c->text_len; a->Nt = B * c->text_len;
    return GL_OK;
}

size_t gl_dit_arena_bytes(const gl_dit *m, int64_t B, int64_t F, int64_t H, int64_t W) {
    acts a = m->a;
    char msg[256];
    if (batch_dims(m, &a, B, F, H, W, msg, sizeof msg)) return 0;
    /* a plan without an arena only counts, but still needs somewhere to put its NULLs */
    a.blk = calloc((size_t)m->cfg.depth, sizeof *a.blk);
    a.tblk = calloc((size_t)m->cfg.text_layers, sizeof *a.tblk);
    plan pl = {0};
    if (a.blk && a.tblk) plan_acts(m, &a, &pl);
    free(a.blk);
    free(a.tblk);
    return pl.bytes;
}

/* ---- pieces: forward beside backward ------------------------------------------- */

/* Split over the threads: the gradient buffers the backward zeroes add up to about 17
 * N x C floats a block, and a serial memset left the other cores waiting (1-2% of the
 * canvas training step). Not zeroing them at all (the accumulating layers overwriting
 * instead) measured within 1% of this: the cost is bringing the buffers into cache,
 * which the layers that write them would pay anyway. */
static void zero(float *p, int64_t n) {
    enum { ZCHUNK = 1 << 16 };
    const int64_t chunks = (n + ZCHUNK - 1) / ZCHUNK;
#pragma omp parallel for schedule(static) if (chunks > 1)
    for (int64_t ch = 0; ch < chunks; ch++) {
        const int64_t i = ch * ZCHUNK, len = n - i < ZCHUNK ? n - i : ZCHUNK;
        memset(p + i, 0, (size_t)len * sizeof(float));
    }
}

static void residual(float *out, const float *x, const float *y, int64_t n) {
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++) out[i] = x[i] + y[i];
}

/* Timestep features: [cos(s f_i), sin(s f_i)] with s = 1000 t and f_i = 10000^(-i/half). */
static void time_features(float *out, const float *t, int64_t N, int64_t dim) {
    const int64_t half = dim / 2;
#pragma omp parallel for schedule(static)
    for (int64_t n = 0; n < N; n++)
        for (int64_t i = 0; i < half; i++) {
            double f = exp(-log(10000.0) * (double)i / (double)half), s = 1000.0 * t[n] * f;
            out[n * dim + i] = (float)cos(s);
            out[n * dim + half + i] = (float)sin(s);
        }
}

static void text_block_forward(const gl_dit *m, const text_block_p *p, text_a *t, float *h_out, const acts *a) {
    const int64_t Nt = a->Nt, Ct = m->cfg.text_width, Mt = m->cfg.mlp_ratio * Ct, Ht = m->cfg.text_heads;
    gl_layernorm_forward(t->l1, t->m1, t->r1, t->h_in, Nt, Ct, NORM_EPS);
    lin_fwd(m, p->q, t->q, t->l1, Nt, Ct, Ct);
    lin_fwd(m, p->k, t->k, t->l1, Nt, Ct, Ct);
    lin_fwd(m, p->v, t->v, t->l1, Nt, Ct, Ct);
    gl_attention_forward(t->att, t->lse, a->g.scratch, t->q, t->k, t->v, a->tmask, a->L * a->L,
                         (gl_attn_dims){a->B, a->L, a->L, Ht, Ct / Ht});
    lin_fwd(m, p->o, t->o, t->att, Nt, Ct, Ct);
    residual(t->h_mid, t->h_in, t->o, Nt * Ct);
    gl_layernorm_forward(t->l2, t->m2, t->r2, t->h_mid, Nt, Ct, NORM_EPS);
    lin_fwd(m, p->fc1, t->f1, t->l2, Nt, Ct, Mt);
    gl_gelu_forward(t->g, t->f1, Nt * Mt);
    lin_fwd(m, p->fc2, t->f2, t->g, Nt, Mt, Ct);
    residual(h_out, t->h_mid, t->f2, Nt * Ct);
}

/* dh: gradient of the block's output on entry, of its input on return. */
static void text_block_backward(const gl_dit *m, const text_block_p *p, const text_a *t, float *dh, acts *a) {
    const int64_t Nt = a->Nt, Ct = m->cfg.text_width, Mt = m->cfg.mlp_ratio * Ct, Ht = m->cfg.text_heads;
    grad_a *g = &a->g;
    zero(g->dtg, Nt * Mt);
    lin_bwd(m, p->fc2, g->dtg, dh, t->g, Nt, Mt, Ct);
    zero(g->dtf1, Nt * Mt);
    gl_gelu_backward(g->dtf1, g->dtg, t->f1, Nt * Mt);
    zero(g->dtl, Nt * Ct);
    lin_bwd(m, p->fc1, g->dtl, g->dtf1, t->l2, Nt, Ct, Mt);
    gl_layernorm_backward(dh, g->dtl, t->h_mid, t->m2, t->r2, Nt, Ct);
    zero(g->dtatt, Nt * Ct);
    lin_bwd(m, p->o, g->dtatt, dh, t->att, Nt, Ct, Ct);
    zero(g->dtq, Nt * Ct); zero(g->dtk, Nt * Ct); zero(g->dtv, Nt * Ct);
    gl_attention_backward(g->dtq, g->dtk, g->dtv, g->scratch, g->dtatt, t->att, t->lse, t->q, t->k, t->v,
                          a->tmask, a->L * a->L, (gl_attn_dims){a->B, a->L, a->L, Ht, Ct / Ht});
    zero(g->dtl, Nt * Ct);
    lin_bwd(m, p->q, g->dtl, g->dtq, t->l1, Nt, Ct, Ct);
    lin_bwd(m, p->k, g->dtl, g->dtk, t->l1, Nt, Ct, Ct);
    lin_bwd(m, p->v, g->dtl, g->dtv, t->l1, Nt, Ct, Ct);
    gl_layernorm_backward(dh, g->dtl, t->h_in, t->m1, t->r1, Nt, Ct);
}

/* ---- the timestep path, on distinct timesteps ------------------------------------ */

/* Most batches carry a handful of distinct timesteps (one per video, 0 for clean cells),
 * so the timestep MLP and the modulations' linear layers run on those rows only, and
 * the modulation layers read each token's row through grp (gl_modulate_forward's rows):
 * at the default preset the modulations are a quarter of a block's linear-layer work,
 * and per-token copies of them would be the largest tensors of a block. Past
 * MAX_DISTINCT distinct values (a batch with a timestep per token, as the gradient tests
 * use) finding the groups would cost more than it saves, and every token is its own row. An adapter on a layer of
 * this path also keeps every token its own row: its dropout masks are drawn per token. */
enum { MAX_DISTINCT = 64 };

static int time_path_adapted(const gl_dit *m) {
    for (int k = 0; k < m->n_att; k++) {
        const int *mod_of = m->att[k].mod_of;
        if (mod_of[m->t1.w] >= 0 || mod_of[m->t2.w] >= 0 || mod_of[m->fin_ada.w] >= 0) return 1;
        if (m->tpool.w >= 0 && mod_of[m->tpool.w] >= 0) return 1;
        for (int64_t i = 0; i < m->cfg.depth; i++)
            if (mod_of[m->blk[i].ada.w] >= 0) return 1;
    }
    return 0;
}

/* text_pool: a->pat[n] = the first token of token n's item with the same cross-attention
 * mask row (so the same pooled text); every token its own pattern past MAX_DISTINCT
 * patterns (the groups then run per token anyway). */
static void pattern_of(acts *a) {
    const int64_t N = a->N, T = a->T, L = a->L;
    int32_t first[MAX_DISTINCT];
    int np = 0;
    for (int64_t n = 0; n < N; n++) {
        const uint8_t *row = a->cmask + n * L;
        int k = 0;
        while (k < np && !(first[k] / T == n / T && memcmp(a->cmask + (int64_t)first[k] * L, row, (size_t)L) == 0)) k++;
        if (k == np) {
            if (np == MAX_DISTINCT) {
                for (int64_t i = 0; i < N; i++) a->pat[i] = (int32_t)i;
                return;
            }
            first[np++] = (int32_t)n;
        }
        a->pat[n] = first[k];
    }
}

/* a->U, a->grp and a->tu (and with text_pool a->rep) for the timesteps t [N]; a group is
 * a timestep (compared bit for bit) and, with text_pool, a pattern; in order of first
 * appearance. */
static void time_groups(const gl_dit *m, acts *a, const float *t) {
    const int64_t N = a->N;
    const int32_t *pat = a->pat; /* NULL without text_pool: one pattern */
    int64_t U = 0;
    int grouped = !time_path_adapted(m);
    for (int64_t n = 0; n < N && grouped; n++) {
        int64_t u = 0;
        while (u < U && (memcmp(&a->tu[u], &t[n], sizeof(float)) != 0 || (pat && pat[a->rep[u]] != pat[n]))) u++;
        if (u == U) {
            if (U == MAX_DISTINCT) {
                grouped = 0;
                break;
            }
            a->tu[U] = t[n];
            if (pat) a->rep[U] = (int32_t)n;
            U++;
        }
        a->grp[n] = (int32_t)u;
    }
    if (!grouped || U == N) { /* every token its own row: grp is the identity */
        memcpy(a->tu, t, (size_t)N * sizeof(float));
        for (int64_t n = 0; n < N; n++) {
            a->grp[n] = (int32_t)n;
            if (pat) a->rep[n] = (int32_t)n;
        }
        U = N;
    }
    a->U = U;
    a->rows = U == N ? NULL : a->grp;
}

/* text_pool: pool[u] = the mean of the text rows ctx token rep[u] may attend (its
 * cross-attention mask row, prompt lengths included); 0 for an empty prompt. */
static int64_t pooled_rows(const acts *a, int64_t u, const uint8_t **row) {
    const int64_t n = a->rep[u];
    *row = a->cmask + n * a->L;
    int64_t cnt = 0;
    for (int64_t j = 0; j < a->L; j++) cnt += (*row)[j] != 0;
    return cnt;
}

static void text_pool_forward(acts *a, int64_t C) {
#pragma omp parallel for schedule(static)
    for (int64_t u = 0; u < a->U; u++) {
        const uint8_t *row;
        const int64_t cnt = pooled_rows(a, u, &row), b = a->rep[u] / a->T;
        float *o = a->pool + u * C;
        memset(o, 0, (size_t)C * sizeof(float));
        for (int64_t j = 0; j < a->L; j++)
            if (row[j]) {
                const float *x = a->ctx + (b * a->L + j) * C;
                for (int64_t c = 0; c < C; c++) o[c] += x[c];
            }
        const float inv = cnt ? 1.0f / (float)cnt : 0.0f;
        for (int64_t c = 0; c < C; c++) o[c] *= inv;
    }
}

/* dctx += the mean's gradient from dpool [U,C]; groups in order (several add into one
 * item's rows), so the sums do not depend on the thread count. */
static void text_pool_backward(acts *a, int64_t C) {
    for (int64_t u = 0; u < a->U; u++) {
        const uint8_t *row;
        const int64_t cnt = pooled_rows(a, u, &row), b = a->rep[u] / a->T;
        if (!cnt) continue;
        const float inv = 1.0f / (float)cnt, *d = a->g.dpool + u * C;
        for (int64_t j = 0; j < a->L; j++)
            if (row[j]) {
                float *x = a->g.dctx + (b * a->L + j) * C;
                for (int64_t c = 0; c < C; c++) x[c] += d[c] * inv;
            }
    }
}

/* mod [U,S] = the modulation layer l of SiLU(temb), one row per distinct timestep. */
static void modulation_forward(const gl_dit *m, lin l, float *mod, int64_t S) {
    lin_fwd(m, l, mod, m->a.st, m->a.U, m->cfg.width, S);
}

/* Its backward from dmod [U,S]: the layer's gradients, and g.dst [U,C] added to. */
static void modulation_backward(const gl_dit *m, lin l, const float *dmod, int64_t S) {
    lin_bwd(m, l, m->a.g.dst, dmod, m->a.st, m->a.U, m->cfg.width, S);
}

static void block_forward(const gl_dit *m, const block_p *p, block_a *b, float *x_out, const acts *a,
                          const gl_dit_batch *bt) {
    const gl_dit_config *c = &m->cfg;
    const int64_t N = a->N, Nt = a->Nt, C = c->width, M = c->mlp_ratio * C, Hh = c->heads, D = C / Hh;
    const int64_t S = 6 * C; /* row stride of the modulation */
    modulation_forward(m, p->ada, b->mod, S);
    /* self-attention, modulated and gated */
    gl_layernorm_forward(b->ln1, b->mean1, b->rstd1, b->x_in, N, C, NORM_EPS);
    gl_modulate_forward(b->x1m, b->ln1, b->mod, b->mod + C, a->rows, N, C, S);
    lin_fwd_r(m, p->q, b->q, b->x1m, b->x1m16, 0, N, C, C);
    lin_fwd_r(m, p->k, b->k, b->x1m, b->x1m16, 1, N, C, C);
    lin_fwd_r(m, p->v, b->v, b->x1m, b->x1m16, 1, N, C, C);
    gl_rmsnorm_forward(b->qn, b->rq, b->q, NW(m, p->qn), N * Hh, D, NORM_EPS);
    gl_rmsnorm_forward(b->kn, b->rk, b->k, NW(m, p->kn), N * Hh, D, NORM_EPS);
    gl_rope_forward(b->qr, b->qn, a->rcos, a->rsin, a->B, a->T, Hh, D);
    gl_rope_forward(b->kr, b->kn, a->rcos, a->rsin, a->B, a->T, Hh, D);
    gl_attention_forward(b->att, b->lse, a->g.scratch, b->qr, b->kr, b->v, bt->self_mask,
                         bt->self_mask_bstride, (gl_attn_dims){a->B, a->T, a->T, Hh, D});
    lin_fwd_r(m, p->o, b->o, b->att, b->att16, 0, N, C, C);
    gl_gated_residual_forward(b->xa, b->x_in, b->o, b->mod + 2 * C, a->rows, N, C, S);
    /* cross-attention to the text, plain residual */
    gl_layernorm_forward(b->c1, b->cmean, b->crstd, b->xa, N, C, NORM_EPS);
    lin_fwd_r(m, p->cq, b->cq, b->c1, b->c1_16, 0, N, C, C);
    lin_fwd(m, p->ck, b->ck, a->ctx, Nt, C, C);
    lin_fwd(m, p->cv, b->cv, a->ctx, Nt, C, C);
    gl_rmsnorm_forward(b->cqn, b->rcq, b->cq, NW(m, p->cqn), N * Hh, D, NORM_EPS);
    gl_rmsnorm_forward(b->ckn, b->rck, b->ck, NW(m, p->ckn), Nt * Hh, D, NORM_EPS);
    gl_attention_forward(b->ca, b->clse, a->g.scratch, b->cqn, b->ckn, b->cv, a->cmask, a->T * a->L,
                         (gl_attn_dims){a->B, a->T, a->L, Hh, D});
    lin_fwd_r(m, p->co, b->co, b->ca, b->ca16, 0, N, C, C);
    residual(b->xc, b->xa, b->co, N * C);
    /* MLP, modulated and gated */
    gl_layernorm_forward(b->ln2, b->mean2, b->rstd2, b->xc, N, C, NORM_EPS);
    gl_modulate_forward(b->x2m, b->ln2, b->mod + 3 * C, b->mod + 4 * C, a->rows, N, C, S);
    lin_fwd_r(m, p->fc1, b->h1, b->x2m, b->x2m16, 0, N, C, M);
    gl_gelu_forward(b->hg, b->h1, N * M);
    lin_fwd_r(m, p->fc2, b->mo, b->hg, b->hg16, 0, N, M, C);
    gl_gated_residual_forward(x_out, b->xc, b->mo, b->mod + 5 * C, a->rows, N, C, S);
}

/* dx: gradient of the block's output on entry, of its input on return. Adds into
 * g->dst (the shared SiLU(temb)) and g->dctx (the text). */
static void block_backward(const gl_dit *m, const block_p *p, const block_a *b, acts *a) {
    const gl_dit_config *c = &m->cfg;
    const gl_dit_batch *bt = &m->batch;
    const int64_t N = a->N, Nt = a->Nt, C = c->width, M = c->mlp_ratio * C, Hh = c->heads, D = C / Hh;
    const int64_t S = 6 * C;
    grad_a *g = &a->g;
    float *dx = g->dx, *dmod = g->dmod;
    zero(dmod, a->U * S);
    /* MLP: out = xc + gate2 * mo; dx passes to xc unchanged */
    zero(g->dmo, N * C);
    gl_gated_residual_backward(NULL, g->dmo, dmod + 5 * C, dx, b->mo, b->mod + 5 * C, a->rows, N, C, S);
    lin_bwd_to(m, p->fc2, g->dhg, 0, g->dmo, b->hg, b->hg16, N, M, C);
    zero(g->dh1, N * M);
    gl_gelu_backward(g->dh1, g->dhg, b->h1, N * M);
    lin_bwd_to(m, p->fc1, g->dx2m, 0, g->dh1, b->x2m, b->x2m16, N, C, M);
    zero(g->dln2, N * C);
    gl_modulate_backward(g->dln2, dmod + 3 * C, dmod + 4 * C, g->dx2m, b->ln2, b->mod + 4 * C, a->rows, N, C, S);
    gl_layernorm_backward(dx, g->dln2, b->xc, b->mean2, b->rstd2, N, C);
    /* cross-attention: xc = xa + co */
    lin_bwd_to(m, p->co, g->dca, 0, dx, b->ca, b->ca16, N, C, C);
    zero(g->dcqn, N * C); zero(g->dckn, Nt * C); zero(g->dcv, Nt * C);
    gl_attention_backward(g->dcqn, g->dckn, g->dcv, g->scratch, g->dca, b->ca, b->clse, b->cqn, b->ckn,
                          b->cv, a->cmask, a->T * a->L, (gl_attn_dims){a->B, a->T, a->L, Hh, D});
    zero(g->dcq, N * C); zero(g->dck, Nt * C);
    norm_bwd(m, p->cqn, g->dcq, g->dcqn, b->cq, b->rcq, N * Hh, D);
    norm_bwd(m, p->ckn, g->dck, g->dckn, b->ck, b->rck, Nt * Hh, D);
    lin_bwd_to(m, p->cq, g->dc1, 0, g->dcq, b->c1, b->c1_16, N, C, C);
    lin_bwd(m, p->ck, g->dctx, g->dck, a->ctx, Nt, C, C);
    lin_bwd(m, p->cv, g->dctx, g->dcv, a->ctx, Nt, C, C);
    gl_layernorm_backward(dx, g->dc1, b->xa, b->cmean, b->crstd, N, C);
    /* self-attention: xa = x_in + gate1 * o */
    zero(g->do_, N * C);
    gl_gated_residual_backward(NULL, g->do_, dmod + 2 * C, dx, b->o, b->mod + 2 * C, a->rows, N, C, S);
    lin_bwd_to(m, p->o, g->datt, 0, g->do_, b->att, b->att16, N, C, C);
    zero(g->dqr, N * C); zero(g->dkr, N * C); zero(g->dv, N * C);
    gl_attention_backward(g->dqr, g->dkr, g->dv, g->scratch, g->datt, b->att, b->lse, b->qr, b->kr, b->v,
                          bt->self_mask, bt->self_mask_bstride, (gl_attn_dims){a->B, a->T, a->T, Hh, D});
    zero(g->dqn, N * C); zero(g->dkn, N * C);
    gl_rope_backward(g->dqn, g->dqr, a->rcos, a->rsin, a->B, a->T, Hh, D);
    gl_rope_backward(g->dkn, g->dkr, a->rcos, a->rsin, a->B, a->T, Hh, D);
    zero(g->dq, N * C); zero(g->dk, N * C);
    norm_bwd(m, p->qn, g->dq, g->dqn, b->q, b->rq, N * Hh, D);
    norm_bwd(m, p->kn, g->dk, g->dkn, b->k, b->rk, N * Hh, D);
    lin_bwd_to(m, p->q, g->dx1m, 0, g->dq, b->x1m, b->x1m16, N, C, C);
    lin_bwd_r(m, p->k, g->dx1m, g->dk, b->x1m, b->x1m16, N, C, C);
    lin_bwd_r(m, p->v, g->dx1m, g->dv, b->x1m, b->x1m16, N, C, C);
    zero(g->dln1, N * C);
    gl_modulate_backward(g->dln1, dmod, dmod + C, g->dx1m, b->ln1, b->mod + C, a->rows, N, C, S);
    gl_layernorm_backward(dx, g->dln1, b->x_in, b->mean1, b->rstd1, N, C);
    /* the modulation came from SiLU(temb) */
    modulation_backward(m, p->ada, dmod, S);
}

/* ---- the whole model ------------------------------------------------------------ */

/* x-prediction (cfg predict_x0): the last layer's rows out[N,Pf] hold x0_hat per token;
 * they become v = (x_t - x0_hat) / max(t, floor), x_t the patchified input xt[N,Pf].
 * Only x0_hat's gradient is wanted (the input gets none), so backward scales dv by
 * -1 / max(t, floor). */
static float x0_divisor(float t) { return t > GL_DIT_X0_T_FLOOR ? t : GL_DIT_X0_T_FLOOR; }

static void x0_to_velocity(float *out, const float *xt, const float *t, int64_t N, int64_t Pf) {
#pragma omp parallel for schedule(static)
    for (int64_t n = 0; n < N; n++) {
        const float inv = 1.0f / x0_divisor(t[n]);
        float *o = out + n * Pf;
        const float *x = xt + n * Pf;
        for (int64_t j = 0; j < Pf; j++) o[j] = (x[j] - o[j]) * inv;
    }
}

static void x0_to_velocity_backward(float *d, const float *t, int64_t N, int64_t Pf) {
#pragma omp parallel for schedule(static)
    for (int64_t n = 0; n < N; n++) {
        const float ninv = -1.0f / x0_divisor(t[n]);
        for (int64_t j = 0; j < Pf; j++) d[n * Pf + j] *= ninv;
    }
}

int gl_dit_forward(gl_dit *m, gl_arena *arena, const gl_dit_batch *bt, float *out, char *msg, size_t msglen) {
    const gl_dit_config *c = &m->cfg;
    acts *a = &m->a;
    m->have_forward = 0;
    int rc = batch_dims(m, a, bt->B, bt->F, bt->H, bt->W, msg, msglen);
    if (rc) return rc;
    if (bt->first_item < 0 || bt->first_item > (INT64_C(1) << 24)) { /* element offsets fit int64 */
        snprintf(msg, msglen, "model: first item %lld of a split batch is out of range", (long long)bt->first_item);
        return GL_EINVAL;
    }
    m->drop_train = bt->train != 0;
    m->drop_seed = bt->dropout_seed;
    m->drop_first = bt->first_item;
    gains_refresh(m);
    const int64_t B = a->B, T = a->T, N = a->N, L = a->L, Nt = a->Nt;
    const int64_t C = c->width, Ct = c->text_width, D = C / c->heads;
    const int64_t Pf = c->patch_t * c->patch_h * c->patch_w * c->channels;
    if ((bt->self_mask && bt->self_mask_bstride != 0 && bt->self_mask_bstride != T * T) ||
        (bt->cross_mask && bt->cross_mask_bstride != 0 && bt->cross_mask_bstride != T * L) ||
        (bt->text_mask && bt->text_mask_bstride != 0 && bt->text_mask_bstride != L * L)) {
        snprintf(msg, msglen, "model: mask batch stride must be 0 or one mask's size");
        return GL_EINVAL;
    }
    for (int64_t i = 0; i < B; i++)
        if (bt->text_lens[i] < 0 || bt->text_lens[i] > L) {
            snprintf(msg, msglen, "model: prompt %lld has %d tokens, the model takes at most %lld",
                     (long long)i, bt->text_lens[i], (long long)L);
            return GL_EINVAL;
        }
    for (int64_t i = 0; i < Nt; i++)
        if (bt->text[i] < 0 || bt->text[i] >= c->text_vocab) {
            snprintf(msg, msglen, "model: token id %d is outside the vocabulary of %lld", bt->text[i],
                     (long long)c->text_vocab);
            return GL_EINVAL;
        }
    plan pl = {.arena = arena};
    plan_acts(m, a, &pl);
    if (pl.failed) {
        snprintf(msg, msglen, "model: activation arena too small: this batch needs %zu bytes, it has %zu",
                 gl_dit_arena_bytes(m, B, bt->F, bt->H, bt->W), gl_arena_capacity(arena));
        return GL_ENOMEM;
    }
    const gl_patch_dims pd = {B, bt->F, bt->H, bt->W, c->channels, c->patch_t, c->patch_h, c->patch_w};
    /* masks: text keys beyond each prompt's length are never attended */
    for (int64_t b = 0; b < B; b++) {
        int32_t len = bt->text_lens[b];
        const uint8_t *tm = bt->text_mask ? bt->text_mask + b * bt->text_mask_bstride : NULL;
        for (int64_t i = 0; i < L; i++)
            for (int64_t j = 0; j < L; j++) a->tmask[(b * L + i) * L + j] = j < len && (!tm || tm[i * L + j]);
        const uint8_t *um = bt->cross_mask ? bt->cross_mask + b * bt->cross_mask_bstride : NULL;
        for (int64_t i = 0; i < T; i++)
            for (int64_t j = 0; j < L; j++)
                a->cmask[(b * T + i) * L + j] = j < len && (!um || um[i * L + j]);
    }
    /* RoPE in patch units: over the canvas (cells side by side), or restarting in each
     * cell (rope_per_cell: cells laid over each other); a lone cell is the same both ways */
    const int64_t gh = bt->H / c->patch_h, gw = bt->W / c->patch_w;
    const int64_t ch = c->rope_per_cell ? c->cell_h / c->patch_h : gh;
    const int64_t cw = c->rope_per_cell ? c->cell_w / c->patch_w : gw;
    for (int64_t i = 0; i < T; i++) {
        a->pos[3 * i] = (int32_t)(i / (gh * gw));
        a->pos[3 * i + 1] = (int32_t)(i / gw % gh % ch);
        a->pos[3 * i + 2] = (int32_t)(i % gw % cw);
    }
    int64_t split[3];
    gl_rope_default_split(D, split);
    gl_rope_tables(a->rcos, a->rsin, a->pos, T, D, split, (float)c->rope_theta);
    /* text encoder */
    gl_embedding_forward(a->temb_in, bt->text, P(m, m->tok_emb), Nt, c->text_vocab, Ct);
    /* an adapter's own rows for its tokens (concept tokens trained with it) */
    for (int k = 0; k < m->n_att; k++) {
        const int32_t *ids;
        int nt = gl_lora_tokens(m->att[k].l, &ids), ri = gl_lora_token_rows(m->att[k].l);
        if (ri < 0) continue;
        const float *rows = gl_params_tensor(gl_lora_params(m->att[k].l), ri).data;
        for (int64_t n = 0; n < Nt; n++)
            for (int j = 0; j < nt; j++)
                if (bt->text[n] == ids[j]) memcpy(a->temb_in + n * Ct, rows + j * Ct, (size_t)Ct * sizeof(float));
    }
    const float *pe = P(m, m->pos_emb);
    for (int64_t b = 0; b < B; b++)
        for (int64_t i = 0; i < L * Ct; i++) a->temb_in[b * L * Ct + i] += pe[i];
    for (int64_t i = 0; i < c->text_layers; i++) {
        float *h_out = i + 1 < c->text_layers ? a->tblk[i + 1].h_in : a->tfin;
        text_block_forward(m, &m->tblk[i], &a->tblk[i], h_out, a);
    }
    gl_layernorm_forward(a->tln, a->tm, a->tr, a->tfin, Nt, Ct, NORM_EPS);
    lin_fwd(m, m->tproj, a->ctx, a->tln, Nt, Ct, C);
    /* timestep embedding, per distinct timestep (and pooled text, with text_pool) */
    if (c->text_pool) pattern_of(a);
    time_groups(m, a, bt->t);
    const int64_t U = a->U;
    time_features(a->tfeat, a->tu, U, c->time_dim);
    lin_fwd(m, m->t1, a->te1, a->tfeat, U, c->time_dim, C);
    gl_silu_forward(a->te1s, a->te1, U * C);
    lin_fwd(m, m->t2, a->temb, a->te1s, U, C, C);
    if (c->text_pool) {
        text_pool_forward(a, C);
        lin_fwd(m, m->tpool, a->ptemb, a->pool, U, C, C);
        residual(a->temb, a->temb, a->ptemb, U * C);
    }
    gl_silu_forward(a->st, a->temb, U * C);
    /* video tokens through the blocks */
    gl_patchify_forward(a->tok, bt->x, pd);
    lin_fwd(m, m->patch, a->blk[0].x_in, a->tok, N, Pf, C);
    if (c->abs_pos) gl_abs_pos_add(a->blk[0].x_in, a->pos, B, T, C, GL_DIT_ABS_POS_THETA);
    for (int64_t i = 0; i < c->depth; i++) {
        float *x_out = i + 1 < c->depth ? a->blk[i + 1].x_in : a->x_final;
        block_forward(m, &m->blk[i], &a->blk[i], x_out, a, bt);
    }
    modulation_forward(m, m->fin_ada, a->fmod, 2 * C);
    gl_layernorm_forward(a->fln, a->fmean, a->frstd, a->x_final, N, C, NORM_EPS);
    gl_modulate_forward(a->fm, a->fln, a->fmod, a->fmod + C, a->rows, N, C, 2 * C);
    lin_fwd(m, m->fin, a->fout, a->fm, N, C, Pf);
    if (c->predict_x0) x0_to_velocity(a->fout, a->tok, bt->t, N, Pf);
    gl_unpatchify_forward(out, a->fout, pd);
    m->batch = *bt;
    m->have_forward = 1;
    return GL_OK;
}

int gl_dit_backward(gl_dit *m, gl_arena *arena, const float *dout) {
    (void)arena; /* the buffers were carved by the forward */
    if (!m->have_forward) return GL_ESTATE;
    const gl_dit_config *c = &m->cfg;
    acts *a = &m->a;
    grad_a *g = &a->g;
    const gl_dit_batch *bt = &m->batch;
    const int64_t B = a->B, N = a->N, L = a->L, Nt = a->Nt, C = c->width, Ct = c->text_width;
    const int64_t Pf = c->patch_t * c->patch_h * c->patch_w * c->channels;
    const gl_patch_dims pd = {B, a->F, a->H, a->W, c->channels, c->patch_t, c->patch_h, c->patch_w};
    /* final layer */
    zero(g->dfout, N * Pf);
    gl_unpatchify_backward(g->dfout, dout, pd);
    if (c->predict_x0) x0_to_velocity_backward(g->dfout, bt->t, N, Pf);
    lin_bwd_to(m, m->fin, g->dfm, 0, g->dfout, a->fm, NULL, N, C, Pf);
    zero(g->dfln, N * C); zero(g->dfmod, a->U * 2 * C);
    gl_modulate_backward(g->dfln, g->dfmod, g->dfmod + C, g->dfm, a->fln, a->fmod + C, a->rows, N, C, 2 * C);
    zero(g->dx, N * C);
    gl_layernorm_backward(g->dx, g->dfln, a->x_final, a->fmean, a->frstd, N, C);
    const int64_t U = a->U;
    zero(g->dst, U * C);
    modulation_backward(m, m->fin_ada, g->dfmod, 2 * C);
    /* blocks, last first */
    zero(g->dctx, Nt * C);
    for (int64_t i = c->depth - 1; i >= 0; i--) block_backward(m, &m->blk[i], &a->blk[i], a);
    lin_bwd(m, m->patch, NULL, g->dx, a->tok, N, Pf, C);
    /* timestep embedding */
    zero(g->dtemb, U * C);
    gl_silu_backward(g->dtemb, g->dst, a->temb, U * C);
    zero(g->dte1s, U * C);
    lin_bwd(m, m->t2, g->dte1s, g->dtemb, a->te1s, U, C, C);
    zero(g->dte1, U * C);
    gl_silu_backward(g->dte1, g->dte1s, a->te1, U * C);
    lin_bwd(m, m->t1, NULL, g->dte1, a->tfeat, U, c->time_dim, C);
    if (c->text_pool) { /* the pooled text's share of temb, into the text's gradient */
        lin_bwd_to(m, m->tpool, g->dpool, 0, g->dtemb, a->pool, NULL, U, C, C);
        text_pool_backward(a, C);
    }
    /* text encoder */
    zero(g->dtln, Nt * Ct);
    lin_bwd(m, m->tproj, g->dtln, g->dctx, a->tln, Nt, Ct, C);
    zero(g->dth, Nt * Ct);
    gl_layernorm_backward(g->dth, g->dtln, a->tfin, a->tm, a->tr, Nt, Ct);
    for (int64_t i = c->text_layers - 1; i >= 0; i--) text_block_backward(m, &m->tblk[i], &a->tblk[i], g->dth, a);
    float *dpe = G(m, m->pos_emb);
    if (dpe)
        for (int64_t b = 0; b < B; b++)
            for (int64_t i = 0; i < L * Ct; i++) dpe[i] += g->dth[b * L * Ct + i];
    /* positions holding an adapter's token: their gradient is the adapter's row's,
     * not the base table's (the last adapter carrying a token is the one applied) */
    for (int k = m->n_att - 1; k >= 0; k--) {
        const int32_t *ids;
        int nt = gl_lora_tokens(m->att[k].l, &ids), ri = gl_lora_token_rows(m->att[k].l);
        if (ri < 0) continue;
        float *drows = lora_G(gl_lora_params(m->att[k].l), ri);
        for (int64_t n = 0; n < Nt; n++)
            for (int j = 0; j < nt; j++)
                if (bt->text[n] == ids[j]) {
                    float *d = g->dth + n * Ct;
                    if (drows)
                        for (int64_t q = 0; q < Ct; q++) drows[j * Ct + q] += d[q];
                    memset(d, 0, (size_t)Ct * sizeof(float));
                }
    }
    float *dte = G(m, m->tok_emb);
    if (dte) gl_embedding_backward(dte, g->dth, bt->text, Nt, c->text_vocab, Ct);
    return GL_OK;
}

/* ---- adapters ------------------------------------------------------------------- */

/* Where the shifted gains live: one float per element of each gain an attached adapter
 * shifts. No adapter gains, no buffers, and the forward reads the base's. Made aside and
 * swapped in, so that running out of memory leaves the plan of the adapters before. */
static int gains_plan(gl_dit *m) {
    const int np = gl_params_count(m->p);
    int64_t total = 0, longest = 0, *off = malloc((size_t)np * sizeof(int64_t));
    if (!off) return GL_ENOMEM;
    for (int i = 0; i < np; i++) {
        int shifted = 0;
        for (int k = 0; k < m->n_att && !shifted; k++) shifted = m->att[k].gain_of[i] >= 0;
        off[i] = -1;
        if (!shifted) continue;
        gl_tensor w = gl_params_tensor(m->p, i);
        off[i] = total;
        total += gl_tensor_numel(&w);
        if (gl_tensor_numel(&w) > longest) longest = gl_tensor_numel(&w);
    }
    float *eff = total ? malloc((size_t)total * sizeof(float)) : NULL;
    float *dw = total ? malloc((size_t)longest * sizeof(float)) : NULL;
    if (total && (!eff || !dw)) {
        free(off); free(eff); free(dw);
        return GL_ENOMEM;
    }
    free(m->gain_eff); free(m->gain_dw); free(m->gain_off);
    m->gain_eff = eff;
    m->gain_dw = dw;
    m->gain_off = total ? off : NULL;
    if (!total) free(off);
    return GL_OK;
}

/* Undoes the last attachment (its plan could not be made). */
static void detach_last(gl_dit *m) {
    attached *t = &m->att[--m->n_att];
    free(t->mod_of); free(t->gain_of); free(t->h);
}

int gl_dit_attach_lora(gl_dit *m, gl_lora *l, float weight, char *msg, size_t msglen) {
    if (memcmp(gl_lora_cfg(l), &m->cfg, sizeof m->cfg) != 0) {
        snprintf(msg, msglen, "lora: the adapter was made for another model configuration");
        return GL_EINVAL;
    }
    attached *att = realloc(m->att, (size_t)(m->n_att + 1) * sizeof *att);
    if (!att) goto nomem;
    m->att = att;
    attached *t = &att[m->n_att];
    int np = gl_params_count(m->p), nm = gl_lora_module_count(l);
    t->l = l;
    t->weight = weight;
    t->mod_of = malloc((size_t)np * sizeof(int));
    t->gain_of = malloc((size_t)np * sizeof(int));
    t->h = calloc((size_t)(nm > 0 ? nm : 1), sizeof(float *)); /* a gains-only adapter has no module */
    if (!t->mod_of || !t->gain_of || !t->h) {
        free(t->mod_of); free(t->gain_of); free(t->h);
        goto nomem;
    }
    for (int i = 0; i < np; i++) t->mod_of[i] = t->gain_of[i] = -1;
    for (int i = 0; i < nm; i++) {
        char name[256];
        snprintf(name, sizeof name, "%s.weight", gl_lora_module_name(l, i));
        int w = gl_params_find(m->p, name);
        GL_ASSERT(w >= 0); /* same configuration, same modules */
        t->mod_of[w] = i;
    }
    for (int i = 0; i < gl_lora_gain_count(l); i++) {
        char name[256];
        snprintf(name, sizeof name, "%s.weight", gl_lora_gain_name(l, i));
        int w = gl_params_find(m->p, name);
        GL_ASSERT(w >= 0);
        t->gain_of[w] = i;
    }
    m->n_att++;
    m->have_forward = 0; /* the arena plan changed */
    if (gains_plan(m)) {
        detach_last(m);
        goto nomem;
    }
    return GL_OK;
nomem:
    snprintf(msg, msglen, "lora: out of memory");
    return GL_ENOMEM;
}

int gl_dit_expand_tokens(const gl_dit *m, int32_t *ids, int64_t *n, int64_t max) {
    for (int k = 0; k < m->n_att; k++) {
        int rc = gl_lora_expand_tokens(m->att[k].l, ids, n, max);
        if (rc) return rc;
    }
    return GL_OK;
}

void gl_dit_detach_loras(gl_dit *m) {
    if (!m) return; /* cleanup paths call it before the model loaded */
    for (int k = 0; k < m->n_att; k++) {
        free(m->att[k].mod_of);
        free(m->att[k].gain_of);
        free(m->att[k].h);
    }
    free(m->att);
    m->att = NULL;
    m->n_att = 0;
    free(m->gain_eff); free(m->gain_dw); free(m->gain_off);
    m->gain_eff = m->gain_dw = NULL;
    m->gain_off = NULL;
    m->have_forward = 0;
}
