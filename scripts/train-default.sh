#!/usr/bin/env bash
# scripts/train-default.sh: trains the shipped model, models/default/, stage by stage
# (METHOD.md): base, multidc (Multi-DC LoRA on a concept set), grids (2x2 grid data),
# grid (Grid LoRA), gridfill (Grid-Fill LoRA). Each stage checkpoints and resumes, so a
# stage killed at the end of a session goes on where it stood when the script runs again;
# a stage whose output is in the models directory is done and skipped. After each stage
# its record (command, steps x batch, training wall time, final loss, commit) is written
# into TRAINING.md there, between the records markers. Every file under models/ is F16.
#
#   scripts/train-default.sh [--tiny] [--models DIR] [--work DIR] [--bin FILE] [STAGE ...]
#
#   STAGE     base, multidc, grids, grid, gridfill (default: every unfinished stage in
#             order); a named stage that is done (output and record there) is skipped,
#             but a named grids stage makes the grid sets this work directory lacks (a
#             fresh clone's), leaving the committed records as they are
#   --tiny    the same stages at the tiny preset with a few steps each: to check this
#             script end to end in seconds (tests/test_train_default.sh does)
#   --models  where the finished stages go (default models/default)
#   --work    data sets, checkpoints and logs (default work/default; not committed)
#   --bin     the gridlora binary (default build/gridlora)
#
# Run a long stage in the background and look at its log:
#   nohup scripts/train-default.sh multidc > work/multidc.out 2>&1 &
# Threads: GRIDLORA_THREADS (default 1 here; the committed stages were trained with 2,
# GRIDLORA_PRECISION=bf16: results depend on both). The OpenBLAS guard variables are
# unset, as users' machines have them.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
models=$root/models/default
work=$root/work/default
bin=$root/build/gridlora
tiny=0
stages=()
named=0
while [[ $# -gt 0 ]]; do
  case $1 in
    --tiny) tiny=1 ;;
    --models) models=$2; shift ;;
    --work) work=$2; shift ;;
    --bin) bin=$2; shift ;;
    -h|--help) sed -n '2,26p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    base|multidc|grids|grid|gridfill) stages+=("$1"); named=1 ;;
    *) echo "train-default.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
  esac
  shift
done
[[ ${#stages[@]} -gt 0 ]] || stages=(base multidc grids grid gridfill)
[[ -x $bin ]] || { echo "train-default.sh: $bin is not built (run make)" >&2; exit 1; }
mkdir -p "$models" "$work"
export GRIDLORA_THREADS=${GRIDLORA_THREADS:-1}
unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE

# ---- the stages' settings: what the committed weights were trained with ------------
# The Grid-Fill runs that let the adapter shift the self-attention's QK norm gains as well
# (include/gridlora/lora.h): the default targets and those. No spaces: it is one word of
# a run's options, which are split on spaces (and not globbed: set -f around them).
gain_targets="--targets blocks.*.attn.[qkvo],blocks.*.cross.[qkvo],blocks.*.mlp.fc[12],blocks.*.attn.norm_[qk]"
if [[ $tiny == 1 ]]; then
  base_arch=(--preset tiny)
  base_runs=("--steps 20 --batch 2 --seed 1 --lr 1e-3 --warmup 5 --ema 0.9"
             "--steps 10 --batch 2 --seed 2 --lr 5e-4 --warmup 2 --ema 0.9 --t-mu 0.5")
  base_precision=(f32 bf16)
  concepts=4; mdc_steps="--set-steps 6 --seq-steps 6 --batch 2"
  grid_concepts=6; grid_count=4; grid_sampling="--steps 2"
  grid_steps="--steps 6 --batch 2"; fill_steps="--steps 6 --batch 2"; fill_more=("--steps 4 --batch 2 --lr 5e-4 --seed 2" "--steps 2 --batch 2 --lr 5e-4 --seed 3 $gain_targets --gain-lr-scale 10")
  every=5
else
  # The shipped model since 2026-12-07 night (models/default/TRAINING.md, "The model
  # shipped"; runs/base-w256/README.md has every run's threads, times and evaluations).
  # Base: the default preset's architecture at width 256 and depth 8 (scripts/default-
  # config.json, 12.5 M parameters): at equal Grid-Fill steps it beat the width-192 base on
  # every held-out edit, and its shape word is at chance all the same. One run from scratch,
  # upright subjects, no subject weight. As run, its cosine was planned at 48,000 steps and
  # shortened to 36,000 at step 7,000 (the schedule's length is not part of the checkpoint),
  # and steps 500-7000 ran on one thread: a replay of this command is that run's settings,
  # not its bits.
  base_arch=(--config "$root/scripts/default-config.json")
  base_runs=("--upright --steps 36000 --batch 8 --seed 51 --lr 5e-4 --warmup 200 --ema 0.999 --t-mu 0.3")
  base_precision=(bf16)
  concepts=32; mdc_steps="--set-steps 6000 --seq-steps 1500 --batch 4 --token-only 0.5 --lr 3e-3 --token-vectors 8"
  # The rendered grid sets draw on their own, larger concept set: the grid stages learn
  # to carry any input into the output cells, and 128 or 512 concepts instead of
  # Multi-DC's 32 lifted every held-out edit (TRAINING.md stage 5, "More concepts in the
  # grid data").
  grid_concepts=512; grid_count=512; grid_sampling="--steps 20 --cfg 3"
  # Grid-Fill at rank 32 from nothing for 8000 steps, then four runs of 16000 each from the
  # F16 weights the one before left (--init, a new warm-up and cosine, new draws), 72,000
  # steps in all, at the settings the width-192 chain arrived at over fifteen runs
  # (TRAINING.md stage 5, from "The first grid stages" up to "The fifteenth run"): timesteps
  # logit-normal(1, 1), the EMA shipped, the subject's pixels weighed 7 times on the edit
  # and compose canvases, the apps' own clean cells in every sample, offset noise 0.03 (0.06
  # on the edit canvases); the last two runs also let the adapter shift the self-attention's QK
  # norm gains, learning at ten times the rate (runs 4 and 5 of runs/base-w256/README.md).
  fill_settings="--batch 2 --ema 0.999 --t-mu 1 --subject-weight 6 --subject-weight character=0 --input-share 1 --offset-noise 0.03 --offset-noise edit=0.06"
  grid_steps="--steps 3000 --batch 2"; fill_steps="--steps 8000 --rank 32 --alpha 32 --seed 1 $fill_settings"
  fill_more=("--steps 16000 --lr 5e-4 --seed 2 $fill_settings"
             "--steps 16000 --lr 5e-4 --seed 3 $fill_settings"
             "--steps 16000 --lr 5e-4 --seed 4 $fill_settings $gain_targets --gain-lr-scale 10"
             "--steps 16000 --lr 5e-4 --seed 5 $fill_settings $gain_targets --gain-lr-scale 10")
  every=250
fi
concept_seed=11
# The layouts of the grid sets the Grid and Grid-Fill stages train on: each app needs its
# layout's canvases (character's new scenes and motions are nothing like edit's effects).
grid_layouts=(edit compose character)
# Where the grid canvases' cells come from. The paper samples them from its Multi-DC model
# (it has no ground truth): GRID_CELLS=multidc. The shipped model takes the renderer's
# exact truth instead: our Multi-DC samples come back at about 17 dB from their concepts'
# videos (models/default/multidc.eval.txt, the prompt with the adapter: blobs, not the
# concepts' shapes), so canvases sampled from them would teach the Grid LoRAs blobs.
grid_cells=${GRID_CELLS:-render}

commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)

# record STAGE WHAT STEPS WALL LOSS COMMAND: one row of TRAINING.md's records table,
# replacing the stage's previous row.
record() {
  local md=$models/TRAINING.md
  [[ -f $md ]] || printf '# %s: how each stage was trained\n' "$(basename "$models")" > "$md"
  grep -q '^<!-- records: begin' "$md" || cat >> "$md" <<'EOF'

## Records (written by scripts/train-default.sh)

<!-- records: begin (one row per stage; the script rewrites its own rows) -->
| stage | output | steps x batch | training wall time | final loss (mean of last 10 logged steps) | recorded at commit | command |
|---|---|---|---|---|---|---|
<!-- records: end -->
EOF
  python3 - "$md" "$@" <<'EOF'
import sys
md, stage, out, steps, wall, loss, commit, cmd = sys.argv[1:9]
row = f"| {stage} | {out} | {steps} | {wall} | {loss} | {commit} | `{cmd}` |"
lines = open(md).read().split("\n")
end = next(i for i, l in enumerate(lines) if l.startswith("<!-- records: end"))
lines = [l for i, l in enumerate(lines) if not (i < end and l.startswith(f"| {stage} |"))]
end = next(i for i, l in enumerate(lines) if l.startswith("<!-- records: end"))
lines.insert(end, row)
open(md + ".tmp", "w").write("\n".join(lines))
EOF
  mv "$md.tmp" "$md"
}

# summary LOG.csv...: "wall|final loss" from gridlora's training logs (step,loss,lr,
# grad_norm,seconds): the seconds summed over every row (resumed runs included), the loss
# the mean of the last 10 rows of the last log.
summary() {
  python3 - "$@" <<'EOF'
import csv, sys
wall, last = 0.0, []
for path in sys.argv[1:]:
    rows = list(csv.DictReader(open(path)))
    wall += sum(float(r["seconds"]) for r in rows)
    last = [float(r["loss"]) for r in rows[-10:]]
h, m, s = int(wall // 3600), int(wall % 3600 // 60), int(wall % 60)
print(f"{h} h {m:02d} min {s:02d} s|{sum(last) / len(last):.4f}" if last else f"{h} h {m:02d} min {s:02d} s|-")
EOF
}

say() { echo "train-default: $*" >&2; }

# base_arch (a preset or a config file: one word each, whatever the checkout's path) starts
# the first base run; each later run takes its architecture from the one before (--init).
stage_base() {
  local init=() n=${#base_runs[@]} logs=() i steps=0 arch=("${base_arch[@]}")
  for ((i = 0; i < n; i++)); do
    local out=$work/base$((i + 1)).safetensors f16=$work/base$((i + 1)).f16.safetensors
    local prec=${base_precision[$i]}
    # OUT appears (by rename) only when a run has finished: then it only needs converting
    if [[ ! -f $f16 && ! -f $out ]]; then
      say "base run $((i + 1))/$n: ${arch[*]} ${base_runs[$i]} (precision $prec)"
      # shellcheck disable=SC2086
      GRIDLORA_PRECISION=$prec "$bin" train base "${arch[@]}" "${init[@]}" --procedural ${base_runs[$i]} \
        --out "$out" --log "$work/base$((i + 1)).csv" --checkpoint-every $every --resume
    fi
    [[ -f $f16 ]] || "$bin" convert --in "$out" --out "$f16" --dtype f16 >/dev/null
    init=(--init "$f16") arch=()
    logs+=("$work/base$((i + 1)).csv")
    steps=$((steps + $(awk -F, 'END{print $1}' "$work/base$((i + 1)).csv")))
  done
  cp "$work/base$n.f16.safetensors" "$models/base.safetensors.tmp"
  mv "$models/base.safetensors.tmp" "$models/base.safetensors"
  "$bin" probe --model "$models/base.safetensors" > "$work/base.probe.txt"
  local s; s=$(summary "${logs[@]}")
  local runs; runs=$(printf ' ; %s' "${base_runs[@]}")
  runs=" ; ${base_arch[*]//$root\//} ${runs:3}" # the config's path as the repository names it
  record base base.safetensors "$steps steps in $n runs" "${s%%|*}" "${s##*|}" "$commit" \
    "train base --procedural, runs:${runs:2} (precision ${base_precision[*]})"
}

# concept_set [DIR COUNT]: a concept set made where missing; by default the Multi-DC
# stage's (and that of grid sets sampled from its adapter); rendered grid sets draw on
# their own, work/grid-concepts with $grid_concepts.
concept_set() {
  local dir=${1:-$work/concepts} count=${2:-$concepts}
  if [[ ! -f $dir/manifest.jsonl ]]; then
    rm -rf "$dir"
    "$bin" dataset --count "$count" --seed $concept_seed --out "$dir" >/dev/null
  fi
}

stage_multidc() {
  stage_done base || { say "multidc needs the base stage first"; exit 1; }
  concept_set
  local out=$work/multidc.safetensors
  # shellcheck disable=SC2086
  "$bin" train multidc --base "$models/base.safetensors" --data "$work/concepts" $mdc_steps \
    --out "$out" --log "$work/multidc.csv" --checkpoint-every $every --resume
  "$bin" convert --in "$out" --out "$models/multidc.safetensors" --dtype f16 >/dev/null
  # how well each concept comes back from its token (issue 6): kept beside the logs
  "$bin" eval --multidc "$models/multidc.safetensors" --data "$work/concepts" \
    --model "$models/base.safetensors" > "$work/multidc.eval.txt"
  local s; s=$(summary "$work/multidc.set.csv" "$work/multidc.seq.csv")
  local steps; steps=$(( $(awk -F, 'END{print $1}' "$work/multidc.set.csv") + $(awk -F, 'END{print $1}' "$work/multidc.seq.csv") ))
  record multidc multidc.safetensors "$steps ($mdc_steps)" "${s%%|*}" "${s##*|}" "$commit" \
    "dataset --count $concepts --seed $concept_seed; train multidc $mdc_steps"
}

stage_grids() {
  [[ $grid_cells == render ]] || stage_done multidc || { say "grids needs the multidc stage first"; exit 1; }
  local src=(--lora "$models/multidc.safetensors") cdir=$work/concepts ccount=$concepts
  if [[ $grid_cells == render ]]; then
    src=(--render); cdir=$work/grid-concepts; ccount=$grid_concepts
  fi
  concept_set "$cdir" "$ccount"
  local t0=$SECONDS layout
  for layout in "${grid_layouts[@]}"; do
    local gdir=$work/grids-$layout
    if ! grid_set_made "$layout"; then
      # a finished set from another source: start afresh (--resume would keep its canvases)
      [[ -f $gdir.done ]] && rm -rf "$gdir" "$gdir.done"
      # shellcheck disable=SC2086
      "$bin" grids --model "$models/base.safetensors" "${src[@]}" --data "$cdir" \
        --layout $layout --count $grid_count --seed 1 $grid_sampling --out "$gdir" --resume
      grid_set_stamp > "$gdir.done"
    fi
  done
  # sets made again for grid stages already trained keep the record of the first making
  recorded grid && return
  local wall=$((SECONDS - t0))
  local names; names=$(IFS=,; echo "${grid_layouts[*]}")
  record grids "(work/default/grids-{${names}})" "$grid_count canvases x ${#grid_layouts[@]} layouts" \
    "$((wall / 60)) min $((wall % 60)) s (this invocation)" "-" "$commit" \
    "dataset --count $ccount --seed $concept_seed; grids ${src[*]/$models\//} --layout ${names//,/, } --count $grid_count $grid_sampling"
}

# The grid sets the grid stages read, made again where this work directory lacks them (a
# fresh clone has the recorded stages but not work/); grid_data: their --data arguments.
# A set's .done file names where its cells came from, so that sets made from another
# source or concept set (the 32-concept sets before 2026-12-04 evening), or rendered sets
# without the subject coverage files (before 2026-12-05 night), are made again.
grid_set_stamp() {
  if [[ $grid_cells == render ]]; then echo "render with subject coverage, $grid_concepts concepts (seed $concept_seed)"
  else echo "multidc, $concepts concepts (seed $concept_seed)"; fi
}
grid_set_made() { [[ -f $work/grids-$1.done && $(cat "$work/grids-$1.done") == "$(grid_set_stamp)" ]]; }
grid_sets_made() {
  local layout
  for layout in "${grid_layouts[@]}"; do grid_set_made "$layout" || return 1; done
}
grid_sets() { grid_sets_made || stage_grids; }
grid_data=()
for layout in "${grid_layouts[@]}"; do grid_data+=(--data "$work/grids-$layout"); done
grid_data_names=$(printf ' --data grids-%s' "${grid_layouts[@]}")

stage_grid() {
  grid_sets
  local out=$work/grid.safetensors
  # shellcheck disable=SC2086
  "$bin" train grid --base "$models/base.safetensors" "${grid_data[@]}" $grid_steps \
    --out "$out" --log "$work/grid.csv" --checkpoint-every $every --resume
  "$bin" convert --in "$out" --out "$models/grid.safetensors" --dtype f16 >/dev/null
  local s; s=$(summary "$work/grid.csv")
  record grid grid.safetensors "$grid_steps" "${s%%|*}" "${s##*|}" "$commit" "train grid$grid_data_names $grid_steps"
}

stage_gridfill() {
  stage_done grid || { say "gridfill needs the grid stage first"; exit 1; }
  grid_sets
  local out=$work/gridfill.safetensors f16=$work/gridfill.f16.safetensors
  # shellcheck disable=SC2086
  "$bin" train gridfill --base "$models/base.safetensors" --grid-lora "$models/grid.safetensors" \
    "${grid_data[@]}" $fill_steps --out "$out" --log "$work/gridfill.csv" \
    --checkpoint-every $every --resume
  "$bin" convert --in "$out" --out "$f16" --dtype f16 >/dev/null
  # each further run starts from the F16 weights the one before left, as the shipped ones did
  local k=2 more logs=("$work/gridfill.csv")
  for more in "${fill_more[@]}"; do
    set -f # a run's --targets patterns are the trainer's, not file names
    # shellcheck disable=SC2086
    "$bin" train gridfill --base "$models/base.safetensors" --grid-lora "$models/grid.safetensors" \
      "${grid_data[@]}" --init "$f16" $more --out "$work/gridfill$k.safetensors" --log "$work/gridfill$k.csv" \
      --checkpoint-every $every --resume
    set +f
    f16=$work/gridfill$k.f16.safetensors
    "$bin" convert --in "$work/gridfill$k.safetensors" --out "$f16" --dtype f16 >/dev/null
    logs+=("$work/gridfill$k.csv")
    k=$((k + 1))
  done
  cp "$f16" "$models/gridfill.safetensors.tmp"
  mv "$models/gridfill.safetensors.tmp" "$models/gridfill.safetensors"
  local s; s=$(summary "${logs[@]}")
  local runs; runs=$(printf ' ; %s' "${fill_more[@]}")
  record gridfill gridfill.safetensors "$fill_steps; then --init: ${runs:3}" "${s%%|*}" "${s##*|}" "$commit" \
    "train gridfill$grid_data_names $fill_steps; then train gridfill --init (the run before's F16)$grid_data_names, runs: ${runs:3}"
}

# A stage is done when its output is in the models directory and its record row is in
# TRAINING.md (an output without a record is a stage in progress: base.safetensors was
# committed after each base run). The grid sets live in the work directory only.
recorded() { grep -q "^| $1 |" "$models/TRAINING.md" 2>/dev/null; }
stage_done() {
  case $1 in
    grids) recorded grid || grid_sets_made ;;
    *) [[ -f $models/$1.safetensors ]] && recorded "$1" ;;
  esac
}

for s in "${stages[@]}"; do
  if [[ $s == grids && $named == 1 ]] && ! grid_sets_made; then
    : # asked for by name: the sets this work directory lacks, whatever the records say
  elif stage_done "$s"; then
    say "$s: done"
    continue
  fi
  say "$s: starting (work in $work)"
  start=$SECONDS
  "stage_$s"
  say "$s: finished in $(( (SECONDS - start) / 60 )) min"
done
