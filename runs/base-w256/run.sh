#!/bin/bash
# Issues 5 and 7, the lever every smaller try left: a larger base. The shipped base's
# architecture (models/default/base.safetensors' metadata) at width 256 and depth 8
# (scripts/default-config.json; 12.52 M parameters against 5.68 M), trained from scratch on the domain
# as the shipped base's run 4 was (upright subjects, no subject weight), one cosine
# schedule resumed across sessions from its checkpoint (--resume): planned at 48000 steps,
# shortened to 36000 at step 7000 (the schedule's length is not part of the checkpoint;
# the rate there moved from 0.956 to 0.920 of its peak). Started 2026-12-07 04:05 UTC, a
# build of 7ffdcdf copied to work/w256/gridlora.bin; README.md says which threads when.
#   nohup bash runs/base-w256/run.sh > work/w256/run.log 2>&1 &
set -e
cd /work/main
export GRIDLORA_PRECISION=bf16
unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE
D=work/w256 B=work/w256/gridlora.bin
if [ ! -f $D/W.safetensors ]; then
  GRIDLORA_THREADS=${T:-2} $B train base --config scripts/default-config.json --procedural --upright \
    --steps 36000 --batch 8 --seed 51 --lr 5e-4 --warmup 200 --ema 0.999 --t-mu 0.3 --log $D/W.csv \
    --checkpoint-every 500 --resume --out $D/W.safetensors
  echo W trained $(date)
fi
[ -f $D/W.f16.safetensors ] || $B convert --in $D/W.safetensors --out $D/W.f16.safetensors --dtype f16
echo done $(date)
