#!/usr/bin/env bash
# Sandbox overhead per event, reload swap time, idle state memory.
set -euo pipefail
mkdir -p "$BENCH_TMP/vm"
"$GANTRY_BENCH/bench_vm" "$BENCH_TMP/vm"
# the LuaJIT build's, when make bench built it (its on_bar, reload and memory)
if [ -n "${GANTRY_BENCH_LUAJIT:-}" ]; then
  echo "-- LuaJIT build"
  "$GANTRY_BENCH_LUAJIT/bench_vm" "$BENCH_TMP/vm"
fi
