#!/usr/bin/env python3
"""tools/eval_table.py: `gridlora eval --json` output as the README's markdown tables.

    gridlora eval --heldout 8 --seed 0 --json > eval.json
    python3 tools/eval_table.py eval.json

One table per measure (rows the items: each effect, compose, same; columns the methods),
then the wall time per concept. Reads only the JSON: the numbers are gridlora's own.
Needs nothing but the standard library.
"""
import json
import sys

MEASURES = [
    ("psnr", "PSNR against the truth, dB (higher is better)", "{:.2f}"),
    ("identity", "identity: subject colour statistics against the truth's (lower is better)", "{:.3f}"),
    ("motion", "motion: foreground centroid path against the truth's, px (lower is better)", "{:.2f}"),
    ("presence_error", "effect presence: |output's effect statistic - truth's| (lower is better)", "{:.3f}"),
    ("temporal_error", "temporal consistency: |output's frame-to-frame change - truth's| (lower is better)", "{:.4f}"),
]


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: tools/eval_table.py EVAL.json")
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
