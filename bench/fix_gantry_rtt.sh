#!/usr/bin/env bash
# fix_gantry_rtt: gantry's ctx:buy -> on_fill round trip over FIX on loopback,
# run by bench/fix_quickfix_rtt.sh (FIX_RTT_ALT) against a fresh QuickFIX
# acceptor right after each QuickFIX initiator round, so the two alternate.
# `gantry live` runs a strategy that buys 1 XYZ at market, and on each fill
# buys again, FIX_RTT_N times; each buy and each fill logs a line (ctx:log,
# the log's microsecond wall clock), and the round trip is fill line minus
# buy line: ctx:buy -> risk -> oms -> NewOrderSingle -> acceptor -> fill
# ExecutionReport -> oms -> on_fill. Prints p50/p99/p99.9 in us.
# Environment (from fix_quickfix_rtt.sh): FIX_RTT_PORT, FIX_RTT_N, FIX_RTT_DIR;
# GANTRY_BIN (default ./gantry).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${GANTRY_BIN:-./gantry}
d=${FIX_RTT_DIR:?}
n=${FIX_RTT_N:-2000}
mkdir -p "$d/gantry"
cat >"$d/gantry/rtt.lua" <<LUA
local S = { params = { symbol = "XYZ", n = $n } }
local sent = 0
local function buy(ctx)
  sent = sent + 1
  ctx:log("info", "B %d", sent)
  ctx:buy("XYZ", 1)
end
function S.on_bar(ctx, bar) if sent == 0 then buy(ctx) end end
function S.on_fill(ctx, f)
  ctx:log("info", "F %d", sent)
  if sent < ctx.params.n then buy(ctx) end
end
return S
LUA
# two bars 30 s apart, replayed in real time: the chain of orders runs
# between them; gantry stops once the last fill is in (ctl stop)
printf 'datetime,open,high,low,close,volume\n2024-01-02 10:00:00,100,100,100,100,1\n2024-01-02 10:00:30,100,100,100,100,1\n' >"$d/gantry/XYZ.csv"
printf "return { venue = { heartbeat_s = 30, store = '%s/gantry/store', connect_timeout_s = 5 } }\n" "$d" >"$d/gantry/deploy.lua"
"$bin" live "$d/gantry/rtt.lua" --feed "file:$d/gantry/XYZ.csv?speed=1" \
  --venue "fix://127.0.0.1:$FIX_RTT_PORT?sender=${FIX_RTT_TARGET:-HOST}&target=${FIX_RTT_SENDER:-EXEC}" \
  --config "$d/gantry/deploy.lua" --out "$d/gantry/out" --ctl "$d/gantry/ctl.sock" \
  --no-report --quiet --no-watch 2>"$d/gantry/log" &
pid=$!
for _ in $(seq 1 600); do
  grep -q "INFO rtt: F $n\$" "$d/gantry/log" 2>/dev/null && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.05
done
"$bin" ctl "$d/gantry/ctl.sock" stop >/dev/null 2>&1 || kill "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
# `2026-12-07T03:24:24.379688Z INFO rtt: B 17` -> microseconds of the day
awk '/ INFO rtt: [BF] [0-9]+$/ {
       split(substr($1, 12, 15), t, ":"); us = (t[1] * 3600 + t[2] * 60 + t[3]) * 1e6
       if ($4 == "B") b[$5] = us; else if ($5 in b) print us - b[$5]
     }' "$d/gantry/log" | sort -g >"$d/gantry/rtt"
k=$(wc -l <"$d/gantry/rtt")
if [ "$k" -eq 0 ]; then
  echo "fix_gantry_rtt: no round trip measured: $(tail -n 3 "$d/gantry/log")" >&2
  exit 1
fi
pct() { awk -v p="$1" -v k="$k" 'NR == int((k - 1) * p) + 1 { print; exit }' "$d/gantry/rtt"; }
echo "fix_gantry_rtt round: n=$k p50=$(pct 0.5) p99=$(pct 0.99) p999=$(pct 0.999) us" \
  "(ctx:buy -> on_fill, gantry live -> QuickFIX acceptor, loopback)"
