#!/usr/bin/env bash
# Runs the example strategies on seeded data and prints one line per output
# file: "vm/strategy/file sha256". Volatile figures (elapsed_s, events_per_s
# and the report's timing line) are blanked first, so the same build on the
# same data always prints the same lines.
#   spec/golden/run.sh GANTRY_BIN TOOLS_DIR WORKDIR
# spec/golden_spec.lua compares its output with spec/golden/manifest.txt,
# recorded with the build before the engine was split into layers.
set -euo pipefail
bin=$1 tools=$2 work=$3
root=$(cd "$(dirname "$0")/../.." && pwd)
vm=$("$bin" --version | grep -q LuaJIT && echo luajit || echo lua54)
data=$work/data
mkdir -p "$data"
[ -f "$data/AAPL.csv" ] || "$root/scripts/gen_bars" --seed 42 --bars 504 --symbols AAPL,MSFT \
  --corr 0.8 --start 2024-01-02 --out "$data" >/dev/null
[ -f "$data/day.itch" ] || "$tools/gen_itch" --seed 7 --messages 200000 --symbols 20 \
  --live 20000 --out "$data/day.itch" >/dev/null
run() {
  local name=$1; shift
  local out=$work/$vm/$name
  rm -rf "$out"
  "$bin" backtest "$@" --out "$out" --quiet >/dev/null 2>&1 || {
    echo "$vm/$name: exit $?" ; return; }
  sed -i -E 's/"elapsed_s": [^,]*, "events_per_s": [^,]*,/"elapsed_s": 0, "events_per_s": 0,/' \
    "$out/summary.json"
  [ -f "$out/report.html" ] && sed -i -E \
    -e 's/"elapsed_s":[^,}]*/"elapsed_s":0/g' -e 's/"events_per_s":[^,}]*/"events_per_s":0/g' \
    -e 's#(<th>(Elapsed|Events / s)</th><td class="num">)[^<]*#\1-#g' \
    "$out/report.html"
  (cd "$work" && find "$vm/$name" -type f | sort | xargs sha256sum | awk '{print $2, $1}')
}
cd "$root"
run sma_cross strategies/sma_cross.lua --data "$data/AAPL.csv"
run rsi_reversion strategies/rsi_reversion.lua --data "$data/MSFT.csv" --param symbol=MSFT
run pairs strategies/pairs.lua --data "$data/AAPL.csv" --data "$data/MSFT.csv" \
  --param a=AAPL --param b=MSFT --param window=40 --param entry=1.5
run book_imbalance strategies/book_imbalance.lua --data "$data/day.itch" --param symbol=AAAA
