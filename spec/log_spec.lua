-- Log lines: the event time in a backtest, repeated warnings rate-limited
-- with a count, refused ctl commands said, ISO times in ctl status, and
-- --log FILE.
local T = require "support"

local function day_bars(dir, n)
  local rows = { "datetime,open,high,low,close,volume" }
  for i = 1, n do
    local d = os.date("!%Y-%m-%d", 1704067200 + (i - 1) * 86400)
    rows[#rows + 1] = string.format("%s,100,102,98,101,1000", d)
  end
  return T.write(dir .. "/XYZ.csv", table.concat(rows, "\n") .. "\n")
end

local function count(text, plain)
  local n, at = 0, 1
  while true do
    local i = text:find(plain, at, true)
    if not i then return n end
    n, at = n + 1, i + 1
  end
end

describe("log lines", function()
  local dir
  before_each(function() dir = T.tmpdir() end)
  after_each(function() T.rmdir(dir) end)

  local function backtest(src, extra, nbars)
    day_bars(dir, nbars or 5)
    T.write(dir .. "/s.lua", src)
    local args = { "backtest", dir .. "/s.lua", "--data", dir .. "/XYZ.csv", "--out", dir .. "/out", "--no-report", "--quiet" }
    for _, a in ipairs(extra or {}) do args[#args + 1] = a end
    return T.gantry(args)
  end

  it("carry the event time in a backtest, after the component", function()
    local code, _, err = backtest([[
      local S = { params = { symbol = "XYZ" } }
      function S.on_start(ctx) ctx:log("info", "starting") end
      function S.on_bar(ctx, bar) if bar.close then ctx:log("warn", "bar %d", ctx.state.n or 1); ctx.state.n = (ctx.state.n or 1) + 1 end end
      return S]])
    assert.equal(0, code, err)
    -- no event yet at on_start: the line is as always
    assert.matches("Z INFO s: starting\n", err, 1, true)
    assert.matches("%dZ WARN s: %[event 2024%-01%-01T00:00:00%.000000Z%] bar 1\n", err)
    assert.matches("%dZ WARN s: %[event 2024%-01%-03T00:00:00%.000000Z%] bar 3\n", err)
  end)

  it("rate-limit a repeated warning, saying how many were held back", function()
    T.write(dir .. "/c.lua", "return { risk = { max_order_qty = 1 } }")
    local code, _, err = backtest([[
      local S = { params = { symbol = "XYZ" } }
      function S.on_bar(ctx, bar) ctx:buy("XYZ", 5) end
      return S]], { "--config", dir .. "/c.lua" }, 60)
    assert.equal(0, code, err)
    local shown = count(err, "WARN risk: [event ")
    assert.truthy(shown < 60 and shown >= 10, "shown: " .. shown)
    assert.matches("WARN risk: [event 2024-01-01T00:00:00.000000Z] s rejected buy 5 XYZ: max_order_qty", err, 1, true)
    local held = 0
    for n in err:gmatch("WARN risk: (%d+) more like this suppressed %(at most 10 a second%), the last: s rejected buy 5 XYZ: max_order_qty") do
      held = held + tonumber(n)
    end
    assert.equal(60, shown + held, err)
  end)

  it("go to --log FILE as well, appended", function()
    local log = dir .. "/gantry.log"
    local src = [[
      local S = { params = { symbol = "XYZ" } }
      function S.on_bar(ctx, bar) ctx:log("info", "hello %s", bar.symbol) end
      return S]]
    local code, _, err = backtest(src, { "--log", log })
    assert.equal(0, code, err)
    code, _, err = backtest(src, { "--log", log, "--overwrite" })
    assert.equal(0, code, err)
    local text = T.read(log)
    assert.equal(10, count(text, "INFO s: [event "))
    assert.equal(count(err, "INFO s:"), 5)
    -- a user error goes there too
    code = backtest([[return {}]], { "--log", log, "--overwrite" })
    assert.equal(2, code)
    assert.matches("gantry: " .. dir .. "/s.lua: ", T.read(log), 1, true)
  end)

  it("--log names a file it cannot open", function()
    local code, _, err = backtest([[local S = {} function S.on_bar() end return S]],
      { "--log", dir .. "/nope/gantry.log" })
    assert.equal(2, code)
    assert.matches("gantry: " .. dir .. "/nope/gantry.log: cannot open the log: No such file or directory", err, 1, true)
  end)
end)

describe("a running host's log and status", function()
  local dir, h, sock
  before_each(function() dir = T.tmpdir(); day_bars(dir, 3000) end)
  after_each(function() T.reap(h); T.rmdir(dir) end)

  it("logs a refused ctl set with its reason; status has ISO times", function()
    T.write(dir .. "/s.lua", [[
      local S = { params = { symbol = "XYZ", n = 3 } }
      function S.on_bar(ctx, bar) end
      return S]])
    sock = dir .. "/ctl.sock"
    h = T.spawn({ "paper", dir .. "/s.lua", "--feed", "file:" .. dir .. "/XYZ.csv?speed=" .. tostring(86400 / 0.01),
                  "--out", dir .. "/out", "--ctl", sock, "--no-report", "--log", dir .. "/host.log" }, dir)
    T.await_ctl(sock, h)
    local code = T.ctl(sock, "set", "n=abc")
    assert.equal(1, code)
    code = T.ctl(sock, "set", "risk.max_order_qty=-1")
    assert.equal(1, code)
    local _, st = T.ctl(sock, "status")
    local ns, iso = st:match('"time": (%d+), "time_iso": "([^"]+)"')
    assert.truthy(ns, st)
    local t = math.floor(tonumber(ns) / 1e9)
    assert.equal(os.date("!%Y-%m-%dT%H:%M:%S", t), iso:sub(1, 19))
    assert.matches("^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%d%.%d+Z$", iso)
    T.ctl(sock, "stop")
    assert.equal(0, T.wait_exit(h))
    local err = T.read(h.err)
    assert.matches("WARN ctl: set n=abc refused: expected " .. T.an_int .. " for s.n", err, 1, true)
    assert.matches("WARN ctl: set risk.max_order_qty=-1 refused: ", err, 1, true)
    assert.matches("WARN ctl: set n=abc refused", T.read(dir .. "/host.log"), 1, true)
  end)
end)
