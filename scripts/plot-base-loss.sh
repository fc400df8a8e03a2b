#!/usr/bin/env bash
# scripts/plot-base-loss.sh [LOG.csv] [OUT.png]: draws the shipped base model's loss curve
# (models/default/base.log.csv, every 10th step of every run) into docs/base/loss.png with
# gnuplot, marking where its runs began (models/default/TRAINING.md, stage 1: upright
# subjects until step 42,000, the domain's turned ones for run 3, upright again in run 4;
# the loss is the subject-weighted mean until step 46,000 and the plain mean in run 4,
# which dropped the weight, so the curve steps down there).
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
set title 'base: runs 2, 3 (turned subjects), 4 (upright, no subject weight) from steps 22001, 42001, 46001'
set arrow from 22000, graph 0 to 22000, graph 1 nohead dt 2
set arrow from 42000, graph 0 to 42000, graph 1 nohead dt 2
set arrow from 46000, graph 0 to 46000, graph 1 nohead dt 2
plot '$log' using 1:2 every ::1 with lines title 'loss'
EOT
