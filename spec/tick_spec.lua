-- Order-book backtests: a strategy trading against a hand-built ITCH day
-- whose fills the venue model can be checked against by hand.
local T = require "support"

local function frame(msg) return string.pack(">s2", msg) end
local function R(loc, t, stock)
  return frame(string.pack(">c1I2I2I6c8c1c1I4c1c1c2c1c1c1c1c1I4c1", "R", loc, 0, t, stock, "Q", "N", 100, "N", "C", "  ", "P", "N", "N", "1", "N", 0, "N"))
end
local function S(t, code) return frame(string.pack(">c1I2I2I6c1", "S", 0, 0, t, code)) end
local function A(loc, t, ref, side, shares, stock, price)
  return frame(string.pack(">c1I2I2I6I8c1I4c8I4", "A", loc, 0, t, ref, side, shares, stock, price))
end
local function H(loc, t, stock, state)
  return frame(string.pack(">c1I2I2I6c8c1c1c4", "H", loc, 0, t, stock, state, " ", "    "))
end
local function E(loc, t, ref, shares, match)
  return frame(string.pack(">c1I2I2I6I8I4I8", "E", loc, 0, t, ref, shares, match))
end

local STOCK = "TEST    "
local function day(dir)
  local ms = 1000000
  local parts = {
    S(1 * ms, "O"), R(1, 2 * ms, STOCK),
    A(1, 10 * ms, 1, "B", 300, STOCK, 1000000),   -- bid 100.0000 x 300
    A(1, 11 * ms, 2, "B", 200, STOCK, 999900),    -- bid  99.9900 x 200
    A(1, 12 * ms, 4, "S", 500, STOCK, 1000200),   -- ask 100.0200 x 500
    A(1, 13 * ms, 3, "S", 100, STOCK, 1000100),   -- ask 100.0100 x 100: the strategy acts here
    E(1, 20 * ms, 1, 200, 1),                     -- 200 of the 300 ahead of us trade
    E(1, 21 * ms, 1, 100, 2),                     -- the last 100 ahead of us
    A(1, 22 * ms, 5, "B", 50, STOCK, 1000000),    -- joins the level behind us
    E(1, 23 * ms, 5, 50, 3),                      -- 50 trade at 100.00: we were first, 50 of ours fill
    A(1, 24 * ms, 6, "S", 200, STOCK, 1000000),   -- an ask comes to our bid: the other 50 fill
    S(30 * ms, "C"),
  }
  return T.write(dir .. "/day.itch", table.concat(parts))
end

local strategy = [[
  local S = { symbols = { "TEST" } }
  function S.on_book(ctx, b)
    if ctx.state.sent or b.ask ~= 100.01 then return end
    ctx.state.sent = true
    assert(b.bid == 100 and b.bid_qty == 300 and b.ask_qty == 100, "top")
    local d = ctx:book("TEST", 5)
    assert(#d.asks == 2 and d.asks[2][1] == 100.02 and d.asks[2][2] == 500 and d.asks[2][3] == 1, "depth")
    assert(#d.bids == 2 and d.bids[1][1] == 100 and d.bids[1][2] == 300, "bids")
    assert(ctx:buy("TEST", 250))                       -- walks 100 @ 100.01 and 150 @ 100.02
    assert(ctx:buy("TEST", 100, { limit = 100.00 }))   -- rests behind the 300 displayed
  end
  function S.on_trade(ctx, t) ctx.state.trades = (ctx.state.trades or 0) + t.qty end
  function S.on_stop(ctx) ctx:log("info", "traded=%d", ctx.state.trades or 0) end
  return S]]

describe("order-book backtests", function()
  local dir
  before_each(function() dir = T.tmpdir(); day(dir) end)
  after_each(function() T.rmdir(dir) end)

  it("decodes the hand-built day", function()
    local code, out, err = T.gantry({ "itch", dir .. "/day.itch", "--book", "TEST" })
    assert.equal(0, code, err)
    assert.matches('"asks":%[%["100.0000",200,1%],%["100.0100",100,1%],%["100.0200",500,1%]%]', out)
  end)

  it("fills by the venue model: levels walked, queue position, price coming to the order", function()
    local s = T.write(dir .. "/s.lua", strategy)
    local code, _, err = T.gantry({ "backtest", s, "--data", dir .. "/day.itch", "--date", "2024-03-01",
                                    "--out", dir .. "/out", "--no-report" })
    assert.equal(0, code, err)
    local fills = T.csv(dir .. "/out/fills.csv")
    assert.equal(4, #fills)
    assert.same({ "100", "100.01", "1" }, { fills[1].qty, fills[1].price, fills[1].order_id })
    assert.same({ "150", "100.02", "1" }, { fills[2].qty, fills[2].price, fills[2].order_id })
    assert.same({ "50", "100", "2" }, { fills[3].qty, fills[3].price, fills[3].order_id })
    assert.equal("2024-03-01T00:00:00.023000Z", fills[3].time)
    assert.same({ "50", "100", "2" }, { fills[4].qty, fills[4].price, fills[4].order_id })
    assert.equal("2024-03-01T00:00:00.024000Z", fills[4].time)
    assert.matches("traded=350", err, 1, true) -- the E executions: 200 + 100 + 50
  end)

  it("delays arrival by the latency: the order meets the book as it is then", function()
    local s = T.write(dir .. "/s.lua", strategy)
    -- 8 ms later both bids ahead are gone; 100 @ 100.01 and 150 @ 100.02 still there
    local code, _, err = T.gantry({ "backtest", s, "--data", dir .. "/day.itch", "--date", "2024-03-01",
                                    "--latency-us", "8500", "--out", dir .. "/out", "--no-report" })
    assert.equal(0, code, err)
    local fills = T.csv(dir .. "/out/fills.csv")
    assert.equal("2024-03-01T00:00:00.021500Z", fills[1].time)
    -- the limit order arrives after the 300 ahead traded: it joins an empty level,
    -- so the 50 executed at 23 ms fill it first
    assert.same({ "50", "100", "2" }, { fills[3].qty, fills[3].price, fills[3].order_id })
  end)

  it("refuses orders while the symbol is halted (not_trading)", function()
    local ms = 1000000
    T.write(dir .. "/halt.itch", table.concat({
      S(1 * ms, "O"), R(1, 2 * ms, STOCK),
      A(1, 10 * ms, 1, "B", 300, STOCK, 1000000), A(1, 11 * ms, 3, "S", 100, STOCK, 1000100),
      H(1, 12 * ms, STOCK, "H"),
      A(1, 13 * ms, 7, "B", 100, STOCK, 999900),     -- top unchanged: no on_book
      A(1, 14 * ms, 8, "B", 100, STOCK, 1000050),    -- a better bid while halted: on_book
      H(1, 15 * ms, STOCK, "T"),
      A(1, 16 * ms, 9, "B", 100, STOCK, 1000060),    -- trading again: on_book
    }))
    local s = T.write(dir .. "/h.lua", [[
      local S = { symbols = { "TEST" } }
      function S.on_book(ctx, b)
        if b.bid == 100.005 then ctx.state.halted = select(2, ctx:buy("TEST", 1, { limit = 99 })) end
        if b.bid == 100.006 then ctx.state.trading = ctx:buy("TEST", 1, { limit = 99 }) ~= nil end
      end
      function S.on_stop(ctx) ctx:log("info", "halted=%s trading=%s", tostring(ctx.state.halted), tostring(ctx.state.trading)) end
      return S]])
    local code, _, err = T.gantry({ "backtest", s, "--data", dir .. "/halt.itch", "--out", dir .. "/out", "--no-report" })
    assert.equal(0, code, err)
    assert.matches("halted=not_trading trading=true", err, 1, true)
  end)

  it("times tick-to-order with GANTRY_PROBE, and says where slow windows went with GANTRY_PROBE_TRACE", function()
    local s = T.write(dir .. "/s.lua", strategy)
    local probe_bin = assert(os.getenv("GANTRY_BIN_PROBE"), "GANTRY_BIN_PROBE: the probe build (make test sets it)")
    local function run(env, bin)
      return T.gantry({ "backtest", s, "--data", dir .. "/day.itch", "--out", dir .. "/o", "--no-report",
                        "--quiet", "--overwrite" }, nil, env, bin or probe_bin)
    end
    local probe, trace = dir .. "/probe", dir .. "/trace"
    -- the probes exist only in the benchmark build: the others ignore them
    local code0, _, err0 = run("GANTRY_PROBE=" .. T.quote(probe), T.bin)
    assert.equal(0, code0, err0)
    assert.is_nil(T.read(probe))
    local code, _, err = run("GANTRY_PROBE=" .. T.quote(probe) .. " GANTRY_PROBE_TRACE=" .. T.quote(trace))
    assert.equal(0, code, err)
    -- the strategy sends two orders
    local line = T.read(probe)
    local plain = line:gsub(" %(max clipped at 1 ms%)", "", 1) -- cold, under a sanitizer
    local win, idle, slow, expect = plain:match("^orders 2  p50 %d+ ns  p99 %d+ ns  p99%.9 %d+ ns  max %d+ ns  "
      .. ">=2us %d+  windows ([%d.]+) ms  idle ([%d.]+) ms, 2us%+ (%d+): expect ([%d.]+)\n$")
    assert.truthy(win, line)
    win, idle, slow, expect = tonumber(win), tonumber(idle), tonumber(slow), tonumber(expect)
    -- the day's other symbols are the idle messages; the machine's rate over
    -- them, times the orders' windows, is what expect says (within rounding)
    assert.truthy(win > 0 and idle > 0, line)
    assert.truthy(expect <= slow * (win + 0.0005) / (idle - 0.0005) + 0.05, line)
    assert.truthy(expect >= slow * (win - 0.0005) / (idle + 0.0005) - 0.05, line)
    local lines = T.lines(trace)
    assert.equal("# order message total_ns, then ns in: decode venue books host strategy order; "
                 .. "then the start (CLOCK_MONOTONIC ns)", lines[1])
    local start = 0
    for i = 2, #lines do -- a window of 2 us or more, in stages that add up to it
      local f = {}
      for v in lines[i]:gmatch("%S+") do f[#f + 1] = tonumber(v) end
      assert.equal(10, #f, lines[i])
      assert.truthy(f[3] >= 2000, lines[i])
      assert.equal(f[3], f[4] + f[5] + f[6] + f[7] + f[8] + f[9], lines[i])
      assert.truthy(f[10] > 0 and f[10] >= start, lines[i]) -- in the order they started (orders of one event share one)
      start = f[10]
    end
    code, _, err = run("GANTRY_PROBE=" .. T.quote(probe) .. " GANTRY_PROBE_TRACE=/nonexistent/dir/trace")
    assert.equal(2, code)
    assert.matches("GANTRY_PROBE_TRACE=/nonexistent/dir/trace: No such file or directory", err, 1, true)
  end)

  it("--preload reads the day into memory first; the run is the same", function()
    local s = T.write(dir .. "/s.lua", strategy)
    local function run(data, out, extra)
      local args = { "backtest", s, "--data", data, "--out", dir .. "/" .. out, "--no-report", extra }
      return T.gantry(args, nil, "GANTRY_LOG=debug")
    end
    local code, _, err = run(dir .. "/day.itch", "plain")
    assert.equal(0, code, err)
    code, _, err = run(dir .. "/day.itch", "loaded", "--preload")
    assert.equal(0, code, err)
    assert.matches("DEBUG itch: .-day%.itch: read into memory", err)
    for _, f in ipairs({ "fills.csv", "orders.csv", "equity.csv" }) do
      assert.equal(T.read(dir .. "/plain/" .. f), T.read(dir .. "/loaded/" .. f), f)
    end
    assert.equal(0, T.sh("gzip -k " .. T.quote(dir .. "/day.itch")))
    code, _, err = run(dir .. "/day.itch.gz", "gz", "--preload")
    assert.equal(0, code, err)
    assert.matches("WARN itch: .-day%.itch%.gz: %-%-preload: left mapped", err)
  end)

  it("needs symbols", function()
    local s = T.write(dir .. "/n.lua", "return { on_book = function() end }")
    local code, _, err = T.gantry({ "backtest", s, "--data", dir .. "/day.itch" })
    assert.equal(2, code)
    assert.matches("needs its symbols: --symbol A,B", err, 1, true)
  end)

  it("stops at bad data with the byte offset, or warns with --lenient", function()
    local bytes = T.read(dir .. "/day.itch")
    T.write(dir .. "/bad.itch", bytes .. E(1, 40 * 1000000, 99, 10, 9))
    local s = T.write(dir .. "/s.lua", strategy)
    local code, _, err = T.gantry({ "backtest", s, "--data", dir .. "/bad.itch", "--out", dir .. "/o" })
    assert.equal(2, code)
    assert.matches("bad.itch: byte " .. #bytes .. ": a reference to an order not in the book", err, 1, true)
    code, _, err = T.gantry({ "backtest", s, "--data", dir .. "/bad.itch", "--lenient", "--out", dir .. "/o2" })
    assert.equal(0, code, err)
    assert.matches("WARN itch: .-bad.itch: byte " .. #bytes, err)
  end)

  it("refuses the ITCH options with CSV data", function()
    -- (--lenient applies to both: CSV rows with missing values, spec/data_spec.lua)
    for _, opt in ipairs({ { "--latency-us", "5" }, { "--date", "2024-01-02" }, { "--preload" } }) do
      local args = { "backtest", "strategies/sma_cross.lua", "--data", "x.csv" }
      for _, a in ipairs(opt) do args[#args + 1] = a end
      local code, _, err = T.gantry(args)
      assert.equal(2, code)
      assert.matches("--latency-us, --date and --preload apply to ITCH data", err, 1, true)
    end
  end)
end)
