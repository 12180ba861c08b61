-- gantry live --resume against the QuickFIX acceptor (spec/peers): a live host
-- with resting orders is killed with SIGKILL, the acceptor fills one of them
-- while the host is down, and the host restarted on its journal rebuilds its
-- book from the records, asks the venue about every working order
-- (OrderStatusRequest, and OrderMassStatusRequest with venue.mass_status),
-- applies the fill it missed (seen by on_order), and sends no ClOrdID twice.
-- Everything on 127.0.0.1, every wait bounded.
local T = require("support")
local F = require("fix_support")

local SPEED = tostring(86400 / 0.01) -- a daily bar every 10 ms

describe("gantry live --resume", function()
  local dir, h
  before_each(function() dir = T.tmpdir() end)
  -- a host a failed test left running: h.pid is the shell around it, the
  -- host's own pid is in its out dir's lock
  local function reap_host()
    if h and not T.read(h.rc) then
      for _, out in ipairs({ "/out", "/b" }) do
        local pid = tonumber((T.read(dir .. out .. "/.lock") or ""):match("%d+") or "")
        if pid then os.execute("kill -9 " .. pid .. " 2>/dev/null") end
      end
      T.wait_exit(h, 5)
    end
    T.reap(h)
  end
  after_each(function() reap_host(); F.cleanup(); T.rmdir(dir) end)

  -- Two resting limit orders and a market order that fills at once, placed
  -- once (the book of record says whether they exist: after a restart they
  -- come back, so nothing is placed again); every order change logged.
  local strategy = [[
    local S = { params = { symbol = "XYZ" } }
    function S.on_bar(ctx, bar)
      local pos, working = ctx:position("XYZ"), #ctx:orders()
      if pos == 0 and working == 0 and not ctx.state.bought then
        ctx.state.bought = true
        ctx:buy("XYZ", 2)
      elseif pos == 2 and working == 0 and not ctx.state.placed then
        ctx.state.placed = true
        ctx:buy("XYZ", 5, { limit = 90 })
        ctx:sell("XYZ", 3, { limit = 120 })
      end
    end
    function S.on_order(ctx, o)
      ctx:log("info", "on_order %d %s filled=%g position=%g", o.id, o.status, o.filled,
        ctx:position("XYZ"))
    end
    return S]]

  local function start(strat, venue, mode)
    return T.spawn({ "live", strat, "--feed", "file:" .. dir .. "/XYZ.csv?speed=" .. SPEED,
      "--venue", "fix://127.0.0.1:" .. venue.port .. "?sender=HOST&target=EXEC",
      "--config", venue.deploy, "--out", dir .. "/out", "--ctl", dir .. "/ctl.sock",
      "--linger", "--no-report", "--callback-ms", "1000", mode }, dir)
  end

  local function run_case(mass, reset)
    T.day_bars(dir, 2000)
    local peer = F.acceptor{ dir = dir, script = "price XYZ 100\ndefault auto\n" }
    local deploy = T.write(dir .. "/deploy.lua", "return { venue = { heartbeat_s = 1, store = '"
      .. dir .. "/store', connect_timeout_s = 2, reconnect_s = 0.1, mass_status = "
      .. tostring(mass) .. " } }\n")
    -- the restart resets the sequence numbers (reset_on_logon): the fill sent
    -- while the host was down is never resent, only the status request finds it
    local deploy2 = T.write(dir .. "/deploy2.lua", "return { venue = { heartbeat_s = 1, store = '"
      .. dir .. "/store', connect_timeout_s = 2, reconnect_s = 0.1, reset_on_logon = "
      .. tostring(reset) .. ", mass_status = " .. tostring(mass) .. " } }\n")
    local venue = { port = peer.port, deploy = deploy }
    local strat = T.write(dir .. "/s.lua", strategy)
    h = start(strat, venue, "--overwrite")
    T.await_ctl(dir .. "/ctl.sock", h)
    -- the market order (1) filled, the two limit orders (2, 3) acknowledged and resting
    assert.truthy(peer:wait_record(function(r) return r.t == "exec" and r.exec_type == "F" end, 10),
      T.read(h.err))
    assert.truthy(T.wait_for(function() return #peer:select("exec", { exec_type = "0" }) >= 3 end, 10))
    assert.truthy(T.wait_for(function()
      return (T.read(h.err) or ""):find("on_order 3 accepted filled=0", 1, true)
    end, 10), T.read(h.err))
    -- the host itself (h.pid is the shell around it): its pid is in the out dir's lock
    local pid = assert(tonumber((T.read(dir .. "/out/.lock") or ""):match("%d+")), "no lock")
    os.execute("kill -9 " .. pid)
    assert.is_not_nil(T.wait_exit(h, 10))
    -- while it is down the buy at 90 fills at the venue
    peer:control("tick XYZ 85")
    assert.truthy(T.wait_for(function() return #peer:select("exec", { exec_type = "F" }) >= 2 end, 10))
    local pos = peer:positions().XYZ
    assert.are.equal(7, pos.qty)

    venue.deploy = deploy2
    h = start(strat, venue, "--resume")
    T.await_ctl(dir .. "/ctl.sock", h)
    local ok = T.wait_for(function()
      return (T.read(h.err) or ""):find("on_order 2 filled filled=5 position=7", 1, true)
    end, 15)
    assert.truthy(ok, "the missed fill never reached on_order: " .. (T.read(h.err) or ""))
    local err = T.read(h.err)
    assert.truthy(err:find("rebuilt from the records, working orders asked at the venue", 1, true), err)
    if reset then -- only the status request could tell
      assert.truthy(err:find("a fill of 5 at 90 the host missed: applied", 1, true), err)
    end
    -- the host agrees with the venue: position, its working order
    local _, st = T.ctl(dir .. "/ctl.sock", "status")
    T.ctl(dir .. "/ctl.sock", "stop")
    assert.are.equal(0, T.wait_exit(h, 20), T.read(h.err))
    assert.truthy(st:find('"running"', 1, true), st) -- nothing left unsettled: not halted
    local fills = T.csv(dir .. "/out/fills.csv")
    local qty, cash = 0, 0
    for _, f in ipairs(fills) do
      local s = f.side == "buy" and 1 or -1
      qty = qty + s * tonumber(f.qty)
      cash = cash - s * tonumber(f.qty) * tonumber(f.price)
    end
    pos = peer:positions().XYZ
    assert.are.equal(pos.qty, qty)
    assert.is_true(math.abs(pos.cash - cash) < 1e-6, pos.cash .. " vs " .. cash)
    -- asked about each order it thought working (2: the buy at 90, 3: the sell at 120)
    local asked = {}
    for _, r in ipairs(peer:select("status_request")) do asked[r.n] = true end
    assert.is_true(asked[2] and asked[3], T.read(peer.record))
    assert.are.equal(mass and 1 or 0, #peer:select("mass_status_request"))
    -- nothing sent twice: three orders in all, each ClOrdID once, the same run's
    local orders = peer:select("order")
    assert.are.equal(3, #orders)
    local seen = {}
    for _, o in ipairs(orders) do
      assert.is_nil(seen[o.clordid], o.clordid)
      seen[o.clordid] = true
    end
    -- the sell still works at the venue and in the host's book
    local _, dump = T.gantry({ "journal", dir .. "/out/journal", "--dump" }, dir)
    assert.truthy(dump:find('"type":"recovered"', 1, true) or dump:find('"type": "recovered"', 1, true), dump:sub(1, 400))
    peer:stop()
  end

  it("says what is wrong with venue.mass_status, exit 2", function()
    T.day_bars(dir, 3)
    local cfg = T.write(dir .. "/bad.lua", "return { venue = { mass_status = 'yes' } }\n")
    local code, _, err = T.gantry({ "live", T.root .. "/strategies/sma_cross.lua", "--param",
      "symbol=XYZ", "--feed", "file:" .. dir .. "/XYZ.csv", "--venue",
      "fix://127.0.0.1:9?sender=H&target=E", "--config", cfg, "--out", dir .. "/o" }, dir)
    assert.are.equal(2, code, err)
    assert.truthy(err:find("venue.mass_status: expected true or false", 1, true), err)
  end)

  it("halts when the venue has a working order the journal does not (mass status), until an operator acts", function()
    T.day_bars(dir, 2000)
    local peer = F.acceptor{ dir = dir, script = "price XYZ 100\ndefault auto\n" }
    local deploy = T.write(dir .. "/deploy.lua", "return { venue = { heartbeat_s = 1, store = '"
      .. dir .. "/store', connect_timeout_s = 2, reconnect_s = 0.1, reset_on_logon = true, "
      .. "mass_status = true } }\n")
    local url = "fix://127.0.0.1:" .. peer.port .. "?sender=HOST&target=EXEC"
    -- host B: a journal without orders (3 bars, a clean end)
    T.day_bars(dir, 3, "XYZ")
    local quiet = T.write(dir .. "/quiet.lua", "return { params = { symbol = 'XYZ' }, on_bar = function() end }")
    local code, _, err = T.gantry({ "live", quiet, "--feed", "file:" .. dir .. "/XYZ.csv", "--venue", url,
      "--config", deploy, "--out", dir .. "/b", "--no-report", "--quiet" }, dir)
    assert.are.equal(0, code, err)
    -- host A (same session store): resting orders, then killed
    T.day_bars(dir, 2000)
    local strat = T.write(dir .. "/s.lua", strategy)
    h = start(strat, { port = peer.port, deploy = deploy }, "--overwrite")
    T.await_ctl(dir .. "/ctl.sock", h)
    assert.truthy(T.wait_for(function()
      return (T.read(h.err) or ""):find("on_order 3 accepted filled=0", 1, true)
    end, 10), T.read(h.err))
    local pid = assert(tonumber((T.read(dir .. "/out/.lock") or ""):match("%d+")), "no lock")
    os.execute("kill -9 " .. pid)
    assert.is_not_nil(T.wait_exit(h, 10))
    -- host B resumed: the venue's mass status names orders its journal never had
    h = T.spawn({ "live", quiet, "--feed", "file:" .. dir .. "/XYZ.csv", "--venue", url, "--config", deploy,
      "--out", dir .. "/b", "--ctl", dir .. "/b.sock", "--linger", "--no-report", "--resume" }, dir)
    T.await_ctl(dir .. "/b.sock", h)
    local ok = T.wait_for(function()
      local _, st = T.ctl(dir .. "/b.sock", "status")
      return st:find('"halted"', 1, true) and st
    end, 15)
    assert.truthy(ok, T.read(h.err))
    assert.truthy(ok:find("recovery: the venue has working order O", 1, true), ok)
    err = T.read(h.err)
    assert.truthy(err:find("that the journal does not", 1, true), err)
    T.ctl(dir .. "/b.sock", "stop")
    assert.are.equal(0, T.wait_exit(h, 20), T.read(h.err))
    peer:stop()
  end)

  it("cancels an order the venue does not know (unknown_at_venue) and says so to on_order", function()
    T.day_bars(dir, 2000)
    local peer = F.acceptor{ dir = dir, script = "price XYZ 100\ndefault auto\n" }
    local deploy = T.write(dir .. "/deploy.lua", "return { venue = { heartbeat_s = 1, store = '"
      .. dir .. "/store', connect_timeout_s = 2, reconnect_s = 0.1, reset_on_logon = true } }\n")
    local strat = T.write(dir .. "/s.lua", strategy)
    h = start(strat, { port = peer.port, deploy = deploy }, "--overwrite")
    T.await_ctl(dir .. "/ctl.sock", h)
    assert.truthy(T.wait_for(function()
      return (T.read(h.err) or ""):find("on_order 3 accepted filled=0", 1, true)
    end, 10), T.read(h.err))
    local pid = assert(tonumber((T.read(dir .. "/out/.lock") or ""):match("%d+")), "no lock")
    os.execute("kill -9 " .. pid)
    assert.is_not_nil(T.wait_exit(h, 10))
    -- another venue on the same port, which never saw these orders
    local port = peer.port
    peer:stop()
    local other = F.acceptor{ dir = dir, name = "other", port = port, script = "price XYZ 100\n" }
    h = start(strat, { port = other.port, deploy = deploy }, "--resume")
    T.await_ctl(dir .. "/ctl.sock", h)
    local ok = T.wait_for(function()
      local e = T.read(h.err) or ""
      -- canceled, or rejected when its acknowledgement had not reached the disk
      return e:find("on_order 2 [cr][ae][nj]") and e:find("on_order 3 [cr][ae][nj]")
    end, 15)
    local err = T.read(h.err)
    assert.truthy(ok, err)
    assert.truthy(err:find("order 2 unknown at the venue (unknown order): cancelled", 1, true), err)
    local _, st = T.ctl(dir .. "/ctl.sock", "status")
    T.ctl(dir .. "/ctl.sock", "stop")
    assert.are.equal(0, T.wait_exit(h, 20), T.read(h.err))
    assert.truthy(st:find('"running"', 1, true), st)
    assert.are.equal(2, #other:select("status_request"))
    -- the strategy may order again (its orders are gone): new ClOrdIDs, never an old one
    local old = {}
    for _, o in ipairs(peer:select("order")) do old[o.clordid] = true end
    for _, o in ipairs(other:select("order")) do
      assert.is_nil(old[o.clordid], o.clordid)
      assert.truthy(tonumber(o.clordid:match("^R%d+%-(%d+)%-0$")) > 3, o.clordid)
    end
    local rows = T.csv(dir .. "/out/orders.csv")
    local why = {}
    for _, r in ipairs(rows) do why[tonumber(r.id)] = r.reason end
    assert.are.equal("unknown_at_venue", why[2])
    assert.are.equal("unknown_at_venue", why[3])
    other:stop()
  end)

  it("rebuilds from the journal, gets the fill it missed by resend, sends nothing twice", function()
    run_case(false, false)
  end)

  it("settles the missed fill from the status answer alone (sequence reset), with a mass status first", function()
    run_case(true, true)
  end)
  -- A crash torture: a busy live host (a market order or a resting order
  -- and its cancel on most bars) killed with SIGKILL at KILLS seeded
  -- instants, restarted on its journal each time; at the end its fills
  -- equal the acceptor's record, no strategy is halted, and no ClOrdID was
  -- ever sent twice. A hundred kills (GANTRY_LIVE_KILLS=N for another
  -- count), with the release binary of the VM under test when there is one
  -- (./gantry, built by make test; ./gantry-luajit), as
  -- spec/journal_crash_spec.lua does: a hundred starts of the sanitized
  -- build cost a minute of ASan start-up; the cases above run it.
  local KILLS = tonumber(os.getenv("GANTRY_LIVE_KILLS") or "100")
  it("survives " .. KILLS .. " seeded kills: the venue's record and the host agree, no ClOrdID twice", function()
    local sanitized = T.bin
    local rel = T.root .. (T.luajit and "/gantry-luajit" or "/gantry")
    local f = io.open(rel, "r")
    if f then f:close(); T.bin = rel end
    finally(function() T.bin = sanitized end)
    T.day_bars(dir, 300 * KILLS)
    local peer = F.acceptor{ dir = dir, script = "price XYZ 100\ndefault auto\n" }
    local deploy = T.write(dir .. "/deploy.lua", "return { venue = { heartbeat_s = 1, store = '"
      .. dir .. "/store', connect_timeout_s = 2, reconnect_s = 0.1, reset_on_logon = true, "
      .. "mass_status = true } }\n")
    local strat = T.write(dir .. "/busy.lua", [[
      local S = { params = { symbol = "XYZ" } }
      local n = 0
      function S.on_bar(ctx, bar)
        n = n + 1
        local open = ctx:orders("XYZ")
        if #open > 0 then ctx:cancel(open[1].id); return end
        if n % 3 == 0 then ctx:buy("XYZ", 1, { limit = 50 })
        elseif ctx:position("XYZ") >= 3 then ctx:sell("XYZ", 2)
        else ctx:buy("XYZ", 1) end
      end
      return S]])
    local venue = { port = peer.port, deploy = deploy }
    local rng = 12345 -- a seeded LCG: the same instants each run
    local function rand()
      rng = (rng * 1103515245 + 12345) % 2147483648
      return rng / 2147483648
    end
    h = start(strat, venue, "--overwrite")
    for i = 1, KILLS do
      T.await_ctl(dir .. "/ctl.sock", h)
      if i > 1 then -- each kill after the host had recovered (as crash_torture does)
        assert.truthy(T.wait_for(function()
          return (T.read(h.err) or ""):find("journal: recovered: ", 1, true)
        end, 10), "restart " .. i .. ": " .. (T.read(h.err) or ""))
      end
      T.sleep(string.format("%.2f", 0.15 + rand() * 0.6))
      local pid = tonumber((T.read(dir .. "/out/.lock") or ""):match("%d+") or "")
      assert.truthy(pid, "no lock at kill " .. i)
      os.execute("kill -9 " .. pid)
      assert.is_not_nil(T.wait_exit(h, 10), "kill " .. i)
      h = start(strat, venue, "--resume")
    end
    T.await_ctl(dir .. "/ctl.sock", h)
    assert.truthy(T.wait_for(function()
      return (T.read(h.err) or ""):find("journal: recovered: ", 1, true)
    end, 10), T.read(h.err))
    -- let the answers to its status requests come, then stop it cleanly
    T.sleep(1)
    local _, st = T.ctl(dir .. "/ctl.sock", "status")
    T.ctl(dir .. "/ctl.sock", "stop")
    local rc = T.wait_exit(h, 30)
    local err = T.read(h.err)
    assert.are.equal(0, rc, "exit " .. tostring(rc) .. ": " .. tostring(err))
    assert.truthy(st:find('"running"', 1, true), st .. err)
    peer:stop()
    local fills = T.csv(dir .. "/out/fills.csv")
    local qty, cash = 0, 0
    for _, f in ipairs(fills) do
      local sgn = f.side == "buy" and 1 or -1
      qty = qty + sgn * tonumber(f.qty)
      cash = cash - sgn * tonumber(f.qty) * tonumber(f.price)
    end
    local pos = peer:positions().XYZ
    assert.truthy(pos and #fills > 0, "no fills")
    assert.are.equal(pos.qty, qty)
    assert.is_true(math.abs(pos.cash - cash) < 1e-6, pos.cash .. " vs " .. cash)
    local seen = {}
    for _, o in ipairs(peer:select("order")) do
      assert.is_nil(seen[o.clordid], "sent twice: " .. o.clordid)
      seen[o.clordid] = true
    end
    assert.are.equal(0, #peer:select("poss_dup", { type = "D" })) -- no order resent either
    -- KILLS recoveries on record, each asking the venue (one mass status each)
    local code, out = T.gantry({ "journal", dir .. "/out/journal", "--stats" }, dir)
    assert.are.equal(0, code, out)
    local stats = T.json(out)
    assert.are.equal(KILLS, stats.recovered, out) -- (by_type.recovered: the reader is flat)
    assert.are.equal(KILLS, #peer:select("mass_status_request"))
    io.stderr:write(string.format("[live torture: %d fills, %d orders, %d status requests]\n",
      #fills, #peer:select("order"), #peer:select("status_request")))
  end)
end)
