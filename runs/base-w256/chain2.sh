#!/bin/bash
# After chain.sh, and because the larger base won there at equal steps (README here):
# Grid-Fill on it trained on, from chain.sh's 8000-step EMA adapter (`--init`, a fresh
# optimiser and warm-up, as the shipped chain's runs 2-14 each began), 16000 steps at the
# shipped (fourteenth) run's settings and peak rate 5e-4; then the held-out evaluation,
# seeds 0 and 1, bf16. Resumable from its checkpoints (work/w256/gf2.ckpt.safetensors).
#   T=2 nohup bash runs/base-w256/chain2.sh >> work/w256/chain2.log 2>&1 &
set -e
cd /work/main
export GRIDLORA_PRECISION=bf16 GRIDLORA_THREADS=${T:-2}
unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE
D=work/w256 B=${B:-work/w256/gridlora.bin} G=work/default R=runs/base-w256
BASE=${BASE:-$D/W.f16.safetensors} INIT=${INIT:-$D/gf.f16.safetensors}
[ -f $BASE ] || { git show 10b639e:$R/W.f16.safetensors > $BASE.tmp && mv $BASE.tmp $BASE; }
[ -f $INIT ] || cp $R/gf.f16.safetensors $INIT
[ -f $D/grid.f16.safetensors ] || cp $R/grid.f16.safetensors $D/
DATA="--data $G/grids-edit --data $G/grids-compose --data $G/grids-character"
[ -f $G/grids-character.done ] || scripts/train-default.sh --bin $B grids
if [ ! -f $D/gf2.f16.safetensors ]; then
  $B train gridfill --base $BASE --grid-lora $D/grid.f16.safetensors $DATA --init $INIT \
    --steps 16000 --batch 2 --lr 5e-4 --seed 2 --ema 0.999 --t-mu 1 \
    --subject-weight 6 --subject-weight character=0 --input-share 1 --offset-noise 0.03 \
    --offset-noise edit=0.06 --log $D/gf2.csv --checkpoint-every 250 --resume --out $D/gf2.safetensors
  $B convert --in $D/gf2.safetensors --out $D/gf2.f16.safetensors --dtype f16
fi
for S in 0 1; do
  [ -f $D/gf2-s$S.json ] || { $B eval --no-ttft --heldout 8 --seed $S --json --model $BASE \
    --lora $D/grid.f16.safetensors --lora $D/gf2.f16.safetensors > $D/gf2-s$S.json.tmp && mv $D/gf2-s$S.json.tmp $D/gf2-s$S.json; }
done
echo done $(date)
