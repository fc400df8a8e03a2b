#!/usr/bin/env bash
# The seventh Grid-Fill run: the shipped adapter (the sixth run's, commit 505cc01) trained
# on (`train gridfill --init`) as TRAINING.md stage 5 "The fifth and sixth runs": 12000 steps,
# seed 7; then F16 and `eval --no-ttft` on held-out seeds 0 and 1. Resumable (--resume).
# Usage: chain.sh INIT, INIT the adapter it started from (the shipped gridfill.safetensors
# of 505cc01: `git show 505cc01:models/default/gridfill.safetensors > init.safetensors`
# once the shipped file has moved on).
set -u
cd /work/main
INIT=$1
export GRIDLORA_THREADS=2
unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE
B=models/default
W=work/pc/work
D=runs/gridfill-cont7
GRIDLORA_PRECISION=bf16 build/gridlora train gridfill --base $B/base.safetensors --grid-lora $B/grid.safetensors \
  --data $W/grids-edit --data $W/grids-compose --data $W/grids-character --init "$INIT" \
  --steps 12000 --batch 2 --lr 5e-4 --seed 7 --ema 0.999 --t-mu 1 --checkpoint-every 250 --resume \
  --log $D/gf.csv --out $D/gf.safetensors >> $D/gf.out 2>&1 || exit 1
build/gridlora convert --in $D/gf.safetensors --out $D/gf.f16.safetensors --dtype f16
for s in 0 1; do
  build/gridlora eval --heldout 8 --seed $s --json --no-ttft --model $B/base.safetensors \
    --lora $B/grid.safetensors --lora $D/gf.f16.safetensors > $D/eval$s.json 2> $D/eval$s.err
done
touch $D/chain.done
