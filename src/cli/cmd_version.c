/* cli/cmd_version.c: `gridlora version`: our version, OpenBLAS's build and core, threads. */
#include <stdio.h>

#include <cblas.h>

#include "cli.h"
#include "gridlora/gridlora.h"

int cmd_version(int argc, char **argv) {
    (void)argv;
    if (argc > 1) {
        cli_error("version: takes no options");
        return CLI_USAGE;
    }
    printf("gridlora %s\n", GL_VERSION);
    printf("OpenBLAS: %s (kernel for %s)\n", openblas_get_config(), openblas_get_corename());
    printf("threads: %d\n", gl_threads());
    return CLI_OK;
}
