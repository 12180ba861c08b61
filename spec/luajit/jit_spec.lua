-- The LuaJIT build (make VM=luajit), beside the Lua 5.4 one: the same files
-- for the same run, the FFI fast path, the event boxes, the sandbox's LuaJIT
-- extras and the CPU budget over JIT-compiled loops.
-- spec/run_all.sh runs this file with GANTRY_BIN = the LuaJIT build and
-- GANTRY_BIN_LUA54 = the Lua 5.4 one.
local T = require "support"

assert(T.luajit, "spec/luajit/ needs GANTRY_BIN to be the LuaJIT build (gantry --version)")
local LUA54 = assert(os.getenv("GANTRY_BIN_LUA54"), "spec/luajit/ needs GANTRY_BIN_LUA54")

-- Runs the same arguments with both binaries, out into out54/ and outjit/.
local function both(dir, args)
  local rc = {}
  for _, v in ipairs({ { "out54", LUA54 }, { "outjit", T.bin } }) do
    local full = { "--out", dir .. "/" .. v[1], "--no-report" }
    for i, a in ipairs(args) do table.insert(full, i, a) end
    local code, _, err = T.gantry(full, dir, nil, v[2])
    rc[#rc + 1] = code
    assert(code == 0, v[1] .. ": " .. err)
  end
  return rc
end

-- n daily bars of XYZ, all at 100.
local function xyz_days(dir, n)
  local rows = { "datetime,open,high,low,close,volume" }
  for i = 1, n do
    rows[#rows + 1] = os.date("!%Y-%m-%d", 1704067200 + (i - 1) * 86400) .. ",100,101,99,100,1000"
  end
  return T.write(dir .. "/XYZ.csv", table.concat(rows, "\n") .. "\n")
end

local function same_files(dir)
  for _, f in ipairs({ "fills.csv", "orders.csv", "equity.csv" }) do
    local a, b = T.read(dir .. "/out54/" .. f), T.read(dir .. "/outjit/" .. f)
    assert.truthy(a and #a > 0, f .. " missing")
    assert.equal(a, b, f .. " differs between the VMs")
  end
end

describe("the LuaJIT build", function()
  local dir
  before_each(function() dir = T.tmpdir() end)
  after_each(function() T.rmdir(dir) end)

  describe("writes the same files as the Lua 5.4 build", function()
    local bars
    setup(function()
      bars = T.tmpdir()
      T.gen_bars(bars, "--seed 42 --bars 504 --symbols AAPL,MSFT --corr 0.8 --start 2024-01-02")
    end)
    teardown(function() T.rmdir(bars) end)

    it("for the example strategies on bars", function()
      for _, c in ipairs({
        { "sma_cross", "--data", bars .. "/AAPL.csv" },
        { "rsi_reversion", "--data", bars .. "/MSFT.csv", "--param", "symbol=MSFT" },
        { "pairs", "--data", bars .. "/AAPL.csv", "--data", bars .. "/MSFT.csv", "--param", "a=AAPL",
          "--param", "b=MSFT", "--param", "window=40", "--param", "entry=1.5" },
      }) do
        local sub = T.tmpdir()
        local args = { "backtest", "strategies/" .. c[1] .. ".lua" }
        for i = 2, #c do args[#args + 1] = c[i] end
        both(sub, args)
        local ok, e = pcall(same_files, sub)
        T.rmdir(sub)
        assert(ok, c[1] .. ": " .. tostring(e))
      end
    end)

    it("for a tick strategy on a generated day, through the fast order path", function()
      local day = dir .. "/day.itch"
      local code, _, err = T.sh(T.quote(T.tools .. "/gen_itch") ..
        " --seed 3 --messages 200000 --symbols 20 --out " .. T.quote(day), dir)
      assert.equal(0, code, err)
      local s = T.write(dir .. "/mm.lua", [[
        local S = { symbols = { "AAAA", "AAAB" } }
        local n = 0
        function S.on_book(ctx, b)
          n = n + 1
          if n % 50 ~= 0 or b.bid <= 0 or b.ask <= 0 then return end
          local p = ctx:position(b.symbol)
          if p > 200 then assert(ctx:sell(b.symbol, 100))
          elseif p < -200 then assert(ctx:buy(b.symbol, 100))
          elseif n % 100 == 0 then ctx:buy(b.symbol, 10, { limit = b.ask, tif = "ioc" }) -- the C method
          else ctx:sell(b.symbol, 10) end
        end
        function S.on_trade(ctx, t) ctx.state.sides = (ctx.state.sides or 0) + (t.side and 1 or 0) end
        return S]])
      both(dir, { "backtest", s, "--data", day, "--date", "2024-03-01" })
      same_files(dir)
      local fills = #T.lines(dir .. "/outjit/fills.csv") - 1
      assert.truthy(fills > 50, "fills: " .. fills)
    end)
  end)

  describe("fast path", function()
    local data
    before_each(function() data = xyz_days(dir, 6) end)

    local function run(src, extra)
      local s = T.write(dir .. "/s.lua", src)
      local args = { "backtest", s, "--data", data, "--out", dir .. "/out", "--no-report" }
      for _, a in ipairs(extra or {}) do args[#args + 1] = a end
      return T.gantry(args, nil, "GANTRY_LOG=debug")
    end

    it("answers ctx:buy, ctx:sell and ctx:position as the C methods do", function()
      local c = T.write(dir .. "/c.lua", "return { risk = { max_order_qty = 50 } }")
      local code, _, err = run([[
        local S = {}
        function S.on_bar(ctx, b)
          ctx.state.n = (ctx.state.n or 0) + 1
          local n = ctx.state.n
          if n == 1 then
            local id = ctx:buy("XYZ", 10)
            assert(type(id) == "number" and id == 1, "an order id: " .. tostring(id))
            local none, why = ctx:buy("XYZ", 60)
            assert(none == nil and why == "max_order_qty", tostring(why))
            none, why = ctx:buy("NOPE", 1)
            assert(none == nil and why == "unknown_symbol", tostring(why))
            assert(ctx:position("NOPE") == 0)
            assert(ctx:buy("XYZ", 5, { limit = 90 }), "options go to the C method")
            -- argument errors as the C methods word them (not tail calls: named)
            local ok, e = pcall(function() local r = ctx:buy("XYZ", "ten"); return r end)
            assert(not ok and e:find("bad argument #2 to 'buy' (number expected, got string)", 1, true), e)
            ok, e = pcall(function() local r = ctx:sell(nil, 1); return r end)
            assert(not ok and e:find("bad argument #1 to 'sell' (string expected, got nil)", 1, true), e)
          elseif n == 2 then
            assert(ctx:position("XYZ") == 10, "filled at the open: " .. ctx:position("XYZ"))
            assert(ctx:cancel_all("XYZ") == 1, "the resting limit")
            assert(ctx:sell("XYZ", 4))
          elseif n == 3 then
            assert(ctx:position("XYZ") == 6, tostring(ctx:position("XYZ")))
            ctx.buy = nil -- the C method again, through ctx's metatable
            assert(ctx:buy("XYZ", 1) and ctx:position("XYZ") == 6)
          end
        end
        return S]], { "--config", c })
      assert.equal(0, code, err)
      local rows = T.csv(dir .. "/out/orders.csv")
      assert.equal(5, #rows)
      -- buy 10, buy 60 and sell 4 took the FFI path; the rest the C methods
      assert.matches("DEBUG vm: s: 3 orders through the FFI fast path", err, 1, true)
    end)

    it("refuses bad quantities on the fast path with the C path's reasons", function()
      local code, _, err = run([[
        local S = {}
        function S.on_bar(ctx, b)
          if ctx.state.done then return end
          ctx.state.done = true
          for _, q in ipairs({ 0, -1, 1.5, 0 / 0, 1 / 0, -1 / 0, 1e300 }) do
            local id, why = ctx:buy("XYZ", q)
            assert(id == nil and why == "bad_qty", tostring(q) .. ": " .. tostring(why))
            id, why = ctx:sell("XYZ", q)
            assert(id == nil and why == "bad_qty", tostring(q) .. ": " .. tostring(why))
          end
          assert(ctx:buy("XYZ\0x", 1) == nil, "a name with a NUL in it is no symbol")
        end
        return S]])
      assert.equal(0, code, err)
      assert.matches("DEBUG vm: s: 14 orders through the FFI fast path", err, 1, true)
    end)

    it("hands trades as boxes with the side as a word", function()
      local ms = 1000000
      local function frame(msg) return string.pack(">s2", msg) end
      local STOCK = "TEST    "
      local msgs = {
        frame(string.pack(">c1I2I2I6c1", "S", 0, 0, ms, "O")),
        frame(string.pack(">c1I2I2I6c8c1c1I4c1c1c2c1c1c1c1c1I4c1", "R", 1, 0, 2 * ms, STOCK, "Q", "N",
                          100, "N", "C", "  ", "P", "N", "N", "1", "N", 0, "N")),
        frame(string.pack(">c1I2I2I6I8c1I4c8I4", "A", 1, 0, 10 * ms, 1, "B", 300, STOCK, 1000000)),
        frame(string.pack(">c1I2I2I6I8I4I8", "E", 1, 0, 20 * ms, 1, 100, 1)),
      }
      local day = T.write(dir .. "/t.itch", table.concat(msgs))
      local s = T.write(dir .. "/t.lua", [[
        local S = { symbols = { "TEST" } }
        function S.on_book(ctx, b) -- the add, then the execution's smaller top
          assert(type(b) == "cdata" and b.symbol == "TEST" and b.bid == 100, "top")
          ctx.state.books = (ctx.state.books or 0) + 1
          ctx.state.qty = (ctx.state.qty or "") .. b.bid_qty .. ","
        end
        function S.on_trade(ctx, t)
          assert(t.symbol == "TEST" and t.price == 100 and t.qty == 100, "trade")
          ctx:log("info", "side=%s books=%d qty=%s", tostring(t.side), ctx.state.books, ctx.state.qty)
        end
        return S]])
      local code, _, err = T.gantry({ "backtest", s, "--data", day, "--date", "2024-03-01",
                                      "--out", dir .. "/o", "--no-report" })
      assert.equal(0, code, err)
      -- a resting bid executed: the aggressor sold
      assert.matches("side=sell books=2 qty=300,200,", err, 1, true)
    end)

    it("keeps LuaJIT's own ways out of the strategy's reach", function()
      local code, _, err = run([[
        assert(jit == nil and ffi == nil, "jit and ffi")
        assert(getfenv == nil and setfenv == nil and newproxy == nil and loadstring == nil, "5.1 base")
        for _, m in ipairs({ "ffi", "jit", "jit.util", "bit" }) do
          local ok, e = pcall(require, m)
          assert(not ok and e:find("module '" .. m .. "' not found", 1, true), m .. ": " .. tostring(e))
        end
        assert(type(bit) == "table" and table.pack and table.unpack, "bit, table.pack")
        return { on_start = function() end }]])
      assert.equal(0, code, err)
    end)

    it("numbers take any number: LuaJIT has one number type", function()
      local code, out = T.gantry({ "check", "strategies/sma_cross.lua" })
      assert.equal(0, code)
      assert.matches("fast = 10 (number)", out, 1, true)
      local code2, _, err = run("return { params = { n = 3 }, on_start = function(ctx) assert(ctx.params.n == 2.5) end }",
                                { "--param", "n=2.5" })
      assert.equal(0, code2, err)
    end)
  end)

  describe("CPU budget", function()
    local data
    before_each(function() data = xyz_days(dir, 3) end)

    -- Loops the JIT compiles into machine code that never checks a hook.
    local loops = {
      "while true do end",
      "local x = 0; while true do x = x + b.close end",
      "local s = 0; for i = 1, 1e300 do s = s + i % 7; if s < 0 then break end end",
      "while true do pcall(function() local x = 0; while true do x = x + 1 end end) end",
      "local function f(x) return x * 2 + 1 end; local s = 0; while true do s = f(s) % 97 end",
      -- across C frames: a gsub callback, a sort comparator, a coroutine
      "string.gsub('abc', '.', function() local x = 0; while true do x = x + 1 end end)",
      "table.sort({ 3, 1, 2 }, function(a, b) while true do end end)",
      "coroutine.wrap(function() local x = 0; while true do x = x + 1 end end)()",
    }
    for i, body in ipairs(loops) do
      it("stops a compiled loop (" .. i .. ") past the budget, exit 1", function()
        local s = T.write(dir .. "/s.lua", "local S = {}\nfunction S.on_bar(ctx, b)\n  " .. body ..
          "\nend\nreturn S\n")
        local code, _, err = T.gantry({ "backtest", s, "--data", data, "--out", dir .. "/o",
                                        "--no-report", "--callback-ms", "20" })
        assert.equal(1, code, err)
        assert.matches("s.lua: on_bar: cpu budget of 20 ms exceeded", err, 1, true)
      end)
    end

    it("in a running host: the others go on, set skips it, resume refuses, reload starts afresh", function()
      local bars = { "datetime,open,high,low,close,volume" }
      for i = 1, 400 do
        bars[#bars + 1] = os.date("!%Y-%m-%d", 1704067200 + (i - 1) * 86400) .. ",100,102,98,101,1000"
      end
      local feed = T.write(dir .. "/XYZ.csv", table.concat(bars, "\n") .. "\n")
      local bad = "local S = { params = { symbol = 'XYZ', n = 1 } }\n" ..
        "function S.on_bar(ctx, b)\n  ctx.state.seen = (ctx.state.seen or 0) + 1\n" ..
        "  if ctx.state.seen == 3 then while true do end end\nend\nreturn S\n"
      T.write(dir .. "/bad.lua", bad)
      T.write(dir .. "/good.lua", [[
        local S = { params = { symbol = "XYZ", n = 1 } }
        function S.on_bar(ctx, b) ctx:buy("XYZ", ctx.params.n) end
        return S]])
      local sock = dir .. "/ctl.sock"
      local h = T.spawn({ "paper", dir .. "/bad.lua", dir .. "/good.lua", "--feed",
                          "file:" .. feed .. "?speed=" .. tostring(86400 / 0.01), "--out", dir .. "/out",
                          "--ctl", sock, "--no-report", "--callback-ms", "20" }, dir)
      local ok, e = pcall(function()
        local st = T.wait_for(function()
          local code, o = T.ctl(sock, "status")
          return code == 0 and o:match('"state": "quarantined"') and o
        end, 10)
        assert.truthy(st, "never quarantined: " .. (T.read(h.err) or ""))
        assert.matches("in JIT-compiled code", st, 1, true)
        -- set without a name changes the strategies that can take it
        local code, out = T.ctl(sock, "set", "n=2")
        assert.equal(0, code, out)
        code, out = T.ctl(sock, "set", "bad.n=2")
        assert.equal(1, code)
        assert.matches("Lua state is gone", out, 1, true)
        -- resume cannot bring back what is gone
        code, out = T.ctl(sock, "resume", "bad")
        assert.matches('"state": "quarantined"', out, 1, true)
        -- a fixed file reloads, from an empty state
        T.write(dir .. "/bad.lua", (bad:gsub("while true do end", "ctx.state.fixed = true")))
        code, out = T.ctl(sock, "reload", "bad")
        assert.equal(0, code, out)
        code, out = T.ctl(sock, "resume", "bad")
        assert.equal(0, code, out)
        assert.matches('"state": "running"', out, 1, true)
        T.ctl(sock, "stop")
        assert.equal(0, T.wait_exit(h))
        local err = T.read(h.err)
        assert.matches("not resumed: its Lua state is gone", err, 1, true)
        assert.matches("its ctx.state is lost, the new version starts from an empty one", err, 1, true)
        assert.matches("version 2 ok", err, 1, true)
      end)
      T.reap(h)
      assert(ok, e)
    end)

    it("names JIT-compiled code when that is where it stopped the loop", function()
      local s = T.write(dir .. "/s.lua", "local S = {}\nfunction S.on_bar(ctx, b) while true do end end\nreturn S\n")
      local code, _, err = T.gantry({ "backtest", s, "--data", data, "--out", dir .. "/o",
                                      "--no-report", "--callback-ms", "20" })
      assert.equal(1, code)
      assert.matches("on_bar: cpu budget of 20 ms exceeded in JIT-compiled code", err, 1, true)
    end)
  end)
end)
