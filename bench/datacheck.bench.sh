#!/usr/bin/env bash
# The cost of the data integrity checks: bars per second of a backtest that
# does nothing (CSV read, the checks, the engine, the output files but the
# report), with the default checks and with `data_checks = false`,
# alternated RUNS times, each side's best and the ratio; and `gantry data
# check` over the same file. Figures only: never fails on time.
set -euo pipefail
RUNS=${DATACHECK_BENCH_RUNS:-5}
d=$BENCH_TMP/datacheck
mkdir -p "$d"
scripts/gen_bars --seed 21 --bars 1000000 --symbols AAPL --interval 1m --out "$d" >/dev/null
printf 'local S = {}\nfunction S.on_bar(ctx, bar) end\nreturn S\n' >"$d/idle.lua"
printf 'return { data_checks = false }\n' >"$d/off.lua"
eps() { grep -o '"events_per_s": [0-9.e+]*' "$d/out/summary.json" | awk '{print int($2)}'; }
on=0 off=0
for _ in $(seq "$RUNS"); do
  "$GANTRY_BIN" backtest "$d/idle.lua" --data "$d/AAPL.csv" --out "$d/out" --overwrite --no-report --quiet
  e=$(eps); [ "$e" -gt "$on" ] && on=$e
  "$GANTRY_BIN" backtest "$d/idle.lua" --data "$d/AAPL.csv" --config "$d/off.lua" --out "$d/out" --overwrite --no-report --quiet
  e=$(eps); [ "$e" -gt "$off" ] && off=$e
done
printf '%-40s %10d bars/s\n' "backtest 1,000,000 bars, checks on" "$on"
printf '%-40s %10d bars/s\n' "backtest 1,000,000 bars, checks off" "$off"
awk -v a="$on" -v b="$off" 'BEGIN { printf "%-40s %10.3f (on / off, best of '"$RUNS"' each, alternated)\n", "ratio", a / b }'
t0=$(date +%s.%N)
"$GANTRY_BIN" data check "$d/AAPL.csv" >/dev/null
t1=$(date +%s.%N)
awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%-40s %10d bars/s\n", "gantry data check 1,000,000 bars", 1000000 / (b - a) }'
