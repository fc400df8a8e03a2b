/* pipeline/dataset.c: writes data sets of concepts (videos of every variant and a JSONL
 * manifest) and converts concepts to and from JSON. Drawing and rendering are concept.c's
 * and render.c's; encoding is io/'s. */
#define _POSIX_C_SOURCE 200809L /* opendir, mkdir, stat */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <cjson/cJSON.h>

#include "gridlora/core.h"
#include "gridlora/dataset.h"
#include "gridlora/render.h"
#include "gridlora/video.h"

gl_dataset_params gl_dataset_default_params(void) {
    return (gl_dataset_params){.count = 16, .seed = 0, .split = GL_SPLIT_TRAIN,
                               .render = gl_render_default_opts(), .fps = 8, .ext = "mp4"};
}

uint64_t gl_dataset_concept_seed(uint64_t seed, int64_t index) {
    uint64_t z = seed * 0x9E3779B97F4A7C15ull + (uint64_t)index + 0x632BE59BD9B4E019ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* ---- concepts as JSON ------------------------------------------------------------------ */

/* Adders that clear *ok when cJSON runs out of memory (they accept a NULL parent). */
static void add_num(cJSON *o, const char *k, double v, int *ok) {
    if (!cJSON_AddNumberToObject(o, k, v)) *ok = 0;
}
static void add_str(cJSON *o, const char *k, const char *v, int *ok) {
    if (!cJSON_AddStringToObject(o, k, v)) *ok = 0;
}
static void add_item(cJSON *o, const char *k, cJSON *item, int *ok) {
    if (!item || !o) {
        cJSON_Delete(item);
        *ok = 0;
        return;
    }
    cJSON_AddItemToObject(o, k, item);
}
static void add_doubles(cJSON *o, const char *k, const double *v, int n, int *ok) {
    add_item(o, k, cJSON_CreateDoubleArray(v, n), ok);
}
static void add_ints(cJSON *o, const char *k, const int *v, int n, int *ok) {
    add_item(o, k, cJSON_CreateIntArray(v, n), ok);
}

cJSON *gl_path_to_json(const gl_path *p) {
    cJSON *o = cJSON_CreateObject();
    int ok = 1;
    const char *kind = gl_motion_name(p->kind);
    add_str(o, "kind", kind ? kind : "?", &ok);
    add_num(o, "x", p->x, &ok);
    add_num(o, "y", p->y, &ok);
    add_doubles(o, "amp_x", p->amp_x, 2, &ok);
    add_doubles(o, "amp_y", p->amp_y, 2, &ok);
    add_doubles(o, "phase_x", p->phase_x, 2, &ok);
    add_doubles(o, "phase_y", p->phase_y, 2, &ok);
    add_ints(o, "cycles_x", p->cycles_x, 2, &ok);
    add_ints(o, "cycles_y", p->cycles_y, 2, &ok);
    add_num(o, "vx", p->vx, &ok);
    add_num(o, "vy", p->vy, &ok);
    add_num(o, "radius", p->radius, &ok);
    add_num(o, "ratio", p->ratio, &ok);
    add_num(o, "turns", p->turns, &ok);
    add_num(o, "phase", p->phase, &ok);
    add_num(o, "zig_amp", p->zig_amp, &ok);
    add_num(o, "zigs", p->zigs, &ok);
    if (!ok) cJSON_Delete(o);
    return ok ? o : NULL;
}

cJSON *gl_background_to_json(const gl_background *b) {
    cJSON *o = cJSON_CreateObject();
    int ok = 1;
    const char *kind = gl_bg_name(b->kind), *style = gl_bg_style_name(b->style);
    add_str(o, "kind", kind ? kind : "?", &ok);
    add_str(o, "style", style ? style : "?", &ok);
    add_num(o, "angle", b->angle, &ok);
    add_num(o, "scale", b->scale, &ok);
    add_num(o, "noise_seed", b->noise_seed, &ok);
    if (!ok) cJSON_Delete(o);
    return ok ? o : NULL;
}

cJSON *gl_concept_to_json(const gl_concept *c) {
    cJSON *o = cJSON_CreateObject(), *cols = cJSON_CreateArray();
    int ok = 1;
    char seed[32];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)c->seed);
    add_str(o, "seed", seed, &ok);
    const char *shape = gl_shape_name(c->shape), *tex = gl_texture_name(c->texture);
    add_str(o, "shape", shape ? shape : "?", &ok);
    add_str(o, "texture", tex ? tex : "?", &ok);
    for (int i = 0; i < c->n_colours && i < 3 && cols; i++) {
        const char *name = gl_colour_name(c->colours[i]);
        cJSON *s = cJSON_CreateString(name ? name : "?");
        if (!s) ok = 0;
        else cJSON_AddItemToArray(cols, s);
    }
    add_item(o, "colours", cols, &ok);
    add_num(o, "tex_freq", c->tex_freq, &ok);
    add_num(o, "tex_angle", c->tex_angle, &ok);
    add_num(o, "tex_seed", c->tex_seed, &ok);
    add_num(o, "size", c->size, &ok);
    add_num(o, "angle", c->angle, &ok);
    add_doubles(o, "blob_amp", c->blob_amp, 3, &ok);
    add_doubles(o, "blob_phase", c->blob_phase, 3, &ok);
    add_num(o, "spin", c->spin, &ok);
    add_num(o, "pulse", c->pulse, &ok);
    add_num(o, "pulse_cycles", c->pulse_cycles, &ok);
    add_item(o, "path", gl_path_to_json(&c->path), &ok);
    add_item(o, "background", gl_background_to_json(&c->bg), &ok);
    if (!ok) cJSON_Delete(o);
    return ok ? o : NULL;
}

/* Readers: each returns 0, or fills msg naming the field and returns GL_EFORMAT. */
typedef struct jr {
    char *msg;
    size_t len;
    const char *where;
} jr;

static int jfail(jr *r, const char *field, const char *what) {
    if (r->msg && r->len) snprintf(r->msg, r->len, "%s: field '%s': %s", r->where, field, what);
    return GL_EFORMAT;
}

static int get_num(jr *r, const cJSON *o, const char *k, double *out) {
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, k);
    if (!cJSON_IsNumber(x)) return jfail(r, k, "missing or not a number");
    *out = x->valuedouble;
    return 0;
}

static int get_int(jr *r, const cJSON *o, const char *k, int64_t lo, int64_t hi, int64_t *out) {
    double d;
    if (get_num(r, o, k, &d)) return GL_EFORMAT;
    if (!(d >= (double)lo && d <= (double)hi) || d != (double)(int64_t)d)
        return jfail(r, k, "not an integer in range");
    *out = (int64_t)d;
    return 0;
}

static int get_doubles(jr *r, const cJSON *o, const char *k, double *out, int n) {
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, k);
    if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) != n) return jfail(r, k, "missing or wrong length");
    for (int i = 0; i < n; i++) {
        const cJSON *x = cJSON_GetArrayItem(a, i);
        if (!cJSON_IsNumber(x)) return jfail(r, k, "holds a non-number");
        out[i] = x->valuedouble;
    }
    return 0;
}

static int get_ints(jr *r, const cJSON *o, const char *k, int *out, int n) {
    double d[4];
    if (get_doubles(r, o, k, d, n)) return GL_EFORMAT;
    for (int i = 0; i < n; i++) {
        if (!(d[i] >= -1e6 && d[i] <= 1e6) || d[i] != (double)(int)d[i]) return jfail(r, k, "holds a non-integer");
        out[i] = (int)d[i];
    }
    return 0;
}

/* The index of the string in o[k] among names(0..n-1). */
static int get_enum(jr *r, const cJSON *o, const char *k, const char *(*names)(int), int n, int *out) {
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, k);
    if (!cJSON_IsString(x)) return jfail(r, k, "missing or not a string");
    for (int i = 0; i < n; i++)
        if (!strcmp(x->valuestring, names(i))) {
            *out = i;
            return 0;
        }
    return jfail(r, k, "unknown name");
}

static int path_from_json(jr *outer, const cJSON *o, gl_path *p) {
    int kind = 0;
    int64_t zigs = 0;
    jr sub = {outer->msg, outer->len, "concept.path"}, *r = &sub;
    if (!cJSON_IsObject(o)) return jfail(outer, "path", "missing or not an object");
    if (get_enum(r, o, "kind", gl_motion_name, GL_MOTION_COUNT, &kind) || get_num(r, o, "x", &p->x) ||
        get_num(r, o, "y", &p->y) || get_doubles(r, o, "amp_x", p->amp_x, 2) ||
        get_doubles(r, o, "amp_y", p->amp_y, 2) || get_doubles(r, o, "phase_x", p->phase_x, 2) ||
        get_doubles(r, o, "phase_y", p->phase_y, 2) || get_ints(r, o, "cycles_x", p->cycles_x, 2) ||
        get_ints(r, o, "cycles_y", p->cycles_y, 2) || get_num(r, o, "vx", &p->vx) ||
        get_num(r, o, "vy", &p->vy) || get_num(r, o, "radius", &p->radius) ||
        get_num(r, o, "ratio", &p->ratio) || get_num(r, o, "turns", &p->turns) ||
        get_num(r, o, "phase", &p->phase) || get_num(r, o, "zig_amp", &p->zig_amp) ||
        get_int(r, o, "zigs", 0, 64, &zigs))
        return GL_EFORMAT;
    p->kind = (gl_motion)kind;
    p->zigs = (int)zigs;
    return 0;
}

static int bg_from_json(jr *outer, const cJSON *o, gl_background *b) {
    int kind = 0, style = 0;
    int64_t seed = 0;
    jr sub = {outer->msg, outer->len, "concept.background"}, *r = &sub;
    if (!cJSON_IsObject(o)) return jfail(outer, "background", "missing or not an object");
    if (get_enum(r, o, "kind", gl_bg_name, GL_BG_COUNT, &kind) ||
        get_enum(r, o, "style", gl_bg_style_name, GL_BGSTYLE_COUNT, &style) ||
        get_num(r, o, "angle", &b->angle) || get_num(r, o, "scale", &b->scale) ||
        get_int(r, o, "noise_seed", 0, UINT32_MAX, &seed))
        return GL_EFORMAT;
    b->kind = (gl_bg_kind)kind;
    b->style = (gl_bg_style)style;
    b->noise_seed = (uint32_t)seed;
    return 0;
}

int gl_concept_from_json(const cJSON *j, gl_concept *c, char *msg, size_t msglen) {
    jr r = {msg, msglen, "concept"};
    memset(c, 0, sizeof *c);
    if (!cJSON_IsObject(j)) return jfail(&r, "(root)", "not an object");
    const cJSON *seed = cJSON_GetObjectItemCaseSensitive(j, "seed");
    char *end = NULL;
    if (!cJSON_IsString(seed) || !isdigit((unsigned char)seed->valuestring[0])) return jfail(&r, "seed", "not a decimal string");
    errno = 0;
    unsigned long long sv = strtoull(seed->valuestring, &end, 10);
    if (errno || *end) return jfail(&r, "seed", "not a 64-bit decimal");
    c->seed = sv;
    int shape = 0, tex = 0;
    int64_t tex_seed = 0, pulse_cycles = 0;
    if (get_enum(&r, j, "shape", gl_shape_name, GL_SHAPE_COUNT, &shape) ||
        get_enum(&r, j, "texture", gl_texture_name, GL_TEX_COUNT, &tex))
        return GL_EFORMAT;
    c->shape = (gl_shape)shape;
    c->texture = (gl_texture)tex;
    const cJSON *cols = cJSON_GetObjectItemCaseSensitive(j, "colours");
    int n = cJSON_IsArray(cols) ? cJSON_GetArraySize(cols) : 0;
    if (n < 2 || n > 3) return jfail(&r, "colours", "must list 2 or 3 colours");
    c->n_colours = n;
    for (int i = 0; i < n; i++) {
        const cJSON *x = cJSON_GetArrayItem(cols, i);
        int k = 0;
        while (k < GL_COLOUR_COUNT && !(cJSON_IsString(x) && !strcmp(x->valuestring, gl_colour_name(k)))) k++;
        if (k == GL_COLOUR_COUNT) return jfail(&r, "colours", "unknown colour");
        c->colours[i] = (gl_colour)k;
    }
    if (n == 2) c->colours[2] = c->colours[0]; /* as gl_concept_sample leaves it */
    if (get_num(&r, j, "tex_freq", &c->tex_freq) || get_num(&r, j, "tex_angle", &c->tex_angle) ||
        get_int(&r, j, "tex_seed", 0, UINT32_MAX, &tex_seed) || get_num(&r, j, "size", &c->size) ||
        get_num(&r, j, "angle", &c->angle) || get_doubles(&r, j, "blob_amp", c->blob_amp, 3) ||
        get_doubles(&r, j, "blob_phase", c->blob_phase, 3) || get_num(&r, j, "spin", &c->spin) ||
        get_num(&r, j, "pulse", &c->pulse) || get_int(&r, j, "pulse_cycles", 0, 64, &pulse_cycles) ||
        path_from_json(&r, cJSON_GetObjectItemCaseSensitive(j, "path"), &c->path) ||
        bg_from_json(&r, cJSON_GetObjectItemCaseSensitive(j, "background"), &c->bg))
        return GL_EFORMAT;
    c->tex_seed = (uint32_t)tex_seed;
    c->pulse_cycles = (int)pulse_cycles;
    char why[128];
    if (gl_concept_check(c, why, sizeof why)) {
        if (msg && msglen) snprintf(msg, msglen, "%s", why);
        return GL_EFORMAT;
    }
    return 0;
}

/* ---- the directory ---------------------------------------------------------------------- */

/* Names a data set writes: manifest.jsonl(.tmp), or 4+ digits then a dot. */
static int ours(const char *name) {
    if (!strcmp(name, "manifest.jsonl") || !strcmp(name, "manifest.jsonl.tmp")) return 1;
    int d = 0;
    while (isdigit((unsigned char)name[d])) d++;
    return d >= 4 && name[d] == '.';
}

static int prepare_dir(const char *dir, char *msg, size_t msglen) {
    struct stat st;
    if (stat(dir, &st) != 0) {
        if (errno != ENOENT) {
            snprintf(msg, msglen, "dataset: %s: %s", dir, strerror(errno));
            return GL_EIO;
        }
        if (mkdir(dir, 0777) != 0) {
            snprintf(msg, msglen, "dataset: cannot create %s: %s", dir, strerror(errno));
            return GL_EIO;
        }
        return GL_OK;
    }
    if (!S_ISDIR(st.st_mode)) {
        snprintf(msg, msglen, "dataset: %s exists and is not a directory", dir);
        return GL_EEXIST;
    }
    DIR *d = opendir(dir);
    if (!d) {
        snprintf(msg, msglen, "dataset: %s: %s", dir, strerror(errno));
        return GL_EIO;
    }
    int manifest = 0, foreign = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        if (!strcmp(e->d_name, "manifest.jsonl")) manifest = 1;
        else if (!ours(e->d_name)) foreign = 1;
    }
    closedir(d);
    if (foreign && !manifest) {
        snprintf(msg, msglen, "dataset: %s is not empty and holds no data set (no manifest.jsonl)", dir);
        return GL_EEXIST;
    }
    return GL_OK;
}

/* ---- writing -------------------------------------------------------------------------- */

static void file_name(char *buf, size_t len, int64_t i, int variant, const char *ext) {
    if (variant == GL_VARIANT_PLAIN) snprintf(buf, len, "%04lld.%s", (long long)i, ext);
    else snprintf(buf, len, "%04lld.%s.%s", (long long)i, gl_variant_name(variant), ext);
}

static const unsigned variant_fx[GL_VARIANT_COUNT] = {
    [GL_VARIANT_SMOKE] = GL_FX_SMOKE, [GL_VARIANT_LIGHTS] = GL_FX_LIGHTS, [GL_VARIANT_NIGHT] = GL_FX_NIGHT,
    [GL_VARIANT_RAIN] = GL_FX_RAIN, [GL_VARIANT_SHADOW] = GL_FX_SHADOW};

/* Renders and writes the videos of concept i; builds its manifest line into *line. */
static int write_concept(const char *dir, const gl_dataset_params *p, int64_t i, char *path, size_t pathlen,
                         char **line, char *msg, size_t msglen) {
    gl_concept a, b;
    int64_t j = p->count > 1 ? (i + 1) % p->count : 1;
    gl_concept_sample(&a, gl_dataset_concept_seed(p->seed, i), p->split);
    gl_concept_sample(&b, gl_dataset_concept_seed(p->seed, j), p->split);
    int64_t tokens[2] = {i, j < p->count ? j : -1};
    int err = GL_ENOMEM, ok = 1;
    char name[64], cap[GL_CAPTION_MAX], prompt[GL_CAPTION_MAX], tok[32];
    gl_video v = {0};
    cJSON *o = cJSON_CreateObject(), *vars = cJSON_CreateArray();
    if (!o || !vars) goto end;
    snprintf(tok, sizeof tok, "<c%lld>", (long long)i);
    add_num(o, "id", (double)i, &ok);
    add_str(o, "token", tok, &ok);
    add_str(o, "split", p->split == GL_SPLIT_HELDOUT ? "heldout" : "train", &ok);
    char seed[32];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)a.seed);
    add_str(o, "seed", seed, &ok);
    add_num(o, "frames", (double)p->render.frames, &ok);
    add_num(o, "width", (double)p->render.width, &ok);
    add_num(o, "height", (double)p->render.height, &ok);
    add_num(o, "fps", p->fps, &ok);
    for (int var = 0; var < GL_VARIANT_COUNT; var++) {
        file_name(name, sizeof name, i, var, p->ext);
        snprintf(path, pathlen, "%s/%s", dir, name);
        if ((err = gl_variant_caption(&a, &b, var, NULL, cap, sizeof cap)) ||
            (err = gl_variant_caption(&a, &b, var, tokens, prompt, sizeof prompt))) {
            snprintf(msg, msglen, "dataset: concept %lld: caption of '%s' failed", (long long)i, gl_variant_name(var));
            goto end;
        }
        if ((err = gl_render_variant(&a, &b, var, &p->render, &v))) {
            snprintf(msg, msglen, "dataset: concept %lld: rendering '%s' failed: %s", (long long)i,
                     gl_variant_name(var), gl_strerror(err));
            goto end;
        }
        char vmsg[512] = "";
        if ((err = gl_video_write(path, &v, p->fps, vmsg, sizeof vmsg))) {
            snprintf(msg, msglen, "dataset: %s", vmsg[0] ? vmsg : gl_strerror(err));
            goto end;
        }
        gl_video_release(&v);
        err = GL_ENOMEM;
        if (var == GL_VARIANT_PLAIN) {
            add_str(o, "file", name, &ok);
            add_str(o, "caption", cap, &ok);
            add_str(o, "prompt", prompt, &ok);
            add_item(o, "concept", gl_concept_to_json(&a), &ok);
            continue;
        }
        cJSON *e = cJSON_CreateObject();
        add_str(e, "name", gl_variant_name(var), &ok);
        add_str(e, "file", name, &ok);
        add_str(e, "caption", cap, &ok);
        add_str(e, "prompt", prompt, &ok);
        gl_concept re;
        if (variant_fx[var]) {
            const char *fx = gl_effect_name(variant_fx[var]);
            add_item(e, "effects", cJSON_CreateStringArray(&fx, 1), &ok);
        } else if (var == GL_VARIANT_BACKGROUND) {
            gl_concept_restage(&a, var, &re);
            add_item(e, "background", gl_background_to_json(&re.bg), &ok);
        } else if (var == GL_VARIANT_MOTION) {
            gl_concept_restage(&a, var, &re);
            add_item(e, "path", gl_path_to_json(&re.path), &ok);
        } else if (var == GL_VARIANT_WITH) {
            add_num(e, "partner", (double)j, &ok);
            add_item(e, "partner_concept", gl_concept_to_json(&b), &ok);
        }
        if (e) cJSON_AddItemToArray(vars, e);
        else ok = 0;
    }
    cJSON_AddItemToObject(o, "variants", vars);
    vars = NULL;
    if (!ok || !(*line = cJSON_PrintUnformatted(o))) {
        snprintf(msg, msglen, "dataset: out of memory building the manifest");
        goto end;
    }
    err = GL_OK;
end:
    gl_video_release(&v);
    cJSON_Delete(vars);
    cJSON_Delete(o);
    return err;
}

int gl_dataset_write(const char *dir, const gl_dataset_params *p, char *msg, size_t msglen) {
    char dummy[1];
    if (!msg || !msglen) {
        msg = dummy;
        msglen = sizeof dummy;
    }
    msg[0] = '\0';
    const gl_render_opts *o = &p->render;
    if (!dir || !*dir || p->count < 1 || p->count > 1000000 ||
        (p->split != GL_SPLIT_TRAIN && p->split != GL_SPLIT_HELDOUT) || p->fps < 1 || p->fps > 240 || !p->ext ||
        (strcmp(p->ext, "mp4") && strcmp(p->ext, "gif") && strcmp(p->ext, "png")) || o->frames < 1 ||
        o->frames > 4096 || o->width < 1 || o->width > 4096 || o->height < 1 || o->height > 4096 ||
        o->supersample < 1 || o->supersample > 16) {
        snprintf(msg, msglen, "dataset: invalid parameters");
        return GL_EINVAL;
    }
    int err = prepare_dir(dir, msg, msglen);
    if (err) return err;
    size_t pathlen = strlen(dir) + 64;
    char *path = malloc(pathlen), *tmp = malloc(pathlen), *final = malloc(pathlen), *line = NULL;
    FILE *f = NULL;
    int made_tmp = 0;
    err = GL_ENOMEM;
    if (!path || !tmp || !final) {
        snprintf(msg, msglen, "dataset: out of memory");
        goto end;
    }
    snprintf(tmp, pathlen, "%s/manifest.jsonl.tmp", dir);
    snprintf(final, pathlen, "%s/manifest.jsonl", dir);
    if (!(f = fopen(tmp, "w"))) {
        snprintf(msg, msglen, "dataset: cannot write %s: %s", tmp, strerror(errno));
        err = GL_EIO;
        goto end;
    }
    made_tmp = 1;
    for (int64_t i = 0; i < p->count; i++) {
        if ((err = write_concept(dir, p, i, path, pathlen, &line, msg, msglen))) goto end;
        int bad = fputs(line, f) < 0 || fputc('\n', f) == EOF;
        cJSON_free(line);
        line = NULL;
        if (bad) {
            snprintf(msg, msglen, "dataset: writing %s: %s", tmp, strerror(errno));
            err = GL_EIO;
            goto end;
        }
        if (p->progress) p->progress(p->progress_ctx, i + 1, p->count);
    }
    int closed = fclose(f);
    f = NULL;
    if (closed != 0 || rename(tmp, final) != 0) {
        snprintf(msg, msglen, "dataset: writing %s: %s", final, strerror(errno));
        err = GL_EIO;
        goto end;
    }
    err = GL_OK;
end:
    if (f) fclose(f);
    if (err && made_tmp) remove(tmp);
    free(path);
    free(tmp);
    free(final);
    return err;
}
