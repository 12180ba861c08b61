-- rsi_reversion: buy when RSI is oversold, sell when it recovers past the exit
-- level, with a limit order a little under the close on entry.
local ta = require "gantry.ta"

local S = {
  params = { symbol = "AAPL", period = 14, oversold = 30, exit = 55, qty = 100, discount_bps = 10 },
}

-- the indicator is a local of the file (ctx.state keeps plain data for reloads)
local rsi

function S.on_start(ctx)
  ctx.state.entry = nil  -- id of the working entry order
end

function S.on_bar(ctx, bar)
  local p, st = ctx.params, ctx.state
  rsi = rsi or ta.rsi(p.period)
  local r = rsi:update(bar.close)
  if not r then return end
  local pos = ctx:position(bar.symbol)
  if pos == 0 and not st.entry and r < p.oversold then
    local limit = math.floor(bar.close * (1 - p.discount_bps / 1e4) * 100) / 100
    st.entry = ctx:buy(bar.symbol, p.qty, { limit = limit })
  elseif pos > 0 and r > p.exit then
    ctx:sell(bar.symbol, pos)
  end
end

function S.on_order(ctx, order)
  -- the entry is done one way or another: allow the next one
  if order.id == ctx.state.entry and order.status ~= "accepted" and order.status ~= "partially_filled" then
    ctx.state.entry = nil
  end
end

return S
