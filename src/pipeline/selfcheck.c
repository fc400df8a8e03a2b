/* pipeline/selfcheck.c: the engine self-check: one transformer block over 3D patches,
 * trained to denoise toy videos, its hand-written backward checked by finite differences.
 * It composes nn/ layers exactly as the DiT will, so a bug in how they chain shows here
 * even when each layer passes its own test. It is not the model (that is model/). */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "gridlora/core.h"
#include "gridlora/nn.h"
#include "gridlora/selfcheck.h"

/* The toy video: B clips of F frames, HxW pixels, RGB; patch 1x2x2. */
enum { VB = 2, VF = 4, VH = 8, VW = 8, VC = 3, PT = 1, PH = 2, PW = 2 };

enum { P_EMB_W, P_EMB_B, P_Q_W, P_K_W, P_V_W, P_QN, P_KN, P_PROJ_W, P_PROJ_B,
       P_FC1_W, P_FC1_B, P_FC2_W, P_FC2_B, P_HEAD_W, P_HEAD_B, P_COUNT };

typedef struct net {
    gl_params *params;
    gl_tensor t[P_COUNT];
    int64_t N, T, P, C, H, D; /* rows, tokens per clip, patch floats, width, heads, head size */
    gl_patch_dims pd;
    gl_attn_dims ad;
    float *rope_cos, *rope_sin; /* [T, D/2] */
} net;

/* Activations of one step; every buffer lives in the arena. */
typedef struct acts {
    float *x0, *xt, *mask, *tok, *h0, *ln1, *m1, *r1, *q, *k, *v, *qn, *kn, *rq, *rk, *qr, *kr,
        *lse, *att, *o, *h1, *ln2, *m2, *r2, *f1, *g, *f2, *h2, *ln3, *m3, *r3, *out, *pred;
    float *scratch; /* attention's, gl_attention_scratch_floats */
} acts;

gl_selfcheck_params gl_selfcheck_default_params(void) {
    return (gl_selfcheck_params){.steps = 600, .width = 32, .heads = 2, .seed = 1, .lr = 3e-3f,
                                 .progress_every = 50};
}

static double now_seconds(void) {
    struct timespec ts;
    timespec_get(&ts, TIME_UTC);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int net_init(net *n, const gl_selfcheck_params *sp, gl_arena *arena) {
    memset(n, 0, sizeof *n);
    n->pd = (gl_patch_dims){VB, VF, VH, VW, VC, PT, PH, PW};
    n->T = gl_patch_tokens(n->pd);
    n->P = gl_patch_size(n->pd);
    n->N = VB * n->T;
    n->C = sp->width;
    n->H = sp->heads;
    n->D = n->C / n->H;
    n->ad = (gl_attn_dims){VB, n->T, n->T, n->H, n->D};
    const int64_t C = n->C, P = n->P, D = n->D;
    const struct { const char *name; int64_t r, c; int flags; } spec[P_COUNT] = {
        {"embed.weight", C, P, 0},          {"embed.bias", C, 0, GL_PARAM_NO_DECAY},
        {"attn.q.weight", C, C, 0},         {"attn.k.weight", C, C, 0},
        {"attn.v.weight", C, C, 0},         {"attn.q_norm.weight", D, 0, GL_PARAM_NO_DECAY},
        {"attn.k_norm.weight", D, 0, GL_PARAM_NO_DECAY},
        {"attn.proj.weight", C, C, 0},      {"attn.proj.bias", C, 0, GL_PARAM_NO_DECAY},
        {"mlp.fc1.weight", 4 * C, C, 0},    {"mlp.fc1.bias", 4 * C, 0, GL_PARAM_NO_DECAY},
        {"mlp.fc2.weight", C, 4 * C, 0},    {"mlp.fc2.bias", C, 0, GL_PARAM_NO_DECAY},
        {"head.weight", P, C, 0},           {"head.bias", P, 0, GL_PARAM_NO_DECAY},
    };
    int rc = gl_params_new(&n->params);
    for (int i = 0; rc == GL_OK && i < P_COUNT; i++) {
        int64_t shape[2] = {spec[i].r, spec[i].c};
        int idx = gl_params_add(n->params, spec[i].name, spec[i].c ? 2 : 1, shape, spec[i].flags);
        rc = idx < 0 ? idx : GL_OK;
    }
    if (rc == GL_OK) rc = gl_params_alloc(n->params);
    if (rc != GL_OK) return rc;
    gl_rng rng;
    gl_rng_seed(&rng, sp->seed);
    for (int i = 0; i < P_COUNT; i++) {
        gl_tensor *t = &n->t[i];
        *t = gl_params_tensor(n->params, i);
        int64_t numel = gl_tensor_numel(t);
        if (i == P_QN || i == P_KN) {
            for (int64_t j = 0; j < numel; j++) t->data[j] = 1.0f;
        } else if (t->ndim == 2) { /* 1/sqrt(fan_in): unit-variance activations */
            double sd = 1.0 / sqrt((double)t->shape[1]);
            for (int64_t j = 0; j < numel; j++) t->data[j] = (float)(sd * gl_rng_normal(&rng));
        }
    }
    /* RoPE tables for the clip's (frame, row, column) grid of tokens */
    n->rope_cos = gl_arena_alloc(arena, (size_t)(n->T * D / 2));
    n->rope_sin = gl_arena_alloc(arena, (size_t)(n->T * D / 2));
    int32_t *pos = (int32_t *)gl_arena_alloc(arena, (size_t)n->T * 3);
    if (!n->rope_cos || !n->rope_sin || !pos) return GL_ENOMEM;
    const int64_t gh = VH / PH, gw = VW / PW;
    for (int64_t t = 0; t < n->T; t++) {
        pos[3 * t] = (int32_t)(t / (gh * gw));
        pos[3 * t + 1] = (int32_t)(t / gw % gh);
        pos[3 * t + 2] = (int32_t)(t % gw);
    }
    int64_t split[3];
    gl_rope_default_split(D, split);
    gl_rope_tables(n->rope_cos, n->rope_sin, pos, n->T, D, split, 10000.0f);
    return GL_OK;
}

static int acts_alloc(acts *a, const net *n, gl_arena *arena) {
    const int64_t N = n->N, C = n->C, P = n->P, V = VB * VF * VH * VW * VC;
    struct { float **p; int64_t n; } list[] = {
        {&a->x0, V},  {&a->xt, V},   {&a->mask, V},  {&a->tok, N * P}, {&a->h0, N * C},
        {&a->ln1, N * C}, {&a->m1, N}, {&a->r1, N},  {&a->q, N * C},   {&a->k, N * C},
        {&a->v, N * C},   {&a->qn, N * C}, {&a->kn, N * C}, {&a->rq, N * n->H},
        {&a->rk, N * n->H}, {&a->qr, N * C}, {&a->kr, N * C},
        {&a->lse, VB * n->H * n->T}, {&a->att, N * C}, {&a->o, N * C},
        {&a->h1, N * C}, {&a->ln2, N * C}, {&a->m2, N}, {&a->r2, N}, {&a->f1, N * 4 * C},
        {&a->g, N * 4 * C}, {&a->f2, N * C}, {&a->h2, N * C}, {&a->ln3, N * C}, {&a->m3, N},
        {&a->r3, N}, {&a->out, N * P}, {&a->pred, V},
    };
    for (size_t i = 0; i < sizeof list / sizeof list[0]; i++) {
        *list[i].p = gl_arena_alloc(arena, (size_t)list[i].n);
        if (!*list[i].p) return GL_ENOMEM;
    }
    return GL_OK;
}

/* A batch: a coloured square gliding over a colour gradient, noised at a random level
 * t: xt = (1 - t) x0 + t e. The loss skips frame 0, so the masked MSE is exercised. */
static void make_batch(acts *a, uint64_t seed, int64_t step) {
    gl_rng r;
    gl_rng_seed(&r, seed * 1000003u + (uint64_t)step);
    for (int b = 0; b < VB; b++) {
        float col[3], bg[3];
        for (int c = 0; c < 3; c++) {
            col[c] = (float)(2 * gl_rng_uniform(&r) - 1);
            bg[c] = (float)(gl_rng_uniform(&r) - 0.5);
        }
        double y0 = gl_rng_uniform(&r) * (VH - 3), x0 = gl_rng_uniform(&r) * (VW - 3);
        double vy = gl_rng_uniform(&r) - 0.5, vx = gl_rng_uniform(&r) - 0.5;
        double t = gl_rng_uniform(&r) * 0.8;
        for (int f = 0; f < VF; f++)
            for (int y = 0; y < VH; y++)
                for (int x = 0; x < VW; x++) {
                    int inside = fabs(y - (y0 + vy * f) - 1) < 1.5 && fabs(x - (x0 + vx * f) - 1) < 1.5;
                    for (int c = 0; c < VC; c++) {
                        int64_t i = ((((int64_t)b * VF + f) * VH + y) * VW + x) * VC + c;
                        float v = inside ? col[c] : bg[c] * (float)(x - y) / VW;
                        a->x0[i] = v;
                        a->xt[i] = (float)((1 - t) * v + t * gl_rng_normal(&r));
                        a->mask[i] = f == 0 ? 0.0f : 1.0f;
                    }
                }
    }
}

static void residual_add(float *out, const float *a, const float *b, int64_t n) {
    for (int64_t i = 0; i < n; i++) out[i] = a[i] + b[i];
}

static double forward(const net *n, acts *a) {
    const int64_t N = n->N, C = n->C, P = n->P, H = n->H, D = n->D;
    const gl_tensor *t = n->t;
    gl_patchify_forward(a->tok, a->xt, n->pd);
    gl_linear_forward(a->h0, a->tok, t[P_EMB_W].data, t[P_EMB_B].data, N, P, C);
    gl_layernorm_forward(a->ln1, a->m1, a->r1, a->h0, N, C, 1e-6f);
    gl_linear_forward(a->q, a->ln1, t[P_Q_W].data, NULL, N, C, C);
    gl_linear_forward(a->k, a->ln1, t[P_K_W].data, NULL, N, C, C);
    gl_linear_forward(a->v, a->ln1, t[P_V_W].data, NULL, N, C, C);
    gl_rmsnorm_forward(a->qn, a->rq, a->q, t[P_QN].data, N * H, D, 1e-6f);
    gl_rmsnorm_forward(a->kn, a->rk, a->k, t[P_KN].data, N * H, D, 1e-6f);
    gl_rope_forward(a->qr, a->qn, n->rope_cos, n->rope_sin, VB, n->T, H, D);
    gl_rope_forward(a->kr, a->kn, n->rope_cos, n->rope_sin, VB, n->T, H, D);
    gl_attention_forward(a->att, a->lse, a->scratch, a->qr, a->kr, a->v, NULL, 0, n->ad);
    gl_linear_forward(a->o, a->att, t[P_PROJ_W].data, t[P_PROJ_B].data, N, C, C);
    residual_add(a->h1, a->h0, a->o, N * C);
    gl_layernorm_forward(a->ln2, a->m2, a->r2, a->h1, N, C, 1e-6f);
    gl_linear_forward(a->f1, a->ln2, t[P_FC1_W].data, t[P_FC1_B].data, N, C, 4 * C);
    gl_gelu_forward(a->g, a->f1, N * 4 * C);
    gl_linear_forward(a->f2, a->g, t[P_FC2_W].data, t[P_FC2_B].data, N, 4 * C, C);
    residual_add(a->h2, a->h1, a->f2, N * C);
    gl_layernorm_forward(a->ln3, a->m3, a->r3, a->h2, N, C, 1e-6f);
    gl_linear_forward(a->out, a->ln3, t[P_HEAD_W].data, t[P_HEAD_B].data, N, C, P);
    gl_unpatchify_forward(a->pred, a->out, n->pd);
    return gl_mse_forward(a->pred, a->x0, a->mask, VB * VF * VH * VW * VC);
}

/* Gradients into the parameter store (accumulated); activation gradients in the arena. */
static int backward(const net *n, const acts *a, gl_arena *arena, float *scratch) {
    const int64_t N = n->N, C = n->C, P = n->P, H = n->H, D = n->D, V = VB * VF * VH * VW * VC;
    const gl_tensor *t = n->t;
    size_t mark = gl_arena_used(arena);
    float *dpred = gl_arena_alloc(arena, (size_t)V), *dout = gl_arena_alloc(arena, (size_t)(N * P));
    float *dh2 = gl_arena_alloc(arena, (size_t)(N * C)), *dln = gl_arena_alloc(arena, (size_t)(N * C));
    float *dg = gl_arena_alloc(arena, (size_t)(N * 4 * C)), *df1 = gl_arena_alloc(arena, (size_t)(N * 4 * C));
    float *dh1 = gl_arena_alloc(arena, (size_t)(N * C)), *datt = gl_arena_alloc(arena, (size_t)(N * C));
    float *dqr = gl_arena_alloc(arena, (size_t)(N * C)), *dkr = gl_arena_alloc(arena, (size_t)(N * C));
    float *dv = gl_arena_alloc(arena, (size_t)(N * C)), *dq = gl_arena_alloc(arena, (size_t)(N * C));
    float *dk = gl_arena_alloc(arena, (size_t)(N * C));
    float *bufs[] = {dpred, dout, dh2, dln, dg, df1, dh1, datt, dqr, dkr, dv, dq, dk};
    int64_t sizes[] = {V, N * P, N * C, N * C, N * 4 * C, N * 4 * C, N * C, N * C, N * C,
                       N * C, N * C, N * C, N * C};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) {
        if (!bufs[i]) return GL_ENOMEM;
        memset(bufs[i], 0, (size_t)sizes[i] * sizeof(float));
    }
    gl_mse_backward(dpred, a->pred, a->x0, a->mask, V, 1.0f);
    gl_unpatchify_backward(dout, dpred, n->pd);
    gl_linear_backward(dln, t[P_HEAD_W].grad, t[P_HEAD_B].grad, dout, a->ln3, t[P_HEAD_W].data, N, C, P);
    gl_layernorm_backward(dh2, dln, a->h2, a->m3, a->r3, N, C);
    /* h2 = h1 + f2: dh1 gets dh2 directly, and again through the MLP */
    memcpy(dh1, dh2, (size_t)(N * C) * sizeof(float));
    gl_linear_backward(dg, t[P_FC2_W].grad, t[P_FC2_B].grad, dh2, a->g, t[P_FC2_W].data, N, 4 * C, C);
    gl_gelu_backward(df1, dg, a->f1, N * 4 * C);
    memset(dln, 0, (size_t)(N * C) * sizeof(float));
    gl_linear_backward(dln, t[P_FC1_W].grad, t[P_FC1_B].grad, df1, a->ln2, t[P_FC1_W].data, N, C, 4 * C);
    gl_layernorm_backward(dh1, dln, a->h1, a->m2, a->r2, N, C);
    /* h1 = h0 + o: reuse dh2 as dh0 */
    float *dh0 = dh2;
    memcpy(dh0, dh1, (size_t)(N * C) * sizeof(float));
    gl_linear_backward(datt, t[P_PROJ_W].grad, t[P_PROJ_B].grad, dh1, a->att, t[P_PROJ_W].data, N, C, C);
    gl_attention_backward(dqr, dkr, dv, scratch, datt, a->att, a->lse, a->qr, a->kr, a->v, NULL, 0, n->ad);
    gl_rope_backward(dq, dqr, n->rope_cos, n->rope_sin, VB, n->T, H, D);
    gl_rope_backward(dk, dkr, n->rope_cos, n->rope_sin, VB, n->T, H, D);
    /* dqr, dkr are spent: they take the gradients before the RMS norms */
    memset(dqr, 0, (size_t)(N * C) * sizeof(float));
    memset(dkr, 0, (size_t)(N * C) * sizeof(float));
    gl_rmsnorm_backward(dqr, t[P_QN].grad, dq, a->q, t[P_QN].data, a->rq, N * H, D);
    gl_rmsnorm_backward(dkr, t[P_KN].grad, dk, a->k, t[P_KN].data, a->rk, N * H, D);
    memset(dln, 0, (size_t)(N * C) * sizeof(float));
    gl_linear_backward(dln, t[P_Q_W].grad, NULL, dqr, a->ln1, t[P_Q_W].data, N, C, C);
    gl_linear_backward(dln, t[P_K_W].grad, NULL, dkr, a->ln1, t[P_K_W].data, N, C, C);
    gl_linear_backward(dln, t[P_V_W].grad, NULL, dv, a->ln1, t[P_V_W].data, N, C, C);
    gl_layernorm_backward(dh0, dln, a->h0, a->m1, a->r1, N, C);
    gl_linear_backward(NULL, t[P_EMB_W].grad, t[P_EMB_B].grad, dh0, a->tok, t[P_EMB_W].data, N, P, C);
    gl_arena_rewind(arena, mark);
    return GL_OK;
}

/* For each parameter tensor, its entry with the largest gradient against a central
 * difference of the float forward. Relative to that gradient, so float noise in the
 * loss (about 1e-7 of it) stays far below the 1e-2 a wrong backward gives. */
static double grad_check(const net *n, acts *a, int *checked) {
    double worst = 0;
    *checked = 0;
    for (int i = 0; i < P_COUNT; i++) {
        const gl_tensor *t = &n->t[i];
        int64_t numel = gl_tensor_numel(t), best = 0;
        for (int64_t j = 1; j < numel; j++)
            if (fabsf(t->grad[j]) > fabsf(t->grad[best])) best = j;
        double an = t->grad[best];
        if (fabs(an) < 1e-6) continue;
        float saved = t->data[best];
        float h = 1e-2f * fmaxf(fabsf(saved), 0.1f);
        t->data[best] = saved + h;
        double lp = forward(n, a);
        t->data[best] = saved - h;
        double lm = forward(n, a);
        t->data[best] = saved;
        double fd = (lp - lm) / (2.0 * h);
        double err = fabs(fd - an) / fabs(an);
        if (err > worst) worst = err;
        (*checked)++;
    }
    return worst;
}

int gl_selfcheck_run(const gl_selfcheck_params *sp, gl_selfcheck_result *res, char *msg,
                     size_t msglen) {
    memset(res, 0, sizeof *res);
    if (sp->steps < 1 || sp->heads < 1 || sp->width < 2 || sp->width % (2 * sp->heads)) {
        snprintf(msg, msglen, "selfcheck: steps must be >= 1 and width a multiple of 2*heads "
                              "(got steps %d, width %d, heads %d)", sp->steps, sp->width, sp->heads);
        return GL_EINVAL;
    }
    gl_arena *arena = NULL;
    net n;
    memset(&n, 0, sizeof n);
    acts a;
    float *scratch = NULL;
    int rc = gl_arena_new(&arena, (size_t)64 << 20);
    if (rc == GL_OK) rc = net_init(&n, sp, arena);
    if (rc == GL_OK) rc = acts_alloc(&a, &n, arena);
    if (rc == GL_OK) {
        scratch = gl_arena_alloc(arena, gl_attention_scratch_floats(n.ad, gl_threads()));
        if (!scratch) rc = GL_ENOMEM;
        a.scratch = scratch;
    }
    if (rc != GL_OK) {
        snprintf(msg, msglen, "selfcheck: %s (activations need %zu bytes)", gl_strerror(rc),
                 arena ? gl_arena_needed(arena) : 0);
        goto end;
    }
    res->n_params = gl_params_numel(n.params);
    gl_adamw opt = gl_adamw_default();
    opt.lr = sp->lr;
    opt.weight_decay = 0.01f;
    int tail = sp->steps / 10 > 0 ? sp->steps / 10 : 1;
    double t0 = now_seconds();
    for (int step = 1; step <= sp->steps; step++) {
        make_batch(&a, sp->seed, step);
        double loss = forward(&n, &a);
        gl_params_zero_grad(n.params);
        if ((rc = backward(&n, &a, arena, scratch)) != GL_OK) break;
        if ((rc = gl_params_adamw_step(n.params, &opt, step)) != GL_OK) break;
        if (step <= tail) res->loss_first += loss / tail;
        if (step > sp->steps - tail) res->loss_last += loss / tail;
        if (sp->progress && (step % (sp->progress_every > 0 ? sp->progress_every : 1) == 0 ||
                             step == sp->steps))
            sp->progress(sp->progress_ctx, step, sp->steps, loss);
    }
    res->seconds = now_seconds() - t0;
    if (rc != GL_OK) {
        snprintf(msg, msglen, "selfcheck: training failed: %s (activations need %zu bytes)",
                 gl_strerror(rc), gl_arena_needed(arena));
        goto end;
    }
    /* the composed backward, on a fresh batch, at the trained weights */
    make_batch(&a, sp->seed, 0);
    forward(&n, &a);
    gl_params_zero_grad(n.params);
    rc = backward(&n, &a, arena, scratch);
    if (rc == GL_OK) res->grad_max_rel_err = grad_check(&n, &a, &res->grad_checked);
    res->arena_bytes = gl_arena_peak(arena);
end:
    gl_params_free(&n.params);
    gl_arena_free(&arena);
    return rc;
}
