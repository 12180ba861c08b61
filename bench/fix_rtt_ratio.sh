#!/usr/bin/env bash
# fix_rtt_ratio FILE: from fix_quickfix_rtt.sh's output with fix_gantry_rtt.sh
# alternated (bench/run.sh), the median of rounds of each and gantry's round
# trip as a ratio of QuickFIX's (below 1: gantry is faster).
set -euo pipefail
f=${1:?}
med() { sort -g | awk '{a[NR]=$1} END {if (NR) print a[int((NR+1)/2)]}'; }
get() { grep "^$1 round" "$f" | sed "s/.* $2=\([0-9.]*\).*/\1/" | med; }
for p in p50 p99 p999; do
  q=$(get fix_quickfix_rtt "$p"); g=$(get fix_gantry_rtt "$p")
  if [ -n "$q" ] && [ -n "$g" ]; then
    awk -v p="$p" -v q="$q" -v g="$g" \
      'BEGIN { printf "fix_rtt_ratio: %s gantry %.0f us / QuickFIX %.0f us = %.2f\n", p, g, q, g / q }'
  fi
done
