#!/usr/bin/env bash
# tests/test_cli_eval.sh BIN SCRIPT CASE: `gridlora eval` on the tiny preset. The models
# come from SCRIPT (scripts/train-default.sh --tiny: base, Multi-DC, grids, Grid LoRA,
# Grid-Fill LoRA in seconds) into a scratch models/default/, so eval's defaults are what
# is used. run: the JSON holds every method, item and metric; its concepts are those of
# `gridlora dataset --split heldout`; copy's PSNR is the input's against the truth (read
# back from the contact sheets eval writes); the table. errors: missing shipped stages and
# files exit 1 with one line, usage errors 2.
set -u
abs() { echo "$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"; } # the test runs in its scratch directory
bin=$(abs "$1")
script=$(abs "$2")
tmp=$(mktemp -d /tmp/gl_cli_eval.XXXXXX) || exit 1
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
# expect CODE PATTERN -- ARGS...: exit code, and one stderr line matching PATTERN
expect() {
    local code=$1 pat=$2; shift 3
    local err rc
    err=$("$bin" "$@" 2>&1 >/dev/null); rc=$?
    [[ $rc -eq $code ]] || fail "gridlora $* exited $rc, expected $code: $err"
    grep -q -- "$pat" <<<"$err" || fail "gridlora $*: stderr lacks '$pat': $err"
    [[ $(wc -l <<<"$err") -eq 1 ]] || fail "gridlora $*: more than one line on stderr: $err"
    echo "ok: gridlora $* -> $rc"
}
cd "$tmp" || exit 1

case $3 in
run)
    bash "$script" --tiny --bin "$bin" --models "$tmp/models/default" --work "$tmp/work" >"$tmp/train.log" 2>&1 ||
        fail "training the tiny models: $(tail -5 "$tmp/train.log")"
    "$bin" eval --heldout 2 --seed 3 --json --ttft-steps 5 --steps 2 --out "$tmp/show" --out-concepts 1 \
        >"$tmp/eval.json" 2>"$tmp/eval.err" || fail "eval exited $?: $(cat "$tmp/eval.err")"
    grep -q "^eval: concept 2/2 done" "$tmp/eval.err" || fail "no progress: $(cat "$tmp/eval.err")"
    grep -q "^ttft sequence: step 5/5" "$tmp/eval.err" || fail "no TTFT progress: $(cat "$tmp/eval.err")"
    "$bin" dataset --split heldout --count 2 --seed 3 --frames 2 --size 8x8 --out "$tmp/ds" >/dev/null ||
        fail "dataset"
    for item in smoke lights night rain shadow compose; do
        for r in input truth zeroshot ttft base; do
            for ext in mp4 gif; do [[ -s $tmp/show/0000/$item.$r.$ext ]] || fail "--out: $item.$r.$ext missing"; done
        done
        [[ -s $tmp/show/0000/$item.png ]] || fail "--out: $item.png missing"
    done
    [[ -e $tmp/show/0000/smoke.copy.mp4 || -e $tmp/show/0001 ]] && fail "--out wrote more than asked: $(ls -R "$tmp/show")"
    python3 - "$tmp/eval.json" "$tmp/ds/manifest.jsonl" "$tmp/show/0000" <<'EOF' || fail "the JSON (above)"
import json, math, struct, sys, zlib
j = json.load(open(sys.argv[1]))
methods = ["zeroshot", "ttft", "copy", "base"]
items = ["smoke", "lights", "night", "rain", "shadow", "compose"]
metrics = ["psnr", "identity", "motion", "motion_path", "presence", "presence_truth", "presence_error",
           "temporal", "temporal_truth", "temporal_error"]
def check(cond, what):
    if not cond:
        print("FAIL:", what)
        sys.exit(1)
check(j["methods"] == methods and j["items"] == items, f"methods/items {j['methods']} {j['items']}")
check(j["heldout"] == 2 and j["seed"] == "3" and j["ttft"]["set_steps"] == 5, "settings")
check(j["model"] == "models/default/base.safetensors", f"model {j['model']}")
check(j["loras"] == ["models/default/grid.safetensors", "models/default/gridfill.safetensors"], f"loras {j['loras']}")
for it in items:
    check(isinstance(j["motion_floor"][it], float), f"motion_floor {it}")
    for m in methods:
        s = j["summary"][it][m]
        check(all(isinstance(s[k], (int, float)) for k in metrics), f"summary {it} {m}: {s}")
check(all(j["seconds"][m] >= 0 for m in methods), "seconds")
check(len(j["concepts"]) == 2, "two concepts")
# the concepts of `gridlora dataset --split heldout --count 2 --seed 3`, in order
want = [json.loads(l) for l in open(sys.argv[2])]
for c, w in zip(j["concepts"], want):
    check(c["seed"] == w["seed"] and c["caption"] == w["caption"], f"concept {c['caption']} vs {w['caption']}")
    check(c["ttft_prompt"].startswith("a <v> "), f"ttft prompt {c['ttft_prompt']}")
    for it in items:
        for m in methods:
            check(set(metrics) <= set(c["scores"][it][m]), f"concept {c['index']} {it} {m}")
        cp = c["scores"][it]["copy"]
        # copying the plain input shows no effect and no partner: its statistic is 0
        check(cp["presence"] == 0 and abs(cp["presence_error"] - abs(cp["presence_truth"])) < 1e-12, f"copy {it}: {cp}")

# copy's PSNR is the input's against the truth: both rows of the contact sheet (8 bits)
def png_rows(path):
    data = open(path, "rb").read()
    check(data[:8] == b"\x89PNG\r\n\x1a\n", path)
    pos, idat, w = 8, b"", 0
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, ctype = struct.unpack(">IIBB", body[:10])
            check(depth == 8 and ctype == 2, f"{path}: 8-bit RGB")
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    raw, stride, out, prev = zlib.decompress(idat), 3 * w, [], bytearray(3 * w)
    for y in range(h):
        f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - 3] if i >= 3 else 0
            b, c = prev[i], prev[i - 3] if i >= 3 else 0
            if f == 1: line[i] = (line[i] + a) & 255
            elif f == 2: line[i] = (line[i] + b) & 255
            elif f == 3: line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        out.append(line)
        prev = line
    return out
F, H, W, S = j["frames"], j["height"], j["width"], 4
for it in items:
    img = png_rows(f"{sys.argv[3]}/{it}.png")
    def val(row, f, y, x, ch):  # pixel (x, y) of frame f in sheet row `row`
        return img[(row * (H + 1) + y) * S][((f * (W + 1) + x) * S) * 3 + ch] / 255.0
    se = sum((val(0, f, y, x, ch) - val(1, f, y, x, ch)) ** 2
             for f in range(F) for y in range(H) for x in range(W) for ch in range(3))
    mse = se / (F * H * W * 3)
    db = 100.0 if mse == 0 else min(100.0, -10 * math.log10(mse))
    got = j["concepts"][0]["scores"][it]["copy"]["psnr"]
    check(abs(db - got) < 0.5, f"{it}: copy's PSNR {got:.3f} dB, the sheets' input against truth {db:.3f} dB")
print("ok: the JSON holds every method, item and metric; copy is the input against the truth")
EOF
    # the table, with the adapters named and without TTFT
    m=models/default
    "$bin" eval --heldout 1 --seed 3 --no-ttft --steps 1 --model $m/base.safetensors --lora $m/grid.safetensors \
        --lora $m/gridfill.safetensors:0.5 >"$tmp/table.txt" 2>"$tmp/table.err" || fail "eval (table): $(cat "$tmp/table.err")"
    for it in smoke lights night rain shadow compose; do
        grep -q "^$it  *PSNR dB  *identity  *motion px" "$tmp/table.txt" || fail "table lacks $it: $(cat "$tmp/table.txt")"
    done
    [[ $(grep -c "^  zeroshot " "$tmp/table.txt") -eq 6 && $(grep -c "^  copy  *100.00 " "$tmp/table.txt") -eq 0 ]] ||
        fail "table rows: $(cat "$tmp/table.txt")"
    grep -q "^  ttft " "$tmp/table.txt" && fail "--no-ttft still has a ttft row"
    grep -q "no TTFT" "$tmp/table.txt" || fail "table header: $(head -3 "$tmp/table.txt")"
    grep -q "^wall time per concept" "$tmp/table.txt" || fail "no timings: $(cat "$tmp/table.txt")"
    echo "ok: eval --json and the table" ;;
errors)
    "$bin" train base --preset tiny --procedural --steps 2 --batch 1 --out "$tmp/base.safetensors" >/dev/null 2>&1 ||
        fail "a tiny base"
    expect 1 "^gridlora: eval: the shipped base model models/default/base.safetensors is missing" -- \
        eval --heldout 1 --seed 0
    mkdir -p models/default && cp "$tmp/base.safetensors" models/default/
    expect 1 "^gridlora: eval: the shipped model's LoRA stages are not trained yet (models/default/grid.safetensors is missing" -- \
        eval --heldout 1 --seed 0
    expect 1 "^gridlora: eval: .*none.safetensors" -- eval --heldout 1 --seed 0 --lora "$tmp/none.safetensors"
    expect 1 "^gridlora: eval: .*base.safetensors" -- eval --heldout 1 --seed 0 --lora "$tmp/base.safetensors"
    expect 1 "^gridlora: eval: --out .*no/such/dir: cannot write into" -- eval --heldout 1 --seed 0 \
        --lora "$tmp/base.safetensors" --out "$tmp/no/such/dir"
    expect 2 "^gridlora: eval: --heldout N is required" -- eval --seed 0
    expect 2 "^gridlora: eval: --seed S is required" -- eval --heldout 2
    expect 2 "^gridlora: eval: --heldout: 0 is outside" -- eval --heldout 0 --seed 0
    expect 2 "^gridlora: eval: --ttft-steps and --no-ttft exclude each other" -- eval --heldout 1 --seed 0 \
        --no-ttft --ttft-steps 3
    expect 2 "^gridlora: eval: unknown option '--effect'" -- eval --heldout 1 --seed 0 --effect smoke
    "$bin" eval --help | grep -q "^usage: gridlora eval --heldout N --seed S" || fail "eval --help"
    "$bin" --help | grep -q "^  eval " || fail "the command list lacks eval"
    echo "ok: eval's failures and usage errors" ;;
*) echo "unknown case $3"; exit 1 ;;
esac
