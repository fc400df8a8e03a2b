#!/usr/bin/python3
"""tools/bench_reference.py: the PyTorch speed peer of bench/bench_model.c.

The model is tools/reference_dit.py's DiT (the same functions that are the C model's
correctness reference), run in float32 with the weights bench_model saved, at the same
shapes, in eager fp32 and under bf16 autocast (torch.autocast("cpu", torch.bfloat16)).
A training step is forward, MSE against a random target, backward and
torch.optim.AdamW (lr 1e-3, betas 0.9/0.999, eps 1e-8, no decay: gl_adamw_default).
A sampling step is one forward under torch.no_grad().
FLOPs are counted by the same formula as bench_model.c (flops_forward below).

Usage: bench_reference.py WEIGHTS PHASE PRECISION B F H W REPS
  PHASE: train | frozen | sample; PRECISION: fp32 | bf16. Prints one JSON line.
Run with Debian's /usr/bin/python3 (python3-torch); `make bench` runs it.
"""
import json
import os
import resource
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reference_dit as ref  # noqa: E402


def flops_forward(c, B, T, U):
    """U: distinct timesteps in the batch; the timestep path and the modulations count
    once per distinct timestep, as the C model computes them (this reference computes
    them per token: more work than counted)."""
    C, M, Ct = c["width"], c["mlp_ratio"] * c["width"], c["text_width"]
    Mt, L = c["mlp_ratio"] * c["text_width"], c["text_len"]
    Pf = c["patch_t"] * c["patch_h"] * c["patch_w"] * c["channels"]
    N, Nt, dep, tl = B * T, B * L, c["depth"], c["text_layers"]
    f = 2 * N * (Pf * C + dep * (4 * C * C + 2 * C * C + 2 * C * M) + C * Pf)
    f += 2 * U * (c["time_dim"] * C + C * C + dep * 6 * C * C + 2 * C * C)
    f += 2 * Nt * (tl * (4 * Ct * Ct + 2 * Ct * Mt) + Ct * C + dep * 2 * C * C)
    f += dep * (4.0 * B * T * T * C + 4.0 * B * T * L * C)
    f += tl * 4.0 * B * L * L * Ct
    return f


def main(argv):
    if len(argv) != 9:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    path, phase, prec = argv[1], argv[2], argv[3]
    B, F, H, W, reps = (int(a) for a in argv[4:9])
    threads = int(os.environ.get("GRIDLORA_THREADS", "0")) or os.cpu_count()
    torch.set_num_threads(threads)
    w, meta = ref.load_safetensors(path)
    cfg = json.loads(meta["gridlora.config"])
    train = phase in ("train", "frozen")
    params = {k: v.float().requires_grad_(phase == "train") for k, v in w.items()}
    model = ref.DiT(cfg, params)
    T = (F // cfg["patch_t"]) * (H // cfg["patch_h"]) * (W // cfg["patch_w"])
    L = cfg["text_len"]
    g = torch.Generator().manual_seed(7)
    x = torch.randn(B, F, H, W, cfg["channels"], generator=g)
    # the frozen-base step still needs input gradients through every layer: as in C,
    # where the video input's gradient is what flows back, ask for it here
    x.requires_grad_(phase == "frozen")
    target = torch.randn(B, F, H, W, cfg["channels"], generator=g)
    t = torch.rand(B, 1, generator=g).expand(B, T).contiguous()
    text = torch.randint(1, cfg["text_vocab"], (B, L), generator=g, dtype=torch.int32)
    lens = torch.full((B,), L, dtype=torch.int32)
    opt = torch.optim.AdamW(list(params.values()), lr=1e-3, betas=(0.9, 0.999), eps=1e-8,
                            weight_decay=0.0) if phase == "train" else None
    ac = torch.autocast("cpu", dtype=torch.bfloat16, enabled=(prec == "bf16"))
    times = []
    loss = 0.0
    for rep in range(reps + 1):  # rep 0 warms up, untimed
        t0 = time.perf_counter()
        if train:
            if opt:
                opt.zero_grad(set_to_none=False)
            with ac:
                out = model.forward(x, t, text, lens)
                lo = ((out.float() - target) ** 2).mean()
            lo.backward()
            if opt:
                opt.step()
            loss = lo.item()
        else:
            with torch.no_grad(), ac:
                out = model.forward(x, t, text, lens)
        dt = time.perf_counter() - t0
        if rep > 0:
            times.append(dt)
    flops = flops_forward(cfg, B, T, B) * {"train": 3.0, "frozen": 2.0, "sample": 1.0}[phase]
    best = min(times)
    print(json.dumps({"impl": "pytorch", "precision": prec, "phase": phase, "B": B, "F": F, "H": H, "W": W,
                      "T": T, "reps": reps, "best_s": round(best, 5),
                      "mean_s": round(sum(times) / len(times), 5), "gflop": round(flops * 1e-9, 3),
                      "gflops": round(flops / best * 1e-9, 2), "loss": round(loss, 6),
                      "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1),
                      "threads": threads, "torch": torch.__version__}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
