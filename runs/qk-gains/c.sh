#!/bin/bash
# Run C: the fifteenth Grid-Fill adapter (shipped in 01fb7cf) trained 6000 steps more at
# its own settings (the gains already among its targets, at 10 times the rate), seed 31:
# do more steps with the gains keep gaining? Writes work/gain/c/.
set -e
cd /work/main
export GRIDLORA_PRECISION=bf16 GRIDLORA_THREADS=${T:-2}
unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE
D=work/gain/c B=${B:-work/gain/gridlora.bin} M=models/default G=work/default
mkdir -p $D
F15=work/gain/fifteenth.f16.safetensors
[ -f $F15 ] || { git show 01fb7cf:models/default/gridfill.safetensors > $F15.tmp && mv $F15.tmp $F15; }
if [ ! -f $D/c.safetensors ]; then
  $B train gridfill --base $M/base.safetensors --grid-lora $M/grid.safetensors \
    --data $G/grids-edit --data $G/grids-compose --data $G/grids-character --init $F15 \
    --gain-lr-scale 10 --steps 6000 --batch 2 --lr 5e-4 --seed 31 --ema 0.999 --t-mu 1 \
    --subject-weight 6 --subject-weight character=0 --input-share 1 --offset-noise 0.03 \
    --offset-noise edit=0.06 --log $D/c.csv --checkpoint-every 250 --resume --out $D/c.safetensors
fi
[ -f $D/c.f16.safetensors ] || $B convert --in $D/c.safetensors --out $D/c.f16.safetensors --dtype f16
for S in 0 1; do
  [ -f $D/c-s$S.json ] || { $B eval --no-ttft --heldout 8 --seed $S --json --model $M/base.safetensors \
    --lora $M/grid.safetensors --lora $D/c.f16.safetensors > $D/c-s$S.json.tmp && mv $D/c-s$S.json.tmp $D/c-s$S.json; }
done
echo done $(date)
