/* cli/cli.h: what the subcommand files share: the table entry type, error printing and
 * option-value parsing. Exit codes: 0 success, 1 failure, 2 usage. */
#ifndef GL_CLI_H
#define GL_CLI_H

#include <stdint.h>

enum { CLI_OK = 0, CLI_FAIL = 1, CLI_USAGE = 2 };

typedef struct cli_command {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv); /* argv[0] is the subcommand's name */
} cli_command;

/* "gridlora: <fmt>\n" on stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Parses an integer option value within [min, max]; on failure prints
 * "gridlora: CMD: OPT: ..." and returns CLI_USAGE, else CLI_OK. */
int cli_parse_long(const char *cmd, const char *opt, const char *val, long min, long max,
                   long *out);
/* Parses a --split value ("train" or "heldout") into GL_SPLIT_TRAIN or GL_SPLIT_HELDOUT;
 * anything else prints "gridlora: CMD: --split: ..." and returns CLI_USAGE. */
int cli_parse_split(const char *cmd, const char *val, int *split);
/* The value after option argv[*i], advancing *i; prints a usage error when absent. */
const char *cli_value(const char *cmd, int argc, char **argv, int *i);

struct gl_selfcheck_params;
/* Runs the engine self-check with progress on stderr, prints the figures and judges
 * them: CLI_OK when the loss fell and the gradients agree, else CLI_FAIL. */
int cli_selfcheck_report(const struct gl_selfcheck_params *sp);

struct gl_dit;
struct gl_lora;
/* Loads the adapters named by args ("FILE" or "FILE:WEIGHT", weight default 1) for model
 * m into loras[0..n) (each NULL until loaded; the caller frees them with gl_lora_free
 * whatever the result) and their weights, attaching each to m when attach is set. A
 * file for another model fails naming the tensor that does not fit. CLI_OK, CLI_USAGE
 * (a bad weight) or CLI_FAIL, after a 'gridlora: CMD: ...' line. */
int cli_load_loras(const char *cmd, struct gl_dit *m, const char *const *args, int n, int attach,
                   struct gl_lora **loras, float *weights);

int cmd_convert(int argc, char **argv);
int cmd_dataset(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_finetune(int argc, char **argv);
int cmd_generate(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_lora(int argc, char **argv);
int cmd_prep(int argc, char **argv);
int cmd_probe(int argc, char **argv);
int cmd_selfcheck(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_train_multidc(int argc, char **argv); /* argv[1] is "multidc" */
int cmd_train_grid(int argc, char **argv);    /* argv[1] is "grid" or "gridfill" */
int cmd_grids(int argc, char **argv);
int cmd_edit(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_compose(int argc, char **argv);
int cmd_character(int argc, char **argv);
int cmd_story(int argc, char **argv);
int cmd_version(int argc, char **argv);

#endif
