#!/bin/bash
# Issue 5 curriculum, the widening: NAME trains STEPS steps from FROM's EMA weights (F16),
# seed SEED, each sample from the pool of 8 with probability SHARE, else a fresh concept
# of the train split in its own shape (--pool-share, a build of 641965f or later in
# work/cur/wide.bin). As run:
#   NAME=B1 FROM=A4 STEPS=8000 SEED=46 SHARE=0.5 T=1 bash runwide.sh   (beside a Grid-Fill arm)
# Resumable (--resume); a finished part's OUT is skipped.
set -e
cd /work/main
export GRIDLORA_PRECISION=bf16
unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE
D=work/cur B=work/cur/wide.bin
: "${NAME:?}" "${FROM:?}" "${STEPS:?}" "${SEED:?}" "${SHARE:?}"
if [ ! -f $D/$NAME.safetensors ]; then
  GRIDLORA_THREADS=${T:-2} $B train base --init $D/$FROM.f16.safetensors --procedural --upright --concept-pool 8 \
    --pool-share $SHARE --steps $STEPS --batch 8 --seed $SEED --lr 3e-4 --warmup 100 --ema 0.999 --t-mu 0.3 \
    --log $D/$NAME.csv --checkpoint-every 500 --resume --out $D/$NAME.safetensors
  echo $NAME trained $(date)
fi
[ -f $D/$NAME.f16.safetensors ] || $B convert --in $D/$NAME.safetensors --out $D/$NAME.f16.safetensors --dtype f16
echo done $(date)
