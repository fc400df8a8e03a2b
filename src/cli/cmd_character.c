/* cli/cmd_character.c: `gridlora character`: the character layout (the user's video in
 * cell 0, the same concept in new scenes or motions in cells 1..3), one zero-shot
 * sampling run (cli/app_common.c, pipeline/apps.c). Parses and builds the layout. */
#include <stdio.h>
#include <string.h>

#include "app_common.h"
#include "cli.h"
#include "gridlora/grid.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: gridlora character --input VIDEO --prompt P [--prompt P2 [--prompt P3]] --out DIR\n"
            "                          [--model BASE] [--lora FILE[:W] ...] [--caption TEXT]\n"
            "                          [--steps N] [--cfg S] [--context-cfg S] [--strength S] [--shift S]\n"
            "                          [--seed S] [--fps F] [--threads T]\n"
            "Zero-shot re-staging, one sampling run: the video fills the top-left cell of a 2x2 grid as\n"
            "clean context; the other cells show the same concept as each prompt says (new scenes or\n"
            "motions, e.g. \"a red striped star bouncing on snow\"; the last prompt repeats).\n"
            "  --input VIDEO    any video FFmpeg reads; resampled to the model's frames and cell size\n"
            "  --prompt P       words of the domain; up to three\n"
            "  --model BASE     the base model, and --lora the Grid LoRA and Grid-Fill LoRA in order\n"
            "                   (default: the shipped model, models/default/{base,grid,gridfill}.safetensors)\n"
            "  --caption TEXT   words describing the input (optional)\n"
            "  --steps N, --cfg S, --shift S, --seed S  sampling (defaults 10, 1: no guidance, 8, 1)\n"
            "  --context-cfg S  guidance by the input cells (default 1: none; above 1 it overdraws:\n"
            "                   models/default/TRAINING.md, \"Guidance by the input cells\")\n"
            "  --strength S     the noise level the output cells start from, each from the video of\n"
            "                   an input cell (SDEdit; default 1: pure noise). Below 1 keeps more of\n"
            "                   the input's colours and draws less of a change (with fewer --steps:\n"
            "                   models/default/TRAINING.md, \"Starting from the input\")\n"
            "Writes DIR/grid.mp4, DIR/grid.gif, DIR/cell1.mp4..cell3.mp4 and DIR/sheet.png (the input on\n"
            "top, one row per output cell); prints the timings.\n");
}

int cmd_character(int argc, char **argv) {
    cli_app a;
    cli_app_init(&a, "character", 1);
    const char *prompts[3];
    int n_p = 0;
    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i];
        if (!strcmp(opt, "--help") || !strcmp(opt, "-h")) {
            usage(stdout);
            return CLI_OK;
        }
        if (strncmp(opt, "--", 2) != 0) {
            cli_error("character: unexpected argument '%s'", opt);
            return CLI_USAGE;
        }
        int rc = cli_app_option(&a, argc, argv, &i);
        if (rc >= 0) {
            if (rc) return rc;
            continue;
        }
        if (strcmp(opt, "--prompt") != 0) {
            cli_error("character: unknown option '%s' (try --help)", opt);
            return CLI_USAGE;
        }
        const char *val = cli_value("character", argc, argv, &i);
        if (!val) return CLI_USAGE;
        if (!*val) {
            cli_error("character: --prompt: empty prompt");
            return CLI_USAGE;
        }
        if (n_p == 3) {
            cli_error("character: at most three --prompt (the grid has three output cells)");
            return CLI_USAGE;
        }
        prompts[n_p++] = val;
    }
    int rc = cli_app_check(&a, 1);
    if (rc) return rc;
    if (n_p == 0) {
        cli_error("character: --prompt P is required (try --help)");
        return CLI_USAGE;
    }
    gl_layout l;
    char msg[512];
    if (gl_layout_character(&l, a.n_captions ? a.captions[0] : "", prompts, n_p, msg, sizeof msg)) {
        cli_error("character: %s", msg);
        return CLI_USAGE;
    }
    return cli_app_run(&a, &l, NULL);
}
