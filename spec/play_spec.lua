-- gantry play: playbooks, the gantry.play API, the deployment record, and
-- the shipped playbooks, end to end on generated data in a temporary
-- directory (the playbook's working directory). Hosts started here are
-- stopped here; every wait is bounded.
local T = require "support"

local PLAYBOOKS = T.root .. "/scripts/"

-- n daily bars of XYZ from 2024-01-01, rising by 1 a day: holding longer and
-- more shares earns more, so the best of a sweep is known by construction
local function rising(dir, n, name)
  local rows = { "datetime,open,high,low,close,volume" }
  for i = 1, n do
    local d = os.date("!%Y-%m-%d", 1704067200 + (i - 1) * 86400)
    local c = 100 + i
    rows[#rows + 1] = string.format("%s,%.2f,%.2f,%.2f,%.2f,1000", d, c - 0.5, c + 1, c - 1.5, c)
  end
  return T.write(dir .. "/" .. (name or "XYZ") .. ".csv", table.concat(rows, "\n") .. "\n")
end

-- n daily bars of XYZ, a slow rise with a 20-day wave: an SMA crossover trades it
local function wavy(dir, n)
  local rows = { "datetime,open,high,low,close,volume" }
  for i = 1, n do
    local d = os.date("!%Y-%m-%d", 1704067200 + (i - 1) * 86400)
    local c = 100 + i * 0.1 + 5 * math.sin(i * math.pi / 10)
    rows[#rows + 1] = string.format("%s,%.2f,%.2f,%.2f,%.2f,1000", d, c - 0.2, c + 1, c - 1, c)
  end
  return T.write(dir .. "/XYZ.csv", table.concat(rows, "\n") .. "\n")
end

-- buys qty on its first bar, sells after hold bars; fails on qty == fail_at
local HOLD = [[
local S = { params = { symbol = "XYZ", qty = 1, hold = 5, fail_at = 0 } }
local n = 0
function S.on_bar(ctx, bar)
  n = n + 1
  if ctx.params.fail_at > 0 and ctx.params.qty == ctx.params.fail_at then
    error("qty " .. ctx.params.qty .. " is refused")
  end
  if n == 1 then ctx:buy(bar.symbol, ctx.params.qty)
  elseif n == 1 + ctx.params.hold then ctx:sell(bar.symbol, ctx:position(bar.symbol)) end
end
return S
]]

-- trades one share, or two when a flag only the paper run's config sets is on
local MODAL = [[
local S = { params = { symbol = "XYZ", mode = "backtest" } }
local n = 0
function S.on_bar(ctx, bar)
  n = n + 1
  if n % 10 == 1 then ctx:buy(bar.symbol, ctx.params.mode == "paper" and 2 or 1)
  elseif n % 10 == 6 then ctx:sell(bar.symbol, ctx:position(bar.symbol)) end
end
return S
]]

local function play(dir, args, env)
  local a = { "play" }
  for _, x in ipairs(args) do a[#a + 1] = x end
  local parts = { "cd " .. T.quote(dir) .. " &&", env or "", T.quote(T.bin) }
  for _, x in ipairs(a) do parts[#parts + 1] = T.quote(x) end
  return T.sh(table.concat(parts, " "), dir)
end

local function decode(text)
  -- the playbooks' own JSON reader, outside the sandbox
  package.path = T.root .. "/stdlib/?.lua;" .. package.path
  return require("gantry.play.json").decode(text)
end

local function record(dir)
  local out = {}
  for _, l in ipairs(T.lines(dir .. "/deployments.jsonl")) do out[#out + 1] = decode(l) end
  return out
end

describe("gantry play", function()
  local dir
  before_each(function()
    dir = T.tmpdir()
    rising(dir, 120)
    T.write(dir .. "/hold.lua", HOLD)
  end)
  after_each(function() T.rmdir(dir) end)

  it("runs a playbook with its arguments and records each step", function()
    T.write(dir .. "/pb.lua", [[
      local play = require "gantry.play"
      play.log("args:", table.concat(args, ","))
      local r = play.backtest { strategy = "hold.lua", data = "XYZ.csv", params = { qty = 10, hold = 20 } }
      play.log(string.format("fills=%d return=%.6f", r.fills, r.total_return))
      assert(r.report and r.fills_csv and r.summary, "output paths")
    ]])
    local code, _, err = play(dir, { "pb.lua", "a", "b c" })
    assert.equal(0, code, err)
    assert.matches("INFO play: args: a,b c", err, 1, true)
    assert.matches("fills=2 return=0.002", err, 1, true)
    local rec = record(dir)
    assert.equal(1, #rec)
    assert.equal("backtest", rec[1].what)
    assert.equal(64, #rec[1].strategy_hash)
    assert.equal(64, #rec[1].data_hash)
    assert.equal(10, rec[1].params.qty)
    assert.equal(2, rec[1].result.fills)
    assert.truthy(T.read(dir .. "/out/pb/backtest/report.html"))
  end)

  it("a sweep's best honours minimize, and among equals is the first in grid order, as its lines say", function()
    T.write(dir .. "/pb.lua", [==[
      local play = require "gantry.play"
      for _, c in ipairs { { "final_equity", true }, { "final_equity", false }, { "fills", false } } do
        local s = play.sweep { strategy = "hold.lua", data = "XYZ.csv", jobs = 2, metric = c[1],
          minimize = c[2], grid = { qty = { 10, 5, 1 }, hold = { 20, 5 } },
          out = "out/best-" .. c[1] .. tostring(c[2]) }
        -- the same pick from every line, in grid order
        local want, want_v
        for i, r in ipairs(play.results(s.file)) do
          local v = r.metrics[c[1]]
          if want_v == nil or (c[2] and v < want_v) or (not c[2] and v > want_v) then want, want_v = i, v end
        end
        play.log(string.format("BEST %s %s %s %d %d %s", c[1], tostring(c[2]),
          play.params_text(s.best_params), s.best_index, want, tostring(s.best_value == want_v)))
      end
    ]==])
    local code, _, err = play(dir, { "pb.lua" })
    assert.equal(0, code, err)
    -- grid order: hold 20 then 5, qty 10, 5, 1 (the last key fastest)
    assert.matches("BEST final_equity true hold=5 qty=1 6 6 true", err, 1, true)
    assert.matches("BEST final_equity false hold=20 qty=10 1 1 true", err, 1, true)
    assert.matches("BEST fills false hold=20 qty=10 1 1 true", err, 1, true) -- all equal: the first
  end)

  it("a sweep finds the best combination known by construction, the same on 1 and 2 jobs, and resumes", function()
    T.write(dir .. "/pb.lua", [[
      local play = require "gantry.play"
      local s = play.sweep { strategy = "hold.lua", data = "XYZ.csv", jobs = tonumber(args[1]),
        grid = { qty = { 1, 5, 10 }, hold = { 5, 20, 200 } }, where = function(p) return p.hold < 100 end,
        metric = "final_equity", out = args[2] }
      play.log(string.format("best %s of %d, %d resumed", play.params_text(s.best_params), s.count, s.resumed))
    ]])
    local code, _, err = play(dir, { "pb.lua", "1", "out/one" })
    assert.equal(0, code, err)
    assert.matches("best hold=20 qty=10 of 6, 0 resumed", err, 1, true)
    code, _, err = play(dir, { "pb.lua", "2", "out/two" })
    assert.equal(0, code, err)
    local one, two = T.read(dir .. "/out/one/sweep.jsonl"), T.read(dir .. "/out/two/sweep.jsonl")
    assert.equal(one, two)
    -- grid order: keys sorted (hold, qty), the last varying fastest
    local lines = T.lines(dir .. "/out/one/sweep.jsonl")
    assert.equal(6, #lines)
    assert.matches('"params": {"hold": 5, "qty": 1}', lines[1], 1, true)
    assert.matches('"params": {"hold": 20, "qty": 10}', lines[6], 1, true)
    assert.matches('^{"key": "%x+", "params": .*"metrics": {"strategy": "hold", "status": "ok"', lines[1])
    assert.is_nil(lines[1]:find("elapsed_s", 1, true))
    -- interrupted: three lines and half of a fourth left in the part file
    T.write(dir .. "/out/one/sweep.jsonl.part", lines[1] .. "\n" .. lines[2] .. "\n" .. lines[3] .. "\n" .. lines[4]:sub(1, 30))
    os.remove(dir .. "/out/one/sweep.jsonl")
    code, _, err = play(dir, { "pb.lua", "2", "out/one" })
    assert.equal(0, code, err)
    assert.matches("of 6, 3 resumed", err, 1, true)
    assert.equal(one, T.read(dir .. "/out/one/sweep.jsonl"))
    assert.is_nil(T.read(dir .. "/out/one/sweep.jsonl.part"))
    -- a finished sweep run again is all resumed
    code, _, err = play(dir, { "pb.lua", "2", "out/one" })
    assert.equal(0, code, err)
    assert.matches("of 6, 6 resumed", err, 1, true)
  end)

  it("writes sweep.html with gantry.sweep_report when the stdlib has it", function()
    -- a stdlib of the real modules and a stand-in renderer that shows what it got
    local lib = dir .. "/lib"
    os.execute("mkdir -p " .. T.quote(lib .. "/gantry") .. " && cp -r " .. T.quote(T.root .. "/stdlib/gantry") .. "/. " .. T.quote(lib .. "/gantry"))
    T.write(lib .. "/gantry/sweep_report.lua", [[
      return { render = function(o)
        return string.format("<html>%s %s x=%s y=%s n=%d first=%s</html>", o.title, o.metric, o.x, o.y,
          #o.results, tostring(o.results[1].params.hold))
      end }]])
    T.write(dir .. "/pb.lua", [[
      local play = require "gantry.play"
      local s = play.sweep { strategy = "hold.lua", data = "XYZ.csv", grid = { qty = { 1, 5 }, hold = { 5, 20 } },
        x = "qty", y = "hold", jobs = 1 }
      play.log("report " .. s.report)
    ]])
    local code, _, err = play(dir, { "pb.lua" }, "GANTRY_STDLIB=" .. T.quote(lib))
    assert.equal(0, code, err)
    assert.equal("<html>sweep of hold.lua sharpe x=qty y=hold n=4 first=5</html>", T.read(dir .. "/out/pb/sweep/sweep.html"))
  end)

  it("a sweep whose strategy fails names the combination and the error, exit 1", function()
    T.write(dir .. "/pb.lua", [[
      local play = require "gantry.play"
      play.sweep { strategy = "hold.lua", data = "XYZ.csv", jobs = 2,
        grid = { qty = { 1, 5, 10 }, fail_at = { 5 } } }
    ]])
    local code, _, err = play(dir, { "pb.lua" })
    assert.equal(1, code, err)
    assert.matches("gantry: sweep of hold.lua: combination fail_at=5 qty=5 failed: hold failed in on_bar", err, 1, true)
    assert.matches("hold.lua:6: qty 5 is refused", err, 1, true)
    local lines = T.lines(dir .. "/out/pb/sweep/sweep.jsonl")
    assert.equal(3, #lines)
    assert.matches('"error": "hold failed in on_bar', lines[2], 1, true)
    assert.matches('"metrics"', lines[1], 1, true)
  end)

  it("a sweep worker keeps the CPU budget: a strategy that never returns fails its combination", function()
    T.write(dir .. "/loop.lua", 'local S = { params = { symbol = "XYZ", n = 1 } }\nfunction S.on_bar(ctx, bar) while true do end end\nreturn S\n')
    T.write(dir .. "/pb.lua", [[
      local play = require "gantry.play"
      play.sweep { strategy = "loop.lua", data = "XYZ.csv", grid = { n = { 1, 2 } }, jobs = 2 }
    ]])
    local code, _, err = play(dir, { "pb.lua" })
    assert.equal(1, code, err)
    assert.matches("gantry: sweep of loop.lua: combination n=1 failed: loop failed in on_bar of XYZ at 2024-01-01T00:00:00.000000Z: ", err, 1, true)
    assert.matches("loop.lua: on_bar: cpu budget of 5 ms exceeded", err, 1, true) -- LuaJIT: "... in JIT-compiled code"
  end)

  it("walk_forward: rolling, anchored and purged windows, stitched out-of-sample equity", function()
    T.write(dir .. "/pb.lua", [[
      local play = require "gantry.play"
      local wf = play.walk_forward { strategy = "hold.lua", data = "XYZ.csv", jobs = 1,
        grid = { qty = { 1, 10 }, hold = { 3, 8 } }, metric = "final_equity",
        train = 30, test = 30, anchored = args[1] == "anchored", purge = tonumber(args[2]), out = args[3] }
      play.log("windows " .. #wf.windows .. " points " .. #wf.equity)
    ]])
    local code, _, err = play(dir, { "pb.lua", "rolling", "0", "out/r" })
    assert.equal(0, code, err)
    local wf = decode(T.read(dir .. "/out/r/walk_forward.json"))
    local day, t0 = 86400, 1704067200
    -- 120 days: tests start at days 30, 60 and 90 (the last cut at the data's end)
    assert.equal(3, #wf.windows)
    for k, w in ipairs(wf.windows) do
      assert.same({ t0 + (k - 1) * 30 * day, t0 + k * 30 * day }, w.train)
      assert.equal(w.train[2], w.test[1])
      assert.equal(10, w.params.qty)
      assert.equal(8, w.params.hold)
      assert.truthy(w.is.final_equity > 100000 and w.oos.final_equity > 100000)
    end
    assert.equal(t0 + 119 * day + 1, wf.windows[3].test[2])
    assert.truthy(#wf.equity >= 85)
    assert.truthy(wf.metrics.total_return > 0)
    -- anchored, with a 5-day purge between train and test
    code, _, err = play(dir, { "pb.lua", "anchored", "5", "out/a" })
    assert.equal(0, code, err)
    wf = decode(T.read(dir .. "/out/a/walk_forward.json"))
    assert.equal(3, #wf.windows)
    for k, w in ipairs(wf.windows) do
      assert.equal(t0, w.train[1])
      assert.equal(t0 + k * 30 * day, w.train[2])
      assert.equal(w.train[2] + 5 * day, w.test[1])
    end
  end)

  it("a gate that fails lists every failed condition with its value, exit 1", function()
    T.write(dir .. "/pb.lua", [[
      local play = require "gantry.play"
      local r = play.backtest { strategy = "hold.lua", data = "XYZ.csv", params = { qty = 10, hold = 20 } }
      play.gate(r, { fills = ">= 2", trades = ">= 30", max_drawdown = "<= 0.5", total_return = ">= 0.5" }, "bar")
      play.log("not reached")
    ]])
    local code, _, err = play(dir, { "pb.lua" })
    assert.equal(1, code, err)
    assert.matches("gantry: gate 'bar' failed: total_return 0.002 (needs >= 0.5); trades 1 (needs >= 30)", err, 1, true)
    assert.is_nil(err:find("not reached", 1, true))
    local rec = record(dir)
    assert.equal("gate", rec[2].what)
    assert.is_false(rec[2].pass)
    assert.is_true(rec[2].verdicts.fills.pass)
    assert.equal(1, rec[2].verdicts.trades.value)
  end)

  it("the parity gate fails on a strategy that behaves differently on paper, exit 1", function()
    T.write(dir .. "/modal.lua", MODAL)
    T.write(dir .. "/paper.lua", 'return { params = { mode = "paper" } }')
    T.write(dir .. "/pb.lua", [[
      local play = require "gantry.play"
      local bt = play.backtest { strategy = "modal.lua", data = "XYZ.csv" }
      local same = play.paper { strategy = "modal.lua", feed = "XYZ.csv" }
      play.parity(bt, same, "same")
      local pp = play.paper { strategy = "modal.lua", feed = "XYZ.csv", config = "paper.lua" }
      play.parity(bt, pp, "paper-vs-backtest")
    ]])
    local code, _, err = play(dir, { "pb.lua" })
    assert.equal(1, code, err)
    assert.matches("parity gate 'same' passed: 24 identical fills", err, 1, true)
    assert.matches("gantry: parity gate 'paper-vs-backtest' failed: 24 fills in the backtest, 24 on paper; fill 1 differs: backtest '2024-01-02T00:00:00.000000Z,XYZ,buy,1,", err, 1, true)
  end)

  it("an approval that nobody gives times out, exit 1, recorded", function()
    T.write(dir .. "/pb.lua", [[
      local play = require "gantry.play"
      play.approve("go-live", { role = "risk", timeout = 0.3 })
    ]])
    local code, _, err = play(dir, { "pb.lua" })
    assert.equal(1, code, err)
    assert.matches("gantry approve deployments.jsonl go-live --as NAME --role risk", err, 1, true)
    assert.matches("gantry: approval of 'go-live' (role risk) timed out after 0.3s", err, 1, true)
    local rec = record(dir)
    assert.equal("approval_requested", rec[1].what)
    assert.equal("approval_timeout", rec[2].what)
  end)

  it("gantry approve lets a waiting playbook go on; an approval in another role does not", function()
    T.write(dir .. "/pb.lua", [[
      local play = require "gantry.play"
      local a = play.approve("go-live", { role = "risk", timeout = 15 })
      play.log("approved by " .. a.by)
    ]])
    local h = T.spawn({ "play", "pb.lua" }, dir, "cd " .. T.quote(dir) .. " &&")
    assert.truthy(T.wait_for(function()
      local r = T.read(dir .. "/deployments.jsonl"); return r and r:find("approval_requested", 1, true)
    end, 10))
    local code, out, err = T.gantry({ "approve", dir .. "/deployments.jsonl", "go-live", "--as", "bob", "--role", "desk" })
    assert.equal(0, code, err)
    assert.matches("go-live approved by bob", out, 1, true)
    T.sleep(0.4)
    assert.is_nil(T.read(h.rc))
    code = T.gantry({ "approve", dir .. "/deployments.jsonl", "go-live", "--as", "alice", "--role", "risk" })
    assert.equal(0, code)
    assert.equal(0, T.wait_exit(h, 10))
    assert.matches("approved by alice", T.read(h.err), 1, true)
    -- bad usage
    code, _, err = T.gantry({ "approve", dir .. "/deployments.jsonl", "go-live" })
    assert.equal(2, code)
    assert.matches("usage: gantry approve RECORD STEP --as NAME", err, 1, true)
    code, _, err = T.gantry({ "approve", dir .. "/nope.jsonl", "x", "--as", "a" })
    assert.equal(2, code)
    assert.matches("nope.jsonl: no such record", err, 1, true)
  end)

  it("a playbook error names its file and line, exit 2", function()
    T.write(dir .. "/pb.lua", "local play = require 'gantry.play'\nlocal x = 1\nerror('boom')\n")
    local code, _, err = play(dir, { "pb.lua" })
    assert.equal(2, code)
    assert.matches("gantry: pb.lua:3: boom", err, 1, true)
    T.write(dir .. "/pb.lua", "local play = require 'gantry.play'\n\nplay.backtest { strategy = 'nope.lua', data = 'XYZ.csv' }\n")
    code, _, err = play(dir, { "pb.lua" })
    assert.equal(2, code)
    assert.matches("gantry: pb.lua:3: nope.lua: no such strategy file", err, 1, true)
    T.write(dir .. "/pb.lua", "local x = \n")
    code, _, err = play(dir, { "pb.lua" })
    assert.equal(2, code)
    assert.matches("gantry: pb.lua:2: unexpected symbol", err, 1, true)
    T.write(dir .. "/pb.lua", "io.open('x')\n")
    code, _, err = play(dir, { "pb.lua" })
    assert.equal(2, code)
    assert.matches("gantry: pb.lua:1: " .. T.nil_error("index", "global", "io"), err, 1, true)
    T.write(dir .. "/pb.lua", "local play = require 'gantry.play'\nplay.gate({}, { sharpe = 'big' })\n")
    code, _, err = play(dir, { "pb.lua" })
    assert.equal(2, code)
    assert.matches('gantry: pb.lua:2: gate: sharpe = "big": expected an operator', err, 1, true)
    code, _, err = play(dir, { "missing.lua" })
    assert.equal(2, code)
    assert.matches("gantry: missing.lua: no such playbook", err, 1, true)
    code, _, err = play(dir, { "--bogus", "pb.lua" })
    assert.equal(2, code)
    assert.matches("--bogus: unknown option", err, 1, true)
  end)

  it("confines the paths a playbook names to the working and output directories", function()
    T.write(dir .. "/pb.lua", [[
      local play = require "gantry.play"
      play.backtest { strategy = "/etc/passwd", data = "XYZ.csv" }
    ]])
    local code, _, err = play(dir, { "pb.lua" })
    assert.equal(2, code)
    assert.matches("gantry: pb.lua:2: /etc/passwd: outside the working directory", err, 1, true)
    T.write(dir .. "/pb.lua", [[
      local play = require "gantry.play"
      play.record("../escape.jsonl")
      play.note("x", {})
    ]])
    code, _, err = play(dir, { "pb.lua" })
    assert.equal(2, code)
    assert.matches("escape.jsonl: outside the working directory", err, 1, true)
  end)

  it("verifies the record's chain and names the first bad line of a tampered one", function()
    T.write(dir .. "/pb.lua", [[
      local play = require "gantry.play"
      for i = 1, 4 do play.note("step", { i = i, result = { sharpe = 1.5 } }) end
    ]])
    assert.equal(0, (play(dir, { "pb.lua" })))
    local path = dir .. "/deployments.jsonl"
    local code, out = T.gantry({ "play", "--verify", path })
    assert.equal(0, code)
    assert.matches("4 lines, chain intact", out, 1, true)
    local lines = T.lines(path)
    -- an edited value
    local edited = { lines[1], lines[2]:gsub('"sharpe": 1.5', '"sharpe": 2.5'), lines[3], lines[4] }
    T.write(path, table.concat(edited, "\n") .. "\n")
    local err
    code, _, err = T.gantry({ "play", "--verify", path })
    assert.equal(1, code)
    assert.matches("deployments.jsonl:2: its content does not match its \"hash\"", err, 1, true)
    -- a line removed
    T.write(path, table.concat({ lines[1], lines[3], lines[4] }, "\n") .. "\n")
    code, _, err = T.gantry({ "play", "--verify", path })
    assert.equal(1, code)
    assert.matches("deployments.jsonl:2: \"prev\" is not the hash of line 1", err, 1, true)
    -- missing file: bad input
    code, _, err = T.gantry({ "play", "--verify", dir .. "/none.jsonl" })
    assert.equal(2, code)
    assert.matches("none.jsonl: cannot read", err, 1, true)
  end)
end)

describe("gantry play: deploy handles and the shipped playbooks", function()
  local dir, h
  before_each(function()
    dir = T.tmpdir()
    wavy(dir, 300)
    T.write(dir .. "/sma.lua", (T.read(T.root .. "/strategies/sma_cross.lua"):gsub('symbol = "AAPL"', 'symbol = "XYZ"')))
  end)
  after_each(function()
    -- anything a failed test left running
    for _, sock in ipairs({ "out/pb/deploy-sma/ctl.sock", "out/promote/deploy-sma/ctl.sock", "out/d/deploy-sma/ctl.sock" }) do
      T.ctl(dir .. "/" .. sock, "stop")
    end
    T.reap(h)
    T.rmdir(dir)
  end)

  it("deploy: a canary's limits, status, halt, resume, set, scale, reload and rollback by hash, stop", function()
    T.write(dir .. "/sma2.lua", T.read(dir .. "/sma.lua"):gsub("qty = 100", "qty = 50"))
    T.write(dir .. "/pb.lua", [[
      local play = require "gantry.play"
      local h = play.deploy { strategy = "sma.lua", feed = "XYZ.csv", params = { symbol = "XYZ", fast = 3, slow = 10 },
        speed = 8640000, canary = { scale = 0.1, max_position = 1000, max_order_value = 1e6, max_orders = 5 } }
      local st = h:status()
      play.log("state " .. st.strategies[1].state)
      h:halt();   play.log("halted " .. h:status().strategies[1].state)
      h:resume(); play.log("resumed " .. h:status().strategies[1].state)
      h:set("fast", 4); play.log("fast " .. h:status().strategies[1].params.fast)
      h:scale(1)
      h:reload("sma2.lua"); play.log("version " .. h:status().strategies[1].version)
      local r = play.rollback(h); play.log("rollback " .. r.how .. " " .. r.version:sub(1, 12))
      play.log("version " .. h:status().strategies[1].version)
      h:stop()
      play.log("stopped " .. tostring(h:status()))
    ]])
    local code, _, err = T.sh("cd " .. T.quote(dir) .. " && " .. T.quote(T.bin) .. " play --out out/d pb.lua", dir)
    assert.equal(0, code, err)
    assert.matches("state running", err, 1, true)
    assert.matches("halted halted", err, 1, true)
    assert.matches("resumed running", err, 1, true)
    assert.matches("fast 4", err, 1, true)
    assert.matches("version 2", err, 1, true)
    assert.matches("version 3", err, 1, true)
    assert.matches("stopped nil", err, 1, true)
    local cfg = T.read(dir .. "/out/d/deploy-sma/config.lua")
    assert.matches('["max_position"] = 100 }', cfg, 1, true)
    assert.matches('["max_open_orders"] = 5', cfg, 1, true)
    assert.matches('["max_order_notional"] = 1000000', cfg, 1, true)
    local rec = record(dir)
    local whats = {}
    for _, r in ipairs(rec) do whats[#whats + 1] = r.what end
    assert.same({ "deploy", "ctl", "ctl", "ctl", "ctl", "scale", "reload", "rollback", "stop" }, whats)
    local sha = T.sh("sha256sum " .. T.quote(dir .. "/sma.lua"), dir)
    assert.equal(0, sha)
    assert.equal(rec[1].strategy_hash, rec[8].to)
    assert.equal(0, (T.gantry({ "play", "--verify", dir .. "/deployments.jsonl" })))
  end)

  it("a deploy that fails to start says why and leaves nothing running", function()
    T.write(dir .. "/bad.lua", "local S = {}\nfunction S.on_bar(ctx, bar) end\nreturn S, = 1\n")
    T.write(dir .. "/pb.lua", [[
      local play = require "gantry.play"
      play.deploy { strategy = "bad.lua", feed = "XYZ.csv" }
    ]])
    local code, _, err = T.sh("cd " .. T.quote(dir) .. " && " .. T.quote(T.bin) .. " play pb.lua", dir)
    assert.equal(1, code)
    assert.matches("gantry: deploy of bad.lua failed to start %(exited 2%): .*bad.lua:3:", err)
    -- "[g]antry": the pattern does not match pgrep's own shell
    local c2 = T.sh("pgrep -f " .. T.quote("[g]antry paper .*" .. dir), dir)
    assert.equal(1, c2)
  end)

  it("promote.lua runs end to end: walk-forward, gates, paper, parity, approval, canary, full size", function()
    h = T.spawn({ "play", PLAYBOOKS .. "promote.lua", "sma.lua", "XYZ.csv", "grid=fast:3,5/slow:10,20",
      "train=100", "test=80", "approve_timeout=20", "min_sharpe=-100", "watch=0.5", "jobs=2", "max_position=500" },
      dir, "cd " .. T.quote(dir) .. " && ")
    assert.truthy(T.wait_for(function()
      local r = T.read(dir .. "/deployments.jsonl"); return r and r:find("approval_requested", 1, true)
    end, 30), T.read(h.err))
    assert.equal(0, (T.gantry({ "approve", dir .. "/deployments.jsonl", "promote", "--as", "alice", "--role", "risk" })))
    assert.equal(0, T.wait_exit(h, 30), T.read(h.err))
    local err = T.read(h.err)
    assert.matches("parity gate 'paper-vs-backtest' passed", err, 1, true)
    assert.matches("promoted sma.lua %(fast=%d+ slow=%d+%) to full size", err)
    local sock = dir .. "/out/promote/deploy-sma/ctl.sock"
    local code, st = T.ctl(sock, "status")
    assert.equal(0, code)
    assert.matches('"state": "running"', st, 1, true)
    local rec = record(dir)
    local whats = {}
    for _, r in ipairs(rec) do whats[#whats + 1] = r.what end
    assert.same({ "walk_forward", "gate", "backtest", "gate", "paper", "gate", "approval_requested",
      "approval", "deploy", "watch", "ctl", "scale", "promoted" }, whats)
    assert.equal("alice", rec[8].by)
    assert.equal(50, rec[9].risk.max_position)
    assert.equal(1, rec[12].scale)
    local c, out = T.gantry({ "play", "--verify", dir .. "/deployments.jsonl" })
    assert.equal(0, c)
    assert.matches("13 lines, chain intact", out, 1, true)
    assert.truthy(T.read(dir .. "/out/promote/walk_forward/walk_forward.json"))
    -- then the end of the day: flatten and stop it
    local c3, _, e3 = T.sh("cd " .. T.quote(dir) .. " && " .. T.quote(T.bin) .. " play "
      .. T.quote(PLAYBOOKS .. "eod_flatten.lua") .. " out/promote/deploy-sma", dir)
    assert.equal(0, c3, e3)
    assert.matches("flattened and stopped", e3, 1, true)
    assert.is_not.equal(0, (T.ctl(sock, "status")))
  end)

  it("reoptimize.lua sets the new parameters on the running host; rollback.lua flattens and stops it", function()
    T.write(dir .. "/pb.lua", [[
      local play = require "gantry.play"
      play.deploy { strategy = "sma.lua", feed = "XYZ.csv", params = { symbol = "XYZ", fast = 7, slow = 33 }, speed = 8640000 }
    ]])
    local code, _, err = T.sh("cd " .. T.quote(dir) .. " && " .. T.quote(T.bin) .. " play pb.lua", dir)
    assert.equal(0, code, err)
    local sock = dir .. "/out/pb/deploy-sma/ctl.sock"
    code, _, err = T.sh("cd " .. T.quote(dir) .. " && " .. T.quote(T.bin) .. " play "
      .. T.quote(PLAYBOOKS .. "reoptimize.lua") .. " sma.lua XYZ.csv out/pb/deploy-sma grid=fast:3,5/slow:10,20 train=100 test=80 jobs=2 min_sharpe=-100", dir)
    assert.equal(0, code, err)
    assert.matches("applied fast=%d slow=%d+", err)
    local _, st = T.ctl(sock, "status")
    local fast = tonumber(st:match('"fast": (%d+)'))
    assert.truthy(fast == 3 or fast == 5, st)
    code, _, err = T.sh("cd " .. T.quote(dir) .. " && " .. T.quote(T.bin) .. " play "
      .. T.quote(PLAYBOOKS .. "rollback.lua") .. " out/pb/deploy-sma", dir)
    assert.equal(0, code, err)
    assert.matches("flattened and stopped", err, 1, true)
    assert.is_not.equal(0, (T.ctl(sock, "status")))
    local rec = record(dir)
    assert.equal("rollback", rec[#rec].what)
    assert.equal("flatten_and_stop", rec[#rec].how)
  end)
end)
