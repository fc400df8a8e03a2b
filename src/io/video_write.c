/* io/video_write.c: write a gl_video as .mp4 (H.264 4:4:4, or MPEG-4 part 2 where
 * libx264 is missing) or .gif (one palette built from every frame); .png goes to the
 * contact sheet (io/image.c). Never leaves a half-written file: it encodes to
 * "<path>.tmp.<pid><ext>" beside the target and rename()s that into place.
 *
 * The call order is FFmpeg's doc/examples/encode_video.c with a muxer around it:
 * alloc output context, new stream, open encoder, copy parameters, open the file, write
 * header, send frame / receive packet until EAGAIN, flush with NULL, write trailer. */
#define _POSIX_C_SOURCE 200809L /* getpid, unlink */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/avstring.h>
#include <libavutil/dict.h>
#include <libavutil/opt.h>
#include <libswscale/swscale.h>

#include "gridlora/core.h"
#include "gridlora/video.h"
#include "io/io_util.h"

/* Encoders take sides up to 16384 (x264's limit is 16384 too). */
#define MAX_SIDE 16384
#define MAX_FRAMES (1 << 20)

enum { ENC_X264, ENC_MPEG4, ENC_GIF };

/* Defined here, used by tests: .mp4 with a named encoder ("libx264" or "mpeg4"), so the
 * MPEG-4 part 2 fallback is exercised where libx264 exists. */
int gl__video_write_mp4(const char *path, const gl_video *v, int fps, const char *encoder,
                        char *msg, size_t msglen);




/* The extension of path's last component, with its dot ("" if none). */
static const char *path_ext(const char *path) {
    const char *slash = strrchr(path, '/'), *base = slash ? slash + 1 : path;
    const char *dot = strrchr(base, '.');
    return dot && dot != base ? dot : "";
}


static int check_video(const char *path, const gl_video *v, char *msg, size_t msglen) {
    if (!v || !v->rgb || v->frames < 1 || v->frames > MAX_FRAMES || v->height < 1 ||
        v->height > MAX_SIDE || v->width < 1 || v->width > MAX_SIDE)
        return gl__io_fail(msg, msglen, GL_EINVAL, path,
                    "no video to write, or a bad size (frames in [1, %d], sides in [1, %d])",
                    MAX_FRAMES, MAX_SIDE);
    return GL_OK;
}

/* ---- GIF palette: one for the whole clip, deterministic -------------------------- */

/* A 5-6-5 histogram cell: pixel count, and the sums and squares of their exact 8-bit
 * values, so a box's mean and squared error come out exact. */
typedef struct cbin {
    uint32_t key, sort;
    uint64_t n, sum[3], sq[3];
} cbin;

typedef struct cbox {
    size_t lo, hi; /* bins[lo, hi) */
    double sse;    /* squared error of the box's pixels about its mean; < 0: cannot split */
    int axis;
} cbox;

static int cmp_sort(const void *a, const void *b) {
    uint32_t x = ((const cbin *)a)->sort, y = ((const cbin *)b)->sort;
    return (x > y) - (x < y);
}

static int bin_coord(uint32_t key, int axis) {
    return axis == 0 ? (int)(key >> 11) : axis == 1 ? (int)((key >> 5) & 63) : (int)(key & 31);
}

static double sse_of(uint64_t n, const double s[3], const double q[3]) {
    if (!n) return 0.0;
    double e = 0.0;
    for (int c = 0; c < 3; c++) e += q[c] - s[c] * s[c] / (double)n;
    return e;
}

/* Fills b->sse and b->axis: the channel of most error among those along which the box's
 * bins differ (they may be split only there). */
static void box_stats(const cbin *bins, cbox *b) {
    double s[3] = {0, 0, 0}, q[3] = {0, 0, 0};
    int lo[3] = {99, 99, 99}, hi[3] = {-1, -1, -1};
    uint64_t n = 0;
    for (size_t i = b->lo; i < b->hi; i++) {
        n += bins[i].n;
        for (int c = 0; c < 3; c++) {
            s[c] += (double)bins[i].sum[c];
            q[c] += (double)bins[i].sq[c];
            int k = bin_coord(bins[i].key, c);
            if (k < lo[c]) lo[c] = k;
            if (k > hi[c]) hi[c] = k;
        }
    }
    b->axis = -1;
    double best = -1.0;
    for (int c = 0; c < 3; c++) {
        double e = q[c] - s[c] * s[c] / (double)n;
        if (hi[c] > lo[c] && e > best) {
            best = e;
            b->axis = c;
        }
    }
    b->sse = b->axis < 0 ? -1.0 : sse_of(n, s, q);
}

/* Splits box b along its axis where the two halves' summed squared error is least. */
static size_t best_split(cbin *bins, const cbox *b) {
    for (size_t i = b->lo; i < b->hi; i++)
        bins[i].sort = (uint32_t)bin_coord(bins[i].key, b->axis) << 16 | bins[i].key;
    qsort(bins + b->lo, b->hi - b->lo, sizeof *bins, cmp_sort);
    double ts[3] = {0, 0, 0}, tq[3] = {0, 0, 0}, ls[3] = {0, 0, 0}, lq[3] = {0, 0, 0};
    uint64_t tn = 0, ln = 0;
    for (size_t i = b->lo; i < b->hi; i++) {
        tn += bins[i].n;
        for (int c = 0; c < 3; c++) ts[c] += (double)bins[i].sum[c], tq[c] += (double)bins[i].sq[c];
    }
    size_t at = b->lo + 1;
    double best = -1.0;
    for (size_t i = b->lo + 1; i < b->hi; i++) {
        ln += bins[i - 1].n;
        for (int c = 0; c < 3; c++)
            ls[c] += (double)bins[i - 1].sum[c], lq[c] += (double)bins[i - 1].sq[c];
        if (bins[i].sort >> 16 == bins[i - 1].sort >> 16) continue; /* same coordinate */
        double rs[3], rq[3];
        for (int c = 0; c < 3; c++) rs[c] = ts[c] - ls[c], rq[c] = tq[c] - lq[c];
        double e = sse_of(ln, ls, lq) + sse_of(tn - ln, rs, rq);
        if (best < 0 || e < best) {
            best = e;
            at = i;
        }
    }
    return at;
}

static uint32_t argb(int r, int g, int b) {
    return 0xFF000000u | (uint32_t)r << 16 | (uint32_t)g << 8 | (uint32_t)b;
}

/* Up to 256 colours for every frame of v: the exact colours when there are no more than
 * 256, else a median cut of the 5-6-5 histogram that splits the box of most squared
 * error where the split leaves least (Wu's criterion), each colour its box's mean. */
static int build_palette(const gl_video *v, uint32_t pal[256], int *npal) {
    size_t npx = (size_t)(v->frames * v->height * v->width);
    const float *x = v->rgb;
    /* exact colours, if few: open addressing over 1024 slots, 0xFFFFFFFF empty */
    uint32_t set[1024];
    memset(set, 0xff, sizeof set);
    int distinct = 0;
    for (size_t i = 0; i < npx && distinct <= 256; i++) {
        uint32_t c = (uint32_t)gl__q8(x[3 * i]) << 16 | (uint32_t)gl__q8(x[3 * i + 1]) << 8 | gl__q8(x[3 * i + 2]);
        uint32_t h = (c * 2654435761u) >> 22;
        while (set[h] != 0xFFFFFFFFu && set[h] != c) h = (h + 1) & 1023;
        if (set[h] == 0xFFFFFFFFu) set[h] = c, distinct++;
    }
    if (distinct <= 256) {
        int n = 0;
        for (int h = 0; h < 1024; h++)
            if (set[h] != 0xFFFFFFFFu) pal[n++] = set[h];
        for (int i = 1; i < n; i++) /* sorted: the palette does not depend on the hash */
            for (int j = i; j > 0 && pal[j - 1] > pal[j]; j--) {
                uint32_t t = pal[j];
                pal[j] = pal[j - 1];
                pal[j - 1] = t;
            }
        for (int i = 0; i < n; i++) pal[i] |= 0xFF000000u;
        *npal = n;
        return GL_OK;
    }

    cbin *bins = calloc(65536, sizeof *bins);
    if (!bins) return GL_ENOMEM;
    for (size_t i = 0; i < npx; i++) {
        int c8[3] = {gl__q8(x[3 * i]), gl__q8(x[3 * i + 1]), gl__q8(x[3 * i + 2])};
        cbin *b = &bins[(c8[0] >> 3) << 11 | (c8[1] >> 2) << 5 | c8[2] >> 3];
        b->n++;
        for (int c = 0; c < 3; c++) b->sum[c] += (uint64_t)c8[c], b->sq[c] += (uint64_t)(c8[c] * c8[c]);
    }
    size_t nb = 0;
    for (uint32_t k = 0; k < 65536; k++)
        if (bins[k].n) {
            bins[nb] = bins[k];
            bins[nb++].key = k;
        }
    cbox boxes[256];
    int nboxes = 1;
    boxes[0] = (cbox){.lo = 0, .hi = nb};
    box_stats(bins, &boxes[0]);
    while (nboxes < 256) {
        int pick = -1;
        for (int i = 0; i < nboxes; i++)
            if (boxes[i].sse > 0 && (pick < 0 || boxes[i].sse > boxes[pick].sse)) pick = i;
        if (pick < 0) break;
        size_t at = best_split(bins, &boxes[pick]);
        boxes[nboxes] = (cbox){.lo = at, .hi = boxes[pick].hi};
        boxes[pick].hi = at;
        box_stats(bins, &boxes[pick]);
        box_stats(bins, &boxes[nboxes]);
        nboxes++;
    }
    for (int i = 0; i < nboxes; i++) {
        uint64_t n = 0, s[3] = {0, 0, 0};
        for (size_t k = boxes[i].lo; k < boxes[i].hi; k++) {
            n += bins[k].n;
            for (int c = 0; c < 3; c++) s[c] += bins[k].sum[c];
        }
        pal[i] = argb((int)((s[0] + n / 2) / n), (int)((s[1] + n / 2) / n), (int)((s[2] + n / 2) / n));
    }
    free(bins);
    *npal = nboxes;
    return GL_OK;
}

/* Nearest palette entry (squared RGB distance, lowest index on ties), with a small
 * direct-mapped cache: video frames repeat their colours a lot. */
typedef struct pal_map {
    const uint32_t *pal;
    int npal;
    uint32_t key[4096];
    uint8_t idx[4096];
} pal_map;

static uint8_t pal_nearest(pal_map *m, uint32_t c) {
    uint32_t h = (c * 2654435761u) >> 20;
    if (m->key[h] == c) return m->idx[h];
    int r = (int)(c >> 16), g = (int)(c >> 8 & 255), b = (int)(c & 255), best = 0;
    int64_t bd = INT64_MAX;
    for (int i = 0; i < m->npal; i++) {
        int dr = r - (int)(m->pal[i] >> 16 & 255), dg = g - (int)(m->pal[i] >> 8 & 255),
            db = b - (int)(m->pal[i] & 255);
        int64_t d = (int64_t)dr * dr + (int64_t)dg * dg + (int64_t)db * db;
        if (d < bd) bd = d, best = i;
    }
    m->key[h] = c;
    m->idx[h] = (uint8_t)best;
    return (uint8_t)best;
}

/* ---- encoding --------------------------------------------------------------------- */

typedef struct writer {
    const char *path; /* the target, for messages */
    char *msg;
    size_t msglen;
    AVFormatContext *oc;
    AVCodecContext *c;
    AVStream *st;
    AVPacket *pkt;
} writer;

/* Sends frame (NULL: flush) and muxes every packet the encoder returns. */
static int encode_frame(writer *w, const AVFrame *frame) {
    int ret = avcodec_send_frame(w->c, frame);
    if (ret < 0)
        return gl__io_fail(w->msg, w->msglen, ret == AVERROR(ENOMEM) ? GL_ENOMEM : GL_EINVAL, w->path,
                    "encoding failed: %s", gl__averr(ret).s);
    for (;;) {
        ret = avcodec_receive_packet(w->c, w->pkt);
        if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF) return GL_OK;
        if (ret < 0)
            return gl__io_fail(w->msg, w->msglen, ret == AVERROR(ENOMEM) ? GL_ENOMEM : GL_EINVAL,
                        w->path, "encoding failed: %s", gl__averr(ret).s);
        if (w->pkt->duration <= 0) w->pkt->duration = 1; /* one frame: the GIF's last delay */
        av_packet_rescale_ts(w->pkt, w->c->time_base, w->st->time_base);
        w->pkt->stream_index = w->st->index;
        ret = av_interleaved_write_frame(w->oc, w->pkt); /* takes the packet's data */
        if (ret < 0)
            return gl__io_fail(w->msg, w->msglen, GL_EIO, w->path, "write failed: %s", gl__averr(ret).s);
    }
}

/* Encodes v into url (the temporary file) with the given kind of encoder. */
static int encode(const char *path, const char *url, const gl_video *v, int fps, int kind,
                  const char *encoder, char *msg, size_t msglen) {
    writer w = {.path = path, .msg = msg, .msglen = msglen};
    AVFrame *frame = NULL;
    AVDictionary *io_opts = NULL, *mux_opts = NULL;
    struct SwsContext *sws = NULL;
    uint8_t *rgb = NULL;
    pal_map *map = NULL;
    uint32_t pal[256];
    int npal = 0, ret, err = GL_OK;
    const int W = (int)v->width, H = (int)v->height;
    /* MPEG-4 part 2 at 4:2:0 wants even sides: odd ones are padded by repeating the last
     * column or row. H.264 at 4:4:4 and GIF take any size. */
    const int CW = kind == ENC_MPEG4 ? (W + 1) & ~1 : W, CH = kind == ENC_MPEG4 ? (H + 1) & ~1 : H;

    const AVCodec *codec = avcodec_find_encoder_by_name(encoder);
    if (!codec) {
        err = gl__io_fail(msg, msglen, GL_EINVAL, path, "this FFmpeg has no %s encoder", encoder);
        goto end;
    }
    if ((ret = avformat_alloc_output_context2(&w.oc, NULL, kind == ENC_GIF ? "gif" : "mp4",
                                              url)) < 0) {
        err = gl__io_fail(msg, msglen, GL_ENOMEM, path, "cannot make the muxer: %s", gl__averr(ret).s);
        goto end;
    }
    w.oc->flags |= AVFMT_FLAG_BITEXACT; /* no version strings or dates: same input, same file */
    if (!(w.st = avformat_new_stream(w.oc, NULL)) || !(w.c = avcodec_alloc_context3(codec)) ||
        !(w.pkt = av_packet_alloc()) || !(frame = av_frame_alloc())) {
        err = gl__io_fail(msg, msglen, GL_ENOMEM, path, "out of memory");
        goto end;
    }
    w.c->width = CW;
    w.c->height = CH;
    w.c->time_base = (AVRational){1, fps};
    w.c->framerate = (AVRational){fps, 1};
    w.c->thread_count = 1; /* frames are small; one thread keeps the output reproducible */
    w.c->flags |= AV_CODEC_FLAG_BITEXACT;
    w.st->time_base = w.c->time_base;
    if (kind == ENC_GIF) {
        w.c->pix_fmt = AV_PIX_FMT_PAL8;
    } else {
        /* BT.601 limited range, what swscale converts RGB with, declared so players and
         * our reader invert the same matrix */
        w.c->colorspace = AVCOL_SPC_SMPTE170M;
        w.c->color_primaries = AVCOL_PRI_SMPTE170M;
        w.c->color_trc = AVCOL_TRC_SMPTE170M;
        w.c->color_range = AVCOL_RANGE_MPEG;
    }
    if (kind == ENC_X264) {
        /* 4:4:4: 4:2:0 would average the chroma of 2x2 blocks, smearing colours across a
         * 32x32 frame. crf 10 is visually lossless (about 50 dB on smooth frames). */
        w.c->pix_fmt = AV_PIX_FMT_YUV444P;
        av_opt_set(w.c->priv_data, "crf", "10", 0);
        av_opt_set(w.c->priv_data, "preset", "medium", 0);
        /* No macroblock-tree rate control: with it, libx264's AVX-512 code made the same
         * frames encode differently from one call to the next, as the heap's layout
         * changed (14 of 40 rendered clips written 12 times in one process; none without
         * AVX-512 or without mbtree), and grid sets made twice differed by up to 17/255.
         * tests/test_video.c, write_is_deterministic. */
        av_opt_set(w.c->priv_data, "mbtree", "0", 0);
    } else if (kind == ENC_MPEG4) {
        /* fixed quantiser 2, the finest that stays within the standard's range */
        w.c->pix_fmt = AV_PIX_FMT_YUV420P;
        w.c->flags |= AV_CODEC_FLAG_QSCALE;
        w.c->global_quality = FF_QP2LAMBDA * 2;
        w.c->gop_size = 12;
        w.c->max_b_frames = 0;
    }
    if (w.oc->oformat->flags & AVFMT_GLOBALHEADER) w.c->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    if ((ret = avcodec_open2(w.c, codec, NULL)) < 0) {
        err = gl__io_fail(msg, msglen, GL_EINVAL, path, "cannot open the %s encoder for %dx%d: %s",
                   encoder, CW, CH, gl__averr(ret).s);
        goto end;
    }
    if ((ret = avcodec_parameters_from_context(w.st->codecpar, w.c)) < 0) {
        err = gl__io_fail(msg, msglen, GL_ENOMEM, path, "cannot set stream parameters: %s", gl__averr(ret).s);
        goto end;
    }

    /* the frame buffer and what fills it */
    frame->format = w.c->pix_fmt;
    frame->width = CW;
    frame->height = CH;
    if (av_frame_get_buffer(frame, 0) < 0) {
        err = gl__io_fail(msg, msglen, GL_ENOMEM, path, "out of memory");
        goto end;
    }
    if (kind == ENC_GIF) {
        if (build_palette(v, pal, &npal) != GL_OK || !(map = malloc(sizeof *map))) {
            err = gl__io_fail(msg, msglen, GL_ENOMEM, path, "out of memory");
            goto end;
        }
        for (int i = npal; i < 256; i++) pal[i] = 0xFF000000u;
        map->pal = pal;
        map->npal = npal;
        memset(map->key, 0xff, sizeof map->key); /* 0xFFFFFFFF is no 24-bit colour */
    } else {
        sws = sws_getContext(CW, CH, AV_PIX_FMT_RGB24, CW, CH, w.c->pix_fmt,
                             SWS_AREA | SWS_ACCURATE_RND | SWS_BITEXACT | SWS_FULL_CHR_H_INP,
                             NULL, NULL, NULL);
        /* padded: swscale's SIMD input readers load 16 bytes at a time and read past the
         * last pixel of the last row (valgrind: "Invalid read of size 16", 4 bytes past
         * a 32x32 frame's 3,072); zeroed, so what they read is defined */
        if (!sws || !(rgb = calloc((size_t)CW * (size_t)CH * 3 + AV_INPUT_BUFFER_PADDING_SIZE, 1))) {
            err = gl__io_fail(msg, msglen, GL_ENOMEM, path, "cannot set up the colour conversion");
            goto end;
        }
    }

    if (av_dict_set(&io_opts, "protocol_whitelist", "file", 0) < 0 ||
        (kind == ENC_GIF && av_dict_set(&mux_opts, "loop", "0", 0) < 0)) { /* loop forever */
        err = gl__io_fail(msg, msglen, GL_ENOMEM, path, "out of memory");
        goto end;
    }
    if ((ret = avio_open2(&w.oc->pb, url, AVIO_FLAG_WRITE, NULL, &io_opts)) < 0) {
        err = gl__io_fail(msg, msglen, GL_EIO, path, "cannot create: %s", gl__averr(ret).s);
        goto end;
    }
    if ((ret = avformat_write_header(w.oc, &mux_opts)) < 0) {
        err = gl__io_fail(msg, msglen, GL_EIO, path, "cannot write the header: %s", gl__averr(ret).s);
        goto end;
    }

    const size_t plane = (size_t)W * (size_t)H * 3;
    for (int64_t f = 0; f < v->frames; f++) {
        const float *src = v->rgb + (size_t)f * plane;
        if ((ret = av_frame_make_writable(frame)) < 0) {
            err = gl__io_fail(msg, msglen, GL_ENOMEM, path, "out of memory");
            goto end;
        }
        if (kind == ENC_GIF) {
            for (int y = 0; y < H; y++)
                for (int x = 0; x < W; x++) {
                    const float *p = src + ((size_t)y * W + x) * 3;
                    uint32_t c = (uint32_t)gl__q8(p[0]) << 16 | (uint32_t)gl__q8(p[1]) << 8 | gl__q8(p[2]);
                    frame->data[0][(size_t)y * frame->linesize[0] + x] = pal_nearest(map, c);
                }
            memcpy(frame->data[1], pal, sizeof pal);
        } else {
            for (int y = 0; y < CH; y++)
                for (int x = 0; x < CW; x++) {
                    int sy = y < H ? y : H - 1, sx = x < W ? x : W - 1;
                    const float *p = src + ((size_t)sy * W + sx) * 3;
                    uint8_t *d = rgb + ((size_t)y * CW + x) * 3;
                    d[0] = gl__q8(p[0]), d[1] = gl__q8(p[1]), d[2] = gl__q8(p[2]);
                }
            const uint8_t *sp[4] = {rgb, NULL, NULL, NULL};
            int ss[4] = {CW * 3, 0, 0, 0};
            if (sws_scale(sws, sp, ss, 0, CH, frame->data, frame->linesize) != CH) {
                err = gl__io_fail(msg, msglen, GL_EINVAL, path, "colour conversion failed");
                goto end;
            }
            if (kind == ENC_MPEG4) frame->quality = w.c->global_quality;
        }
        frame->pts = f;
        if ((err = encode_frame(&w, frame)) != GL_OK) goto end;
    }
    if ((err = encode_frame(&w, NULL)) != GL_OK) goto end;
    if ((ret = av_write_trailer(w.oc)) < 0) {
        err = gl__io_fail(msg, msglen, GL_EIO, path, "cannot finish the file: %s", gl__averr(ret).s);
        goto end;
    }
    if ((ret = avio_closep(&w.oc->pb)) < 0) { /* the last flush: a full disk shows here */
        err = gl__io_fail(msg, msglen, GL_EIO, path, "write failed: %s", gl__averr(ret).s);
        goto end;
    }

end:
    if (w.oc && w.oc->pb) avio_closep(&w.oc->pb);
    avformat_free_context(w.oc);
    avcodec_free_context(&w.c);
    av_packet_free(&w.pkt);
    av_frame_free(&frame);
    av_dict_free(&io_opts);
    av_dict_free(&mux_opts);
    sws_freeContext(sws);
    free(rgb);
    free(map);
    return err;
}

/* Encodes to the temporary name, then renames it into place; on any failure the
 * temporary file is removed and nothing is left. */
static int write_atomic(const char *path, const gl_video *v, int fps, int kind,
                        const char *encoder, char *msg, size_t msglen) {
    if (fps < 1 || fps > 1000)
        return gl__io_fail(msg, msglen, GL_EINVAL, path, "fps %d is outside [1, 1000]", fps);
    char *tmp = gl__tmp_name(path), *url = tmp ? av_asprintf("file:%s", tmp) : NULL;
    int err;
    if (!url) err = gl__io_fail(msg, msglen, GL_ENOMEM, path, "out of memory");
    else err = encode(path, url, v, fps, kind, encoder, msg, msglen);
    if (err == GL_OK && rename(tmp, path) != 0)
        err = gl__io_fail(msg, msglen, GL_EIO, path, "cannot rename %s into place: %s", tmp,
                   strerror(errno));
    if (err != GL_OK && tmp) unlink(tmp); /* absent when creating it failed: ignored */
    av_free(url);
    free(tmp);
    return err;
}

int gl__video_write_mp4(const char *path, const gl_video *v, int fps, const char *encoder,
                        char *msg, size_t msglen) {
    int err = check_video(path, v, msg, msglen);
    if (err) return err;
    int kind = encoder && !strcmp(encoder, "libx264") ? ENC_X264 : ENC_MPEG4;
    return write_atomic(path, v, fps, kind, kind == ENC_X264 ? "libx264" : "mpeg4", msg, msglen);
}

int gl_video_write(const char *path, const gl_video *v, int fps, char *msg, size_t msglen) {
    if (msg && msglen) msg[0] = '\0';
    if (!path || !*path) return gl__io_fail(msg, msglen, GL_EINVAL, "(null)", "no path given");
    int err = check_video(path, v, msg, msglen);
    if (err) return err;
    const char *ext = path_ext(path);
    if (!av_strcasecmp(ext, ".png")) return gl_contact_sheet_write(path, &v, 1, 4, msg, msglen);
    if (!av_strcasecmp(ext, ".mp4"))
        return gl__video_write_mp4(path, v, fps,
                                   avcodec_find_encoder_by_name("libx264") ? "libx264" : "mpeg4",
                                   msg, msglen);
    if (!av_strcasecmp(ext, ".gif")) return write_atomic(path, v, fps, ENC_GIF, "gif", msg, msglen);
    return gl__io_fail(msg, msglen, GL_EINVAL, path,
                "unsupported extension '%s' (supported: .mp4, .gif, .png)", *ext ? ext : "(none)");
}
