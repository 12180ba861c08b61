-- pairs: trade the spread between two symbols. The spread is
-- log(A) - beta * log(B); when its z-score over `window` bars leaves
-- +/- `entry`, sell the rich leg and buy the cheap one; close both when it
-- comes back inside +/- `exit`. Dollar-neutral legs of about `notional` each.
local ta = require "gantry.ta"

local S = {
  params = { a = "AAA", b = "BBB", beta = 1.0, window = 60, entry = 2.0, exit = 0.5, notional = 10000 },
}

-- the two legs are parameters: the host asks for the symbols once params are merged
function S.symbols(p) return { p.a, p.b } end

-- the indicator is a local of the file (ctx.state keeps plain data for reloads)
local zscore

function S.on_start(ctx)
  ctx.state.last = {}
end

local function size(ctx, price)
  return math.max(1, math.floor(ctx.params.notional / price))
end

local function flatten(ctx)
  for _, sym in ipairs({ ctx.params.a, ctx.params.b }) do
    local pos = ctx:position(sym)
    if pos > 0 then ctx:sell(sym, pos) elseif pos < 0 then ctx:buy(sym, -pos) end
  end
end

function S.on_bar(ctx, bar)
  local p, st = ctx.params, ctx.state
  st.last[bar.symbol] = bar.close
  local pa, pb = st.last[p.a], st.last[p.b]
  -- act once both legs have a price for the same time: on the B bar
  if bar.symbol ~= p.b or not pa or not pb then return end
  zscore = zscore or ta.zscore(p.window)
  local z = zscore:update(math.log(pa) - p.beta * math.log(pb))
  if not z then return end
  local held = ctx:position(p.a) ~= 0 or ctx:position(p.b) ~= 0
  if not held and z > p.entry then
    ctx:sell(p.a, size(ctx, pa)); ctx:buy(p.b, size(ctx, pb))
  elseif not held and z < -p.entry then
    ctx:buy(p.a, size(ctx, pa)); ctx:sell(p.b, size(ctx, pb))
  elseif held and math.abs(z) < p.exit then
    flatten(ctx)
  end
end

return S
