#!/usr/bin/python3
"""Splits a video's squared error against its truth into parts, to say what a method gets wrong.

    tools/error_parts.py OUT.mp4 TRUTH.mp4 [OUT2.mp4 TRUTH2.mp4 ...]
    tools/error_parts.py --eval DIR [--method zeroshot]   # every ITEM.METHOD.mp4 beside ITEM.truth.mp4

For each pair: PSNR; the share of the squared error that one colour offset over the whole
clip explains (the mean error per channel), the share that is static (the error's mean over
frames, per pixel) and the share on the truth's moving foreground; the offset itself (RGB,
values in [0, 1]); the PSNR once that offset is taken away; the background's mean colour in
output and truth; and the foreground's standard deviation per channel in output and truth
(its texture's contrast, which a blurred subject loses) and mean; and the two parts of an
identity-like distance over that foreground, the mean over channels of |mean out - mean
truth| (colour part) and of |std out - std truth| (contrast part): `gridlora eval`'s
identity sums the same two over the renderer's alpha, which the files do not hold. Reads
the videos through the ffmpeg command (the files gridlora writes are libx264 at crf 10,
about 50 dB: far below these errors). An analysis tool, not part of gridlora: the evaluation's figures are
`gridlora eval`'s.
"""
import glob
import os
import subprocess
import sys

import numpy as np


def load(path):
    """The video as float64 [frames, height, width, 3] in [0, 1]."""
    probe = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v", "-show_entries",
                            "stream=width,height", "-of", "csv=p=0", path],
                           capture_output=True, text=True)
    if probe.returncode != 0 or not probe.stdout.strip():
        sys.exit(f"error_parts: {path}: not a video ffprobe reads")
    w, h = (int(v) for v in probe.stdout.strip().split(",")[:2])
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", path, "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
                         capture_output=True).stdout
    if not raw or len(raw) % (w * h * 3):
        sys.exit(f"error_parts: {path}: cannot decode")
    return np.frombuffer(raw, np.uint8).reshape(-1, h, w, 3).astype(np.float64) / 255.0


def psnr(mse):
    return float("inf") if mse == 0 else -10.0 * np.log10(mse)


def parts(out, truth):
    if out.shape != truth.shape:
        return None
    # the truth's foreground: pixels far from the truth's median over frames (the static scene)
    fg = np.abs(truth - np.median(truth, axis=0)).sum(-1) > 0.1
    e = out - truth
    mse = (e ** 2).mean()
    offset = e.reshape(-1, 3).mean(0)
    static = e.mean(0)
    return {
        "psnr": psnr(mse),
        "offset_share": float((offset ** 2).sum() / 3 / mse) if mse > 0 else 0.0,
        "static_share": float((static ** 2).mean() / mse) if mse > 0 else 0.0,
        "fg_share": float((e[fg] ** 2).sum() / (e ** 2).sum()) if mse > 0 else 0.0,
        "offset": offset,
        "psnr_no_offset": psnr(((e - offset) ** 2).mean()),
        "bg_out": out[~fg].mean(0) if (~fg).any() else np.zeros(3),
        "bg_truth": truth[~fg].mean(0) if (~fg).any() else np.zeros(3),
        # the subject's texture contrast: a blurred subject keeps its mean and loses this
        "fg_std_out": out[fg].std(0) if fg.any() else np.zeros(3),
        "fg_std_truth": truth[fg].std(0) if fg.any() else np.zeros(3),
        "fg_mean_out": out[fg].mean(0) if fg.any() else np.zeros(3),
        "fg_mean_truth": truth[fg].mean(0) if fg.any() else np.zeros(3),
    }


def rgb(v, signed=False):
    return "(" + " ".join(f"{x:+.3f}" if signed else f"{x:.3f}" for x in v) + ")"


def main(argv):
    pairs = []
    if argv[:1] == ["--eval"]:
        if len(argv) not in (2, 4) or (len(argv) == 4 and argv[2] != "--method"):
            sys.exit(__doc__)
        method = argv[3] if len(argv) == 4 else "zeroshot"
        for d in sorted(glob.glob(os.path.join(argv[1], "*")) + [argv[1]]):
            for t in sorted(glob.glob(os.path.join(d, "*.truth.mp4"))):
                o = t[: -len("truth.mp4")] + method + ".mp4"
                if os.path.exists(o):
                    pairs.append((o, t))
        if not pairs:
            sys.exit(f"error_parts: {argv[1]}: no ITEM.{method}.mp4 beside an ITEM.truth.mp4")
    elif len(argv) >= 2 and len(argv) % 2 == 0:
        pairs = list(zip(argv[0::2], argv[1::2]))
    else:
        sys.exit(__doc__)
    print("output | PSNR dB | offset share | static share | foreground share | offset RGB | PSNR without it | "
          "background out | background truth | foreground std out | foreground std truth | "
          "foreground mean out | foreground mean truth | colour part | contrast part")
    for o, t in pairs:
        p = parts(load(o), load(t))
        if p is None:
            print(f"{o} | shapes differ from {t}")
            continue
        print(f"{o} | {p['psnr']:.2f} | {p['offset_share']:.2f} | {p['static_share']:.2f} | {p['fg_share']:.2f} | "
              f"{rgb(p['offset'], True)} | {p['psnr_no_offset']:.2f} | {rgb(p['bg_out'])} | {rgb(p['bg_truth'])} | "
              f"{rgb(p['fg_std_out'])} | {rgb(p['fg_std_truth'])} | {rgb(p['fg_mean_out'])} | "
              f"{rgb(p['fg_mean_truth'])} | {np.abs(p['fg_mean_out'] - p['fg_mean_truth']).mean():.3f} | "
              f"{np.abs(p['fg_std_out'] - p['fg_std_truth']).mean():.3f}")


if __name__ == "__main__":
    main(sys.argv[1:])
