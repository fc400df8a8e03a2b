#!/bin/bash
# Issue 5 curriculum arm: a base from scratch that learns shape words on a pool of 8
# concepts first (each in every shape, every variant), then the full domain.
#   A: --concept-pool 8, 12000 steps; B: from A's EMA weights, fresh concepts, 8000 steps
# Resumable (each stage --resume; a finished stage's OUT is skipped).
set -e
cd /work/main
export GRIDLORA_PRECISION=bf16
unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE
D=work/cur B=$D/gridlora.bin
if [ ! -f $D/A.safetensors ]; then
  GRIDLORA_THREADS=${T:-2} $B train base --preset default --procedural --upright --concept-pool 8 --steps 12000 --batch 8 --seed 41 \
    --lr 5e-4 --warmup 200 --ema 0.999 --t-mu 0.3 --log $D/A.csv --checkpoint-every 500 --resume --out $D/A.safetensors
  echo A trained $(date)
fi
[ -f $D/A.f16.safetensors ] || $B convert --in $D/A.safetensors --out $D/A.f16.safetensors --dtype f16
if [ ! -f $D/B.safetensors ]; then
  GRIDLORA_THREADS=${TB:-2} $B train base --init $D/A.f16.safetensors --procedural --upright --steps 8000 --batch 8 --seed 42 \
    --lr 3e-4 --warmup 200 --ema 0.999 --t-mu 0.3 --log $D/B.csv --checkpoint-every 500 --resume --out $D/B.safetensors
  echo B trained $(date)
fi
[ -f $D/B.f16.safetensors ] || $B convert --in $D/B.safetensors --out $D/B.f16.safetensors --dtype f16
echo done $(date)
