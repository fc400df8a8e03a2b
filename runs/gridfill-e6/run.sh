#!/bin/bash
# arms from the thirteenth run (init = the shipped thirteenth, d4d61bf), 6000 steps, resumable:
#   a9: its settings with the subject weighed 9 times (SW=8), seed 18
#   e6: its settings (SW=6) with offset noise 0.06 on the edit canvases alone (XO="--offset-noise edit=0.06"), seed 19
set -e
cd /work/main
export GRIDLORA_PRECISION=bf16 GRIDLORA_THREADS=${T:-1}
unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE
W=work/pc D=${D:-work/a9}
# shellcheck disable=SC2086 # XO is a list of options
$D/gridlora.bin train gridfill --base models/default/base.safetensors --grid-lora models/default/grid.safetensors \
  --data $W/grids-edit --data $W/grids-compose --data $W/grids-character --init $D/init.f16.safetensors \
  --steps ${STEPS:-6000} --batch 2 --lr 5e-4 --seed ${SEED:-18} --ema 0.999 --t-mu 1 --subject-weight ${SW:-8} --subject-weight character=0 \
  --input-share 1 --offset-noise 0.03 ${XO:-} --checkpoint-every 250 --resume --log $D/gf.csv --out $D/gf.safetensors
$D/gridlora.bin convert --in $D/gf.safetensors --out $D/gf.f16.safetensors --dtype f16
echo trained $(date)
for S in 0 1; do
  $D/gridlora.bin eval --no-ttft --heldout 8 --seed $S --json --model models/default/base.safetensors \
    --lora models/default/grid.safetensors --lora $D/gf.f16.safetensors > $D/s$S.json 2> $D/eval$S.err
done
echo evaluated $(date)
