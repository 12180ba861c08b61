-- Stops, stop limits, trailing stops, FOK, brackets and OCO pairs: each
-- order type and each rule of the execution models at its edges, on bars
-- small enough to check by hand, on an ITCH day, and the same fills in a
-- backtest and in a paper replay.
local T = require "support"

-- Bars of X, one a day from 2024-01-01: each row "open high low close".
local function bars(dir, rows, name)
  local lines = { "datetime,open,high,low,close,volume" }
  for i, r in ipairs(rows) do
    lines[#lines + 1] = string.format("2024-01-%02d,%s,1000", i, r:gsub("%s+", ","))
  end
  return T.write(dir .. "/" .. (name or "X") .. ".csv", table.concat(lines, "\n") .. "\n")
end

-- A strategy that sends `orders` (Lua source of a function body run with
-- ctx) on the first bar, and logs every fill and order update.
local function strategy(dir, orders, extra)
  return T.write(dir .. "/s.lua", [[
    local S = {}
    function S.on_bar(ctx, bar)
      if ctx.state.sent then ]] .. (extra or "") .. [[ return end
      ctx.state.sent = true
      ]] .. orders .. [[
    end
    function S.on_fill(ctx, f) ctx:log("info", "fill %d %s %g @ %g", f.order_id, f.side, f.qty, f.price) end
    function S.on_order(ctx, o) ctx:log("info", "order %d %s %s", o.id, o.status, o.reason or "") end
    return S]])
end

local function run(dir, s, data, extra)
  local args = { "backtest", s, "--data", data, "--out", dir .. "/o", "--overwrite", "--no-report", "--quiet" }
  for _, a in ipairs(extra or {}) do args[#args + 1] = a end
  local code, out, err = T.gantry(args, dir)
  local ok, fills = pcall(T.csv, dir .. "/o/fills.csv")
  local _, orders = pcall(T.csv, dir .. "/o/orders.csv")
  return code, ok and fills or {}, orders, err, out
end

-- fills as "ORDER side qty@price" in order
local function fills_of(fills)
  local t = {}
  for _, f in ipairs(fills) do t[#t + 1] = string.format("%s %s %s@%s", f.order_id, f.side, f.qty, f.price) end
  return t
end

describe("stop orders on bars", function()
  local dir
  before_each(function() dir = T.tmpdir() end)
  after_each(function() T.rmdir(dir) end)

  it("a buy stop fills at the stop when the high reaches it, not before", function()
    local data = bars(dir, { "100 101 99 100", "101 104.9 100 103", "103 106 102 105" })
    local code, fills, orders, err = run(dir, strategy(dir, [[ctx:buy("X", 1, { stop = 105 })]]), data)
    assert.equal(0, code, err)
    assert.same({ "1 buy 1@105" }, fills_of(fills))
    assert.equal("2024-01-03T00:00:00.000000Z", fills[1].time)
    assert.same({ "stop", "105" }, { orders[1].type, orders[1].price })
  end)

  it("a stop the open gaps through fills at the open", function()
    local data = bars(dir, { "100 101 99 100", "107 108 106 107" })
    local _, fills = run(dir, strategy(dir, [[ctx:buy("X", 1, { stop = 105 }); ctx:sell("X", 1, { stop = 95 })]]),
      bars(dir, { "100 101 99 100", "107 108 106 107", "90 91 89 90" }))
    assert.same({ "1 buy 1@107", "2 sell 1@90" }, fills_of(fills))
    local _, touch = run(dir, strategy(dir, [[ctx:sell("X", 1, { stop = 95 })]]),
      bars(dir, { "100 101 99 100", "98 99 95 96" }))
    assert.same({ "1 sell 1@95" }, fills_of(touch)) -- the low touching the stop is enough
    assert.truthy(data)
  end)

  it("a stop limit triggered at the open is a limit for that bar", function()
    -- opens at 107 over the stop 105: a limit 106 buy fills at 106 when the low reaches it
    local _, fills = run(dir, strategy(dir, [[ctx:buy("X", 1, { stop = 105, limit = 106 })]]),
      bars(dir, { "100 101 99 100", "107 108 105.5 107" }))
    assert.same({ "1 buy 1@106" }, fills_of(fills))
    -- the low stays above the limit: no fill on that bar, a limit after it
    local _, later = run(dir, strategy(dir, [[ctx:buy("X", 1, { stop = 105, limit = 106 })]]),
      bars(dir, { "100 101 99 100", "107 108 106.5 107", "106.5 107 105 106" }))
    assert.same({ "1 buy 1@106" }, fills_of(later))
    assert.equal("2024-01-03T00:00:00.000000Z", later[1].time)
  end)

  it("a stop limit triggered inside the bar fills at the stop when the limit allows, else rests from the next bar", function()
    local _, at_stop = run(dir, strategy(dir, [[ctx:buy("X", 1, { stop = 105, limit = 105.5 })]]),
      bars(dir, { "100 101 99 100", "103 106 102 105" }))
    assert.same({ "1 buy 1@105" }, fills_of(at_stop))
    -- limit 104 under the stop 105: the bar's low 102 does not fill it (it
    -- triggered inside the bar), the next bar's does, at the limit
    local _, rests = run(dir, strategy(dir, [[ctx:buy("X", 1, { stop = 105, limit = 104 })]]),
      bars(dir, { "100 101 99 100", "103 106 102 105", "104.5 105 103.5 104" }))
    assert.same({ "1 buy 1@104" }, fills_of(rests))
    assert.equal("2024-01-03T00:00:00.000000Z", rests[1].time)
  end)

  it("a trailing stop starts from the last close, follows the closes, never moves away, and triggers", function()
    local data = bars(dir, {
      "100 101 99 100",    -- placed: stop 98
      "101 104 100 103",   -- not reached; close 103 -> stop 101
      "102 103 101.5 101.6", -- not reached; a lower close: stays 101
      "102.5 103 100.5 101", -- the low 100.5 reaches 101: fills at 101
    })
    local code, fills, orders, err = run(dir, strategy(dir, [[ctx:sell("X", 1, { trail = 2 })]]), data)
    assert.equal(0, code, err)
    assert.same({ "1 sell 1@101" }, fills_of(fills))
    assert.equal("2024-01-04T00:00:00.000000Z", fills[1].time)
    assert.equal("trailing_stop", orders[1].type)
    -- by percent: 1 % of 100 = stop 99, then 1 % under the best close 103
    local _, pct = run(dir, strategy(dir, [[ctx:sell("X", 1, { trail_pct = 1 })]]), data)
    assert.same({ "1 sell 1@101.97" }, fills_of(pct))
  end)

  it("follows the highs with sim.trail_on = \"extreme\"", function()
    local data = bars(dir, { "100 101 99 100", "101 104 100 103", "102.5 103 100.5 101" })
    local cfg = T.write(dir .. "/cfg.lua", 'return { sim = { trail_on = "extreme" } }')
    local _, fills = run(dir, strategy(dir, [[ctx:sell("X", 1, { trail = 2 })]]), data, { "--config", cfg })
    -- high 104 -> stop 102; the next bar opens at 102.5 and trades down to it
    assert.same({ "1 sell 1@102" }, fills_of(fills))
  end)

  it("FOK fills wholly on the first bar it can, else expires", function()
    local data = bars(dir, { "100 101 99 100", "101 102 100 101", "99 100 98 99" })
    local _, fills, orders = run(dir, strategy(dir, [[ctx:buy("X", 1, { limit = 99, tif = "fok" });
      ctx:buy("X", 2, { limit = 100.5, tif = "fok" })]]), data)
    assert.same({ "2 buy 2@100.5" }, fills_of(fills))
    assert.same({ "fok", "expired", "fok" }, { orders[1].tif, orders[1].status, orders[1].reason })
  end)
end)

describe("brackets on bars", function()
  local dir
  before_each(function() dir = T.tmpdir() end)
  after_each(function() T.rmdir(dir) end)

  local entry = [[ctx:buy("X", 10, { limit = 100.5, take_profit = 105, stop_loss = 96 })]]

  it("places the exits as the entry fills and tries them from the next bar, one cancelling the other", function()
    -- the entry fills on bar 2, whose high 106 passes the take-profit: not
    -- tried there; bar 3 reaches it
    local data = bars(dir, { "100 101 99 100", "101 106 100 103", "103 105.5 102 104" })
    local code, fills, orders, err = run(dir, strategy(dir, entry), data)
    assert.equal(0, code, err)
    assert.same({ "1 buy 10@100.5", "2 sell 10@105" }, fills_of(fills))
    assert.equal("2024-01-03T00:00:00.000000Z", fills[2].time)
    assert.same({ "limit", "105", "10", "gtc" }, { orders[2].type, orders[2].price, orders[2].qty, orders[2].tif })
    assert.same({ "stop", "96", "canceled", "oco" }, { orders[3].type, orders[3].price, orders[3].status, orders[3].reason })
    local sum = T.json(T.read(dir .. "/o/summary.json"))
    assert.equal(0, sum.bracket_ambiguous)
  end)

  it("a bar that reaches both exits fills the stop-loss, and the summary counts it", function()
    local data = bars(dir, { "100 101 99 100", "101 102 100 101", "101 106 95 100" })
    local _, fills = run(dir, strategy(dir, entry), data)
    assert.same({ "1 buy 10@100.5", "3 sell 10@96" }, fills_of(fills))
    assert.equal(1, T.json(T.read(dir .. "/o/summary.json")).bracket_ambiguous)
  end)

  it("unless the open already passed the take-profit: it fills at the open", function()
    local data = bars(dir, { "100 101 99 100", "101 102 100 101", "107 108 95 100" })
    local _, fills = run(dir, strategy(dir, entry), data)
    assert.same({ "1 buy 10@100.5", "2 sell 10@107" }, fills_of(fills))
    assert.equal(1, T.json(T.read(dir .. "/o/summary.json")).bracket_ambiguous)
  end)

  it("refuses prices on the wrong sides and options that cannot go together", function()
    local data = bars(dir, { "100 101 99 100", "101 102 100 101" })
    local s = strategy(dir, [[
      local function try(label, a, b) ctx:log("info", "%s -> %s %s", label, tostring(a), tostring(b)) end
      try("crossed", ctx:buy("X", 1, { limit = 100, take_profit = 95, stop_loss = 105 }))
      try("short_crossed", ctx:sell("X", 1, { take_profit = 105, stop_loss = 95 }))
      try("negative", ctx:buy("X", 1, { stop = -1 }))
      try("text", ctx:buy("X", 1, { trail = "2" }))
      try("both_trails", ctx:sell("X", 1, { trail = 1, trail_pct = 1 }))
      try("stop_trail", ctx:sell("X", 1, { trail = 1, stop = 90 }))
      try("trail_limit", ctx:buy("X", 1, { limit = 101, trail_pct = 1 }))
      try("tif", ctx:buy("X", 1, { tif = "gfd" }))
      try("stop_ioc", ctx:buy("X", 1, { stop = 105, tif = "ioc" }))]])
    local code, fills, orders, err = run(dir, s, data)
    assert.equal(0, code, err)
    assert.same({}, fills)
    for label, want in pairs({
      crossed = "nil bad_bracket", short_crossed = "nil bad_bracket",
      negative = "nil bad_option: stop", text = "nil bad_option: trail",
      both_trails = "nil bad_option: trail", stop_trail = "nil bad_option: trail",
      trail_limit = "nil bad_option: trail_pct", tif = "nil bad_option: tif",
      stop_ioc = "nil bad_option: tif",
    }) do
      assert.truthy(T.logged(err, "INFO s: ", label .. " %-> " .. want:gsub("%p", "%%%0") .. "\n"), label)
    end
    assert.truthy(T.logged(err, "WARN s: ", "ctx:buy refused: bad_option: stop must be a positive number"))
    assert.truthy(T.logged(err, "WARN s: ", "ctx:sell refused: bad_option: trail cannot go with trail_pct"))
    assert.truthy(T.logged(err, "WARN s: ", 'ctx:buy refused: bad_option: tif must be "day", "ioc", "gtc" or "fok"'))
    assert.truthy(T.logged(err, "WARN s: ", "ctx:buy refused: bad_option: tif cannot go with stop"))
    -- the two brackets reached the order path: rejected there, in orders.csv
    assert.equal(2, #orders)
    assert.same({ "rejected", "bad_bracket" }, { orders[1].status, orders[1].reason })
  end)

  it("a trailing stop needs a price to trail from", function()
    local s = T.write(dir .. "/s.lua", [[
      local S = {}
      function S.on_start(ctx)
        local id, why = ctx:sell("X", 1, { trail = 1 })
        ctx:log("info", "-> %s %s", tostring(id), tostring(why))
      end
      return S]])
    local code, _, orders, err = run(dir, s, bars(dir, { "100 101 99 100" }))
    assert.equal(0, code, err)
    assert.truthy(T.logged(err, "INFO s: ", "%-> nil no_price"))
    assert.same({ "rejected", "no_price" }, { orders[1].status, orders[1].reason })
  end)

  it("the exits work on while the strategy is halted: the stop-loss fills", function()
    -- bar 3 closes at 97: a loss of 35 over max_daily_loss 20 halts the
    -- strategy (its working orders cancelled, not the exits); bar 4 reaches the stop-loss
    local data = bars(dir, { "100 101 99 100", "101 102 100 101", "99 100 97 97", "97 98 95 96" })
    local cfg = T.write(dir .. "/cfg.lua", "return { risk = { max_daily_loss = 20 } }")
    local s = strategy(dir, entry .. [[; ctx:buy("X", 1, { limit = 50 })]])
    local code, fills, orders, err = run(dir, s, data, { "--config", cfg })
    assert.equal(0, code, err)
    assert.truthy(T.logged(err, "WARN risk: ", "s halted: max_loss %(1 working orders canceled%)"))
    assert.same({ "1 buy 10@100.5", "4 sell 10@96" }, fills_of(fills))
    assert.equal("canceled", orders[2].status) -- the strategy's own order: cancelled by the halt
    assert.same({ "canceled", "oco" }, { orders[3].status, orders[3].reason })
  end)
end)

describe("ctx:oco", function()
  local dir
  before_each(function() dir = T.tmpdir() end)
  after_each(function() T.rmdir(dir) end)

  it("pairs two working orders: when both would fill on one bar only one does", function()
    local data = bars(dir, { "100 101 99 100", "100 103 97 100" })
    local s = strategy(dir, [[
      local a = ctx:buy("X", 1, { limit = 98 })
      local b = ctx:sell("X", 1, { limit = 102 })
      ctx:log("info", "oco -> %s", tostring(ctx:oco(a, b)))]])
    local code, fills, orders, err = run(dir, s, data)
    assert.equal(0, code, err)
    assert.truthy(T.logged(err, "INFO s: ", "oco %-> true"))
    assert.equal(1, #fills)
    assert.equal("1", fills[1].order_id) -- neither a stop nor passed at the open: the older
    assert.same({ "canceled", "oco" }, { orders[2].status, orders[2].reason })
  end)

  it("a cancel racing the other's fill: the fill wins, the cancel finds it closed", function()
    -- a fills on bar 2; the strategy, still on bar 2, cancels b: already gone (oco)
    local data = bars(dir, { "100 101 99 100", "100 101 97 100", "100 103 99 100" })
    local s = strategy(dir, [[
      ctx.state.a = ctx:buy("X", 1, { limit = 98 })
      ctx.state.b = ctx:sell("X", 1, { limit = 102 })
      ctx:oco(ctx.state.a, ctx.state.b)]], [[
      if not ctx.state.tried then
        ctx.state.tried = true
        local ok, why = ctx:cancel(ctx.state.b)
        ctx:log("info", "cancel b -> %s %s", tostring(ok), tostring(why))
      end]])
    local _, fills, orders, err = run(dir, s, data)
    assert.same({ "1 buy 1@98" }, fills_of(fills))
    assert.truthy(T.logged(err, "INFO s: ", "cancel b %-> nil not_open"))
    assert.same({ "canceled", "oco" }, { orders[2].status, orders[2].reason })
  end)

  it("a cancel of one cancels the other", function()
    local data = bars(dir, { "100 101 99 100", "100 101 99.5 100", "100 103 97 100" })
    local s = strategy(dir, [[
      ctx.state.a = ctx:buy("X", 1, { limit = 98 })
      ctx.state.b = ctx:sell("X", 1, { limit = 102 })
      ctx:oco(ctx.state.a, ctx.state.b)]], [[ctx:cancel(ctx.state.a)]])
    local _, fills, orders = run(dir, s, data)
    assert.same({}, fills)
    assert.same({ "canceled", "canceled", "oco" }, { orders[1].status, orders[2].status, orders[2].reason })
  end)

  it("says why it cannot pair", function()
    local data = bars(dir, { "100 101 99 100", "100 101 99.5 100" })
    local s = strategy(dir, [[
      local a = ctx:buy("X", 1, { limit = 90 })
      local b = ctx:sell("X", 1, { limit = 110 })
      local c = ctx:sell("X", 1, { limit = 120 })
      local function try(label, a, b) ctx:log("info", "%s -> %s %s", label, tostring(a), tostring(b)) end
      try("unknown", ctx:oco(a, 99))
      try("same", ctx:oco(a, a))
      try("ok", ctx:oco(a, b))
      try("twice", ctx:oco(a, c))
      ctx:cancel(c)
      try("closed", ctx:oco(b, c))]])
    local code, _, _, err = run(dir, s, data)
    assert.equal(0, code, err)
    for label, want in pairs({ unknown = "nil unknown_order", same = "nil same_order", ok = "true nil",
                               twice = "nil already_linked", closed = "nil not_open" }) do
      assert.truthy(T.logged(err, "INFO s: ", label .. " %-> " .. want), label)
    end
  end)
end)

describe("the sim section of the deploy config", function()
  local dir
  before_each(function() dir = T.tmpdir() end)
  after_each(function() T.rmdir(dir) end)

  for _, c in ipairs({
    { "sim = 1", "sim: expected a table" },
    { 'sim = { trail_on = "high" }', 'sim.trail_on: expected "close" or "extreme"' },
    { 'sim = { stop_trigger = 1 }', 'sim.stop_trigger: expected "trade" or "touch"' },
    { 'sim = { trail = "close" }', "unknown key 'sim.trail'" },
  }) do
    it("refuses " .. c[1], function()
      local cfg = T.write(dir .. "/cfg.lua", "return { " .. c[1] .. " }")
      local code, _, _, err = run(dir, strategy(dir, ""), bars(dir, { "100 101 99 100" }), { "--config", cfg })
      assert.equal(2, code)
      assert.matches(cfg .. ": " .. c[2], err, 1, true)
    end)
  end
end)

describe("stops on an order book", function()
  local dir, day
  setup(function()
    dir = T.tmpdir()
    day = dir .. "/day.itch"
    local code, _, err = T.sh(table.concat({ T.quote(T.tools .. "/gen_itch"), "--seed 7",
      "--messages 200000 --symbols 4 --out", T.quote(day) }, " "))
    assert(code == 0, err)
  end)
  teardown(function() T.rmdir(dir) end)

  -- A buy stop a little over the first trade seen; logs the trades after it.
  local stop_src = [[
    local S = { params = { symbol = "AAAA" } }
    function S.on_trade(ctx, t)
      if t.symbol ~= "AAAA" then return end
      if not ctx.state.id then
        ctx.state.stop = t.price + 0.02
        ctx.state.id = ctx:buy("AAAA", 100, { stop = ctx.state.stop })
      elseif not ctx.state.hit and t.price >= ctx.state.stop then
        ctx.state.hit = true
        ctx:log("info", "first trade at or over the stop: %.4f", t.price)
      end
    end
    function S.on_fill(ctx, f) ctx:log("info", "fill %d %g @ %.4f", f.order_id, f.qty, f.price) end
    return S]]

  it("a stop triggers on a trade at or over it and walks the book", function()
    local s = T.write(dir .. "/s.lua", stop_src)
    local code, _, err = T.gantry({ "backtest", s, "--data", day, "--out", dir .. "/o1", "--no-report", "--quiet" })
    assert.equal(0, code, err)
    assert.truthy(T.logged(err, "INFO s: ", "first trade at or over the stop"))
    local fills = T.csv(dir .. "/o1/fills.csv")
    assert.is_true(#fills >= 1)
    local filled = 0
    for _, f in ipairs(fills) do filled = filled + tonumber(f.qty) end
    assert.equal(100, filled)
    local orders = T.csv(dir .. "/o1/orders.csv")
    assert.same({ "stop", "filled" }, { orders[1].type, orders[1].status })
  end)

  it("with sim.stop_trigger = \"touch\" a stop triggers on the best ask", function()
    local s = T.write(dir .. "/s.lua", stop_src)
    local cfg = T.write(dir .. "/touch.lua", 'return { sim = { stop_trigger = "touch" } }')
    local code, _, err = T.gantry({ "backtest", s, "--data", day, "--out", dir .. "/o4", "--no-report",
                                    "--quiet", "--config", cfg })
    assert.equal(0, code, err)
    local orders = T.csv(dir .. "/o4/orders.csv")
    assert.same({ "stop", "filled", "100" }, { orders[1].type, orders[1].status, orders[1].filled })
    -- the touch comes no later than the trade
    assert.equal(0, (T.gantry({ "backtest", s, "--data", day, "--out", dir .. "/o5", "--no-report", "--quiet" })))
    local by_trade = T.csv(dir .. "/o5/fills.csv")
    local by_touch = T.csv(dir .. "/o4/fills.csv")
    assert.is_true(by_touch[1].time <= by_trade[1].time)
  end)

  it("FOK fills all against the displayed depth or nothing", function()
    local s = T.write(dir .. "/f.lua", [[
      local S = { params = { symbol = "AAAA" } }
      function S.on_book(ctx, b)
        if ctx.state.done or b.symbol ~= "AAAA" or b.ask_qty <= 0 or b.ask <= 0 then return end
        ctx.state.done = true
        ctx:buy("AAAA", b.ask_qty + 1000000, { limit = b.ask, tif = "fok" })
        ctx:buy("AAAA", 1, { limit = b.ask, tif = "fok" })
      end
      return S]])
    local code, _, err = T.gantry({ "backtest", s, "--data", day, "--out", dir .. "/o2", "--no-report", "--quiet" })
    assert.equal(0, code, err)
    local orders = T.csv(dir .. "/o2/orders.csv")
    assert.same({ "expired", "fok", "0" }, { orders[1].status, orders[1].reason, orders[1].filled })
    assert.same({ "filled", "1" }, { orders[2].status, orders[2].filled })
  end)

  it("a partly filled bracket entry gets exits for the filled quantity", function()
    local s = T.write(dir .. "/b.lua", [[
      local S = { params = { symbol = "AAAA" } }
      function S.on_book(ctx, b)
        if ctx.state.done or b.symbol ~= "AAAA" or b.ask_qty <= 0 or b.ask <= 0 then return end
        ctx.state.done = true
        ctx.state.want = b.ask_qty
        ctx:buy("AAAA", b.ask_qty + 100, { limit = b.ask, take_profit = b.ask + 5, stop_loss = b.ask - 5 })
        ctx:log("info", "ask_qty %d", b.ask_qty)
      end
      return S]])
    local code, _, err = T.gantry({ "backtest", s, "--data", day, "--out", dir .. "/o3", "--no-report", "--quiet" })
    assert.equal(0, code, err)
    local shown = tonumber(err:match("ask_qty (%d+)"))
    local orders = T.csv(dir .. "/o3/orders.csv")
    assert.equal(tostring(shown + 100), orders[1].qty)
    -- the first exits cover what filled at once (the displayed ask)
    assert.same({ "sell", "limit", tostring(shown) }, { orders[2].side, orders[2].type, orders[2].qty })
    assert.same({ "sell", "stop", tostring(shown) }, { orders[3].side, orders[3].type, orders[3].qty })
  end)
end)

describe("a bracket in a running host", function()
  local dir, h
  before_each(function() dir = T.tmpdir() end)
  after_each(function() T.reap(h); T.rmdir(dir) end)

  it("keeps its exits when the strategy fails (quarantined): the stop-loss fills", function()
    local data = bars(dir, { "100 101 99 100", "101 102 100 101", "101 102 100 101", "99 100 97 97", "97 98 95 96" })
    local s = T.write(dir .. "/q.lua", [[
      local S = {}
      function S.on_bar(ctx, bar)
        if not ctx.state.sent then
          ctx.state.sent = true
          ctx:buy("X", 10, { limit = 100.5, take_profit = 105, stop_loss = 96 })
        elseif ctx:position("X") > 0 then
          error("boom")
        end
      end
      return S]])
    h = T.spawn({ "paper", s, "--feed", "file:" .. data, "--out", dir .. "/o", "--ctl", dir .. "/ctl.sock",
                  "--no-report" }, dir)
    assert.equal(0, T.wait_exit(h, 30))
    assert.matches("q failed in on_bar of X at 2024%-01%-02", T.read(h.err))
    local fills = T.csv(dir .. "/o/fills.csv")
    assert.same({ "1 buy 10@100.5", "3 sell 10@96" }, fills_of(fills))
    assert.equal("2024-01-05T00:00:00.000000Z", fills[2].time)
  end)
end)

describe("the same stop strategy", function()
  local dir
  before_each(function() dir = T.tmpdir() end)
  after_each(function() T.rmdir(dir) end)

  it("gives the same fills in a backtest and in a paper replay", function()
    local rows = {}
    for i = 1, 60 do
      local px = 100 + 8 * math.sin(i / 5)
      rows[#rows + 1] = string.format("%.2f %.2f %.2f %.2f", px, px + 1.5, px - 1.5, px + 0.5)
    end
    local data = bars(dir, {}, "X")
    local lines = { "datetime,open,high,low,close,volume" }
    for i, r in ipairs(rows) do
      lines[#lines + 1] = os.date("!%Y-%m-%d", 1704067200 + (i - 1) * 86400) .. "," .. r:gsub(" ", ",") .. ",1000"
    end
    T.write(data, table.concat(lines, "\n") .. "\n")
    local s = T.write(dir .. "/s.lua", [[
      local S = {}
      function S.on_bar(ctx, bar)
        if ctx:position("X") == 0 and #ctx:orders("X") == 0 then
          ctx:buy("X", 10, { stop = bar.high + 0.5, take_profit = bar.high + 4, stop_loss = bar.low - 1 })
        end
      end
      return S]])
    local code, _, err = T.gantry({ "backtest", s, "--data", data, "--out", dir .. "/bt", "--no-report", "--quiet" })
    assert.equal(0, code, err)
    local h = T.spawn({ "paper", s, "--feed", "file:" .. data, "--out", dir .. "/pp",
                        "--ctl", dir .. "/ctl.sock", "--no-report" }, dir)
    local rc = T.wait_exit(h, 30)
    assert.equal(0, rc, T.read(h.err))
    local a, b = T.read(dir .. "/bt/fills.csv"), T.read(dir .. "/pp/fills.csv")
    assert.is_true(#T.lines(dir .. "/bt/fills.csv") > 4)
    assert.equal(a, b)
  end)
end)
