#!/usr/bin/env bash
# fix: the FIX 4.4 codec on an order's path (bench_fix): NewOrderSingle encode
# and ExecutionReport frame+parse+read, ns each and together (goal <= 1 us).
# The loopback round trip against QuickFIX is in bench/run.sh (fix_quickfix_rtt
# with bench/fix_gantry_rtt.sh alternated).
# Environment: GANTRY_BENCH (dir of built bench programs; default build/rel/bench).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${GANTRY_BENCH:-build/rel/bench}/bench_fix
if [ ! -x "$bin" ]; then
  echo "fix: $bin not built (make build/rel/bench/bench_fix)" >&2
  exit 2
fi
"$bin" "${FIX_BENCH_MESSAGES:-2097152}"
