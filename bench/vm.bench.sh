#!/usr/bin/env bash
# Sandbox overhead per event, reload swap time, idle state memory.
set -euo pipefail
mkdir -p "$BENCH_TMP/vm"
"$GANTRY_BENCH/bench_vm" "$BENCH_TMP/vm"
