/* pipeline/train.c: the rectified-flow training loop shared by every stage: noising,
 * masked loss, backward, clipping, AdamW on a schedule, EMA, logs and checkpoints, and
 * its data-parallel form over MPI ranks (gridlora/dist.h).
 * Randomness of sample i of step k comes from (seed, k, i) alone, so a run resumed at k
 * continues exactly as if it had never stopped, and a sample is the same whichever rank
 * computes it. */
#define _POSIX_C_SOURCE 200809L /* access */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gridlora/dist.h"
#include "gridlora/nn.h"
#include "gridlora/safetensors.h"
#include "gridlora/train.h"

gl_train_opts gl_train_default_opts(void) {
    return (gl_train_opts){.steps = 1000, .batch = 4, .seed = 1, .lr = 3e-4f, .lr_min_ratio = 0.1f,
                           .warmup = 100, .weight_decay = 0.01f, .clip_norm = 1.0f, .ema = 0.0f,
                           .prompt_drop = 0.1f, .t_mu = 0.0, .t_sigma = 1.0};
}

float gl_train_lr(const gl_train_opts *o, int64_t step) {
    if (o->warmup > 0 && step < o->warmup) return o->lr * (float)(step + 1) / (float)o->warmup;
    int64_t span = o->steps - o->warmup;
    double frac = span > 1 ? (double)(step - o->warmup) / (double)(span - 1) : 1.0;
    if (frac > 1) frac = 1;
    double floor = o->lr * o->lr_min_ratio;
    return (float)(floor + (o->lr - floor) * 0.5 * (1.0 + cos(3.141592653589793 * frac)));
}

static double now_seconds(void) {
    struct timespec ts;
    timespec_get(&ts, TIME_UTC);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The state of a run besides the model: buffers of one step (this rank's share of the
 * batch), and the EMA. */
typedef struct run {
    gl_dit *m;
    gl_params *p;
    const gl_train_opts *o;
    gl_train_batch b;
    gl_arena *arena;
    float *e, *xt, *v, *pred, *dpred, *mask, *t_tok, *ema;
    float *offs; /* [cells, channels]: one sample's offset noise */
    int64_t cells_y, cells_x;
    int64_t n;     /* elements of this rank's batch */
    int64_t first; /* index of its first sample in the whole batch */
    int rank, ranks;
    /* the sources' masks gathered per sample: self [B,T,T], cross [B,T,L], text [B,L,L];
     * allocated when a source first gives one */
    uint8_t *masks[3];
} run;

static void run_free(run *r) {
    free(r->b.x0); free(r->b.text); free(r->b.text_lens); free(r->b.clean); free(r->b.weight);
    free(r->e); free(r->xt); free(r->v); free(r->pred); free(r->dpred); free(r->mask);
    free(r->t_tok); free(r->ema); free(r->offs);
    for (int j = 0; j < 3; j++) free(r->masks[j]);
    gl_arena_free(&r->arena);
}

static int run_alloc(run *r, char *msg, size_t msglen) {
    const gl_dit_config *c = gl_dit_cfg(r->m);
    const gl_train_opts *o = r->o;
    gl_train_batch *b = &r->b;
    b->B = o->batch / r->ranks;
    b->F = o->frames ? o->frames : c->frames;
    b->H = o->height ? o->height : c->cell_h;
    b->W = o->width ? o->width : c->cell_w;
    if (b->B < 1 || b->F % c->patch_t || b->H % c->patch_h || b->W % c->patch_w || b->F < 1 || b->H < 1 || b->W < 1) {
        snprintf(msg, msglen, "train: batch %lld of %lldx%lldx%lld does not fit the model's %lldx%lldx%lld patches",
                 (long long)b->B, (long long)b->F, (long long)b->H, (long long)b->W, (long long)c->patch_t,
                 (long long)c->patch_h, (long long)c->patch_w);
        return GL_EINVAL;
    }
    b->T = (b->F / c->patch_t) * (b->H / c->patch_h) * (b->W / c->patch_w);
    b->text_len = c->text_len;
    r->n = b->B * b->F * b->H * b->W * c->channels;
    size_t n = (size_t)r->n, bt = (size_t)(b->B * b->T);
    b->x0 = malloc(n * sizeof(float));
    b->text = malloc((size_t)(b->B * b->text_len) * sizeof(int32_t));
    b->text_lens = malloc((size_t)b->B * sizeof(int32_t));
    b->clean = malloc(bt);
    b->weight = malloc((size_t)(b->B * b->F * b->H * b->W) * sizeof(float));
    r->e = malloc(n * sizeof(float)); r->xt = malloc(n * sizeof(float)); r->v = malloc(n * sizeof(float));
    r->pred = malloc(n * sizeof(float)); r->dpred = malloc(n * sizeof(float));
    r->mask = malloc(n * sizeof(float)); r->t_tok = malloc(bt * sizeof(float));
    /* a sample smaller than a cell is one cell; a remainder joins the last row or column */
    r->cells_y = b->H >= c->cell_h ? b->H / c->cell_h : 1;
    r->cells_x = b->W >= c->cell_w ? b->W / c->cell_w : 1;
    r->offs = malloc((size_t)(r->cells_y * r->cells_x * c->channels) * sizeof(float));
    int rc = gl_arena_new(&r->arena, gl_dit_arena_bytes(r->m, b->B, b->F, b->H, b->W));
    if (rc || !b->x0 || !b->text || !b->text_lens || !b->clean || !b->weight || !r->e || !r->xt || !r->v || !r->pred ||
        !r->dpred || !r->mask || !r->t_tok || !r->offs) {
        snprintf(msg, msglen, "train: out of memory for a batch of %lld (%zu MiB of activations)", (long long)b->B,
                 gl_dit_arena_bytes(r->m, b->B, b->F, b->H, b->W) >> 20);
        return GL_ENOMEM;
    }
    if (o->ema > 0) {
        int64_t np = gl_params_numel(r->p);
        if (!(r->ema = malloc((size_t)np * sizeof(float)))) {
            snprintf(msg, msglen, "train: out of memory for the EMA");
            return GL_ENOMEM;
        }
        memcpy(r->ema, gl_params_data(r->p), (size_t)np * sizeof(float));
    }
    return GL_OK;
}

/* ---- checkpoints ------------------------------------------------------------------ */

static int save_checkpoint(run *r, int64_t step, char *msg, size_t msglen) {
    gl_params *p = r->p;
    int np = gl_params_count(p), rc = GL_OK;
    char (*names)[300] = calloc((size_t)np * 3, sizeof *names);
    char *cfg = gl_dit_config_to_json(gl_dit_cfg(r->m));
    gl_st_writer *w = NULL;
    if (!names || !cfg || gl_st_writer_new(&w)) {
        snprintf(msg, msglen, "%s: out of memory", r->o->checkpoint);
        rc = GL_ENOMEM;
        goto end;
    }
    float *m = gl_params_adam_m(p), *v = gl_params_adam_v(p), *base = gl_params_data(p);
    for (int i = 0; i < np && rc == GL_OK; i++) {
        gl_tensor t = gl_params_tensor(p, i);
        int64_t off = t.data - base;
        rc = gl_st_writer_add(w, gl_params_name(p, i), GL_ST_F32, t.ndim, t.shape, t.data);
        snprintf(names[3 * i], 300, "adam.m.%s", gl_params_name(p, i));
        snprintf(names[3 * i + 1], 300, "adam.v.%s", gl_params_name(p, i));
        snprintf(names[3 * i + 2], 300, "ema.%s", gl_params_name(p, i));
        if (rc == GL_OK && m) rc = gl_st_writer_add(w, names[3 * i], GL_ST_F32, t.ndim, t.shape, m + off);
        if (rc == GL_OK && v) rc = gl_st_writer_add(w, names[3 * i + 1], GL_ST_F32, t.ndim, t.shape, v + off);
        if (rc == GL_OK && r->ema) rc = gl_st_writer_add(w, names[3 * i + 2], GL_ST_F32, t.ndim, t.shape, r->ema + off);
    }
    char sstep[32], sseed[32];
    snprintf(sstep, sizeof sstep, "%lld", (long long)step);
    snprintf(sseed, sizeof sseed, "%llu", (unsigned long long)r->o->seed);
    if (rc == GL_OK) rc = gl_st_writer_set_meta(w, GL_DIT_CONFIG_KEY, cfg);
    if (rc == GL_OK) rc = gl_st_writer_set_meta(w, "train.step", sstep);
    if (rc == GL_OK) rc = gl_st_writer_set_meta(w, "train.seed", sseed);
    if (rc == GL_OK) rc = gl_st_writer_write(w, r->o->checkpoint, msg, msglen);
    else snprintf(msg, msglen, "%s: cannot prepare the checkpoint: %s", r->o->checkpoint, gl_strerror(rc));
end:
    gl_st_writer_free(&w);
    free(names);
    free(cfg);
    return rc;
}

/* Loads weights, moments and EMA; returns the step to continue from via *step. */
static int load_checkpoint(run *r, int64_t *step, char *msg, size_t msglen) {
    const char *path = r->o->checkpoint;
    gl_st *st = NULL;
    char *cfg = gl_dit_config_to_json(gl_dit_cfg(r->m));
    int rc = cfg ? gl_st_open(&st, path, msg, msglen) : GL_ENOMEM;
    if (rc) goto end;
    const char *ccfg = gl_st_meta_get(st, GL_DIT_CONFIG_KEY), *sstep = gl_st_meta_get(st, "train.step");
    const char *sseed = gl_st_meta_get(st, "train.seed");
    char *endp = NULL;
    long long k = sstep ? strtoll(sstep, &endp, 10) : -1;
    if (!ccfg || !sstep || !sseed || !endp || *endp || k < 0) {
        snprintf(msg, msglen, "%s: not a gridlora training checkpoint (metadata missing)", path);
        rc = GL_EFORMAT;
        goto end;
    }
    if (strcmp(ccfg, cfg) != 0) {
        snprintf(msg, msglen, "%s: checkpoint of another model configuration; refusing to resume", path);
        rc = GL_EFORMAT;
        goto end;
    }
    if (strtoull(sseed, NULL, 10) != r->o->seed) {
        snprintf(msg, msglen, "%s: checkpoint made with --seed %s; resume with the same seed", path, sseed);
        rc = GL_EINVAL;
        goto end;
    }
    rc = gl_st_load_params(r->p, path, 1, msg, msglen);
    if (rc < 0) goto end;
    if ((rc = gl_params_alloc_moments(r->p))) goto end;
    gl_params *p = r->p;
    float *base = gl_params_data(p);
    float *dst[3] = {gl_params_adam_m(p), gl_params_adam_v(p), r->ema};
    const char *prefix[3] = {"adam.m.", "adam.v.", "ema."};
    for (int i = 0; i < gl_params_count(p) && rc >= 0; i++) {
        gl_tensor t = gl_params_tensor(p, i);
        int64_t off = t.data - base, n = gl_tensor_numel(&t);
        for (int j = 0; j < 3 && rc >= 0; j++) {
            if (!dst[j]) continue;
            char name[300];
            snprintf(name, sizeof name, "%s%s", prefix[j], gl_params_name(p, i));
            int idx = gl_st_find(st, name);
            if (idx < 0 || gl_st_numel(st, idx) != n) {
                if (j < 2 && k == 0) continue; /* saved before the first step: no moments yet */
                if (j == 2 && idx < 0)
                    snprintf(msg, msglen, "%s: holds no EMA ('%s'): its run kept none; resume without one",
                             path, name);
                else
                    snprintf(msg, msglen, "%s: tensor '%s' missing or of the wrong size", path, name);
                rc = GL_EFORMAT;
            } else {
                rc = gl_st_read_f32(st, idx, dst[j] + off, n);
            }
        }
    }
    *step = k;
end:
    gl_st_free(&st);
    free(cfg);
    return rc < 0 ? rc : GL_OK;
}

/* On resume, forgets the log's rows after the checkpoint's step: a run killed between
 * checkpoints logged steps that will now run again. Rewritten atomically. */
static int truncate_log(const char *path, int64_t keep, char *msg, size_t msglen) {
    FILE *in = fopen(path, "r");
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *out = in ? fopen(tmp, "w") : NULL;
    if (!in || !out) {
        if (in) fclose(in);
        snprintf(msg, msglen, "%s: cannot rewrite the log for resuming", path);
        return GL_EIO;
    }
    char line[512];
    while (fgets(line, sizeof line, in)) {
        long long s = strtoll(line, NULL, 10);
        if (s <= keep) fputs(line, out); /* the header parses as 0 */
    }
    fclose(in);
    int bad = ferror(out) | fclose(out);
    if (bad || rename(tmp, path)) {
        remove(tmp);
        snprintf(msg, msglen, "%s: cannot rewrite the log for resuming", path);
        return GL_EIO;
    }
    return GL_OK;
}

/* ---- one step ------------------------------------------------------------------------ */

/* Sample i's stream for step key k: one generator per (seed, k, global index), so the
 * sample is the same on whichever rank and in whichever shard it is made. */
static void sample_rng(gl_rng *rng, uint64_t seed, uint64_t k, int64_t index) {
    gl_rng_seed(rng, seed * 0x9E3779B97F4A7C15ull ^ k * 0xD1B54A32D192ED03ull);
    gl_rng_seed(rng, gl_rng_u64(rng) ^ (uint64_t)(index + 1) * 0xBF58476D1CE4E5B9ull);
}

/* Noises sample i of x0 per token (t = 0 where clean), builds its target and loss mask:
 * its timestep, prompt drop, noise and (with offset noise of std offset_noise > 0) cell
 * offsets, in that order, from rng. */
static void noise_sample(run *r, int64_t i, gl_rng *rng, double offset_noise) {
    const gl_dit_config *c = gl_dit_cfg(r->m);
    gl_train_batch *b = &r->b;
    const int64_t C = c->channels, gh = b->H / c->patch_h, gw = b->W / c->patch_w;
    const int64_t per_frame = b->H * b->W * C, per_sample = b->F * per_frame;
    double z = r->o->t_mu + r->o->t_sigma * gl_rng_normal(rng);
    float ts = (float)(1.0 / (1.0 + exp(-z)));
    for (int64_t k = 0; k < b->T; k++) r->t_tok[i * b->T + k] = b->clean[i * b->T + k] ? 0.0f : ts;
    if (gl_rng_uniform(rng) < r->o->prompt_drop) b->text_lens[i] = 0;
    for (int64_t j = 0; j < per_sample; j++) r->e[i * per_sample + j] = (float)gl_rng_normal(rng);
    const int offset = offset_noise > 0;
    if (offset)
        for (int64_t j = 0; j < r->cells_y * r->cells_x * C; j++)
            r->offs[j] = (float)(offset_noise * gl_rng_normal(rng));
    for (int64_t f = 0; f < b->F; f++)
        for (int64_t y = 0; y < b->H; y++)
            for (int64_t x = 0; x < b->W; x++) {
                int64_t tok = ((f / c->patch_t) * gh + y / c->patch_h) * gw + x / c->patch_w;
                float t = r->t_tok[i * b->T + tok];
                float keep = b->clean[i * b->T + tok] ? 0.0f : b->weight[((i * b->F + f) * b->H + y) * b->W + x];
                int64_t e0 = ((i * b->F + f) * per_frame) + (y * b->W + x) * C;
                const int64_t cy = y / c->cell_h < r->cells_y ? y / c->cell_h : r->cells_y - 1;
                const int64_t cx = x / c->cell_w < r->cells_x ? x / c->cell_w : r->cells_x - 1;
                const float *off = r->offs + (cy * r->cells_x + cx) * C;
                for (int64_t ch = 0; ch < C; ch++) {
                    int64_t e = e0 + ch;
                    if (offset) r->e[e] += off[ch];
                    r->xt[e] = (1.0f - t) * b->x0[e] + t * r->e[e];
                    r->v[e] = r->e[e] - b->x0[e];
                    r->mask[e] = keep;
                }
            }
}

/* This rank's share of step `step`'s batch (key k): each sample from its source call
 * and its own stream, then noised. A mask a source gives for some samples only is all
 * ones (attend everywhere, as without a mask) for the others. */
static int fill_batch(run *r, gl_batch_fn next, void *ctx, int64_t step, uint64_t k, char *msg, size_t msglen) {
    gl_train_batch *b = &r->b;
    const int64_t T = b->T, L = b->text_len, per_sample = r->n / b->B;
    const size_t msize[3] = {(size_t)(T * T), (size_t)(T * L), (size_t)(L * L)};
    memset(b->clean, 0, (size_t)(b->B * T));
    for (int64_t j = 0; j < b->B * b->F * b->H * b->W; j++) b->weight[j] = 1.0f;
    memset(b->text, 0, (size_t)(b->B * L) * sizeof(int32_t));
    memset(b->text_lens, 0, (size_t)b->B * sizeof(int32_t));
    int any[3] = {0, 0, 0};
    for (int64_t i = 0; i < b->B; i++) {
        gl_rng rng;
        sample_rng(&rng, r->o->seed, k, r->first + i);
        gl_train_batch one = {.B = 1, .F = b->F, .H = b->H, .W = b->W, .T = T, .text_len = L,
                              .index = r->first + i, .x0 = b->x0 + i * per_sample, .text = b->text + i * L,
                              .text_lens = b->text_lens + i, .clean = b->clean + i * T,
                              .weight = b->weight + i * b->F * b->H * b->W,
                              .offset_noise = r->o->offset_noise};
        int rc = next(ctx, step, &rng, &one, msg, msglen);
        if (rc) return rc;
        if (!(one.offset_noise >= 0 && isfinite(one.offset_noise))) {
            snprintf(msg, msglen, "train: step %lld: the source gave sample %lld offset noise %g",
                     (long long)step + 1, (long long)(r->first + i), one.offset_noise);
            return GL_EINVAL;
        }
        const uint8_t *given[3] = {one.self_mask, one.cross_mask, one.text_mask};
        for (int j = 0; j < 3; j++) {
            if (!given[j] && !any[j]) continue;
            if (!r->masks[j] && !(r->masks[j] = malloc((size_t)b->B * msize[j]))) {
                snprintf(msg, msglen, "train: out of memory for the attention masks of a batch of %lld",
                         (long long)b->B);
                return GL_ENOMEM;
            }
            if (!any[j]) memset(r->masks[j], 1, (size_t)i * msize[j]); /* earlier samples had none */
            if (given[j]) memcpy(r->masks[j] + (size_t)i * msize[j], given[j], msize[j]);
            else memset(r->masks[j] + (size_t)i * msize[j], 1, msize[j]);
            any[j] = 1;
        }
        noise_sample(r, i, &rng, one.offset_noise);
    }
    b->self_mask = any[0] ? r->masks[0] : NULL;
    b->cross_mask = any[1] ? r->masks[1] : NULL;
    b->text_mask = any[2] ? r->masks[2] : NULL;
    b->self_mask_bstride = any[0] ? (int64_t)msize[0] : 0;
    b->cross_mask_bstride = any[1] ? (int64_t)msize[1] : 0;
    b->text_mask_bstride = any[2] ? (int64_t)msize[2] : 0;
    return GL_OK;
}

/* Global gradient norm over trainable parameters, in double, in a fixed order. */
static double grad_norm(gl_params *p) {
    double s = 0;
    for (int i = 0; i < gl_params_count(p); i++) {
        if (gl_params_flags(p, i) & GL_PARAM_FROZEN) continue;
        gl_tensor t = gl_params_tensor(p, i);
        int64_t n = gl_tensor_numel(&t);
        for (int64_t j = 0; j < n; j++) s += (double)t.grad[j] * t.grad[j];
    }
    return sqrt(s);
}

static const char *first_bad_grad(gl_params *p) {
    for (int i = 0; i < gl_params_count(p); i++) {
        gl_tensor t = gl_params_tensor(p, i);
        int64_t n = gl_tensor_numel(&t);
        for (int64_t j = 0; j < n; j++)
            if (!isfinite(t.grad[j])) return gl_params_name(p, i);
    }
    return "?";
}

/* Rank 0 resumes from the checkpoint (when asked and there is one) and sends the others
 * the outcome, the step and the state (weights, AdamW moments, EMA); the weights go out
 * on a fresh start too, so every rank starts from rank 0's whatever made them. The
 * checkpoint then need only be where rank 0 runs. */
static int start_state(run *r, int64_t *start, char *msg, size_t msglen) {
    const gl_train_opts *o = r->o;
    int64_t head[3] = {GL_OK, 0, 0}; /* outcome, step, moments loaded */
    if (r->rank == 0 && o->resume && o->checkpoint && access(o->checkpoint, F_OK) == 0) {
        int rc = load_checkpoint(r, &head[1], msg, msglen);
        if (rc == GL_OK && head[1] > o->steps) {
            snprintf(msg, msglen, "%s: checkpoint is at step %lld, beyond --steps %lld", o->checkpoint,
                     (long long)head[1], (long long)o->steps);
            rc = GL_EINVAL;
        }
        head[0] = rc;
        head[2] = 1;
    }
    int rc = gl_dist_broadcast(head, sizeof head, 0);
    if (rc == GL_OK && head[0] != GL_OK) {
        if (r->rank != 0)
            snprintf(msg, msglen, "rank 0 could not resume from %s (its message says why)", o->checkpoint);
        return (int)head[0];
    }
    *start = head[1];
    if (rc == GL_OK && r->ranks > 1) {
        gl_params *p = r->p;
        const size_t bytes = (size_t)gl_params_numel(p) * sizeof(float);
        rc = gl_dist_broadcast(gl_params_data(p), bytes, 0);
        if (rc == GL_OK && head[2]) rc = gl_params_alloc_moments(p);
        if (rc == GL_OK && head[2]) rc = gl_dist_broadcast(gl_params_adam_m(p), bytes, 0);
        if (rc == GL_OK && head[2]) rc = gl_dist_broadcast(gl_params_adam_v(p), bytes, 0);
        if (rc == GL_OK && r->ema) rc = gl_dist_broadcast(r->ema, bytes, 0);
    }
    if (rc) snprintf(msg, msglen, "cannot share rank 0's starting state with the other ranks: %s",
                     gl_strerror(rc));
    return rc;
}

int gl_train_run(gl_dit *m, const gl_train_opts *o, gl_batch_fn next, void *ctx, gl_train_result *res,
                 char *msg, size_t msglen) {
    memset(res, 0, sizeof *res);
    run r = {.m = m, .p = o->params ? o->params : gl_dit_params(m), .o = o, .rank = gl_dist_rank(),
             .ranks = gl_dist_size()};
    FILE *log = NULL;
    int rc = GL_OK;
    if (o->steps < 1 || o->batch < 1 || !(o->lr > 0) || o->prompt_drop < 0 || o->prompt_drop > 1 || o->ema < 0 ||
        o->ema >= 1 || !(o->colour_weight >= 0 && isfinite(o->colour_weight))) {
        snprintf(msg, msglen, "train: steps and batch must be >= 1, lr > 0, prompt drop in [0,1], ema in [0,1), "
                              "colour weight finite and >= 0");
        return GL_EINVAL;
    }
    if (o->batch % r.ranks) {
        snprintf(msg, msglen, "a batch of %lld does not split over %d MPI ranks: give a multiple of %d",
                 (long long)o->batch, r.ranks, r.ranks);
        return GL_EINVAL;
    }
    r.first = (int64_t)r.rank * (o->batch / r.ranks);
    if ((rc = run_alloc(&r, msg, msglen))) goto end;
    int64_t start = 0;
    if ((rc = start_state(&r, &start, msg, msglen))) goto end;
    res->start_step = start;
    if (o->log_csv && r.rank == 0) {
        int fresh = start == 0 || access(o->log_csv, F_OK) != 0;
        if (!fresh && (rc = truncate_log(o->log_csv, start, msg, msglen))) goto end;
        log = fopen(o->log_csv, fresh ? "w" : "a");
        if (!log) {
            snprintf(msg, msglen, "%s: cannot open the log for writing", o->log_csv);
            rc = GL_EIO;
            goto end;
        }
        if (fresh) fprintf(log, "step,loss,lr,grad_norm,seconds\n");
    }
    gl_adamw opt = gl_adamw_default();
    opt.weight_decay = o->weight_decay;
    double t0 = now_seconds(), tail = 0;
    int tail_n = 0;
    gl_train_batch *b = &r.b;
    /* the colour term's cells: the model's cells where they tile the sample (a grid's
     * canvas, or one cell), else the whole frame */
    const gl_dit_config *c = gl_dit_cfg(m);
    const int64_t cm_h = b->H % c->cell_h == 0 ? c->cell_h : b->H, cm_w = b->W % c->cell_w == 0 ? c->cell_w : b->W;
    /* a part already done (stop_after at or before the checkpoint) runs nothing */
    const int64_t end_step = o->stop_after > 0 && o->stop_after < o->steps ? o->stop_after : o->steps;
    for (int64_t step = start; step < end_step; step++) {
        double ts = now_seconds();
        uint64_t k = o->repeat_noise ? 0 : (uint64_t)(step + 1);
        if ((rc = fill_batch(&r, next, ctx, step, k, msg, msglen))) goto end;
        /* adapter dropout (gl_lora_set_dropout) draws from a stream of its own for (seed,
         * k), so turning it on changes no other draw; its masks are indexed by each item's
         * place in the whole batch (first_item), the same on whichever rank */
        gl_rng drop;
        gl_rng_seed(&drop, (o->seed * 0x9E3779B97F4A7C15ull ^ k * 0xD1B54A32D192ED03ull) + 0x6C6F72615F64726Full);
        gl_dit_batch db = {.B = b->B, .F = b->F, .H = b->H, .W = b->W, .x = r.xt, .t = r.t_tok, .text = b->text,
                           .text_lens = b->text_lens, .self_mask = b->self_mask,
                           .self_mask_bstride = b->self_mask_bstride, .cross_mask = b->cross_mask,
                           .cross_mask_bstride = b->cross_mask_bstride, .text_mask = b->text_mask,
                           .text_mask_bstride = b->text_mask_bstride, .train = 1,
                           .dropout_seed = gl_rng_u64(&drop), .first_item = r.first};
        gl_arena_reset(r.arena);
        if ((rc = gl_dit_forward(m, r.arena, &db, r.pred, msg, msglen))) goto end;
        /* the masked mean over the whole batch: ranks add numerators and denominators,
         * never their own means (their masks may hold different counts) */
        double sums[4] = {0, 0, 0, 0}, mine;
        gl_mse_sums(r.pred, r.v, r.mask, r.n, &sums[0], &sums[1]);
        mine = sums[1];
        if (o->colour_weight > 0) {
            int64_t groups = 0;
            gl_cellmean_sums(r.pred, r.v, r.mask, b->B * b->F, b->H, b->W, c->channels, cm_h, cm_w, &sums[2], &groups);
            sums[3] = (double)groups;
        }
        if ((rc = gl_dist_allreduce_sum_f64(sums, 4))) {
            snprintf(msg, msglen, "step %lld: MPI could not add the loss over the ranks", (long long)step + 1);
            goto end;
        }
        double loss = sums[1] > 0 ? sums[0] / sums[1] : 0.0;
        if (sums[3] > 0) loss += (double)o->colour_weight * sums[2] / sums[3];
        if (!isfinite(loss)) {
            snprintf(msg, msglen, "train: the loss is %g at step %lld; stopping (the last checkpoint is kept)", loss,
                     (long long)step + 1);
            rc = GL_EFORMAT;
            goto end;
        }
        memset(r.dpred, 0, (size_t)r.n * sizeof(float));
        /* this rank's part of the whole mean's gradient: 2 m (p - y) / (whole sum of m);
         * one rank alone gets dloss 1 exactly */
        if (mine > 0) gl_mse_backward(r.dpred, r.pred, r.v, r.mask, r.n, (float)(mine / sums[1]));
        if (sums[3] > 0)
            gl_cellmean_backward(r.dpred, r.pred, r.v, r.mask, b->B * b->F, b->H, b->W, c->channels, cm_h, cm_w,
                                 (float)((double)o->colour_weight / sums[3]));
        gl_params_zero_grad(r.p);
        if ((rc = gl_dit_backward(m, r.arena, r.dpred))) goto end;
        /* one in-place sum of the one contiguous gradient buffer: every rank then holds
         * the whole batch's gradient, so norm, clipping and step agree everywhere */
        if ((rc = gl_dist_allreduce_sum_f32(gl_params_grads(r.p), gl_params_numel(r.p)))) {
            snprintf(msg, msglen, "step %lld: MPI could not add the gradients over the ranks",
                     (long long)step + 1);
            goto end;
        }
        double gn = grad_norm(r.p);
        if (!isfinite(gn)) {
            snprintf(msg, msglen, "train: gradient of '%s' is not finite at step %lld; stopping (the last checkpoint is kept)",
                     first_bad_grad(r.p), (long long)step + 1);
            rc = GL_EFORMAT;
            goto end;
        }
        if (o->clip_norm > 0 && gn > o->clip_norm) {
            float s = (float)(o->clip_norm / gn), *g = gl_params_grads(r.p);
            int64_t np = gl_params_numel(r.p);
            for (int64_t j = 0; j < np; j++) g[j] *= s;
        }
        opt.lr = gl_train_lr(o, step);
        if ((rc = gl_params_adamw_step(r.p, &opt, step + 1))) goto end;
        if (r.ema) {
            float *w = gl_params_data(r.p), d = o->ema;
            for (int i = 0; i < gl_params_count(r.p); i++) {
                if (gl_params_flags(r.p, i) & GL_PARAM_FROZEN) continue;
                gl_tensor t = gl_params_tensor(r.p, i);
                int64_t off = t.data - w, n = gl_tensor_numel(&t);
                for (int64_t j = 0; j < n; j++) r.ema[off + j] = d * r.ema[off + j] + (1 - d) * w[off + j];
            }
        }
        double el = now_seconds() - ts;
        if (log) fprintf(log, "%lld,%.6g,%.6g,%.6g,%.4f\n", (long long)step + 1, loss, opt.lr, gn, el);
        res->last_loss = loss;
        res->steps_done++;
        if (step >= o->steps - 10) { tail += loss; tail_n++; }
        if (o->progress && r.rank == 0) o->progress(o->progress_ctx, step + 1, o->steps, loss, (double)o->batch / el);
        int last = step + 1 == o->steps || step + 1 == o->stop_after;
        if (r.rank == 0 && o->checkpoint &&
            (last || (o->checkpoint_every > 0 && (step + 1) % o->checkpoint_every == 0))) {
            if (log) fflush(log);
            if ((rc = save_checkpoint(&r, step + 1, msg, msglen))) goto end;
        }
    }
    res->mean_loss_last10 = tail_n ? tail / tail_n : 0;
    res->seconds = now_seconds() - t0;
end:
    if (log) fclose(log);
    run_free(&r);
    return rc;
}
