#!/usr/bin/env bash
# tests/test_cli_demo.sh SRC BIN: `gridlora demo` with a shipped model in place: a tiny one
# made by scripts/train-default.sh --tiny under models/default/ of a scratch tree that has
# the committed examples/. The demo must write out/demo/ with MP4s, GIFs and contact
# sheets for the held-out edit, the real clip's edit and the composition, and exit 0.
set -u
src=$1
bin=$2
tmp=$(mktemp -d /tmp/gl_demo.XXXXXX) || exit 1
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
bash "$src/scripts/train-default.sh" --tiny --bin "$bin" --models "$tmp/models/default" --work "$tmp/work" \
    >"$tmp/train.log" 2>&1 || fail "train-default.sh --tiny: $(tail -3 "$tmp/train.log")"
ln -s "$src/examples" "$tmp/examples"
cd "$tmp" || fail "cd"
"$bin" demo >"$tmp/demo.log" 2>&1 || fail "demo exited $?: $(tail -5 "$tmp/demo.log")"
for d in edit edit-real compose; do
    for f in grid.mp4 grid.gif sheet.png; do
        [[ -s out/demo/$d/$f ]] || fail "out/demo/$d/$f is missing or empty"
    done
done
for f in edit/smoke.mp4 edit/lights.mp4 edit/night.mp4 edit-real/smoke.mp4 edit-real/rain.mp4; do
    [[ -s out/demo/$f ]] || fail "out/demo/$f is missing or empty"
    ffprobe -v error -count_frames -show_entries stream=nb_read_frames -of csv=p=0 "out/demo/$f" | grep -q '^[1-9]' ||
        fail "out/demo/$f holds no frame"
done
grep -q "edit: done in" "$tmp/demo.log" && grep -q "compose: done in" "$tmp/demo.log" ||
    fail "the demo does not report each step's time: $(cat "$tmp/demo.log")"
# (without the LoRA stages the demo runs the self-check instead: tests/test_cli.sh demo)
echo "ok: demo wrote out/demo/ (edit, edit-real, compose) on a tiny shipped model"
