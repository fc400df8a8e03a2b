#!/usr/bin/env bash
# tests/test_cli_prep.sh BIN CASE: `gridlora prep`, one case per ctest entry. Fixtures are
# made by the ffmpeg program in a temporary directory, removed on exit.
# Exit codes: 0 success, 1 failure, 2 usage; errors are one line starting 'gridlora:'.
set -u
bin=$1
if ! command -v ffmpeg >/dev/null 2>&1; then
    echo "FAIL: the ffmpeg program is missing: run scripts/install-deps.sh (it installs ffmpeg, which makes these tests' fixtures)"
    exit 1
fi
dir=$(mktemp -d /tmp/gl_test_cli_prep_XXXXXX) || exit 1
trap 'rm -rf "$dir"' EXIT
fixture() { # fixture NAME FFMPEG-OUTPUT-ARGS...
    local name=$1; shift
    ffmpeg -nostdin -v error -y -f lavfi -i testsrc2=size=96x64:rate=12:duration=1 "$@" "$dir/$name" ||
        { echo "FAIL: could not make fixture $name"; exit 1; }
}
expect() { # expect CODE PATTERN -- ARGS: exit code, and one stderr line matching PATTERN
    local code=$1 pat=$2; shift 3
    local err rc
    err=$("$bin" "$@" 2>&1 >/dev/null); rc=$?
    if [[ $rc -ne $code ]]; then echo "FAIL: gridlora $* exited $rc, expected $code: $err"; exit 1; fi
    if [[ -n "$pat" ]] && ! grep -q -- "$pat" <<<"$err"; then
        echo "FAIL: gridlora $*: stderr lacks '$pat': $err"; exit 1; fi
    if [[ $code -ne 0 && $(wc -l <<<"$err") -ne 1 ]]; then
        echo "FAIL: gridlora $*: more than one line on stderr: $err"; exit 1; fi
    echo "ok: gridlora $* -> $rc"
}
case $2 in
outputs)
    fixture clip.mp4 -c:v libx264 -pix_fmt yuv420p
    for ext in mp4 gif png; do
        out=$("$bin" prep --input "$dir/clip.mp4" --out "$dir/out.$ext" 2>&1) ||
            { echo "FAIL: prep to .$ext exited $?: $out"; exit 1; }
        [[ -s "$dir/out.$ext" ]] || { echo "FAIL: prep did not write out.$ext"; exit 1; }
        grep -q "96x64, 12 frames" <<<"$out" || { echo "FAIL: prep does not say what it read: $out"; exit 1; }
        echo "ok: prep to .$ext"
    done
    # what ffmpeg makes of them: 8 frames of 32x32 (the sheet: 8 * 33 * 4 - 4 by 128)
    n=$(ffprobe -v error -count_frames -show_entries stream=nb_read_frames,width,height -of csv=p=0 "$dir/out.mp4")
    [[ $n == "32,32,8" ]] || { echo "FAIL: out.mp4 is $n, expected 32,32,8"; exit 1; }
    n=$(ffprobe -v error -show_entries stream=width,height -of csv=p=0 "$dir/out.png")
    [[ $n == "1052,128" ]] || { echo "FAIL: out.png is $n, expected 1052,128"; exit 1; }
    out=$("$bin" prep --input "$dir/clip.mp4" --out "$dir/small.gif" --frames 20 --size 24x16 --fps 5) ||
        { echo "FAIL: prep with options exited $?"; exit 1; }
    grep -q "frames were repeated" <<<"$out" || { echo "FAIL: no note on repeated frames: $out"; exit 1; }
    n=$(ffprobe -v error -count_frames -show_entries stream=nb_read_frames,width,height -of csv=p=0 "$dir/small.gif")
    [[ $n == "24,16,20" ]] || { echo "FAIL: small.gif is $n, expected 24,16,20"; exit 1; }
    [[ $(ls "$dir" | wc -l) -eq 5 ]] || { echo "FAIL: files left behind: $(ls "$dir")"; exit 1; }
    echo "ok: prep outputs" ;;
args)
    fixture clip.mp4 -c:v libx264 -pix_fmt yuv420p
    in=$dir/clip.mp4 out=$dir/out.mp4
    expect 0 "" -- prep --help
    expect 2 "^gridlora: prep: --input and --out are required" -- prep
    expect 2 "^gridlora: prep: --input and --out are required" -- prep --input "$in"
    expect 2 "^gridlora: prep: option --out needs a value" -- prep --input "$in" --out
    expect 2 "^gridlora: prep: unknown option '--bogus'" -- prep --input "$in" --out "$out" --bogus 1
    expect 2 "^gridlora: prep: unexpected argument 'extra'" -- prep --input "$in" --out "$out" extra
    expect 2 "^gridlora: prep: --size width: 0 is outside" -- prep --input "$in" --out "$out" --size 0x5
    expect 2 "^gridlora: prep: --size: '5' is not WxH" -- prep --input "$in" --out "$out" --size 5
    expect 2 "^gridlora: prep: --size width: 99999 is outside" -- prep --input "$in" --out "$out" --size 99999x99999
    expect 2 "^gridlora: prep: --size height: 'y' is not an integer" -- prep --input "$in" --out "$out" --size 8xy
    expect 2 "^gridlora: prep: --frames: 0 is outside" -- prep --input "$in" --out "$out" --frames 0
    expect 2 "^gridlora: prep: --frames: 'many' is not an integer" -- prep --input "$in" --out "$out" --frames many
    expect 2 "^gridlora: prep: --fps: 0 is outside" -- prep --input "$in" --out "$out" --fps 0
    expect 2 "^gridlora: prep: --out .*: unsupported extension" -- prep --input "$in" --out "$dir/out.avi"
    [[ $(ls "$dir") == "clip.mp4" ]] || { echo "FAIL: files written on usage errors: $(ls "$dir")"; exit 1; } ;;
bad_input)
    fixture good.mp4 -c:v libx264 -pix_fmt yuv420p
    ffmpeg -nostdin -v error -y -f lavfi -i sine=duration=0.3 "$dir/audio.wav" || exit 1
    : > "$dir/empty.mp4"
    printf 'just some text\n' > "$dir/notes.txt"
    head -c 300 "$dir/good.mp4" > "$dir/cut.mp4"
    expect 1 "^gridlora: prep: .*empty.mp4: empty file" -- prep --input "$dir/empty.mp4" --out "$dir/o1.mp4"
    expect 1 "^gridlora: prep: .*notes.txt: not a media file" -- prep --input "$dir/notes.txt" --out "$dir/o2.gif"
    expect 1 "^gridlora: prep: .*cut.mp4: " -- prep --input "$dir/cut.mp4" --out "$dir/o3.png"
    expect 1 "^gridlora: prep: .*audio.wav: no video stream" -- prep --input "$dir/audio.wav" --out "$dir/o4.mp4"
    expect 1 "^gridlora: prep: .*missing.mp4: cannot open" -- prep --input "$dir/missing.mp4" --out "$dir/o5.mp4"
    expect 1 "^gridlora: prep: .*no/dir/o6.mp4: cannot create" -- prep --input "$dir/good.mp4" --out "$dir/no/dir/o6.mp4"
    expect 1 "^gridlora: prep: http://x/y.mp4: only local files" -- prep --input http://x/y.mp4 --out "$dir/o7.mp4"
    left=$(ls "$dir" | grep -v -x -e good.mp4 -e audio.wav -e empty.mp4 -e notes.txt -e cut.mp4)
    [[ -z "$left" ]] || { echo "FAIL: output left after failures: $left"; exit 1; }
    echo "ok: no output file" ;;
*) echo "unknown case $2"; exit 1 ;;
esac
