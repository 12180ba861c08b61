#!/usr/bin/env bash
# Bars per second end to end (CSV read, sma_cross, simulated venue, every
# output file but the report) and peak RSS, best of RUNS runs.
set -euo pipefail
RUNS=${BARS_BENCH_RUNS:-3}
d=$BENCH_TMP/bars
mkdir -p "$d/one" "$d/ten"
scripts/gen_bars --seed 11 --bars 1000000 --symbols AAPL --interval 1m --out "$d/one"
scripts/gen_bars --seed 12 --bars 100000 --symbols 10 --interval 1m --out "$d/ten"
ten=()
for f in "$d"/ten/*.csv; do ten+=(--data "$f"); done

run() { # label, args...
  local label=$1; shift
  local best=0 line=""
  for _ in $(seq "$RUNS"); do
    "$GANTRY_BENCH/runstat" "$GANTRY_BIN" backtest strategies/sma_cross.lua "$@" \
      --out "$d/out" --overwrite --no-report --quiet 2>"$d/stat"
    local eps
    eps=$(grep -o '"events_per_s": [0-9.e+]*' "$d/out/summary.json" | awk '{print int($2)}')
    if [ "$eps" -gt "$best" ]; then best=$eps; line=$(grep runstat: "$d/stat"); fi
  done
  printf '%-34s %10d bars/s   (%s)\n' "$label" "$best" "${line#runstat: }"
}
run "sma_cross 1 symbol x 1,000,000" --data "$d/one/AAPL.csv"
run "sma_cross 10 symbols x 100,000" "${ten[@]}" --param symbol='*'
