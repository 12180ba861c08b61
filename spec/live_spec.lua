-- gantry live against the QuickFIX acceptor (spec/peers): an example strategy
-- end to end, every ExecutionReport the venue may send reaching the order
-- book of record, cancel on reconnect, orders refused while the session is
-- down, the kill switch confirmed by the venue, a restart with persisted
-- sequence numbers and ClOrdIDs, and the bad-usage paths. Everything on
-- 127.0.0.1, every wait bounded.
local T = require("support")
local F = require("fix_support")

local function url(peer, scheme)
  return (scheme or "fix") .. "://127.0.0.1:" .. peer.port .. "?sender=HOST&target=EXEC"
end

local ndeploy = 0
local function deploy(dir, venue, extra)
  ndeploy = ndeploy + 1 -- a file each: a list of cases makes several before running any
  return T.write(dir .. "/deploy" .. ndeploy .. ".lua", "return { venue = { " .. venue .. " }" .. (extra or "") .. " }\n")
end

local function live(dir, strategy, peer, args, venue)
  local argv = { "live", strategy, "--feed", "file:" .. dir .. "/XYZ.csv", "--venue", url(peer),
                 "--config", deploy(dir, venue or ("heartbeat_s = 1, store = '" .. dir .. "/store', connect_timeout_s = 2")),
                 "--out", dir .. "/out", "--no-report", "--quiet", "--overwrite" }
  for _, a in ipairs(args or {}) do argv[#argv + 1] = a end
  return T.gantry(argv, dir)
end

local function by_id(rows)
  local t = {}
  for _, r in ipairs(rows) do t[tonumber(r.id)] = r end
  return t
end

describe("gantry live", function()
  local dir
  before_each(function() dir = T.tmpdir() end)
  after_each(function() F.cleanup(); T.rmdir(dir) end)

  it("trades sma_cross over FIX: its fills, positions and P&L equal the acceptor's record", function()
    T.day_bars(dir, 40)
    local peer = F.acceptor{ dir = dir, script = "price XYZ 101.25\ndefault auto\n" }
    local code, out, err = live(dir, T.root .. "/strategies/sma_cross.lua", peer,
      { "--param", "symbol=XYZ", "--param", "fast=2", "--param", "slow=4" })
    assert.are.equal(0, code, err)
    assert.truthy(err:find("logged on as HOST to EXEC", 1, true), err)
    peer:stop()
    local fills = T.csv(dir .. "/out/fills.csv")
    local execs = peer:select("exec", { exec_type = "F" })
    assert.is_true(#fills >= 8, "fills: " .. #fills)
    assert.are.equal(#execs, #fills)
    local qty, cash = 0, 0
    for i, f in ipairs(fills) do
      assert.are.equal(execs[i].side, f.side)
      assert.are.equal(execs[i].last_qty, tonumber(f.qty))
      assert.are.equal(execs[i].last_px, tonumber(f.price))
      local s = f.side == "buy" and 1 or -1
      qty = qty + s * tonumber(f.qty)
      cash = cash - s * tonumber(f.qty) * tonumber(f.price)
    end
    local pos = peer:positions().XYZ
    assert.are.equal(pos.qty, qty)
    assert.is_true(math.abs(pos.cash - cash) < 1e-6)
    -- the host's own book of record says the same (its final equity: cash + marked position)
    local sum = T.json(T.read(dir .. "/out/summary.json"))
    assert.are.equal(#fills, sum.fills)
    local last = T.csv(dir .. "/XYZ.csv")
    local mark = tonumber(last[#last].close)
    assert.is_true(math.abs(sum.final_equity - (100000 + cash + qty * mark)) < 1e-6,
      "final_equity " .. sum.final_equity)
    -- every ClOrdID once, from this run
    local seen = {}
    for _, o in ipairs(peer:select("order")) do
      assert.is_nil(seen[o.clordid])
      seen[o.clordid] = true
      assert.truthy(o.clordid:match("^R%d+%-%d+%-0$"), o.clordid)
    end
  end)

  it("drives the order book of record with every ExecutionReport and OrderCancelReject", function()
    T.day_bars(dir, 6)
    local script = table.concat({
      "price XYZ 100",
      "order 1 ack fill",              -- filled
      "order 2 ack fill=30 rest",      -- partially filled, cancelled at the end
      "order 3 reject bad symbol",     -- rejected
      "order 4 pending ack rest",      -- pending new, then new
      "order 5 ack cancel",            -- unsolicited cancel
      "order 6 ack expire",            -- expired
      "order 7 ack dfd",               -- done for day
      "order 8 fill",                  -- a fill with no acknowledgement
      "order 9 ack rest",
      "cancel 9 pending ack",          -- pending cancel, then canceled
      "order 10 ack rest",
      "cancel 10 reject too late",     -- cancel rejected: works on
      "order 11 ack fill=40 fill=60",  -- two partial fills make a fill
      "", }, "\n")
    local peer = F.acceptor{ dir = dir, script = script }
    local strat = T.write(dir .. "/plan.lua", [[
      local S = { params = { symbol = "XYZ" } }
      local ids = {}
      function S.on_bar(ctx, bar)
        ctx.state.n = (ctx.state.n or 0) + 1
        if ctx.state.n == 1 then
          for i = 1, 11 do ids[i] = assert(ctx:buy("XYZ", 100, { limit = 99 })) end
        elseif ctx.state.n == 3 then
          assert(ctx:cancel(ids[9]))
          assert(ctx:cancel(ids[10]))
        end
      end
      function S.on_order(ctx, o)
        ctx:log("info", "ORDER %d %s %s", o.id, o.status, o.reason or "")
      end
      function S.on_fill(ctx, f)
        ctx:log("info", "FILL %d %g@%g", f.order_id, f.qty, f.price)
      end
      return S]])
    local code, _, err = live(dir, strat, peer, {}, "heartbeat_s = 1, store = '" .. dir
      .. "/store', connect_timeout_s = 1, halt_timeout_s = 1")
    assert.are.equal(0, code, err)
    local o = by_id(T.csv(dir .. "/out/orders.csv"))
    local want = {
      [1] = { "filled", "" }, [2] = { "canceled", "end_of_data" }, [3] = { "rejected", "venue_rejected" },
      [4] = { "canceled", "end_of_data" }, [5] = { "canceled", "venue_canceled" },
      [6] = { "expired", "expired" }, [7] = { "expired", "done_for_day" }, [8] = { "filled", "" },
      [9] = { "canceled", "canceled" }, [11] = { "filled", "" },
    }
    for id, w in pairs(want) do
      assert.are.equal(w[1], o[id].status, "order " .. id .. ": " .. err)
      assert.are.equal(w[2], o[id].reason, "order " .. id)
    end
    assert.are.equal("30", o[2].filled)
    -- order 10's cancels were refused (the script refuses every one): it works on
    assert.are.equal("accepted", o[10].status)
    assert.are.equal("cancel_rejected", o[10].reason)
    -- the strategy saw each change
    for _, l in ipairs({ "ORDER 4 pending", "ORDER 4 accepted", "ORDER 9 cancel_pending",
                         "ORDER 9 canceled canceled", "ORDER 10 accepted cancel_rejected",
                         "ORDER 8 filled", "FILL 11 40@99", "FILL 11 60@99", "ORDER 11 partially_filled",
                         "ORDER 3 rejected venue_rejected", "ORDER 7 expired done_for_day" }) do
      assert.truthy(err:find(l, 1, true), l .. " not in:\n" .. err)
    end
    -- fills equal the acceptor's
    local pos = peer:positions().XYZ
    assert.are.equal(100 + 30 + 100 + 100, pos.qty)
    local fills = T.csv(dir .. "/out/fills.csv")
    local q = 0
    for _, f in ipairs(fills) do q = q + tonumber(f.qty) end
    assert.are.equal(pos.qty, q)
  end)

  it("ctx:replace goes out as OrderCancelReplaceRequest: replaced, pending then replaced, refused", function()
    T.day_bars(dir, 5)
    local script = table.concat({ "price XYZ 100", "default ack rest",
      "replace 2 pending ack", "replace 3 reject too late", "" }, "\n")
    local peer = F.acceptor{ dir = dir, script = script }
    local strat = T.write(dir .. "/repl.lua", [[
      local S = { params = { symbol = "XYZ" } }
      local ids = {}
      function S.on_bar(ctx, bar)
        ctx.state.n = (ctx.state.n or 0) + 1
        if ctx.state.n == 1 then
          for i = 1, 3 do ids[i] = ctx:buy("XYZ", 10, { limit = 90 }) end
        elseif ctx.state.n == 2 then
          for i = 1, 3 do assert(ctx:replace(ids[i], { qty = 6, price = 91 })) end
        end
      end
      function S.on_order(ctx, o)
        ctx:log("info", "ORDER %d %s %s %g@%g", o.id, o.status, o.reason or "", o.qty, o.price or 0)
      end
      return S]])
    local code, _, err = live(dir, strat, peer)
    assert.are.equal(0, code, err)
    local reqs = peer:select("replace_request")
    assert.are.equal(3, #reqs, T.read(peer.record))
    for i, r in ipairs(reqs) do
      assert.are.equal(6, r.qty)
      assert.are.equal(91, r.price)
      assert.are.equal("R1-" .. r.n .. "-0", r.orig_clordid)
      assert.are.equal("R1-" .. r.n .. "-1", r.clordid)
    end
    for _, l in ipairs({ "ORDER 1 replaced  6@91", "ORDER 2 replace_pending", "ORDER 2 replaced  6@91",
                         "ORDER 3 accepted replace_rejected 10@90" }) do
      assert.truthy(err:find(l, 1, true), l .. " not in:\n" .. err)
    end
    -- the end's cancels name the ClOrdID the venue holds now
    local cancels = peer:select("cancel_request")
    local orig = {}
    for _, c in ipairs(cancels) do orig[c.n] = c.orig_clordid end
    assert.are.equal("R1-1-1", orig[1])
    assert.are.equal("R1-3-0", orig[3])
    local o = by_id(T.csv(dir .. "/out/orders.csv"))
    assert.are.equal("6", o[1].qty)
    assert.are.equal("10", o[3].qty)
  end)

  it("sends stops as OrdType 3 when venue.order_types has them, else holds them until the market reaches them", function()
    T.day_bars(dir, 8) -- closes 102 103 104 105 106 107 101 102
    local peer = F.acceptor{ dir = dir, script = "price XYZ 100\ndefault ack rest\n" }
    local strat = T.write(dir .. "/stop.lua", [[
      local S = { params = { symbol = "XYZ" } }
      function S.on_bar(ctx, bar)
        ctx.state.n = (ctx.state.n or 0) + 1
        if ctx.state.n == 1 then assert(ctx:buy("XYZ", 3, { stop = 105.5 })) end
      end
      return S]])
    local base = "heartbeat_s = 1, store = '" .. dir .. "/store', connect_timeout_s = 1"
    local code, _, err = live(dir, strat, peer, {}, base .. ", order_types = { 'market', 'limit', 'stop' }")
    assert.are.equal(0, code, err)
    local o = peer:select("order")
    assert.are.equal(1, #o, T.read(peer.record))
    assert.are.equal("stop", o[1].type)
    -- held by the host: nothing goes out until a close reaches 105.5 (the fifth bar's 106)
    code, _, err = live(dir, strat, peer, {}, base)
    assert.are.equal(0, code, err)
    assert.truthy(err:find("stops are held by the host", 1, true), err)
    assert.truthy(err:find("stop order 1 reached 106: sent", 1, true), err)
    o = peer:select("order")
    assert.are.equal(2, #o)
    assert.are.equal("market", o[2].type)
    assert.are.equal(3, o[2].qty)
  end)

  it("refuses orders while the session is down (venue_down) and cancels working orders once it is back", function()
    T.day_bars(dir, 12)
    -- message 1 rests; after message 2 the acceptor drops the connection
    local peer = F.acceptor{ dir = dir, script = "price XYZ 100\ndefault ack rest\nfault drop at=2\n" }
    local strat = T.write(dir .. "/each.lua", [[
      local S = { params = { symbol = "XYZ" } }
      function S.on_bar(ctx, bar)
        local id, why = ctx:buy("XYZ", 1, { limit = 50 })
        ctx:log("info", "BUY %s %s", tostring(id), tostring(why))
      end
      function S.on_order(ctx, o) ctx:log("info", "ORDER %d %s %s", o.id, o.status, o.reason or "") end
      return S]])
    local code, _, err = live(dir, strat, peer, {}, "heartbeat_s = 1, store = '" .. dir
      .. "/store', connect_timeout_s = 1, reconnect_s = 0.2, cancel_on_reconnect = true")
    assert.are.equal(0, code, err)
    assert.truthy(err:find("venue down", 1, true), err)
    assert.truthy(err:find("session back: cancelling", 1, true), err)
    -- the working orders when it dropped were cancelled once it was back, and the strategy saw it
    local cancels = peer:select("cancel_request")
    assert.is_true(#cancels >= 2, T.read(peer.record))
    assert.truthy(err:find("ORDER 1 canceled venue_reconnect", 1, true), err)
    assert.truthy(err:find("ORDER 2 canceled venue_reconnect", 1, true), err)
    -- logged on twice; no order left working at the end
    assert.are.equal(2, #peer:select("logon"))
    for _, r in ipairs(T.csv(dir .. "/out/orders.csv")) do
      assert.is_true(r.status == "canceled" or r.status == "rejected", r.id .. " " .. r.status)
    end
  end)

  it("refuses orders with venue_down while the venue is gone", function()
    T.day_bars(dir, 6)
    -- the connection drops after the first order; the host tries again only 30 s later
    local peer = F.acceptor{ dir = dir, script = "price XYZ 100\ndefault ack fill\nfault drop at=1\n" }
    local strat = T.write(dir .. "/each.lua", [[
      local S = { params = { symbol = "XYZ" } }
      function S.on_bar(ctx, bar)
        local id, why = ctx:buy("XYZ", 1)
        ctx:log("info", "BUY %s %s", tostring(id), tostring(why))
      end
      return S]])
    local code, _, err = live(dir, strat, peer, {}, "heartbeat_s = 1, store = '" .. dir
      .. "/store', connect_timeout_s = 0.5, reconnect_s = 30")
    assert.are.equal(0, code, err)
    assert.truthy(err:find("BUY 1 nil", 1, true), err)
    assert.truthy(err:find("BUY nil venue_down", 1, true), err)
    local o = by_id(T.csv(dir .. "/out/orders.csv"))
    assert.are.equal("filled", o[1].status)
    assert.are.equal("rejected", o[6].status)
    assert.are.equal("venue_down", o[6].reason)
  end)

  it("ctl halt answers once the venue confirmed every cancel, or names the orders still working", function()
    T.day_bars(dir, 400)
    local script = "price XYZ 100\ndefault ack rest\ncancel 2 ignore\n"
    local peer = F.acceptor{ dir = dir, script = script }
    local strat = T.write(dir .. "/rest.lua", [[
      local S = { params = { symbol = "XYZ" } }
      function S.on_bar(ctx, bar)
        ctx.state.n = (ctx.state.n or 0) + 1
        if ctx.state.n <= 3 then ctx:buy("XYZ", 1, { limit = 50 }) end
      end
      return S]])
    local sock = dir .. "/ctl.sock"
    local h = T.spawn({ "live", strat, "--feed", "file:" .. dir .. "/XYZ.csv?speed=100000", "--venue", url(peer),
      "--config", deploy(dir, "heartbeat_s = 1, store = '" .. dir .. "/store', connect_timeout_s = 1, halt_timeout_s = 1"),
      "--out", dir .. "/out", "--ctl", sock, "--linger", "--no-report", "--quiet" }, dir)
    T.await_ctl(sock, h)
    assert.truthy(peer:wait_record(function(r) return r.t == "order" and r.n == 3 end))
    local t0 = os.time()
    local code, out = T.ctl(sock, "halt")
    assert.are.equal(0, code)
    -- orders 1 and 3 were cancelled by the venue; order 2's cancel is never answered
    assert.truthy(out:find('"confirmed": false', 1, true), out)
    assert.truthy(out:find('"working": [2]', 1, true), out)
    assert.truthy(out:find('"timeout_s": 1', 1, true), out)
    assert.is_true(os.time() - t0 <= 4)
    assert.are.equal(3, #peer:select("cancel_request"))
    -- a second halt: nothing left but order 2 (pending cancel): the same answer
    T.ctl(sock, "stop")
    assert.are.equal(0, T.wait_exit(h, 20), T.read(h.err))
    T.reap(h)
  end)

  it("ctl halt with resting orders the venue cancels: confirmed", function()
    T.day_bars(dir, 400)
    local peer = F.acceptor{ dir = dir, script = "price XYZ 100\ndefault ack rest\n" }
    local strat = T.write(dir .. "/rest.lua", [[
      local S = { params = { symbol = "XYZ" } }
      function S.on_bar(ctx, bar)
        ctx.state.n = (ctx.state.n or 0) + 1
        if ctx.state.n <= 2 then ctx:buy("XYZ", 1, { limit = 50 }) end
      end
      return S]])
    local sock = dir .. "/ctl.sock"
    local h = T.spawn({ "live", strat, "--feed", "file:" .. dir .. "/XYZ.csv?speed=100000", "--venue", url(peer),
      "--config", deploy(dir, "heartbeat_s = 1, store = '" .. dir .. "/store', connect_timeout_s = 1"),
      "--out", dir .. "/out", "--ctl", sock, "--linger", "--no-report", "--quiet" }, dir)
    T.await_ctl(sock, h)
    assert.truthy(peer:wait_record(function(r) return r.t == "order" and r.n == 2 end))
    local code, out = T.ctl(sock, "halt")
    assert.are.equal(0, code)
    assert.truthy(out:find('"confirmed": true, "working": []', 1, true), out)
    assert.are.equal(2, #peer:select("exec", { exec_type = "4" }))
    code, out = T.ctl(sock, "status")
    assert.truthy(out:find('"mode": "live"', 1, true), out)
    assert.truthy(out:find('"state": "up"', 1, true), out)
    T.ctl(sock, "stop")
    assert.are.equal(0, T.wait_exit(h, 20), T.read(h.err))
  end)

  it("continues the session after a restart: sequence numbers from the store, new ClOrDIDs, an old order's report counted", function()
    T.day_bars(dir, 3)
    local peer = F.acceptor{ dir = dir, script = "price XYZ 100\ndefault ack rest\ncancel 1 ignore\n" }
    local strat = T.write(dir .. "/one.lua", [[
      local S = { params = { symbol = "XYZ" } }
      function S.on_bar(ctx, bar)
        ctx.state.n = (ctx.state.n or 0) + 1
        if ctx.state.n == 1 then ctx:buy("XYZ", 5, { limit = 90 }) end
      end
      return S]])
    local venue = "heartbeat_s = 1, store = '" .. dir .. "/store', connect_timeout_s = 0.5"
    local code, _, err = live(dir, strat, peer, {}, venue)
    assert.are.equal(0, code, err)
    local first = peer:select("logon")[1]
    local seqs = T.read(dir .. "/store/HOST-EXEC.seqs")
    assert.truthy(seqs, "no sequence file")
    local out1, in1 = seqs:match("(%d+) (%d+)")
    -- the second run goes on from there: no reset, its numbers follow
    code, _, err = live(dir, strat, peer, {}, venue)
    assert.are.equal(0, code, err)
    local logons = peer:select("logon")
    assert.are.equal(2, #logons)
    assert.is_false(logons[2].reset)
    assert.are.equal(2, first.in_seq) -- the acceptor's next expected after our Logon
    assert.are.equal(tonumber(out1) + 1, logons[2].in_seq)
    assert.is_true(logons[2].in_seq > first.in_seq)
    assert.truthy(in1)
    local orders = peer:select("order")
    assert.are.equal(2, #orders)
    assert.are_not.equal(orders[1].clordid, orders[2].clordid)
    assert.truthy(orders[1].clordid:match("^R1%-1%-0$"), orders[1].clordid)
    assert.truthy(orders[2].clordid:match("^R2%-1%-0$"), orders[2].clordid)
    -- a third run; the first run's order (still working at the venue) fills: counted, not applied
    T.day_bars(dir, 400)
    local sock = dir .. "/ctl.sock"
    local h = T.spawn({ "live", strat, "--feed", "file:" .. dir .. "/XYZ.csv?speed=1000", "--venue", url(peer),
      "--config", deploy(dir, venue), "--out", dir .. "/out3", "--ctl", sock, "--linger", "--no-report",
      "--quiet" }, dir)
    T.await_ctl(sock, h)
    peer:control("tick XYZ 80")
    local ok = T.wait_for(function()
      local _, s = T.ctl(sock, "status")
      return s:find('"unknown_reports": 1', 1, true)
    end, 10)
    T.ctl(sock, "stop")
    assert.are.equal(0, T.wait_exit(h, 20))
    assert.truthy(ok, T.read(h.err))
    assert.truthy(T.read(h.err):find("for an order this run does not know (11=R1-1-0", 1, true), T.read(h.err))
  end)

  it("says what is wrong with a bad venue URL or config, exit 2", function()
    T.day_bars(dir, 3)
    local strat = T.root .. "/strategies/sma_cross.lua"
    local feed = "file:" .. dir .. "/XYZ.csv"
    local cases = {
      { { "--venue", "fix://127.0.0.1:1?sender=HOST&target=EXEC" }, "needs --venue fix://HOST:PORT" },
      { { "--config", deploy(dir, "") }, "needs --venue fix://HOST:PORT" },
      { { "--venue", "fix://127.0.0.1?sender=H&target=E", "--config", deploy(dir, "") }, "expected fix://HOST:PORT" },
      { { "--venue", "fix://127.0.0.1:99999?sender=H&target=E", "--config", deploy(dir, "") }, "port must be a number" },
      { { "--venue", "fix://127.0.0.1:9?target=E", "--config", deploy(dir, "") }, "sender=S and target=T are required" },
      { { "--venue", "fix://127.0.0.1:9?sender=H&target=E&x=1", "--config", deploy(dir, "") }, "'x=1': expected sender=S" },
      { { "--venue", "fix://127.0.0.1:9?sender=H&target=E", "--config", deploy(dir, "heartbeat = 1") }, "venue.heartbeat: unknown key" },
      { { "--venue", "fix://127.0.0.1:9?sender=H&target=E", "--config", deploy(dir, "too_low_seq = 'ignore'") }, "venue.too_low_seq: expected \"logout\"" },
      { { "--venue", "fix://127.0.0.1:9?sender=H&target=E", "--config", deploy(dir, "password_file = '" .. dir .. "/nope'") }, "venue.password_file: " .. dir .. "/nope: No such file" },
      { { "--venue", "fixs://127.0.0.1:9?sender=H&target=E", "--config", deploy(dir, "") }, "venue.tls.ca_file: required for fixs://" },
      { { "--venue", "fix://127.0.0.1:9?sender=H&target=E", "--config", deploy(dir, "schedule = { start = '25:00', ['end'] = '10:00' }") }, "venue.schedule: start and end" },
      { { "--venue", "fix://127.0.0.1:9?sender=H&target=E", "--config", deploy(dir, "order_types = { 'iceberg' }") }, "venue.order_types: expected a list" },
    }
    for _, c in ipairs(cases) do
      local args = { "live", strat, "--param", "symbol=XYZ", "--feed", feed, "--out", dir .. "/o", "--overwrite" }
      for _, a in ipairs(c[1]) do args[#args + 1] = a end
      local code, _, err = T.gantry(args, dir)
      assert.are.equal(2, code, table.concat(c[1], " ") .. ": " .. err)
      assert.truthy(err:find(c[2], 1, true), c[2] .. " not in: " .. err)
      assert.truthy(err:match("^gantry: "), err)
    end
  end)

  it("a refused logon is one line and exit 2", function()
    T.day_bars(dir, 3)
    local peer = F.acceptor{ dir = dir, username = "trader", password = "right" }
    T.write(dir .. "/user", "trader\n")
    T.write(dir .. "/pass", "wrong\n")
    os.execute("chmod 600 " .. dir .. "/user " .. dir .. "/pass")
    local code, _, err = live(dir, T.root .. "/strategies/sma_cross.lua", peer,
      { "--param", "symbol=XYZ" }, "username_file = '" .. dir .. "/user', password_file = '" .. dir
      .. "/pass', store = '" .. dir .. "/store', connect_timeout_s = 2")
    assert.are.equal(2, code, err)
    assert.truthy(err:find("gantry: 127.0.0.1:" .. peer.port .. ": logon refused: ", 1, true), err)
    assert.truthy(err:find("bad credentials", 1, true), err)
    assert.falsy(err:find("wrong", 1, true)) -- the secret is never logged
  end)
end)
