#!/usr/bin/env bash
# scripts/make-base-samples.sh MODEL OUTDIR [BUILD_DIR]: samples of a base model for
# several captions of the domain, one row per caption (OUTDIR/samples.png) and a GIF each,
# with the captions in OUTDIR/samples.txt. The ffmpeg program stacks the rows (docs only).
set -euo pipefail
model=$1
out=$2
bin=${3:-build}/gridlora
mkdir -p "$out"
prompts=(
  "a red striped star orbiting on sand"
  "a blue spotted circle bouncing on grass"
  "a yellow checkered square drifting in the sky"
  "a white striped ring zigzagging on stone"
  "a purple gradient triangle orbiting on water"
  "a green spotted blob bouncing on snow"
)
: > "$out/samples.txt"
inputs=()
for i in "${!prompts[@]}"; do
  p=${prompts[$i]}
  "$bin" generate --model "$model" --prompt "$p" --out "$out/sample$i.gif" --sheet "$out/row$i.png" \
      --seed $((i + 1)) --steps 30 >/dev/null
  echo "row $i: $p" >> "$out/samples.txt"
  inputs+=(-i "$out/row$i.png")
done
ffmpeg -v error -y "${inputs[@]}" -filter_complex "vstack=inputs=${#prompts[@]}" "$out/samples.png"
rm -f "$out"/row*.png
cat "$out/samples.txt"
