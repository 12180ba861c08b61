#!/usr/bin/env bash
# A/B: two builds of gantry on the same data, runs alternated (A B A B ...),
# so that the machine's minute-to-minute noise falls on both alike. Prints
# each run and, per workload, the median of B/A (events per second: above 1
# means B is faster). Not part of make bench: for comparing a change.
#   bench/ab.sh OLD_GANTRY NEW_GANTRY [RUNS]
# Workloads: sma_cross on 1,000,000 one-minute bars; a Lua on_book strategy
# on a generated ITCH day of AB_MESSAGES messages (default 10,000,000).
set -euo pipefail
a=$1 b=$2 runs=${3:-5}
root=$(cd "$(dirname "$0")/.." && pwd)
tools=${GANTRY_TOOLS:-$root/build/tools}
d=$(mktemp -d "${TMPDIR:-/tmp}/gantry-ab.XXXXXX")
trap 'rm -rf "$d"' EXIT
"$root/scripts/gen_bars" --seed 11 --bars 1000000 --symbols AAPL --interval 1m --out "$d" >/dev/null
"$tools/gen_itch" --seed 1 --messages "${AB_MESSAGES:-10000000}" --symbols 8000 --live 1000000 \
  --out "$d/day.itch" 2>/dev/null
cat >"$d/follow.lua" <<'LUA'
local S = { symbols = { "AAAA" } }
local n, spread = 0, 0
function S.on_book(ctx, b) n = n + 1; if b.ask > 0 and b.bid > 0 then spread = spread + (b.ask - b.bid) end end
return S
LUA
eps() { grep -o '"events_per_s": [0-9.e+]*' "$1/summary.json" | awk '{print $2}'; }
one() { # bin workload -> events/s (a fresh --out: old builds lack --overwrite)
  local bin=$1 w=$2
  rm -rf "$d/o"
  if [ "$w" = bars ]; then
    "$bin" backtest "$root/strategies/sma_cross.lua" --data "$d/AAPL.csv" --out "$d/o" --no-report --quiet
  else
    "$bin" backtest "$d/follow.lua" --data "$d/day.itch" --out "$d/o" --no-report --quiet
  fi
  eps "$d/o"
}
for w in bars itch; do
  ratios=()
  for i in $(seq "$runs"); do
    ea=$(one "$a" "$w"); eb=$(one "$b" "$w")
    r=$(awk -v x="$ea" -v y="$eb" 'BEGIN{printf "%.3f", y/x}')
    ratios+=("$r")
    printf '%s run %d: A %.0f/s  B %.0f/s  B/A %s\n' "$w" "$i" "$ea" "$eb" "$r"
  done
  printf '%s: median B/A %s over %d alternated pairs\n' "$w" \
    "$(printf '%s\n' "${ratios[@]}" | sort -n | awk '{v[NR]=$1} END{print v[int((NR+1)/2)]}')" "$runs"
done
