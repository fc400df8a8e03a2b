/* cli/args.c: error printing and option-value parsing shared by the subcommands. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "gridlora/render.h" /* GL_SPLIT_* */

void cli_error(const char *fmt, ...) {
    /* one write for the whole line: under mpirun the ranks share one stderr, and lines
     * written in pieces interleave */
    char line[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, "gridlora: %s\n", line);
}

int cli_parse_long(const char *cmd, const char *opt, const char *val, long min, long max,
                   long *out) {
    char *end = NULL;
    errno = 0;
    long v = strtol(val, &end, 10);
    if (errno || end == val || *end) {
        cli_error("%s: %s: '%s' is not an integer", cmd, opt, val);
        return CLI_USAGE;
    }
    if (v < min || v > max) {
        cli_error("%s: %s: %ld is outside [%ld, %ld]", cmd, opt, v, min, max);
        return CLI_USAGE;
    }
    *out = v;
    return CLI_OK;
}

int cli_parse_split(const char *cmd, const char *val, int *split) {
    if (!strcmp(val, "train")) *split = GL_SPLIT_TRAIN;
    else if (!strcmp(val, "heldout")) *split = GL_SPLIT_HELDOUT;
    else {
        cli_error("%s: --split: '%s' is not train or heldout", cmd, val);
        return CLI_USAGE;
    }
    return CLI_OK;
}

const char *cli_value(const char *cmd, int argc, char **argv, int *i) {
    if (*i + 1 >= argc) {
        cli_error("%s: option %s needs a value", cmd, argv[*i]);
        return NULL;
    }
    return argv[++*i];
}
