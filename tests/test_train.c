/* tests/test_train.c: the rectified-flow training loop: it overfits one video, resumes
 * bit for bit, stops on NaN, follows its schedule, weighs and offsets its noise as told,
 * adds the colour term as told and writes its log. */
#define _POSIX_C_SOURCE 200809L /* mkdtemp */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gridlora/lora.h"
#include "gridlora/model.h"
#include "gridlora/train.h"
#include "testutil.h"

typedef struct source {
    int nan_at; /* step whose batch holds a NaN; -1 none */
    int fixed;  /* the same video every step */
    int weigh;  /* loss weights: 0 as given (ones); 1 the first half of the frames only,
                   2 the second half only, 3 every pixel 3 */
    int zero;   /* every video all zeros */
    int give_offset; /* the source gives each sample offset noise `offset`, not the trainer's */
    double offset;
} source;

/* A smooth coloured pattern moving over the frames; a 3-token prompt. */
static int fill(void *vctx, int64_t step, gl_rng *rng, gl_train_batch *b, char *msg, size_t msglen) {
    (void)msg; (void)msglen;
    source *s = vctx;
    for (int64_t i = 0; i < b->B; i++) {
        int64_t g = b->index + i; /* the sample's place in the whole batch */
        double phase = s->fixed ? 0.3 * (double)g : gl_rng_uniform(rng) * 6.0;
        for (int64_t f = 0; f < b->F; f++)
            for (int64_t y = 0; y < b->H; y++)
                for (int64_t x = 0; x < b->W; x++)
                    for (int c = 0; c < 3; c++)
                        b->x0[(((i * b->F + f) * b->H + y) * b->W + x) * 3 + c] =
                            s->zero ? 0.0f : (float)(0.8 * sin(phase + 0.7 * x + 0.4 * y + 0.9 * f + 2.0 * c));
        b->text_lens[i] = 3;
        for (int k = 0; k < 3; k++) b->text[i * b->text_len + k] = 7 + k + (int32_t)g;
    }
    if (step == s->nan_at) b->x0[5] = NAN;
    if (s->give_offset) b->offset_noise = s->offset;
    for (int64_t p = 0; s->weigh && p < b->B * b->F * b->H * b->W; p++) {
        int first_half = (p / (b->H * b->W)) % b->F < b->F / 2;
        b->weight[p] = s->weigh == 3 ? 3.0f : (s->weigh == 1) == first_half ? 1.0f : 0.0f;
    }
    return 0;
}

static gl_dit *tiny(void) {
    gl_dit_config c;
    char msg[256];
    gl_dit_config_preset("tiny", &c);
    gl_dit *m = NULL;
    assert_int_equal(gl_dit_new(&m, &c, msg, sizeof msg), GL_OK);
    gl_dit_init_weights(m, 3);
    return m;
}

static void train_overfits_one_video(void **st) {
    (void)st;
    gl_dit *m = tiny();
    source s = {.nan_at = -1, .fixed = 1};
    gl_train_opts o = gl_train_default_opts();
    o.steps = 400;
    o.batch = 1;
    o.lr = 1e-2f;
    o.warmup = 20;
    o.lr_min_ratio = 0.01f;
    o.prompt_drop = 0;
    o.repeat_noise = 1;
    gl_train_result r;
    char msg[256];
    assert_int_equal(gl_train_run(m, &o, fill, &s, &r, msg, sizeof msg), GL_OK);
    print_message("tiny preset, one video, %lld steps: final loss %.2e\n", (long long)o.steps, r.last_loss);
    assert_true(r.last_loss < 1e-3);
    gl_dit_free(&m);
}

/* Killed after 7 of 12 steps and resumed: the same weights as 12 steps straight. */
static void train_resume_is_exact(void **st) {
    (void)st;
    char dir[] = "/tmp/gl_train_XXXXXX", ckpt[256], log[256], msg[256];
    assert_non_null(mkdtemp(dir));
    snprintf(ckpt, sizeof ckpt, "%s/run.safetensors", dir);
    snprintf(log, sizeof log, "%s/log.csv", dir);
    source s = {.nan_at = -1};
    gl_train_opts o = gl_train_default_opts();
    o.steps = 12;
    o.batch = 2;
    o.warmup = 3;
    o.ema = 0.9f;
    gl_train_result r;
    gl_dit *a = tiny(), *b = tiny();
    assert_int_equal(gl_train_run(a, &o, fill, &s, &r, msg, sizeof msg), GL_OK);
    o.checkpoint = ckpt;
    o.checkpoint_every = 5;
    o.log_csv = log;
    o.stop_after = 7;
    assert_int_equal(gl_train_run(b, &o, fill, &s, &r, msg, sizeof msg), GL_OK);
    assert_int_equal(r.steps_done, 7);
    gl_dit_free(&b);
    b = tiny(); /* a fresh process: only the checkpoint carries over */
    o.stop_after = 0;
    o.resume = 1;
    assert_int_equal(gl_train_run(b, &o, fill, &s, &r, msg, sizeof msg), GL_OK);
    assert_int_equal(r.start_step, 7);
    assert_int_equal(r.steps_done, 5);
    gl_params *pa = gl_dit_params(a), *pb = gl_dit_params(b);
    assert_memory_equal(gl_params_data(pa), gl_params_data(pb), (size_t)gl_params_numel(pa) * sizeof(float));
    /* the log has each step once, in order */
    FILE *f = fopen(log, "r");
    assert_non_null(f);
    char line[256];
    assert_non_null(fgets(line, sizeof line, f));
    assert_string_equal(line, "step,loss,lr,grad_norm,seconds\n");
    for (int k = 1; k <= 12; k++) {
        assert_non_null(fgets(line, sizeof line, f));
        assert_int_equal(atoi(line), k);
    }
    assert_null(fgets(line, sizeof line, f));
    fclose(f);
    /* a checkpoint of another seed refuses to resume */
    const uint64_t seed = o.seed;
    o.seed = 99;
    gl_dit_free(&b);
    b = tiny();
    assert_int_equal(gl_train_run(b, &o, fill, &s, &r, msg, sizeof msg), GL_EINVAL);
    assert_non_null(strstr(msg, "seed"));
    /* one made without an EMA cannot continue one, and says so */
    o.seed = seed;
    o.ema = 0;
    o.resume = 0;
    o.stop_after = 5;
    gl_dit_free(&b);
    b = tiny();
    assert_int_equal(gl_train_run(b, &o, fill, &s, &r, msg, sizeof msg), GL_OK);
    o.ema = 0.9f;
    o.resume = 1;
    gl_dit_free(&b);
    b = tiny();
    assert_int_equal(gl_train_run(b, &o, fill, &s, &r, msg, sizeof msg), GL_EFORMAT);
    assert_non_null(strstr(msg, "holds no EMA"));
    remove(ckpt);
    remove(log);
    rmdir(dir);
    gl_dit_free(&a);
    gl_dit_free(&b);
}

static void train_stops_on_nan(void **st) {
    (void)st;
    gl_dit *m = tiny();
    source s = {.nan_at = 2};
    gl_train_opts o = gl_train_default_opts();
    o.steps = 5;
    o.batch = 1;
    gl_train_result r;
    char msg[256];
    assert_int_equal(gl_train_run(m, &o, fill, &s, &r, msg, sizeof msg), GL_EFORMAT);
    assert_non_null(strstr(msg, "step 3"));
    assert_int_equal(r.steps_done, 2);
    gl_dit_free(&m);
}

/* The loss is the weighted mean over pixels with the source's weights: the halves'
 * losses, weighted by their pixel counts, make the whole one; a uniform weight changes
 * nothing; the halves differ, so the weights were applied per pixel. */
static void train_loss_weights(void **st) {
    (void)st;
    double loss[4];
    for (int mode = 0; mode < 4; mode++) {
        gl_dit *m = tiny();
        source s = {.nan_at = -1, .weigh = mode};
        gl_train_opts o = gl_train_default_opts();
        o.steps = 1;
        o.batch = 2;
        gl_train_result r;
        char msg[256];
        if (gl_train_run(m, &o, fill, &s, &r, msg, sizeof msg)) fail_msg("%s", msg);
        loss[mode] = r.last_loss;
        gl_dit_free(&m);
    }
    assert_true(fabs(0.5 * (loss[1] + loss[2]) - loss[0]) <= 1e-5 * loss[0]);
    assert_true(fabs(loss[3] - loss[0]) <= 1e-5 * loss[0]);
    assert_true(fabs(loss[1] - loss[2]) > 1e-3 * loss[0]);
}

/* Offset noise: with videos of zeros and a model that predicts 0 (fresh AdaLN-zero
 * weights), the first step's loss is the mean square of the noise, so its growth under
 * offset noise G is the mean of the offsets' squares (about G^2, plus a cross term with
 * the white noise, drawn first and the same). One constant per cell and channel makes that
 * growth vary from seed to seed as a mean of 3 x cells squares, not of every element, and
 * twice as much over one cell as over a 2x2 canvas. Deterministic: fixed seeds. */
static void offset_growth(int cells_across, double *mean, double *sd) {
    enum { SEEDS = 64 };
    double d[SEEDS], s1 = 0, s2 = 0;
    for (int k = 0; k < SEEDS; k++) {
        double loss[2];
        for (int off = 0; off < 2; off++) {
            gl_dit *m = tiny();
            const gl_dit_config *c = gl_dit_cfg(m);
            source s = {.nan_at = -1, .zero = 1};
            gl_train_opts o = gl_train_default_opts();
            o.steps = 1;
            o.batch = 1;
            o.seed = (uint64_t)(100 + k);
            o.prompt_drop = 0;
            o.height = cells_across * c->cell_h;
            o.width = cells_across * c->cell_w;
            o.offset_noise = off ? 0.5 : 0.0;
            gl_train_result r;
            char msg[256];
            if (gl_train_run(m, &o, fill, &s, &r, msg, sizeof msg)) fail_msg("%s", msg);
            loss[off] = r.last_loss;
            gl_dit_free(&m);
        }
        d[k] = loss[1] - loss[0];
        s1 += d[k];
    }
    *mean = s1 / SEEDS;
    for (int k = 0; k < SEEDS; k++) s2 += (d[k] - *mean) * (d[k] - *mean);
    *sd = sqrt(s2 / (SEEDS - 1));
}

static void train_offset_noise(void **st) {
    (void)st;
    double mean1, sd1, mean4, sd4;
    offset_growth(1, &mean1, &sd1);
    offset_growth(2, &mean4, &sd4);
    print_message("offset noise 0.5: loss growth %.4f +- %.4f (one cell), %.4f +- %.4f (2x2)\n", mean1, sd1, mean4, sd4);
    assert_true(fabs(mean1 - 0.25) < 0.1 && fabs(mean4 - 0.25) < 0.06);
    assert_true(sd4 > 0.05);        /* white noise of G would give about 0.005 */
    assert_true(sd1 > 1.3 * sd4);   /* 3 constants against 12: about twice (1.67 here) */
}

/* The colour term: with videos of zeros and a model that predicts 0 (fresh AdaLN-zero
 * weights) the first step's prediction error is the white noise itself, so the term adds
 * W times the mean square of a cell's mean noise, 1 / (pixels of a cell) = 1/64 for the
 * tiny model, on one cell and on a 2x2 canvas alike (over the canvas's whole frame it
 * would be 1/256); it grows linearly in W; a negative or NaN weight is refused. */
static void train_colour_weight(void **st) {
    (void)st;
    for (int across = 1; across <= 2; across++) {
        double loss[3];
        const float w[3] = {0.0f, 1.0f, 2.0f};
        for (int k = 0; k < 3; k++) {
            gl_dit *m = tiny();
            const gl_dit_config *c = gl_dit_cfg(m);
            source s = {.nan_at = -1, .zero = 1};
            gl_train_opts o = gl_train_default_opts();
            o.steps = 1;
            o.batch = 8;
            o.seed = 7;
            o.prompt_drop = 0;
            o.height = across * c->cell_h;
            o.width = across * c->cell_w;
            o.colour_weight = w[k];
            gl_train_result r;
            char msg[256];
            if (gl_train_run(m, &o, fill, &s, &r, msg, sizeof msg)) fail_msg("%s", msg);
            loss[k] = r.last_loss;
            gl_dit_free(&m);
        }
        double g1 = loss[1] - loss[0], g2 = loss[2] - loss[0];
        print_message("colour weight 1 on %dx%d cells: loss %.5f + %.5f (1/64 = %.5f)\n", across, across, loss[0], g1,
                      1.0 / 64);
        assert_true(fabs(g1 * 64.0 - 1.0) < 0.5);
        assert_true(fabs(g2 - 2.0 * g1) <= 1e-6 * g2);
    }
    gl_dit *m = tiny();
    source s = {.nan_at = -1};
    gl_train_opts o = gl_train_default_opts();
    o.steps = 1;
    gl_train_result r;
    char msg[256];
    o.colour_weight = -1.0f;
    assert_int_equal(gl_train_run(m, &o, fill, &s, &r, msg, sizeof msg), GL_EINVAL);
    assert_non_null(strstr(msg, "colour weight"));
    o.colour_weight = NAN;
    assert_int_equal(gl_train_run(m, &o, fill, &s, &r, msg, sizeof msg), GL_EINVAL);
    gl_dit_free(&m);
}

/* A source's own offset noise replaces the trainer's for its sample, exactly: 0 from the
 * source under the trainer's 0.5 is no offset noise at all, 0.5 from the source under
 * the trainer's 0 is the trainer's 0.5; a negative or NaN one is refused. */
static void train_offset_noise_from_source(void **st) {
    (void)st;
    const double trainer[4] = {0.0, 0.5, 0.5, 0.0}, given[4] = {-1, 0.0, -1, 0.5}; /* -1: none given */
    double loss[4];
    for (int k = 0; k < 4; k++) {
        gl_dit *m = tiny();
        source s = {.nan_at = -1, .give_offset = given[k] >= 0, .offset = given[k]};
        gl_train_opts o = gl_train_default_opts();
        o.steps = 2;
        o.batch = 2;
        o.offset_noise = trainer[k];
        gl_train_result r;
        char msg[256];
        if (gl_train_run(m, &o, fill, &s, &r, msg, sizeof msg)) fail_msg("%s", msg);
        loss[k] = r.last_loss;
        gl_dit_free(&m);
    }
    assert_true(loss[1] == loss[0]);
    assert_true(loss[3] == loss[2]);
    assert_true(loss[2] != loss[0]);
    const double bad[2] = {-0.1, NAN};
    for (int k = 0; k < 2; k++) {
        gl_dit *m = tiny();
        source s = {.nan_at = -1, .give_offset = 1, .offset = bad[k]};
        gl_train_opts o = gl_train_default_opts();
        o.steps = 1;
        o.batch = 1;
        gl_train_result r;
        char msg[256] = "";
        assert_int_equal(gl_train_run(m, &o, fill, &s, &r, msg, sizeof msg), GL_EINVAL);
        assert_non_null(strstr(msg, "offset noise"));
        gl_dit_free(&m);
    }
}

static void train_schedule(void **st) {
    (void)st;
    gl_train_opts o = gl_train_default_opts();
    o.steps = 110;
    o.warmup = 10;
    o.lr = 1.0f;
    o.lr_min_ratio = 0.1f;
    assert_float_equal(gl_train_lr(&o, 0), 0.1, 1e-6);
    assert_float_equal(gl_train_lr(&o, 9), 1.0, 1e-6);
    assert_float_equal(gl_train_lr(&o, 10), 1.0, 1e-6);
    assert_float_equal(gl_train_lr(&o, 109), 0.1, 1e-6);
    assert_true(gl_train_lr(&o, 60) < 0.6 && gl_train_lr(&o, 60) > 0.5);
}

/* A LoRA stage: the base frozen and untouched, only the adapter learns. */
static void train_lora_adapter(void **st) {
    (void)st;
    gl_dit *m = tiny();
    gl_params *mp = gl_dit_params(m);
    /* a base that is not AdaLN-zero (gates and output open), as a trained one is */
    tu_rng rng;
    tu_seed(&rng, 4);
    tu_fill(&rng, gl_params_data(mp), gl_params_numel(mp), 0.2);
    for (int i = 0; i < gl_params_count(mp); i++) gl_params_set_flags(mp, i, GL_PARAM_FROZEN);
    int64_t np = gl_params_numel(mp);
    float *before = tu_falloc(np);
    memcpy(before, gl_params_data(mp), (size_t)np * sizeof(float));
    gl_lora_spec sp = gl_lora_default_spec();
    sp.rank = 4;
    gl_lora *l = NULL;
    char msg[256];
    assert_int_equal(gl_lora_new(&l, m, &sp, 1, msg, sizeof msg), GL_OK);
    assert_int_equal(gl_dit_attach_lora(m, l, 1.0f, msg, sizeof msg), GL_OK);
    source s = {.nan_at = -1, .fixed = 1};
    gl_train_opts o = gl_train_default_opts();
    o.params = gl_lora_params(l);
    o.steps = 150;
    o.batch = 1;
    o.lr = 1e-2f;
    o.warmup = 10;
    o.prompt_drop = 0;
    o.repeat_noise = 1;
    gl_train_result r;
    o.steps = 1;
    assert_int_equal(gl_train_run(m, &o, fill, &s, &r, msg, sizeof msg), GL_OK);
    double first = r.last_loss;
    o.steps = 150;
    assert_int_equal(gl_train_run(m, &o, fill, &s, &r, msg, sizeof msg), GL_OK);
    print_message("adapter training: loss %.4f -> %.4f\n", first, r.last_loss);
    assert_true(r.last_loss < 0.5 * first);
    assert_memory_equal(gl_params_data(mp), before, (size_t)np * sizeof(float));
    tu_free(before);
    gl_dit_free(&m);
    gl_lora_free(&l);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(train_lora_adapter),
    cmocka_unit_test(train_overfits_one_video),
    cmocka_unit_test(train_resume_is_exact),
    cmocka_unit_test(train_stops_on_nan),
    cmocka_unit_test(train_schedule),
    cmocka_unit_test(train_loss_weights),
    cmocka_unit_test(train_offset_noise),
    cmocka_unit_test(train_offset_noise_from_source),
    cmocka_unit_test(train_colour_weight),
};
TU_MAIN("train", tests)
