/* cli/train_common.h: what the training subcommands share (train base, train multidc,
 * finetune): the progress line, option checks, checkpoint names, and the two LoRA stages
 * of Set-and-Sequence run with progress, logs, checkpoints and resume. */
#ifndef GL_CLI_TRAIN_COMMON_H
#define GL_CLI_TRAIN_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "gridlora/lora.h"
#include "gridlora/model.h"
#include "gridlora/multidc.h"
#include "gridlora/train.h"

double cli_now(void);
/* "9m48s", "1h02m", "45s", "0.8s" */
void cli_fmt_duration(char *buf, size_t len, double s);

/* Progress on stderr: one updating line on a terminal, else a line every 10 s or every
 * `every` steps: "[label]step 30/30  loss 0.4123  12.3 samples/s  ETA 9m48s". */
typedef struct cli_progress {
    int tty;
    const char *label;           /* printed before "step" ("" or NULL: none) */
    int64_t batch, first, every; /* first: the step before the first reported (resume) */
    double t0, last_print, loss_sum;
    int64_t loss_n;
    int width; /* of the last terminal line, to blank it */
} cli_progress;

/* A progress for a run of `steps` of `batch` samples, starting now. */
void cli_progress_init(cli_progress *p, const char *label, int64_t steps, int64_t batch);
/* Ends a terminal's progress line before an error is printed under it. */
void cli_progress_end_line(cli_progress *p);
/* gl_train_opts.progress (ctx is a cli_progress *). */
void cli_on_step(void *ctx, int64_t step, int64_t steps, double loss, double sps);
/* progress of reading a data set's videos (ctx is a cli_progress *). */
void cli_on_video(void *ctx, int64_t done, int64_t total);

/* A float option in [lo, hi] (lo excluded when lo_open); else a usage error naming cmd. */
int cli_parse_float(const char *cmd, const char *opt, const char *val, double lo, double hi, int lo_open,
                    double *out);
/* The schedule options `train base`, `train grid` and `train gridfill` share: --ema D
 * (in [0, 0.999999]), --t-mu M (in [-5, 5]), --t-sigma S (in [0.05, 5]), --offset-noise
 * G (in [0, 1]) and --colour-weight W (in [0, 1000]), set in t.
 * CLI_OK, CLI_USAGE (a message naming cmd printed), or -1 when opt is none of them. */
int cli_schedule_option(const char *cmd, const char *opt, const char *val, gl_train_opts *t);
/* CLI_OK when path's directory exists and can take new files; else a message and CLI_FAIL. */
int cli_check_writable(const char *cmd, const char *opt, const char *path);
/* path with `ext` (".safetensors", ".csv") replaced by (or, without it, followed by)
 * suffix: ("m.safetensors", ".safetensors", ".set.ckpt.safetensors") gives
 * "m.set.ckpt.safetensors". malloc'd; NULL without memory. */
char *cli_with_suffix(const char *path, const char *ext, const char *suffix);
/* Prints "; timesteps logit-normal(M, S)" on a stage line when t's are not the default, and
 * the offset noise (followed by offset_note when not NULL) and the colour weight when
 * there are. */
void cli_print_timesteps(const gl_train_opts *t, const char *offset_note);
/* Prints the resume part of a stage line ("; resuming from CKPT at step K") when resume is
 * set and ckpt holds a checkpoint, adding that the checkpoint's EMA stops when this run
 * keeps none: resuming without --ema is how the final weights of an --ema run are had, and
 * must not pass for a continuation of the EMA. Nothing otherwise. */
void cli_print_resume(const char *ckpt, int resume, float ema);

/* ---- the two LoRA stages ---------------------------------------------------------- */

typedef struct cli_stages {
    const char *cmd;         /* message prefix: "train", "finetune" */
    const char *out;         /* the adapter file */
    const char *log;         /* CSV log, or NULL: LOG.set.csv and LOG.seq.csv */
    int64_t set_steps, seq_steps;
    int rank;
    float alpha;
    float lora_dropout;      /* on the new adapter's input while it trains (default 0) */
    int token_init_words;    /* tokens start from their captions' words (gl_multidc_init_token_rows) */
    float token_lr_scale;    /* the tokens' learning rate is --lr times this (default 1) */
    int resume;
    const char *init;        /* the adapter file the stage started from, or NULL: a new one */
    int64_t checkpoint_every;
    gl_train_opts t;         /* batch, seed, lr (steps, warm-up, checkpoint, log: set here) */
    int offset_noise_by_layout; /* some layouts have their own offset noise (train grid's
                                   --offset-noise LAYOUT=G): t's is only the others' */
} cli_stages;

/* Defaults: 400 steps per stage, rank 8, alpha 8, batch 4, seed 1, lr 1e-3 (adapters
 * learn faster than a model from scratch), warm-up 100 or a tenth of a stage. */
cli_stages cli_stages_default(const char *cmd);

/* Parses argv[*i] when it is one of the options the stages share (--set-steps,
 * --seq-steps, --rank, --alpha, --lora-dropout, --token-lr-scale, --batch, --seed, --lr,
 * --log, --checkpoint-every, --resume, --threads), advancing *i past its value: CLI_OK, CLI_USAGE (a message
 * printed), or -1 when argv[*i] is none of them. */
int cli_stages_option(cli_stages *s, int argc, char **argv, int *i);

/* Checks after parsing: --out given (CLI_USAGE), OUT and the log writable (CLI_FAIL). */
int cli_stages_check(const cli_stages *s);

/* Makes a Multi-DC adapter (motion branch, d's tokens) for the frozen model m, runs the
 * Set stage then the Sequence stage on d, saves the adapter at s->out. Checkpoints (with
 * --checkpoint-every or --resume) are per stage, OUT.set.ckpt.safetensors and
 * OUT.seq.ckpt.safetensors: a resumed run skips the Set stage when the Sequence stage's
 * checkpoint exists (that checkpoint holds the whole adapter), else resumes the Set
 * stage from its own (a finished one runs no step) and then the Sequence stage.
 * Prints what it does on stdout, progress on stderr. *train_seconds: time in the two
 * stages. CLI_OK or CLI_FAIL (after a 'gridlora: CMD: ...' line). */
int cli_run_stages(gl_dit *m, gl_multidc *d, const cli_stages *s, double *train_seconds);

/* One LoRA stage on any source (train grid, train gridfill): trains the parameters of l
 * (attached to m; everything else frozen by the caller) for `steps` steps of s->t (batch,
 * seed, lr, and the sample size in frames/height/width) on next/ctx; s->log is the CSV
 * log as given; checkpoints (with --checkpoint-every or --resume) go to
 * OUT.ckpt.safetensors; resumes from it with --resume. Saves l at s->out. `name` labels
 * the summary lines ("grid stage: trained ..."). CLI_OK or CLI_FAIL (after a message). */
int cli_run_lora_stage(gl_dit *m, gl_lora *l, gl_batch_fn next, void *ctx, const cli_stages *s,
                       int64_t steps, const char *name, double *train_seconds);

#endif
