-- The operator's orders (gantry ctl flatten): they skip the strategy's
-- limits, halted included, but may only reduce a position, come in pieces of
-- at most max_order_qty, and say they are the operator's in every output.
local T = require "support"

local day_bars = T.day_bars

-- a strategy that buys 10 in two orders of 5 and reports every order update
local BUYER = [[
  local S = { params = { symbol = "XYZ" } }
  function S.on_bar(ctx, bar)
    if not ctx.state.sent then
      ctx.state.sent = true
      ctx:buy("XYZ", 5); ctx:buy("XYZ", 5)
    end
  end
  function S.on_order(ctx, o)
    ctx:log("info", "order %d %s %s %s", o.id, o.side, o.status, tostring(o.origin))
  end
  return S]]

describe("gantry ctl flatten", function()
  local dir, h, sock
  before_each(function() dir = T.tmpdir() end)
  after_each(function() T.reap(h); T.rmdir(dir) end)

  -- speed: one daily bar per `every` seconds of wall time
  local function start(src, every, extra, nbars)
    day_bars(dir, nbars or 400)
    T.write(dir .. "/s.lua", src)
    T.write(dir .. "/c.lua", "return { risk = { max_order_qty = 5 } }")
    sock = dir .. "/ctl.sock"
    local args = { "paper", dir .. "/s.lua", "--feed", "file:" .. dir .. "/XYZ.csv?speed=" .. tostring(86400 / every),
                   "--config", dir .. "/c.lua", "--out", dir .. "/out", "--ctl", sock, "--no-report" }
    for _, a in ipairs(extra or {}) do args[#args + 1] = a end
    h = T.spawn(args, dir)
    T.await_ctl(sock, h)
  end

  local function position_is(n)
    local want = n == 0 and '"positions": {}' or ('"positions": {"XYZ": ' .. n .. '}')
    return T.wait_for(function()
      local _, o = T.ctl(sock, "status"); return o:find(want, 1, true) end, 10)
  end

  it("closes in pieces of at most max_order_qty, marked as the operator's everywhere", function()
    start(BUYER, 1)
    assert.truthy(position_is(10), T.read(h.err))
    assert.equal(0, (T.ctl(sock, "halt")))
    local code, out = T.ctl(sock, "flatten", "s")
    assert.equal(0, code, out)
    assert.matches('"count": 2', out, 1, true)
    -- working until the next bar (a second away): status says whose they are
    local _, st = T.ctl(sock, "status")
    assert.matches('"side": "sell", "qty": 5, .-"origin": "operator"', st)
    assert.truthy(position_is(0), T.read(h.err))
    T.ctl(sock, "stop")
    assert.equal(0, T.wait_exit(h))
    local err = T.read(h.err)
    assert.matches("WARN operator: s flatten: order 3 sell 5 XYZ at market", err, 1, true)
    assert.matches("WARN operator: s flatten: order 4 sell 5 XYZ at market", err, 1, true)
    assert.matches("WARN operator: s flatten: 2 closing orders sent", err, 1, true)
    -- the strategy's on_order sees who sent each order
    assert.matches("INFO s: order 1 buy filled strategy", err, 1, true)
    assert.matches("INFO s: order 3 sell filled operator", err, 1, true)
    local orders, header = T.csv(dir .. "/out/orders.csv")
    assert.equal("origin", header[#header])
    local sold = 0
    for _, o in ipairs(orders) do
      if o.side == "sell" then
        assert.equal("operator", o.origin)
        assert.equal("s", o.strategy) -- on the strategy's account
        assert.truthy(tonumber(o.qty) <= 5)
        sold = sold + tonumber(o.filled)
      else
        assert.equal("strategy", o.origin)
      end
    end
    assert.equal(10, sold)
  end)

  it("never sells more than the position less what working orders may still sell", function()
    -- the test venue answers 50 market events late: the strategy's resting
    -- sell of 3 is still being cancelled when flatten sends its orders
    start([[
      local S = { params = { symbol = "XYZ" } }
      function S.on_bar(ctx, bar)
        if not ctx.state.sent then
          ctx.state.sent = true
          ctx:buy("XYZ", 5); ctx:buy("XYZ", 5); ctx:sell("XYZ", 3, { limit = 1000 })
        end
      end
      return S]], 0.01, { "--venue", "async:50" }, 2000)
    assert.truthy(position_is(10), T.read(h.err))
    local code, out = T.ctl(sock, "flatten")
    assert.equal(0, code, out)
    assert.matches('"count": 2', out, 1, true) -- 5 and 2: 7 of the 10
    assert.truthy(position_is(3), T.read(h.err))
    T.ctl(sock, "stop")
    assert.equal(0, T.wait_exit(h))
    local err = T.read(h.err)
    assert.matches("WARN operator: s flatten: 3 XYZ not closed", err, 1, true)
    local sold = 0
    for _, o in ipairs(T.csv(dir .. "/out/orders.csv")) do
      if o.origin == "operator" then sold = sold + tonumber(o.qty) end
    end
    assert.equal(7, sold)
  end)

  it("sends nothing when flat", function()
    start([[local S = { params = { symbol = "XYZ" } } function S.on_bar() end return S]], 0.01)
    local code, out = T.ctl(sock, "flatten")
    assert.equal(0, code, out)
    assert.matches('"count": 0', out, 1, true)
    T.ctl(sock, "stop")
    assert.equal(0, T.wait_exit(h))
  end)
end)

describe("orders.csv of a backtest", function()
  it("says every order is the strategy's (origin, the last column)", function()
    local dir = T.tmpdir()
    day_bars(dir, 30)
    local code, _, err = T.gantry({ "backtest", "strategies/sma_cross.lua", "--data", dir .. "/XYZ.csv",
      "--param", "symbol=XYZ", "--param", "fast=2", "--param", "slow=3", "--out", dir .. "/o", "--no-report", "--quiet" })
    assert.equal(0, code, err)
    local rows, header = T.csv(dir .. "/o/orders.csv")
    assert.equal("origin", header[#header])
    for _, o in ipairs(rows) do assert.equal("strategy", o.origin) end
    T.rmdir(dir)
  end)
end)
