/* cli/cmd_probe.c: `gridlora probe`: a model's denoising error per noise level on
 * held-out rendered concepts and, on request, whether its samples follow their captions
 * (pipeline/probe.c), to judge a training run. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "train_common.h"
#include "gridlora/gridlora.h"
#include "gridlora/probe.h"

static void usage(FILE *f) {
    fprintf(f, "usage: gridlora probe --model FILE [--concepts N] [--seed S] [--captions K]\n"
               "                      [--steps N] [--cfg S] [--subject-scale K] [--threads T]\n"
               "For noise levels t = 0.05, 0.2, 0.5, 0.8, 0.95: the mean squared error of the\n"
               "model's clean estimate x_t - t v against the truth, over N held-out concepts\n"
               "(default 8) with their captions, beside that of x_t itself and the model's error\n"
               "on the subject's pixels alone (values in [-1, 1]).\n"
               "  --captions K  also sample K held-out concepts from their captions (--steps N,\n"
               "                default 20; guidance --cfg S, default 3) and measure, on the\n"
               "                sample and on the rendered truth alike: the share of the\n"
               "                foreground in the caption's colour, the share of frames with a\n"
               "                subject, how far it travels (pixels), the share of the frame it\n"
               "                covers, and its outline against the caption's shape (frames\n"
               "                where that shape fits best of the domain's eight; intersection\n"
               "                over union with it)\n"
               "  --subject-scale K  the concepts' subjects K times their domain size, as\n"
               "                'train base --subject-scale K' draws them (default 1)\n");
}

/* The caption test (gl_probe_captions) of the model in path over n concepts. */
static int probe_captions(const char *path, long n, long seed, double scale, const gl_sample_opts *so) {
    char msg[512];
    gl_dit *m = NULL;
    gl_probe_caption_row *rows = calloc((size_t)n, sizeof *rows), mean;
    if (!rows) {
        cli_error("probe: out of memory");
        return CLI_FAIL;
    }
    int rc = gl_dit_load(&m, path, msg, sizeof msg);
    if (!rc) rc = gl_probe_captions(m, (int)n, (uint64_t)seed, scale, so, rows, &mean, msg, sizeof msg);
    gl_dit_free(&m);
    if (rc) {
        free(rows);
        cli_error("probe: %s: %s", path, msg);
        return CLI_FAIL;
    }
    printf("\nsamples from captions (%d steps, guidance %g, seeds from %llu), each against its rendered truth:\n"
           "caption colour share    frames with a subject    travel, px      foreground area   "
           "caption's shape best    IoU with that shape   caption\n"
           "      sample   truth        sample   truth        sample  truth    sample   truth    "
           "sample   truth         sample   truth\n",
           so->steps, (double)so->cfg, (unsigned long long)so->seed);
    for (long i = 0; i < n; i++)
        printf("      %6.3f  %6.3f        %6.3f  %6.3f        %6.1f %6.1f    %6.3f  %6.3f    %6.3f  %6.3f"
               "         %6.3f  %6.3f    %s\n",
               rows[i].colour_share, rows[i].colour_share_truth, rows[i].present, rows[i].present_truth,
               rows[i].travel, rows[i].travel_truth, rows[i].area, rows[i].area_truth, rows[i].shape_hit,
               rows[i].shape_hit_truth, rows[i].shape_iou, rows[i].shape_iou_truth, rows[i].caption);
    printf("mean  %6.3f  %6.3f        %6.3f  %6.3f        %6.1f %6.1f    %6.3f  %6.3f    %6.3f  %6.3f"
           "         %6.3f  %6.3f    (%ld concepts)\n",
           mean.colour_share, mean.colour_share_truth, mean.present, mean.present_truth, mean.travel, mean.travel_truth,
           mean.area, mean.area_truth, mean.shape_hit, mean.shape_hit_truth, mean.shape_iou, mean.shape_iou_truth, n);
    free(rows);
    return CLI_OK;
}

int cmd_probe(int argc, char **argv) {
    const char *model = NULL;
    long concepts = 8, seed = 1, captions = 0, v = 0;
    double scale = 1.0, d = 0;
    gl_sample_opts so = gl_sample_default_opts();
    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i], *val = NULL;
        if (!strcmp(opt, "--help") || !strcmp(opt, "-h")) {
            usage(stdout);
            return CLI_OK;
        }
        if (strcmp(opt, "--model") && strcmp(opt, "--concepts") && strcmp(opt, "--seed") && strcmp(opt, "--threads") &&
            strcmp(opt, "--captions") && strcmp(opt, "--subject-scale") && strcmp(opt, "--steps") &&
            strcmp(opt, "--cfg")) {
            cli_error("probe: unknown option '%s' (try --help)", opt);
            return CLI_USAGE;
        }
        if (!(val = cli_value("probe", argc, argv, &i))) return CLI_USAGE;
        if (!strcmp(opt, "--model")) model = val;
        else if (!strcmp(opt, "--concepts")) {
            if (cli_parse_long("probe", opt, val, 1, 100000, &concepts)) return CLI_USAGE;
        } else if (!strcmp(opt, "--captions")) {
            if (cli_parse_long("probe", opt, val, 1, 100000, &captions)) return CLI_USAGE;
        } else if (!strcmp(opt, "--subject-scale")) {
            if (cli_parse_float("probe", opt, val, GL_DATA_SCALE_MIN, GL_DATA_SCALE_MAX, 0, &scale)) return CLI_USAGE;
        } else if (!strcmp(opt, "--steps")) {
            if (cli_parse_long("probe", opt, val, 1, 10000, &v)) return CLI_USAGE;
            so.steps = (int)v;
        } else if (!strcmp(opt, "--cfg")) {
            if (cli_parse_float("probe", opt, val, 0, 100, 0, &d)) return CLI_USAGE;
            so.cfg = (float)d;
        } else if (!strcmp(opt, "--seed")) {
            if (cli_parse_long("probe", opt, val, 0, 2147483647L, &seed)) return CLI_USAGE;
        } else {
            if (cli_parse_long("probe", opt, val, 1, 4096, &v)) return CLI_USAGE;
            gl_set_threads((int)v);
        }
    }
    if (!model) {
        cli_error("probe: --model FILE is required (try --help)");
        return CLI_USAGE;
    }
    char msg[512];
    gl_dit *m = NULL;
    if (gl_dit_load(&m, model, msg, sizeof msg)) {
        cli_error("probe: %s", msg);
        return CLI_FAIL;
    }
    const double t[5] = {0.05, 0.2, 0.5, 0.8, 0.95};
    double mse[5], mse_xt[5], mse_fg[5];
    int rc = gl_probe_denoise(m, t, 5, (int)concepts, (uint64_t)seed, scale, mse, mse_xt, mse_fg, msg, sizeof msg);
    gl_dit_free(&m);
    if (rc) {
        cli_error("probe: %s: %s", model, msg);
        return CLI_FAIL;
    }
    printf("%s: %ld held-out concepts, seed %ld\n   t    model x0 MSE    x_t MSE    subject only, model x0 MSE\n",
           model, concepts, seed);
    for (int k = 0; k < 5; k++) printf("%5.2f   %12.5f   %8.5f   %12.5f\n", t[k], mse[k], mse_xt[k], mse_fg[k]);
    if (captions > 0) return probe_captions(model, captions, seed, scale, &so);
    return CLI_OK;
}
