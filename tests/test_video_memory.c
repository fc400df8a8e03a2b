/* tests/test_video_memory.c: gl_video_read_memory (FFmpeg custom I/O over a buffer)
 * against gl_video_read of the same bytes in a file, and its refusals: an empty or
 * garbage buffer, a truncated clip, a concat list that points at a file on disk. Fixtures are
 * made at test time by the ffmpeg program in a temporary directory. */
#define _POSIX_C_SOURCE 200809L /* mkdtemp, getcwd, chdir */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gridlora/core.h"
#include "gridlora/video.h"
#include "testutil.h"

typedef struct fx {
    char dir[64];
} fx;

static int fx_setup(void **state) {
    if (system("command -v ffmpeg >/dev/null 2>&1") != 0) {
        print_error("the ffmpeg program is missing: run scripts/install-deps.sh\n");
        return -1;
    }
    fx *f = test_calloc(1, sizeof *f);
    if (!f) return -1;
    snprintf(f->dir, sizeof f->dir, "/tmp/gl_test_vmem_XXXXXX");
    if (!mkdtemp(f->dir)) {
        test_free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static int fx_teardown(void **state) {
    fx *f = *state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    int rc = system(cmd);
    test_free(f);
    return rc == 0 ? 0 : -1;
}

static void path_of(const fx *f, const char *name, char *out, size_t n) {
    snprintf(out, n, "%s/%s", f->dir, name);
}

static void ffmpeg(const fx *f, const char *args) {
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "cd '%s' && ffmpeg -nostdin -v error -y %s", f->dir, args);
    if (system(cmd) != 0) fail_msg("fixture command failed: %s", cmd);
}

/* The whole file, in a test_malloc'd buffer; *n its size. */
static unsigned char *slurp(const char *path, size_t *n) {
    FILE *fp = fopen(path, "rb");
    if (!fp) fail_msg("cannot open fixture %s", path);
    fseek(fp, 0, SEEK_END);
    long len = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    assert_true(len > 0);
    unsigned char *b = test_malloc((size_t)len);
    assert_int_equal(fread(b, 1, (size_t)len, fp), (size_t)len);
    fclose(fp);
    *n = (size_t)len;
    return b;
}

static gl_video_read_opts opts(int64_t frames, int64_t w, int64_t h) {
    gl_video_read_opts o = gl_video_read_default_opts();
    o.frames = frames;
    o.width = w;
    o.height = h;
    return o;
}

/* Reads `name` (in the fixture directory) from its file and from memory: the same floats,
 * bit for bit, and the same source description (the container's name may differ for
 * images: a file is read by image2, a buffer by the format's pipe demuxer). */
static void same_both_ways(const fx *f, const char *name, gl_video_read_opts o, int same_container) {
    char path[320], msg[512] = "";
    path_of(f, name, path, sizeof path);
    gl_video a = {0}, b = {0};
    gl_video_read_info ia, ib;
    int err = gl_video_read(path, &o, &a, &ia, msg, sizeof msg);
    if (err) fail_msg("file %s: %d: %s", path, err, msg);
    size_t n = 0;
    unsigned char *buf = slurp(path, &n);
    err = gl_video_read_memory(buf, n, name, &o, &b, &ib, msg, sizeof msg);
    test_free(buf);
    if (err) fail_msg("memory %s: %d: %s", name, err, msg);
    assert_int_equal(a.frames, b.frames);
    assert_int_equal(a.height, b.height);
    assert_int_equal(a.width, b.width);
    assert_memory_equal(a.rgb, b.rgb, (size_t)(a.frames * a.height * a.width * 3) * sizeof(float));
    assert_int_equal(ia.source_frames, ib.source_frames);
    assert_int_equal(ia.source_width, ib.source_width);
    assert_int_equal(ia.source_height, ib.source_height);
    assert_int_equal(ia.repeated, ib.repeated);
    assert_string_equal(ia.codec, ib.codec);
    if (same_container) assert_string_equal(ia.container, ib.container);
    gl_video_release(&a);
    gl_video_release(&b);
}

/* H.264 in .mp4 with the index (moov) at the end, as ffmpeg writes it by default: the
 * demuxer must seek to the end and back, through the seek callback. */
static void memory_matches_file_mp4(void **state) {
    fx *f = *state;
    ffmpeg(f, "-f lavfi -i 'testsrc2=size=96x64:rate=12:duration=1,hue=H=2*PI*t' "
              "-pix_fmt yuv420p clip.mp4");
    same_both_ways(f, "clip.mp4", opts(8, 32, 32), 1);
    same_both_ways(f, "clip.mp4", opts(20, 16, 24), 1); /* repeats frames */
}

static void memory_matches_file_gif_png(void **state) {
    fx *f = *state;
    ffmpeg(f, "-f lavfi -i 'testsrc2=size=48x40:rate=6:duration=1' clip.gif");
    ffmpeg(f, "-f lavfi -i 'testsrc2=size=48x40:rate=1:duration=1' -frames:v 1 still.png");
    same_both_ways(f, "clip.gif", opts(4, 16, 16), 1);
    same_both_ways(f, "still.png", opts(2, 16, 16), 0);
}

static void memory_rejects_empty_and_garbage(void **state) {
    fx *f = *state;
    char msg[512] = "";
    gl_video v = {0};
    gl_video_read_opts o = opts(2, 16, 16);
    static const unsigned char one = 0;
    assert_int_equal(gl_video_read_memory(&one, 0, "upload", &o, &v, NULL, msg, sizeof msg),
                     GL_EFORMAT);
    assert_string_equal(msg, "upload: empty buffer");
    assert_null(v.rgb);
    assert_int_equal(gl_video_read_memory(NULL, 0, NULL, &o, &v, NULL, msg, sizeof msg), GL_EFORMAT);
    assert_string_equal(msg, "(memory): empty buffer");
    assert_int_equal(gl_video_read_memory(NULL, 10, "upload", &o, &v, NULL, msg, sizeof msg),
                     GL_EINVAL);
    assert_int_equal(gl_video_read_memory(&one, 1, "upload", &o, NULL, NULL, msg, sizeof msg),
                     GL_EINVAL);
    gl_video_read_opts bad = opts(0, 16, 16);
    assert_int_equal(gl_video_read_memory(&one, 1, "upload", &bad, &v, NULL, msg, sizeof msg),
                     GL_EINVAL);

    /* garbage: text, and pseudo-random bytes */
    const char *text = "this is not a video, just a line of text\n";
    int err = gl_video_read_memory(text, strlen(text), "notes.txt", &o, &v, NULL, msg, sizeof msg);
    assert_true(err < 0);
    assert_null(v.rgb);
    assert_true(strncmp(msg, "notes.txt: ", 11) == 0);
    print_message("text: %s\n", msg);
    unsigned char noise[4096];
    tu_rng r;
    tu_seed(&r, 7);
    for (size_t i = 0; i < sizeof noise; i++) noise[i] = (unsigned char)tu_int(&r, 256);
    err = gl_video_read_memory(noise, sizeof noise, "noise.bin", &o, &v, NULL, msg, sizeof msg);
    assert_int_equal(err, GL_EFORMAT);
    assert_null(v.rgb);
    assert_true(strncmp(msg, "noise.bin: ", 11) == 0);
    print_message("noise: %s\n", msg);

    /* a clip cut in half (its index is at the end: nothing to decode) */
    ffmpeg(f, "-f lavfi -i 'testsrc2=size=32x32:rate=4:duration=1' -pix_fmt yuv420p cut.mp4");
    char path[320];
    path_of(f, "cut.mp4", path, sizeof path);
    size_t n = 0;
    unsigned char *buf = slurp(path, &n);
    err = gl_video_read_memory(buf, n / 2, "cut.mp4", &o, &v, NULL, msg, sizeof msg);
    test_free(buf);
    assert_int_equal(err, GL_EFORMAT);
    assert_null(v.rgb);
    print_message("half an mp4: %s\n", msg);
}

/* A concat list in memory naming a clip on disk (relative: the concat demuxer's safe mode
 * refuses absolute names on its own, which would prove nothing): the nested open is
 * refused, so bytes in memory never make the reader open a file. The same list in a file
 * does open the clip, so the refusal is what stops it. */
static void memory_opens_no_files(void **state) {
    fx *f = *state;
    ffmpeg(f, "-f lavfi -i 'testsrc2=size=32x32:rate=4:duration=1' -pix_fmt yuv420p seg.mp4");
    const char *list = "ffconcat version 1.0\nfile seg.mp4\n";
    char msg[512] = "", cwd[4096], path[320];
    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_int_equal(chdir(f->dir), 0); /* where "seg.mp4" resolves */
    gl_video v = {0};
    gl_video_read_opts o = opts(2, 16, 16);
    int err = gl_video_read_memory(list, strlen(list), "list.ffconcat", &o, &v, NULL, msg, sizeof msg);
    int back = chdir(cwd);
    print_message("concat list: %s\n", msg);
    assert_int_equal(back, 0);
    assert_int_equal(err, GL_EFORMAT);
    assert_null(v.rgb);
    assert_non_null(strstr(msg, "never opened for a buffer in memory"));
    path_of(f, "list.ffconcat", path, sizeof path);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(list, fp);
    fclose(fp);
    err = gl_video_read(path, &o, &v, NULL, msg, sizeof msg);
    if (err) fail_msg("concat list in a file: %d: %s", err, msg);
    gl_video_release(&v);
}

#define FX(t) cmocka_unit_test_setup_teardown(t, fx_setup, fx_teardown)
static const struct CMUnitTest tests[] = {
    FX(memory_matches_file_mp4),
    FX(memory_matches_file_gif_png),
    FX(memory_rejects_empty_and_garbage),
    FX(memory_opens_no_files),
};
TU_MAIN("video_memory", tests)
