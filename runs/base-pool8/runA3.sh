#!/bin/bash
# Issue 5 curriculum arm, part A3: 5000 more steps of the pool from A2's EMA weights.
set -e
cd /work/main
export GRIDLORA_PRECISION=bf16
unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE
D=work/cur B=$D/gridlora.bin
if [ ! -f $D/A3.safetensors ]; then
  GRIDLORA_THREADS=${T:-2} $B train base --init $D/A2.f16.safetensors --procedural --upright --concept-pool 8 --steps 5000 --batch 8 \
    --seed 44 --lr 3e-4 --warmup 100 --ema 0.999 --t-mu 0.3 --log $D/A3.csv --checkpoint-every 500 --resume --out $D/A3.safetensors
  echo A3 trained $(date)
fi
[ -f $D/A3.f16.safetensors ] || $B convert --in $D/A3.safetensors --out $D/A3.f16.safetensors --dtype f16
echo done $(date)
