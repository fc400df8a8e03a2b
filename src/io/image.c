/* io/image.c: contact sheets: videos as rows of frames in one PNG, encoded by
 * libavcodec's png encoder. Writes to a temporary name and rename()s it into place:
 * never a half-written sheet under the final name. */
#define _POSIX_C_SOURCE 200809L /* getpid, unlink */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libavcodec/avcodec.h>
#include <libavutil/frame.h>

#include "gridlora/core.h"
#include "gridlora/video.h"
#include "io/io_util.h"

/* Sheets up to 16384 on a side (768 MiB of RGB at the most): a PNG any viewer opens. */
#define MAX_SHEET_SIDE 16384
#define MAX_SCALE 64
/* The background, also between frames: dark grey, so black frames stay visible. */
#define BACKGROUND 32





/* Draws the sheet into frame (RGB24, already sized): frames at (f * (W + 1) * scale,
 * r * (H + 1) * scale), each pixel a scale x scale block. */
static void draw(AVFrame *frame, const gl_video *const *rows, int nrows, int64_t H, int64_t W,
                 int scale) {
    for (int y = 0; y < frame->height; y++)
        memset(frame->data[0] + (size_t)y * frame->linesize[0], BACKGROUND, (size_t)frame->width * 3);
    for (int r = 0; r < nrows; r++)
        for (int64_t f = 0; f < rows[r]->frames; f++) {
            const float *src = rows[r]->rgb + (size_t)(f * H * W * 3);
            int64_t x0 = f * (W + 1) * scale, y0 = r * (H + 1) * scale;
            for (int64_t y = 0; y < H * scale; y++) {
                const float *line = src + (size_t)(y / scale * W * 3);
                uint8_t *d = frame->data[0] + (size_t)(y0 + y) * frame->linesize[0] + x0 * 3;
                for (int64_t x = 0; x < W * scale; x++) {
                    const float *p = line + x / scale * 3;
                    d[3 * x] = gl__q8(p[0]), d[3 * x + 1] = gl__q8(p[1]), d[3 * x + 2] = gl__q8(p[2]);
                }
            }
        }
}

/* Encodes frame as PNG into the open file fp. */
static int encode_png(const char *path, AVFrame *frame, FILE *fp, char *msg, size_t msglen) {
    AVCodecContext *c = NULL;
    AVPacket *pkt = NULL;
    int ret, err = GL_OK;
    const AVCodec *codec = avcodec_find_encoder(AV_CODEC_ID_PNG);
    if (!codec) {
        err = gl__io_fail(msg, msglen, GL_EINVAL, path, "this FFmpeg has no png encoder");
        goto end;
    }
    if (!(c = avcodec_alloc_context3(codec)) || !(pkt = av_packet_alloc())) {
        err = gl__io_fail(msg, msglen, GL_ENOMEM, path, "out of memory");
        goto end;
    }
    c->width = frame->width;
    c->height = frame->height;
    c->pix_fmt = AV_PIX_FMT_RGB24;
    c->time_base = (AVRational){1, 1};
    c->flags |= AV_CODEC_FLAG_BITEXACT;
    if ((ret = avcodec_open2(c, codec, NULL)) < 0) {
        err = gl__io_fail(msg, msglen, GL_EINVAL, path, "cannot open the png encoder: %s", gl__averr(ret).s);
        goto end;
    }
    for (const AVFrame *send = frame;; send = NULL) { /* the frame, then the flush */
        if ((ret = avcodec_send_frame(c, send)) < 0) {
            err = gl__io_fail(msg, msglen, GL_EINVAL, path, "encoding failed: %s", gl__averr(ret).s);
            goto end;
        }
        while ((ret = avcodec_receive_packet(c, pkt)) >= 0) {
            size_t size = (size_t)pkt->size, n = fwrite(pkt->data, 1, size, fp);
            av_packet_unref(pkt);
            if (n != size) {
                err = gl__io_fail(msg, msglen, GL_EIO, path, "write failed: %s", strerror(errno));
                goto end;
            }
        }
        if (ret != AVERROR(EAGAIN) && ret != AVERROR_EOF) {
            err = gl__io_fail(msg, msglen, GL_EINVAL, path, "encoding failed: %s", gl__averr(ret).s);
            goto end;
        }
        if (!send) break;
    }
end:
    av_packet_free(&pkt);
    avcodec_free_context(&c);
    return err;
}

int gl_contact_sheet_write(const char *path, const gl_video *const *rows, int nrows, int scale,
                           char *msg, size_t msglen) {
    if (msg && msglen) msg[0] = '\0';
    if (!path || !*path) return gl__io_fail(msg, msglen, GL_EINVAL, "(null)", "no path given");
    if (!rows || nrows < 1 || nrows > MAX_SHEET_SIDE)
        return gl__io_fail(msg, msglen, GL_EINVAL, path, "no videos for the contact sheet");
    if (scale < 1 || scale > MAX_SCALE)
        return gl__io_fail(msg, msglen, GL_EINVAL, path, "scale %d is outside [1, %d]", scale, MAX_SCALE);
    int64_t H = 0, W = 0, maxf = 0;
    for (int r = 0; r < nrows; r++) {
        const gl_video *v = rows[r];
        if (!v || !v->rgb || v->frames < 1 || v->height < 1 || v->width < 1 ||
            v->height > MAX_SHEET_SIDE || v->width > MAX_SHEET_SIDE || v->frames > MAX_SHEET_SIDE)
            return gl__io_fail(msg, msglen, GL_EINVAL, path, "row %d is no video, or has a bad size", r);
        if (r == 0) H = v->height, W = v->width;
        if (v->height != H || v->width != W)
            return gl__io_fail(msg, msglen, GL_EINVAL, path,
                        "row %d is %lldx%lld, row 0 is %lldx%lld: rows must share their size", r,
                        (long long)v->width, (long long)v->height, (long long)W, (long long)H);
        if (v->frames > maxf) maxf = v->frames;
    }
    /* every factor is <= 16384 and scale <= 64: the products stay far inside int64_t */
    int64_t sw = (maxf * (W + 1) - 1) * scale, sh = ((int64_t)nrows * (H + 1) - 1) * scale;
    if (sw > MAX_SHEET_SIDE || sh > MAX_SHEET_SIDE)
        return gl__io_fail(msg, msglen, GL_EINVAL, path,
                    "a contact sheet of %lldx%lld is too large (at most %d on a side)",
                    (long long)sw, (long long)sh, MAX_SHEET_SIDE);

    AVFrame *frame = NULL;
    FILE *fp = NULL;
    char *tmp = gl__tmp_name(path);
    int err = GL_OK;
    if (!tmp || !(frame = av_frame_alloc())) {
        err = gl__io_fail(msg, msglen, GL_ENOMEM, path, "out of memory");
        goto end;
    }
    frame->format = AV_PIX_FMT_RGB24;
    frame->width = (int)sw;
    frame->height = (int)sh;
    if (av_frame_get_buffer(frame, 0) < 0) {
        err = gl__io_fail(msg, msglen, GL_ENOMEM, path, "out of memory for a %lldx%lld sheet",
                   (long long)sw, (long long)sh);
        goto end;
    }
    draw(frame, rows, nrows, H, W, scale);
    if (!(fp = fopen(tmp, "wb"))) {
        err = gl__io_fail(msg, msglen, GL_EIO, path, "cannot create: %s", strerror(errno));
        goto end;
    }
    if ((err = encode_png(path, frame, fp, msg, msglen)) != GL_OK) goto end;
    int closed = fclose(fp);
    fp = NULL;
    if (closed != 0) { /* the last flush: a full disk shows here */
        err = gl__io_fail(msg, msglen, GL_EIO, path, "write failed: %s", strerror(errno));
        goto end;
    }
    if (rename(tmp, path) != 0)
        err = gl__io_fail(msg, msglen, GL_EIO, path, "cannot rename %s into place: %s", tmp,
                   strerror(errno));

end:
    if (fp) fclose(fp);
    if (err != GL_OK && tmp) unlink(tmp); /* absent when creating it failed: ignored */
    free(tmp);
    av_frame_free(&frame);
    return err;
}
