/* cli/cmd_lora.c: `gridlora lora info|merge`: describe an adapter file, fold adapters into
 * a base weights file (model/lora.c does the work); and the "--lora FILE[:weight]"
 * loading that generate shares. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "gridlora/core.h"
#include "gridlora/data.h"
#include "gridlora/lora.h"
#include "gridlora/model.h"
#include "gridlora/safetensors.h"
#include "gridlora/tokenizer.h"
#include "train_common.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: gridlora lora info FILE\n"
            "       gridlora lora merge --base FILE --lora FILE[:W] [--lora FILE[:W] ...] --out FILE\n"
            "                           [--dtype f32|f16|bf16]\n"
            "  info   an adapter's rank, alpha, targets, modules, motion branch, tokens and the\n"
            "         configuration of the model it was made for\n"
            "  merge  W' = W + w (alpha/rank) (B + B2) A for each adapter in turn (weight w, default\n"
            "         1), the adapters' token rows written into the embedding table; saved as a\n"
            "         plain model (default f32). An adapter made for another model is an error\n"
            "         naming the tensor that does not fit.\n");
}

/* ---- --lora FILE[:weight] ------------------------------------------------------------ */

int cli_load_loras(const char *cmd, gl_dit *m, const char *const *args, int n, int attach, gl_lora **loras,
                   float *weights) {
    char msg[1024];
    for (int i = 0; i < n; i++) loras[i] = NULL;
    for (int i = 0; i < n; i++) {
        /* the weight is what follows the last ':' when it reads as a number */
        const char *arg = args[i], *colon = strrchr(arg, ':');
        size_t plen = strlen(arg);
        weights[i] = 1.0f;
        if (colon) {
            char *end = NULL;
            errno = 0;
            double w = strtod(colon + 1, &end);
            if (colon[1] && !*end && !errno) {
                if (!isfinite(w) || w < -100 || w > 100) {
                    cli_error("%s: --lora %s: weight %g is outside [-100, 100]", cmd, arg, w);
                    return CLI_USAGE;
                }
                weights[i] = (float)w;
                plen = (size_t)(colon - arg);
            }
        }
        char *path = malloc(plen + 1);
        if (!path) {
            cli_error("%s: out of memory", cmd);
            return CLI_FAIL;
        }
        memcpy(path, arg, plen);
        path[plen] = 0;
        int rc = gl_lora_load(&loras[i], m, path, msg, sizeof msg);
        free(path);
        if (rc == GL_OK && attach) rc = gl_dit_attach_lora(m, loras[i], weights[i], msg, sizeof msg);
        if (rc) {
            cli_error("%s: %s", cmd, msg);
            return CLI_FAIL;
        }
    }
    return CLI_OK;
}

/* The length of name without suffix, or 0 when name does not end in it (or is nothing
 * but it). */
static size_t stem(const char *name, const char *suffix) {
    size_t len = strlen(name), n = strlen(suffix);
    return len > n && !strcmp(name + len - n, suffix) ? len - n : 0;
}

/* ---- info --------------------------------------------------------------------------- */

static int info(const char *path) {
    gl_st *st = NULL;
    gl_tokenizer *tk = NULL;
    char msg[1024];
    int rc = CLI_FAIL;
    if (gl_st_open(&st, path, msg, sizeof msg)) {
        cli_error("lora: %s", msg);
        return CLI_FAIL;
    }
    const char *fmt = gl_st_meta_get(st, "format"), *rank = gl_st_meta_get(st, "lora.rank");
    const char *alpha = gl_st_meta_get(st, "lora.alpha"), *targets = gl_st_meta_get(st, "lora.targets");
    const char *motion = gl_st_meta_get(st, "lora.motion"), *toks = gl_st_meta_get(st, "lora.tokens");
    const char *cfgs = gl_st_meta_get(st, GL_DIT_CONFIG_KEY);
    gl_dit_config cfg;
    if (!fmt || strcmp(fmt, "gridlora-lora") || !rank || !alpha || !targets || !motion || !toks || !cfgs) {
        cli_error("lora: %s: not a gridlora LoRA adapter (metadata missing)", path);
        goto end;
    }
    if (gl_dit_config_from_json(cfgs, &cfg, msg, sizeof msg) || gl_domain_tokenizer(&cfg, &tk, msg, sizeof msg)) {
        cli_error("lora: %s: %s", path, msg);
        goto end;
    }
    double r = atof(rank), a = atof(alpha);
    printf("%s: gridlora LoRA adapter\n", path);
    printf("rank %s, alpha %s (scale %g)\n", rank, alpha, r > 0 ? a / r : 0.0);
    printf("targets: %s\n", targets);
    printf("motion: %s\n", atoi(motion) ? "yes (B2, the Sequence stage's motion up-projection)" : "no");
    int nmod = 0;
    for (int i = 0; i < gl_st_count(st); i++) nmod += stem(gl_st_name(st, i), ".lora_A.weight") > 0;
    printf("modules: %d\n", nmod);
    for (int i = 0; i < gl_st_count(st); i++) {
        const char *n = gl_st_name(st, i);
        size_t k = stem(n, ".lora_A.weight");
        if (!k || gl_st_ndim(st, i) != 2) continue;
        const int64_t *sh = gl_st_shape(st, i);
        char bname[300];
        snprintf(bname, sizeof bname, "%.*s.lora_B.weight", (int)k, n);
        int b = gl_st_find(st, bname);
        printf("  %.*s  in %lld, out %lld\n", (int)k, n, (long long)sh[1],
               b >= 0 && gl_st_ndim(st, b) == 2 ? (long long)gl_st_shape(st, b)[0] : -1LL);
    }
    /* norm gains the adapter shifts (g' = g + weight d): a delta the gain's length each */
    int ngain = 0;
    for (int i = 0; i < gl_st_count(st); i++) ngain += stem(gl_st_name(st, i), ".lora_gain") > 0;
    if (ngain) printf("norm gains: %d\n", ngain);
    for (int i = 0; i < gl_st_count(st); i++) {
        size_t k = stem(gl_st_name(st, i), ".lora_gain");
        if (k && gl_st_ndim(st, i) == 1)
            printf("  %.*s  %lld\n", (int)k, gl_st_name(st, i), (long long)gl_st_shape(st, i)[0]);
    }
    int nt = 0;
    for (const char *p = toks; *p; p++) nt += p == toks || *p == ',';
    printf("tokens: %d", nt);
    for (const char *p = toks; *p;) {
        char *end = NULL;
        long id = strtol(p, &end, 10);
        if (end == p) break;
        const char *txt = id >= 0 && id <= INT32_MAX ? gl_token_text(tk, (int32_t)id) : NULL;
        printf("%s%s (id %ld)", p == toks ? ": " : ", ", txt ? txt : "?", id);
        p = *end == ',' ? end + 1 : end;
    }
    const char *vec = gl_st_meta_get(st, "lora.token_vectors");
    if (vec) printf("\ntoken vectors: %s (the first tokens listed are the ones prompts name; each stands for "
                    "itself and its place in each following bank of as many)", vec);
    printf("\nbase config: %s\n", cfgs);
    rc = CLI_OK;
end:
    gl_tokenizer_free(&tk);
    gl_st_free(&st);
    return rc;
}

/* ---- merge -------------------------------------------------------------------------- */

#define MAX_LORAS 64

static int merge(int argc, char **argv) {
    const char *base = NULL, *out = NULL, *args[MAX_LORAS];
    int n = 0, dtype = GL_ST_F32;
    for (int i = 2; i < argc; i++) {
        const char *opt = argv[i], *val;
        if (!strcmp(opt, "--help") || !strcmp(opt, "-h")) {
            usage(stdout);
            return CLI_OK;
        }
        if (strncmp(opt, "--", 2) != 0) {
            cli_error("lora: merge: unexpected argument '%s'", opt);
            return CLI_USAGE;
        }
        if (strcmp(opt, "--base") && strcmp(opt, "--lora") && strcmp(opt, "--out") && strcmp(opt, "--dtype")) {
            cli_error("lora: merge: unknown option '%s' (try --help)", opt);
            return CLI_USAGE;
        }
        if (!(val = cli_value("lora", argc, argv, &i))) return CLI_USAGE;
        if (!*val) {
            cli_error("lora: merge: %s: empty value", opt);
            return CLI_USAGE;
        }
        if (!strcmp(opt, "--base")) base = val;
        else if (!strcmp(opt, "--out")) out = val;
        else if (!strcmp(opt, "--lora")) {
            if (n == MAX_LORAS) {
                cli_error("lora: merge: more than %d adapters", MAX_LORAS);
                return CLI_USAGE;
            }
            args[n++] = val;
        } else if (!strcmp(val, "f32")) dtype = GL_ST_F32;
        else if (!strcmp(val, "f16")) dtype = GL_ST_F16;
        else if (!strcmp(val, "bf16")) dtype = GL_ST_BF16;
        else {
            cli_error("lora: merge: --dtype: '%s' is not f32, f16 or bf16", val);
            return CLI_USAGE;
        }
    }
    if (!base || !n || !out) {
        cli_error("lora: merge: %s is required (try --help)", !base ? "--base FILE" : !n ? "--lora FILE" : "--out FILE");
        return CLI_USAGE;
    }
    if (cli_check_writable("lora", "--out", out)) return CLI_FAIL;
    gl_dit *m = NULL;
    gl_lora *loras[MAX_LORAS];
    float w[MAX_LORAS];
    char msg[1024];
    int rc = CLI_FAIL, loaded = 0;
    if (gl_dit_load(&m, base, msg, sizeof msg)) {
        cli_error("lora: %s", msg);
        goto end;
    }
    loaded = 1;
    if ((rc = cli_load_loras("lora", m, args, n, 0, loras, w))) goto end;
    rc = CLI_FAIL;
    for (int i = 0; i < n; i++)
        if (gl_lora_merge(m, loras[i], w[i], msg, sizeof msg)) {
            cli_error("lora: %s: %s", args[i], msg);
            goto end;
        }
    if (gl_dit_save(m, out, dtype, msg, sizeof msg)) {
        cli_error("lora: %s", msg);
        goto end;
    }
    printf("wrote %s: %s with %d adapter%s merged (%s)\n", out, base, n, n == 1 ? "" : "s",
           gl_st_dtype_name((gl_st_dtype)dtype));
    rc = CLI_OK;
end:
    if (loaded)
        for (int i = 0; i < n; i++) gl_lora_free(&loras[i]);
    gl_dit_free(&m);
    return rc;
}

int cmd_lora(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        if (argc < 2) {
            cli_error("lora: which action? 'gridlora lora info FILE' or 'gridlora lora merge ...' (try --help)");
            return CLI_USAGE;
        }
        usage(stdout);
        return CLI_OK;
    }
    if (!strcmp(argv[1], "info")) {
        if (argc == 3 && (!strcmp(argv[2], "--help") || !strcmp(argv[2], "-h"))) {
            usage(stdout);
            return CLI_OK;
        }
        if (argc != 3 || !argv[2][0] || !strncmp(argv[2], "--", 2)) {
            cli_error("lora: info takes one adapter file: 'gridlora lora info FILE'");
            return CLI_USAGE;
        }
        return info(argv[2]);
    }
    if (!strcmp(argv[1], "merge")) return merge(argc, argv);
    cli_error("lora: unknown action '%s' (actions: info, merge)", argv[1]);
    return CLI_USAGE;
}
