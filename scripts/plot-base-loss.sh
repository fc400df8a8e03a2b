#!/usr/bin/env bash
# scripts/plot-base-loss.sh [LOG.csv] [OUT.png]: draws the shipped base model's loss curve
# (models/default/base.log.csv, every 10th step of every run) into docs/base/loss.png with
# gnuplot, marking where runs 4 and 5 began weighing the subject's pixels (their logged
# loss is that weighted mean, so the curve steps up there).
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
set title 'base: runs 1-3 unweighted loss; runs 4-5 (from step 20001) subject-weighted loss'
set arrow from 20000, graph 0 to 20000, graph 1 nohead dt 2
plot '$log' using 1:2 every ::1 with lines title 'loss'
EOT
