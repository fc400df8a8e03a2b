#!/usr/bin/env bash
# Arm: the shipped Grid-Fill adapter trained on (`train gridfill --init`): 12000 more steps
# under a new warm-up and cosine from peak 5e-4 (the first run's peak was 1e-3, its end
# 1e-4), seed 2 (new draws; fifth run: seed 5), EMA 0.999 from the init's weights, timesteps logit-normal(1, S).
# Usage: chain.sh INIT SIGMA. Resumable.
set -u
cd /work/main
INIT=$1 SIGMA=$2
export GRIDLORA_THREADS=2
unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE
B=models/default
W=work/pc/work
GRIDLORA_PRECISION=bf16 build/gridlora train gridfill --base $B/base.safetensors --grid-lora $B/grid.safetensors \
  --data $W/grids-edit --data $W/grids-compose --data $W/grids-character --init "$INIT" \
  --steps 12000 --batch 2 --lr 5e-4 --seed 5 --ema 0.999 --t-mu 1 --t-sigma "$SIGMA" --checkpoint-every 250 --resume \
  --log runs/gridfill-cont5/gf.csv --out runs/gridfill-cont5/gf.safetensors >> runs/gridfill-cont5/gf.out 2>&1 || exit 1
build/gridlora convert --in runs/gridfill-cont5/gf.safetensors --out runs/gridfill-cont5/gf.f16.safetensors --dtype f16
for s in 0 1; do
  build/gridlora eval --heldout 8 --seed $s --json --no-ttft --model $B/base.safetensors \
    --lora $B/grid.safetensors --lora runs/gridfill-cont5/gf.f16.safetensors > runs/gridfill-cont5/eval$s.json 2> runs/gridfill-cont5/eval$s.err
done
touch runs/gridfill-cont5/chain.done
