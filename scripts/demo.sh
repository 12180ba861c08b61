#!/usr/bin/env bash
# make demo: generate two years of daily bars for two symbols (seeded), then
# backtest the example strategies on them and write their reports.
set -euo pipefail
cd "$(dirname "$0")/.."
data=out/demo/data
mkdir -p "$data"
scripts/gen_bars --seed 42 --bars 504 --symbols AAPL,MSFT --corr 0.8 --start 2024-01-02 --out "$data"
# --overwrite: make demo may run again over the same directories
echo "== sma_cross on AAPL (daily bars, 2024-2025)"
./gantry backtest strategies/sma_cross.lua --data "$data/AAPL.csv" --out out/demo/sma_cross \
  --overwrite
echo
echo "== rsi_reversion on MSFT"
./gantry backtest strategies/rsi_reversion.lua --data "$data/MSFT.csv" --param symbol=MSFT \
  --out out/demo/rsi_reversion --overwrite
echo
echo "== pairs on AAPL/MSFT"
./gantry backtest strategies/pairs.lua --data "$data/AAPL.csv" --data "$data/MSFT.csv" \
  --param a=AAPL --param b=MSFT --param window=40 --param entry=1.5 --out out/demo/pairs \
  --overwrite
echo
echo "Open out/demo/sma_cross/report.html in a browser (it needs no network)."
