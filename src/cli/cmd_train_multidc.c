/* cli/cmd_train_multidc.c: `gridlora train multidc`: parse the options, load the frozen
 * base and the data set (pipeline/multidc.c), run the Set and Sequence stages
 * (cli/train_common.c), save the adapter. No training logic of its own. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "gridlora/core.h"
#include "gridlora/lora.h"
#include "gridlora/model.h"
#include "gridlora/multidc.h"
#include "train_common.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: gridlora train multidc --base FILE --data DIR --out FILE.safetensors\n"
            "                              [--set-steps N] [--seq-steps M] [--rank R] [--alpha A]\n"
            "                              [--lora-dropout P] [--token-only P] [--token-vectors V]\n"
            "                              [--token-init base|words]\n"
            "                              [--token-lr-scale S]\n"
            "                              [--batch B] [--seed S] [--lr X] [--log FILE.csv]\n"
            "                              [--checkpoint-every K] [--resume] [--threads T]\n"
            "Trains a Multi-DC LoRA on a frozen base: one adapter for every concept of a data set,\n"
            "each named by its own token (<c0>, <c1>, ... from the manifest), whose embedding is\n"
            "trained with it. Set stage: A, B and the tokens on still frames (appearance); then\n"
            "Sequence stage: the motion up-projection B2 on the ordered clips, the rest frozen.\n"
            "  --base FILE        the base model (gridlora train base); its weights stay as they are\n"
            "  --data DIR         a data set written by 'gridlora dataset': each concept's clip with\n"
            "                     its effect and background variants, captioned with its token; at\n"
            "                     most as many concepts as the model has concept tokens\n"
            "  --set-steps N, --seq-steps M  steps of each stage (default 400 each)\n"
            "  --rank R, --alpha A  the adapter's rank (default 8) and scale alpha/rank (alpha 8)\n"
            "  --lora-dropout P   drop each element of the adapter's input with probability P while it\n"
            "                     trains, scaling the rest by 1/(1-P) (default 0: none; sampling never\n"
            "                     drops); resume with the same P\n"
            "  --token-only P     caption a concept's plain clip with its token alone, 'a <cK>', with\n"
            "                     probability P (default 0: never), so that the token learns the whole\n"
            "                     concept; the variants keep their prompts; resume with the same P\n"
            "  --token-vectors V  each concept's token stands for V learned embeddings (default 1):\n"
            "                     '<c3>' in a prompt becomes V tokens, the rest taken from the model's\n"
            "                     concept tokens no concept names; one token can then carry what a\n"
            "                     caption spreads over several words (subject, colours, background);\n"
            "                     resume with the same V\n"
            "  --token-init base|words  each token's embedding starts as the base model's (default)\n"
            "                     or as the mean of its caption's words\n"
            "  --token-lr-scale S the tokens learn at S times the learning rate (default 1): each\n"
            "                     token sees a gradient only when its concept is in the batch;\n"
            "                     resume with the same S\n"
            "  --batch B          samples a step (default 4); --seed S (default 1)\n"
            "  --lr X             peak learning rate of each stage (default 1e-3), cosine to 10%%\n"
            "  --log FILE.csv     per-step logs FILE.set.csv and FILE.seq.csv\n"
            "  --checkpoint-every K  resumable state every K steps, one file per stage:\n"
            "                     OUT.set.ckpt.safetensors and OUT.seq.ckpt.safetensors\n"
            "  --resume           continue from them (same --seed): the Set stage is skipped when\n"
            "                     the Sequence stage's checkpoint exists\n"
            "  --threads T        threads (default GRIDLORA_THREADS, else all cores)\n"
            "Use the adapter with\n"
            "'gridlora generate --model BASE --lora OUT --prompt \"a <c0> ...\"'.\n");
}

int cmd_train_multidc(int argc, char **argv) {
    cli_stages s = cli_stages_default("train");
    const char *base = NULL, *data = NULL;
    double token_only = 0.0;
    long token_vectors = 1;
    for (int i = 2; i < argc; i++) {
        const char *opt = argv[i];
        if (!strcmp(opt, "--help") || !strcmp(opt, "-h")) {
            usage(stdout);
            return CLI_OK;
        }
        if (strncmp(opt, "--", 2) != 0) {
            cli_error("train: unexpected argument '%s'", opt);
            return CLI_USAGE;
        }
        int rc = cli_stages_option(&s, argc, argv, &i);
        if (rc >= 0) {
            if (rc) return rc;
            continue;
        }
        if (!strcmp(opt, "--token-only")) {
            const char *val = cli_value("train", argc, argv, &i);
            if (!val || cli_parse_float("train", opt, val, 0, 1, 0, &token_only)) return CLI_USAGE;
            continue;
        }
        if (!strcmp(opt, "--token-vectors")) {
            const char *val = cli_value("train", argc, argv, &i);
            if (!val || cli_parse_long("train", opt, val, 1, GL_LORA_MAX_TOKEN_VECTORS, &token_vectors))
                return CLI_USAGE;
            continue;
        }
        if (!strcmp(opt, "--token-init")) {
            const char *val = cli_value("train", argc, argv, &i);
            if (!val) return CLI_USAGE;
            if (strcmp(val, "base") && strcmp(val, "words")) {
                cli_error("train: --token-init: '%s' is neither 'base' nor 'words'", val);
                return CLI_USAGE;
            }
            s.token_init_words = !strcmp(val, "words");
            continue;
        }
        if (strcmp(opt, "--base") && strcmp(opt, "--data") && strcmp(opt, "--out")) {
            cli_error("train: unknown option '%s' (try --help)", opt);
            return CLI_USAGE;
        }
        const char *val = cli_value("train", argc, argv, &i);
        if (!val) return CLI_USAGE;
        if (!*val) {
            cli_error("train: %s: empty path", opt);
            return CLI_USAGE;
        }
        *(!strcmp(opt, "--base") ? &base : !strcmp(opt, "--data") ? &data : &s.out) = val;
    }
    if (!base || !data) {
        cli_error("train: multidc: %s is required (try --help)", !base ? "--base FILE" : "--data DIR");
        return CLI_USAGE;
    }
    int rc = cli_stages_check(&s);
    if (rc) return rc;

    gl_dit *m = NULL;
    gl_multidc *d = NULL;
    char msg[1024] = "";
    rc = CLI_FAIL;
    if (gl_dit_load(&m, base, msg, sizeof msg)) {
        cli_error("train: %s", msg);
        goto end;
    }
    cli_progress pr;
    cli_progress_init(&pr, "", 1, 1);
    if (gl_multidc_dir(&d, data, gl_dit_cfg(m), cli_on_video, &pr, msg, sizeof msg)) {
        cli_progress_end_line(&pr);
        cli_error("train: %s", msg);
        goto end;
    }
    if (gl_multidc_set_token_vectors(d, (int)token_vectors, msg, sizeof msg) ||
        gl_multidc_set_token_only(d, (float)token_only, msg, sizeof msg)) {
        cli_error("train: %s", msg);
        goto end;
    }
    printf("train multidc: base %s (%lld parameters, frozen); %lld concepts, %lld videos; "
           "token alone for %g of the plain clips\n",
           base, (long long)gl_params_numel(gl_dit_params(m)), (long long)gl_multidc_concepts(d),
           (long long)gl_multidc_videos(d), token_only);
    double secs = 0;
    rc = cli_run_stages(m, d, &s, &secs);
end:
    gl_multidc_free(&d);
    gl_dit_free(&m);
    return rc;
}
