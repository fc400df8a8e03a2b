#!/usr/bin/env bash
# tests/test_cli_args.sh BIN: every subcommand, every kind of bad argument: one line on
# stderr starting 'gridlora:', exit 2 for usage and 1 for failures, nothing written.
set -u
bin=$1
tmp=$(mktemp -d /tmp/gl_args.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
export GRIDLORA_THREADS=1
fail() { echo "FAIL: $*"; exit 1; }
n=0
# expect CODE -- ARGS...: exit status CODE, exactly one stderr line, 'gridlora:' first,
# and no new file under $tmp/out
expect() {
    local code=$1; shift 2
    local before after err rc
    before=$(ls -A "$tmp/out" | sort)
    err=$("$bin" "$@" 2>&1 >/dev/null); rc=$?
    after=$(ls -A "$tmp/out" | sort)
    [[ $rc -eq $code ]] || fail "gridlora $* exited $rc, expected $code: $err"
    [[ $(printf '%s\n' "$err" | wc -l) -eq 1 ]] || fail "gridlora $*: stderr is not one line: $err"
    [[ "$err" == gridlora:* ]] || fail "gridlora $*: stderr does not start with 'gridlora:': $err"
    [[ "$before" == "$after" ]] || fail "gridlora $* wrote into the output directory: $after"
    n=$((n + 1))
}
mkdir -p "$tmp/out"
touch "$tmp/afile"
# a small model and a clip to have valid inputs beside the invalid ones
"$bin" train base --preset tiny --procedural --steps 3 --batch 1 --out "$tmp/m.safetensors" >/dev/null 2>&1 ||
    fail "making a tiny model failed"
"$bin" dataset --count 1 --out "$tmp/ds" >/dev/null 2>&1 || fail "making a data set failed"
"$bin" dataset --count 1 --frames 2 --size 8x8 --format png --out "$tmp/dspng" >/dev/null 2>&1 ||
    fail "making a data set of contact sheets failed"
clip="$tmp/ds/0000.mp4"
m="$tmp/m.safetensors"
o="$tmp/out"
nowhere="$tmp/no/such/dir"

# every command: an unknown option, and a missing value where options take one
for cmd in "dataset --count 1 --out $o/d" "prep --input $clip --out $o/x.mp4" "info $m" \
           "generate --model $m --prompt a --out $o/x.mp4" "selfcheck --steps 1" \
           "train base --preset tiny --procedural --steps 1 --out $o/x.safetensors" \
           "finetune --base $m --input $clip --token <v> --out $o/x.safetensors" \
           "lora merge --base $m --lora $m --out $o/x.safetensors" "probe --model $m" \
           "story --input $clip --shot a --out $o/s --model $m --lora $m" \
           "eval --heldout 1 --seed 0 --model $m --lora $m" \
           "convert --in $m --out $o/x.safetensors --dtype f16"; do
    read -r -a words <<<"$cmd"
    expect 2 -- "${words[@]}" --no-such-option
done
expect 2 -- frobnicate
expect 2 -- version extra
expect 2 -- demo extra
expect 2 -- dataset --count
expect 2 -- dataset --count 0 --out "$o/d"
expect 2 -- dataset --count 99999999999 --out "$o/d"
expect 2 -- dataset --count 1 --out "$o/d" --size 0x5
expect 1 -- dataset --count 1 --out "$tmp/afile"
expect 2 -- prep --input "$clip"
expect 2 -- prep --input "$clip" --out "$o/x.mp4" --size 99999x99999
expect 2 -- prep --input "$clip" --out "$o/x.mp4" --frames 0
expect 1 -- prep --input "$tmp/missing.mp4" --out "$o/x.mp4"
expect 1 -- prep --input "$tmp/afile" --out "$o/x.mp4"
expect 1 -- prep --input "$clip" --out "$nowhere/x.mp4"
expect 2 -- info
expect 1 -- info "$tmp/missing.safetensors"
expect 1 -- info "$tmp/afile"
expect 2 -- generate --model "$m" --prompt a
expect 1 -- generate --model "$tmp/missing.safetensors" --prompt a --out "$o/x.mp4"
expect 1 -- generate --model "$m" --prompt "a blu star" --out "$o/x.mp4"
expect 1 -- generate --model "$m" --prompt a --out "$nowhere/x.mp4"
expect 2 -- generate --model "$m" --prompt a --out "$o/x.mp4" --steps 0
expect 2 -- generate --model "$m" --prompt a --out "$o/x.xyz"
expect 1 -- generate --model "$m" --prompt a --out "$o/x.mp4" --lora "$tmp/missing.safetensors"
expect 1 -- generate --model "$m" --prompt a --out "$o/x.mp4" --lora "$m"
expect 2 -- generate --model "$m" --prompt a --out "$o/x.mp4" --cfg 1 --negative-prompt "a star"
expect 1 -- generate --model "$m" --prompt a --out "$o/x.mp4" --negative-prompt "a strr"
expect 2 -- train
expect 2 -- train nosuchstage
expect 2 -- train base --preset huge --procedural --steps 1 --out "$o/x.safetensors"
expect 2 -- train base --preset tiny --procedural --steps 0 --out "$o/x.safetensors"
expect 2 -- train base --preset tiny --procedural --steps 1 --subject-weight -1 --out "$o/x.safetensors"
expect 2 -- train base --preset tiny --data "$tmp" --steps 1 --subject-weight 2 --out "$o/x.safetensors"
expect 2 -- train base --preset tiny --procedural --steps 1 --predict eps --out "$o/x.safetensors"
expect 2 -- train base --preset tiny --procedural --steps 1 --text-pool 2 --out "$o/x.safetensors"
expect 2 -- train base --preset tiny --procedural --steps 1 --abs-pos yes --out "$o/x.safetensors"
expect 2 -- train base --preset tiny --data "$tmp" --steps 1 --upright --out "$o/x.safetensors"
expect 2 -- train base --preset tiny --procedural --steps 1 --subject-scale 2 --out "$o/x.safetensors"
expect 2 -- train base --preset tiny --data "$tmp" --steps 1 --subject-scale 1.2 --out "$o/x.safetensors"
expect 2 -- train base --preset tiny --procedural --steps 1 --concept-pool 0 --out "$o/x.safetensors"
expect 2 -- train base --preset tiny --data "$tmp" --steps 1 --concept-pool 8 --out "$o/x.safetensors"
expect 2 -- train base --preset tiny --procedural --steps 1 --pool-seed 3 --out "$o/x.safetensors"
expect 2 -- train base --preset tiny --procedural --steps 1 --pool-share 0.5 --out "$o/x.safetensors"
expect 2 -- train base --preset tiny --procedural --steps 1 --concept-pool 4 --pool-share 0 --out "$o/x.safetensors"
expect 2 -- train base --preset tiny --procedural --steps 1 --concept-pool 4 --pool-share 1.5 --out "$o/x.safetensors"
# a pool trains, says so, and is not the fresh-concept run
"$bin" train base --preset tiny --procedural --steps 2 --batch 2 --concept-pool 4 --pool-seed 7 \
    --out "$tmp/pool.safetensors" >"$tmp/pool.txt" 2>&1 || fail "train --concept-pool failed"
grep -q 'a pool of 4 concepts (seeds from 7) in every shape' "$tmp/pool.txt" || fail "train --concept-pool: no word of its pool"
"$bin" train base --preset tiny --procedural --steps 2 --batch 2 --concept-pool 4 --pool-seed 7 --pool-share 0.5 \
    --out "$tmp/share.safetensors" >"$tmp/share.txt" 2>&1 || fail "train --pool-share failed"
grep -q 'in every shape for 0.5 of the samples, fresh concepts the rest' "$tmp/share.txt" ||
    fail "train --pool-share: no word of its share"
cmp -s "$tmp/pool.safetensors" "$tmp/share.safetensors" && fail "train --pool-share 0.5 trained on the whole pool"
"$bin" train base --preset tiny --procedural --steps 2 --batch 2 --out "$tmp/fresh.safetensors" >/dev/null 2>&1 ||
    fail "train --procedural without a pool failed"
cmp -s "$tmp/pool.safetensors" "$tmp/fresh.safetensors" && fail "train --concept-pool trained on the fresh concepts"
expect 1 -- train base --preset tiny --procedural --steps 1 --out "$nowhere/x.safetensors"
expect 1 -- train base --preset tiny --data "$tmp/missing" --steps 1 --out "$o/x.safetensors"
# a .png data set holds contact sheets for viewing: refused, not trained on as squeezed pictures
expect 1 -- train base --preset tiny --data "$tmp/dspng" --steps 1 --out "$o/x.safetensors"
"$bin" train base --preset tiny --data "$tmp/dspng" --steps 1 --out "$o/x.safetensors" 2>&1 |
    grep -q '0000.png: a .png in a data set is a contact sheet' || fail "a .png data set: no reason given"
expect 1 -- train multidc --base "$tmp/missing.safetensors" --data "$tmp/ds" --out "$o/x.safetensors"
expect 1 -- finetune --base "$m" --input "$tmp/missing.mp4" --token "<v>" --out "$o/x.safetensors"
expect 1 -- finetune --base "$m" --input "$clip" --token "<v>" --out "$nowhere/x.safetensors"
expect 2 -- lora
expect 1 -- lora info "$tmp/missing.safetensors"
expect 1 -- lora info "$m"
expect 1 -- lora merge --base "$m" --lora "$m" --out "$o/x.safetensors"
expect 2 -- convert --in "$m" --out "$o/x.safetensors"
expect 2 -- convert --in "$m" --out "$o/x.safetensors" --dtype f8
expect 1 -- convert --in "$tmp/afile" --out "$o/x.safetensors" --dtype f16
expect 1 -- convert --in "$m" --out "$nowhere/x.safetensors" --dtype f16
expect 2 -- convert --in "$m" --out "$o/x.safetensors" --dtype f16 --rope-per-cell 2
expect 2 -- finetune --base "$m" --input "$clip" --token "<v>" --out "$o/x.safetensors" --lora-dropout 1
expect 2 -- finetune --base "$m" --input "$clip" --token "<v>" --out "$o/x.safetensors" --lora-dropout nan
expect 2 -- train multidc --base "$m" --data "$tmp/ds" --out "$o/x.safetensors" --lora-dropout -1
expect 2 -- train multidc --base "$m" --data "$tmp/ds" --out "$o/x.safetensors" --token-only 1.5
expect 2 -- train multidc --base "$m" --data "$tmp/ds" --out "$o/x.safetensors" --token-only
expect 2 -- train multidc --base "$m" --data "$tmp/ds" --out "$o/x.safetensors" --token-init mean
expect 2 -- train multidc --base "$m" --data "$tmp/ds" --out "$o/x.safetensors" --token-lr-scale 0
expect 2 -- train multidc --base "$m" --data "$tmp/ds" --out "$o/x.safetensors" --token-lr-scale -2
expect 2 -- finetune --base "$m" --input "$clip" --token "<v>" --out "$o/x.safetensors" --token-lr-scale inf
expect 2 -- train grid --base "$m" --data "$tmp/ds" --out "$o/x.safetensors" --lora-dropout
expect 2 -- train grid --base "$m" --data "$tmp/ds" --out "$o/x.safetensors" --subject-weight scene=2
expect 2 -- train grid --base "$m" --data "$tmp/ds" --out "$o/x.safetensors" --subject-weight edit=-1
expect 2 -- train grid --base "$m" --data "$tmp/ds" --out "$o/x.safetensors" --subject-weight =2
expect 2 -- train grid --base "$m" --data "$tmp/ds" --out "$o/x.safetensors" --subject-weight edit=
# --input-share: a share, and Grid-Fill's alone (the Grid LoRA noises every cell)
expect 2 -- train gridfill --base "$m" --grid-lora "$m" --data "$tmp/ds" --out "$o/x.safetensors" --input-share 1.5
expect 2 -- train gridfill --base "$m" --grid-lora "$m" --data "$tmp/ds" --out "$o/x.safetensors" --input-share nan
expect 2 -- train grid --base "$m" --data "$tmp/ds" --out "$o/x.safetensors" --input-share 0.9
expect 2 -- train grid --base "$m" --data "$tmp/ds" --out "$o/x.safetensors" --offset-noise 2
# --offset-noise LAYOUT=G: a known layout, a std in [0, 1]; LAYOUT= is the grid stages' alone
expect 2 -- train gridfill --base "$m" --grid-lora "$m" --data "$tmp/ds" --out "$o/x.safetensors" --offset-noise scene=0.1
expect 2 -- train gridfill --base "$m" --grid-lora "$m" --data "$tmp/ds" --out "$o/x.safetensors" --offset-noise edit=2
expect 2 -- train grid --base "$m" --data "$tmp/ds" --out "$o/x.safetensors" --offset-noise compose=
expect 2 -- train base --preset tiny --procedural --steps 1 --offset-noise edit=0.1 --out "$o/x.safetensors"
expect 2 -- train base --preset tiny --procedural --steps 1 --offset-noise -0.1 --out "$o/x.safetensors"
expect 2 -- train base --preset tiny --procedural --steps 1 --colour-weight -1 --out "$o/x.safetensors"
expect 2 -- train gridfill --base "$m" --grid-lora "$m" --data "$tmp/ds" --out "$o/x.safetensors" --colour-weight nan
# story: a small adapter to get past the loading
"$bin" finetune --base "$m" --input "$clip" --token "<v>" --out "$tmp/v.safetensors" --steps 1 --batch 1 \
    >/dev/null 2>&1 || fail "making an adapter failed"
st="--model $m --lora $tmp/v.safetensors --steps 1"
expect 2 -- story --input "$clip" --out "$o/s" $st
expect 2 -- story --shot a --out "$o/s" $st
expect 2 -- story --input "$clip" --shot a $st
(cd "$tmp" && expect 1 -- story --input "$clip" --shot a --out "$o/s" --lora "$tmp/v.safetensors") || exit 1 # no shipped base here
expect 2 -- story --input "$clip" --shot "" --out "$o/s" $st
expect 2 -- story --input "$clip" --shot a --shot "a <grid>" --out "$o/s" $st
expect 2 -- story --input "$clip" --shot a --out "$o/s" $st --caption "a <cell0>"
expect 2 -- story --input "$clip" --input "$clip" --shot a --out "$o/s" $st
expect 2 -- story --input "$clip" --shot a --out "$o/s" $st --steps 0
expect 2 -- story --input "$clip" --shot a --out "$o/s" $st --cfg x
expect 2 -- story --input "$clip" --shot a --out "$o/s" $st --context-cfg -1
expect 2 -- story --input "$clip" --shot a --out "$o/s" $st --strength nan
expect 2 -- story --input "$clip" --shot a --out "$o/s" $st extra
expect 2 -- story --input "$clip" --shot a --out "$o/s" $st --shot
expect 1 -- story --input "$tmp/missing.mp4" --shot a --out "$o/s" $st
expect 1 -- story --input "$tmp/afile" --shot a --out "$o/s" $st
expect 1 -- story --input "$clip" --shot "a blu star" --out "$o/s" $st
expect 1 -- story --input "$clip" --shot a --out "$o/s" --model "$tmp/missing.safetensors" --lora "$tmp/v.safetensors"
expect 1 -- story --input "$clip" --shot a --out "$o/s" --model "$m" --lora "$m"
expect 1 -- story --input "$clip" --shot a --out "$tmp/afile" $st
expect 1 -- story --input "$clip" --shot a --out "$tmp/afile/s" $st
expect 2 -- selfcheck --steps 0
expect 2 -- probe
expect 2 -- probe --model "$m" --concepts 0
expect 2 -- probe --model "$m" --captions 0
expect 2 -- probe --model "$m" --subject-scale 0
expect 2 -- probe --model "$m" --steps 0
expect 2 -- probe --model "$m" --cfg -1
expect 1 -- probe --model "$tmp/missing.safetensors"
expect 2 -- eval --seed 0
expect 2 -- eval --heldout 0 --seed 0
expect 2 -- eval --heldout 1 --seed 0 --no-ttft --ttft-steps 2
expect 1 -- eval --heldout 1 --seed 0 --model "$tmp/missing.safetensors" --lora "$m"
expect 1 -- eval --heldout 1 --seed 0 --model "$m" --lora "$tmp/missing.safetensors"
expect 1 -- eval --heldout 1 --seed 0 --model "$m" --lora "$m"
expect 1 -- eval --heldout 1 --seed 0 --model "$m" --lora "$m" --out "$tmp/afile/x"
# eval --multidc: the data set's options and the held-out mode's do not mix; the TTFT
# adapter carries no concept token; the model's shipped default is missing in $tmp
expect 2 -- eval --multidc "$m"
expect 2 -- eval --data "$tmp/ds" --heldout 1 --seed 0
expect 2 -- eval --multidc "$m" --data "$tmp/ds" --heldout 1
expect 2 -- eval --multidc "$m" --data "$tmp/ds" --lora "$m"
expect 2 -- eval --multidc "$m" --data "$tmp/ds" --context-cfg 2
expect 2 -- eval --heldout 1 --seed 0 --context-cfg nan
expect 2 -- eval --heldout 1 --seed 0 --strength 0
expect 2 -- eval --multidc "$m" --data "$tmp/ds" --strength 0.5
expect 2 -- eval --multidc "$m" --data "$tmp/ds" --steps 0
expect 2 -- eval --multidc "" --data "$tmp/ds"
expect 2 -- eval --multidc "$m" --data
expect 1 -- eval --multidc "$tmp/missing.safetensors" --data "$tmp/ds" --model "$m"
expect 1 -- eval --multidc "$m" --data "$tmp/ds" --model "$m"
expect 1 -- eval --multidc "$tmp/v.safetensors" --data "$tmp/ds" --model "$m"
expect 1 -- eval --multidc "$tmp/v.safetensors" --data "$tmp/missing" --model "$m"
expect 1 -- eval --multidc "$tmp/v.safetensors" --data "$tmp/ds" --model "$m" --out "$tmp/afile/x"
(cd "$tmp" && expect 1 -- eval --multidc "$tmp/v.safetensors" --data "$tmp/ds") || exit 1
# and convert writes F16 tensors that load and sample
"$bin" convert --in "$m" --out "$tmp/m16.safetensors" --dtype f16 >/dev/null || fail "convert to f16 failed"
"$bin" info "$tmp/m16.safetensors" | grep -q F16 || fail "convert --dtype f16 wrote no F16 tensor"
"$bin" generate --model "$tmp/m16.safetensors" --prompt a --steps 1 --out "$tmp/g16.png" >/dev/null ||
    fail "the F16 model does not sample"
# a negative prompt samples, and is not the empty one
"$bin" generate --model "$m" --prompt "a red star" --steps 2 --out "$tmp/gpos.mp4" >/dev/null || fail "generate failed"
"$bin" generate --model "$m" --prompt "a red star" --negative-prompt "a blue ring" --steps 2 --out "$tmp/gneg.mp4" \
    >/dev/null || fail "generate --negative-prompt failed"
cmp -s "$tmp/gpos.mp4" "$tmp/gneg.mp4" && fail "generate --negative-prompt sampled as without it"
# and an adapter converts too, still an adapter of the model
"$bin" convert --in "$tmp/v.safetensors" --out "$tmp/v16.safetensors" --dtype bf16 >/dev/null || fail "convert of an adapter failed"
"$bin" lora info "$tmp/v16.safetensors" >/dev/null || fail "the converted adapter is no adapter"
"$bin" info "$tmp/v16.safetensors" | grep -q BF16 || fail "convert --dtype bf16 wrote no BF16 tensor"
# --rope-per-cell rewrites the configuration of a model and of an adapter alike: the pair
# still loads together after both are set, and not when only one is
"$bin" convert --in "$m" --out "$tmp/m0.safetensors" --dtype f32 --rope-per-cell 0 >/dev/null || fail "convert --rope-per-cell failed"
"$bin" info "$tmp/m0.safetensors" | grep -q 'rope_per_cell\\\?":0' || fail "convert --rope-per-cell 0: $("$bin" info "$tmp/m0.safetensors" | grep rope)"
"$bin" generate --model "$tmp/m0.safetensors" --lora "$tmp/v.safetensors" --prompt a --steps 1 --out "$tmp/g0.png" \
    >/dev/null 2>&1 && fail "an adapter of another rope_per_cell loaded"
"$bin" convert --in "$tmp/v.safetensors" --out "$tmp/v0.safetensors" --dtype f32 --rope-per-cell 0 >/dev/null || fail "convert --rope-per-cell of an adapter failed"
"$bin" generate --model "$tmp/m0.safetensors" --lora "$tmp/v0.safetensors" --prompt a --steps 1 --out "$tmp/g0.png" \
    >/dev/null || fail "model and adapter with rope_per_cell 0 do not load together"
# and the probe itself runs: five noise levels
[[ $("$bin" probe --model "$m" --concepts 2 | grep -c '^ *0\.[0-9][0-9] ') -eq 5 ]] || fail "probe does not print 5 levels"
# the caption test: a row per concept and the means
[[ $("$bin" probe --model "$m" --concepts 1 --captions 2 | grep -c '^  .* a .* on ') -eq 2 ]] || fail "probe --captions: no rows"
"$bin" probe --model "$m" --concepts 1 --captions 2 | grep -q '^mean .*(2 concepts)' || fail "probe --captions: no means"
"$bin" probe --model "$m" --concepts 1 --captions 1 --steps 3 --cfg 1.5 | grep -q '^samples from captions (3 steps, guidance 1.5,' ||
    fail "probe --steps/--cfg not used"
# bigger subjects: the truth's own figures (area first) change
[[ $("$bin" probe --model "$m" --concepts 1 --captions 2 | grep '^mean') != \
   $("$bin" probe --model "$m" --concepts 1 --captions 2 --subject-scale 1.5 | grep '^mean') ]] ||
    fail "probe --subject-scale 1.5 measures the same truth as the domain's"
echo "ok: $n bad invocations, each one line, right status, nothing written"
