#!/usr/bin/env bash
# risk: cost of one pre-trade check (risk_check) with every limit enabled,
# strategy and firm; prints median / p99 ns per check and the allocation count.
# Environment: GANTRY_BENCH (dir of built bench programs; default build/rel/bench).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${GANTRY_BENCH:-build/rel/bench}/bench_risk
if [ ! -x "$bin" ]; then
  echo "risk: $bin not built (make build/rel/bench/bench_risk)" >&2
  exit 2
fi
"$bin" "${RISK_BENCH_CHECKS:-4194304}"
