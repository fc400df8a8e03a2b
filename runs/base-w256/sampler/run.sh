#!/bin/bash
# Zero-shot's sampler on the shipped (width-256) model, sampling only: eval --no-ttft at
# other Euler step counts and timestep shifts than the grid apps' 10 at 8 (the width-192
# model's optimum, models/default/TRAINING.md "Sampling steps and shift, on the fourteenth
# run"). bf16, two threads; each arm N@H writes runs/base-w256/sampler/zNsH-sS.json.
# A training run beside it (its gridlora PID in RUN) is paused meanwhile.
#   SEEDS="0 1" RUN=<pid> bash runs/base-w256/sampler/run.sh 8@8 12@8 10@6 10@11
set -e
cd /work/main
# the paused run goes on however this script ends (set -e stops it at a failed eval)
[ -z "$RUN" ] || { kill -STOP $RUN; trap 'kill -CONT $RUN' EXIT; }
export GRIDLORA_PRECISION=bf16 GRIDLORA_THREADS=2
D=runs/base-w256/sampler
for arm in "$@"; do
  n=${arm%@*}; h=${arm#*@}
  for S in ${SEEDS:-0}; do
    f=$D/z${n}s${h}-s$S.json
    [ -f $f ] || { env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE build/gridlora eval --no-ttft --heldout 8 \
      --seed $S --json --zeroshot-steps $n --shift $h > $f.tmp && mv $f.tmp $f; }
  done
done
echo done $(date)
