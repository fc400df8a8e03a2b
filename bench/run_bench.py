#!/usr/bin/python3
"""bench/run_bench.py: `make bench`'s driver for the model benchmark (issue 9).

Runs, one process after another on the same machine: bench_model (C) and
tools/bench_reference.py (PyTorch 1.13, fp32 eager and bf16 autocast) on the same
weights (bench_model save) and shapes; raw sgemm at the model's shapes; a 20-step
guided 2x2 grid fill. Prints a table, then one JSON line (the issue's keys) last.
Every child runs with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE removed from its
environment (the Makefile removes them too; this makes the script safe to run alone).

Usage: bench/run_bench.py BUILD_DIR [--quick]
Times are the best of REPS timed repetitions after one untimed warm-up, for both sides.
"""
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def env_for(precision):
    e = dict(os.environ)
    e.pop("OPENBLAS_CORETYPE", None)
    e.pop("OPENBLAS_L2_SIZE", None)
    e["GRIDLORA_PRECISION"] = precision
    return e


def run(cmd, precision="fp32"):
    p = subprocess.run(cmd, env=env_for(precision), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        sys.stderr.write(p.stderr)
        raise SystemExit(f"run_bench: {' '.join(cmd)} failed ({p.returncode})")
    return [json.loads(line) for line in p.stdout.splitlines() if line.startswith("{")]


def main(argv):
    if len(argv) < 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    build = argv[1]
    quick = "--quick" in argv
    bm = os.path.join(build, "bench_model")
    py = ["/usr/bin/python3", os.path.join(ROOT, "tools", "bench_reference.py")]
    print("== bench_model: OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset for every run (C and PyTorch)")
    tmp = tempfile.mkdtemp(prefix="gl_bench_")
    weights = os.path.join(tmp, "weights.safetensors")
    run([bm, "save", weights])
    sg = run([bm, "sgemm"])
    peak = next(r for r in sg if r["phase"] == "sgemm_peak")
    steps = 20
    reps = 2 if quick else 5
    cases = [("train", (4, 8, 32, 32), "train, 4 cells 8x32x32"),
             ("train", (2, 8, 64, 64), "train, 2 canvases 8x64x64"),
             ("frozen", (2, 8, 64, 64), "frozen base, 2 canvases"),
             ("sample", (2, 8, 64, 64), "sample step (B=2, guided)")]
    rows = []
    res = {}
    for phase, shp, label in cases:
        dims = [str(d) for d in shp]
        r = {}
        for prec in ("fp32", "bf16"):
            out = run([bm, phase] + dims + [str(reps)], prec)[0]
            r["c_" + prec] = out if out["precision"] == prec else None
            r["py_" + prec] = run(py + [weights, phase, prec] + dims + [str(reps)])[0]
        rows.append((label, r))
        res[(phase, shp)] = r
    grid = {prec: run([bm, "grid", str(steps)], prec)[0] for prec in ("fp32", "bf16")}
    os.remove(weights)
    os.rmdir(tmp)

    def cell(x):
        return f"{x['best_s']:8.3f} {x['gflops']:7.1f}" if x else f"{'-':>8} {'-':>7}"

    print(f"sgemm (OpenBLAS {peak['config']}, kernel {peak['kernel']}, {peak['threads']} threads), GFLOP/s:")
    for r in sg:
        if r["phase"] == "sgemm":
            print(f"  {r['shape']:7} N={r['N']:5} {r['IC']:5}x{r['OC']:<5} forward {r['fwd_gflops']:7.1f}"
                  f"   forward+backward {r['fwd_bwd_gflops']:7.1f}")
    print("  oneDNN fp32 matmul (forward) and the engine's bf16 linear layer (oneDNN, forward+backward):")
    for r in sg:
        if r["phase"] == "sgemm":
            print(f"  {r['shape']:7} N={r['N']:5} {r['IC']:5}x{r['OC']:<5} oneDNN fp32 {r['dnnl_f32_fwd_gflops']:7.1f}"
                  f"   engine bf16 {r['engine_bf16_fwd_bwd_gflops']:7.1f}")
    print(f"  best fp32 at the model's shapes (OpenBLAS or oneDNN): {peak['gflops']:.1f} ({peak['at']})")
    print()
    print("seconds (best of %d) and GFLOP/s (model FLOPs: bench_model.c's formula)" % reps)
    print(f"{'step':30} {'C fp32':>16} {'C bf16':>16} {'PyTorch fp32':>16} {'PyTorch bf16':>16}")
    for label, r in rows:
        print(f"{label:30} {cell(r['c_fp32'])} {cell(r['c_bf16'])} {cell(r['py_fp32'])} {cell(r['py_bf16'])}")
    for prec in ("fp32", "bf16"):
        g = grid[prec]
        if g["precision"] == prec:
            print(f"grid fill, {steps} steps, guided, 2x2 canvas, C {prec}: {g['seconds']:.2f} s "
                  f"({g['gflops']:.1f} GFLOP/s)")
    canvas = res[("train", (2, 8, 64, 64))]
    sample = res[("sample", (2, 8, 64, 64))]
    c32, cbf = canvas["c_fp32"], canvas["c_bf16"]
    p32, pbf = canvas["py_fp32"], canvas["py_bf16"]
    print(f"memory: C canvas training step arena {c32['arena_mb']:.0f} MB, peak RSS {c32['peak_rss_mb']:.0f} MB; "
          f"sampling peak RSS {sample['c_fp32']['peak_rss_mb']:.0f} MB; "
          f"PyTorch training step peak RSS {p32['peak_rss_mb']:.0f} MB")
    summary = {
        "speedup": round(p32["best_s"] / c32["best_s"], 3),
        "speedup_bf16": round(pbf["best_s"] / cbf["best_s"], 3) if cbf else None,
        "gflops": c32["gflops"],
        "gflops_bf16": cbf["gflops"] if cbf else None,
        "sgemm_peak_gflops": peak["gflops"],
        "mfu": round(c32["gflops"] / peak["gflops"], 3),
        "sample_grid_s": grid["fp32"]["seconds"],
        "sample_grid_s_bf16": grid["bf16"]["seconds"] if grid["bf16"]["precision"] == "bf16" else None,
        "peak_rss_mb": c32["peak_rss_mb"],
    }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
