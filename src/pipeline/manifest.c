/* pipeline/manifest.c: walking a data set's manifest.jsonl line by line and reading its
 * videos as bytes, for every training source (see manifest.h). */
#define _POSIX_C_SOURCE 200809L /* getline */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h> /* strcasecmp */

#include "gridlora/core.h"
#include "gridlora/video.h"
#include "pipeline/manifest.h"

static int blank(const char *s) {
    for (; *s; s++)
        if (*s != ' ' && *s != '\t' && *s != '\r' && *s != '\n') return 0;
    return 1;
}

int gl__manifest_each(const char *dir, gl__manifest_fn fn, void *ctx, int64_t *lines, char *msg, size_t msglen) {
    size_t mlen = strlen(dir) + sizeof "/manifest.jsonl";
    char *manifest = malloc(mlen), *line = NULL;
    size_t cap = 0;
    FILE *f = NULL;
    int64_t n = 0, no = 0;
    int rc = GL_OK;
    if (!manifest) {
        snprintf(msg, msglen, "%s: out of memory", dir);
        return GL_ENOMEM;
    }
    snprintf(manifest, mlen, "%s/manifest.jsonl", dir);
    if (!(f = fopen(manifest, "r"))) {
        snprintf(msg, msglen, "%s: cannot open: %s (not a data set written by 'gridlora dataset'?)", manifest,
                 strerror(errno));
        rc = GL_EIO;
        goto end;
    }
    ssize_t got;
    while ((got = getline(&line, &cap, f)) >= 0) {
        no++;
        if ((size_t)got != strlen(line)) {
            snprintf(msg, msglen, "%s: line %lld: holds a NUL byte", manifest, (long long)no);
            rc = GL_EFORMAT;
            goto end;
        }
        if (blank(line)) continue;
        n++;
        if (!fn) continue;
        cJSON *o = cJSON_Parse(line);
        if (!cJSON_IsObject(o)) {
            snprintf(msg, msglen, "%s: line %lld: not a JSON object", manifest, (long long)no);
            rc = GL_EFORMAT;
        } else {
            rc = fn(ctx, o, manifest, no, msg, msglen);
        }
        cJSON_Delete(o);
        if (rc) goto end;
    }
    if (ferror(f)) {
        snprintf(msg, msglen, "%s: read error", manifest);
        rc = GL_EIO;
    }
end:
    if (lines) *lines = n;
    if (f) fclose(f);
    free(line);
    free(manifest);
    return rc;
}

int gl__manifest_check_split(const cJSON *o, const char *manifest, int64_t line, char *msg, size_t msglen) {
    const cJSON *split = cJSON_GetObjectItemCaseSensitive(o, "split");
    if (split && !(cJSON_IsString(split) && (!strcmp(split->valuestring, "train") ||
                                             !strcmp(split->valuestring, "heldout")))) {
        snprintf(msg, msglen, "%s: line %lld: 'split' is not \"train\" or \"heldout\"", manifest, (long long)line);
        return GL_EFORMAT;
    }
    if (split && !strcmp(split->valuestring, "heldout")) {
        snprintf(msg, msglen, "%s: line %lld: a held-out concept; held-out data sets are for evaluation, "
                 "train on a train split", manifest, (long long)line);
        return GL_EINVAL;
    }
    return GL_OK;
}

int gl__manifest_safe_name(const char *name) {
    if (!name[0] || name[0] == '/') return 0;
    for (const char *p = name; *p;) {
        const char *e = strchr(p, '/');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == 2 && p[0] == '.' && p[1] == '.') return 0;
        p += len + (e ? 1 : 0);
    }
    return 1;
}

char *gl__manifest_path(const char *dir, const char *file) {
    size_t plen = strlen(dir) + strlen(file) + 2;
    char *path = malloc(plen);
    if (path) snprintf(path, plen, "%s/%s", dir, file);
    return path;
}

int gl__video_read_u8(const char *path, const gl_dit_config *cfg, uint8_t **px, char *msg, size_t msglen) {
    *px = NULL;
    /* FFmpeg reads a .png as one still frame, so a contact sheet (what `gridlora dataset
     * --format png` writes, for viewing) would train as its squeezed picture */
    size_t len = strlen(path);
    if (len >= 4 && !strcasecmp(path + len - 4, ".png")) {
        snprintf(msg, msglen, "%s: a .png in a data set is a contact sheet of the frames, not a video; "
                 "write the data set as mp4 or gif", path);
        return GL_EFORMAT;
    }
    gl_video_read_opts ro = gl_video_read_default_opts();
    ro.frames = cfg->frames;
    ro.height = cfg->cell_h;
    ro.width = cfg->cell_w;
    gl_video vid = {0};
    int rc = gl_video_read(path, &ro, &vid, NULL, msg, msglen);
    if (rc) return rc;
    const int64_t n = cfg->frames * cfg->cell_h * cfg->cell_w * 3;
    uint8_t *p = malloc((size_t)n);
    if (!p) {
        gl_video_release(&vid);
        snprintf(msg, msglen, "%s: out of memory", path);
        return GL_ENOMEM;
    }
    for (int64_t j = 0; j < n; j++) {
        float x = vid.rgb[j];
        p[j] = (uint8_t)lrintf(x <= 0.0f ? 0.0f : x >= 1.0f ? 255.0f : 255.0f * x);
    }
    gl_video_release(&vid);
    *px = p;
    return GL_OK;
}
