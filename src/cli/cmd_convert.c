/* cli/cmd_convert.c: `gridlora convert`: store a weights file (a model or an adapter) in
 * another precision (the shipped weights are F16 to stay small; training writes F32).
 * Metadata (the model's configuration, an adapter's rank and tokens) travels unchanged,
 * but for the one configuration switch that leaves the weights' meaning on a single cell
 * as it is (--rope-per-cell). --ema takes a training checkpoint's EMA weights out of it:
 * a run in parts can then be looked at, kept or continued elsewhere (--init) without
 * its AdamW moments, two thirds of the checkpoint. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "gridlora/model.h"
#include "gridlora/safetensors.h"
#include "train_common.h"

static void usage(FILE *f) {
    fprintf(f, "usage: gridlora convert --in FILE --out FILE --dtype f32|f16|bf16 [--rope-per-cell 0|1] [--ema]\n"
               "Writes the weights file FILE (a model, an adapter: any safetensors file of F32, F16\n"
               "or BF16 tensors) with its tensors stored as DTYPE; the metadata is kept. Converting\n"
               "F32 to F16 or BF16 rounds each weight to nearest; converting back does not\n"
               "restore the lost bits.\n"
               "  --rope-per-cell N  set the configuration's rope_per_cell (in a model's or an\n"
               "                     adapter's metadata): 1, rotary positions restart in each cell\n"
               "                     of a 2x2 canvas; 0, one coordinate system over the canvas. A\n"
               "                     model trained on single cells computes the same on a cell\n"
               "                     either way; adapters must agree with their base.\n"
               "  --ema              FILE is a training checkpoint (--checkpoint-every, --stop-after)\n"
               "                     of a run with --ema: write its EMA weights alone, what the\n"
               "                     run's OUT would get at that step, as a plain weights file\n");
}

/* where a checkpoint keeps its EMA of each weight and the run's state (step, seed):
 * src/pipeline/train.c writes both */
static const char EMA[] = "ema.", TRAIN_META[] = "train.";

static int parse_dtype(const char *val, int *dtype) {
    if (!strcmp(val, "f32")) *dtype = GL_ST_F32;
    else if (!strcmp(val, "f16")) *dtype = GL_ST_F16;
    else if (!strcmp(val, "bf16")) *dtype = GL_ST_BF16;
    else return -1;
    return 0;
}

int cmd_convert(int argc, char **argv) {
    const char *in = NULL, *out = NULL;
    int dtype = -1, rope_per_cell = -1, ema = 0;
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
        if (!strcmp(opt, "--ema")) {
            ema = 1;
            continue;
        }
        if (strcmp(opt, "--in") && strcmp(opt, "--out") && strcmp(opt, "--dtype") && strcmp(opt, "--rope-per-cell")) {
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
        else if (!strcmp(opt, "--rope-per-cell")) {
            if (strcmp(val, "0") && strcmp(val, "1")) {
                cli_error("convert: --rope-per-cell: '%s' is not 0 or 1", val);
                return CLI_USAGE;
            }
            rope_per_cell = val[0] - '0';
        } else if (parse_dtype(val, &dtype)) {
            cli_error("convert: --dtype: '%s' is not f32, f16 or bf16", val);
            return CLI_USAGE;
        }
    }
    if (!in || !out || dtype < 0) {
        cli_error("convert: %s is required (try --help)", !in ? "--in FILE" : !out ? "--out FILE" : "--dtype");
        return CLI_USAGE;
    }
    if (cli_check_writable("convert", "--out", out)) return CLI_FAIL;
    char msg[1024];
    gl_st *st = NULL;
    gl_st_writer *w = NULL;
    int n = 0, written = 0, rc = CLI_FAIL;
    float **bufs = NULL;
    if (gl_st_open(&st, in, msg, sizeof msg)) {
        cli_error("convert: %s", msg);
        return CLI_FAIL;
    }
    n = gl_st_count(st);
    if (ema) {
        int found = 0;
        for (int i = 0; i < n && !found; i++) found = !strncmp(gl_st_name(st, i), EMA, strlen(EMA));
        if (!gl_st_meta_get(st, "train.step") || !found) {
            cli_error("convert: %s: --ema: not a training checkpoint of a run with --ema (%s)", in,
                      !gl_st_meta_get(st, "train.step") ? "no 'train.step' in its metadata" : "no 'ema.' tensors");
            goto end;
        }
    }
    if (!(bufs = calloc((size_t)n + 1, sizeof *bufs)) || gl_st_writer_new(&w)) {
        cli_error("convert: out of memory");
        goto end;
    }
    for (int i = 0; i < gl_st_meta_count(st); i++)
        /* the run's state (step, seed) would make the file look like a checkpoint */
        if (!(ema && !strncmp(gl_st_meta_key(st, i), TRAIN_META, strlen(TRAIN_META))) &&
            gl_st_writer_set_meta(w, gl_st_meta_key(st, i), gl_st_meta_value(st, i))) {
            cli_error("convert: out of memory");
            goto end;
        }
    if (rope_per_cell >= 0) {
        const char *json = gl_st_meta_get(st, GL_DIT_CONFIG_KEY);
        gl_dit_config cfg;
        if (!json) {
            cli_error("convert: %s: no model configuration ('%s') to set rope_per_cell in", in, GL_DIT_CONFIG_KEY);
            goto end;
        }
        if (gl_dit_config_from_json(json, &cfg, msg, sizeof msg)) {
            cli_error("convert: %s: %s", in, msg);
            goto end;
        }
        cfg.rope_per_cell = rope_per_cell;
        char *s = gl_dit_config_to_json(&cfg);
        int bad = !s || gl_st_writer_set_meta(w, GL_DIT_CONFIG_KEY, s);
        free(s);
        if (bad) {
            cli_error("convert: out of memory");
            goto end;
        }
    }
    for (int i = 0; i < n; i++) {
        const char *name = gl_st_name(st, i);
        if (ema) {
            if (strncmp(name, EMA, strlen(EMA))) continue;
            name += strlen(EMA);
        }
        gl_st_dtype d = gl_st_dtype_of(st, i);
        if (d != GL_ST_F32 && d != GL_ST_F16 && d != GL_ST_BF16) {
            cli_error("convert: %s: tensor '%s' is %s; only F32, F16 and BF16 tensors convert", in,
                      gl_st_name(st, i), gl_st_dtype_name(d));
            goto end;
        }
        int64_t numel = gl_st_numel(st, i);
        if (numel > 0 && !(bufs[i] = malloc((size_t)numel * sizeof(float)))) {
            cli_error("convert: out of memory");
            goto end;
        }
        if (gl_st_read_f32(st, i, bufs[i], numel) ||
            gl_st_writer_add(w, name, (gl_st_dtype)dtype, gl_st_ndim(st, i), gl_st_shape(st, i), bufs[i])) {
            cli_error("convert: %s: cannot convert tensor '%s'", in, gl_st_name(st, i));
            goto end;
        }
        written++;
    }
    if (gl_st_writer_write(w, out, msg, sizeof msg)) {
        cli_error("convert: %s", msg);
        goto end;
    }
    printf("wrote %s: %s%s with %d tensors as %s\n", out, ema ? "the EMA weights of " : "", in, written,
           gl_st_dtype_name((gl_st_dtype)dtype));
    rc = CLI_OK;
end:
    gl_st_writer_free(&w);
    if (bufs)
        for (int i = 0; i < n; i++) free(bufs[i]);
    free(bufs);
    gl_st_free(&st);
    return rc;
}
