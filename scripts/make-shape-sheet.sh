#!/usr/bin/env bash
# scripts/make-shape-sheet.sh MODEL OUT.png [BUILD_DIR]: does a base model draw the shape
# word? One caption, one seed, the eight shape words of the domain in turn (rows circle,
# square, triangle, star, ring, blob, diamond, cross): a model that follows the word draws
# eight outlines, one that ignores it the same subject eight times. Extra generate
# options (--cfg, --steps) go in GENERATE_ARGS; another caption in SHAPE_CAPTION, a printf
# format whose %s is the shape word (default "a red gradient %s drifting on grass").
# NEGATIVE_SHAPE=W guides each row away from the same caption with shape word W (the W
# row's own negative says "circle", or "square" when W is circle): `generate
# --negative-prompt`, so that guidance amplifies what the row's shape word changes; give
# --cfg above 1 in GENERATE_ARGS. The ffmpeg program stacks the rows (docs only).
set -euo pipefail
model=$1
out=$2
bin=${3:-build}/gridlora
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
inputs=()
# caption SHAPE: the caption format with SHAPE in it
# shellcheck disable=SC2059 # the caption is the format
caption() { printf "${SHAPE_CAPTION:-a red gradient %s drifting on grass}" "$1"; }
for shape in circle square triangle star ring blob diamond cross; do
  prompt=$(caption "$shape")
  negative=()
  if [[ -n ${NEGATIVE_SHAPE:-} ]]; then
    neg=$NEGATIVE_SHAPE
    [[ $neg == "$shape" ]] && { [[ $shape == circle ]] && neg=square || neg=circle; }
    negative=(--negative-prompt "$(caption "$neg")")
  fi
  # shellcheck disable=SC2086 # GENERATE_ARGS is a list of options
  "$bin" generate --model "$model" --prompt "$prompt" --seed 3 --steps 30 \
      ${GENERATE_ARGS:-} "${negative[@]}" --out "$tmp/$shape.mp4" --sheet "$tmp/$shape.png" >/dev/null
  inputs+=(-i "$tmp/$shape.png")
done
ffmpeg -v error -y "${inputs[@]}" -filter_complex "vstack=inputs=8" "$tmp/sheet.png"
mv "$tmp/sheet.png" "$out"
echo "wrote $out: rows circle, square, triangle, star, ring, blob, diamond, cross"
