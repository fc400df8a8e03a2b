/* cli/cmd_finetune.c: `gridlora finetune`: test-time fine-tuning (TTFT), the baseline
 * zero-shot personalization must beat: the Set and Sequence LoRA stages on one user
 * video (pipeline/multidc.c, cli/train_common.c), timed from start to saved adapter. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "gridlora/core.h"
#include "gridlora/model.h"
#include "gridlora/multidc.h"
#include "gridlora/ttft.h"
#include "train_common.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: gridlora finetune --base FILE --input VIDEO --token TOKEN --out FILE.safetensors\n"
            "                         [--prompt TEXT] [--steps N] [--set-steps N] [--seq-steps M]\n"
            "                         [--rank R] [--alpha A] [--lora-dropout P] [--batch B] [--seed S] [--lr X]\n"
            "                         [--log FILE.csv] [--checkpoint-every K] [--resume] [--threads T]\n"
            "Test-time fine-tuning: trains a LoRA on one video (the Set stage on its still frames,\n"
            "then the Sequence stage on the clip) so that TOKEN names it, and prints the wall time\n"
            "it took (\"finetune: 812.3 s\"): the number zero-shot personalization must beat.\n"
            "  --base FILE      the base model (required: no model ships yet)\n"
            "  --input VIDEO    any video FFmpeg reads; resized and resampled to the model's cell\n"
            "  --token TOKEN    \"<v>\" (the free token) or a concept token \"<cK>\" of the model\n"
            "  --prompt TEXT    the caption it is trained with; must hold TOKEN (default \"a TOKEN\":\n"
            "                   nothing is known about the video but that it shows something)\n"
            "  --steps N        steps of each stage (default 200); --set-steps/--seq-steps apart\n"
            "  other options as 'gridlora train multidc' (lr 1e-3, rank 8, batch 4)\n"
            "Then: gridlora generate --model BASE --lora OUT --prompt \"<v> with smoke\" ...\n");
}

int cmd_finetune(int argc, char **argv) {
    double t0 = cli_now();
    cli_stages s = cli_stages_default("finetune");
    s.set_steps = s.seq_steps = gl_ttft_default_opts().set_steps; /* what `eval` runs TTFT with */
    const char *base = NULL, *input = NULL, *token = NULL, *prompt = NULL;
    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i];
        if (!strcmp(opt, "--help") || !strcmp(opt, "-h")) {
            usage(stdout);
            return CLI_OK;
        }
        if (strncmp(opt, "--", 2) != 0) {
            cli_error("finetune: unexpected argument '%s'", opt);
            return CLI_USAGE;
        }
        int rc = cli_stages_option(&s, argc, argv, &i);
        if (rc >= 0) {
            if (rc) return rc;
            continue;
        }
        static const char *const valued[] = {"--base", "--input", "--token", "--out", "--prompt", "--steps"};
        int known = 0;
        for (size_t k = 0; k < sizeof valued / sizeof valued[0]; k++) known |= !strcmp(opt, valued[k]);
        if (!known) {
            cli_error("finetune: unknown option '%s' (try --help)", opt);
            return CLI_USAGE;
        }
        const char *val = cli_value("finetune", argc, argv, &i);
        if (!val) return CLI_USAGE;
        if (!strcmp(opt, "--steps")) {
            long v = 0;
            if (cli_parse_long("finetune", opt, val, 1, 1000000000L, &v)) return CLI_USAGE;
            s.set_steps = s.seq_steps = v;
            continue;
        }
        if (!*val && strcmp(opt, "--prompt")) {
            cli_error("finetune: %s: empty value", opt);
            return CLI_USAGE;
        }
        if (!strcmp(opt, "--base")) base = val;
        else if (!strcmp(opt, "--input")) input = val;
        else if (!strcmp(opt, "--token")) token = val;
        else if (!strcmp(opt, "--out")) s.out = val;
        else prompt = val;
    }
    if (!base || !input || !token) {
        cli_error("finetune: %s is required (try --help)", !base ? "--base FILE" : !input ? "--input VIDEO" : "--token TOKEN");
        return CLI_USAGE;
    }
    int rc = cli_stages_check(&s);
    if (rc) return rc;
    char def[64], msg[1024] = "";
    if (!prompt) {
        if (strlen(token) > 40) {
            cli_error("finetune: --token '%.40s...' is too long for a token", token);
            return CLI_USAGE;
        }
        snprintf(def, sizeof def, "a %s", token);
        prompt = def;
    }

    gl_dit *m = NULL;
    gl_multidc *d = NULL;
    rc = CLI_FAIL;
    if (gl_dit_load(&m, base, msg, sizeof msg)) {
        cli_error("finetune: %s", msg);
        goto end;
    }
    if (gl_multidc_video(&d, input, token, prompt, gl_dit_cfg(m), msg, sizeof msg)) {
        cli_error("finetune: %s", msg);
        goto end;
    }
    printf("finetune: %s as %s, prompt \"%s\"; base %s (frozen)\n", input, token, prompt, base);
    double secs = 0;
    if ((rc = cli_run_stages(m, d, &s, &secs))) goto end;
    printf("finetune: %.1f s (training %.1f s)\n", cli_now() - t0, secs);
end:
    gl_multidc_free(&d);
    gl_dit_free(&m);
    return rc;
}
