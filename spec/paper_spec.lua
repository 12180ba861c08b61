-- A running host: gantry paper on a replayed feed, driven through gantry ctl.
local T = require "support"

local day_bars = T.day_bars

-- one bar every 10 ms of wall time for daily bars
local SPEED = tostring(86400 / 0.01)

describe("gantry paper", function()
  local dir, data, h, sock
  before_each(function() dir = T.tmpdir(); data = day_bars(dir, 400) end)
  after_each(function() T.reap(h); T.rmdir(dir) end)

  local function start(src, extra, speed)
    local s = T.write(dir .. "/s.lua", src)
    sock = dir .. "/ctl.sock"
    local args = { "paper", s, "--feed", "file:" .. data .. "?speed=" .. (speed or SPEED),
                   "--out", dir .. "/out", "--ctl", sock, "--no-report" }
    for _, a in ipairs(extra or {}) do args[#args + 1] = a end
    h = T.spawn(args, dir)
    T.await_ctl(sock, h)
  end

  local resting = [[
    local S = { params = { symbol = "XYZ", n = 3 } }
    function S.on_start(ctx) ctx.state.rejects = {} end
    function S.on_bar(ctx, bar)
      if #ctx:orders() < ctx.params.n then
        local id, why = ctx:buy("XYZ", 1, { limit = 50 })
        if not id then ctx.state.rejects[why] = (ctx.state.rejects[why] or 0) + 1 end
      end
    end
    function S.on_order(ctx, o) if o.status == "canceled" then ctx.state.canceled = (ctx.state.canceled or 0) + 1 end end
    function S.on_stop(ctx) ctx:log("info", "halted_rejects=%d canceled=%d", ctx.state.rejects.halted or 0, ctx.state.canceled or 0) end
    return S]]

  it("answers status with the mode, the strategies and their orders", function()
    start(resting)
    T.sleep(0.2)
    local code, out = T.ctl(sock, "status")
    assert.equal(0, code)
    assert.matches('"mode": "paper"', out, 1, true)
    assert.matches('"name": "s", "version": 1', out, 1, true)
    assert.matches('"state": "running"', out, 1, true)
    assert.matches('"open_orders": %[{"id": 1', out)
    assert.equal(0, (T.ctl(sock, "stop")))
    assert.equal(0, T.wait_exit(h))
  end)

  it("halt cancels every working order, blocks new ones until resume", function()
    start(resting)
    T.wait_for(function() local _, o = T.ctl(sock, "status"); return o:match('"id": 3') end, 5)
    local code, out = T.ctl(sock, "halt", "s")
    assert.equal(0, code)
    assert.matches('"halted": %[{"name": "s", "count": 3, "state": "halted"}%]', out)
    T.sleep(0.15)
    local _, st = T.ctl(sock, "status")
    assert.matches('"state": "halted", "reason": "operator"', st, 1, true)
    assert.matches('"open_orders": []', st, 1, true)
    code, out = T.ctl(sock, "resume", "s")
    assert.equal(0, code)
    assert.matches('"state": "running"', out, 1, true)
    assert.truthy(T.wait_for(function() local _, o = T.ctl(sock, "status"); return o:match('"open_orders": %[{') end, 5))
    T.ctl(sock, "stop")
    assert.equal(0, T.wait_exit(h))
    local err = T.read(h.err)
    local rejects = tonumber(err:match("halted_rejects=(%d+)"))
    assert.truthy(rejects and rejects > 0, "no order was refused while halted")
    assert.matches("canceled=", err, 1, true)
    -- the cancels were reported to the strategy: 3 at the halt, the rest at the stop
    assert.truthy(tonumber(err:match("canceled=(%d+)")) >= 3)
    local orders = T.csv(dir .. "/out/orders.csv")
    local halted = 0
    for _, o in ipairs(orders) do if o.reason == "halted" then halted = halted + 1 end end
    assert.equal(rejects, halted)
  end)

  it("flatten closes the position at market while halted", function()
    start([[
      local S = { params = { symbol = "XYZ" } }
      function S.on_bar(ctx, bar) if not ctx.state.x then ctx.state.x = 1; ctx:buy("XYZ", 7) end end
      return S]])
    T.wait_for(function() local _, o = T.ctl(sock, "status"); return o:match('"positions": {"XYZ": 7}') end, 5)
    T.ctl(sock, "halt")
    local code, out = T.ctl(sock, "flatten", "s")
    assert.equal(0, code)
    assert.matches('"count": 1', out, 1, true)
    assert.truthy(T.wait_for(function() local _, o = T.ctl(sock, "status"); return o:match('"positions": {}') end, 5))
    T.ctl(sock, "stop")
    assert.equal(0, T.wait_exit(h))
  end)

  it("set changes a parameter or a risk limit, validated", function()
    start(resting)
    local code, out = T.ctl(sock, "set", "n=5")
    assert.equal(0, code)
    assert.matches('"old": "3"', out, 1, true)
    code, out = T.ctl(sock, "set", "n=abc")
    assert.equal(1, code)
    assert.matches("expected " .. T.an_int .. " for s.n", out, 1, true)
    code, out = T.ctl(sock, "set", "nope=1")
    assert.equal(1, code)
    assert.matches("unknown parameter 'nope'", out, 1, true)
    code, out = T.ctl(sock, "set", "risk.max_order_qty=500")
    assert.equal(0, code)
    code, out = T.ctl(sock, "set", "risk.max_order_qty=-1")
    assert.equal(1, code)
    assert.matches("max_order_qty", out, 1, true)
    T.ctl(sock, "stop")
    assert.equal(0, T.wait_exit(h))
    assert.matches("WARN ctl: set risk.max_order_qty=500 (was none)", T.read(h.err), 1, true)
  end)

  it("a limit set at run time rejects the next order over it", function()
    start(resting)
    T.wait_for(function() local _, o = T.ctl(sock, "status"); return o:match('"id": 3') end, 5)
    assert.equal(0, (T.ctl(sock, "set", "risk.max_open_orders=3")))
    assert.equal(0, (T.ctl(sock, "set", "n=5")))
    assert.truthy(T.wait_for(function()
      local _, o = T.ctl(sock, "status"); return o:match('"rejects_by_reason": {"max_open_orders": %d+}')
    end, 5))
    T.ctl(sock, "stop")
    assert.equal(0, T.wait_exit(h))
    assert.matches("WARN risk: s rejected buy 1 XYZ: max_open_orders", T.read(h.err), 1, true)
  end)

  it("answers bad commands with ok false", function()
    start(resting)
    local code, out = T.ctl(sock, "frobnicate")
    assert.equal(1, code)
    assert.matches("unknown command 'frobnicate'", out, 1, true)
    code, out = T.ctl(sock, "halt", "nobody")
    assert.equal(1, code)
    assert.matches("no strategy named 'nobody'", out, 1, true)
    T.ctl(sock, "stop")
    T.wait_exit(h)
  end)

  it("stops cleanly on SIGTERM: working orders cancelled, files written", function()
    start(resting)
    T.sleep(0.2)
    -- h.pid is the wrapping shell's: signal gantry, its child
    os.execute("pkill -TERM -P " .. h.pid)
    assert.equal(0, T.wait_exit(h))
    local orders = T.csv(dir .. "/out/orders.csv")
    assert.truthy(#orders >= 3)
    for _, o in ipairs(orders) do assert.equal("canceled", o.status) end
    assert.equal("stopped", orders[1].reason)
    assert.truthy(T.read(dir .. "/out/summary.json"))
    assert.is_nil(io.open(sock), "the socket is removed")
  end)

  it("makes its control socket private (0600)", function()
    start(resting)
    local p = io.popen("stat -c %a " .. T.quote(sock))
    local mode = p:read("l")
    p:close()
    assert.equal("600", mode)
    T.ctl(sock, "stop")
    T.wait_exit(h)
  end)
end)

describe("gantry ctl", function()
  it("says when no host listens", function()
    local code, _, err = T.gantry({ "ctl", "/nonexistent/ctl.sock", "status" })
    assert.equal(2, code)
    assert.matches("/nonexistent/ctl.sock: cannot connect", err, 1, true)
  end)

  it("needs a command", function()
    local code, _, err = T.gantry({ "ctl", "/tmp/x.sock" })
    assert.equal(2, code)
    assert.matches("usage: gantry ctl SOCKET COMMAND", err, 1, true)
  end)
end)

describe("hot reload", function()
  local dir, data, h, sock
  before_each(function() dir = T.tmpdir(); data = day_bars(dir, 300) end)
  after_each(function() T.reap(h); T.rmdir(dir) end)

  local v1 = [[
    local S = { params = { symbol = "XYZ", tag = "v1" } }
    function S.on_start(ctx) ctx.state.n = 0; ctx.state.by = {} end
    function S.on_bar(ctx, bar)
      ctx.state.n = ctx.state.n + 1
      local t = ctx.params.tag
      ctx.state.by[t] = (ctx.state.by[t] or 0) + 1
      if not ctx.state.order then ctx.state.order = ctx:buy("XYZ", 1, { limit = 1 }) end
    end
    function S.on_reload(ctx, old) old.reloads = (old.reloads or 0) + 1; return old end
    function S.on_stop(ctx)
      ctx:log("info", "n=%d v1=%d v2=%d reloads=%d", ctx.state.n, ctx.state.by.v1 or 0, ctx.state.by.v2 or 0, ctx.state.reloads or 0)
    end
    return S]]

  local function start(src)
    local s = T.write(dir .. "/r.lua", src)
    sock = dir .. "/ctl.sock"
    h = T.spawn({ "paper", s, "--feed", "file:" .. data .. "?speed=" .. SPEED, "--out", dir .. "/out",
                  "--ctl", sock, "--no-report" }, dir)
    T.await_ctl(sock, h)
    return s
  end

  it("swaps a saved file between two events, keeping state and open orders", function()
    local s = start(v1)
    T.sleep(0.3)
    T.write(s, (v1:gsub('tag = "v1"', 'tag = "v2"')))
    assert.truthy(T.wait_for(function() local _, o = T.ctl(sock, "status"); return o:match('"version": 2') end, 5))
    local _, st = T.ctl(sock, "status")
    -- the resting order placed by version 1 is still there, and says so
    assert.matches('"open_orders": %[{"id": 1, .-"version": 1, "origin": "strategy"}%]', st)
    -- a broken save keeps version 2 running
    T.write(s, "local S = {\nfunction broken(\nreturn S\n")
    T.sleep(0.4)
    _, st = T.ctl(sock, "status")
    assert.matches('"version": 2', st, 1, true)
    assert.matches('"state": "running"', st, 1, true)
    T.ctl(sock, "stop")
    assert.equal(0, T.wait_exit(h))
    local err = T.read(h.err)
    assert.matches("INFO reload: .-r%.lua version 2 ok %(swap [%d.]+ ms%)", err)
    assert.matches("ERROR reload: .-r%.lua:%d+: .- %(still running version 2%)", err)
    local n, a, b, reloads = err:match("n=(%d+) v1=(%d+) v2=(%d+) reloads=(%d+)")
    assert.truthy(n, err)
    -- every event seen exactly once across the versions
    assert.equal(tonumber(n), tonumber(a) + tonumber(b))
    assert.truthy(tonumber(a) > 0 and tonumber(b) > 0)
    assert.equal("1", reloads)
    local summary = T.json(T.read(dir .. "/out/summary.json"))
    assert.equal(tonumber(n), summary.events - 0) -- stopped early: n <= 300
  end)

  it("reloads on request and refuses a state that is not plain data", function()
    start([[
      local S = { params = { symbol = "XYZ" } }
      function S.on_start(ctx) ctx.state.f = function() end end
      return S]])
    local code, out = T.ctl(sock, "reload", "r")
    assert.equal(1, code)
    assert.matches("state.f is a function: only plain data", out, 1, true)
    assert.matches("still running version 1", out, 1, true)
    T.ctl(sock, "stop")
    assert.equal(0, T.wait_exit(h))
  end)

  it("carries an event kept in ctx.state over as a table of its fields", function()
    local src = [[
      local S = { params = { symbol = "XYZ" } }
      function S.on_bar(ctx, bar) ctx.state.last = bar end
      function S.on_reload(ctx, old)
        local l = old.last
        assert(type(l) == "table" and l.symbol == "XYZ" and type(l.close) == "number" and l.close > 0,
               "last: " .. type(l))
        ctx:log("info", "kept %s %s", l.symbol, type(l.time))
        return old
      end
      return S]]
    local s = start(src)
    T.sleep(0.2)
    local code, out = T.ctl(sock, "reload", "r")
    assert.equal(0, code, out)
    T.ctl(sock, "stop")
    assert.equal(0, T.wait_exit(h))
    assert.matches("INFO r: kept XYZ number", T.read(h.err), 1, true)
  end)

  it("keeps the old version when on_reload fails", function()
    local s = start(v1)
    T.write(s, (v1:gsub("old.reloads = ", "error('nope'); old.reloads = ")))
    local code, out = T.ctl(sock, "reload")
    assert.equal(1, code)
    assert.matches("nope", out, 1, true)
    assert.matches("still running version 1", out, 1, true)
    T.ctl(sock, "stop")
    assert.equal(0, T.wait_exit(h))
  end)
end)

describe("a hostile strategy in a running host", function()
  local dir, data, h, sock
  before_each(function() dir = T.tmpdir(); data = day_bars(dir, 300) end)
  after_each(function() T.reap(h); T.rmdir(dir) end)

  local trader = [[
    local S = { params = { symbol = "XYZ" } }
    function S.on_bar(ctx, bar) ctx:buy("XYZ", 1) end
    return S]]

  local hostile = {
    { "an infinite loop", "while true do end", "cpu budget of 20 ms exceeded" },
    { "an infinite loop inside pcall", "while true do pcall(function() while true do end end) end", "cpu budget of 20 ms exceeded" },
    { "a table memory bomb", "local t = {} for i = 1, 1e9 do t[i] = i end", "memory cap of 8 MB exceeded", "5000" },
    { "a string memory bomb", "local s = 'x' for i = 1, 40 do s = s .. s end", "memory cap of 8 MB exceeded", "5000" },
    { "reaching for io", "io.open('/etc/passwd')", T.nil_error("index", "global", "io") },
    { "reaching for os", "os.execute('true')", T.nil_error("index", "global", "os") },
    { "reaching for debug", "debug.sethook()", T.nil_error("index", "global", "debug") },
    { "reaching for package", "package.loadlib('x', 'y')", T.nil_error("index", "global", "package") },
    { "string.dump", "string.dump(print)", T.nil_error("call", "field", "dump") },
    { "a binary chunk", "assert(load('\\27LuaT', 'x', 'b'))", "binary chunks are not allowed" },
    { "changing the string metatable", "getmetatable('').__index = {}", "attempt to index a boolean value" },
  }

  for _, case in ipairs(hostile) do
    local what, body, message, budget = case[1], case[2], case[3], case[4] or "20"
    it("stops " .. what .. "; the host and the other strategy keep trading", function()
      T.write(dir .. "/bad.lua", "local S = { params = { symbol = 'XYZ' } }\nfunction S.on_bar(ctx, bar)\n  if (ctx.state.n or 0) == 3 then " ..
        body .. " end\n  ctx.state.n = (ctx.state.n or 0) + 1\nend\nreturn S\n")
      T.write(dir .. "/good.lua", trader)
      sock = dir .. "/ctl.sock"
      h = T.spawn({ "paper", dir .. "/bad.lua", dir .. "/good.lua", "--feed", "file:" .. data .. "?speed=" .. SPEED,
                    "--out", dir .. "/out", "--ctl", sock, "--no-report", "--callback-ms", budget, "--memory-mb", "8" }, dir)
      local st = T.wait_for(function()
        local code, o = T.ctl(sock, "status")
        return code == 0 and o:match('"state": "quarantined"') and o
      end, 10)
      assert.truthy(st, "never quarantined: " .. (T.read(h.err) or ""))
      assert.matches(message, st, 1, true)
      local fills1 = tonumber(st:match('"name": "good".-"fills": (%d+)'))
      local mem = tonumber(st:match('"name": "bad".-"memory": (%d+)'))
      assert.truthy(mem and mem <= 8 * 1048576, "memory of the stopped strategy: " .. tostring(mem))
      T.sleep(0.3)
      local _, st2 = T.ctl(sock, "status")
      local fills2 = tonumber(st2:match('"name": "good".-"fills": (%d+)'))
      assert.truthy(fills2 > fills1, "the other strategy stopped trading")
      assert.matches('"name": "good", "version": 1, "hash": "%x+", "state": "running"', st2)
      T.ctl(sock, "stop")
      assert.equal(0, T.wait_exit(h))
    end)
  end

  it("resume brings a quarantined strategy back", function()
    T.write(dir .. "/bad.lua", "local S = { params = { symbol = 'XYZ' } }\nfunction S.on_bar(ctx, bar)\n  ctx.state.n = (ctx.state.n or 0) + 1\n  if ctx.state.n == 3 then error('boom') end\nend\nreturn S\n")
    sock = dir .. "/ctl.sock"
    h = T.spawn({ "paper", dir .. "/bad.lua", "--feed", "file:" .. data .. "?speed=" .. SPEED,
                  "--out", dir .. "/out", "--ctl", sock, "--no-report" }, dir)
    assert.truthy(T.wait_for(function() local _, o = T.ctl(sock, "status"); return o:match("boom") end, 10))
    local code, out = T.ctl(sock, "resume", "bad")
    assert.equal(0, code)
    assert.matches('"state": "running"', out, 1, true)
    T.ctl(sock, "stop")
    assert.equal(0, T.wait_exit(h))
  end)
end)

describe("hot reload triggers", function()
  local dir, data, h, sock
  before_each(function() dir = T.tmpdir(); data = day_bars(dir, 300) end)
  after_each(function() T.reap(h); T.rmdir(dir) end)

  local src = [[
    local S = { params = { symbol = "XYZ", v = 1 } }
    function S.on_bar(ctx, bar) end
    return S]]

  local function start()
    T.write(dir .. "/w.lua", src)
    sock = dir .. "/ctl.sock"
    h = T.spawn({ "paper", dir .. "/w.lua", "--feed", "file:" .. data .. "?speed=" .. SPEED, "--out", dir .. "/out",
                  "--ctl", sock, "--no-report" }, dir)
    T.await_ctl(sock, h)
  end

  local function version_becomes(v)
    return T.wait_for(function() local _, o = T.ctl(sock, "status"); return o:match('"version": ' .. v) end, 5)
  end

  it("follows an editor that writes a new file and renames it over the old one", function()
    start()
    T.write(dir .. "/.w.lua.swp", (src:gsub("v = 1", "v = 2")))
    os.execute("mv " .. T.quote(dir .. "/.w.lua.swp") .. " " .. T.quote(dir .. "/w.lua"))
    assert.truthy(version_becomes(2))
    T.ctl(sock, "stop")
    assert.equal(0, T.wait_exit(h))
  end)

  it("stops a save that loops at load time, off the loop; the old version keeps running", function()
    start()
    T.write(dir .. "/w.lua", "local x = 0\nwhile true do x = x + 1 end\n" .. src)
    local err = T.wait_for(function()
      local e = T.read(h.err) or ""
      return e:find("still running version 1", 1, true) and e:match("ERROR reload: .*") end, 10)
    assert.truthy(err, T.read(h.err))
    assert.matches("load: cpu budget of 500 ms exceeded", err, 1, true)
    assert.matches("still running version 1", err, 1, true)
    local _, st = T.ctl(sock, "status")
    assert.matches('"version": 1, .-"state": "running"', st)
    T.ctl(sock, "stop")
    assert.equal(0, T.wait_exit(h))
  end)

  it("compiles a saved file off the loop: the loop waits only for the swap", function()
    T.write(dir .. "/w.lua", src)
    sock = dir .. "/ctl.sock"
    h = T.spawn({ "paper", dir .. "/w.lua", "--feed", "file:" .. data .. "?speed=" .. SPEED, "--out", dir .. "/out",
                  "--ctl", sock, "--no-report" }, dir, "GANTRY_LOG=debug")
    T.await_ctl(sock, h)
    -- about 0.2 s of work when the new version loads
    T.write(dir .. "/w.lua", "for i = 1, 3e7 do end\n" .. src)
    assert.truthy(version_becomes(2))
    T.ctl(sock, "stop")
    assert.equal(0, T.wait_exit(h))
    local err = T.read(h.err)
    local compile, swap = err:match("compile and load ([%d.]+) ms off the loop, state and swap ([%d.]+) ms")
    assert.truthy(compile, err)
    assert.truthy(tonumber(compile) > 50, "the load did its work: " .. compile)
    assert.truthy(tonumber(swap) < tonumber(compile) / 5, "swap " .. swap .. " ms, compile " .. compile .. " ms")
    assert.matches("version 2 ok %(swap " .. swap:gsub("%.", "%%.") .. " ms%)", err)
  end)

  it("reloads the example strategy mid-run (its state is plain data)", function()
    local text = T.read("strategies/sma_cross.lua")
    T.write(dir .. "/sma_cross.lua", text)
    sock = dir .. "/ctl.sock"
    h = T.spawn({ "paper", dir .. "/sma_cross.lua", "--feed", "file:" .. data .. "?speed=" .. SPEED, "--param", "symbol=XYZ",
                  "--param", "fast=2", "--param", "slow=5", "--out", dir .. "/out", "--ctl", sock, "--no-report" }, dir)
    T.await_ctl(sock, h)
    T.sleep(0.2)
    T.write(dir .. "/sma_cross.lua", (text:gsub("qty = 100", "qty = 50")))
    assert.truthy(version_becomes(2))
    T.ctl(sock, "stop")
    assert.equal(0, T.wait_exit(h))
    local orders = T.csv(dir .. "/out/orders.csv")
    local seen = {}
    for _, o in ipairs(orders) do seen[o.version] = true end
    assert.truthy(seen["1"], "version 1 traded")
  end)

  it("reloads on SIGHUP", function()
    start()
    os.execute("pkill -HUP -P " .. h.pid)
    assert.truthy(version_becomes(2))
    assert.matches("SIGHUP: reloading every strategy", T.read(h.err), 1, true)
    T.ctl(sock, "stop")
    assert.equal(0, T.wait_exit(h))
  end)

  it("reloads when a module it required changes", function()
    T.write(dir .. "/helper.lua", "return { k = 1 }")
    src = [[
      local helper = require "helper"
      local S = { params = { symbol = "XYZ" } }
      function S.on_bar(ctx, bar) end
      return S]]
    start()
    T.write(dir .. "/helper.lua", "return { k = 2 }")
    assert.truthy(version_becomes(2))
    T.ctl(sock, "stop")
    assert.equal(0, T.wait_exit(h))
  end)
end)

describe("gantry paper, bad usage", function()
  local function expect(args, message)
    local code, _, err = T.gantry(args)
    assert.equal(2, code)
    assert.matches(message, err, 1, true)
  end

  it("needs a feed", function()
    expect({ "paper", "strategies/sma_cross.lua" }, "no --feed given")
  end)
  it("names a feed it cannot read", function()
    expect({ "paper", "strategies/sma_cross.lua", "--feed", "tcp://127.0.0.1:1" },
           "--feed tcp://127.0.0.1:1: expected file:PATH[?speed=X], soup://HOST:PORT?... or mold://GROUP:PORT?...")
  end)
  it("checks the speed", function()
    expect({ "paper", "strategies/sma_cross.lua", "--feed", "file:x.csv?speed=fast" }, "expected ?speed=X with X >= 0")
  end)
  it("refuses backtest-only options", function()
    expect({ "paper", "strategies/sma_cross.lua", "--feed", "file:x.csv", "--data", "x.csv" }, "--data: unknown option")
  end)
  it("names a socket path it cannot bind", function()
    local dir = T.tmpdir()
    T.gen_bars(dir, "--seed 1 --bars 5 --symbols AAPL")
    expect({ "paper", "strategies/sma_cross.lua", "--feed", "file:" .. dir .. "/AAPL.csv", "--out", dir .. "/o",
             "--ctl", "/nonexistent/dir/ctl.sock" }, "/nonexistent/dir/ctl.sock: cannot listen")
    T.rmdir(dir)
  end)
  it("prints its usage", function()
    local code, out = T.gantry({ "paper", "--help" })
    assert.equal(0, code)
    assert.matches("usage: gantry paper STRATEGY", out, 1, true)
  end)
end)
