#!/usr/bin/env bash
# Network feeds: a generated ITCH day (NETFEED_BENCH_MESSAGES, default 2
# million, 500 symbols) into the books through the file replay, a loopback
# SoupBinTCP session and a loopback MoldUDP64 stream (the peers of
# spec/peers/feedpeer.c), alternated, three rounds, in the same run; then the
# receive-to-strategy latency over a paced session of each (one message per
# SoupBinTCP write / MoldUDP64 packet, 20 us apart). Method: docs/feeds.md.
set -euo pipefail
n=${NETFEED_BENCH_MESSAGES:-2000000}
day="$BENCH_TMP/netfeed-day.itch"
"$GANTRY_TOOLS/gen_itch" --seed 3 --messages "$n" --symbols 500 --live 50000 --out "$day" 2>/dev/null
peer="$GANTRY_TOOLS/feedpeer"
b="$GANTRY_BENCH/bench_netfeed"
wait_port() { for _ in $(seq 200); do [ -s "$1" ] && { cat "$1"; return; }; sleep 0.02; done; echo "no peer" >&2; exit 1; }
soup() { # NAME [peer options]
  local name=$1; shift
  rm -f "$BENCH_TMP/sp"
  "$peer" soup --day "$day" --port-file "$BENCH_TMP/sp" --timeout-s 120 "$@" 2>/dev/null &
  local pid=$! port; port=$(wait_port "$BENCH_TMP/sp")
  "$b" "$name" "soup://127.0.0.1:$port?retries=5" ${LOG:+--send-log "$LOG"} 2>>"$BENCH_TMP/netfeed.log"
  wait $pid
}
mold() { # NAME [peer options]
  local name=$1; shift
  local u r; u=$("$peer" udp-port); r=$("$peer" udp-port)
  "$peer" mold --day "$day" --to "127.0.0.1:$u" --rr-port "$r" --port-file "$BENCH_TMP/mp" \
    --delay-ms 300 --linger-ms 5000 --timeout-s 120 "$@" 2>/dev/null &
  local pid=$!
  "$b" "$name" "mold://127.0.0.1:$u?rerequest=127.0.0.1:$r" ${LOG:+--send-log "$LOG"} 2>>"$BENCH_TMP/netfeed.log"
  wait $pid
}
cat "$day" >/dev/null
for round in 1 2 3; do
  "$b" "file" "$day"
  soup "soup loopback" --batch 1024
  mold "mold loopback"
done
# latency: a short paced session (the first 20,000 messages of the day)
head -c "$(( $(stat -c %s "$day") < 700000 ? $(stat -c %s "$day") : 700000 ))" "$day" >"$BENCH_TMP/short.itch"
short="$BENCH_TMP/short.itch"
rm -f "$BENCH_TMP/send.log"
LOG="$BENCH_TMP/send.log" day="$short" soup "soup paced" --batch 1 --pace-us 20 --send-log "$BENCH_TMP/send.log"
rm -f "$BENCH_TMP/send.log"
LOG="$BENCH_TMP/send.log" day="$short" mold "mold paced" --per-packet 1 --pace-us 20 --send-log "$BENCH_TMP/send.log"
