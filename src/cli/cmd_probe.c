/* cli/cmd_probe.c: `gridlora probe`: a model's denoising error per noise level on
 * held-out rendered concepts (pipeline/probe.c), to judge a training run. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "gridlora/gridlora.h"
#include "gridlora/probe.h"

static void usage(FILE *f) {
    fprintf(f, "usage: gridlora probe --model FILE [--concepts N] [--seed S] [--threads T]\n"
               "For noise levels t = 0.05, 0.2, 0.5, 0.8, 0.95: the mean squared error of the\n"
               "model's clean estimate x_t - t v against the truth, over N held-out concepts\n"
               "(default 8) with their captions, beside that of x_t itself (values in [-1, 1]).\n");
}

int cmd_probe(int argc, char **argv) {
    const char *model = NULL;
    long concepts = 8, seed = 1, v = 0;
    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i], *val = NULL;
        if (!strcmp(opt, "--help") || !strcmp(opt, "-h")) {
            usage(stdout);
            return CLI_OK;
        }
        if (strcmp(opt, "--model") && strcmp(opt, "--concepts") && strcmp(opt, "--seed") && strcmp(opt, "--threads")) {
            cli_error("probe: unknown option '%s' (try --help)", opt);
            return CLI_USAGE;
        }
        if (!(val = cli_value("probe", argc, argv, &i))) return CLI_USAGE;
        if (!strcmp(opt, "--model")) model = val;
        else if (!strcmp(opt, "--concepts")) {
            if (cli_parse_long("probe", opt, val, 1, 100000, &concepts)) return CLI_USAGE;
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
    int rc = gl_probe_denoise(m, t, 5, (int)concepts, (uint64_t)seed, mse, mse_xt, mse_fg, msg, sizeof msg);
    gl_dit_free(&m);
    if (rc) {
        cli_error("probe: %s: %s", model, msg);
        return CLI_FAIL;
    }
    printf("%s: %ld held-out concepts, seed %ld\n   t    model x0 MSE    x_t MSE    subject only, model x0 MSE\n",
           model, concepts, seed);
    for (int k = 0; k < 5; k++) printf("%5.2f   %12.5f   %8.5f   %12.5f\n", t[k], mse[k], mse_xt[k], mse_fg[k]);
    return CLI_OK;
}
