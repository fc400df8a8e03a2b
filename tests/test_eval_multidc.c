/* tests/test_eval_multidc.c: the Multi-DC regeneration check (pipeline/eval_multidc.c) on
 * the tiny preset: a tiny model with random frozen weights, a 2-concept data set and a
 * Multi-DC adapter trained a few steps on it. The run's result holds every concept and
 * method, each sample is the one its prompt gives (with or without the adapter, sampled
 * here independently) and its scores are the scoring function's; the truth is the data
 * set's file, its coverage the re-rendered concept's (reduced as the reader reduces the
 * file), and the truth scored against itself is perfect; the same seed gives the same
 * numbers; bad data sets and adapters are errors that say what is wrong. */
#define _POSIX_C_SOURCE 200809L /* mkdtemp */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "gridlora/data.h"
#include "gridlora/dataset.h"
#include "gridlora/eval.h"
#include "gridlora/lora.h"
#include "gridlora/model.h"
#include "gridlora/multidc.h"
#include "gridlora/render.h"
#include "gridlora/tokenizer.h"
#include "gridlora/train.h"
#include "gridlora/video.h"
#include "testutil.h"

typedef struct fixture {
    char dir[64];
    gl_dit_config cfg;
    gl_dit *m;
    gl_lora *l;
} fixture;

/* A data set of `count` concepts from `seed` and `split`, rendered at F frames of S x S
 * (the tiny model's cell is 2 frames of 8x8: a larger set is reduced as training reads it). */
static void write_set(const char *dir, int64_t count, uint64_t seed, int split, int64_t F, int64_t S) {
    gl_dataset_params p = gl_dataset_default_params();
    p.count = count;
    p.seed = seed;
    p.split = split;
    p.render.frames = F;
    p.render.height = p.render.width = S;
    char msg[512];
    gl_video_set_verbose(0);
    if (gl_dataset_write(dir, &p, msg, sizeof msg)) fail_msg("gl_dataset_write: %s", msg);
}

/* The tiny model with random frozen weights (the AdaLN-zero init would ignore the text),
 * and an adapter for the data set's tokens trained 2 + 2 steps (Set, then Sequence). */
static void fixture_make(fixture *fx, int64_t F, int64_t S) {
    memset(fx, 0, sizeof *fx);
    snprintf(fx->dir, sizeof fx->dir, "/tmp/gl_evalmdc_XXXXXX");
    assert_non_null(mkdtemp(fx->dir));
    write_set(fx->dir, 2, 5, GL_SPLIT_TRAIN, F, S);
    char msg[512];
    assert_int_equal(gl_dit_config_preset("tiny", &fx->cfg), GL_OK);
    assert_int_equal(gl_dit_new(&fx->m, &fx->cfg, msg, sizeof msg), GL_OK);
    gl_params *mp = gl_dit_params(fx->m);
    tu_rng r;
    tu_seed(&r, 8);
    tu_fill(&r, gl_params_data(mp), gl_params_numel(mp), 0.2);
    for (int i = 0; i < gl_params_count(mp); i++) gl_params_set_flags(mp, i, GL_PARAM_FROZEN);
    gl_multidc *d = NULL;
    if (gl_multidc_dir(&d, fx->dir, &fx->cfg, NULL, NULL, msg, sizeof msg)) fail_msg("gl_multidc_dir: %s", msg);
    gl_lora_spec sp = gl_lora_default_spec();
    sp.rank = 2;
    sp.motion = 1;
    sp.n_tokens = gl_multidc_tokens(d, &sp.tokens);
    assert_int_equal(gl_lora_new(&fx->l, fx->m, &sp, 3, msg, sizeof msg), GL_OK);
    assert_int_equal(gl_dit_attach_lora(fx->m, fx->l, 1.0f, msg, sizeof msg), GL_OK);
    gl_train_opts o = gl_train_default_opts();
    o.params = gl_lora_params(fx->l);
    o.steps = 2;
    o.batch = 2;
    o.warmup = 0;
    o.lr = 1e-2f;
    gl_train_result res;
    for (int stage = GL_MULTIDC_SET; stage <= GL_MULTIDC_SEQUENCE; stage++) {
        gl_multidc_set_mode(d, stage);
        assert_int_equal(gl_lora_set_stage(fx->l, stage), GL_OK);
        if (gl_train_run(fx->m, &o, gl_multidc_next, d, &res, msg, sizeof msg)) fail_msg("gl_train_run: %s", msg);
    }
    gl_dit_detach_loras(fx->m);
    gl_multidc_free(&d);
}

static void fixture_free(fixture *fx) {
    gl_dit_detach_loras(fx->m);
    gl_lora_free(&fx->l);
    gl_dit_free(&fx->m);
    tu_remove_dir(fx->dir);
}

static gl_eval_multidc_data *open_set(const fixture *fx) {
    gl_eval_multidc_data *d = NULL;
    char msg[512];
    if (gl_eval_multidc_open(&d, fx->dir, &fx->cfg, msg, sizeof msg)) fail_msg("gl_eval_multidc_open: %s", msg);
    return d;
}

/* A prompt sampled here, as `gridlora generate` does, with whatever m has attached. */
static void sample_prompt(gl_dit *m, const gl_sample_opts *so, const char *prompt, gl_video *out) {
    const gl_dit_config *c = gl_dit_cfg(m);
    gl_tokenizer *tk = NULL;
    char msg[512];
    assert_int_equal(gl_domain_tokenizer(c, &tk, msg, sizeof msg), GL_OK);
    int32_t ids[GL_CAPTION_MAX] = {0};
    int64_t n = 0;
    if (gl_tokenize(tk, prompt, ids, GL_CAPTION_MAX, &n, msg, sizeof msg)) fail_msg("%s", msg);
    if (n > c->text_len) n = c->text_len;
    int32_t *text = test_calloc((size_t)c->text_len, sizeof *text);
    memcpy(text, ids, (size_t)n * sizeof *text);
    float *x = tu_falloc(c->frames * c->cell_h * c->cell_w * 3);
    gl_sample_request req = {.F = c->frames, .H = c->cell_h, .W = c->cell_w, .text = text, .text_len = (int32_t)n};
    if (gl_sample(m, so, &req, x, msg, sizeof msg)) fail_msg("gl_sample: %s", msg);
    assert_int_equal(gl_video_alloc(out, c->frames, c->cell_h, c->cell_w), GL_OK);
    for (int64_t i = 0; i < c->frames * c->cell_h * c->cell_w * 3; i++) out->rgb[i] = 0.5f * (x[i] + 1.0f);
    tu_free(x);
    test_free(text);
    gl_tokenizer_free(&tk);
}

static int same_video(const gl_video *a, const gl_video *b) {
    return a->frames == b->frames && a->height == b->height && a->width == b->width &&
           !memcmp(a->rgb, b->rgb, (size_t)(a->frames * a->height * a->width * 3) * sizeof *a->rgb);
}

/* What on_concept is handed, kept. */
typedef struct kept {
    gl_video rows[2][1 + GL_EVAL_MDC_METHODS];
    int calls, statuses;
} kept;

static int keep_rows(void *ctx, int64_t concept, const gl_video *const *rows, int n) {
    kept *k = ctx;
    assert_int_equal(n, 1 + GL_EVAL_MDC_METHODS);
    assert_true(concept >= 0 && concept < 2);
    k->calls++;
    for (int r = 0; r < n; r++) {
        gl_video *v = &k->rows[concept][r];
        gl_video_release(v);
        assert_int_equal(gl_video_alloc(v, rows[r]->frames, rows[r]->height, rows[r]->width), GL_OK);
        memcpy(v->rgb, rows[r]->rgb, (size_t)(v->frames * v->height * v->width * 3) * sizeof *v->rgb);
    }
    return 0;
}

static void count_status(void *ctx, const char *line) {
    kept *k = ctx;
    assert_non_null(strstr(line, "3 samplings"));
    k->statuses++;
}

static void kept_free(kept *k) {
    for (int c = 0; c < 2; c++)
        for (int r = 0; r < 1 + GL_EVAL_MDC_METHODS; r++) gl_video_release(&k->rows[c][r]);
}

/* Every concept, every method: prompts from the manifest, samples as the prompts give
 * them (the adapter attached for token and prompt only), scores as the scoring function
 * gives them, the truth the data set's file. */
static void run_holds_every_concept_and_method(void **st) {
    (void)st;
    fixture fx;
    fixture_make(&fx, 8, 32); /* the data set's default size: reduced to the tiny cell */
    gl_eval_multidc_data *d = open_set(&fx);
    char msg[1024];
    assert_int_equal(gl_eval_multidc_count(d), 2);
    assert_int_equal(gl_eval_multidc_check_lora(d, fx.l, msg, sizeof msg), GL_OK);
    kept k;
    memset(&k, 0, sizeof k);
    gl_eval_multidc_params p = gl_eval_multidc_default_params();
    p.lora = fx.l;
    p.so.steps = 2;
    p.on_concept = keep_rows;
    p.on_status = count_status;
    p.ctx = &k;
    gl_eval_multidc_concept res[2];
    for (int64_t i = 0; i < 2; i++)
        if (gl_eval_multidc_run(fx.m, d, &p, i, &res[i], msg, sizeof msg)) fail_msg("run: %s", msg);
    assert_int_equal(k.calls, 2);
    assert_int_equal(k.statuses, 2);
    const int64_t P = fx.cfg.frames * fx.cfg.cell_h * fx.cfg.cell_w;
    float *alpha = tu_falloc(P);
    for (int64_t i = 0; i < 2; i++) {
        const gl_eval_multidc_concept *c = &res[i];
        cJSON *line = tu_manifest_line(fx.dir, i);
        const char *token = cJSON_GetObjectItem(line, "token")->valuestring;
        assert_int_equal(c->index, i);
        assert_string_equal(c->token, token);
        char want[64];
        snprintf(want, sizeof want, "a %s", token);
        assert_string_equal(c->prompts[GL_EVAL_MDC_TOKEN], want);
        assert_string_equal(c->prompts[GL_EVAL_MDC_PROMPT], cJSON_GetObjectItem(line, "prompt")->valuestring);
        assert_string_equal(c->prompts[GL_EVAL_MDC_CAPTION], cJSON_GetObjectItem(line, "caption")->valuestring);
        char seed[32];
        snprintf(seed, sizeof seed, "%llu", (unsigned long long)c->seed);
        assert_string_equal(seed, cJSON_GetObjectItem(line, "seed")->valuestring);
        assert_true(c->render_psnr >= GL_EVAL_RENDER_PSNR_MIN && c->render_psnr <= GL_EVAL_PSNR_MAX);
        /* the truth row is the data set's file as training reads it */
        char path[256];
        snprintf(path, sizeof path, "%s/%s", fx.dir, cJSON_GetObjectItem(line, "file")->valuestring);
        gl_video_read_opts ro = gl_video_read_default_opts();
        ro.frames = fx.cfg.frames;
        ro.height = fx.cfg.cell_h;
        ro.width = fx.cfg.cell_w;
        gl_video file = {0}, truth = {0};
        if (gl_video_read(path, &ro, &file, NULL, msg, sizeof msg)) fail_msg("%s", msg);
        assert_true(same_video(&k.rows[i][0], &file));
        double rp = 0;
        assert_int_equal(gl_eval_multidc_truth(d, i, &truth, alpha, &rp, msg, sizeof msg), GL_OK);
        assert_true(same_video(&truth, &file) && rp == c->render_psnr);
        /* each sample is its prompt's, the adapter attached for token and prompt only */
        for (int mth = 0; mth < GL_EVAL_MDC_METHODS; mth++) {
            gl_video want_v = {0};
            gl_dit_detach_loras(fx.m);
            if (mth != GL_EVAL_MDC_CAPTION) assert_int_equal(gl_dit_attach_lora(fx.m, fx.l, 1.0f, msg, sizeof msg), 0);
            sample_prompt(fx.m, &p.so, c->prompts[mth], &want_v);
            gl_dit_detach_loras(fx.m);
            assert_true(same_video(&k.rows[i][1 + mth], &want_v));
            gl_eval_multidc_scores s;
            assert_int_equal(gl_eval_multidc_score(&want_v, &truth, alpha, &s), GL_OK);
            assert_memory_equal(&s, &c->s[mth], sizeof s);
            assert_true(isfinite(s.psnr) && s.psnr < GL_EVAL_PSNR_MAX && s.identity > 0 && s.motion >= 0);
            assert_true(c->seconds[mth] >= 0);
            gl_video_release(&want_v);
        }
        /* the token alone means something only with the adapter: without it, another sample */
        gl_video bare = {0};
        sample_prompt(fx.m, &p.so, c->prompts[GL_EVAL_MDC_TOKEN], &bare);
        assert_false(same_video(&bare, &k.rows[i][1 + GL_EVAL_MDC_TOKEN]));
        double floor = 0;
        assert_int_equal(gl_eval_motion_path(&truth, alpha, &floor), GL_OK);
        assert_true(floor == c->motion_floor);
        gl_video_release(&bare);
        gl_video_release(&file);
        gl_video_release(&truth);
        cJSON_Delete(line);
    }

    /* the JSON: every method, every concept */
    cJSON *j = gl_eval_multidc_json(&p, fx.m, res, 2);
    assert_non_null(j);
    assert_string_equal(cJSON_GetObjectItem(j, "mode")->valuestring, "multidc");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "methods")), GL_EVAL_MDC_METHODS);
    const cJSON *concepts = cJSON_GetObjectItem(j, "concepts");
    assert_int_equal(cJSON_GetArraySize(concepts), 2);
    static const char *const metrics[4] = {"psnr", "identity", "motion", "motion_path"};
    for (int mth = 0; mth < GL_EVAL_MDC_METHODS; mth++) {
        const char *name = gl_eval_multidc_method_name(mth);
        assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "methods"), mth)->valuestring, name);
        gl_eval_multidc_scores mean = gl_eval_multidc_mean(res, 2, mth);
        assert_float_equal(mean.psnr, (res[0].s[mth].psnr + res[1].s[mth].psnr) / 2, 1e-12);
        const cJSON *sm = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "summary"), name);
        assert_float_equal(cJSON_GetObjectItem(sm, "psnr")->valuedouble, mean.psnr, 1e-9);
        for (int64_t i = 0; i < 2; i++) {
            const cJSON *c = cJSON_GetArrayItem(concepts, (int)i);
            const cJSON *sc = cJSON_GetObjectItem(cJSON_GetObjectItem(c, "scores"), name);
            for (int q = 0; q < 4; q++) assert_true(cJSON_IsNumber(cJSON_GetObjectItem(sc, metrics[q])));
            assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(c, "prompts"), name)->valuestring,
                                res[i].prompts[mth]);
        }
    }
    assert_null(gl_eval_multidc_method_name(GL_EVAL_MDC_METHODS));
    cJSON_Delete(j);
    /* a score that cannot be measured is left out of the mean, and null in the JSON */
    res[1].s[GL_EVAL_MDC_TOKEN].identity = NAN;
    assert_true(gl_eval_multidc_mean(res, 2, GL_EVAL_MDC_TOKEN).identity == res[0].s[GL_EVAL_MDC_TOKEN].identity);
    j = gl_eval_multidc_json(&p, fx.m, res, 2);
    const cJSON *c1 = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "concepts"), 1);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(c1, "scores"), "token"),
                                                 "identity")));
    cJSON_Delete(j);
    tu_free(alpha);
    kept_free(&k);
    gl_eval_multidc_free(&d);
    fixture_free(&fx);
}

/* A "sample" equal to the truth scores perfectly through the run's own scoring; with a
 * data set at the cell's size the coverage is the renderer's own, unreduced, and the file
 * its re-render within the codec's error. */
static void truth_against_itself_is_perfect(void **st) {
    (void)st;
    fixture fx;
    fixture_make(&fx, 2, 8); /* the tiny cell itself */
    gl_eval_multidc_data *d = open_set(&fx);
    const int64_t P = fx.cfg.frames * fx.cfg.cell_h * fx.cfg.cell_w;
    float *alpha = tu_falloc(P), *want = tu_falloc(P);
    char msg[512];
    for (int64_t i = 0; i < 2; i++) {
        gl_video truth = {0}, re = {0};
        double rp = 0;
        assert_int_equal(gl_eval_multidc_truth(d, i, &truth, alpha, &rp, msg, sizeof msg), GL_OK);
        gl_concept c;
        cJSON *line = tu_manifest_line(fx.dir, i);
        assert_int_equal(gl_concept_from_json(cJSON_GetObjectItem(line, "concept"), &c, msg, sizeof msg), GL_OK);
        gl_scene s;
        gl_render_opts o = gl_render_default_opts();
        o.frames = fx.cfg.frames;
        o.height = fx.cfg.cell_h;
        o.width = fx.cfg.cell_w;
        assert_int_equal(gl_scene_from_variant(&s, &c, NULL, GL_VARIANT_PLAIN), GL_OK);
        assert_int_equal(gl_render_scene(&s, &o, &re, want), GL_OK);
        assert_memory_equal(alpha, want, (size_t)P * sizeof *alpha);
        double db = 0;
        assert_int_equal(gl_eval_psnr(&re, &truth, &db), GL_OK);
        assert_true(db == rp && rp > 30.0); /* the codec's error only */
        gl_eval_multidc_scores sc;
        assert_int_equal(gl_eval_multidc_score(&truth, &truth, alpha, &sc), GL_OK);
        assert_true(sc.psnr == GL_EVAL_PSNR_MAX);
        assert_true(sc.identity == 0.0);
        assert_true(sc.motion == 0.0);
        double floor = 0;
        assert_int_equal(gl_eval_motion_path(&truth, alpha, &floor), GL_OK);
        assert_true(sc.motion_path == floor);
        /* and something else scores worse on every count */
        gl_video other = {0};
        assert_int_equal(gl_video_alloc(&other, truth.frames, truth.height, truth.width), GL_OK);
        for (int64_t q = 0; q < P * 3; q++) other.rgb[q] = 1.0f - truth.rgb[q];
        assert_int_equal(gl_eval_multidc_score(&other, &truth, alpha, &sc), GL_OK);
        assert_true(sc.psnr < GL_EVAL_PSNR_MAX && sc.identity > 0);
        gl_video_release(&other);
        gl_video_release(&truth);
        gl_video_release(&re);
        cJSON_Delete(line);
    }
    tu_free(alpha);
    tu_free(want);
    gl_eval_multidc_free(&d);
    fixture_free(&fx);
}

/* The same seed gives the same numbers, bit for bit; another seed other samples. */
static void same_seed_same_numbers(void **st) {
    (void)st;
    fixture fx;
    fixture_make(&fx, 8, 32);
    gl_eval_multidc_data *d = open_set(&fx);
    gl_eval_multidc_params p = gl_eval_multidc_default_params();
    p.lora = fx.l;
    p.so.steps = 2;
    p.so.seed = 4;
    gl_eval_multidc_concept a, b, c;
    char msg[1024];
    if (gl_eval_multidc_run(fx.m, d, &p, 1, &a, msg, sizeof msg)) fail_msg("%s", msg);
    if (gl_eval_multidc_run(fx.m, d, &p, 1, &b, msg, sizeof msg)) fail_msg("%s", msg);
    assert_memory_equal(a.s, b.s, sizeof a.s);
    assert_true(a.render_psnr == b.render_psnr && a.motion_floor == b.motion_floor);
    p.so.seed = 5;
    if (gl_eval_multidc_run(fx.m, d, &p, 1, &c, msg, sizeof msg)) fail_msg("%s", msg);
    assert_true(c.s[GL_EVAL_MDC_TOKEN].psnr != a.s[GL_EVAL_MDC_TOKEN].psnr);
    assert_true(c.render_psnr == a.render_psnr); /* the truth does not depend on the sampling */
    gl_eval_multidc_free(&d);
    fixture_free(&fx);
}

static void expect_open_error(const char *dir, const gl_dit_config *cfg, int code, const char *needle) {
    gl_eval_multidc_data *d = NULL;
    char msg[1024] = "";
    int rc = gl_eval_multidc_open(&d, dir, cfg, msg, sizeof msg);
    if (rc != code) fail_msg("gl_eval_multidc_open gave %d, not %d: %s", rc, code, msg);
    assert_null(d);
    if (!strstr(msg, needle)) fail_msg("message '%s' lacks '%s'", msg, needle);
}

/* Rewrites line 0 of DIR's manifest with key set to a string value. */
static void edit_manifest(const char *dir, const char *key, const char *value) {
    char path[256];
    cJSON *l0 = tu_manifest_line(dir, 0), *l1 = tu_manifest_line(dir, 1);
    cJSON_ReplaceItemInObject(l0, key, cJSON_CreateString(value));
    snprintf(path, sizeof path, "%s/manifest.jsonl", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    char *a = cJSON_PrintUnformatted(l0), *b = cJSON_PrintUnformatted(l1);
    fprintf(f, "%s\n%s\n", a, b);
    fclose(f);
    cJSON_free(a);
    cJSON_free(b);
    cJSON_Delete(l0);
    cJSON_Delete(l1);
}

/* An adapter without a concept's token, a held-out set, a missing set, a file that is not
 * its concept, a token the model lacks, an index out of range. */
static void bad_data_and_adapters_fail(void **st) {
    (void)st;
    fixture fx;
    fixture_make(&fx, 2, 8);
    char msg[1024] = "";
    gl_eval_multidc_data *d = open_set(&fx);
    /* an adapter carrying only <c0> */
    gl_lora_spec sp = gl_lora_default_spec();
    const int32_t one[1] = {(int32_t)(fx.cfg.text_vocab - fx.cfg.concept_tokens)};
    sp.tokens = one;
    sp.n_tokens = 1;
    gl_lora *l0 = NULL;
    assert_int_equal(gl_lora_new(&l0, fx.m, &sp, 1, msg, sizeof msg), GL_OK);
    assert_int_equal(gl_eval_multidc_check_lora(d, l0, msg, sizeof msg), GL_EINVAL);
    assert_non_null(strstr(msg, "no embedding for <c1>"));
    gl_eval_multidc_params p = gl_eval_multidc_default_params();
    p.so.steps = 1;
    gl_eval_multidc_concept res;
    assert_int_equal(gl_eval_multidc_run(fx.m, d, &p, 0, &res, msg, sizeof msg), GL_EINVAL); /* no adapter */
    assert_non_null(strstr(msg, "no Multi-DC adapter"));
    p.lora = l0;
    if (gl_eval_multidc_run(fx.m, d, &p, 0, &res, msg, sizeof msg)) fail_msg("%s", msg);
    assert_int_equal(gl_eval_multidc_run(fx.m, d, &p, 1, &res, msg, sizeof msg), GL_EINVAL);
    assert_non_null(strstr(msg, "concept 1 (<c1>)"));
    assert_int_equal(gl_eval_multidc_run(fx.m, d, &p, 2, &res, msg, sizeof msg), GL_EINVAL);
    gl_video truth = {0};
    float *alpha = tu_falloc(fx.cfg.frames * fx.cfg.cell_h * fx.cfg.cell_w);
    assert_int_equal(gl_eval_multidc_truth(d, -1, &truth, alpha, NULL, msg, sizeof msg), GL_EINVAL);
    gl_lora_free(&l0);
    gl_eval_multidc_free(&d);
    assert_null(d);

    /* a file that is not its concept: concept 1's video under concept 0's name */
    char a[128], b[128];
    snprintf(a, sizeof a, "%s/0000.mp4", fx.dir);
    snprintf(b, sizeof b, "%s/0001.mp4", fx.dir);
    assert_int_equal(rename(b, a), 0);
    d = open_set(&fx);
    assert_int_equal(gl_eval_multidc_truth(d, 0, &truth, alpha, NULL, msg, sizeof msg), GL_EFORMAT);
    assert_non_null(strstr(msg, "0000.mp4 is not its manifest's concept re-rendered"));
    assert_null(truth.rgb);
    /* ... and a missing file names it */
    assert_int_equal(gl_eval_multidc_truth(d, 1, &truth, alpha, NULL, msg, sizeof msg) < 0, 1);
    assert_non_null(strstr(msg, "0001.mp4"));
    gl_eval_multidc_free(&d);
    tu_free(alpha);

    /* manifests the check cannot use */
    edit_manifest(fx.dir, "token", "<c9>");
    expect_open_error(fx.dir, &fx.cfg, GL_EINVAL, "token '<c9>' is not one of the model's 4 concept tokens");
    edit_manifest(fx.dir, "token", "<c1>");
    edit_manifest(fx.dir, "prompt", "a <c1> star");
    expect_open_error(fx.dir, &fx.cfg, GL_EINVAL, "line 2: token '<c1>' is already concept 0's");
    edit_manifest(fx.dir, "token", "<c0>");
    edit_manifest(fx.dir, "prompt", "a red star");
    expect_open_error(fx.dir, &fx.cfg, GL_EFORMAT, "lacks the concept's token <c0>");
    edit_manifest(fx.dir, "prompt", "a <c0> star");
    edit_manifest(fx.dir, "caption", "a blu star");
    expect_open_error(fx.dir, &fx.cfg, GL_EFORMAT, "unknown word 'blu'");
    edit_manifest(fx.dir, "caption", "a star");
    edit_manifest(fx.dir, "file", "../0000.mp4");
    expect_open_error(fx.dir, &fx.cfg, GL_EFORMAT, "relative name without '..'");
    edit_manifest(fx.dir, "file", "0000.mp4");
    edit_manifest(fx.dir, "concept", "star");
    expect_open_error(fx.dir, &fx.cfg, GL_EFORMAT, "line 1: concept:");
    tu_remove_dir(fx.dir);
    expect_open_error(fx.dir, &fx.cfg, GL_EIO, "manifest.jsonl: cannot open");
    /* a held-out set: no Multi-DC adapter was trained on one */
    assert_non_null(mkdtemp(strcpy(fx.dir, "/tmp/gl_evalmdc_XXXXXX")));
    write_set(fx.dir, 1, 2, GL_SPLIT_HELDOUT, 2, 8);
    expect_open_error(fx.dir, &fx.cfg, GL_EINVAL, "a held-out concept");
    fixture_free(&fx);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(run_holds_every_concept_and_method),
    cmocka_unit_test(truth_against_itself_is_perfect),
    cmocka_unit_test(same_seed_same_numbers),
    cmocka_unit_test(bad_data_and_adapters_fail),
};
TU_MAIN("eval_multidc", tests)
