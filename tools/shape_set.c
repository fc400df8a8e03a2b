/* tools/shape_set.c: a data set of eight videos of one concept that differ only in shape
 * (upright, not pulsing), for `train base --data`: can a model learn the shape word at
 * all, when it sees nothing else vary? With CONCEPTS > 1, the eight shapes of each of
 * that many concepts (seeds SEED, SEED + 1, ...: colours, texture, background and path
 * vary between them): does the shape word survive other attributes varying? A shape
 * that would make a concept's appearance a held-out one is left out (so a concept may
 * give fewer than eight videos). A diagnostic, not part of the library or the CLI;
 * `train base --procedural --concept-pool N` draws the same concepts on the fly.
 *
 *   make build && build/shape_set DIR [SEED] [SCALE] [CONCEPTS]
 *   (DIR made if absent; default seed 12345, scale 1, one concept) */
#define _POSIX_C_SOURCE 200809L /* mkdir */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "gridlora/gridlora.h"

int main(int argc, char **argv) {
    if (argc < 2 || argc > 5) {
        fprintf(stderr, "usage: shape_set DIR [SEED] [SCALE] [CONCEPTS]\n");
        return 2;
    }
    const char *dir = argv[1];
    uint64_t seed = argc > 2 ? strtoull(argv[2], NULL, 10) : 12345;
    double scale = argc > 3 ? atof(argv[3]) : 1.0;
    long concepts = argc > 4 ? strtol(argv[4], NULL, 10) : 1;
    if (concepts < 1 || concepts > 1000) {
        fprintf(stderr, "shape_set: CONCEPTS must be 1-1000\n");
        return 2;
    }
    if (mkdir(dir, 0777) && errno != EEXIST) {
        fprintf(stderr, "shape_set: %s: %s\n", dir, strerror(errno));
        return 1;
    }
    char path[4096], msg[512], cap[256];
    snprintf(path, sizeof path, "%s/manifest.jsonl", dir);
    FILE *m = fopen(path, "w");
    if (!m) {
        perror(path);
        return 1;
    }
    long written = 0;
    for (long i = 0; i < concepts * GL_SHAPE_COUNT; i++) {
        const int s = (int)(i % GL_SHAPE_COUNT);
        gl_concept c;
        gl_concept_sample(&c, seed + (uint64_t)(i / GL_SHAPE_COUNT), GL_SPLIT_TRAIN);
        c.angle = c.spin = c.pulse = 0;
        c.pulse_cycles = 0;
        if (gl_concept_scale(&c, scale)) {
            fprintf(stderr, "shape_set: scale %g leaves the subject no room\n", scale);
            return 1;
        }
        gl_concept k = c;
        k.shape = (gl_shape)s;
        if (gl_concept_split(&k) != GL_SPLIT_TRAIN) continue; /* held out: for evaluation only */
        gl_render_opts o = gl_render_default_opts();
        gl_video v = {0};
        gl_scene sc;
        if (gl_render_concept(&k, &o, &v) || gl_scene_from_variant(&sc, &k, NULL, GL_VARIANT_PLAIN) ||
            gl_scene_caption(&sc, NULL, cap, sizeof cap)) {
            fprintf(stderr, "shape_set: cannot render shape %d\n", s);
            return 1;
        }
        snprintf(path, sizeof path, "%s/%04ld.gif", dir, written);
        if (gl_video_write(path, &v, 8, msg, sizeof msg)) {
            fprintf(stderr, "shape_set: %s\n", msg);
            return 1;
        }
        fprintf(m, "{\"file\":\"%04ld.gif\",\"caption\":\"%s\"}\n", written++, cap);
        printf("%s\n", cap);
        gl_video_release(&v);
    }
    return fclose(m) ? 1 : 0;
}
