/* cli/cmd_demo.c: `gridlora demo`: what the README's first command runs. Until the
 * shipped model exists it says so and runs the engine self-check instead. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "gridlora/gridlora.h"

int cmd_demo(int argc, char **argv) {
    if (argc > 1) {
        if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
            printf("usage: gridlora demo\nRuns the demo on the shipped model (not there yet: "
                   "runs the engine self-check).\n");
            return CLI_OK;
        }
        cli_error("demo: takes no options (got '%s')", argv[1]);
        return CLI_USAGE;
    }
    printf("gridlora %s demo\n\n", GL_VERSION);
    printf("Not there yet: the video model, the LoRA stages, the shipped weights and the\n"
           "zero-shot edit/compose commands (later milestones). What exists is the training\n"
           "engine: tensors, arena, parameter store, AdamW and every layer of a video DiT\n"
           "block, each with its backward proven by finite differences (make test).\n\n");
    gl_selfcheck_params sp = gl_selfcheck_default_params();
    int rc = cli_selfcheck_report(&sp);
    printf("\n%s\n", rc == CLI_OK ? "demo: engine self-check passed" : "demo: engine self-check FAILED");
    return rc;
}
