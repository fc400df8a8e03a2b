/* cli/train_common.c: what the training subcommands share: progress, option checks,
 * checkpoint names, and the Set-and-Sequence LoRA stages wired to gl_train_run. The
 * training is the library's (pipeline/train.c, pipeline/multidc.c). */
#define _POSIX_C_SOURCE 200809L /* clock_gettime, isatty, access */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "gridlora/core.h"
#include "gridlora/data.h"
#include "gridlora/dist.h"
#include "gridlora/lora.h"
#include "gridlora/safetensors.h"
#include "train_common.h"

double cli_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void cli_fmt_duration(char *buf, size_t len, double s) {
    if (!(s >= 0) || s > 1e8) snprintf(buf, len, "?");
    else if (s < 10) snprintf(buf, len, "%.1fs", s);
    else if (s < 60) snprintf(buf, len, "%.0fs", s);
    else if (s < 3600) snprintf(buf, len, "%dm%02ds", (int)s / 60, (int)s % 60);
    else snprintf(buf, len, "%dh%02dm", (int)s / 3600, (int)s % 3600 / 60);
}

/* ---- progress ------------------------------------------------------------------- */

void cli_progress_init(cli_progress *p, const char *label, int64_t steps, int64_t batch) {
    memset(p, 0, sizeof *p);
    p->tty = isatty(fileno(stderr));
    p->label = label ? label : "";
    p->batch = batch;
    p->first = -1;
    p->every = steps >= 20 ? steps / 20 : 1;
    p->t0 = p->last_print = cli_now();
}

void cli_progress_end_line(cli_progress *p) {
    if (p->tty && p->width) fputc('\n', stderr);
    p->width = 0;
}

void cli_on_step(void *ctx, int64_t step, int64_t steps, double loss, double sps) {
    (void)sps; /* one step's rate is noisy: the run's average is shown */
    cli_progress *p = ctx;
    double now = cli_now();
    if (p->first < 0) p->first = step - 1;
    p->loss_sum += loss;
    p->loss_n++;
    int last = step == steps;
    if (p->tty) {
        if (!last && now - p->last_print < 0.2) return;
    } else if (!last && now - p->last_print < 10.0 && step % p->every) {
        return;
    }
    double el = now - p->t0, done = (double)(step - p->first);
    char eta[32];
    cli_fmt_duration(eta, sizeof eta, el / done * (double)(steps - step));
    char line[200];
    int n = snprintf(line, sizeof line, "%sstep %lld/%lld  loss %.4f  %.1f samples/s  ETA %s", p->label,
                     (long long)step, (long long)steps, p->loss_sum / (double)p->loss_n,
                     done * (double)p->batch / el, eta);
    if (p->tty) {
        fprintf(stderr, "\r%s%*s", line, p->width > n ? p->width - n : 0, "");
        p->width = n;
        if (last) cli_progress_end_line(p);
    } else {
        fprintf(stderr, "%s\n", line);
    }
    fflush(stderr);
    p->last_print = now;
    p->loss_sum = 0;
    p->loss_n = 0;
}

void cli_on_video(void *ctx, int64_t done, int64_t total) {
    cli_progress *p = ctx;
    if (gl_dist_rank() != 0) return; /* every rank reads the data; rank 0 reports */
    double now = cli_now();
    if (done != total && now - p->last_print < (p->tty ? 0.2 : 10.0)) return;
    if (p->tty) {
        p->width = fprintf(stderr, "\rreading the data set: video %lld/%lld", (long long)done, (long long)total) - 1;
        if (done == total) {
            fputc('\n', stderr);
            p->width = 0;
        }
    } else {
        fprintf(stderr, "reading the data set: video %lld/%lld\n", (long long)done, (long long)total);
    }
    p->last_print = now;
}

/* ---- options -------------------------------------------------------------------------- */

int cli_parse_float(const char *cmd, const char *opt, const char *val, double lo, double hi, int lo_open,
                    double *out) {
    char *end = NULL;
    errno = 0;
    double v = strtod(val, &end);
    if (errno || end == val || *end || !isfinite(v)) {
        cli_error("%s: %s: '%s' is not a number", cmd, opt, val);
        return CLI_USAGE;
    }
    if (v > hi || v < lo || (lo_open && v == lo)) {
        cli_error("%s: %s: %g is outside %c%g, %g]", cmd, opt, v, lo_open ? '(' : '[', lo, hi);
        return CLI_USAGE;
    }
    *out = v;
    return CLI_OK;
}

int cli_schedule_option(const char *cmd, const char *opt, const char *val, gl_train_opts *t) {
    double d = 0;
    if (!strcmp(opt, "--ema")) {
        if (cli_parse_float(cmd, opt, val, 0, 0.999999, 0, &d)) return CLI_USAGE;
        t->ema = (float)d;
    } else if (!strcmp(opt, "--t-mu")) {
        if (cli_parse_float(cmd, opt, val, -5, 5, 0, &t->t_mu)) return CLI_USAGE;
    } else if (!strcmp(opt, "--t-sigma")) {
        if (cli_parse_float(cmd, opt, val, 0.05, 5, 0, &t->t_sigma)) return CLI_USAGE;
    } else if (!strcmp(opt, "--offset-noise")) {
        if (cli_parse_float(cmd, opt, val, 0, 1, 0, &t->offset_noise)) return CLI_USAGE;
    } else if (!strcmp(opt, "--colour-weight")) {
        if (cli_parse_float(cmd, opt, val, 0, 1000, 0, &d)) return CLI_USAGE;
        t->colour_weight = (float)d;
    } else {
        return -1;
    }
    return CLI_OK;
}

int cli_check_writable(const char *cmd, const char *opt, const char *path) {
    if (gl_dist_rank() != 0) return CLI_OK; /* only rank 0 writes outputs, on its host */
    const char *slash = strrchr(path, '/');
    char dir[4096];
    if (!slash) snprintf(dir, sizeof dir, ".");
    else if (slash == path) snprintf(dir, sizeof dir, "/");
    else snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    if (access(dir, W_OK | X_OK) != 0) {
        cli_error("%s: %s %s: cannot write into %s: %s", cmd, opt, path, dir, strerror(errno));
        return CLI_FAIL;
    }
    return CLI_OK;
}

char *cli_with_suffix(const char *path, const char *ext, const char *suffix) {
    size_t n = strlen(path), e = strlen(ext);
    if (n > e && !strcmp(path + n - e, ext)) n -= e;
    size_t len = n + strlen(suffix) + 1;
    char *p = malloc(len);
    if (p) snprintf(p, len, "%.*s%s", (int)n, path, suffix);
    return p;
}

/* The step a training checkpoint stands at (-1 when it cannot be read or holds none) and
 * whether it keeps an EMA of the weights: one read of its header. */
static long long checkpoint_info(const char *path, int *has_ema) {
    gl_st *st = NULL;
    char msg[256];
    *has_ema = 0;
    if (gl_st_open(&st, path, msg, sizeof msg)) return -1;
    const char *s = gl_st_meta_get(st, "train.step");
    long long k = s ? strtoll(s, NULL, 10) : -1;
    for (int i = 0; i < gl_st_count(st) && !*has_ema; i++) *has_ema = !strncmp(gl_st_name(st, i), "ema.", 4);
    gl_st_free(&st);
    return k;
}

void cli_print_timesteps(const gl_train_opts *t, const char *offset_note) {
    const gl_train_opts dflt = gl_train_default_opts();
    if (t->t_mu != dflt.t_mu || t->t_sigma != dflt.t_sigma)
        printf("; timesteps logit-normal(%g, %g)", t->t_mu, t->t_sigma);
    if (t->offset_noise > 0) printf("; offset noise %g a cell%s%s", t->offset_noise, offset_note ? " " : "",
                                    offset_note ? offset_note : "");
    if (t->colour_weight > 0) printf("; colour weight %g", (double)t->colour_weight);
}

void cli_print_resume(const char *ckpt, int resume, float ema) {
    if (!resume || !ckpt || access(ckpt, F_OK) != 0) return;
    int has_ema = 0;
    long long at = checkpoint_info(ckpt, &has_ema);
    if (at < 0) return;
    printf("; resuming from %s at step %lld", ckpt, at);
    if (!(ema > 0) && has_ema) printf(" (its EMA not continued: no --ema; OUT gets the final weights)");
}

/* ---- the two LoRA stages ---------------------------------------------------------- */

cli_stages cli_stages_default(const char *cmd) {
    cli_stages s = {.cmd = cmd, .set_steps = 400, .seq_steps = 400, .rank = 8, .alpha = 8.0f,
                    .token_lr_scale = 1.0f, .t = gl_train_default_opts()};
    s.t.lr = 1e-3f;
    return s;
}

int cli_stages_option(cli_stages *s, int argc, char **argv, int *i) {
    static const char *const valued[] = {"--set-steps", "--seq-steps", "--rank", "--alpha", "--batch", "--seed",
                                         "--lr", "--log", "--checkpoint-every", "--threads", "--lora-dropout",
                                         "--token-lr-scale"};
    const char *opt = argv[*i], *val;
    long v = 0;
    double d = 0;
    if (!strcmp(opt, "--resume")) {
        s->resume = 1;
        return CLI_OK;
    }
    int known = 0;
    for (size_t k = 0; k < sizeof valued / sizeof valued[0]; k++) known |= !strcmp(opt, valued[k]);
    if (!known) return -1;
    if (!(val = cli_value(s->cmd, argc, argv, i))) return CLI_USAGE;
    if (!strcmp(opt, "--log")) {
        if (!*val || strchr(val, '\n')) {
            cli_error("%s: --log: empty path or one holding a newline", s->cmd);
            return CLI_USAGE;
        }
        s->log = val;
    } else if (!strcmp(opt, "--set-steps") || !strcmp(opt, "--seq-steps")) {
        if (cli_parse_long(s->cmd, opt, val, 1, 1000000000L, &v)) return CLI_USAGE;
        *(!strcmp(opt, "--set-steps") ? &s->set_steps : &s->seq_steps) = v;
    } else if (!strcmp(opt, "--rank")) {
        if (cli_parse_long(s->cmd, opt, val, 1, 1024, &v)) return CLI_USAGE;
        s->rank = (int)v;
    } else if (!strcmp(opt, "--alpha")) {
        if (cli_parse_float(s->cmd, opt, val, 0, 1e6, 1, &d)) return CLI_USAGE;
        s->alpha = (float)d;
    } else if (!strcmp(opt, "--lora-dropout")) {
        if (cli_parse_float(s->cmd, opt, val, 0, 0.99, 0, &d)) return CLI_USAGE;
        s->lora_dropout = (float)d;
    } else if (!strcmp(opt, "--token-lr-scale")) {
        if (cli_parse_float(s->cmd, opt, val, 0, 1000, 1, &d)) return CLI_USAGE;
        s->token_lr_scale = (float)d;
    } else if (!strcmp(opt, "--batch")) {
        if (cli_parse_long(s->cmd, opt, val, 1, 4096, &v)) return CLI_USAGE;
        s->t.batch = v;
    } else if (!strcmp(opt, "--seed")) {
        if (cli_parse_long(s->cmd, opt, val, 0, 2147483647L, &v)) return CLI_USAGE;
        s->t.seed = (uint64_t)v;
    } else if (!strcmp(opt, "--lr")) {
        if (cli_parse_float(s->cmd, opt, val, 0, 1, 1, &d)) return CLI_USAGE;
        s->t.lr = (float)d;
    } else if (!strcmp(opt, "--checkpoint-every")) {
        if (cli_parse_long(s->cmd, opt, val, 1, 1000000000L, &v)) return CLI_USAGE;
        s->checkpoint_every = v;
    } else { /* --threads */
        if (cli_parse_long(s->cmd, opt, val, 1, 4096, &v)) return CLI_USAGE;
        gl_set_threads((int)v);
    }
    return CLI_OK;
}

int cli_stages_check(const cli_stages *s) {
    if (!s->out || !*s->out) {
        cli_error("%s: --out FILE is required (try --help)", s->cmd);
        return CLI_USAGE;
    }
    if (cli_check_writable(s->cmd, "--out", s->out) || (s->log && cli_check_writable(s->cmd, "--log", s->log)))
        return CLI_FAIL;
    return CLI_OK;
}

/* Whether path exists where rank 0 runs, told to every rank: all must take the same
 * branch, and checkpoints need only be on rank 0's host. */
static int root_has(const char *path) {
    int has = gl_dist_rank() == 0 && access(path, F_OK) == 0;
    gl_dist_broadcast(&has, sizeof has, 0);
    return has;
}

static int64_t trainable(gl_params *p) {
    int64_t n = 0;
    for (int i = 0; i < gl_params_count(p); i++)
        if (!(gl_params_flags(p, i) & GL_PARAM_FROZEN)) {
            gl_tensor t = gl_params_tensor(p, i);
            n += gl_tensor_numel(&t);
        }
    return n;
}

int cli_run_stages(gl_dit *m, gl_multidc *d, const cli_stages *s, double *train_seconds) {
    static const char *const stage_name[2] = {"set", "sequence"};
    static const char *const label[2] = {"set: ", "sequence: "};
    static const char *const ckpt_suffix[2] = {".set.ckpt.safetensors", ".seq.ckpt.safetensors"};
    static const char *const log_suffix[2] = {".set.csv", ".seq.csv"};
    gl_lora *l = NULL;
    char *ckpt[2] = {NULL, NULL}, *log[2] = {NULL, NULL}, msg[1024] = "";
    int rc = CLI_FAIL;
    *train_seconds = 0;
    gl_params *mp = gl_dit_params(m);
    for (int i = 0; i < gl_params_count(mp); i++)
        gl_params_set_flags(mp, i, gl_params_flags(mp, i) | GL_PARAM_FROZEN);
    gl_lora_spec spec = gl_lora_default_spec();
    spec.rank = s->rank;
    spec.alpha = s->alpha;
    spec.motion = 1;
    spec.n_tokens = gl_multidc_tokens(d, &spec.tokens);
    spec.token_vectors = gl_multidc_token_vectors(d);
    if (gl_lora_new(&l, m, &spec, s->t.seed, msg, sizeof msg) || gl_lora_set_dropout(l, s->lora_dropout) ||
        gl_dit_attach_lora(m, l, 1.0f, msg, sizeof msg) ||
        (s->token_init_words && gl_multidc_init_token_rows(d, l, m, msg, sizeof msg))) {
        cli_error("%s: %s", s->cmd, msg);
        goto end;
    }
    if (gl_lora_token_rows(l) >= 0)
        gl_params_set_lr_scale(gl_lora_params(l), gl_lora_token_rows(l), s->token_lr_scale); /* > 0: parsed so */
    const int keep_ckpt = s->checkpoint_every > 0 || s->resume;
    for (int k = 0; k < 2; k++) {
        if ((keep_ckpt && !(ckpt[k] = cli_with_suffix(s->out, ".safetensors", ckpt_suffix[k]))) ||
            (s->log && !(log[k] = cli_with_suffix(s->log, ".csv", log_suffix[k])))) {
            cli_error("%s: out of memory", s->cmd);
            goto end;
        }
    }
    const int named = spec.n_tokens / spec.token_vectors;
    printf("adapter: rank %d, alpha %g, %d modules, motion branch, %d token%s", s->rank, (double)s->alpha,
           gl_lora_module_count(l), named, named == 1 ? "" : "s");
    if (spec.token_vectors > 1) printf(" of %d embeddings each", spec.token_vectors);
    if (s->lora_dropout > 0) printf(", dropout %g on its input", (double)s->lora_dropout);
    if (s->token_init_words) printf(", tokens from their captions' words");
    if (s->token_lr_scale != 1.0f) printf(", tokens at %g x the learning rate", (double)s->token_lr_scale);
    printf("\n");
    for (int k = 0; k < 2; k++) {
        const int stage = k == 0 ? GL_MULTIDC_SET : GL_MULTIDC_SEQUENCE;
        const int64_t steps = k == 0 ? s->set_steps : s->seq_steps;
        if (k == 0 && s->resume && root_has(ckpt[1])) {
            printf("set stage: skipped (%s holds its result)\n", ckpt[1]);
            continue;
        }
        gl_multidc_set_mode(d, stage);
        gl_lora_set_stage(l, stage);
        gl_train_opts o = s->t;
        o.params = gl_lora_params(l);
        o.steps = steps;
        o.warmup = steps / 10 < o.warmup ? steps / 10 : o.warmup;
        o.checkpoint = ckpt[k];
        o.checkpoint_every = s->checkpoint_every;
        o.resume = s->resume;
        o.log_csv = log[k];
        printf("%s stage: trains %s (%lld parameters); %lld steps of batch %lld", stage_name[k],
               k == 0 ? "A, B and the token rows" : "B2 (A, B and the token rows frozen)",
               (long long)trainable(o.params), (long long)steps, (long long)o.batch);
        cli_print_resume(ckpt[k], s->resume, o.ema);
        printf("\n");
        fflush(stdout);
        cli_progress pr;
        cli_progress_init(&pr, label[k], steps, o.batch);
        o.progress = cli_on_step;
        o.progress_ctx = &pr;
        gl_train_result res;
        if (gl_train_run(m, &o, gl_multidc_next, d, &res, msg, sizeof msg)) {
            cli_progress_end_line(&pr);
            cli_error("%s: %s stage: %s", s->cmd, stage_name[k], msg);
            goto end;
        }
        *train_seconds += res.seconds;
        char took[32];
        cli_fmt_duration(took, sizeof took, res.seconds);
        if (res.steps_done == 0)
            printf("%s stage: nothing to train: the checkpoint is at step %lld of %lld\n", stage_name[k],
                   (long long)res.start_step, (long long)steps);
        else
            printf("%s stage: trained %lld steps (%lld to %lld) in %s; final loss %.4f (mean of the last 10: %.4f)\n",
                   stage_name[k], (long long)res.steps_done, (long long)res.start_step + 1,
                   (long long)(res.start_step + res.steps_done), took, res.last_loss, res.mean_loss_last10);
    }
    if (gl_dist_rank() == 0 && gl_lora_save(l, s->out, 0, msg, sizeof msg)) {
        cli_error("%s: %s", s->cmd, msg);
        goto end;
    }
    printf("wrote %s (LoRA adapter)\n", s->out);
    rc = CLI_OK;
end:
    gl_dit_detach_loras(m);
    gl_lora_free(&l);
    for (int k = 0; k < 2; k++) {
        free(ckpt[k]);
        free(log[k]);
    }
    return rc;
}

int cli_run_lora_stage(gl_dit *m, gl_lora *l, gl_batch_fn next, void *ctx, const cli_stages *s, int64_t steps,
                       const char *name, double *train_seconds) {
    char *ckpt = NULL, msg[1024] = "", label[64];
    int rc = CLI_FAIL;
    *train_seconds = 0;
    /* the EMA leaves the run in the checkpoint (gl_train_run keeps the raw weights in
     * the adapter); a checkpoint made for that alone is removed at the end */
    const int carrier = s->t.ema > 0 && !(s->checkpoint_every > 0 || s->resume);
    if ((s->checkpoint_every > 0 || s->resume || s->t.ema > 0) &&
        !(ckpt = cli_with_suffix(s->out, ".safetensors", ".ckpt.safetensors"))) {
        cli_error("%s: out of memory", s->cmd);
        return CLI_FAIL;
    }
    if (gl_lora_set_dropout(l, s->lora_dropout)) { /* the option was range-checked */
        cli_error("%s: --lora-dropout %g is outside [0, 1)", s->cmd, (double)s->lora_dropout);
        free(ckpt);
        return CLI_FAIL;
    }
    gl_train_opts o = s->t;
    o.params = gl_lora_params(l);
    o.steps = steps;
    o.warmup = steps / 10 < o.warmup ? steps / 10 : o.warmup;
    o.checkpoint = ckpt;
    o.checkpoint_every = s->checkpoint_every;
    o.resume = s->resume;
    o.log_csv = s->log;
    if (s->init)
        printf("%s stage: trains the adapter of %s on", name, s->init);
    else
        printf("%s stage: trains a new adapter", name);
    printf(" (rank %d, alpha %g, %lld parameters); %lld steps of batch %lld", gl_lora_rank(l),
           (double)(gl_lora_scale(l) * (float)gl_lora_rank(l)), (long long)trainable(o.params), (long long)steps,
           (long long)o.batch);
    if (s->lora_dropout > 0) printf("; dropout %g on its input", (double)s->lora_dropout);
    if (o.ema > 0) printf("; EMA %g", (double)o.ema);
    cli_print_timesteps(&o, s->offset_noise_by_layout ? "where no layout sets its own" : NULL);
    cli_print_resume(ckpt, s->resume, o.ema);
    printf("\n");
    fflush(stdout);
    snprintf(label, sizeof label, "%s: ", name);
    cli_progress pr;
    cli_progress_init(&pr, label, steps, o.batch);
    o.progress = cli_on_step;
    o.progress_ctx = &pr;
    gl_train_result res;
    if (gl_train_run(m, &o, next, ctx, &res, msg, sizeof msg)) {
        cli_progress_end_line(&pr);
        cli_error("%s: %s stage: %s", s->cmd, name, msg);
        goto end;
    }
    *train_seconds = res.seconds;
    char took[32];
    cli_fmt_duration(took, sizeof took, res.seconds);
    if (res.steps_done == 0)
        printf("%s stage: nothing to train: the checkpoint is at step %lld of %lld\n", name,
               (long long)res.start_step, (long long)steps);
    else
        printf("%s stage: trained %lld steps (%lld to %lld) in %s; final loss %.4f (mean of the last 10: %.4f)\n",
               name, (long long)res.steps_done, (long long)res.start_step + 1,
               (long long)(res.start_step + res.steps_done), took, res.last_loss, res.mean_loss_last10);
    if (gl_dist_rank() == 0 && ((o.ema > 0 && gl_train_load_ema(o.params, ckpt, msg, sizeof msg)) ||
                                gl_lora_save(l, s->out, 0, msg, sizeof msg))) {
        cli_error("%s: %s", s->cmd, msg);
        goto end;
    }
    if (carrier && gl_dist_rank() == 0) remove(ckpt);
    printf("wrote %s (LoRA adapter%s)\n", s->out, o.ema > 0 ? ", EMA weights" : "");
    rc = CLI_OK;
end:
    free(ckpt);
    return rc;
}
