/* cli/cmd_prep.c: `gridlora prep`: read a video as the model sees it (frames sampled
 * evenly, centre-cropped, area-resized) and write that as .mp4, .gif or .png to look at.
 * Parses and reports; the reading and writing are io/'s. */
#define _POSIX_C_SOURCE 200809L /* strcasecmp */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>


#include "cli.h"
#include "gridlora/core.h"
#include "gridlora/video.h"

#define MAX_SIDE 2048
#define MAX_FRAMES 4096

static void usage(FILE *f) {
    fprintf(f,
            "usage: gridlora prep --input IN --out OUT [--frames N] [--size WxH] [--fps F] [--verbose]\n"
            "Reads IN (any video or image FFmpeg decodes, local files only) as the model sees it:\n"
            "N frames (default 8) sampled evenly over the clip, each centre-cropped to WxH's aspect\n"
            "and area-resized to WxH (default 32x32). Writes them to OUT by its extension:\n"
            "  .mp4  H.264 (MPEG-4 part 2 without libx264), high quality\n"
            "  .gif  looping, one palette for the clip\n"
            "  .png  contact sheet, the frames side by side, 4x enlarged\n"
            "--fps F sets OUT's frame rate (default: N frames over the clip's duration).\n"
            "--verbose shows FFmpeg's own messages.\n");
}

/* "WxH", each side in [1, MAX_SIDE]. */
static int parse_size(const char *val, long *w, long *h) {
    char a[32], *x;
    if (strlen(val) >= sizeof a || !(x = strchr(strcpy(a, val), 'x'))) {
        cli_error("prep: --size: '%s' is not WxH (e.g. 32x32)", val);
        return CLI_USAGE;
    }
    *x = '\0';
    if (cli_parse_long("prep", "--size width", a, 1, MAX_SIDE, w) ||
        cli_parse_long("prep", "--size height", x + 1, 1, MAX_SIDE, h))
        return CLI_USAGE;
    return CLI_OK;
}

static int supported_ext(const char *path) {
    const char *slash = strrchr(path, '/'), *base = slash ? slash + 1 : path;
    const char *dot = strrchr(base, '.');
    return dot && dot != base &&
           (!strcasecmp(dot, ".mp4") || !strcasecmp(dot, ".gif") || !strcasecmp(dot, ".png"));
}

int cmd_prep(int argc, char **argv) {
    gl_video_read_opts o = gl_video_read_default_opts();
    const char *in = NULL, *out = NULL;
    long fps = 0, v = 0, w = 0, h = 0;
    int verbose = 0;
    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i], *val = NULL;
        if (!strcmp(opt, "--help") || !strcmp(opt, "-h")) {
            usage(stdout);
            return CLI_OK;
        }
        if (!strcmp(opt, "--verbose") || !strcmp(opt, "-v")) {
            verbose = 1;
            continue;
        }
        if (strncmp(opt, "--", 2) != 0) {
            cli_error("prep: unexpected argument '%s'", opt);
            return CLI_USAGE;
        }
        if (strcmp(opt, "--input") && strcmp(opt, "--out") && strcmp(opt, "--frames") &&
            strcmp(opt, "--size") && strcmp(opt, "--fps")) {
            cli_error("prep: unknown option '%s' (try --help)", opt);
            return CLI_USAGE;
        }
        if (!(val = cli_value("prep", argc, argv, &i))) return CLI_USAGE;
        if (!strcmp(opt, "--input")) {
            in = val;
        } else if (!strcmp(opt, "--out")) {
            out = val;
        } else if (!strcmp(opt, "--frames")) {
            if (cli_parse_long("prep", opt, val, 1, MAX_FRAMES, &v)) return CLI_USAGE;
            o.frames = v;
        } else if (!strcmp(opt, "--size")) {
            if (parse_size(val, &w, &h)) return CLI_USAGE;
            o.width = w;
            o.height = h;
        } else {
            if (cli_parse_long("prep", opt, val, 1, 240, &fps)) return CLI_USAGE;
        }
    }
    if (!in || !*in || !out || !*out) {
        cli_error("prep: --input and --out are required (try --help)");
        return CLI_USAGE;
    }
    if (!supported_ext(out)) {
        cli_error("prep: --out %s: unsupported extension (supported: .mp4, .gif, .png)", out);
        return CLI_USAGE;
    }
    /* our one-line errors carry FFmpeg's reason; its own log would add lines */
    gl_video_set_verbose(verbose);

    gl_video vid = {0};
    gl_video_read_info info;
    char msg[512];
    if (gl_video_read(in, &o, &vid, &info, msg, sizeof msg) != GL_OK) {
        cli_error("prep: %s", msg);
        return CLI_FAIL;
    }
    printf("read %s: %s in %s, %lldx%lld, ", in, info.codec, info.container,
           (long long)info.source_width, (long long)info.source_height);
    if (info.source_frames == 1) printf("1 frame (an image)\n");
    else printf("%lld frames at %.3g fps\n", (long long)info.source_frames, info.source_fps);
    printf("model input: %lld frames of %lldx%lld (sampled evenly, centre-cropped, area-resized)\n",
           (long long)vid.frames, (long long)vid.width, (long long)vid.height);
    if (info.repeated)
        printf("note: the clip has %lld frame%s, fewer than %lld: frames were repeated\n",
               (long long)info.source_frames, info.source_frames == 1 ? "" : "s",
               (long long)vid.frames);
    if (!fps) { /* the sampled frames spread over the clip's duration: real-time playback */
        double secs = info.source_fps > 0 && info.source_frames > 1
                          ? info.source_frames / info.source_fps : 0; /* an image: none */
        fps = secs > 0 ? lround(vid.frames / secs) : 8;
        if (fps < 1) fps = 1;
        if (fps > 240) fps = 240;
    }
    int rc = CLI_OK;
    if (gl_video_write(out, &vid, (int)fps, msg, sizeof msg) != GL_OK) {
        cli_error("prep: %s", msg);
        rc = CLI_FAIL;
    } else {
        printf("wrote %s (%ld fps)\n", out, fps);
    }
    gl_video_release(&vid);
    return rc;
}
