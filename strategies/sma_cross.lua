-- sma_cross: long `qty` shares while the fast SMA is above the slow one,
-- flat when it crosses below. The contract's example strategy.
-- symbol = "*" trades every symbol in the data, each with its own averages.
--
-- The indicators live in a local table of this file, not in ctx.state:
-- ctx.state survives a hot reload only as plain data, and a new version
-- simply warms its averages up again.
local ta = require "gantry.ta"

local S = {
  params = { symbol = "AAPL", fast = 10, slow = 30, qty = 100 },
}

function S.symbols(p)
  if p.symbol == "*" then return {} end -- every symbol
  return { p.symbol }
end

local by_symbol = {}

local function indicators(p)
  return { fast = ta.sma(p.fast), slow = ta.sma(p.slow), cross = ta.cross() }
end

function S.on_start(ctx)
  local p = ctx.params
  if p.fast >= p.slow then
    error(("fast (%d) must be below slow (%d)"):format(p.fast, p.slow))
  end
end

function S.on_bar(ctx, bar)
  local sym = bar.symbol
  local ind = by_symbol[sym]
  if not ind then
    ind = indicators(ctx.params)
    by_symbol[sym] = ind
  end
  local close = bar.close
  local c = ind.cross:update(ind.fast:update(close), ind.slow:update(close))
  if c == 1 then
    if ctx:position(sym) <= 0 then ctx:buy(sym, ctx.params.qty) end
  elseif c == -1 then
    local pos = ctx:position(sym)
    if pos > 0 then ctx:sell(sym, pos) end
  end
end

return S
