#!/usr/bin/env python3
"""tools/eval_table.py: `gridlora eval --json` output as the README's markdown tables.

    gridlora eval --heldout 8 --seed 0 --json > eval.json
    python3 tools/eval_table.py eval.json
    python3 tools/eval_table.py --compare shipped=a.json arm=b.json ...

One table per measure (rows the items: each effect, compose, same; columns the methods),
then the wall time per concept. With --compare, one table of several evaluations of the
same held-out concepts side by side (arms of a training run, say): copying the input's
PSNR / identity, then each evaluation's zero-shot PSNR / identity (its spread part) /
motion. Reads only the JSON: the numbers are gridlora's own. Needs nothing but the
standard library.
"""
import json
import sys

MEASURES = [
    ("psnr", "PSNR against the truth, dB (higher is better)", "{:.2f}"),
    ("identity", "identity: subject colour statistics against the truth's (lower is better)", "{:.4f}"),
    ("motion", "motion: foreground centroid path against the truth's, px (lower is better)", "{:.2f}"),
    ("presence_error", "effect presence: |output's effect statistic - truth's| (lower is better)", "{:.3f}"),
    ("temporal_error", "temporal consistency: |output's frame-to-frame change - truth's| (lower is better)", "{:.4f}"),
]


def compare(named):
    runs = []
    for arg in named:
        name, sep, path = arg.partition("=")
        if not sep or not name or not path:
            sys.exit(f"eval_table.py: '{arg}' is not NAME=EVAL.json")
        with open(path) as f:
            runs.append((name, json.load(f)))
    first = runs[0][1]
    for name, d in runs[1:]:
        if d.get("heldout") != first.get("heldout") or d.get("seed") != first.get("seed"):
            sys.exit(f"eval_table.py: {name} scored other concepts (--heldout/--seed) than {runs[0][0]}")
    print("| item | copy | " + " | ".join(name for name, _ in runs) + " |")
    print("|---|---|" + "---|" * len(runs))
    for item in first["items"]:
        c = first["summary"][item].get("copy", {})
        cells = ["-" if c.get("psnr") is None else f"{c['psnr']:.2f} / {c['identity']:.4f}"]
        for _, d in runs:
            z = d["summary"].get(item, {}).get("zeroshot")
            if not z or z.get("psnr") is None:
                cells.append("-")
                continue
            spread = z.get("identity_spread")
            spread = "" if spread is None else f" ({spread:.4f})"
            cells.append(f"{z['psnr']:.2f} / {z['identity']:.4f}{spread} / {z['motion']:.2f}")
        print(f"| {item} | " + " | ".join(cells) + " |")


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "--compare":
        compare(sys.argv[2:])
        return
    if len(sys.argv) != 2:
        sys.exit("usage: tools/eval_table.py EVAL.json | --compare NAME=EVAL.json ...")
    with open(sys.argv[1]) as f:
        d = json.load(f)
    methods, items, s = d["methods"], d["items"], d["summary"]
    for key, title, fmt in MEASURES:
        print(f"**{title}**\n")
        print("| item | " + " | ".join(methods) + " |")
        print("|---|" + "---|" * len(methods))
        for item in items:
            cells = []
            for m in methods:
                v = s[item][m].get(key)
                cells.append("-" if v is None else fmt.format(v))
            print(f"| {item} | " + " | ".join(cells) + " |")
        print()
    secs = d["seconds"]
    print("**wall time per concept, all items, s**\n")
    print("| " + " | ".join(methods) + " |")
    print("|" + "---|" * len(methods))
    print("| " + " | ".join(f"{secs[m]:.2f}" for m in methods) + " |")


if __name__ == "__main__":
    main()
