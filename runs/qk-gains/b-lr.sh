#!/bin/bash
# Runs B (GLR=1) and B-lr (GLR=10, shipped as the fifteenth Grid-Fill run): the shipped
# fourteenth Grid-Fill adapter trained 6000 steps more at its settings (the colour-weight
# arms' command, seed 30, without the colour term) with the self-attention QK norm gains
# added to its targets (--init ... --targets), learning at GLR (default 10) times the rate.
# Writes work/gain/blrGLR/.
set -e
cd /work/main
export GRIDLORA_PRECISION=bf16 GRIDLORA_THREADS=${T:-2}
unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE
D=work/gain/blr${GLR:-10} B=${B:-work/gain/gridlora.bin} M=models/default G=work/default
mkdir -p $D
# the fourteenth adapter, shipped until 01fb7cf (models/default/gridfill.safetensors is the
# fifteenth since)
F14=work/gain/fourteenth.f16.safetensors
[ -f $F14 ] || { git show 7ef7c7e:models/default/gridfill.safetensors > $F14.tmp && mv $F14.tmp $F14; }
TARGETS="blocks.*.attn.[qkvo],blocks.*.cross.[qkvo],blocks.*.mlp.fc[12],blocks.*.attn.norm_[qk]"
if [ ! -f $D/b.safetensors ]; then
  $B train gridfill --base $M/base.safetensors --grid-lora $M/grid.safetensors \
    --data $G/grids-edit --data $G/grids-compose --data $G/grids-character --init $F14 \
    --targets "$TARGETS" --gain-lr-scale ${GLR:-10} --steps 6000 --batch 2 --lr 5e-4 --seed 30 --ema 0.999 --t-mu 1 \
    --subject-weight 6 --subject-weight character=0 --input-share 1 --offset-noise 0.03 \
    --offset-noise edit=0.06 --log $D/b.csv --checkpoint-every 250 --resume --out $D/b.safetensors
fi
[ -f $D/b.f16.safetensors ] || $B convert --in $D/b.safetensors --out $D/b.f16.safetensors --dtype f16
for S in 0 1; do
  [ -f $D/b-s$S.json ] || { $B eval --no-ttft --heldout 8 --seed $S --json --model $M/base.safetensors \
    --lora $M/grid.safetensors --lora $D/b.f16.safetensors > $D/b-s$S.json.tmp && mv $D/b-s$S.json.tmp $D/b-s$S.json; }
done
echo done $(date)
