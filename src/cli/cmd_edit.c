/* cli/cmd_edit.c: `gridlora edit`: the edit layout (the user's video in cell 0, the same
 * concept with up to three effects in cells 1..3), one zero-shot sampling run
 * (cli/app_common.c, pipeline/apps.c). Parses and builds the layout, nothing more. */
#include <stdio.h>
#include <string.h>

#include "app_common.h"
#include "cli.h"
#include "gridlora/apps.h"
#include "gridlora/grid.h"
#include "gridlora/render.h"

static void list_effects(char *buf, size_t len) {
    buf[0] = '\0';
    for (unsigned bit = 1; bit & GL_FX_ALL; bit <<= 1) {
        size_t n = strlen(buf);
        snprintf(buf + n, len - n, "%s%s", n ? ", " : "", gl_effect_name(bit));
    }
}

static void usage(FILE *f) {
    char fx[128];
    list_effects(fx, sizeof fx);
    fprintf(f,
            "usage: gridlora edit --input VIDEO --effect E [--effect E2 [--effect E3]] --out DIR\n"
            "                     [--model BASE] [--lora FILE[:W] ...] [--caption TEXT]\n"
            "                     [--steps N] [--cfg S] [--context-cfg S] [--strength S] [--shift S]\n"
            "                     [--seed S] [--fps F] [--threads T]\n"
            "Zero-shot editing, one sampling run, no per-video training: the video fills the top-left\n"
            "cell of a 2x2 grid as clean context, and the other cells are the same concept with each\n"
            "effect (the cells past the last effect reconstruct the input).\n"
            "  --input VIDEO    any video FFmpeg reads; resampled to the model's frames and cell size\n"
            "  --effect E       one of: %s (up to three)\n"
            "  --model BASE     the base model, and --lora the Grid LoRA and Grid-Fill LoRA in order\n"
            "                   (default: the shipped model, models/default/{base,grid,gridfill}.safetensors)\n"
            "  --caption TEXT   words describing the input (\"a red striped star orbiting on sand\"),\n"
            "                   which the cell prompts then start with (default: none)\n"
            "  --steps N, --cfg S, --shift S, --seed S  sampling (defaults 10, 1: no guidance, 8, 1)\n"
            "  --context-cfg S  guidance by the input cells (default 1: none; above 1 it overdraws:\n"
            "                   models/default/TRAINING.md, \"Guidance by the input cells\")\n"
            "  --strength S     the noise level the output cells start from, each from the video of\n"
            "                   an input cell (SDEdit; default 1: pure noise). Below 1 keeps more of\n"
            "                   the input's colours and draws less of a change (with fewer --steps:\n"
            "                   models/default/TRAINING.md, \"Starting from the input\")\n"
            "Writes DIR/grid.mp4, DIR/grid.gif, DIR/cellN.mp4 and DIR/<effect>.mp4 per output cell, and\n"
            "DIR/sheet.png (the input on top, one row per output cell); prints the timings.\n",
            fx);
}

int cmd_edit(int argc, char **argv) {
    cli_app a;
    cli_app_init(&a, "edit", 1);
    const char *effects[3];
    int n_fx = 0;
    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i];
        if (!strcmp(opt, "--help") || !strcmp(opt, "-h")) {
            usage(stdout);
            return CLI_OK;
        }
        if (strncmp(opt, "--", 2) != 0) {
            cli_error("edit: unexpected argument '%s'", opt);
            return CLI_USAGE;
        }
        int rc = cli_app_option(&a, argc, argv, &i);
        if (rc >= 0) {
            if (rc) return rc;
            continue;
        }
        if (strcmp(opt, "--effect") != 0) {
            cli_error("edit: unknown option '%s' (try --help)", opt);
            return CLI_USAGE;
        }
        const char *val = cli_value("edit", argc, argv, &i);
        if (!val) return CLI_USAGE;
        int known = 0;
        for (unsigned bit = 1; bit & GL_FX_ALL; bit <<= 1) known |= !strcmp(val, gl_effect_name(bit));
        if (!known) {
            char fx[128];
            list_effects(fx, sizeof fx);
            cli_error("edit: --effect: unknown effect '%s' (known: %s)", val, fx);
            return CLI_USAGE;
        }
        if (n_fx == 3) {
            cli_error("edit: at most three --effect (the grid has three output cells)");
            return CLI_USAGE;
        }
        effects[n_fx++] = val;
    }
    int rc = cli_app_check(&a, 1);
    if (rc) return rc;
    if (n_fx == 0) {
        cli_error("edit: --effect E is required (try --help)");
        return CLI_USAGE;
    }
    const char *cap = a.n_captions ? a.captions[0] : "";
    gl_layout l;
    char msg[512];
    const char *names[GL_GRID_CELLS] = {NULL, NULL, NULL, NULL};
    if (gl_layout_edit(&l, cap, effects, n_fx, msg, sizeof msg)) {
        cli_error("edit: %s", msg);
        return CLI_USAGE;
    }
    /* the captions' own phrases ("at night", "in the rain"), as the grids were trained with */
    for (int k = 0; k < n_fx; k++) {
        const char *phrase = "";
        for (unsigned bit = 1; bit & GL_FX_ALL; bit <<= 1)
            if (!strcmp(effects[k], gl_effect_name(bit))) phrase = gl_effect_phrase(bit);
        char p[GL_PROMPT_MAX];
        int n = snprintf(p, sizeof p, "%s%s%s", cap, cap[0] ? " " : "", phrase);
        if (n < 0 || n >= (int)sizeof p || gl_layout_set_cell(&l, k + 1, GL_CELL_OUTPUT, p, msg, sizeof msg)) {
            cli_error("edit: --caption is too long");
            return CLI_USAGE;
        }
        names[k + 1] = effects[k];
    }
    return cli_app_run(&a, &l, names);
}
