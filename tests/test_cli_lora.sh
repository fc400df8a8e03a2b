#!/usr/bin/env bash
# tests/test_cli_lora.sh BIN CASE: `gridlora train multidc`, `lora info|merge`, `generate
# --lora` and `finetune` on the tiny preset: a Multi-DC adapter trained in two stages is
# described by `lora info`; generating with it attached and with it merged into the base
# gives the same picture (bit-identical PNG here; decoded pixels within 1/255 where the
# two sums round apart); resuming continues each stage from its own checkpoint, and a
# run resumed at the stage boundary writes the very same adapter, with or without
# --lora-dropout (which changes the adapter; 0 is none); finetune on one video
# prints its wall time; usage errors exit 2; an adapter for another model exits 1 naming
# the tensor that does not fit; more concepts than the model's tokens exit 1.
set -u
bin=$1
py=/usr/bin/python3
tmp=$(mktemp -d /tmp/gl_cli_lora.XXXXXX) || exit 1
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/cli_lib.sh"
# rows FILE STEPS...: the log's first column must be exactly these steps
rows() {
    local got
    got=$(tail -n +2 "$1" | cut -d, -f1 | tr '\n' ' ')
    [[ "$got" == "$2 " ]] || fail "$1 steps: '$got', expected '$2 '"
}
# same_png A B: equal bytes, or decoded 8-bit pixels within 1
same_png() {
    cmp -s "$1" "$2" && { echo "ok: $1 and $2 are byte-identical"; return; }
    "$py" - "$1" "$2" <<'EOF' || fail "$1 and $2 differ by more than 1/255"
import struct, sys, zlib
def pixels(path):
    b = open(path, "rb").read()
    assert b[:8] == b"\x89PNG\r\n\x1a\n"
    i, idat, w = 8, b"", 0
    while i < len(b):
        n, kind = struct.unpack(">I4s", b[i:i + 8])
        d = b[i + 8:i + 8 + n]
        if kind == b"IHDR":
            w, h, depth, ctype = struct.unpack(">IIBB", d[:10])
            assert depth == 8 and ctype in (2, 6), (depth, ctype)
            bpp = 3 if ctype == 2 else 4
        elif kind == b"IDAT":
            idat += d
        i += 12 + n
    raw, out, prev, stride = zlib.decompress(idat), [], [0] * (w * bpp), w * bpp
    for y in range(h):
        f, line = raw[y * (stride + 1)], list(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            c = prev[x - bpp] if x >= bpp else 0
            p = a + prev[x] - c
            pr = a if abs(p - a) <= abs(p - prev[x]) and abs(p - a) <= abs(p - c) else prev[x] if abs(p - prev[x]) <= abs(p - c) else c
            line[x] = (line[x] + [0, a, prev[x], (a + prev[x]) // 2, pr][f]) & 255
        out += line
        prev = line
    return out
a, b = pixels(sys.argv[1]), pixels(sys.argv[2])
assert len(a) == len(b)
worst = max(abs(x - y) for x, y in zip(a, b))
print("max pixel difference", worst)
sys.exit(worst > 1)
EOF
    echo "ok: $1 and $2 within 1/255"
}
base=$tmp/base.safetensors
setup() { # a briefly trained tiny base and a 2-concept data set
    run train base --preset tiny --procedural --steps 10 --batch 2 --out "$base"
    run dataset --count 2 --frames 2 --size 8x8 --out "$tmp/set"
}
a=$tmp/a.safetensors

case $2 in
multidc)
    setup
    run train multidc --base "$base" --data "$tmp/set" --out "$a" --set-steps 4 --seq-steps 4 --batch 2 --rank 4 \
        --alpha 2 --log "$tmp/log.csv" --checkpoint-every 2
    grep -q "2 concepts, 14 videos" "$tmp/out.txt" || fail "summary: $(cat "$tmp/out.txt")"
    grep -q "^set stage: trained 4 steps (1 to 4)" "$tmp/out.txt" || fail "set summary: $(cat "$tmp/out.txt")"
    grep -q "^sequence stage: trained 4 steps (1 to 4)" "$tmp/out.txt" || fail "seq summary: $(cat "$tmp/out.txt")"
    grep -q "^set: step 4/4  loss [0-9.]*  [0-9.]* samples/s  ETA" "$tmp/err.txt" || fail "progress: $(cat "$tmp/err.txt")"
    grep -q "^sequence: step 4/4  loss" "$tmp/err.txt" || fail "progress: $(cat "$tmp/err.txt")"
    rows "$tmp/log.set.csv" "1 2 3 4"
    rows "$tmp/log.seq.csv" "1 2 3 4"
    [[ -s "$tmp/a.set.ckpt.safetensors" && -s "$tmp/a.seq.ckpt.safetensors" ]] || fail "checkpoints: $(ls "$tmp")"
    out=$("$bin" lora info "$a") || fail "lora info exited $?"
    for want in "rank 4, alpha 2 (scale 0.5)" "^motion: yes" "^modules: 20" "blocks.1.mlp.fc2  in 32, out 16" \
        "^tokens: 2: <c0> (id 124), <c1> (id 125)" '^base config: {"channels":3' "^targets: blocks"; do
        grep -q -- "$want" <<<"$out" || fail "lora info lacks '$want': $out"
    done
    echo "ok: trained both stages, lora info"
    # attached and merged give the same video
    run lora merge --base "$base" --lora "$a:0.7" --out "$tmp/merged.safetensors"
    grep -q "with 1 adapter merged" "$tmp/out.txt" || fail "merge: $(cat "$tmp/out.txt")"
    run generate --model "$base" --lora "$a:0.7" --prompt "a <c1> with smoke" --out "$tmp/g1.png" --steps 4 --seed 3
    run generate --model "$tmp/merged.safetensors" --prompt "a <c1> with smoke" --out "$tmp/g2.png" --steps 4 --seed 3
    same_png "$tmp/g1.png" "$tmp/g2.png"
    run generate --model "$base" --prompt "a <c1> with smoke" --out "$tmp/g0.png" --steps 4 --seed 3
    cmp -s "$tmp/g0.png" "$tmp/g1.png" && fail "the adapter changed nothing"
    # two adapters at once, weights apart
    run generate --model "$base" --lora "$a:0.5" --lora "$a" --prompt "a <c0>" --out "$tmp/g3.mp4" --steps 2
    # resume: the Sequence stage's checkpoint holds everything; the Set stage is skipped
    run train multidc --base "$base" --data "$tmp/set" --out "$a" --set-steps 4 --seq-steps 6 --batch 2 --rank 4 \
        --alpha 2 --log "$tmp/log.csv" --checkpoint-every 2 --resume
    grep -q "^set stage: skipped" "$tmp/out.txt" || fail "set not skipped: $(cat "$tmp/out.txt")"
    grep -q "resuming from .*a.seq.ckpt.safetensors at step 4" "$tmp/out.txt" || fail "no resume note: $(cat "$tmp/out.txt")"
    grep -q "^sequence stage: trained 2 steps (5 to 6)" "$tmp/out.txt" || fail "seq resume: $(cat "$tmp/out.txt")"
    rows "$tmp/log.seq.csv" "1 2 3 4 5 6"
    # resumed at the stage boundary (the Sequence checkpoint lost): the same adapter as a whole run
    run train multidc --base "$base" --data "$tmp/set" --out "$tmp/whole.safetensors" --set-steps 4 --seq-steps 6 \
        --batch 2 --rank 4 --alpha 2
    rm "$tmp/a.seq.ckpt.safetensors"
    run train multidc --base "$base" --data "$tmp/set" --out "$a" --set-steps 4 --seq-steps 6 --batch 2 --rank 4 \
        --alpha 2 --checkpoint-every 2 --resume
    grep -q "^set stage: nothing to train: the checkpoint is at step 4 of 4" "$tmp/out.txt" || fail "set: $(cat "$tmp/out.txt")"
    grep -q "^sequence stage: trained 6 steps (1 to 6)" "$tmp/out.txt" || fail "seq: $(cat "$tmp/out.txt")"
    cmp -s "$a" "$tmp/whole.safetensors" || fail "the adapter resumed at the stage boundary differs"
    # token alone for the plain clips: announced, changes the adapter; 0 is the default run
    run train multidc --base "$base" --data "$tmp/set" --out "$tmp/t1.safetensors" --set-steps 4 --seq-steps 6 \
        --batch 2 --rank 4 --alpha 2 --token-only 1
    grep -q "token alone for 1 of the plain clips" "$tmp/out.txt" || fail "token-only: $(cat "$tmp/out.txt")"
    cmp -s "$tmp/t1.safetensors" "$tmp/whole.safetensors" && fail "--token-only 1 changed nothing"
    run train multidc --base "$base" --data "$tmp/set" --out "$tmp/t0.safetensors" --set-steps 4 --seq-steps 6 \
        --batch 2 --rank 4 --alpha 2 --token-only 0
    cmp -s "$tmp/t0.safetensors" "$tmp/whole.safetensors" || fail "--token-only 0 is not the default run"
    run train multidc --base "$base" --data "$tmp/set" --out "$tmp/tw.safetensors" --set-steps 4 --seq-steps 6 \
        --batch 2 --rank 4 --alpha 2 --token-init words
    grep -q "^adapter: .*, tokens from their captions' words$" "$tmp/out.txt" || fail "token-init: $(cat "$tmp/out.txt")"
    cmp -s "$tmp/tw.safetensors" "$tmp/whole.safetensors" && fail "--token-init words changed nothing"
    # multi-vector tokens: announced, carried and named by lora info, used by generate and
    # eval --multidc, refused by merge; 1 is the default run
    run train multidc --base "$base" --data "$tmp/set" --out "$tmp/tv.safetensors" --set-steps 4 --seq-steps 6 \
        --batch 2 --rank 4 --alpha 2 --token-vectors 2 --token-only 0.5
    grep -q "^adapter: .*, 2 tokens of 2 embeddings each$" "$tmp/out.txt" || fail "token-vectors: $(cat "$tmp/out.txt")"
    out=$("$bin" lora info "$tmp/tv.safetensors") || fail "lora info exited $?"
    grep -q "^tokens: 4: <c0> (id 124), <c1> (id 125), <c2> (id 126), <c3> (id 127)" <<<"$out" &&
        grep -q "^token vectors: 2 " <<<"$out" || fail "lora info of a 2-vector adapter: $out"
    run generate --model "$base" --lora "$tmp/tv.safetensors" --prompt "a <c1>" --out "$tmp/v1.png" --steps 2 --seed 3
    run eval --multidc "$tmp/tv.safetensors" --data "$tmp/set" --model "$base" --steps 2
    grep -q "^  token " "$tmp/out.txt" || fail "eval --multidc: $(cat "$tmp/out.txt")"
    expect 1 "^gridlora: lora: .*2 embeddings.*apply it with --lora instead" -- lora merge --base "$base" \
        --lora "$tmp/tv.safetensors" --out "$tmp/x.safetensors"
    [[ -e $tmp/x.safetensors ]] && fail "a refused merge wrote its output"
    # (after the data's reading progress: the concepts must be counted first)
    "$bin" train multidc --base "$base" --data "$tmp/set" --out "$tmp/x.safetensors" --set-steps 1 --seq-steps 1 \
        --token-vectors 3 >/dev/null 2>"$tmp/err.txt"; rc=$?
    [[ $rc -eq 1 ]] || fail "--token-vectors 3 for 2 concepts of 4 tokens exited $rc"
    grep -q "^gridlora: train: multidc: 2 concepts with 3 token vectors each need 6 concept tokens; the model has 4$" \
        "$tmp/err.txt" || fail "too many vectors: $(cat "$tmp/err.txt")"
    [[ -e $tmp/x.safetensors ]] && fail "a refused run wrote its output"
    run train multidc --base "$base" --data "$tmp/set" --out "$tmp/tv1.safetensors" --set-steps 4 --seq-steps 6 \
        --batch 2 --rank 4 --alpha 2 --token-vectors 1
    cmp -s "$tmp/tv1.safetensors" "$tmp/whole.safetensors" || fail "--token-vectors 1 is not the default run"
    # tokens at a scaled learning rate: announced, changes the adapter; 1 is the default run
    run train multidc --base "$base" --data "$tmp/set" --out "$tmp/ts.safetensors" --set-steps 4 --seq-steps 6 \
        --batch 2 --rank 4 --alpha 2 --token-lr-scale 10
    grep -q "^adapter: .*, tokens at 10 x the learning rate$" "$tmp/out.txt" || fail "token-lr-scale: $(cat "$tmp/out.txt")"
    cmp -s "$tmp/ts.safetensors" "$tmp/whole.safetensors" && fail "--token-lr-scale 10 changed nothing"
    run train multidc --base "$base" --data "$tmp/set" --out "$tmp/t1s.safetensors" --set-steps 4 --seq-steps 6 \
        --batch 2 --rank 4 --alpha 2 --token-lr-scale 1
    cmp -s "$tmp/t1s.safetensors" "$tmp/whole.safetensors" || fail "--token-lr-scale 1 is not the default run"
    # dropout on the adapter's input: announced, changes the adapter, resumes to the same
    # one; 0 is no dropout at all
    d="--base $base --data $tmp/set --set-steps 4 --seq-steps 6 --batch 2 --rank 4 --alpha 2"
    run train multidc $d --out "$tmp/d1.safetensors" --lora-dropout 0.3
    grep -q "^adapter: rank 4, .*, dropout 0.3 on its input$" "$tmp/out.txt" || fail "dropout: $(cat "$tmp/out.txt")"
    cmp -s "$tmp/d1.safetensors" "$tmp/whole.safetensors" && fail "dropout 0.3 changed nothing"
    run train multidc $d --out "$tmp/d2.safetensors" --lora-dropout 0.3 --checkpoint-every 2
    rm "$tmp/d2.seq.ckpt.safetensors"
    run train multidc $d --out "$tmp/d2.safetensors" --lora-dropout 0.3 --checkpoint-every 2 --resume
    cmp -s "$tmp/d1.safetensors" "$tmp/d2.safetensors" || fail "the adapter trained with dropout and resumed differs"
    run train multidc $d --out "$tmp/d0.safetensors" --lora-dropout 0
    grep -q "dropout" "$tmp/out.txt" && fail "dropout 0 announced: $(cat "$tmp/out.txt")"
    cmp -s "$tmp/d0.safetensors" "$tmp/whole.safetensors" || fail "dropout 0 is not the run without dropout"
    "$bin" train multidc --base "$base" --data "$tmp/set" --out "$a" --set-steps 4 --seq-steps 6 --batch 2 --rank 4 \
        --alpha 2 --seed 9 --resume --checkpoint-every 2 >/dev/null 2>"$tmp/err.txt"; rc=$?
    [[ $rc -eq 1 ]] || fail "a resume with another seed exited $rc"
    grep -q "^gridlora: train: sequence stage: .*a.seq.ckpt.safetensors: checkpoint made with --seed 1" "$tmp/err.txt" ||
        fail "seed message: $(cat "$tmp/err.txt")"
    echo "ok: merged = attached, resume within and across stages" ;;
finetune)
    setup
    run finetune --base "$base" --input "$tmp/set/0001.mp4" --token "<v>" --out "$tmp/ft.safetensors" --steps 3 --batch 2
    grep -q "^finetune: [0-9]*\.[0-9] s (training [0-9.]* s)$" "$tmp/out.txt" || fail "no wall time: $(cat "$tmp/out.txt")"
    grep -q 'prompt "a <v>"' "$tmp/out.txt" || fail "prompt: $(cat "$tmp/out.txt")"
    "$bin" lora info "$tmp/ft.safetensors" | grep -q "^tokens: 1: <v> (id 1)" || fail "the adapter lacks <v>"
    run generate --model "$base" --lora "$tmp/ft.safetensors" --prompt "a <v> with smoke" --out "$tmp/v.mp4" --steps 2
    [[ -s "$tmp/v.mp4" ]] || fail "no video"
    run finetune --base "$base" --input "$tmp/set/0001.mp4" --token "<c3>" --prompt "a <c3> on sand" \
        --out "$tmp/ft3.safetensors" --set-steps 2 --seq-steps 1 --batch 1
    grep -q "^sequence stage: trained 1 steps" "$tmp/out.txt" || fail "steps: $(cat "$tmp/out.txt")"
    expect 1 "^gridlora: finetune: token 'red' is neither the free token <v> nor" -- finetune --base "$base" \
        --input "$tmp/set/0001.mp4" --token red --prompt "a red star" --out "$tmp/x.safetensors" --steps 1
    expect 1 "^gridlora: finetune: prompt 'a star' lacks the concept's token <v>" -- finetune --base "$base" \
        --input "$tmp/set/0001.mp4" --token "<v>" --prompt "a star" --out "$tmp/x.safetensors" --steps 1
    expect 1 "^gridlora: finetune: .*none.mp4" -- finetune --base "$base" --input "$tmp/none.mp4" --token "<v>" \
        --out "$tmp/x.safetensors" --steps 1
    [[ -e "$tmp/x.safetensors" ]] && fail "a failed finetune wrote an adapter"
    echo "ok: finetune" ;;
errors)
    setup
    run train multidc --base "$base" --data "$tmp/set" --out "$a" --set-steps 1 --seq-steps 1 --batch 1 --rank 2
    # a model of another width: the adapter's tensors do not fit it
    cat >"$tmp/c.json" <<'EOF'
{"channels":3,"frames":2,"cell_h":8,"cell_w":8,"patch_t":1,"patch_h":2,"patch_w":2,"width":32,"depth":2,
 "heads":2,"mlp_ratio":2,"time_dim":16,"text_vocab":128,"concept_tokens":4,"text_len":16,"text_width":16,
 "text_layers":1,"text_heads":2,"rope_theta":10000}
EOF
    run train base --config "$tmp/c.json" --procedural --steps 1 --batch 1 --out "$tmp/other.safetensors"
    expect 1 "^gridlora: generate: .*a.safetensors: tensor 'blocks.0.attn.q.lora_A.weight' is \[2,16\], expected \[2,32\]" \
        -- generate --model "$tmp/other.safetensors" --lora "$a" --prompt "a <c0>" --out "$tmp/x.mp4"
    expect 1 "^gridlora: lora: .*a.safetensors: tensor 'blocks.0.attn.q.lora_A.weight' is \[2,16\]" -- lora merge \
        --base "$tmp/other.safetensors" --lora "$a" --out "$tmp/x.safetensors"
    expect 1 "^gridlora: lora: .*base.safetensors: not a gridlora LoRA adapter" -- lora info "$base"
    expect 1 "^gridlora: generate: .*none.safetensors" -- generate --model "$base" --lora "$tmp/none.safetensors" \
        --prompt a --out "$tmp/x.mp4"
    # more concepts than the tiny model's 4 tokens
    run dataset --count 5 --frames 2 --size 8x8 --out "$tmp/set5"
    expect 1 "^gridlora: train: .*manifest.jsonl: 5 concepts, but the model has 4 concept tokens (<c0>..<c3>)" -- \
        train multidc --base "$base" --data "$tmp/set5" --out "$tmp/x.safetensors"
    [[ -e "$tmp/x.safetensors" || -e "$tmp/x.mp4" ]] && fail "a failed command wrote its output"
    echo "ok: other model, not an adapter, too many concepts" ;;
args)
    o="--base $tmp/b.safetensors --data $tmp/set --out $tmp/x.safetensors"
    expect 2 "^gridlora: train: multidc: --base FILE is required" -- train multidc --data "$tmp/set" --out "$tmp/x.safetensors"
    expect 2 "^gridlora: train: multidc: --data DIR is required" -- train multidc --base b --out "$tmp/x.safetensors"
    expect 2 "^gridlora: train: --out FILE is required" -- train multidc --base b --data d
    expect 2 "^gridlora: train: --set-steps: 0 is outside" -- train multidc $o --set-steps 0
    expect 2 "^gridlora: train: --rank: 'r' is not an integer" -- train multidc $o --rank r
    expect 2 "^gridlora: train: --alpha: 0 is outside (0, 1e+06\]" -- train multidc $o --alpha 0
    expect 2 "^gridlora: train: --lr: 2 is outside" -- train multidc $o --lr 2
    expect 2 "^gridlora: train: --lora-dropout: 1 is outside \[0, 0.99\]" -- train multidc $o --lora-dropout 1
    expect 2 "^gridlora: train: --lora-dropout: 'x' is not a number" -- train multidc $o --lora-dropout x
    expect 2 "^gridlora: train: unknown option '--ema'" -- train multidc $o --ema 0.9
    expect 2 "^gridlora: train: option --seq-steps needs a value" -- train multidc $o --seq-steps
    expect 2 "^gridlora: train: unexpected argument 'now'" -- train multidc $o now
    expect 0 "" -- train multidc --help
    f="--base b --input v.mp4 --token <v> --out $tmp/x.safetensors"
    expect 2 "^gridlora: finetune: --input VIDEO is required" -- finetune --base b --token "<v>" --out "$tmp/x.safetensors"
    expect 2 "^gridlora: finetune: --token TOKEN is required" -- finetune --base b --input v.mp4 --out "$tmp/x.safetensors"
    expect 2 "^gridlora: finetune: --base FILE is required" -- finetune --input v.mp4 --token "<v>" --out "$tmp/x.safetensors"
    expect 2 "^gridlora: finetune: --out FILE is required" -- finetune --base b --input v.mp4 --token "<v>"
    expect 2 "^gridlora: finetune: --steps: -1 is outside" -- finetune $f --steps -1
    expect 2 "^gridlora: finetune: unknown option '--data'" -- finetune $f --data d
    expect 2 "^gridlora: finetune: --lora-dropout: -0.1 is outside" -- finetune $f --lora-dropout -0.1
    expect 0 "" -- finetune --help
    expect 2 "^gridlora: lora: which action" -- lora
    expect 2 "^gridlora: lora: unknown action 'show'" -- lora show a.safetensors
    expect 2 "^gridlora: lora: info takes one adapter file" -- lora info
    expect 2 "^gridlora: lora: info takes one adapter file" -- lora info a b
    expect 2 "^gridlora: lora: merge: --base FILE is required" -- lora merge --lora a --out "$tmp/x.safetensors"
    expect 2 "^gridlora: lora: merge: --lora FILE is required" -- lora merge --base b --out "$tmp/x.safetensors"
    expect 2 "^gridlora: lora: merge: --out FILE is required" -- lora merge --base b --lora a
    expect 2 "^gridlora: lora: merge: --dtype: 'f8' is not" -- lora merge --base b --lora a --out "$tmp/x.safetensors" --dtype f8
    expect 2 "^gridlora: lora: merge: unknown option '--weight'" -- lora merge --base b --weight 2
    expect 0 "" -- lora --help
    expect 0 "" -- lora info --help
    expect 2 "^gridlora: generate: option --lora needs a value" -- generate --model m --prompt a --out "$tmp/x.mp4" --lora
    expect 0 "" -- generate --help
    "$bin" generate --help | grep -q -- "--lora FILE\[:W\]" || fail "generate --help lacks --lora"
    "$bin" --help | grep -q "^  finetune " || fail "the command list lacks finetune"
    "$bin" --help | grep -q "^  lora " || fail "the command list lacks lora"
    [[ -z "$(ls "$tmp")" ]] || fail "a usage error wrote files: $(ls "$tmp")"
    echo "ok: usage errors, nothing written" ;;
*) echo "unknown case $2"; exit 1 ;;
esac
