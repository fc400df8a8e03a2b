/* cli/cmd_dataset.c: `gridlora dataset`: parse the options, report progress, hand the
 * work to gl_dataset_write (pipeline/dataset.c), where the layout is documented. */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app_common.h"
#include "cli.h"
#include "gridlora/core.h"
#include "gridlora/dataset.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: gridlora dataset --count N --out DIR [--seed S] [--split train|heldout]\n"
            "                        [--frames F] [--size WxH] [--fps R] [--format mp4|gif|png]\n"
            "                        [--threads T]\n"
            "Renders N procedural dynamic concepts (default 8 frames of 32x32), each with its\n"
            "variants: smoke, lights, night, rain, shadow, another background, another motion,\n"
            "and composed with the next concept. Writes DIR/NNNN.mp4, DIR/NNNN.<variant>.mp4\n"
            "and DIR/manifest.jsonl (captions and every parameter, one concept per line).\n"
            "DIR is created if missing, with its missing parents; an existing DIR must be empty or\n"
            "hold a data set.\n"
            "Held-out concepts (--split heldout) never occur in the train split.\n");
}

typedef struct progress_state {
    int64_t every;
    double t0;
} progress_state;

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void progress(void *ctx, int64_t done, int64_t total) {
    progress_state *s = ctx;
    if (done % s->every && done != total) return;
    fprintf(stderr, "  concept %lld/%lld  %.1f s\n", (long long)done, (long long)total, now_seconds() - s->t0);
}

/* "WxH" with both in [1, 4096]. */
static int parse_size(const char *val, int64_t *w, int64_t *h) {
    char *end = NULL;
    long a = strtol(val, &end, 10);
    if (end == val || (*end != 'x' && *end != 'X')) return -1;
    const char *rest = end + 1;
    long b = strtol(rest, &end, 10);
    if (end == rest || *end || a < 1 || a > 4096 || b < 1 || b > 4096) return -1;
    *w = a;
    *h = b;
    return 0;
}

int cmd_dataset(int argc, char **argv) {
    gl_dataset_params p = gl_dataset_default_params();
    const char *out = NULL;
    int have_count = 0;
    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i], *val = NULL;
        long v = 0;
        if (!strcmp(opt, "--help") || !strcmp(opt, "-h")) {
            usage(stdout);
            return CLI_OK;
        }
        if (strncmp(opt, "--", 2) != 0) {
            cli_error("dataset: unexpected argument '%s'", opt);
            return CLI_USAGE;
        }
        if (!(val = cli_value("dataset", argc, argv, &i))) return CLI_USAGE;
        if (!strcmp(opt, "--count")) {
            if (cli_parse_long("dataset", opt, val, 1, 1000000, &v)) return CLI_USAGE;
            p.count = v;
            have_count = 1;
        } else if (!strcmp(opt, "--seed")) {
            if (cli_parse_long("dataset", opt, val, 0, 2147483647L, &v)) return CLI_USAGE;
            p.seed = (uint64_t)v;
        } else if (!strcmp(opt, "--out")) {
            if (!*val) {
                cli_error("dataset: --out: empty path");
                return CLI_USAGE;
            }
            out = val;
        } else if (!strcmp(opt, "--split")) {
            if (cli_parse_split("dataset", val, &p.split)) return CLI_USAGE;
        } else if (!strcmp(opt, "--frames")) {
            if (cli_parse_long("dataset", opt, val, 1, 4096, &v)) return CLI_USAGE;
            p.render.frames = v;
        } else if (!strcmp(opt, "--size")) {
            if (parse_size(val, &p.render.width, &p.render.height)) {
                cli_error("dataset: --size: '%s' is not WxH with each in [1, 4096]", val);
                return CLI_USAGE;
            }
        } else if (!strcmp(opt, "--fps")) {
            if (cli_parse_long("dataset", opt, val, 1, 240, &v)) return CLI_USAGE;
            p.fps = (int)v;
        } else if (!strcmp(opt, "--format")) {
            if (strcmp(val, "mp4") && strcmp(val, "gif") && strcmp(val, "png")) {
                cli_error("dataset: --format: '%s' is not mp4, gif or png", val);
                return CLI_USAGE;
            }
            p.ext = val;
        } else if (!strcmp(opt, "--threads")) {
            if (cli_parse_long("dataset", opt, val, 1, 4096, &v)) return CLI_USAGE;
            gl_set_threads((int)v);
        } else {
            cli_error("dataset: unknown option '%s' (try --help)", opt);
            return CLI_USAGE;
        }
    }
    if (!out || !have_count) {
        cli_error("dataset: %s is required (try --help)", !out ? "--out DIR" : "--count N");
        return CLI_USAGE;
    }
    if (p.render.frames * p.render.width * p.render.height > ((int64_t)1 << 28)) {
        cli_error("dataset: %lld frames of %lldx%lld is too large", (long long)p.render.frames,
                  (long long)p.render.width, (long long)p.render.height);
        return CLI_USAGE;
    }
    if (cli_check_out_dir("dataset", out) || cli_make_parent_dirs("dataset", out)) return CLI_FAIL;
    /* about 20 progress lines however long the run */
    progress_state ps = {p.count >= 20 ? p.count / 20 : 1, now_seconds()};
    p.progress = progress;
    p.progress_ctx = &ps;
    char msg[1024] = "";
    int err = gl_dataset_write(out, &p, msg, sizeof msg);
    if (err) {
        cli_error("%s", msg[0] ? msg : gl_strerror(err));
        return CLI_FAIL;
    }
    printf("wrote %lld %s concepts (%d videos each, %lld frames of %lldx%lld) to %s in %.1f s\n",
           (long long)p.count, p.split == GL_SPLIT_HELDOUT ? "held-out" : "train", (int)GL_VARIANT_COUNT,
           (long long)p.render.frames, (long long)p.render.width, (long long)p.render.height, out,
           now_seconds() - ps.t0);
    return CLI_OK;
}
