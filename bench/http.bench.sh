#!/usr/bin/env bash
# The monitoring's cost (README: Monitoring; docs/monitoring.md):
#  1. per event and per order: the same paper run (50,000 minute bars at full
#     speed) without and with --http (the clocks of stats.h on, the server
#     and its timers on the loop), alternated, RUNS times each; a strategy
#     that never orders (the cost per event) and one that orders on every bar
#     (the cost per order, beyond the per-event cost).
#  2. /metrics scrape time at 10 strategies x 500 symbols (5,000 positions,
#     10 x 2 histograms), median of 50 scrapes with curl.
#  3. the counters alone (bench_stats): ns per callback and per order,
#     timing off (a backtest) and on (a monitored host), alternated.
# Prints figures; never fails on time.
set -euo pipefail
"$GANTRY_BENCH/bench_stats"
d=$BENCH_TMP/http
mkdir -p "$d"
RUNS=${HTTP_BENCH_RUNS:-5}
N=${HTTP_BENCH_BARS:-50000}
lua5.4 - "$N" "$d/XYZ.csv" <<'LUA'
local n = tonumber(arg[1])
local f = io.open(arg[2], "w")
f:write("datetime,open,high,low,close,volume\n")
local t0 = os.time{year=1970, month=1, day=2, hour=0}
for i = 0, n - 1 do
  local px = 100 + (i % 13)
  f:write(os.date("!%Y-%m-%d %H:%M:%S", t0 + i * 60), ",", px, ",", px + 1, ",", px - 1, ",", px, ",1000\n")
end
f:close()
LUA
cat >"$d/quiet.lua" <<'LUA'
local S = { params = { symbol = "XYZ" } }
local n = 0
function S.on_bar(ctx, bar) n = n + 1 end
return S
LUA
cat >"$d/busy.lua" <<'LUA'
-- an order on every bar: a limit far below, cancelled on the next bar
local S = { params = { symbol = "XYZ" } }
local last
function S.on_bar(ctx, bar)
  if last then ctx:cancel(last) end
  last = ctx:buy("XYZ", 1, { limit = 1 })
end
return S
LUA
run() { # strategy, extra args... -> seconds (the run's own elapsed_s)
  local s=$1; shift
  "$GANTRY_BIN" paper "$d/$s.lua" --feed "file:$d/XYZ.csv" --out "$d/o" --overwrite --no-report \
    --quiet --no-watch "$@" 2>/dev/null
  awk -F'[:,}]' '{for(i=1;i<=NF;i++) if($i~/"elapsed_s"/) print $(i+1)}' "$d/o/summary.json"
}
median() { sort -g | awk '{a[NR]=$1} END{print (NR%2)? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
for s in quiet busy; do
  : >"$d/$s.off"; : >"$d/$s.on"
  for _ in $(seq "$RUNS"); do
    run "$s" >>"$d/$s.off"
    run "$s" --http 127.0.0.1:0 >>"$d/$s.on"
  done
done
qo=$(median <"$d/quiet.off"); qn=$(median <"$d/quiet.on")
bo=$(median <"$d/busy.off"); bn=$(median <"$d/busy.on")
awk -v n="$N" -v qo="$qo" -v qn="$qn" -v bo="$bo" -v bn="$bn" -v r="$RUNS" 'BEGIN{
  printf "paper, %d bars, median of %d alternated runs each:\n", n, r
  printf "  no orders:       %.1f ns/event without --http, %.1f with (%+.1f ns/event, %+.1f%%)\n",
    qo/n*1e9, qn/n*1e9, (qn-qo)/n*1e9, (qn/qo-1)*100
  printf "  order per bar:   %.1f ns/event without --http, %.1f with (%+.1f ns/event+order, %+.1f%%)\n",
    bo/n*1e9, bn/n*1e9, (bn-bo)/n*1e9, (bn/bo-1)*100
  printf "  so per order, beyond the event: %+.1f ns\n", ((bn-bo)-(qn-qo))/n*1e9 }'
echo "  runs (s): quiet off $(tr '\n' ' ' <"$d/quiet.off")| on $(tr '\n' ' ' <"$d/quiet.on")"
echo "            busy  off $(tr '\n' ' ' <"$d/busy.off")| on $(tr '\n' ' ' <"$d/busy.on")"

# 2. scrape time: 10 strategies, each holding 1 share of each of 500 symbols
lua5.4 - "$d/wide.csv" "$d" <<'LUA'
local f = io.open(arg[1], "w")
f:write("datetime,symbol,open,high,low,close,volume\n")
for day = 0, 2 do
  for k = 1, 500 do
    f:write(os.date("!%Y-%m-%d", 86400 * (day + 1)), ",S", k, ",10,10,10,10,100\n")
  end
end
f:close()
for i = 1, 10 do
  local s = io.open(arg[2] .. "/m" .. i .. ".lua", "w")
  s:write("local S = { name = \"m", i, "\" } -- every symbol of the data\n",
    "function S.on_bar(ctx, bar) if ctx:position(bar.symbol) == 0 and #ctx:orders(bar.symbol) == 0 then ctx:buy(bar.symbol, 1) end end\nreturn S\n")
  s:close()
end
LUA
strats=()
for i in $(seq 10); do strats+=("$d/m$i.lua"); done
"$GANTRY_BIN" paper "${strats[@]}" --feed "file:$d/wide.csv" --out "$d/w" --overwrite --no-report \
  --quiet --no-watch --linger --http 127.0.0.1:0 --ctl "$d/w.sock" 2>"$d/w.err" &
pid=$!
port=
for _ in $(seq 200); do
  port=$(grep -o 'listening on http://127.0.0.1:[0-9]*' "$d/w.err" | sed 's/.*://' || true)
  grep -q 'feed done' "$d/w.err" 2>/dev/null && [ -n "$port" ] && break
  sleep 0.05
done
if [ -n "$port" ]; then
  url="http://127.0.0.1:$port/metrics"
  curl -s -m 10 "$url" >"$d/metrics.txt"
  lines=$(grep -c . "$d/metrics.txt"); bytes=$(wc -c <"$d/metrics.txt")
  pos=$(grep -c '^gantry_position{' "$d/metrics.txt" || true)
  args=(); for _ in $(seq 50); do args+=(-o /dev/null "$url"); done
  curl -s -m 60 -w '%{time_total}\n' "${args[@]}" | median >"$d/scrape"
  awk -v t="$(cat "$d/scrape")" -v l="$lines" -v b="$bytes" -v p="$pos" 'BEGIN{
    printf "/metrics at 10 strategies x 500 symbols (%d positions): %d lines, %.0f KiB, median scrape %.2f ms (curl, 50 scrapes)\n", p, l, b/1024, t*1000 }'
else
  echo "/metrics scrape: the host did not come up (see $d/w.err)"
fi
"$GANTRY_BIN" ctl "$d/w.sock" stop >/dev/null 2>&1 || kill "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
