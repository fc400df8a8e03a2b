#!/bin/bash
# runs/token-alone/run.sh: issue 6's long token-alone arm (models/default/TRAINING.md,
# "The token alone"): the Multi-DC stage with --token-only 0.5 --lr 3e-3 and a Set stage
# of 20,000 steps, then its evaluation. Done (2026-12-03, over two sessions, a build of
# ef3eb81): beside this script are what it wrote, the F16 adapter, its evaluation
# (t50lrXL.eval.txt) and the logs (every 10th step kept); the checkpoints are not kept,
# so a new run starts from step 1 (--resume picks up its own checkpoints when stopped).
# Needs work/default/concepts (scripts/train-default.sh writes it). Run from the source
# tree: runs/token-alone/run.sh   (about 40 min on two idle cores at 37 samples/s; 1 h 22 min
# this time, with other work beside it)
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
