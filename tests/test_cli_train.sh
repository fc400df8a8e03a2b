#!/usr/bin/env bash
# tests/test_cli_train.sh BIN CASE: `gridlora train base` and `gridlora generate` on the
# tiny preset: a run resumed from its checkpoint continues where it stood (the log holds
# each step once), the weights load with `gridlora info` and generate a video and a
# contact sheet, EMA (and a checkpoint's EMA weights, `convert --ema`) and the loss plot,
# a data set from `gridlora dataset`, usage errors (exit 2, one 'gridlora: ...' line),
# and weights full of NaN (exit 1, nothing written).
set -u
bin=$1
py=/usr/bin/python3
tmp=$(mktemp -d /tmp/gl_cli_train.XXXXXX) || exit 1
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/cli_lib.sh"
# train ARGS...: a tiny procedural run that must succeed
train() {
    "$bin" train base --preset tiny --procedural --batch 2 "$@" >"$tmp/out.txt" 2>"$tmp/err.txt" ||
        fail "train $* exited $?: $(cat "$tmp/err.txt")"
}
# rows STEPS... : the log's first column must be exactly these steps, after its header
rows() {
    local want=$1 got
    got=$(tail -n +2 "$tmp/log.csv" | cut -d, -f1 | tr '\n' ' ')
    [[ "$got" == "$want " ]] || fail "log steps: '$got', expected '$want '"
    [[ $(head -1 "$tmp/log.csv") == "step,loss,lr,grad_norm,seconds" ]] || fail "log header: $(head -1 "$tmp/log.csv")"
}
m=$tmp/m.safetensors

case $2 in
resume)
    train --steps 30 --seed 4 --out "$m" --log "$tmp/log.csv" --checkpoint-every 10
    [[ -s "$m" && -s "$tmp/m.ckpt.safetensors" ]] || fail "weights or default checkpoint missing: $(ls "$tmp")"
    rows "$(seq -s ' ' 1 30)"
    grep -q "^step 30/30  loss [0-9.]*  [0-9.]* samples/s  ETA" "$tmp/err.txt" || fail "no final progress line: $(cat "$tmp/err.txt")"
    grep -q "trained 30 steps (1 to 30) in .*; final loss [0-9.]" "$tmp/out.txt" || fail "summary: $(cat "$tmp/out.txt")"
    # the checkpoint of step 30; resuming to 40 runs 31..40 only
    train --steps 40 --seed 4 --out "$m" --log "$tmp/log.csv" --checkpoint-every 10 --resume
    grep -q "resuming from .*m.ckpt.safetensors at step 30" "$tmp/out.txt" || fail "no resume note: $(cat "$tmp/out.txt")"
    grep -q "trained 10 steps (31 to 40)" "$tmp/out.txt" || fail "summary: $(cat "$tmp/out.txt")"
    grep -q "^step 31/" "$tmp/err.txt" && fail "progress mentions a step before the checkpoint"
    rows "$(seq -s ' ' 1 40)"
    expect 1 "^gridlora: convert: .*m.ckpt.safetensors: --ema: not a training checkpoint of a run with --ema (no 'ema.' tensors)$" \
        -- convert --ema --in "$tmp/m.ckpt.safetensors" --out "$tmp/x.safetensors" --dtype f16
    # a resume with another seed is refused
    expect 1 "^gridlora: train: .*--seed" -- train base --preset tiny --procedural --steps 50 --seed 5 --out "$m" \
        --checkpoint-every 10 --resume
    out=$("$bin" info "$m") || fail "info exited $?"
    grep -q "gridlora.config" <<<"$out" || fail "info lacks the configuration: $out"
    grep -q "blocks\.0\." <<<"$out" || fail "info lacks the blocks: $out"
    grep -q "adam\." <<<"$out" && fail "the weights file holds optimiser state"
    # --init goes on from these weights (configuration from the file), here with other timesteps
    "$bin" train base --init "$m" --procedural --steps 5 --t-mu 0.5 --t-sigma 0.8 --out "$tmp/m2.safetensors" \
        >"$tmp/m2.txt" 2>&1 || fail "train --init exited $?"
    grep -q "; timesteps logit-normal(0.5, 0.8)$" "$tmp/m2.txt" || fail "--t-mu, --t-sigma: $(cat "$tmp/m2.txt")"
    "$bin" train base --init "$m" --procedural --steps 2 --colour-weight 3 --out "$tmp/cw.safetensors" \
        >"$tmp/cw.txt" 2>&1 || fail "train --colour-weight exited $?"
    grep -q "; colour weight 3$" "$tmp/cw.txt" || fail "--colour-weight: $(cat "$tmp/cw.txt")"
    "$bin" info "$tmp/m2.safetensors" >/dev/null || fail "--init's weights do not load"
    cmp -s "$m" "$tmp/m2.safetensors" && fail "training from --init changed nothing"
    expect 1 "^gridlora: train: --init: .*none.safetensors" -- train base --init "$tmp/none.safetensors" \
        --procedural --steps 5 --out "$tmp/m3.safetensors"
    # --predict x0: in the configuration, from scratch or switched on --init weights (announced)
    train --steps 3 --predict x0 --out "$tmp/x0.safetensors"
    "$bin" info "$tmp/x0.safetensors" | grep -q '"predict_x0":1' || fail "--predict x0 not in the configuration"
    "$bin" info "$m" | grep -q 'predict_x0' && fail "a v-predicting model's configuration names predict_x0"
    "$bin" train base --init "$m" --procedural --steps 3 --predict x0 --out "$tmp/x1.safetensors" \
        >"$tmp/out.txt" 2>&1 || fail "train --init --predict x0 exited $?"
    grep -q "predicts v; this run trains it to predict x0 (final.linear starts at zero)" "$tmp/out.txt" ||
        fail "no switch note: $(cat "$tmp/out.txt")"
    "$bin" info "$tmp/x1.safetensors" | grep -q '"predict_x0":1' || fail "the switched model does not say x0"
    "$bin" train base --init "$tmp/x1.safetensors" --procedural --steps 3 --predict x0 --out "$tmp/x2.safetensors" \
        >"$tmp/out.txt" 2>&1 || fail "train --init --predict x0 (already x0) exited $?"
    grep -q "this run trains it to predict" "$tmp/out.txt" && fail "a switch announced where nothing changed"
    # --text-pool 1 on --init weights: the pooled caption's path added (announced, in the file)
    "$bin" train base --init "$m" --procedural --steps 3 --text-pool 1 --out "$tmp/p1.safetensors" \
        >"$tmp/out.txt" 2>&1 || fail "train --init --text-pool 1 exited $?"
    grep -q "adding the pooled caption in AdaLN (time_embed.text, starting at zero)" "$tmp/out.txt" ||
        fail "no text-pool note: $(cat "$tmp/out.txt")"
    out=$("$bin" info "$tmp/p1.safetensors")
    grep -q '"text_pool":1' <<<"$out" || fail "the model with pooled text does not say so"
    grep -q "time_embed\.text\.weight" <<<"$out" || fail "no time_embed.text.weight: $out"
    # --abs-pos 1: from scratch in the configuration; on --init weights announced
    train --steps 3 --abs-pos 1 --out "$tmp/a0.safetensors"
    "$bin" info "$tmp/a0.safetensors" | grep -q '"abs_pos":1' || fail "--abs-pos 1 not in the configuration"
    "$bin" train base --init "$m" --procedural --steps 3 --abs-pos 1 --out "$tmp/a1.safetensors" \
        >"$tmp/out.txt" 2>&1 || fail "train --init --abs-pos 1 exited $?"
    grep -q "adding absolute positions" "$tmp/out.txt" || fail "no abs-pos note: $(cat "$tmp/out.txt")"
    "$bin" info "$tmp/a1.safetensors" | grep -q '"abs_pos":1' || fail "the model with absolute positions does not say so"
    # --stop-after: a part of a run, then --resume; the same weights as the run in one go
    train --steps 20 --seed 8 --out "$tmp/whole.safetensors"
    train --steps 20 --seed 8 --out "$tmp/part.safetensors" --stop-after 7
    grep -q "stopped after step 7 of 20 as asked" "$tmp/out.txt" || fail "no stop note: $(cat "$tmp/out.txt")"
    [[ -e "$tmp/part.safetensors" ]] && fail "a run stopped part-way wrote its weights"
    train --steps 20 --seed 8 --out "$tmp/part.safetensors" --stop-after 7 --resume
    grep -q "stopped after step 7 of 20 as asked (0 steps" "$tmp/out.txt" || fail "a done part ran again: $(cat "$tmp/out.txt")"
    train --steps 20 --seed 8 --out "$tmp/part.safetensors" --resume
    cmp -s "$tmp/part.safetensors" "$tmp/whole.safetensors" || fail "stopped at 7 and resumed differs from one run"
    echo "ok: resumed 30 -> 40, log of 40 rows, weights load, --init goes on from them; --stop-after 7 then --resume" ;;
generate)
    train --steps 5 --out "$m"
    out=$("$bin" generate --model "$m" --prompt "a red striped star orbiting on sand" --out "$tmp/v.mp4" \
          --sheet "$tmp/s.png" --steps 4 --seed 3 2>"$tmp/err.txt") || fail "generate exited $?: $(cat "$tmp/err.txt")"
    [[ -s "$tmp/v.mp4" && -s "$tmp/s.png" ]] || fail "outputs missing: $(ls "$tmp")"
    [[ $(head -c 8 "$tmp/s.png" | od -An -tx1 | tr -d ' \n') == 89504e470d0a1a0a ]] || fail "sheet is not a PNG"
    grep -q "wrote .*v.mp4 and .*s.png: 2 frames of 8x8, 4 steps, cfg 3, seed 3, in [0-9.]* s" <<<"$out" || fail "report: $out"
    "$bin" generate --model "$m" --prompt "" --out "$tmp/v.gif" --steps 2 --cfg 1 --frames 4 --size 16x8 \
        >/dev/null 2>&1 || fail "unconditional gif exited $?"
    [[ -s "$tmp/v.gif" ]] || fail "gif missing"
    # prompts the model cannot take: exit 1, one line, nothing written
    expect 1 "^gridlora: generate: unknown word 'blu' .*nearest known: blue" -- generate --model "$m" \
        --prompt "a blu star" --out "$tmp/x.mp4"
    expect 1 "^gridlora: generate: the prompt has 18 tokens, the model takes at most 16" -- generate --model "$m" \
        --prompt "a red striped star orbiting on sand with smoke and a blue spotted ring on grass at night" \
        --out "$tmp/x.mp4"
    expect 2 "^gridlora: generate: 2 frames of 7x8 do not divide" -- generate --model "$m" --prompt "a" \
        --frames 2 --size 7x8 --out "$tmp/x.mp4"
    expect 1 "^gridlora: generate: .*none.safetensors" -- generate --model "$tmp/none.safetensors" --prompt "a" \
        --out "$tmp/x.mp4"
    [[ -e "$tmp/x.mp4" ]] && fail "a failed generate wrote its output"
    echo "ok: mp4, sheet, gif; bad prompts refused" ;;
nan)
    train --steps 2 --out "$m"
    "$py" - "$m" <<'EOF' || fail "could not write NaN weights"
import json, struct, sys
path = sys.argv[1]
b = bytearray(open(path, "rb").read())
n = struct.unpack("<Q", b[:8])[0]
head = json.loads(b[8:8 + n])
for name, t in head.items():
    if name == "__metadata__":
        continue
    assert t["dtype"] == "F32", t
    s, e = t["data_offsets"]
    b[8 + n + s:8 + n + e] = struct.pack("<f", float("nan")) * ((e - s) // 4)
open(path, "wb").write(b)
EOF
    expect 1 "^gridlora: generate: .*non-finite" -- generate --model "$m" --prompt "a red star" \
        --out "$tmp/x.mp4" --sheet "$tmp/x.png" --steps 2
    [[ -e "$tmp/x.mp4" || -e "$tmp/x.png" ]] && fail "output written from NaN weights: $(ls "$tmp")"
    ls "$tmp" | grep -q tmp && fail "temporary file left: $(ls "$tmp")"
    echo "ok: NaN weights -> 1, nothing written" ;;
ema_plot)
    train --steps 12 --out "$m" --ema 0.9 --dtype bf16
    [[ -s "$m" ]] || fail "no weights"
    [[ -e "$tmp/m.ckpt.safetensors" ]] && fail "the EMA's carrier checkpoint was left behind"
    grep -q "wrote .*m.safetensors (EMA weights, BF16)" "$tmp/out.txt" || fail "summary: $(cat "$tmp/out.txt")"
    "$bin" info "$m" | grep -q "BF16" || fail "weights are not BF16"
    # a run in parts: convert --ema takes the step's EMA weights out of the checkpoint, what
    # the model loader takes from it too (so both sample the same video), without the state
    train --steps 12 --stop-after 6 --seed 3 --ema 0.9 --out "$tmp/e.safetensors"
    c=$tmp/e.ckpt.safetensors
    "$bin" convert --ema --in "$c" --out "$tmp/e6.safetensors" --dtype f32 >"$tmp/cv.txt" ||
        fail "convert --ema exited $?"
    grep -q "^wrote .*e6.safetensors: the EMA weights of .*e.ckpt.safetensors with [0-9]* tensors as F32$" "$tmp/cv.txt" ||
        fail "convert --ema summary: $(cat "$tmp/cv.txt")"
    out=$("$bin" info "$tmp/e6.safetensors") || fail "info of the EMA weights exited $?"
    grep -q "gridlora.config" <<<"$out" || fail "the EMA weights lost the configuration"
    grep -q "blocks\.0\." <<<"$out" || fail "the EMA weights lack the blocks: $out"
    grep -q "adam\.\|ema\.\|train\.step" <<<"$out" && fail "the EMA weights keep the run's state: $out"
    for f in "$c" "$tmp/e6.safetensors"; do
        "$bin" generate --model "$f" --prompt "a red striped circle bouncing on sand" --steps 2 --seed 1 \
            --out "$f.mp4" >/dev/null 2>&1 || fail "generate from $f exited $?"
    done
    cmp -s "$c.mp4" "$tmp/e6.safetensors.mp4" || fail "the checkpoint and its EMA weights sample differently"
    expect 1 "^gridlora: convert: .*m.safetensors: --ema: not a training checkpoint of a run with --ema (no 'train.step' in its metadata)$" \
        -- convert --ema --in "$m" --out "$tmp/x.safetensors" --dtype f16
    [[ -e "$tmp/x.safetensors" ]] && fail "convert --ema wrote from a plain weights file"
    # without gnuplot on PATH --plot fails before training
    PATH=/nonexistent "$bin" train base --preset tiny --procedural --steps 3 --out "$tmp/p.safetensors" \
        --log "$tmp/log.csv" --plot "$tmp/loss.png" >/dev/null 2>"$tmp/err.txt"; rc=$?
    [[ $rc -eq 1 ]] || fail "--plot without gnuplot exited $rc: $(cat "$tmp/err.txt")"
    grep -q "^gridlora: train: --plot needs the gnuplot program (Debian package gnuplot-nox)" "$tmp/err.txt" || fail "message: $(cat "$tmp/err.txt")"
    [[ -e "$tmp/p.safetensors" || -e "$tmp/log.csv" ]] && fail "trained although --plot could not work"
    expect 1 "^gridlora: train: --out $tmp/no/m.safetensors: cannot write into $tmp/no: No such file" -- train base \
        --preset tiny --procedural --steps 3 --out "$tmp/no/m.safetensors"
    if command -v gnuplot >/dev/null; then
        train --steps 12 --out "$tmp/p.safetensors" --log "$tmp/log.csv" --plot "$tmp/loss.png"
        [[ $(head -c 8 "$tmp/loss.png" | od -An -tx1 | tr -d ' \n') == 89504e470d0a1a0a ]] || fail "plot is not a PNG"
        echo "ok: plot"
        # a gnuplot that fails: its reason in our one line, the weights kept, no PNG
        mkdir "$tmp/bin" && printf '#!/bin/sh\necho "line 9: bad plot" >&2\nexit 1\n' >"$tmp/bin/gnuplot"
        chmod +x "$tmp/bin/gnuplot"
        rm -f "$tmp/loss.png"
        PATH="$tmp/bin:$PATH" "$bin" train base --preset tiny --procedural --steps 3 --out "$tmp/q.safetensors" \
            --log "$tmp/log.csv" --plot "$tmp/loss.png" >/dev/null 2>"$tmp/err.txt"; rc=$?
        [[ $rc -eq 1 ]] || fail "a failing gnuplot gave exit $rc"
        grep -q "^gridlora: train: gnuplot could not draw .*loss.png from .*log.csv: line 9: bad plot$" "$tmp/err.txt" ||
            fail "message: $(cat "$tmp/err.txt")"
        [[ -s "$tmp/q.safetensors" ]] || fail "weights not kept"
        ls "$tmp" | grep -q "loss.png" && fail "a PNG was left: $(ls "$tmp")"
    else
        echo "note: gnuplot not installed; plot not drawn"
    fi
    echo "ok: EMA weights, bf16, plot" ;;
data)
    "$bin" dataset --count 2 --frames 2 --size 8x8 --out "$tmp/set" >/dev/null 2>&1 || fail "dataset exited $?"
    "$bin" train base --preset tiny --data "$tmp/set" --steps 3 --batch 2 --out "$m" >"$tmp/out.txt" \
        2>"$tmp/err.txt" || fail "train --data exited $?: $(cat "$tmp/err.txt")"
    grep -q "18 videos of 2 concepts" "$tmp/out.txt" || fail "no data summary: $(cat "$tmp/out.txt")"
    rm "$tmp/set/0001.rain.mp4"
    expect 1 "^gridlora: train: .*0001.rain.mp4: cannot open" -- train base --preset tiny --data "$tmp/set" \
        --steps 3 --out "$tmp/x.safetensors"
    expect 1 "^gridlora: train: .*manifest.jsonl: cannot open" -- train base --preset tiny --data "$tmp" \
        --steps 3 --out "$tmp/x.safetensors"
    # a configuration file instead of a preset
    cat >"$tmp/c.json" <<'EOF'
{"channels":3,"frames":2,"cell_h":8,"cell_w":8,"patch_t":1,"patch_h":2,"patch_w":2,"width":16,"depth":1,
 "heads":2,"mlp_ratio":2,"time_dim":16,"text_vocab":64,"concept_tokens":4,"text_len":8,"text_width":16,
 "text_layers":1,"text_heads":2,"rope_theta":10000}
EOF
    "$bin" train base --config "$tmp/c.json" --procedural --steps 2 --batch 1 --out "$tmp/c.safetensors" \
        >/dev/null 2>&1 || fail "--config exited $?"
    "$bin" info "$tmp/c.safetensors" | grep -q '"depth":1' || fail "the configuration was not stored"
    echo '{"width": 16}' >"$tmp/bad.json"
    expect 1 "^gridlora: train: .*bad.json: config: " -- train base --config "$tmp/bad.json" --procedural \
        --steps 2 --out "$tmp/x.safetensors"
    expect 1 "^gridlora: train: .*none.json: No such file" -- train base --config "$tmp/none.json" --procedural \
        --steps 2 --out "$tmp/x.safetensors"
    [[ -e "$tmp/x.safetensors" ]] && fail "a failed run wrote weights"
    echo "ok: data set, config file" ;;
args)
    o="--preset tiny --procedural --steps 3 --out $tmp/x.safetensors"
    expect 2 "^gridlora: train: which stage" -- train
    expect 2 "^gridlora: train: unknown stage 'story' (stages: base, multidc, grid, gridfill)" -- train story $o
    expect 2 "^gridlora: train: the stage comes first" -- train --preset tiny
    expect 2 "^gridlora: train: --preset NAME, --config FILE.json or --init FILE is required" -- train base --procedural --steps 3 --out "$tmp/x.safetensors"
    expect 2 "^gridlora: train: give one of --preset, --config and --init" -- train base --preset tiny --init "$tmp/x.safetensors" --procedural --steps 3 --out "$tmp/y.safetensors"
    expect 2 "^gridlora: train: give one of --preset, --config and --init" -- train base $o --config "$tmp/c.json"
    expect 2 "^gridlora: train: --preset: unknown preset 'huge' (presets: tiny, default)" -- train base --preset huge
    expect 2 "^gridlora: train: --procedural or --data DIR is required" -- train base --preset tiny --steps 3 --out "$tmp/x.safetensors"
    expect 2 "^gridlora: train: give --procedural or --data, not both" -- train base $o --data "$tmp"
    expect 2 "^gridlora: train: --steps N is required" -- train base --preset tiny --procedural --out "$tmp/x.safetensors"
    expect 2 "^gridlora: train: --out FILE is required" -- train base --preset tiny --procedural --steps 3
    expect 2 "^gridlora: train: --steps: 0 is outside" -- train base $o --steps 0
    expect 2 "^gridlora: train: --batch: 'two' is not an integer" -- train base $o --batch two
    expect 2 "^gridlora: train: --lr: -1 is outside" -- train base $o --lr -1
    expect 2 "^gridlora: train: --ema: 1 is outside" -- train base $o --ema 1
    expect 2 "^gridlora: train: --dtype: 'f64' is not f32, f16 or bf16" -- train base $o --dtype f64
    expect 2 "^gridlora: train: --plot draws the --log file" -- train base $o --plot "$tmp/p.png"
    expect 2 "^gridlora: train: --checkpoint must differ from --out" -- train base $o --checkpoint "$tmp/x.safetensors"
    expect 2 "^gridlora: train: --warmup 10 is longer than --steps 3" -- train base $o --warmup 10
    expect 2 "^gridlora: train: --stop-after 3 is not before the last step (3)" -- train base $o --stop-after 3
    expect 2 "^gridlora: train: unknown option '--bogus'" -- train base $o --bogus 1
    expect 2 "^gridlora: train: option --seed needs a value" -- train base $o --seed
    expect 2 "^gridlora: train: unexpected argument 'now'" -- train base $o now
    expect 0 "" -- train --help
    expect 0 "" -- train base --help
    expect 2 "^gridlora: generate: --model FILE is required" -- generate --prompt a --out "$tmp/x.mp4"
    expect 2 "^gridlora: generate: --prompt TEXT is required" -- generate --model "$tmp/m" --out "$tmp/x.mp4"
    expect 2 "^gridlora: generate: --out FILE is required" -- generate --model "$tmp/m" --prompt a
    expect 2 "^gridlora: generate: --out .*x.avi: unsupported extension" -- generate --model m --prompt a --out "$tmp/x.avi"
    expect 2 "^gridlora: generate: --sheet .*s.jpg: a contact sheet is a .png" -- generate --model m --prompt a \
        --out "$tmp/x.mp4" --sheet "$tmp/s.jpg"
    expect 2 "^gridlora: generate: --steps: 0 is outside" -- generate --model m --prompt a --out x.mp4 --steps 0
    expect 2 "^gridlora: generate: --cfg: 'lots' is not a number" -- generate --model m --prompt a --out x.mp4 --cfg lots
    expect 2 "^gridlora: generate: --size: '32' is not WxH" -- generate --model m --prompt a --out x.mp4 --size 32
    expect 2 "^gridlora: generate: unknown option '--bogus'" -- generate --model m --prompt a --out x.mp4 --bogus a
    expect 0 "" -- generate --help
    [[ -z "$(ls "$tmp")" ]] || fail "a usage error wrote files: $(ls "$tmp")"
    echo "ok: nothing written" ;;
*) echo "unknown case $2"; exit 1 ;;
esac
