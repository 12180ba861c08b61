#!/usr/bin/env bash
# Order-book backtests on the generated day of itch.bench.sh (made here when
# missing): a Lua strategy subscribed to the busiest symbol, and the
# tick-to-order latency (start of decoding the triggering message -> order
# handed to the venue) of a strategy that orders on every Nth top-of-book change.
set -euo pipefail
day="$BENCH_TMP/itch-day.itch"
if [ ! -f "$day" ]; then
  "$GANTRY_TOOLS/gen_itch" --seed 1 --messages "${ITCH_BENCH_MESSAGES:-50000000}" --symbols 8000 \
    --live 1000000 --out "$day" 2>/dev/null
fi
d=$BENCH_TMP/tick
mkdir -p "$d"
cat >"$d/follow.lua" <<'LUA'
-- busy-symbol follower: tracks the spread on every top-of-book change
local S = { symbols = { "AAAA" } }
local n, spread = 0, 0
function S.on_book(ctx, b) n = n + 1; if b.ask > 0 and b.bid > 0 then spread = spread + (b.ask - b.bid) end end
return S
LUA
cat >"$d/every.lua" <<'LUA'
-- orders on every 100th top-of-book change (alternating sides, small size)
local S = { symbols = { "AAAA" }, params = { every = 100 } }
local n = 0
function S.on_book(ctx, b)
  n = n + 1
  if n % ctx.params.every == 0 then
    if ctx:position("AAAA") > 0 then ctx:sell("AAAA", 1) else ctx:buy("AAAA", 1) end
  end
end
return S
LUA
# each build: Lua 5.4 (GANTRY_BIN), and LuaJIT when make bench built it
builds=("Lua 5.4:$GANTRY_BIN")
[ -n "${GANTRY_BIN_LUAJIT:-}" ] && builds+=("LuaJIT:$GANTRY_BIN_LUAJIT")
for b in "${builds[@]}"; do
  vm=${b%%:*} bin=${b#*:}
  "$GANTRY_BENCH/runstat" "$bin" backtest "$d/follow.lua" --data "$day" --out "$d/o1" --overwrite \
    --no-report --quiet 2>"$d/stat1"
  awk -F'[:,]' -v vm="$vm" '{for(i=1;i<=NF;i++){if($i~/"events"/)e=$(i+1); if($i~/"elapsed_s"/)s=$(i+1)}}
    END{printf "backtest (%s), Lua on_book for AAAA: %d msgs  %.3f s  %.1f ns/msg  %.2f M msgs/s\n",
        vm, e, s, s/e*1e9, e/s/1e6}' "$d/o1/summary.json"
  sed 's/^runstat: /  (/; s/$/)/' "$d/stat1"
done
# the machine's own interruptions of a busy thread: the floor under the tail;
# and the L3 the other tenants leave: a tick's code and state live there
"$GANTRY_BENCH/bench_gaps" 3
"$GANTRY_BENCH/bench_mem" 4
# the tail moves with the minute (expect says by how much): TICK_RUNS runs
# (default 3) of each build, the builds alternated
# with the probe builds (GANTRY_PROBES: the clock reads exist only there)
probes=("Lua 5.4:${GANTRY_BIN_PROBE:-$GANTRY_BIN}")
[ -n "${GANTRY_BIN_PROBE_LUAJIT:-}" ] && probes+=("LuaJIT:$GANTRY_BIN_PROBE_LUAJIT")
for run in $(seq "${TICK_RUNS:-3}"); do
  for b in "${probes[@]}"; do
    vm=${b%%:*} bin=${b#*:}
    GANTRY_PROBE="$d/probe" "$bin" backtest "$d/every.lua" --data "$day" --out "$d/o2" --overwrite --no-report \
      --quiet --preload
    printf 'tick-to-order (%s), every 100th top-of-book change of AAAA, run %s: %s\n' "$vm" "$run" \
      "$(cat "$d/probe")"
  done
done
