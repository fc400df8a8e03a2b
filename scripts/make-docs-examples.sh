#!/usr/bin/env bash
# scripts/make-docs-examples.sh: regenerates docs/examples/ (the README's pictures of the
# procedural domain): one concept with every variant, as looping GIFs and as PNG contact
# sheets. Usage: scripts/make-docs-examples.sh [BUILD_DIR]   (default build)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-build}/gridlora
out=docs/examples
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$bin" dataset --count 2 --seed 3 --out "$tmp/gif" --format gif --fps 6 2>/dev/null
"$bin" dataset --count 2 --seed 3 --out "$tmp/png" --format png 2>/dev/null
rm -rf "$out"
mkdir -p "$out"
cp "$tmp"/gif/0000*.gif "$tmp"/png/0000*.png "$out"/
head -n 1 "$tmp/gif/manifest.jsonl" > "$out/manifest.jsonl"
ls "$out"
