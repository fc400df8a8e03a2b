/* tests/test_lora.c: the LoRA adapter op against a double reference and finite
 * differences (pattern of tests/test_linear.c); the adapter in the model; its dropout:
 * the mask's statistics and determinism, gradients through a fixed mask, training
 * forwards only, exact resumes. */
#define _POSIX_C_SOURCE 200809L /* mkdtemp */
#include <string.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "gridlora/core.h"
#include "gridlora/lora.h"
#include "gridlora/model.h"
#include "gridlora/nn.h"
#include "gridlora/safetensors.h"
#include "gridlora/train.h"
#include "testutil.h"

typedef struct lora_ctx {
    int64_t N, IC, OC, r;
    double scale;
} lora_ctx;

/* in[0] = inp [N,IC], in[1] = A [r,IC], in[2] = B [OC,r]; out = scale * inp A^T B^T */
static void ref_lora(void *vctx, double *const *in, double *out) {
    const lora_ctx *c = vctx;
    for (int64_t n = 0; n < c->N; n++)
        for (int64_t o = 0; o < c->OC; o++) {
            double s = 0;
            for (int64_t k = 0; k < c->r; k++) {
                double h = 0;
                for (int64_t i = 0; i < c->IC; i++) h += in[0][n * c->IC + i] * in[1][k * c->IC + i];
                s += h * in[2][o * c->r + k];
            }
            out[n * c->OC + o] = c->scale * s;
        }
}

static void run(const lora_ctx *c, const float *x, const float *A, const float *B, const float *g, float *y,
                float *h, float *dx, float *dA, float *dB, float *dh) {
    memset(y, 0, (size_t)(c->N * c->OC) * sizeof(float));
    gl_lora_forward(y, h, x, A, B, c->N, c->IC, c->OC, c->r, (float)c->scale);
    memset(dx, 0, (size_t)(c->N * c->IC) * sizeof(float));
    memset(dA, 0, (size_t)(c->r * c->IC) * sizeof(float));
    memset(dB, 0, (size_t)(c->OC * c->r) * sizeof(float));
    gl_lora_backward(dx, dA, dB, dh, g, x, h, A, B, c->N, c->IC, c->OC, c->r, (float)c->scale);
}

static void check(int64_t N, int64_t IC, int64_t OC, int64_t r, double scale, uint64_t seed) {
    lora_ctx c = {N, IC, OC, r, scale};
    tu_rng rng;
    tu_seed(&rng, seed);
    float *x = tu_falloc(N * IC), *A = tu_falloc(r * IC), *B = tu_falloc(OC * r), *g = tu_falloc(N * OC);
    float *y = tu_falloc(N * OC), *h = tu_falloc(N * r), *dx = tu_falloc(N * IC), *dA = tu_falloc(r * IC);
    float *dB = tu_falloc(OC * r), *dh = tu_falloc(N * r);
    tu_fill(&rng, x, N * IC, 1.0);
    tu_fill(&rng, A, r * IC, 0.5);
    tu_fill(&rng, B, OC * r, 0.5);
    tu_fill(&rng, g, N * OC, 1.0);
    gl_set_threads(1);
    run(&c, x, A, B, g, y, h, dx, dA, dB, dh);
    double *in[3] = {tu_to_double(x, N * IC), tu_to_double(A, r * IC), tu_to_double(B, OC * r)};
    double *G = tu_to_double(g, N * OC), *yref = tu_dalloc(N * OC);
    ref_lora(&c, in, yref);
    tu_check("lora forward", y, yref, N * OC, TU_TOL);
    int64_t big = N * IC > r * IC ? N * IC : r * IC;
    double *num = tu_dalloc(big > OC * r ? big : OC * r);
    tu_numgrad(ref_lora, &c, in, 0, N * IC, N * OC, G, TU_EPS, num);
    tu_check("lora dinp", dx, num, N * IC, TU_TOL);
    tu_numgrad(ref_lora, &c, in, 1, r * IC, N * OC, G, TU_EPS, num);
    tu_check("lora dA", dA, num, r * IC, TU_TOL);
    tu_numgrad(ref_lora, &c, in, 2, OC * r, N * OC, G, TU_EPS, num);
    tu_check("lora dB", dB, num, OC * r, TU_TOL);
    float *y2 = tu_falloc(N * OC), *dx2 = tu_falloc(N * IC), *dA2 = tu_falloc(r * IC), *dB2 = tu_falloc(OC * r);
    gl_set_threads(2);
    run(&c, x, A, B, g, y2, h, dx2, dA2, dB2, dh);
    tu_check_ff("lora forward, 2 threads", y2, y, N * OC, TU_TOL_THREADS);
    tu_check_ff("lora dinp, 2 threads", dx2, dx, N * IC, TU_TOL_THREADS);
    tu_check_ff("lora dA, 2 threads", dA2, dA, r * IC, TU_TOL_THREADS);
    tu_check_ff("lora dB, 2 threads", dB2, dB, OC * r, TU_TOL_THREADS);
    for (int i = 0; i < 3; i++) tu_free(in[i]);
    tu_free(G); tu_free(yref); tu_free(num); tu_free(y2); tu_free(dx2); tu_free(dA2); tu_free(dB2);
    tu_free(x); tu_free(A); tu_free(B); tu_free(g); tu_free(y); tu_free(h); tu_free(dx); tu_free(dA);
    tu_free(dB); tu_free(dh);
}

static void lora_shapes(void **s) {
    (void)s;
    check(7, 13, 5, 2, 0.5, 1);
    check(1, 1, 1, 1, 2.0, 2);
    check(9, 16, 24, 4, 1.0, 3);
    check(3, 5, 8, 8, 0.25, 4); /* rank above the input width */
}

/* The adapter adds to the base output, its frozen input gradient path and a NULL dA
 * (the Sequence stage trains only B) work; a zero B (the start) changes nothing. */
static void lora_adds_and_nulls(void **s) {
    (void)s;
    enum { N = 4, IC = 6, OC = 5, R = 2 };
    tu_rng r;
    tu_seed(&r, 9);
    float x[N * IC], A[R * IC], B[OC * R] = {0}, y[N * OC], h[N * R], g[N * OC], dh[N * R];
    tu_fill(&r, x, N * IC, 1);
    tu_fill(&r, A, R * IC, 1);
    tu_fill(&r, y, N * OC, 1);
    tu_fill(&r, g, N * OC, 1);
    float y0[N * OC];
    memcpy(y0, y, sizeof y);
    gl_lora_forward(y, h, x, A, B, N, IC, OC, R, 1.0f);
    assert_memory_equal(y, y0, sizeof y);
    float dB[OC * R] = {0};
    gl_lora_backward(NULL, NULL, dB, dh, g, x, h, A, B, N, IC, OC, R, 1.0f);
    int nonzero = 0;
    for (int i = 0; i < OC * R; i++) nonzero += dB[i] != 0.0f;
    assert_true(nonzero > 0); /* B learns first, from A's random projection */
}

static gl_dit *model(int width) {
    gl_dit_config c;
    char msg[256];
    gl_dit_config_preset("tiny", &c);
    c.width = width;
    gl_dit *m = NULL;
    assert_int_equal(gl_dit_new(&m, &c, msg, sizeof msg), GL_OK);
    gl_dit_init_weights(m, 1);
    return m;
}

/* Targets, shapes, PEFT names, files (and a file for another model), merging. */
static void lora_adapter_object(void **s) {
    (void)s;
    char msg[512], dir[] = "/tmp/gl_lora_XXXXXX", path[256];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/a.safetensors", dir);
    gl_dit *m = model(16);
    gl_lora_spec sp = gl_lora_default_spec();
    int32_t toks[2] = {60, 63};
    sp.rank = 4;
    sp.motion = 1;
    sp.tokens = toks;
    sp.n_tokens = 2;
    gl_lora *l = NULL;
    assert_int_equal(gl_lora_new(&l, m, &sp, 7, msg, sizeof msg), GL_OK);
    /* two blocks x (4 self + 4 cross + 2 MLP) projections */
    assert_int_equal(gl_lora_module_count(l), 20);
    assert_string_equal(gl_lora_module_name(l, 0), "blocks.0.attn.q");
    gl_params *lp = gl_lora_params(l);
    int a = gl_params_find(lp, "blocks.1.mlp.fc1.lora_A.weight"), b = gl_params_find(lp, "blocks.1.mlp.fc1.lora_B.weight");
    assert_true(a >= 0 && b >= 0 && gl_params_find(lp, "blocks.1.mlp.fc1.lora_B2.weight") >= 0);
    assert_int_equal(gl_params_tensor(lp, a).shape[0], 4);
    assert_int_equal(gl_params_tensor(lp, a).shape[1], 16);
    assert_int_equal(gl_params_tensor(lp, b).shape[0], 32);
    assert_true(gl_params_tensor(lp, b).data[0] == 0.0f); /* B starts at zero */
    /* the token rows start as the base model's rows */
    gl_params *mp = gl_dit_params(m);
    gl_tensor table = gl_params_tensor(mp, gl_params_find(mp, "text.token_embed.weight"));
    gl_tensor rows = gl_params_tensor(lp, gl_lora_token_rows(l));
    assert_memory_equal(rows.data + 16, table.data + 63 * 16, 16 * sizeof(float));
    /* file round trip */
    tu_rng r;
    tu_seed(&r, 3);
    tu_fill(&r, gl_params_data(lp), gl_params_numel(lp), 0.1);
    assert_int_equal(gl_lora_save(l, path, 0, msg, sizeof msg), GL_OK);
    gl_lora *l2 = NULL;
    assert_int_equal(gl_lora_load(&l2, m, path, msg, sizeof msg), GL_OK);
    assert_memory_equal(gl_params_data(gl_lora_params(l2)), gl_params_data(lp),
                        (size_t)gl_params_numel(lp) * sizeof(float));
    gl_lora_free(&l2);
    /* another model: the message names the tensor that does not fit */
    gl_dit *other = model(24);
    assert_int_not_equal(gl_lora_load(&l2, other, path, msg, sizeof msg), GL_OK);
    assert_non_null(strstr(msg, "lora_A.weight"));
    assert_null(l2);
    gl_dit_free(&other);
    /* merge: W += s (B + B2) A, checked on one entry; token rows written */
    int wi = gl_params_find(mp, "blocks.1.mlp.fc1.weight");
    float w0 = gl_params_tensor(mp, wi).data[3 * 16 + 5];
    const float *A = gl_params_tensor(lp, a).data, *B = gl_params_tensor(lp, b).data;
    const float *B2 = gl_params_tensor(lp, gl_params_find(lp, "blocks.1.mlp.fc1.lora_B2.weight")).data;
    double want = w0;
    for (int k = 0; k < 4; k++) want += 0.5 * gl_lora_scale(l) * (B[3 * 4 + k] + B2[3 * 4 + k]) * A[k * 16 + 5];
    assert_int_equal(gl_lora_merge(m, l, 0.5f, msg, sizeof msg), GL_OK);
    assert_float_equal(gl_params_tensor(mp, wi).data[3 * 16 + 5], want, 1e-6);
    assert_memory_equal(table.data + 60 * 16, rows.data, 16 * sizeof(float));
    /* the default targets shift no norm gain */
    assert_int_equal(gl_lora_gain_count(l), 0);
    /* bad specs */
    sp.targets = "nothing.*";
    assert_int_equal(gl_lora_new(&l2, m, &sp, 1, msg, sizeof msg), GL_EINVAL);
    assert_non_null(strstr(msg, "match no"));
    sp.targets = GL_LORA_DEFAULT_TARGETS;
    toks[0] = (int32_t)gl_dit_cfg(m)->text_vocab;
    assert_int_equal(gl_lora_new(&l2, m, &sp, 1, msg, sizeof msg), GL_EINVAL);
    remove(path);
    rmdir(dir);
    gl_lora_free(&l);
    gl_dit_free(&m);
}

/* Norm gains as targets: a delta per matched gain (zero at first, named "<norm>.lora_gain",
 * the gain's shape), through a file, merged as g += weight d; an adapter of gains alone
 * is allowed; patterns for linear modules do not catch the norms next to them. */
static void lora_gain_targets(void **s) {
    (void)s;
    char msg[512], dir[] = "/tmp/gl_lora_XXXXXX", path[256];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/g.safetensors", dir);
    gl_dit *m = model(16);
    gl_params *mp = gl_dit_params(m);
    gl_lora_spec sp = gl_lora_default_spec();
    sp.targets = "blocks.*.attn.norm_[qk]";
    gl_lora *l = NULL;
    assert_int_equal(gl_lora_new(&l, m, &sp, 7, msg, sizeof msg), GL_OK);
    assert_int_equal(gl_lora_module_count(l), 0);
    assert_int_equal(gl_lora_gain_count(l), 4); /* two blocks x (q, k) */
    assert_string_equal(gl_lora_gain_name(l, 1), "blocks.0.attn.norm_k");
    gl_params *lp = gl_lora_params(l);
    int d = gl_params_find(lp, "blocks.1.attn.norm_q.lora_gain");
    assert_int_equal(d, gl_lora_gain_param(l, 2));
    int gi = gl_params_find(mp, "blocks.1.attn.norm_q.weight");
    assert_int_equal(gl_params_tensor(lp, d).ndim, 1);
    assert_int_equal(gl_params_tensor(lp, d).shape[0], gl_params_tensor(mp, gi).shape[0]);
    assert_true(gl_params_tensor(lp, d).data[0] == 0.0f);
    tu_rng r;
    tu_seed(&r, 4);
    tu_fill(&r, gl_params_data(lp), gl_params_numel(lp), 0.1);
    assert_int_equal(gl_lora_save(l, path, 0, msg, sizeof msg), GL_OK);
    gl_lora *l2 = NULL;
    assert_int_equal(gl_lora_load(&l2, m, path, msg, sizeof msg), GL_OK);
    assert_int_equal(gl_lora_gain_count(l2), 4);
    assert_memory_equal(gl_params_data(gl_lora_params(l2)), gl_params_data(lp),
                        (size_t)gl_params_numel(lp) * sizeof(float));
    gl_lora_free(&l2);
    const float g0 = gl_params_tensor(mp, gi).data[2], d0 = gl_params_tensor(lp, d).data[2];
    assert_int_equal(gl_lora_merge(m, l, 0.5f, msg, sizeof msg), GL_OK);
    assert_float_equal(gl_params_tensor(mp, gi).data[2], g0 + 0.5f * d0, 1e-7);
    gl_lora_free(&l);
    /* retargeting: a default adapter grown by the gains keeps every tensor, the gains at
     * zero; narrower targets than the adapter's are refused, naming a tensor left out */
    gl_lora *wide = NULL;
    sp.targets = GL_LORA_DEFAULT_TARGETS;
    assert_int_equal(gl_lora_new(&l, m, &sp, 7, msg, sizeof msg), GL_OK);
    tu_fill(&r, gl_params_data(gl_lora_params(l)), gl_params_numel(gl_lora_params(l)), 0.1);
    assert_int_equal(gl_lora_retarget(&wide, m, l, GL_LORA_DEFAULT_TARGETS ",blocks.*.attn.norm_[qk]", 9, msg,
                                      sizeof msg), GL_OK);
    assert_int_equal(gl_lora_module_count(wide), gl_lora_module_count(l));
    assert_int_equal(gl_lora_gain_count(wide), 4);
    gl_params *wp = gl_lora_params(wide);
    for (int i = 0; i < gl_params_count(gl_lora_params(l)); i++) {
        gl_tensor a = gl_params_tensor(gl_lora_params(l), i);
        gl_tensor b = gl_params_tensor(wp, gl_params_find(wp, gl_params_name(gl_lora_params(l), i)));
        assert_memory_equal(a.data, b.data, (size_t)gl_tensor_numel(&a) * sizeof(float));
    }
    for (int i = 0; i < 4; i++) assert_true(gl_params_tensor(wp, gl_lora_gain_param(wide, i)).data[0] == 0.0f);
    gl_lora_free(&wide);
    assert_int_equal(gl_lora_retarget(&wide, m, l, "blocks.*.attn.[qkvo]", 9, msg, sizeof msg), GL_EINVAL);
    assert_non_null(strstr(msg, "cross"));
    assert_null(wide);
    gl_lora_free(&l);
    /* linear patterns next to a norm pattern: both kinds, and only what each names */
    sp.targets = "blocks.*.cross.[qkvo],blocks.*.cross.norm_q";
    assert_int_equal(gl_lora_new(&l, m, &sp, 7, msg, sizeof msg), GL_OK);
    assert_int_equal(gl_lora_module_count(l), 8);
    assert_int_equal(gl_lora_gain_count(l), 2);
    gl_lora_free(&l);
    remove(path);
    rmdir(dir);
    gl_dit_free(&m);
}

/* Multi-vector tokens: the token list's layout, the expansion of a prompt's ids (alone
 * and through the model's attached adapters), the file round trip (a single-vector file
 * writes no key for it), and the refusals: vectors that do not divide the ids, a result
 * longer than allowed, a merge. */
static void token_vectors(void **s) {
    (void)s;
    char msg[512], dir[] = "/tmp/gl_lora_XXXXXX", path[256], path1[256];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/v.safetensors", dir);
    snprintf(path1, sizeof path1, "%s/one.safetensors", dir);
    gl_dit *m = model(16);
    gl_lora_spec sp = gl_lora_default_spec();
    assert_int_equal(sp.token_vectors, 1);
    const int32_t toks[6] = {60, 63, 50, 51, 52, 53}; /* named 60 and 63; extras 50, 51 then 52, 53 */
    sp.tokens = toks;
    sp.n_tokens = 6;
    sp.token_vectors = 4;
    gl_lora *l = NULL;
    assert_int_equal(gl_lora_new(&l, m, &sp, 7, msg, sizeof msg), GL_EINVAL); /* 4 does not divide 6 */
    sp.token_vectors = 3;
    assert_int_equal(gl_lora_new(&l, m, &sp, 7, msg, sizeof msg), GL_OK);
    assert_int_equal(gl_lora_token_vectors(l), 3);
    int32_t ids[12] = {5, 63, 6, 60, 7};
    int64_t n = 5;
    assert_int_equal(gl_lora_expand_tokens(l, ids, &n, 8), GL_EINVAL); /* 9 ids */
    assert_int_equal(n, 5);
    assert_int_equal(ids[1], 63);
    assert_int_equal(gl_lora_expand_tokens(l, ids, &n, 12), GL_OK);
    const int32_t want[9] = {5, 63, 51, 53, 6, 60, 50, 52, 7};
    assert_int_equal(n, 9);
    assert_memory_equal(ids, want, sizeof want);
    /* through the model: with the adapter attached, and not after */
    int32_t ids2[12] = {60, 1};
    n = 2;
    assert_int_equal(gl_dit_attach_lora(m, l, 1.0f, msg, sizeof msg), GL_OK);
    assert_int_equal(gl_dit_expand_tokens(m, ids2, &n, 12), GL_OK);
    assert_int_equal(n, 4);
    assert_true(ids2[0] == 60 && ids2[1] == 50 && ids2[2] == 52 && ids2[3] == 1);
    gl_dit_detach_loras(m);
    n = 2;
    ids2[1] = 1;
    assert_int_equal(gl_dit_expand_tokens(m, ids2, &n, 12), GL_OK);
    assert_int_equal(n, 2);
    /* the file keeps the vectors; a single-vector file has no key for them */
    assert_int_equal(gl_lora_save(l, path, 0, msg, sizeof msg), GL_OK);
    gl_lora *l2 = NULL;
    assert_int_equal(gl_lora_load(&l2, m, path, msg, sizeof msg), GL_OK);
    assert_int_equal(gl_lora_token_vectors(l2), 3);
    const int32_t *got;
    assert_int_equal(gl_lora_tokens(l2, &got), 6);
    assert_memory_equal(got, toks, sizeof toks);
    gl_lora_free(&l2);
    gl_st *st = NULL;
    assert_int_equal(gl_st_open(&st, path, msg, sizeof msg), GL_OK);
    assert_string_equal(gl_st_meta_get(st, "lora.token_vectors"), "3");
    gl_st_free(&st);
    gl_lora_spec one = gl_lora_default_spec();
    one.tokens = toks;
    one.n_tokens = 2;
    assert_int_equal(gl_lora_new(&l2, m, &one, 7, msg, sizeof msg), GL_OK);
    assert_int_equal(gl_lora_save(l2, path1, 0, msg, sizeof msg), GL_OK);
    assert_int_equal(gl_st_open(&st, path1, msg, sizeof msg), GL_OK);
    assert_null(gl_st_meta_get(st, "lora.token_vectors"));
    gl_st_free(&st);
    n = 1;
    assert_int_equal(gl_lora_expand_tokens(l2, ids2, &n, 1), GL_OK); /* nothing to expand */
    assert_int_equal(gl_lora_merge(m, l2, 1.0f, msg, sizeof msg), GL_OK);
    gl_lora_free(&l2);
    /* a merged model's prompts would not expand */
    assert_int_equal(gl_lora_merge(m, l, 1.0f, msg, sizeof msg), GL_EINVAL);
    assert_non_null(strstr(msg, "3 embeddings"));
    remove(path);
    remove(path1);
    rmdir(dir);
    gl_lora_free(&l);
    gl_dit_free(&m);
}

/* One forward of a tiny model on a fixed batch; returns sum(out * G). */
typedef struct fwd {
    float x[2 * 8 * 8 * 3], t[32], out[2 * 8 * 8 * 3], G[2 * 8 * 8 * 3];
    int32_t text[16], lens[1];
    gl_arena *arena;
} fwd;

static void fwd_init(fwd *f, const gl_dit *m) {
    tu_rng r;
    tu_seed(&r, 11);
    tu_fill(&r, f->x, 2 * 8 * 8 * 3, 1.0);
    tu_fill(&r, f->G, 2 * 8 * 8 * 3, 1.0);
    for (int i = 0; i < 32; i++) f->t[i] = (float)tu_uniform(&r);
    int32_t text[16] = {7, 60, 9, 63};
    memcpy(f->text, text, sizeof text);
    f->lens[0] = 4;
    f->arena = NULL;
    gl_arena_new(&f->arena, gl_dit_arena_bytes(m, 1, 2, 8, 8) + (1 << 20));
}

static double fwd_run(fwd *f, gl_dit *m) {
    char msg[256];
    gl_dit_batch b = {.B = 1, .F = 2, .H = 8, .W = 8, .x = f->x, .t = f->t, .text = f->text, .text_lens = f->lens};
    gl_arena_reset(f->arena);
    if (gl_dit_forward(m, f->arena, &b, f->out, msg, sizeof msg)) fail_msg("%s", msg);
    double l = 0;
    for (int i = 0; i < 2 * 8 * 8 * 3; i++) l += (double)f->out[i] * f->G[i];
    return l;
}

static void randomize(gl_params *p, uint64_t seed, double sd) {
    tu_rng r;
    tu_seed(&r, seed);
    tu_fill(&r, gl_params_data(p), gl_params_numel(p), sd);
}

/* Every linear module (the default targets, the modulations, patch and time embeddings,
 * the text encoder, the output head) and the QK norm gains of self- and cross-attention. */
#define EVERY_TARGET                                                                                             \
    GL_LORA_DEFAULT_TARGETS ",blocks.*.attn.norm_[qk],blocks.*.cross.norm_[qk],blocks.*.adaln,patch_embed,"      \
                            "time_embed.*,text.blocks.*,text.proj,final.*"

/* Attached to a frozen model: a zero adapter changes nothing; a trained one gives the
 * merged model's output; its gradients (A, B, B2, norm gain deltas, token rows) match
 * finite differences of the whole model and the frozen base gets none. */
static void lora_in_model(void **s) {
    (void)s;
    char msg[256];
    gl_dit *m = model(16);
    gl_params *mp = gl_dit_params(m);
    randomize(mp, 5, 0.3);
    for (int i = 0; i < gl_params_count(mp); i++) gl_params_set_flags(mp, i, GL_PARAM_FROZEN);
    fwd f;
    fwd_init(&f, m);
    double base = fwd_run(&f, m);
    float out0[2 * 8 * 8 * 3];
    memcpy(out0, f.out, sizeof out0);
    gl_lora_spec sp = gl_lora_default_spec();
    int32_t toks[1] = {60};
    sp.rank = 3;
    sp.motion = 1;
    sp.tokens = toks;
    sp.n_tokens = 1;
    sp.targets = EVERY_TARGET;
    gl_lora *l = NULL;
    assert_int_equal(gl_lora_new(&l, m, &sp, 2, msg, sizeof msg), GL_OK);
    assert_int_equal(gl_dit_attach_lora(m, l, 0.7f, msg, sizeof msg), GL_OK);
    gl_arena_free(&f.arena);
    gl_arena_new(&f.arena, gl_dit_arena_bytes(m, 1, 2, 8, 8));
    assert_float_equal(fwd_run(&f, m), base, 1e-9 * fabs(base) + 1e-9);
    gl_params *lp = gl_lora_params(l);
    randomize(lp, 8, 0.3);
    fwd_run(&f, m);
    gl_params_zero_grad(mp);
    gl_params_zero_grad(lp);
    assert_int_equal(gl_dit_backward(m, f.arena, f.G), GL_OK);
    for (int64_t j = 0; j < gl_params_numel(mp); j++) assert_true(gl_params_grads(mp)[j] == 0.0f);
    double worst = 0;
    for (int i = 0; i < gl_params_count(lp); i++) {
        gl_tensor t = gl_params_tensor(lp, i);
        int64_t n = gl_tensor_numel(&t), best = 0;
        for (int64_t j = 1; j < n; j++)
            if (fabsf(t.grad[j]) > fabsf(t.grad[best])) best = j;
        if (fabs(t.grad[best]) < 1e-5) fail_msg("%s has no gradient", gl_params_name(lp, i));
        float saved = t.data[best], h = 1e-2f * fmaxf(fabsf(saved), 0.3f);
        t.data[best] = saved + h;
        double lpl = fwd_run(&f, m);
        t.data[best] = saved - h;
        double lm = fwd_run(&f, m);
        t.data[best] = saved;
        /* The loss sums ~400 float outputs: its rounding noise (measured up to ~5e-6)
         * over 2h (~6e-3) puts a floor of ~1e-3 under the difference quotient, so small
         * gradients are judged against 0.2 (an absolute 6e-3); curvature of the
         * difference quotient errs by up to ~1.5% on large ones. A missing factor or
         * term errs by far more than either. */
        double err = fabs((lpl - lm) / (2.0 * h) - t.grad[best]) / fmax(fabs(t.grad[best]), 0.2);
        if (err > worst) worst = err;
    }
    print_message("adapter gradients: %d tensors, worst relative error %.2e\n", gl_params_count(lp), worst);
    assert_true(worst < 3e-2);
    /* attached == merged */
    double attached_loss = fwd_run(&f, m);
    float out1[2 * 8 * 8 * 3];
    memcpy(out1, f.out, sizeof out1);
    gl_dit_detach_loras(m);
    assert_int_equal(gl_lora_merge(m, l, 0.7f, msg, sizeof msg), GL_OK);
    fwd_run(&f, m);
    double *want = tu_to_double(out1, 2 * 8 * 8 * 3);
    tu_check("merged against attached", f.out, want, 2 * 8 * 8 * 3, 1e-5);
    tu_free(want);
    (void)attached_loss;
    gl_arena_free(&f.arena);
    gl_lora_free(&l);
    gl_dit_free(&m);
}

/* Adapter gradients and the output with an adapter attached (weight 0.7, motion branch,
 * norm gain deltas, token rows) against tools/reference_dit.py in float64, within 1e-4 relative. */
static void lora_matches_pytorch(void **s) {
    (void)s;
    char msg[512], dir[] = "/tmp/gl_lora_ref_XXXXXX", wpath[256], apath[256], cpath[256], cmd[2048];
    assert_non_null(mkdtemp(dir));
    snprintf(wpath, sizeof wpath, "%s/base.safetensors", dir);
    snprintf(apath, sizeof apath, "%s/adapter.safetensors", dir);
    snprintf(cpath, sizeof cpath, "%s/case.safetensors", dir);
    gl_dit *m = model(16);
    gl_params *mp = gl_dit_params(m);
    randomize(mp, 5, 0.3);
    for (int i = 0; i < gl_params_count(mp); i++) gl_params_set_flags(mp, i, GL_PARAM_FROZEN);
    gl_lora_spec sp = gl_lora_default_spec();
    int32_t toks[1] = {60};
    sp.rank = 3;
    sp.motion = 1;
    sp.tokens = toks;
    sp.n_tokens = 1;
    sp.targets = EVERY_TARGET;
    gl_lora *l = NULL;
    assert_int_equal(gl_lora_new(&l, m, &sp, 2, msg, sizeof msg), GL_OK);
    gl_params *lp = gl_lora_params(l);
    randomize(lp, 8, 0.3);
    assert_int_equal(gl_dit_attach_lora(m, l, 0.7f, msg, sizeof msg), GL_OK);
    fwd f;
    fwd_init(&f, m);
    fwd_run(&f, m);
    gl_params_zero_grad(lp);
    assert_int_equal(gl_dit_backward(m, f.arena, f.G), GL_OK);
    if (gl_dit_save(m, wpath, 0, msg, sizeof msg) || gl_lora_save(l, apath, 0, msg, sizeof msg)) fail_msg("%s", msg);
    float text[16], lens[1] = {(float)f.lens[0]};
    for (int i = 0; i < 16; i++) text[i] = (float)f.text[i];
    gl_st_writer *w = NULL;
    assert_int_equal(gl_st_writer_new(&w), GL_OK);
    gl_st_writer_add(w, "x", GL_ST_F32, 5, (int64_t[]){1, 2, 8, 8, 3}, f.x);
    gl_st_writer_add(w, "t", GL_ST_F32, 2, (int64_t[]){1, 32}, f.t);
    gl_st_writer_add(w, "text", GL_ST_F32, 2, (int64_t[]){1, 16}, text);
    gl_st_writer_add(w, "text_lens", GL_ST_F32, 1, (int64_t[]){1}, lens);
    gl_st_writer_add(w, "G", GL_ST_F32, 5, (int64_t[]){1, 2, 8, 8, 3}, f.G);
    gl_st_writer_add(w, "out", GL_ST_F32, 5, (int64_t[]){1, 2, 8, 8, 3}, f.out);
    static char names[128][300];
    assert_true(gl_params_count(lp) <= 128);
    for (int i = 0; i < gl_params_count(lp); i++) {
        gl_tensor t = gl_params_tensor(lp, i);
        snprintf(names[i], sizeof names[i], "grad.lora0.%s", gl_params_name(lp, i));
        assert_int_equal(gl_st_writer_add(w, names[i], GL_ST_F32, t.ndim, t.shape, t.grad), GL_OK);
    }
    if (gl_st_writer_write(w, cpath, msg, sizeof msg)) fail_msg("%s", msg);
    gl_st_writer_free(&w);
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s/tools/reference_dit.py check %s %s --lora %s:0.7", GL_SOURCE_DIR,
             wpath, cpath, apath);
    int rc = system(cmd);
    remove(wpath);
    remove(apath);
    remove(cpath);
    rmdir(dir);
    gl_arena_free(&f.arena);
    gl_lora_free(&l);
    gl_dit_free(&m);
    if (rc != 0) fail_msg("'%s' failed (exit %d): adapter output or gradients disagree with the PyTorch reference", cmd, rc);
}

/* ---- dropout ------------------------------------------------------------------------ */

/* The mask: the fraction dropped is p within 5 standard deviations of a binomial, kept
 * elements are scaled by exactly 1/(1-p), p = 0 is the identity; the mask depends on the
 * seed only, not on the thread count, on how the elements are split into calls, or on
 * whether out is x; the backward passes gradient exactly where the forward kept. */
static void dropout_mask(void **s) {
    (void)s;
    enum { N = 1 << 18 };
    float *x = tu_falloc(N), *y = tu_falloc(N), *y2 = tu_falloc(N), *d = tu_falloc(N), *dx = tu_falloc(N);
    tu_rng r;
    tu_seed(&r, 21);
    tu_fill(&r, x, N, 1.0);
    tu_fill(&r, d, N, 1.0);
    for (int64_t i = 0; i < N; i++)
        if (x[i] == 0.0f) x[i] = 1.0f; /* a zero would look dropped */
    const float ps[] = {0.1f, 0.5f, 0.9f};
    for (int q = 0; q < 3; q++) {
        const float p = ps[q], sc = 1.0f / (1.0f - p);
        gl_set_threads(1);
        gl_dropout_forward(y, x, N, p, 77, 0);
        int64_t dropped = 0;
        for (int64_t i = 0; i < N; i++) {
            if (y[i] == 0.0f) dropped++;
            else if (y[i] != x[i] * sc) fail_msg("p %g: element %lld kept as %g, not %g", (double)p, (long long)i,
                                                 (double)y[i], (double)(x[i] * sc));
        }
        double frac = (double)dropped / N, sd = sqrt(p * (1.0 - p) / N);
        print_message("dropout %.1f: %.4f dropped (sd %.4f)\n", (double)p, frac, sd);
        assert_true(fabs(frac - p) < 5 * sd);
        gl_set_threads(2);
        gl_dropout_forward(y2, x, N, p, 77, 0);
        assert_memory_equal(y2, y, N * sizeof(float));
        gl_dropout_forward(y2, x, 1000, p, 77, 0); /* in two calls */
        gl_dropout_forward(y2 + 1000, x + 1000, N - 1000, p, 77, 1000);
        assert_memory_equal(y2, y, N * sizeof(float));
        memcpy(y2, x, N * sizeof(float)); /* in place */
        gl_dropout_forward(y2, y2, N, p, 77, 0);
        assert_memory_equal(y2, y, N * sizeof(float));
        gl_dropout_forward(y2, x, N, p, 78, 0); /* another seed, another mask */
        int64_t differ = 0;
        for (int64_t i = 0; i < N; i++) differ += (y2[i] == 0.0f) != (y[i] == 0.0f);
        assert_true(fabs((double)differ / N - 2.0 * p * (1.0 - p)) < 0.01);
        /* dx += where kept, dout / (1 - p) */
        memcpy(dx, x, N * sizeof(float));
        gl_dropout_backward(dx, d, N, p, 77, 0);
        for (int64_t i = 0; i < N; i++) {
            float want = y[i] != 0.0f ? x[i] + d[i] * sc : x[i];
            if (dx[i] != want) fail_msg("p %g: gradient %lld is %g, not %g", (double)p, (long long)i, (double)dx[i],
                                        (double)want);
        }
    }
    gl_dropout_forward(y, x, N, 0.0f, 77, 0);
    assert_memory_equal(y, x, N * sizeof(float));
    tu_free(x); tu_free(y); tu_free(y2); tu_free(d); tu_free(dx);
}

typedef struct drop_ctx {
    lora_ctx l;
    const double *keep; /* [N*IC]: 1/(1-p) where the mask keeps, else 0 */
} drop_ctx;

/* ref_lora on the dropped input: in[0] = x, in[1] = A, in[2] = B, the mask fixed */
static void ref_drop_lora(void *vctx, double *const *in, double *out) {
    const drop_ctx *c = vctx;
    const int64_t n = c->l.N * c->l.IC;
    double *xd = malloc((size_t)n * sizeof *xd);
    for (int64_t i = 0; i < n; i++) xd[i] = in[0][i] * c->keep[i];
    double *const in2[3] = {xd, in[1], in[2]};
    ref_lora((void *)&c->l, in2, out);
    free(xd);
}

/* The adapter on a dropped input, dropout forward then gl_lora_forward and back through
 * both, against central differences of the double reference with the same fixed mask. */
static void dropout_lora_gradients(void **s) {
    (void)s;
    const int64_t shapes[2][4] = {{7, 13, 5, 2}, {9, 16, 24, 4}};
    for (int q = 0; q < 2; q++) {
        const int64_t N = shapes[q][0], IC = shapes[q][1], OC = shapes[q][2], r = shapes[q][3];
        const float p = 0.4f;
        const uint64_t seed = 5 + (uint64_t)q;
        drop_ctx c = {{N, IC, OC, r, 0.75}, NULL};
        tu_rng rng;
        tu_seed(&rng, 30 + (uint64_t)q);
        float *x = tu_falloc(N * IC), *xd = tu_falloc(N * IC), *A = tu_falloc(r * IC), *B = tu_falloc(OC * r);
        float *g = tu_falloc(N * OC), *y = tu_falloc(N * OC), *h = tu_falloc(N * r), *dh = tu_falloc(N * r);
        float *dxd = tu_falloc(N * IC), *dx = tu_falloc(N * IC), *dA = tu_falloc(r * IC), *dB = tu_falloc(OC * r);
        float *ones = tu_falloc(N * IC), *m = tu_falloc(N * IC);
        tu_fill(&rng, x, N * IC, 1.0);
        tu_fill(&rng, A, r * IC, 0.5);
        tu_fill(&rng, B, OC * r, 0.5);
        tu_fill(&rng, g, N * OC, 1.0);
        for (int64_t i = 0; i < N * IC; i++) ones[i] = 1.0f;
        gl_dropout_forward(m, ones, N * IC, p, seed, 0); /* the mask, scaled */
        double *keep = tu_to_double(m, N * IC);
        int64_t kept = 0;
        for (int64_t i = 0; i < N * IC; i++) kept += keep[i] != 0;
        assert_true(kept > 0 && kept < N * IC);
        c.keep = keep;
        memset(y, 0, (size_t)(N * OC) * sizeof(float));
        gl_dropout_forward(xd, x, N * IC, p, seed, 0);
        gl_lora_forward(y, h, xd, A, B, N, IC, OC, r, (float)c.l.scale);
        memset(dxd, 0, (size_t)(N * IC) * sizeof(float));
        memset(dx, 0, (size_t)(N * IC) * sizeof(float));
        memset(dA, 0, (size_t)(r * IC) * sizeof(float));
        memset(dB, 0, (size_t)(OC * r) * sizeof(float));
        gl_lora_backward(dxd, dA, dB, dh, g, xd, h, A, B, N, IC, OC, r, (float)c.l.scale);
        gl_dropout_backward(dx, dxd, N * IC, p, seed, 0);
        double *in[3] = {tu_to_double(x, N * IC), tu_to_double(A, r * IC), tu_to_double(B, OC * r)};
        double *G = tu_to_double(g, N * OC), *yref = tu_dalloc(N * OC), *num = tu_dalloc(N * IC + r * IC + OC * r);
        ref_drop_lora(&c, in, yref);
        tu_check("dropout lora forward", y, yref, N * OC, TU_TOL);
        tu_numgrad(ref_drop_lora, &c, in, 0, N * IC, N * OC, G, TU_EPS, num);
        tu_check("dropout lora dinp", dx, num, N * IC, TU_TOL);
        for (int64_t i = 0; i < N * IC; i++)
            if (keep[i] == 0) assert_true(dx[i] == 0.0f); /* no gradient reaches a dropped input */
        tu_numgrad(ref_drop_lora, &c, in, 1, r * IC, N * OC, G, TU_EPS, num);
        tu_check("dropout lora dA", dA, num, r * IC, TU_TOL);
        tu_numgrad(ref_drop_lora, &c, in, 2, OC * r, N * OC, G, TU_EPS, num);
        tu_check("dropout lora dB", dB, num, OC * r, TU_TOL);
        for (int i = 0; i < 3; i++) tu_free(in[i]);
        tu_free(G); tu_free(yref); tu_free(num); tu_free(keep);
        tu_free(x); tu_free(xd); tu_free(A); tu_free(B); tu_free(g); tu_free(y); tu_free(h); tu_free(dh);
        tu_free(dxd); tu_free(dx); tu_free(dA); tu_free(dB); tu_free(ones); tu_free(m);
    }
}

/* A forward (and backward when grads) of the fixed batch with the given dropout switch;
 * the output in f->out, the adapter's gradients in its store. */
static double fwd_drop(fwd *f, gl_dit *m, gl_lora *l, int train, uint64_t seed, int grads) {
    char msg[256];
    gl_dit_batch b = {.B = 1, .F = 2, .H = 8, .W = 8, .x = f->x, .t = f->t, .text = f->text, .text_lens = f->lens,
                      .train = train, .dropout_seed = seed};
    gl_arena_reset(f->arena);
    if (gl_dit_forward(m, f->arena, &b, f->out, msg, sizeof msg)) fail_msg("%s", msg);
    if (grads) {
        gl_params_zero_grad(gl_lora_params(l));
        assert_int_equal(gl_dit_backward(m, f->arena, f->G), GL_OK);
    }
    double loss = 0;
    for (int i = 0; i < 2 * 8 * 8 * 3; i++) loss += (double)f->out[i] * f->G[i];
    return loss;
}

/* In the model: p = 0 in a training forward is bit for bit the forward without dropout
 * (outputs and gradients); p > 0 changes nothing outside training forwards (sampling,
 * evaluation) and, in them, gives masks fixed by the seed; the adapter's gradients
 * through them match finite differences of the whole model with the same seed. */
static void dropout_in_model(void **s) {
    (void)s;
    char msg[256];
    enum { NO = 2 * 8 * 8 * 3 };
    gl_dit *m = model(16);
    gl_params *mp = gl_dit_params(m);
    randomize(mp, 5, 0.3);
    for (int i = 0; i < gl_params_count(mp); i++) gl_params_set_flags(mp, i, GL_PARAM_FROZEN);
    gl_lora_spec sp = gl_lora_default_spec();
    int32_t toks[1] = {60};
    sp.rank = 3;
    sp.motion = 1;
    sp.tokens = toks;
    sp.n_tokens = 1;
    gl_lora *l = NULL;
    assert_int_equal(gl_lora_new(&l, m, &sp, 2, msg, sizeof msg), GL_OK);
    gl_params *lp = gl_lora_params(l);
    randomize(lp, 8, 0.3);
    assert_int_equal(gl_dit_attach_lora(m, l, 0.7f, msg, sizeof msg), GL_OK);
    assert_true(gl_lora_dropout(l) == 0.0f);
    assert_int_equal(gl_lora_set_dropout(l, 1.0f), GL_EINVAL);
    assert_int_equal(gl_lora_set_dropout(l, -0.1f), GL_EINVAL);
    assert_int_equal(gl_lora_set_dropout(l, NAN), GL_EINVAL);
    const size_t nbytes = gl_dit_arena_bytes(m, 1, 2, 8, 8);
    fwd f;
    fwd_init(&f, m);
    const int64_t ng = gl_params_numel(lp);
    float *out0 = tu_falloc(NO), *g0 = tu_falloc(ng), *out1 = tu_falloc(NO), *g1 = tu_falloc(ng);
    fwd_drop(&f, m, l, 0, 0, 1);
    memcpy(out0, f.out, sizeof(float) * NO);
    memcpy(g0, gl_params_grads(lp), (size_t)ng * sizeof(float));
    fwd_drop(&f, m, l, 1, 123, 1); /* p = 0: training changes nothing */
    assert_memory_equal(f.out, out0, sizeof(float) * NO);
    assert_memory_equal(gl_params_grads(lp), g0, (size_t)ng * sizeof(float));
    assert_int_equal(gl_lora_set_dropout(l, 0.3f), GL_OK);
    assert_true(gl_dit_arena_bytes(m, 1, 2, 8, 8) > nbytes); /* two buffers for the dropped input */
    gl_arena_free(&f.arena);
    gl_arena_new(&f.arena, gl_dit_arena_bytes(m, 1, 2, 8, 8));
    fwd_drop(&f, m, l, 0, 123, 1); /* not training: as without dropout */
    assert_memory_equal(f.out, out0, sizeof(float) * NO);
    assert_memory_equal(gl_params_grads(lp), g0, (size_t)ng * sizeof(float));
    fwd_drop(&f, m, l, 1, 123, 1);
    memcpy(out1, f.out, sizeof(float) * NO);
    memcpy(g1, gl_params_grads(lp), (size_t)ng * sizeof(float));
    assert_true(memcmp(out1, out0, sizeof(float) * NO) != 0);
    fwd_drop(&f, m, l, 1, 123, 1); /* the same seed, the same masks */
    assert_memory_equal(f.out, out1, sizeof(float) * NO);
    assert_memory_equal(gl_params_grads(lp), g1, (size_t)ng * sizeof(float));
    fwd_drop(&f, m, l, 1, 124, 0);
    assert_true(memcmp(f.out, out1, sizeof(float) * NO) != 0);
    /* finite differences with the masks of seed 123 (as lora_in_model, which explains the
     * step and the tolerance) */
    double worst = 0;
    for (int i = 0; i < gl_params_count(lp); i++) {
        gl_tensor t = gl_params_tensor(lp, i);
        int64_t n = gl_tensor_numel(&t), best = 0, off = t.grad - gl_params_grads(lp);
        for (int64_t j = 1; j < n; j++)
            if (fabsf(g1[off + j]) > fabsf(g1[off + best])) best = j;
        if (fabs(g1[off + best]) < 1e-5) fail_msg("%s has no gradient", gl_params_name(lp, i));
        float saved = t.data[best], h = 1e-2f * fmaxf(fabsf(saved), 0.3f);
        t.data[best] = saved + h;
        double lpl = fwd_drop(&f, m, l, 1, 123, 0);
        t.data[best] = saved - h;
        double lm = fwd_drop(&f, m, l, 1, 123, 0);
        t.data[best] = saved;
        double err = fabs((lpl - lm) / (2.0 * h) - g1[off + best]) / fmax(fabs(g1[off + best]), 0.2);
        if (err > worst) worst = err;
    }
    print_message("adapter gradients through dropout 0.3: %d tensors, worst relative error %.2e\n",
                  gl_params_count(lp), worst);
    assert_true(worst < 3e-2);
    /* merging ignores the dropout: the merged model is the attached one in evaluation */
    gl_dit_detach_loras(m);
    assert_int_equal(gl_lora_merge(m, l, 0.7f, msg, sizeof msg), GL_OK);
    fwd_drop(&f, m, l, 1, 123, 0);
    double *want = tu_to_double(out0, NO);
    tu_check("merged against attached, not training", f.out, want, NO, 1e-5);
    tu_free(want);
    tu_free(out0); tu_free(g0); tu_free(out1); tu_free(g1);
    gl_arena_free(&f.arena);
    gl_lora_free(&l);
    gl_dit_free(&m);
}

/* An item's masks depend on its place in the whole batch, not on the batch it is in: item
 * 1 of a batch of two equals the same item alone with first_item = 1 (data-parallel
 * ranks), and differs with first_item = 0. */
static void dropout_split_batch(void **s) {
    (void)s;
    char msg[256];
    enum { NI = 2 * 8 * 8 * 3 };
    gl_dit *m = model(16);
    randomize(gl_dit_params(m), 5, 0.3);
    gl_lora_spec sp = gl_lora_default_spec();
    sp.rank = 3;
    gl_lora *l = NULL;
    assert_int_equal(gl_lora_new(&l, m, &sp, 2, msg, sizeof msg), GL_OK);
    randomize(gl_lora_params(l), 8, 0.3);
    assert_int_equal(gl_lora_set_dropout(l, 0.5f), GL_OK);
    assert_int_equal(gl_dit_attach_lora(m, l, 1.0f, msg, sizeof msg), GL_OK);
    float *x = tu_falloc(2 * NI), *t = tu_falloc(64), *out2 = tu_falloc(2 * NI), *out1 = tu_falloc(NI);
    tu_rng r;
    tu_seed(&r, 12);
    tu_fill(&r, x, 2 * NI, 1.0);
    for (int i = 0; i < 64; i++) t[i] = (float)tu_uniform(&r);
    int32_t text[32] = {7, 60, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 8, 61, 10, 11}, lens[2] = {3, 4};
    gl_arena *a = NULL;
    assert_int_equal(gl_arena_new(&a, gl_dit_arena_bytes(m, 2, 2, 8, 8)), GL_OK);
    gl_dit_batch b = {.B = 2, .F = 2, .H = 8, .W = 8, .x = x, .t = t, .text = text, .text_lens = lens,
                      .train = 1, .dropout_seed = 9};
    if (gl_dit_forward(m, a, &b, out2, msg, sizeof msg)) fail_msg("%s", msg);
    b = (gl_dit_batch){.B = 1, .F = 2, .H = 8, .W = 8, .x = x + NI, .t = t + 32, .text = text + 16,
                       .text_lens = lens + 1, .train = 1, .dropout_seed = 9, .first_item = 1};
    gl_arena_reset(a);
    if (gl_dit_forward(m, a, &b, out1, msg, sizeof msg)) fail_msg("%s", msg);
    double *want = tu_to_double(out2 + NI, NI);
    tu_check("item 1 alone, first_item 1", out1, want, NI, 1e-6);
    b.first_item = 0;
    gl_arena_reset(a);
    if (gl_dit_forward(m, a, &b, out1, msg, sizeof msg)) fail_msg("%s", msg);
    assert_true(tu_rel_err(out1, want, NI, 1e-6) > 1e-3);
    b.first_item = -1;
    assert_int_equal(gl_dit_forward(m, a, &b, out1, msg, sizeof msg), GL_EINVAL);
    tu_free(want);
    tu_free(x); tu_free(t); tu_free(out2); tu_free(out1);
    gl_arena_free(&a);
    gl_lora_free(&l);
    gl_dit_free(&m);
}

/* A moving pattern and a 3-token prompt per sample, from the step's rng only. */
static int drop_fill(void *vctx, int64_t step, gl_rng *rng, gl_train_batch *b, char *msg, size_t msglen) {
    (void)vctx; (void)step; (void)msg; (void)msglen;
    for (int64_t i = 0; i < b->B; i++) {
        double phase = gl_rng_uniform(rng) * 6.0;
        for (int64_t e = 0; e < b->F * b->H * b->W * 3; e++) b->x0[i * b->F * b->H * b->W * 3 + e] =
            (float)(0.8 * sin(phase + 0.37 * (double)e));
        b->text_lens[i] = 3;
        for (int k = 0; k < 3; k++) b->text[i * b->text_len + k] = 7 + k;
    }
    return 0;
}

/* Trains an adapter with dropout p on a frozen tiny model for `steps` (stopping after
 * stop_after when > 0, resuming when resume); returns its parameters (tu_free them) and
 * their size in bytes. */
static float *train_adapter(float p, int64_t steps, int64_t stop_after, int resume, const char *ckpt, size_t *bytes) {
    char msg[256];
    gl_dit *m = model(16);
    gl_params *mp = gl_dit_params(m);
    randomize(mp, 5, 0.3);
    for (int i = 0; i < gl_params_count(mp); i++) gl_params_set_flags(mp, i, GL_PARAM_FROZEN);
    gl_lora_spec sp = gl_lora_default_spec();
    sp.rank = 2;
    gl_lora *l = NULL;
    assert_int_equal(gl_lora_new(&l, m, &sp, 4, msg, sizeof msg), GL_OK);
    if (p > 0) assert_int_equal(gl_lora_set_dropout(l, p), GL_OK);
    assert_int_equal(gl_dit_attach_lora(m, l, 1.0f, msg, sizeof msg), GL_OK);
    gl_train_opts o = gl_train_default_opts();
    o.params = gl_lora_params(l);
    o.steps = steps;
    o.batch = 2;
    o.warmup = 1;
    o.lr = 1e-2f;
    o.checkpoint = ckpt;
    o.stop_after = stop_after;
    o.resume = resume;
    gl_train_result res;
    if (gl_train_run(m, &o, drop_fill, NULL, &res, msg, sizeof msg)) fail_msg("%s", msg);
    int64_t n = gl_params_numel(o.params);
    float *w = tu_falloc(n);
    *bytes = (size_t)n * sizeof(float);
    memcpy(w, gl_params_data(o.params), *bytes);
    gl_lora_free(&l);
    gl_dit_free(&m);
    return w;
}

/* Training with dropout: the masks come from the step, so a run stopped and resumed from
 * its checkpoint ends with the adapter of the run straight through; dropout changes the
 * result, and p = 0 is the run without it. */
static void dropout_train_resumes(void **s) {
    (void)s;
    char dir[] = "/tmp/gl_lora_drop_XXXXXX", ckpt[256];
    assert_non_null(mkdtemp(dir));
    snprintf(ckpt, sizeof ckpt, "%s/run.safetensors", dir);
    size_t n = 0;
    float *straight = train_adapter(0.3f, 6, 0, 0, NULL, &n);
    float *first = train_adapter(0.3f, 6, 3, 0, ckpt, &n);
    float *resumed = train_adapter(0.3f, 6, 0, 1, ckpt, &n);
    float *plain = train_adapter(0.0f, 6, 0, 0, NULL, &n);
    assert_memory_equal(resumed, straight, n);
    assert_true(memcmp(first, straight, n) != 0);
    assert_true(memcmp(plain, straight, n) != 0);
    tu_free(straight); tu_free(first); tu_free(resumed); tu_free(plain);
    remove(ckpt);
    rmdir(dir);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(lora_matches_pytorch),
    cmocka_unit_test(lora_in_model),
    cmocka_unit_test(lora_adapter_object),
    cmocka_unit_test(lora_gain_targets),
    cmocka_unit_test(token_vectors),
    cmocka_unit_test(lora_shapes),
    cmocka_unit_test(lora_adds_and_nulls),
    cmocka_unit_test(dropout_mask),
    cmocka_unit_test(dropout_lora_gradients),
    cmocka_unit_test(dropout_in_model),
    cmocka_unit_test(dropout_split_batch),
    cmocka_unit_test(dropout_train_resumes),
};
TU_MAIN("lora", tests)
