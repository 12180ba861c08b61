#!/usr/bin/env bash
# fix_quickfix_rtt: QuickFIX's own order round trip on loopback, the figure
# gantry's FIX initiator is measured against (issue 13). A QuickFIX initiator
# (build/peers/fix_initiator --bench) sends N market NewOrderSingles one at a
# time to the QuickFIX acceptor (build/peers/fix_acceptor, script
# `price XYZ 100`: each order is acknowledged and filled at once) and times
# send -> fill ExecutionReport received; prints p50/p99/p99.9 in µs per
# round and the median of the rounds. Never fails on time.
#
# Alternation: with FIX_RTT_ALT set to a command, it runs after each QuickFIX
# round against a fresh acceptor of its own (same script, fresh store), with
# FIX_RTT_PORT, FIX_RTT_SENDER (the acceptor's CompID, EXEC), FIX_RTT_TARGET
# (the initiator's, HOST), FIX_RTT_N and FIX_RTT_DIR in its environment: that
# is where gantry's ctx:buy -> on_fill round trip goes, measured in the same
# run, round by round.
#
# Environment: FIX_RTT_ROUNDS (3), FIX_RTT_N (2000 orders a round),
# GANTRY_PEERS (build/peers), BENCH_TMP (a scratch directory).
# Build first: make peers.
set -euo pipefail
cd "$(dirname "$0")/.."
peers=${GANTRY_PEERS:-build/peers}
rounds=${FIX_RTT_ROUNDS:-3}
n=${FIX_RTT_N:-2000}
for b in fix_acceptor fix_initiator; do
  if [ ! -x "$peers/$b" ]; then
    echo "fix_quickfix_rtt: $peers/$b not built (make peers)" >&2
    exit 2
  fi
done
tmp=$(mktemp -d "${BENCH_TMP:-${TMPDIR:-/tmp}}/fix-rtt.XXXXXX")
acc_pid=
cleanup() {
  if [ -n "$acc_pid" ]; then kill "$acc_pid" 2>/dev/null || true; wait "$acc_pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
printf 'price XYZ 100\n' >"$tmp/script"

# start_acceptor DIR: a fresh acceptor with its store in DIR; sets port, acc_pid
start_acceptor() {
  mkdir -p "$1"
  "$peers/fix_acceptor" --script "$tmp/script" --store "$1/store" --record "$1/record.jsonl" \
    --sender EXEC --target HOST >"$1/out" 2>"$1/err" &
  acc_pid=$!
  port=
  for _ in $(seq 1 200); do
    port=$(sed -n 's/^port \([0-9]*\)$/\1/p' "$1/out" 2>/dev/null | head -n 1)
    [ -n "$port" ] && return 0
    kill -0 "$acc_pid" 2>/dev/null || break
    sleep 0.05
  done
  echo "fix_quickfix_rtt: the acceptor did not start: $(cat "$1/err")" >&2
  exit 1
}

stop_acceptor() {
  kill "$acc_pid" 2>/dev/null || true
  wait "$acc_pid" 2>/dev/null || true
  acc_pid=
}

p50s=(); p99s=(); p999s=()
for r in $(seq 1 "$rounds"); do
  start_acceptor "$tmp/q$r"
  line=$(timeout 120 "$peers/fix_initiator" --bench "$n" --port "$port" --store "$tmp/q$r/ini" \
    --sender HOST --target EXEC --out "$tmp/q$r/ini.jsonl" --timeout 10) || {
    echo "fix_quickfix_rtt: round $r failed" >&2; stop_acceptor; continue; }
  stop_acceptor
  echo "fix_quickfix_rtt round $r: ${line#fix_quickfix_rtt: }"
  p50s+=("$(sed 's/.*p50=\([0-9.]*\).*/\1/' <<<"$line")")
  p99s+=("$(sed 's/.*p99=\([0-9.]*\).*/\1/' <<<"$line")")
  p999s+=("$(sed 's/.*p999=\([0-9.]*\).*/\1/' <<<"$line")")
  if [ -n "${FIX_RTT_ALT:-}" ]; then
    start_acceptor "$tmp/g$r"
    FIX_RTT_PORT=$port FIX_RTT_SENDER=EXEC FIX_RTT_TARGET=HOST FIX_RTT_N=$n FIX_RTT_DIR=$tmp/g$r \
      bash -c "$FIX_RTT_ALT" || echo "fix_quickfix_rtt: FIX_RTT_ALT failed in round $r" >&2
    stop_acceptor
  fi
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {if (NR) print a[int((NR+1)/2)]}'; }
if [ "${#p50s[@]}" -gt 0 ]; then
  echo "fix_quickfix_rtt: rounds=${#p50s[@]} n=$n p50=$(median "${p50s[@]}") p99=$(median "${p99s[@]}")" \
    "p999=$(median "${p999s[@]}") us (median of rounds; QuickFIX initiator -> QuickFIX acceptor, loopback)"
fi
