#!/usr/bin/env bash
# scripts/plot-base-loss.sh [LOG.csv] [OUT.png]: draws the shipped base model's loss curve
# (models/default/base.log.csv, every 10th step of its one run) into docs/base/loss.png with
# gnuplot, marking step 7,000, where the run's cosine was shortened from 48,000 steps to
# 36,000 (models/default/TRAINING.md, "The model shipped"). The base shipped before it, four
# runs of width 192, is docs/base/loss-w192.png (its log: git show
# baa564b:models/default/base.log.csv; this script's version of that commit draws it).
set -euo pipefail
log=${1:-models/default/base.log.csv}
out=${2:-docs/base/loss.png}
gnuplot <<EOT
set terminal pngcairo size 900,420
set output '$out'
set datafile separator ','
set logscale y
set xlabel 'step'
set ylabel 'loss (every 10th step)'
set title 'base (width 256, depth 8): one run from scratch, its cosine shortened to 36,000 steps at step 7,000'
set arrow from 7000, graph 0 to 7000, graph 1 nohead dt 2
plot '$log' using 1:2 every ::1 with lines title 'loss'
EOT
