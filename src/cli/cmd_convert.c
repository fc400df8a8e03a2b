/* cli/cmd_convert.c: `gridlora convert`: store a model's weights in another precision
 * (the shipped weights are F16 to stay small; training writes F32). The configuration
 * travels unchanged; only the tensors' dtype changes. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "gridlora/model.h"
#include "gridlora/safetensors.h"
#include "train_common.h"

static void usage(FILE *f) {
    fprintf(f, "usage: gridlora convert --in FILE --out FILE --dtype f32|f16|bf16\n"
               "Writes the model FILE (a 'gridlora train base' output, or 'lora merge') with its\n"
               "weights stored as DTYPE; the configuration in the metadata is kept. Converting\n"
               "F32 to F16 or BF16 rounds each weight to nearest; converting back does not\n"
               "restore the lost bits.\n");
}

static int parse_dtype(const char *val, int *dtype) {
    if (!strcmp(val, "f32")) *dtype = GL_ST_F32;
    else if (!strcmp(val, "f16")) *dtype = GL_ST_F16;
    else if (!strcmp(val, "bf16")) *dtype = GL_ST_BF16;
    else return -1;
    return 0;
}

int cmd_convert(int argc, char **argv) {
    const char *in = NULL, *out = NULL;
    int dtype = -1;
    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i], *val;
        if (!strcmp(opt, "--help") || !strcmp(opt, "-h")) {
            usage(stdout);
            return CLI_OK;
        }
        if (strncmp(opt, "--", 2) != 0) {
            cli_error("convert: unexpected argument '%s'", opt);
            return CLI_USAGE;
        }
        if (strcmp(opt, "--in") && strcmp(opt, "--out") && strcmp(opt, "--dtype")) {
            cli_error("convert: unknown option '%s' (try --help)", opt);
            return CLI_USAGE;
        }
        if (!(val = cli_value("convert", argc, argv, &i))) return CLI_USAGE;
        if (!*val) {
            cli_error("convert: %s: empty value", opt);
            return CLI_USAGE;
        }
        if (!strcmp(opt, "--in")) in = val;
        else if (!strcmp(opt, "--out")) out = val;
        else if (parse_dtype(val, &dtype)) {
            cli_error("convert: --dtype: '%s' is not f32, f16 or bf16", val);
            return CLI_USAGE;
        }
    }
    if (!in || !out || dtype < 0) {
        cli_error("convert: %s is required (try --help)", !in ? "--in FILE" : !out ? "--out FILE" : "--dtype");
        return CLI_USAGE;
    }
    if (cli_check_writable("convert", "--out", out)) return CLI_FAIL;
    gl_dit *m = NULL;
    char msg[1024];
    if (gl_dit_load(&m, in, msg, sizeof msg)) {
        cli_error("convert: %s", msg);
        return CLI_FAIL;
    }
    int rc = CLI_OK;
    if (gl_dit_save(m, out, dtype, msg, sizeof msg)) {
        cli_error("convert: %s", msg);
        rc = CLI_FAIL;
    } else {
        printf("wrote %s: %s as %s\n", out, in, gl_st_dtype_name((gl_st_dtype)dtype));
    }
    gl_dit_free(&m);
    return rc;
}
