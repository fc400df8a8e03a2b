#!/bin/bash
# runs/token-alone/run.sh: issue 6's long token-alone arm (models/default/TRAINING.md,
# "The token alone"): the Multi-DC stage with --token-only 0.5 --lr 3e-3 and a Set stage
# of 20,000 steps, then its evaluation. Resumable: the checkpoint committed beside this
# script (t50lrXL.set.ckpt.safetensors, step 750 of 20,000, 2026-12-03) is where the
# next run starts. Needs work/default/concepts (scripts/train-default.sh writes it).
# Run from the source tree: runs/token-alone/run.sh   (about 50 min on two idle cores)
# GRIDLORA_BIN names another binary (a copy, so that rebuilding build/ meanwhile cannot
# change the run halfway).
set -euo pipefail
cd "$(dirname "$0")/../.."
gl=${GRIDLORA_BIN:-build/gridlora}
d=runs/token-alone
export GRIDLORA_THREADS=${GRIDLORA_THREADS:-2} GRIDLORA_PRECISION=bf16
unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE
"$gl" train multidc --base models/default/base.safetensors --data work/default/concepts \
  --set-steps 20000 --seq-steps 1500 --batch 4 --lr 3e-3 --token-only 0.5 --out $d/t50lrXL.safetensors \
  --log $d/t50lrXL.csv --checkpoint-every 250 --resume
"$gl" convert --in $d/t50lrXL.safetensors --out $d/t50lrXL.f16.safetensors --dtype f16 >/dev/null
"$gl" eval --multidc $d/t50lrXL.f16.safetensors --data work/default/concepts \
  --model models/default/base.safetensors > $d/t50lrXL.eval.txt
