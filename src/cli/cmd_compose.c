/* cli/cmd_compose.c: `gridlora compose`: the compose layout (two videos on top, their
 * combinations below), one zero-shot sampling run (cli/app_common.c, pipeline/apps.c).
 * Parses and builds the layout, nothing more. */
#include <stdio.h>
#include <string.h>

#include "app_common.h"
#include "cli.h"
#include "gridlora/grid.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: gridlora compose --input A --input B --out DIR [--model BASE] [--lora FILE[:W] ...]\n"
            "                        [--caption TEXT_A --caption TEXT_B] [--combo TEXT ...] [--steps N]\n"
            "                        [--cfg S] [--context-cfg S] [--strength S] [--shift S] [--seed S]\n"
            "                        [--fps F] [--threads T]\n"
            "Zero-shot composition, one sampling run: videos A and B fill the top cells of a 2x2 grid as\n"
            "clean context; the bottom cells are their combinations (A with B behind it, B with A).\n"
            "  --input A, --input B  any videos FFmpeg reads; resampled to the model's cell\n"
            "  --model BASE     the base model, and --lora the Grid LoRA and Grid-Fill LoRA in order\n"
            "                   (default: the shipped model, models/default/{base,grid,gridfill}.safetensors)\n"
            "  --caption TEXT   words describing A, then B (optional; both or none)\n"
            "  --combo TEXT     the prompt of a bottom cell: A with B's, then B with A's (at most two).\n"
            "                   Default: for captions of the domain (\"a red striped star orbiting on\n"
            "                   sand\"), the pair's caption naming the top cell's background alone (\"a red\n"
            "                   striped star and a blue spotted ring on sand\"), as the grid stages were\n"
            "                   trained (models/default/TRAINING.md, stage 5); else 'TEXT_A and TEXT_B'\n"
            "  --steps N, --cfg S, --shift S, --seed S  sampling (defaults 10, 1: no guidance, 8, 1)\n"
            "  --context-cfg S  guidance by the input cells (default 1: none; above 1 it overdraws:\n"
            "                   models/default/TRAINING.md, \"Guidance by the input cells\")\n"
            "  --strength S     the noise level the output cells start from, each from the video of\n"
            "                   an input cell (SDEdit; default 1: pure noise). Below 1 keeps more of\n"
            "                   the input's colours and draws less of a change (with fewer --steps:\n"
            "                   models/default/TRAINING.md, \"Starting from the input\")\n"
            "Writes DIR/grid.mp4, DIR/grid.gif, DIR/cell2.mp4 and DIR/cell3.mp4, and DIR/sheet.png\n"
            "(A and B on top, then the combinations); prints the timings.\n");
}

int cmd_compose(int argc, char **argv) {
    cli_app a;
    cli_app_init(&a, "compose", 2);
    const char *combos[2];
    int n_combos = 0;
    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i];
        if (!strcmp(opt, "--help") || !strcmp(opt, "-h")) {
            usage(stdout);
            return CLI_OK;
        }
        if (!strcmp(opt, "--combo")) {
            if (i + 1 >= argc) {
                cli_error("compose: option --combo needs a value");
                return CLI_USAGE;
            }
            if (n_combos == 2) {
                cli_error("compose: at most two --combo (one per bottom cell)");
                return CLI_USAGE;
            }
            combos[n_combos++] = argv[++i];
            continue;
        }
        if (strncmp(opt, "--", 2) != 0) {
            cli_error("compose: unexpected argument '%s'", opt);
            return CLI_USAGE;
        }
        int rc = cli_app_option(&a, argc, argv, &i);
        if (rc >= 0) {
            if (rc) return rc;
            continue;
        }
        cli_error("compose: unknown option '%s' (try --help)", opt);
        return CLI_USAGE;
    }
    int rc = cli_app_check(&a, 2);
    if (rc) return rc;
    if (a.n_captions == 1) {
        cli_error("compose: give --caption twice (A's, then B's) or not at all");
        return CLI_USAGE;
    }
    gl_layout l;
    char msg[512];
    if (gl_layout_compose(&l, a.n_captions ? a.captions[0] : "", a.n_captions ? a.captions[1] : "", combos,
                          n_combos, msg, sizeof msg)) {
        cli_error("compose: %s", msg);
        return CLI_USAGE;
    }
    return cli_app_run(&a, &l, NULL);
}
