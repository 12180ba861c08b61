-- What the outputs say of stops and brackets: orders.csv's stop and trail
-- columns, the report's count of bars that reached both exits of an OCO
-- pair, and `ctl status` marking a bracket's exits and OCO pairs.
local T = require "support"

-- Bars of X, one a day from 2024-01-01: each row "open high low close".
local function bars(dir, rows)
  local lines = { "datetime,open,high,low,close,volume" }
  for i, r in ipairs(rows) do
    lines[#lines + 1] = string.format("2024-01-%02d,%s,1000", i, r:gsub("%s+", ","))
  end
  return T.write(dir .. "/X.csv", table.concat(lines, "\n") .. "\n")
end

-- Runs `orders` on the first bar.
local function strategy(dir, orders)
  return T.write(dir .. "/s.lua", [[
    local S = {}
    function S.on_bar(ctx, bar)
      if ctx.state.sent then return end
      ctx.state.sent = true
      ]] .. orders .. [[
    end
    return S]])
end

describe("orders.csv", function()
  local dir
  before_each(function() dir = T.tmpdir() end)
  after_each(function() T.rmdir(dir) end)

  it("has a stop's trigger and a trailing stop's distance (in percent with %), before origin", function()
    local data = bars(dir, { "100 101 99 100", "101 104 100 103", "102.5 103 100.5 101" })
    local s = strategy(dir, [[
      ctx:buy("X", 1, { stop = 150, limit = 151 })
      ctx:sell("X", 1, { trail_pct = 1 })
      ctx:sell("X", 1, { trail = 2 })
      ctx:buy("X", 1, { limit = 90 })]])
    local code, _, err = T.gantry({ "backtest", s, "--data", data, "--out", dir .. "/o", "--no-report", "--quiet" })
    assert.equal(0, code, err)
    local rows, header = T.csv(dir .. "/o/orders.csv")
    assert.same({ "updated", "stop", "trail", "origin" }, { header[16], header[17], header[18], header[19] })
    assert.same({ "stop_limit", "151", "150", "" }, { rows[1].type, rows[1].price, rows[1].stop, rows[1].trail })
    -- a trailing stop's stop is where it stood last: 1 % under the best close 103
    assert.same({ "trailing_stop", "101.97", "1%", "filled" },
      { rows[2].type, rows[2].stop, rows[2].trail, rows[2].status })
    assert.same({ "trailing_stop", "101", "2" }, { rows[3].type, rows[3].stop, rows[3].trail })
    assert.same({ "limit", "", "", "strategy" }, { rows[4].type, rows[4].stop, rows[4].trail, rows[4].origin })
  end)
end)

describe("on_order and ctx:orders", function()
  local dir
  before_each(function() dir = T.tmpdir() end)
  after_each(function() T.rmdir(dir) end)

  it("say an order's type, stop, bracket_exit and oco", function()
    local data = bars(dir, { "100 101 99 100", "101 102 100 101", "101 102 100 101" })
    local s = T.write(dir .. "/s.lua", [[
      local S, n = {}, 0
      local function show(o)
        return string.format("%d %s %s stop=%s exit=%s oco=%s", o.id, o.status, o.type, tostring(o.stop),
                             tostring(o.bracket_exit), tostring(o.oco))
      end
      function S.on_bar(ctx, bar)
        n = n + 1
        if n == 1 then ctx:buy("X", 10, { limit = 101.5, take_profit = 110, stop_loss = 90 }) end
        if n == 3 then for _, o in ipairs(ctx:orders()) do ctx:log("info", "working %s", show(o)) end end
      end
      function S.on_order(ctx, o) ctx:log("info", "order %s", show(o)) end
      return S]])
    local code, _, err = T.gantry({ "backtest", s, "--data", data, "--out", dir .. "/o", "--no-report", "--quiet" })
    assert.equal(0, code, err)
    assert.truthy(T.logged(err, "INFO s: ", "order 1 accepted limit stop=nil exit=nil oco=nil"), err)
    assert.truthy(T.logged(err, "INFO s: ", "order 2 accepted limit stop=nil exit=take_profit oco=nil"), err)
    assert.truthy(T.logged(err, "INFO s: ", "order 3 accepted stop stop=90%.?0? exit=stop_loss oco=nil"), err)
    assert.truthy(T.logged(err, "INFO s: ", "working 2 accepted limit stop=nil exit=take_profit oco=3"), err)
    assert.truthy(T.logged(err, "INFO s: ", "working 3 accepted stop stop=90%.?0? exit=stop_loss oco=2"), err)
  end)
end)

describe("the report", function()
  local dir
  before_each(function() dir = T.tmpdir() end)
  after_each(function() T.rmdir(dir) end)

  local entry = [[ctx:buy("X", 10, { limit = 100.5, take_profit = 105, stop_loss = 96 })]]

  it("says how often a bar reached both exits of an OCO pair", function()
    local data = bars(dir, { "100 101 99 100", "101 102 100 101", "101 106 95 100" })
    local code, _, err = T.gantry({ "backtest", strategy(dir, entry), "--data", data, "--out", dir .. "/o", "--quiet" })
    assert.equal(0, code, err)
    local html = T.read(dir .. "/o/report.html")
    assert.matches('<th>Bracket ambiguity</th><td class="num">1 of 1 OCO pairs (a bar reached both exits: '
      .. 'stop-loss assumed first)</td>', html, 1, true)
  end)

  it("has no such row for a run without OCO pairs", function()
    local data = bars(dir, { "100 101 99 100", "101 102 100 101" })
    local code, _, err = T.gantry({ "backtest", strategy(dir, [[ctx:buy("X", 1)]]), "--data", data, "--out",
                                    dir .. "/o", "--quiet" })
    assert.equal(0, code, err)
    assert.falsy(T.read(dir .. "/o/report.html"):find("Bracket ambiguity", 1, true))
  end)
end)

describe("ctl status", function()
  local dir, h
  before_each(function() dir = T.tmpdir() end)
  after_each(function() T.reap(h); T.rmdir(dir) end)

  it("marks a bracket's exits and the OCO pair they make", function()
    local rows = {}
    for i = 1, 40 do rows[i] = "101 102 100 101" end
    local data = bars(dir, rows)
    local s = T.write(dir .. "/s.lua", [[
      local S, n = {}, 0
      function S.on_bar(ctx, bar)
        n = n + 1
        if n == 1 then ctx:buy("X", 10, { limit = 101.5, take_profit = 110, stop_loss = 90 }) end
        if n == 3 then ctx:sell("X", 1, { trail = 5 }) end
      end
      return S]])
    local sock = dir .. "/ctl.sock"
    -- a daily bar every 0.1 s: the exits work for about 4 s
    h = T.spawn({ "paper", s, "--feed", "file:" .. data .. "?speed=864000", "--out", dir .. "/out", "--ctl", sock,
                  "--no-report", "--no-watch" }, dir)
    T.await_ctl(sock, h)
    local st = T.wait_for(function()
      local _, o = T.ctl(sock, "status")
      return o:match('"trailing_stop"') and o
    end, 10)
    assert.truthy(st, "no trailing stop seen working")
    assert.matches('{"id": 2, "symbol": "X", "side": "sell", "qty": 10, "filled": 0, "price": 110, '
      .. '"status": "accepted", "type": "limit", "bracket_exit": "take_profit", "oco": 3, "version": 1, '
      .. '"origin": "strategy"}', st, 1, true)
    assert.matches('{"id": 3, "symbol": "X", "side": "sell", "qty": 10, "filled": 0, "price": 0, '
      .. '"status": "accepted", "type": "stop", "stop": 90, "bracket_exit": "stop_loss", "oco": 2, ', st, 1, true)
    assert.matches('"type": "trailing_stop", "stop": 96, "trail": 5, "version"', st, 1, true)
    T.ctl(sock, "stop")
    assert.equal(0, T.wait_exit(h))
  end)
end)
