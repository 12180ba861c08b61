-- bracket_trail: enters long on a rebound with a trailing buy stop, and
-- every entry carries a bracket (take-profit and stop-loss exits, one
-- cancelling the other) for the quantity that fills. The example of the
-- host-held order types (README "Stops, brackets"): the stop, its trail and
-- the bracket's exits are held and triggered in C, so they work on while the
-- strategy is halted or being reloaded; live, a venue whose config lists
-- OrdType 3/4 (venue.order_types) gets the stops natively instead.
--
-- params: trail (distance of the trailing entry, price units), tp and sl
-- (the exits' distances from the close the entry was placed at), qty.
local S = {
  params = { symbol = "AAPL", qty = 100, trail = 1.0, tp = 4.0, sl = 3.0 },
}

function S.symbols(p) return { p.symbol } end

function S.on_bar(ctx, bar)
  local p = ctx.params
  if bar.symbol ~= p.symbol then return end
  -- one position or one working entry at a time: a bracket's exits are open
  -- orders too, so a new entry waits until the last one is closed out
  if ctx:position(p.symbol) ~= 0 or #ctx:orders(p.symbol) > 0 then return end
  local id, why = ctx:buy(p.symbol, p.qty, {
    trail = p.trail,
    take_profit = bar.close + p.tp,
    stop_loss = bar.close - p.sl,
  })
  if not id then ctx:log("warn", "entry refused: %s", why) end
end

function S.on_fill(ctx, f)
  ctx:log("info", "fill %d %s %g @ %g", f.order_id, f.side, f.qty, f.price)
end

return S
