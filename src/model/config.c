/* model/config.c: the DiT configuration: presets, validation, and JSON (the form it is
 * stored in, as safetensors metadata, so a weights file describes its own model). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "gridlora/model.h"
#include "gridlora/nn.h"

/* One table drives JSON in both directions, so a field cannot be saved and not loaded. */
#define CONFIG_INT_FIELDS(X) \
    X(channels) X(frames) X(cell_h) X(cell_w) X(patch_t) X(patch_h) X(patch_w) X(width) \
    X(depth) X(heads) X(mlp_ratio) X(time_dim) X(text_vocab) X(concept_tokens) X(text_len) \
    X(text_width) X(text_layers) X(text_heads)

int gl_dit_config_preset(const char *name, gl_dit_config *cfg) {
    memset(cfg, 0, sizeof *cfg);
    if (!strcmp(name, "tiny")) {
        /* the smallest model that still has every part: two blocks, two heads of 8
         * (RoPE parts 4/2/2), one text layer; patches of 12 values fit through the
         * width of 16, so the model can pass its input through (flow needs that) */
        *cfg = (gl_dit_config){.channels = 3, .frames = 2, .cell_h = 8, .cell_w = 8,
                               .patch_t = 1, .patch_h = 2, .patch_w = 2, .width = 16,
                               .depth = 2, .heads = 2, .mlp_ratio = 2, .time_dim = 16,
                               .text_vocab = 128, .concept_tokens = 4, .text_len = 16,
                               .text_width = 16, .text_layers = 1, .text_heads = 2,
                               .rope_theta = 10000.0, .rope_per_cell = 1};
        return GL_OK;
    }
    if (!strcmp(name, "default")) {
        /* the shipped base's architecture (models/default/TRAINING.md, stage 1): METHOD.md's
         * starting sizes, which train each stage within two hours on two cores, with the
         * pooled caption and absolute positions, which gave lower error at every noise level
         * and the caption's colours ("Shape, measured"). Before 2026-12-04 the preset had
         * text_pool 0 and abs_pos 0: replay older commands with --text-pool 0 --abs-pos 0. */
        *cfg = (gl_dit_config){.channels = 3, .frames = 8, .cell_h = 32, .cell_w = 32,
                               .patch_t = 2, .patch_h = 4, .patch_w = 4, .width = 192,
                               .depth = 6, .heads = 4, .mlp_ratio = 4, .time_dim = 256,
                               .text_vocab = 1024, .concept_tokens = 512, .text_len = 80,
                               .text_width = 128, .text_layers = 2, .text_heads = 4,
                               .rope_theta = 10000.0, .rope_per_cell = 1, .text_pool = 1,
                               .abs_pos = 1};
        return GL_OK;
    }
    return GL_ENOTFOUND;
}

#define FAIL(...) do { snprintf(msg, msglen, __VA_ARGS__); return GL_EINVAL; } while (0)

int gl_dit_config_validate(const gl_dit_config *c, char *msg, size_t msglen) {
    /* upper bounds keep every size product far from int64 overflow and sgemm's int */
#define CHECK_RANGE(f) \
    if (c->f < 1 || c->f > (1 << 20)) FAIL("config: %s is %lld, must be in [1, %d]", #f, (long long)c->f, 1 << 20);
    CONFIG_INT_FIELDS(CHECK_RANGE)
#undef CHECK_RANGE
    if (c->width % c->heads) FAIL("config: width %lld is not divisible by heads %lld", (long long)c->width, (long long)c->heads);
    int64_t D = c->width / c->heads;
    if (D % 2) FAIL("config: head size %lld must be even for rotary embedding", (long long)D);
    int64_t split[3];
    gl_rope_default_split(D, split);
    if (split[1] == 0) FAIL("config: head size %lld is too small to split over frame, row and column (need >= 6)", (long long)D);
    if (c->text_width % c->text_heads) FAIL("config: text_width %lld is not divisible by text_heads %lld", (long long)c->text_width, (long long)c->text_heads);
    if (c->time_dim % 2) FAIL("config: time_dim %lld must be even", (long long)c->time_dim);
    if (c->frames % c->patch_t || c->cell_h % c->patch_h || c->cell_w % c->patch_w)
        FAIL("config: cell %lldx%lldx%lld is not divisible by patch %lldx%lldx%lld", (long long)c->frames,
             (long long)c->cell_h, (long long)c->cell_w, (long long)c->patch_t, (long long)c->patch_h, (long long)c->patch_w);
    if (c->concept_tokens >= c->text_vocab) FAIL("config: concept_tokens %lld must be below text_vocab %lld", (long long)c->concept_tokens, (long long)c->text_vocab);
    if (!(c->rope_theta > 1.0 && c->rope_theta < 1e9)) FAIL("config: rope_theta %g must be in (1, 1e9)", c->rope_theta);
    if (c->rope_per_cell != 0 && c->rope_per_cell != 1) FAIL("config: rope_per_cell is %lld, must be 0 or 1", (long long)c->rope_per_cell);
    if (c->predict_x0 != 0 && c->predict_x0 != 1) FAIL("config: predict_x0 is %lld, must be 0 or 1", (long long)c->predict_x0);
    if (c->text_pool != 0 && c->text_pool != 1) FAIL("config: text_pool is %lld, must be 0 or 1", (long long)c->text_pool);
    if (c->abs_pos != 0 && c->abs_pos != 1) FAIL("config: abs_pos is %lld, must be 0 or 1", (long long)c->abs_pos);
    return GL_OK;
}

char *gl_dit_config_to_json(const gl_dit_config *c) {
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
#define ADD(f) cJSON_AddNumberToObject(o, #f, (double)c->f);
    CONFIG_INT_FIELDS(ADD)
#undef ADD
    cJSON_AddNumberToObject(o, "rope_theta", c->rope_theta);
    cJSON_AddNumberToObject(o, "rope_per_cell", (double)c->rope_per_cell);
    /* the later flags only when set: absent means 0, and files of models without them
     * read as before, in older builds too */
    if (c->predict_x0) cJSON_AddNumberToObject(o, "predict_x0", (double)c->predict_x0);
    if (c->text_pool) cJSON_AddNumberToObject(o, "text_pool", (double)c->text_pool);
    if (c->abs_pos) cJSON_AddNumberToObject(o, "abs_pos", (double)c->abs_pos);
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

static int known_key(const char *k) {
#define IS(f) if (!strcmp(k, #f)) return 1;
    CONFIG_INT_FIELDS(IS)
#undef IS
    return !strcmp(k, "rope_theta") || !strcmp(k, "rope_per_cell") || !strcmp(k, "predict_x0") ||
           !strcmp(k, "text_pool") || !strcmp(k, "abs_pos");
}

/* A key that may be absent (then 0) and is otherwise 0 or 1. */
static int optional_flag(const cJSON *o, const char *key, int64_t *out, char *msg, size_t msglen) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (v && (!cJSON_IsNumber(v) || (v->valuedouble != 0.0 && v->valuedouble != 1.0))) {
        snprintf(msg, msglen, "config: '%s' must be 0 or 1", key);
        return GL_EINVAL;
    }
    *out = v ? (int64_t)v->valuedouble : 0;
    return GL_OK;
}

int gl_dit_config_from_json(const char *json, gl_dit_config *c, char *msg, size_t msglen) {
    memset(c, 0, sizeof *c);
    cJSON *o = cJSON_Parse(json);
    if (!o || !cJSON_IsObject(o)) {
        cJSON_Delete(o);
        FAIL("config: not a JSON object");
    }
    int rc = GL_OK;
    for (cJSON *it = o->child; it && rc == GL_OK; it = it->next)
        if (!it->string || !known_key(it->string)) {
            snprintf(msg, msglen, "config: unknown key '%s'", it->string ? it->string : "");
            rc = GL_EINVAL;
        }
#define GET(f)                                                                               \
    if (rc == GL_OK) {                                                                       \
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, #f);                            \
        /* range first: casting a NaN or a double beyond int64 is undefined (fuzz_config) */ \
        if (!cJSON_IsNumber(v) || !(v->valuedouble >= -9e15 && v->valuedouble <= 9e15) ||   \
            v->valuedouble != (double)(int64_t)v->valuedouble) {                             \
            snprintf(msg, msglen, "config: '%s' is missing or not an integer", #f);         \
            rc = GL_EINVAL;                                                                  \
        } else {                                                                             \
            c->f = (int64_t)v->valuedouble;                                                  \
        }                                                                                    \
    }
    CONFIG_INT_FIELDS(GET)
#undef GET
    if (rc == GL_OK) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "rope_theta");
        if (!cJSON_IsNumber(v)) {
            snprintf(msg, msglen, "config: 'rope_theta' is missing or not a number");
            rc = GL_EINVAL;
        } else {
            c->rope_theta = v->valuedouble;
        }
    }
    /* optional flags: files written before rope_per_cell hold canvas-wide positions,
     * files before predict_x0 predict v, files before text_pool have no pooled text,
     * files before abs_pos no absolute positions */
    if (rc == GL_OK) rc = optional_flag(o, "rope_per_cell", &c->rope_per_cell, msg, msglen);
    if (rc == GL_OK) rc = optional_flag(o, "predict_x0", &c->predict_x0, msg, msglen);
    if (rc == GL_OK) rc = optional_flag(o, "text_pool", &c->text_pool, msg, msglen);
    if (rc == GL_OK) rc = optional_flag(o, "abs_pos", &c->abs_pos, msg, msglen);
    cJSON_Delete(o);
    return rc == GL_OK ? gl_dit_config_validate(c, msg, msglen) : rc;
}
