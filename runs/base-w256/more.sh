#!/bin/bash
# Grid-Fill on the larger base trained on again: run N (2, 3, ...) starts from run N-1's
# EMA adapter (`--init`; run 1 is chain.sh's gf), 16000 steps of
# batch 2 at the shipped (fourteenth) run's settings, peak rate 5e-4, seed N, as the shipped
# chain's runs each began; then the held-out evaluation, seeds 0 and 1. Resumable from its
# checkpoints (work/w256/gfN.ckpt.safetensors); takes run N-1 from this directory when
# work/w256 lacks it. GAINS=1 adds the self-attention's QK norm gains to the adapter's
# targets at ten times the rate, as the shipped fifteenth run (runs/qk-gains): give it for
# every part of a run (a checkpoint's adapter has the targets it started with), and a build
# of 4b199e1 or later as B (work/w256/gridlora.bin, 7ffdcdf, has no --targets).
#   N=3 T=2 nohup bash runs/base-w256/more.sh >> work/w256/more.log 2>&1 &
set -e
cd /work/main
export GRIDLORA_PRECISION=bf16 GRIDLORA_THREADS=${T:-2}
unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE
N=${N:?N=run number, 2 or more}
D=work/w256 B=${B:-work/w256/gridlora.bin} G=work/default R=runs/base-w256
BASE=${BASE:-$D/W.f16.safetensors} OUT=$D/gf$N
PREV=$((N - 1)); [ $PREV -gt 1 ] || PREV=   # run 1 is chain.sh's gf, unnumbered
INIT=$D/gf$PREV.f16.safetensors
[ -f $BASE ] || { git show 10b639e:$R/W.f16.safetensors > $BASE.tmp && mv $BASE.tmp $BASE; }
[ -f $INIT ] || cp $R/$(basename $INIT) $INIT
[ -f $D/grid.f16.safetensors ] || cp $R/grid.f16.safetensors $D/
WIDEN=()
[ -z "$GAINS" ] || WIDEN=(--targets "blocks.*.attn.[qkvo],blocks.*.cross.[qkvo],blocks.*.mlp.fc[12],blocks.*.attn.norm_[qk]" --gain-lr-scale 10)
DATA="--data $G/grids-edit --data $G/grids-compose --data $G/grids-character"
[ -f $G/grids-character.done ] || scripts/train-default.sh --bin $B grids
if [ ! -f $OUT.f16.safetensors ]; then
  $B train gridfill --base $BASE --grid-lora $D/grid.f16.safetensors $DATA --init $INIT "${WIDEN[@]}" \
    --steps 16000 --batch 2 --lr 5e-4 --seed $N --ema 0.999 --t-mu 1 \
    --subject-weight 6 --subject-weight character=0 --input-share 1 --offset-noise 0.03 \
    --offset-noise edit=0.06 --log $OUT.csv --checkpoint-every 250 --resume --out $OUT.safetensors
  $B convert --in $OUT.safetensors --out $OUT.f16.safetensors --dtype f16
fi
for S in 0 1; do
  [ -f $OUT-s$S.json ] || { $B eval --no-ttft --heldout 8 --seed $S --json --model $BASE \
    --lora $D/grid.f16.safetensors --lora $OUT.f16.safetensors > $OUT-s$S.json.tmp && mv $OUT-s$S.json.tmp $OUT-s$S.json; }
done
echo done $(date)
