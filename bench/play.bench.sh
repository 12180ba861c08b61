#!/usr/bin/env bash
# Playbook sweeps: backtests per second of an SMA crossover over ten years of
# daily bars (2,520) on 1 and on 2 worker processes, runs alternated, best of
# RUNS; the CPU time per backtest (user + sys of the playbook and its
# workers, by wait4, over the combinations: the figure the machine's load
# moves least), lowest of the runs; and the peak RSS at 1,000 and 10,000
# combinations, which must stay flat. Figures only; nothing fails on time.
set -euo pipefail
RUNS=${PLAY_BENCH_RUNS:-2}
d=$BENCH_TMP/play
mkdir -p "$d"
mkdir -p "$d/out"
scripts/gen_bars --seed 21 --bars 2520 --symbols AAPL --out "$d/out" >/dev/null
# the playbook names paths under its working directory (the tree) or --out
sweep() { # jobs, combinations -> "done seconds" on stdout, runstat on fd 3
  local out="$d/out/s$1-$2-$RANDOM"
  "$GANTRY_BENCH/runstat" "$GANTRY_BIN" play --out "$d/out" bench/play_sweep.lua \
    "$d/out/AAPL.csv" "$1" "$2" "$out" 2>"$d/log" || { cat "$d/log" >&2; return 1; }
  rm -rf "$out"
  grep -o 'RESULT [0-9]* [0-9.]*' "$d/log" | awk '{print $2, $3}'
  grep runstat: "$d/log" >&3
}
best1=0; best2=0; cpu=0
for _ in $(seq "$RUNS"); do
  for j in 1 2; do
    sweep "$j" 1000 3>"$d/rate" >"$d/res"
    read -r n s <"$d/res"
    r=$(awk -v n="$n" -v s="$s" 'BEGIN { printf "%.1f", n / s }')
    # runstat: W s, peak RSS R MB, user U s, sys S s
    c=$(awk -v n="$n" '{ gsub(",", ""); printf "%.2f", ($9 + $12) / n * 1000 }' "$d/rate")
    cpu=$(awk -v a="$cpu" -v b="$c" 'BEGIN { print (a == 0 || b < a ? b : a) }')
    if [ "$j" = 1 ]; then best1=$(awk -v a="$best1" -v b="$r" 'BEGIN { print (b > a ? b : a) }')
    else best2=$(awk -v a="$best2" -v b="$r" 'BEGIN { print (b > a ? b : a) }'); fi
  done
done
printf '%-44s %8s backtests/s\n' "sweep sma_cross x 2,520 bars, 1 job" "$best1"
printf '%-44s %8s backtests/s   (x%s of 1 job)\n' "sweep sma_cross x 2,520 bars, 2 jobs" "$best2" \
  "$(awk -v a="$best1" -v b="$best2" 'BEGIN { printf "%.2f", (a > 0 ? b / a : 0) }')"
printf '%-44s %8s ms\n' "CPU per backtest (playbook + workers)" "$cpu"
for n in 1000 10000; do
  sweep 2 "$n" 3>"$d/rss" >/dev/null
  printf '%-44s %s\n' "peak RSS, $n combinations, 2 jobs" "$(sed 's/runstat: //' "$d/rss")"
done
