/* pipeline/grids.c: grid training data: canvases made from a Multi-DC data set (cells
 * sampled from the Multi-DC model, or rendered exactly), written with a manifest, and the
 * batch source of the Grid and Grid-Fill stages. Trains nothing; the loop is train.c's. */
#define _XOPEN_SOURCE 700 /* getline, mkdir, opendir, realpath */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <cjson/cJSON.h>

#include "gridlora/core.h"
#include "gridlora/data.h"
#include "gridlora/dataset.h"
#include "gridlora/grids.h"
#include "gridlora/lora.h"
#include "gridlora/render.h"
#include "gridlora/video.h"

#define SAY(rc, ...) (snprintf(msg, msglen, __VA_ARGS__), (rc))

/* ---- the joined prompt as tokens ------------------------------------------------- */

int gl_layout_tokenize(const gl_layout *l, const gl_tokenizer *tk, const gl_dit *m, int64_t L, int32_t *ids,
                       int64_t *n, char *msg, size_t msglen) {
    enum { P = GL_GRID_CELLS + 1 };
    if (L < P) return SAY(GL_EINVAL, "grid prompt: %lld tokens cannot hold the 5 markers", (long long)L);
    int32_t part[P][GL_PROMPT_MAX], words[GL_PROMPT_MAX], one[GL_PROMPT_MAX];
    int16_t word_len[P][GL_PROMPT_MAX]; /* at a word's first id: how many ids it became */
    int64_t len[P], start[P], total = 0;
    for (int i = 0; i < P; i++) {
        const char *p = i ? l->cell[i - 1].prompt : l->global;
        char why[256];
        int64_t nw = 0;
        if (gl_tokenize(tk, p, words, GL_PROMPT_MAX, &nw, why, sizeof why))
            return SAY(GL_EINVAL, "grid prompt '%s': %s", p, why);
        len[i] = 0;
        for (int64_t w = 0; w < nw; w++) {
            int64_t k = 1;
            one[0] = words[w];
            if ((m && gl_dit_expand_tokens(m, one, &k, GL_PROMPT_MAX)) || len[i] + k > GL_PROMPT_MAX)
                return SAY(GL_EINVAL, "grid prompt '%s': more than %d tokens once its concept tokens expand", p,
                           GL_PROMPT_MAX);
            memcpy(part[i] + len[i], one, (size_t)k * sizeof *one);
            word_len[i][len[i]] = (int16_t)k;
            len[i] += k;
        }
        start[i] = 0;
        total += len[i];
    }
    /* the longest part loses its first word until the whole fits */
    while (total > L - P) {
        int k = 0;
        for (int i = 1; i < P; i++)
            if (len[i] - start[i] > len[k] - start[k]) k = i;
        total -= word_len[k][start[k]];
        start[k] += word_len[k][start[k]];
    }
    int64_t o = 0;
    for (int i = 0; i < P; i++) {
        ids[o++] = i ? GL_TOK_CELL0 + i - 1 : GL_TOK_GRID;
        for (int64_t j = start[i]; j < len[i]; j++) ids[o++] = part[i][j];
    }
    *n = o;
    return GL_OK;
}

/* ---- reading a Multi-DC data set's concepts ---------------------------------------- */

typedef struct src_concept {
    gl_concept c;
    int64_t token; /* K of "<cK>" */
} src_concept;

static int blank(const char *s) {
    for (; *s; s++)
        if (!isspace((unsigned char)*s)) return 0;
    return 1;
}

static int read_concepts(const char *dir, src_concept **out, int64_t *n_out, char *msg, size_t msglen) {
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/manifest.jsonl", dir);
    FILE *f = fopen(path, "r");
    if (!f)
        return SAY(GL_EIO, "%s: cannot open: %s (not a data set written by 'gridlora dataset'?)", path,
                   strerror(errno));
    char *line = NULL;
    size_t cap = 0;
    src_concept *cs = NULL;
    int64_t n = 0, ncap = 0, lineno = 0;
    int rc = GL_OK;
    while (getline(&line, &cap, f) >= 0) {
        lineno++;
        if (blank(line)) continue;
        cJSON *o = cJSON_Parse(line);
        const cJSON *tok = cJSON_GetObjectItemCaseSensitive(o, "token");
        const cJSON *split = cJSON_GetObjectItemCaseSensitive(o, "split");
        const cJSON *cj = cJSON_GetObjectItemCaseSensitive(o, "concept");
        char why[256] = "";
        long long k = -1;
        if (!cJSON_IsObject(o) || !cJSON_IsString(tok) || sscanf(tok->valuestring, "<c%lld>", &k) != 1 || k < 0) {
            rc = SAY(GL_EFORMAT, "%s: line %lld: not a concept with a 'token' \"<cK>\"", path, (long long)lineno);
        } else if (cJSON_IsString(split) && !strcmp(split->valuestring, "heldout")) {
            rc = SAY(GL_EINVAL, "%s: line %lld: a held-out concept; grids are made from train concepts", path,
                     (long long)lineno);
        } else if (n == ncap) {
            ncap = ncap ? 2 * ncap : 16;
            src_concept *p = realloc(cs, (size_t)ncap * sizeof *p);
            if (!p) rc = SAY(GL_ENOMEM, "grids: out of memory");
            else cs = p;
        }
        if (!rc && gl_concept_from_json(cj, &cs[n].c, why, sizeof why))
            rc = SAY(GL_EFORMAT, "%s: line %lld: concept: %s", path, (long long)lineno, why);
        if (!rc) cs[n++].token = k;
        cJSON_Delete(o);
        if (rc) break;
    }
    if (!rc && n == 0) rc = SAY(GL_EFORMAT, "%s: lists no concepts", path);
    free(line);
    fclose(f);
    if (rc) {
        free(cs);
        return rc;
    }
    *out = cs;
    *n_out = n;
    return GL_OK;
}

/* ---- one canvas's cells ------------------------------------------------------------ */

/* What one cell shows: a (re-staged) concept, a variant, maybe a partner. */
typedef struct cell_spec {
    gl_concept subj, partner;
    int64_t concept, partner_idx; /* indices in the data set; partner -1: none */
    int variant;                  /* render variant of subj (PLAIN for re-staged) */
    const char *name;             /* the manifest's "variant" */
    char caption[GL_CAPTION_MAX], prompt[GL_CAPTION_MAX];
} cell_spec;

static int spec_of(cell_spec *s, const src_concept *cs, int64_t a, int64_t b, const char *how) {
    memset(s, 0, sizeof *s);
    s->concept = a;
    s->partner_idx = -1;
    s->name = how;
    s->subj = cs[a].c;
    s->variant = GL_VARIANT_PLAIN;
    int rc = GL_OK;
    if (!strcmp(how, "bg") || !strcmp(how, "motion")) {
        rc = gl_concept_restage(&cs[a].c, !strcmp(how, "bg") ? GL_VARIANT_BACKGROUND : GL_VARIANT_MOTION, &s->subj);
    } else if (!strcmp(how, "bg+motion")) {
        gl_concept t;
        rc = gl_concept_restage(&cs[a].c, GL_VARIANT_BACKGROUND, &t);
        if (!rc) rc = gl_concept_restage(&t, GL_VARIANT_MOTION, &s->subj);
    } else if (!strcmp(how, "with")) {
        s->variant = GL_VARIANT_WITH;
        s->partner = cs[b].c;
        s->partner_idx = b;
    } else {
        s->variant = gl_variant_from_name(how);
        if (s->variant < 0) return GL_EINVAL;
    }
    if (rc) return rc;
    int64_t tokens[2] = {cs[a].token, s->partner_idx >= 0 ? cs[b].token : -1};
    const gl_concept *pb = s->partner_idx >= 0 ? &s->partner : NULL;
    rc = gl_variant_caption(&s->subj, pb, s->variant, NULL, s->caption, sizeof s->caption);
    if (!rc) rc = gl_variant_caption(&s->subj, pb, s->variant, tokens, s->prompt, sizeof s->prompt);
    return rc;
}

static const char *const EFFECTS[] = {"smoke", "lights", "night", "rain", "shadow"};

/* The four cells of canvas i of a layout, drawn with rng. */
static int canvas_specs(cell_spec sp[GL_GRID_CELLS], gl_layout_kind kind, const src_concept *cs, int64_t n,
                        gl_rng *rng) {
    int64_t a = (int64_t)(gl_rng_u64(rng) % (uint64_t)n), b = a;
    if (n > 1) b = (a + 1 + (int64_t)(gl_rng_u64(rng) % (uint64_t)(n - 1))) % n;
    int fx[5] = {0, 1, 2, 3, 4};
    for (int i = 4; i > 0; i--) { /* Fisher-Yates: distinct effects */
        int j = (int)(gl_rng_u64(rng) % (uint64_t)(i + 1)), t = fx[i];
        fx[i] = fx[j];
        fx[j] = t;
    }
    const char *how[GL_GRID_CELLS];
    int64_t who[GL_GRID_CELLS] = {a, a, a, a}, other[GL_GRID_CELLS] = {b, b, b, b};
    switch (kind) {
    case GL_LAYOUT_EDIT:
        how[0] = "plain"; how[1] = EFFECTS[fx[0]]; how[2] = EFFECTS[fx[1]]; how[3] = EFFECTS[fx[2]];
        break;
    case GL_LAYOUT_COMPOSE:
        how[0] = "plain"; how[1] = "plain"; how[2] = "with"; how[3] = "with";
        who[1] = b; who[3] = b; other[3] = a;
        break;
    case GL_LAYOUT_CHARACTER:
        how[0] = "plain"; how[1] = "bg"; how[2] = "motion"; how[3] = "bg+motion";
        break;
    case GL_LAYOUT_STORY:
        how[0] = "plain"; how[1] = EFFECTS[fx[0]]; how[2] = "bg"; how[3] = "motion";
        break;
    default:
        return GL_EINVAL;
    }
    for (int c = 0; c < GL_GRID_CELLS; c++) {
        int rc = spec_of(&sp[c], cs, who[c], other[c], how[c]);
        if (rc) return rc;
    }
    return GL_OK;
}

/* A canvas's layout as the manifest states it: the built-in's roles, every cell prompted
 * with its own caption, which is what the loader (load_canvas) rebuilds from the cells.
 * A compose canvas's bottom cells hold the renderer's caption of their pair ("A and B on
 * A's background": one background, as the cell shows), what `gridlora compose` prompts
 * them with by default for captions of the domain (gl_caption_pair); the manifest's joined
 * prompt said "A's caption and B's caption" before 2026-12-05, though training never
 * read it (models/default/TRAINING.md stage 5, "Composition's prompt"). */
static int layout_of(gl_layout *l, gl_layout_kind kind, const cell_spec sp[GL_GRID_CELLS], char *msg,
                     size_t msglen) {
    const char *const fx[1] = {"smoke"}, *const sc[1] = {"x"};
    int rc = kind == GL_LAYOUT_EDIT        ? gl_layout_edit(l, "", fx, 1, msg, msglen)
             : kind == GL_LAYOUT_COMPOSE   ? gl_layout_compose(l, "", "", NULL, 0, msg, msglen)
             : kind == GL_LAYOUT_CHARACTER ? gl_layout_character(l, "", sc, 1, msg, msglen)
                                           : gl_layout_story(l, "", sc, 1, 0, msg, msglen);
    for (int c = 0; c < GL_GRID_CELLS && !rc; c++)
        rc = gl_layout_set_cell(l, c, l->cell[c].role, sp[c].caption, msg, msglen);
    return rc;
}

/* ---- writing grid data ------------------------------------------------------------- */

gl_grids_params gl_grids_default_params(void) {
    gl_grids_params p = {.layout = "edit", .count = 16, .seed = 0, .fps = 8};
    p.sample = gl_sample_default_opts();
    return p;
}

static int ours(const char *name) {
    if (!strcmp(name, "manifest.jsonl") || !strcmp(name, "manifest.jsonl.tmp")) return 1;
    int d = 0;
    while (isdigit((unsigned char)name[d])) d++;
    return d >= 4 && name[d] == '.';
}

/* GDIR made or accepted (empty, or a previous grid set), and not the data set itself. */
static int prepare_gdir(const char *gdir, const char *data_dir, char *msg, size_t msglen) {
    struct stat st;
    if (stat(gdir, &st) != 0) {
        if (errno != ENOENT) return SAY(GL_EIO, "grids: %s: %s", gdir, strerror(errno));
        if (mkdir(gdir, 0777) != 0) return SAY(GL_EIO, "grids: cannot create %s: %s", gdir, strerror(errno));
        return GL_OK;
    }
    if (!S_ISDIR(st.st_mode)) return SAY(GL_EEXIST, "grids: %s exists and is not a directory", gdir);
    char a[PATH_MAX], b[PATH_MAX];
    if (realpath(gdir, a) && realpath(data_dir, b) && !strcmp(a, b))
        return SAY(GL_EINVAL, "grids: the output %s is the data set itself", gdir);
    DIR *d = opendir(gdir);
    if (!d) return SAY(GL_EIO, "grids: %s: %s", gdir, strerror(errno));
    int foreign = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && !ours(e->d_name)) foreign = 1;
    closedir(d);
    if (foreign) return SAY(GL_EEXIST, "grids: %s is not empty and holds no grid set", gdir);
    /* a manifest there must be a grid set's, never a data set's */
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/manifest.jsonl", gdir);
    FILE *f = fopen(path, "r");
    if (f) {
        char *line = NULL;
        size_t cap = 0;
        int grid = getline(&line, &cap, f) < 0 || strstr(line, "\"cells\"") != NULL;
        free(line);
        fclose(f);
        if (!grid) return SAY(GL_EEXIST, "grids: %s holds a data set, not a grid set", gdir);
    }
    return GL_OK;
}

/* One cell's video at the cell size: rendered, or sampled from p->model. Rendered, cover
 * (may be NULL) gets the share of each pixel the subjects cover, in every channel. */
static int make_cell(const cell_spec *s, const gl_grids_params *p, const gl_tokenizer *tk, int64_t seed,
                     gl_video *out, gl_video *cover, char *msg, size_t msglen) {
    const gl_dit_config *c = gl_dit_cfg(p->model);
    if (p->render) {
        gl_render_opts ro = gl_render_default_opts();
        ro.frames = c->frames;
        ro.height = c->cell_h;
        ro.width = c->cell_w;
        const int64_t npx = c->frames * c->cell_h * c->cell_w;
        gl_scene sc;
        float *alpha = NULL;
        int rc = gl_scene_from_variant(&sc, &s->subj, s->partner_idx >= 0 ? &s->partner : NULL, s->variant);
        if (!rc && cover && !(alpha = malloc((size_t)(sc.n_subjects * npx) * sizeof *alpha))) rc = GL_ENOMEM;
        if (!rc) rc = gl_render_scene(&sc, &ro, out, alpha);
        if (!rc && cover && !(rc = gl_video_alloc(cover, c->frames, c->cell_h, c->cell_w)))
            for (int64_t q = 0; q < npx; q++) {
                float a = 0.0f;
                for (int k = 0; k < sc.n_subjects; k++) a += alpha[k * npx + q];
                cover->rgb[3 * q] = cover->rgb[3 * q + 1] = cover->rgb[3 * q + 2] = a < 1.0f ? a : 1.0f;
            }
        free(alpha);
        if (rc) gl_video_release(out);
        return rc ? SAY(rc, "grids: cannot render '%s'", s->caption) : GL_OK;
    }
    int32_t ids[GL_CAPTION_MAX] = {0};
    int64_t n = 0;
    char why[256];
    if (gl_tokenize(tk, s->prompt, ids, GL_CAPTION_MAX, &n, why, sizeof why))
        return SAY(GL_EINVAL, "grids: prompt '%s': %s", s->prompt, why);
    if (gl_dit_expand_tokens(p->model, ids, &n, GL_CAPTION_MAX))
        return SAY(GL_EINVAL, "grids: prompt '%s': too many tokens with the adapter's multi-vector tokens", s->prompt);
    if (n > c->text_len) n = c->text_len; /* as data.h cuts captions */
    int32_t *text = calloc((size_t)c->text_len, sizeof *text);
    float *x = malloc((size_t)(c->frames * c->cell_h * c->cell_w * 3) * sizeof *x);
    int rc = text && x ? gl_video_alloc(out, c->frames, c->cell_h, c->cell_w) : GL_ENOMEM;
    if (rc) {
        free(text);
        free(x);
        return SAY(GL_ENOMEM, "grids: out of memory");
    }
    memcpy(text, ids, (size_t)n * sizeof *text);
    gl_sample_opts so = p->sample;
    so.seed = (uint64_t)seed;
    gl_sample_request r = {.F = c->frames, .H = c->cell_h, .W = c->cell_w, .text = text, .text_len = (int32_t)n};
    rc = gl_sample(p->model, &so, &r, x, msg, msglen);
    for (int64_t i = 0; !rc && i < c->frames * c->cell_h * c->cell_w * 3; i++) out->rgb[i] = 0.5f * (x[i] + 1.0f);
    if (rc) gl_video_release(out);
    free(text);
    free(x);
    return rc;
}

static cJSON *manifest_line(int64_t i, const char *file, const char *subject, const gl_grids_params *p,
                            const gl_layout *l, const cell_spec sp[GL_GRID_CELLS], const char *joined,
                            const gl_dit_config *c) {
    cJSON *o = cJSON_CreateObject(), *cells = cJSON_CreateArray();
    if (!o || !cells) {
        cJSON_Delete(o);
        cJSON_Delete(cells);
        return NULL;
    }
    int ok = 1;
    ok &= !!cJSON_AddNumberToObject(o, "id", (double)i);
    ok &= !!cJSON_AddStringToObject(o, "layout", gl_layout_kind_name(l->kind));
    ok &= !!cJSON_AddStringToObject(o, "source", p->render ? "render" : "multidc");
    ok &= !!cJSON_AddStringToObject(o, "file", file);
    if (subject) ok &= !!cJSON_AddStringToObject(o, "subject", subject);
    ok &= !!cJSON_AddNumberToObject(o, "frames", (double)c->frames);
    ok &= !!cJSON_AddNumberToObject(o, "width", (double)(2 * c->cell_w));
    ok &= !!cJSON_AddNumberToObject(o, "height", (double)(2 * c->cell_h));
    ok &= !!cJSON_AddNumberToObject(o, "fps", (double)p->fps);
    ok &= !!cJSON_AddStringToObject(o, "global", l->global);
    ok &= !!cJSON_AddStringToObject(o, "prompt", joined);
    for (int k = 0; k < GL_GRID_CELLS; k++) {
        cJSON *e = cJSON_CreateObject();
        if (!e || !cJSON_AddItemToArray(cells, e)) {
            cJSON_Delete(e);
            ok = 0;
            break;
        }
        ok &= !!cJSON_AddStringToObject(e, "role", l->cell[k].role == GL_CELL_INPUT ? "input" : "output");
        ok &= !!cJSON_AddStringToObject(e, "caption", sp[k].caption);
        ok &= !!cJSON_AddStringToObject(e, "prompt", sp[k].prompt);
        ok &= !!cJSON_AddNumberToObject(e, "concept", (double)sp[k].concept);
        ok &= !!cJSON_AddStringToObject(e, "variant", sp[k].name);
        if (sp[k].partner_idx >= 0) ok &= !!cJSON_AddNumberToObject(e, "partner", (double)sp[k].partner_idx);
    }
    if (!cJSON_AddItemToObject(o, "cells", cells)) {
        cJSON_Delete(cells);
        ok = 0;
    }
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

int gl_grids_write(const char *gdir, const char *data_dir, const gl_grids_params *p, char *msg, size_t msglen) {
    if (!p || !p->model) return SAY(GL_EINVAL, "grids: no model (it sets the cell size)");
    const gl_dit_config *c = gl_dit_cfg(p->model);
    int kind = gl_layout_kind_from_name(p->layout);
    if (kind < 0)
        return SAY(GL_ENOTFOUND, "grids: unknown layout '%s' (edit, compose, character, story)",
                   p->layout ? p->layout : "");
    if (p->count < 1 || p->count > 1000000 || p->fps < 1 || p->fps > 240)
        return SAY(GL_EINVAL, "grids: count must be in [1, 1000000] and fps in [1, 240]");
    if (c->channels != 3) return SAY(GL_EINVAL, "grids: a model of %lld channels; videos have 3", (long long)c->channels);
    src_concept *cs = NULL;
    int64_t n = 0;
    gl_tokenizer *tk = NULL;
    FILE *mf = NULL;
    char mpath[PATH_MAX], tmp[PATH_MAX];
    snprintf(mpath, sizeof mpath, "%s/manifest.jsonl", gdir);
    snprintf(tmp, sizeof tmp, "%s/manifest.jsonl.tmp", gdir);
    int rc = read_concepts(data_dir, &cs, &n, msg, msglen);
    if (rc) return rc;
    if (kind == GL_LAYOUT_COMPOSE && n < 2) {
        rc = SAY(GL_EINVAL, "grids: compose needs two concepts; %s has %lld", data_dir, (long long)n);
        goto end;
    }
    if ((rc = gl_domain_tokenizer(c, &tk, msg, msglen))) goto end;
    if ((rc = prepare_gdir(gdir, data_dir, msg, msglen))) goto end;
    if (!(mf = fopen(tmp, "w"))) {
        rc = SAY(GL_EIO, "%s: cannot write: %s", tmp, strerror(errno));
        goto end;
    }
    for (int64_t i = 0; i < p->count; i++) {
        gl_rng rng;
        gl_rng_seed(&rng, p->seed * 0x9E3779B97F4A7C15ull ^ (uint64_t)(i + 1) * 0xBF58476D1CE4E5B9ull);
        cell_spec sp[GL_GRID_CELLS];
        gl_layout l;
        char joined[GL_LAYOUT_PROMPT_MAX], file[64], path[PATH_MAX];
        if ((rc = canvas_specs(sp, (gl_layout_kind)kind, cs, n, &rng))) {
            rc = SAY(rc, "grids: canvas %lld: a concept of %s cannot be re-staged", (long long)i, data_dir);
            goto end;
        }
        if ((rc = layout_of(&l, (gl_layout_kind)kind, sp, msg, msglen)) ||
            (rc = gl_layout_prompt(&l, joined, sizeof joined, msg, msglen)))
            goto end;
        gl_video cell[GL_GRID_CELLS] = {{0}}, cover[GL_GRID_CELLS] = {{0}}, canvas = {0}, cover_canvas = {0};
        const gl_video *cp[GL_GRID_CELLS], *cvp[GL_GRID_CELLS];
        char subject[64], spath[PATH_MAX];
        snprintf(file, sizeof file, "%04lld.mp4", (long long)i);
        snprintf(path, sizeof path, "%s/%s", gdir, file);
        snprintf(subject, sizeof subject, "%04lld.subject.mp4", (long long)i);
        snprintf(spath, sizeof spath, "%s/%s", gdir, subject);
        /* the coverage is written before the canvas, so a canvas there has its coverage */
        struct stat fst, sst;
        const int kept = p->resume && stat(path, &fst) == 0 && S_ISREG(fst.st_mode) && fst.st_size > 0 &&
                         (!p->render || (stat(spath, &sst) == 0 && S_ISREG(sst.st_mode) && sst.st_size > 0));
        for (int k = 0; k < GL_GRID_CELLS && !rc && !kept; k++) {
            rc = make_cell(&sp[k], p, tk, (int64_t)p->sample.seed + 4 * i + k, &cell[k], p->render ? &cover[k] : NULL,
                           msg, msglen);
            cp[k] = &cell[k];
            cvp[k] = &cover[k];
        }
        if (!rc && !kept && p->render) rc = gl_grid_tile(&cover_canvas, cvp, msg, msglen);
        if (!rc && !kept && p->render) rc = gl_video_write(spath, &cover_canvas, p->fps, msg, msglen);
        if (!rc && !kept) rc = gl_grid_tile(&canvas, cp, msg, msglen);
        if (!rc && !kept) rc = gl_video_write(path, &canvas, p->fps, msg, msglen);
        for (int k = 0; k < GL_GRID_CELLS; k++) {
            gl_video_release(&cell[k]);
            gl_video_release(&cover[k]);
        }
        gl_video_release(&canvas);
        gl_video_release(&cover_canvas);
        if (rc) goto end;
        cJSON *o = manifest_line(i, file, p->render ? subject : NULL, p, &l, sp, joined, c);
        char *s = o ? cJSON_PrintUnformatted(o) : NULL;
        cJSON_Delete(o);
        if (!s) {
            rc = SAY(GL_ENOMEM, "grids: out of memory");
            goto end;
        }
        fprintf(mf, "%s\n", s);
        cJSON_free(s);
        if (p->progress) p->progress(p->progress_ctx, i + 1, p->count);
    }
    int bad = ferror(mf);
    bad |= fclose(mf);
    mf = NULL;
    if (bad || rename(tmp, mpath)) rc = SAY(GL_EIO, "%s: cannot write the manifest", mpath);
end:
    if (mf) fclose(mf);
    if (rc) remove(tmp);
    gl_tokenizer_free(&tk);
    free(cs);
    return rc;
}

/* ---- the batch source ---------------------------------------------------------------- */

typedef struct grid_canvas {
    uint8_t *px;         /* [F, 2H, 2W, 3] */
    uint8_t *cover;      /* [F, 2H, 2W]: the subjects' share of each pixel, 255 = all; NULL
                            for a set without coverage (sampled cells) */
    gl_layout layout;
    int32_t text[GL_LAYOUT_PROMPT_MAX];
    int64_t text_len;
} grid_canvas;

struct gl_grid_data {
    gl_dit_config cfg;
    int fill;
    float input_share; /* gl_grid_data_set_input_share */
    grid_canvas *canvases;
    int64_t n, cap;
    uint8_t *self_mask, *cross_mask; /* [cap_masks, T, T], [cap_masks, T, L] */
    uint8_t *text_mask;              /* [cap_masks, L, L]: cell prompts kept apart */
    uint8_t *cellof;                 /* [T]: the cell of each canvas token */
    int64_t cap_masks, T;
    gl_grid_item *last;
    int64_t n_last, cap_last;
    /* gl_grid_data_set_subject_weight, per layout kind */
    float subject_weight[GL_LAYOUT_STORY + 1];
    /* gl_grid_data_set_offset_noise, per layout kind; negative: the trainer's */
    double offset_noise[GL_LAYOUT_STORY + 1];
    /* per layout kind, the first canvas without coverage: its manifest and line; empty if
       every canvas of the kind has it */
    char uncovered_in[GL_LAYOUT_STORY + 1][PATH_MAX + 32];
};

void gl_grid_data_free(gl_grid_data **dp) {
    if (!dp || !*dp) return;
    gl_grid_data *d = *dp;
    for (int64_t i = 0; i < d->n; i++) {
        free(d->canvases[i].px);
        free(d->canvases[i].cover);
    }
    free(d->canvases);
    free(d->self_mask);
    free(d->cross_mask);
    free(d->text_mask);
    free(d->cellof);
    free(d->last);
    free(d);
    *dp = NULL;
}

void gl_grid_data_set_fill(gl_grid_data *d, int fill) { d->fill = !!fill; }

int gl_grid_data_set_input_share(gl_grid_data *d, float share, char *msg, size_t msglen) {
    if (!(share >= 0.0f && share <= 1.0f))
        return SAY(GL_EINVAL, "grids: input share %g is not in [0, 1]", (double)share);
    d->input_share = share;
    return GL_OK;
}

int gl_grid_data_set_subject_weight(gl_grid_data *d, const char *layout, float w, char *msg, size_t msglen) {
    int kind = -1; /* -1: every kind */
    if (layout && (kind = gl_layout_kind_from_name(layout)) < 0)
        return SAY(GL_EINVAL, "grids: subject weight: unknown layout '%s' (edit, compose, character or story)", layout);
    if (!(w >= 0.0f && w <= GL_GRID_SUBJECT_WEIGHT_MAX))
        return SAY(GL_EINVAL, "grids: subject weight %g is not in [0, %g]", (double)w, (double)GL_GRID_SUBJECT_WEIGHT_MAX);
    const int lo = kind < 0 ? 0 : kind, hi = kind < 0 ? GL_LAYOUT_STORY : kind;
    for (int k = lo; k <= hi && w > 0.0f; k++)
        if (d->uncovered_in[k][0])
            return SAY(GL_EINVAL,
                       "grids: %s: canvas without subject coverage (cells sampled, or a set made before coverage "
                       "was written: make it again with 'gridlora grids --render')",
                       d->uncovered_in[k]);
    for (int k = lo; k <= hi; k++) d->subject_weight[k] = w;
    return GL_OK;
}

int gl_grid_data_set_offset_noise(gl_grid_data *d, const char *layout, double g, char *msg, size_t msglen) {
    int kind = -1; /* -1: every kind */
    if (layout && (kind = gl_layout_kind_from_name(layout)) < 0)
        return SAY(GL_EINVAL, "grids: offset noise: unknown layout '%s' (edit, compose, character or story)", layout);
    if (!(g >= 0.0 && g <= GL_GRID_OFFSET_NOISE_MAX))
        return SAY(GL_EINVAL, "grids: offset noise %g is not in [0, %g]", g, GL_GRID_OFFSET_NOISE_MAX);
    const int lo = kind < 0 ? 0 : kind, hi = kind < 0 ? GL_LAYOUT_STORY : kind;
    for (int k = lo; k <= hi; k++) d->offset_noise[k] = g;
    return GL_OK;
}

int64_t gl_grid_data_canvases(const gl_grid_data *d) { return d->n; }
const gl_grid_item *gl_grid_data_last(const gl_grid_data *d, int64_t i) {
    return i >= 0 && i < d->n_last ? &d->last[i] : NULL;
}

static int safe_name(const char *name) {
    if (!name[0] || name[0] == '/') return 0;
    for (const char *p = name; *p;) {
        const char *e = strchr(p, '/');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == 2 && p[0] == '.' && p[1] == '.') return 0;
        p += len + (e ? 1 : 0);
    }
    return 1;
}

/* One manifest line into canvas g (its video read). */
static int load_canvas(gl_grid_data *d, const gl_tokenizer *tk, const gl_dit *m, const char *gdir,
                       const char *mpath, int64_t lineno, const char *text, grid_canvas *g, char *msg,
                       size_t msglen) {
    cJSON *o = cJSON_Parse(text);
    const cJSON *lay = cJSON_GetObjectItemCaseSensitive(o, "layout");
    const cJSON *file = cJSON_GetObjectItemCaseSensitive(o, "file");
    const cJSON *glob = cJSON_GetObjectItemCaseSensitive(o, "global");
    const cJSON *cells = cJSON_GetObjectItemCaseSensitive(o, "cells");
    int rc = GL_OK, kind = -1;
    char why[512] = "";
    if (!cJSON_IsObject(o) || !cJSON_IsString(lay) || !cJSON_IsString(file) || !cJSON_IsArray(cells) ||
        cJSON_GetArraySize(cells) != GL_GRID_CELLS) {
        rc = SAY(GL_EFORMAT, "%s: line %lld: not a grid canvas ('layout', 'file' and 4 'cells' needed)", mpath,
                 (long long)lineno);
        goto end;
    }
    if ((kind = gl_layout_kind_from_name(lay->valuestring)) < 0) {
        rc = SAY(GL_EFORMAT, "%s: line %lld: unknown layout '%s'", mpath, (long long)lineno, lay->valuestring);
        goto end;
    }
    if (!safe_name(file->valuestring)) {
        rc = SAY(GL_EFORMAT, "%s: line %lld: file '%s' must be a relative name without '..'", mpath,
                 (long long)lineno, file->valuestring);
        goto end;
    }
    gl_layout_init(&g->layout);
    g->layout.kind = (gl_layout_kind)kind;
    rc = gl_layout_set_global(&g->layout, cJSON_IsString(glob) ? glob->valuestring : "", why, sizeof why);
    for (int c = 0; c < GL_GRID_CELLS && !rc; c++) {
        const cJSON *e = cJSON_GetArrayItem(cells, c);
        const cJSON *role = cJSON_GetObjectItemCaseSensitive(e, "role");
        const cJSON *cap = cJSON_GetObjectItemCaseSensitive(e, "caption");
        if (!cJSON_IsString(role) || !cJSON_IsString(cap) ||
            (strcmp(role->valuestring, "input") && strcmp(role->valuestring, "output"))) {
            snprintf(why, sizeof why, "cell %d: 'role' (input or output) and 'caption' needed", c);
            rc = GL_EFORMAT;
        } else {
            rc = gl_layout_set_cell(&g->layout, c, strcmp(role->valuestring, "input") ? GL_CELL_OUTPUT : GL_CELL_INPUT,
                                    cap->valuestring, why, sizeof why);
        }
    }
    if (!rc) rc = gl_layout_tokenize(&g->layout, tk, m, d->cfg.text_len, g->text, &g->text_len, why, sizeof why);
    if (rc) {
        rc = SAY(rc, "%s: line %lld: %s", mpath, (long long)lineno, why);
        goto end;
    }
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", gdir, file->valuestring);
    gl_video_read_opts ro = gl_video_read_default_opts();
    ro.frames = d->cfg.frames;
    ro.height = 2 * d->cfg.cell_h;
    ro.width = 2 * d->cfg.cell_w;
    gl_video v = {0};
    if ((rc = gl_video_read(path, &ro, &v, NULL, msg, msglen))) goto end;
    int64_t nv = v.frames * v.height * v.width * 3;
    if (!(g->px = malloc((size_t)nv))) {
        gl_video_release(&v);
        rc = SAY(GL_ENOMEM, "grids: out of memory");
        goto end;
    }
    for (int64_t i = 0; i < nv; i++) {
        float x = v.rgb[i] * 255.0f + 0.5f;
        g->px[i] = (uint8_t)(x < 0 ? 0 : x > 255 ? 255 : x);
    }
    gl_video_release(&v);
    const cJSON *subj = cJSON_GetObjectItemCaseSensitive(o, "subject");
    if (!subj) goto end;
    if (!cJSON_IsString(subj) || !safe_name(subj->valuestring)) {
        rc = SAY(GL_EFORMAT, "%s: line %lld: 'subject' must be a relative file name without '..'", mpath,
                 (long long)lineno);
        goto end;
    }
    snprintf(path, sizeof path, "%s/%s", gdir, subj->valuestring);
    if ((rc = gl_video_read(path, &ro, &v, NULL, msg, msglen))) goto end;
    const int64_t npx = v.frames * v.height * v.width;
    if (!(g->cover = malloc((size_t)npx))) {
        gl_video_release(&v);
        rc = SAY(GL_ENOMEM, "grids: out of memory");
        goto end;
    }
    for (int64_t q = 0; q < npx; q++) {
        float x = (v.rgb[3 * q] + v.rgb[3 * q + 1] + v.rgb[3 * q + 2]) * (255.0f / 3.0f) + 0.5f;
        g->cover[q] = (uint8_t)(x < 0 ? 0 : x > 255 ? 255 : x);
    }
    gl_video_release(&v);
end:
    cJSON_Delete(o);
    return rc;
}

int gl_grid_data_dir(gl_grid_data **out, const char *gdir, const gl_dit *m,
                     void (*progress)(void *ctx, int64_t done, int64_t total), void *progress_ctx, char *msg,
                     size_t msglen) {
    return gl_grid_data_dirs(out, &gdir, 1, m, progress, progress_ctx, msg, msglen);
}

int gl_grid_data_dirs(gl_grid_data **out, const char *const *gdirs, int n_dirs, const gl_dit *m,
                      void (*progress)(void *ctx, int64_t done, int64_t total), void *progress_ctx, char *msg,
                      size_t msglen) {
    *out = NULL;
    const gl_dit_config *cfg = gl_dit_cfg(m);
    if (n_dirs < 1) return SAY(GL_EINVAL, "grids: no grid set given");
    if (cfg->channels != 3) return SAY(GL_EINVAL, "grids: a model of %lld channels; videos have 3", (long long)cfg->channels);
    gl_grid_data *d = calloc(1, sizeof *d);
    gl_tokenizer *tk = NULL;
    if (!d) return SAY(GL_ENOMEM, "grids: out of memory");
    d->cfg = *cfg;
    d->input_share = 0.5f;
    for (int k = 0; k <= GL_LAYOUT_STORY; k++) d->offset_noise[k] = -1.0;
    gl_patch_dims pd = {1, cfg->frames, 2 * cfg->cell_h, 2 * cfg->cell_w, 3, cfg->patch_t, cfg->patch_h, cfg->patch_w};
    char mpath[PATH_MAX], why[256];
    FILE *f = NULL;
    char *line = NULL;
    size_t cap = 0;
    int rc = gl_grid_check(pd, &d->T, why, sizeof why);
    if (rc) {
        rc = SAY(rc, "grids: the model's canvas: %s", why);
        goto end;
    }
    if (!(d->cellof = malloc((size_t)d->T))) {
        rc = SAY(GL_ENOMEM, "grids: out of memory");
        goto end;
    }
    gl_grid_token_cells(d->cellof, pd);
    if ((rc = gl_domain_tokenizer(cfg, &tk, msg, msglen))) goto end;
    /* the progress total counts every set's lines, read up front */
    int64_t lines = 0;
    for (int k = 0; k < n_dirs; k++) {
        snprintf(mpath, sizeof mpath, "%s/manifest.jsonl", gdirs[k]);
        if (!(f = fopen(mpath, "r"))) {
            rc = SAY(GL_EIO, "%s: cannot open: %s (not a grid set written by 'gridlora grids'?)", mpath,
                     strerror(errno));
            goto end;
        }
        while (getline(&line, &cap, f) >= 0) lines += !blank(line);
        fclose(f);
        f = NULL;
    }
    for (int k = 0; k < n_dirs; k++) {
        const char *gdir = gdirs[k];
        int64_t lineno = 0, first = d->n;
        snprintf(mpath, sizeof mpath, "%s/manifest.jsonl", gdir);
        if (!(f = fopen(mpath, "r"))) {
            rc = SAY(GL_EIO, "%s: cannot open: %s", mpath, strerror(errno));
            goto end;
        }
        while (getline(&line, &cap, f) >= 0) {
            lineno++;
            if (blank(line)) continue;
            if (d->n == d->cap) {
                int64_t nc = d->cap ? 2 * d->cap : 16;
                grid_canvas *p = realloc(d->canvases, (size_t)nc * sizeof *p);
                if (!p) {
                    rc = SAY(GL_ENOMEM, "grids: out of memory");
                    goto end;
                }
                d->canvases = p;
                d->cap = nc;
            }
            grid_canvas *g = &d->canvases[d->n];
            memset(g, 0, sizeof *g);
            if ((rc = load_canvas(d, tk, m, gdir, mpath, lineno, line, g, msg, msglen))) {
                free(g->px); /* not counted in d->n: its buffers are not freed with d's */
                free(g->cover);
                goto end;
            }
            char *unc = d->uncovered_in[g->layout.kind];
            if (!g->cover && !unc[0]) {
                snprintf(unc, sizeof d->uncovered_in[0], "%s, line %lld", mpath, (long long)lineno);
            }
            d->n++;
            if (progress) progress(progress_ctx, d->n, lines);
        }
        fclose(f);
        f = NULL;
        if (d->n == first) {
            rc = SAY(GL_EFORMAT, "%s: lists no canvases", mpath);
            goto end;
        }
    }
end:
    if (f) fclose(f);
    free(line);
    gl_tokenizer_free(&tk);
    if (rc) gl_grid_data_free(&d);
    *out = d;
    return rc;
}

int gl_grid_data_next(void *ctx, int64_t step, gl_rng *rng, gl_train_batch *b, char *msg, size_t msglen) {
    (void)step;
    gl_grid_data *d = ctx;
    const gl_dit_config *c = &d->cfg;
    if (b->F != c->frames || b->H != 2 * c->cell_h || b->W != 2 * c->cell_w || b->T != d->T)
        return SAY(GL_EINVAL, "grids: batch of %lldx%lldx%lld asked; the source gives canvases of %lldx%lldx%lld",
                   (long long)b->F, (long long)b->H, (long long)b->W, (long long)c->frames, (long long)(2 * c->cell_h),
                   (long long)(2 * c->cell_w));
    const int64_t T = d->T, L = b->text_len;
    if (b->B > d->cap_masks) {
        free(d->self_mask);
        free(d->cross_mask);
        free(d->text_mask);
        free(d->last);
        d->self_mask = malloc((size_t)(b->B * T * T));
        d->cross_mask = malloc((size_t)(b->B * T * L));
        d->text_mask = malloc((size_t)(b->B * L * L));
        d->last = malloc((size_t)b->B * sizeof *d->last);
        d->cap_masks = d->self_mask && d->cross_mask && d->text_mask && d->last ? b->B : 0;
        if (!d->cap_masks) return SAY(GL_ENOMEM, "grids: out of memory for the masks of %lld canvases", (long long)b->B);
    }
    gl_patch_dims pd = {1, b->F, b->H, b->W, 3, c->patch_t, c->patch_h, c->patch_w};
    const uint8_t *cellof = d->cellof;
    const int64_t nv = b->F * b->H * b->W * 3;
    int masked = 0;
    d->n_last = 0;
    for (int64_t i = 0; i < b->B; i++) {
        int64_t k = (int64_t)(gl_rng_u64(rng) % (uint64_t)d->n);
        const grid_canvas *g = &d->canvases[k];
        gl_grid_item *it = &d->last[i];
        it->canvas = k;
        it->layout = g->layout;
        it->clean = 0;
        if (d->fill) {
            unsigned in = gl_layout_cells(&g->layout, GL_CELL_INPUT);
            int own = in != 0 && in != GL_GRID_ALL && gl_rng_uniform(rng) < d->input_share;
            it->clean = own ? in : 1u + (unsigned)(gl_rng_u64(rng) % 14u); /* 1..14 */
            for (int cc = 0; cc < GL_GRID_CELLS; cc++)
                it->layout.cell[cc].role = it->clean & GL_GRID_CELL(cc) ? GL_CELL_INPUT : GL_CELL_OUTPUT;
            for (int64_t t = 0; t < T; t++) b->clean[i * T + t] = (it->clean >> cellof[t]) & 1u;
        }
        float *x = b->x0 + i * nv;
        for (int64_t j = 0; j < nv; j++) x[j] = (float)g->px[j] * (2.0f / 255.0f) - 1.0f;
        if (d->offset_noise[g->layout.kind] >= 0.0) b->offset_noise = d->offset_noise[g->layout.kind];
        const float sw = d->subject_weight[g->layout.kind];
        if (sw > 0.0f) { /* set_subject_weight saw every canvas of the kind covered */
            float *w = b->weight + i * (nv / 3);
            const float k = sw / 255.0f;
            for (int64_t q = 0; q < nv / 3; q++) w[q] = 1.0f + k * (float)g->cover[q];
        }
        int64_t len = g->text_len < L ? g->text_len : L;
        memcpy(b->text + i * L, g->text, (size_t)len * sizeof *b->text);
        b->text_lens[i] = (int32_t)len;
        int rc = gl_layout_masks(&it->layout, pd, g->text, len, L, GL_TOK_GRID, d->self_mask + i * T * T,
                                 d->cross_mask + i * T * L);
        if (rc < 0 || gl_layout_text_mask(g->text, len, L, GL_TOK_GRID, d->text_mask + i * L * L) < 0)
            return SAY(GL_EINVAL, "grids: canvas %lld: cannot build its masks", (long long)k);
        if (rc == 1) { /* no masks: everything may attend */
            memset(d->self_mask + i * T * T, 1, (size_t)(T * T));
            for (int64_t t = 0; t < T; t++)
                for (int64_t j = 0; j < L; j++) d->cross_mask[(i * T + t) * L + j] = j < len;
        } else {
            masked = 1;
        }
        d->n_last = i + 1;
    }
    b->text_mask = d->text_mask; /* prompts apart in every mode (grid.h) */
    b->text_mask_bstride = L * L;
    if (masked) {
        b->self_mask = d->self_mask;
        b->cross_mask = d->cross_mask;
        b->self_mask_bstride = T * T;
        b->cross_mask_bstride = T * L;
    }
    return GL_OK;
}
