#!/bin/bash
# Arms that widen the fifteenth Grid-Fill adapter (shipped in 01fb7cf): C (c.sh) with more
# targets. The fifteenth trained 6000 steps more at its own settings, seed 31 as C (so the
# same canvases and noise each step), its adapter widened by `--init ... --targets` to
# EXTRA as well (new LoRA B matrices and gains start at zero, so step 0 computes what the
# fifteenth does); each arm against C says what its targets add. Writes work/gain/NAME/.
#   NAME=d EXTRA='blocks.*.cross.norm_[qk]' bash runs/qk-gains/widen.sh   # the cross-attention's gains
#   NAME=e EXTRA='patch_embed,final.linear' bash runs/qk-gains/widen.sh   # the pixels' way in and out
set -e
cd /work/main
export GRIDLORA_PRECISION=bf16 GRIDLORA_THREADS=${T:-2}
unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE
N=${NAME:?NAME=the arm} X=${EXTRA:?EXTRA=targets to add}
D=work/gain/$N B=${B:-work/gain/gridlora.bin} M=models/default G=work/default
mkdir -p $D
F15=work/gain/fifteenth.f16.safetensors
[ -f $F15 ] || { git show 01fb7cf:models/default/gridfill.safetensors > $F15.tmp && mv $F15.tmp $F15; }
set -f # the targets' globs are gridlora's, not the shell's
TARGETS="blocks.*.attn.[qkvo],blocks.*.cross.[qkvo],blocks.*.mlp.fc[12],blocks.*.attn.norm_[qk],$X"
if [ ! -f $D/$N.safetensors ]; then
  $B train gridfill --base $M/base.safetensors --grid-lora $M/grid.safetensors \
    --data $G/grids-edit --data $G/grids-compose --data $G/grids-character --init $F15 \
    --targets "$TARGETS" --gain-lr-scale 10 --steps 6000 --batch 2 --lr 5e-4 --seed 31 --ema 0.999 --t-mu 1 \
    --subject-weight 6 --subject-weight character=0 --input-share 1 --offset-noise 0.03 \
    --offset-noise edit=0.06 --log $D/$N.csv --checkpoint-every 250 --resume --out $D/$N.safetensors
fi
[ -f $D/$N.f16.safetensors ] || $B convert --in $D/$N.safetensors --out $D/$N.f16.safetensors --dtype f16
for S in 0 1; do
  [ -f $D/$N-s$S.json ] || { $B eval --no-ttft --heldout 8 --seed $S --json --model $M/base.safetensors \
    --lora $M/grid.safetensors --lora $D/$N.f16.safetensors > $D/$N-s$S.json.tmp && mv $D/$N-s$S.json.tmp $D/$N-s$S.json; }
done
echo done $(date)
