/* cli/cmd_train.c: `gridlora train STAGE`: parse the options, make the model and the data
 * source (pipeline/data.c), report progress, hand the loop to gl_train_run
 * (pipeline/train.c), save the weights, draw the loss curve with gnuplot. The training
 * itself is the library's; this file only wires it up. */
#define _POSIX_C_SOURCE 200809L /* clock_gettime, fork, isatty, pipe */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "gridlora/core.h"
#include "gridlora/data.h"
#include "gridlora/dist.h"
#include "gridlora/model.h"
#include "gridlora/safetensors.h"
#include "gridlora/train.h"
#include "train_common.h"

#define STAGES "base, multidc, grid, gridfill"

static void usage(FILE *f) {
    fprintf(f,
            "usage: gridlora train base (--preset tiny|default | --config FILE.json | --init FILE)\n"
            "                           (--procedural | --data DIR) --steps N --out FILE.safetensors\n"
            "                           [--batch B] [--seed S] [--lr X] [--warmup N] [--ema D]\n"
            "                           [--log FILE.csv] [--checkpoint FILE] [--checkpoint-every K]\n"
            "                           [--resume] [--stop-after N] [--plot FILE.png] [--dtype f32|f16|bf16]\n"
            "                           [--subject-weight W] [--predict v|x0] [--text-pool 0|1]\n"
            "                           [--abs-pos 0|1] [--upright] [--subject-scale K]\n"
            "                           [--concept-pool N [--pool-seed S] [--pool-share F]] [--threads T]\n"
            "Trains the base video model from scratch by rectified flow (stages: " STAGES ";\n"
            "'gridlora train multidc|grid|gridfill --help' describe the LoRA stages).\n"
            "  --preset/--config  the model's configuration (stored in the weights); --config\n"
            "                     reads the JSON gl_dit_config_to_json writes; 'default' is the\n"
            "                     shipped base's (text_pool 1, abs_pos 1 since 2026-12-04)\n"
            "  --init FILE        start from these weights (and their configuration) instead\n"
            "                     of random ones: to go on training a model (the optimiser\n"
            "                     starts afresh; --resume continues a run exactly); from a\n"
            "                     checkpoint, its EMA weights when its run kept one\n"
            "  --t-mu M, --t-sigma S  timesteps logit-normal(M, S) (default 0, 1); M > 0 trains\n"
            "                     more at high noise, where sampling starts\n"
            "  --offset-noise G   add to each sample's noise one constant per channel, drawn with\n"
            "                     std G (default 0: none), so that its mean colour is not read off\n"
            "                     the noised video but from the caption; resume with the same G\n"
            "  --colour-weight W  add W x the squared error of each frame's mean colour (per\n"
            "                     channel, weighed as the loss) to the loss (default 0); the\n"
            "                     logged loss includes it; resume with the same W\n"
            "  --procedural       fresh train-split concepts rendered on the fly, every variant\n"
            "  --subject-weight W with --procedural: a pixel's loss weight is 1 + W x the share\n"
            "                     of it a subject covers (default 0); the subjects, a small part\n"
            "                     of each frame, then count for more than their area\n"
            "  --predict v|x0     what the last layer predicts: the velocity (default) or the\n"
            "                     clean video, turned into the velocity inside the model (the\n"
            "                     configuration's predict_x0); with --init, a change of it starts\n"
            "                     the final projection (final.linear) at zero, the rest as given\n"
            "  --text-pool 0|1    1: the caption's mean (over the text tokens a video token may\n"
            "                     attend) also drives every block's AdaLN (the configuration's\n"
            "                     text_pool); with --init it adds that path at zero, so the\n"
            "                     model starts as it was\n"
            "  --abs-pos 0|1      1: each video token's (frame, row, column) place in its cell\n"
            "                     is added to its patch embedding as fixed sines (the\n"
            "                     configuration's abs_pos; RoPE alone gives only distances);\n"
            "                     no weights, so with --init the model must adapt to it\n"
            "  --upright          with --procedural: every subject unrotated and not spinning, so\n"
            "                     a shape word always means one outline (a curriculum's start)\n"
            "  --subject-scale K  with --procedural: every subject K times its domain size\n"
            "                     (0.5-1.5, default 1), its path drawn again to stay in frame\n"
            "  --concept-pool N   with --procedural: every sample one of N fixed concepts (seeds\n"
            "                     S..S+N-1 of --pool-seed S, default 12345) in a shape drawn per\n"
            "                     sample, so the shape word is what differs between samples of\n"
            "                     a concept (a curriculum's start; default: fresh concepts)\n"
            "  --pool-share F     with --concept-pool: each sample from the pool with probability\n"
            "                     F (0-1, default 1), else a fresh concept in its own shape (a\n"
            "                     curriculum's widening, the pool keeping the shape word)\n"
            "  --data DIR         a data set written by 'gridlora dataset' (all videos preloaded)\n"
            "  --steps N          optimiser steps; --batch B samples each (default 4)\n"
            "  --seed S           weights and every step's randomness (default 1)\n"
            "  --lr X             peak learning rate (default 3e-4), cosine to 10%% after\n"
            "  --warmup N         linear warm-up steps (default 100, or steps/10 when smaller)\n"
            "  --ema D            keep an EMA of the weights with decay D; OUT gets the EMA\n"
            "  --log FILE.csv     step,loss,lr,grad_norm,seconds per step\n"
            "  --checkpoint FILE  resumable state (weights, AdamW moments, EMA); default with\n"
            "                     --checkpoint-every or --resume: OUT's name with\n"
            "                     .ckpt.safetensors in place of .safetensors\n"
            "  --checkpoint-every K  write it every K steps (and at the end)\n"
            "  --resume           continue from the checkpoint when it exists (same --seed)\n"
            "  --stop-after N     stop after step N of the --steps schedule with a checkpoint\n"
            "                     and no OUT (a long run in parts: --resume goes on exactly)\n"
            "  --plot FILE.png    the loss curve from --log, drawn by gnuplot at the end\n"
            "  --dtype            how OUT stores the weights (default f32)\n"
            "  --threads T        threads (default GRIDLORA_THREADS, else all cores)\n"
            "Under 'mpirun -np K gridlora train ...' K processes share every batch (B must be a\n"
            "multiple of K) and rank 0 writes the outputs; every stage and finetune run so.\n"
            "Progress goes to stderr: one updating line on a terminal, else a line every\n"
            "10 s or 5%% of the run.\n");
}

/* ---- gnuplot ---------------------------------------------------------------------- */

/* 1 when an executable `name` is on PATH. */
static int on_path(const char *name) {
    const char *path = getenv("PATH");
    if (!path) return 0;
    char buf[4096];
    for (const char *p = path;;) {
        const char *e = strchr(p, ':');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len + strlen(name) + 2 < sizeof buf) {
            if (len == 0) snprintf(buf, sizeof buf, "./%s", name);
            else snprintf(buf, sizeof buf, "%.*s/%s", (int)len, p, name);
            if (access(buf, X_OK) == 0) return 1;
        }
        if (!e) return 0;
        p = e + 1;
    }
}

/* s as a gnuplot single-quoted string (a quote doubled), malloc'd; NULL without memory. */
static char *gp_quote(const char *s) {
    size_t n = 3;
    for (const char *p = s; *p; p++) n += *p == '\'' ? 2 : 1;
    char *q = malloc(n), *k = q;
    if (!q) return NULL;
    *k++ = '\'';
    for (; *s; s++) {
        if (*s == '\'') *k++ = '\'';
        *k++ = *s;
    }
    *k++ = '\'';
    *k = 0;
    return q;
}

/* Feeds the script to gnuplot on its stdin; gnuplot's last error line goes into msg. */
static int run_gnuplot(const char *script, const char *csv, const char *png, const char *shown, char *msg,
                       size_t msglen) {
    int in[2], err[2];
    struct sigaction ign = {.sa_handler = SIG_IGN}, old;
    if (pipe(in)) goto fail_sys;
    if (pipe(err)) {
        close(in[0]);
        close(in[1]);
        goto fail_sys;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        close(in[0]); close(in[1]); close(err[0]); close(err[1]);
        goto fail_sys;
    }
    if (pid == 0) {
        /* stdout to /dev/null: a gnuplot that cannot open its output draws the PNG there */
        int null = open("/dev/null", O_WRONLY);
        dup2(in[0], 0);
        if (null >= 0) dup2(null, 1);
        dup2(err[1], 2);
        if (null > 2) close(null);
        close(in[0]); close(in[1]); close(err[0]); close(err[1]);
        execlp("gnuplot", "gnuplot", (char *)NULL);
        _exit(127);
    }
    close(in[0]);
    close(err[1]);
    sigemptyset(&ign.sa_mask);
    sigaction(SIGPIPE, &ign, &old); /* a gnuplot that dies early must not take us along */
    size_t len = strlen(script);
    const char *s = script;
    while (len) { /* the script is far below a pipe's buffer */
        ssize_t k = write(in[1], s, len);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) break;
        s += k;
        len -= (size_t)k;
    }
    close(in[1]);
    sigaction(SIGPIPE, &old, NULL);
    char out[2048];
    size_t got = 0;
    for (;;) {
        ssize_t k = read(err[0], out + got, sizeof out - 1 - got);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) break;
        got += (size_t)k;
        if (got == sizeof out - 1) { /* keep the start, drain the rest */
            char sink[512];
            while (read(err[0], sink, sizeof sink) > 0) {}
            break;
        }
    }
    out[got] = 0;
    close(err[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && access(png, F_OK) == 0) return GL_OK;
    /* gnuplot's last non-empty line names the problem */
    char *reason = NULL;
    for (char *t = strtok(out, "\n"); t; t = strtok(NULL, "\n"))
        if (strspn(t, " \t^") != strlen(t)) reason = t;
    snprintf(msg, msglen, "gnuplot could not draw %s from %s%s%s", shown, csv, reason ? ": " : "",
             reason ? reason + strspn(reason, " \t") : "");
    return GL_EIO;
fail_sys:
    snprintf(msg, msglen, "cannot run gnuplot: %s", strerror(errno));
    return GL_EIO;
}

/* Draws the loss column of the CSV log into a PNG: gnuplot writes PNG.tmp, renamed into
 * place when it succeeded (no half-drawn PNG is left). */
static int plot_loss(const char *csv, const char *png, int64_t steps, char *msg, size_t msglen) {
    static const char fmt[] =
        "set terminal pngcairo size 1000,560\n"
        "set output %s\n"
        "set datafile separator ','\n"
        "set title 'gridlora train: loss'\n"
        "set xlabel 'step'\nset ylabel 'loss (log scale)'\n"
        "set logscale y\nset grid\nset key top right\n"
        "a = %.6f\n"
        "ema(x) = (e = (first ? x : a*e + (1-a)*x), first = 0, e)\n"
        "plot first = 1, e = 0, %s every ::1 using 1:2 with lines lc rgb '#9ecae1' title 'loss', "
        "%s every ::1 using 1:(ema($2)) with lines lw 2 lc rgb '#08519c' title 'moving average'\n";
    /* an exponential moving average over about 2% of the run shows the trend */
    double w = steps / 50.0 < 5 ? 5 : (double)steps / 50.0;
    size_t tlen = strlen(png) + sizeof ".tmp";
    char *tmp = malloc(tlen);
    if (!tmp) {
        snprintf(msg, msglen, "out of memory");
        return GL_ENOMEM;
    }
    snprintf(tmp, tlen, "%s.tmp", png);
    char *qcsv = gp_quote(csv), *qpng = gp_quote(tmp), *script = NULL;
    int len0 = qcsv && qpng ? snprintf(NULL, 0, fmt, qpng, 1.0 - 1.0 / w, qcsv, qcsv) : -1;
    if (len0 > 0 && (script = malloc((size_t)len0 + 1)))
        snprintf(script, (size_t)len0 + 1, fmt, qpng, 1.0 - 1.0 / w, qcsv, qcsv);
    free(qcsv);
    free(qpng);
    int rc = script ? run_gnuplot(script, csv, tmp, png, msg, msglen) : GL_ENOMEM;
    if (rc == GL_ENOMEM) snprintf(msg, msglen, "out of memory");
    if (rc == GL_OK && rename(tmp, png) != 0) {
        snprintf(msg, msglen, "cannot rename %s to %s: %s", tmp, png, strerror(errno));
        rc = GL_EIO;
    }
    if (rc) remove(tmp);
    free(script);
    free(tmp);
    return rc;
}

/* ---- options -------------------------------------------------------------------------- */

/* The whole of a small text file (malloc'd), or NULL with errno / a reason in why. */
static char *read_text(const char *path, const char **why) {
    FILE *f = fopen(path, "rb");
    *why = NULL;
    if (!f) return NULL;
    size_t cap = 1 << 20, n = 0; /* a configuration is a few hundred bytes */
    char *buf = malloc(cap + 1);
    if (buf) n = fread(buf, 1, cap + 1, f);
    int bad = !buf || ferror(f);
    fclose(f);
    if (bad || n > cap) {
        *why = bad ? "cannot read it" : "larger than 1 MiB: not a configuration";
        free(buf);
        return NULL;
    }
    buf[n] = 0;
    return buf;
}

#define DEFAULT_POOL_SEED 12345L /* tools/shape_set's first concept */

typedef struct opts {
    const char *preset, *config, *init, *data, *out, *log, *checkpoint, *plot;
    int procedural, resume, dtype, have_steps, have_warmup, upright;
    int predict_x0, text_pool, abs_pos; /* -1: as the configuration says */
    float subject_weight;
    double subject_scale; /* 0: not given */
    int64_t pool;         /* --concept-pool; 0: fresh concepts */
    long pool_seed;
    int have_pool_seed;
    double pool_share; /* --pool-share; 0: not given */
    int64_t stop_after; /* 0: run the schedule to its end */
    gl_train_opts t;
} opts;

static int parse(opts *o, int argc, char **argv) {
    for (int i = 2; i < argc; i++) {
        const char *opt = argv[i], *val = NULL;
        long v = 0;
        double d = 0;
        if (!strcmp(opt, "--help") || !strcmp(opt, "-h")) {
            usage(stdout);
            return -1;
        }
        if (!strcmp(opt, "--procedural")) {
            o->procedural = 1;
            continue;
        }
        if (!strcmp(opt, "--resume")) {
            o->resume = 1;
            continue;
        }
        if (!strcmp(opt, "--upright")) {
            o->upright = 1;
            continue;
        }
        if (strncmp(opt, "--", 2) != 0) {
            cli_error("train: unexpected argument '%s'", opt);
            return CLI_USAGE;
        }
        static const char *const valued[] = {"--preset", "--config", "--init", "--data", "--steps", "--batch",
                                             "--seed", "--out", "--lr", "--warmup", "--ema", "--log",
                                             "--checkpoint", "--checkpoint-every", "--plot", "--dtype",
                                             "--threads", "--t-mu", "--t-sigma", "--offset-noise",
                                             "--colour-weight", "--stop-after",
                                             "--subject-weight", "--predict", "--text-pool",
                                             "--subject-scale", "--abs-pos", "--concept-pool",
                                             "--pool-seed", "--pool-share"};
        int known = 0;
        for (size_t k = 0; k < sizeof valued / sizeof valued[0]; k++) known |= !strcmp(opt, valued[k]);
        if (!known) {
            cli_error("train: unknown option '%s' (try --help)", opt);
            return CLI_USAGE;
        }
        if (!(val = cli_value("train", argc, argv, &i))) return CLI_USAGE;
        if (!strcmp(opt, "--preset") || !strcmp(opt, "--config") || !strcmp(opt, "--init") || !strcmp(opt, "--data") ||
            !strcmp(opt, "--out") || !strcmp(opt, "--log") || !strcmp(opt, "--checkpoint") ||
            !strcmp(opt, "--plot")) {
            if (!*val || strchr(val, '\n')) {
                cli_error("train: %s: empty path or one holding a newline", opt);
                return CLI_USAGE;
            }
        }
        int rc = cli_schedule_option("train", opt, val, &o->t);
        if (rc >= 0) {
            if (rc) return rc;
            continue;
        }
        if (!strcmp(opt, "--preset")) {
            gl_dit_config c;
            if (gl_dit_config_preset(val, &c)) {
                cli_error("train: --preset: unknown preset '%s' (presets: tiny, default)", val);
                return CLI_USAGE;
            }
            o->preset = val;
        } else if (!strcmp(opt, "--config")) {
            o->config = val;
        } else if (!strcmp(opt, "--init")) {
            o->init = val;
        } else if (!strcmp(opt, "--predict")) {
            if (strcmp(val, "v") && strcmp(val, "x0")) {
                cli_error("train: --predict: '%s' is not v or x0", val);
                return CLI_USAGE;
            }
            o->predict_x0 = !strcmp(val, "x0");
        } else if (!strcmp(opt, "--text-pool")) {
            if (strcmp(val, "0") && strcmp(val, "1")) {
                cli_error("train: --text-pool: '%s' is not 0 or 1", val);
                return CLI_USAGE;
            }
            o->text_pool = val[0] - '0';
        } else if (!strcmp(opt, "--abs-pos")) {
            if (strcmp(val, "0") && strcmp(val, "1")) {
                cli_error("train: --abs-pos: '%s' is not 0 or 1", val);
                return CLI_USAGE;
            }
            o->abs_pos = val[0] - '0';
        } else if (!strcmp(opt, "--subject-weight")) {
            if (cli_parse_float("train", opt, val, 0, 1000, 0, &d)) return CLI_USAGE;
            o->subject_weight = (float)d;
        } else if (!strcmp(opt, "--subject-scale")) {
            if (cli_parse_float("train", opt, val, GL_DATA_SCALE_MIN, GL_DATA_SCALE_MAX, 0, &d)) return CLI_USAGE;
            o->subject_scale = d;
        } else if (!strcmp(opt, "--concept-pool")) {
            if (cli_parse_long("train", opt, val, 1, GL_DATA_POOL_MAX, &v)) return CLI_USAGE;
            o->pool = v;
        } else if (!strcmp(opt, "--pool-seed")) {
            if (cli_parse_long("train", opt, val, 0, 2147483647L, &v)) return CLI_USAGE;
            o->pool_seed = v;
            o->have_pool_seed = 1;
        } else if (!strcmp(opt, "--pool-share")) {
            if (cli_parse_float("train", opt, val, 0, 1, 1, &d)) return CLI_USAGE;
            o->pool_share = d;
        } else if (!strcmp(opt, "--data")) {
            o->data = val;
        } else if (!strcmp(opt, "--out")) {
            o->out = val;
        } else if (!strcmp(opt, "--log")) {
            o->log = val;
        } else if (!strcmp(opt, "--checkpoint")) {
            o->checkpoint = val;
        } else if (!strcmp(opt, "--plot")) {
            o->plot = val;
        } else if (!strcmp(opt, "--steps")) {
            if (cli_parse_long("train", opt, val, 1, 1000000000L, &v)) return CLI_USAGE;
            o->t.steps = v;
            o->have_steps = 1;
        } else if (!strcmp(opt, "--batch")) {
            if (cli_parse_long("train", opt, val, 1, 4096, &v)) return CLI_USAGE;
            o->t.batch = v;
        } else if (!strcmp(opt, "--seed")) {
            if (cli_parse_long("train", opt, val, 0, 2147483647L, &v)) return CLI_USAGE;
            o->t.seed = (uint64_t)v;
        } else if (!strcmp(opt, "--warmup")) {
            if (cli_parse_long("train", opt, val, 0, 1000000000L, &v)) return CLI_USAGE;
            o->t.warmup = v;
            o->have_warmup = 1;
        } else if (!strcmp(opt, "--checkpoint-every")) {
            if (cli_parse_long("train", opt, val, 1, 1000000000L, &v)) return CLI_USAGE;
            o->t.checkpoint_every = v;
        } else if (!strcmp(opt, "--stop-after")) {
            if (cli_parse_long("train", opt, val, 1, 1000000000L, &v)) return CLI_USAGE;
            o->stop_after = v;
        } else if (!strcmp(opt, "--threads")) {
            if (cli_parse_long("train", opt, val, 1, 4096, &v)) return CLI_USAGE;
            gl_set_threads((int)v);
        } else if (!strcmp(opt, "--lr")) {
            if (cli_parse_float("train", opt, val, 0, 1, 1, &d)) return CLI_USAGE;
            o->t.lr = (float)d;
        } else { /* --dtype */
            if (!strcmp(val, "f32")) o->dtype = GL_ST_F32;
            else if (!strcmp(val, "f16")) o->dtype = GL_ST_F16;
            else if (!strcmp(val, "bf16")) o->dtype = GL_ST_BF16;
            else {
                cli_error("train: --dtype: '%s' is not f32, f16 or bf16", val);
                return CLI_USAGE;
            }
        }
    }
    if (!!o->preset + !!o->config + !!o->init != 1) {
        cli_error("train: %s (try --help)", o->preset || o->config || o->init
                                                ? "give one of --preset, --config and --init"
                                                : "--preset NAME, --config FILE.json or --init FILE is required");
        return CLI_USAGE;
    }
    if (!!o->procedural + !!o->data != 1) {
        cli_error("train: %s (try --help)", o->procedural ? "give --procedural or --data, not both"
                                                          : "--procedural or --data DIR is required");
        return CLI_USAGE;
    }
    if (o->upright && !o->procedural) {
        cli_error("train: --upright needs --procedural (a data set on disk is rendered already)");
        return CLI_USAGE;
    }
    if (o->subject_scale > 0 && !o->procedural) {
        cli_error("train: --subject-scale needs --procedural (a data set on disk is rendered already)");
        return CLI_USAGE;
    }
    if (o->pool > 0 && !o->procedural) {
        cli_error("train: --concept-pool needs --procedural (a data set on disk holds its own concepts)");
        return CLI_USAGE;
    }
    if (o->have_pool_seed && o->pool == 0) {
        cli_error("train: --pool-seed needs --concept-pool");
        return CLI_USAGE;
    }
    if (o->pool_share > 0 && o->pool == 0) {
        cli_error("train: --pool-share needs --concept-pool");
        return CLI_USAGE;
    }
    if (!o->have_pool_seed) o->pool_seed = DEFAULT_POOL_SEED;
    if (o->subject_weight > 0 && !o->procedural) {
        cli_error("train: --subject-weight needs --procedural (a data set on disk holds no subject coverage)");
        return CLI_USAGE;
    }
    if (!o->have_steps || !o->out) {
        cli_error("train: %s is required (try --help)", !o->have_steps ? "--steps N" : "--out FILE");
        return CLI_USAGE;
    }
    if (o->checkpoint && !strcmp(o->checkpoint, o->out)) {
        cli_error("train: --checkpoint must differ from --out (the checkpoint also holds the optimiser state)");
        return CLI_USAGE;
    }
    if (o->plot && !o->log) {
        cli_error("train: --plot draws the --log file: give --log FILE.csv too");
        return CLI_USAGE;
    }
    if (o->stop_after >= o->t.steps) {
        cli_error("train: --stop-after %lld is not before the last step (%lld): leave it out to finish the run",
                  (long long)o->stop_after, (long long)o->t.steps);
        return CLI_USAGE;
    }
    if (o->have_warmup && o->t.warmup > o->t.steps) {
        cli_error("train: --warmup %lld is longer than --steps %lld", (long long)o->t.warmup, (long long)o->t.steps);
        return CLI_USAGE;
    }
    return CLI_OK;
}

/* *m made again with the configuration want (which differs in its flags only): every
 * tensor both have keeps its weights, a new one (text_pool's) starts at zero, and the
 * final projection restarts at zero when the prediction target changed. */
static int reshape_model(gl_dit **m, const gl_dit_config *want, char *msg, size_t msglen) {
    gl_dit *n = NULL;
    int rc = gl_dit_new(&n, want, msg, msglen); /* every tensor zeroed */
    if (rc) return rc;
    const int restart_head = want->predict_x0 != gl_dit_cfg(*m)->predict_x0;
    gl_params *from = gl_dit_params(*m), *into = gl_dit_params(n);
    for (int i = 0; i < gl_params_count(into); i++) {
        const char *name = gl_params_name(into, i);
        int j = gl_params_find(from, name);
        if (j < 0 || (restart_head && strncmp(name, "final.linear.", 13) == 0)) continue;
        gl_tensor a = gl_params_tensor(from, j), b = gl_params_tensor(into, i);
        memcpy(b.data, a.data, (size_t)gl_tensor_numel(&b) * sizeof(float));
    }
    gl_dit_free(m);
    *m = n;
    return GL_OK;
}

/* The configuration flags given on the command line (-1: not given) set in c. */
static void override_flags(const opts *o, gl_dit_config *c) {
    if (o->predict_x0 >= 0) c->predict_x0 = o->predict_x0;
    if (o->text_pool >= 0) c->text_pool = o->text_pool;
    if (o->abs_pos >= 0) c->abs_pos = o->abs_pos;
}

int cmd_train(int argc, char **argv) {
    if (argc < 2) {
        cli_error("train: which stage? 'gridlora train STAGE ...' (stages: " STAGES "; try --help)");
        return CLI_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(stdout);
        return CLI_OK;
    }
    if (!strncmp(argv[1], "--", 2)) {
        cli_error("train: the stage comes first: 'gridlora train STAGE ...' (stages: " STAGES ")");
        return CLI_USAGE;
    }
    if (!strcmp(argv[1], "multidc")) return cmd_train_multidc(argc, argv);
    if (!strcmp(argv[1], "grid") || !strcmp(argv[1], "gridfill")) return cmd_train_grid(argc, argv);
    if (strcmp(argv[1], "base") != 0) {
        cli_error("train: unknown stage '%s' (stages: " STAGES ")", argv[1]);
        return CLI_USAGE;
    }
    opts o = {.dtype = GL_ST_F32, .predict_x0 = -1, .text_pool = -1, .abs_pos = -1, .t = gl_train_default_opts()};
    int rc = parse(&o, argc, argv);
    if (rc) return rc < 0 ? CLI_OK : rc;
    if (!o.have_warmup && o.t.warmup > o.t.steps / 10) o.t.warmup = o.t.steps / 10;
    if (o.plot && !on_path("gnuplot")) {
        cli_error("train: --plot needs the gnuplot program (Debian package gnuplot-nox); it is not on PATH");
        return CLI_FAIL;
    }
    if (cli_check_writable("train", "--out", o.out) || (o.log && cli_check_writable("train", "--log", o.log)) ||
        (o.plot && cli_check_writable("train", "--plot", o.plot)) || (o.checkpoint && cli_check_writable("train", "--checkpoint", o.checkpoint)))
        return CLI_FAIL;

    gl_dit_config cfg;
    gl_dit *m = NULL;
    gl_data *data = NULL;
    char *ckpt_own = NULL, msg[1024] = "";
    int remove_ckpt = 0;
    rc = CLI_FAIL;
    if (o.config) {
        const char *why = NULL;
        char *text = read_text(o.config, &why);
        if (!text) {
            cli_error("train: %s: %s", o.config, why ? why : strerror(errno));
            goto end;
        }
        int bad = gl_dit_config_from_json(text, &cfg, msg, sizeof msg);
        free(text);
        if (bad) {
            cli_error("train: %s: %s", o.config, msg);
            goto end;
        }
    } else if (o.preset) {
        gl_dit_config_preset(o.preset, &cfg);
    }
    override_flags(&o, &cfg);
    if (o.init) { /* weights (and so the configuration) from a file: training goes on from them */
        if (gl_dit_load(&m, o.init, msg, sizeof msg)) {
            cli_error("train: --init: %s", msg);
            goto end;
        }
        cfg = *gl_dit_cfg(m);
        gl_dit_config want = cfg;
        override_flags(&o, &want);
        if (memcmp(&want, &cfg, sizeof cfg) != 0) {
            if (reshape_model(&m, &want, msg, sizeof msg)) {
                cli_error("train: --init: %s", msg);
                goto end;
            }
            if (want.predict_x0 != cfg.predict_x0)
                printf("train base: %s predicts %s; this run trains it to predict %s (final.linear starts at zero)\n",
                       o.init, cfg.predict_x0 ? "x0" : "v", want.predict_x0 ? "x0" : "v");
            if (want.text_pool != cfg.text_pool)
                printf("train base: %s the pooled caption in AdaLN (time_embed.text%s)\n",
                       want.text_pool ? "adding" : "removing", want.text_pool ? ", starting at zero" : "");
            if (want.abs_pos != cfg.abs_pos)
                printf("train base: %s absolute positions (no weights; the model adapts to them)\n",
                       want.abs_pos ? "adding" : "removing");
            cfg = want;
        }
    } else if (gl_dit_new(&m, &cfg, msg, sizeof msg)) {
        cli_error("train: %s", msg);
        goto end;
    } else {
        gl_dit_init_weights(m, o.t.seed);
    }

    /* the checkpoint: asked for, implied by --checkpoint-every/--resume, or carrying the
     * EMA out of the run (then removed at the end) */
    o.t.checkpoint = o.checkpoint;
    if (!o.checkpoint && (o.t.checkpoint_every || o.resume || o.stop_after || o.t.ema > 0)) {
        if (!(ckpt_own = cli_with_suffix(o.out, ".safetensors", ".ckpt.safetensors"))) {
            cli_error("train: out of memory");
            goto end;
        }
        o.t.checkpoint = ckpt_own;
        remove_ckpt = !o.t.checkpoint_every && !o.resume && !o.stop_after;
    }
    o.t.stop_after = o.stop_after;
    o.t.resume = o.resume;
    o.t.log_csv = o.log;

    cli_progress pr;
    cli_progress_init(&pr, "", o.t.steps, o.t.batch);
    if (o.procedural) {
        if (gl_data_procedural(&data, &cfg, msg, sizeof msg)) {
            cli_error("train: %s", msg);
            goto end;
        }
        gl_data_set_subject_weight(data, o.subject_weight); /* in range: parse checked it */
        gl_data_set_upright(data, o.upright);
        if (o.subject_scale > 0) gl_data_set_subject_scale(data, o.subject_scale); /* in range: parse checked it */
        gl_data_set_concept_pool(data, o.pool, (uint64_t)o.pool_seed); /* in range: parse checked it */
        if (o.pool_share > 0) gl_data_set_pool_share(data, o.pool_share); /* in range: parse checked it */
    } else if (gl_data_dir(&data, o.data, &cfg, cli_on_video, &pr, msg, sizeof msg)) {
        cli_progress_end_line(&pr);
        cli_error("train: %s", msg);
        goto end;
    }
    printf("train base: %lld parameters, %s%s; %lld steps of batch %lld%s",
           (long long)gl_params_numel(gl_dit_params(m)), o.init ? "from " : "",
           o.preset ? o.preset : o.config ? o.config : o.init, (long long)o.t.steps, (long long)o.t.batch,
           o.procedural ? (o.upright ? ", procedural concepts, upright" : ", procedural concepts") : "");
    if (o.subject_scale > 0) printf(", subjects x%g", o.subject_scale);
    if (o.pool > 0)
        printf(", a pool of %lld concepts (seeds from %ld) in every shape", (long long)o.pool, o.pool_seed);
    if (o.pool_share > 0 && o.pool_share < 1) printf(" for %g of the samples, fresh concepts the rest", o.pool_share);
    if (!o.procedural)
        printf(", %lld videos of %lld concepts", (long long)gl_data_videos(data), (long long)gl_data_concepts(data));
    cli_print_timesteps(&o.t, NULL);
    cli_print_resume(o.t.checkpoint, o.resume, o.t.ema);
    printf("\n");
    fflush(stdout);

    o.t.progress = cli_on_step;
    o.t.progress_ctx = &pr;
    pr.t0 = pr.last_print = cli_now();
    gl_train_result res;
    if (gl_train_run(m, &o.t, gl_data_next, data, &res, msg, sizeof msg)) {
        cli_progress_end_line(&pr);
        cli_error("train: %s", msg);
        goto end;
    }
    if (gl_dist_rank() != 0) { /* rank 0 holds the same weights and writes them */
        rc = CLI_OK;
        goto end;
    }
    if (o.stop_after && res.start_step + res.steps_done < o.t.steps) {
        char took[32];
        cli_fmt_duration(took, sizeof took, res.seconds);
        printf("stopped after step %lld of %lld as asked (%lld steps in %s, final loss %.4f); %s holds the run: "
               "the same command with --resume goes on\n",
               (long long)(res.start_step + res.steps_done), (long long)o.t.steps, (long long)res.steps_done, took,
               res.last_loss, o.t.checkpoint);
        rc = CLI_OK;
        goto end;
    }
    if (o.t.ema > 0) {
        if (gl_train_load_ema(gl_dit_params(m), o.t.checkpoint, msg, sizeof msg)) {
            cli_error("train: %s", msg);
            goto end;
        }
        if (remove_ckpt) remove(o.t.checkpoint);
    }
    if (gl_dit_save(m, o.out, o.dtype, msg, sizeof msg)) {
        cli_error("train: %s", msg);
        goto end;
    }
    char took[32];
    cli_fmt_duration(took, sizeof took, res.seconds);
    if (res.steps_done == 0)
        printf("nothing to train: the checkpoint is at step %lld of %lld\n", (long long)res.start_step,
               (long long)o.t.steps);
    else
        printf("trained %lld steps (%lld to %lld) in %s; final loss %.4f (mean of the last 10: %.4f)\n",
               (long long)res.steps_done, (long long)res.start_step + 1, (long long)(res.start_step + res.steps_done),
               took, res.last_loss, res.mean_loss_last10);
    printf("wrote %s (%s weights, %s)\n", o.out, o.t.ema > 0 ? "EMA" : "final",
           gl_st_dtype_name((gl_st_dtype)o.dtype));
    if (o.plot) {
        if (plot_loss(o.log, o.plot, o.t.steps, msg, sizeof msg)) {
            cli_error("train: %s", msg);
            goto end;
        }
        printf("wrote %s (loss curve)\n", o.plot);
    }
    rc = CLI_OK;
end:
    gl_data_free(&data);
    gl_dit_free(&m);
    free(ckpt_own);
    return rc;
}
