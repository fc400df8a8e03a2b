/* io/video.c: read a local video or image (or one in memory, through FFmpeg's custom I/O)
 * into gl_video frames through libavformat, libavcodec and libswscale. Opens local files
 * only (nothing at all for a buffer in memory), trusts no size in the file, and
 * never keeps a full-size decoded frame: each one is reduced as soon as it is decoded.
 *
 * The call order is FFmpeg's doc/examples/demux_decode.c: open, find stream info,
 * av_find_best_stream, avcodec_parameters_to_context, send packet / receive frame until
 * EAGAIN or EOF, flush with a NULL packet, one `end:` label frees all. */
#define _POSIX_C_SOURCE 200809L /* stat */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/avstring.h>
#include <libavutil/dict.h>
#include <libavutil/log.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>

#include "gridlora/core.h"
#include "gridlora/video.h"
#include "io/io_util.h"

/* Output limits, far above what the model takes (32x32, 8 frames), low enough that
 * frames * H * W * 3 floats cannot overflow and swscale accepts every size. */
#define MAX_SIDE 16384
#define MAX_FRAMES (1 << 20)
/* Every decoded frame is kept, reduced to H x W RGB24, until the clip's length is known
 * (the even sampling needs it): 1 GiB is 350k frames at 32x32, three hours at 30 fps. */
#define MAX_KEPT_BYTES ((size_t)1 << 30)
/* SWS_AREA averages every source pixel into the output (no aliasing when shrinking a
 * 1080p frame to 32x32); ACCURATE_RND and BITEXACT make the result the same on every
 * CPU. swscale scales in YUV: FULL_CHR_H_INP keeps an RGB source's chroma at full
 * width (else it is halved first), FULL_CHR_H_INT interpolates chroma on output. */
#define SWS_FLAGS \
    (SWS_AREA | SWS_ACCURATE_RND | SWS_BITEXACT | SWS_FULL_CHR_H_INP | SWS_FULL_CHR_H_INT)

int gl_video_alloc(gl_video *v, int64_t frames, int64_t height, int64_t width) {
    if (!v) return GL_EINVAL;
    memset(v, 0, sizeof *v);
    int64_t n = 0;
    if (frames < 1 || height < 1 || width < 1 ||
        gl_shape_numel(4, (int64_t[]){frames, height, width, 3}, &n) != GL_OK ||
        (uint64_t)n > SIZE_MAX / sizeof(float))
        return GL_EINVAL;
    v->rgb = calloc((size_t)n, sizeof(float));
    if (!v->rgb) return GL_ENOMEM;
    v->frames = frames;
    v->height = height;
    v->width = width;
    return GL_OK;
}

void gl_video_release(gl_video *v) {
    if (!v) return;
    free(v->rgb);
    memset(v, 0, sizeof *v);
}

gl_video_read_opts gl_video_read_default_opts(void) {
    gl_video_read_opts o = {.frames = 8, .width = 32, .height = 32,
                            .max_frame_bytes = (size_t)256 << 20};
    return o;
}



/* w * h * 4 bytes (an RGBA frame) fits in max: checked without overflow. */
static int frame_fits(int64_t w, int64_t h, size_t max) {
    if (w < 1 || h < 1) return 0;
    if ((uint64_t)w > SIZE_MAX / 4 / (uint64_t)h) return 0;
    return (size_t)w * (size_t)h * 4 <= max;
}

typedef struct reader {
    const char *path;  /* for messages */
    char *msg;
    size_t msglen;
    int64_t W, H;      /* output frame size */
    size_t max_frame_bytes, frame_bytes; /* frame_bytes = H * W * 3 */
    AVFormatContext *fmt;
    AVStream *st;
    struct SwsContext *sws;
    int sws_key[5];         /* crop w, h, pixel format, colorspace, range last set on sws */
    AVFrame *full;          /* full-size RGB24, only for bitstream pixel formats */
    struct SwsContext *sws_full;
    uint8_t *kept;          /* [n, H, W, 3] RGB24: every decoded frame, reduced */
    size_t kept_cap;        /* bytes allocated */
    int64_t n, src_w, src_h;
    int refused;            /* a nested open was refused (reading from memory) */
} reader;

/* Source region (centre crop) with the output's aspect ratio, in the frame's stored
 * pixels; a non-square sample aspect ratio is taken into account. */
static void centre_crop(const reader *r, AVFrame *f, int *x0, int *y0, int *cw, int *ch) {
    AVRational sar = av_guess_sample_aspect_ratio(r->fmt, r->st, f);
    double sx = sar.num > 0 && sar.den > 0 ? av_q2d(sar) : 1.0;
    if (!(sx > 1e-3 && sx < 1e3)) sx = 1.0;
    double disp_w = f->width * sx, want = (double)r->W / (double)r->H;
    int w = f->width, h = f->height;
    if (disp_w / h > want) { /* wider than wanted: crop the sides */
        double c = h * want / sx;
        w = (int)(c + 0.5);
    } else {
        double c = disp_w / want;
        h = (int)(c + 0.5);
    }
    if (w < 1) w = 1;
    if (w > f->width) w = f->width;
    if (h < 1) h = 1;
    if (h > f->height) h = f->height;
    *cw = w;
    *ch = h;
    *x0 = (f->width - w) / 2;
    *y0 = (f->height - h) / 2;
}

/* Bitstream pixel formats (1-bit monochrome) cannot be cropped by moving pointers: they
 * are converted to full-size RGB24 first (r->full), and cropped there. */
static int to_full_rgb(reader *r, const AVFrame *src) {
    if (!r->full || r->full->width != src->width || r->full->height != src->height) {
        av_frame_free(&r->full);
        if (!(r->full = av_frame_alloc()))
            return gl__io_fail(r->msg, r->msglen, GL_ENOMEM, r->path, "out of memory");
        r->full->format = AV_PIX_FMT_RGB24;
        r->full->width = src->width;
        r->full->height = src->height;
        if (av_frame_get_buffer(r->full, 0) < 0)
            return gl__io_fail(r->msg, r->msglen, GL_ENOMEM, r->path, "out of memory");
    }
    r->sws_full = sws_getCachedContext(r->sws_full, src->width, src->height, src->format,
                                       src->width, src->height, AV_PIX_FMT_RGB24,
                                       SWS_POINT | SWS_BITEXACT, NULL, NULL, NULL);
    if (!r->sws_full ||
        sws_scale(r->sws_full, (const uint8_t *const *)src->data, src->linesize, 0, src->height,
                  r->full->data, r->full->linesize) != src->height)
        return gl__io_fail(r->msg, r->msglen, GL_EFORMAT, r->path, "cannot convert pixel format %s",
                    av_get_pix_fmt_name(src->format));
    return GL_OK;
}

/* Crops, resizes and appends one decoded frame to r->kept. The frame's size is checked
 * against max_frame_bytes before anything is allocated for it. f's data pointers are
 * moved by the crop: the caller unreferences it afterwards. */
static int keep_frame(reader *r, AVFrame *f) {
    if (!frame_fits(f->width, f->height, r->max_frame_bytes))
        return gl__io_fail(r->msg, r->msglen, GL_EFORMAT, r->path,
                    "decoded frame of %dx%d is over the limit of %zu bytes (max_frame_bytes)",
                    f->width, f->height, r->max_frame_bytes);
    if (f->flags & AV_FRAME_FLAG_CORRUPT || f->decode_error_flags)
        return gl__io_fail(r->msg, r->msglen, GL_EFORMAT, r->path,
                    "frame %lld is corrupt (damaged or truncated file)", (long long)r->n);
    if (r->n == 0) {
        r->src_w = f->width;
        r->src_h = f->height;
    }
    if (r->frame_bytes > MAX_KEPT_BYTES - (size_t)r->n * r->frame_bytes)
        return gl__io_fail(r->msg, r->msglen, GL_EFORMAT, r->path,
                    "more than %lld frames: too long to keep at %lldx%lld (limit %zu MiB)",
                    (long long)r->n, (long long)r->W, (long long)r->H, MAX_KEPT_BYTES >> 20);
    size_t need = (size_t)(r->n + 1) * r->frame_bytes;
    if (need > r->kept_cap) {
        size_t cap = r->kept_cap ? r->kept_cap : r->frame_bytes * 16;
        while (cap < need) cap = cap > MAX_KEPT_BYTES / 2 ? MAX_KEPT_BYTES : cap * 2;
        uint8_t *p = realloc(r->kept, cap);
        if (!p) return gl__io_fail(r->msg, r->msglen, GL_ENOMEM, r->path, "out of memory");
        r->kept = p;
        r->kept_cap = cap;
    }

    const AVPixFmtDescriptor *desc = av_pix_fmt_desc_get(f->format);
    if (!desc || desc->flags & AV_PIX_FMT_FLAG_HWACCEL)
        return gl__io_fail(r->msg, r->msglen, GL_EFORMAT, r->path, "unsupported pixel format %s",
                    desc ? desc->name : "(none)");
    int x0, y0, cw, ch, err;
    centre_crop(r, f, &x0, &y0, &cw, &ch);
    const uint8_t *src[4] = {NULL, NULL, NULL, NULL};
    int src_stride[4] = {0, 0, 0, 0};
    if (desc->flags & AV_PIX_FMT_FLAG_BITSTREAM) {
        if ((err = to_full_rgb(r, f)) != GL_OK) return err;
        desc = av_pix_fmt_desc_get(AV_PIX_FMT_RGB24);
        src[0] = r->full->data[0] + (size_t)y0 * (size_t)r->full->linesize[0] + (size_t)x0 * 3;
        src_stride[0] = r->full->linesize[0];
    } else {
        f->crop_left = (size_t)x0;
        f->crop_top = (size_t)y0;
        f->crop_right = (size_t)(f->width - cw - x0);
        f->crop_bottom = (size_t)(f->height - ch - y0);
        /* moves the data pointers, exactly (UNALIGNED: swscale copes with any alignment);
         * a 4:2:0 chroma plane is then off by at most half a chroma pixel */
        if (av_frame_apply_cropping(f, AV_FRAME_CROP_UNALIGNED) < 0)
            return gl__io_fail(r->msg, r->msglen, GL_EFORMAT, r->path, "cannot crop pixel format %s",
                        desc->name);
        for (int i = 0; i < 4; i++) {
            src[i] = f->data[i];
            src_stride[i] = f->linesize[i];
        }
    }

    enum AVPixelFormat pix = av_pix_fmt_desc_get_id(desc);
    /* a new context (or NULL) replaces, and frees, the old one */
    struct SwsContext *s = r->sws = sws_getCachedContext(r->sws, cw, ch, pix, (int)r->W,
                                                         (int)r->H, AV_PIX_FMT_RGB24, SWS_FLAGS,
                                                         NULL, NULL, NULL);
    if (!s)
        return gl__io_fail(r->msg, r->msglen, GL_EFORMAT, r->path, "cannot convert pixel format %s",
                    desc->name);
    /* YUV: the matrix and range the stream declares (swscale assumes BT.601 limited);
     * RGB and grey need nothing. Set again whenever the context may be a new one. */
    int yuv = !(desc->flags & AV_PIX_FMT_FLAG_RGB) && desc->nb_components >= 3;
    int full = f->color_range == AVCOL_RANGE_JPEG || strncmp(desc->name, "yuvj", 4) == 0;
    int key[5] = {cw, ch, (int)pix, (int)f->colorspace, full};
    if (memcmp(key, r->sws_key, sizeof key) != 0) {
        if (yuv)
            sws_setColorspaceDetails(s, sws_getCoefficients(f->colorspace), full,
                                     sws_getCoefficients(SWS_CS_DEFAULT), 1, 0, 1 << 16,
                                     1 << 16);
        memcpy(r->sws_key, key, sizeof key);
    }
    uint8_t *dst[4] = {r->kept + (size_t)r->n * r->frame_bytes, NULL, NULL, NULL};
    int dst_stride[4] = {(int)(r->W * 3), 0, 0, 0};
    if (sws_scale(s, src, src_stride, 0, ch, dst, dst_stride) != r->H)
        return gl__io_fail(r->msg, r->msglen, GL_EFORMAT, r->path, "swscale failed on frame %lld",
                    (long long)r->n);
    r->n++;
    return GL_OK;
}

/* The decoder's frame allocator, refusing frames over the limit before a byte is
 * allocated. Frame-threaded decoders call it from their threads: it only reads. */
static int checked_get_buffer(AVCodecContext *c, AVFrame *f, int flags) {
    const reader *r = c->opaque;
    if (!frame_fits(c->width, c->height, r->max_frame_bytes)) return AVERROR(ERANGE);
    return avcodec_default_get_buffer2(c, f, flags);
}

/* A decoding error: over the limit when that was the cause, else damaged data. */
static int decode_error(reader *r, const AVCodecContext *dec, int ret) {
    if (dec->width > 0 && dec->height > 0 && !frame_fits(dec->width, dec->height, r->max_frame_bytes))
        return gl__io_fail(r->msg, r->msglen, GL_EFORMAT, r->path,
                    "frames of %dx%d are over the limit of %zu bytes (max_frame_bytes)",
                    dec->width, dec->height, r->max_frame_bytes);
    return gl__io_fail(r->msg, r->msglen, ret == AVERROR(ENOMEM) ? GL_ENOMEM : GL_EFORMAT, r->path,
                "decoding failed at frame %lld (corrupt or truncated?): %s", (long long)r->n,
                gl__averr(ret).s);
}

/* Sends pkt (NULL: flush) and keeps every frame the decoder returns. */
static int decode_packet(reader *r, AVCodecContext *dec, const AVPacket *pkt, AVFrame *frame) {
    int ret = avcodec_send_packet(dec, pkt);
    if (ret < 0) return decode_error(r, dec, ret);
    for (;;) {
        ret = avcodec_receive_frame(dec, frame);
        if (ret == AVERROR_EOF || ret == AVERROR(EAGAIN)) return GL_OK;
        if (ret < 0) return decode_error(r, dec, ret);
        int err = keep_frame(r, frame);
        av_frame_unref(frame);
        if (err) return err;
    }
}

/* Copies s into a fixed field, truncating. */
static void set_name(char *dst, size_t n, const char *s) { snprintf(dst, n, "%s", s ? s : "?"); }

/* A caller's buffer read through FFmpeg's custom I/O (gl_video_read_memory). */
typedef struct mem_src {
    const uint8_t *buf;
    size_t len, pos;
} mem_src;

static int mem_read(void *opaque, uint8_t *dst, int n) {
    mem_src *m = opaque;
    if (n <= 0) return 0;
    if (m->pos >= m->len) return AVERROR_EOF;
    size_t k = m->len - m->pos < (size_t)n ? m->len - m->pos : (size_t)n;
    memcpy(dst, m->buf + m->pos, k);
    m->pos += k;
    return (int)k;
}

static int64_t mem_seek(void *opaque, int64_t off, int whence) {
    mem_src *m = opaque;
    int64_t base;
    switch (whence & ~AVSEEK_FORCE) {
    case AVSEEK_SIZE: return (int64_t)m->len;
    case SEEK_SET: base = 0; break;
    case SEEK_CUR: base = (int64_t)m->pos; break;
    case SEEK_END: base = (int64_t)m->len; break;
    default: return AVERROR(EINVAL);
    }
    /* len <= SIZE_MAX, and a buffer in memory is far below INT64_MAX */
    if (off < -base || off > (int64_t)m->len - base) return AVERROR(EINVAL);
    m->pos = (size_t)(base + off);
    return (int64_t)m->pos;
}

/* Nested opens (playlists, image sequences, references to other files) from a buffer:
 * refused, so bytes in memory can never make FFmpeg read a file. */
static int refuse_open(AVFormatContext *s, AVIOContext **pb, const char *url, int flags,
                       AVDictionary **options) {
    (void)pb, (void)url, (void)flags, (void)options;
    ((reader *)s->opaque)->refused = 1;
    return AVERROR(EPERM);
}

static const char refused_text[] =
    "refers to other files (a playlist or an image sequence?), which are never opened for "
    "a buffer in memory";

/* The options with defaults filled in, checked; 0 or GL_EINVAL with msg. */
static int check_opts(const char *path, const gl_video_read_opts *opts, gl_video_read_opts *o,
                      char *msg, size_t msglen) {
    *o = opts ? *opts : gl_video_read_default_opts();
    if (o->frames < 1 || o->frames > MAX_FRAMES || o->width < 1 || o->width > MAX_SIDE ||
        o->height < 1 || o->height > MAX_SIDE)
        return gl__io_fail(msg, msglen, GL_EINVAL, path,
                    "asked for %lld frames of %lldx%lld (frames must be in [1, %d], sides in "
                    "[1, %d])", (long long)o->frames, (long long)o->width, (long long)o->height,
                    MAX_FRAMES, MAX_SIDE);
    if ((size_t)(o->width * o->height * 3) > MAX_KEPT_BYTES)
        return gl__io_fail(msg, msglen, GL_EINVAL, path, "output size %lldx%lld is too large",
                    (long long)o->width, (long long)o->height);
    return GL_OK;
}

static int read_video(const char *path, const char *url, mem_src *mem,
                      const gl_video_read_opts *opts, gl_video *out, gl_video_read_info *info,
                      char *msg, size_t msglen);

int gl_video_read(const char *path, const gl_video_read_opts *opts, gl_video *out,
                  gl_video_read_info *info, char *msg, size_t msglen) {
    if (msg && msglen) msg[0] = '\0';
    if (out) memset(out, 0, sizeof *out);
    if (info) memset(info, 0, sizeof *info);
    if (!path || !*path || !out) return gl__io_fail(msg, msglen, GL_EINVAL, path ? path : "(null)",
                                             "no path or no output given");
    gl_video_read_opts o;
    int err = check_opts(path, opts, &o, msg, msglen);
    if (err) return err;

    /* Local files only: a URL scheme other than file: is refused here, and FFmpeg is
     * held to its file protocol (protocol_whitelist) for nested opens too. */
    const char *local = path;
    if (strncmp(path, "file:", 5) == 0) local = path + 5;
    else if (strstr(path, "://"))
        return gl__io_fail(msg, msglen, GL_EINVAL, path, "only local files are read (URLs are refused)");
    struct stat sb;
    if (stat(local, &sb) != 0)
        return gl__io_fail(msg, msglen, GL_EIO, path, "cannot open: %s", strerror(errno));
    if (S_ISDIR(sb.st_mode)) return gl__io_fail(msg, msglen, GL_EIO, path, "is a directory");
    if (!S_ISREG(sb.st_mode)) return gl__io_fail(msg, msglen, GL_EIO, path, "not a regular file");
    if (sb.st_size == 0) return gl__io_fail(msg, msglen, GL_EFORMAT, path, "empty file");
    /* "file:" stops FFmpeg reading a scheme out of a name such as "a:b.mp4" */
    char *url = av_asprintf("file:%s", local);
    if (!url) return gl__io_fail(msg, msglen, GL_ENOMEM, path, "out of memory");
    err = read_video(path, url, NULL, &o, out, info, msg, msglen);
    av_free(url);
    return err;
}

int gl_video_read_memory(const void *buf, size_t len, const char *name,
                         const gl_video_read_opts *opts, gl_video *out, gl_video_read_info *info,
                         char *msg, size_t msglen) {
    if (msg && msglen) msg[0] = '\0';
    if (out) memset(out, 0, sizeof *out);
    if (info) memset(info, 0, sizeof *info);
    if (!name || !*name) name = "(memory)";
    if (!out || (!buf && len)) return gl__io_fail(msg, msglen, GL_EINVAL, name, "no buffer or no output given");
    gl_video_read_opts o;
    int err = check_opts(name, opts, &o, msg, msglen);
    if (err) return err;
    if (len == 0) return gl__io_fail(msg, msglen, GL_EFORMAT, name, "empty buffer");
    mem_src mem = {.buf = buf, .len = len, .pos = 0};
    return read_video(name, NULL, &mem, &o, out, info, msg, msglen);
}

/* The decoding shared by both entry points. path names the input in messages; the bytes
 * come from url (a "file:" URL) or, when mem is given, from mem through custom I/O. o is
 * checked already; out and info are zeroed. */
static int read_video(const char *path, const char *url, mem_src *mem,
                      const gl_video_read_opts *opts, gl_video *out, gl_video_read_info *info,
                      char *msg, size_t msglen) {
    const gl_video_read_opts o = *opts;
    reader r = {.path = path, .msg = msg, .msglen = msglen, .W = o.width, .H = o.height,
                .max_frame_bytes = o.max_frame_bytes,
                .frame_bytes = (size_t)(o.width * o.height * 3)};
    memset(r.sws_key, 0xff, sizeof r.sws_key);
    AVCodecContext *dec = NULL;
    AVDictionary *open_opts = NULL, **info_opts = NULL;
    AVPacket *pkt = NULL;
    AVFrame *frame = NULL;
    AVIOContext *avio = NULL;
    unsigned n_info_opts = 0;
    int ret, err = GL_OK;
    /* FFmpeg's own guard against huge allocations. The decoders find_stream_info runs
     * get the limit itself: a frame over it is never decoded there. Ours gets it loose,
     * as decoders allocate the coded size aligned up (a 96x64 H.264 frame takes 128x64),
     * and checked_get_buffer applies the exact limit to the visible size. */
    int64_t px = (int64_t)(o.max_frame_bytes / 4 > INT64_MAX / 4 ? INT64_MAX / 4
                                                                 : o.max_frame_bytes / 4);
    int64_t loose_px = 2 * px + (1 << 20);
    char max_pixels[32];
    snprintf(max_pixels, sizeof max_pixels, "%lld", (long long)(px > 0 ? px : 1));
    /* A buffer may open nothing: "none" names no protocol, and demuxers that open other
     * inputs by their own means (concat) pass the whitelist on; refuse_open covers those
     * that go through io_open (playlists, image sequences). */
    if (av_dict_set(&open_opts, "protocol_whitelist", mem ? "none" : "file", 0) < 0) {
        err = gl__io_fail(msg, msglen, GL_ENOMEM, path, "out of memory");
        goto end;
    }
    if (mem) {
        /* The format is probed from the bytes alone: no name is passed, so no extension
         * steers it towards a demuxer that opens files by name (image2). */
        enum { IO_BUF = 1 << 14 };
        uint8_t *iobuf = av_malloc(IO_BUF);
        if (iobuf && !(avio = avio_alloc_context(iobuf, IO_BUF, 0, mem, mem_read, NULL, mem_seek)))
            av_free(iobuf);
        if (!avio || !(r.fmt = avformat_alloc_context())) {
            err = gl__io_fail(msg, msglen, GL_ENOMEM, path, "out of memory");
            goto end;
        }
        r.fmt->pb = avio;
        r.fmt->flags |= AVFMT_FLAG_CUSTOM_IO;
        r.fmt->io_open = refuse_open;
        r.fmt->opaque = &r;
    }
    /* on failure avformat_open_input frees r.fmt (not a custom avio) */
    if ((ret = avformat_open_input(&r.fmt, url, NULL, &open_opts)) < 0) {
        /* from a buffer nothing but a nested open can fail this way */
        err = r.refused || (mem && ret != AVERROR_INVALIDDATA && ret != AVERROR(ENOMEM))
                  ? gl__io_fail(msg, msglen, GL_EFORMAT, path, "%s (%s)", refused_text, gl__averr(ret).s)
              : ret == AVERROR_INVALIDDATA
                  ? gl__io_fail(msg, msglen, GL_EFORMAT, path, "not a media file FFmpeg recognises, or a damaged one (%s)",
                         gl__averr(ret).s)
                  : gl__io_fail(msg, msglen, ret == AVERROR(ENOMEM) ? GL_ENOMEM : GL_EIO, path,
                         "cannot open: %s", gl__averr(ret).s);
        goto end;
    }
    n_info_opts = r.fmt->nb_streams;
    if (n_info_opts) {
        if (!(info_opts = av_calloc(n_info_opts, sizeof *info_opts))) {
            err = gl__io_fail(msg, msglen, GL_ENOMEM, path, "out of memory");
            goto end;
        }
        for (unsigned i = 0; i < n_info_opts; i++)
            if (av_dict_set(&info_opts[i], "max_pixels", max_pixels, 0) < 0) {
                err = gl__io_fail(msg, msglen, GL_ENOMEM, path, "out of memory");
                goto end;
            }
    }
    if ((ret = avformat_find_stream_info(r.fmt, info_opts)) < 0) {
        err = r.refused ? gl__io_fail(msg, msglen, GL_EFORMAT, path, "%s", refused_text)
                        : gl__io_fail(msg, msglen, GL_EFORMAT, path,
                               "cannot read stream information: %s", gl__averr(ret).s);
        goto end;
    }
    const AVCodec *codec = NULL;
    ret = av_find_best_stream(r.fmt, AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0);
    if (ret < 0) {
        err = ret == AVERROR_DECODER_NOT_FOUND
                  ? gl__io_fail(msg, msglen, GL_EFORMAT, path, "no decoder for its video stream")
                  : gl__io_fail(msg, msglen, GL_EFORMAT, path, "no video stream (format %s)",
                         r.fmt->iformat->name);
        goto end;
    }
    r.st = r.fmt->streams[ret];
    for (unsigned i = 0; i < r.fmt->nb_streams; i++)
        if ((int)i != r.st->index) r.fmt->streams[i]->discard = AVDISCARD_ALL;
    const AVCodecParameters *par = r.st->codecpar;
    if (r.st->disposition & AV_DISPOSITION_ATTACHED_PIC) {
        err = gl__io_fail(msg, msglen, GL_EFORMAT, path, "no video stream (only attached cover art)");
        goto end;
    }
    switch (par->codec_id) { /* text-mode art: FFmpeg renders text files as "video" */
    case AV_CODEC_ID_ANSI: case AV_CODEC_ID_BINTEXT: case AV_CODEC_ID_XBIN: case AV_CODEC_ID_IDF:
        err = gl__io_fail(msg, msglen, GL_EFORMAT, path, "not a video (a text file)");
        goto end;
    default: break;
    }
    if (par->width > 0 && par->height > 0 &&
        !frame_fits(par->width, par->height, o.max_frame_bytes)) {
        err = gl__io_fail(msg, msglen, GL_EFORMAT, path,
                   "frames of %dx%d are over the limit of %zu bytes (max_frame_bytes)",
                   par->width, par->height, o.max_frame_bytes);
        goto end;
    }
    if (info) {
        info->source_width = par->width;
        info->source_height = par->height;
        AVRational fr = r.st->avg_frame_rate.num > 0 && r.st->avg_frame_rate.den > 0
                            ? r.st->avg_frame_rate : r.st->r_frame_rate;
        info->source_fps = fr.num > 0 && fr.den > 0 ? av_q2d(fr) : 0.0;
        set_name(info->codec, sizeof info->codec, avcodec_get_name(par->codec_id));
        set_name(info->container, sizeof info->container, r.fmt->iformat->name);
    }

    if (!(dec = avcodec_alloc_context3(codec))) {
        err = gl__io_fail(msg, msglen, GL_ENOMEM, path, "out of memory");
        goto end;
    }
    if ((ret = avcodec_parameters_to_context(dec, par)) < 0) {
        err = gl__io_fail(msg, msglen, GL_EFORMAT, path, "bad codec parameters: %s", gl__averr(ret).s);
        goto end;
    }
    dec->max_pixels = loose_px;
    dec->opaque = &r;
    dec->get_buffer2 = checked_get_buffer;
    /* Decoders are bit-exact with any thread count, so take the user's (GRIDLORA_THREADS,
     * --threads) rather than FFmpeg's every-core default: our clips are small, and a
     * decoder's threads cost more to start and join than they save (4x the fuzzer's
     * executions a second with one). */
    dec->thread_count = gl_threads();
    if ((ret = avcodec_open2(dec, codec, NULL)) < 0) {
        err = gl__io_fail(msg, msglen, GL_EFORMAT, path, "cannot open the %s decoder: %s", codec->name,
                   gl__averr(ret).s);
        goto end;
    }
    if (!(pkt = av_packet_alloc()) || !(frame = av_frame_alloc())) {
        err = gl__io_fail(msg, msglen, GL_ENOMEM, path, "out of memory");
        goto end;
    }
    while ((ret = av_read_frame(r.fmt, pkt)) >= 0) {
        if (pkt->stream_index == r.st->index) {
            if (pkt->flags & AV_PKT_FLAG_CORRUPT)
                err = gl__io_fail(msg, msglen, GL_EFORMAT, path,
                           "damaged packet at frame %lld (corrupt or truncated file)",
                           (long long)r.n);
            else
                err = decode_packet(&r, dec, pkt, frame);
        }
        av_packet_unref(pkt);
        if (err) goto end;
    }
    if (ret != AVERROR_EOF) {
        err = gl__io_fail(msg, msglen, ret == AVERROR(ENOMEM) ? GL_ENOMEM : GL_EFORMAT, path,
                   "read failed at frame %lld (corrupt or truncated?): %s", (long long)r.n,
                   gl__averr(ret).s);
        goto end;
    }
    if ((err = decode_packet(&r, dec, NULL, frame)) != GL_OK) goto end;
    if (r.n == 0) {
        err = gl__io_fail(msg, msglen, GL_EFORMAT, path,
                   "no frame could be decoded (truncated or corrupt file)");
        goto end;
    }

    /* pick o.frames evenly: frame i shows source frame floor((i + 0.5) * n / frames); a
     * short clip repeats frames the same way. (2i+1) * n < 2^63: i < 2^20, n < 2^30. */
    if ((err = gl_video_alloc(out, o.frames, o.height, o.width)) != GL_OK) {
        err = gl__io_fail(msg, msglen, err, path, "cannot allocate %lld frames of %lldx%lld",
                   (long long)o.frames, (long long)o.width, (long long)o.height);
        goto end;
    }
    size_t per = r.frame_bytes;
    for (int64_t i = 0; i < o.frames; i++) {
        int64_t src = (2 * i + 1) * r.n / (2 * o.frames);
        const uint8_t *s = r.kept + (size_t)src * per;
        float *d = out->rgb + (size_t)i * per;
        for (size_t k = 0; k < per; k++) d[k] = s[k] * (1.0f / 255.0f);
    }
    if (info) {
        info->source_frames = r.n;
        info->source_width = r.src_w;
        info->source_height = r.src_h;
        info->repeated = r.n < o.frames;
    }

end:
    av_frame_free(&frame);
    av_packet_free(&pkt);
    avcodec_free_context(&dec);
    avformat_close_input(&r.fmt);
    if (avio) av_freep(&avio->buffer); /* FFmpeg may have replaced the one we gave */
    avio_context_free(&avio);
    av_dict_free(&open_opts);
    for (unsigned i = 0; info_opts && i < n_info_opts; i++) av_dict_free(&info_opts[i]);
    av_freep(&info_opts);
    sws_freeContext(r.sws);
    sws_freeContext(r.sws_full);
    av_frame_free(&r.full);
    free(r.kept);
    if (err) {
        gl_video_release(out);
        if (info) memset(info, 0, sizeof *info);
    }
    return err;
}

void gl_video_set_verbose(int on) { av_log_set_level(on ? AV_LOG_INFO : AV_LOG_QUIET); }
