/* cli/cmd_version.c: `gridlora version`: our version, OpenBLAS's build and core, threads,
 * and the MPI library built in. */
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
    const char *mpi = gl_dist_library();
    printf("MPI: %s\n", mpi ? mpi : "not built in (data-parallel training needs libopenmpi-dev)");
    return CLI_OK;
}
