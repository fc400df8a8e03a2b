#!/bin/bash
# After run.sh: the grid stages on the larger base, as far as the comparison with the
# shipped base needs them. Grid LoRA as scripts/train-default.sh trains it (3000 steps of
# batch 2), then Grid-Fill from nothing at the shipped (fourteenth) run's settings for
# 8000 steps (the control on the shipped base: the same command, README here), then the
# held-out evaluation (zero-shot, copy, base; seeds 0 and 1, bf16). Multi-DC is not
# retrained: zero-shot and its evaluation do not use it. Needs the grid sets
# (scripts/train-default.sh grids makes them in work/default). Resumable throughout.
#   T=2 nohup bash runs/base-w256/chain.sh > work/w256/chain.log 2>&1 &
set -e
cd /work/main
export GRIDLORA_PRECISION=bf16 GRIDLORA_THREADS=${T:-2}
unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE
# On a fresh machine: copy a build to work/w256/gridlora.bin first (run.sh's binary; B= for
# another); the base comes out of git history (25 MB, too large to keep in the tree: commit
# 10b639e), the Grid LoRA from this directory.
D=work/w256 B=${B:-work/w256/gridlora.bin} G=work/default R=runs/base-w256
BASE=${BASE:-$D/W.f16.safetensors}
mkdir -p $D
[ -f $BASE ] || { git show 10b639e:$R/W.f16.safetensors > $BASE.tmp && mv $BASE.tmp $BASE; }
[ -f $D/grid.f16.safetensors ] || [ ! -f $R/grid.f16.safetensors ] || cp $R/grid.f16.safetensors $D/
DATA="--data $G/grids-edit --data $G/grids-compose --data $G/grids-character"
[ -f $G/grids-character.done ] || scripts/train-default.sh --bin $B grids
if [ ! -f $D/grid.f16.safetensors ]; then
  $B train grid --base $BASE $DATA --steps 3000 --batch 2 --log $D/grid.csv --checkpoint-every 250 \
    --resume --out $D/grid.safetensors
  $B convert --in $D/grid.safetensors --out $D/grid.f16.safetensors --dtype f16
fi
if [ ! -f $D/gf.f16.safetensors ]; then
  $B train gridfill --base $BASE --grid-lora $D/grid.f16.safetensors $DATA \
    --steps 8000 --batch 2 --rank 32 --alpha 32 --seed 1 --ema 0.999 --t-mu 1 \
    --subject-weight 6 --subject-weight character=0 --input-share 1 --offset-noise 0.03 \
    --offset-noise edit=0.06 --log $D/gf.csv --checkpoint-every 250 --resume --out $D/gf.safetensors
  $B convert --in $D/gf.safetensors --out $D/gf.f16.safetensors --dtype f16
fi
for S in 0 1; do
  [ -f $D/s$S.json ] || { $B eval --no-ttft --heldout 8 --seed $S --json --model $BASE \
    --lora $D/grid.f16.safetensors --lora $D/gf.f16.safetensors > $D/s$S.json.tmp && mv $D/s$S.json.tmp $D/s$S.json; }
done
echo done $(date)
