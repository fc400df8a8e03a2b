/* tests/test_grids.c: grid training data and the zero-shot run: canvases made with
 * --render hold the renderer's truth in each cell; the source's masks are the layout's;
 * Grid-Fill's clean cells are non-empty proper subsets, flagged token by token and left
 * out of the loss; the joined prompt keeps its markers when cut; a mask holds end to end
 * through the model; an app's output holds the input exactly in its input cell; a
 * subject weight follows the rendered sets' coverage. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "gridlora/apps.h"
#include "gridlora/data.h"
#include "gridlora/dataset.h"
#include "gridlora/grid.h"
#include "gridlora/grids.h"
#include "gridlora/lora.h"
#include "gridlora/model.h"
#include "gridlora/render.h"
#include "gridlora/tokenizer.h"
#include "gridlora/train.h"
#include "gridlora/video.h"
#include "testutil.h"

/* The tiny preset with cells of 16x16 (canvases of 32x32), so rendered cells show detail. */
static gl_dit_config config(void) {
    gl_dit_config c;
    assert_int_equal(gl_dit_config_preset("tiny", &c), GL_OK);
    c.cell_h = c.cell_w = 16;
    char msg[256];
    assert_int_equal(gl_dit_config_validate(&c, msg, sizeof msg), GL_OK);
    return c;
}

/* A model with every weight random (not AdaLN-zero), so outputs depend on every input. */
static gl_dit *random_model(const gl_dit_config *c, uint64_t seed) {
    gl_dit *m = NULL;
    char msg[256];
    if (gl_dit_new(&m, c, msg, sizeof msg)) fail_msg("gl_dit_new: %s", msg);
    gl_dit_init_weights(m, seed);
    tu_rng r;
    tu_seed(&r, seed);
    float *w = gl_params_data(gl_dit_params(m));
    int64_t n = gl_params_numel(gl_dit_params(m));
    for (int64_t i = 0; i < n; i++) w[i] += (float)(0.05 * tu_normal(&r));
    return m;
}

/* A data set of `count` concepts (seed 5) and `canvases` grids of `layout` made from it
 * by rendering. */
static void make_grids(tu_tmpdir *set, tu_tmpdir *gdir, gl_dit *m, const char *layout, int64_t canvases) {
    const gl_dit_config *c = gl_dit_cfg(m);
    gl_dataset_params p = gl_dataset_default_params();
    p.count = 2;
    p.seed = 5;
    p.render.frames = c->frames;
    p.render.height = c->cell_h;
    p.render.width = c->cell_w;
    char msg[512];
    gl_video_set_verbose(0);
    tu_tmp_make(set, "grids");
    tu_tmp_make(gdir, "grids");
    if (gl_dataset_write(set->path, &p, msg, sizeof msg)) fail_msg("gl_dataset_write: %s", msg);
    gl_grids_params g = gl_grids_default_params();
    g.layout = layout;
    g.count = canvases;
    g.render = 1;
    g.model = m;
    g.seed = 3;
    if (gl_grids_write(gdir->path, set->path, &g, msg, sizeof msg)) fail_msg("gl_grids_write: %s", msg);
}

/* A training batch for the canvas size, buffers owned by the test. */
typedef struct tbatch {
    gl_train_batch b;
} tbatch;

static void batch_alloc(tbatch *t, const gl_dit_config *c, int64_t B) {
    gl_train_batch *b = &t->b;
    memset(b, 0, sizeof *b);
    b->B = B;
    b->F = c->frames;
    b->H = 2 * c->cell_h;
    b->W = 2 * c->cell_w;
    b->T = (b->F / c->patch_t) * (b->H / c->patch_h) * (b->W / c->patch_w);
    b->text_len = c->text_len;
    b->x0 = malloc((size_t)(B * b->F * b->H * b->W * 3) * sizeof(float));
    b->text = calloc((size_t)(B * b->text_len), sizeof(int32_t));
    b->text_lens = calloc((size_t)B, sizeof(int32_t));
    b->clean = calloc((size_t)(B * b->T), 1);
    assert_true(b->x0 && b->text && b->text_lens && b->clean);
}

static void batch_free(tbatch *t) {
    free(t->b.x0);
    free(t->b.text);
    free(t->b.text_lens);
    free(t->b.clean);
}

/* An adapter on m whose token <c0> stands for two embeddings, ids toks[0] (<c0>) and
 * toks[1] (<c1>, its second); *tk the domain tokenizer, which the caller frees. */
static gl_lora *two_vector_adapter(gl_dit *m, gl_tokenizer **tk, int32_t toks[2]) {
    char msg[512];
    int64_t n = 0;
    assert_int_equal(gl_domain_tokenizer(gl_dit_cfg(m), tk, msg, sizeof msg), GL_OK);
    assert_int_equal(gl_tokenize(*tk, "<c0> <c1>", toks, 2, &n, msg, sizeof msg), GL_OK);
    gl_lora_spec sp = gl_lora_default_spec();
    sp.tokens = toks;
    sp.n_tokens = 2;
    sp.token_vectors = 2;
    gl_lora *l = NULL;
    assert_int_equal(gl_lora_new(&l, m, &sp, 3, msg, sizeof msg), GL_OK);
    return l;
}

/* ---- the joined prompt as tokens ------------------------------------------------------ */

static void tokenize_keeps_markers(void **s) {
    (void)s;
    gl_dit_config c = config();
    gl_tokenizer *tk = NULL;
    char msg[256];
    assert_int_equal(gl_domain_tokenizer(&c, &tk, msg, sizeof msg), GL_OK);
    gl_layout l;
    const char *fx[] = {"smoke", "lights", "night"};
    assert_int_equal(gl_layout_edit(&l, "a red striped star orbiting on sand", fx, 3, msg, sizeof msg), GL_OK);
    int32_t ids[64];
    int64_t n = 0;
    /* the whole prompt: 1 + 1 + 4 * 1 markers and words, uncut */
    assert_int_equal(gl_layout_tokenize(&l, tk, NULL, 64, ids, &n, msg, sizeof msg), GL_OK);
    assert_int_equal(n, 2 + 4 + 7 + 3 * 9);
    /* cut to 16: every marker present, in order, each cell's last words kept */
    assert_int_equal(gl_layout_tokenize(&l, tk, NULL, 16, ids, &n, msg, sizeof msg), GL_OK);
    assert_int_equal(n, 16);
    assert_int_equal(ids[0], GL_TOK_GRID);
    int next = 0;
    for (int64_t i = 0; i < n; i++)
        if (ids[i] >= GL_TOK_CELL0 && ids[i] < GL_TOK_CELL0 + 4) assert_int_equal(ids[i], GL_TOK_CELL0 + next++);
    assert_int_equal(next, 4);
    assert_int_equal(ids[n - 1], gl_token_id(tk, "night"));
    assert_int_equal(gl_layout_tokenize(&l, tk, NULL, 4, ids, &n, msg, sizeof msg), GL_EINVAL);
    gl_tokenizer_free(&tk);
}

/* ---- grid data -------------------------------------------------------------------- */

/* --render: every cell of every canvas is the renderer's truth for what the manifest says
 * it holds (through an mp4 round trip: within codec error, and far from the other cells). */
static void render_cells_match_truth(void **s) {
    (void)s;
    gl_dit_config c = config();
    gl_dit *m = random_model(&c, 1);
    tu_tmpdir set, gdir;
    const char *layouts[] = {"edit", "compose", "character", "story"};
    for (int li = 0; li < 4; li++) {
        make_grids(&set, &gdir, m, layouts[li], 2);
        char path[256], msg[512];
        snprintf(path, sizeof path, "%s/manifest.jsonl", gdir.path);
        FILE *f = fopen(path, "r");
        assert_non_null(f);
        char line[8192];
        int64_t canvas = 0;
        while (fgets(line, sizeof line, f)) {
            cJSON *o = cJSON_Parse(line);
            assert_non_null(o);
            assert_string_equal(cJSON_GetObjectItem(o, "layout")->valuestring, layouts[li]);
            assert_string_equal(cJSON_GetObjectItem(o, "source")->valuestring, "render");
            gl_video canvas_v = {0}, cells[4];
            gl_video_read_opts ro = gl_video_read_default_opts();
            ro.frames = c.frames;
            ro.height = 2 * c.cell_h;
            ro.width = 2 * c.cell_w;
            snprintf(path, sizeof path, "%s/%s", gdir.path, cJSON_GetObjectItem(o, "file")->valuestring);
            if (gl_video_read(path, &ro, &canvas_v, NULL, msg, sizeof msg)) fail_msg("%s", msg);
            assert_int_equal(gl_grid_split(cells, &canvas_v, msg, sizeof msg), GL_OK);
            const cJSON *cj = cJSON_GetObjectItem(o, "cells");
            /* the canvas is trained on the prompt it shows: each cell's part of the joined
             * prompt is that cell's own caption (a compose cell's once named both
             * backgrounds, "A and B", while it shows A's) */
            const char *joined = cJSON_GetObjectItem(o, "prompt")->valuestring;
            for (int k = 0; k < 4; k++) {
                char part[1024];
                const char *cap = cJSON_GetObjectItem(cJSON_GetArrayItem(cj, k), "caption")->valuestring;
                snprintf(part, sizeof part, "<cell%d> %s%s", k, cap, k < 3 ? " <cell" : "");
                if (!strstr(joined, part))
                    fail_msg("%s canvas %lld: cell %d's prompt is not its caption '%s': %s", layouts[li],
                             (long long)canvas, k, cap, joined);
            }
            for (int k = 0; k < 4; k++) {
                const cJSON *e = cJSON_GetArrayItem(cj, k);
                const char *var = cJSON_GetObjectItem(e, "variant")->valuestring;
                int64_t ci = (int64_t)cJSON_GetObjectItem(e, "concept")->valuedouble;
                gl_concept a, b, t;
                assert_int_equal(gl_concept_sample(&a, gl_dataset_concept_seed(5, ci), GL_SPLIT_TRAIN), GL_OK);
                gl_render_opts rop = gl_render_default_opts();
                rop.frames = c.frames;
                rop.height = c.cell_h;
                rop.width = c.cell_w;
                gl_video truth = {0};
                if (!strcmp(var, "with")) {
                    int64_t pi = (int64_t)cJSON_GetObjectItem(e, "partner")->valuedouble;
                    assert_int_equal(gl_concept_sample(&b, gl_dataset_concept_seed(5, pi), GL_SPLIT_TRAIN), GL_OK);
                    assert_int_equal(gl_render_variant(&a, &b, GL_VARIANT_WITH, &rop, &truth), GL_OK);
                } else if (!strcmp(var, "bg+motion")) {
                    assert_int_equal(gl_concept_restage(&a, GL_VARIANT_BACKGROUND, &t), GL_OK);
                    assert_int_equal(gl_concept_restage(&t, GL_VARIANT_MOTION, &b), GL_OK);
                    assert_int_equal(gl_render_concept(&b, &rop, &truth), GL_OK);
                } else {
                    int v = gl_variant_from_name(var);
                    assert_true(v >= 0);
                    assert_int_equal(gl_render_variant(&a, NULL, v, &rop, &truth), GL_OK);
                }
                int64_t n = c.frames * c.cell_h * c.cell_w * 3;
                double err = 0;
                for (int64_t i = 0; i < n; i++) err += fabs(cells[k].rgb[i] - truth.rgb[i]);
                err /= (double)n;
                if (err > 0.04)
                    fail_msg("%s canvas %lld cell %d (%s): mean error %.4f against the truth", layouts[li],
                             (long long)canvas, k, var, err);
                gl_video_release(&truth);
            }
            for (int k = 0; k < 4; k++) gl_video_release(&cells[k]);
            gl_video_release(&canvas_v);
            cJSON_Delete(o);
            canvas++;
        }
        fclose(f);
        assert_int_equal(canvas, 2);
        tu_tmp_remove(&gdir);
        tu_tmp_remove(&set);
    }
    gl_dit_free(&m);
}

/* The source's masks are gl_layout_masks of the item's layout and the canvas's tokens;
 * Grid mode gives every cell noised and the manifest's roles. */
static void source_masks_match_layout(void **s) {
    (void)s;
    gl_dit_config c = config();
    gl_dit *m = random_model(&c, 2);
    tu_tmpdir set, gdir;
    make_grids(&set, &gdir, m, "compose", 3);
    gl_grid_data *g = NULL;
    char msg[512];
    if (gl_grid_data_dir(&g, gdir.path, m, NULL, NULL, msg, sizeof msg)) fail_msg("%s", msg);
    assert_int_equal(gl_grid_data_canvases(g), 3);
    tbatch t;
    batch_alloc(&t, &c, 3);
    gl_train_batch *b = &t.b;
    const int64_t T = b->T, L = b->text_len;
    uint8_t *self = malloc((size_t)(T * T)), *cross = malloc((size_t)(T * L));
    gl_patch_dims pd = {1, b->F, b->H, b->W, 3, c.patch_t, c.patch_h, c.patch_w};
    for (int fill = 0; fill < 2; fill++) {
        gl_grid_data_set_fill(g, fill);
        for (int step = 0; step < 4; step++) {
            gl_rng rng;
            gl_rng_seed(&rng, (uint64_t)(10 * fill + step));
            memset(b->clean, 0, (size_t)(b->B * T));
            assert_int_equal(gl_grid_data_next(g, step, &rng, b, msg, sizeof msg), GL_OK);
            assert_non_null(b->self_mask);
            assert_int_equal(b->self_mask_bstride, T * T);
            assert_int_equal(b->cross_mask_bstride, T * L);
            for (int64_t i = 0; i < b->B; i++) {
                const gl_grid_item *it = gl_grid_data_last(g, i);
                assert_non_null(it);
                assert_int_equal(it->layout.kind, GL_LAYOUT_COMPOSE);
                if (!fill) {
                    assert_int_equal(it->clean, 0);
                    assert_int_equal(gl_layout_cells(&it->layout, GL_CELL_INPUT), GL_GRID_CELL(0) | GL_GRID_CELL(1));
                }
                const int32_t *text = b->text + i * L;
                assert_int_equal(text[0], GL_TOK_GRID);
                assert_int_equal(gl_layout_masks(&it->layout, pd, text, b->text_lens[i], L, GL_TOK_GRID, self, cross),
                                 0);
                assert_memory_equal(b->self_mask + i * T * T, self, (size_t)(T * T));
                assert_memory_equal(b->cross_mask + i * T * L, cross, (size_t)(T * L));
            }
        }
    }
    free(self);
    free(cross);
    batch_free(&t);
    gl_grid_data_free(&g);
    assert_null(g);
    gl_dit_free(&m);
    tu_tmp_remove(&gdir);
    tu_tmp_remove(&set);
}

/* Two grid sets read as one source: their canvases in order, each keeping its layout; a
 * set without canvases is an error naming it. */
static void several_sets_read_as_one(void **s) {
    (void)s;
    gl_dit_config c = config();
    gl_dit *m = random_model(&c, 4);
    tu_tmpdir set1, edit, set2, compose, empty;
    make_grids(&set1, &edit, m, "edit", 2);
    make_grids(&set2, &compose, m, "compose", 3);
    gl_grid_data *g = NULL;
    char msg[512];
    const char *both[2] = {edit.path, compose.path};
    if (gl_grid_data_dirs(&g, both, 2, m, NULL, NULL, msg, sizeof msg)) fail_msg("%s", msg);
    assert_int_equal(gl_grid_data_canvases(g), 5);
    tbatch t;
    batch_alloc(&t, &c, 1);
    int seen[2] = {0, 0};
    for (int step = 0; step < 40; step++) {
        gl_rng rng;
        gl_rng_seed(&rng, (uint64_t)step);
        assert_int_equal(gl_grid_data_next(g, step, &rng, &t.b, msg, sizeof msg), GL_OK);
        const gl_grid_item *it = gl_grid_data_last(g, 0);
        /* canvases 0-1 are the edit set's, 2-4 the compose set's */
        assert_int_equal(it->layout.kind, it->canvas < 2 ? GL_LAYOUT_EDIT : GL_LAYOUT_COMPOSE);
        seen[it->canvas >= 2]++;
    }
    assert_true(seen[0] > 0 && seen[1] > 0);
    batch_free(&t);
    gl_grid_data_free(&g);
    tu_tmp_make(&empty, "grids");
    char mpath[128];
    snprintf(mpath, sizeof mpath, "%s/manifest.jsonl", empty.path);
    FILE *f = fopen(mpath, "w");
    assert_non_null(f);
    fclose(f);
    const char *with_empty[2] = {edit.path, empty.path};
    assert_int_equal(gl_grid_data_dirs(&g, with_empty, 2, m, NULL, NULL, msg, sizeof msg), GL_EFORMAT);
    assert_null(g);
    assert_non_null(strstr(msg, empty.path));
    assert_int_equal(gl_grid_data_dirs(&g, both, 0, m, NULL, NULL, msg, sizeof msg), GL_EINVAL);
    gl_dit_free(&m);
    tu_tmp_remove(&empty);
    tu_tmp_remove(&edit);
    tu_tmp_remove(&set1);
    tu_tmp_remove(&compose);
    tu_tmp_remove(&set2);
}

/* A Grid-Fill source over two edit canvases made with m (set and gdir to remove after). */
static gl_grid_data *fill_source(gl_dit *m, tu_tmpdir *set, tu_tmpdir *gdir) {
    make_grids(set, gdir, m, "edit", 2);
    gl_grid_data *g = NULL;
    char msg[512];
    if (gl_grid_data_dir(&g, gdir->path, m, NULL, NULL, msg, sizeof msg)) fail_msg("%s", msg);
    gl_grid_data_set_fill(g, 1);
    return g;
}

/* Grid-Fill: clean cells form a non-empty proper subset, flagged on exactly their tokens,
 * and they are the inputs of the item's layout; both kinds of draw occur. */
static void fill_clean_subsets(void **s) {
    (void)s;
    gl_dit_config c = config();
    gl_dit *m = random_model(&c, 3);
    tu_tmpdir set, gdir;
    gl_grid_data *g = fill_source(m, &set, &gdir);
    char msg[512];
    tbatch t;
    batch_alloc(&t, &c, 4);
    gl_train_batch *b = &t.b;
    const int64_t T = b->T;
    uint8_t *cell = malloc((size_t)T);
    gl_patch_dims pd = {1, b->F, b->H, b->W, 3, c.patch_t, c.patch_h, c.patch_w};
    assert_int_equal(gl_grid_token_cells(cell, pd), GL_OK);
    int seen[16] = {0};
    for (int step = 0; step < 40; step++) {
        gl_rng rng;
        gl_rng_seed(&rng, (uint64_t)step);
        memset(b->clean, 0, (size_t)(b->B * T));
        assert_int_equal(gl_grid_data_next(g, step, &rng, b, msg, sizeof msg), GL_OK);
        for (int64_t i = 0; i < b->B; i++) {
            const gl_grid_item *it = gl_grid_data_last(g, i);
            assert_true(it->clean != 0 && it->clean != GL_GRID_ALL && it->clean < 16);
            seen[it->clean]++;
            assert_int_equal(gl_layout_cells(&it->layout, GL_CELL_INPUT), it->clean);
            for (int64_t k = 0; k < T; k++) assert_int_equal(b->clean[i * T + k], (it->clean >> cell[k]) & 1u);
        }
    }
    /* the layout's own input set (cell 0) about half the time, and others too */
    assert_true(seen[1] > 40);
    int others = 0;
    for (int k = 2; k < 15; k++) others += seen[k] > 0;
    assert_true(others >= 8);
    free(cell);
    batch_free(&t);
    gl_grid_data_free(&g);
    gl_dit_free(&m);
    tu_tmp_remove(&gdir);
    tu_tmp_remove(&set);
}

/* How many of 160 samples (40 steps of 4, seeds 0..39) give cell 0 alone clean, the edit
 * layout's own input; each draw's clean cells go to draws[] when it is not NULL. */
static int own_input_draws(gl_grid_data *g, const gl_dit_config *c, unsigned draws[160]) {
    tbatch t;
    batch_alloc(&t, c, 4);
    char msg[512];
    int own = 0;
    for (int step = 0; step < 40; step++) {
        gl_rng rng;
        gl_rng_seed(&rng, (uint64_t)step);
        assert_int_equal(gl_grid_data_next(g, step, &rng, &t.b, msg, sizeof msg), GL_OK);
        for (int64_t i = 0; i < 4; i++) {
            unsigned clean = gl_grid_data_last(g, i)->clean;
            own += clean == 1u;
            if (draws) draws[step * 4 + i] = clean;
        }
    }
    batch_free(&t);
    return own;
}

/* --input-share: 1 gives every sample the layout's inputs, 0 only what the uniform subset
 * draws by chance (1 in 14), and an explicit 0.5 the default's very draws. */
static void fill_input_share(void **s) {
    (void)s;
    gl_dit_config c = config();
    gl_dit *m = random_model(&c, 3);
    tu_tmpdir set, gdir;
    gl_grid_data *g = fill_source(m, &set, &gdir);
    char msg[512];
    unsigned def[160], half[160];
    const int own_default = own_input_draws(g, &c, def);
    assert_int_equal(gl_grid_data_set_input_share(g, 0.5f, msg, sizeof msg), GL_OK);
    assert_int_equal(own_input_draws(g, &c, half), own_default);
    assert_memory_equal(def, half, sizeof def);
    assert_int_equal(gl_grid_data_set_input_share(g, 1.0f, msg, sizeof msg), GL_OK);
    assert_int_equal(own_input_draws(g, &c, NULL), 160);
    assert_int_equal(gl_grid_data_set_input_share(g, 0.0f, msg, sizeof msg), GL_OK);
    const int own_none = own_input_draws(g, &c, NULL);
    assert_true(own_none < 30 && own_none < own_default - 30);
    const float bad[] = {-0.01f, 1.01f, NAN};
    for (int k = 0; k < 3; k++) {
        assert_int_equal(gl_grid_data_set_input_share(g, bad[k], msg, sizeof msg), GL_EINVAL);
        assert_non_null(strstr(msg, "input share"));
    }
    assert_int_equal(own_input_draws(g, &c, NULL), own_none); /* a refused share changes nothing */
    gl_grid_data_free(&g);
    gl_dit_free(&m);
    tu_tmp_remove(&gdir);
    tu_tmp_remove(&set);
}

/* The Grid-Fill loss does not see the clean cells: with a model whose prediction is 0
 * everywhere (AdaLN-zero's fresh weights), the first step's loss is the same whatever
 * the clean cells hold, and it is not when they are noised. */
typedef struct poison {
    gl_grid_data *g;
    float value;
    int target_clean; /* 1: overwrite clean cells, 0: overwrite the noised ones */
} poison;

static int poison_next(void *ctx, int64_t step, gl_rng *rng, gl_train_batch *b, char *msg, size_t msglen) {
    poison *p = ctx;
    int rc = gl_grid_data_next(p->g, step, rng, b, msg, msglen);
    if (rc) return rc;
    const int64_t gw = b->W / 2, gh = b->H / 2; /* patch 1x2x2 in this config */
    for (int64_t i = 0; i < b->B; i++)
        for (int64_t f = 0; f < b->F; f++)
            for (int64_t y = 0; y < b->H; y++)
                for (int64_t x = 0; x < b->W; x++) {
                    int64_t tok = (f * gh + y / 2) * gw + x / 2;
                    if (b->clean[i * b->T + tok] == p->target_clean)
                        for (int ch = 0; ch < 3; ch++)
                            b->x0[(((i * b->F + f) * b->H + y) * b->W + x) * 3 + ch] = p->value;
                }
    return GL_OK;
}

static void fill_loss_ignores_clean_cells(void **s) {
    (void)s;
    gl_dit_config c = config();
    gl_dit *m = NULL;
    char msg[512];
    assert_int_equal(gl_dit_new(&m, &c, msg, sizeof msg), GL_OK);
    gl_dit_init_weights(m, 4);
    tu_tmpdir set, gdir;
    make_grids(&set, &gdir, m, "edit", 2);
    gl_grid_data *g = NULL;
    if (gl_grid_data_dir(&g, gdir.path, m, NULL, NULL, msg, sizeof msg)) fail_msg("%s", msg);
    gl_grid_data_set_fill(g, 1);
    gl_train_opts o = gl_train_default_opts();
    o.steps = 1;
    o.batch = 2;
    o.warmup = 0;
    o.frames = c.frames;
    o.height = 2 * c.cell_h;
    o.width = 2 * c.cell_w;
    double loss[2][2];
    for (int target = 0; target < 2; target++)
        for (int k = 0; k < 2; k++) {
            poison p = {.g = g, .value = k ? 3.0f : 0.0f, .target_clean = target};
            gl_dit *mm = NULL;
            assert_int_equal(gl_dit_new(&mm, &c, msg, sizeof msg), GL_OK);
            gl_dit_init_weights(mm, 4);
            gl_train_result res;
            if (gl_train_run(mm, &o, poison_next, &p, &res, msg, sizeof msg)) fail_msg("%s", msg);
            loss[target][k] = res.last_loss;
            gl_dit_free(&mm);
        }
    assert_true(loss[1][0] == loss[1][1]); /* clean cells: no part in the loss */
    assert_true(fabs(loss[0][0] - loss[0][1]) > 0.1); /* noised cells: they are the loss */
    gl_grid_data_free(&g);
    gl_dit_free(&m);
    tu_tmp_remove(&gdir);
    tu_tmp_remove(&set);
}

/* ---- the mask through the model, and the apps ---------------------------------------- */

/* With the edit layout's masks, the prediction on input cell 0 does not change when the
 * other cells' videos change; without masks it does. */
static void mask_holds_end_to_end(void **s) {
    (void)s;
    gl_dit_config c = config();
    gl_dit *m = random_model(&c, 5);
    gl_tokenizer *tk = NULL;
    char msg[512];
    assert_int_equal(gl_domain_tokenizer(&c, &tk, msg, sizeof msg), GL_OK);
    gl_layout l;
    const char *fx[] = {"smoke", "night"};
    assert_int_equal(gl_layout_edit(&l, "a red star", fx, 2, msg, sizeof msg), GL_OK);
    const int64_t F = c.frames, H = 2 * c.cell_h, W = 2 * c.cell_w, L = c.text_len;
    gl_patch_dims pd = {1, F, H, W, 3, c.patch_t, c.patch_h, c.patch_w};
    int64_t T = 0, n = F * H * W * 3, len = 0;
    assert_int_equal(gl_grid_check(pd, &T, msg, sizeof msg), GL_OK);
    int32_t text[64] = {0};
    assert_int_equal(gl_layout_tokenize(&l, tk, NULL, L, text, &len, msg, sizeof msg), GL_OK);
    int32_t lens[1] = {(int32_t)len};
    uint8_t *self = malloc((size_t)(T * T)), *cross = malloc((size_t)(T * L)), *cell = malloc((size_t)T);
    assert_int_equal(gl_layout_masks(&l, pd, text, len, L, GL_TOK_GRID, self, cross), 0);
    assert_int_equal(gl_grid_token_cells(cell, pd), GL_OK);
    float *x = malloc((size_t)n * sizeof *x), *t = malloc((size_t)T * sizeof *t);
    float *out[2] = {malloc((size_t)n * sizeof(float)), malloc((size_t)n * sizeof(float))};
    float *vm = malloc((size_t)n * sizeof *vm);
    assert_int_equal(gl_grid_token_timesteps(t, pd, (float[4]){0, 0.7f, 0.7f, 0.7f}, 0xEu), GL_OK);
    gl_arena *arena = NULL;
    assert_int_equal(gl_arena_new(&arena, gl_dit_arena_bytes(m, 1, F, H, W)), GL_OK);
    tu_rng r;
    tu_seed(&r, 6);
    double diff_masked = 0, diff_open = 0, scale = 0;
    for (int masked = 1; masked >= 0; masked--) {
        for (int k = 0; k < 2; k++) {
            tu_seed(&r, 6);
            tu_fill(&r, x, n, 0.5);
            if (k) /* other content in cells 1..3 */
                for (int64_t i = 0; i < n; i++) {
                    int64_t y = i / (W * 3) % H, xx = i / 3 % W;
                    if (y >= H / 2 || xx >= W / 2) x[i] = -x[i] + 0.3f;
                }
            gl_dit_batch db = {.B = 1, .F = F, .H = H, .W = W, .x = x, .t = t, .text = text, .text_lens = lens,
                               .self_mask = masked ? self : NULL, .cross_mask = masked ? cross : NULL};
            gl_arena_reset(arena);
            if (gl_dit_forward(m, arena, &db, out[k], msg, sizeof msg)) fail_msg("%s", msg);
        }
        for (int64_t i = 0; i < n; i++) {
            int64_t y = i / (W * 3) % H, xx = i / 3 % W;
            if (y >= H / 2 || xx >= W / 2) continue; /* cell 0 only */
            double d = fabs(out[0][i] - out[1][i]);
            if (masked) diff_masked = fmax(diff_masked, d);
            else diff_open = fmax(diff_open, d);
            scale = fmax(scale, fabs(out[0][i]));
        }
    }
    assert_true(scale > 0.01);
    if (diff_masked > 1e-5 * scale) fail_msg("masked: cell 0 moved by %g (scale %g)", diff_masked, scale);
    if (diff_open < 1e-3 * scale) fail_msg("unmasked: cell 0 moved by only %g", diff_open);
    gl_arena_free(&arena);
    free(self); free(cross); free(cell); free(x); free(t); free(out[0]); free(out[1]); free(vm);
    gl_tokenizer_free(&tk);
    gl_dit_free(&m);
}

/* Two videos of the model's cell, a and b, of uniform noise in [lo, lo + span]: inputs for
 * the grid apps. */
static void two_inputs(const gl_dit_config *c, uint64_t seed, double lo, double span, gl_video *a, gl_video *b) {
    assert_int_equal(gl_video_alloc(a, c->frames, c->cell_h, c->cell_w), GL_OK);
    assert_int_equal(gl_video_alloc(b, c->frames, c->cell_h, c->cell_w), GL_OK);
    tu_rng r;
    tu_seed(&r, seed);
    for (int64_t i = 0; i < c->frames * c->cell_h * c->cell_w * 3; i++) {
        a->rgb[i] = (float)(lo + span * tu_uniform(&r));
        b->rgb[i] = (float)(lo + span * tu_uniform(&r));
    }
}

/* gl_app_run: the input cells of the result are the inputs bit for bit, the outputs are
 * finite values in [0, 1] that the model made (not the blank tile). */
static void app_keeps_input_exactly(void **s) {
    (void)s;
    gl_dit_config c = config();
    gl_dit *m = random_model(&c, 7);
    char msg[512];
    gl_video a = {0}, b = {0};
    two_inputs(&c, 8, 0.0, 1.0, &a, &b);
    int64_t n = c.frames * c.cell_h * c.cell_w * 3;
    gl_sample_opts so = gl_sample_default_opts();
    so.steps = 3;
    for (int which = 0; which < 2; which++) {
        gl_layout l;
        const char *fx[] = {"with smoke"};
        const gl_video *in[4] = {&a, NULL, NULL, NULL};
        if (which == 0) {
            assert_int_equal(gl_layout_edit(&l, "", fx, 1, msg, sizeof msg), GL_OK);
        } else {
            assert_int_equal(gl_layout_compose(&l, "a red star", "a blue ring", NULL, 0, msg, sizeof msg), GL_OK);
            in[1] = &b;
        }
        gl_video canvas = {0}, cells[4];
        gl_app_timing tm;
        if (gl_app_run(m, &l, in, &so, &canvas, &tm, msg, sizeof msg)) fail_msg("%s", msg);
        assert_int_equal(canvas.height, 2 * c.cell_h);
        assert_int_equal(gl_grid_split(cells, &canvas, msg, sizeof msg), GL_OK);
        for (int k = 0; k < 4; k++) {
            if (in[k]) {
                assert_memory_equal(cells[k].rgb, in[k]->rgb, (size_t)n * sizeof(float));
            } else {
                double dev = 0;
                for (int64_t i = 0; i < n; i++) {
                    assert_true(isfinite(cells[k].rgb[i]) && cells[k].rgb[i] >= 0 && cells[k].rgb[i] <= 1);
                    dev += fabs(cells[k].rgb[i]);
                }
                assert_true(dev > 0);
            }
            gl_video_release(&cells[k]);
        }
        gl_video_release(&canvas);
        /* a misfit input and an input for an output cell are refused, leaving nothing */
        const gl_video *bad[4] = {&a, &b, NULL, NULL};
        if (which == 0) {
            assert_int_equal(gl_app_run(m, &l, bad, &so, &canvas, NULL, msg, sizeof msg), GL_EINVAL);
            assert_non_null(strstr(msg, "output cell"));
            assert_null(canvas.rgb);
        }
    }
    gl_video_release(&a);
    gl_video_release(&b);
    gl_dit_free(&m);
}

/* Below pure noise (strength), each output cell starts from its start cell's video: near
 * strength 0 it comes out as that video (compose: cell 2 as A, cell 3 as B), the inputs
 * stay exact. */
static void app_starts_from_input_cells(void **s) {
    (void)s;
    gl_dit_config c = config();
    gl_dit *m = random_model(&c, 9);
    char msg[512];
    gl_video a = {0}, b = {0};
    two_inputs(&c, 10, 0.1, 0.8, &a, &b);
    int64_t n = c.frames * c.cell_h * c.cell_w * 3;
    gl_sample_opts so = gl_sample_default_opts();
    so.steps = 3;
    so.strength = 1e-3f;
    gl_layout l;
    assert_int_equal(gl_layout_compose(&l, "a red star", "a blue ring", NULL, 0, msg, sizeof msg), GL_OK);
    const gl_video *in[4] = {&a, &b, NULL, NULL};
    gl_video canvas = {0}, cells[4];
    if (gl_app_run(m, &l, in, &so, &canvas, NULL, msg, sizeof msg)) fail_msg("%s", msg);
    assert_int_equal(gl_grid_split(cells, &canvas, msg, sizeof msg), GL_OK);
    const gl_video *want[4] = {&a, &b, &a, &b};
    for (int k = 0; k < 4; k++) {
        double dev = 0;
        for (int64_t i = 0; i < n; i++) dev = fmax(dev, fabs((double)cells[k].rgb[i] - want[k]->rgb[i]));
        if (k < 2) assert_true(dev == 0);
        else assert_true(dev < 1e-2);
        gl_video_release(&cells[k]);
    }
    gl_video_release(&canvas);
    gl_video_release(&a);
    gl_video_release(&b);
    gl_dit_free(&m);
}

/* A concept token of an attached multi-vector adapter expands in the grid's joined prompt
 * as in a plain one: with <c0> standing for <c0> <c1>, the layout of "a <c0>" tokenizes,
 * and the app samples, exactly as "a <c0> <c1>" without the adapter (whose B = 0 and
 * whose rows are the base's, so only the ids differ); "a <c0>" without it differs. When
 * the prompt is cut to fit, the expanded token goes as one word. */
static void app_expands_multi_vector_tokens(void **s) {
    (void)s;
    gl_dit_config c = config();
    c.text_len = 48; /* nothing cut, but in the last check */
    char msg[512];
    assert_int_equal(gl_dit_config_validate(&c, msg, sizeof msg), GL_OK);
    gl_dit *m = random_model(&c, 9);
    gl_tokenizer *tk = NULL;
    int32_t toks[2];
    gl_lora *l = two_vector_adapter(m, &tk, toks);
    const char *fx[] = {"with smoke"};
    gl_layout one, two;
    assert_int_equal(gl_layout_edit(&one, "a <c0>", fx, 1, msg, sizeof msg), GL_OK);
    assert_int_equal(gl_layout_edit(&two, "a <c0> <c1>", fx, 1, msg, sizeof msg), GL_OK);
    int32_t a[48], b[48];
    int64_t na = 0, nb = 0;
    assert_int_equal(gl_dit_attach_lora(m, l, 1.0f, msg, sizeof msg), GL_OK);
    assert_int_equal(gl_layout_tokenize(&one, tk, m, c.text_len, a, &na, msg, sizeof msg), GL_OK);
    assert_int_equal(gl_layout_tokenize(&two, tk, NULL, c.text_len, b, &nb, msg, sizeof msg), GL_OK);
    assert_int_equal(na, nb);
    assert_memory_equal(a, b, (size_t)na * sizeof *a);
    int whole = 0, cut = 0;
    for (int64_t i = 0; i < na; i++) whole += a[i] == toks[0];
    /* the app, through the model it is given */
    gl_video in = {0};
    assert_int_equal(gl_video_alloc(&in, c.frames, c.cell_h, c.cell_w), GL_OK);
    tu_rng r;
    tu_seed(&r, 10);
    const int64_t px = c.frames * c.cell_h * c.cell_w * 3;
    for (int64_t i = 0; i < px; i++) in.rgb[i] = (float)tu_uniform(&r);
    const gl_video *inputs[4] = {&in, NULL, NULL, NULL};
    gl_sample_opts so = gl_sample_default_opts();
    so.steps = 2;
    gl_video expanded = {0}, spelt = {0}, plain = {0};
    if (gl_app_run(m, &one, inputs, &so, &expanded, NULL, msg, sizeof msg)) fail_msg("%s", msg);
    gl_dit_detach_loras(m);
    if (gl_app_run(m, &two, inputs, &so, &spelt, NULL, msg, sizeof msg)) fail_msg("%s", msg);
    if (gl_app_run(m, &one, inputs, &so, &plain, NULL, msg, sizeof msg)) fail_msg("%s", msg);
    const size_t bytes = (size_t)(4 * px) * sizeof(float);
    assert_memory_equal(expanded.rgb, spelt.rgb, bytes);
    assert_memory_not_equal(expanded.rgb, plain.rgb, bytes);
    /* cut to fit: the longest part (cell 1's "a <c0> with smoke") loses "a", then <c0>
     * with its extra id, never the one without the other */
    assert_int_equal(gl_dit_attach_lora(m, l, 1.0f, msg, sizeof msg), GL_OK);
    assert_int_equal(gl_layout_tokenize(&one, tk, m, 16, a, &na, msg, sizeof msg), GL_OK);
    assert_true(na <= 16);
    for (int64_t i = 0; i < na; i++) {
        cut += a[i] == toks[0];
        if (a[i] == toks[0]) assert_true(i + 1 < na && a[i + 1] == toks[1]);
        else assert_true(a[i] != toks[1] || (i > 0 && a[i - 1] == toks[0]));
    }
    assert_true(cut >= 1 && cut < whole); /* some <c0> went, some stayed */
    gl_dit_detach_loras(m);
    gl_video_release(&in);
    gl_video_release(&expanded);
    gl_video_release(&spelt);
    gl_video_release(&plain);
    gl_lora_free(&l);
    gl_tokenizer_free(&tk);
    gl_dit_free(&m);
}

/* A grid set whose captions carry a concept token, read with a multi-vector adapter
 * attached: each canvas's tokens are its layout's as the apps tokenize them given the
 * model (the token with its extra id), not the bare ids a reader without it gives. */
static void grid_set_expands_multi_vector_tokens(void **s) {
    (void)s;
    gl_dit_config c = config();
    c.text_len = 48;
    char msg[512];
    assert_int_equal(gl_dit_config_validate(&c, msg, sizeof msg), GL_OK);
    gl_dit *m = random_model(&c, 11);
    tu_tmpdir set, gdir;
    make_grids(&set, &gdir, m, "edit", 1);
    /* the set's only canvas, its global prompt led by <c0> */
    char mpath[256], line[8192];
    snprintf(mpath, sizeof mpath, "%s/manifest.jsonl", gdir.path);
    FILE *f = fopen(mpath, "r");
    assert_non_null(f);
    assert_non_null(fgets(line, sizeof line, f));
    fclose(f);
    char *at = strstr(line, "\"global\":\"");
    assert_non_null(at);
    at += strlen("\"global\":\"");
    char edited[8300];
    snprintf(edited, sizeof edited, "%.*s<c0> %s", (int)(at - line), line, at);
    assert_non_null(f = fopen(mpath, "w"));
    fputs(edited, f);
    fclose(f);
    gl_tokenizer *tk = NULL;
    int32_t toks[2];
    gl_lora *l = two_vector_adapter(m, &tk, toks);
    tbatch t;
    batch_alloc(&t, &c, 1);
    int32_t want[48], bare[48];
    int64_t n_want = 0, n_bare = 0;
    for (int with = 0; with < 2; with++) {
        if (with) assert_int_equal(gl_dit_attach_lora(m, l, 1.0f, msg, sizeof msg), GL_OK);
        gl_grid_data *g = NULL;
        if (gl_grid_data_dir(&g, gdir.path, m, NULL, NULL, msg, sizeof msg)) fail_msg("%s", msg);
        gl_rng rng;
        gl_rng_seed(&rng, 1);
        assert_int_equal(gl_grid_data_next(g, 0, &rng, &t.b, msg, sizeof msg), GL_OK);
        const gl_grid_item *it = gl_grid_data_last(g, 0);
        int32_t *dst = with ? want : bare;
        int64_t *nd = with ? &n_want : &n_bare;
        assert_int_equal(gl_layout_tokenize(&it->layout, tk, with ? m : NULL, c.text_len, dst, nd, msg, sizeof msg),
                         GL_OK);
        assert_int_equal(t.b.text_lens[0], *nd);
        assert_memory_equal(t.b.text, dst, (size_t)*nd * sizeof *dst);
        gl_grid_data_free(&g);
    }
    /* <c0> then its second id, where the bare reading had <c0> alone */
    assert_int_equal(n_want, n_bare + 1);
    int found = 0;
    for (int64_t i = 0; i + 1 < n_want; i++) found |= want[i] == toks[0] && want[i + 1] == toks[1];
    assert_true(found);
    gl_dit_detach_loras(m);
    batch_free(&t);
    gl_lora_free(&l);
    gl_tokenizer_free(&tk);
    gl_dit_free(&m);
    tu_tmp_remove(&gdir);
    tu_tmp_remove(&set);
}

/* Rewrites line `line` (1-based) of GDIR's manifest with the "subject" value replaced by
 * json (a JSON value, or NULL to drop the key). */
static void set_subject_entry(const tu_tmpdir *gdir, int line, const char *json) {
    char mpath[256], buf[8192], out[65536] = "";
    snprintf(mpath, sizeof mpath, "%s/manifest.jsonl", gdir->path);
    FILE *f = fopen(mpath, "r");
    assert_non_null(f);
    for (int k = 1; fgets(buf, sizeof buf, f); k++) {
        if (k == line) {
            cJSON *o = cJSON_Parse(buf);
            assert_non_null(o);
            cJSON_DeleteItemFromObject(o, "subject");
            if (json) cJSON_AddItemToObject(o, "subject", cJSON_Parse(json));
            char *txt = cJSON_PrintUnformatted(o);
            snprintf(buf, sizeof buf, "%s\n", txt);
            cJSON_free(txt);
            cJSON_Delete(o);
        }
        strncat(out, buf, sizeof out - strlen(out) - 1);
    }
    fclose(f);
    assert_non_null(f = fopen(mpath, "w"));
    fputs(out, f);
    fclose(f);
}

/* A rendered set carries each cell's subject coverage, and with a subject weight the
 * source weighs each pixel 1 + w x the renderer's coverage (gl_render_scene's alpha);
 * weight 0 leaves the trainer's ones. A set without coverage refuses a weight, naming
 * the manifest line; hostile "subject" entries are errors. */
static void subject_weight_follows_coverage(void **s) {
    (void)s;
    gl_dit_config c = config();
    gl_dit *m = random_model(&c, 12);
    tu_tmpdir set, gdir;
    make_grids(&set, &gdir, m, "edit", 2);
    char msg[512];
    gl_grid_data *g = NULL;
    if (gl_grid_data_dir(&g, gdir.path, m, NULL, NULL, msg, sizeof msg)) fail_msg("%s", msg);
    assert_int_equal(gl_grid_data_set_subject_weight(g, NULL, -1.0f, msg, sizeof msg), GL_EINVAL);
    assert_int_equal(gl_grid_data_set_subject_weight(g, NULL, 1000.0f, msg, sizeof msg), GL_EINVAL);
    const float w = 2.0f;
    const int64_t npx = c.frames * 4 * c.cell_h * c.cell_w, ncell = c.frames * c.cell_h * c.cell_w;
    tbatch t;
    batch_alloc(&t, &c, 1);
    t.b.weight = malloc((size_t)npx * sizeof(float));
    assert_non_null(t.b.weight);
    for (int pass = 0; pass < 2; pass++) {
        assert_int_equal(gl_grid_data_set_subject_weight(g, NULL, pass ? 0.0f : w, msg, sizeof msg), GL_OK);
        for (int64_t q = 0; q < npx; q++) t.b.weight[q] = 1.0f;
        gl_rng rng;
        gl_rng_seed(&rng, 3);
        assert_int_equal(gl_grid_data_next(g, 0, &rng, &t.b, msg, sizeof msg), GL_OK);
        if (pass) { /* no weight: the trainer's ones untouched */
            for (int64_t q = 0; q < npx; q++) assert_true(t.b.weight[q] == 1.0f);
            break;
        }
        /* the weights as a video, split into cells, against each cell's rendered coverage */
        gl_video wv = {0}, cells[4];
        assert_int_equal(gl_video_alloc(&wv, c.frames, 2 * c.cell_h, 2 * c.cell_w), GL_OK);
        for (int64_t q = 0; q < npx; q++) wv.rgb[3 * q] = wv.rgb[3 * q + 1] = wv.rgb[3 * q + 2] = t.b.weight[q];
        assert_int_equal(gl_grid_split(cells, &wv, msg, sizeof msg), GL_OK);
        const int64_t canvas = gl_grid_data_last(g, 0)->canvas;
        cJSON *o = tu_manifest_line(gdir.path, canvas);
        assert_true(cJSON_IsString(cJSON_GetObjectItem(o, "subject")));
        float *alpha = malloc((size_t)ncell * sizeof *alpha);
        assert_non_null(alpha);
        double covered = 0;
        for (int k = 0; k < 4; k++) {
            const cJSON *e = cJSON_GetArrayItem(cJSON_GetObjectItem(o, "cells"), k);
            gl_concept a;
            assert_int_equal(gl_concept_sample(&a, gl_dataset_concept_seed(5, (int64_t)cJSON_GetObjectItem(e, "concept")->valuedouble),
                                               GL_SPLIT_TRAIN),
                             GL_OK);
            gl_scene sc;
            assert_int_equal(gl_scene_from_variant(&sc, &a, NULL, gl_variant_from_name(cJSON_GetObjectItem(e, "variant")->valuestring)),
                             GL_OK);
            assert_int_equal(sc.n_subjects, 1); /* an edit canvas: one subject a cell */
            gl_render_opts rop = gl_render_default_opts();
            rop.frames = c.frames;
            rop.height = c.cell_h;
            rop.width = c.cell_w;
            gl_video truth = {0};
            assert_int_equal(gl_render_scene(&sc, &rop, &truth, alpha), GL_OK);
            /* the error against the weight's own size over the subject: the coverage goes
             * through a lossy (if visually lossless) video file */
            double err = 0, size = 0;
            for (int64_t q = 0; q < ncell; q++) {
                err += fabs(cells[k].rgb[3 * q] - (1.0 + w * alpha[q]));
                size += w * alpha[q];
                covered += alpha[q] > 0.5;
            }
            if (err > 0.05 * size)
                fail_msg("canvas %lld cell %d: weights %.4f from 1 + %g x coverage, %.1f%% of the subject's extra weight",
                         (long long)canvas, k, err / (double)ncell, (double)w, 100.0 * err / size);
            gl_video_release(&truth);
        }
        assert_true(covered > 0); /* the check saw subject pixels, not only background */
        free(alpha);
        cJSON_Delete(o);
        for (int k = 0; k < 4; k++) gl_video_release(&cells[k]);
        gl_video_release(&wv);
    }
    gl_grid_data_free(&g);
    /* canvas 2 of the set without its coverage: read, but no weight */
    set_subject_entry(&gdir, 2, NULL);
    if (gl_grid_data_dir(&g, gdir.path, m, NULL, NULL, msg, sizeof msg)) fail_msg("%s", msg);
    assert_int_equal(gl_grid_data_set_subject_weight(g, NULL, 0.0f, msg, sizeof msg), GL_OK);
    assert_int_equal(gl_grid_data_set_subject_weight(g, NULL, 1.0f, msg, sizeof msg), GL_EINVAL);
    assert_non_null(strstr(msg, "manifest.jsonl, line 2"));
    gl_grid_data_free(&g);
    const char *hostile[] = {"\"../0000.subject.mp4\"", "\"/etc/passwd\"", "5", "\"missing.mp4\""};
    for (int k = 0; k < 4; k++) {
        set_subject_entry(&gdir, 1, hostile[k]);
        int rc = gl_grid_data_dir(&g, gdir.path, m, NULL, NULL, msg, sizeof msg);
        if (rc == GL_OK) fail_msg("subject %s was read", hostile[k]);
        assert_null(g);
        if (k < 3) assert_int_equal(rc, GL_EFORMAT);
        assert_non_null(strstr(msg, k < 3 ? "manifest.jsonl" : "missing.mp4"));
    }
    free(t.b.weight);
    batch_free(&t);
    gl_dit_free(&m);
    tu_tmp_remove(&gdir);
    tu_tmp_remove(&set);
}

/* A model with an edit set and a character set of two canvases each, made on disk. */
typedef struct two_sets {
    gl_dit_config c;
    gl_dit *m;
    tu_tmpdir set1, edit, set2, character;
} two_sets;

static void two_sets_make(two_sets *t, uint64_t seed) {
    t->c = config();
    t->m = random_model(&t->c, seed);
    make_grids(&t->set1, &t->edit, t->m, "edit", 2);
    make_grids(&t->set2, &t->character, t->m, "character", 2);
}

/* Both sets read as one source. */
static gl_grid_data *two_sets_read(two_sets *t) {
    const char *both[2] = {t->edit.path, t->character.path};
    gl_grid_data *g = NULL;
    char msg[512];
    if (gl_grid_data_dirs(&g, both, 2, t->m, NULL, NULL, msg, sizeof msg)) fail_msg("%s", msg);
    return g;
}

static void two_sets_free(two_sets *t) {
    gl_dit_free(&t->m);
    tu_tmp_remove(&t->edit);
    tu_tmp_remove(&t->set1);
    tu_tmp_remove(&t->character);
    tu_tmp_remove(&t->set2);
}

/* A layout's own weight: the canvases of the others keep theirs (character=0 under an
 * all-layouts 2 leaves character canvases at ones and weighs edit canvases' subjects);
 * coverage is asked of the named layout's canvases alone. */
static void subject_weight_per_layout(void **s) {
    (void)s;
    two_sets ts;
    two_sets_make(&ts, 14);
    const gl_dit_config c = ts.c;
    set_subject_entry(&ts.character, 2, NULL); /* one character canvas without coverage */
    gl_grid_data *g = two_sets_read(&ts);
    char msg[512];
    assert_int_equal(gl_grid_data_set_subject_weight(g, "scene", 1.0f, msg, sizeof msg), GL_EINVAL);
    assert_non_null(strstr(msg, "'scene'"));
    assert_int_equal(gl_grid_data_set_subject_weight(g, NULL, 2.0f, msg, sizeof msg), GL_EINVAL);
    assert_non_null(strstr(msg, "manifest.jsonl, line 2"));
    assert_int_equal(gl_grid_data_set_subject_weight(g, "character", 2.0f, msg, sizeof msg), GL_EINVAL);
    assert_int_equal(gl_grid_data_set_subject_weight(g, "edit", 2.0f, msg, sizeof msg), GL_OK);
    assert_int_equal(gl_grid_data_set_subject_weight(g, "character", 0.0f, msg, sizeof msg), GL_OK);
    const int64_t npx = c.frames * 4 * c.cell_h * c.cell_w;
    tbatch t;
    batch_alloc(&t, &c, 1);
    t.b.weight = malloc((size_t)npx * sizeof(float));
    assert_non_null(t.b.weight);
    gl_rng rng;
    gl_rng_seed(&rng, 9);
    int seen[2] = {0, 0};
    for (int step = 0; step < 40 && !(seen[0] && seen[1]); step++) {
        for (int64_t q = 0; q < npx; q++) t.b.weight[q] = 1.0f;
        assert_int_equal(gl_grid_data_next(g, step, &rng, &t.b, msg, sizeof msg), GL_OK);
        const int is_edit = gl_grid_data_last(g, 0)->layout.kind == GL_LAYOUT_EDIT;
        double extra = 0, top = 0;
        for (int64_t q = 0; q < npx; q++) {
            assert_true(t.b.weight[q] >= 1.0f && t.b.weight[q] <= 3.0f);
            extra += t.b.weight[q] - 1.0f;
            if (t.b.weight[q] > top) top = t.b.weight[q];
        }
        if (is_edit) /* a subject in every cell, its core fully covered */
            assert_true(extra > 0 && top > 2.5);
        else
            assert_true(extra == 0);
        seen[is_edit] = 1;
    }
    assert_true(seen[0] && seen[1]);
    free(t.b.weight);
    batch_free(&t);
    gl_grid_data_free(&g);
    two_sets_free(&ts);
}

/* Batches from g until both layouts came: each edit canvas's offset noise is `edit`, each
 * character canvas's `other`, with the trainer's 0.03 set before each call. */
static void expect_offsets(gl_grid_data *g, tbatch *t, gl_rng *rng, double edit, double other) {
    char msg[512];
    int seen[2] = {0, 0};
    for (int step = 0; step < 40 && !(seen[0] && seen[1]); step++) {
        t->b.offset_noise = 0.03; /* the trainer's */
        assert_int_equal(gl_grid_data_next(g, step, rng, &t->b, msg, sizeof msg), GL_OK);
        const int is_edit = gl_grid_data_last(g, 0)->layout.kind == GL_LAYOUT_EDIT;
        assert_true(t->b.offset_noise == (is_edit ? edit : other));
        seen[is_edit] = 1;
    }
    assert_true(seen[0] && seen[1]);
}

/* Offset noise per layout: the source gives its value where a layout has one (LAYOUT=G
 * over a plain G, the last call for a layout winning) and leaves the trainer's
 * (whatever b->offset_noise held) elsewhere. */
static void offset_noise_per_layout(void **s) {
    (void)s;
    two_sets ts;
    two_sets_make(&ts, 15);
    gl_grid_data *g = two_sets_read(&ts);
    char msg[512];
    assert_int_equal(gl_grid_data_set_offset_noise(g, "scene", 0.1, msg, sizeof msg), GL_EINVAL);
    assert_non_null(strstr(msg, "'scene'"));
    assert_int_equal(gl_grid_data_set_offset_noise(g, NULL, -0.1, msg, sizeof msg), GL_EINVAL);
    assert_int_equal(gl_grid_data_set_offset_noise(g, "edit", 2.0, msg, sizeof msg), GL_EINVAL);
    assert_int_equal(gl_grid_data_set_offset_noise(g, "edit", 0.3, msg, sizeof msg), GL_OK);
    assert_int_equal(gl_grid_data_set_offset_noise(g, "edit", 0.1, msg, sizeof msg), GL_OK);
    tbatch t;
    batch_alloc(&t, &ts.c, 1);
    gl_rng rng;
    gl_rng_seed(&rng, 9);
    expect_offsets(g, &t, &rng, 0.1, 0.03);
    /* a value for every layout, then character's own: edit takes the plain one */
    assert_int_equal(gl_grid_data_set_offset_noise(g, NULL, 0.2, msg, sizeof msg), GL_OK);
    assert_int_equal(gl_grid_data_set_offset_noise(g, "character", 0.0, msg, sizeof msg), GL_OK);
    expect_offsets(g, &t, &rng, 0.2, 0.0);
    batch_free(&t);
    gl_grid_data_free(&g);
    two_sets_free(&ts);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(tokenize_keeps_markers),
    cmocka_unit_test(render_cells_match_truth),
    cmocka_unit_test(source_masks_match_layout),
    cmocka_unit_test(several_sets_read_as_one),
    cmocka_unit_test(fill_clean_subsets),
    cmocka_unit_test(fill_input_share),
    cmocka_unit_test(fill_loss_ignores_clean_cells),
    cmocka_unit_test(mask_holds_end_to_end),
    cmocka_unit_test(app_keeps_input_exactly),
    cmocka_unit_test(app_starts_from_input_cells),
    cmocka_unit_test(app_expands_multi_vector_tokens),
    cmocka_unit_test(grid_set_expands_multi_vector_tokens),
    cmocka_unit_test(subject_weight_follows_coverage),
    cmocka_unit_test(subject_weight_per_layout),
    cmocka_unit_test(offset_noise_per_layout),
};
TU_MAIN("grids", tests)
