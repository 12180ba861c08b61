-- Trust in the small: what a strategy gets wrong is said, never silently run.
-- Its table (unknown fields, no callback that acts), its orders' options, a
-- failure at run time (printed once, and the run's files say it failed),
-- a symbol the data lacks, and the operator's `ctl set` through reloads.
local T = require "support"

local day_bars = T.day_bars

local function count(s, plain)
  local n, i = 0, 1
  while true do
    local a, b = s:find(plain, i, true)
    if not a then return n end
    n, i = n + 1, b + 1
  end
end

describe("a strategy's table", function()
  local dir, data, runs
  before_each(function() dir = T.tmpdir(); data = day_bars(dir, 5); runs = 0 end)
  after_each(function() T.rmdir(dir) end)

  -- `gantry check` and `gantry backtest` of the same source: both answers
  local function both(src)
    local s = T.write(dir .. "/s.lua", src)
    local c1, _, e1 = T.gantry({ "check", s })
    runs = runs + 1
    local c2, _, e2 = T.gantry({ "backtest", s, "--data", data, "--out", dir .. "/o" .. runs,
                                 "--no-report", "--quiet" })
    return c1, e1, c2, e2
  end

  local function refused(src, want)
    local c1, e1, c2, e2 = both(src)
    assert.equal(2, c1, e1)
    assert.equal(2, c2, e2)
    for _, w in ipairs(want) do
      assert.matches(w, e1, 1, true)
      assert.matches(w, e2, 1, true)
    end
    return e1
  end

  it("names a misspelt callback with the line of its function and the name it meant", function()
    refused([[
      local S = { params = { symbol = "XYZ" } }

      function S.onbar(ctx, bar) ctx:buy("XYZ", 1) end
      return S]], { "s.lua:3: unknown field 'onbar' in the strategy table (did you mean 'on_bar'?)" })
    refused("return { on_bars = function() end }",
            { "s.lua:1: unknown callback 'on_bars' (did you mean 'on_bar'?); the callbacks are on_start, " ..
              "on_bar, on_book, on_trade, on_order, on_fill, on_timer, on_reload, on_stop, on_params, on_feed" })
  end)

  it("names an unknown field that is not a function, with its file", function()
    local e = refused([[
      local S = { parms = { symbol = "XYZ" } }
      function S.on_bar(ctx, bar) end
      return S]], { "s.lua: unknown field 'parms' in the strategy table (did you mean 'params'?); its " ..
                    "fields are name, params, symbols, history, timeframes, timeframes_align and the callbacks on_start," })
    assert.is_nil(e:find("s.lua:%d"))
    refused([[
      return { symbol = "XYZ", on_bar = function() end }]],
      { "s.lua: unknown field 'symbol' in the strategy table (did you mean 'symbols'?)" })
    refused([[
      return { lookback = 100, on_bar = function() end }]],
      { "s.lua: unknown field 'lookback' in the strategy table; its fields are" })
    refused("return { [1] = 5, on_bar = function() end }",
            { "s.lua: the strategy table has a field [1]: its fields are named" })
    refused("return { name = 5, on_bar = function() end }", { "s.lua: name must be a string, got a number" })
  end)

  it("refuses a strategy with no callback that could ever act", function()
    for _, src in ipairs({
      "return {}",
      "return { params = { symbol = 'XYZ' }, on_order = function() end, on_timer = function() end }",
      "local S = { params = { symbol = 'XYZ' } }\nlocal function on_bar(ctx, bar) end\nreturn S",
    }) do
      refused(src, { "s.lua: the strategy table has no on_start, on_bar, on_book or on_trade, " ..
                     "so the strategy could never act" })
    end
    -- on_start alone acts (buy and hold)
    local c1, e1, c2, e2 = both("return { on_start = function(ctx) ctx:buy('XYZ', 1) end }")
    assert.equal(0, c1, e1)
    assert.equal(0, c2, e2)
  end)

  it("names a callback defined as a global function, with its line", function()
    refused([[
      local S = { params = { symbol = "XYZ" } }
      function S.on_start(ctx) end
      function on_bar(ctx, bar) ctx:buy("XYZ", 1) end
      return S]], { "s.lua:3: on_bar is a global function, not a field of the strategy table: " ..
                    "define it as S.on_bar on the table the file returns" })
  end)

  it("lists the known parameters sorted, and the one a typo most likely meant", function()
    local src = [[
      return { params = { symbol = "XYZ", zeta = 1, fast = 2, slow = 3, qty = 4, alpha = 5, mid = 6, beta = 7 },
               on_bar = function() end }]]
    local s = T.write(dir .. "/s.lua", src)
    local known = "known: alpha, beta, fast, mid, qty, slow, symbol, zeta)"
    for i = 1, 3 do -- the same every time: pairs' order is a hash's
      local code, _, err = T.gantry({ "check", s, "--param", "fsat=5" })
      assert.equal(2, code)
      assert.matches("--param: unknown parameter 'fsat' for strategy s (did you mean 'fast'? " .. known, err, 1, true)
      code, _, err = T.gantry({ "backtest", s, "--data", data, "--param", "n=5", "--out", dir .. "/p" .. i })
      assert.equal(2, code)
      assert.matches("--param: unknown parameter 'n' for strategy s (" .. known, err, 1, true)
    end
  end)
end)

describe("the options of ctx:buy and ctx:sell", function()
  local dir, data
  before_each(function() dir = T.tmpdir(); data = day_bars(dir, 5) end)
  after_each(function() T.rmdir(dir) end)

  it("refuse an unknown key or a value of the wrong type, naming the key, and send nothing", function()
    local s = T.write(dir .. "/s.lua", [[
      local S = { params = { symbol = "XYZ" } }
      local cases = {
        { "stop", "sell", { stopp = 90 } },
        { "type", "sell", { type = "stop", price = 90 } },
        { "limt", "buy", { limt = 90 } },
        { "limit_text", "buy", { limit = "90" } },
        { "tif_gfd", "buy", { limit = 90, tif = "gfd" } },
        { "tif_number", "sell", { tif = 1 } },
        { "positional", "buy", { 90 } },
        { "proxy", "buy", setmetatable({}, { __index = { limit = 90 } }) },
        { "limit_gtc", "buy", { limit = 50, tif = "gtc" } },
        { "empty", "buy", {} },
        { "none", "buy" },
      }
      function S.on_bar(ctx, bar)
        if ctx.state.done then return end
        ctx.state.done = true
        for _, c in ipairs(cases) do
          local method = c[2]
          local id, why = ctx[method](ctx, "XYZ", 1, c[3])
          ctx:log("info", "%s -> %s %s", c[1], tostring(id), tostring(why))
        end
      end
      return S]])
    local code, _, err = T.gantry({ "backtest", s, "--data", data, "--out", dir .. "/o", "--no-report", "--quiet" })
    assert.equal(0, code, err)
    for label, want in pairs({
      stop = "nil bad_option: stopp", type = "nil bad_option: price", limt = "nil bad_option: limt",
      limit_text = "nil bad_option: limit", tif_gfd = "nil bad_option: tif",
      tif_number = "nil bad_option: tif", positional = "nil bad_option: [number]",
      proxy = "nil bad_option: [metatable]",
      limit_gtc = "1 nil", empty = "2 nil", none = "3 nil",
    }) do
      assert.matches("INFO s: .-" .. label .. " %-> " .. want:gsub("%p", "%%%0") .. "\n", err)
    end
    assert.matches("WARN s: .-ctx:sell refused: bad_option: unknown option 'stopp' %(the options are limit, tif, stop, trail, trail_pct, take_profit and stop_loss%)", err)
    assert.matches("WARN s: .-ctx:buy refused: bad_option: limit must be a number", err)
    assert.matches('WARN s: .-ctx:buy refused: bad_option: tif must be "day", "ioc", "gtc" or "fok"', err)
    -- only the three good orders exist, as asked: nothing went out as a market order by mistake
    local orders = T.csv(dir .. "/o/orders.csv")
    assert.equal(3, #orders)
    assert.same({ "limit", "50", "gtc" }, { orders[1].type, orders[1].price, orders[1].tif })
    assert.same({ "market", "day" }, { orders[2].type, orders[2].tif })
    assert.same({ "market", "day" }, { orders[3].type, orders[3].tif })
  end)
end)

describe("a strategy that fails at run time", function()
  local dir, data
  before_each(function() dir = T.tmpdir(); data = day_bars(dir, 10) end)
  after_each(function() T.rmdir(dir) end)

  local function run(src, out)
    local s = T.write(dir .. "/s.lua", src)
    return T.gantry({ "backtest", s, "--data", data, "--out", dir .. "/" .. (out or "o") })
  end

  -- a message longer than any fixed buffer of a reason: it must come out whole
  local long = [[
    local S = {}
    function S.on_bar(ctx, bar)
      ctx:buy("XYZ", 1)
      if bar.time >= 1704240000 * 1000000000 then
        error("the feed said " .. string.rep("something long ", 30) .. "and this is the end")
      end
    end
    return S]]

  it("is printed once, whole, with the event it was handling; exit 1", function()
    local code, out, err = run(long)
    assert.equal(1, code, err)
    assert.equal(1, count(err, "s.lua:5: the feed said"), err)
    assert.matches("ERROR strategy: .-s failed in on_bar of XYZ at 2024%-01%-03T00:00:00%.000000Z: " ..
                   "[^\n]*s%.lua:5: the feed said something long .-and this is the end\nstack traceback:\n", err)
    assert.matches("status        FAILED at 2024-01-03T00:00:00.000000Z: the figures stop there", out, 1, true)
  end)

  it("leaves a summary and a report that say it failed, when and why", function()
    local code = run(long)
    assert.equal(1, code)
    local text = T.read(dir .. "/o/summary.json")
    local sum = T.json(text)
    assert.equal("failed", sum.status)
    assert.equal("2024-01-03T00:00:00.000000Z", sum.failed_at)
    assert.matches("^s failed in on_bar of XYZ at 2024%-01%-03T00:00:00%.000000Z: .*s%.lua:5: the feed said " ..
                   ".- and this is the end$", sum.error)
    assert.is_nil(sum.error:find("traceback", 1, true))
    assert.matches('^{"strategy": "s", "status": "failed", "error": ', text)
    local html = T.read(dir .. "/o/report.html")
    assert.matches('role="alert"', html, 1, true)
    assert.matches("This run failed at 2024-01-03", html, 1, true)
    assert.matches("and this is the end", html, 1, true)

    code = run("return { on_bar = function() end }", "ok")
    assert.equal(0, code)
    text = T.read(dir .. "/ok/summary.json")
    assert.matches('^{"strategy": "s", "status": "ok", "events": 10,', text)
    assert.is_nil(text:find("failed", 1, true))
    assert.is_nil(T.read(dir .. "/ok/report.html"):find("This run failed", 1, true))
  end)

  it("says when it failed before the first event, and names each kind of event", function()
    local code, _, err = run("return { on_start = function(ctx) error('no start') end }")
    assert.equal(1, code)
    assert.matches("s failed in on_start: [^\n]*s.lua:1: no start\n", err)
    local text = T.read(dir .. "/o/summary.json")
    assert.matches('"status": "failed", "error": "s failed in on_start: [^"]*no start", "failed_at": null,', text)
    code, _, err = run([[
      local S = {}
      function S.on_bar(ctx, bar) if not ctx.state.sent then ctx.state.sent = ctx:buy("XYZ", 2) end end
      function S.on_fill(ctx, fill) error("bad fill") end
      return S]], "f")
    assert.equal(1, code)
    assert.matches("s failed in on_fill of XYZ at 2024-01-02T00:00:00.000000Z: ", err, 1, true)
    code, _, err = run([[
      local S = {}
      function S.on_bar(ctx, bar)
        if not ctx.state.armed then ctx.state.armed = true; ctx:timer("tick", 36 * 3600 * 1000) end
      end
      function S.on_timer(ctx, name) error("bad timer") end
      return S]], "t")
    assert.equal(1, code)
    assert.matches("s failed in on_timer at 2024-01-02T12:00:00.000000Z: ", err, 1, true)
  end)
end)

describe("a symbol the data lacks", function()
  local dir, data
  before_each(function() dir = T.tmpdir(); data = day_bars(dir, 5) end)
  after_each(function() T.rmdir(dir) end)

  local function run(files, ...)
    local args = { "backtest" }
    for i, src in ipairs(files) do args[#args + 1] = T.write(dir .. "/s" .. i .. ".lua", src) end
    for _, d in ipairs({ ... }) do args[#args + 1] = "--data"; args[#args + 1] = d end
    args[#args + 1] = "--out"; args[#args + 1] = dir .. "/o"
    return T.gantry(args)
  end

  it("suggests the strategy's own parameter that names it", function()
    local code, _, err = run({ "return { params = { symbol = 'AAPL' }, on_bar = function() end }" }, data)
    assert.equal(2, code)
    -- one file: its name may say more than its symbol (BTCUSDT-1h-2024-01.csv)
    assert.matches("s1.lua: strategy s1 trades AAPL, which no --data file has (the data has XYZ); " ..
                   "if the file holds AAPL, say so with --symbol AAPL, or try --param symbol=XYZ\n", err, 1, true)
    local pairs_src = [[
      return { params = { a = "XYZ", b = "MSFT" }, symbols = function(p) return { p.a, p.b } end,
               on_bar = function() end }]]
    code, _, err = run({ pairs_src }, data)
    assert.equal(2, code)
    assert.matches("strategy s1 trades MSFT, which no --data file has (the data has XYZ); add a --data " ..
                   "file of MSFT, or set b to a symbol of the data (--param b=SYM)\n", err, 1, true)
    code, _, err = run({ pairs_src }, data, day_bars(dir, 5, "ABC"))
    assert.equal(2, code)
    assert.matches("trades MSFT, which no --data file has (the data has XYZ, ABC); try --param b=ABC\n", err, 1, true)
    -- with more than one strategy, scoped to the one that lacks it
    code, _, err = run({ "return { params = { symbol = 'XYZ' }, on_bar = function() end }",
                         "return { params = { symbol = 'AAPL' }, on_bar = function() end }" }, data)
    assert.equal(2, code)
    assert.matches("strategy s2 trades AAPL, which no --data file has (the data has XYZ); if the file holds " ..
                   "AAPL, say so with --symbol AAPL, or try --param s2.symbol=XYZ\n", err, 1, true)
  end)

  it("suggests its `symbols` when no parameter names it, and no --param it does not have", function()
    local code, _, err = run({ "return { symbols = { 'MSFT' }, on_bar = function() end }" }, data)
    assert.equal(2, code)
    assert.matches("strategy s1 trades MSFT, which no --data file has (the data has XYZ); change `symbols` " ..
                   "in the strategy, or add a --data file of MSFT\n", err, 1, true)
    assert.is_nil(err:find("--param", 1, true))
  end)
end)

describe("an operator's `ctl set`", function()
  local dir, data, h, sock
  before_each(function() dir = T.tmpdir(); data = day_bars(dir, 1500) end)
  after_each(function() T.reap(h); T.rmdir(dir) end)

  -- one bar every 10 ms of wall time
  local SPEED = tostring(86400 / 0.01)
  local src = [[
    local S = { params = { symbol = "XYZ", period = 20, tag = "v1" } }
    function S.on_bar(ctx, bar) end
    function S.on_params(ctx, changed)
      ctx:log("info", "on_params %s period=%s n=%d", ctx.params.tag, tostring(changed.period),
              (function() local n = 0 for _ in pairs(changed) do n = n + 1 end return n end)())
    end
    function S.on_reload(ctx, old)
      ctx:log("info", "reloaded %s period=%s", ctx.params.tag, tostring(ctx.params.period))
      return old
    end
    return S]]

  local function start()
    local s = T.write(dir .. "/r.lua", src)
    sock = dir .. "/ctl.sock"
    h = T.spawn({ "paper", s, "--feed", "file:" .. data .. "?speed=" .. SPEED, "--out", dir .. "/out",
                  "--ctl", sock, "--no-report" }, dir)
    T.await_ctl(sock, h)
    return s
  end

  local function status_has(pat)
    return T.wait_for(function() local _, o = T.ctl(sock, "status"); return o:find(pat, 1, true) end, 5)
  end

  it("survives every reload, shows in status and tells the strategy (on_params)", function()
    local s = start()
    assert.truthy(status_has('"params": {"period": 20, "symbol": "XYZ", "tag": "v1"}, "positions"'))
    local code, out = T.ctl(sock, "set", "period=40")
    assert.equal(0, code, out)
    assert.matches('"old": "20"', out, 1, true)
    assert.truthy(status_has('"params": {"period": 40, "symbol": "XYZ", "tag": "v1"}'))
    assert.truthy(T.wait_for(function() return T.read(h.err):find("on_params v1 period=40 n=1", 1, true) end, 5))
    -- a saved file: the new version runs with the operator's value, not its default
    T.write(s, (src:gsub('tag = "v1"', 'tag = "v2"')))
    assert.truthy(status_has('"version": 2'))
    assert.truthy(status_has('"params": {"period": 40, "symbol": "XYZ", "tag": "v2"}'))
    -- and again on request
    code, out = T.ctl(sock, "reload", "r")
    assert.equal(0, code, out)
    assert.truthy(status_has('"version": 3'))
    assert.truthy(status_has('"params": {"period": 40, "symbol": "XYZ", "tag": "v2"}'))
    -- the last set of a key wins
    assert.equal(0, (T.ctl(sock, "set", "r.period=45")))
    assert.equal(0, (T.ctl(sock, "reload")))
    assert.truthy(status_has('"version": 4'))
    assert.truthy(status_has('"params": {"period": 45, "symbol": "XYZ", "tag": "v2"}'))
    T.ctl(sock, "stop")
    assert.equal(0, T.wait_exit(h))
    local err = T.read(h.err)
    assert.matches("INFO r: .-reloaded v2 period=40\n", err)
    assert.matches("INFO r: .-reloaded v2 period=45\n", err)
    assert.is_nil(err:find("period=20", 1, true))
  end)

  it("fails a reload whose new version has no such parameter, and keeps the running one", function()
    local s = start()
    assert.equal(0, (T.ctl(sock, "set", "period=40")))
    T.write(s, (src:gsub("period = 20, ", "")))
    local code, out = T.ctl(sock, "reload", "r")
    assert.equal(1, code, out)
    assert.matches("the operator's `set period=40` does not apply to the new version: unknown parameter " ..
                   "'period' for strategy r (known: symbol, tag) (still running version 1)", out, 1, true)
    assert.truthy(status_has('"params": {"period": 40, "symbol": "XYZ", "tag": "v1"}'))
    T.ctl(sock, "stop")
    assert.equal(0, T.wait_exit(h))
  end)

  it("quarantines a strategy whose on_params fails, saying so in status", function()
    local s = T.write(dir .. "/q.lua", [[
      local S = { params = { symbol = "XYZ", period = 20 } }
      function S.on_bar(ctx, bar) end
      function S.on_params(ctx, changed) error("cannot rebuild for " .. changed.period) end
      return S]])
    sock = dir .. "/ctl.sock"
    h = T.spawn({ "paper", s, "--feed", "file:" .. data .. "?speed=" .. SPEED, "--out", dir .. "/out",
                  "--ctl", sock, "--no-report" }, dir)
    T.await_ctl(sock, h)
    assert.equal(0, (T.ctl(sock, "set", "period=7")))
    assert.truthy(status_has('"state": "quarantined", "reason": "failed in on_params at 2024-'))
    assert.truthy(status_has("q.lua:3: cannot rebuild for 7"))
    T.ctl(sock, "stop")
    assert.equal(0, T.wait_exit(h))
    assert.equal(1, count(T.read(h.err), "cannot rebuild for 7"))
  end)

  it("names an unknown key with the known ones sorted", function()
    start()
    local code, out = T.ctl(sock, "set", "perod=5")
    assert.equal(1, code)
    assert.matches("unknown parameter 'perod' for strategy r (did you mean 'period'? known: period, symbol, tag)",
                   out, 1, true)
    T.ctl(sock, "stop")
    assert.equal(0, T.wait_exit(h))
  end)
end)
