#!/usr/bin/env bash
# tests/test_cli_demo.sh SRC BIN: `gridlora demo` with a shipped model in place: a tiny one
# made by scripts/train-default.sh --tiny under models/default/ of a scratch tree that has
# the committed examples/. The demo must write out/demo/ with MP4s, GIFs and contact
# sheets for the held-out edit, the real clip's edit and the composition, and exit 0.
# Then compose, character and story on the real clip (examples/walker.mp4, not made by the
# renderer; compose's partner an FFmpeg test pattern of another size and rate) on the same
# shipped model, each writing its files.
set -u
src=$1
bin=$2
tmp=$(mktemp -d /tmp/gl_demo.XXXXXX) || exit 1
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
# grids ROOT DIR...: each ROOT/DIR holds an app's grid.mp4, grid.gif and sheet.png
grids() {
    local root=$1 d f; shift
    for d in "$@"; do
        for f in grid.mp4 grid.gif sheet.png; do
            [[ -s $root/$d/$f ]] || fail "$root/$d/$f is missing or empty"
        done
    done
}
# videos ROOT FILE...: each ROOT/FILE is a video with at least one frame
videos() {
    local root=$1 f; shift
    for f in "$@"; do
        [[ -s $root/$f ]] || fail "$root/$f is missing or empty"
        ffprobe -v error -count_frames -show_entries stream=nb_read_frames -of csv=p=0 "$root/$f" | grep -q '^[1-9]' ||
            fail "$root/$f holds no frame"
    done
}
bash "$src/scripts/train-default.sh" --tiny --bin "$bin" --models "$tmp/models/default" --work "$tmp/work" \
    >"$tmp/train.log" 2>&1 || fail "train-default.sh --tiny: $(tail -3 "$tmp/train.log")"
ln -s "$src/examples" "$tmp/examples"
cd "$tmp" || fail "cd"
"$bin" demo >"$tmp/demo.log" 2>&1 || fail "demo exited $?: $(tail -5 "$tmp/demo.log")"
grids out/demo edit edit-real compose
videos out/demo edit/smoke.mp4 edit/lights.mp4 edit/night.mp4 edit-real/smoke.mp4 edit-real/rain.mp4
grep -q "edit: done in" "$tmp/demo.log" && grep -q "compose: done in" "$tmp/demo.log" ||
    fail "the demo does not report each step's time: $(cat "$tmp/demo.log")"
# every app on videos the renderer did not make (edit: the demo's edit-real above)
ffmpeg -nostdin -v error -y -f lavfi -i "mandelbrot=size=80x60:rate=15,trim=duration=1" -pix_fmt yuv420p \
    "$tmp/pattern.mp4" || fail "ffmpeg could not make the test pattern"
real=examples/walker.mp4
app() { "$bin" "$@" >"$tmp/app.log" 2>&1 || fail "$1 on real videos exited $?: $(tail -3 "$tmp/app.log")"; }
app compose --input $real --input "$tmp/pattern.mp4" --out out/real/compose
app character --input $real --prompt "a red star bouncing on snow" --prompt "a blob on sand" --out out/real/character
app story --input $real --shot "a blob on snow" --shot "a blob bouncing on sand" --out out/real/story
videos out/real compose/cell2.mp4 compose/cell3.mp4 character/cell1.mp4 character/cell3.mp4 story/shot1.mp4 \
    story/shot2.mp4 story/story.mp4
grids out/real compose character story
# (without the LoRA stages the demo runs the self-check instead: tests/test_cli.sh demo)
echo "ok: demo wrote out/demo/ (edit, edit-real, compose) on a tiny shipped model; compose, character, story ran on the real clip"
