-- The journal benchmark's strategy (bench/journal.bench.sh): on every bar it
-- cancels the limit order it rested on the last bar of that symbol and rests
-- a new one, and trades at market every 16th bar: about six journal records
-- an event (a transaction, a send, an acknowledgement, a cancel and its
-- confirmation), so a million records take some 170,000 bars.
local S = { name = "churn" }

function S.on_start(ctx)
  ctx.state.last = ctx.state.last or {}
  ctx.state.n = ctx.state.n or 0
end

function S.on_bar(ctx, bar)
  local st = ctx.state
  st.n = st.n + 1
  local prev = st.last[bar.symbol]
  if prev then ctx:cancel(prev) end
  st.last[bar.symbol] = ctx:buy(bar.symbol, 1, { limit = math.floor(bar.close * 90) / 100 })
  if st.n % 16 == 0 then
    if ctx:position(bar.symbol) > 0 then ctx:sell(bar.symbol, 1) else ctx:buy(bar.symbol, 1) end
  end
end

return S
