/* tests/fuzz/fuzz_manifest.c: libFuzzer target for the data-set manifest
 * (DIR/manifest.jsonl, dataset.h). The input is written as the manifest of a directory in
 * /dev/shm and read by both of its readers, gl_data_dir (base training) and
 * gl_multidc_dir (LoRA training); each line is also given to gl_concept_from_json, whole
 * and its "concept" member (the render parameters). The directory holds one real clip,
 * clip.gif, so a manifest that names it goes all the way through. */
#define _POSIX_C_SOURCE 200809L /* mkdtemp */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "gridlora/data.h"
#include "gridlora/dataset.h"
#include "gridlora/model.h"
#include "gridlora/multidc.h"
#include "gridlora/render.h"
#include "gridlora/video.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64], manifest[96], clip[96];
static gl_dit_config cfg;

static void cleanup(void) {
    unlink(manifest);
    unlink(clip);
    rmdir(dir);
}

static void setup(void) {
    char msg[512];
    gl_video_set_verbose(0);
    snprintf(dir, sizeof dir, "/dev/shm/gl_fuzz_manifest_XXXXXX");
    if (!mkdtemp(dir)) abort();
    snprintf(manifest, sizeof manifest, "%s/manifest.jsonl", dir);
    snprintf(clip, sizeof clip, "%s/clip.gif", dir);
    atexit(cleanup);
    if (gl_dit_config_preset("tiny", &cfg) != GL_OK) abort();
    gl_video v = {0};
    if (gl_video_alloc(&v, 2, 8, 8) != GL_OK) abort();
    for (int64_t i = 0; i < 2 * 8 * 8 * 3; i++) v.rgb[i] = (float)(i % 7) / 6.0f;
    if (gl_video_write(clip, &v, 4, msg, sizeof msg) != GL_OK) abort();
    gl_video_release(&v);
}

static void concept_lines(const char *text) {
    char msg[256];
    for (const char *p = text; *p;) {
        const char *e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        cJSON *o = cJSON_ParseWithLength(p, len);
        if (o) {
            gl_concept c;
            (void)gl_concept_from_json(o, &c, msg, sizeof msg);
            (void)gl_concept_from_json(cJSON_GetObjectItemCaseSensitive(o, "concept"), &c, msg,
                                       sizeof msg);
            cJSON_Delete(o);
        }
        p += len + (e ? 1 : 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!dir[0]) setup();
    FILE *f = fopen(manifest, "wb");
    if (!f) abort();
    if (size && fwrite(data, 1, size, f) != size) abort();
    if (fclose(f) != 0) abort();
    char msg[512];

    gl_data *d = NULL;
    msg[0] = 0;
    if (gl_data_dir(&d, dir, &cfg, NULL, NULL, msg, sizeof msg) == GL_OK) {
        if (!d || gl_data_videos(d) < 1) abort();
        gl_data_free(&d);
    } else if (d || !msg[0]) {
        abort();
    }

    gl_multidc *m = NULL;
    msg[0] = 0;
    if (gl_multidc_dir(&m, dir, &cfg, NULL, NULL, msg, sizeof msg) == GL_OK) {
        if (!m || gl_multidc_videos(m) < 1 || gl_multidc_concepts(m) > cfg.concept_tokens)
            abort();
        gl_multidc_free(&m);
    } else if (m || !msg[0]) {
        abort();
    }

    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = 0;
    concept_lines(text);
    free(text);
    return 0;
}
