#!/bin/bash
# Run D: C (c.sh) with the cross-attention's QK norm gains added to the targets: the
# fifteenth Grid-Fill adapter (shipped in 01fb7cf) trained 6000 steps more at its own
# settings, same seed as C (31, so the same canvases and noise each step), its adapter
# widened by `--init ... --targets` to blocks.*.cross.norm_[qk] too (new gains start at
# zero, so step 0 computes what the fifteenth does). D against C says what the cross
# gains add. Writes work/gain/d/.
set -e
cd /work/main
export GRIDLORA_PRECISION=bf16 GRIDLORA_THREADS=${T:-2}
unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE
D=work/gain/d B=${B:-work/gain/gridlora.bin} M=models/default G=work/default
mkdir -p $D
F15=work/gain/fifteenth.f16.safetensors
[ -f $F15 ] || { git show 01fb7cf:models/default/gridfill.safetensors > $F15.tmp && mv $F15.tmp $F15; }
TARGETS="blocks.*.attn.[qkvo],blocks.*.cross.[qkvo],blocks.*.mlp.fc[12],blocks.*.attn.norm_[qk],blocks.*.cross.norm_[qk]"
if [ ! -f $D/d.safetensors ]; then
  $B train gridfill --base $M/base.safetensors --grid-lora $M/grid.safetensors \
    --data $G/grids-edit --data $G/grids-compose --data $G/grids-character --init $F15 \
    --targets "$TARGETS" --gain-lr-scale 10 --steps 6000 --batch 2 --lr 5e-4 --seed 31 --ema 0.999 --t-mu 1 \
    --subject-weight 6 --subject-weight character=0 --input-share 1 --offset-noise 0.03 \
    --offset-noise edit=0.06 --log $D/d.csv --checkpoint-every 250 --resume --out $D/d.safetensors
fi
[ -f $D/d.f16.safetensors ] || $B convert --in $D/d.safetensors --out $D/d.f16.safetensors --dtype f16
for S in 0 1; do
  [ -f $D/d-s$S.json ] || { $B eval --no-ttft --heldout 8 --seed $S --json --model $M/base.safetensors \
    --lora $M/grid.safetensors --lora $D/d.f16.safetensors > $D/d-s$S.json.tmp && mv $D/d-s$S.json.tmp $D/d-s$S.json; }
done
echo done $(date)
