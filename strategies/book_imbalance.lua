-- book_imbalance: an order-book (ITCH) strategy. When the displayed size on
-- one side of the best prices outweighs the other by `ratio`, it leans that
-- way with an IOC order at the far touch (crossing the spread); it takes profit or cuts the position
-- after `hold_ms` of event time. One position at a time per symbol.
local S = {
  params = { symbol = "AAAA", ratio = 3.0, qty = 100, hold_ms = 500 },
}

function S.symbols(p) return { p.symbol } end

local entered = {} -- symbol -> event time (ns) of the entry fill

function S.on_book(ctx, b)
  if b.bid <= 0 or b.ask <= 0 or b.bid_qty <= 0 or b.ask_qty <= 0 then return end
  local p = ctx.params
  local pos = ctx:position(b.symbol)
  if pos ~= 0 then
    local t = entered[b.symbol]
    if t and b.time - t >= p.hold_ms * 1e6 and #ctx:orders(b.symbol) == 0 then
      if pos > 0 then ctx:sell(b.symbol, pos) else ctx:buy(b.symbol, -pos) end
      entered[b.symbol] = nil
    end
    return
  end
  if #ctx:orders(b.symbol) > 0 then return end
  if b.bid_qty >= p.ratio * b.ask_qty then
    ctx:buy(b.symbol, p.qty, { limit = b.ask, tif = "ioc" })
  elseif b.ask_qty >= p.ratio * b.bid_qty then
    ctx:sell(b.symbol, p.qty, { limit = b.bid, tif = "ioc" })
  end
end

function S.on_fill(ctx, f)
  if ctx:position(f.symbol) ~= 0 then entered[f.symbol] = f.time end
end

return S
