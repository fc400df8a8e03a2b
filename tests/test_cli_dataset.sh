#!/usr/bin/env bash
# tests/test_cli_dataset.sh BIN CASE: `gridlora dataset`: a small data set written whole
# and its manifest read back by Python's json; usage errors exit 2; a bad --out exits 1
# with one line 'gridlora: ...'.
set -u
bin=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
expect() { # expect CODE PATTERN -- ARGS...
    local code=$1 pat=$2; shift 3
    local err rc
    err=$("$bin" "$@" 2>&1 >/dev/null); rc=$?
    [[ $rc -eq $code ]] || fail "gridlora $* exited $rc, expected $code: $err"
    if [[ -n "$pat" ]] && ! grep -q -- "$pat" <<<"$err"; then fail "gridlora $*: stderr lacks '$pat': $err"; fi
    echo "ok: gridlora $* -> $rc"
}
variants="smoke lights night rain shadow bg motion with"
case $2 in
write)
    out="$tmp/set"
    "$bin" dataset --count 3 --seed 5 --out "$out" 2>"$tmp/err" >"$tmp/log" || fail "exited $?: $(cat "$tmp/err")"
    grep -q "concept 3/3" "$tmp/err" || fail "no progress on stderr: $(cat "$tmp/err")"
    grep -q "wrote 3 train concepts" "$tmp/log" || fail "no summary: $(cat "$tmp/log")"
    for i in 0000 0001 0002; do
        [[ -s "$out/$i.mp4" ]] || fail "$i.mp4 missing"
        for v in $variants; do [[ -s "$out/$i.$v.mp4" ]] || fail "$i.$v.mp4 missing"; done
    done
    [[ -e "$out/manifest.jsonl.tmp" ]] && fail "temporary manifest left behind"
    /usr/bin/python3 - "$out" <<'EOF' || exit 1
import json, os, re, sys
d = sys.argv[1]
lines = open(os.path.join(d, "manifest.jsonl")).read().splitlines()
assert len(lines) == 3, len(lines)
names = ["smoke", "lights", "night", "rain", "shadow", "bg", "motion", "with"]
for i, line in enumerate(lines):
    m = json.loads(line)
    assert m["id"] == i and m["token"] == "<c%d>" % i and m["split"] == "train", m
    assert (m["frames"], m["width"], m["height"], m["fps"]) == (8, 32, 32, 8), m
    assert m["file"] == "%04d.mp4" % i and os.path.getsize(os.path.join(d, m["file"])) > 0
    c = m["concept"]
    for k in ["shape", "texture", "colours", "tex_freq", "tex_angle", "tex_seed", "size", "angle",
              "blob_amp", "blob_phase", "spin", "pulse", "pulse_cycles", "path", "background", "seed"]:
        assert k in c, k
    assert c["seed"] == m["seed"] and re.fullmatch(r"\d+", c["seed"])
    assert c["path"]["kind"] in ["drift", "bounce", "orbit", "zigzag"]
    words = m["caption"].split()
    assert c["colours"][0] in words and c["shape"] in words, m["caption"]
    assert m["prompt"].startswith(("a <c%d> " % i, "an <c%d> " % i)), m["prompt"]
    assert [v["name"] for v in m["variants"]] == names, m["variants"]
    for v in m["variants"]:
        assert v["file"] == "%04d.%s.mp4" % (i, v["name"]), v
        assert os.path.getsize(os.path.join(d, v["file"])) > 0
        assert v["caption"] and v["prompt"], v
    fx = {v["name"]: v for v in m["variants"]}
    assert fx["smoke"]["caption"] == m["caption"] + " with smoke"
    assert fx["night"]["caption"] == m["caption"] + " at night"
    assert fx["bg"]["background"]["kind"] != c["background"]["kind"]
    assert fx["motion"]["path"]["kind"] != c["path"]["kind"]
    assert fx["with"]["partner"] == (i + 1) % 3
    assert "<c%d>" % ((i + 1) % 3) in fx["with"]["prompt"]
    assert " and a" in fx["with"]["caption"]
print("ok: manifest of 3 concepts, 27 videos")
EOF
    # the same command over the previous data set is allowed and gives the same manifest
    cp "$out/manifest.jsonl" "$tmp/first.jsonl"
    "$bin" dataset --count 3 --seed 5 --out "$out" 2>/dev/null >/dev/null || fail "rewrite exited $?"
    cmp -s "$out/manifest.jsonl" "$tmp/first.jsonl" || fail "the manifest differs on a second run"
    echo "ok: rewritten identically" ;;
heldout)
    out="$tmp/held"
    "$bin" dataset --count 2 --seed 1 --split heldout --frames 4 --size 24x16 --format gif --out "$out" \
        2>/dev/null >/dev/null || fail "exited $?"
    [[ -s "$out/0001.with.gif" ]] || fail "0001.with.gif missing"
    /usr/bin/python3 -c "
import json, sys
for line in open('$out/manifest.jsonl'):
    m = json.loads(line)
    assert m['split'] == 'heldout' and (m['frames'], m['width'], m['height']) == (4, 24, 16), m
print('ok: held-out set, 4 frames of 24x16, gif')" || exit 1 ;;
args)
    expect 2 "^gridlora: dataset: --out DIR is required" -- dataset --count 3
    expect 2 "^gridlora: dataset: --count N is required" -- dataset --out "$tmp/x"
    expect 2 "^gridlora: dataset: --count: 0 is outside" -- dataset --count 0 --out "$tmp/x"
    expect 2 "^gridlora: dataset: --count: 'abc' is not an integer" -- dataset --count abc --out "$tmp/x"
    expect 2 "^gridlora: dataset: --split: 'test' is not train or heldout" -- dataset --count 1 --split test --out "$tmp/x"
    expect 2 "^gridlora: dataset: --size: '32' is not WxH" -- dataset --count 1 --size 32 --out "$tmp/x"
    expect 2 "^gridlora: dataset: --size: '0x8' is not WxH" -- dataset --count 1 --size 0x8 --out "$tmp/x"
    expect 2 "^gridlora: dataset: --frames: 0 is outside" -- dataset --count 1 --frames 0 --out "$tmp/x"
    expect 2 "^gridlora: dataset: --format: 'avi' is not" -- dataset --count 1 --format avi --out "$tmp/x"
    expect 2 "^gridlora: dataset: option --seed needs a value" -- dataset --count 1 --out "$tmp/x" --seed
    expect 2 "^gridlora: dataset: unknown option '--bogus'" -- dataset --bogus 1
    expect 2 "^gridlora: dataset: unexpected argument 'now'" -- dataset now
    expect 0 "" -- dataset --help
    [[ -e "$tmp/x" ]] && fail "a usage error created the output directory"
    echo "ok: nothing written" ;;
bad_out)
    touch "$tmp/file"
    err=$("$bin" dataset --count 1 --out "$tmp/file" 2>&1 >/dev/null); rc=$?
    [[ $rc -eq 1 ]] || fail "--out FILE exited $rc, expected 1: $err"
    [[ $(wc -l <<<"$err") -eq 1 ]] || fail "expected one line, got: $err"
    grep -q "^gridlora: dataset: .*file exists and is not a directory" <<<"$err" || fail "message: $err"
    echo "ok: --out FILE -> 1: $err"
    mkdir "$tmp/mine" && touch "$tmp/mine/notes.txt"
    expect 1 "^gridlora: dataset: .*mine is not empty and holds no data set" -- dataset --count 1 --out "$tmp/mine"
    expect 1 "^gridlora: dataset: --out: .*/file exists and is not a directory" -- dataset --count 1 --out "$tmp/file/sub"
    [[ -e "$tmp/no" ]] && fail "a refused --out made something"
    "$bin" dataset --count 1 --frames 2 --size 8x8 --out "$tmp/no/such" >/dev/null 2>&1 || fail "--out with missing parents failed"
    [[ -f "$tmp/no/such/manifest.jsonl" ]] || fail "--out with missing parents: no manifest"
    echo "ok: --out's missing parents made"
    [[ $(ls "$tmp/mine") == notes.txt ]] || fail "a refused directory was written into" ;;
*) echo "unknown case $2"; exit 1 ;;
esac
