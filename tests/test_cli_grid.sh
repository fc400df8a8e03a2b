#!/usr/bin/env bash
# tests/test_cli_grid.sh BIN CASE: the grid stages end to end on the tiny preset: `grids`
# (--render and from a Multi-DC model), `train grid`, `train gridfill` (with a resume), and
# the zero-shot `edit`, `compose`, `character` and `story` writing their files; usage
# errors exit 2 and write nothing; a missing input exits 1 naming it.
set -u
bin=$1
tmp=$(mktemp -d /tmp/gl_cli_grid.XXXXXX) || exit 1
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/cli_lib.sh"
base=$tmp/base.safetensors
mdc=$tmp/mdc.safetensors
setup() { # a briefly trained tiny base, a 2-concept data set, a Multi-DC adapter on it
    run train base --preset tiny --procedural --steps 4 --batch 2 --out "$base"
    run dataset --count 2 --frames 2 --size 8x8 --out "$tmp/set"
    run train multidc --base "$base" --data "$tmp/set" --out "$mdc" --set-steps 2 --seq-steps 2 --batch 2 --rank 2
}
# canvases NUM DIR LAYOUT: DIR holds NUM canvases of LAYOUT listed in its manifest
canvases() {
    [[ $(wc -l <"$2/manifest.jsonl") -eq $1 ]] || fail "$2: $(wc -l <"$2/manifest.jsonl") canvases"
    for i in $(seq 0 $(($1 - 1))); do [[ -s "$2/$(printf %04d "$i").mp4" ]] || fail "$2: canvas $i missing"; done
    grep -q "\"layout\":\"$3\"" "$2/manifest.jsonl" || fail "$2: layout: $(head -c 300 "$2/manifest.jsonl")"
    grep -q '"cells":\[{"role":"input"' "$2/manifest.jsonl" || fail "$2: cells: $(head -c 300 "$2/manifest.jsonl")"
}

case $2 in
pipeline)
    setup
    run grids --model "$base" --render --data "$tmp/set" --layout edit --count 3 --out "$tmp/gr" --seed 2
    canvases 3 "$tmp/gr" edit
    grep -q '"source":"render"' "$tmp/gr/manifest.jsonl" || fail "source: $(head -c 300 "$tmp/gr/manifest.jsonl")"
    grep -q "^wrote .*gr: 3 edit canvases, cells rendered" "$tmp/out.txt" || fail "summary: $(cat "$tmp/out.txt")"
    run grids --model "$base" --lora "$mdc" --data "$tmp/set" --layout compose --count 2 --out "$tmp/gm" --steps 2
    canvases 2 "$tmp/gm" compose
    grep -q '"source":"multidc"' "$tmp/gm/manifest.jsonl" || fail "source: $(head -c 300 "$tmp/gm/manifest.jsonl")"
    grep -q '"prompt":"a <c[01]>' "$tmp/gm/manifest.jsonl" || fail "cell prompts lack tokens"
    # --resume keeps the canvases there (same bytes, not rewritten), makes the missing one,
    # and writes the same manifest
    cp "$tmp/gm/manifest.jsonl" "$tmp/gm.manifest"
    cp "$tmp/gm/0000.mp4" "$tmp/gm.0000"
    rm "$tmp/gm/0001.mp4" "$tmp/gm/manifest.jsonl"
    touch -d '2001-01-01' "$tmp/gm/0000.mp4"
    run grids --model "$base" --lora "$mdc" --data "$tmp/set" --layout compose --count 2 --out "$tmp/gm" --steps 2 \
        --resume
    [[ $(stat -c %Y "$tmp/gm/0000.mp4") == $(date -d '2001-01-01' +%s) ]] || fail "--resume rewrote a kept canvas"
    cmp -s "$tmp/gm/0000.mp4" "$tmp/gm.0000" || fail "--resume changed a kept canvas"
    [[ -s $tmp/gm/0001.mp4 ]] || fail "--resume did not make the missing canvas"
    cmp -s "$tmp/gm/manifest.jsonl" "$tmp/gm.manifest" || fail "--resume wrote another manifest"
    canvases 2 "$tmp/gm" compose
    for l in character story; do # --out's missing parents made
        run grids --model "$base" --render --data "$tmp/set" --layout $l --count 1 --out "$tmp/new/sets/g_$l"
        canvases 1 "$tmp/new/sets/g_$l" $l
    done
    # the Grid LoRA on top of the Multi-DC one, then Grid-Fill on both grid sets' kind
    run train grid --base "$base" --lora "$mdc" --data "$tmp/gr" --out "$tmp/grid.safetensors" --steps 3 --batch 2 \
        --rank 2 --log "$tmp/grid.csv"
    grep -q "^grid stage: trained 3 steps (1 to 3)" "$tmp/out.txt" || fail "grid: $(cat "$tmp/out.txt")"
    grep -q "3 canvases of 2 frames of 16x16" "$tmp/out.txt" || fail "grid: $(cat "$tmp/out.txt")"
    grep -q "^grid: step 3/3  loss" "$tmp/err.txt" || fail "progress: $(cat "$tmp/err.txt")"
    [[ $(wc -l <"$tmp/grid.csv") -eq 4 ]] || fail "log: $(cat "$tmp/grid.csv")"
    run train gridfill --base "$base" --grid-lora "$tmp/grid.safetensors" --data "$tmp/gm" \
        --out "$tmp/fill.safetensors" --steps 4 --batch 2 --rank 2 --checkpoint-every 2
    grep -q "^gridfill stage: trained 4 steps (1 to 4)" "$tmp/out.txt" || fail "gridfill: $(cat "$tmp/out.txt")"
    grep -q "grid LoRA .*grid.safetensors (frozen)" "$tmp/out.txt" || fail "gridfill: $(cat "$tmp/out.txt")"
    run train gridfill --base "$base" --grid-lora "$tmp/grid.safetensors" --data "$tmp/gm" \
        --out "$tmp/fill.safetensors" --steps 6 --batch 2 --rank 2 --checkpoint-every 2 --resume
    grep -q "^gridfill stage: trained 2 steps (5 to 6)" "$tmp/out.txt" || fail "resume: $(cat "$tmp/out.txt")"
    "$bin" lora info "$tmp/fill.safetensors" | grep -q "^motion: no" || fail "lora info of the Grid-Fill LoRA"
    # --ema: OUT holds the EMA, not the final weights of the same run; its carrier
    # checkpoint goes
    fill4=(train gridfill --base "$base" --grid-lora "$tmp/grid.safetensors" --data "$tmp/gm" --steps 4 --batch 2 --rank 2)
    run "${fill4[@]}" --out "$tmp/raw4.safetensors"
    grep -q "timesteps" "$tmp/out.txt" && fail "default timesteps named: $(cat "$tmp/out.txt")"
    run "${fill4[@]}" --out "$tmp/ema4.safetensors" --ema 0.5
    grep -q "; EMA 0.5$" "$tmp/out.txt" || fail "ema: $(cat "$tmp/out.txt")"
    grep -q "^wrote .*ema4.safetensors (LoRA adapter, EMA weights)" "$tmp/out.txt" || fail "ema: $(cat "$tmp/out.txt")"
    [[ -e $tmp/ema4.ckpt.safetensors ]] && fail "the EMA's carrier checkpoint was left behind"
    cmp -s "$tmp/raw4.safetensors" "$tmp/ema4.safetensors" && fail "--ema wrote the final weights"
    "$bin" lora info "$tmp/ema4.safetensors" | grep -q "^rank 2, alpha" || fail "lora info of the EMA adapter"
    # an --ema run's kept checkpoint resumed without --ema gives that run's final weights,
    # and says that the EMA stops there; with --ema it goes on saying nothing of the kind
    run "${fill4[@]}" --out "$tmp/emak.safetensors" --ema 0.5 --checkpoint-every 2
    run "${fill4[@]}" --out "$tmp/emak.safetensors" --resume
    grep -q "at step 4 (its EMA not continued: no --ema; OUT gets the final weights)$" "$tmp/out.txt" ||
        fail "resume without --ema: $(cat "$tmp/out.txt")"
    cmp -s "$tmp/raw4.safetensors" "$tmp/emak.safetensors" || fail "resume without --ema: not the final weights"
    run "${fill4[@]}" --out "$tmp/emak.safetensors" --ema 0.5 --resume
    grep -q "EMA not continued" "$tmp/out.txt" && fail "resume with --ema: $(cat "$tmp/out.txt")"
    cmp -s "$tmp/ema4.safetensors" "$tmp/emak.safetensors" || fail "resume with --ema: not the EMA"
    # --t-mu and --t-sigma reach the timesteps: each changes what the run learns
    run "${fill4[@]}" --out "$tmp/mu4.safetensors" --t-mu 1
    grep -q "; timesteps logit-normal(1, 1)$" "$tmp/out.txt" || fail "--t-mu 1: $(cat "$tmp/out.txt")"
    cmp -s "$tmp/raw4.safetensors" "$tmp/mu4.safetensors" && fail "--t-mu 1 trained as the default"
    run "${fill4[@]}" --out "$tmp/sigma4.safetensors" --t-sigma 0.5
    cmp -s "$tmp/raw4.safetensors" "$tmp/sigma4.safetensors" && fail "--t-sigma 0.5 trained as the default"
    expect 2 "^gridlora: train: --t-mu: 9 is outside" -- "${fill4[@]}" --out "$tmp/x.safetensors" --t-mu 9
    # --offset-noise LAYOUT=G reaches that layout's canvases (gm is all compose) and no other
    run "${fill4[@]}" --out "$tmp/onc.safetensors" --offset-noise compose=0.5
    grep -q "; offset noise compose=0.5;" "$tmp/out.txt" || fail "--offset-noise compose=0.5: $(cat "$tmp/out.txt")"
    cmp -s "$tmp/raw4.safetensors" "$tmp/onc.safetensors" && fail "--offset-noise compose=0.5 trained as the default"
    run "${fill4[@]}" --out "$tmp/one.safetensors" --offset-noise edit=0.5
    cmp -s "$tmp/raw4.safetensors" "$tmp/one.safetensors" || fail "--offset-noise edit=0.5 reached compose canvases"
    run "${fill4[@]}" --out "$tmp/onp.safetensors" --offset-noise 0.5 --offset-noise compose=0
    cmp -s "$tmp/raw4.safetensors" "$tmp/onp.safetensors" || fail "--offset-noise compose=0 is not over the plain 0.5"
    # the stage line says the plain value is only the other layouts'
    grep -q "; offset noise 0.5 a cell where no layout sets its own" "$tmp/out.txt" || fail "plain beside compose=0: $(cat "$tmp/out.txt")"
    # the colour term: said on the stage line (after the offset noise's own note), and trained
    run "${fill4[@]}" --out "$tmp/cw.safetensors" --offset-noise 0.5 --offset-noise compose=0 --colour-weight 20
    grep -q "; offset noise 0.5 a cell where no layout sets its own; colour weight 20" "$tmp/out.txt" ||
        fail "--colour-weight's stage line: $(cat "$tmp/out.txt")"
    cmp -s "$tmp/onp.safetensors" "$tmp/cw.safetensors" && fail "--colour-weight 20 trained as without it"
    # --init starts from an adapter's weights: one step at a negligible rate leaves them as
    # they were (a new adapter's B would be zero), rank and alpha taken from the file
    fill1=(train gridfill --base "$base" --grid-lora "$tmp/grid.safetensors" --data "$tmp/gm" --steps 1 --batch 2)
    run "${fill1[@]}" --init "$tmp/raw4.safetensors" --lr 1e-12 --out "$tmp/init1.safetensors"
    grep -q "^gridfill stage: trains the adapter of .*raw4.safetensors on (rank 2, alpha 8," "$tmp/out.txt" ||
        fail "--init: $(cat "$tmp/out.txt")"
    /usr/bin/python3 - "$(dirname "$0")" "$tmp/raw4.safetensors" "$tmp/init1.safetensors" <<'EOF2' || fail "--init did not start from the file"
import struct, sys
sys.path.insert(0, sys.argv[1])
import st_reader
def tensors(path):
    return {t["name"]: struct.unpack("<%df" % len(t["bits"]), struct.pack("<%dI" % len(t["bits"]), *t["bits"]))
            for t in st_reader.read(path)["tensors"]}
a, b = tensors(sys.argv[2]), tensors(sys.argv[3])
assert sorted(a) == sorted(b), "tensor names differ"
assert max(abs(x) for n in a if n.endswith("lora_B.weight") for x in a[n]) > 1e-5, "raw4's B is zero"
worst = max(abs(x - y) for n in a for x, y in zip(a[n], b[n]))
assert worst <= 1e-7, "largest difference %g" % worst
EOF2
    # --targets with --init: the file's tensors carry over, the norm gains join at zero (so
    # a step at a negligible rate changes nothing), and the file says the wider targets
    gt="blocks.*.attn.[qkvo],blocks.*.cross.[qkvo],blocks.*.mlp.fc[12],blocks.*.attn.norm_[qk]"
    run "${fill1[@]}" --init "$tmp/raw4.safetensors" --targets "$gt" --gain-lr-scale 10 --lr 1e-12 \
        --out "$tmp/initg.safetensors"
    grep -q "; 4 norm gains at 10 x the learning rate" "$tmp/out.txt" || fail "--gain-lr-scale: $(cat "$tmp/out.txt")"
    /usr/bin/python3 - "$(dirname "$0")" "$tmp/raw4.safetensors" "$tmp/initg.safetensors" "$gt" <<'EOF2' || fail "--init --targets"
import struct, sys
sys.path.insert(0, sys.argv[1])
import st_reader
def read(path):
    f = st_reader.read(path)
    return f, {t["name"]: struct.unpack("<%df" % len(t["bits"]), struct.pack("<%dI" % len(t["bits"]), *t["bits"]))
               for t in f["tensors"]}
_, a = read(sys.argv[2])
f, b = read(sys.argv[3])
gains = [n for n in b if n.endswith(".lora_gain")]
assert len(gains) == 2 * 2, "gains: %s" % gains  # two blocks x (q, k)
assert sorted(a) == sorted(n for n in b if n not in gains), "tensor names differ"
assert max(abs(x - y) for n in a for x, y in zip(a[n], b[n])) <= 1e-7, "the file's tensors moved"
assert max(abs(x) for n in gains for x in b[n]) <= 1e-7, "the gains did not start at zero"
assert f["metadata"]["lora.targets"] == sys.argv[4], f["metadata"]["lora.targets"]
EOF2
    "$bin" lora info "$tmp/initg.safetensors" > "$tmp/info.txt" || fail "lora info of the retargeted adapter"
    grep -q "^norm gains: 4$" "$tmp/info.txt" && grep -q "^  blocks.1.attn.norm_k  " "$tmp/info.txt" ||
        fail "lora info does not list the gains: $(cat "$tmp/info.txt")"
    expect 1 "^gridlora: train: --targets with --init .*raw4.safetensors: lora: the adapter's tensor 'blocks.0.cross" -- \
        "${fill1[@]}" --init "$tmp/raw4.safetensors" --targets "blocks.*.attn.[qkvo]" --out "$tmp/x.safetensors"
    expect 1 "^gridlora: train: gridfill: --gain-lr-scale: the adapter shifts no norm gain" -- \
        "${fill1[@]}" --gain-lr-scale 10 --out "$tmp/x.safetensors"
    expect 1 "^gridlora: train: lora: targets 'nothing' match no linear module or norm gain" -- \
        "${fill1[@]}" --targets nothing --out "$tmp/x.safetensors"
    expect 2 "^gridlora: train: gridfill: --rank with --init: the adapter's rank and alpha are those of" -- \
        "${fill1[@]}" --init "$tmp/raw4.safetensors" --rank 4 --out "$tmp/x.safetensors"
    expect 1 "^gridlora: train: --init: .*mdc.safetensors is a Multi-DC adapter (it has a motion branch)" -- \
        "${fill1[@]}" --init "$mdc" --out "$tmp/x.safetensors"
    expect 1 "^gridlora: train: --init: .*none.safetensors" -- "${fill1[@]}" --init "$tmp/none.safetensors" \
        --out "$tmp/x.safetensors"
    [[ -e $tmp/x.safetensors ]] && fail "a failed --init wrote its output"
    echo "ok: grids, train grid, train gridfill"
    lo="--model $base --lora $tmp/grid.safetensors --lora $tmp/fill.safetensors --steps 2"
    run edit --input "$tmp/set/0000.mp4" --effect smoke --effect night --out "$tmp/ed" $lo --caption "a red star"
    for f in grid.mp4 grid.gif sheet.png cell1.mp4 cell2.mp4 cell3.mp4 smoke.mp4 night.mp4; do
        [[ -s "$tmp/ed/$f" ]] || fail "edit: $f missing: $(ls "$tmp/ed")"
    done
    [[ -e "$tmp/ed/cell0.mp4" ]] && fail "edit wrote the input cell"
    grep -q 'cell 2: "a red star at night"' "$tmp/out.txt" || fail "edit prompts: $(cat "$tmp/out.txt")"
    grep -q "^edit: [0-9.]* s in all: .*sampling [0-9.]* s (2 steps, cfg 1, shift 8, strength 1)" "$tmp/out.txt" || fail "timings: $(cat "$tmp/out.txt")"
    # the grid apps' own default steps (GL_GRID_DEFAULT_STEPS), not generate's 20
    run edit --input "$tmp/set/0000.mp4" --effect smoke --out "$tmp/ed10" ${lo% --steps 2}
    grep -q "^edit: .*sampling [0-9.]* s (10 steps, cfg 1, shift 8, strength 1)" "$tmp/out.txt" || fail "default steps: $(cat "$tmp/out.txt")"
    # a start from the input below pure noise: said, and another output
    run edit --input "$tmp/set/0000.mp4" --effect smoke --effect night --out "$tmp/ed5" $lo --caption "a red star" \
        --strength 0.5
    grep -q "^edit: .*sampling [0-9.]* s (2 steps, cfg 1, shift 8, strength 0.5)" "$tmp/out.txt" ||
        fail "--strength: $(cat "$tmp/out.txt")"
    cmp -s "$tmp/ed/smoke.mp4" "$tmp/ed5/smoke.mp4" && fail "edit --strength 0.5 changed nothing"
    run compose --input "$tmp/set/0000.mp4" --input "$tmp/set/0001.smoke.mp4" --out "$tmp/co" $lo
    grep -q "^compose: .*sampling [0-9.]* s (2 steps, cfg 1, shift 8, strength 1)" "$tmp/out.txt" || fail "compose's guidance: $(cat "$tmp/out.txt")"
    for f in grid.mp4 grid.gif sheet.png cell2.mp4 cell3.mp4; do [[ -s "$tmp/co/$f" ]] || fail "compose: $f missing"; done
    grep -q 'cell 2: "a red star and a blue ring"' "$tmp/out.txt" && fail "compose without captions named them"
    run compose --input "$tmp/set/0000.mp4" --input "$tmp/set/0001.smoke.mp4" --out "$tmp/co2" $lo \
        --caption "a red star on sand" --caption "a blue ring on snow" --combo "a red star and a blue ring on sand"
    grep -q 'cell 2: "a red star and a blue ring on sand"' "$tmp/out.txt" || fail "compose --combo: $(cat "$tmp/out.txt")"
    grep -q 'cell 3: "a blue ring on snow and a red star on sand"' "$tmp/out.txt" ||
        fail "compose's second cell without --combo: $(cat "$tmp/out.txt")"
    cmp -s "$tmp/co/cell2.mp4" "$tmp/co2/cell2.mp4" && fail "compose --combo changed nothing"
    # captions of the domain (subject, motion, background) and no --combo: each bottom cell
    # is prompted with the pair's caption, its top concept's background named alone
    run compose --input "$tmp/set/0000.mp4" --input "$tmp/set/0001.smoke.mp4" --out "$tmp/co3" $lo \
        --caption "a red striped star orbiting on sand" --caption "a blue spotted ring drifting on snow"
    grep -q 'cell 2: "a red striped star and a blue spotted ring on sand"' "$tmp/out.txt" &&
        grep -q 'cell 3: "a blue spotted ring and a red striped star on snow"' "$tmp/out.txt" ||
        fail "compose's default combinations for domain captions: $(cat "$tmp/out.txt")"
    run character --input "$tmp/set/0001.mp4" --prompt "a star on snow" --prompt "a star bouncing" --out "$tmp/ch" $lo
    for f in grid.mp4 grid.gif sheet.png cell1.mp4 cell2.mp4 cell3.mp4; do [[ -s "$tmp/ch/$f" ]] || fail "character: $f missing"; done
    grep -q 'cell 3: "a star bouncing"' "$tmp/out.txt" || fail "character prompts: $(cat "$tmp/out.txt")"
    grep -q "^character: .*sampling [0-9.]* s (2 steps, cfg 1, shift 8, strength 1)" "$tmp/out.txt" ||
        fail "character's guidance: $(cat "$tmp/out.txt")"
    # a real video not made by the renderer: any size, any length
    run generate --model "$base" --prompt "a star" --out "$tmp/other.mp4" --size 24x12 --frames 5 --steps 1
    run edit --input "$tmp/other.mp4" --effect rain --out "$tmp/new/dirs/ed2" $lo # --out's parents made too
    [[ -s "$tmp/new/dirs/ed2/rain.mp4" ]] || fail "edit of another video"
    echo "ok: edit, compose, character" ;;
errors)
    setup
    lo="--model $base --lora $mdc --steps 1"
    expect 1 "^gridlora: edit: .*none.mp4" -- edit --input "$tmp/none.mp4" --effect smoke --out "$tmp/x" $lo
    expect 1 "^gridlora: compose: .*none.mp4" -- compose --input "$tmp/set/0000.mp4" --input "$tmp/none.mp4" --out "$tmp/x" $lo
    expect 1 "^gridlora: character: .*none.mp4" -- character --input "$tmp/none.mp4" --prompt "a star" --out "$tmp/x" $lo
    expect 1 "^gridlora: edit: .*none.safetensors" -- edit --input "$tmp/set/0000.mp4" --effect smoke --out "$tmp/x" \
        --model "$base" --lora "$tmp/none.safetensors"
    expect 1 "^gridlora: character: .*unknown word 'dragon'" -- character --input "$tmp/set/0000.mp4" \
        --prompt "a dragon" --out "$tmp/x" $lo
    expect 2 "^gridlora: edit: --strength" -- edit --input "$tmp/set/0000.mp4" --effect smoke --out "$tmp/x" $lo \
        --strength 0
    expect 2 "^gridlora: compose: --strength" -- compose --input "$tmp/set/0000.mp4" --input "$tmp/set/0000.mp4" \
        --out "$tmp/x" $lo --strength 1.5
    expect 1 "^gridlora: edit: .*strength below 1 and guidance by the context .* do not combine" -- edit \
        --input "$tmp/set/0000.mp4" --effect smoke --out "$tmp/x" $lo --strength 0.5 --context-cfg 2
    [[ -e "$tmp/x" ]] && fail "a failed app wrote its directory"
    : >"$tmp/afile"
    # checked before the model is read
    expect 1 "^gridlora: grids: --out: .*afile exists and is not a directory" -- grids --model nosuch.safetensors \
        --render --data d --layout edit --out "$tmp/afile/sub"
    expect 1 "^gridlora: edit: --out: .*afile exists and is not a directory" -- edit --input "$tmp/set/0000.mp4" \
        --effect smoke --out "$tmp/afile/sub" $lo
    expect 1 "^gridlora: grids: .*none/manifest.jsonl: cannot open" -- grids --model "$base" --render --data "$tmp/none" \
        --layout edit --out "$tmp/g"
    expect 1 "^gridlora: grids: the output .* is the data set itself" -- grids --model "$base" --render \
        --data "$tmp/set" --layout edit --out "$tmp/set"
    run dataset --count 1 --frames 2 --size 8x8 --out "$tmp/one"
    expect 1 "^gridlora: grids: compose needs two concepts" -- grids --model "$base" --render --data "$tmp/one" \
        --layout compose --out "$tmp/g"
    expect 1 "^gridlora: train: .*none/manifest.jsonl: cannot open" -- train grid --base "$base" --data "$tmp/none" \
        --out "$tmp/x.safetensors" --steps 1
    expect 1 "^gridlora: train: .*set/manifest.jsonl: line 1: not a grid canvas" -- train grid --base "$base" \
        --data "$tmp/set" --out "$tmp/x.safetensors" --steps 1
    [[ -e "$tmp/x.safetensors" ]] && fail "a failed run wrote an adapter"
    echo "ok: failures exit 1 naming the problem" ;;
args)
    cd "$tmp" || fail "cd $tmp" # no models/default/ here, whatever directory ctest runs in
    a="--model m --lora l --out $tmp/x"
    expect 2 "^gridlora: edit: --effect: unknown effect 'fire' (known: smoke, lights, shadow, rain, night)" -- \
        edit --input v.mp4 --effect fire $a
    expect 2 "^gridlora: edit: --effect E is required" -- edit --input v.mp4 $a
    expect 2 "^gridlora: edit: at most three --effect" -- edit --input v.mp4 $a --effect smoke --effect rain \
        --effect night --effect lights
    # without --model/--lora the shipped model's files, which the build directory lacks
    expect 1 "^gridlora: edit: the shipped base model models/default/base.safetensors is missing" -- edit \
        --input v.mp4 --effect smoke --lora l --out "$tmp/x"
    expect 1 "^gridlora: edit: the shipped model's LoRA stages are not trained yet" -- edit \
        --input v.mp4 --effect smoke --model m --out "$tmp/x"
    expect 2 "^gridlora: edit: --input VIDEO is required" -- edit --effect smoke $a
    expect 2 "^gridlora: edit: at most 1 --input" -- edit --input a --input b --effect smoke $a
    expect 2 "^gridlora: edit: --steps: 0 is outside" -- edit --input v.mp4 --effect smoke $a --steps 0
    expect 2 "^gridlora: edit: unknown option '--prompt'" -- edit --input v.mp4 --effect smoke $a --prompt p
    expect 2 "^gridlora: compose: --input VIDEO is required twice" -- compose --input a.mp4 $a
    expect 2 "^gridlora: compose: give --caption twice" -- compose --input a --input b --caption "a star" $a
    expect 2 "^gridlora: compose: at most two --combo" -- compose --input a --input b --combo x --combo y --combo z $a
    expect 2 "^gridlora: compose: option --combo needs a value" -- compose --input a --input b $a --combo
    expect 2 "^gridlora: character: --prompt P is required" -- character --input v.mp4 $a
    expect 2 "^gridlora: character: option --prompt needs a value" -- character --input v.mp4 $a --prompt
    expect 2 "^gridlora: story: --shot P is required" -- story --input v.mp4 $a
    expect 2 "^gridlora: story: --shot: empty prompt" -- story --input v.mp4 $a --shot ""
    expect 2 "^gridlora: story: unknown option '--prompt'" -- story --input v.mp4 $a --shot s --prompt p
    expect 2 "^gridlora: story: --shot 2: .*marker '<cell2>'" -- story --input v.mp4 $a --shot s --shot "a <cell2> b"
    expect 2 "^gridlora: grids: --lora MULTIDC (or --render) is required" -- grids --model m --data d --layout edit \
        --out "$tmp/g"
    expect 2 "^gridlora: grids: --render takes the renderer's cells: no --lora" -- grids --model m --lora l --render \
        --data d --layout edit --out "$tmp/g"
    expect 2 "^gridlora: grids: --layout: unknown layout 'grid'" -- grids --model m --render --data d --layout grid \
        --out "$tmp/g"
    expect 2 "^gridlora: grids: --layout L is required" -- grids --model m --render --data d --out "$tmp/g"
    expect 2 "^gridlora: grids: --count: 0 is outside" -- grids --model m --render --data d --layout edit --count 0 \
        --out "$tmp/g"
    expect 2 "^gridlora: train: grid: --data GDIR is required" -- train grid --base b --out "$tmp/x.safetensors"
    expect 2 "^gridlora: train: gridfill: --grid-lora FILE is required" -- train gridfill --base b --data d \
        --out "$tmp/x.safetensors"
    expect 2 "^gridlora: train: unknown option '--grid-lora'" -- train grid --base b --data d --grid-lora g \
        --out "$tmp/x.safetensors"
    expect 2 "^gridlora: train: grid: unknown option '--set-steps'" -- train grid --base b --data d --set-steps 3 \
        --out "$tmp/x.safetensors"
    expect 2 "^gridlora: train: --out FILE is required" -- train gridfill --base b --data d --grid-lora g
    expect 2 "^gridlora: train: unknown stage 'grids' (stages: base, multidc, grid, gridfill)" -- train grids
    for c in edit compose character story grids; do expect 0 "" -- $c --help; done
    expect 0 "" -- train grid --help
    expect 0 "" -- train gridfill --help
    "$bin" edit --help | grep -q "default: the shipped model" || fail "edit --help does not name the shipped model"
    "$bin" edit --help | grep -q "smoke, lights, shadow, rain, night" || fail "edit --help lacks the effects"
    for c in edit compose character story grids; do "$bin" --help | grep -q "^  $c " || fail "the command list lacks $c"; done
    [[ -z "$(ls "$tmp")" ]] || fail "a usage error wrote files: $(ls "$tmp")"
    echo "ok: usage errors, nothing written" ;;
story)
    setup
    lo="--model $base --lora $mdc --steps 2"
    # frames WxH of a video, as ffprobe counts them
    probe() { ffprobe -v error -count_frames -show_entries stream=nb_read_frames,width,height -of csv=p=0 "$1"; }
    run story --input "$tmp/set/0000.mp4" --shot "a star on snow" --shot "a star bouncing" \
        --shot "a star at night" --out "$tmp/st" $lo --caption "a red star"
    for f in shot1.mp4 shot2.mp4 shot3.mp4 story.mp4 grid.mp4 grid.gif sheet.png; do
        [[ -s "$tmp/st/$f" ]] || fail "story: $f missing: $(ls "$tmp/st")"
    done
    grep -q "^story: .* of 2 steps, cfg 1, shift 8, strength 1)" "$tmp/out.txt" || fail "story's guidance: $(cat "$tmp/out.txt")"
    [[ -e "$tmp/st/shot4.mp4" || -e "$tmp/st/shot0.mp4" || -e "$tmp/st/cell1.mp4" ]] && fail "story: stray files: $(ls "$tmp/st")"
    # the tiny preset's cell is 2 frames of 8x8: three shots make 6 frames, the grids 16x16
    [[ $(probe "$tmp/st/shot2.mp4") == "8,8,2" ]] || fail "shot2.mp4: $(probe "$tmp/st/shot2.mp4")"
    [[ $(probe "$tmp/st/story.mp4") == "8,8,6" ]] || fail "story.mp4: $(probe "$tmp/st/story.mp4")"
    [[ $(probe "$tmp/st/grid.mp4") == "16,16,6" ]] || fail "grid.mp4: $(probe "$tmp/st/grid.mp4")"
    [[ $(probe "$tmp/st/grid.gif") == "16,16,6" ]] || fail "grid.gif: $(probe "$tmp/st/grid.gif")"
    # the sheet: the input and three shots, one row each, 2 frames of 8x8 at scale 4
    [[ $(ffprobe -v error -show_entries stream=width,height -of csv=p=0 "$tmp/st/sheet.png") == "68,140" ]] ||
        fail "sheet.png: $(ffprobe -v error -show_entries stream=width,height -of csv=p=0 "$tmp/st/sheet.png")"
    grep -q '^wrote .*/st/shot3.mp4 (shot 3: "a star at night")' "$tmp/out.txt" || fail "story shots: $(cat "$tmp/out.txt")"
    grep -q "^story: [0-9.]* s in all: .*sampling [0-9.]* s (3 grids of 2 steps" "$tmp/out.txt" ||
        fail "story timings: $(cat "$tmp/out.txt")"
    # the same seed gives the same story; another chain (--no-anchor) another one
    run story --input "$tmp/set/0000.mp4" --shot "a star on snow" --shot "a star bouncing" \
        --shot "a star at night" --out "$tmp/st2" $lo --caption "a red star"
    cmp -s "$tmp/st/story.mp4" "$tmp/st2/story.mp4" || fail "story: not deterministic"
    run story --input "$tmp/set/0000.mp4" --shot "a star on snow" --shot "a star bouncing" \
        --shot "a star at night" --out "$tmp/st3" $lo --caption "a red star" --no-anchor
    cmp -s "$tmp/st/shot1.mp4" "$tmp/st3/shot1.mp4" || fail "story --no-anchor: shot 1 differs (its grid is the same)"
    # the chain's grids differ (other cells given); the shots themselves may not, by 8-bit
    # rounding: this base is trained 4 steps, its attention barely moves a cell's output
    cmp -s "$tmp/st/grid.mp4" "$tmp/st3/grid.mp4" && fail "story --no-anchor: the same chain of grids"
    run story --input "$tmp/set/0001.mp4" --shot "a star" --out "$tmp/st4" $lo
    [[ $(probe "$tmp/st4/story.mp4") == "8,8,2" ]] || fail "one-shot story: $(probe "$tmp/st4/story.mp4")"
    # failures: one line, exit 1, no directory; a bad word in the last shot is found
    # before any sampling
    expect 1 "^gridlora: story: .*none.mp4" -- story --input "$tmp/none.mp4" --shot "a star" --out "$tmp/x" $lo
    expect 1 "^gridlora: story: shot 3: .*unknown word 'dragon'" -- story --input "$tmp/set/0000.mp4" \
        --shot "a star" --shot "a star on snow" --shot "a dragon" --out "$tmp/x" $lo
    expect 1 "^gridlora: story: .*none.safetensors" -- story --input "$tmp/set/0000.mp4" --shot "a star" \
        --out "$tmp/x" --model "$base" --lora "$tmp/none.safetensors"
    [[ -e "$tmp/x" ]] && fail "a failed story wrote its directory"
    echo "ok: story" ;;
*) echo "unknown case $2"; exit 1 ;;
esac
