/* cli/app_common.h: what the zero-shot commands share (edit, compose, character; story
 * takes the options and the directory): their common options, loading the model and
 * adapters, reading the inputs at the model's cell size, one run of gl_app_run
 * (pipeline/apps.c), and writing DIR's files. */
#ifndef GL_CLI_APP_COMMON_H
#define GL_CLI_APP_COMMON_H

#include "gridlora/grid.h"
#include "gridlora/sample.h"

#define CLI_APP_MAX_LORAS 8

typedef struct cli_app {
    const char *cmd;                     /* "edit", ... */
    const char *model, *out;             /* --model BASE, --out DIR */
    const char *loras[CLI_APP_MAX_LORAS];
    int n_lora;
    const char *inputs[2];               /* --input, in order */
    int n_inputs, max_inputs;
    const char *captions[2];             /* --caption, in order (token-free words) */
    int n_captions;
    gl_sample_opts so;
    long fps;
} cli_app;

void cli_app_init(cli_app *a, const char *cmd, int max_inputs);

/* The shipped model (scripts/train-default.sh writes it), relative to the source tree the
 * commands are run from: the base, then the zero-shot adapters in the order they apply. */
#define CLI_SHIPPED_BASE "models/default/base.safetensors"
#define CLI_SHIPPED_GRID "models/default/grid.safetensors"
#define CLI_SHIPPED_GRIDFILL "models/default/gridfill.safetensors"

/* Where *model is NULL, the shipped base; where *n_lora is 0, the shipped Grid and
 * Grid-Fill LoRAs (loras must hold 2). CLI_OK, or CLI_FAIL after one line naming the
 * missing file and what to give instead. */
int cli_use_shipped(const char *cmd, const char **model, const char **loras, int *n_lora);
/* The base alone: where *model is NULL, the shipped base (CLI_FAIL after the same line
 * when it is missing). */
int cli_use_shipped_base(const char *cmd, const char **model);

/* Parses argv[*i] when it is a shared option (--model, --lora, --input, --caption, --out,
 * --steps, --cfg, --context-cfg, --strength, --shift, --seed, --fps, --threads): CLI_OK,
 * CLI_USAGE (a message printed), or -1 when it is none of them. */
int cli_app_option(cli_app *a, int argc, char **argv, int *i);

/* After parsing: --out and exactly `inputs` --input given (CLI_USAGE), --out creatable
 * (cli_check_out_dir), and --model and --lora given or the shipped model's files there
 * (cli_use_shipped); CLI_FAIL for those two. */
int cli_app_check(cli_app *a, int inputs);

/* DIR made when missing, with any missing parents (as mkdir -p): GL_OK, or an error code
 * and "PATH: why" in msg. */
int cli_make_dirs(const char *dir, char *msg, size_t msglen);

/* Before long work: whether cli_make_dirs(dir) can succeed (its nearest existing ancestor
 * is a directory this process may write into), creating nothing: CLI_OK, or CLI_FAIL
 * after a message naming the command. */
int cli_check_out_dir(const char *cmd, const char *dir);

/* cli_make_dirs for --out: CLI_OK, or CLI_FAIL after a message naming the command. */
int cli_app_make_dir(const char *cmd, const char *dir);

/* cli_make_dirs for the directory --out PATH sits in, for commands that make PATH
 * itself (dataset, grids: they refuse a non-empty PATH): CLI_OK, or CLI_FAIL after a
 * message naming the command. */
int cli_make_parent_dirs(const char *cmd, const char *path);

/* Loads the model and adapters, reads the inputs into l's input cells in cell order,
 * samples the output cells, writes DIR/grid.mp4, DIR/grid.gif, DIR/cellN.mp4 per output
 * cell (and DIR/<names[c]>.mp4 where names[c] is set), DIR/sheet.png (inputs in the top
 * row, one row per output cell), and prints the files and the timings. CLI_OK or
 * CLI_FAIL after one message (a missing input names its file). */
int cli_app_run(const cli_app *a, const gl_layout *l, const char *const names[GL_GRID_CELLS]);

#endif
