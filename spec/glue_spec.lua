-- The pieces of going live joined up, against the QuickFIX acceptor
-- (spec/peers): a playbook deploys a canary with mode = "live", watches it,
-- reloads and rolls back over `gantry live`; a live host's /metrics and its
-- "venue down" alert follow the FIX session (the acceptor killed, then back);
-- strategies/bracket_trail.lua (a bracket on every entry, a trailing stop)
-- runs in backtest, paper replay (the same fills) and live (the acceptor's
-- record), stops held by the host or sent as OrdType 3. Everything on
-- 127.0.0.1, every wait bounded.
local T = require("support")
local F = require("fix_support")
local H = require("http_support")

local function url(peer)
  return "fix://127.0.0.1:" .. peer.port .. "?sender=HOST&target=EXEC"
end

local function now_ms()
  local p = io.popen("date +%s%3N")
  local v = tonumber(p:read("l"))
  p:close()
  return v
end

local function decode_record(dir)
  local out = {}
  for _, l in ipairs(T.lines(dir .. "/deployments.jsonl")) do
    out[#out + 1] = { what = l:match('"what": "([^"]*)"'), mode = l:match('"mode": "([^"]*)"'),
                      venue = l:match('"venue": "([^"]*)"'), how = l:match('"how": "([^"]*)"'), line = l }
  end
  return out
end

describe("gantry play: deploy in live mode", function()
  local dir
  before_each(function() dir = T.tmpdir() end)
  after_each(function()
    T.ctl(dir .. "/out/d/deploy-sma/ctl.sock", "stop")
    F.cleanup()
    T.rmdir(dir)
  end)

  it("deploys a canary live over FIX, watches it, reloads, rolls back, flattens and stops; the record verifies", function()
    T.day_bars(dir, 40)
    local peer = F.acceptor{ dir = dir, script = "price XYZ 101.25\ndefault auto\n" }
    local sma = T.read(T.root .. "/strategies/sma_cross.lua"):gsub('symbol = "AAPL"', 'symbol = "XYZ"')
    T.write(dir .. "/sma.lua", sma)
    T.write(dir .. "/sma2.lua", (sma:gsub("qty = 100", "qty = 50")))
    T.write(dir .. "/team.lua", "return { venue = { heartbeat_s = 1, connect_timeout_s = 3, store = '"
      .. dir .. "/store' }, risk = { max_order_qty = 1000 } }\n")
    T.write(dir .. "/pb.lua", ([[
      local play = require "gantry.play"
      local h = play.deploy { strategy = "sma.lua", mode = "live", feed = "XYZ.csv", venue = %q,
        config = "team.lua", params = { fast = 2, slow = 4 },
        canary = { scale = 0.5, max_position = 400, max_orders = 5 } }
      local st = h:status()
      play.log("mode " .. st.mode .. " venue " .. st.venue.state)
      local w = play.watch(h, { seconds = 1, every = 0.25,
        halt_if = function(s) return s.venue.state ~= "up" and "venue down" end })
      play.log("watch " .. tostring(w.ok) .. " " .. w.samples)
      h:reload("sma2.lua"); play.log("version " .. h:status().strategies[1].version)
      local r = play.rollback(h); play.log("rollback " .. r.how)
      play.log("version " .. h:status().strategies[1].version)
      r = play.rollback(h, { flatten = true }); play.log("rollback " .. r.how)
      play.log("stopped " .. tostring(h:status()))
    ]]):format(url(peer)))
    local code, _, err = T.sh("cd " .. T.quote(dir) .. " && " .. T.quote(T.bin) .. " play --out out/d pb.lua", dir)
    assert.equal(0, code, err)
    assert.matches("mode live venue up", err, 1, true)
    assert.matches("watch true", err, 1, true)
    assert.matches("version 2", err, 1, true)
    assert.matches("rollback reload", err, 1, true)
    assert.matches("version 3", err, 1, true)
    assert.matches("rollback flatten_and_stop", err, 1, true)
    assert.matches("stopped nil", err, 1, true)
    -- the canary's limits reached the live host, the venue's table with them
    local cfg = T.read(dir .. "/out/d/deploy-sma/config.lua")
    assert.matches('["max_position"] = 200', cfg, 1, true)
    assert.matches('["max_order_qty"] = 500', cfg, 1, true)
    assert.matches('["heartbeat_s"] = 1', cfg, 1, true)
    -- the host traded over FIX: its fills are the acceptor's executions, and it ended flat
    peer:stop()
    local fills = T.csv(dir .. "/out/d/deploy-sma/run/fills.csv")
    local execs = peer:select("exec", { exec_type = "F" })
    assert.is_true(#fills >= 2, "fills: " .. #fills)
    assert.are.equal(#execs, #fills)
    for i, f in ipairs(fills) do
      assert.are.equal(execs[i].side, f.side)
      assert.are.equal(execs[i].last_qty, tonumber(f.qty))
    end
    assert.are.equal(0, peer:positions().XYZ.qty)
    -- the record: a live deploy naming its venue, the steps, and a chain that verifies
    local rec = decode_record(dir)
    local whats = {}
    for _, r in ipairs(rec) do whats[#whats + 1] = r.what end
    assert.same({ "deploy", "watch", "reload", "rollback", "stop", "rollback" }, whats)
    assert.equal("live", rec[1].mode)
    assert.equal(url(peer), rec[1].venue)
    assert.equal("flatten_and_stop", rec[6].how)
    assert.equal(0, (T.gantry({ "play", "--verify", dir .. "/deployments.jsonl" })))
  end)

  it("a live deploy without a FIX venue or without a venue table is refused, exit 2, nothing started", function()
    T.day_bars(dir, 5)
    T.write(dir .. "/s.lua", "return { params = { symbol = 'XYZ' } }\n")
    T.write(dir .. "/nov.lua", "return { risk = { max_order_qty = 10 } }\n")
    T.write(dir .. "/a.lua", [[require("gantry.play").deploy { strategy = "s.lua", mode = "live", feed = "XYZ.csv" }]])
    T.write(dir .. "/b.lua", [[require("gantry.play").deploy { strategy = "s.lua", mode = "live", feed = "XYZ.csv",
      venue = "fix://127.0.0.1:1?sender=A&target=B", config = "nov.lua" }]])
    local code, _, err = T.sh("cd " .. T.quote(dir) .. " && " .. T.quote(T.bin) .. " play a.lua", dir)
    assert.equal(2, code)
    assert.matches('deploy: mode "live" needs venue = "fix://HOST:PORT?sender=S&target=T" (or fixs://)', err, 1, true)
    code, _, err = T.sh("cd " .. T.quote(dir) .. " && " .. T.quote(T.bin) .. " play b.lua", dir)
    assert.equal(2, code)
    assert.matches('deploy: mode "live" needs a config with a venue table', err, 1, true)
    assert.equal(1, (T.sh("pgrep -f " .. T.quote("[g]antry live .*" .. dir), dir)))
  end)

  it("a live deploy whose venue refuses it fails to start, says why, leaves nothing running", function()
    T.day_bars(dir, 5)
    local peer = F.acceptor{ dir = dir, username = "u", password = "right" }
    T.write(dir .. "/s.lua", "return { params = { symbol = 'XYZ' } }\n")
    T.write(dir .. "/secret", "wrong\n")
    T.write(dir .. "/user", "u\n")
    os.execute("chmod 600 " .. dir .. "/user " .. dir .. "/secret")
    T.write(dir .. "/team.lua", "return { venue = { connect_timeout_s = 2, store = '" .. dir
      .. "/store', username_file = '" .. dir .. "/user', password_file = '" .. dir .. "/secret' } }\n")
    T.write(dir .. "/pb.lua", ([[require("gantry.play").deploy { strategy = "s.lua", mode = "live",
      feed = "XYZ.csv", venue = %q, config = "team.lua" }]]):format(url(peer)))
    local code, _, err = T.sh("cd " .. T.quote(dir) .. " && " .. T.quote(T.bin) .. " play pb.lua", dir)
    assert.equal(1, code, err)
    assert.matches("gantry: deploy of s.lua failed to start (exited 2)", err, 1, true)
    assert.falsy(err:find("wrong", 1, true), "the password reached the log")
    assert.equal(1, (T.sh("pgrep -f " .. T.quote("[g]antry live .*" .. dir), dir)))
  end)
end)

describe("gantry live: the FIX session in /metrics and alerts", function()
  local dir, h, sink
  before_each(function() dir = T.tmpdir() end)
  after_each(function()
    H.reap(h, dir .. "/out/ctl.sock"); if sink then H.kill(sink.pid) end; sink = nil
    F.cleanup(); T.rmdir(dir)
  end)

  it("gantry_venue_up and the venue_down alert follow the session: down within 5 s of the acceptor's death, resolved when back", function()
    T.day_bars(dir, 20)
    local peer = F.acceptor{ dir = dir, script = "price XYZ 100\ndefault ack fill\n" }
    sink = H.sink(dir)
    H.tokens(dir)
    local cfg = T.write(dir .. "/deploy.lua", ([[
      return {
        venue = { heartbeat_s = 1, connect_timeout_s = 1, reconnect_s = 0.2, reconnect_max_s = 0.4,
                  store = %q },
        http = { listen = "127.0.0.1:0", token_file = "tokens" },
        alerts = {
          webhook = { url = "http://127.0.0.1:%d/hook", timeout = 2, retries = 3 },
          rules = { { name = "fix", when = "venue_down", severity = "critical", actions = "log,webhook" } },
        },
      }]]):format(dir .. "/store", sink.port))
    local s = T.write(dir .. "/s.lua", [[
      local S = { params = { symbol = "XYZ" } }
      function S.on_bar(ctx, bar) if not ctx.state.b then ctx.state.b = ctx:buy("XYZ", 10) end end
      return S]])
    h = T.spawn({ "live", s, "--feed", "file:" .. dir .. "/XYZ.csv", "--venue", url(peer), "--config", cfg,
                  "--out", dir .. "/out", "--no-report", "--linger" }, dir)
    local port = H.port(h)
    local function up()
      local code, body = H.curl(port, "/metrics", { token = H.READ })
      assert.equal(200, code, body)
      return tonumber(body:match("\ngantry_venue_up (%d)")), body
    end
    assert.truthy(T.wait_for(function() return up() == 1 end, 10), T.read(h.err))
    -- a live host's /metrics is valid Prometheus text
    local _, body = up()
    T.write(dir .. "/m.txt", body)
    local pc, pout, perr = T.sh("promtool check metrics < " .. T.quote(dir .. "/m.txt"))
    assert.equal(0, pc, pout .. perr)
    -- the acceptor dies: the metric drops and the alert reaches the sink within 5 s
    local t0 = now_ms()
    peer:kill()
    assert.truthy(T.wait_for(function() return up() == 0 end, 5), "gantry_venue_up stayed 1: " .. T.read(h.err))
    local fired = T.wait_for(function()
      for _, l in ipairs(H.sink_lines(sink)) do
        if l.body:find('"rule": "fix"', 1, true) and l.body:find('"status": "firing"', 1, true) then return l end
      end
    end, 6)
    assert.truthy(fired, "no venue_down alert: " .. (T.read(sink.log) or "") .. T.read(h.err))
    local delay = fired.ms - t0
    print(("\n    venue_down alert %d ms after the acceptor was killed"):format(delay))
    assert.truthy(delay >= 0 and delay < 5000, "alert after " .. delay .. " ms")
    assert.matches('"severity": "critical"', fired.body, 1, true)
    -- back on the same port: logged on again, the metric 1, the recovery notice
    peer:restart()
    assert.truthy(T.wait_for(function() return up() == 1 end, 10), "never back up: " .. T.read(h.err))
    assert.truthy(T.wait_for(function()
      for _, l in ipairs(H.sink_lines(sink)) do
        if l.body:find('"rule": "fix"', 1, true) and l.body:find('"status": "resolved"', 1, true) then return true end
      end
    end, 5), "no recovery notice: " .. (T.read(sink.log) or ""))
    assert.truthy(T.logged(T.read(h.err), "ERROR alert: ", "FIRING critical: fix"))
    assert.equal(0, (T.ctl(dir .. "/out/ctl.sock", "stop")))
    assert.equal(0, T.wait_exit(h, 20))
  end)
end)

describe("strategies/bracket_trail.lua (a bracket on every entry, a trailing stop)", function()
  local dir
  local strat = T.root .. "/strategies/bracket_trail.lua"
  before_each(function() dir = T.tmpdir() end)
  after_each(function() F.cleanup(); T.rmdir(dir) end)

  -- 60 days of a sine wave: rebounds for the trailing entry, both exits reached
  local function wave(n)
    local lines = { "datetime,open,high,low,close,volume" }
    for i = 1, n do
      local px = 100 + 8 * math.sin(i / 5)
      lines[#lines + 1] = string.format("%s,%.2f,%.2f,%.2f,%.2f,1000",
        os.date("!%Y-%m-%d", 1704067200 + (i - 1) * 86400), px, px + 1.5, px - 1.5, px + 0.5)
    end
    return T.write(dir .. "/XYZ.csv", table.concat(lines, "\n") .. "\n")
  end

  it("gives the same fills in a backtest and in a paper replay, both exits and the trailing entry among them", function()
    local data = wave(60)
    local code, _, err = T.gantry({ "backtest", strat, "--data", data, "--param", "symbol=XYZ",
      "--out", dir .. "/bt", "--no-report", "--quiet" })
    assert.equal(0, code, err)
    local h = T.spawn({ "paper", strat, "--feed", "file:" .. data, "--param", "symbol=XYZ", "--out", dir .. "/pp",
                        "--ctl", dir .. "/ctl.sock", "--no-report", "--quiet" }, dir)
    assert.equal(0, T.wait_exit(h, 30), T.read(h.err))
    local a, b = T.read(dir .. "/bt/fills.csv"), T.read(dir .. "/pp/fills.csv")
    assert.is_true(#T.lines(dir .. "/bt/fills.csv") > 10)
    assert.equal(a, b)
    -- every entry a trailing stop, each with its two exits; both kinds of exit filled
    local types, exits_filled = {}, {}
    for _, o in ipairs(T.csv(dir .. "/bt/orders.csv")) do
      types[o.type] = (types[o.type] or 0) + 1
      if o.status == "filled" and o.side == "sell" then exits_filled[o.type] = true end
      if o.side == "buy" then assert.equal("trailing_stop", o.type) end
    end
    assert.is_true(exits_filled.limit and exits_filled.stop, "take-profit and stop-loss both filled")
    assert.is_true(types.limit >= 5 and types.stop >= 5)
  end)

  local function live(peer, order_types)
    local cfg = T.write(dir .. "/deploy.lua", "return { venue = { heartbeat_s = 1, connect_timeout_s = 2, store = '"
      .. dir .. "/store'" .. (order_types and (", order_types = " .. order_types) or "") .. " } }\n")
    return T.gantry({ "live", strat, "--feed", "file:" .. dir .. "/XYZ.csv", "--venue", url(peer), "--config", cfg,
      "--param", "symbol=XYZ", "--out", dir .. "/out", "--no-report", "--quiet", "--overwrite" }, dir)
  end

  local function same_as_acceptor(peer)
    local fills = T.csv(dir .. "/out/fills.csv")
    local execs = peer:select("exec", { exec_type = "F" })
    assert.are.equal(#execs, #fills)
    local qty = 0
    for i, f in ipairs(fills) do
      assert.are.equal(execs[i].side, f.side)
      assert.are.equal(execs[i].last_qty, tonumber(f.qty))
      assert.are.equal(execs[i].last_px, tonumber(f.price))
      qty = qty + (f.side == "buy" and 1 or -1) * tonumber(f.qty)
    end
    assert.are.equal((peer:positions().XYZ or { qty = 0 }).qty, qty)
    return fills
  end

  it("live without stop order types: the host holds the trailing entry and the stop-loss; fills equal the acceptor's", function()
    wave(60)
    local peer = F.acceptor{ dir = dir, script = "price XYZ 100\ndefault auto\n" }
    local code, _, err = live(peer)
    assert.are.equal(0, code, err)
    peer:stop()
    assert.truthy(err:find("stops are held by the host", 1, true), err)
    assert.truthy(err:find("stop order 1 reached", 1, true), err)
    -- nothing went out as a stop: host-held stops go as market orders once reached
    local sent = peer:select("order")
    assert.is_true(#sent >= 4, T.read(peer.record))
    for _, o in ipairs(sent) do assert.is_true(o.type == "market" or o.type == "limit", o.type) end
    local fills = same_as_acceptor(peer)
    assert.is_true(#fills >= 2, "fills: " .. #fills)
    local orders = T.csv(dir .. "/out/orders.csv")
    local last = {}
    for _, o in ipairs(orders) do last[o.id] = o end
    assert.equal("trailing_stop", last["1"].type)
    assert.equal("filled", last["1"].status)
  end)

  it("live with venue.order_types listing stops: the stop-loss goes as OrdType 3, the trailing entry stays with the host", function()
    wave(60)
    local peer = F.acceptor{ dir = dir, script = "price XYZ 100\ndefault auto\n" }
    local code, _, err = live(peer, "{ 'market', 'limit', 'stop', 'stop_limit' }")
    assert.are.equal(0, code, err)
    peer:stop()
    assert.truthy(err:find("venue.order_types has no trailing stop", 1, true), err)
    local stops = peer:select("order", { type = "stop" })
    assert.is_true(#stops >= 1, T.read(peer.record))
    -- the native stop is the bracket's stop-loss: a sell at the order's stop price
    local o2
    for _, o in ipairs(T.csv(dir .. "/out/orders.csv")) do if o.id == "3" then o2 = o end end
    assert.truthy(o2, "no stop-loss order")
    assert.equal("stop", o2.type)
    assert.equal("sell", stops[1].side)
    assert.are.equal(tonumber(o2.qty), stops[1].qty)
    assert.is_true(tonumber(o2.stop) > 0)
    same_as_acceptor(peer)
  end)
end)

describe("gantry live: the venue on /api/status and the dashboard", function()
  local dir, h
  before_each(function() dir = T.tmpdir() end)
  after_each(function() H.reap(h, dir .. "/out/ctl.sock"); F.cleanup(); T.rmdir(dir) end)

  it("/api/status carries the FIX session's state and sequence numbers, and the dashboard shows them", function()
    assert.truthy(T.read(T.root .. "/spec/dashboard/node_modules/puppeteer-core/package.json"),
      "puppeteer-core is not installed: run make dashboard-deps")
    local peer = F.acceptor{ dir = dir, script = "price XYZ 100\ndefault auto\n" }
    H.tokens(dir)
    local data = T.day_bars(dir, 30)
    local cfg = T.write(dir .. "/deploy.lua", "return { http = { listen = '127.0.0.1:0', token_file = 'tokens' }, "
      .. "venue = { heartbeat_s = 30, connect_timeout_s = 2, store = '" .. dir .. "/store' } }\n")
    local s = T.write(dir .. "/s.lua", [[
      local S = { params = { symbol = "XYZ" } }
      function S.on_bar(ctx, bar)
        if not ctx.state.x then ctx.state.x = 1; ctx:buy("XYZ", 10) end
        if #ctx:orders() < 2 then ctx:buy("XYZ", 1, { limit = 50 }) end
      end
      return S]])
    h = T.spawn({ "live", s, "--feed", "file:" .. data, "--venue", url(peer), "--config", cfg,
                  "--out", dir .. "/out", "--no-report", "--linger" }, dir)
    local port = H.port(h)
    assert.truthy(T.wait_for(function() return (T.read(h.err) or ""):find("feed done", 1, true) end, 15), T.read(h.err))
    local code, st = H.curl(port, "/api/status", { token = H.READ })
    assert.equal(200, code, st)
    assert.matches('"mode": "live"', st, 1, true)
    local v = st:match('"venue": (%b{})')
    assert.truthy(v, st)
    assert.matches('"state": "up"', v, 1, true)
    local out_seq, in_seq = tonumber(v:match('"next_out": (%d+)')), tonumber(v:match('"next_in": (%d+)'))
    assert.is_true(out_seq > 2 and in_seq > 2, v)
    local keep = os.getenv("GANTRY_ARTIFACTS") or dir
    local rc, out, err = T.sh(("cd %s && GANTRY_URL=http://127.0.0.1:%d READ_TOKEN=%s RISK_TOKEN=%s OUT_DIR=%s timeout 120 node dashboard_test.js"):format(
      T.quote(T.root .. "/spec/dashboard"), port, H.READ, H.RISK, T.quote(keep)))
    print("\n" .. out)
    assert.equal(0, rc, out .. err .. (T.read(h.err) or ""))
    assert.matches("all ok", out, 1, true)
    -- the page's venue equals /api/status's (a heartbeat between may move both numbers)
    assert.truthy(out:find("\nok venue up %d+ %d+ = up %d+ %d+\n"), out)
    assert.equal(0, (T.ctl(dir .. "/out/ctl.sock", "stop")))
    assert.equal(0, T.wait_exit(h, 20))
  end)
end)
