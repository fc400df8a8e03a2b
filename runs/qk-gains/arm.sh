#!/bin/bash
# Arm: control.sh's Grid-Fill (shipped base and Grid LoRA, 8000 steps, fourteenth's
# settings, seed 1) with the self-attention QK norm gains among the adapter's targets.
set -e
cd /work/main
export GRIDLORA_PRECISION=bf16 GRIDLORA_THREADS=${T:-2}
unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE
D=work/gain B=${B:-work/gain/gridlora.bin} M=models/default G=work/default
TARGETS="blocks.*.attn.[qkvo],blocks.*.cross.[qkvo],blocks.*.mlp.fc[12],blocks.*.attn.norm_[qk]"
if [ ! -f $D/gf.safetensors ]; then
  $B train gridfill --base $M/base.safetensors --grid-lora $M/grid.safetensors \
    --data $G/grids-edit --data $G/grids-compose --data $G/grids-character \
    --steps 8000 --batch 2 --rank 32 --alpha 32 --targets "$TARGETS" --seed 1 --ema 0.999 --t-mu 1 \
    --subject-weight 6 --subject-weight character=0 --input-share 1 --offset-noise 0.03 \
    --offset-noise edit=0.06 --log $D/gf.csv --checkpoint-every 250 --resume --out $D/gf.safetensors
fi
[ -f $D/gf.f16.safetensors ] || $B convert --in $D/gf.safetensors --out $D/gf.f16.safetensors --dtype f16
for S in 0 1; do
  [ -f $D/s$S.json ] || { $B eval --no-ttft --heldout 8 --seed $S --json --model $M/base.safetensors \
    --lora $M/grid.safetensors --lora $D/gf.f16.safetensors > $D/s$S.json.tmp && mv $D/s$S.json.tmp $D/s$S.json; }
done
echo done $(date)
