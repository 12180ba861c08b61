-- sma_cross: long `qty` shares while the fast SMA is above the slow one,
-- flat when it crosses below. The contract's example strategy.
local ta = require "gantry.ta"

local S = {
  params = { symbol = "AAPL", fast = 10, slow = 30, qty = 100 },
}

function S.on_start(ctx)
  local p = ctx.params
  if p.fast >= p.slow then
    error(("fast (%d) must be below slow (%d)"):format(p.fast, p.slow))
  end
  ctx.state.fast = ta.sma(p.fast)
  ctx.state.slow = ta.sma(p.slow)
  ctx.state.cross = ta.cross()
end

function S.on_bar(ctx, bar)
  local st = ctx.state
  local f = st.fast:update(bar.close)
  local s = st.slow:update(bar.close)
  local c = st.cross:update(f, s)
  if c == 1 and ctx:position(bar.symbol) <= 0 then
    ctx:buy(bar.symbol, ctx.params.qty)
  elseif c == -1 then
    local pos = ctx:position(bar.symbol)
    if pos > 0 then ctx:sell(bar.symbol, pos) end
  end
end

return S
