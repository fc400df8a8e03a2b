/* cli/main.c: the gridlora tool's entry point: picks the subcommand, with MPI started
 * before it and ended after it (gridlora/dist.h); nothing more. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "gridlora/dist.h"
#include "gridlora/video.h"

static const cli_command commands[] = {
    {"character", "zero-shot: the concept of a video in new scenes or motions (Grid-Fill LoRA)", cmd_character},
    {"compose", "zero-shot: two videos' concepts together (Grid-Fill LoRA)", cmd_compose},
    {"convert", "store a model's weights as f32, f16 or bf16", cmd_convert},
    {"dataset", "render a data set of procedural dynamic concepts with every variant", cmd_dataset},
    {"demo", "run the demo (the engine self-check until the shipped model exists)", cmd_demo},
    {"edit", "zero-shot: a video with effects (smoke, lights, ...) in one sampling run (Grid-Fill LoRA)", cmd_edit},
    {"eval", "zero-shot against test-time fine-tuning on held-out concepts, scored against the truth", cmd_eval},
    {"finetune", "test-time fine-tuning: train a LoRA on one video (the zero-shot baseline)", cmd_finetune},
    {"generate", "generate a video from a prompt with a trained model", cmd_generate},
    {"grids", "make 2x2 grid training data from a Multi-DC model (or the renderer)", cmd_grids},
    {"info", "list the tensors and metadata of a safetensors file", cmd_info},
    {"lora", "describe a LoRA adapter, or merge adapters into a base model", cmd_lora},
    {"prep", "show a video as the model sees it (frames sampled, cropped, resized)", cmd_prep},
    {"probe", "a model's denoising error per noise level on held-out concepts", cmd_probe},
    {"selfcheck", "train a one-block video transformer on toy data and check its gradients", cmd_selfcheck},
    {"story", "zero-shot: a story of shots from one video, a chain of grids (Grid-Fill LoRA)", cmd_story},
    {"train", "train a model: 'train base', 'train multidc', 'train grid', 'train gridfill'", cmd_train},
    {"version", "print the version and the libraries in use", cmd_version},
};
enum { N_COMMANDS = sizeof commands / sizeof commands[0] };

static void usage(FILE *f) {
    fprintf(f, "usage: gridlora <command> [options]\n\ncommands:\n");
    for (int i = 0; i < N_COMMANDS; i++) fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\n'gridlora <command> --help' describes a command's options.\n"
               "GRIDLORA_THREADS sets the thread count (default: all cores).\n");
}

static int dispatch(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return CLI_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return CLI_OK;
    }
    if (!strcmp(argv[1], "--version")) return cmd_version(1, argv + 1);
    /* the others would each do the whole job and write the same files */
    if (gl_dist_size() > 1 && strcmp(argv[1], "train") && strcmp(argv[1], "finetune") && strcmp(argv[1], "version")) {
        cli_error("%s: runs as one process; under mpirun only train and finetune share their work", argv[1]);
        return CLI_USAGE;
    }
    for (int i = 0; i < N_COMMANDS; i++)
        if (!strcmp(argv[1], commands[i].name)) return commands[i].run(argc - 1, argv + 1);
    cli_error("unknown command '%s' (try 'gridlora --help')", argv[1]);
    return CLI_USAGE;
}

int main(int argc, char **argv) {
    gl_video_set_verbose(0); /* x264 and friends would bury our progress lines */
    char msg[512];
    if (gl_dist_init(&argc, &argv, msg, sizeof msg)) {
        cli_error("%s", msg);
        return CLI_FAIL;
    }
    /* under mpirun rank 0 speaks for all: the others' reports would repeat its own;
     * errors (stderr) still come from every rank */
    int rc = gl_dist_rank() != 0 && !freopen("/dev/null", "w", stdout) ? CLI_FAIL : dispatch(argc, argv);
    gl_dist_finalize(rc != CLI_OK);
    return rc;
}
