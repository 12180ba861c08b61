-- The sandbox: what a strategy cannot reach, and what happens when it runs away.
local T = require "support"

local function day_bars(dir, n)
  local rows = { "datetime,open,high,low,close,volume" }
  for i = 1, n do
    local d = os.date("!%Y-%m-%d", 1704067200 + (i - 1) * 86400)
    rows[#rows + 1] = string.format("%s,100,101,99,100,1000", d)
  end
  return T.write(dir .. "/XYZ.csv", table.concat(rows, "\n") .. "\n")
end

describe("the sandbox", function()
  local dir, data
  before_each(function() dir = T.tmpdir(); data = day_bars(dir, 5) end)
  after_each(function() T.rmdir(dir) end)

  local function run(src, extra)
    local s = T.write(dir .. "/s.lua", src)
    -- some tests run more than once: each run replaces the last one's files
    local args = { "backtest", s, "--data", data, "--out", dir .. "/out", "--no-report", "--overwrite" }
    for _, a in ipairs(extra or {}) do args[#args + 1] = a end
    return T.gantry(args)
  end

  it("shows a strategy error with the strategy's own frames, nothing of the host's", function()
    local code, _, err = run([[
      local S = {}
      local function deep(n) if n == 0 then error("boom") end return deep(n - 1) + 1 end
      function S.on_bar(ctx, b)
        if b.close == 100 then deep(2) end
      end
      return S]])
    assert.equal(1, code, err)
    err = err:gsub(dir:gsub("%p", "%%%0") .. "/", "")
    assert.matches("s.lua:2: boom\nstack traceback:\n\t[C]: in function 'error'\n" ..
                   "\ts.lua:2: in " .. (T.luajit and "function" or "upvalue") .. " 'deep'\n", err, 1, true)
    assert.matches("\ts.lua:4: in function <s.lua:3> (in on_bar)\n", err, 1, true)
    assert.is_nil(err:find("tail call", 1, true))
    assert.is_nil(err:find("event fields", 1, true))
  end)

  if not T.luajit then
    it("sets event fields raw even on an event table the strategy gave a metatable", function()
      local code, _, err = run([[
        local S, seen = {}, 0
        function S.on_bar(ctx, b)
          if not getmetatable(b) then
            setmetatable(b, {
              __newindex = function(_, k) error("__newindex saw " .. k) end,
              __index = function(_, k) error("__index asked for " .. k) end })
          end
          seen = seen + 1
          assert(b.symbol == "XYZ" and b.close == 100 and rawget(b, "volume") == 1000, "fields")
          rawset(b, "volume", nil) -- absent: a plain assignment would go to __newindex
        end
        function S.on_stop(ctx) assert(seen == 5, "saw " .. seen) end
        return S]])
      assert.equal(0, code, err)
    end)
  else
    it("hands bar events as boxed structs the strategy can read but not re-wire", function()
      local code, _, err = run([[
        local S, seen = {}, 0
        function S.on_bar(ctx, b)
          seen = seen + 1
          assert(type(b) == "cdata" and getmetatable(b) == "ffi", "a box; its metatable out of reach")
          assert(not pcall(setmetatable, b, {}), "no metatable of its own")
          assert(b.symbol == "XYZ" and b.close == 100 and b.volume == 1000, "fields")
          assert(b.nosuchfield == nil and not pcall(function() b.extra = 1 end), "no new fields")
          b.close = -1 -- its own copy: the next event is written afresh
        end
        function S.on_stop(ctx) assert(seen == 5, "saw " .. seen) end
        return S]])
      assert.equal(0, code, err)
    end)
  end

  it("has no io, os, debug, package, dofile, loadfile or string.dump", function()
    local code, _, err = run([[
      assert(io == nil and os == nil and debug == nil and package == nil)
      assert(dofile == nil and loadfile == nil and string.dump == nil)
      assert(getmetatable("") == false, "string metatable is hidden")
      return { on_start = function() end }]])
    assert.equal(0, code, err)
  end)

  it("keeps the libraries a strategy needs", function()
    -- LuaJIT has bit where 5.4 has utf8; table.pack and unpack on both
    local vm_lib = T.luajit and "assert(bit.band(6, 3) == 2 and utf8 == nil)"
      or 'assert(utf8.char(72) == "H" and bit == nil)'
    local code, _, err = run(vm_lib .. [[

      assert(string.format("%d", 3) == "3" and table.concat({1, 2}, ",") == "1,2")
      assert(math.floor(2.5) == 2)
      assert(select(2, table.unpack(table.pack(7, 8), 1, 2)) == 8)
      local co = coroutine.wrap(function(a) local b = coroutine.yield(a + 1); return b * 2 end)
      assert(co(1) == 2 and co(5) == 10)
      local f = load("return 1 + 1"); assert(f() == 2)
      assert(type(collectgarbage("count")) == "number")
      return { on_start = function() end }]])
    assert.equal(0, code, err)
  end)

  it("refuses binary chunks to load", function()
    local code, _, err = run([[
      local ok, e = pcall(load, "\27Lua", "x", "b")
      assert(not ok and e:match("binary chunks are not allowed"), e)
      return { on_start = function() end }]])
    assert.equal(0, code, err)
  end)

  it("gives load an environment only as a table, and never crashes on another value", function()
    local code, _, err = run([[
      local f = load("return x", "n", "t", { x = 5 })
      assert(f() == 5, "a table")
      for _, env in ipairs({ 42, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", true, false }) do
        -- Lua 5.4 takes any value as _ENV (indexing it fails, or finds string.x:
        -- nil); LuaJIT's load refuses it (its lua_setfenv would read it as a table)
        local ok, g = pcall(load, "return x", "n", "t", env)
        assert(not ok or not pcall(g) or g() == nil, "an environment of " .. type(env))
        assert(ok == (_VERSION == "Lua 5.4"), "load refuses it only on LuaJIT")
      end
      local ok, g = pcall(load, "return x", "n", "t", nil)
      assert(not ok or not pcall(g), "an explicit nil")
      assert(load("\27LJ\2\0", "x", "t") == nil and load("\27LuaT", "x", "t") == nil, "bytecode as text")
      return { on_start = function() end }]])
    assert.equal(0, code, err)
  end)

  it("refuses a binary strategy file", function()
    local f = T.write(dir .. "/b.lua", "\27LuaT\0garbage")
    local code, _, err = T.gantry({ "backtest", f, "--data", data, "--out", dir .. "/out" })
    assert.equal(2, code)
    assert.matches("binary chunks are not allowed", err, 1, true)
  end)

  it("refuses other garbage collection options and __gc", function()
    local code, _, err = run([[
      assert(not pcall(collectgarbage, "collect"))
      local ok, e = pcall(setmetatable, {}, { __gc = function() end })
      assert(not ok and e:match("__gc metamethods are not allowed"), e)
      return { on_start = function() end }]])
    assert.equal(0, code, err)
  end)

  it("seeds math.random per run so backtests replay", function()
    local src = [[local S = {}
      function S.on_start(ctx) ctx:log("info", "r=%d", math.random(1, 1000000)) end
      return S]]
    local _, _, e1 = run(src, { "--seed", "5" })
    local _, _, e2 = run(src, { "--seed", "5" })
    local _, _, e3 = run(src, { "--seed", "6" })
    local r1, r2, r3 = e1:match("r=(%d+)"), e2:match("r=(%d+)"), e3:match("r=(%d+)")
    assert.truthy(r1)
    assert.equal(r1, r2)
    assert.not_equal(r1, r3)
  end)

  it("requires gantry modules and modules beside the strategy, not others", function()
    T.write(dir .. "/helper.lua", "return { twice = function(x) return 2 * x end }")
    local code, _, err = run([[
      local h = require "helper"
      assert(h.twice(4) == 8)
      assert(require("helper") == h, "cached")
      assert(type(require("gantry.ta").sma) == "function")
      local ok, e = pcall(require, "../etc/passwd")
      assert(not ok and e:match("bad module name"), e)
      ok, e = pcall(require, "socket")
      assert(not ok and e:match("module 'socket' not found"), e)
      return { on_start = function() end }]])
    assert.equal(0, code, err)
  end)

  it("names a misspelt callback", function()
    local code, _, err = run("return { on_bars = function() end }")
    assert.equal(2, code)
    assert.matches("unknown callback 'on_bars'", err, 1, true)
  end)

  it("halts an infinite loop in a callback with exit 1", function()
    local code, _, err = run([[local S = {}
      function S.on_bar(ctx, bar) while true do end end
      return S]], { "--callback-ms", "20" })
    assert.equal(1, code)
    assert.matches("on_bar: cpu budget of 20 ms exceeded", err, 1, true)
  end)

  it("halts an infinite loop that catches errors with pcall", function()
    local code, _, err = run([[local S = {}
      function S.on_bar(ctx, bar) while true do pcall(function() while true do end end) end end
      return S]], { "--callback-ms", "20" })
    assert.equal(1, code)
    assert.matches("cpu budget of 20 ms exceeded", err, 1, true)
  end)

  it("halts an infinite loop inside a coroutine", function()
    local code, _, err = run([[local S = {}
      function S.on_bar(ctx, bar)
        local co = coroutine.create(function() while true do end end)
        coroutine.resume(co)
        while true do end
      end
      return S]], { "--callback-ms", "20" })
    assert.equal(1, code)
    assert.matches("cpu budget of 20 ms exceeded", err, 1, true)
  end)

  it("halts a loop in an xpcall message handler", function()
    local code, _, err = run([[local S = {}
      function S.on_bar(ctx, bar)
        xpcall(function() error("x") end, function(m) while true do end end)
      end
      return S]], { "--callback-ms", "20" })
    assert.equal(1, code)
    assert.matches("cpu budget of 20 ms exceeded", err, 1, true)
  end)

  it("halts loops in comparators, gsub callbacks and metamethods", function()
    for _, body in ipairs({
      "table.sort({3, 2, 1}, function(a, b) while true do end end)",
      "string.gsub('abc', '%w', function(c) while true do end end)",
      "local x = setmetatable({}, { __index = function() while true do end end }).foo",
    }) do
      local code, _, err = run("local S = {}\nfunction S.on_bar(ctx, bar) " .. body .. " end\nreturn S",
                               { "--callback-ms", "20" })
      assert.equal(1, code, body)
      assert.matches("cpu budget of 20 ms exceeded", err, 1, true)
    end
  end)

  it("refuses patterns that would run in C past any budget, keeps ordinary ones", function()
    local code, _, err = run([[local S = {}
      function S.on_bar(ctx, bar)
        local s = string.rep("a", 5000)
        local ok, e = pcall(string.find, s, ".-.-.-b")
        assert(not ok and e:match("pattern too costly for the sandbox: 3 quantifiers"), e)
        ok, e = pcall(function() return s:match("(a*)*b") end)
        assert(not ok, "method calls are guarded too")
        assert(("key=value"):match("(%w+)=(%w+)") == "key")
        assert(string.find("a+b", "+", 1, true) == 2)
        assert(select(2, string.gsub("a,b,c", ",", ";")) == 2)
        local r = { xpcall(function() error({ code = 7 }) end, function(e) return e.code end) }
        assert(r[1] == false and r[2] == 7, "xpcall hands the error to the handler")
        assert(select("#", xpcall(function(a, b) return a, b end, print, 1, 2)) == 3)
      end
      return S]])
    assert.equal(0, code, err)
  end)

  it("halts an infinite loop at load time", function()
    local code, _, err = run("while true do end")
    assert.equal(2, code)
    assert.matches("load: cpu budget", err, 1, true)
  end)

  it("halts a table memory bomb at the cap", function()
    local code, _, err = run([[local S = {}
      function S.on_bar(ctx, bar) local t = {} for i = 1, 1e9 do t[i] = i end end
      return S]], { "--memory-mb", "16", "--callback-ms", "10000" })
    assert.equal(1, code)
    assert.matches("on_bar: memory cap of 16 MB exceeded", err, 1, true)
  end)

  it("halts a string memory bomb even when the error is caught", function()
    local code, _, err = run([[local S = {}
      function S.on_bar(ctx, bar)
        local s = "x"
        for i = 1, 64 do local ok; ok, s = pcall(string.rep, s, 2); if not ok then s = "y" end end
      end
      return S]], { "--memory-mb", "16", "--callback-ms", "10000" })
    assert.equal(1, code)
    assert.matches("memory cap of 16 MB exceeded", err, 1, true)
  end)
end)

describe("gantry check", function()
  local dir
  before_each(function() dir = T.tmpdir() end)
  after_each(function() T.rmdir(dir) end)

  it("lists the name, callbacks, symbols and merged params", function()
    local code, out, err = T.gantry({ "check", "strategies/sma_cross.lua", "--param", "fast=5" })
    assert.equal(0, code, err)
    assert.matches("name: sma_cross", out, 1, true)
    assert.matches("callbacks: on_start on_bar", out, 1, true)
    assert.matches("symbols: AAPL", out, 1, true)
    assert.matches("fast = 5 (" .. T.int_type .. ")", out, 1, true)
    assert.matches('symbol = "AAPL" (string)', out, 1, true)
  end)

  it("names the file and line of a syntax error with exit 2", function()
    local f = T.write(dir .. "/bad.lua", "local S = {}\nfunction S.on_bar(ctx, bar)\n  if then\nend\nreturn S\n")
    local code, _, err = T.gantry({ "check", f })
    assert.equal(2, code)
    assert.matches("bad.lua:3: unexpected symbol near 'then'", err, 1, true)
  end)

  it("reads a strategy's tables raw: its metamethods never run outside a callback", function()
    for i, src in ipairs({
      "return setmetatable({ on_start = print }, { __index = function() error('no') end })",
      "return setmetatable({ on_start = print }, { __index = function() while true do end end })",
      "return { on_start = print, params = setmetatable({ n = 1 }, { __index = function() while true do end end }) }",
      "return { on_start = print, symbols = setmetatable({}, { __len = function() while true do end end }) }",
      "return { on_start = print, params = { n = 1, t = setmetatable({}, { __tostring = function() error('boom') end }) } }",
    }) do
      local f = T.write(dir .. "/m" .. i .. ".lua", src)
      local code, out, err = T.gantry({ "check", f })
      assert.equal(0, code, src .. ": " .. err)
      assert.matches("m" .. i .. ".lua: ok", out, 1, true)
      if i == 5 then assert.matches("t = <table> (table)", out, 1, true) end
    end
  end)

  it("stops a strategy that loops at load time, exit 2", function()
    local f = T.write(dir .. "/loop.lua", "local x = 0\nwhile true do x = x + 1 end\nreturn {}\n")
    local code, _, err = T.gantry({ "check", f })
    assert.equal(2, code)
    assert.matches("loop.lua: load: cpu budget of 500 ms exceeded", err, 1, true)
  end)

  it("says when the file does not return a table", function()
    local f = T.write(dir .. "/nil.lua", "local x = 1\n")
    local code, _, err = T.gantry({ "check", f })
    assert.equal(2, code)
    assert.matches("a strategy must return a table (got nil)", err, 1, true)
  end)
end)

describe("the deploy config", function()
  local dir
  before_each(function() dir = T.tmpdir() end)
  after_each(function() T.rmdir(dir) end)

  it("merges params under the command line's", function()
    local c = T.write(dir .. "/c.lua", "return { params = { fast = 4, slow = 40, sma_cross = { qty = 7 } } }")
    local code, out, err = T.gantry({ "check", "strategies/sma_cross.lua", "--config", c, "--param", "slow=50" })
    assert.equal(0, code, err)
    assert.matches("fast = 4 (" .. T.int_type .. ")", out, 1, true)
    assert.matches("slow = 50 (" .. T.int_type .. ")", out, 1, true)
    assert.matches("qty = 7 (" .. T.int_type .. ")", out, 1, true)
  end)

  it("names an unknown key", function()
    local c = T.write(dir .. "/c.lua", "return { parms = {} }")
    local code, _, err = T.gantry({ "check", "strategies/sma_cross.lua", "--config", c })
    assert.equal(2, code)
    assert.matches("c.lua: unknown key 'parms'", err, 1, true)
  end)

  it("names a value of the wrong type", function()
    local c = T.write(dir .. "/c.lua", "return { sandbox = { memory_mb = -1 } }")
    local code, _, err = T.gantry({ "check", "strategies/sma_cross.lua", "--config", c })
    assert.equal(2, code)
    assert.matches("sandbox.memory_mb: expected a positive number, got -1", err, 1, true)
  end)

  it("names a param whose type differs from the default", function()
    local c = T.write(dir .. "/c.lua", "return { params = { fast = 'x' } }")
    local code, _, err = T.gantry({ "check", "strategies/sma_cross.lua", "--config", c })
    assert.equal(2, code)
    assert.matches("params.fast: expected " .. T.an_int .. " for sma_cross.fast like its default", err, 1, true)
  end)

  it("is data only: no globals, and it cannot run forever", function()
    local c = T.write(dir .. "/c.lua", "return { params = { fast = os.time() } }")
    local code, _, err = T.gantry({ "check", "strategies/sma_cross.lua", "--config", c })
    assert.equal(2, code)
    assert.matches(T.nil_error("index", "global", "os"), err, 1, true)
    c = T.write(dir .. "/d.lua", "while true do end")
    code, _, err = T.gantry({ "check", "strategies/sma_cross.lua", "--config", c })
    assert.equal(2, code)
    assert.matches("the config runs too long", err, 1, true)
  end)
end)

describe("the report", function()
  local dir, data
  before_each(function()
    dir = T.tmpdir()
    local rows = { "datetime,open,high,low,close,volume" }
    for i = 1, 5 do
      rows[#rows + 1] = os.date("!%Y-%m-%d", 1704067200 + (i - 1) * 86400) .. ",100,101,99,100,1000"
    end
    data = T.write(dir .. "/XYZ.csv", table.concat(rows, "\n") .. "\n")
    os.execute("mkdir -p " .. T.quote(dir .. "/lib/gantry"))
  end)
  after_each(function() T.rmdir(dir) end)

  -- Runs a backtest whose stdlib's report.lua renders with `body` first.
  local function report(body)
    T.write(dir .. "/lib/gantry/report.lua", "local M = {}\nfunction M.render(data)\n" .. body ..
      "\nend\nreturn M\n")
    T.write(dir .. "/lib/gantry/extra.lua", "return { x = 1 }")
    T.write(dir .. "/helper.lua", "return {}")
    local s = T.write(dir .. "/s.lua", "return { on_start = function() end }")
    return T.gantry({ "backtest", s, "--data", data, "--out", dir .. "/out", "--quiet" }, dir,
                    "GANTRY_STDLIB=" .. T.quote(dir .. "/lib"))
  end

  it("renders in a sandbox: no io, os or debug, gantry.* modules only", function()
    local code, _, err = report([[
      assert(io == nil and os == nil and debug == nil and package == nil and dofile == nil, "libs")
      assert(require("gantry.extra").x == 1, "a gantry module")
      local ok, e = pcall(require, "helper")
      assert(not ok and e:find("only gantry.* modules here", 1, true), e)
      return "<p>" .. data.title .. "</p>"]])
    assert.equal(0, code, err)
    assert.equal("<p>s</p>", T.read(dir .. "/out/report.html"))
  end)

  it("stops at its memory cap, even when the error is caught", function()
    local code, _, err = report("pcall(function() local t = {} for i = 1, 1e9 do t[i] = {} end end)\n" ..
                                "return ''")
    assert.equal(1, code)
    assert.matches("report: memory cap of 256 MB exceeded", err, 1, true)
  end)
end)
