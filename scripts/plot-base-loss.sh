#!/usr/bin/env bash
# scripts/plot-base-loss.sh [LOG.csv] [OUT.png]: draws the shipped base model's loss curve
# (models/default/base.log.csv, every 10th step of every run) into docs/base/loss.png with
# gnuplot, marking where its second and third runs began (models/default/TRAINING.md,
# stage 1: upright subjects until step 42,000, the domain's turned ones after; the loss
# is the subject-weighted mean throughout).
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
set title 'base: subject-weighted loss; run 2 from step 22001, run 3 (turned subjects) from 42001'
set arrow from 22000, graph 0 to 22000, graph 1 nohead dt 2
set arrow from 42000, graph 0 to 42000, graph 1 nohead dt 2
plot '$log' using 1:2 every ::1 with lines title 'loss'
EOT
