/* tests/fuzz/fuzz_video.c: libFuzzer target for the video reader from memory
 * (gl_video_read_memory: FFmpeg's demuxers and decoders through custom I/O, then our
 * crop, resize and sampling). Small output and a low frame limit keep each run fast. Only
 * our code is instrumented for coverage: FFmpeg is Debian's build, so the fuzzer steers
 * by our branches and ASan sees FFmpeg's memory only through the allocator and libc. */
#include <stdint.h>
#include <stdlib.h>

#include "gridlora/video.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static int quiet;
    if (!quiet) {
        gl_video_set_verbose(0);
        quiet = 1;
    }
    gl_video_read_opts o = gl_video_read_default_opts();
    o.frames = 3;
    o.width = 8;
    o.height = 6;
    o.max_frame_bytes = (size_t)4 << 20; /* 1 Mpixel: a frame a fuzzer invents stays cheap */
    gl_video v = {0};
    gl_video_read_info info;
    char msg[512];
    int rc = gl_video_read_memory(data, size, "fuzz", &o, &v, &info, msg, sizeof msg);
    if (rc == 0) {
        if (v.frames != 3 || v.height != 6 || v.width != 8 || !v.rgb || info.source_frames < 1)
            abort();
        for (int64_t i = 0; i < 3 * 6 * 8 * 3; i++)
            if (!(v.rgb[i] >= 0.0f && v.rgb[i] <= 1.0f)) abort();
    } else if (v.rgb || !msg[0]) {
        abort();
    }
    gl_video_release(&v);
    return 0;
}
