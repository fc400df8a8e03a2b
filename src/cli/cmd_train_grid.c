/* cli/cmd_train_grid.c: `gridlora train grid` and `gridlora train gridfill`: parse the
 * options, load the frozen base (and frozen adapters under the new one), read the grid
 * set (pipeline/grids.c), run one LoRA stage on whole canvases (cli/train_common.c).
 * No training logic of its own. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "gridlora/core.h"
#include "gridlora/grids.h"
#include "gridlora/lora.h"
#include "gridlora/model.h"
#include "train_common.h"

#define MAX_UNDER 8
#define MAX_DATA 16
#define MAX_WEIGHTS 8

static void usage(FILE *f, int fill) {
    if (!fill)
        fprintf(f,
                "usage: gridlora train grid --base FILE --data GDIR --out FILE.safetensors [--lora FILE[:W]]\n"
                "                           [--init FILE] [--steps N] [--rank R] [--alpha A] [--targets LIST]\n"
                "                           [--gain-lr-scale S] [--lora-dropout P] [--batch B]\n"
                "                           [--seed S] [--lr X] [--ema D] [--t-mu M] [--t-sigma S]\n"
                "                           [--offset-noise [LAYOUT=]G]... [--colour-weight W]\n"
                "                           [--log FILE.csv] [--subject-weight [LAYOUT=]W]...\n"
                "                           [--checkpoint-every K] [--resume] [--threads T]\n"
                "Trains the Grid LoRA: a new adapter on whole 2x2 canvases of a grid set ('gridlora grids'),\n"
                "every cell noised, with the attention masks of each canvas's layout (input cells read only\n"
                "their own video and prompt; output cells every cell's video and their own prompt), so that\n"
                "it learns grids whose cells agree.\n"
                "  --base FILE        the base model; its weights stay as they are\n"
                "  --lora FILE[:W]    an adapter applied, frozen, under the new one (e.g. the Multi-DC LoRA);\n"
                "                     repeatable\n");
    else
        fprintf(f,
                "usage: gridlora train gridfill --base FILE --grid-lora FILE[:W] --data GDIR --out FILE.safetensors\n"
                "                               [--lora FILE[:W]] [--init FILE] [--steps N] [--rank R] [--alpha A]\n"
                "                               [--targets LIST] [--gain-lr-scale S] [--lora-dropout P]\n"
                "                               [--batch B] [--seed S] [--lr X] [--ema D] [--t-mu M] [--t-sigma S]\n"
                "                               [--offset-noise [LAYOUT=]G]... [--colour-weight W] [--log FILE.csv]\n"
                "                               [--checkpoint-every K] [--subject-weight [LAYOUT=]W]...\n"
                "                               [--input-share P] [--resume] [--threads T]\n"
                "Trains the Grid-Fill LoRA: base and Grid LoRA attached and frozen, a new adapter on partially\n"
                "filled canvases: each sample gives a random subset of cells clean (t = 0: the layout's input\n"
                "cells half the time, --input-share, else any non-empty proper subset) and noises the rest;\n"
                "the loss counts only the noised cells, and the clean cells are the inputs of the attention\n"
                "masks.\n"
                "  --base FILE        the base model; its weights stay as they are\n"
                "  --grid-lora FILE   the Grid LoRA ('gridlora train grid'), frozen\n"
                "  --lora FILE[:W]    further frozen adapters applied before the Grid LoRA; repeatable\n"
                "  --input-share P    the share of samples whose clean cells are the layout's own inputs,\n"
                "                     as the apps give them (default 0.5); resume with the same P\n");
    fprintf(f,
            "  --data GDIR        a grid set written by 'gridlora grids' (all canvases preloaded);\n"
            "                     repeatable: the sets' canvases together (e.g. edit and compose)\n"
            "  --init FILE        start the adapter from FILE's weights (an adapter this stage wrote,\n"
            "                     e.g. to train on from a finished run: a new warm-up and cosine of\n"
            "                     --steps steps) instead of a new one; its rank and alpha are FILE's\n"
            "  --steps N          optimiser steps (default 400)\n"
            "  --rank R, --alpha A  the new adapter's rank (default 8) and scale alpha/rank (alpha 8)\n"
            "  --targets LIST     the new adapter's modules, comma-separated patterns (default\n"
            "                     " GL_LORA_DEFAULT_TARGETS ");\n"
            "                     a pattern naming norms (blocks.*.attn.norm_[qk]) also shifts those\n"
            "                     gains, which lets the adapter sharpen attention past the base's\n"
            "                     (with --init: FILE's targets and more; its tensors carry over and\n"
            "                     what it lacks starts as a new adapter's, so training starts from\n"
            "                     what FILE computes)\n"
            "  --gain-lr-scale S  the norm gains learn at S times the learning rate (default 1): one\n"
            "                     number a channel moves slowly at the rate the projections take;\n"
            "                     resume with the same S\n"
            "  --lora-dropout P   drop each element of the new adapter's input with probability P while\n"
            "                     it trains, scaling the rest by 1/(1-P) (default 0; the frozen adapters\n"
            "                     and sampling never drop); resume with the same P\n"
            "  --batch B          canvases a step (default 4); --seed S (default 1)\n"
            "  --lr X             peak learning rate (default 1e-3), cosine to 10%%\n"
            "  --ema D            keep an EMA of the adapter with decay D per step; OUT gets the EMA\n"
            "                     (default 0: the final weights); resume with the same D\n"
            "  --t-mu M, --t-sigma S  the noised cells' timesteps logit-normal(M, S) (default 0, 1);\n"
            "                     M > 0 trains more at high noise, where the grid apps' shift puts\n"
            "                     most sampling steps\n"
            "  --offset-noise [LAYOUT=]G  add to each noised cell's noise one constant per channel,\n"
            "                     drawn with std G (default 0: none), so that the cell's mean colour\n"
            "                     is not read off x_t but from the other cells and the prompt, even\n"
            "                     at low noise, where sampling would otherwise keep an early error;\n"
            "                     with LAYOUT= for that layout's canvases alone, over a plain G; may\n"
            "                     repeat; resume with the same values\n"
            "  --colour-weight W  add W x the squared error of each noised cell's mean colour (per\n"
            "                     frame and channel, weighed as the loss) to the loss (default 0):\n"
            "                     the colour a cell is drawn in, one mode among thousands in the\n"
            "                     plain loss; the logged loss includes it; resume with the same W\n"
            "  --subject-weight [LAYOUT=]W  a pixel's loss weight is 1 + W x the share of it the subjects\n"
            "                     cover (the sets' coverage files: rendered sets only; default 0, all\n"
            "                     alike; the logged loss is then the weighted mean); with LAYOUT= (edit,\n"
            "                     compose, character, story) for that layout's canvases alone, over a\n"
            "                     plain W; may repeat; resume with the same weights\n"
            "  --log FILE.csv     step,loss,lr,grad_norm,seconds per step\n"
            "  --checkpoint-every K  resumable state every K steps in OUT.ckpt.safetensors\n"
            "  --resume           continue from it (same --seed)\n"
            "  --threads T        threads (default GRIDLORA_THREADS, else all cores)\n");
}

/* An option's "[LAYOUT=]X": kind -1 for a plain X; X in [0, max]. CLI_OK, else
 * CLI_USAGE after a message. */
static int layout_value(const char *opt, const char *val, double max, int *kind, double *x) {
    const char *eq = strchr(val, '=');
    *kind = -1;
    if (eq) {
        char layout[16] = "";
        const int len = (int)(eq - val);
        if (len < (int)sizeof layout) snprintf(layout, sizeof layout, "%.*s", len, val);
        if ((*kind = gl_layout_kind_from_name(layout)) < 0) {
            cli_error("train: %s: unknown layout '%.*s' (edit, compose, character or story)", opt, len, val);
            return CLI_USAGE;
        }
        val = eq + 1;
    }
    return cli_parse_float("train", opt, val, 0, max, 0, x) ? CLI_USAGE : CLI_OK;
}

int cmd_train_grid(int argc, char **argv) {
    const int fill = !strcmp(argv[1], "gridfill");
    const char *name = fill ? "gridfill" : "grid";
    cli_stages s = cli_stages_default("train");
    const char *base = NULL, *init = NULL, *data[MAX_DATA], *under[MAX_UNDER + 1];
    const char *shape_opt = NULL; /* --rank or --alpha, which --init's file decides */
    const char *targets = NULL;   /* --targets: a new adapter's, or more for --init's */
    double gain_lr = 1.0;         /* --gain-lr-scale */
    int n_under = 0, have_grid = 0, n_data = 0;
    long steps = 400;
    /* --subject-weight, in the order given: W for every layout, or LAYOUT=W */
    int sw_kind[MAX_WEIGHTS]; /* -1: every layout */
    double sw_value[MAX_WEIGHTS];
    double input_share = 0.5; /* --input-share */
    int n_sw = 0;
    /* --offset-noise LAYOUT=G, in the order given (a plain G is the trainer's, s.t) */
    int on_kind[MAX_WEIGHTS];
    double on_value[MAX_WEIGHTS];
    int n_on = 0;
    for (int i = 2; i < argc; i++) {
        const char *opt = argv[i];
        if (!strcmp(opt, "--help") || !strcmp(opt, "-h")) {
            usage(stdout, fill);
            return CLI_OK;
        }
        if (strncmp(opt, "--", 2) != 0) {
            cli_error("train: unexpected argument '%s'", opt);
            return CLI_USAGE;
        }
        if (!strcmp(opt, "--set-steps") || !strcmp(opt, "--seq-steps")) {
            cli_error("train: %s: unknown option '%s' (one stage: --steps N)", name, opt);
            return CLI_USAGE;
        }
        if (!strcmp(opt, "--rank") || !strcmp(opt, "--alpha")) shape_opt = opt;
        int rc = cli_stages_option(&s, argc, argv, &i);
        if (rc >= 0) {
            if (rc) return rc;
            continue;
        }
        int known = !strcmp(opt, "--base") || !strcmp(opt, "--data") || !strcmp(opt, "--out") ||
                    !strcmp(opt, "--lora") || !strcmp(opt, "--steps") || !strcmp(opt, "--ema") || !strcmp(opt, "--t-mu") ||
                    !strcmp(opt, "--t-sigma") || !strcmp(opt, "--offset-noise") || !strcmp(opt, "--init") ||
                    !strcmp(opt, "--subject-weight") || !strcmp(opt, "--colour-weight") || !strcmp(opt, "--targets") ||
                    !strcmp(opt, "--gain-lr-scale") ||
                    (fill && (!strcmp(opt, "--grid-lora") || !strcmp(opt, "--input-share")));
        if (!known) {
            cli_error("train: unknown option '%s' (try --help)", opt);
            return CLI_USAGE;
        }
        const char *val = cli_value("train", argc, argv, &i);
        if (!val) return CLI_USAGE;
        if (!*val) {
            cli_error("train: %s: empty value", opt);
            return CLI_USAGE;
        }
        if (!strcmp(opt, "--steps")) {
            if (cli_parse_long("train", opt, val, 1, 1000000000L, &steps)) return CLI_USAGE;
        } else if (!strcmp(opt, "--subject-weight")) {
            if (n_sw == MAX_WEIGHTS) {
                cli_error("train: %s: more than %d --subject-weight", name, MAX_WEIGHTS);
                return CLI_USAGE;
            }
            if (layout_value(opt, val, GL_GRID_SUBJECT_WEIGHT_MAX, &sw_kind[n_sw], &sw_value[n_sw])) return CLI_USAGE;
            n_sw++;
        } else if (!strcmp(opt, "--offset-noise") && strchr(val, '=')) {
            if (n_on == MAX_WEIGHTS) {
                cli_error("train: %s: more than %d --offset-noise LAYOUT=G", name, MAX_WEIGHTS);
                return CLI_USAGE;
            }
            if (layout_value(opt, val, GL_GRID_OFFSET_NOISE_MAX, &on_kind[n_on], &on_value[n_on])) return CLI_USAGE;
            n_on++;
        } else if ((rc = cli_schedule_option("train", opt, val, &s.t)) >= 0) {
            if (rc) return rc;
        } else if (!strcmp(opt, "--lora")) {
            if (n_under == MAX_UNDER) {
                cli_error("train: more than %d adapters under the new one", MAX_UNDER);
                return CLI_USAGE;
            }
            under[n_under++] = val;
        } else if (!strcmp(opt, "--grid-lora")) {
            if (have_grid) {
                cli_error("train: gridfill: --grid-lora given twice");
                return CLI_USAGE;
            }
            have_grid = 1;
            under[MAX_UNDER] = val;
        } else if (!strcmp(opt, "--data")) {
            if (n_data == MAX_DATA) {
                cli_error("train: %s: more than %d --data", name, MAX_DATA);
                return CLI_USAGE;
            }
            data[n_data++] = val;
        } else if (!strcmp(opt, "--init")) {
            init = val;
        } else if (!strcmp(opt, "--targets")) {
            targets = val;
        } else if (!strcmp(opt, "--gain-lr-scale")) {
            if (cli_parse_float("train", opt, val, 0, 1000, 1, &gain_lr)) return CLI_USAGE;
        } else if (!strcmp(opt, "--input-share")) {
            if (cli_parse_float("train", opt, val, 0, 1, 0, &input_share)) return CLI_USAGE;
        } else {
            *(!strcmp(opt, "--base") ? &base : &s.out) = val;
        }
    }
    if (!base || !n_data || (fill && !have_grid)) {
        cli_error("train: %s: %s is required (try --help)", name,
                  !base ? "--base FILE" : !n_data ? "--data GDIR" : "--grid-lora FILE");
        return CLI_USAGE;
    }
    if (init && shape_opt) {
        cli_error("train: %s: %s with --init: the adapter's rank and alpha are those of %s", name, shape_opt, init);
        return CLI_USAGE;
    }
    int rc = cli_stages_check(&s);
    if (rc) return rc;
    if (fill) under[n_under++] = under[MAX_UNDER]; /* the Grid LoRA applies last */

    gl_dit *m = NULL;
    gl_grid_data *g = NULL;
    gl_lora *loras[MAX_UNDER + 1] = {0}, *l = NULL;
    float weights[MAX_UNDER + 1];
    char msg[1024] = "";
    rc = CLI_FAIL;
    if (gl_dit_load(&m, base, msg, sizeof msg)) {
        cli_error("train: %s", msg);
        goto end;
    }
    if ((rc = cli_load_loras("train", m, under, n_under, 1, loras, weights)) != CLI_OK) goto end;
    rc = CLI_FAIL;
    gl_params *mp = gl_dit_params(m);
    for (int i = 0; i < gl_params_count(mp); i++) gl_params_set_flags(mp, i, gl_params_flags(mp, i) | GL_PARAM_FROZEN);
    for (int k = 0; k < n_under; k++) {
        gl_params *lp = gl_lora_params(loras[k]);
        for (int i = 0; i < gl_params_count(lp); i++)
            gl_params_set_flags(lp, i, gl_params_flags(lp, i) | GL_PARAM_FROZEN);
    }
    /* the new adapter before the data: a wrong --init fails before minutes of reading */
    if (init) {
        const int32_t *ids;
        if (gl_lora_load(&l, m, init, msg, sizeof msg)) {
            cli_error("train: --init: %s", msg);
            goto end;
        }
        /* a Multi-DC adapter's motion branch and tokens are not what a grid stage trains */
        if (gl_lora_has_motion(l) || gl_lora_tokens(l, &ids) > 0) {
            cli_error("train: --init: %s is a Multi-DC adapter (%s), not a grid stage's", init,
                      gl_lora_has_motion(l) ? "it has a motion branch" : "it carries token embeddings");
            goto end;
        }
        gl_lora *wider = NULL;
        if (targets && gl_lora_retarget(&wider, m, l, targets, s.t.seed, msg, sizeof msg)) {
            cli_error("train: --targets with --init %s: %s", init, msg);
            goto end;
        }
        if (wider) {
            gl_lora_free(&l);
            l = wider;
        }
    } else {
        gl_lora_spec spec = gl_lora_default_spec();
        spec.rank = s.rank;
        spec.alpha = s.alpha;
        if (targets) spec.targets = targets;
        if (gl_lora_new(&l, m, &spec, s.t.seed, msg, sizeof msg)) {
            cli_error("train: %s", msg);
            goto end;
        }
    }
    if (gain_lr != 1.0 && gl_lora_gain_count(l) == 0) {
        cli_error("train: %s: --gain-lr-scale: the adapter shifts no norm gain (see --targets)", name);
        goto end;
    }
    for (int i = 0; i < gl_lora_gain_count(l); i++)
        gl_params_set_lr_scale(gl_lora_params(l), gl_lora_gain_param(l, i), (float)gain_lr);
    if (gl_dit_attach_lora(m, l, 1.0f, msg, sizeof msg)) {
        cli_error("train: %s", msg);
        goto end;
    }
    s.init = init;
    const gl_dit_config *c = gl_dit_cfg(m);
    cli_progress pr;
    cli_progress_init(&pr, "", 1, 1);
    if (gl_grid_data_dirs(&g, data, n_data, m, cli_on_video, &pr, msg, sizeof msg)) {
        cli_progress_end_line(&pr);
        cli_error("train: %s", msg);
        goto end;
    }
    gl_grid_data_set_fill(g, fill);
    if (gl_grid_data_set_input_share(g, (float)input_share, msg, sizeof msg)) {
        cli_error("train: --input-share: %s", msg);
        goto end;
    }
    /* every layout's weights first, so that LAYOUT=W holds wherever it was given */
    for (int pass = 0; pass < 2; pass++)
        for (int k = 0; k < n_sw; k++) {
            if ((sw_kind[k] >= 0) != pass) continue;
            const char *layout = sw_kind[k] >= 0 ? gl_layout_kind_name((gl_layout_kind)sw_kind[k]) : NULL;
            if (gl_grid_data_set_subject_weight(g, layout, (float)sw_value[k], msg, sizeof msg)) {
                cli_error("train: --subject-weight: %s", msg);
                goto end;
            }
        }
    for (int k = 0; k < n_on; k++)
        if (gl_grid_data_set_offset_noise(g, gl_layout_kind_name((gl_layout_kind)on_kind[k]), on_value[k], msg,
                                          sizeof msg)) {
            cli_error("train: --offset-noise: %s", msg);
            goto end;
        }
    s.offset_noise_by_layout = n_on > 0;
    printf("train %s: base %s (frozen)", name, base);
    for (int k = 0; k < n_under; k++) printf(", %s %s (frozen)", fill && k == n_under - 1 ? "grid LoRA" : "adapter", under[k]);
    for (int k = 0; k < n_on; k++)
        printf("; offset noise %s=%g", gl_layout_kind_name((gl_layout_kind)on_kind[k]), on_value[k]);
    if (gl_lora_gain_count(l)) printf("; %d norm gains at %g x the learning rate", gl_lora_gain_count(l), gain_lr);
    printf("; %lld canvases of %lld frames of %lldx%lld\n", (long long)gl_grid_data_canvases(g),
           (long long)c->frames, (long long)(2 * c->cell_w), (long long)(2 * c->cell_h));
    s.t.frames = c->frames;
    s.t.height = 2 * c->cell_h;
    s.t.width = 2 * c->cell_w;
    double secs = 0;
    rc = cli_run_lora_stage(m, l, gl_grid_data_next, g, &s, steps, name, &secs);
end:
    gl_dit_detach_loras(m);
    gl_lora_free(&l);
    for (int k = 0; k < n_under; k++) gl_lora_free(&loras[k]);
    gl_grid_data_free(&g);
    gl_dit_free(&m);
    return rc;
}
