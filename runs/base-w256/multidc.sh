#!/bin/bash
# Stage 2 on the larger base, as scripts/train-default.sh trains the shipped one (the same
# 32-concept set, dataset --count 32 --seed 11, and the same command), so that a model
# built on this base has every stage of the shipped pipeline. The grid stages do not use
# it (their canvases are the renderer's: the script's GRID_CELLS=render). Resumable.
#   T=2 nohup bash runs/base-w256/multidc.sh >> work/w256/multidc.log 2>&1 &
set -e
cd /work/main
export GRIDLORA_PRECISION=bf16 GRIDLORA_THREADS=${T:-2}
unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE
D=work/w256 B=${B:-work/w256/gridlora.bin} R=runs/base-w256
BASE=${BASE:-$D/W.f16.safetensors} C=$D/concepts
[ -f $BASE ] || { git show 10b639e:$R/W.f16.safetensors > $BASE.tmp && mv $BASE.tmp $BASE; }
[ -f $C/manifest.jsonl ] || { rm -rf $C; $B dataset --count 32 --seed 11 --out $C > /dev/null; }
if [ ! -f $D/multidc.f16.safetensors ]; then
  $B train multidc --base $BASE --data $C --set-steps 6000 --seq-steps 1500 --batch 4 --token-only 0.5 \
    --lr 3e-3 --token-vectors 8 --out $D/multidc.safetensors --log $D/multidc.csv --checkpoint-every 250 --resume
  $B convert --in $D/multidc.safetensors --out $D/multidc.f16.safetensors --dtype f16
fi
[ -f $D/multidc.eval.txt ] || { $B eval --multidc $D/multidc.f16.safetensors --data $C --model $BASE \
  > $D/multidc.eval.txt.tmp && mv $D/multidc.eval.txt.tmp $D/multidc.eval.txt; }
echo done $(date)
