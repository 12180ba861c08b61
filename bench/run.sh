#!/usr/bin/env bash
# make bench: run every bench/*.bench.sh in name order. Each prints its figures.
# Environment: GANTRY_BIN (optimised binary), GANTRY_BIN_LUAJIT (its LuaJIT build, optional),
# GANTRY_TOOLS, GANTRY_BENCH (bench programs), GANTRY_BENCH_LUAJIT (the LuaJIT build's, optional).
set -euo pipefail
cd "$(dirname "$0")/.."
export BENCH_TMP=${BENCH_TMP:-$(mktemp -d "${TMPDIR:-/tmp}/gantry-bench.XXXXXX")}
trap 'rm -rf "$BENCH_TMP"' EXIT
for b in bench/*.bench.sh; do
  [ -e "$b" ] || continue
  echo "== $(basename "$b" .bench.sh)"
  bash "$b"
done

# ---------------------------------------------------------------- FIX round trip
# QuickFIX's own order round trip on loopback (bench/fix_quickfix_rtt.sh, the
# peers of spec/peers: make peers); gantry's ctx:buy -> on_fill round trip
# runs beside it, round by round, through its FIX_RTT_ALT hook.
echo "== fix_quickfix_rtt"
FIX_RTT_ALT="bash bench/fix_gantry_rtt.sh" bash bench/fix_quickfix_rtt.sh | tee "$BENCH_TMP/fix_rtt.out" \
  || echo "fix_quickfix_rtt: not measured (exit $?)"
bash bench/fix_rtt_ratio.sh "$BENCH_TMP/fix_rtt.out" || true
