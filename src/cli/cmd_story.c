/* cli/cmd_story.c: `gridlora story`: a chain of zero-shot grids, one per shot, each
 * shot's output the next grid's context (pipeline/story.c). Parses, reads the input,
 * writes DIR's files; the chaining is the library's. */
#include <stdio.h>
#include <string.h>

#include "app_common.h"
#include "cli.h"
#include "gridlora/apps.h"
#include "gridlora/grid.h"
#include "gridlora/lora.h"
#include "gridlora/model.h"
#include "gridlora/video.h"
#include "train_common.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: gridlora story --input VIDEO --shot P [--shot P2 ...] --out DIR\n"
            "                      [--model BASE] [--lora FILE[:W] ...] [--caption TEXT] [--no-anchor]\n"
            "                      [--steps N] [--cfg S] [--context-cfg S] [--strength S] [--shift S]\n"
            "                      [--seed S] [--fps F] [--threads T]\n"
            "Zero-shot story, one sampling run per shot, no per-video training: a chain of 2x2 grids.\n"
            "Grid 1 holds the video in its top-left cell as clean context and generates shot 1 top right\n"
            "(the other cells look ahead to the next shots and are dropped). Each later grid keeps the\n"
            "video top left as identity context, puts the previous shot bottom left as context (its\n"
            "output exactly), and generates its shot top right. Grid k samples with seed S + k - 1.\n"
            "  --input VIDEO    any video FFmpeg reads; resampled to the model's frames and cell size\n"
            "  --shot P         one shot's prompt, words of the domain (\"a red star bouncing on snow\");\n"
            "                   repeat for each shot, in story order (1 to %d)\n"
            "  --model BASE     the base model, and --lora the Grid LoRA and Grid-Fill LoRA in order\n"
            "                   (default: the shipped model, models/default/{base,grid,gridfill}.safetensors)\n"
            "  --caption TEXT   words describing the input (optional)\n"
            "  --no-anchor      the previous shot is the only context (top left) from grid 2 on: a\n"
            "                   chain that may drift from the input, two look-ahead cells\n"
            "  --steps N, --cfg S, --shift S, --seed S  sampling (defaults 10, 1: no guidance, 8, 1)\n"
            "  --context-cfg S  guidance by the input cells (default 1: none; above 1 it overdraws:\n"
            "                   models/default/TRAINING.md, \"Guidance by the input cells\")\n"
            "  --strength S     the noise level the output cells start from, each from the video of\n"
            "                   an input cell (SDEdit; default 1: pure noise). Below 1 keeps more of\n"
            "                   the input's colours and draws less of a change (with fewer --steps:\n"
            "                   models/default/TRAINING.md, \"Starting from the input\")\n"
            "Writes DIR/shot1.mp4 .. DIR/shotN.mp4 (one per --shot), DIR/story.mp4 (the shots one after\n"
            "another), DIR/grid.mp4 and DIR/grid.gif (the grids one after another, each while its shot\n"
            "plays), and DIR/sheet.png (the input on top, then one row per shot); prints the timings.\n",
            GL_STORY_MAX_SHOTS);
}

/* Checks every prompt (length, markers) and grid layout before anything is loaded; a
 * bad prompt is named by its --shot. */
static int check_layouts(const char *cap, const char *const *shots, int n, int anchored) {
    gl_layout l;
    char msg[512];
    gl_layout_init(&l);
    if (gl_layout_set_cell(&l, 0, GL_CELL_INPUT, cap, msg, sizeof msg)) {
        cli_error("story: --caption: %s", msg);
        return CLI_USAGE;
    }
    for (int k = 0; k < n; k++)
        if (gl_layout_set_cell(&l, 1, GL_CELL_OUTPUT, shots[k], msg, sizeof msg)) {
            cli_error("story: --shot %d: %s", k + 1, msg);
            return CLI_USAGE;
        }
    for (int k = 0; k < n; k++) {
        int rc = anchored ? gl_layout_story_anchored(&l, cap, shots, n, k, msg, sizeof msg)
                          : gl_layout_story(&l, cap, shots, n, k, msg, sizeof msg);
        if (rc) {
            cli_error("story: %s", msg);
            return CLI_USAGE;
        }
    }
    return CLI_OK;
}

static int write_video(const cli_app *a, const char *name, const gl_video *v) {
    char path[4096], msg[1024];
    snprintf(path, sizeof path, "%s/%s", a->out, name);
    if (gl_video_write(path, v, (int)a->fps, msg, sizeof msg)) {
        cli_error("story: %s", msg);
        return CLI_FAIL;
    }
    return CLI_OK;
}

static int run_story(const cli_app *a, const char *cap, const char *const *shots, int n, int anchored) {
    double t0 = cli_now();
    gl_dit *m = NULL;
    gl_lora *loras[CLI_APP_MAX_LORAS] = {0};
    float w[CLI_APP_MAX_LORAS];
    gl_video in = {0}, story = {0}, grids = {0};
    char msg[1024] = "", name[64];
    int rc = CLI_FAIL;
    if (gl_dit_load(&m, a->model, msg, sizeof msg)) {
        cli_error("story: %s", msg);
        goto end;
    }
    if ((rc = cli_load_loras("story", m, a->loras, a->n_lora, 1, loras, w)) != CLI_OK) goto end;
    rc = CLI_FAIL;
    const gl_dit_config *c = gl_dit_cfg(m);
    gl_video_read_opts ro = gl_video_read_default_opts();
    ro.frames = c->frames;
    ro.height = c->cell_h;
    ro.width = c->cell_w;
    if (gl_video_read(a->inputs[0], &ro, &in, NULL, msg, sizeof msg)) {
        cli_error("story: %s", msg);
        goto end;
    }
    double t_read = cli_now() - t0;
    gl_app_timing tm;
    if (gl_app_story(m, &in, cap, shots, n, anchored, &a->so, &story, &grids, &tm, msg, sizeof msg)) {
        cli_error("%s", msg); /* "story: shot K: ..." */
        goto end;
    }
    double t1 = cli_now();
    if (cli_app_make_dir("story", a->out)) goto end;
    const int64_t F = c->frames, shot_n = F * c->cell_h * c->cell_w * 3;
    const gl_video *rows[GL_STORY_MAX_SHOTS + 1] = {&in};
    gl_video shot[GL_STORY_MAX_SHOTS];
    for (int k = 0; k < n; k++) { /* views into the story: no copies */
        shot[k] = (gl_video){F, c->cell_h, c->cell_w, story.rgb + k * shot_n};
        rows[k + 1] = &shot[k];
        snprintf(name, sizeof name, "shot%d.mp4", k + 1);
        if (write_video(a, name, &shot[k])) goto end;
        printf("wrote %s/%s (shot %d: \"%s\")\n", a->out, name, k + 1, shots[k]);
    }
    if (write_video(a, "story.mp4", &story) || write_video(a, "grid.mp4", &grids) ||
        write_video(a, "grid.gif", &grids))
        goto end;
    char path[4096];
    snprintf(path, sizeof path, "%s/sheet.png", a->out);
    if (gl_contact_sheet_write(path, rows, n + 1, 4, msg, sizeof msg)) {
        cli_error("story: %s", msg);
        goto end;
    }
    printf("wrote %s/story.mp4 (%d shot%s, %lld frames), %s/grid.mp4 and %s/grid.gif (the %d grid%s in "
           "order), and %s (the input on top, one row per shot)\n",
           a->out, n, n == 1 ? "" : "s", (long long)(n * F), a->out, a->out, n, n == 1 ? "" : "s", path);
    printf("story: %.2f s in all: loading and reading %.2f s, preparing %.2f s, sampling %.2f s (%d grid%s of %d "
           "steps, cfg %g, shift %g, strength %g), writing %.2f s\n",
           cli_now() - t0, t_read, tm.prepare, tm.sample, n, n == 1 ? "" : "s", a->so.steps, (double)a->so.cfg,
           (double)a->so.shift, (double)a->so.strength, cli_now() - t1);
    rc = CLI_OK;
end:
    gl_video_release(&in);
    gl_video_release(&story);
    gl_video_release(&grids);
    gl_dit_detach_loras(m);
    for (int i = 0; i < a->n_lora; i++) gl_lora_free(&loras[i]);
    gl_dit_free(&m);
    return rc;
}

int cmd_story(int argc, char **argv) {
    cli_app a;
    cli_app_init(&a, "story", 1);
    const char *shots[GL_STORY_MAX_SHOTS];
    int n = 0, anchored = 1;
    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i];
        if (!strcmp(opt, "--help") || !strcmp(opt, "-h")) {
            usage(stdout);
            return CLI_OK;
        }
        if (strncmp(opt, "--", 2) != 0) {
            cli_error("story: unexpected argument '%s'", opt);
            return CLI_USAGE;
        }
        int rc = cli_app_option(&a, argc, argv, &i);
        if (rc >= 0) {
            if (rc) return rc;
            continue;
        }
        if (!strcmp(opt, "--no-anchor")) {
            anchored = 0;
            continue;
        }
        if (strcmp(opt, "--shot") != 0) {
            cli_error("story: unknown option '%s' (try --help)", opt);
            return CLI_USAGE;
        }
        const char *val = cli_value("story", argc, argv, &i);
        if (!val) return CLI_USAGE;
        if (!*val) {
            cli_error("story: --shot: empty prompt");
            return CLI_USAGE;
        }
        if (n == GL_STORY_MAX_SHOTS) {
            cli_error("story: at most %d --shot", GL_STORY_MAX_SHOTS);
            return CLI_USAGE;
        }
        shots[n++] = val;
    }
    int rc = cli_app_check(&a, 1);
    if (rc) return rc;
    if (n == 0) {
        cli_error("story: --shot P is required (try --help)");
        return CLI_USAGE;
    }
    const char *cap = a.n_captions ? a.captions[0] : "";
    if ((rc = check_layouts(cap, shots, n, anchored))) return rc;
    return run_story(&a, cap, shots, n, anchored);
}
