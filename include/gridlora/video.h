/* gridlora/video.h: videos in memory, and reading/writing them through FFmpeg's libraries.
 *
 * A gl_video is RGB float frames in [0, 1], channels last: rgb[((f*H + y)*W + x)*3 + c],
 * the layout gl_patchify_forward takes ([B,F,H,W,C] with B = 1). The model maps [0,1]
 * to its own range; io never does.
 *
 *     gl_video v = {0};
 *     gl_video_read_opts o = gl_video_read_default_opts();   // 8 frames of 32x32
 *     char msg[512];
 *     if (gl_video_read("in.mov", &o, &v, NULL, msg, sizeof msg)) { puts(msg); ... }
 *     gl_video_write("out.mp4", &v, 8, msg, sizeof msg);       // .mp4, .gif or .png
 *     gl_video_read_memory(bytes, nbytes, "upload", &o, &v, NULL, msg, sizeof msg);
 *     gl_video_release(&v);
 *
 * Every function that can fail returns 0 or a negative GL_E* code and puts one line,
 * naming the file and the problem, into msg. Writers write to a temporary name beside
 * the target and rename() it into place: a failure leaves no file behind.
 * Local files only: FFmpeg's network protocols are refused.
 */
#ifndef GRIDLORA_VIDEO_H
#define GRIDLORA_VIDEO_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct gl_video {
    int64_t frames, height, width;
    float *rgb; /* [frames, height, width, 3], owned: free with gl_video_release */
} gl_video;

/* Allocates rgb (zeroed) for F x H x W; GL_EINVAL for sizes < 1 or an overflowing
 * product, GL_ENOMEM. */
int gl_video_alloc(gl_video *v, int64_t frames, int64_t height, int64_t width);
/* Frees rgb and zeroes the struct; a zeroed struct is a no-op. */
void gl_video_release(gl_video *v);

typedef struct gl_video_read_opts {
    int64_t frames;         /* frames sampled evenly over the clip (default 8) */
    int64_t width, height;  /* output size: centre-cropped to its aspect, area-resized
                               (default 32x32) */
    size_t max_frame_bytes; /* refuse decoded frames larger than this (default 256 MiB) */
} gl_video_read_opts;

gl_video_read_opts gl_video_read_default_opts(void);

/* FFmpeg's (and its encoders') own messages on stderr: off (0, only our one-line
 * errors) or on (1). Process-wide, as FFmpeg's log level is; the gridlora tool starts
 * with them off. */
void gl_video_set_verbose(int on);

typedef struct gl_video_read_info {
    int64_t source_frames;          /* frames decoded from the file */
    int64_t source_width, source_height;
    double source_fps;
    int repeated;                   /* 1 when the clip had fewer frames than asked */
    char codec[32], container[32];  /* FFmpeg's short names */
} gl_video_read_info;

/* Reads any video or image FFmpeg decodes into out (allocated here). info may be NULL. */
int gl_video_read(const char *path, const gl_video_read_opts *opts, gl_video *out,
                  gl_video_read_info *info, char *msg, size_t msglen);

/* As gl_video_read, for a file already in memory: buf[0..len) is read through FFmpeg's
 * custom I/O (a read and a seek callback over the buffer; nothing is copied, buf is not
 * kept after the call returns). The format is found from the bytes alone; `name` (NULL:
 * "(memory)") only names the input in msg. Nothing outside the buffer is ever opened:
 * formats that refer to other files (playlists, image sequences) fail. Same results and
 * errors as gl_video_read on a file holding the same bytes (for formats FFmpeg probes by
 * content: mp4, gif, png, ...), except GL_EIO cases; an empty buffer is GL_EFORMAT
 * ("name: empty buffer"), a NULL buf with len > 0 or a NULL out GL_EINVAL. */
int gl_video_read_memory(const void *buf, size_t len, const char *name,
                         const gl_video_read_opts *opts, gl_video *out, gl_video_read_info *info,
                         char *msg, size_t msglen);

/* Writes v by the path's extension: .mp4 (H.264 when the encoder exists, MPEG-4 part 2
 * otherwise, high quality), .gif (looping, palette built from the frames), .png (a
 * contact sheet of the frames side by side, see gl_contact_sheet_write, scale 4). */
int gl_video_write(const char *path, const gl_video *v, int fps, char *msg, size_t msglen);

/* A PNG of `rows` videos, one per row, frames side by side, each pixel upscaled to a
 * scale x scale block (nearest neighbour) with a 1-pixel gap (scaled) between frames.
 * Videos may differ in frame count; they must share height and width. */
int gl_contact_sheet_write(const char *path, const gl_video *const *rows, int nrows, int scale,
                           char *msg, size_t msglen);

#ifdef __cplusplus
}
#endif
#endif
