#!/bin/bash
# Issue 5 curriculum arm, part A2: A (pool 8, 12000 steps from scratch) drew no outlines,
# so the pool goes on 8000 steps more from A's EMA weights before any widening.
set -e
cd /work/main
export GRIDLORA_PRECISION=bf16
unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE
D=work/cur B=$D/gridlora.bin
if [ ! -f $D/A2.safetensors ]; then
  GRIDLORA_THREADS=${T:-2} $B train base --init $D/A.f16.safetensors --procedural --upright --concept-pool 8 --steps 8000 --batch 8 \
    --seed 43 --lr 3e-4 --warmup 100 --ema 0.999 --t-mu 0.3 --log $D/A2.csv --checkpoint-every 500 --resume --out $D/A2.safetensors
  echo A2 trained $(date)
fi
[ -f $D/A2.f16.safetensors ] || $B convert --in $D/A2.safetensors --out $D/A2.f16.safetensors --dtype f16
echo done $(date)
