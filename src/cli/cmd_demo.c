/* cli/cmd_demo.c: `gridlora demo`: what the README's first command runs. With the shipped
 * model (models/default/) it runs the zero-shot apps on the committed inputs (examples/)
 * through the same code as `gridlora edit` and `compose`, into out/demo/. Without its
 * later stages it says what is missing, runs the engine self-check, and samples the base. */
#define _POSIX_C_SOURCE 200809L /* mkdir */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "app_common.h"
#include "cli.h"
#include "gridlora/gridlora.h"

#define BASE_MODEL CLI_SHIPPED_BASE
#define EXAMPLES "examples"
#define OUT_DIR "out/demo"
#define CAPTION "a blue spotted circle bouncing on grass"

static double now_seconds(void) {
    struct timespec ts;
    timespec_get(&ts, TIME_UTC);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Samples the base stage for one caption into out/demo/base.{gif,png}. */
static int sample_base(void) {
    char msg[512];
    double t0 = now_seconds();
    gl_dit *m = NULL;
    gl_tokenizer *tk = NULL;
    int32_t text[1024] = {0};
    int64_t n = 0;
    gl_video v = {0};
    int rc = CLI_FAIL;
    if (gl_dit_load(&m, BASE_MODEL, msg, sizeof msg)) {
        cli_error("demo: %s", msg);
        return CLI_FAIL;
    }
    const gl_dit_config *c = gl_dit_cfg(m);
    if (c->text_len > 1024 || gl_domain_tokenizer(c, &tk, msg, sizeof msg) ||
        gl_tokenize(tk, CAPTION, text, c->text_len, &n, msg, sizeof msg) ||
        gl_video_alloc(&v, c->frames, c->cell_h, c->cell_w)) {
        cli_error("demo: %s", msg);
        goto end;
    }
    if (mkdir("out", 0777) && errno != EEXIST) goto nodir;
    if (mkdir(OUT_DIR, 0777) && errno != EEXIST) goto nodir;
    gl_sample_opts so = gl_sample_default_opts();
    gl_sample_request r = {.F = c->frames, .H = c->cell_h, .W = c->cell_w, .text = text, .text_len = (int32_t)n};
    if (gl_sample(m, &so, &r, v.rgb, msg, sizeof msg)) {
        cli_error("demo: %s", msg);
        goto end;
    }
    int64_t total = v.frames * v.height * v.width * 3;
    for (int64_t i = 0; i < total; i++) v.rgb[i] = 0.5f * (v.rgb[i] + 1.0f);
    if (gl_video_write(OUT_DIR "/base.gif", &v, 8, msg, sizeof msg) ||
        gl_video_write(OUT_DIR "/base.png", &v, 8, msg, sizeof msg)) {
        cli_error("demo: %s", msg);
        goto end;
    }
    printf("  \"%s\": wrote %s/base.gif and %s/base.png in %.1f s (%d steps, guidance %g)\n", CAPTION, OUT_DIR,
           OUT_DIR, now_seconds() - t0, so.steps, (double)so.cfg);
    rc = CLI_OK;
    goto end;
nodir:
    cli_error("demo: cannot make %s: %s", OUT_DIR, strerror(errno));
end:
    gl_video_release(&v);
    gl_tokenizer_free(&tk);
    gl_dit_free(&m);
    return rc;
}

/* The caption of examples/heldout/FILE from its manifest, into cap; "" when absent (the
 * apps then run without --caption). */
static void heldout_caption(const char *file, char *cap, size_t n) {
    cap[0] = '\0';
    FILE *f = fopen(EXAMPLES "/heldout/manifest.jsonl", "r");
    if (!f) return;
    char line[65536];
    while (!cap[0] && fgets(line, sizeof line, f)) {
        cJSON *j = cJSON_Parse(line);
        const cJSON *jf = cJSON_GetObjectItemCaseSensitive(j, "file"),
                    *jc = cJSON_GetObjectItemCaseSensitive(j, "caption");
        if (cJSON_IsString(jf) && cJSON_IsString(jc) && !strcmp(jf->valuestring, file))
            snprintf(cap, n, "%s", jc->valuestring);
        cJSON_Delete(j);
    }
    fclose(f);
}

/* One app run as its command would do it, timed. */
static int run_app(int (*cmd)(int, char **), const char *what, char **argv, int argc) {
    printf("\n== %s ==\n", what);
    fflush(stdout);
    double t0 = now_seconds();
    int rc = cmd(argc, argv);
    printf("%s: %s in %.1f s\n", argv[0], rc == CLI_OK ? "done" : "FAILED", now_seconds() - t0);
    return rc;
}

/* The zero-shot demo on the shipped model: an edit of a held-out concept (with its true
 * edits beside it in examples/heldout/), an edit of a real clip, a composition. */
static int zero_shot_demo(void) {
    char cap0[512], cap1[512], cap2[512];
    heldout_caption("0000.mp4", cap0, sizeof cap0);
    heldout_caption("0001.mp4", cap1, sizeof cap1);
    heldout_caption("0002.mp4", cap2, sizeof cap2);
    if (!cap0[0] || !cap1[0] || !cap2[0]) {
        cli_error("demo: %s/heldout/manifest.jsonl lacks the captions of 0000-0002.mp4 (run the demo from "
                  "the source tree)", EXAMPLES);
        return CLI_FAIL;
    }
    if ((mkdir("out", 0777) && errno != EEXIST) || (mkdir(OUT_DIR, 0777) && errno != EEXIST)) {
        cli_error("demo: cannot make %s: %s", OUT_DIR, strerror(errno));
        return CLI_FAIL;
    }
    double t0 = now_seconds();
    char *edit[] = {"edit", "--input", EXAMPLES "/heldout/0000.mp4", "--caption", cap0, "--effect", "smoke",
                    "--effect", "lights", "--effect", "night", "--out", OUT_DIR "/edit"};
    char *real[] = {"edit", "--input", EXAMPLES "/walker.mp4", "--effect", "smoke", "--effect", "lights",
                    "--effect", "rain", "--out", OUT_DIR "/edit-real"};
    char *compose[] = {"compose", "--input", EXAMPLES "/heldout/0001.mp4", "--input", EXAMPLES "/heldout/0002.mp4",
                       "--caption", cap1, "--caption", cap2, "--out", OUT_DIR "/compose"};
    int rc = run_app(cmd_edit, "edit: a held-out concept with smoke, lights, night", edit,
                     (int)(sizeof edit / sizeof edit[0]));
    if (!rc) printf("the renderer's truth: " EXAMPLES "/heldout/0000.{smoke,lights,night}.mp4\n");
    if (!rc) rc = run_app(cmd_edit, "edit: a real video (" EXAMPLES "/walker.mp4) with smoke, lights, rain", real,
                          (int)(sizeof real / sizeof real[0]));
    if (!rc) rc = run_app(cmd_compose, "compose: two held-out concepts", compose,
                          (int)(sizeof compose / sizeof compose[0]));
    if (!rc) printf("the renderer's truth: " EXAMPLES "/heldout/0001.with.mp4\n");
    if (!rc)
        printf("\ndemo: wrote %s/edit, %s/edit-real and %s/compose (grid.mp4, grid.gif, sheet.png and one MP4 "
               "per output cell each) in %.1f s\n", OUT_DIR, OUT_DIR, OUT_DIR, now_seconds() - t0);
    return rc;
}

int cmd_demo(int argc, char **argv) {
    if (argc > 1) {
        if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
            printf("usage: gridlora demo\n"
                   "Run from the source tree. With the shipped model (" CLI_SHIPPED_BASE ",\n"
                   CLI_SHIPPED_GRID ", " CLI_SHIPPED_GRIDFILL "): zero-shot edits of a\n"
                   "held-out concept and of a real video, and a composition, from the inputs in " EXAMPLES "/,\n"
                   "into " OUT_DIR "/ (what 'gridlora edit' and 'gridlora compose' write), with the time\n"
                   "each took. Without its LoRA stages: the engine self-check, and a sample of the base\n"
                   "model into " OUT_DIR "/.\n");
            return CLI_OK;
        }
        cli_error("demo: takes no options (got '%s')", argv[1]);
        return CLI_USAGE;
    }
    printf("gridlora %s demo\n", GL_VERSION);
    struct stat st;
    const char *missing = stat(BASE_MODEL, &st) ? BASE_MODEL
                          : stat(CLI_SHIPPED_GRID, &st) ? CLI_SHIPPED_GRID
                          : stat(CLI_SHIPPED_GRIDFILL, &st) ? CLI_SHIPPED_GRIDFILL : NULL;
    if (!missing) return zero_shot_demo();
    printf("\nNot there yet: %s, and with it the zero-shot edit/compose demo on the sample\n"
           "videos in " EXAMPLES "/. The code for every stage exists (README, \"Commands\");\n"
           "scripts/train-default.sh trains the stages that are missing (models/default/TRAINING.md).\n\n",
           missing);
    gl_selfcheck_params sp = gl_selfcheck_default_params();
    int rc = cli_selfcheck_report(&sp);
    printf("\n%s\n", rc == CLI_OK ? "demo: engine self-check passed" : "demo: engine self-check FAILED");
    if (rc != CLI_OK) return rc;
    if (stat(BASE_MODEL, &st) != 0) {
        printf("\n%s not found (run the demo from the source tree): no base-model sample\n", BASE_MODEL);
        return CLI_OK;
    }
    printf("\nsampling the base stage (%s):\n", BASE_MODEL);
    return sample_base();
}
