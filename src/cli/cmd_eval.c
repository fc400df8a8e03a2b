/* cli/cmd_eval.c: `gridlora eval`: the paper's comparison on held-out concepts (zero-shot
 * Grid-Fill, TTFT, copying the input, the base model with words), and with --multidc the
 * check of a Multi-DC LoRA on the concepts it was trained on; both run and scored by the
 * library (pipeline/eval_run.c, pipeline/eval_multidc.c, pipeline/eval.c). Parses, loads,
 * prints the table or the JSON, and writes the optional example videos; measures nothing
 * itself. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "gridlora/core.h"
#include "gridlora/eval.h"
#include "gridlora/lora.h"
#include "gridlora/model.h"
#include "gridlora/video.h"
#include "app_common.h"
#include "train_common.h"

#define MAX_LORAS 8

static void usage(FILE *f) {
    fprintf(f,
            "usage: gridlora eval --heldout N --seed S [--json] [--model BASE] [--lora FILE[:W] ...]\n"
            "                     [--ttft-steps K | --no-ttft] [--steps N] [--cfg S]\n"
            "                     [--zeroshot-steps N] [--zeroshot-cfg S] [--context-cfg S] [--strength S]\n"
            "                     [--shift S]\n"
            "                     [--out DIR [--out-concepts K]] [--split heldout|train] [--threads T]\n"
            "Zero-shot personalization against test-time fine-tuning, on N held-out concepts (those\n"
            "of 'gridlora dataset --split heldout --count N --seed S'), each output scored against the\n"
            "renderer's exact truth. For each effect (smoke, lights, night, rain, shadow), for\n"
            "composition (the concept with the next one behind it), for 'same' (the concept\n"
            "regenerated unchanged: its truth is the input) and for 'scene', 'path' and 'both' (the\n"
            "concept on another background, along another kind of path, the two at once), four methods:\n"
            "  zeroshot  one Grid-Fill sampling run per layout, as 'gridlora edit' (twice: three\n"
            "            effects, then two and the caption alone), 'gridlora compose' run with\n"
            "            the captions as --caption (its bottom cells prompted with the pair's\n"
            "            caption, \"a red star and a blue ring on sand\") and 'gridlora character'\n"
            "            (the scene's, the path's and both changes' captions as --prompt)\n"
            "  ttft      a LoRA fine-tuned on the input as 'gridlora finetune' does, with the caption\n"
            "            holding the token (\"a <v> red striped star ...\"), then sampled with each edit\n"
            "  copy      the input unchanged\n"
            "  base      the base model, no adapter, prompted with the edit's caption\n"
            "Scores (means over concepts): PSNR against the truth (dB, 100 for identical videos);\n"
            "identity, the subject's colour mean and spread against the truth's where the renderer\n"
            "put it (0 best; the JSON gives its spread part too, identity_spread); motion, the\n"
            "distance in pixels between the foreground centroid paths of output and truth\n"
            "(background subtraction), and, beside it, against the renderer's own path; effect\n"
            "presence, each effect's statistic of the output against the truth's (composition:\n"
            "the partner's pixels); temporal, the frame-to-frame change against the truth's; and\n"
            "the wall time per concept.\n"
            "  --model BASE     default " CLI_SHIPPED_BASE "\n"
            "  --lora FILE[:W]  zero-shot's adapters in order, the Grid LoRA then the Grid-Fill LoRA\n"
            "                   (default models/default/grid.safetensors, models/default/gridfill.safetensors)\n"
            "  --ttft-steps K   steps of each TTFT stage (default %lld, as finetune); --no-ttft skips it\n"
            "  --steps N, --cfg S, --shift S  every method's sampling (defaults 20, 3, 2; seed 1;\n"
            "                   zero-shot's steps 10, guidance 1 and shift 8, as the grid apps', unless\n"
            "                   --steps, --cfg or --shift is given)\n"
            "  --zeroshot-steps N, --zeroshot-cfg S  zero-shot's steps or guidance alone, its edit,\n"
            "                   compose and character runs (default: --steps's or --cfg's when given,\n"
            "                   else 10 and 1, none, as the grid apps)\n"
            "  --context-cfg S  zero-shot's guidance by its input cells (default 1, none, as the grid\n"
            "                   apps; see 'gridlora edit --help')\n"
            "  --strength S     the noise level zero-shot's output cells start from, each from its\n"
            "                   input cell (default 1, pure noise, as the grid apps; see 'gridlora\n"
            "                   edit --help')\n"
            "  --json           one JSON object on stdout instead of the table\n"
            "  --out DIR        for the first K concepts (--out-concepts, default 2) writes DIR/NNNN/\n"
            "                   <item>.<input|truth|zeroshot|ttft|base>.mp4 and .gif (copy is the input)\n"
            "                   and <item>.png, a contact sheet of the same rows in that order\n"
            "  --split train    score concepts of the training split instead (those of 'gridlora\n"
            "                   dataset --count N --seed S'): with a stage's own data set seed, the\n"
            "                   concepts it was trained on, to tell memory from generalisation\n"
            "Progress goes to stderr. TTFT is slow: a training run per concept.\n"
            "\n"
            "usage: gridlora eval --multidc ADAPTER[:W] --data DIR [--model BASE] [--json] [--steps N]\n"
            "                     [--cfg S] [--shift S] [--seed S] [--out DIR] [--threads T]\n"
            "Does a Multi-DC LoRA ('gridlora train multidc') regenerate each concept of DIR, the data\n"
            "set it was trained on, from its token? Each concept is sampled three ways:\n"
            "  token    \"a <cK>\", the adapter attached: the token alone\n"
            "  prompt   the manifest's prompt, \"a <cK> red striped star orbiting on sand\", the adapter attached\n"
            "  caption  the caption without the token, the base model alone: what words alone give\n"
            "and scored against the concept's own video (DIR's file as training read it; the subject\n"
            "where the concept's JSON, re-rendered, puts it): PSNR, identity, motion and path as above.\n"
            "One row per concept, then the mean of each way.\n"
            "  --model BASE     the base the adapter was made for, default " CLI_SHIPPED_BASE "\n"
            "  --seed S         the sampling noise, the same for the three (default 1); with --steps,\n"
            "                   --cfg, --shift as above\n"
            "  --out DIR        DIR/NNNN.<truth|token|prompt|caption>.png (frames side by side) and .gif\n"
            "                   per concept, and DIR/NNNN.png with the four as rows in that order\n",
            (long long)gl_ttft_default_opts().set_steps);
}

typedef struct eval_cli {
    const char *out;
    long out_concepts;
    int json;
    cli_progress pr;
    char msg[1024];
} eval_cli;

static void on_status(void *ctx, const char *line) {
    (void)ctx;
    fprintf(stderr, "eval: %s\n", line);
    fflush(stderr);
}

static int before_stage(void *ctx, int stage, const gl_lora *l, gl_train_opts *o, char *msg, size_t msglen) {
    (void)l, (void)msg, (void)msglen;
    eval_cli *e = ctx;
    cli_progress_init(&e->pr, stage == GL_MULTIDC_SET ? "ttft set: " : "ttft sequence: ", o->steps, o->batch);
    o->progress = cli_on_step;
    o->progress_ctx = &e->pr;
    return 0;
}

static int on_item(void *ctx, int64_t concept, int item, const gl_video *const *rows, int n) {
    static const char *const role[2 + GL_EVAL_METHODS] = {"input", "truth", "zeroshot", "ttft", "copy", "base"};
    eval_cli *e = ctx;
    if (!e->out || concept >= e->out_concepts) return 0;
    char dir[4096], path[4200], why[1024];
    snprintf(dir, sizeof dir, "%s/%04lld", e->out, (long long)concept);
    int rc = cli_make_dirs(dir, why, sizeof why);
    const gl_video *sheet[2 + GL_EVAL_METHODS];
    int ns = 0;
    for (int k = 0; k < n && k < 2 + GL_EVAL_METHODS && !rc; k++) {
        if (!rows[k] || k == 2 + GL_EVAL_COPY) continue; /* copy's rows are the input's */
        sheet[ns++] = rows[k];
        for (int g = 0; g < 2 && !rc; g++) {
            snprintf(path, sizeof path, "%s/%s.%s.%s", dir, gl_eval_item_name(item), role[k], g ? "gif" : "mp4");
            rc = gl_video_write(path, rows[k], 8, why, sizeof why);
        }
    }
    if (!rc) {
        snprintf(path, sizeof path, "%s/%s.png", dir, gl_eval_item_name(item));
        rc = gl_contact_sheet_write(path, sheet, ns, 4, why, sizeof why);
    }
    if (rc) {
        snprintf(e->msg, sizeof e->msg, "--out: %.1000s", why);
        return rc < 0 ? rc : GL_EIO;
    }
    fprintf(stderr, "eval: wrote %s/%s.*.mp4, .gif and %s.png\n", dir, gl_eval_item_name(item),
            gl_eval_item_name(item));
    return 0;
}

static void fmt(char *buf, size_t len, const char *f, double v) {
    if (isfinite(v)) snprintf(buf, len, f, v);
    else snprintf(buf, len, "-");
}

static void print_table(const gl_eval_params *p, const gl_eval_concept *c, int64_t n) {
    for (int k = 0; k < GL_EVAL_ITEMS; k++) {
        printf("\n%-10s %9s %9s %10s %8s %13s %13s\n", gl_eval_item_name(k), "PSNR dB", "identity", "motion px",
               "path px", "presence err", "temporal err");
        gl_eval_scores truth = gl_eval_mean(c, n, k, GL_EVAL_COPY);
        for (int mth = 0; mth < GL_EVAL_METHODS; mth++) {
            if (mth == GL_EVAL_TTFT && !p->ttft) continue;
            gl_eval_scores s = gl_eval_mean(c, n, k, mth);
            char a[6][32];
            fmt(a[0], sizeof a[0], "%.2f", s.psnr);
            fmt(a[1], sizeof a[1], "%.4f", s.identity);
            fmt(a[2], sizeof a[2], "%.2f", s.motion);
            fmt(a[3], sizeof a[3], "%.2f", s.motion_path);
            fmt(a[4], sizeof a[4], "%.4f", fabs(s.presence - s.presence_truth));
            fmt(a[5], sizeof a[5], "%.4f", fabs(s.temporal - s.temporal_truth));
            printf("  %-8s %9s %9s %10s %8s %13s %13s\n", gl_eval_method_name(mth), a[0],
                   a[1], a[2], a[3], a[4], a[5]);
        }
        double floor = 0;
        int64_t cnt = 0;
        for (int64_t i = 0; i < n; i++)
            if (isfinite(c[i].motion_floor[k])) {
                floor += c[i].motion_floor[k];
                cnt++;
            }
        char pt[32];
        fmt(pt, sizeof pt, "%.4f", truth.presence_truth);
        printf("  truth: presence %s, temporal %.4f; its own path error (the estimator's floor) %.2f px\n", pt,
               truth.temporal_truth, cnt ? floor / (double)cnt : NAN);
    }
    printf("\nwall time per concept (all %d items):", GL_EVAL_ITEMS);
    for (int mth = 0; mth < GL_EVAL_METHODS; mth++) {
        if (mth == GL_EVAL_TTFT && !p->ttft) continue;
        double s = 0, tr = 0;
        for (int64_t i = 0; i < n; i++) {
            s += c[i].seconds[mth];
            tr += c[i].ttft_train_seconds;
        }
        printf("  %s %.2f s", gl_eval_method_name(mth), s / (double)n);
        if (mth == GL_EVAL_TTFT) printf(" (training %.2f s)", tr / (double)n);
    }
    printf("\nidentity: mean over channels of |mean - mean truth| + |std - std truth| of the subject's colours;\n"
           "motion: centroid paths of the estimated foreground, output against truth; path: against the\n"
           "renderer's path; presence and temporal: |output's statistic - truth's|. Lower is better but PSNR.\n");
}

/* ---- --multidc ----------------------------------------------------------------------- */

static const char *const MDC_ROLES[1 + GL_EVAL_MDC_METHODS] = {"truth", "token", "prompt", "caption"};

typedef struct mdc_cli {
    const char *out;
    char msg[1024];
} mdc_cli;

static int mdc_on_concept(void *ctx, int64_t concept, const gl_video *const *rows, int n) {
    mdc_cli *e = ctx;
    if (!e->out) return 0;
    char path[4200], why[1024];
    int rc = cli_make_dirs(e->out, why, sizeof why);
    for (int k = 0; k < n && !rc; k++)
        for (int g = 0; g < 2 && !rc; g++) {
            snprintf(path, sizeof path, "%s/%04lld.%s.%s", e->out, (long long)concept, MDC_ROLES[k], g ? "gif" : "png");
            rc = gl_video_write(path, rows[k], 8, why, sizeof why);
        }
    if (!rc) {
        snprintf(path, sizeof path, "%s/%04lld.png", e->out, (long long)concept);
        rc = gl_contact_sheet_write(path, rows, n, 4, why, sizeof why);
    }
    if (rc) {
        snprintf(e->msg, sizeof e->msg, "--out: %.1000s", why);
        return rc < 0 ? rc : GL_EIO;
    }
    return 0;
}

static void mdc_table(const char *adapter, const char *data, const char *model, const gl_eval_multidc_params *p,
                      const gl_dit_config *cfg, const gl_eval_multidc_concept *c, int64_t n) {
    printf("gridlora eval --multidc: %s on %s (%lld concepts), base %s; %lld frames of %lldx%lld\n", adapter, data,
           (long long)n, model, (long long)cfg->frames, (long long)cfg->cell_w, (long long)cfg->cell_h);
    printf("sampling %d steps, cfg %g, seed %llu; token: \"a <cK>\" with the adapter; prompt: the manifest's prompt "
           "with it; caption: the words, base model alone\n\n", p->so.steps, (double)p->so.cfg,
           (unsigned long long)p->so.seed);
    static const char *const groups[4] = {"PSNR dB", "identity", "motion px", "path px"};
    printf("%-5s %-7s", "", "");
    for (int g = 0; g < 4; g++) printf(g < 3 ? "  %-23s" : "  %s", groups[g]); /* over its three columns */
    printf("\n%-5s %-7s", "#", "token");
    for (int g = 0; g < 4; g++) printf("  %7s %7s %7s", "token", "prompt", "caption");
    printf("  caption\n");
    for (int64_t i = 0; i < n; i++) {
        printf("%-5lld %-7s", (long long)c[i].index, c[i].token);
        for (int g = 0; g < 4; g++) {
            printf(" ");
            for (int k = 0; k < GL_EVAL_MDC_METHODS; k++) {
                const gl_eval_multidc_scores *s = &c[i].s[k];
                const double v[4] = {s->psnr, s->identity, s->motion, s->motion_path};
                char a[32];
                fmt(a, sizeof a, g == 1 ? "%.4f" : "%.2f", v[g]);
                printf(" %7s", a);
            }
        }
        printf("  %s\n", c[i].prompts[GL_EVAL_MDC_CAPTION]);
    }
    static const char *const what[GL_EVAL_MDC_METHODS] = {"\"a <cK>\", adapter", "prompt, adapter",
                                                          "caption, base alone"};
    char label[64];
    snprintf(label, sizeof label, "mean over %lld concepts", (long long)n);
    printf("\n%-35s %9s %9s %10s %8s\n", label, "PSNR dB", "identity", "motion px", "path px");
    double floor = 0, worst = INFINITY;
    int64_t cnt = 0;
    for (int k = 0; k < GL_EVAL_MDC_METHODS; k++) {
        gl_eval_multidc_scores s = gl_eval_multidc_mean(c, n, k);
        char a[4][32];
        fmt(a[0], sizeof a[0], "%.2f", s.psnr);
        fmt(a[1], sizeof a[1], "%.4f", s.identity);
        fmt(a[2], sizeof a[2], "%.2f", s.motion);
        fmt(a[3], sizeof a[3], "%.2f", s.motion_path);
        printf("  %-8s %-24s %9s %9s %10s %8s\n", gl_eval_multidc_method_name(k), what[k], a[0], a[1], a[2], a[3]);
    }
    for (int64_t i = 0; i < n; i++) {
        if (isfinite(c[i].motion_floor)) {
            floor += c[i].motion_floor;
            cnt++;
        }
        worst = fmin(worst, c[i].render_psnr);
    }
    printf("truth: its own path error (the estimator's floor) %.2f px; the re-rendered concepts match the files to "
           "%.1f dB or better\n", cnt ? floor / (double)cnt : NAN, worst);
    printf("identity: mean over channels of |mean - mean truth| + |std - std truth| of the subject's colours; motion:\n"
           "centroid paths of the estimated foreground, sample against truth; path: against the renderer's path.\n"
           "Lower is better but PSNR.\n");
}

/* The --multidc mode, its options parsed: loads, runs every concept, reports. */
static int run_multidc(const gl_sample_opts *so, const char *adapter, const char *data, const char *model, int json,
                       const char *out) {
    if (out && cli_check_out_dir("eval", out)) return CLI_FAIL;
    if (cli_use_shipped_base("eval", &model)) return CLI_FAIL;
    gl_eval_multidc_params p = gl_eval_multidc_default_params();
    mdc_cli e = {.out = out};
    p.so = *so;
    p.on_status = on_status;
    p.on_concept = mdc_on_concept;
    p.ctx = &e;
    gl_dit *m = NULL;
    gl_lora *l = NULL;
    gl_eval_multidc_data *d = NULL;
    gl_eval_multidc_concept *res = NULL;
    cJSON *j = NULL;
    int rc = CLI_FAIL;
    double t0 = cli_now();
    if (gl_dit_load(&m, model, e.msg, sizeof e.msg)) {
        cli_error("eval: %s", e.msg);
        goto end;
    }
    if ((rc = cli_load_loras("eval", m, &adapter, 1, 0, &l, &p.lora_weight)) != CLI_OK) goto end;
    rc = CLI_FAIL;
    p.lora = l;
    if (gl_eval_multidc_open(&d, data, gl_dit_cfg(m), e.msg, sizeof e.msg)) {
        cli_error("eval: %s", e.msg);
        goto end;
    }
    if (gl_eval_multidc_check_lora(d, l, e.msg, sizeof e.msg)) {
        cli_error("eval: %s: %s", adapter, e.msg);
        goto end;
    }
    const int64_t n = gl_eval_multidc_count(d);
    if (!(res = calloc((size_t)n, sizeof *res))) {
        cli_error("eval: out of memory for %lld concepts", (long long)n);
        goto end;
    }
    const gl_dit_config *cfg = gl_dit_cfg(m);
    fprintf(stderr, "eval: --multidc %s on %s: %lld concepts, %lld frames of %lldx%lld; base %s\n", adapter, data,
            (long long)n, (long long)cfg->frames, (long long)cfg->cell_w, (long long)cfg->cell_h, model);
    for (int64_t i = 0; i < n; i++) {
        char why[1024];
        e.msg[0] = '\0';
        if (gl_eval_multidc_run(m, d, &p, i, &res[i], why, sizeof why)) {
            if (e.msg[0]) cli_error("eval: %s", e.msg); /* the writer's own failure says more */
            else cli_error("%s", why);
            goto end;
        }
        fprintf(stderr, "eval: concept %lld/%lld done (%s): PSNR token %.2f, prompt %.2f, caption %.2f dB\n",
                (long long)i + 1, (long long)n, res[i].token, res[i].s[GL_EVAL_MDC_TOKEN].psnr,
                res[i].s[GL_EVAL_MDC_PROMPT].psnr, res[i].s[GL_EVAL_MDC_CAPTION].psnr);
        if (out) fprintf(stderr, "eval: wrote %s/%04lld.png, .<truth|token|prompt|caption>.png and .gif\n", out,
                         (long long)i);
    }
    if (json) {
        char *text = NULL;
        int ok = (j = gl_eval_multidc_json(&p, m, res, n)) && cJSON_AddStringToObject(j, "model", model) &&
                 cJSON_AddStringToObject(j, "adapter", adapter) && cJSON_AddStringToObject(j, "data", data);
        if (!ok || !(text = cJSON_Print(j))) {
            cli_error("eval: out of memory for the JSON");
            goto end;
        }
        printf("%s\n", text);
        cJSON_free(text);
    } else {
        mdc_table(adapter, data, model, &p, cfg, res, n);
    }
    fprintf(stderr, "eval: %.1f s in all\n", cli_now() - t0);
    rc = CLI_OK;
end:
    cJSON_Delete(j);
    free(res);
    gl_eval_multidc_free(&d);
    gl_dit_detach_loras(m);
    gl_lora_free(&l);
    gl_dit_free(&m);
    return rc;
}

int cmd_eval(int argc, char **argv) {
    gl_eval_params p = gl_eval_default_params();
    eval_cli e = {.out_concepts = 2};
    const char *model = NULL, *loras[MAX_LORAS], *multidc = NULL, *data = NULL, *heldout_only = NULL;
    int n_lora = 0, have_heldout = 0, have_seed = 0, no_ttft = 0, have_zeroshot_cfg = 0, have_zeroshot_steps = 0;
    long ttft_steps = 0, v = 0;
    double d = 0;
    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i], *val = NULL;
        if (!strcmp(opt, "--help") || !strcmp(opt, "-h")) {
            usage(stdout);
            return CLI_OK;
        }
        if (!strcmp(opt, "--json")) {
            e.json = 1;
            continue;
        }
        if (!strcmp(opt, "--no-ttft")) {
            no_ttft = 1;
            heldout_only = heldout_only ? heldout_only : opt;
            continue;
        }
        static const char *const valued[] = {"--heldout", "--seed", "--model", "--lora", "--ttft-steps", "--steps",
                                             "--zeroshot-steps", "--cfg", "--zeroshot-cfg", "--context-cfg", "--strength",
                                             "--shift", "--out", "--out-concepts", "--threads", "--multidc", "--data",
                                             "--split"};
        int known = 0;
        for (size_t k = 0; k < sizeof valued / sizeof valued[0]; k++) known |= !strcmp(opt, valued[k]);
        if (!known) {
            cli_error("eval: %s '%s' (try --help)", strncmp(opt, "--", 2) ? "unexpected argument" : "unknown option",
                      opt);
            return CLI_USAGE;
        }
        if (!(val = cli_value("eval", argc, argv, &i))) return CLI_USAGE;
        if ((!strcmp(opt, "--model") || !strcmp(opt, "--lora") || !strcmp(opt, "--out") || !strcmp(opt, "--multidc") ||
             !strcmp(opt, "--data")) && !*val) {
            cli_error("eval: %s: empty value", opt);
            return CLI_USAGE;
        }
        if (!heldout_only && (!strcmp(opt, "--heldout") || !strcmp(opt, "--lora") || !strcmp(opt, "--ttft-steps") ||
                              !strcmp(opt, "--out-concepts") || !strcmp(opt, "--zeroshot-cfg") ||
                              !strcmp(opt, "--zeroshot-steps") || !strcmp(opt, "--context-cfg") ||
                              !strcmp(opt, "--strength") || !strcmp(opt, "--split")))
            heldout_only = opt;
        if (!strcmp(opt, "--multidc")) {
            multidc = val;
        } else if (!strcmp(opt, "--data")) {
            data = val;
        } else if (!strcmp(opt, "--heldout")) {
            if (cli_parse_long("eval", opt, val, 1, 10000, &v)) return CLI_USAGE;
            p.heldout = v;
            have_heldout = 1;
        } else if (!strcmp(opt, "--seed")) {
            if (cli_parse_long("eval", opt, val, 0, 2147483647L, &v)) return CLI_USAGE;
            p.seed = (uint64_t)v;
            have_seed = 1;
        } else if (!strcmp(opt, "--model")) {
            model = val;
        } else if (!strcmp(opt, "--lora")) {
            if (n_lora == MAX_LORAS) {
                cli_error("eval: more than %d adapters", MAX_LORAS);
                return CLI_USAGE;
            }
            loras[n_lora++] = val;
        } else if (!strcmp(opt, "--ttft-steps")) {
            if (cli_parse_long("eval", opt, val, 1, 1000000000L, &ttft_steps)) return CLI_USAGE;
        } else if (!strcmp(opt, "--steps")) {
            if (cli_parse_long("eval", opt, val, 1, 10000, &v)) return CLI_USAGE;
            p.so.steps = (int)v;
            if (!have_zeroshot_steps) p.zeroshot_steps = (int)v;
        } else if (!strcmp(opt, "--zeroshot-steps")) {
            if (cli_parse_long("eval", opt, val, 1, 10000, &v)) return CLI_USAGE;
            p.zeroshot_steps = (int)v;
            have_zeroshot_steps = 1;
        } else if (!strcmp(opt, "--cfg")) {
            if (cli_parse_float("eval", opt, val, 0, 100, 0, &d)) return CLI_USAGE;
            p.so.cfg = (float)d;
            if (!have_zeroshot_cfg) p.zeroshot_cfg = (float)d;
        } else if (!strcmp(opt, "--zeroshot-cfg")) {
            if (cli_parse_float("eval", opt, val, 0, 100, 0, &d)) return CLI_USAGE;
            p.zeroshot_cfg = (float)d;
            have_zeroshot_cfg = 1;
        } else if (!strcmp(opt, "--context-cfg")) {
            if (cli_parse_float("eval", opt, val, 0, 100, 0, &d)) return CLI_USAGE;
            p.so.context_cfg = (float)d;
        } else if (!strcmp(opt, "--strength")) {
            if (cli_parse_float("eval", opt, val, 0, 1, 1, &d)) return CLI_USAGE;
            p.zeroshot_strength = (float)d;
        } else if (!strcmp(opt, "--shift")) {
            if (cli_parse_float("eval", opt, val, 0, 100, 1, &d)) return CLI_USAGE;
            p.so.shift = (float)d;
            p.zeroshot_shift = (float)d;
        } else if (!strcmp(opt, "--split")) {
            if (cli_parse_split("eval", val, &p.split)) return CLI_USAGE;
        } else if (!strcmp(opt, "--out")) {
            e.out = val;
        } else if (!strcmp(opt, "--out-concepts")) {
            if (cli_parse_long("eval", opt, val, 1, 100000, &e.out_concepts)) return CLI_USAGE;
        } else { /* --threads */
            if (cli_parse_long("eval", opt, val, 1, 4096, &v)) return CLI_USAGE;
            gl_set_threads((int)v);
        }
    }
    if (multidc || data) {
        if (!multidc || !data) {
            cli_error("eval: %s (try --help)", !multidc ? "--data DIR needs --multidc ADAPTER"
                                                         : "--multidc ADAPTER needs --data DIR, the data set it was "
                                                           "trained on");
            return CLI_USAGE;
        }
        if (heldout_only) {
            cli_error("eval: %s is not an option of --multidc (try --help)", heldout_only);
            return CLI_USAGE;
        }
        if (have_seed) p.so.seed = p.seed; /* here the sampling's: there are no held-out concepts to draw */
        return run_multidc(&p.so, multidc, data, model, e.json, e.out);
    }
    if (!have_heldout || !have_seed) {
        cli_error("eval: %s is required (try --help)", !have_heldout ? "--heldout N" : "--seed S");
        return CLI_USAGE;
    }
    if (no_ttft && ttft_steps) {
        cli_error("eval: --ttft-steps and --no-ttft exclude each other");
        return CLI_USAGE;
    }
    if (e.out && cli_check_out_dir("eval", e.out)) return CLI_FAIL;
    if (cli_use_shipped("eval", &model, loras, &n_lora)) return CLI_FAIL;
    p.ttft = !no_ttft;
    if (ttft_steps) p.ttft_opts.set_steps = p.ttft_opts.seq_steps = ttft_steps;
    p.ttft_opts.before_stage = before_stage;
    p.ttft_opts.hook_ctx = &e;
    p.on_status = on_status;
    p.on_item = on_item;
    p.ctx = &e;

    gl_dit *m = NULL;
    gl_lora *ad[MAX_LORAS] = {0};
    float w[MAX_LORAS];
    gl_eval_concept *res = NULL;
    cJSON *j = NULL;
    int rc = CLI_FAIL;
    double t0 = cli_now();
    if (gl_dit_load(&m, model, e.msg, sizeof e.msg)) {
        cli_error("eval: %s", e.msg);
        goto end;
    }
    if ((rc = cli_load_loras("eval", m, loras, n_lora, 0, ad, w)) != CLI_OK) goto end;
    rc = CLI_FAIL;
    if (!(res = calloc((size_t)p.heldout, sizeof *res))) {
        cli_error("eval: out of memory for %lld concepts", (long long)p.heldout);
        goto end;
    }
    p.loras = ad;
    p.lora_weights = w;
    p.n_loras = n_lora;
    const gl_dit_config *cfg = gl_dit_cfg(m);
    const char *which = p.split == GL_SPLIT_TRAIN ? "training-split" : "held-out";
    fprintf(stderr, "eval: %lld %s concepts (seed %llu), %lld frames of %lldx%lld; %s with %d adapter%s\n",
            (long long)p.heldout, which, (unsigned long long)p.seed, (long long)cfg->frames,
            (long long)cfg->cell_w, (long long)cfg->cell_h, model, n_lora, n_lora == 1 ? "" : "s");
    for (int64_t i = 0; i < p.heldout; i++) {
        e.msg[0] = '\0';
        char why[1024];
        if (gl_eval_concept_run(m, &p, i, &res[i], why, sizeof why)) {
            cli_progress_end_line(&e.pr);
            if (e.msg[0]) cli_error("eval: %s", e.msg); /* the writer's own failure says more */
            else cli_error("%s", why);
            goto end;
        }
        fprintf(stderr, "eval: concept %lld/%lld done (\"%s\"):", (long long)i + 1, (long long)p.heldout,
                res[i].caption);
        for (int mth = 0; mth < GL_EVAL_METHODS; mth++)
            if (res[i].ran[mth]) fprintf(stderr, " %s %.2f s", gl_eval_method_name(mth), res[i].seconds[mth]);
        fprintf(stderr, "\n");
    }
    if (e.json) {
        char *text = NULL;
        cJSON *arr = NULL;
        int ok = (j = gl_eval_json(&p, m, res, p.heldout)) && cJSON_AddStringToObject(j, "model", model) &&
                 (arr = cJSON_AddArrayToObject(j, "loras"));
        for (int k = 0; ok && k < n_lora; k++) ok = cJSON_AddItemToArray(arr, cJSON_CreateString(loras[k]));
        if (!ok || !(text = cJSON_Print(j))) {
            cli_error("eval: out of memory for the JSON");
            goto end;
        }
        printf("%s\n", text);
        cJSON_free(text);
    } else {
        printf("gridlora eval: %lld %s concepts (seed %llu), %lld frames of %lldx%lld; %s", (long long)p.heldout,
               which, (unsigned long long)p.seed, (long long)cfg->frames, (long long)cfg->cell_w,
               (long long)cfg->cell_h, model);
        for (int k = 0; k < n_lora; k++) printf("%s%s", k ? ", " : " with ", loras[k]);
        printf("\nsampling %d steps (zero-shot's %d), cfg %g (zero-shot's %g, by its inputs %g), shift %g "
               "(zero-shot's %g), zero-shot from strength %g; ",
               p.so.steps, p.zeroshot_steps, (double)p.so.cfg, (double)p.zeroshot_cfg, (double)p.so.context_cfg,
               (double)p.so.shift, (double)p.zeroshot_shift, (double)p.zeroshot_strength);
        if (p.ttft) printf("TTFT %lld + %lld steps\n", (long long)p.ttft_opts.set_steps, (long long)p.ttft_opts.seq_steps);
        else printf("no TTFT\n");
        print_table(&p, res, p.heldout);
    }
    fprintf(stderr, "eval: %.1f s in all\n", cli_now() - t0);
    rc = CLI_OK;
end:
    cJSON_Delete(j);
    free(res);
    gl_dit_detach_loras(m);
    for (int k = 0; k < n_lora; k++) gl_lora_free(&ad[k]);
    gl_dit_free(&m);
    return rc;
}
