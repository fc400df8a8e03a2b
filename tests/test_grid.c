/* tests/test_grid.c: grid canvases, per-token cell ids, positions, masks and timesteps,
 * and layouts with their joined prompt. Literal tiny cases written by hand, and
 * references that go through the video (gl_patchify_forward) rather than the tokens. */
#include <stdio.h>
#include <string.h>

#include "gridlora/core.h"
#include "gridlora/grid.h"
#include "gridlora/nn.h"
#include "gridlora/video.h"
#include "testutil.h"

/* ---- canvases ------------------------------------------------------------------ */

static void fill_random(gl_video *v, tu_rng *r) {
    tu_fill(r, v->rgb, v->frames * v->height * v->width * 3, 1.0);
}

/* Tile then split gives the cells back bit for bit; every canvas element is where the
 * layout drawn in grid.h puts it. */
static void tile_split_round_trip(void **s) {
    (void)s;
    enum { F = 3, H = 4, W = 6 };
    tu_rng r;
    tu_seed(&r, 1);
    gl_video cell[4] = {{0}};
    const gl_video *in[4];
    for (int c = 0; c < 4; c++) {
        assert_int_equal(gl_video_alloc(&cell[c], F, H, W), GL_OK);
        fill_random(&cell[c], &r);
        in[c] = &cell[c];
    }
    gl_video canvas = {0};
    char msg[256] = "";
    assert_int_equal(gl_grid_tile(&canvas, in, msg, sizeof msg), GL_OK);
    assert_int_equal(canvas.frames, F);
    assert_int_equal(canvas.height, 2 * H);
    assert_int_equal(canvas.width, 2 * W);
    for (int f = 0; f < F; f++)
        for (int y = 0; y < 2 * H; y++)
            for (int x = 0; x < 2 * W; x++)
                for (int ch = 0; ch < 3; ch++) {
                    int c = (y / H) * 2 + x / W;
                    float want = cell[c].rgb[((f * H + y % H) * W + x % W) * 3 + ch];
                    float got = canvas.rgb[((f * 2 * H + y) * 2 * W + x) * 3 + ch];
                    assert_true(got == want);
                }
    gl_video back[4];
    assert_int_equal(gl_grid_split(back, &canvas, msg, sizeof msg), GL_OK);
    for (int c = 0; c < 4; c++) {
        assert_int_equal(back[c].frames, F);
        assert_int_equal(back[c].height, H);
        assert_int_equal(back[c].width, W);
        assert_memory_equal(back[c].rgb, cell[c].rgb, (size_t)F * H * W * 3 * sizeof(float));
        gl_video_release(&back[c]);
        gl_video_release(&cell[c]);
    }
    gl_video_release(&canvas);
}

/* One frame, cells of 2x2 pixels in four constant colours: the 4x4 canvas by hand. */
static void tile_literal(void **s) {
    (void)s;
    static const float colour[4][3] = {{1, 0, 0}, {0, 1, 0}, {0, 0, 1}, {1, 1, 0}};
    /* R red (cell 0), G green (1), B blue (2), Y yellow (3) */
    static const char *const want[4] = {"RRGG", "RRGG", "BBYY", "BBYY"};
    gl_video cell[4] = {{0}};
    const gl_video *in[4];
    for (int c = 0; c < 4; c++) {
        assert_int_equal(gl_video_alloc(&cell[c], 1, 2, 2), GL_OK);
        for (int p = 0; p < 4; p++)
            for (int ch = 0; ch < 3; ch++) cell[c].rgb[p * 3 + ch] = colour[c][ch];
        in[c] = &cell[c];
    }
    gl_video canvas = {0};
    assert_int_equal(gl_grid_tile(&canvas, in, NULL, 0), GL_OK);
    assert_int_equal(canvas.frames, 1);
    assert_int_equal(canvas.height, 4);
    assert_int_equal(canvas.width, 4);
    for (int y = 0; y < 4; y++)
        for (int x = 0; x < 4; x++) {
            int c = (int)(strchr("RGBY", want[y][x]) - "RGBY");
            for (int ch = 0; ch < 3; ch++)
                assert_true(canvas.rgb[(y * 4 + x) * 3 + ch] == colour[c][ch]);
        }
    for (int c = 0; c < 4; c++) gl_video_release(&cell[c]);
    gl_video_release(&canvas);
}

/* Cells that do not match, or are missing: an error with a message, the canvas zeroed. */
static void tile_rejects_mismatched(void **s) {
    (void)s;
    float px[2 * 2 * 2 * 3] = {0}, other[2 * 3 * 2 * 3] = {0};
    gl_video a = {2, 2, 2, px}, fewer = {1, 2, 2, px}, taller = {2, 3, 2, other},
             wider = {2, 2, 3, other}, empty = {2, 2, 2, NULL};
    const gl_video *bad[][4] = {
        {&a, &a, &fewer, &a}, {&a, &taller, &a, &a}, {&a, &a, &a, &wider},
        {&a, NULL, &a, &a},   {&a, &a, &a, &empty},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        gl_video canvas = {0};
        char msg[256] = "";
        assert_int_equal(gl_grid_tile(&canvas, bad[i], msg, sizeof msg), GL_EINVAL);
        assert_true(strncmp(msg, "grid: tile:", 11) == 0);
        assert_null(canvas.rgb);
        assert_int_equal(canvas.frames, 0);
    }
    gl_video canvas = {0};
    char msg[256] = "";
    assert_int_equal(gl_grid_tile(&canvas, bad[0], msg, sizeof msg), GL_EINVAL);
    assert_non_null(strstr(msg, "cell 2"));
    assert_int_equal(gl_grid_tile(&canvas, NULL, msg, sizeof msg), GL_EINVAL);
    assert_int_equal(gl_grid_tile(NULL, bad[0], NULL, 0), GL_EINVAL);
}

/* A canvas that does not halve, or has no pixels: an error, the four cells zeroed. */
static void split_rejects_odd(void **s) {
    (void)s;
    float px[3 * 5 * 3] = {0};
    gl_video odd_h = {1, 3, 4, px}, odd_w = {1, 4, 3, px}, tiny = {1, 1, 1, px},
             empty = {1, 4, 4, NULL}, zero = {0, 4, 4, px};
    const gl_video *bad[] = {&odd_h, &odd_w, &tiny, &empty, &zero, NULL};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        gl_video cells[4];
        memset(cells, 0x5a, sizeof cells);
        char msg[256] = "";
        assert_int_equal(gl_grid_split(cells, bad[i], msg, sizeof msg), GL_EINVAL);
        assert_true(strncmp(msg, "grid: split:", 12) == 0);
        for (int c = 0; c < 4; c++) {
            assert_null(cells[c].rgb);
            assert_int_equal(cells[c].frames, 0);
        }
    }
    assert_int_equal(gl_grid_split(NULL, &odd_h, NULL, 0), GL_EINVAL);
}

/* ---- tokens of a canvas ------------------------------------------------------- */

/* gl_patch_dims of one canvas item: F frames of H x W (the canvas's), C channels. */
static gl_patch_dims dims(int64_t F, int64_t H, int64_t W, int64_t C, int64_t pt, int64_t ph,
                          int64_t pw) {
    gl_patch_dims d = {1, F, H, W, C, pt, ph, pw};
    return d;
}

/* Patch 1x1x1 over 2 frames of a 2x4 canvas (cells of 1x2 pixels), by hand. */
static void cells_patch_1x1x1(void **s) {
    (void)s;
    gl_patch_dims d = dims(2, 2, 4, 3, 1, 1, 1);
    static const uint8_t want[16] = {0, 0, 1, 1, /* frame 0, row 0 */
                                     2, 2, 3, 3, /* frame 0, row 1 */
                                     0, 0, 1, 1, /* frame 1 */
                                     2, 2, 3, 3};
    int64_t T = 0;
    assert_int_equal(gl_grid_check(d, &T, NULL, 0), GL_OK);
    assert_int_equal(T, 16);
    assert_int_equal(T, gl_patch_tokens(d));
    uint8_t cell[16];
    assert_int_equal(gl_grid_token_cells(cell, d), GL_OK);
    assert_memory_equal(cell, want, sizeof want);
}

/* Patch 2x4x4 over 4 frames of a 16x16 canvas: by hand for the token grid, and against
 * the patchified video whose every element holds its cell's id. */
static void cells_patch_2x4x4(void **s) {
    (void)s;
    gl_patch_dims d = dims(4, 16, 16, 3, 2, 4, 4);
    enum { T = 2 * 4 * 4, P = 2 * 4 * 4 * 3, N = 4 * 16 * 16 * 3 };
    static const uint8_t slab[16] = {0, 0, 1, 1, 0, 0, 1, 1, 2, 2, 3, 3, 2, 2, 3, 3};
    uint8_t cell[T];
    assert_int_equal(gl_grid_token_cells(cell, d), GL_OK);
    assert_memory_equal(cell, slab, 16);      /* frames 0-1 */
    assert_memory_equal(cell + 16, slab, 16); /* frames 2-3 */

    float *video = tu_falloc(N), *tok = tu_falloc(N);
    for (int f = 0; f < 4; f++)
        for (int y = 0; y < 16; y++)
            for (int x = 0; x < 16; x++)
                for (int ch = 0; ch < 3; ch++)
                    video[((f * 16 + y) * 16 + x) * 3 + ch] = (float)((y / 8) * 2 + x / 8);
    gl_patchify_forward(tok, video, d);
    int count[4] = {0};
    for (int t = 0; t < T; t++) {
        count[cell[t]]++;
        for (int k = 0; k < P; k++) assert_true(tok[t * P + k] == (float)cell[t]);
    }
    for (int c = 0; c < 4; c++) assert_int_equal(count[c], T / 4);
    tu_free(video);
    tu_free(tok);
}

/* A patch as large as a cell: one token per cell and patch of frames. */
static void cells_patch_equal_cell(void **s) {
    (void)s;
    uint8_t cell[8];
    int64_t T = 0;
    gl_patch_dims d = dims(2, 8, 12, 3, 2, 4, 6); /* cells of 4x6, 2 frames */
    assert_int_equal(gl_grid_check(d, &T, NULL, 0), GL_OK);
    assert_int_equal(T, 4);
    assert_int_equal(gl_grid_token_cells(cell, d), GL_OK);
    assert_memory_equal(cell, ((uint8_t[]){0, 1, 2, 3}), 4);
    d.pt = 1;
    assert_int_equal(gl_grid_check(d, &T, NULL, 0), GL_OK);
    assert_int_equal(T, 8);
    assert_int_equal(gl_grid_token_cells(cell, d), GL_OK);
    assert_memory_equal(cell, ((uint8_t[]){0, 1, 2, 3, 0, 1, 2, 3}), 8);
}

/* A patch that would straddle a cell border (though it divides the canvas), an odd
 * canvas, frames not a multiple of the patch: GL_EINVAL, nothing written. */
static void cells_reject_straddle(void **s) {
    (void)s;
    struct {
        gl_patch_dims d;
        const char *why;
    } bad[] = {
        {dims(1, 12, 12, 3, 1, 4, 4), "straddles"}, /* cells 6x6: 12 % 4 == 0, 6 % 4 != 0 */
        {dims(1, 8, 12, 3, 1, 4, 4), "cell width 6"},
        {dims(1, 12, 8, 3, 1, 4, 4), "cell height 6"},
        {dims(1, 5, 4, 3, 1, 1, 1), "even"},
        {dims(1, 4, 6, 3, 1, 2, 2), "straddles"},
        {dims(3, 4, 4, 3, 2, 1, 1), "frames"},
        {dims(0, 4, 4, 3, 1, 1, 1), ">= 1"},
        {dims(1, 4, 4, 3, 1, 0, 1), ">= 1"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char msg[256] = "";
        int64_t T = -7;
        assert_int_equal(gl_grid_check(bad[i].d, &T, msg, sizeof msg), GL_EINVAL);
        assert_int_equal(T, -7);
        if (!strstr(msg, bad[i].why)) fail_msg("case %zu: '%s' lacks '%s'", i, msg, bad[i].why);
        uint8_t cell[64];
        int32_t pos[64 * 3];
        float buf[64 * 48];
        memset(cell, 0xAA, sizeof cell);
        memset(pos, 0xAA, sizeof pos);
        memset(buf, 0xAA, sizeof buf);
        assert_int_equal(gl_grid_token_cells(cell, bad[i].d), GL_EINVAL);
        assert_int_equal(gl_grid_token_positions(pos, bad[i].d), GL_EINVAL);
        assert_int_equal(gl_grid_token_timesteps(buf, bad[i].d, (float[4]){1, 1, 1, 1}, 0xF),
                         GL_EINVAL);
        assert_int_equal(gl_grid_token_mask(buf, bad[i].d, 0xF), GL_EINVAL);
        for (size_t k = 0; k < sizeof cell; k++) assert_int_equal(cell[k], 0xAA);
        uint8_t ref[sizeof buf];
        memset(ref, 0xAA, sizeof ref);
        assert_memory_equal(buf, ref, sizeof buf);
        assert_memory_equal(pos, ref, sizeof pos);
    }
}

/* Positions are the token's (frame, row, column) in patch units over the whole canvas:
 * every position once, cells continuing one another, and each position names the
 * pixels the token holds (checked through the patchified video). */
static void positions_contiguous(void **s) {
    (void)s;
    gl_patch_dims d = dims(4, 8, 16, 1, 2, 2, 4); /* cells of 4x8; tokens 2 x 4 x 4 */
    enum { NT = 2, NH = 4, NW = 4, T = NT * NH * NW, P = 2 * 2 * 4, N = 4 * 8 * 16 };
    int32_t pos[T * 3];
    uint8_t cell[T];
    assert_int_equal(gl_grid_token_positions(pos, d), GL_OK);
    assert_int_equal(gl_grid_token_cells(cell, d), GL_OK);
    int seen[NT][NH][NW] = {{{0}}};
    for (int t = 0; t < T; t++) {
        int32_t f = pos[3 * t], r = pos[3 * t + 1], c = pos[3 * t + 2];
        assert_true(f >= 0 && f < NT && r >= 0 && r < NH && c >= 0 && c < NW);
        seen[f][r][c]++;
        assert_int_equal(f, t / (NH * NW));
        assert_int_equal(r, (t / NW) % NH);
        assert_int_equal(c, t % NW);
    }
    for (int f = 0; f < NT; f++)
        for (int r = 0; r < NH; r++)
            for (int c = 0; c < NW; c++) assert_int_equal(seen[f][r][c], 1);
    /* rows and columns of each cell: cell 1 starts at the column after cell 0's last,
     * cell 2 at the row after cell 0's last; all cells cover the same frames */
    int32_t lo[4][3], hi[4][3];
    for (int k = 0; k < 4; k++)
        for (int a = 0; a < 3; a++) { lo[k][a] = 1 << 30; hi[k][a] = -1; }
    for (int t = 0; t < T; t++)
        for (int a = 0; a < 3; a++) {
            int32_t v = pos[3 * t + a];
            if (v < lo[cell[t]][a]) lo[cell[t]][a] = v;
            if (v > hi[cell[t]][a]) hi[cell[t]][a] = v;
        }
    assert_int_equal(lo[0][1], 0);
    assert_int_equal(lo[0][2], 0);
    assert_int_equal(lo[1][2], hi[0][2] + 1);
    assert_int_equal(lo[1][1], lo[0][1]);
    assert_int_equal(lo[2][1], hi[0][1] + 1);
    assert_int_equal(lo[2][2], lo[0][2]);
    assert_int_equal(lo[3][1], lo[2][1]);
    assert_int_equal(lo[3][2], lo[1][2]);
    assert_int_equal(hi[3][1], NH - 1);
    assert_int_equal(hi[3][2], NW - 1);
    for (int k = 0; k < 4; k++) {
        assert_int_equal(lo[k][0], 0);
        assert_int_equal(hi[k][0], NT - 1);
    }
    /* each pixel holds f*10000 + y*100 + x: a token's first element is its patch corner */
    float *video = tu_falloc(N), *tok = tu_falloc(N);
    for (int f = 0; f < 4; f++)
        for (int y = 0; y < 8; y++)
            for (int x = 0; x < 16; x++)
                video[(f * 8 + y) * 16 + x] = (float)(f * 10000 + y * 100 + x);
    gl_patchify_forward(tok, video, d);
    for (int t = 0; t < T; t++) {
        int corner = (int)tok[t * P];
        assert_int_equal(corner / 10000, pos[3 * t] * d.pt);
        assert_int_equal(corner / 100 % 100, pos[3 * t + 1] * d.ph);
        assert_int_equal(corner % 100, pos[3 * t + 2] * d.pw);
    }
    tu_free(video);
    tu_free(tok);
}

static int popcount4(unsigned m) { return (m & 1) + (m >> 1 & 1) + (m >> 2 & 1) + (m >> 3 & 1); }

/* The canvas mask for every set of cells, against where each element lies. */
static void video_mask_per_cell(void **s) {
    (void)s;
    enum { F = 2, H = 4, W = 6, C = 3, N = F * H * W * C };
    float mask[N];
    for (unsigned set = 0; set <= GL_GRID_ALL; set++) {
        assert_int_equal(gl_grid_video_mask(mask, F, H, W, C, set), GL_OK);
        double sum = 0;
        for (int f = 0; f < F; f++)
            for (int y = 0; y < H; y++)
                for (int x = 0; x < W; x++)
                    for (int ch = 0; ch < C; ch++) {
                        int c = (y >= H / 2) * 2 + (x >= W / 2);
                        float m = mask[((f * H + y) * W + x) * C + ch];
                        assert_true(m == ((set >> c & 1) ? 1.0f : 0.0f));
                        sum += m;
                    }
        assert_true(sum == (double)popcount4(set) * F * (H / 2) * (W / 2) * C);
    }
    /* a literal: one frame, 2x2 canvas, one channel, cells 1 and 2 */
    float m4[4];
    assert_int_equal(gl_grid_video_mask(m4, 1, 2, 2, 1, GL_GRID_CELL(1) | GL_GRID_CELL(2)),
                     GL_OK);
    assert_memory_equal(m4, ((float[]){0, 1, 1, 0}), sizeof m4);
    assert_int_equal(gl_grid_video_mask(mask, F, 3, W, C, 1), GL_EINVAL);
    assert_int_equal(gl_grid_video_mask(mask, F, H, 5, C, 1), GL_EINVAL);
    assert_int_equal(gl_grid_video_mask(mask, F, H, W, 0, 1), GL_EINVAL);
    assert_int_equal(gl_grid_video_mask(mask, 0, H, W, C, 1), GL_EINVAL);
    assert_int_equal(gl_grid_video_mask(mask, F, H, W, C, 0x10), GL_EINVAL);
    assert_int_equal(gl_grid_video_mask(mask, 1ll << 40, 1ll << 20, 1ll << 20, 3, 1),
                     GL_EINVAL);
}

/* The token mask is exactly the patchified canvas mask. */
static void token_mask_matches_video_mask(void **s) {
    (void)s;
    gl_patch_dims d = dims(4, 8, 8, 3, 2, 2, 2);
    enum { N = 4 * 8 * 8 * 3 };
    float *vm = tu_falloc(N), *want = tu_falloc(N), *got = tu_falloc(N);
    for (unsigned set = 0; set <= GL_GRID_ALL; set++) {
        assert_int_equal(gl_grid_video_mask(vm, d.F, d.H, d.W, d.C, set), GL_OK);
        gl_patchify_forward(want, vm, d);
        assert_int_equal(gl_grid_token_mask(got, d, set), GL_OK);
        assert_memory_equal(got, want, N * sizeof(float));
    }
    d.C = 0;
    assert_int_equal(gl_grid_token_mask(got, d, 1), GL_EINVAL);
    d.C = 3;
    assert_int_equal(gl_grid_token_mask(got, d, 0x1F), GL_EINVAL);
    tu_free(vm);
    tu_free(want);
    tu_free(got);
}

/* t per token from t per cell; cells outside the noised set are clean (t = 0). */
static void token_timesteps_per_cell(void **s) {
    (void)s;
    gl_patch_dims d = dims(2, 4, 4, 3, 1, 2, 2); /* one token per cell and frame */
    const float tc[4] = {0.1f, 0.2f, 0.3f, 0.4f};
    float t[8];
    assert_int_equal(gl_grid_token_timesteps(t, d, tc, 0xE), GL_OK); /* cell 0 clean */
    assert_memory_equal(t, ((float[]){0, 0.2f, 0.3f, 0.4f, 0, 0.2f, 0.3f, 0.4f}), sizeof t);
    assert_int_equal(gl_grid_token_timesteps(t, d, tc, GL_GRID_ALL), GL_OK);
    assert_memory_equal(t, ((float[]){0.1f, 0.2f, 0.3f, 0.4f, 0.1f, 0.2f, 0.3f, 0.4f}),
                        sizeof t);
    assert_int_equal(gl_grid_token_timesteps(t, d, tc, GL_GRID_CELL(1) | GL_GRID_CELL(2)),
                     GL_OK);
    assert_memory_equal(t, ((float[]){0, 0.2f, 0.3f, 0, 0, 0.2f, 0.3f, 0}), sizeof t);
    assert_int_equal(gl_grid_token_timesteps(t, d, tc, 0), GL_OK);
    assert_memory_equal(t, ((float[8]){0}), sizeof t);
    /* a larger patch grid: every token carries its own cell's t */
    gl_patch_dims d2 = dims(4, 8, 16, 3, 2, 2, 4);
    float t2[32];
    uint8_t cell[32];
    assert_int_equal(gl_grid_token_timesteps(t2, d2, tc, 0x6), GL_OK);
    assert_int_equal(gl_grid_token_cells(cell, d2), GL_OK);
    for (int i = 0; i < 32; i++)
        assert_true(t2[i] == ((cell[i] == 1 || cell[i] == 2) ? tc[cell[i]] : 0.0f));
    assert_int_equal(gl_grid_token_timesteps(t, d, tc, 0x10), GL_EINVAL);
    assert_int_equal(gl_grid_token_timesteps(t, d, NULL, 0x1), GL_EINVAL);
}

/* ---- layouts ------------------------------------------------------------------ */

static void check_cell(const gl_layout *l, int c, gl_cell_role role, const char *prompt) {
    assert_int_equal(l->cell[c].role, role);
    assert_string_equal(l->cell[c].prompt, prompt);
}

#define STAR "<c17> a red striped star orbiting on sand"

static void layout_edit(void **s) {
    (void)s;
    gl_layout l;
    char msg[256] = "";
    const char *fx[] = {"smoke", "lights", "night"};
    assert_int_equal(gl_layout_edit(&l, STAR, fx, 3, msg, sizeof msg), GL_OK);
    assert_int_equal(l.kind, GL_LAYOUT_EDIT);
    assert_string_equal(l.global, "edit");
    assert_int_equal(l.no_masks, 0);
    check_cell(&l, 0, GL_CELL_INPUT, STAR);
    check_cell(&l, 1, GL_CELL_OUTPUT, STAR " with smoke");
    check_cell(&l, 2, GL_CELL_OUTPUT, STAR " with lights");
    check_cell(&l, 3, GL_CELL_OUTPUT, STAR " with night");
    assert_int_equal(gl_layout_cells(&l, GL_CELL_INPUT), 0x1);
    assert_int_equal(gl_layout_cells(&l, GL_CELL_OUTPUT), 0xE);
    /* fewer effects: the other outputs reconstruct the plain concept */
    assert_int_equal(gl_layout_edit(&l, STAR, fx, 1, msg, sizeof msg), GL_OK);
    check_cell(&l, 1, GL_CELL_OUTPUT, STAR " with smoke");
    check_cell(&l, 2, GL_CELL_OUTPUT, STAR);
    check_cell(&l, 3, GL_CELL_OUTPUT, STAR);
    assert_int_equal(gl_layout_edit(&l, STAR, NULL, 0, msg, sizeof msg), GL_OK);
    check_cell(&l, 1, GL_CELL_OUTPUT, STAR);
    assert_int_equal(gl_layout_edit(&l, "", fx, 1, msg, sizeof msg), GL_OK);
    check_cell(&l, 0, GL_CELL_INPUT, "");
    check_cell(&l, 1, GL_CELL_OUTPUT, "with smoke");
    /* bad effect lists: an error, the layout left as gl_layout_init leaves it */
    const char *empty_fx[] = {"smoke", ""};
    assert_int_equal(gl_layout_edit(&l, STAR, empty_fx, 2, msg, sizeof msg), GL_EINVAL);
    assert_non_null(strstr(msg, "effects 2 is empty"));
    assert_int_equal(l.kind, GL_LAYOUT_CUSTOM);
    assert_string_equal(l.global, "");
    check_cell(&l, 0, GL_CELL_OUTPUT, "");
    const char *four[] = {"smoke", "lights", "night", "rain"};
    assert_int_equal(gl_layout_edit(&l, STAR, four, 4, msg, sizeof msg), GL_EINVAL);
    assert_int_equal(gl_layout_edit(&l, STAR, NULL, 2, msg, sizeof msg), GL_EINVAL);
    assert_int_equal(gl_layout_edit(NULL, STAR, fx, 3, msg, sizeof msg), GL_EINVAL);
}

static void layout_compose(void **s) {
    (void)s;
    gl_layout l;
    char msg[256] = "";
    assert_int_equal(gl_layout_compose(&l, "<c1> a star", "<c2> a ring", NULL, 0, msg,
                                       sizeof msg), GL_OK);
    assert_int_equal(l.kind, GL_LAYOUT_COMPOSE);
    assert_string_equal(l.global, "compose");
    check_cell(&l, 0, GL_CELL_INPUT, "<c1> a star");
    check_cell(&l, 1, GL_CELL_INPUT, "<c2> a ring");
    check_cell(&l, 2, GL_CELL_OUTPUT, "<c1> a star and <c2> a ring");
    check_cell(&l, 3, GL_CELL_OUTPUT, "<c2> a ring and <c1> a star");
    assert_int_equal(gl_layout_cells(&l, GL_CELL_INPUT), 0x3);
    assert_int_equal(gl_layout_cells(&l, GL_CELL_OUTPUT), 0xC);
    const char *combos[] = {"<c1> a star with the motion of <c2>", "<c2> a ring orbiting <c1>"};
    assert_int_equal(gl_layout_compose(&l, "<c1> a star", "<c2> a ring", combos, 2, msg,
                                       sizeof msg), GL_OK);
    check_cell(&l, 2, GL_CELL_OUTPUT, combos[0]);
    check_cell(&l, 3, GL_CELL_OUTPUT, combos[1]);
    assert_int_equal(gl_layout_compose(&l, "<c1> a star", "<c2> a ring", combos, 1, msg,
                                       sizeof msg), GL_OK);
    check_cell(&l, 2, GL_CELL_OUTPUT, combos[0]);
    check_cell(&l, 3, GL_CELL_OUTPUT, "<c2> a ring and <c1> a star");
    assert_int_equal(gl_layout_compose(&l, "a", "b", combos, 3, msg, sizeof msg), GL_EINVAL);
    /* captions of the domain: the pair's caption, one background (each cell its top
     * concept's), the form the grid sets train on; a combination given still wins */
    const char *red = "a red striped star orbiting on sand", *blue = "a <c2> blue spotted ring drifting on snow";
    assert_int_equal(gl_layout_compose(&l, red, blue, combos, 1, msg, sizeof msg), GL_OK);
    check_cell(&l, 2, GL_CELL_OUTPUT, combos[0]);
    check_cell(&l, 3, GL_CELL_OUTPUT, "a <c2> blue spotted ring and a red striped star on snow");
    assert_int_equal(gl_layout_compose(&l, red, blue, NULL, 0, msg, sizeof msg), GL_OK);
    check_cell(&l, 2, GL_CELL_OUTPUT, "a red striped star and a <c2> blue spotted ring on sand");
}

static void layout_character(void **s) {
    (void)s;
    gl_layout l;
    char msg[256] = "";
    const char *sc[] = {"a red star bouncing on snow", "a red star spinning on grass",
                        "a red star orbiting at night"};
    assert_int_equal(gl_layout_character(&l, STAR, sc, 3, msg, sizeof msg), GL_OK);
    assert_int_equal(l.kind, GL_LAYOUT_CHARACTER);
    assert_string_equal(l.global, "character");
    check_cell(&l, 0, GL_CELL_INPUT, STAR);
    for (int c = 1; c < 4; c++) check_cell(&l, c, GL_CELL_OUTPUT, sc[c - 1]);
    assert_int_equal(gl_layout_character(&l, STAR, sc, 1, msg, sizeof msg), GL_OK);
    for (int c = 1; c < 4; c++) check_cell(&l, c, GL_CELL_OUTPUT, sc[0]);
    assert_int_equal(gl_layout_character(&l, STAR, sc, 0, msg, sizeof msg), GL_EINVAL);
    assert_int_equal(l.kind, GL_LAYOUT_CUSTOM);
}

static void same_layout(const gl_layout *a, const gl_layout *b);

/* A story of three shots is three grids; grid k's context is shot k-1. */
static void layout_story(void **s) {
    (void)s;
    gl_layout l;
    char msg[256] = "";
    const char *shots[] = {"a star on sand", "a star on snow", "a star at night"};
    static const int want[3][4] = {{-1, 0, 1, 2}, {0, 1, 2, 2}, {1, 2, 2, 2}};
    for (int k = 0; k < 3; k++) {
        assert_int_equal(gl_layout_story(&l, STAR, shots, 3, k, msg, sizeof msg), GL_OK);
        assert_int_equal(l.kind, GL_LAYOUT_STORY);
        assert_string_equal(l.global, "story");
        check_cell(&l, 0, GL_CELL_INPUT, want[k][0] < 0 ? STAR : shots[want[k][0]]);
        for (int c = 1; c < 4; c++) check_cell(&l, c, GL_CELL_OUTPUT, shots[want[k][c]]);
        assert_string_equal(l.cell[GL_STORY_SHOT_CELL].prompt, shots[k]);
    }
    assert_int_equal(gl_layout_story(&l, STAR, shots, 1, 0, msg, sizeof msg), GL_OK);
    for (int c = 1; c < 4; c++) check_cell(&l, c, GL_CELL_OUTPUT, shots[0]);
    assert_int_equal(gl_layout_story(&l, STAR, shots, 3, 3, msg, sizeof msg), GL_EINVAL);
    assert_non_null(strstr(msg, "shot 3"));
    assert_int_equal(gl_layout_story(&l, STAR, shots, 3, -1, msg, sizeof msg), GL_EINVAL);
    assert_int_equal(gl_layout_story(&l, STAR, shots, 0, 0, msg, sizeof msg), GL_EINVAL);
    assert_int_equal(gl_layout_story(&l, STAR, NULL, 2, 0, msg, sizeof msg), GL_EINVAL);
    assert_int_equal(l.kind, GL_LAYOUT_CUSTOM);
}

/* Anchored: grid k > 0 keeps the concept in cell 0 and takes the previous shot in cell 2;
 * grid 0 is the plain story's. */
static void layout_story_anchored(void **s) {
    (void)s;
    gl_layout l, plain;
    char msg[256] = "";
    const char *shots[] = {"a star on sand", "a star on snow", "a star at night"};
    assert_int_equal(gl_layout_story_anchored(&l, STAR, shots, 3, 0, msg, sizeof msg), GL_OK);
    assert_int_equal(gl_layout_story(&plain, STAR, shots, 3, 0, msg, sizeof msg), GL_OK);
    same_layout(&l, &plain);
    /* shot k: {cell 0, cell 1, cell 2, cell 3} = {concept, shot k, shot k-1, shot k+1} */
    static const int want[3][4] = {{-1, 0, 1, 2}, {-1, 1, 0, 2}, {-1, 2, 1, 2}};
    static const gl_cell_role roles[4] = {GL_CELL_INPUT, GL_CELL_OUTPUT, GL_CELL_INPUT, GL_CELL_OUTPUT};
    for (int k = 1; k < 3; k++) {
        assert_int_equal(gl_layout_story_anchored(&l, STAR, shots, 3, k, msg, sizeof msg), GL_OK);
        assert_int_equal(l.kind, GL_LAYOUT_STORY);
        assert_string_equal(l.global, "story");
        assert_int_equal(l.no_masks, 0);
        for (int c = 0; c < 4; c++) check_cell(&l, c, roles[c], want[k][c] < 0 ? STAR : shots[want[k][c]]);
        assert_string_equal(l.cell[GL_STORY_SHOT_CELL].prompt, shots[k]);
        assert_string_equal(l.cell[GL_STORY_PREV_CELL].prompt, shots[k - 1]);
    }
    assert_int_equal(gl_layout_story_anchored(&l, NULL, shots, 2, 1, msg, sizeof msg), GL_OK);
    check_cell(&l, 0, GL_CELL_INPUT, "");
    check_cell(&l, 3, GL_CELL_OUTPUT, shots[1]);
    assert_int_equal(gl_layout_story_anchored(&l, STAR, shots, 3, 3, msg, sizeof msg), GL_EINVAL);
    assert_non_null(strstr(msg, "shot 3"));
    assert_int_equal(l.kind, GL_LAYOUT_CUSTOM);
    assert_int_equal(gl_layout_story_anchored(&l, "a <cell1>", shots, 3, 1, msg, sizeof msg), GL_EINVAL);
    assert_int_equal(l.kind, GL_LAYOUT_CUSTOM);
    assert_int_equal(gl_layout_story_anchored(&l, STAR, NULL, 2, 1, msg, sizeof msg), GL_EINVAL);
}

/* Where each output cell starts under a strength below 1: the input above it, else the
 * first input; nothing for an input cell, a cell outside the grid or a layout without
 * inputs. */
static void layout_start_cell(void **s) {
    (void)s;
    gl_layout l;
    char msg[256] = "";
    assert_int_equal(gl_layout_edit(&l, STAR, (const char *[]){"smoke"}, 1, msg, sizeof msg), GL_OK);
    static const int edit[4] = {-1, 0, 0, 0};
    for (int c = 0; c < 4; c++) assert_int_equal(gl_layout_start_cell(&l, c), edit[c]);
    assert_int_equal(gl_layout_start_cell(&l, 4), -1);
    assert_int_equal(gl_layout_start_cell(&l, -1), -1);
    assert_int_equal(gl_layout_compose(&l, STAR, "a blue ring", NULL, 0, msg, sizeof msg), GL_OK);
    static const int compose[4] = {-1, -1, 0, 1};
    for (int c = 0; c < 4; c++) assert_int_equal(gl_layout_start_cell(&l, c), compose[c]);
    const char *shots[] = {"a star on sand", "a star on snow", "a star at night"};
    assert_int_equal(gl_layout_story_anchored(&l, STAR, shots, 3, 1, msg, sizeof msg), GL_OK);
    static const int story[4] = {-1, 0, -1, 0};
    for (int c = 0; c < 4; c++) assert_int_equal(gl_layout_start_cell(&l, c), story[c]);
    gl_layout_init(&l);
    for (int c = 0; c < 4; c++) assert_int_equal(gl_layout_start_cell(&l, c), -1);
    assert_int_equal(gl_layout_set_cell(&l, 3, GL_CELL_INPUT, "", msg, sizeof msg), GL_OK);
    static const int custom[4] = {3, 3, 3, -1};
    for (int c = 0; c < 4; c++) assert_int_equal(gl_layout_start_cell(&l, c), custom[c]);
}

static void same_layout(const gl_layout *a, const gl_layout *b) {
    assert_int_equal(a->kind, b->kind);
    assert_int_equal(a->no_masks, b->no_masks);
    assert_string_equal(a->global, b->global);
    for (int c = 0; c < 4; c++) check_cell(a, c, b->cell[c].role, b->cell[c].prompt);
}

static void layout_by_name(void **s) {
    (void)s;
    gl_layout a, b;
    char msg[256] = "";
    const char *p[] = {"p0", "p1", "p2", "p3", "p4"};
    assert_int_equal(gl_layout_by_name(&a, "edit", p, 4, msg, sizeof msg), GL_OK);
    assert_int_equal(gl_layout_edit(&b, p[0], p + 1, 3, msg, sizeof msg), GL_OK);
    same_layout(&a, &b);
    assert_int_equal(gl_layout_by_name(&a, "edit", p, 1, msg, sizeof msg), GL_OK);
    assert_int_equal(gl_layout_edit(&b, p[0], NULL, 0, msg, sizeof msg), GL_OK);
    same_layout(&a, &b);
    assert_int_equal(gl_layout_by_name(&a, "compose", p, 3, msg, sizeof msg), GL_OK);
    assert_int_equal(gl_layout_compose(&b, p[0], p[1], p + 2, 1, msg, sizeof msg), GL_OK);
    same_layout(&a, &b);
    assert_int_equal(gl_layout_by_name(&a, "character", p, 2, msg, sizeof msg), GL_OK);
    assert_int_equal(gl_layout_character(&b, p[0], p + 1, 1, msg, sizeof msg), GL_OK);
    same_layout(&a, &b);
    assert_int_equal(gl_layout_by_name(&a, "story", p, 5, msg, sizeof msg), GL_OK);
    assert_int_equal(gl_layout_story(&b, p[0], p + 1, 4, 0, msg, sizeof msg), GL_OK);
    same_layout(&a, &b);
    for (gl_layout_kind k = GL_LAYOUT_EDIT; k <= GL_LAYOUT_STORY; k++) {
        const char *name = gl_layout_kind_name(k);
        assert_non_null(name);
        assert_int_equal(gl_layout_by_name(&a, name, p, 2, msg, sizeof msg), GL_OK);
        assert_int_equal(a.kind, k);
    }
    assert_string_equal(gl_layout_kind_name(GL_LAYOUT_CUSTOM), "custom");
    assert_null(gl_layout_kind_name((gl_layout_kind)99));
    assert_int_equal(gl_layout_by_name(&a, "grid", p, 2, msg, sizeof msg), GL_ENOTFOUND);
    assert_non_null(strstr(msg, "'grid'"));
    assert_non_null(strstr(msg, "character"));
    assert_int_equal(gl_layout_by_name(&a, NULL, p, 2, msg, sizeof msg), GL_ENOTFOUND);
    assert_int_equal(gl_layout_by_name(&a, "edit", p, 5, msg, sizeof msg), GL_EINVAL);
    assert_int_equal(gl_layout_by_name(&a, "edit", p, 0, msg, sizeof msg), GL_EINVAL);
    assert_int_equal(gl_layout_by_name(&a, "compose", p, 1, msg, sizeof msg), GL_EINVAL);
    assert_int_equal(gl_layout_by_name(&a, "character", p, 1, msg, sizeof msg), GL_EINVAL);
    assert_int_equal(gl_layout_by_name(&a, "story", p, 1, msg, sizeof msg), GL_EINVAL);
    assert_int_equal(gl_layout_by_name(&a, "edit", NULL, 2, msg, sizeof msg), GL_EINVAL);
}

/* Setters: a prompt too long or holding a marker is refused, the layout unchanged. */
static void layout_rejects_bad_prompts(void **s) {
    (void)s;
    gl_layout l;
    gl_layout_init(&l);
    assert_int_equal(l.kind, GL_LAYOUT_CUSTOM);
    assert_int_equal(gl_layout_cells(&l, GL_CELL_OUTPUT), GL_GRID_ALL);
    char msg[256] = "";
    char longest[GL_PROMPT_MAX], too_long[GL_PROMPT_MAX + 1];
    memset(longest, 'a', sizeof longest - 1);
    longest[sizeof longest - 1] = '\0';
    memset(too_long, 'b', sizeof too_long - 1);
    too_long[sizeof too_long - 1] = '\0';
    assert_int_equal(gl_layout_set_global(&l, longest, msg, sizeof msg), GL_OK);
    assert_string_equal(l.global, longest);
    assert_int_equal(gl_layout_set_global(&l, too_long, msg, sizeof msg), GL_EINVAL);
    assert_non_null(strstr(msg, "256 bytes"));
    assert_string_equal(l.global, longest);
    assert_int_equal(gl_layout_set_cell(&l, 2, GL_CELL_INPUT, "x <cell1> y", msg, sizeof msg),
                     GL_EINVAL);
    assert_non_null(strstr(msg, "<cell1>"));
    assert_int_equal(gl_layout_set_global(&l, "a <grid>", msg, sizeof msg), GL_EINVAL);
    assert_int_equal(gl_layout_set_cell(&l, 4, GL_CELL_INPUT, "x", msg, sizeof msg), GL_EINVAL);
    assert_int_equal(gl_layout_set_cell(&l, -1, GL_CELL_INPUT, "x", msg, sizeof msg),
                     GL_EINVAL);
    assert_int_equal(gl_layout_set_cell(&l, 0, (gl_cell_role)7, "x", msg, sizeof msg),
                     GL_EINVAL);
    check_cell(&l, 2, GL_CELL_OUTPUT, "");
    assert_int_equal(gl_layout_set_cell(&l, 2, GL_CELL_INPUT, "<cell> is fine", msg,
                                        sizeof msg), GL_OK);
    check_cell(&l, 2, GL_CELL_INPUT, "<cell> is fine");
    assert_int_equal(gl_layout_set_cell(&l, 2, GL_CELL_OUTPUT, NULL, msg, sizeof msg), GL_OK);
    check_cell(&l, 2, GL_CELL_OUTPUT, "");
    /* a built-in whose joined cell prompt would not fit: an error, not a cut */
    longest[GL_PROMPT_MAX - 4] = '\0';
    assert_int_equal(gl_layout_edit(&l, longest, (const char *[]){"smoke"}, 1, msg, sizeof msg),
                     GL_EINVAL);
    assert_int_equal(l.kind, GL_LAYOUT_CUSTOM);
    assert_int_equal(gl_layout_compose(&l, longest, "b", NULL, 0, msg, sizeof msg), GL_EINVAL);
    assert_int_equal(gl_layout_character(&l, too_long, (const char *[]){"x"}, 1, msg,
                                         sizeof msg), GL_EINVAL);
    /* no message buffer is fine */
    assert_int_equal(gl_layout_set_global(&l, too_long, NULL, 0), GL_EINVAL);
}

/* The joined prompt, literally. */
static void layout_prompt_exact(void **s) {
    (void)s;
    gl_layout l;
    char msg[256] = "", buf[GL_LAYOUT_PROMPT_MAX];
    assert_int_equal(gl_layout_edit(&l, "a red star", (const char *[]){"smoke", "lights", "night"},
                                    3, msg, sizeof msg), GL_OK);
    assert_int_equal(gl_layout_prompt(&l, buf, sizeof buf, msg, sizeof msg), GL_OK);
    assert_string_equal(buf, "<grid> edit <cell0> a red star <cell1> a red star with smoke "
                             "<cell2> a red star with lights <cell3> a red star with night");
    /* empty prompts leave their markers only */
    gl_layout_init(&l);
    assert_int_equal(gl_layout_set_cell(&l, 0, GL_CELL_INPUT, "a", msg, sizeof msg), GL_OK);
    assert_int_equal(gl_layout_set_cell(&l, 3, GL_CELL_OUTPUT, "d e", msg, sizeof msg), GL_OK);
    assert_int_equal(gl_layout_prompt(&l, buf, sizeof buf, msg, sizeof msg), GL_OK);
    assert_string_equal(buf, "<grid> <cell0> a <cell1> <cell2> <cell3> d e");
    gl_layout_init(&l);
    assert_int_equal(gl_layout_prompt(&l, buf, sizeof buf, msg, sizeof msg), GL_OK);
    assert_string_equal(buf, "<grid> <cell0> <cell1> <cell2> <cell3>");
}

/* A buffer one byte short is an error with "" left in it, never a write past its end
 * (the buffer is an exact-size heap block: cmocka's guard bytes and ASan see overruns);
 * the longest layout fits GL_LAYOUT_PROMPT_MAX. */
static void layout_prompt_overflow(void **s) {
    (void)s;
    gl_layout l;
    char msg[256] = "";
    assert_int_equal(gl_layout_compose(&l, "a", "b", NULL, 0, msg, sizeof msg), GL_OK);
    const char *want = "<grid> compose <cell0> a <cell1> b <cell2> a and b <cell3> b and a";
    size_t need = strlen(want) + 1;
    char *exact = test_malloc(need);
    assert_int_equal(gl_layout_prompt(&l, exact, need, msg, sizeof msg), GL_OK);
    assert_string_equal(exact, want);
    test_free(exact);
    char *shorter = test_malloc(need - 1);
    memset(shorter, 'x', need - 1);
    assert_int_equal(gl_layout_prompt(&l, shorter, need - 1, msg, sizeof msg), GL_EINVAL);
    assert_int_equal(shorter[0], '\0');
    char want_msg[128];
    snprintf(want_msg, sizeof want_msg, "needs %zu bytes, the buffer holds %zu", need, need - 1);
    assert_non_null(strstr(msg, want_msg));
    test_free(shorter);
    char one[1] = {'x'};
    assert_int_equal(gl_layout_prompt(&l, one, 1, NULL, 0), GL_EINVAL);
    assert_int_equal(one[0], '\0');
    assert_int_equal(gl_layout_prompt(&l, NULL, 0, msg, sizeof msg), GL_EINVAL);
    assert_int_equal(gl_layout_prompt(NULL, one, 1, msg, sizeof msg), GL_EINVAL);
    /* every prompt at its longest */
    char longest[GL_PROMPT_MAX];
    memset(longest, 'z', sizeof longest - 1);
    longest[sizeof longest - 1] = '\0';
    assert_int_equal(gl_layout_set_global(&l, longest, msg, sizeof msg), GL_OK);
    for (int c = 0; c < 4; c++)
        assert_int_equal(gl_layout_set_cell(&l, c, GL_CELL_OUTPUT, longest, msg, sizeof msg),
                         GL_OK);
    char *big = test_malloc(GL_LAYOUT_PROMPT_MAX);
    assert_int_equal(gl_layout_prompt(&l, big, GL_LAYOUT_PROMPT_MAX, msg, sizeof msg), GL_OK);
    /* 5 markers, 5 prompts, 9 spaces */
    assert_int_equal(strlen(big), 6 + 4 * 7 + 5 * (GL_PROMPT_MAX - 1) + 9);
    test_free(big);
    /* an unterminated prompt field (a caller's strncpy) is refused, not read past */
    memset(l.cell[2].prompt, 'q', GL_PROMPT_MAX);
    char buf[GL_LAYOUT_PROMPT_MAX];
    assert_int_equal(gl_layout_prompt(&l, buf, sizeof buf, msg, sizeof msg), GL_EINVAL);
    assert_string_equal(buf, "");
}

/* The compose layout's masks, checked entry by entry on a 1x8x8 canvas of 2x2 patches:
 * 16 tokens, cells of 2x2 tokens; the text "<grid> g g <cell0> a <cell1> b b <cell2> c
 * <cell3> d" with the markers at ids 2..6. */
static void layout_masks(void **state) {
    (void)state;
    gl_layout l;
    char msg[256];
    const char *p[] = {"a", "b"};
    assert_int_equal(gl_layout_by_name(&l, "compose", p, 2, msg, sizeof msg), 0);
    gl_patch_dims d = {1, 1, 8, 8, 3, 1, 2, 2};
    const int32_t text[] = {2, 10, 11, 3, 20, 4, 21, 22, 5, 23, 6, 24};
    const int64_t n = 12, L = 16, T = 16;
    uint8_t self[16 * 16], cross[16 * 16];
    assert_int_equal(gl_layout_masks(&l, d, text, n, L, 2, self, cross), 0);
    for (int64_t i = 0; i < T; i++) {
        int ci = 2 * ((i / 4) >= 2) + ((i % 4) >= 2);
        for (int64_t j = 0; j < T; j++) {
            int cj = 2 * ((j / 4) >= 2) + ((j % 4) >= 2);
            assert_int_equal(self[i * T + j], ci >= 2 || cj == ci); /* cells 0, 1 are inputs */
        }
        /* text segments: 0..2 global, 3..4 cell 0, 5..7 cell 1, 8..9 cell 2, 10..11 cell 3 */
        const int segs[12] = {-1, -1, -1, 0, 0, 1, 1, 1, 2, 2, 3, 3};
        for (int64_t j = 0; j < L; j++) {
            int want = j < n && (segs[j] < 0 || segs[j] == ci); /* every cell: global and own */
            assert_int_equal(cross[i * L + j], want);
        }
    }
    /* the text encoder's mask: global tokens read the global prompt; a cell's tokens the
     * global prompt and their own cell's; padding reads nothing */
    uint8_t tm[16 * 16];
    assert_int_equal(gl_layout_text_mask(text, n, L, 2, tm), 0);
    const int seg[12] = {-1, -1, -1, 0, 0, 1, 1, 1, 2, 2, 3, 3};
    for (int64_t i = 0; i < L; i++)
        for (int64_t j = 0; j < L; j++)
            assert_int_equal(tm[i * L + j], i < n && j < n && (seg[j] < 0 || seg[j] == seg[i]));
    assert_int_equal(gl_layout_text_mask(text + 1, n - 1, L, 2, tm), GL_EINVAL);
    /* consistency mode: no masks, nothing written */
    memset(self, 7, sizeof self);
    l.no_masks = 1;
    assert_int_equal(gl_layout_masks(&l, d, text, n, L, 2, self, cross), 1);
    assert_int_equal(self[0], 7);
    l.no_masks = 0;
    assert_int_equal(gl_layout_masks(&l, d, text + 1, n - 1, L, 2, self, cross), GL_EINVAL);
    assert_int_equal(gl_layout_masks(&l, d, text, 20, L, 2, self, cross), GL_EINVAL);
}

/* The anchored story's grid 1 (inputs: cells 0 and 2), entry by entry on the canvas and
 * text of layout_masks, against tables written by hand: which cells' tokens a query of
 * each cell reads, and which text segments. */
static void layout_masks_story(void **state) {
    (void)state;
    gl_layout l;
    char msg[256];
    const char *shots[] = {"p", "q"};
    assert_int_equal(gl_layout_story_anchored(&l, "c", shots, 2, 1, msg, sizeof msg), 0);
    gl_patch_dims d = {1, 1, 8, 8, 3, 1, 2, 2};
    const int32_t text[] = {2, 10, 11, 3, 20, 4, 21, 22, 5, 23, 6, 24};
    const int64_t n = 12, L = 16, T = 16;
    static const uint8_t reads_cell[4][4] = {
        {1, 0, 0, 0}, /* cell 0, the concept (input): itself only */
        {1, 1, 1, 1}, /* cell 1, the shot (output): every cell's video */
        {0, 0, 1, 0}, /* cell 2, the previous shot (input): itself only */
        {1, 1, 1, 1}, /* cell 3, look-ahead (output): everything */
    };
    /* text segments: global, cell 0, cell 1, cell 2, cell 3 */
    static const uint8_t reads_text[4][5] = {
        {1, 1, 0, 0, 0},
        {1, 0, 1, 0, 0}, /* an output cell too reads only the global prompt and its own */
        {1, 0, 0, 1, 0},
        {1, 0, 0, 0, 1},
    };
    static const int seg[12] = {0, 0, 0, 1, 1, 2, 2, 2, 3, 3, 4, 4};
    uint8_t self[16 * 16], cross[16 * 16];
    assert_int_equal(gl_layout_masks(&l, d, text, n, L, 2, self, cross), 0);
    for (int64_t i = 0; i < T; i++) {
        int ci = 2 * ((i / 4) >= 2) + ((i % 4) >= 2);
        for (int64_t j = 0; j < T; j++) {
            int cj = 2 * ((j / 4) >= 2) + ((j % 4) >= 2);
            assert_int_equal(self[i * T + j], reads_cell[ci][cj]);
        }
        for (int64_t j = 0; j < L; j++) assert_int_equal(cross[i * L + j], j < n && reads_text[ci][seg[j]]);
    }
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(tile_split_round_trip),
    cmocka_unit_test(tile_literal),
    cmocka_unit_test(tile_rejects_mismatched),
    cmocka_unit_test(split_rejects_odd),
    cmocka_unit_test(cells_patch_1x1x1),
    cmocka_unit_test(cells_patch_2x4x4),
    cmocka_unit_test(cells_patch_equal_cell),
    cmocka_unit_test(cells_reject_straddle),
    cmocka_unit_test(positions_contiguous),
    cmocka_unit_test(video_mask_per_cell),
    cmocka_unit_test(token_mask_matches_video_mask),
    cmocka_unit_test(token_timesteps_per_cell),
    cmocka_unit_test(layout_edit),
    cmocka_unit_test(layout_compose),
    cmocka_unit_test(layout_character),
    cmocka_unit_test(layout_story),
    cmocka_unit_test(layout_by_name),
    cmocka_unit_test(layout_rejects_bad_prompts),
    cmocka_unit_test(layout_prompt_exact),
    cmocka_unit_test(layout_prompt_overflow),
    cmocka_unit_test(layout_masks),
    cmocka_unit_test(layout_story_anchored),
    cmocka_unit_test(layout_masks_story),
    cmocka_unit_test(layout_start_cell),
};
TU_MAIN("grid", tests)
