/* cli/cmd_selfcheck.c: `gridlora selfcheck`: train the engine's one-block transformer on
 * toy videos and judge it: the loss must fall, the composed backward must match
 * finite differences. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "gridlora/gridlora.h"

/* The verdicts: a working engine halves the loss in the default 600 steps (it reaches
 * about a fifth); a wrong gradient anywhere in the chain errs by far more than 5%, while
 * float finite differences agree to about 1e-3. */
#define LOSS_RATIO_MAX 0.5
#define GRAD_ERR_MAX 5e-2

static void progress(void *ctx, int step, int steps, double loss) {
    (void)ctx;
    fprintf(stderr, "  step %4d/%d  loss %.5f\n", step, steps, loss);
}

int cli_selfcheck_report(const gl_selfcheck_params *in) {
    gl_selfcheck_params sp = *in;
    sp.progress = progress;
    gl_selfcheck_result r;
    char msg[256] = "";
    printf("engine self-check: one transformer block (width %d, %d heads) denoising toy videos "
           "of 4x8x8, patch 1x2x2, %d threads\n", sp.width, sp.heads, gl_threads());
    fflush(stdout);
    if (gl_selfcheck_run(&sp, &r, msg, sizeof msg) != 0) {
        cli_error("%s", msg);
        return CLI_FAIL;
    }
    double ratio = r.loss_last / r.loss_first;
    int loss_ok = ratio < LOSS_RATIO_MAX, grad_ok = r.grad_max_rel_err < GRAD_ERR_MAX;
    printf("  parameters          %lld\n", (long long)r.n_params);
    printf("  activation arena    %.1f KiB per step\n", r.arena_bytes / 1024.0);
    printf("  training            %d steps in %.2f s (%.0f steps/s)\n", sp.steps, r.seconds,
           sp.steps / r.seconds);
    printf("  loss                %.5f -> %.5f (x%.2f; must be < %.2f)  %s\n", r.loss_first,
           r.loss_last, ratio, LOSS_RATIO_MAX, loss_ok ? "ok" : "FAILED");
    printf("  gradient check      %d tensors, worst relative error %.2e (must be < %.0e)  %s\n",
           r.grad_checked, r.grad_max_rel_err, GRAD_ERR_MAX, grad_ok ? "ok" : "FAILED");
    return loss_ok && grad_ok ? CLI_OK : CLI_FAIL;
}

static void usage(FILE *f) {
    fprintf(f, "usage: gridlora selfcheck [--steps N] [--width W] [--heads H] [--seed S] [--threads T]\n"
               "Trains a one-block video transformer on toy denoising for N steps (default 600)\n"
               "and checks its composed backward against finite differences.\n");
}

int cmd_selfcheck(int argc, char **argv) {
    gl_selfcheck_params sp = gl_selfcheck_default_params();
    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i], *val = NULL;
        long v = 0;
        if (!strcmp(opt, "--help") || !strcmp(opt, "-h")) {
            usage(stdout);
            return CLI_OK;
        }
        if (strncmp(opt, "--", 2) != 0) {
            cli_error("selfcheck: unexpected argument '%s'", opt);
            return CLI_USAGE;
        }
        if (!(val = cli_value("selfcheck", argc, argv, &i))) return CLI_USAGE;
        if (!strcmp(opt, "--steps")) {
            if (cli_parse_long("selfcheck", opt, val, 1, 1000000, &v)) return CLI_USAGE;
            sp.steps = (int)v;
        } else if (!strcmp(opt, "--width")) {
            if (cli_parse_long("selfcheck", opt, val, 2, 4096, &v)) return CLI_USAGE;
            sp.width = (int)v;
        } else if (!strcmp(opt, "--heads")) {
            if (cli_parse_long("selfcheck", opt, val, 1, 64, &v)) return CLI_USAGE;
            sp.heads = (int)v;
        } else if (!strcmp(opt, "--seed")) {
            if (cli_parse_long("selfcheck", opt, val, 0, 2147483647L, &v)) return CLI_USAGE;
            sp.seed = (uint64_t)v;
        } else if (!strcmp(opt, "--threads")) {
            if (cli_parse_long("selfcheck", opt, val, 1, 4096, &v)) return CLI_USAGE;
            gl_set_threads((int)v);
        } else {
            cli_error("selfcheck: unknown option '%s' (try --help)", opt);
            return CLI_USAGE;
        }
    }
    if (sp.width % (2 * sp.heads)) {
        cli_error("selfcheck: --width %d must be a multiple of 2 x --heads (%d)", sp.width, sp.heads);
        return CLI_USAGE;
    }
    return cli_selfcheck_report(&sp);
}
