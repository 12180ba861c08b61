-- End to end: the gantry binary on small data it can be checked against by hand.
local T = require "support"

local function bars_csv(dir, name, rows, header)
  local lines = { header or "datetime,open,high,low,close,volume" }
  for _, r in ipairs(rows) do lines[#lines + 1] = r end
  return T.write(dir .. "/" .. name, table.concat(lines, "\n") .. "\n")
end

-- Ten daily bars of XYZ; opens are 100 + i, closes 100.5 + i, so each fill
-- price names the bar it happened on.
local function ten_bars(dir)
  local rows = {}
  for i = 1, 10 do
    rows[#rows + 1] = string.format("2024-01-%02d,%d,%d,%d,%.1f,1000", i, 100 + i, 102 + i, 99 + i, 100.5 + i)
  end
  return bars_csv(dir, "XYZ.csv", rows)
end

local function strategy(dir, name, src)
  return T.write(dir .. "/" .. name .. ".lua", src)
end

describe("gantry command line", function()
  it("prints usage with --help and exits 0", function()
    local code, out = T.gantry({ "--help" })
    assert.equal(0, code)
    assert.matches("usage: gantry COMMAND", out, 1, true)
    assert.matches("backtest", out)
  end)

  it("prints its version", function()
    local code, out = T.gantry({ "--version" })
    assert.equal(0, code)
    assert.matches(T.luajit and "^gantry %d+%.%d+%.%d+ %(LuaJIT 2%.1%)"
                   or "^gantry %d+%.%d+%.%d+ %(Lua 5%.4%)", out)
  end)

  it("rejects an unknown command with exit 2", function()
    local code, _, err = T.gantry({ "frobnicate" })
    assert.equal(2, code)
    assert.matches("gantry: unknown command 'frobnicate'", err, 1, true)
  end)

  it("rejects a backtest without data", function()
    local code, _, err = T.gantry({ "backtest", "strategies/sma_cross.lua" })
    assert.equal(2, code)
    assert.matches("no --data file given", err, 1, true)
  end)

  it("rejects a backtest without a strategy", function()
    local code, _, err = T.gantry({ "backtest", "--data", "x.csv" })
    assert.equal(2, code)
    assert.matches("no strategy file given", err, 1, true)
  end)

  it("rejects an unknown option", function()
    local code, _, err = T.gantry({ "backtest", "strategies/sma_cross.lua", "--dat", "x.csv" })
    assert.equal(2, code)
    assert.matches("--dat: unknown option", err, 1, true)
  end)

  it("rejects a bad --cash", function()
    local code, _, err = T.gantry({ "backtest", "strategies/sma_cross.lua", "--data", "x.csv", "--cash", "-5" })
    assert.equal(2, code)
    assert.matches("--cash -5: expected a positive number", err, 1, true)
  end)

  it("rejects an option without its value", function()
    local code, _, err = T.gantry({ "backtest", "strategies/sma_cross.lua", "--data" })
    assert.equal(2, code)
    assert.matches("--data needs a value", err, 1, true)
  end)

  it("names a missing data file", function()
    local code, _, err = T.gantry({ "backtest", "strategies/sma_cross.lua", "--data", "/nonexistent/a.csv" })
    assert.equal(2, code)
    assert.matches("/nonexistent/a.csv: cannot open", err, 1, true)
  end)

  it("names a missing strategy file", function()
    local dir = T.tmpdir()
    local code, _, err = T.gantry({ "backtest", dir .. "/nope.lua", "--data", ten_bars(dir) })
    assert.equal(2, code)
    assert.matches("nope.lua: cannot read", err, 1, true)
    T.rmdir(dir)
  end)
end)

describe("bad CSV data", function()
  local dir
  before_each(function() dir = T.tmpdir() end)
  after_each(function() T.rmdir(dir) end)

  local function expect(rows, message, header)
    local f = bars_csv(dir, "BAD.csv", rows, header)
    local code, _, err = T.gantry({ "backtest", "strategies/sma_cross.lua", "--data", f,
                                    "--param", "symbol=BAD", "--out", dir .. "/out" })
    assert.equal(2, code)
    assert.matches(message, err, 1, true)
    assert.not_matches("runtime error", err)
  end

  it("names the line with the wrong field count", function()
    expect({ "2024-01-01,1,2,1,1,10", "2024-01-02,1,2,1,1" }, "BAD.csv:3: expected 6 fields, got 5")
  end)
  it("names a bad number", function()
    expect({ "2024-01-01,1,2,1,abc,10" }, "BAD.csv:2: bad number 'abc' in column 'close'")
  end)
  it("refuses high below low", function()
    expect({ "2024-01-01,1,1,2,1,10" }, "BAD.csv:2: high 1 is below low 2")
  end)
  it("refuses an open outside the bar's range", function()
    expect({ "2024-01-01,5,2,1,1.5,10" }, "BAD.csv:2: open 5 is outside low..high 1..2")
  end)
  it("refuses time going back", function()
    expect({ "2024-01-02,1,2,1,1,10", "2024-01-01,1,2,1,1,10" }, "BAD.csv:3: time 2024-01-01 goes back")
  end)
  it("refuses a repeated time", function()
    expect({ "2024-01-02,1,2,1,1,10", "2024-01-02,1,2,1,1,10" }, "BAD.csv:3: duplicate time 2024-01-02")
  end)
  it("refuses a bad date", function()
    expect({ "2024-02-30,1,2,1,1,10" }, "BAD.csv:2: bad datetime '2024-02-30'")
  end)
  it("refuses negative volume", function()
    expect({ "2024-01-01,1,2,1,1,-10" }, "BAD.csv:2: negative volume -10")
  end)
  it("refuses an empty file", function()
    T.write(dir .. "/BAD.csv", "")
    local code, _, err = T.gantry({ "backtest", "strategies/sma_cross.lua", "--data", dir .. "/BAD.csv", "--param", "symbol=BAD" })
    assert.equal(2, code)
    assert.matches("BAD.csv: empty file", err, 1, true)
  end)
  it("refuses a file without a header", function()
    expect({ "2024-01-02,1,2,1,1,10" }, "BAD.csv:1: no header line (the first line is data: "
      .. "'2024-01-01,1,2,1,1,10'); name the columns with --header", "2024-01-01,1,2,1,1,10")
  end)
  it("names a missing column", function()
    expect({ "2024-01-02,1,2,1,1" }, "BAD.csv:1: header has no 'volume' column", "datetime,open,high,low,close")
  end)
  it("refuses a header with no rows", function()
    expect({}, "BAD.csv: no bars after the header")
  end)
  it("says which symbol the strategy wanted when the data lacks it", function()
    local f = ten_bars(dir)
    local code, _, err = T.gantry({ "backtest", "strategies/sma_cross.lua", "--data", f })
    assert.equal(2, code)
    assert.matches("strategy sma_cross trades AAPL, which no --data file has (the data has XYZ)", err, 1, true)
  end)
end)

describe("the bar execution model", function()
  local dir, data
  before_each(function() dir = T.tmpdir(); data = ten_bars(dir) end)
  after_each(function() T.rmdir(dir) end)

  local function run(src, extra)
    local s = strategy(dir, "s", src)
    local args = { "backtest", s, "--data", data, "--out", dir .. "/out", "--no-report" }
    for _, a in ipairs(extra or {}) do args[#args + 1] = a end
    local code, out, err = T.gantry(args)
    return code, out, err
  end

  it("fills a market order at the open of the next bar", function()
    local code, _, err = run([[
      local S = {}
      function S.on_bar(ctx, bar) if bar.time == ctx:now() and not ctx.state.sent then
        ctx.state.sent = true; assert(ctx:buy("XYZ", 10)) end end
      return S]])
    assert.equal(0, code, err)
    local fills = T.csv(dir .. "/out/fills.csv")
    assert.equal(1, #fills)
    assert.equal("2024-01-02T00:00:00.000000Z", fills[1].time)
    assert.equal("102", fills[1].price) -- bar 2 opens at 102
    assert.equal("buy", fills[1].side)
    assert.equal("10", fills[1].qty)
  end)

  it("fills a limit buy only when a later bar trades through it, at the better of open and limit", function()
    local code, _, err = run([[
      local S = {}
      function S.on_bar(ctx, bar)
        if not ctx.state.sent then ctx.state.sent = true
          ctx.state.a = ctx:buy("XYZ", 5, { limit = 101.5 })  -- bar 2: low 101, open 102 -> 101.5
          ctx.state.b = ctx:buy("XYZ", 5, { limit = 50 })     -- never
        end
      end
      return S]])
    assert.equal(0, code, err)
    local fills = T.csv(dir .. "/out/fills.csv")
    assert.equal(1, #fills)
    assert.equal("101.5", fills[1].price)
    assert.equal("2024-01-02T00:00:00.000000Z", fills[1].time)
    local orders = T.csv(dir .. "/out/orders.csv")
    assert.equal("filled", orders[1].status)
    assert.equal("canceled", orders[2].status)
    assert.equal("end_of_data", orders[2].reason)
  end)

  it("fills a limit sell at the limit when the open is below it", function()
    local code, _, err = run([[
      local S = {}
      function S.on_bar(ctx, bar)
        if not ctx.state.sent then ctx.state.sent = true; ctx:sell("XYZ", 3, { limit = 106.5 }) end
      end
      return S]])
    assert.equal(0, code, err)
    local fills = T.csv(dir .. "/out/fills.csv")
    assert.equal("106.5", fills[1].price) -- bar 5: open 105, high 107
    assert.equal("sell", fills[1].side)
  end)

  it("gives an IOC order one bar", function()
    local code, _, err = run([[
      local S = {}
      function S.on_bar(ctx, bar)
        if not ctx.state.sent then ctx.state.sent = true; ctx:buy("XYZ", 1, { limit = 50, tif = "ioc" }) end
      end
      return S]])
    assert.equal(0, code, err)
    local orders = T.csv(dir .. "/out/orders.csv")
    assert.equal("expired", orders[1].status)
    assert.equal("ioc", orders[1].reason)
  end)

  it("marks positions to the close and computes cash, equity and P&L", function()
    local code, out, err = run([[
      local S = {}
      function S.on_bar(ctx, bar)
        local n = (ctx.state.n or 0) + 1; ctx.state.n = n
        if n == 1 then ctx:buy("XYZ", 10) end
        if n == 3 then
          -- bought 10 at 102 on bar 2; bar 3 closes at 103.5
          assert(ctx:position("XYZ") == 10, "position")
          assert(ctx:cash() == 100000 - 1020, "cash " .. ctx:cash())
          assert(ctx:equity() == 100000 - 1020 + 1035, "equity " .. ctx:equity())
          assert(ctx:pnl("XYZ") == 15, "pnl " .. ctx:pnl("XYZ"))
          assert(ctx:pnl() == 15)
          ctx:sell("XYZ", 10) -- fills at bar 4's open, 104: +20
        end
      end
      function S.on_stop(ctx) assert(ctx:position("XYZ") == 0); assert(ctx:pnl() == 20, ctx:pnl()) end
      return S]])
    assert.equal(0, code, err)
    local s = T.json(T.read(dir .. "/out/summary.json"))
    assert.equal(100020, s.final_equity)
    assert.equal(1, s.round_trips)
    assert.equal(1, s.win_rate)
    assert.equal(2, s.fills)
    assert.near(0.0002, s.total_return, 1e-12)
  end)

  it("charges fees per share and in basis points", function()
    local code, _, err = run([[
      local S = {}
      function S.on_bar(ctx, bar) if not ctx.state.x then ctx.state.x = 1; ctx:buy("XYZ", 100) end end
      return S]], { "--fee-per-share", "0.01", "--fee-bps", "1" })
    assert.equal(0, code, err)
    local fills = T.csv(dir .. "/out/fills.csv")
    -- 100 * 0.01 + 100 * 102 * 1e-4 = 1 + 1.02
    assert.equal("2.02", fills[1].fee)
  end)

  it("writes one equity row per bar with equity = cash + position value", function()
    local code, _, err = run([[
      local S = {}
      function S.on_bar(ctx, bar) if not ctx.state.x then ctx.state.x = 1; ctx:buy("XYZ", 10) end end
      return S]])
    assert.equal(0, code, err)
    local rows, header = T.csv(dir .. "/out/equity.csv")
    assert.same({ "time", "equity", "cash", "position_value" }, header)
    assert.equal(10, #rows)
    for _, r in ipairs(rows) do
      assert.near(tonumber(r.equity), tonumber(r.cash) + tonumber(r.position_value), 1e-6)
    end
    assert.equal("98980", rows[10].cash)        -- 100000 - 10 * 102
    assert.equal("1105", rows[10].position_value) -- 10 * 110.5
  end)

  it("delivers on_fill and on_order to the strategy", function()
    local code, _, err = run([[
      local S = {}
      function S.on_bar(ctx, bar) if not ctx.state.x then ctx.state.x = 1; ctx.state.id = ctx:buy("XYZ", 7) end end
      function S.on_order(ctx, o) ctx.state.log = (ctx.state.log or "") .. o.status .. "," end
      function S.on_fill(ctx, f)
        assert(f.order_id == ctx.state.id and f.qty == 7 and f.price == 102 and f.symbol == "XYZ" and f.side == "buy")
        ctx.state.filled = true
      end
      function S.on_stop(ctx)
        assert(ctx.state.filled, "no fill")
        assert(ctx.state.log == "accepted,filled,", ctx.state.log)
      end
      return S]])
    assert.equal(0, code, err)
  end)

  it("returns nil and a reason for a bad order, and records it", function()
    local code, _, err = run([[
      local S = {}
      function S.on_bar(ctx, bar)
        if ctx.state.x then return end
        ctx.state.x = 1
        local id, why = ctx:buy("XYZ", 1.5); assert(id == nil and why == "bad_qty", why)
        id, why = ctx:buy("XYZ", 10, { limit = -1 }); assert(id == nil and why == "bad_price", why)
        id, why = ctx:buy("NOPE", 10); assert(id == nil and why == "unknown_symbol", why)
      end
      return S]])
    assert.equal(0, code, err)
    local orders = T.csv(dir .. "/out/orders.csv")
    assert.equal(2, #orders)
    assert.equal("rejected", orders[1].status)
    assert.equal("bad_qty", orders[1].reason)
    assert.equal("bad_price", orders[2].reason)
  end)

  it("lists and cancels open orders", function()
    local code, _, err = run([[
      local S = {}
      function S.on_bar(ctx, bar)
        if ctx.state.x then return end
        ctx.state.x = 1
        local a = ctx:buy("XYZ", 1, { limit = 10 })
        local b = ctx:buy("XYZ", 2, { limit = 11 })
        local c = ctx:sell("XYZ", 3, { limit = 500 })
        assert(#ctx:orders() == 3 and #ctx:orders("XYZ") == 3)
        assert(ctx:orders()[2].id == b and ctx:orders()[2].qty == 2 and ctx:orders()[2].price == 11)
        assert(ctx:cancel(a) == true)
        local ok, why = ctx:cancel(a); assert(ok == nil and why == "not_open", why)
        ok, why = ctx:cancel(999); assert(ok == nil and why == "unknown_order", why)
        assert(ctx:cancel_all() == 2)
        assert(#ctx:orders() == 0)
      end
      return S]])
    assert.equal(0, code, err)
    local orders = T.csv(dir .. "/out/orders.csv")
    for _, o in ipairs(orders) do assert.equal("canceled", o.status) end
  end)

  it("fires timers at their deadline in event time", function()
    local code, _, err = run([[
      local S = {}
      function S.on_start(ctx) ctx.state.fired = {} end
      function S.on_bar(ctx, bar) if not ctx.state.armed then ctx.state.armed = true; ctx:timer("t", 36 * 3600 * 1000) end end
      function S.on_timer(ctx, name)
        ctx.state.fired[#ctx.state.fired + 1] = name
        ctx.state.at = ctx:now()
      end
      function S.on_stop(ctx)
        assert(#ctx.state.fired == 1 and ctx.state.fired[1] == "t")
        -- armed at 2024-01-01 00:00; fires at +36 h, before the 2024-01-03 bar
        assert(ctx.state.at == (1704067200 + 36 * 3600) * 1e9, tostring(ctx.state.at))
      end
      return S]])
    assert.equal(0, code, err)
  end)

  it("gives params the types of their defaults", function()
    local code, _, err = run([[
      local S = { params = { n = 3, x = 1.5, flag = false, name = "a" } }
      function S.on_start(ctx)
        local p = ctx.params
        -- LuaJIT has one number type: there, n is a number like x
        assert((not math.type or math.type(p.n) == "integer") and p.n == 7, "n")
        assert(p.x == 2.25 and p.flag == true and p.name == "bcd")
      end
      return S]], { "--param", "n=7", "--param", "x=2.25", "--param", "flag=true", "--param", "name=bcd" })
    assert.equal(0, code, err)
  end)

  it("names an unknown parameter", function()
    local code, _, err = run("return { params = { n = 3 } }", { "--param", "m=7" })
    assert.equal(2, code)
    assert.matches("--param: unknown parameter 'm' for strategy s (known: n)", err, 1, true)
  end)

  it("names a parameter of the wrong type", function()
    local code, _, err = run("return { params = { n = 3 } }", { "--param", "n=abc" })
    assert.equal(2, code)
    assert.matches("--param n=abc: expected " .. T.an_int .. " for s.n", err, 1, true)
  end)

  it("names a scoped parameter for a strategy that is not in the run", function()
    local code, _, err = run("return { params = { n = 3 }, on_start = print }", { "--param", "other.n=4" })
    assert.equal(2, code)
    assert.matches("--param other.n: no strategy named 'other' in this run", err, 1, true)
  end)

  it("scopes a parameter by the strategy's name or its file's", function()
    local s = strategy(dir, "file", [[
      return { name = "mm", params = { k = 1 },
               on_start = function(ctx) ctx:log("info", "k=%d", ctx.params.k) end }]])
    for _, p in ipairs({ "mm.k=5", "file.k=5" }) do
      local code, _, err = T.gantry({ "backtest", s, "--data", data, "--param", p, "--out", dir .. "/o-" .. p,
                                      "--no-report" })
      assert.equal(0, code, err)
      assert.matches("INFO mm: k=5", err, 1, true) -- on_start: before the first event
    end
  end)

  it("ends the run with exit 1 and the file and line when a callback fails", function()
    local code, _, err = run([[
      local S = {}
      function S.on_bar(ctx, bar)
        local t = nil
        return t.x
      end
      return S]])
    assert.equal(1, code)
    assert.matches("s.lua:4: " .. T.nil_error("index", "local", "t"), err, 1, true)
    assert.matches("in on_bar", err, 1, true)
  end)

  it("is deterministic: the same input gives the same files", function()
    local src = [[
      local S = {}
      function S.on_bar(ctx, bar)
        if math.random() < 0.5 then ctx:buy("XYZ", math.random(1, 9)) else
          local p = ctx:position("XYZ"); if p > 0 then ctx:sell("XYZ", p) end end
      end
      return S]]
    local s = strategy(dir, "r", src)
    for i = 1, 2 do
      local code = T.gantry({ "backtest", s, "--data", data, "--out", dir .. "/o" .. i, "--seed", "7" })
      assert.equal(0, code)
    end
    for _, f in ipairs({ "fills.csv", "orders.csv", "equity.csv" }) do
      assert.equal(T.read(dir .. "/o1/" .. f), T.read(dir .. "/o2/" .. f))
    end
    assert.truthy(#T.read(dir .. "/o1/fills.csv") > 60)
  end)
end)

describe("sma_cross end to end", function()
  local dir
  before_each(function() dir = T.tmpdir() end)
  after_each(function() T.rmdir(dir) end)

  it("buys on the cross up and sells on the cross down", function()
    -- closes fall, rise for four bars, then fall: fast=2 crosses slow=3 up, then down
    local closes = { 10, 9, 8, 7, 8, 9, 10, 11, 10, 9, 8, 7 }
    local rows = {}
    for i, c in ipairs(closes) do
      rows[#rows + 1] = string.format("2024-03-%02d,%d,%d,%d,%d,100", i, c, c + 1, c - 1, c)
    end
    local f = bars_csv(dir, "ABC.csv", rows)
    local code, out, err = T.gantry({ "backtest", "strategies/sma_cross.lua", "--data", f, "--param", "symbol=ABC",
      "--param", "fast=2", "--param", "slow=3", "--param", "qty=5", "--out", dir .. "/out" })
    assert.equal(0, code, err)
    local fills = T.csv(dir .. "/out/fills.csv")
    assert.equal(2, #fills)
    -- sma2/sma3: bar 5 7.5 < 7.67, bar 6 8.5 > 8: cross up on bar 6, buy at bar 7's open (10)
    assert.same({ "buy", "10", "5" }, { fills[1].side, fills[1].price, fills[1].qty })
    assert.equal("2024-03-07T00:00:00.000000Z", fills[1].time)
    -- bar 9 10.5 > 10.33, bar 10 9.5 < 10: cross down on bar 10, sell at bar 11's open (8)
    assert.same({ "sell", "8", "5" }, { fills[2].side, fills[2].price, fills[2].qty })
    local s = T.json(T.read(dir .. "/out/summary.json"))
    assert.equal("sma_cross", s.strategy)
    assert.equal(12, s.events)
    assert.equal(99990, s.final_equity)
    assert.equal(0, s.win_rate)
    for _, k in ipairs({ "sharpe", "sortino", "max_drawdown", "elapsed_s", "events_per_s", "start_equity", "total_return" }) do
      assert.is_number(s[k], k)
    end
    local html = T.read(dir .. "/out/report.html")
    assert.matches("<svg", html, 1, true)
    assert.not_matches("https?://", html)
    assert.matches("strategy%s+sma_cross", out)
  end)

  it("runs several strategies on several merged files", function()
    T.gen_bars(dir, "--seed 3 --bars 300 --symbols AAPL,MSFT --corr 0.8")
    local code, out, err = T.gantry({ "backtest", "strategies/sma_cross.lua", "strategies/pairs.lua",
      "--data", dir .. "/AAPL.csv", "--data", dir .. "/MSFT.csv", "--param", "pairs.a=AAPL", "--param", "pairs.b=MSFT",
      "--param", "pairs.window=30", "--out", dir .. "/out" })
    assert.equal(0, code, err)
    local s = T.json(T.read(dir .. "/out/summary.json"))
    assert.equal("sma_cross,pairs", s.strategy)
    assert.equal(600, s.events)
    assert.equal(200000, s.start_equity)
    local orders = T.csv(dir .. "/out/orders.csv")
    local by = {}
    for _, o in ipairs(orders) do by[o.strategy] = (by[o.strategy] or 0) + 1 end
    assert.truthy(by.sma_cross and by.sma_cross > 0)
    assert.truthy(by.pairs and by.pairs > 0)
  end)
end)

describe("the example strategies", function()
  local dir
  setup(function()
    dir = T.tmpdir()
    T.gen_bars(dir, "--seed 42 --bars 504 --symbols AAPL,MSFT --corr 0.8 --start 2024-01-02")
  end)
  teardown(function() T.rmdir(dir) end)

  local cases = {
    { "sma_cross", { "--data", "AAPL.csv" } },
    { "rsi_reversion", { "--data", "MSFT.csv", "--param", "symbol=MSFT" } },
    { "pairs", { "--data", "AAPL.csv", "--data", "MSFT.csv", "--param", "a=AAPL", "--param", "b=MSFT",
                 "--param", "window=40", "--param", "entry=1.5" } },
  }
  for _, c in ipairs(cases) do
    it(c[1] .. " runs and trades", function()
      local args = { "backtest", "strategies/" .. c[1] .. ".lua", "--out", dir .. "/" .. c[1] }
      for _, a in ipairs(c[2]) do
        args[#args + 1] = a:match("%.csv$") and (dir .. "/" .. a) or a
      end
      local code, out, err = T.gantry(args)
      assert.equal(0, code, err)
      local s = T.json(T.read(dir .. "/" .. c[1] .. "/summary.json"))
      assert.equal(c[1], s.strategy)
      assert.truthy(s.fills >= 2, "no trades")
      assert.truthy(s.round_trips >= 1)
      assert.matches("report%s+.-report.html", out)
    end)
  end
end)
