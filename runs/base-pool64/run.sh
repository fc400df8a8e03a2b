#!/bin/bash
# Issue 5 curriculum, a larger pool from scratch: 64 concepts each in every shape, so that
# the captions of a shape differ in colour, pattern, motion and background far more than
# the pool of 8's (runs/base-pool8, whose outlines stayed with its own eight captions).
# 30000 steps planned (the cosine schedule's length), resumable across sessions from its
# checkpoint (--resume); started 2026-12-06 21:35 UTC, a build of 8893fb0 in
# work/p64/gridlora.bin, two threads. As run:  T=2 nohup bash runs/base-pool64/run.sh > work/p64/run.log 2>&1 &
set -e
cd /work/main
export GRIDLORA_PRECISION=bf16
unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE
D=work/p64 B=work/p64/gridlora.bin
if [ ! -f $D/P64.safetensors ]; then
  GRIDLORA_THREADS=${T:-2} $B train base --preset default --procedural --upright --concept-pool 64 --steps 30000 \
    --batch 8 --seed 47 --lr 5e-4 --warmup 200 --ema 0.999 --t-mu 0.3 --log $D/P64.csv --checkpoint-every 500 \
    --resume --out $D/P64.safetensors
  echo P64 trained $(date)
fi
[ -f $D/P64.f16.safetensors ] || $B convert --in $D/P64.safetensors --out $D/P64.f16.safetensors --dtype f16
echo done $(date)
