-- ctx:replace(id, {qty=, price=}): a working order changed in place, on
-- bars, on an ITCH day and in a paper host over a venue that answers late;
-- the answers for an order that cannot be replaced; risk on the order it
-- becomes; on_order sees each step.
local T = require "support"

-- Bars of X, one a day from 2024-01-01: each row "open high low close".
local function bars(dir, rows)
  local lines = { "datetime,open,high,low,close,volume" }
  for i, r in ipairs(rows) do
    lines[#lines + 1] = string.format("2024-01-%02d,%s,1000", i, r:gsub("%s+", ","))
  end
  return T.write(dir .. "/X.csv", table.concat(lines, "\n") .. "\n")
end

-- A strategy whose on_bar runs `body` (ctx, bar, n: the bar's number) and
-- that logs every order update and fill.
local function strategy(dir, body)
  return T.write(dir .. "/s.lua", [[
    local S = { params = { symbol = "X" } }
    local n = 0
    local function say(ctx, what, ...) ctx:log("info", what, ...) end
    function S.on_bar(ctx, bar)
      n = n + 1
      ]] .. body .. [[
    end
    function S.on_order(ctx, o)
      say(ctx, "order %d %s qty=%g price=%s reason=%s", o.id, o.status, o.qty,
          o.price and string.format("%g", o.price) or "none", o.reason or "")
    end
    function S.on_fill(ctx, f) say(ctx, "fill %d %g @ %g", f.order_id, f.qty, f.price) end
    return S]])
end

local flat = { "100 101 99 100", "100 101 99 100", "100 101 99 100", "100 101 98 100", "100 101 97 100" }

local function backtest(dir, s, data, extra)
  local args = { "backtest", s, "--data", data, "--out", dir .. "/o", "--overwrite", "--no-report", "--quiet" }
  for _, a in ipairs(extra or {}) do args[#args + 1] = a end
  return T.gantry(args, dir)
end

describe("ctx:replace on bars", function()
  local dir
  before_each(function() dir = T.tmpdir() end)
  after_each(function() T.rmdir(dir) end)

  it("moves a resting limit: the new price and size fill from the next bar", function()
    local s = strategy(dir, [[
      if n == 1 then ctx.state.id = ctx:buy("X", 100, { limit = 90 }) end
      if n == 2 then say(ctx, "replace %s", tostring(ctx:replace(ctx.state.id, { qty = 40, price = 99 }))) end]])
    local code, _, err = backtest(dir, s, bars(dir, flat))
    assert.equal(0, code, err)
    assert.truthy(T.logged(err, "INFO s: ", "replace true"), err)
    assert.truthy(T.logged(err, "INFO s: ", "order 1 replaced qty=40 price=99 reason="), err)
    assert.truthy(T.logged(err, "INFO s: ", "fill 1 40 @ 99"), err)
    local orders = T.csv(dir .. "/o/orders.csv")
    assert.same({ "filled", "40", "99", "40" }, { orders[1].status, orders[1].qty, orders[1].price, orders[1].filled })
    local fills = T.csv(dir .. "/o/fills.csv")
    assert.same({ "2024-01-03T00:00:00.000000Z", "99" }, { fills[1].time, fills[1].price })
  end)

  it("answers nil and a reason for what cannot be replaced, and changes nothing", function()
    local s = strategy(dir, [[
      local function try(id, t)
        local ok, why = ctx:replace(id, t)
        say(ctx, "try %s %s", tostring(ok), tostring(why))
      end
      if n == 1 then
        ctx.state.lim = ctx:buy("X", 10, { limit = 90 })
        ctx.state.mkt = ctx:buy("X", 10)
        try(999, { qty = 5 })                      -- unknown_order
        try(ctx.state.lim, { qty = 10, price = 90 }) -- no_change
        try(ctx.state.lim, { size = 5 })            -- bad_option: size
        try(ctx.state.lim, { qty = -5 })            -- bad_option: qty
        try(ctx.state.lim, { qty = 2.5 })           -- bad_qty
        try(ctx.state.mkt, { price = 101 })         -- bad_price: a market order has none
      end
      if n == 3 then try(ctx.state.mkt, { qty = 5 }) end -- filled: not_open
    ]])
    local code, _, err = backtest(dir, s, bars(dir, flat))
    assert.equal(0, code, err)
    for _, why in ipairs({ "unknown_order", "no_change", "bad_option: size", "bad_option: qty", "bad_qty",
                           "bad_price", "not_open" }) do
      assert.truthy(T.logged(err, "INFO s: ", "try nil " .. why:gsub("%p", "%%%0") .. "\n"), why .. "\n" .. err)
    end
    assert.truthy(err:match("WARN s: [^\n]*ctx:replace refused: bad_option: qty %(the options are qty and price"), err)
    assert.falsy(err:match("order 1 replaced"), err)
    local orders = T.csv(dir .. "/o/orders.csv")
    assert.same({ "10", "90", "canceled" }, { orders[1].qty, orders[1].price, orders[1].status })
  end)

  it("is checked by risk as the order it becomes; a refusal is an on_order, the order unchanged", function()
    local cfg = T.write(dir .. "/cfg.lua", "return { risk = { max_order_qty = 100, max_position = 150 } }")
    local s = strategy(dir, [[
      if n == 1 then ctx.state.id = ctx:buy("X", 100, { limit = 90 }) end
      if n == 2 then
        say(ctx, "grow %s", select(2, ctx:replace(ctx.state.id, { qty = 120 })))
        ctx:buy("X", 50, { limit = 80 })
        -- 100 more working at 91 than at 90: with the other 50, 150 fits max_position
        say(ctx, "reprice %s", tostring(ctx:replace(ctx.state.id, { price = 91 })))
        say(ctx, "shrink %s", tostring(ctx:replace(ctx.state.id, { qty = 60 })))
      end]])
    local code, _, err = backtest(dir, s, bars(dir, flat), { "--config", cfg })
    assert.equal(0, code, err)
    assert.truthy(T.logged(err, "INFO s: ", "grow max_order_qty"), err)
    assert.truthy(T.logged(err, "INFO s: ", "order 1 accepted qty=100 price=90 reason=max_order_qty"), err)
    assert.truthy(err:match("WARN risk: [^\n]*s replace of order 1 %(qty 120, price 90%) refused: max_order_qty"), err)
    assert.truthy(T.logged(err, "INFO s: ", "reprice true"), err)
    assert.truthy(T.logged(err, "INFO s: ", "order 1 replaced qty=100 price=91"), err)
    assert.truthy(T.logged(err, "INFO s: ", "shrink true"), err)
    assert.truthy(T.logged(err, "INFO s: ", "order 1 replaced qty=60 price=91"), err)
  end)

  it("refuses a replace that would pass max_position, counting the order's other working orders", function()
    local cfg = T.write(dir .. "/cfg.lua", "return { risk = { max_position = 150 } }")
    local s = strategy(dir, [[
      if n == 1 then ctx.state.id = ctx:buy("X", 100, { limit = 90 }); ctx:buy("X", 50, { limit = 80 }) end
      if n == 2 then say(ctx, "grow %s", select(2, ctx:replace(ctx.state.id, { qty = 101 }))) end]])
    local code, _, err = backtest(dir, s, bars(dir, flat), { "--config", cfg })
    assert.equal(0, code, err)
    assert.truthy(T.logged(err, "INFO s: ", "grow max_position"), err)
    local orders = T.csv(dir .. "/o/orders.csv")
    assert.equal("100", orders[1].qty)
  end)
end)

describe("ctx:replace on an ITCH day", function()
  local dir, day
  setup(function()
    dir = T.tmpdir()
    day = dir .. "/day.itch"
    local code, _, err = T.sh(table.concat({ T.quote(T.tools .. "/gen_itch"), "--seed 7",
      "--messages 100000 --symbols 4 --out", T.quote(day) }, " "))
    assert(code == 0, err)
  end)
  teardown(function() T.rmdir(dir) end)

  it("a resting bid repriced to the ask takes it at once", function()
    local s = T.write(dir .. "/b.lua", [[
      local S = { params = { symbol = "AAAA" } }
      function S.on_book(ctx, b)
        if b.symbol ~= "AAAA" or b.ask <= 0 or b.bid <= 0 then return end
        if not ctx.state.id then
          ctx.state.id = ctx:buy("AAAA", 10, { limit = b.bid - 1 })
          ctx.state.n = 0
        elseif not ctx.state.moved then
          ctx.state.n = ctx.state.n + 1
          if ctx.state.n == 20 then
            ctx.state.moved = true
            ctx.state.ask = b.ask
            ctx:log("info", "replace to %.4f: %s", b.ask, tostring(ctx:replace(ctx.state.id, { price = b.ask })))
          end
        end
      end
      function S.on_order(ctx, o) ctx:log("info", "order %s", o.status) end
      return S]])
    local code, _, err = T.gantry({ "backtest", s, "--data", day, "--out", dir .. "/o", "--no-report", "--quiet" })
    assert.equal(0, code, err)
    local ask = err:match("replace to ([%d.]+): true")
    assert.truthy(ask, err)
    assert.truthy(T.logged(err, "INFO b: ", "order replaced"), err)
    local orders = T.csv(dir .. "/o/orders.csv")
    assert.same({ "filled", "10" }, { orders[1].status, orders[1].filled })
    assert.is_true(math.abs(tonumber(orders[1].avg_price) - tonumber(ask)) < 1e-9)
  end)
end)

describe("ctx:replace in paper over a late venue (--venue async:N)", function()
  local dir
  before_each(function() dir = T.tmpdir() end)
  after_each(function() T.rmdir(dir) end)

  it("is pending_replace, then replaced N events later", function()
    local s = strategy(dir, [[
      if n == 1 then ctx.state.id = ctx:buy("X", 100, { limit = 90 }) end
      if n == 3 then say(ctx, "replace %s", tostring(ctx:replace(ctx.state.id, { qty = 30, price = 98 }))) end
      if n == 4 then say(ctx, "again %s", tostring(select(2, ctx:replace(ctx.state.id, { qty = 20 })))) end]])
    local data = bars(dir, { "100 101 99 100", "100 101 99 100", "100 101 99 100", "100 101 99 100",
                             "100 101 99 100", "99 100 97 98", "100 101 99 100" })
    local code, _, err = T.gantry({ "paper", s, "--feed", "file:" .. data, "--venue", "async:2",
                                    "--out", dir .. "/o" }, dir)
    assert.equal(0, code, err)
    assert.truthy(err:match("INFO s: replace true"), err)
    assert.truthy(err:match("INFO s: order 1 replace_pending qty=100 price=90"), err)
    assert.truthy(err:match("INFO s: again pending"), err) -- one change at a time
    assert.truthy(err:match("INFO s: order 1 replaced qty=30 price=98"), err)
    assert.truthy(err:match("INFO s: fill 1 30 @ 98"), err)
    -- a running host's orders.csv has a row per change
    local statuses = {}
    for _, o in ipairs(T.csv(dir .. "/o/orders.csv")) do statuses[#statuses + 1] = o.status end
    assert.equal("filled", statuses[#statuses])
  end)
end)
