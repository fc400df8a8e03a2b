/* tests/test_video.c: reading videos through FFmpeg (containers and codecs, cropping,
 * resizing, sampling), writing .mp4/.gif/.png and reading them back, and refusing bad
 * files. Fixtures are made at test time by the ffmpeg program in a temporary directory;
 * without it these tests fail and say how to install it. */
#define _POSIX_C_SOURCE 200809L /* mkdtemp, opendir */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "gridlora/core.h"
#include "gridlora/video.h"
#include "testutil.h"

/* io/video_write.c: .mp4 with a named encoder, so the MPEG-4 part 2 fallback is tested
 * where libx264 exists. Private (gl__), declared here rather than in a public header. */
int gl__video_write_mp4(const char *path, const gl_video *v, int fps, const char *encoder,
                        char *msg, size_t msglen);

/* testsrc2: moving shapes, colour bars and a counter; 96x64 so that a square output
 * needs a centre crop; 12 frames. The hue turns 30 degrees a frame, so that every frame
 * differs from the next everywhere: a frame read out of place cannot pass for another. */
#define SRC "-f lavfi -i 'testsrc2=size=96x64:rate=12:duration=1,hue=H=2*PI*t'"

typedef struct fx {
    char dir[64];
} fx;

static int fx_setup(void **state) {
    if (system("command -v ffmpeg >/dev/null 2>&1") != 0) {
        print_error("the ffmpeg program is missing: run scripts/install-deps.sh (it installs "
                    "ffmpeg, which these tests use to make their fixtures)\n");
        return -1;
    }
    fx *f = test_calloc(1, sizeof *f);
    if (!f) return -1;
    snprintf(f->dir, sizeof f->dir, "/tmp/gl_test_video_XXXXXX");
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

/* dir/name, in one of eight rotating buffers */
static const char *p(fx *f, const char *name) {
    static char path[8][320];
    static int next;
    char *s = path[next++ % 8];
    snprintf(s, sizeof path[0], "%s/%s", f->dir, name);
    return s;
}

/* Runs `ffmpeg ARGS` in the fixture directory; fails the test if it fails. */
static void ffmpeg(fx *f, const char *args) {
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "cd '%s' && ffmpeg -nostdin -v error -y %s", f->dir, args);
    if (system(cmd) != 0) fail_msg("fixture command failed: %s", cmd);
}

static gl_video_read_opts opts(int64_t frames, int64_t w, int64_t h) {
    gl_video_read_opts o = gl_video_read_default_opts();
    o.frames = frames;
    o.width = w;
    o.height = h;
    return o;
}

static void read_ok(const char *path, gl_video_read_opts o, gl_video *v, gl_video_read_info *info) {
    char msg[512] = "";
    int err = gl_video_read(path, &o, v, info, msg, sizeof msg);
    if (err != GL_OK) fail_msg("reading %s: %d: %s", path, err, msg);
    assert_int_equal(v->frames, o.frames);
    assert_int_equal(v->width, o.width);
    assert_int_equal(v->height, o.height);
}

static int64_t numel(const gl_video *v) { return v->frames * v->height * v->width * 3; }

static double mean_abs_diff(const float *a, const float *b, int64_t n) {
    double s = 0;
    for (int64_t i = 0; i < n; i++) s += fabs((double)a[i] - b[i]);
    return s / (double)n;
}

static double psnr(const gl_video *a, const gl_video *b) {
    double se = 0;
    for (int64_t i = 0; i < numel(a); i++) se += ((double)a->rgb[i] - b->rgb[i]) * ((double)a->rgb[i] - b->rgb[i]);
    double mse = se / (double)numel(a);
    return mse > 0 ? 10.0 * log10(1.0 / mse) : 999.0;
}

/* Smooth shapes: two gradients and a soft blob that moves left to right. */
static void synth(gl_video *v, int64_t F, int64_t H, int64_t W) {
    assert_int_equal(gl_video_alloc(v, F, H, W), GL_OK);
    for (int64_t f = 0; f < F; f++)
        for (int64_t y = 0; y < H; y++)
            for (int64_t x = 0; x < W; x++) {
                double u = (x + 0.5) / W, w = (y + 0.5) / H;
                double cx = 0.25 + 0.5 * (double)f / (double)(F > 1 ? F - 1 : 1);
                double blob = exp(-((u - cx) * (u - cx) + (w - 0.5) * (w - 0.5)) / (2 * 0.18 * 0.18));
                float *px = v->rgb + ((f * H + y) * W + x) * 3;
                px[0] = (float)(0.15 + 0.5 * u + 0.3 * blob);
                px[1] = (float)(0.2 + 0.45 * w + 0.1 * blob);
                px[2] = (float)(0.7 - 0.4 * u * w + 0.2 * blob);
            }
}

/* Files in the fixture directory other than those made by ffmpeg(): what a failed
 * write might have left. */
static int count_files(fx *f) {
    DIR *d = opendir(f->dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    closedir(d);
    return n;
}

static int file_exists(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0;
}

/* ---- reading: every container and codec, against a lossless reference ---------- */

/* Reads `name` (made by `ffmpeg SRC args name`) and the FFV1 reference of the same
 * source at 8 frames of 32x32; their mean absolute difference must be under tol. The
 * same frames one step out of line differ by far more: the test can see a wrong frame. */
static void check_fixture(fx *f, const char *args, const char *name, const char *codec,
                          int64_t nframes, double tol) {
    char cmd[512];
    ffmpeg(f, SRC " -c:v ffv1 -pix_fmt yuv420p ref.mkv");
    snprintf(cmd, sizeof cmd, SRC " %s %s", args, name);
    ffmpeg(f, cmd);
    gl_video ref = {0}, got = {0};
    gl_video_read_info ri, gi;
    read_ok(p(f, "ref.mkv"), opts(8, 32, 32), &ref, &ri);
    read_ok(p(f, name), opts(8, 32, 32), &got, &gi);
    assert_int_equal(ri.source_frames, 12);
    assert_int_equal(gi.source_frames, nframes);
    assert_int_equal(gi.source_width, 96);
    assert_int_equal(gi.source_height, 64);
    assert_string_equal(gi.codec, codec);
    assert_int_equal(gi.repeated, nframes < 8);
    if (nframes > 1) assert_true(fabs(gi.source_fps - 12.0) < 0.5);
    int64_t per = 32 * 32 * 3;
    double worst = 0, shifted = 1e9;
    for (int64_t i = 0; i < 8; i++) {
        /* a one-frame file is the source's first frame, repeated */
        const float *want = ref.rgb + (nframes == 1 ? 0 : i) * per;
        double d = mean_abs_diff(got.rgb + i * per, want, per);
        if (d > worst) worst = d;
        if (nframes > 1 && i + 1 < 8) {
            double s = mean_abs_diff(got.rgb + i * per, ref.rgb + (i + 1) * per, per);
            if (s < shifted) shifted = s;
        }
    }
    print_message("%s: mean |diff| to the reference %.4f (tolerance %.3f); to the next frame %.4f\n",
                  name, worst, tol, shifted);
    assert_true(worst < tol);
    if (nframes > 1) assert_true(shifted > 2 * tol);
    /* sensible content: the frames are not flat */
    double mean = 0, var = 0;
    for (int64_t i = 0; i < per; i++) mean += got.rgb[i] / (double)per;
    for (int64_t i = 0; i < per; i++) var += (got.rgb[i] - mean) * (got.rgb[i] - mean) / (double)per;
    assert_true(sqrt(var) > 0.1);
    gl_video_release(&ref);
    gl_video_release(&got);
}

static void read_h264_mp4(void **s) {
    check_fixture(*s, "-c:v libx264 -pix_fmt yuv420p -crf 18", "h264.mp4", "h264", 12, 0.015);
}
static void read_h264_mov(void **s) {
    check_fixture(*s, "-c:v libx264 -pix_fmt yuv420p -crf 18", "h264.mov", "h264", 12, 0.015);
}
static void read_vp9_webm(void **s) {
    check_fixture(*s, "-c:v libvpx-vp9 -crf 20 -b:v 0 -deadline realtime -cpu-used 8", "vp9.webm",
                  "vp9", 12, 0.02);
}
static void read_mpeg4_avi(void **s) {
    check_fixture(*s, "-c:v mpeg4 -q:v 2", "mpeg4.avi", "mpeg4", 12, 0.015);
}
static void read_theora_ogv(void **s) {
    check_fixture(*s, "-c:v libtheora -q:v 8", "theora.ogv", "theora", 12, 0.02);
}
static void read_gif(void **s) {
    check_fixture(*s, "-vf 'split[a][b];[a]palettegen[p];[b][p]paletteuse'", "clip.gif", "gif", 12,
                  0.02);
}
static void read_png(void **s) {
    check_fixture(*s, "-frames:v 1", "frame.png", "png", 1, 0.01);
}

/* The crop and the area resize, against a plain C box filter over the raw RGB pixels
 * of the same PNG: 96x64 to 32x32 keeps the centre 64x64 and averages 2x2 blocks; to
 * 32x16 it keeps the centre 96x48 and averages 3x3 blocks. */
static void read_crop_resize_matches_manual(void **s) {
    fx *f = *s;
    ffmpeg(f, SRC " -frames:v 1 -pix_fmt rgb24 frame.png");
    ffmpeg(f, "-i frame.png -f rawvideo -pix_fmt rgb24 frame.rgb");
    FILE *fp = fopen(p(f, "frame.rgb"), "rb");
    assert_non_null(fp);
    static unsigned char raw[64][96][3];
    assert_int_equal(fread(raw, 1, sizeof raw, fp), sizeof raw);
    fclose(fp);
    const struct { int w, h, x0, y0, k; } cases[] = {{32, 32, 16, 0, 2}, {32, 16, 0, 8, 3}};
    for (int c = 0; c < 2; c++) {
        gl_video v = {0};
        read_ok(p(f, "frame.png"), opts(1, cases[c].w, cases[c].h), &v, NULL);
        double worst = 0;
        int k = cases[c].k;
        for (int y = 0; y < cases[c].h; y++)
            for (int x = 0; x < cases[c].w; x++)
                for (int ch = 0; ch < 3; ch++) {
                    double sum = 0;
                    for (int dy = 0; dy < k; dy++)
                        for (int dx = 0; dx < k; dx++)
                            sum += raw[cases[c].y0 + y * k + dy][cases[c].x0 + x * k + dx][ch];
                    double want = sum / (k * k) / 255.0;
                    double d = fabs(v.rgb[(y * cases[c].w + x) * 3 + ch] - want);
                    if (d > worst) worst = d;
                }
        print_message("%dx%d: worst |diff| to the box filter %.4f (x255: %.2f)\n", cases[c].w,
                      cases[c].h, worst, worst * 255);
        assert_true(worst <= 1.01 / 255.0); /* the rounding to 8 bits, no more */
        gl_video_release(&v);
    }
}

/* ---- sampling ------------------------------------------------------------------ */

/* 12 frames read as 4: source frames floor((i + 0.5) * 12 / 4) = 1, 4, 7, 10. */
static void even_sampling(void **s) {
    fx *f = *s;
    ffmpeg(f, SRC " -c:v ffv1 clip.mkv");
    gl_video all = {0}, four = {0};
    gl_video_read_info info;
    read_ok(p(f, "clip.mkv"), opts(12, 32, 32), &all, &info);
    assert_int_equal(info.repeated, 0);
    read_ok(p(f, "clip.mkv"), opts(4, 32, 32), &four, &info);
    assert_int_equal(info.repeated, 0);
    assert_int_equal(info.source_frames, 12);
    const int64_t per = 32 * 32 * 3, want[4] = {1, 4, 7, 10};
    for (int i = 0; i < 4; i++)
        assert_memory_equal(four.rgb + i * per, all.rgb + want[i] * per, per * sizeof(float));
    gl_video_release(&all);
    gl_video_release(&four);
}

/* 5 frames read as 8: floor((i + 0.5) * 5 / 8) = 0, 0, 1, 2, 2, 3, 4, 4. */
static void short_clip_repeats(void **s) {
    fx *f = *s;
    ffmpeg(f, "-f lavfi -i testsrc2=size=96x64:rate=5:duration=1 -c:v ffv1 short.mkv");
    gl_video five = {0}, eight = {0};
    gl_video_read_info info;
    read_ok(p(f, "short.mkv"), opts(5, 32, 32), &five, &info);
    assert_int_equal(info.repeated, 0);
    read_ok(p(f, "short.mkv"), opts(8, 32, 32), &eight, &info);
    assert_int_equal(info.repeated, 1);
    assert_int_equal(info.source_frames, 5);
    const int64_t per = 32 * 32 * 3, want[8] = {0, 0, 1, 2, 2, 3, 4, 4};
    for (int i = 0; i < 8; i++)
        assert_memory_equal(eight.rgb + i * per, five.rgb + want[i] * per, per * sizeof(float));
    /* the five source frames differ (testsrc2 moves) */
    for (int i = 0; i + 1 < 5; i++)
        assert_true(mean_abs_diff(five.rgb + i * per, five.rgb + (i + 1) * per, per) > 1e-3);
    gl_video_release(&five);
    gl_video_release(&eight);
}

static void read_is_deterministic(void **s) {
    fx *f = *s;
    ffmpeg(f, SRC " -c:v libx264 -pix_fmt yuv420p clip.mp4");
    gl_video a = {0}, b = {0};
    read_ok(p(f, "clip.mp4"), opts(8, 32, 32), &a, NULL);
    read_ok(p(f, "clip.mp4"), opts(8, 32, 32), &b, NULL);
    assert_memory_equal(a.rgb, b.rgb, (size_t)numel(&a) * sizeof(float));
    gl_video_release(&a);
    gl_video_release(&b);
}

/* ---- writing, and reading back ------------------------------------------------- */

static void round_trip(fx *f, const char *name, int64_t F, int64_t H, int64_t W,
                       const char *encoder, const char *codec, double min_psnr) {
    gl_video v = {0}, back = {0};
    gl_video_read_info info;
    char msg[512] = "";
    synth(&v, F, H, W);
    int err = encoder ? gl__video_write_mp4(p(f, name), &v, 8, encoder, msg, sizeof msg)
                      : gl_video_write(p(f, name), &v, 8, msg, sizeof msg);
    if (err) fail_msg("writing %s: %d: %s", name, err, msg);
    read_ok(p(f, name), opts(F, W, H), &back, &info);
    assert_int_equal(info.source_frames, F);
    assert_string_equal(info.codec, codec);
    double db = psnr(&v, &back);
    print_message("%s (%lldx%lld, %s): PSNR %.1f dB (must be > %.0f)\n", name, (long long)W,
                  (long long)H, info.codec, db, min_psnr);
    assert_true(db > min_psnr);
    assert_int_equal(count_files(f), 1); /* no temporary file left beside it */
    gl_video_release(&v);
    gl_video_release(&back);
}

static void write_mp4_round_trip(void **s) {
    fx *f = *s;
    round_trip(f, "clip.mp4", 8, 32, 32, NULL, "h264", 35);
    remove(p(f, "clip.mp4"));
    round_trip(f, "odd.mp4", 8, 17, 33, NULL, "h264", 35); /* 4:4:4 takes odd sides */
    remove(p(f, "odd.mp4"));
    round_trip(f, "tiny.mp4", 3, 1, 1, NULL, "h264", 35);
}

/* The encoder used where libx264 is missing: 4:2:0, odd sides padded by one. */
static void write_mp4_mpeg4_fallback(void **s) {
    fx *f = *s;
    round_trip(f, "clip.mp4", 8, 32, 32, "mpeg4", "mpeg4", 30);
    gl_video v = {0}, back = {0};
    gl_video_read_info info;
    char msg[512] = "";
    synth(&v, 4, 17, 33);
    assert_int_equal(gl__video_write_mp4(p(f, "odd.mp4"), &v, 8, "mpeg4", msg, sizeof msg), GL_OK);
    read_ok(p(f, "odd.mp4"), opts(4, 34, 18), &back, &info);
    assert_int_equal(info.source_width, 34);
    assert_int_equal(info.source_height, 18);
    gl_video_release(&v);
    gl_video_release(&back);
}

static void write_gif_round_trip(void **s) {
    fx *f = *s;
    round_trip(f, "clip.gif", 8, 32, 32, NULL, "gif", 25);
    /* loops forever: the NETSCAPE2.0 extension with a loop count of 0 */
    FILE *fp = fopen(p(f, "clip.gif"), "rb");
    assert_non_null(fp);
    static unsigned char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf, fp);
    fclose(fp);
    int found = 0;
    for (size_t i = 0; i + 16 <= n && !found; i++)
        found = !memcmp(buf + i, "NETSCAPE2.0\x03\x01\x00\x00", 15);
    assert_true(found);
    /* no more than 256 colours: each one kept exactly */
    gl_video v = {0}, back = {0};
    char msg[512] = "";
    assert_int_equal(gl_video_alloc(&v, 3, 8, 8), GL_OK);
    for (int64_t i = 0; i < numel(&v); i++) v.rgb[i] = (float)((i * 37 % 11) * 25) / 255.0f;
    assert_int_equal(gl_video_write(p(f, "flat.gif"), &v, 8, msg, sizeof msg), GL_OK);
    read_ok(p(f, "flat.gif"), opts(3, 8, 8), &back, NULL);
    for (int64_t i = 0; i < numel(&v); i++) assert_true(fabsf(back.rgb[i] - v.rgb[i]) < 1e-6f);
    gl_video_release(&v);
    gl_video_release(&back);
}

/* A textured disc crossing a noisy background on a path set by k: the kind of clip
 * (small, moving, detailed) whose x264 encoding once varied with the heap's layout. */
static void synth_moving(gl_video *v, int64_t F, int64_t H, int64_t W, int k) {
    assert_int_equal(gl_video_alloc(v, F, H, W), GL_OK);
    uint32_t r = 2463534242u + 977u * (uint32_t)k;
    for (int64_t f = 0; f < F; f++)
        for (int64_t y = 0; y < H; y++)
            for (int64_t x = 0; x < W; x++) {
                r ^= r << 13, r ^= r >> 17, r ^= r << 5;
                double t = (double)f / (double)F, cx = W * (0.2 + 0.6 * t), cy = H * (0.5 + 0.3 * sin(6.0 * t + k));
                int in = (x - cx) * (x - cx) + (y - cy) * (y - cy) < (double)(H * H) / 25.0;
                float *px = v->rgb + ((f * H + y) * W + x) * 3;
                float noise = (float)(r % 1000) / 4000.0f;
                px[0] = in ? (((x + y) / 3) % 2 ? 0.9f : 0.3f) : 0.2f + noise;
                px[1] = in ? 0.2f + 0.1f * (float)k / 8 : 0.5f + noise * (float)y / (float)H;
                px[2] = in ? 0.6f : 0.3f + noise;
            }
}

/* The same video written again gives the same bytes, whatever the heap looks like: each
 * clip is written four times with live allocations of other sizes in between (libx264's
 * AVX-512 macroblock-tree path once made 14 of 40 rendered clips vary this way). */
static void write_is_deterministic(void **s) {
    fx *f = *s;
    gl_video v = {0};
    char msg[512] = "";
    synth(&v, 4, 16, 16);
    const char *names[] = {"a.mp4", "b.mp4", "a.gif", "b.gif", "a.png", "b.png"};
    for (int i = 0; i < 6; i++) assert_int_equal(gl_video_write(p(f, names[i]), &v, 8, msg, sizeof msg), GL_OK);
    for (int i = 0; i < 6; i += 2) {
        char cmd[512];
        snprintf(cmd, sizeof cmd, "cmp -s '%s' '%s'", p(f, names[i]), p(f, names[i + 1]));
        if (system(cmd) != 0) fail_msg("%s and %s differ", names[i], names[i + 1]);
    }
    gl_video_release(&v);
    void *held[64] = {0};
    int n_held = 0;
    for (int k = 0; k < 8; k++) {
        synth_moving(&v, 8, 64, 64, k);
        for (int rep = 0; rep < 4; rep++) {
            char name[32], cmd[512];
            snprintf(name, sizeof name, "m%d_%d.mp4", k, rep);
            assert_int_equal(gl_video_write(p(f, name), &v, 8, msg, sizeof msg), GL_OK);
            if (rep) {
                snprintf(cmd, sizeof cmd, "cmp -s '%s' '%s'", p(f, name), p(f, "m_first.mp4"));
                if (system(cmd) != 0) fail_msg("clip %d written again (%d) differs from its first writing", k, rep);
            } else {
                snprintf(cmd, sizeof cmd, "cp '%s' '%s'", p(f, name), p(f, "m_first.mp4"));
                assert_int_equal(system(cmd), 0);
            }
            held[n_held++] = test_malloc((size_t)(4099 * (k * 4 + rep) + 24 * rep + 1)); /* moves the heap */
        }
        gl_video_release(&v);
    }
    for (int i = 0; i < n_held; i++) test_free(held[i]);
}

/* Two rows (3 and 2 frames of 5x4), scale 3: 3 * 5 * 3 + 2 * 3 = 51 wide, 2 * 4 * 3 + 3
 * = 27 high; frames at x = 0, 18, 36 and y = 0, 15; grey gaps and an empty slot. */
static void contact_sheet_layout(void **s) {
    fx *f = *s;
    gl_video a = {0}, b = {0}, back = {0};
    gl_video_read_info info;
    char msg[512] = "";
    assert_int_equal(gl_video_alloc(&a, 3, 4, 5), GL_OK);
    assert_int_equal(gl_video_alloc(&b, 2, 4, 5), GL_OK);
    /* pixel (f, y, x) of row r: (r*100 + f*20 + y*5 + x) / 255 in red, its mirror in blue */
    for (int r = 0; r < 2; r++) {
        gl_video *v = r ? &b : &a;
        for (int64_t fr = 0; fr < v->frames; fr++)
            for (int64_t y = 0; y < 4; y++)
                for (int64_t x = 0; x < 5; x++) {
                    float *px = v->rgb + ((fr * 4 + y) * 5 + x) * 3;
                    px[0] = (float)(r * 100 + fr * 20 + y * 5 + x) / 255.0f;
                    px[1] = 0.5f;
                    px[2] = 1.0f - px[0];
                }
    }
    const gl_video *rows[2] = {&a, &b};
    assert_int_equal(gl_contact_sheet_write(p(f, "sheet.png"), rows, 2, 3, msg, sizeof msg), GL_OK);
    read_ok(p(f, "sheet.png"), opts(1, 51, 27), &back, &info);
    assert_int_equal(info.source_width, 51);
    assert_int_equal(info.source_height, 27);
    assert_string_equal(info.codec, "png");
    const struct { int sx, sy, r, fr, y, x; } at[] = {
        {0, 0, 0, 0, 0, 0}, {14, 11, 0, 0, 3, 4}, {18, 0, 0, 1, 0, 0}, {38, 7, 0, 2, 2, 0},
        {50, 11, 0, 2, 3, 4}, {0, 15, 1, 0, 0, 0}, {19, 26, 1, 1, 3, 0}, {7, 20, 1, 0, 1, 2}};
    for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
        const float *px = back.rgb + (at[i].sy * 51 + at[i].sx) * 3;
        int want = at[i].r * 100 + at[i].fr * 20 + at[i].y * 5 + at[i].x;
        assert_int_equal((int)lrintf(px[0] * 255), want);
        assert_int_equal((int)lrintf(px[1] * 255), 128);
        assert_int_equal((int)lrintf(px[2] * 255), 255 - want);
    }
    /* gaps (x 15..17, y 12..14) and row 1's missing third frame: dark grey 32 */
    const int grey[][2] = {{15, 0}, {17, 26}, {0, 12}, {30, 14}, {36, 15}, {50, 26}};
    for (size_t i = 0; i < sizeof grey / sizeof grey[0]; i++)
        for (int c = 0; c < 3; c++)
            assert_int_equal((int)lrintf(back.rgb[(grey[i][1] * 51 + grey[i][0]) * 3 + c] * 255), 32);
    gl_video_release(&a);
    gl_video_release(&b);
    gl_video_release(&back);
}

/* .png through gl_video_write: one row at scale 4: 8 * 33 * 4 - 4 by 32 * 4. */
static void write_png_is_contact_sheet(void **s) {
    fx *f = *s;
    gl_video v = {0}, back = {0};
    gl_video_read_info info;
    char msg[512] = "";
    synth(&v, 8, 32, 32);
    assert_int_equal(gl_video_write(p(f, "sheet.PNG"), &v, 8, msg, sizeof msg), GL_OK);
    read_ok(p(f, "sheet.PNG"), opts(1, 1052, 128), &back, &info);
    assert_int_equal(info.source_width, 1052);
    assert_int_equal(info.source_height, 128);
    /* frame 5's pixel (y 10, x 20) fills the block at (5 * 33 + 20) * 4, 10 * 4 */
    for (int c = 0; c < 3; c++) {
        float want = v.rgb[((5 * 32 + 10) * 32 + 20) * 3 + c];
        for (int d = 0; d < 4; d++)
            assert_true(fabsf(back.rgb[((40 + d) * 1052 + (185 * 4 + d)) * 3 + c] - want) <= 0.5f / 255);
    }
    assert_int_equal(count_files(f), 1);
    gl_video_release(&v);
    gl_video_release(&back);
}

/* ---- refusals ------------------------------------------------------------------ */

static void expect_read_error(const char *path, gl_video_read_opts o, int code, const char *what) {
    gl_video v = {.frames = 99}; /* cleared on failure */
    gl_video_read_info info;
    char msg[512] = "";
    int err = gl_video_read(path, &o, &v, &info, msg, sizeof msg);
    print_message("%-40s -> %d: %s\n", what, err, msg);
    if (err != code) fail_msg("%s: got %d (%s), expected %d", what, err, msg, code);
    if (!strstr(msg, path)) fail_msg("%s: message does not name the file: %s", what, msg);
    assert_null(strchr(msg, '\n'));
    assert_null(v.rgb);
    assert_int_equal(v.frames, 0);
}

static void reject_bad_inputs(void **s) {
    fx *f = *s;
    gl_video_read_opts o = gl_video_read_default_opts();
    ffmpeg(f, SRC " -c:v libx264 -pix_fmt yuv420p good.mp4");
    ffmpeg(f, "-f lavfi -i sine=duration=0.3 audio.wav");
    ffmpeg(f, "-f lavfi -i sine=duration=0.3 -c:a aac audio.m4a");
    char cmd[512];
    snprintf(cmd, sizeof cmd, "cd '%s' && : > empty.mp4 && printf 'hello\\nnot a video\\n' > "
             "notes.txt && cp notes.txt notes.mp4 && head -c 300 good.mp4 > cut.mp4", f->dir);
    assert_int_equal(system(cmd), 0);

    expect_read_error(p(f, "empty.mp4"), o, GL_EFORMAT, "empty file");
    expect_read_error(p(f, "notes.txt"), o, GL_EFORMAT, "text file");
    expect_read_error(p(f, "notes.mp4"), o, GL_EFORMAT, "text file named .mp4");
    expect_read_error(p(f, "cut.mp4"), o, GL_EFORMAT, "truncated MP4 (300 bytes)");
    expect_read_error(p(f, "audio.wav"), o, GL_EFORMAT, "audio only (wav)");
    expect_read_error(p(f, "audio.m4a"), o, GL_EFORMAT, "audio only (m4a)");
    expect_read_error(p(f, "missing.mp4"), o, GL_EIO, "nonexistent file");
    expect_read_error(f->dir, o, GL_EIO, "a directory");
    expect_read_error("http://127.0.0.1:9/clip.mp4", o, GL_EINVAL, "a URL");
    o.max_frame_bytes = 96 * 64 * 4 - 1;
    expect_read_error(p(f, "good.mp4"), o, GL_EFORMAT, "frames over max_frame_bytes");
    expect_read_error(p(f, "good.mp4"), opts(0, 32, 32), GL_EINVAL, "zero frames asked");
    expect_read_error(p(f, "good.mp4"), opts(8, 0, 32), GL_EINVAL, "zero width asked");
    /* the limit itself is allowed */
    gl_video v = {0};
    o.max_frame_bytes = 96 * 64 * 4;
    read_ok(p(f, "good.mp4"), o, &v, NULL);
    gl_video_release(&v);
}

/* A truncated file whose index is at the front: the packets it promises are missing. */
static void reject_truncated_faststart(void **s) {
    fx *f = *s;
    ffmpeg(f, SRC " -c:v libx264 -pix_fmt yuv420p -movflags +faststart good.mp4");
    struct stat sb;
    assert_int_equal(stat(p(f, "good.mp4"), &sb), 0);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "cd '%s' && head -c %lld good.mp4 > half.mp4", f->dir,
             (long long)sb.st_size * 2 / 3);
    assert_int_equal(system(cmd), 0);
    expect_read_error(p(f, "half.mp4"), gl_video_read_default_opts(), GL_EFORMAT,
                      "truncated faststart MP4");
}

/* target_is_dir: the path is a directory made beforehand, which must stay as it was */
/* PNG's CRC-32 (the IEEE polynomial, reflected), bitwise */
static uint32_t crc32_png(const unsigned char *p, size_t n) {
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    }
    return c ^ 0xFFFFFFFFu;
}

/* A PNG whose header claims w x h (the data stays 96x64's): refused from the header,
 * before a frame of that size is allocated. */
static void write_png_claiming(fx *f, const char *name, uint32_t w, uint32_t h) {
    static unsigned char buf[1 << 16];
    FILE *fp = fopen(p(f, "frame.png"), "rb");
    assert_non_null(fp);
    size_t n = fread(buf, 1, sizeof buf, fp);
    fclose(fp);
    assert_true(n > 33 && n < sizeof buf && !memcmp(buf + 12, "IHDR", 4));
    const uint32_t v[2] = {w, h};
    for (int i = 0; i < 2; i++)
        for (int b = 0; b < 4; b++) buf[16 + 4 * i + b] = (unsigned char)(v[i] >> (24 - 8 * b));
    uint32_t crc = crc32_png(buf + 12, 17);
    for (int b = 0; b < 4; b++) buf[29 + b] = (unsigned char)(crc >> (24 - 8 * b));
    fp = fopen(p(f, name), "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(buf, 1, n, fp), n);
    fclose(fp);
}

static void reject_huge_dimensions(void **s) {
    fx *f = *s;
    ffmpeg(f, SRC " -frames:v 1 frame.png");
    write_png_claiming(f, "big.png", 9000, 9000); /* 324 MB as RGBA, over 256 MiB */
    write_png_claiming(f, "huge.png", 100000, 100000);
    write_png_claiming(f, "max.png", 0x7FFFFFFF, 0x7FFFFFFF);
    gl_video_read_opts o = gl_video_read_default_opts();
    expect_read_error(p(f, "big.png"), o, GL_EFORMAT, "PNG claiming 9000x9000");
    expect_read_error(p(f, "huge.png"), o, GL_EFORMAT, "PNG claiming 100000x100000");
    expect_read_error(p(f, "max.png"), o, GL_EFORMAT, "PNG claiming 2^31-1 squared");
    char msg[512];
    gl_video v = {0};
    assert_int_equal(gl_video_read(p(f, "big.png"), &o, &v, NULL, msg, sizeof msg), GL_EFORMAT);
    assert_non_null(strstr(msg, "9000x9000 are over the limit"));
    /* the real PNG, at and just over its own size as the limit */
    o.max_frame_bytes = 96 * 64 * 4;
    read_ok(p(f, "frame.png"), o, &v, NULL);
    gl_video_release(&v);
    o.max_frame_bytes--;
    expect_read_error(p(f, "frame.png"), o, GL_EFORMAT, "PNG over max_frame_bytes");
}

static void expect_write_error(fx *f, const char *path, const gl_video *v, int code,
                               const char *what, int target_is_dir) {
    char msg[512] = "";
    int before = count_files(f);
    int err = gl_video_write(path, v, 8, msg, sizeof msg);
    print_message("%-40s -> %d: %s\n", what, err, msg);
    if (err != code) fail_msg("%s: got %d (%s), expected %d", what, err, msg, code);
    if (!strstr(msg, path)) fail_msg("%s: message does not name the file: %s", what, msg);
    struct stat sb;
    if (target_is_dir) assert_true(stat(path, &sb) == 0 && S_ISDIR(sb.st_mode));
    else assert_false(file_exists(path));
    assert_int_equal(count_files(f), before); /* nothing left behind */
}

static void reject_bad_writes(void **s) {
    fx *f = *s;
    gl_video v = {0}, empty = {0};
    synth(&v, 2, 8, 8);
    expect_write_error(f, p(f, "no/such/dir/out.mp4"), &v, GL_EIO, "mp4 into a missing directory", 0);
    expect_write_error(f, p(f, "no/such/dir/out.gif"), &v, GL_EIO, "gif into a missing directory", 0);
    expect_write_error(f, p(f, "no/such/dir/out.png"), &v, GL_EIO, "png into a missing directory", 0);
    expect_write_error(f, p(f, "out.avi"), &v, GL_EINVAL, "unsupported extension", 0);
    expect_write_error(f, p(f, "out"), &v, GL_EINVAL, "no extension", 0);
    expect_write_error(f, p(f, "out.mp4"), &empty, GL_EINVAL, "an empty video", 0);
    char msg[512] = "";
    assert_int_equal(gl_video_write(p(f, "out.mp4"), &v, 0, msg, sizeof msg), GL_EINVAL);
    assert_non_null(strstr(msg, "fps"));
    /* the target is a directory: the rename fails, the temporary file goes */
    assert_int_equal(mkdir(p(f, "taken.mp4"), 0755), 0);
    expect_write_error(f, p(f, "taken.mp4"), &v, GL_EIO, "target is a directory", 1);
    assert_int_equal(count_files(f), 1);
    const gl_video *rows[2] = {&v, NULL};
    assert_int_equal(gl_contact_sheet_write(p(f, "s.png"), rows, 2, 1, msg, sizeof msg), GL_EINVAL);
    assert_int_equal(gl_contact_sheet_write(p(f, "s.png"), rows, 1, 0, msg, sizeof msg), GL_EINVAL);
    gl_video other = {0};
    synth(&other, 1, 8, 9);
    rows[1] = &other;
    assert_int_equal(gl_contact_sheet_write(p(f, "s.png"), rows, 2, 1, msg, sizeof msg), GL_EINVAL);
    assert_non_null(strstr(msg, "share"));
    assert_int_equal(count_files(f), 1);
    gl_video_release(&v);
    gl_video_release(&other);
}

static void alloc_checks_sizes(void **s) {
    (void)s;
    gl_video v = {0};
    assert_int_equal(gl_video_alloc(&v, 2, 3, 4), GL_OK);
    assert_int_equal(v.frames, 2);
    for (int i = 0; i < 2 * 3 * 4 * 3; i++) assert_true(v.rgb[i] == 0.0f);
    gl_video_release(&v);
    assert_null(v.rgb);
    gl_video_release(&v); /* a zeroed struct is a no-op */
    gl_video_release(NULL);
    assert_int_equal(gl_video_alloc(&v, 0, 3, 4), GL_EINVAL);
    assert_int_equal(gl_video_alloc(&v, 1, -3, 4), GL_EINVAL);
    assert_int_equal(gl_video_alloc(&v, 1ll << 40, 1ll << 20, 1ll << 20), GL_EINVAL);
    assert_null(v.rgb);
    gl_video_read_opts o = gl_video_read_default_opts();
    assert_int_equal(o.frames, 8);
    assert_int_equal(o.width, 32);
    assert_int_equal(o.height, 32);
    assert_int_equal(o.max_frame_bytes, (size_t)256 << 20);
}

#define FX(t) cmocka_unit_test_setup_teardown(t, fx_setup, fx_teardown)
static const struct CMUnitTest tests[] = {
    cmocka_unit_test(alloc_checks_sizes),
    FX(read_h264_mp4),
    FX(read_h264_mov),
    FX(read_vp9_webm),
    FX(read_mpeg4_avi),
    FX(read_theora_ogv),
    FX(read_gif),
    FX(read_png),
    FX(read_crop_resize_matches_manual),
    FX(even_sampling),
    FX(short_clip_repeats),
    FX(read_is_deterministic),
    FX(write_mp4_round_trip),
    FX(write_mp4_mpeg4_fallback),
    FX(write_gif_round_trip),
    FX(write_is_deterministic),
    FX(contact_sheet_layout),
    FX(write_png_is_contact_sheet),
    FX(reject_bad_inputs),
    FX(reject_truncated_faststart),
    FX(reject_huge_dimensions),
    FX(reject_bad_writes),
};
TU_MAIN("video", tests)
