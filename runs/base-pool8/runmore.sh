#!/bin/bash
# Issue 5 curriculum, the pool's later parts: NAME trains STEPS more steps of the pool from
# FROM's EMA weights (F16), seed SEED. As run:
#   NAME=A2 FROM=A  STEPS=8000 SEED=43 bash runmore.sh   (A drew no outlines at 12000)
#   NAME=A3 FROM=A2 STEPS=5000 SEED=44 bash runmore.sh
#   NAME=A4 FROM=A3 STEPS=8000 SEED=45 T=1 bash runmore.sh   (beside a Grid-Fill arm)
# Resumable (--resume); a finished part's OUT is skipped.
set -e
cd /work/main
export GRIDLORA_PRECISION=bf16
unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE
D=work/cur B=$D/gridlora.bin
: "${NAME:?}" "${FROM:?}" "${STEPS:?}" "${SEED:?}"
if [ ! -f $D/$NAME.safetensors ]; then
  GRIDLORA_THREADS=${T:-2} $B train base --init $D/$FROM.f16.safetensors --procedural --upright --concept-pool 8 \
    --steps $STEPS --batch 8 --seed $SEED --lr 3e-4 --warmup 100 --ema 0.999 --t-mu 0.3 --log $D/$NAME.csv \
    --checkpoint-every 500 --resume --out $D/$NAME.safetensors
  echo $NAME trained $(date)
fi
[ -f $D/$NAME.f16.safetensors ] || $B convert --in $D/$NAME.safetensors --out $D/$NAME.f16.safetensors --dtype f16
echo done $(date)
