#!/usr/bin/env bash
# tests/test_cli_eval.sh BIN SCRIPT CASE: `gridlora eval` on the tiny preset. The models
# come from SCRIPT (scripts/train-default.sh --tiny: base, Multi-DC, grids, Grid LoRA,
# Grid-Fill LoRA in seconds) into a scratch models/default/, so eval's defaults are what
# is used. run: the JSON holds every method, item and metric; its concepts are those of
# `gridlora dataset --split heldout`; copy's PSNR is the input's against the truth (read
# back from the contact sheets eval writes); the table. errors: missing shipped stages and
# files exit 1 with one line, usage errors 2. multidc: `eval --multidc` on the tiny base and
# Multi-DC LoRA of SCRIPT (its base and multidc stages): the JSON holds every concept of the
# data set with its manifest's token, caption and prompt, and every method's scores; the same
# seed gives the same numbers; --out's files; the table; failures exit 1 with one line.
set -u
abs() { echo "$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"; } # the test runs in its scratch directory
bin=$(abs "$1")
script=$(abs "$2")
tmp=$(mktemp -d /tmp/gl_cli_eval.XXXXXX) || exit 1
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/cli_lib.sh"
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
    for item in smoke lights night rain shadow compose same scene path both; do
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
items = ["smoke", "lights", "night", "rain", "shadow", "compose", "same", "scene", "path", "both"]
# "same" (the concept regenerated unchanged) and the re-staged "scene", "path" and "both" have no
# effect to be present
no_effect = ("same", "scene", "path", "both")
def metrics_of(it):
    return [k for k in metrics if not (it in no_effect and k.startswith("presence"))]
metrics = ["psnr", "identity", "motion", "motion_path", "presence", "presence_truth", "presence_error",
           "temporal", "temporal_truth", "temporal_error"]
def check(cond, what):
    if not cond:
        print("FAIL:", what)
        sys.exit(1)
check(j["methods"] == methods and j["items"] == items, f"methods/items {j['methods']} {j['items']}")
check(j["heldout"] == 2 and j["seed"] == "3" and j["ttft"]["set_steps"] == 5, "settings")
check(j["sampling"]["cfg"] == 3 and j["sampling"]["zeroshot_cfg"] == 1, f"guidance {j['sampling']}")
check(j["model"] == "models/default/base.safetensors", f"model {j['model']}")
check(j["loras"] == ["models/default/grid.safetensors", "models/default/gridfill.safetensors"], f"loras {j['loras']}")
for it in items:
    check(isinstance(j["motion_floor"][it], float), f"motion_floor {it}")
    for m in methods:
        s = j["summary"][it][m]
        check(all(isinstance(s[k], (int, float)) for k in metrics_of(it)), f"summary {it} {m}: {s}")
        check(it not in no_effect or s["presence"] is None, f"summary {it} {m}: a presence without an effect")
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
        if it == "same":  # the truth is the input itself
            check(cp["psnr"] == 100 and cp["identity"] == 0 and cp["motion"] == 0, f"copy same: {cp}")
            continue
        if it in no_effect:  # re-staged: the input is not the truth
            check(cp["psnr"] < 100 and cp["presence"] is None, f"copy {it}: {cp}")
            continue
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
    for it in smoke lights night rain shadow compose same scene path both; do
        grep -q "^$it  *PSNR dB  *identity  *motion px" "$tmp/table.txt" || fail "table lacks $it: $(cat "$tmp/table.txt")"
    done
    # copying is perfect on "same" alone, whose truth is the input
    [[ $(grep -c "^  zeroshot " "$tmp/table.txt") -eq 10 && $(grep -c "^  copy  *100.00 " "$tmp/table.txt") -eq 1 ]] ||
        fail "table rows: $(cat "$tmp/table.txt")"
    grep -q "^  ttft " "$tmp/table.txt" && fail "--no-ttft still has a ttft row"
    grep -q "no TTFT" "$tmp/table.txt" || fail "table header: $(head -3 "$tmp/table.txt")"
    grep -q "^wall time per concept" "$tmp/table.txt" || fail "no timings: $(cat "$tmp/table.txt")"
    # zero-shot samples at its own guidance: --zeroshot-cfg moves zero-shot's scores alone,
    # edits and compose alike (the base follows --cfg), and --cfg sets it too unless
    # --zeroshot-cfg is given (in either order)
    z() { "$bin" eval --heldout 1 --seed 3 --no-ttft --steps 2 --json "$@" 2>"$tmp/z.err" ||
        fail "eval $*: $(cat "$tmp/z.err")"; }
    z >"$tmp/z1.json"
    z --zeroshot-cfg 4 >"$tmp/z4.json"
    z --zeroshot-cfg 4 --cfg 3 >"$tmp/z4b.json"
    z --cfg 4 >"$tmp/c4.json"
    z --shift 2 >"$tmp/s2.json"
    z --zeroshot-steps 3 >"$tmp/n3.json"
    z --zeroshot-steps 3 --steps 1 >"$tmp/n3b.json"
    z --context-cfg 1.5 >"$tmp/g15.json"
    z --strength 0.5 >"$tmp/h5.json"
    python3 - "$tmp"/z1.json "$tmp"/z4.json "$tmp"/z4b.json "$tmp"/c4.json "$tmp"/s2.json "$tmp"/n3.json \
        "$tmp"/n3b.json "$tmp"/g15.json "$tmp"/h5.json <<'EOF' || fail "zero-shot guidance (above)"
import json, sys
z1, z4, z4b, c4, s2, n3, n3b, g15, h5 = (json.load(open(f)) for f in sys.argv[1:])
def psnr(j, m, items):
    return [j["summary"][it][m]["psnr"] for it in items]
edits = [it for it in z1["items"] if it != "compose"]
zs = edits + ["compose"]
def check(cond, what):
    if not cond:
        print("FAIL:", what)
        sys.exit(1)
check([j["sampling"]["zeroshot_cfg"] for j in (z1, z4, z4b, c4)] == [1, 4, 4, 4], "zeroshot_cfg")
check([j["sampling"]["cfg"] for j in (z1, z4, z4b, c4)] == [3, 3, 3, 4], "cfg")
for it in zs:
    check(psnr(z1, "zeroshot", [it]) != psnr(z4, "zeroshot", [it]), f"--zeroshot-cfg did not change {it}")
check(psnr(z1, "base", z1["items"]) == psnr(z4, "base", z1["items"]), "--zeroshot-cfg changed the base's output")
check(z4["summary"] == z4b["summary"], "--zeroshot-cfg 4 --cfg 3 differs from --zeroshot-cfg 4")
check(psnr(c4, "zeroshot", zs) == psnr(z4, "zeroshot", zs), "--cfg 4 did not set zero-shot's guidance")
check(psnr(c4, "base", c4["items"]) != psnr(z4, "base", c4["items"]), "--cfg did not change the base's output")
# zero-shot samples at the grid apps' shift (8), the other methods at 2; --shift sets both
check([(j["sampling"]["shift"], j["sampling"]["zeroshot_shift"]) for j in (z1, s2)] == [(2, 8), (2, 2)], "shifts")
check(psnr(s2, "zeroshot", z1["items"]) != psnr(z1, "zeroshot", z1["items"]), "zero-shot's default shift is 2")
check(psnr(s2, "base", z1["items"]) == psnr(z1, "base", z1["items"]), "--shift 2 changed the base's output")
# zero-shot's steps: --steps sets them (here 2, where the grid apps' default is 10) unless
# --zeroshot-steps is given, which moves zero-shot's scores alone
check([(j["sampling"]["steps"], j["sampling"]["zeroshot_steps"]) for j in (z1, n3, n3b)] == [(2, 2), (2, 3), (1, 3)],
      "steps")
check(psnr(n3, "zeroshot", zs) != psnr(z1, "zeroshot", zs), "--zeroshot-steps did not change zero-shot's output")
check(psnr(n3, "base", z1["items"]) == psnr(z1, "base", z1["items"]), "--zeroshot-steps changed the base's output")
check(psnr(n3b, "zeroshot", zs) == psnr(n3, "zeroshot", zs), "--steps overrode --zeroshot-steps")
# guidance by the input cells moves zero-shot alone (the others have no input cells)
check([j["sampling"]["zeroshot_context_cfg"] for j in (z1, g15)] == [1, 1.5], "zeroshot_context_cfg")
for it in zs:
    check(psnr(g15, "zeroshot", [it]) != psnr(z1, "zeroshot", [it]), f"--context-cfg did not change {it}")
check(psnr(g15, "base", z1["items"]) == psnr(z1, "base", z1["items"]), "--context-cfg changed the base's output")
# a start from the input cells likewise (the others have none to start from)
check([j["sampling"]["zeroshot_strength"] for j in (z1, h5)] == [1, 0.5], "zeroshot_strength")
for it in zs:
    check(psnr(h5, "zeroshot", [it]) != psnr(z1, "zeroshot", [it]), f"--strength did not change {it}")
check(psnr(h5, "base", z1["items"]) == psnr(z1, "base", z1["items"]), "--strength changed the base's output")
EOF
    # --split train scores the concepts of `gridlora dataset --count 2 --seed 3` (the training
    # split) in order, and says so; the default is the held-out split's
    "$bin" eval --heldout 2 --seed 3 --no-ttft --steps 1 --split train --json >"$tmp/train.json" 2>"$tmp/train.err" ||
        fail "eval --split train: $(cat "$tmp/train.err")"
    grep -q "^eval: 2 training-split concepts (seed 3)" "$tmp/train.err" || fail "--split train: $(head -1 "$tmp/train.err")"
    "$bin" dataset --count 2 --seed 3 --frames 2 --size 8x8 --out "$tmp/dstrain" >/dev/null || fail "dataset (train)"
    python3 - "$tmp/train.json" "$tmp/dstrain/manifest.jsonl" "$tmp/eval.json" <<'EOF' || fail "--split train (above)"
import json, sys
t, h = json.load(open(sys.argv[1])), json.load(open(sys.argv[3]))
want = [json.loads(l) for l in open(sys.argv[2])]
def check(cond, what):
    if not cond:
        print("FAIL:", what)
        sys.exit(1)
check(t["split"] == "train" and h["split"] == "heldout", f"split {t['split']} {h['split']}")
check([(c["seed"], c["caption"]) for c in t["concepts"]] == [(w["seed"], w["caption"]) for w in want],
      f"--split train: {[c['caption'] for c in t['concepts']]} vs {[w['caption'] for w in want]}")
check([c["caption"] for c in t["concepts"]] != [c["caption"] for c in h["concepts"]], "the held-out concepts again")
EOF
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
    : >"$tmp/afile"
    expect 1 "^gridlora: eval: --out: .*afile exists and is not a directory" -- eval --heldout 1 --seed 0 \
        --lora "$tmp/base.safetensors" --out "$tmp/afile/dir"
    expect 2 "^gridlora: eval: --heldout N is required" -- eval --seed 0
    expect 2 "^gridlora: eval: --seed S is required" -- eval --heldout 2
    expect 2 "^gridlora: eval: --heldout: 0 is outside" -- eval --heldout 0 --seed 0
    expect 2 "^gridlora: eval: --split: 'both' is not train or heldout" -- eval --heldout 1 --seed 0 --split both
    expect 2 "^gridlora: eval: --ttft-steps and --no-ttft exclude each other" -- eval --heldout 1 --seed 0 \
        --no-ttft --ttft-steps 3
    expect 2 "^gridlora: eval: unknown option '--effect'" -- eval --heldout 1 --seed 0 --effect smoke
    "$bin" eval --help | grep -q "^usage: gridlora eval --heldout N --seed S" || fail "eval --help"
    "$bin" --help | grep -q "^  eval " || fail "the command list lacks eval"
    echo "ok: eval's failures and usage errors" ;;
multidc)
    bash "$script" --tiny --bin "$bin" --models "$tmp/models/default" --work "$tmp/work" base multidc \
        >"$tmp/train.log" 2>&1 || fail "training the tiny models: $(tail -5 "$tmp/train.log")"
    a=models/default/multidc.safetensors
    "$bin" eval --multidc $a --data work/concepts --json --steps 2 --out "$tmp/mshow" >"$tmp/m.json" \
        2>"$tmp/m.err" || fail "eval --multidc exited $?: $(cat "$tmp/m.err")"
    grep -q "^eval: concept 4/4 done (<c3>)" "$tmp/m.err" || fail "no progress: $(cat "$tmp/m.err")"
    for i in 0000 0001 0002 0003; do
        for r in truth token prompt caption; do
            for ext in png gif; do [[ -s $tmp/mshow/$i.$r.$ext ]] || fail "--out: $i.$r.$ext missing"; done
        done
        [[ -s $tmp/mshow/$i.png ]] || fail "--out: $i.png missing"
    done
    "$bin" eval --multidc $a --data work/concepts --json --steps 2 --seed 1 >"$tmp/m2.json" 2>"$tmp/m2.err" ||
        fail "eval --multidc (again) exited $?: $(cat "$tmp/m2.err")"
    python3 - "$tmp/m.json" "$tmp/m2.json" work/concepts/manifest.jsonl <<'EOF' || fail "the JSON (above)"
import json, sys
j, j2 = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
man = [json.loads(l) for l in open(sys.argv[3]) if l.strip()]
methods, metrics = ["token", "prompt", "caption"], ["psnr", "identity", "motion", "motion_path"]
def check(cond, what):
    if not cond:
        print("FAIL:", what)
        sys.exit(1)
def num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)
check(j["mode"] == "multidc" and j["methods"] == methods, f"mode/methods {j['mode']} {j['methods']}")
check(j["model"] == "models/default/base.safetensors", f"model {j['model']}")
check(j["adapter"] == "models/default/multidc.safetensors" and j["data"] == "work/concepts", "adapter/data")
check(j["sampling"]["steps"] == 2 and j["sampling"]["seed"] == 1, f"sampling {j['sampling']}")
check(len(man) == 4 and j["concepts_count"] == 4 and len(j["concepts"]) == 4, "every concept of the data set")
check(j["render_psnr_min"] >= 25 and num(j["motion_floor"]), f"truth {j['render_psnr_min']} {j['motion_floor']}")
for m in methods:
    check(all(num(j["summary"][m][k]) for k in metrics), f"summary {m}: {j['summary'][m]}")
    check(j["seconds"][m] >= 0, f"seconds {m}")
    mean = sum(c["scores"][m]["psnr"] for c in j["concepts"]) / 4
    check(abs(j["summary"][m]["psnr"] - mean) < 1e-9, f"summary {m} psnr is not the mean")
for i, (c, w) in enumerate(zip(j["concepts"], man)):
    check(c["index"] == i and c["token"] == w["token"] and c["seed"] == w["seed"], f"concept {i}: {c['token']}")
    check(c["caption"] == w["caption"] and c["prompt"] == w["prompt"], f"concept {i}: {c['prompt']}")
    check(c["prompts"] == {"token": "a " + w["token"], "prompt": w["prompt"], "caption": w["caption"]},
          f"concept {i} prompts {c['prompts']}")
    check(c["render_psnr"] >= 25, f"concept {i}: the re-render against the file {c['render_psnr']}")
    for m in methods:
        check(all(num(c["scores"][m][k]) for k in metrics), f"concept {i} {m}: {c['scores'][m]}")
        check(c["scores"][m]["psnr"] < 100 and c["scores"][m]["identity"] > 0, f"concept {i} {m}: a perfect sample?")
def strip(x):  # the numbers without the wall times
    if isinstance(x, dict):
        return {k: strip(v) for k, v in x.items() if k != "seconds"}
    return [strip(v) for v in x] if isinstance(x, list) else x
check(strip(j) == strip(j2), "the same seed gave other numbers")
print("ok: the JSON holds every concept and method; the same seed, the same numbers")
EOF
    # the table, the base named
    "$bin" eval --multidc $a --data work/concepts --steps 1 --model models/default/base.safetensors \
        >"$tmp/mt.txt" 2>"$tmp/mt.err" || fail "eval --multidc (table): $(cat "$tmp/mt.err")"
    [[ $(grep -c "^[0-3]  *<c[0-3]>  " "$tmp/mt.txt") -eq 4 ]] || fail "table: concept rows: $(cat "$tmp/mt.txt")"
    for m in token prompt caption; do
        grep -q "^  $m  " "$tmp/mt.txt" || fail "table: no mean row for $m: $(cat "$tmp/mt.txt")"
    done
    # failures: one line, exit 1; usage errors exit 2
    cat >"$tmp/c.json" <<'EOF'
{"channels":3,"frames":2,"cell_h":8,"cell_w":8,"patch_t":1,"patch_h":2,"patch_w":2,"width":32,"depth":2,
 "heads":2,"mlp_ratio":2,"time_dim":16,"text_vocab":128,"concept_tokens":4,"text_len":16,"text_width":16,
 "text_layers":1,"text_heads":2,"rope_theta":10000}
EOF
    "$bin" train base --config "$tmp/c.json" --procedural --steps 1 --batch 1 --out "$tmp/other.safetensors" \
        >/dev/null 2>&1 || fail "a model of another width"
    expect 1 "^gridlora: eval: .*multidc.safetensors: tensor 'blocks.0.attn.q.lora_A.weight' is \[.*\], expected" -- \
        eval --multidc $a --data work/concepts --model "$tmp/other.safetensors"
    expect 1 "^gridlora: eval: .*base.safetensors" -- eval --multidc models/default/base.safetensors --data work/concepts
    expect 1 "^gridlora: eval: .*none.safetensors" -- eval --multidc "$tmp/none.safetensors" --data work/concepts
    "$bin" finetune --base models/default/base.safetensors --input work/concepts/0000.mp4 --token "<v>" \
        --out "$tmp/v.safetensors" --steps 1 --batch 1 >/dev/null 2>&1 || fail "a TTFT adapter"
    expect 1 "^gridlora: eval: .*v.safetensors: the adapter carries no embedding for <c0> (concept 0)" -- \
        eval --multidc "$tmp/v.safetensors" --data work/concepts
    expect 1 "^gridlora: eval: .*no/such/manifest.jsonl: cannot open" -- eval --multidc $a --data "$tmp/no/such"
    "$bin" dataset --split heldout --count 1 --frames 2 --size 8x8 --out "$tmp/held" >/dev/null 2>&1 || fail "dataset"
    expect 1 "^gridlora: eval: .*manifest.jsonl: line 1: a held-out concept" -- eval --multidc $a --data "$tmp/held"
    "$bin" dataset --count 5 --frames 2 --size 8x8 --out "$tmp/five" >/dev/null 2>&1 || fail "dataset"
    expect 1 "^gridlora: eval: .*line 5: token '<c4>' is not one of the model's 4 concept tokens" -- \
        eval --multidc $a --data "$tmp/five"
    : >"$tmp/afile"
    expect 1 "^gridlora: eval: --out: .*afile exists and is not a directory" -- eval --multidc $a --data work/concepts \
        --out "$tmp/afile/dir"
    (cd "$tmp/work" && expect 1 "^gridlora: eval: the shipped base model models/default/base.safetensors is missing" \
        -- eval --multidc "$tmp/$a" --data concepts) || exit 1
    expect 2 "^gridlora: eval: --multidc ADAPTER needs --data DIR" -- eval --multidc $a
    expect 2 "^gridlora: eval: --data DIR needs --multidc ADAPTER" -- eval --data work/concepts --heldout 1 --seed 0
    expect 2 "^gridlora: eval: --heldout is not an option of --multidc" -- eval --multidc $a --data work/concepts \
        --heldout 2
    expect 2 "^gridlora: eval: --zeroshot-cfg is not an option of --multidc" -- eval --multidc $a --data work/concepts \
        --zeroshot-cfg 2
    expect 2 "^gridlora: eval: --no-ttft is not an option of --multidc" -- eval --multidc $a --data work/concepts \
        --no-ttft
    expect 2 "^gridlora: eval: --split is not an option of --multidc" -- eval --multidc $a --data work/concepts \
        --split train
    "$bin" eval --help | grep -q "^usage: gridlora eval --multidc ADAPTER\[:W\] --data DIR" || fail "eval --help"
    echo "ok: eval --multidc" ;;
*) echo "unknown case $3"; exit 1 ;;
esac
