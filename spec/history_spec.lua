-- History (ctx:bars), several timeframes (S.timeframes, bar.timeframe) and
-- the time of day (ctx:at): end to end, on generated minute bars and a
-- hand-built ITCH day, with both VMs.
local T = require "support"

local MIN = 60

-- n minute bars of X from epoch second t0: bar i (0-based) opens at
-- 100 + i and closes at 100 + i + 0.5, high + 1, low - 1, volume i + 1.
local function minute_bars(dir, t0, n, step)
  step = step or MIN
  local rows = { "datetime,open,high,low,close,volume" }
  for i = 0, n - 1 do
    local o = 100 + i
    rows[#rows + 1] = string.format("%s,%d,%d,%d,%.1f,%d", os.date("!%Y-%m-%d %H:%M:%S", t0 + i * step),
                                    o, o + 1, o - 1, o + 0.5, i + 1)
  end
  return T.write(dir .. "/X.csv", table.concat(rows, "\n") .. "\n")
end

local T0 = 1709908200 -- 2024-03-08 14:30:00 UTC, a Friday

local function iso(ns) return os.date("!%Y-%m-%dT%H:%M:%S", ns // 1000000000) end

-- Runs a backtest of src on data; returns code, stderr, the out dir.
local function backtest(dir, src, data, extra)
  local s = T.write(dir .. "/s.lua", src)
  local args = { "backtest", s, "--data", data, "--out", dir .. "/out", "--overwrite", "--no-report" }
  for _, a in ipairs(extra or {}) do args[#args + 1] = a end
  local code, _, err = T.gantry(args, dir)
  return code, err, dir .. "/out"
end

-- The strategy's `info` lines, in order, without the log prefix; "@N" (epoch
-- seconds: the sandbox has no os.date) as os.date(fmt) writes it.
local function said(err, fmt)
  local t = {}
  for line in err:gmatch("[^\n]+") do
    local m = line:match("INFO s: %[event [^%]]+%] (.*)$") or line:match("INFO s: (.*)$")
    if m then
      t[#t + 1] = m:gsub("@(%d+)", function(n) return os.date(fmt or "!%H:%M", tonumber(n)) end)
    end
  end
  return t
end

describe("ctx:bars", function()
  local dir
  before_each(function() dir = T.tmpdir() end)
  after_each(function() T.rmdir(dir) end)

  it("returns the last n closed bars of a symbol, oldest first, up to `history`", function()
    local data = minute_bars(dir, T0, 10)
    local code, err = backtest(dir, [[
      local S = { params = { symbol = "X" }, history = 4 }
      function S.on_bar(ctx, bar)
        local b = ctx:bars("X", 3)
        local t = {}
        for i, x in ipairs(b) do t[i] = string.format("%d", x.open) end
        local all = ctx:bars("X", 100)
        local last = all[#all]
        assert(last.time == bar.time and last.close == bar.close and last.symbol == "X"
               and last.high == bar.high and last.low == bar.low and last.volume == bar.volume)
        assert(last.timeframe == nil)
        print(#all .. " " .. table.concat(t, ","))
      end
      function S.on_stop(ctx)
        print("unknown " .. #ctx:bars("NOPE", 5))
      end
      return S]], data)
    assert.equal(0, code, err)
    local s = said(err)
    assert.same({ "1 100", "2 100,101", "3 100,101,102", "4 101,102,103", "4 102,103,104" },
                { s[1], s[2], s[3], s[4], s[5] })
    assert.equal("4 107,108,109", s[10])
    assert.equal("unknown 0", s[11])
  end)

  it("returns nothing without `history`", function()
    local data = minute_bars(dir, T0, 3)
    local code, err = backtest(dir, [[
      local S = { params = { symbol = "X" } }
      function S.on_bar(ctx, bar) print("n=" .. #ctx:bars("X", 5)) end
      return S]], data)
    assert.equal(0, code, err)
    assert.same({ "n=0", "n=0", "n=0" }, said(err))
  end)

  it("is a Lua error naming a bad argument", function()
    local data = minute_bars(dir, T0, 3)
    for _, case in ipairs({
      { 'ctx:bars("X", 0)', "bad argument #2 to 'bars' %(a number of bars >= 1 expected%)" },
      { 'ctx:bars("X", "many")', "bad argument #2 to 'bars'" },
      { 'ctx:bars({}, 1)', "bad argument #1 to 'bars'" },
      { 'ctx:bars("X", 1, "15m")', "bad argument #3 to 'bars' %('15m' is not one of the strategy's timeframes%)" },
    }) do
      local code, err = backtest(dir, [[
        local S = { params = { symbol = "X" }, history = 5, timeframes = { "5m" } }
        function S.on_bar(ctx, bar) ]] .. case[1] .. [[ end
        return S]], data)
      assert.equal(1, code, err)
      assert.matches("s failed in on_bar of X at .-" .. case[2], err)
    end
  end)

  it("refuses a bad `history` or `timeframes` in the strategy table, naming it", function()
    local data = minute_bars(dir, T0, 3)
    for _, case in ipairs({
      { "history = -1", "s.lua: history must be a whole number of bars from 0 to 100000, got -1" },
      { "history = 2.5", "s.lua: history must be a whole number of bars from 0 to 100000, got 2.5" },
      { "history = 'lots'", "s.lua: history must be a whole number of bars from 0 to 100000, got lots" },
      { "timeframes = '5m'", 's.lua: timeframes must be a list like { "5m", "1h" }, got a string' },
      { "timeframes = { '5x' }", "s.lua: timeframes[1]: '5x' is not a timeframe (a whole number then s, m, h or d" },
      { "timeframes = { '5m', 0 }", "s.lua: timeframes[2]: '0' is not a timeframe" },
      { "timeframes = { '60m', '1h' }", "s.lua: timeframes[2]: '1h' is as long as '60m'" },
      { "timeframes = { '1s','2s','3s','4s','5s','6s','7s','8s','9s' }", "s.lua: timeframes: at most 8 of them" },
      { "histroy = 5", "s.lua: unknown field 'histroy' in the strategy table (did you mean 'history'?)" },
    }) do
      local code, err = backtest(dir, "return { params = { symbol = 'X' }, " .. case[1] ..
                                      ", on_bar = function() end }", data)
      assert.equal(2, code, case[1] .. ": " .. err)
      assert.matches(case[2], err, 1, true)
    end
  end)
end)

describe("timeframes", function()
  local dir
  before_each(function() dir = T.tmpdir() end)
  after_each(function() T.rmdir(dir) end)

  it("builds each frame's bars from the feed's and delivers each once it has closed", function()
    -- 14:30 .. 15:31: 62 minute bars
    local data = minute_bars(dir, T0, 62)
    local code, err = backtest(dir, [[
      local S = { params = { symbol = "X" }, history = 100, timeframes = { "1h", "5m" } }
      local function iso(ns) return string.format("@%.0f", ns / 1e9) end
      function S.on_bar(ctx, bar)
        if not bar.timeframe then return end
        local back = ctx:bars("X", 1, bar.timeframe)[1]
        assert(back.time == bar.time and back.close == bar.close and back.timeframe == bar.timeframe)
        print(string.format("%s %s at %s o=%g h=%g l=%g c=%g v=%g n=%d", bar.timeframe, iso(bar.time),
          iso(ctx:now()), bar.open, bar.high, bar.low, bar.close, bar.volume, #ctx:bars("X", 100, bar.timeframe)))
      end
      return S]], data)
    assert.equal(0, code, err)
    local s = said(err)
    -- 14:30-14:35 is minutes 0..4: open 100, high 105, low 99, close 104.5, volume 1+..+5
    assert.equal("5m 14:30 at 14:35 o=100 h=105 l=99 c=104.5 v=15 n=1", s[1])
    assert.equal("5m 14:35 at 14:40 o=105 h=110 l=104 c=109.5 v=40 n=2", s[2])
    -- at 15:00 the 5m bar, then the 1h bar (14:00-15:00, minutes 0..29)
    assert.equal("5m 14:55 at 15:00 o=125 h=130 l=124 c=129.5 v=140 n=6", s[6])
    assert.equal("1h 14:00 at 15:00 o=100 h=130 l=99 c=129.5 v=465 n=1", s[7])
    -- the end of the data (15:31) delivers the bars being built: 15:30 (two minutes) and 15:00
    assert.equal("5m 15:30 at 15:31 o=160 h=162 l=159 c=161.5 v=123 n=13", s[#s - 1])
    assert.equal("1h 15:00 at 15:31 o=130 h=162 l=129 c=161.5 v=1488 n=2", s[#s])
    assert.equal(15, #s)
  end)

  it("cannot look ahead: an order on a 1h bar fills after that hour", function()
    local data = minute_bars(dir, T0, 200)
    local code, err, out = backtest(dir, [[
      local S = { params = { symbol = "X" }, timeframes = { "1h" } }
      function S.on_bar(ctx, bar)
        if bar.timeframe == "1h" and bar.close > bar.open then
          print(string.format("signal %.0f %.0f", bar.time, ctx:now()))
          ctx:buy("X", 1)
        end
      end
      return S]], data)
    assert.equal(0, code, err)
    local fills = T.csv(out .. "/fills.csv")
    local sigs = {}
    for _, l in ipairs(said(err)) do
      local t, now = l:match("^signal (%d+) (%d+)$")
      if t then sigs[#sigs + 1] = { start = tonumber(t), now = tonumber(now) } end
    end
    assert.equal(4, #sigs) -- 14:00, 15:00, 16:00, 17:00 (the last, at the end of data, cannot fill)
    assert.equal(3, #fills)
    for i, f in ipairs(fills) do
      local hour_end = sigs[i].start + 3600 * 1000000000
      assert.equal(hour_end, sigs[i].now) -- delivered at the first event at its end
      -- the fill is the next bar's open after the hour, never inside it
      assert.equal(iso(hour_end + 60 * 1000000000), f.time:sub(1, 19))
      assert.equal(tonumber(f.price), 100 + (hour_end // 1000000000 + 60 - T0) // 60)
    end
  end)

  it("builds frames from trades on an order-book day", function()
    local function frame(msg) return string.pack(">s2", msg) end
    local function S(t, code) return frame(string.pack(">c1I2I2I6c1", "S", 0, 0, t, code)) end
    local function R(t, stock)
      return frame(string.pack(">c1I2I2I6c8c1c1I4c1c1c2c1c1c1c1c1I4c1", "R", 1, 0, t, stock, "Q", "N", 100,
                               "N", "C", "  ", "P", "N", "N", "1", "N", 0, "N"))
    end
    local function A(t, ref, side, shares, stock, price)
      return frame(string.pack(">c1I2I2I6I8c1I4c8I4", "A", 1, 0, t, ref, side, shares, stock, price))
    end
    local function E(t, ref, shares, match)
      return frame(string.pack(">c1I2I2I6I8I4I8", "E", 1, 0, t, ref, shares, match))
    end
    local st, ms = "TEST    ", 1000000
    T.write(dir .. "/day.itch", table.concat({
      S(1 * ms, "O"), R(2 * ms, st),
      A(10 * ms, 1, "B", 1000, st, 1000000), A(11 * ms, 2, "S", 1000, st, 1010000),
      E(500 * ms, 1, 100, 1),  -- 100 @ 100.00, second 0
      E(800 * ms, 2, 200, 2),  -- 200 @ 101.00
      E(1200 * ms, 1, 50, 3),  -- second 1: 50 @ 100.00
      E(3500 * ms, 2, 10, 4),  -- second 3 (nothing in second 2)
      S(4000 * ms, "C"),
    }))
    local code, err = backtest(dir, [[
      local S = { symbols = { "TEST" }, history = 10, timeframes = { "1s" } }
      function S.on_bar(ctx, bar)
        print(string.format("%s %.0f at %.0f o=%g h=%g l=%g c=%g v=%g", bar.timeframe, bar.time / 1e9,
          ctx:now() / 1e6, bar.open, bar.high, bar.low, bar.close, bar.volume))
      end
      function S.on_book(ctx, b) end
      function S.on_stop(ctx) print("kept " .. #ctx:bars("TEST", 10, "1s") .. " feed " .. #ctx:bars("TEST", 10)) end
      return S]], dir .. "/day.itch", { "--date", "1970-01-01" })
    assert.equal(0, code, err)
    local s = said(err)
    assert.equal("1s 0 at 1200 o=100 h=101 l=100 c=101 v=300", s[1])
    assert.equal("1s 1 at 3500 o=100 h=100 l=100 c=100 v=50", s[2])
    -- the last, at the end of the data (the day's last event for TEST is at 3.5 s)
    assert.equal("1s 3 at 3500 o=101 h=101 l=101 c=101 v=10", s[3])
    assert.equal("kept 3 feed 0", s[4])
  end)
end)

describe("ctx:at", function()
  local dir
  before_each(function() dir = T.tmpdir() end)
  after_each(function() T.rmdir(dir) end)

  local src = [[
    local S = { params = { symbol = "X" } }
    function S.on_start(ctx)
      assert(ctx:at("15:55", "close") == true)
      local ok, why = ctx:at("24:00", "bad")
      print(tostring(ok) .. " " .. why)
      print(tostring(select(2, ctx:at("9:30", "bad"))))
    end
    function S.on_bar(ctx, bar) end
    function S.on_timer(ctx, name) print(string.format("%s @%.0f", name, ctx:now() / 1e9)) end
    return S]]

  it("fires on_timer each day at the wall time of the exchange, across a change to summer time", function()
    -- 10-minute bars around the clock, Friday 2024-03-08 to Tuesday 03-12 (New York goes to EDT on Sunday 03-10)
    local data = minute_bars(dir, 1709856000, 5 * 144, 600)
    local code, err = backtest(dir, src, data)
    assert.equal(0, code, err)
    assert.same({
      "nil bad time '24:00' (expected HH:MM or HH:MM:SS, 00:00 to 23:59:59)",
      "bad time '9:30' (expected HH:MM or HH:MM:SS, 00:00 to 23:59:59)",
      "close 2024-03-08T20:55:00", "close 2024-03-09T20:55:00",
      "close 2024-03-10T19:55:00", "close 2024-03-11T19:55:00", "close 2024-03-12T19:55:00",
    }, said(err, "!%Y-%m-%dT%H:%M:%S"))
  end)

  it("uses the config's timezone, and does not fire on a day without events from that time on", function()
    -- minute bars 14:30-16:10 UTC on Friday 03-08 and on Monday 03-11: London's 15:55 is 15:55 UTC
    local rows = { "datetime,open,high,low,close,volume" }
    for _, day in ipairs({ 1709856000, 1710115200 }) do
      for i = 0, 100 do
        rows[#rows + 1] = os.date("!%Y-%m-%d %H:%M:%S", day + 14 * 3600 + 1800 + i * 60) .. ",1,1,1,1,1"
      end
    end
    local data = T.write(dir .. "/X.csv", table.concat(rows, "\n") .. "\n")
    local cfg = T.write(dir .. "/c.lua", 'return { timezone = "Europe/London" }')
    local code, err = backtest(dir, src, data, { "--config", cfg })
    assert.equal(0, code, err)
    local s = said(err, "!%Y-%m-%dT%H:%M:%S")
    assert.same({ "close 2024-03-08T15:55:00", "close 2024-03-11T15:55:00" }, { s[3], s[4] })
    assert.equal(4, #s)
  end)

  it("refuses an unknown timezone in the config", function()
    local data = minute_bars(dir, T0, 3)
    local cfg = T.write(dir .. "/c.lua", 'return { timezone = "Mars/Olympus" }')
    local code, err = backtest(dir, src, data, { "--config", cfg })
    assert.equal(2, code, err)
    assert.matches("c.lua: timezone: unknown time zone 'Mars/Olympus'", err, 1, true)
    T.write(cfg, "return { timezone = 5 }")
    code, err = backtest(dir, src, data, { "--config", cfg })
    assert.equal(2, code, err)
    assert.matches('c.lua: timezone: expected a zone name (a string, e.g. "America/New_York")', err, 1, true)
  end)
end)

describe("history across a hot reload", function()
  local dir, h
  before_each(function() dir = T.tmpdir() end)
  after_each(function() T.reap(h); T.rmdir(dir) end)

  it("is the engine's: a reloaded strategy rebuilds from ctx:bars in on_reload", function()
    local rows = { "datetime,open,high,low,close,volume" }
    for i = 1, 400 do
      rows[#rows + 1] = os.date("!%Y-%m-%d", 1704067200 + (i - 1) * 86400) .. string.format(",%d,%d,%d,%d,1000", i + 10, i + 11, i + 9, i + 10)
    end
    local data = T.write(dir .. "/XYZ.csv", table.concat(rows, "\n") .. "\n")
    local v1 = [[
      local S = { params = { symbol = "XYZ" }, history = 20, timeframes = { "7d" } }
      function S.on_bar(ctx, bar) end
      function S.on_reload(ctx, old)
        local b = ctx:bars("XYZ", 50)
        local w = ctx:bars("XYZ", 50, "7d")
        local ok = #b == 20 and b[20].close - b[1].close == 19 and #w >= 1
        ctx:log("info", "warm %d bars, %d weeks, last %d, %s", #b, #w, b[#b].close, ok and "consistent" or "broken")
        return old
      end
      return S]]
    local s = T.write(dir .. "/r.lua", v1)
    local sock = dir .. "/ctl.sock"
    h = T.spawn({ "paper", s, "--feed", "file:" .. data .. "?speed=" .. tostring(86400 / 0.01), "--out",
                  dir .. "/out", "--ctl", sock, "--no-report" }, dir)
    T.await_ctl(sock, h)
    T.sleep(0.4)
    local code, out = T.ctl(sock, "reload", "r")
    assert.equal(0, code, out)
    T.ctl(sock, "stop")
    assert.equal(0, T.wait_exit(h))
    local err = T.read(h.err)
    local n, w, last = err:match("INFO r: warm (%d+) bars, (%d+) weeks, last (%d+), consistent")
    assert.truthy(n, err)
    assert.equal("20", n)
    assert.truthy(tonumber(last) > 30)
  end)
end)
