#!/usr/bin/env bash
# tests/test_train_default.sh SCRIPT BIN: scripts/train-default.sh --tiny into a scratch
# directory: every stage writes its output and its record row; a second invocation skips
# every stage; a named grids stage makes a missing grid set; a stage whose output is removed
# runs again from its checkpoint, remaking a grid set that was made from another concept set.
set -u
script=$1
bin=$2
tmp=$(mktemp -d /tmp/gl_train_default.XXXXXX) || exit 1
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
m=$tmp/models
w=$tmp/work
bash "$script" --tiny --bin "$bin" --models "$m" --work "$w" >"$tmp/log" 2>&1 || fail "first run: $(tail -5 "$tmp/log")"
for f in base multidc grid gridfill; do
    [[ -f $m/$f.safetensors ]] || fail "no $f.safetensors"
    grep -q "^| $f | $f.safetensors |" "$m/TRAINING.md" || fail "no record row for $f"
done
grep -q "^| grids |" "$m/TRAINING.md" || fail "no record row for grids"
# the last Grid-Fill run widens the adapter to the attention's QK gains (--init --targets)
"$bin" lora info "$m/gridfill.safetensors" | grep -q "^norm gains: [1-9]" ||
    fail "the Grid-Fill adapter shifts no norm gain: $("$bin" lora info "$m/gridfill.safetensors")"
# rendered grid sets draw on their own concept set, not on the Multi-DC stage's 4 concepts
[[ $(wc -l < "$w/grid-concepts/manifest.jsonl") -eq 6 ]] || fail "grid-concepts is not the 6-concept set"
grep -q "^| grids |.*dataset --count 6 " "$m/TRAINING.md" || fail "the grids record does not name its concept set"
/usr/bin/python3 - "$w/grids-edit/manifest.jsonl" <<'EOF' || fail "no edit canvas draws on a concept beyond the Multi-DC set's 4"
import json, sys
ids = {c["concept"] for l in open(sys.argv[1]) for c in json.loads(l)["cells"]}
sys.exit(0 if max(ids) >= 4 else 1)
EOF
for f in base multidc grid gridfill; do
    "$bin" info "$m/$f.safetensors" | grep -q F16 || fail "$f.safetensors is not stored as F16"
done
grep -q "token" "$w/multidc.eval.txt" || fail "no Multi-DC scores in multidc.eval.txt"
# every record has a loss figure that is a number (the grids row has none)
awk -F'|' '/^\| (base|multidc|grid|gridfill) \|/ { if ($6 !~ /^ [0-9]+\.[0-9]+ $/) exit 1 }' "$m/TRAINING.md" ||
    fail "a record lacks its final loss: $(grep '^| ' "$m/TRAINING.md")"
bash "$script" --tiny --bin "$bin" --models "$m" --work "$w" >"$tmp/log2" 2>&1 || fail "second run failed"
bash "$script" --tiny --bin "$bin" --models "$m" --work "$w" >"$tmp/log2" 2>&1 || fail "second run failed"
[[ $(grep -c ': done$' "$tmp/log2") -eq 5 ]] || fail "second run did not skip every stage: $(cat "$tmp/log2")"
# a work directory without the grid sets (a fresh clone's): the grids stage named makes
# them again, and leaves the records as they were
cp "$m/TRAINING.md" "$tmp/records"
rm -rf "$w/grids-compose" "$w/grids-compose.done"
bash "$script" --tiny --bin "$bin" --models "$m" --work "$w" grids >"$tmp/log2g" 2>&1 || fail "the grids run failed"
[[ -f $w/grids-compose/manifest.jsonl && -f $w/grids-compose.done ]] || fail "the named grids stage did not make the missing set: $(cat "$tmp/log2g")"
cmp -s "$m/TRAINING.md" "$tmp/records" || fail "making the grid sets again changed the records"
# the gridfill stage again: its checkpoint holds the last step, so it resumes and ends at once
sed -i '/^| gridfill |/d' "$m/TRAINING.md"
rm "$m/gridfill.safetensors"
# and its edit grid set marked as made from another concept set: made again, not trained on
cp "$w/grids-edit/manifest.jsonl" "$tmp/edit.manifest"
cp "$w/grids-edit/0000.mp4" "$tmp/edit0.mp4"
cp "$w/grids-edit/0001.mp4" "$w/grids-edit/0000.mp4" # what another set's canvas 0 would be
echo "render, 32 concepts (seed 11)" > "$w/grids-edit.done"
bash "$script" --tiny --bin "$bin" --models "$m" --work "$w" gridfill >"$tmp/log3" 2>&1 || fail "third run failed"
[[ $(cat "$w/grids-edit.done") == "render with subject coverage, 6 concepts (seed 11)" ]] || fail "the stale edit set was not made again: $(cat "$w/grids-edit.done")"
cmp -s "$w/grids-edit/manifest.jsonl" "$tmp/edit.manifest" || fail "the edit set made again differs from the first"
cmp -s "$w/grids-edit/0000.mp4" "$tmp/edit0.mp4" || fail "the edit set made again kept the stale canvas 0"
grep -q "resum" "$tmp/log3" || fail "gridfill did not resume from its checkpoint: $(cat "$tmp/log3")"
[[ $(grep -c "^| gridfill |" "$m/TRAINING.md") -eq 1 ]] || fail "gridfill's record is not one row"
echo "ok: train-default.sh --tiny: 5 stages, records, skips and a resume"
