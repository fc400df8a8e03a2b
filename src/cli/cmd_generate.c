/* cli/cmd_generate.c: `gridlora generate`: load a model, tokenize the prompt with the
 * domain's tokenizer (pipeline/data.c), sample (pipeline/sample.c), write the video and
 * an optional contact sheet (io/). Parses and reports; nothing is written on failure. */
#define _POSIX_C_SOURCE 200809L /* clock_gettime, strcasecmp */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cli.h"
#include "gridlora/core.h"
#include "gridlora/data.h"
#include "gridlora/lora.h"
#include "gridlora/model.h"
#include "gridlora/sample.h"
#include "gridlora/tokenizer.h"
#include "gridlora/video.h"

#define MAX_SIDE 1024
#define MAX_FRAMES 256
#define MAX_LORAS 64

static void usage(FILE *f) {
    fprintf(f,
            "usage: gridlora generate --model FILE --prompt TEXT --out OUT.(mp4|gif|png)\n"
            "                         [--steps N] [--cfg S] [--shift S] [--seed S] [--frames F]\n"
            "                         [--size WxH] [--sheet FILE.png] [--fps F] [--threads T]\n"
            "                         [--lora FILE[:W] ...] [--negative-prompt TEXT]\n"
            "Generates a video from a text prompt with a trained model (gridlora train); a\n"
            "training checkpoint works too (its EMA weights when its run kept one).\n"
            "  --prompt TEXT   words of the domain, e.g. \"a red striped star orbiting on sand\";\n"
            "                  an unknown word is an error naming the nearest known ones\n"
            "  --steps N       Euler steps (default 20)\n"
            "  --cfg S         classifier-free guidance scale; 1 = none (default 3)\n"
            "  --negative-prompt TEXT  guide away from this prompt instead of the empty one:\n"
            "                  what --prompt says and it does not is amplified (needs --cfg > 1)\n"
            "  --shift S       schedule shift; > 1 spends more steps at high noise (default 2)\n"
            "  --seed S        the initial noise (default 1)\n"
            "  --frames F, --size WxH  the video's size (default: the model's cell)\n"
            "  --sheet FILE.png  also a contact sheet of the frames side by side, 4x enlarged\n"
            "  --fps F         frame rate of OUT (default 8)\n"
            "  --lora FILE[:W] apply a LoRA adapter with weight W (default 1); repeatable, applied\n"
            "                  in order; the prompt may then use the adapters' tokens (\"a <c3>\")\n"
            "OUT's extension picks the format: .mp4, .gif, or .png (a contact sheet).\n");
}

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int parse_float(const char *opt, const char *val, double lo, double hi, double *out) {
    char *end = NULL;
    errno = 0;
    double v = strtod(val, &end);
    if (errno || end == val || *end || !isfinite(v)) {
        cli_error("generate: %s: '%s' is not a number", opt, val);
        return CLI_USAGE;
    }
    if (v < lo || v > hi) {
        cli_error("generate: %s: %g is outside [%g, %g]", opt, v, lo, hi);
        return CLI_USAGE;
    }
    *out = v;
    return CLI_OK;
}

/* "WxH", each side in [1, MAX_SIDE]. */
static int parse_size(const char *val, long *w, long *h) {
    char a[32], *x;
    if (strlen(val) >= sizeof a || !(x = strchr(strcpy(a, val), 'x'))) {
        cli_error("generate: --size: '%s' is not WxH (e.g. 32x32)", val);
        return CLI_USAGE;
    }
    *x = '\0';
    if (cli_parse_long("generate", "--size width", a, 1, MAX_SIDE, w) ||
        cli_parse_long("generate", "--size height", x + 1, 1, MAX_SIDE, h))
        return CLI_USAGE;
    return CLI_OK;
}

static int has_ext(const char *path, const char *const *exts) {
    const char *slash = strrchr(path, '/'), *base = slash ? slash + 1 : path;
    const char *dot = strrchr(base, '.');
    for (; dot && dot != base && *exts; exts++)
        if (!strcasecmp(dot, *exts)) return 1;
    return 0;
}

int cmd_generate(int argc, char **argv) {
    const char *model = NULL, *prompt = NULL, *neg_prompt = NULL, *out = NULL, *sheet = NULL;
    gl_sample_opts so = gl_sample_default_opts();
    long frames = 0, w = 0, h = 0, fps = 8, v = 0;
    const char *lora_args[MAX_LORAS];
    gl_lora *loras[MAX_LORAS] = {0};
    float lora_w[MAX_LORAS];
    int n_lora = 0;
    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i], *val = NULL;
        double d = 0;
        if (!strcmp(opt, "--help") || !strcmp(opt, "-h")) {
            usage(stdout);
            return CLI_OK;
        }
        if (strncmp(opt, "--", 2) != 0) {
            cli_error("generate: unexpected argument '%s'", opt);
            return CLI_USAGE;
        }
        static const char *const valued[] = {"--model", "--prompt", "--out", "--steps", "--cfg", "--shift",
                                             "--seed", "--frames", "--size", "--sheet", "--fps", "--threads",
                                             "--lora", "--negative-prompt"};
        int known = 0;
        for (size_t k = 0; k < sizeof valued / sizeof valued[0]; k++) known |= !strcmp(opt, valued[k]);
        if (!known) {
            cli_error("generate: unknown option '%s' (try --help)", opt);
            return CLI_USAGE;
        }
        if (!(val = cli_value("generate", argc, argv, &i))) return CLI_USAGE;
        if (!strcmp(opt, "--model")) model = val;
        else if (!strcmp(opt, "--prompt")) prompt = val;
        else if (!strcmp(opt, "--negative-prompt")) neg_prompt = val;
        else if (!strcmp(opt, "--out")) out = val;
        else if (!strcmp(opt, "--sheet")) sheet = val;
        else if (!strcmp(opt, "--lora")) {
            if (n_lora == MAX_LORAS) {
                cli_error("generate: more than %d adapters", MAX_LORAS);
                return CLI_USAGE;
            }
            lora_args[n_lora++] = val;
        }
        else if (!strcmp(opt, "--steps")) {
            if (cli_parse_long("generate", opt, val, 1, 10000, &v)) return CLI_USAGE;
            so.steps = (int)v;
        } else if (!strcmp(opt, "--cfg")) {
            if (parse_float(opt, val, 0, 100, &d)) return CLI_USAGE;
            so.cfg = (float)d;
        } else if (!strcmp(opt, "--shift")) {
            if (parse_float(opt, val, 0.01, 100, &d)) return CLI_USAGE;
            so.shift = (float)d;
        } else if (!strcmp(opt, "--seed")) {
            if (cli_parse_long("generate", opt, val, 0, 2147483647L, &v)) return CLI_USAGE;
            so.seed = (uint64_t)v;
        } else if (!strcmp(opt, "--frames")) {
            if (cli_parse_long("generate", opt, val, 1, MAX_FRAMES, &frames)) return CLI_USAGE;
        } else if (!strcmp(opt, "--size")) {
            if (parse_size(val, &w, &h)) return CLI_USAGE;
        } else if (!strcmp(opt, "--fps")) {
            if (cli_parse_long("generate", opt, val, 1, 240, &fps)) return CLI_USAGE;
        } else { /* --threads */
            if (cli_parse_long("generate", opt, val, 1, 4096, &v)) return CLI_USAGE;
            gl_set_threads((int)v);
        }
    }
    if (!model || !*model || !prompt || !out || !*out) {
        cli_error("generate: %s is required (try --help)",
                  !model || !*model ? "--model FILE" : !prompt ? "--prompt TEXT" : "--out FILE");
        return CLI_USAGE;
    }
    if (neg_prompt && so.cfg == 1.0f) {
        cli_error("generate: --negative-prompt needs guidance (--cfg other than 1)");
        return CLI_USAGE;
    }
    if (!has_ext(out, (const char *const[]){".mp4", ".gif", ".png", NULL})) {
        cli_error("generate: --out %s: unsupported extension (supported: .mp4, .gif, .png)", out);
        return CLI_USAGE;
    }
    if (sheet && !has_ext(sheet, (const char *const[]){".png", NULL})) {
        cli_error("generate: --sheet %s: a contact sheet is a .png", sheet);
        return CLI_USAGE;
    }

    double t0 = now_seconds();
    gl_dit *m = NULL;
    gl_tokenizer *tk = NULL;
    int32_t *text = NULL, *neg = NULL;
    float *x = NULL;
    gl_video vid = {0};
    char msg[1024] = "";
    int rc = CLI_FAIL;
    if (gl_dit_load(&m, model, msg, sizeof msg)) {
        cli_error("generate: %s", msg);
        goto end;
    }
    if ((rc = cli_load_loras("generate", m, lora_args, n_lora, 1, loras, lora_w)) != CLI_OK) goto end;
    rc = CLI_FAIL;
    const gl_dit_config *c = gl_dit_cfg(m);
    if (c->channels != 3) {
        cli_error("generate: %s: a model of %lld colour channels; videos have 3", model, (long long)c->channels);
        goto end;
    }
    int64_t F = frames ? frames : c->frames, H = h ? h : c->cell_h, W = w ? w : c->cell_w;
    if (F % c->patch_t || H % c->patch_h || W % c->patch_w) {
        cli_error("generate: %lld frames of %lldx%lld do not divide into the model's patches of %lld frames of "
                  "%lldx%lld", (long long)F, (long long)W, (long long)H, (long long)c->patch_t,
                  (long long)c->patch_w, (long long)c->patch_h);
        rc = CLI_USAGE;
        goto end;
    }
    if (gl_domain_tokenizer(c, &tk, msg, sizeof msg)) {
        cli_error("generate: %s: %s", model, msg);
        goto end;
    }
    int64_t n_tok = 0, n_neg = 0;
    if (!(text = calloc((size_t)c->text_len, sizeof *text)) || !(neg = calloc((size_t)c->text_len, sizeof *neg))) {
        cli_error("generate: out of memory");
        goto end;
    }
    if (gl_tokenize(tk, prompt, text, c->text_len, &n_tok, msg, sizeof msg)) {
        cli_error("generate: %s", msg);
        goto end;
    }
    if (neg_prompt && gl_tokenize(tk, neg_prompt, neg, c->text_len, &n_neg, msg, sizeof msg)) {
        cli_error("generate: --negative-prompt: %s", msg);
        goto end;
    }
    if (gl_dit_expand_tokens(m, text, &n_tok, c->text_len) || gl_dit_expand_tokens(m, neg, &n_neg, c->text_len)) {
        cli_error("generate: the prompt has more than the model's %lld tokens once the adapters' multi-vector "
                  "tokens are expanded", (long long)c->text_len);
        goto end;
    }
    if (gl_video_alloc(&vid, F, H, W) || !(x = malloc((size_t)(F * H * W * c->channels) * sizeof *x))) {
        cli_error("generate: out of memory for %lld frames of %lldx%lld", (long long)F, (long long)W, (long long)H);
        goto end;
    }
    double ts = now_seconds();
    gl_sample_request req = {.F = F, .H = H, .W = W, .text = text, .text_len = (int32_t)n_tok,
                             .neg_text = neg_prompt ? neg : NULL, .neg_text_len = (int32_t)n_neg};
    if (gl_sample(m, &so, &req, x, msg, sizeof msg)) {
        cli_error("generate: %s: %s", model, msg);
        goto end;
    }
    ts = now_seconds() - ts;
    for (int64_t i = 0; i < F * H * W * 3; i++) vid.rgb[i] = 0.5f * (x[i] + 1.0f);
    if (gl_video_write(out, &vid, (int)fps, msg, sizeof msg)) {
        cli_error("generate: %s", msg);
        goto end;
    }
    if (sheet) {
        const gl_video *rows[1] = {&vid};
        if (gl_contact_sheet_write(sheet, rows, 1, 4, msg, sizeof msg)) {
            cli_error("generate: %s", msg);
            remove(out); /* all or nothing */
            goto end;
        }
    }
    printf("wrote %s%s%s: %lld frames of %lldx%lld, %d steps, cfg %g, seed %llu, in %.2f s (sampling %.2f s)\n", out,
           sheet ? " and " : "", sheet ? sheet : "", (long long)F, (long long)W, (long long)H, so.steps,
           (double)so.cfg, (unsigned long long)so.seed, now_seconds() - t0, ts);
    rc = CLI_OK;
end:
    free(text);
    free(neg);
    free(x);
    gl_video_release(&vid);
    gl_tokenizer_free(&tk);
    gl_dit_free(&m);
    for (int i = 0; i < n_lora; i++) gl_lora_free(&loras[i]);
    return rc;
}
