-- A run's out directory: a running host writes its files as it goes (a
-- kill -9 loses nothing it did), an earlier run's files are never
-- truncated unless asked (--resume, --overwrite), one host per directory
-- and per control socket, default names that never collide.
local T = require "support"

local day_bars = T.day_bars

-- buys and sells on alternate bars, the first `n` bars only
local function trader(n)
  return ([[
    local S = { params = { symbol = "XYZ", n = %d } }
    function S.on_bar(ctx, bar)
      ctx.state.i = (ctx.state.i or 0) + 1
      if ctx.state.i > ctx.params.n then return end
      if ctx:position("XYZ") == 0 then ctx:buy("XYZ", 1) else ctx:sell("XYZ", 1) end
    end
    return S]]):format(n)
end

-- rows of a CSV file but its header
local function nrows(path) return #T.lines(path) - 1 end

-- the gantry process a spawned shell runs
local function child_pid(h)
  local p = io.popen("pgrep -P " .. h.pid)
  local pid = p:read("l")
  p:close()
  return pid
end

describe("a running host's files", function()
  local dir, h, sock
  before_each(function() dir = T.tmpdir() end)
  after_each(function() T.reap(h); T.rmdir(dir) end)

  local function start(extra, src, bars, every)
    day_bars(dir, bars or 3000)
    T.write(dir .. "/s.lua", src or trader(12))
    sock = dir .. "/ctl.sock"
    local speed = every == 0 and "0" or tostring(86400 / (every or 0.01))
    local args = { "paper", dir .. "/s.lua", "--feed", "file:" .. dir .. "/XYZ.csv?speed=" .. speed,
                   "--out", dir .. "/out", "--ctl", sock, "--no-report" }
    for _, a in ipairs(extra or {}) do args[#args + 1] = a end
    h = T.spawn(args, dir)
    if every ~= 0 then T.await_ctl(sock, h) end -- at full speed it may be done already
  end

  it("hold every fill, every order and the equity so far after a kill -9", function()
    start()
    assert.truthy(T.wait_for(function()
      local _, o = T.ctl(sock, "status"); return o:match('"fills": 12,') end, 10), T.read(h.err))
    T.sleep(1.2) -- equity rows reach their file at least once a second
    local pid = child_pid(h)
    os.execute("kill -9 " .. pid)
    T.wait_exit(h)
    assert.equal(12, nrows(dir .. "/out/fills.csv"))
    -- orders.csv: a row per change of an order; the last row of an id is its state
    local last = {}
    for _, o in ipairs(T.csv(dir .. "/out/orders.csv")) do last[o.id] = o end
    for id = 1, 12 do
      assert.truthy(last[tostring(id)], "order " .. id .. " missing")
      assert.equal("filled", last[tostring(id)].status)
    end
    assert.truthy(nrows(dir .. "/out/equity.csv") > 12)
    local eq = T.lines(dir .. "/out/equity.csv")
    assert.equal("time,equity,cash,position_value", eq[1])
  end)

  it("are one row per order once the host stops cleanly", function()
    start(nil, nil, 40, 0)
    assert.equal(0, T.wait_exit(h))
    local rows = T.csv(dir .. "/out/orders.csv")
    assert.equal(12, #rows)
    for i, o in ipairs(rows) do
      assert.equal(tostring(i), o.id)
      assert.equal("filled", o.status)
    end
  end)

  it("are refused to a restart, naming the directory and the two options", function()
    start(nil, nil, 40, 0)
    assert.equal(0, T.wait_exit(h))
    local before = T.read(dir .. "/out/fills.csv")
    local code, _, err = T.gantry({ "paper", dir .. "/s.lua", "--feed", "file:" .. dir .. "/XYZ.csv",
                                    "--out", dir .. "/out", "--no-report" })
    assert.equal(2, code)
    assert.matches("gantry: " .. dir .. "/out: holds the files of an earlier run (summary.json, fills.csv, "
      .. "orders.csv, equity.csv); --resume appends to them, --overwrite replaces them", err, 1, true)
    assert.equal(before, T.read(dir .. "/out/fills.csv"))
  end)

  it("are appended to with --resume, under one header", function()
    start(nil, nil, 40, 0)
    assert.equal(0, T.wait_exit(h))
    local fills, equity = nrows(dir .. "/out/fills.csv"), nrows(dir .. "/out/equity.csv")
    local first = T.read(dir .. "/out/orders.csv")
    -- with its journal (OUT/journal), --resume takes the run up where it
    -- stopped: here its end, so nothing is added (docs/journal.md)
    start({ "--resume" }, nil, 40, 0)
    assert.equal(0, T.wait_exit(h))
    assert.matches("INFO journal: recovered: ", T.read(h.err), 1, true)
    assert.equal(fills, nrows(dir .. "/out/fills.csv"))
    assert.equal(first, T.read(dir .. "/out/orders.csv"))
    -- without one (a run of an earlier version), --resume runs the feed again
    -- and appends
    os.execute("rm -rf " .. T.quote(dir .. "/out/journal"))
    local before = nrows(dir .. "/out/equity.csv") -- the recovered run's stop added its point
    start({ "--resume" }, nil, 40, 0)
    assert.equal(0, T.wait_exit(h))
    assert.equal(2 * fills, nrows(dir .. "/out/fills.csv"))
    assert.equal(before + equity, nrows(dir .. "/out/equity.csv"))
    local orders = T.read(dir .. "/out/orders.csv")
    assert.equal(first, orders:sub(1, #first), "the first run's rows are kept as they were")
    assert.equal(24, nrows(dir .. "/out/orders.csv"))
    for _, f in ipairs({ "fills.csv", "equity.csv", "orders.csv" }) do
      local headers = 0
      for _, l in ipairs(T.lines(dir .. "/out/" .. f)) do if l:match("^time,") or l:match("^id,") then headers = headers + 1 end end
      assert.equal(1, headers, f)
    end
  end)

  it("cut a half-written last row before resuming", function()
    os.execute("mkdir -p " .. T.quote(dir .. "/out"))
    T.write(dir .. "/out/fills.csv", "time,symbol,side,qty,price,order_id,fee\n2024-01-02T00:00:00.000000Z,XYZ,buy,1,101,1,0\n2024-01-0")
    start({ "--resume" }, nil, 40, 0)
    assert.equal(0, T.wait_exit(h))
    local lines = T.lines(dir .. "/out/fills.csv")
    assert.equal("2024-01-02T00:00:00.000000Z,XYZ,buy,1,101,1,0", lines[2])
    assert.equal(14, #lines)
    for i = 2, #lines do assert.matches("^%d%d%d%d%-%d%d%-%d%dT[^,]+,XYZ,%a+,1,", lines[i]) end
    assert.matches("WARN out: " .. dir .. "/out/fills.csv: cut a half-written last row (9 bytes)",
      T.read(h.err), 1, true)
  end)

  it("are not resumed when their header is another's", function()
    os.execute("mkdir -p " .. T.quote(dir .. "/out"))
    T.write(dir .. "/out/orders.csv", "id,time,strategy\n1,x,y\n")
    day_bars(dir, 5)
    T.write(dir .. "/s.lua", trader(1))
    local code, _, err = T.gantry({ "paper", dir .. "/s.lua", "--feed", "file:" .. dir .. "/XYZ.csv",
                                    "--out", dir .. "/out", "--no-report", "--resume" })
    assert.equal(2, code)
    assert.matches(dir .. "/out/orders.csv: not written by this version of gantry", err, 1, true)
    assert.matches("use --overwrite or another --out", err, 1, true)
    assert.equal("id,time,strategy\n1,x,y\n", T.read(dir .. "/out/orders.csv"))
  end)

  it("are replaced with --overwrite, files this run does not write removed", function()
    os.execute("mkdir -p " .. T.quote(dir .. "/out"))
    T.write(dir .. "/out/report.html", "old")
    T.write(dir .. "/out/fills.csv", "old")
    start({ "--overwrite" }, nil, 40, 0)
    assert.equal(0, T.wait_exit(h))
    assert.is_nil(T.read(dir .. "/out/report.html"))
    assert.equal(12, nrows(dir .. "/out/fills.csv"))
  end)

  it("take --resume or --overwrite, not both", function()
    local code, _, err = T.gantry({ "paper", "x.lua", "--feed", "file:x.csv", "--resume", "--overwrite" })
    assert.equal(2, code)
    assert.matches("gantry: --resume and --overwrite: choose one", err, 1, true)
  end)
end)

describe("one host per out directory and per control socket", function()
  local dir, h, h2
  before_each(function() dir = T.tmpdir(); day_bars(dir, 5); T.write(dir .. "/s.lua", trader(1)) end)
  after_each(function() T.reap(h); T.reap(h2); T.rmdir(dir) end)

  local function host(out, sock, extra)
    local args = { "paper", dir .. "/s.lua", "--feed", "file:" .. dir .. "/XYZ.csv", "--out", out, "--ctl", sock,
                   "--no-report", "--linger" }
    for _, a in ipairs(extra or {}) do args[#args + 1] = a end
    local hh = T.spawn(args, dir)
    T.await_ctl(sock, hh)
    return hh
  end

  it("a second host on the same --out exits 2 naming the first's pid", function()
    h = host(dir .. "/out", dir .. "/a.sock")
    local pid = child_pid(h)
    local code, _, err = T.gantry({ "paper", dir .. "/s.lua", "--feed", "file:" .. dir .. "/XYZ.csv",
                                    "--out", dir .. "/out", "--ctl", dir .. "/b.sock", "--overwrite" })
    assert.equal(2, code)
    assert.matches("gantry: " .. dir .. "/out: another gantry (pid " .. pid .. ") is writing there", err, 1, true)
    assert.equal(pid, T.read(dir .. "/out/.lock"):match("%d+"))
    -- the first is untouched: its socket answers, its files are its own
    assert.equal(0, (T.ctl(dir .. "/a.sock", "status")))
    assert.equal(0, (T.ctl(dir .. "/a.sock", "stop")))
    assert.equal(0, T.wait_exit(h))
    assert.is_nil(T.read(dir .. "/out/.lock"), "the lock is removed at the end")
  end)

  it("a second host on the same control socket exits 2 naming the first's pid", function()
    h = host(dir .. "/out1", dir .. "/ctl.sock")
    local pid = child_pid(h)
    local code, _, err = T.gantry({ "paper", dir .. "/s.lua", "--feed", "file:" .. dir .. "/XYZ.csv",
                                    "--out", dir .. "/out2", "--ctl", dir .. "/ctl.sock", "--no-report" })
    assert.equal(2, code)
    assert.matches("gantry: " .. dir .. "/ctl.sock: another gantry (pid " .. pid .. ") is listening on it",
      err, 1, true)
    assert.equal(0, (T.ctl(dir .. "/ctl.sock", "stop")))
    assert.equal(0, T.wait_exit(h))
  end)

  it("the socket a killed host left behind is replaced", function()
    h = host(dir .. "/out", dir .. "/ctl.sock")
    os.execute("kill -9 " .. child_pid(h))
    T.wait_exit(h)
    assert.truthy(os.execute("test -S " .. T.quote(dir .. "/ctl.sock")), "the dead host's socket is still there")
    h2 = host(dir .. "/out", dir .. "/ctl.sock", { "--resume" })
    assert.matches("INFO ctl: " .. dir .. "/ctl.sock: replaced the stale socket of a host that is gone",
      T.read(h2.err), 1, true)
    assert.equal(0, (T.ctl(dir .. "/ctl.sock", "stop")))
    assert.equal(0, T.wait_exit(h2))
  end)

  it("a control socket path that is not a socket is left alone", function()
    T.write(dir .. "/not.sock", "mine")
    local code, _, err = T.gantry({ "paper", dir .. "/s.lua", "--feed", "file:" .. dir .. "/XYZ.csv",
                                    "--out", dir .. "/out", "--ctl", dir .. "/not.sock", "--no-report" })
    assert.equal(2, code)
    assert.matches(dir .. "/not.sock: exists and is not a socket", err, 1, true)
    assert.equal("mine", T.read(dir .. "/not.sock"))
  end)
end)

describe("a backtest's out directory", function()
  local dir
  before_each(function() dir = T.tmpdir(); day_bars(dir, 40); T.write(dir .. "/s.lua", trader(12)) end)
  after_each(function() T.rmdir(dir) end)

  local function backtest(extra)
    local args = { "backtest", dir .. "/s.lua", "--data", dir .. "/XYZ.csv", "--out", dir .. "/out", "--quiet" }
    for _, a in ipairs(extra or {}) do args[#args + 1] = a end
    return T.gantry(args)
  end

  it("is refused when it holds an earlier run's files, unless --overwrite", function()
    assert.equal(0, (backtest()))
    assert.is_nil(T.read(dir .. "/out/.lock"), "the lock is removed at the end")
    local before = T.read(dir .. "/out/orders.csv")
    local code, _, err = backtest()
    assert.equal(2, code)
    assert.matches("gantry: " .. dir .. "/out: holds the files of an earlier run (summary.json, fills.csv, "
      .. "orders.csv, equity.csv, report.html); --overwrite replaces them (or give another --out)", err, 1, true)
    assert.equal(before, T.read(dir .. "/out/orders.csv"))
    code, _, err = backtest({ "--overwrite", "--no-report" })
    assert.equal(0, code, err)
    assert.is_nil(T.read(dir .. "/out/report.html"))
  end)

  it("has no --resume", function()
    local code, _, err = backtest({ "--resume" })
    assert.equal(2, code)
    assert.matches("gantry: --resume: a backtest starts again from its first event; use --overwrite", err, 1, true)
  end)

  it("gets a default name no earlier run has, even in the same second", function()
    -- the default names of the seconds around now are taken already
    local taken = {}
    local now = os.time()
    for t = now - 1, now + 10 do
      local d = dir .. "/out/s-" .. os.date("!%Y%m%d-%H%M%S", t)
      os.execute("mkdir -p " .. T.quote(d))
      T.write(d .. "/summary.json", "earlier")
      taken[#taken + 1] = d
    end
    local code, _, err = T.sh("cd " .. T.quote(dir) .. " && " .. T.quote(T.bin) .. " backtest s.lua --data XYZ.csv --no-report --quiet")
    assert.equal(0, code, err)
    for _, d in ipairs(taken) do assert.equal("earlier", T.read(d .. "/summary.json")) end
    local p = io.popen("ls " .. T.quote(dir .. "/out"))
    local names = p:read("a")
    p:close()
    local fresh = names:match("(s%-%d+%-%d+%-2)\n")
    assert.truthy(fresh, names)
    assert.truthy(T.read(dir .. "/out/" .. fresh .. "/summary.json"))
  end)

  it("gives runs started together a directory each", function()
    local cmd = "cd " .. T.quote(dir) .. " && for i in 1 2 3 4; do " .. T.quote(T.bin)
      .. " backtest s.lua --data XYZ.csv --no-report --quiet & done; wait"
    local code, _, err = T.sh(cmd)
    assert.equal(0, code, err)
    local p = io.popen("ls " .. T.quote(dir .. "/out"))
    local n = 0
    for name in p:lines() do
      n = n + 1
      assert.truthy(T.read(dir .. "/out/" .. name .. "/summary.json"), name)
      assert.equal(13, #T.lines(dir .. "/out/" .. name .. "/orders.csv"), name)
    end
    p:close()
    assert.equal(4, n)
  end)
end)
