#!/usr/bin/env bash
# Run every suite and print one closing line: "N passed, N failed, N skipped".
# A skipped test (busted's pending, TAP "# SKIP") is counted apart, never as
# passed; nothing in make test skips on a clean clone.
#   C unit tests (arguments): each ends with a line "N passed, N failed".
#   busted specs under spec/ (unit and end-to-end), in TAP form; with
#   GANTRY_BIN_LUAJIT set, the specs that run strategies once more with it.
# Needs GANTRY_BIN (the binary under test) and GANTRY_TOOLS in the environment.
set -uo pipefail
cd "$(dirname "$0")/.."
pass=0; fail=0; skip=0
log=$(mktemp -d "${TMPDIR:-/tmp}/gantry-test.XXXXXX")
trap 'rm -rf "$log"' EXIT
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:exitcode=86}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

add() { pass=$((pass + $1)); fail=$((fail + $2)); }

for t in "$@"; do
  name=$(basename "$t")
  if "$t" >"$log/$name.out" 2>&1; then rc=0; else rc=$?; fi
  line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log/$name.out" | tail -n 1)
  if [ -z "$line" ]; then
    echo "FAIL $name: exited $rc without a summary line"; tail -n 30 "$log/$name.out"
    add 0 1; continue
  fi
  p=${line%% passed*}; f=${line#*passed, }; f=${f%% failed*}
  [ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && f=1
  [ "$f" -ne 0 ] && { echo "FAIL $name"; grep -E 'FAIL|ERROR|runtime error|Sanitizer' "$log/$name.out" | head -n 40; }
  echo "c: $name: $p passed, $f failed"
  add "$p" "$f"
done

# busted, TAP output parsed line by line: busted NAME SPEC...
busted_pass() {
  local name=$1; shift
  busted --lpath='./stdlib/?.lua;./stdlib/?/init.lua;./spec/?.lua' -o TAP "$@" >"$log/$name.out" 2>&1
  local rc=$?
  local p f
  local s
  s=$(grep -cE '^ok .*# SKIP' "$log/$name.out")
  p=$(( $(grep -cE '^ok ' "$log/$name.out") - s )); f=$(grep -cE '^not ok ' "$log/$name.out")
  skip=$((skip + s))
  [ "$s" -ne 0 ] && grep -E '^ok .*# SKIP' "$log/$name.out" | head -n 20
  [ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && { f=1; tail -n 40 "$log/$name.out"; }
  if [ "$f" -ne 0 ]; then
    awk '/^not ok /{show=1} /^ok /{show=0} show' "$log/$name.out" | head -n 200
  fi
  echo "$name: $p passed, $f failed, $s skipped"
  add "$p" "$f"
}

# every *_spec.lua under spec/ but spec/luajit/, with GANTRY_BIN
specs=$(find spec -path spec/luajit -prune -o -name '*_spec.lua' -print | sort)
[ -n "$specs" ] && busted_pass busted $specs

# GANTRY_BIN_LUAJIT (the make VM=luajit build): the specs that run strategies,
# and spec/luajit/, again with that binary; GANTRY_BIN_LUA54 is the other one.
# The specs of the host's own machinery (HTTP, alerts, network feeds, the FIX
# session, live recovery, the crash torture) run once: what they test is below
# the VM, and each is a minute of make test's fifteen.
if [ -n "${GANTRY_BIN_LUAJIT:-}" ]; then
  GANTRY_BIN_LUA54=$GANTRY_BIN GANTRY_BIN=$GANTRY_BIN_LUAJIT busted_pass busted-luajit \
    spec/backtest_spec.lua spec/paper_spec.lua spec/risk_spec.lua spec/sandbox_spec.lua \
    spec/tick_spec.lua spec/golden_spec.lua spec/strategy_spec.lua spec/operator_spec.lua \
    spec/lots_spec.lua spec/seams_spec.lua spec/ta_vm_spec.lua spec/history_spec.lua \
    spec/stops_spec.lua spec/play_spec.lua spec/live_spec.lua \
    spec/replace_spec.lua spec/warmup_spec.lua spec/session_spec.lua spec/stops_out_spec.lua \
    spec/datacheck_spec.lua spec/analytics_spec.lua spec/journal_spec.lua \
    $(find spec/luajit -name '*_spec.lua' | sort)
fi

echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
