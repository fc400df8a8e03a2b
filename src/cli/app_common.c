/* cli/app_common.c: the zero-shot commands' shared options, file handling and report;
 * the sampling is the library's (pipeline/apps.c). */
#define _POSIX_C_SOURCE 200809L /* mkdir, access */
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "app_common.h"
#include "cli.h"
#include "gridlora/apps.h"
#include "gridlora/core.h"
#include "gridlora/lora.h"
#include "gridlora/model.h"
#include "gridlora/video.h"
#include "train_common.h"

void cli_app_init(cli_app *a, const char *cmd, int max_inputs) {
    memset(a, 0, sizeof *a);
    a->cmd = cmd;
    a->max_inputs = max_inputs;
    a->so = gl_sample_default_opts();
    a->so.steps = GL_GRID_DEFAULT_STEPS;
    a->so.cfg = GL_GRID_DEFAULT_CFG;
    a->so.shift = GL_GRID_DEFAULT_SHIFT;
    a->fps = 8;
}

int cli_app_option(cli_app *a, int argc, char **argv, int *i) {
    static const char *const valued[] = {"--model", "--lora", "--input", "--caption", "--out", "--steps",
                                         "--cfg", "--context-cfg", "--strength", "--shift", "--seed", "--fps",
                                         "--threads"};
    const char *opt = argv[*i], *val;
    int known = 0;
    long v = 0;
    double d = 0;
    for (size_t k = 0; k < sizeof valued / sizeof valued[0]; k++) known |= !strcmp(opt, valued[k]);
    if (!known) return -1;
    if (!(val = cli_value(a->cmd, argc, argv, i))) return CLI_USAGE;
    if (!strcmp(opt, "--model") || !strcmp(opt, "--out") || !strcmp(opt, "--input") || !strcmp(opt, "--lora")) {
        if (!*val) {
            cli_error("%s: %s: empty value", a->cmd, opt);
            return CLI_USAGE;
        }
    }
    if (!strcmp(opt, "--model")) a->model = val;
    else if (!strcmp(opt, "--out")) a->out = val;
    else if (!strcmp(opt, "--lora")) {
        if (a->n_lora == CLI_APP_MAX_LORAS) {
            cli_error("%s: more than %d adapters", a->cmd, CLI_APP_MAX_LORAS);
            return CLI_USAGE;
        }
        a->loras[a->n_lora++] = val;
    } else if (!strcmp(opt, "--input")) {
        if (a->n_inputs == a->max_inputs) {
            cli_error("%s: at most %d --input", a->cmd, a->max_inputs);
            return CLI_USAGE;
        }
        a->inputs[a->n_inputs++] = val;
    } else if (!strcmp(opt, "--caption")) {
        if (a->n_captions == a->max_inputs) {
            cli_error("%s: at most %d --caption (one per input)", a->cmd, a->max_inputs);
            return CLI_USAGE;
        }
        a->captions[a->n_captions++] = val;
    } else if (!strcmp(opt, "--steps")) {
        if (cli_parse_long(a->cmd, opt, val, 1, 10000, &v)) return CLI_USAGE;
        a->so.steps = (int)v;
    } else if (!strcmp(opt, "--cfg")) {
        if (cli_parse_float(a->cmd, opt, val, 0, 100, 0, &d)) return CLI_USAGE;
        a->so.cfg = (float)d;
    } else if (!strcmp(opt, "--context-cfg")) {
        if (cli_parse_float(a->cmd, opt, val, 0, 100, 0, &d)) return CLI_USAGE;
        a->so.context_cfg = (float)d;
    } else if (!strcmp(opt, "--strength")) {
        if (cli_parse_float(a->cmd, opt, val, 0, 1, 1, &d)) return CLI_USAGE;
        a->so.strength = (float)d;
    } else if (!strcmp(opt, "--shift")) {
        if (cli_parse_float(a->cmd, opt, val, 0, 100, 1, &d)) return CLI_USAGE;
        a->so.shift = (float)d;
    } else if (!strcmp(opt, "--seed")) {
        if (cli_parse_long(a->cmd, opt, val, 0, 2147483647L, &v)) return CLI_USAGE;
        a->so.seed = (uint64_t)v;
    } else if (!strcmp(opt, "--fps")) {
        if (cli_parse_long(a->cmd, opt, val, 1, 240, &a->fps)) return CLI_USAGE;
    } else { /* --threads */
        if (cli_parse_long(a->cmd, opt, val, 1, 4096, &v)) return CLI_USAGE;
        gl_set_threads((int)v);
    }
    return CLI_OK;
}

int cli_use_shipped_base(const char *cmd, const char **model) {
    if (!*model) {
        *model = CLI_SHIPPED_BASE;
        if (access(*model, R_OK) != 0) {
            cli_error("%s: the shipped base model %s is missing (run from the source tree, or "
                      "scripts/train-default.sh trains it): give --model BASE", cmd, *model);
            return CLI_FAIL;
        }
    }
    return CLI_OK;
}

int cli_use_shipped(const char *cmd, const char **model, const char **loras, int *n_lora) {
    if (cli_use_shipped_base(cmd, model)) return CLI_FAIL;
    if (*n_lora == 0) {
        const char *shipped[2] = {CLI_SHIPPED_GRID, CLI_SHIPPED_GRIDFILL};
        for (int k = 0; k < 2; k++)
            if (access(shipped[k], R_OK) != 0) {
                cli_error("%s: the shipped model's LoRA stages are not trained yet (%s is missing; "
                          "scripts/train-default.sh trains them): give --lora GRID --lora GRIDFILL",
                          cmd, shipped[k]);
                return CLI_FAIL;
            }
        loras[0] = shipped[0];
        loras[1] = shipped[1];
        *n_lora = 2;
    }
    return CLI_OK;
}

int cli_app_check(cli_app *a, int inputs) {
    const char *missing = a->n_inputs < inputs ? "--input VIDEO" : !a->out ? "--out DIR" : NULL;
    if (missing) {
        cli_error("%s: %s is required%s (try --help)", a->cmd, missing, inputs > 1 && a->n_inputs < inputs ? " twice" : "");
        return CLI_USAGE;
    }
    if (cli_check_out_dir(a->cmd, a->out)) return CLI_FAIL;
    return cli_use_shipped(a->cmd, &a->model, a->loras, &a->n_lora);
}

int cli_make_dirs(const char *dir, char *msg, size_t msglen) {
    char path[4096];
    size_t n = strlen(dir);
    if (n == 0 || n >= sizeof path) {
        snprintf(msg, msglen, "%s directory name", n ? "too long a" : "an empty");
        return GL_EINVAL;
    }
    memcpy(path, dir, n + 1);
    /* Each prefix ending before a '/' in turn, then the whole: mkdir -p's order. */
    for (size_t i = 1; i <= n; i++) {
        if (i < n && (path[i] != '/' || path[i - 1] == '/')) continue;
        char keep = path[i];
        path[i] = '\0';
        struct stat st;
        int rc = GL_OK;
        if (stat(path, &st) == 0) {
            if (!S_ISDIR(st.st_mode)) {
                snprintf(msg, msglen, "%.900s exists and is not a directory", path);
                rc = GL_EIO;
            }
        } else if (mkdir(path, 0777) != 0 && errno != EEXIST) {
            snprintf(msg, msglen, "cannot create %.900s: %.100s", path, strerror(errno));
            rc = GL_EIO;
        }
        path[i] = keep;
        if (rc) return rc;
    }
    return GL_OK;
}

/* dir into path[OUT_PATH_MAX] for dirname(), which writes into it: CLI_OK, or CLI_FAIL
 * after a message for an empty or too long a name. */
#define OUT_PATH_MAX 4096
static int copy_out_path(const char *cmd, const char *dir, char *path) {
    size_t n = strlen(dir);
    if (n == 0 || n >= OUT_PATH_MAX) {
        cli_error("%s: --out: %s directory name", cmd, n ? "too long a" : "an empty");
        return CLI_FAIL;
    }
    memcpy(path, dir, n + 1);
    return CLI_OK;
}

int cli_check_out_dir(const char *cmd, const char *dir) {
    char path[OUT_PATH_MAX];
    if (copy_out_path(cmd, dir, path)) return CLI_FAIL;
    /* The nearest existing ancestor (or dir itself) decides: mkdir -p will start there. */
    struct stat st;
    while (stat(path, &st) != 0) {
        int err = errno;
        char tried[sizeof path];
        memcpy(tried, path, strlen(path) + 1);
        const char *parent = dirname(path); /* writes into path or returns static storage */
        if ((err != ENOENT && err != ENOTDIR) || !strcmp(parent, tried)) { /* "." or "/" gone */
            cli_error("%s: --out: %s: %s", cmd, tried, strerror(err));
            return CLI_FAIL;
        }
        memmove(path, parent, strlen(parent) + 1);
    }
    if (!S_ISDIR(st.st_mode)) {
        cli_error("%s: --out: %s exists and is not a directory", cmd, path);
        return CLI_FAIL;
    }
    if (access(path, W_OK | X_OK) != 0) {
        cli_error("%s: --out: cannot write into %s: %s", cmd, path, strerror(errno));
        return CLI_FAIL;
    }
    return CLI_OK;
}

int cli_app_make_dir(const char *cmd, const char *dir) {
    char msg[1100];
    if (cli_make_dirs(dir, msg, sizeof msg) != GL_OK) {
        cli_error("%s: --out: %s", cmd, msg);
        return CLI_FAIL;
    }
    return CLI_OK;
}

int cli_make_parent_dirs(const char *cmd, const char *path) {
    char copy[OUT_PATH_MAX];
    if (copy_out_path(cmd, path, copy)) return CLI_FAIL;
    return cli_app_make_dir(cmd, dirname(copy)); /* "." or "/" when PATH has no parent */
}

int cli_app_run(const cli_app *a, const gl_layout *l, const char *const names[GL_GRID_CELLS]) {
    double t0 = cli_now();
    gl_dit *m = NULL;
    gl_lora *loras[CLI_APP_MAX_LORAS] = {0};
    float w[CLI_APP_MAX_LORAS];
    gl_video in[2] = {{0}}, canvas = {0}, cells[GL_GRID_CELLS] = {{0}};
    char msg[1024] = "", path[4096];
    int rc = CLI_FAIL, split = 0;
    if (gl_dit_load(&m, a->model, msg, sizeof msg)) {
        cli_error("%s: %s", a->cmd, msg);
        goto end;
    }
    if ((rc = cli_load_loras(a->cmd, m, a->loras, a->n_lora, 1, loras, w)) != CLI_OK) goto end;
    rc = CLI_FAIL;
    const gl_dit_config *c = gl_dit_cfg(m);
    gl_video_read_opts ro = gl_video_read_default_opts();
    ro.frames = c->frames;
    ro.height = c->cell_h;
    ro.width = c->cell_w;
    const gl_video *inputs[GL_GRID_CELLS] = {NULL, NULL, NULL, NULL};
    int k = 0;
    for (int cc = 0; cc < GL_GRID_CELLS; cc++) {
        if (l->cell[cc].role != GL_CELL_INPUT) continue;
        if (k >= a->n_inputs) {
            cli_error("%s: the layout has more input cells than --input videos", a->cmd);
            goto end;
        }
        if (gl_video_read(a->inputs[k], &ro, &in[k], NULL, msg, sizeof msg)) {
            cli_error("%s: %s", a->cmd, msg);
            goto end;
        }
        inputs[cc] = &in[k++];
    }
    double t_read = cli_now() - t0;
    gl_app_timing tm;
    if (gl_app_run(m, l, inputs, &a->so, &canvas, &tm, msg, sizeof msg)) {
        cli_error("%s: %s", a->cmd, msg);
        goto end;
    }
    double t1 = cli_now();
    if (cli_app_make_dir(a->cmd, a->out) || gl_grid_split(cells, &canvas, msg, sizeof msg) != GL_OK) {
        if (msg[0]) cli_error("%s: %s", a->cmd, msg);
        goto end;
    }
    split = 1;
    const char *grid_files[2] = {"grid.mp4", "grid.gif"};
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/%s", a->out, grid_files[i]);
        if (gl_video_write(path, &canvas, (int)a->fps, msg, sizeof msg)) {
            cli_error("%s: %s", a->cmd, msg);
            goto end;
        }
    }
    const gl_video *rows[GL_GRID_CELLS];
    int nrows = 0, n_out = 0;
    for (int cc = 0; cc < GL_GRID_CELLS; cc++) /* the sheet: input rows first */
        if (inputs[cc]) rows[nrows++] = &cells[cc];
    for (int cc = 0; cc < GL_GRID_CELLS; cc++) {
        if (inputs[cc]) continue;
        rows[nrows++] = &cells[cc];
        for (int j = 0; j < 2; j++) {
            if (j == 1 && (!names || !names[cc])) continue;
            if (j) snprintf(path, sizeof path, "%s/%s.mp4", a->out, names[cc]);
            else snprintf(path, sizeof path, "%s/cell%d.mp4", a->out, cc);
            if (gl_video_write(path, &cells[cc], (int)a->fps, msg, sizeof msg)) {
                cli_error("%s: %s", a->cmd, msg);
                goto end;
            }
            printf("wrote %s (cell %d: \"%s\")\n", path, cc, l->cell[cc].prompt);
        }
        n_out++;
    }
    snprintf(path, sizeof path, "%s/sheet.png", a->out);
    if (gl_contact_sheet_write(path, rows, nrows, 4, msg, sizeof msg)) {
        cli_error("%s: %s", a->cmd, msg);
        goto end;
    }
    printf("wrote %s/grid.mp4, %s/grid.gif and %s (%d input row%s on top, %d output rows)\n", a->out, a->out, path,
           nrows - n_out, nrows - n_out == 1 ? "" : "s", n_out);
    printf("%s: %.2f s in all: loading and reading %.2f s, preparing %.2f s, sampling %.2f s (%d steps, cfg %g, "
           "shift %g, strength %g), writing %.2f s\n", a->cmd, cli_now() - t0, t_read, tm.prepare, tm.sample,
           a->so.steps, (double)a->so.cfg, (double)a->so.shift, (double)a->so.strength, cli_now() - t1);
    rc = CLI_OK;
end:
    for (int i = 0; i < 2; i++) gl_video_release(&in[i]);
    if (split)
        for (int i = 0; i < GL_GRID_CELLS; i++) gl_video_release(&cells[i]);
    gl_video_release(&canvas);
    gl_dit_detach_loras(m);
    for (int i = 0; i < a->n_lora; i++) gl_lora_free(&loras[i]);
    gl_dit_free(&m);
    return rc;
}
