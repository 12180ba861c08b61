-- Pre-trade risk in a backtest: each limit, an order exactly at it accepted
-- and one just over rejected with its reason, visible in orders.csv.
local T = require "support"

local function bars(dir)
  local rows = { "datetime,open,high,low,close,volume" }
  for i = 1, 20 do
    rows[#rows + 1] = string.format("2024-02-%02d,100,101,99,100,1000", i)
  end
  T.write(dir .. "/ABC.csv", table.concat(rows, "\n") .. "\n")
  T.write(dir .. "/XYZ.csv", table.concat(rows, "\n") .. "\n")
end

-- Runs `body` (Lua, with ctx and bar in scope) once, on the first bar of ABC,
-- under the risk table `risk`; returns exit code, stderr, orders.csv rows.
local MODE = "backtest"

local function run(dir, risk, body, extra, more)
  T.write(dir .. "/c.lua", "return { risk = " .. risk .. " }")
  T.write(dir .. "/s.lua", [[
    local S = { symbols = { "ABC", "XYZ" } }
    local function check(ok, what) if not ok then error(what, 2) end end
    function S.on_bar(ctx, bar)
      if bar.symbol ~= "ABC" then return end
      ctx.state.n = (ctx.state.n or 0) + 1
      local n = ctx.state.n
      ]] .. body .. [[
    end
    ]] .. (more or "") .. [[
    return S]])
  local args = MODE == "backtest"
    and { "backtest", dir .. "/s.lua", "--data", dir .. "/ABC.csv", "--data", dir .. "/XYZ.csv",
          "--config", dir .. "/c.lua", "--out", dir .. "/out", "--no-report" }
    or { "paper", dir .. "/s.lua", "--feed", "file:" .. dir .. "/ABC.csv", "--feed", "file:" .. dir .. "/XYZ.csv",
         "--config", dir .. "/c.lua", "--out", dir .. "/out", "--no-report", "--ctl", dir .. "/ctl.sock" }
  for _, a in ipairs(extra or {}) do args[#args + 1] = a end
  local code, _, err = T.gantry(args)
  -- a paper host quarantines a failing strategy instead of exiting: same verdict
  if code == 0 and err:match("halted %(error%)") then code = 1 end
  local orders = T.read(dir .. "/out/orders.csv") and T.csv(dir .. "/out/orders.csv") or {}
  return code, err, orders
end

-- expect(id, reason) inside the body: an accepted order when reason is nil
local EXPECT = [[
  local function expect(id, why, reason)
    if reason == nil then check(id, "rejected: " .. tostring(why)) else check(why == reason, "expected " .. reason .. ", got " .. tostring(why) .. " id " .. tostring(id)) end
  end
]]

for _, mode in ipairs({ "backtest", "paper" }) do
describe("risk limits in " .. mode .. " mode", function()
  setup(function() MODE = mode end)
  local dir
  before_each(function() dir = T.tmpdir(); bars(dir) end)
  after_each(function() T.rmdir(dir) end)

  local function case(risk, body, reason)
    local code, err, orders = run(dir, risk, EXPECT .. body)
    assert.equal(0, code, err)
    local found = false
    for _, o in ipairs(orders) do
      if o.status == "rejected" then
        assert.equal(reason, o.reason)
        found = true
      end
    end
    assert.truthy(found, "no rejected order in orders.csv")
    assert.truthy(T.logged(err, "WARN risk: ", "s rejected .-: " .. reason), err)
  end

  it("max_order_qty", function()
    case("{ max_order_qty = 100 }", [[if n == 1 then
      expect(ctx:buy("ABC", 100))
      local id, why = ctx:buy("ABC", 101); expect(id, why, "max_order_qty") end]], "max_order_qty")
  end)

  it("max_order_notional", function()
    case("{ max_order_notional = 1000 }", [[if n == 1 then
      expect(ctx:buy("ABC", 10, { limit = 100 }))
      local id, why = ctx:buy("ABC", 11, { limit = 100 }); expect(id, why, "max_order_notional") end]], "max_order_notional")
  end)

  it("max_position counts working orders", function()
    case("{ max_position = { default = 100, XYZ = 5 } }", [[if n == 1 then
      expect(ctx:buy("ABC", 60, { limit = 50 })); expect(ctx:buy("ABC", 40, { limit = 50 }))
      local id, why = ctx:buy("ABC", 1, { limit = 50 }); expect(id, why, "max_position")
      expect(ctx:sell("ABC", 100, { limit = 500 }))
      id, why = ctx:sell("ABC", 1, { limit = 500 }); expect(id, why, "max_position") end]], "max_position")
  end)

  it("price_collar", function()
    case("{ price_collar_pct = 5 }", [[if n == 1 then
      expect(ctx:buy("ABC", 1, { limit = 95 })); expect(ctx:sell("ABC", 1, { limit = 105 }))
      local id, why = ctx:buy("ABC", 1, { limit = 94.99 }); expect(id, why, "price_collar") end]], "price_collar")
  end)

  it("max_open_orders", function()
    case("{ max_open_orders = 2 }", [[if n == 1 then
      expect(ctx:buy("ABC", 1, { limit = 90 })); expect(ctx:buy("ABC", 2, { limit = 90 }))
      local id, why = ctx:buy("ABC", 3, { limit = 90 }); expect(id, why, "max_open_orders") end]], "max_open_orders")
  end)

  it("rate_limit, and the window slides", function()
    case("{ max_orders_per_sec = 2 }", [[
      if n == 1 then expect(ctx:buy("ABC", 1, { limit = 90 })); expect(ctx:buy("ABC", 2, { limit = 90 }))
        local id, why = ctx:buy("ABC", 3, { limit = 90 }); expect(id, why, "rate_limit") end
      if n == 2 then expect(ctx:buy("ABC", 4, { limit = 90 })) end]], "rate_limit")
  end)

  it("duplicate", function()
    case("{ duplicate_window_ms = 1000 }", [[if n == 1 then
      expect(ctx:buy("ABC", 5, { limit = 90 }))
      local id, why = ctx:buy("ABC", 5, { limit = 90 }); expect(id, why, "duplicate")
      expect(ctx:buy("ABC", 6, { limit = 90 })) end]], "duplicate")
  end)

  it("self_cross", function()
    case("{ max_order_qty = 1000 }", [[if n == 1 then
      expect(ctx:sell("ABC", 5, { limit = 101 }))
      expect(ctx:buy("ABC", 5, { limit = 100.99 }))
      local id, why = ctx:buy("ABC", 5, { limit = 101 }); expect(id, why, "self_cross") end]], "self_cross")
  end)

  it("restricted", function()
    case("{ restricted = { 'XYZ' } }", [[if n == 2 then
      expect(ctx:buy("ABC", 1))
      local id, why = ctx:buy("XYZ", 1); expect(id, why, "restricted") end]], "restricted")
  end)

  it("max_gross_exposure", function()
    case("{ max_gross_exposure = 1000 }", [[if n == 2 then
      expect(ctx:buy("ABC", 10, { limit = 100 }))
      local id, why = ctx:buy("XYZ", 1, { limit = 100 }); expect(id, why, "max_gross_exposure") end]], "max_gross_exposure")
  end)

  it("max_daily_loss halts the strategy and cancels its orders", function()
    -- long 100 at 100; the data closes at 100 except bar 5 of ABC, written at 80
    local rows = { "datetime,open,high,low,close,volume" }
    for i = 1, 20 do
      local c = (i == 5) and 80 or 100
      rows[#rows + 1] = string.format("2024-02-%02d,100,101,%d,%d,1000", i, c == 80 and 79 or 99, c)
    end
    T.write(dir .. "/ABC.csv", table.concat(rows, "\n") .. "\n")
    local code, err, orders = run(dir, "{ max_daily_loss = 1000 }", EXPECT .. [[
      if n == 1 then expect(ctx:buy("ABC", 100)); expect(ctx:buy("ABC", 1, { limit = 50 })) end
      if n >= 6 then local id, why = ctx:buy("ABC", 1); ctx.state.why = why end
      if n == 20 then check(ctx.state.why == "halted", "why " .. tostring(ctx.state.why)) end]])
    assert.equal(0, code, err)
    assert.truthy(T.logged(err, "WARN risk: ", "s halted: max_loss"), err)
    assert.equal("canceled", orders[2].status)
  end)

  it("a halt an order causes reaches the strategy after its callback, not inside it", function()
    local rows = { "datetime,open,high,low,close,volume" }
    for i = 1, 20 do
      rows[#rows + 1] = string.format("2024-02-%02d,100,101,%d,%d,1000", i, i == 5 and 79 or 99, i == 5 and 80 or 100)
    end
    T.write(dir .. "/ABC.csv", table.concat(rows, "\n") .. "\n")
    -- the buy on bar 5 (marked at 80) finds the loss, halts the strategy and
    -- cancels the resting limit: its on_order("canceled") waits for on_bar
    local code, err = run(dir, "{ max_daily_loss = 1000 }", EXPECT .. [[
      if n == 1 then expect(ctx:buy("ABC", 100)); expect(ctx:buy("ABC", 1, { limit = 50 })) end
      if n == 5 then
        ctx.state.inside = true
        local id, why = ctx:buy("ABC", 1)
        ctx.state.inside = false
        check(id == nil and why == "max_loss", "why " .. tostring(why))
      end]], nil, [[
    function S.on_order(ctx, o)
      if o.status == "canceled" then
        if ctx.state.inside then error("on_order ran inside on_bar") end
        ctx.state.canceled = (ctx.state.canceled or 0) + 1
      end
    end
    function S.on_stop(ctx) ctx:log("info", "canceled=%d", ctx.state.canceled or 0) end]])
    assert.equal(0, code, err)
    assert.truthy(T.logged(err, "WARN risk: ", "s halted: max_loss"), err)
    assert.truthy(T.logged(err, "INFO s: ", "canceled=1"), err)
  end)

  it("stale_reference: no fresh price, no order", function()
    case("{ stale_reference_ms = 1000, price_collar_pct = 50 }", [[if n == 2 then
      expect(ctx:buy("ABC", 1, { limit = 100 }))
      -- XYZ's last price is yesterday's close: its bar of today comes after ABC's
      local id, why = ctx:buy("XYZ", 1, { limit = 100 }); expect(id, why, "stale_reference") end]], "stale_reference")
  end)

  it("max_msgs_per_sec counts cancels", function()
    case("{ max_msgs_per_sec = 3 }", [[if n == 1 then
      local a = ctx:buy("ABC", 1, { limit = 90 }); expect(a)
      assert(ctx:cancel(a)); expect(ctx:buy("ABC", 2, { limit = 90 }))
      local id, why = ctx:buy("ABC", 3, { limit = 90 }); expect(id, why, "rate_limit") end]], "rate_limit")
  end)

  it("the repeated-execution throttle halts after N fill-and-reenter cycles", function()
    local code, err, orders = run(dir, "{ throttle = { fills = 2, window_ms = 864000000 } }", EXPECT .. [[
      local id, why = ctx:buy("ABC", 1); ctx.state.why = ctx.state.why or why]])
    assert.equal(0, code, err)
    assert.truthy(T.logged(err, "WARN risk: ", "s halted: throttle"), err)
    local accepted = 0
    for _, o in ipairs(orders) do if o.status ~= "rejected" then accepted = accepted + 1 end end
    assert.equal(3, accepted) -- the first order and two re-entries
  end)

  it("max_drawdown halts", function()
    local rows = { "datetime,open,high,low,close,volume" }
    for i = 1, 20 do
      local c = (i >= 5) and 90 or 100
      rows[#rows + 1] = string.format("2024-02-%02d,%d,101,89,%d,1000", i, c, c)
    end
    T.write(dir .. "/ABC.csv", table.concat(rows, "\n") .. "\n")
    local code, err = run(dir, "{ max_drawdown = 500 }", EXPECT .. [[
      if n == 1 then expect(ctx:buy("ABC", 100)) end]])
    assert.equal(0, code, err)
    assert.truthy(T.logged(err, "WARN risk: ", "s halted: max_drawdown"), err)
  end)

  it("names a bad risk key in the config", function()
    T.write(dir .. "/c.lua", "return { risk = { max_order_qty = 'lots' } }")
    local code, _, err = T.gantry({ "backtest", "strategies/sma_cross.lua", "--data", dir .. "/ABC.csv",
      "--config", dir .. "/c.lua", "--param", "symbol=ABC" })
    assert.equal(2, code)
    assert.matches("c.lua: risk.max_order_qty", err, 1, true)
  end)
end)
end

describe("firm-wide limits", function()
  local dir
  before_each(function() dir = T.tmpdir(); bars(dir) end)
  after_each(function() T.rmdir(dir) end)

  it("count every strategy's orders together", function()
    T.write(dir .. "/c.lua", "return { firm_risk = { max_open_orders = 3 } }")
    local src = [[
      local S = { symbols = { "ABC" } }
      function S.on_bar(ctx, bar)
        if ctx.state.done then return end
        ctx.state.done = true
        for i = 1, 2 do ctx.state.last = { ctx:buy("ABC", i, { limit = 50 + i }) } end
      end
      function S.on_stop(ctx) ctx:log("info", "last=%s", tostring(ctx.state.last[2] or ctx.state.last[1])) end
      return S]]
    T.write(dir .. "/a.lua", src)
    T.write(dir .. "/b.lua", src)
    local code, _, err = T.gantry({ "backtest", dir .. "/a.lua", dir .. "/b.lua", "--data", dir .. "/ABC.csv",
      "--config", dir .. "/c.lua", "--out", dir .. "/out", "--no-report" })
    assert.equal(0, code, err)
    -- a's two orders and b's first fit under 3; b's second is one over
    assert.truthy(T.logged(err, "INFO b: ", "last=max_open_orders"), err)
    assert.truthy(T.logged(err, "INFO a: ", "last=2"), err)
  end)

  it("names a bad firm_risk key", function()
    T.write(dir .. "/c.lua", "return { firm_risk = { max_open_orders = -1 } }")
    local code, _, err = T.gantry({ "check", "strategies/sma_cross.lua", "--config", dir .. "/c.lua" })
    assert.equal(0, code) -- check loads strategies, not limits
    code, _, err = T.gantry({ "backtest", "strategies/sma_cross.lua", "--data", dir .. "/ABC.csv",
      "--param", "symbol=ABC", "--config", dir .. "/c.lua", "--out", dir .. "/o" })
    assert.equal(2, code)
    assert.matches("c.lua: firm_risk.max_open_orders", err, 1, true)
  end)
end)
