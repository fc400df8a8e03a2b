/* cli/cmd_grids.c: `gridlora grids`: parse the options, load the model and its Multi-DC
 * adapter, hand the work to gl_grids_write (pipeline/grids.c), report. */
#include <stdio.h>
#include <string.h>

#include "app_common.h"
#include "cli.h"
#include "gridlora/core.h"
#include "gridlora/grids.h"
#include "gridlora/lora.h"
#include "gridlora/model.h"
#include "train_common.h"

#define MAX_LORAS 8

static void usage(FILE *f) {
    fprintf(f,
            "usage: gridlora grids --model BASE (--lora MULTIDC[:W] ... | --render) --data DIR\n"
            "                      --layout edit|compose|character|story --out GDIR [--count N] [--seed S]\n"
            "                      [--steps K] [--cfg S] [--fps F] [--resume] [--threads T]\n"
            "Makes 2x2 grid training data, the paper's way: each cell's video is sampled from the\n"
            "Multi-DC model (BASE with its adapter) with that cell's prompt, using the concepts and\n"
            "tokens of the data set DIR, and the four cells are tiled into one canvas. Per layout,\n"
            "for a concept A (and another concept B):\n"
            "  edit       A | A with effect 1 / A with effect 2 | A with effect 3 (distinct effects)\n"
            "  compose    A | B / A with B | B with A\n"
            "  character  A | A on another background / A on another path | both\n"
            "  story      A | A with an effect / A on another background | A on another path\n"
            "The first cell(s) are the layout's inputs. Writes GDIR/NNNN.mp4 (the canvases) and\n"
            "GDIR/manifest.jsonl (per canvas: layout, global and cell prompts, roles, file). GDIR is\n"
            "created if missing, with its missing parents; an existing GDIR must be empty or hold a\n"
            "grid set.\n"
            "  --model BASE     the base model; it also sets the cell size (its frames and cell)\n"
            "  --lora FILE[:W]  the Multi-DC LoRA ('gridlora train multidc' on DIR), weight W\n"
            "  --render         take the cells from the procedural renderer's exact truth instead\n"
            "                   (no --lora needed), and write GDIR/NNNN.subject.mp4 beside each\n"
            "                   canvas: the share of each pixel the subjects cover, which 'train\n"
            "                   grid|gridfill --subject-weight' reads\n"
            "  --data DIR       the data set the Multi-DC LoRA was trained on ('gridlora dataset')\n"
            "  --count N        canvases (default 16); --seed S which concepts and effects (default 0)\n"
            "  --steps K, --cfg S  sampling: Euler steps (default 20), guidance (default 3)\n"
            "  --fps F          frame rate of the canvases (default 8)\n"
            "  --resume         keep the canvases an interrupted run of the same command wrote\n"
            "                   (each is made from --seed and its index alone) and make the rest\n"
            "  --threads T      threads (default GRIDLORA_THREADS, else all cores)\n");
}

static void on_canvas(void *ctx, int64_t done, int64_t total) {
    (void)ctx;
    if (done == total || done % 16 == 0) {
        fprintf(stderr, "grids: canvas %lld/%lld\n", (long long)done, (long long)total);
        fflush(stderr);
    }
}

int cmd_grids(int argc, char **argv) {
    gl_grids_params p = gl_grids_default_params();
    const char *model = NULL, *data = NULL, *out = NULL, *lora_args[MAX_LORAS];
    int n_lora = 0;
    p.layout = NULL;
    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i], *val;
        long v = 0;
        double d = 0;
        if (!strcmp(opt, "--help") || !strcmp(opt, "-h")) {
            usage(stdout);
            return CLI_OK;
        }
        if (!strcmp(opt, "--render")) {
            p.render = 1;
            continue;
        }
        if (!strcmp(opt, "--resume")) {
            p.resume = 1;
            continue;
        }
        if (strncmp(opt, "--", 2) != 0) {
            cli_error("grids: unexpected argument '%s'", opt);
            return CLI_USAGE;
        }
        static const char *const valued[] = {"--model", "--lora", "--data", "--layout", "--count", "--out",
                                             "--seed", "--steps", "--cfg", "--fps", "--threads"};
        int known = 0;
        for (size_t k = 0; k < sizeof valued / sizeof valued[0]; k++) known |= !strcmp(opt, valued[k]);
        if (!known) {
            cli_error("grids: unknown option '%s' (try --help)", opt);
            return CLI_USAGE;
        }
        if (!(val = cli_value("grids", argc, argv, &i))) return CLI_USAGE;
        if (!strcmp(opt, "--model")) model = val;
        else if (!strcmp(opt, "--data")) data = val;
        else if (!strcmp(opt, "--out")) out = val;
        else if (!strcmp(opt, "--layout")) {
            if (strcmp(val, "edit") && strcmp(val, "compose") && strcmp(val, "character") && strcmp(val, "story")) {
                cli_error("grids: --layout: unknown layout '%s' (edit, compose, character, story)", val);
                return CLI_USAGE;
            }
            p.layout = val;
        } else if (!strcmp(opt, "--lora")) {
            if (n_lora == MAX_LORAS) {
                cli_error("grids: more than %d adapters", MAX_LORAS);
                return CLI_USAGE;
            }
            lora_args[n_lora++] = val;
        } else if (!strcmp(opt, "--count")) {
            if (cli_parse_long("grids", opt, val, 1, 1000000, &v)) return CLI_USAGE;
            p.count = v;
        } else if (!strcmp(opt, "--seed")) {
            if (cli_parse_long("grids", opt, val, 0, 2147483647L, &v)) return CLI_USAGE;
            p.seed = (uint64_t)v;
            p.sample.seed = (uint64_t)v;
        } else if (!strcmp(opt, "--steps")) {
            if (cli_parse_long("grids", opt, val, 1, 10000, &v)) return CLI_USAGE;
            p.sample.steps = (int)v;
        } else if (!strcmp(opt, "--cfg")) {
            if (cli_parse_float("grids", opt, val, 0, 100, 0, &d)) return CLI_USAGE;
            p.sample.cfg = (float)d;
        } else if (!strcmp(opt, "--fps")) {
            if (cli_parse_long("grids", opt, val, 1, 240, &v)) return CLI_USAGE;
            p.fps = (int)v;
        } else { /* --threads */
            if (cli_parse_long("grids", opt, val, 1, 4096, &v)) return CLI_USAGE;
            gl_set_threads((int)v);
        }
    }
    if (!model || !*model || !data || !*data || !out || !*out || !p.layout) {
        cli_error("grids: %s is required (try --help)", !model || !*model ? "--model BASE"
                                                        : !data || !*data ? "--data DIR"
                                                        : !out || !*out   ? "--out GDIR"
                                                                          : "--layout L");
        return CLI_USAGE;
    }
    if (p.render == (n_lora > 0)) {
        cli_error("grids: %s (try --help)", p.render ? "--render takes the renderer's cells: no --lora"
                                                     : "--lora MULTIDC (or --render) is required");
        return CLI_USAGE;
    }
    if (cli_check_out_dir("grids", out)) return CLI_FAIL;
    gl_dit *m = NULL;
    gl_lora *loras[MAX_LORAS] = {0};
    float w[MAX_LORAS];
    char msg[1024] = "";
    int rc = CLI_FAIL;
    if (gl_dit_load(&m, model, msg, sizeof msg)) {
        cli_error("grids: %s", msg);
        goto end;
    }
    if ((rc = cli_load_loras("grids", m, lora_args, n_lora, 1, loras, w)) != CLI_OK) goto end;
    rc = CLI_FAIL;
    p.model = m;
    p.progress = on_canvas;
    if (cli_make_parent_dirs("grids", out)) goto end;
    double t0 = cli_now();
    if (gl_grids_write(out, data, &p, msg, sizeof msg)) {
        cli_error("%s%s", strncmp(msg, "grids: ", 7) ? "grids: " : "", msg);
        goto end;
    }
    char took[32];
    cli_fmt_duration(took, sizeof took, cli_now() - t0);
    printf("wrote %s: %lld %s canvases, cells %s, in %s\n", out, (long long)p.count, p.layout,
           p.render ? "rendered (the renderer's truth)" : "sampled from the Multi-DC model", took);
    rc = CLI_OK;
end:
    gl_dit_detach_loras(m);
    for (int i = 0; i < n_lora; i++) gl_lora_free(&loras[i]);
    gl_dit_free(&m);
    return rc;
}
